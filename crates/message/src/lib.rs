//! Message parsing for mailstead, on the mail-parser crate (no hand-written MIME).
//!
//! What IMAP needs from a raw RFC 5322 message, computed once at delivery and cached in
//! the store (so FETCH ENVELOPE/BODYSTRUCTURE and SEARCH never read the blob):
//! - [`index`]: the [`Summary`] (ENVELOPE, BODYSTRUCTURE, sent date) and the search text
//!   (decoded header fields, decoded text and MIME headers of the body parts,
//!   lower-cased; the body text is cut at [`MAX_BODY_TEXT_BYTES`]).
//! - [`section`] / [`sections`]: the octets of `BODY[section]` (RFC 9051 §6.4.5), from
//!   the raw message.
//! - [`binary`]: the decoded content of a part for `BINARY[...]` (RFC 3516).
//! - [`header_field_matches`]: the exact check behind `SEARCH HEADER name value`.
//!
//! The imap-proto types these produce (`Envelope`, `BodyStructure`, `Section`, ...) are
//! re-exported.
//!
//! ENVELOPE strings are raw header values (encoded words kept); address display names,
//! which mail-parser decodes, are re-encoded as RFC 2047 words when not ASCII.
//! BODYSTRUCTURE upper-cases media types, subtypes, parameter names and encodings,
//! adds `("CHARSET" "US-ASCII")` to `TEXT/*` without a charset, and gives a multipart
//! without parts one empty `TEXT/PLAIN` part (as Dovecot does).
//!
//! RFCs: 5322 (message format), 2045–2047 and 2231 (MIME, encoded words, parameter
//! continuations: decoded by mail-parser), 2046 §5.1.5 (digest default type),
//! 9051 §7.5.2 (ENVELOPE, BODYSTRUCTURE), 9051 §6.4.5 (sections), 3516 (BINARY).
//!
//! Modules:
//! - `tree`: mail-parser's flat part list as the IMAP part tree, with byte ranges of
//!   each header and body (mail-parser's `offset_header`/`offset_body`/`offset_end`).
//! - `envelope`, `body_structure`: the FETCH data items.
//! - `section`: part paths, `BODY[...]` and `BINARY[...]`.
//! - `search_text`: header and body text for SEARCH.
//!
//! Sizes (`octets`, `lines`) are of the message as stored, not CRLF-normalised, so they
//! agree with the octets [`section`] returns (Dovecot reports CRLF-normalised sizes; for
//! CRLF messages the two agree). An encapsulated message that is base64 or
//! quoted-printable encoded (RFC 2046 §5.2.1 forbids it) is an opaque leaf: its
//! BODYSTRUCTURE is a basic `MESSAGE/RFC822` with `message: None`.
//!
//! Invariants: no function panics on any input (fuzzed: `fuzz/fuzz_targets/message.rs`,
//! corpus replayed by `tests/fuzz_corpus.rs`); a message mail-parser cannot parse still
//! gets a summary (an empty envelope and a `TEXT/PLAIN` body of the whole size); every
//! part BODYSTRUCTURE lists exists for [`section`] and [`binary`] with `octets` equal to
//! the length of `BODY[part]`; the tree is cut at 30 levels of nesting, which bounds recursion and keeps the stored
//! JSON readable by [`Summary::from_json`].

mod body_structure;
#[doc(hidden)]
pub mod check;
mod envelope;
mod search_text;
mod section;
mod tree;

use mail_parser::{HeaderName, HeaderValue};
pub use mailstead_imap_proto::{
    BodyExtension, BodyFields, BodyStructure, Envelope, EnvelopeAddress, Section, SectionText,
};

pub use search_text::MAX_BODY_TEXT_BYTES;
use serde::{Deserialize, Serialize};

/// What FETCH needs without reading the blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// ENVELOPE.
    pub envelope: Envelope,
    /// BODYSTRUCTURE (the BODY form is derived by dropping extension data).
    pub body: BodyStructure,
    /// The `Date:` header as Unix seconds (for SENTBEFORE/SENTON/SENTSINCE), if it parses.
    pub sent_date: Option<i64>,
}

impl Summary {
    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the JSON form back.
    pub fn from_json(s: &str) -> Option<Summary> {
        serde_json::from_str(s).ok()
    }

    /// The form kept in the store (read back with [`StoredSummary::parse`]): the sent
    /// date and the ENVELOPE, BODY and BODYSTRUCTURE values already in IMAP wire form,
    /// so FETCH copies them instead of decoding and encoding them for every message.
    /// Layout: `S1 <sent date or -> <len> <len> <len>\n` then the three values.
    pub fn to_stored(&self) -> String {
        let env = mailstead_imap_proto::encode::envelope_wire(&self.envelope);
        let body = mailstead_imap_proto::encode::body_wire(&self.body, false);
        let bs = mailstead_imap_proto::encode::body_wire(&self.body, true);
        let sent = self
            .sent_date
            .map_or_else(|| "-".to_string(), |d| d.to_string());
        let mut out = format!("S1 {sent} {} {} {}\n", env.len(), body.len(), bs.len());
        // The encoder writes UTF-8 strings and ASCII syntax only.
        for part in [env, body, bs] {
            out.push_str(&String::from_utf8_lossy(&part));
        }
        out
    }
}

/// A stored summary (see [`Summary::to_stored`]), read without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSummary<'a> {
    /// The `Date:` header as Unix seconds, if it parsed.
    pub sent_date: Option<i64>,
    /// ENVELOPE in wire form.
    pub envelope: &'a str,
    /// BODY (non-extensible) in wire form.
    pub body: &'a str,
    /// BODYSTRUCTURE in wire form.
    pub bodystructure: &'a str,
}

impl<'a> StoredSummary<'a> {
    /// Reads the stored form; `None` when it is not one (an older or damaged row: the
    /// caller indexes the message again).
    pub fn parse(s: &'a str) -> Option<Self> {
        let (head, rest) = s.split_once('\n')?;
        let mut f = head.split(' ');
        if f.next()? != "S1" {
            return None;
        }
        let sent = f.next()?;
        let sent_date = if sent == "-" {
            None
        } else {
            Some(sent.parse().ok()?)
        };
        let a: usize = f.next()?.parse().ok()?;
        let b: usize = f.next()?.parse().ok()?;
        let c: usize = f.next()?.parse().ok()?;
        if f.next().is_some() || a.checked_add(b)?.checked_add(c)? != rest.len() {
            return None;
        }
        Some(StoredSummary {
            sent_date,
            envelope: rest.get(..a)?,
            body: rest.get(a..a + b)?,
            bodystructure: rest.get(a + b..)?,
        })
    }
}

/// A summary plus the search text of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    /// ENVELOPE, BODYSTRUCTURE, sent date.
    pub summary: Summary,
    /// Every header field of the top-level header, one per line as `name: value\n`, the
    /// name lower-cased, the value unfolded, encoded words decoded, then the whole text
    /// lower-cased (Unicode `to_lowercase`).
    pub header_text: String,
    /// The decoded text of every text part (HTML with tags removed), the decoded MIME
    /// header fields of every part of a multipart (so an attachment's file name is
    /// found), and the text of attached messages (their header text, then their parts),
    /// lower-cased, each piece trimmed, pieces separated by `\n`; at most
    /// [`MAX_BODY_TEXT_BYTES`] (cut at a character boundary), so one huge message cannot
    /// bloat the index.
    pub body_text: String,
}

/// Parses `raw` once and returns its summary and search text. Never fails: input
/// mail-parser finds no valid header field in gets an empty envelope and a
/// `TEXT/PLAIN` body of the whole size.
pub fn index(raw: &[u8]) -> Indexed {
    let parsed = tree::parse(raw);
    let root = parsed.root();
    Indexed {
        summary: Summary {
            envelope: envelope::envelope(&root),
            body: body_structure::body_structure(&root),
            sent_date: sent_date(&root),
        },
        header_text: search_text::header_text(&root),
        body_text: match &parsed {
            tree::Parsed::Full(_) => search_text::body_text(&root),
            // mail-parser decoded nothing: the stored octets are the best text we have.
            _ => search_text::unparsed_body_text(root.body_bytes()),
        },
    }
}

/// The `Date:` field as Unix seconds (the instant, UTC), if mail-parser reads a valid
/// date in it.
fn sent_date(root: &tree::Part<'_, '_>) -> Option<i64> {
    match root.value(&HeaderName::Date) {
        Some(HeaderValue::DateTime(date)) if date.is_valid() => Some(date.to_timestamp()),
        _ => None,
    }
}

/// The summary alone.
pub fn summarize(raw: &[u8]) -> Summary {
    index(raw).summary
}

/// The octets of `BODY[section]` of `raw` (RFC 9051 §6.4.5): `None` when the part does not
/// exist (answered as NIL... or an empty string, at the caller's choice).
///
/// - Empty part path: the whole message; `HEADER` (including the blank line), `TEXT`,
///   `HEADER.FIELDS (..)` / `.NOT` (the matching fields as they appear, folded lines
///   included, names compared case-insensitively, then a CRLF); `MIME` → `None`.
/// - Part numbers count the parts of a message's body (the one part of a non-multipart
///   body is `1`), the children of a multipart, and, below a `message/rfc822` part, the
///   parts of the encapsulated message's body. `N` is the part's content (no MIME
///   header; for a `message/rfc822` part the whole encapsulated message); `N.MIME` its
///   MIME header including the blank line; `N.HEADER`, `N.TEXT`, `N.HEADER.FIELDS` exist
///   only when part `N` is `message/rfc822`.
pub fn section(raw: &[u8], section: &Section) -> Option<Vec<u8>> {
    if let Some(octets) = top_level_section(raw, section) {
        return octets;
    }
    let parsed = tree::parse(raw);
    section::section(raw, &parsed.root(), section)
}

/// [`section`] for several sections of one message, parsing it once.
pub fn sections(raw: &[u8], sections: &[Section]) -> Vec<Option<Vec<u8>>> {
    let quick: Option<Vec<_>> = sections.iter().map(|s| top_level_section(raw, s)).collect();
    if let Some(octets) = quick {
        return octets;
    }
    let parsed = tree::parse(raw);
    let root = parsed.root();
    sections
        .iter()
        .map(|s| section::section(raw, &root, s))
        .collect()
}

/// `BODY[]`, `BODY[HEADER]`, `BODY[TEXT]` and `BODY[HEADER.FIELDS ...]` of the whole
/// message without parsing its body (clients fetch header fields of every message when
/// they list a mailbox): `None` when the full parse is needed.
fn top_level_section(raw: &[u8], wanted: &Section) -> Option<Option<Vec<u8>>> {
    if !wanted.part.is_empty() {
        return None;
    }
    let text = match &wanted.text {
        None => return Some(Some(raw.to_vec())),
        Some(SectionText::Mime) => return Some(None),
        Some(text) => text,
    };
    let message = tree::parse_header(raw)?;
    let root = tree::header_root(&message)?;
    Some(section::message_text(&root, text))
}

/// Why BINARY cannot return a part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    /// The Content-Transfer-Encoding is not one we can decode (`NO [UNKNOWN-CTE]`).
    #[error("unknown content transfer encoding")]
    UnknownCte,
}

/// The decoded content of a part for `BINARY[part]` (RFC 3516): the part's body with its
/// Content-Transfer-Encoding removed (base64 ignoring characters outside its alphabet,
/// quoted-printable leniently; 7bit/8bit/binary, none, or a value that is not a token
/// as is). An empty `part` is the whole message (as is); a multipart or
/// `message/rfc822` part is its raw content. `Ok(None)` when the part does not exist;
/// `Err(UnknownCte)` for another encoding such as `x-uuencode`. Part numbers as in
/// [`section`].
pub fn binary(raw: &[u8], part: &[u32]) -> Result<Option<Vec<u8>>, BinaryError> {
    let parsed = tree::parse(raw);
    section::binary(raw, &parsed.root(), part)
}

/// Whether a header field named `name` (case-insensitive) of the top-level header of
/// `header_text` (the [`Indexed::header_text`] form) contains `needle` (already
/// lower-cased). An empty needle matches any message that has the field (RFC 9051
/// §6.4.4 HEADER).
pub fn header_field_matches(header_text: &str, name: &str, needle: &str) -> bool {
    search_text::header_field_matches(header_text, name, needle)
}
