//! The search text of a message: what `SEARCH HEADER/SUBJECT/FROM/...` and
//! `SEARCH BODY/TEXT` (RFC 9051 §6.4.4) look in, computed once at delivery.

use mail_parser::decoders::html::html_to_text;
use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderValue, PartType};

use crate::tree::{Kind, Part, latin1_fallback, raw_value_bytes};

/// Most bytes of body text kept per message (1 MiB): enough for any real text, and a
/// bound on what one huge message adds to the index.
pub const MAX_BODY_TEXT_BYTES: usize = 1 << 20;

/// Every field of `root`'s header as `name: value\n`, the value unfolded and its
/// encoded words decoded (RFC 2047), all lower-cased. A line break inside a decoded
/// value becomes a space so that one line is one field.
pub(crate) fn header_text(root: &Part<'_, '_>) -> String {
    let mut out = String::new();
    for header in root.headers {
        // 8-bit octets that are not UTF-8 are read as Latin-1 (mail-parser would replace
        // them).
        let bytes = latin1_fallback(raw_value_bytes(root.src, header).to_vec());
        let value = match MessageStream::new(bytes.as_bytes()).parse_unstructured() {
            HeaderValue::Text(text) => text.into_owned(),
            _ => String::new(),
        };
        out.push_str(header.name.as_str());
        out.push_str(": ");
        out.push_str(&value.replace(['\r', '\n'], " "));
        out.push('\n');
    }
    out.to_lowercase()
}

/// The decoded text of every text part (HTML without its tags), the decoded MIME header
/// fields of every part of a multipart, and of every attached message (its header text,
/// then its parts), lower-cased, parts separated by `\n`,
/// cut at [`MAX_BODY_TEXT_BYTES`].
pub(crate) fn body_text(root: &Part<'_, '_>) -> String {
    let mut out = BodyText::default();
    collect(root, &mut out);
    out.0
}

/// The body text of a message mail-parser could not parse: all of it.
pub(crate) fn unparsed_body_text(raw: &[u8]) -> String {
    let mut out = BodyText::default();
    out.push(&String::from_utf8_lossy(raw));
    out.0
}

fn collect(part: &Part<'_, '_>, out: &mut BodyText) {
    if out.is_full() {
        return;
    }
    match &part.kind {
        Kind::Multi(children) => {
            // A multipart whose boundary was not found: mail-parser kept its content
            // as text.
            if let Some(PartType::Text(text)) = part.parsed.map(|p| &p.body) {
                out.push(text);
            }
            // RFC 9051 §6.4.4: TEXT and BODY look at the MIME header fields of the parts
            // too (an attachment's file name is found, as with Dovecot).
            for child in children {
                out.push(&header_text(child));
                collect(child, out);
            }
        }
        Kind::Message(inner) => {
            out.push(&header_text(inner));
            collect(inner, out);
        }
        _ => match part.parsed.map(|p| &p.body) {
            Some(PartType::Text(text)) => out.push(text),
            Some(PartType::Html(html)) => out.push(&html_to_text(html)),
            // An encoded message/rfc822 (or one below the nesting limit): its text
            // parts, one level.
            Some(PartType::Message(inner)) => {
                for p in &inner.parts {
                    match &p.body {
                        PartType::Text(text) => out.push(text),
                        PartType::Html(html) => out.push(&html_to_text(html)),
                        _ => {}
                    }
                }
            }
            _ => {}
        },
    }
}

/// Body text under construction, bounded by [`MAX_BODY_TEXT_BYTES`].
#[derive(Default)]
struct BodyText(String);

impl BodyText {
    fn is_full(&self) -> bool {
        self.0.len() >= MAX_BODY_TEXT_BYTES
    }

    fn push(&mut self, text: &str) {
        let text = text.trim();
        if self.is_full() || text.is_empty() {
            return;
        }
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        // Lower-case no more than fits (plus slack: lower-casing may grow a character).
        let mut end = text.len().min(MAX_BODY_TEXT_BYTES - self.0.len() + 16);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.0.push_str(&text[..end].to_lowercase());
        if self.0.len() > MAX_BODY_TEXT_BYTES {
            let mut end = MAX_BODY_TEXT_BYTES;
            while !self.0.is_char_boundary(end) {
                end -= 1;
            }
            self.0.truncate(end);
        }
    }
}

/// See [`crate::header_field_matches`].
pub(crate) fn header_field_matches(header_text: &str, name: &str, needle: &str) -> bool {
    let name = name.trim().to_lowercase();
    header_text.lines().any(|line| match line.split_once(':') {
        Some((field, value)) if field == name => {
            value.strip_prefix(' ').unwrap_or(value).contains(needle)
        }
        _ => false,
    })
}
