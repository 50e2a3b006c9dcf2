//! The features of a message for the classifier: what [`crate::bayes`] counts.
//!
//! A message is parsed with mail-parser and read as several word streams and a few
//! header facts. Every feature is a short text, hashed to a `u64` with [`Fnv1a`]; only the
//! hashes leave this module, sorted and deduplicated (a feature counts once per message,
//! as in Graham's and Robinson's methods).
//!
//! # Word streams
//!
//! - the Subject (words prefixed `subject:`, so "free" in the subject and "free" in the
//!   body are two features);
//! - the display name of From (`fromname:`);
//! - each `text/*` part, and each `text/html` part with its tags stripped, entities
//!   decoded, `<script>`/`<style>` and comments dropped; inline tags (`fr<b></b>ee`) do
//!   not split a word, block tags do.
//!
//! A word is a run of letters, digits, combining marks and `' - _ . @ $ € £ ¥ % !`,
//! lower-cased, with `' - _ . @` trimmed from its ends. Scripts written without spaces
//! (CJK, kana, Thai, Lao, Khmer, Myanmar) give one word per character, which the bigrams
//! below turn into character pairs. Words shorter than [`MIN_WORD_CHARS`] are dropped;
//! words longer than [`MAX_WORD_CHARS`] are summarised as `skip:<first char>:<chars/10>`
//! (Graham 2002, SpamBayes), so long junk strings still say something without each being
//! a feature of its own. Only the first [`MAX_WORDS_PER_STREAM`] words of a stream and
//! the first [`MAX_MESSAGE_BYTES`] of a message are read, which bounds the cost.
//!
//! # Orthogonal sparse bigrams
//!
//! Each word gives its unigram and, as in CRM114 and Rspamd (Siefkes et al. 2004,
//! "Combining Winnow and Orthogonal Sparse Bigrams for Incremental Spam Filtering"), one
//! bigram with each of the previous [`OSB_WINDOW`]` - 1` words of its stream, the distance
//! (1–4) being part of the feature: "buy cheap pills" gives `buy`, `cheap`, `pills`,
//! `(buy, cheap, 1)`, `(cheap, pills, 1)` and `(buy, pills, 2)`.
//!
//! # Other features
//!
//! - `url:<host>` for each link host in text (`http://`, `https://`, `www.`) and in HTML
//!   `href`/`src`/`action` attributes, and for its parent domains down to two labels
//!   (`url:a.example.com`, `url:example.com`); `url:ip` for a literal address;
//! - `html:<tag>` for each HTML tag name;
//! - `from:<domain>` (or `from:none`); `reply-to:none`, `reply-to:same-domain` or
//!   `reply-to:other-domain`;
//! - `mailer:<first word>` and `mailer:<value, digits as #>` of X-Mailer and User-Agent;
//! - `rcvd:<class>` of the client IP of the first [`MAX_RECEIVED`] Received fields:
//!   `rcvd:private`, `rcvd:ip4:a.b`, `rcvd:ip4:a.b.c`, `rcvd:ip6:x:y:z` (the /48);
//! - per MIME part: `ctype:<type/subtype>`, `charset:<charset>`,
//!   `cte:<transfer encoding>`, `attach:<file extension>` (or `attach:noext`), and
//!   `part:encoding-problem` where mail-parser met one;
//! - `subject:caps` for a shouting subject;
//! - `parse:failed` when mail-parser cannot read the message at all, `parse:no-headers`
//!   when it finds no header field; the bytes of the message are then read as text.
//!
//! # Hashing
//!
//! The counts are stored in a database, so the hash must never change: it is 64-bit
//! FNV-1a (Fowler, Noll, Vo; offset basis `0xcbf29ce484222325`, prime `0x100000001b3`),
//! fixed here with known-answer tests. A unigram or header feature is the hash of its
//! text (`feature("subject:free")`, see [`feature`]); a bigram is the hash of the bytes
//! `"osb"`, the distance as one byte, and the two word hashes, little-endian (see
//! [`bigram`]). Collisions of 64-bit hashes among the few million features of a model
//! are negligible.
//!
//! Any change to the features of a message (the hash, a prefix, the word rules) makes
//! the learned counts of every store partly stale: the test
//! `features_of_a_fixed_message_never_change` pins them.

use std::net::IpAddr;

use mail_parser::{GetHeader, HeaderName, Message, MessageParser, MessagePart, MimeHeaders};
use mail_parser::{HeaderValue, PartType};

/// Words per stream (subject, a part) that are read; the rest of a part is ignored.
pub const MAX_WORDS_PER_STREAM: usize = 2000;
/// Bytes of a message that are parsed; the rest is ignored (SpamAssassin's `spamc`
/// skips messages above 500 KB altogether).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Bytes of one decoded text part that are scanned for words and links.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// MIME parts read per message, nested messages included.
pub const MAX_PARTS: usize = 64;
/// How many levels of nested `message/rfc822` parts are read.
pub const MAX_NESTING: usize = 2;
/// Link hosts taken per stream.
pub const MAX_URLS_PER_STREAM: usize = 100;
/// Received fields whose client IP gives a feature.
pub const MAX_RECEIVED: usize = 3;
/// The OSB window: a word and the `OSB_WINDOW - 1` words before it.
pub const OSB_WINDOW: usize = 5;
/// Shorter words are dropped (except single characters of unspaced scripts).
pub const MIN_WORD_CHARS: usize = 2;
/// Longer words become `skip:<first char>:<chars/10>`.
pub const MAX_WORD_CHARS: usize = 20;

/// The distinct features of `message`, hashed to `u64`, sorted and deduplicated.
///
/// Never panics; a message mail-parser cannot read is tokenised as text.
pub fn features(message: &[u8]) -> Vec<u64> {
    let message = message.get(..MAX_MESSAGE_BYTES).unwrap_or(message);
    let mut sink = Sink::default();
    match MessageParser::default().parse(message) {
        Some(parsed) => {
            sink.message(&parsed, 0);
            if parsed
                .parts
                .first()
                .is_none_or(|root| root.headers.is_empty())
            {
                // Not a message, or its header section is unreadable (mail-parser then
                // takes text for broken header lines): its bytes as text.
                sink.push_text("parse:no-headers");
                sink.text(&String::from_utf8_lossy(message), BODY);
            }
        }
        None => {
            sink.push_text("parse:failed");
            let text = String::from_utf8_lossy(message);
            sink.text(&text, BODY);
        }
    }
    let mut out = sink.out;
    out.sort_unstable();
    out.dedup();
    out
}

/// The hash of a unigram or header feature given as text, such as `"viagra"`,
/// `"subject:free"` or `"url:example.com"` (the text as [`features`] forms it:
/// lower-case).
pub fn feature(text: &str) -> u64 {
    Fnv1a::new().write(text.as_bytes()).finish()
}

/// The hash of the bigram of `left` followed `distance` words later (1 to
/// [`OSB_WINDOW`]` - 1`) by `right`, both given as the hashes of their unigrams
/// ([`feature`]).
pub fn bigram(left: u64, right: u64, distance: u8) -> u64 {
    Fnv1a::new()
        .write(b"osb")
        .write(&[distance])
        .write(&left.to_le_bytes())
        .write(&right.to_le_bytes())
        .finish()
}

/// 64-bit FNV-1a, the fixed hash of the features.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// The empty hash.
    pub const fn new() -> Self {
        Self(Self::OFFSET_BASIS)
    }

    /// The hash continued with `bytes`.
    pub fn write(mut self, bytes: &[u8]) -> Self {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
        self
    }

    /// The hash value.
    pub const fn finish(self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// A word of this many bytes has more than [`MAX_WORD_CHARS`] characters (at most 4 bytes
/// each): what follows is only counted.
const LONG_WORD_BYTES: usize = 4 * (MAX_WORD_CHARS + 1);

/// The prefix of body words: none.
const BODY: &str = "";
/// The prefix of subject words.
const SUBJECT: &str = "subject:";
/// The prefix of the words of From's display name.
const FROM_NAME: &str = "fromname:";

/// Collects feature hashes; its buffers are reused for every word.
#[derive(Default)]
struct Sink {
    out: Vec<u64>,
    /// The current word, lower-cased.
    word: String,
    /// Characters of the current word past [`LONG_WORD_BYTES`], counted but not kept.
    word_overflow: usize,
    parts: usize,
}

impl Sink {
    fn push(&mut self, hash: u64) {
        self.out.push(hash);
    }

    fn push_text(&mut self, text: &str) {
        self.push(feature(text));
    }

    /// `prefix` followed by `value` lower-cased (ASCII).
    fn push_lower(&mut self, prefix: &str, value: &str) {
        let mut h = Fnv1a::new().write(prefix.as_bytes());
        for b in value.trim().bytes() {
            h = h.write(&[b.to_ascii_lowercase()]);
        }
        self.push(h.finish());
    }

    fn message(&mut self, message: &Message<'_>, depth: usize) {
        let Some(root) = message.parts.first() else {
            self.push_text("parse:no-parts");
            return;
        };
        self.headers(root);
        for part in &message.parts {
            if self.parts >= MAX_PARTS {
                self.push_text("parse:too-many-parts");
                break;
            }
            self.parts += 1;
            self.part(part, depth);
        }
    }

    fn headers(&mut self, root: &MessagePart<'_>) {
        let headers = &root.headers;
        if let Some(subject) = headers
            .header_value(&HeaderName::Subject)
            .and_then(HeaderValue::as_text)
        {
            self.text(subject, SUBJECT);
            if shouts(subject) {
                self.push_text("subject:caps");
            }
        }

        let from = headers
            .header_value(&HeaderName::From)
            .and_then(HeaderValue::as_address)
            .and_then(|a| a.first());
        let from_domain = from.and_then(|a| a.address()).and_then(domain_of);
        match from_domain {
            Some(d) => self.push_lower("from:", d),
            None => self.push_text("from:none"),
        }
        if let Some(name) = from.and_then(|a| a.name()) {
            self.text(name, FROM_NAME);
        }
        let reply_to = headers
            .header_value(&HeaderName::ReplyTo)
            .and_then(HeaderValue::as_address)
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .and_then(domain_of);
        match (reply_to, from_domain) {
            (None, _) => self.push_text("reply-to:none"),
            (Some(r), Some(f)) if r.eq_ignore_ascii_case(f) => {
                self.push_text("reply-to:same-domain");
            }
            (Some(_), _) => self.push_text("reply-to:other-domain"),
        }

        let mut received = 0;
        for header in headers {
            let name = header.name.as_str();
            if name.eq_ignore_ascii_case("X-Mailer") || name.eq_ignore_ascii_case("User-Agent") {
                if let Some(value) = header.value.as_text() {
                    self.mailer(value);
                }
            } else if header.name == HeaderName::Received && received < MAX_RECEIVED {
                received += 1;
                if let Some(ip) = header.value.as_received().and_then(|r| r.from_ip()) {
                    self.received_ip(ip);
                }
            }
        }
    }

    fn mailer(&mut self, value: &str) {
        let value = value.trim();
        let first = value
            .split(|c: char| c.is_whitespace() || c == '/' || c == '(')
            .next()
            .unwrap_or_default();
        self.push_lower("mailer:", first);
        let mut h = Fnv1a::new().write(b"mailer:");
        for b in value.bytes().take(60) {
            let b = if b.is_ascii_digit() {
                b'#'
            } else {
                b.to_ascii_lowercase()
            };
            h = h.write(&[b]);
        }
        self.push(h.finish());
    }

    fn received_ip(&mut self, ip: IpAddr) {
        let private = match ip {
            IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local()
            }
        };
        if private {
            self.push_text("rcvd:private");
            return;
        }
        match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                self.push_text(&format!("rcvd:ip4:{a}.{b}"));
                self.push_text(&format!("rcvd:ip4:{a}.{b}.{c}"));
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                self.push_text(&format!("rcvd:ip6:{:x}:{:x}:{:x}", s[0], s[1], s[2]));
            }
        }
    }

    fn part(&mut self, part: &MessagePart<'_>, depth: usize) {
        match part.content_type() {
            Some(ct) => {
                let mut h = Fnv1a::new().write(b"ctype:");
                for b in ct.ctype().bytes() {
                    h = h.write(&[b.to_ascii_lowercase()]);
                }
                h = h.write(b"/");
                for b in ct.subtype().unwrap_or_default().bytes() {
                    h = h.write(&[b.to_ascii_lowercase()]);
                }
                self.push(h.finish());
                if let Some(charset) = ct.attribute("charset") {
                    self.push_lower("charset:", charset);
                }
            }
            None => self.push_text("ctype:none"),
        }
        if let Some(cte) = part.content_transfer_encoding() {
            self.push_lower("cte:", cte);
        }
        if part.is_encoding_problem {
            self.push_text("part:encoding-problem");
        }
        if let Some(name) = part.attachment_name() {
            match extension(name) {
                Some(ext) => self.push_lower("attach:", ext),
                None => self.push_text("attach:noext"),
            }
        }
        match &part.body {
            PartType::Text(text) => self.text(truncate(text), BODY),
            PartType::Html(html) => {
                let text = self.html(truncate(html));
                self.text(&text, BODY);
            }
            PartType::Message(nested) => {
                if depth < MAX_NESTING {
                    self.message(nested, depth + 1);
                }
            }
            PartType::Binary(_) | PartType::InlineBinary(_) | PartType::Multipart(_) => {}
        }
    }

    /// The words of `text` as unigrams with `prefix` and their OSB bigrams, and its link
    /// hosts.
    fn text(&mut self, text: &str, prefix: &str) {
        let text = truncate(text);
        self.urls(text);
        let mut stream = Stream::new(prefix);
        let mut word = std::mem::take(&mut self.word);
        word.clear();
        self.word_overflow = 0;
        for c in text.chars() {
            if stream.words >= MAX_WORDS_PER_STREAM {
                break;
            }
            if c.is_ascii() {
                // The common case, without the Unicode tables.
                if c.is_ascii_alphanumeric() || is_word_punctuation(c) {
                    self.word_push(&mut word, c.to_ascii_lowercase());
                } else {
                    self.word_end(&mut word, &mut stream);
                }
            } else if is_unspaced(c) {
                self.word_end(&mut word, &mut stream);
                word.push(c);
                self.word_end_single(&mut word, &mut stream);
            } else if is_word_char(c) {
                for lower in c.to_lowercase() {
                    self.word_push(&mut word, lower);
                }
            } else {
                self.word_end(&mut word, &mut stream);
            }
        }
        if stream.words < MAX_WORDS_PER_STREAM {
            self.word_end(&mut word, &mut stream);
        }
        self.word = word;
    }

    /// Adds `c` to the word; past what surely makes it too long, only counts it.
    fn word_push(&mut self, word: &mut String, c: char) {
        if word.len() < LONG_WORD_BYTES {
            word.push(c);
        } else {
            self.word_overflow += 1;
        }
    }

    /// Ends the word in `word` (maybe empty) and clears it.
    fn word_end(&mut self, word: &mut String, stream: &mut Stream<'_>) {
        if word.is_empty() {
            return;
        }
        let trimmed = word.trim_matches(|c| matches!(c, '\'' | '’' | '-' | '_' | '.' | '@'));
        let first = trimmed.chars().next();
        let len = trimmed.chars().count() + std::mem::take(&mut self.word_overflow);
        match first {
            Some(_) if len < MIN_WORD_CHARS => {}
            Some(first) if len > MAX_WORD_CHARS => {
                let mut utf8 = [0; 4];
                let mut digits = [0; 20];
                let h = Fnv1a::new()
                    .write(stream.prefix.as_bytes())
                    .write(b"skip:")
                    .write(first.encode_utf8(&mut utf8).as_bytes())
                    .write(b":")
                    .write(decimal(len / 10, &mut digits))
                    .finish();
                stream.word(h, &mut self.out);
            }
            Some(_) => {
                let h = Fnv1a::new()
                    .write(stream.prefix.as_bytes())
                    .write(trimmed.as_bytes())
                    .finish();
                stream.word(h, &mut self.out);
            }
            None => {}
        }
        word.clear();
    }

    /// Ends a one-character word of an unspaced script (kept despite its length).
    fn word_end_single(&mut self, word: &mut String, stream: &mut Stream<'_>) {
        let h = Fnv1a::new()
            .write(stream.prefix.as_bytes())
            .write(word.as_bytes())
            .finish();
        stream.word(h, &mut self.out);
        word.clear();
    }

    /// `url:` features of the links in plain text: `http://`, `https://`, `www.`.
    fn urls(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut found = 0;
        // `match_indices` of a short needle is much faster than a test at every byte.
        for (at, _) in text.match_indices("://") {
            if found >= MAX_URLS_PER_STREAM {
                return;
            }
            let scheme = &bytes[..at];
            let scheme_len = if ends_with_ci(scheme, b"https") {
                5
            } else if ends_with_ci(scheme, b"http") {
                4
            } else {
                continue;
            };
            if scheme.len() > scheme_len && bytes[at - scheme_len - 1].is_ascii_alphanumeric() {
                continue;
            }
            let start = at + 3;
            if let Some(authority) = text.get(start..host_end(bytes, start)) {
                self.url_host(authority);
                found += 1;
            }
        }
        for www in ["www.", "WWW.", "Www."] {
            for (at, _) in text.match_indices(www) {
                if found >= MAX_URLS_PER_STREAM {
                    return;
                }
                // Not inside a word or host, nor after `//` (found above).
                if at > 0
                    && (bytes[at - 1].is_ascii_alphanumeric() || b"./-".contains(&bytes[at - 1]))
                {
                    continue;
                }
                if let Some(authority) = text.get(at..host_end(bytes, at)) {
                    self.url_host(authority);
                    found += 1;
                }
            }
        }
    }

    /// `url:` features of a link's authority (`user@host:port`).
    fn url_host(&mut self, authority: &str) {
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if host.starts_with('[') {
            // An IPv6 literal.
            self.push_text("url:ip");
            return;
        } else {
            host.split(':').next().unwrap_or_default()
        };
        let host = host.trim_end_matches('.');
        if host.is_empty() || host.len() > 253 {
            return;
        }
        if host.parse::<std::net::Ipv4Addr>().is_ok() {
            self.push_text("url:ip");
        }
        // The host and its parents down to two labels.
        let mut rest = host;
        loop {
            self.push_lower("url:", rest);
            match rest.split_once('.') {
                Some((_, parent)) if parent.contains('.') => rest = parent,
                _ => break,
            }
        }
    }

    /// The text of `html` (tags stripped, entities decoded), with `html:` and `url:`
    /// features of its tags.
    fn html(&mut self, html: &str) -> String {
        let bytes = html.as_bytes();
        let mut text = String::with_capacity(html.len() / 2);
        let mut urls = 0;
        let mut i = 0;
        while i < bytes.len() {
            let Some(off) = bytes[i..].iter().position(|b| matches!(b, b'<' | b'&')) else {
                text.push_str(html.get(i..).unwrap_or_default());
                break;
            };
            text.push_str(html.get(i..i + off).unwrap_or_default());
            i += off;
            if bytes[i] == b'&' {
                let (decoded, len) = entity(&bytes[i..]);
                match decoded {
                    Some(c) => text.push(c),
                    None => text.push('&'),
                }
                i += len;
                continue;
            }
            // A tag, a comment or a declaration.
            let rest = &bytes[i..];
            if rest.starts_with(b"<!--") {
                i += find(&rest[4..], b"-->").map_or(rest.len(), |p| 4 + p + 3);
                continue;
            }
            let Some(close) = rest.iter().position(|&b| b == b'>') else {
                // No `>` follows: the rest is text (stopping here keeps `<<<…` linear).
                text.push_str(html.get(i..).unwrap_or_default());
                break;
            };
            let tag = &rest[1..close];
            i += close + 1;
            let closing = tag.first() == Some(&b'/');
            let name_start = usize::from(closing);
            let name_len = tag[name_start..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            let name = &tag[name_start..name_start + name_len];
            if name.is_empty() {
                continue;
            }
            if name.len() <= 10 {
                let mut h = Fnv1a::new().write(b"html:");
                for b in name {
                    h = h.write(&[b.to_ascii_lowercase()]);
                }
                self.push(h.finish());
            }
            if is_block(name) {
                text.push(' ');
            }
            if closing {
                continue;
            }
            if name.eq_ignore_ascii_case(b"script") || name.eq_ignore_ascii_case(b"style") {
                // Skip the content up to the end tag.
                let mut end_tag = [0u8; 8];
                end_tag[..2].copy_from_slice(b"</");
                let end_tag = &mut end_tag[..2 + name.len()];
                end_tag[2..].copy_from_slice(name);
                i += find_ci(&bytes[i..], end_tag).unwrap_or(bytes.len() - i);
                continue;
            }
            for attr in [&b"href"[..], b"src", b"action"] {
                if urls >= MAX_URLS_PER_STREAM {
                    break;
                }
                if let Some(value) = attribute(tag, attr)
                    && let Some(authority) = link_authority(value)
                    && let Ok(authority) = std::str::from_utf8(authority)
                {
                    self.url_host(authority);
                    urls += 1;
                }
            }
        }
        text
    }
}

/// The word sequence of one stream: the last `OSB_WINDOW - 1` word hashes.
struct Stream<'p> {
    prefix: &'p str,
    window: [u64; OSB_WINDOW - 1],
    words: usize,
}

impl<'p> Stream<'p> {
    fn new(prefix: &'p str) -> Self {
        Self {
            prefix,
            window: [0; OSB_WINDOW - 1],
            words: 0,
        }
    }

    /// Emits the unigram `hash` and its bigrams with the previous words.
    fn word(&mut self, hash: u64, out: &mut Vec<u64>) {
        out.push(hash);
        let back = self.words.min(OSB_WINDOW - 1);
        for distance in 1..=back {
            let left = self.window[(self.words - distance) % (OSB_WINDOW - 1)];
            // `distance` < OSB_WINDOW, which fits a byte.
            out.push(bigram(left, hash, distance as u8));
        }
        self.window[self.words % (OSB_WINDOW - 1)] = hash;
        self.words += 1;
    }
}

/// `text` cut to at most [`MAX_TEXT_BYTES`], at a character boundary.
fn truncate(text: &str) -> &str {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let end = text.floor_char_boundary(MAX_TEXT_BYTES);
    text.get(..end).unwrap_or_default()
}

/// ASCII punctuation kept in words.
fn is_word_punctuation(c: char) -> bool {
    matches!(c, '\'' | '-' | '_' | '.' | '@' | '$' | '%' | '!')
}

/// Letters, digits, combining marks and the punctuation kept inside words.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || is_word_punctuation(c)
        || matches!(c, '’' | '€' | '£' | '¥')
        // Combining diacritical marks (decomposed accents).
        || ('\u{300}'..='\u{36f}').contains(&c)
        // Indic scripts, whose viramas and some vowel signs are not alphabetic; not the dandas.
        || (('\u{900}'..='\u{dff}').contains(&c) && !matches!(c, '\u{964}' | '\u{965}'))
}

/// Scripts written without spaces between words: each character is a word.
fn is_unspaced(c: char) -> bool {
    matches!(c,
        '\u{0e00}'..='\u{0eff}'     // Thai, Lao
        | '\u{1000}'..='\u{109f}'   // Myanmar
        | '\u{1780}'..='\u{17ff}'   // Khmer
        | '\u{3040}'..='\u{30ff}'   // Hiragana, Katakana
        | '\u{3400}'..='\u{4dbf}'   // CJK Extension A
        | '\u{4e00}'..='\u{9fff}'   // CJK Unified Ideographs
        | '\u{f900}'..='\u{faff}'   // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{2fa1f}' // CJK Extensions B–F, Compatibility Supplement
    )
}

/// At least 5 letters, at least 70% of them upper-case.
fn shouts(subject: &str) -> bool {
    let (mut letters, mut upper) = (0u32, 0u32);
    for c in subject.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if c.is_uppercase() {
            upper += 1;
        }
    }
    letters >= 5 && upper * 10 >= letters * 7
}

/// The domain of an address, if it has a non-empty one.
fn domain_of(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().trim_end_matches('>'))
        .filter(|d| !d.is_empty())
}

/// The extension of a file name: 1–8 alphanumeric characters after the last dot.
fn extension(name: &str) -> Option<&str> {
    let (_, ext) = name.trim().rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(ext)
}

/// The decimal digits of `n`, written at the end of `buf`.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        // `n % 10` < 10.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    &buf[i..]
}

fn ends_with_ci(hay: &[u8], suffix: &[u8]) -> bool {
    hay.len() >= suffix.len() && hay[hay.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// The position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The position of `needle` in `hay`, ASCII case-insensitively.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Where the authority of a link starting at `start` ends.
fn host_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|b| {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'/' | b'?' | b'#' | b'<' | b'>' | b'"' | b'\'' | b')' | b']' | b',' | b';'
                )
        })
        .map_or(bytes.len(), |p| start + p)
}

/// The authority of an absolute (`scheme://`) or scheme-relative (`//`) link.
fn link_authority(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let rest = if let Some(p) = find(value, b"://") {
        let scheme = &value[..p];
        if scheme.is_empty() || !scheme.iter().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        &value[p + 3..]
    } else {
        value.strip_prefix(b"//")?
    };
    let end = host_end(rest, 0);
    let authority = &rest[..end];
    (!authority.is_empty()).then_some(authority)
}

/// The value of attribute `name` in the inside of a tag (`a href="…" …`).
fn attribute<'t>(tag: &'t [u8], name: &[u8]) -> Option<&'t [u8]> {
    let mut from = 0;
    while let Some(p) = find_ci(&tag[from..], name) {
        let at = from + p;
        from = at + name.len();
        // A whole attribute name: preceded by a space, followed by `=` (spaces allowed).
        if at == 0 || !tag[at - 1].is_ascii_whitespace() {
            continue;
        }
        let rest = tag[from..].trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b"=") else {
            continue;
        };
        let rest = rest.trim_ascii_start();
        return Some(match rest.first() {
            Some(&q @ (b'"' | b'\'')) => {
                let inner = &rest[1..];
                &inner[..inner.iter().position(|&b| b == q).unwrap_or(inner.len())]
            }
            _ => {
                let end = rest
                    .iter()
                    .position(|b| b.is_ascii_whitespace())
                    .unwrap_or(rest.len());
                &rest[..end]
            }
        });
    }
    None
}

/// Tags that separate words when rendered.
fn is_block(name: &[u8]) -> bool {
    const BLOCK: &[&[u8]] = &[
        b"br",
        b"p",
        b"div",
        b"td",
        b"th",
        b"tr",
        b"li",
        b"ul",
        b"ol",
        b"table",
        b"h1",
        b"h2",
        b"h3",
        b"h4",
        b"h5",
        b"h6",
        b"hr",
        b"title",
        b"blockquote",
        b"pre",
        b"img",
        b"body",
        b"head",
        b"html",
        b"section",
        b"article",
        b"header",
        b"footer",
        b"center",
        b"dd",
        b"dt",
        b"dl",
        b"form",
        b"option",
        b"select",
        b"textarea",
        b"button",
        b"input",
    ];
    BLOCK.iter().any(|b| b.eq_ignore_ascii_case(name))
}

/// Decodes the entity at the start of `s` (which starts with `&`): the character, if
/// known, and how many bytes it took (1 when not an entity).
fn entity(s: &[u8]) -> (Option<char>, usize) {
    let Some(end) = s.iter().take(12).position(|&b| b == b';') else {
        return (None, 1);
    };
    let name = &s[1..end];
    let c = match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        b"nbsp" => Some(' '),
        _ => {
            let number = match name {
                [b'#', b'x' | b'X', hex @ ..] => std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok()),
                [b'#', dec @ ..] => std::str::from_utf8(dec).ok().and_then(|d| d.parse().ok()),
                _ => None,
            };
            match number {
                Some(n) => Some(char::from_u32(n).unwrap_or(char::REPLACEMENT_CHARACTER)),
                None => return (None, 1),
            }
        }
    };
    (c, end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a 64 test vectors (from the reference implementation's test suite).
    #[test]
    fn fnv1a_matches_known_answers() {
        for (input, hash) in [
            ("", 0xcbf2_9ce4_8422_2325_u64),
            ("a", 0xaf63_dc4c_8601_ec8c),
            ("foobar", 0x8594_4171_f739_67e8),
        ] {
            assert_eq!(feature(input), hash, "{input:?}");
        }
    }

    #[test]
    fn bigram_encoding_is_fixed() {
        assert_eq!(bigram(feature("a"), feature("b"), 1), 0x2440_e9d8_9121_7255);
        assert_ne!(
            bigram(feature("a"), feature("b"), 2),
            bigram(feature("a"), feature("b"), 1)
        );
        assert_ne!(
            bigram(feature("b"), feature("a"), 1),
            bigram(feature("a"), feature("b"), 1)
        );
    }

    #[test]
    fn decimal_writes_digits() {
        let mut buf = [0; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(42, &mut buf), b"42");
        assert_eq!(
            decimal(usize::MAX, &mut buf),
            usize::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn entities_decode() {
        assert_eq!(entity(b"&amp;x"), (Some('&'), 5));
        assert_eq!(entity(b"&#65;"), (Some('A'), 5));
        assert_eq!(entity(b"&#x41;"), (Some('A'), 6));
        assert_eq!(entity(b"&#xD800;"), (Some('\u{fffd}'), 8));
        assert_eq!(entity(b"&unknown;"), (None, 1));
        assert_eq!(entity(b"& no"), (None, 1));
    }

    #[test]
    fn attributes_are_found() {
        assert_eq!(
            attribute(b"a class=x HREF = \"http://e.example/\"", b"href"),
            Some(&b"http://e.example/"[..])
        );
        assert_eq!(attribute(b"a xhref=y", b"href"), None);
        assert_eq!(
            attribute(b"img src=foo.png alt=x", b"src"),
            Some(&b"foo.png"[..])
        );
        assert_eq!(
            attribute(b"a href='unclosed", b"href"),
            Some(&b"unclosed"[..])
        );
    }

    #[test]
    fn link_authorities() {
        assert_eq!(
            link_authority(b" https://u@Host.example:8080/p?q"),
            Some(&b"u@Host.example:8080"[..])
        );
        assert_eq!(
            link_authority(b"//cdn.example/x"),
            Some(&b"cdn.example"[..])
        );
        assert_eq!(link_authority(b"/relative/path"), None);
        assert_eq!(link_authority(b"mailto:a@b.example"), None);
    }
}
