//! The part tree every other module reads: mail-parser's flat part list turned into
//! the IMAP view of a message (RFC 9051 §6.4.5 part numbering), with byte ranges.
//!
//! mail-parser (0.11) gives each [`MessagePart`] `offset_header` (start of its MIME
//! header), `offset_body` (after the blank line) and `offset_end` (end of the content,
//! before the CRLF that belongs to the next boundary), indexing the `raw_message` of the
//! [`Message`] that holds it. An encapsulated message that is not transfer-encoded is
//! parsed in place, so its parts index the same bytes as the outer message; one that is
//! base64/quoted-printable encoded is parsed from the decoded bytes: we treat it as an
//! opaque leaf (its parts would not be addressable in the raw message).
//!
//! The tree is cut at [`MAX_DEPTH`] levels of nesting: below that a part is a leaf. This
//! bounds our recursion and keeps the stored JSON within serde_json's nesting limit.

use std::ops::Range;

use mail_parser::{
    Encoding, Header, HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType,
};

/// Most levels of multipart / message nesting we descend into (Dovecot allows 100;
/// every level costs three levels of JSON nesting in the stored summary, and
/// serde_json refuses more than 128).
pub(crate) const MAX_DEPTH: usize = 30;

/// The effective Content-Type of a part (RFC 2045 §5.2 defaults applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Media {
    /// Type, lower-case (`text`).
    pub ty: String,
    /// Subtype, lower-case (`plain`).
    pub subtype: String,
    /// Parameters (names lower-case, values decoded per RFC 2231 / 2047 by mail-parser).
    pub params: Vec<(String, String)>,
}

impl Media {
    fn default_text() -> Media {
        Media {
            ty: "text".into(),
            subtype: "plain".into(),
            params: vec![("charset".into(), "US-ASCII".into())],
        }
    }

    fn default_message() -> Media {
        Media {
            ty: "message".into(),
            subtype: "rfc822".into(),
            params: Vec::new(),
        }
    }

    /// `message/rfc822` or `message/global` (RFC 6532).
    pub(crate) fn is_message(&self) -> bool {
        self.ty == "message" && (self.subtype == "rfc822" || self.subtype == "global")
    }
}

/// One node of the IMAP view of a message.
pub(crate) struct Part<'m, 'x> {
    /// The bytes `header` and `body` index.
    pub src: &'m [u8],
    /// Header fields: the MIME header of a part, or the whole header of a message root.
    pub headers: &'m [Header<'x>],
    /// The header, including the blank line that ends it.
    pub header: Range<usize>,
    /// The content as stored (still transfer-encoded).
    pub body: Range<usize>,
    /// Effective Content-Type.
    pub media: Media,
    /// mail-parser's part (its decoded body), `None` for a synthesised part.
    pub parsed: Option<&'m MessagePart<'x>>,
    /// What the content is.
    pub kind: Kind<'m, 'x>,
}

/// What a part's content is.
pub(crate) enum Kind<'m, 'x> {
    /// A single part (or one below [`MAX_DEPTH`], or an encoded encapsulated message).
    Leaf,
    /// A multipart; never empty (a stand-in empty text/plain when no part was found).
    Multi(Vec<Part<'m, 'x>>),
    /// `message/rfc822`: the root of the encapsulated message.
    Message(Box<Part<'m, 'x>>),
}

impl<'m, 'x> Part<'m, 'x> {
    /// The header bytes.
    pub(crate) fn header_bytes(&self) -> &'m [u8] {
        self.src.get(self.header.clone()).unwrap_or_default()
    }

    /// The content bytes.
    pub(crate) fn body_bytes(&self) -> &'m [u8] {
        self.src.get(self.body.clone()).unwrap_or_default()
    }

    /// The first header field named `name`.
    pub(crate) fn header_field(&self, name: &HeaderName<'_>) -> Option<&'m Header<'x>> {
        self.headers.iter().find(|h| h.name == *name)
    }

    /// The raw value of the first field named `name` (unfolded, trimmed).
    pub(crate) fn raw_value(&self, name: &HeaderName<'_>) -> Option<String> {
        self.header_field(name)
            .map(|h| unfold_trim(raw_value_bytes(self.src, h)))
    }

    /// The parsed value of the first field named `name`.
    pub(crate) fn value(&self, name: &HeaderName<'_>) -> Option<&'m HeaderValue<'x>> {
        self.header_field(name).map(|h| &h.value)
    }

    /// The Content-Transfer-Encoding, lower-case, `None` when absent or empty. Of
    /// several fields the last counts, as it does for mail-parser's decoding.
    pub(crate) fn transfer_encoding(&self) -> Option<String> {
        let field = self
            .headers
            .iter()
            .rev()
            .find(|h| h.name == HeaderName::ContentTransferEncoding)?;
        let cte = unfold_trim(raw_value_bytes(self.src, field)).to_ascii_lowercase();
        (!cte.is_empty()).then_some(cte)
    }
}

/// A message as mail-parser read it.
pub(crate) enum Parsed<'x> {
    /// Fully parsed.
    Full(Message<'x>),
    /// Only the top-level header could be read (see [`parse`]); the body is one part.
    Header(Message<'x>),
    /// No valid header field: the input is all body.
    Unparsed(&'x [u8]),
}

/// Parses `raw` with mail-parser.
///
/// Input is [`Parsed::Unparsed`] when mail-parser finds no header field at all, or none
/// with a valid name (RFC 5322 §3.6.8 `ftext`) — it then took a line of garbage for a
/// field, and the message is better read as all body.
///
/// mail-parser checks its own state with `debug_assert!`s that malformed input can
/// trip (e.g. "Invalid part ID, could not find multipart." on a mangled nested
/// multipart, found by fuzzing); in a build with debug assertions that is a panic, so
/// the parse runs under `catch_unwind`, and after a panic only the header is read
/// ([`Parsed::Header`]). Release builds skip those checks and recover on their own.
pub(crate) fn parse(raw: &[u8]) -> Parsed<'_> {
    match std::panic::catch_unwind(|| MessageParser::default().parse(raw)) {
        Ok(Some(message)) if has_valid_field(&message) => Parsed::Full(message),
        Ok(_) => Parsed::Unparsed(raw),
        Err(_) => match parse_header(raw) {
            Some(message) if header_root(&message).is_some() => Parsed::Header(message),
            _ => Parsed::Unparsed(raw),
        },
    }
}

impl<'x> Parsed<'x> {
    /// The root of the part tree.
    pub(crate) fn root(&self) -> Part<'_, 'x> {
        match self {
            Parsed::Full(message) => build(message),
            Parsed::Header(message) => match header_root(message) {
                Some(mut root) => {
                    root.media = media_of(root.headers, false);
                    root
                }
                None => unparsed(message.raw_message.as_ref()),
            },
            Parsed::Unparsed(raw) => unparsed(raw),
        }
    }
}

impl Drop for Parsed<'_> {
    /// Drops the message without recursion: mail-parser nests encapsulated messages
    /// without a depth limit, and dropping a deeply nested one recursively would
    /// overflow the stack.
    fn drop(&mut self) {
        if let Parsed::Full(message) | Parsed::Header(message) = self {
            let mut pending = vec![std::mem::take(message)];
            while let Some(mut message) = pending.pop() {
                for part in &mut message.parts {
                    if matches!(part.body, PartType::Message(_))
                        && let PartType::Message(inner) = std::mem::take(&mut part.body)
                    {
                        pending.push(inner);
                    }
                }
            }
        }
    }
}

/// The top-level header alone (mail-parser's `parse_headers`: no body is decoded), for
/// the sections that need nothing else and as the fallback of [`parse`]; `None` when
/// the input has no valid header field.
pub(crate) fn parse_header(raw: &[u8]) -> Option<Message<'_>> {
    std::panic::catch_unwind(|| MessageParser::default().parse_headers(raw))
        .ok()
        .flatten()
        .filter(has_valid_field)
}

fn has_valid_field(message: &Message<'_>) -> bool {
    message
        .parts
        .first()
        .is_some_and(|root| root.headers.iter().any(|h| is_field_name(h.name.as_str())))
}

/// The root of a message read by [`parse_header`]: its header and body ranges, found
/// where mail-parser's header loop stops (after the last field, only spaces, tabs and
/// CRs up to the LF of the blank line, or the end of the input). `None` when another
/// line follows the last field (mail-parser skips a line without a colon and reads on):
/// the full parse is needed to place the end.
pub(crate) fn header_root<'m, 'x>(message: &'m Message<'x>) -> Option<Part<'m, 'x>> {
    let src: &'m [u8] = message.raw_message.as_ref();
    let root = message.parts.first()?;
    let last = root.headers.last()?;
    let mut at = last.offset_end as usize;
    while let Some(&b) = src.get(at) {
        match b {
            b' ' | b'\t' | b'\r' | b'\x0c' => at += 1,
            b'\n' => {
                at += 1;
                break;
            }
            _ => return None,
        }
    }
    let end = at.min(src.len());
    Some(Part {
        src,
        headers: &root.headers,
        header: 0..end,
        body: end..src.len(),
        media: Media::default_text(),
        parsed: None,
        kind: Kind::Leaf,
    })
}

/// RFC 5322 §3.6.8: `field-name = 1*ftext`, printable US-ASCII except `:`.
fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// The tree of a parsed message.
fn build<'m, 'x>(message: &'m Message<'x>) -> Part<'m, 'x> {
    let src: &'m [u8] = message.raw_message.as_ref();
    build_root(message, src, 0..src.len(), 0)
}

/// The tree of a message mail-parser could not parse: no header, all body.
fn unparsed(raw: &[u8]) -> Part<'_, 'static> {
    Part {
        src: raw,
        headers: &[],
        header: 0..0,
        body: 0..raw.len(),
        media: Media::default_text(),
        parsed: None,
        kind: Kind::Leaf,
    }
}

/// The root of `message`, which occupies `range` of `src`.
fn build_root<'m, 'x>(
    message: &'m Message<'x>,
    src: &'m [u8],
    range: Range<usize>,
    depth: usize,
) -> Part<'m, 'x> {
    let Some(root) = message.parts.first() else {
        return empty_message(src, range);
    };
    let split = clamp(root.offset_body as usize, range.start, range.end);
    let media = media_of(&root.headers, false);
    let mut part = Part {
        src,
        headers: &root.headers,
        header: range.start..split,
        body: split..range.end,
        media,
        parsed: Some(root),
        kind: Kind::Leaf,
    };
    part.kind = kind_of(message, 0, &part, depth);
    part
}

/// A part with an empty header whose body is `range`, typed text/plain: an
/// encapsulated message mail-parser found nothing in, or the stand-in part of a
/// multipart without parts.
fn empty_message<'m>(src: &'m [u8], range: Range<usize>) -> Part<'m, 'static> {
    Part {
        src,
        headers: &[],
        header: range.start..range.start,
        body: range,
        media: Media::default_text(),
        parsed: None,
        kind: Kind::Leaf,
    }
}

/// Part `index` of `message`, a child of a multipart (`in_digest`: of a
/// multipart/digest, where the default type is message/rfc822).
fn build_child<'m, 'x>(
    message: &'m Message<'x>,
    index: usize,
    in_digest: bool,
    depth: usize,
) -> Option<Part<'m, 'x>> {
    let mp = message.parts.get(index)?;
    let src: &'m [u8] = message.raw_message.as_ref();
    let len = src.len();
    let header_start = clamp(mp.offset_header as usize, 0, len);
    let body_start = clamp(mp.offset_body as usize, header_start, len);
    let body_end = clamp(mp.offset_end as usize, body_start, len);
    let mut part = Part {
        src,
        headers: &mp.headers,
        header: header_start..body_start,
        body: body_start..body_end,
        media: media_of(&mp.headers, in_digest),
        parsed: Some(mp),
        kind: Kind::Leaf,
    };
    part.kind = kind_of(message, index, &part, depth);
    Some(part)
}

/// What the content of `part` (part `index` of `message`) is.
fn kind_of<'m, 'x>(
    message: &'m Message<'x>,
    index: usize,
    part: &Part<'m, 'x>,
    depth: usize,
) -> Kind<'m, 'x> {
    if depth >= MAX_DEPTH {
        return Kind::Leaf;
    }
    let Some(mp) = part.parsed else {
        return Kind::Leaf;
    };
    if part.media.ty == "multipart" {
        let in_digest = part.media.subtype == "digest";
        let mut children: Vec<Part<'m, 'x>> = match &mp.body {
            PartType::Multipart(ids) => ids
                .iter()
                .map(|&id| id as usize)
                // Children come after their parent in the flat list; anything else
                // would be a cycle.
                .filter(|&id| id > index)
                .filter_map(|id| build_child(message, id, in_digest, depth + 1))
                .collect(),
            // No boundary, or none found: mail-parser kept the content as text.
            _ => Vec::new(),
        };
        if children.is_empty() {
            // RFC 2046 §5.1.1 requires a part: an empty text/plain stands in (as in
            // Dovecot), so that BODYSTRUCTURE and BODY[1] agree.
            let at = part.body.start;
            children.push(empty_message(part.src, at..at));
        }
        return Kind::Multi(children);
    }
    // An encapsulated message sent as 7bit/8bit/binary (RFC 2046 §5.2.1 allows no other
    // encoding): mail-parser parsed it in place, so its offsets index the same bytes.
    if part.media.is_message() && mp.encoding == Encoding::None {
        let inner = match &mp.body {
            PartType::Message(inner) if same_bytes(inner, part.src) => {
                build_root(inner, part.src, part.body.clone(), depth + 1)
            }
            _ => empty_message(part.src, part.body.clone()),
        };
        return Kind::Message(Box::new(inner));
    }
    Kind::Leaf
}

/// Whether `message` was parsed from `src` itself (not from decoded bytes).
fn same_bytes(message: &Message<'_>, src: &[u8]) -> bool {
    let own: &[u8] = message.raw_message.as_ref();
    std::ptr::eq(own.as_ptr(), src.as_ptr()) && own.len() == src.len()
}

/// The effective Content-Type of a part with these header fields. Of several fields the
/// last counts: mail-parser splits the parts by it.
fn media_of(headers: &[Header<'_>], in_digest: bool) -> Media {
    let content_type = headers
        .iter()
        .rev()
        .find(|h| h.name == HeaderName::ContentType)
        .and_then(|h| h.value.as_content_type());
    match content_type {
        Some(ct) => match ct.subtype().map(str::trim).filter(|s| !s.is_empty()) {
            Some(subtype) if !ct.ctype().trim().is_empty() => Media {
                ty: ct.ctype().trim().to_ascii_lowercase(),
                subtype: subtype.to_ascii_lowercase(),
                params: ct
                    .attributes()
                    .unwrap_or_default()
                    .iter()
                    .map(|a| (a.name.to_string(), a.value.to_string()))
                    .collect(),
            },
            // RFC 2045 §5.2: a syntactically invalid Content-Type means text/plain.
            _ => Media::default_text(),
        },
        // RFC 2046 §5.1.5: in a digest the default is message/rfc822.
        None if in_digest => Media::default_message(),
        None => Media::default_text(),
    }
}

fn clamp(value: usize, min: usize, max: usize) -> usize {
    value.max(min).min(max.max(min))
}

/// The raw bytes of a field's value (after the colon, through its final line break).
pub(crate) fn raw_value_bytes<'a>(src: &'a [u8], header: &Header<'_>) -> &'a [u8] {
    src.get(header.offset_start as usize..header.offset_end as usize)
        .unwrap_or_default()
}

/// The whole field as it appears: name, colon, value and folded lines.
pub(crate) fn raw_field_bytes<'a>(src: &'a [u8], header: &Header<'_>) -> &'a [u8] {
    src.get(header.offset_field as usize..header.offset_end as usize)
        .unwrap_or_default()
}

/// A raw header value unfolded (RFC 5322 §2.2.3: CRLF removed, the WSP kept) and
/// trimmed. Octets that are not UTF-8 are read as Latin-1 rather than replaced.
pub(crate) fn unfold_trim(bytes: &[u8]) -> String {
    let unfolded: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    latin1_fallback(unfolded)
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_string()
}

/// `bytes` as UTF-8, or, when they are not, as Latin-1 (every octet a character), which
/// keeps 8-bit legacy text readable where a lossy conversion would replace it.
pub(crate) fn latin1_fallback(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    }
}
