//! `BODY[section]` (RFC 9051 §6.4.5) and `BINARY[part]` (RFC 3516 §4.1) over the part
//! tree: byte ranges of the raw message, and the transfer decoding of a part.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::parsers::MessageStream;
use mailstead_imap_proto::{Section, SectionText};

use crate::BinaryError;
use crate::tree::{Kind, Part, raw_field_bytes};

/// The part a non-empty part path names (RFC 9051 §6.4.5): in a message, part numbers
/// count the parts of its body — the one part of a non-multipart body is `1`; in a
/// multipart they count its children; in a `message/rfc822` part they count the parts
/// of the encapsulated message's body.
pub(crate) fn resolve<'a, 'm, 'x>(
    root: &'a Part<'m, 'x>,
    path: &[u32],
) -> Option<&'a Part<'m, 'x>> {
    let mut current = root;
    let mut is_message = true;
    for &number in path {
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        if !is_message && let Kind::Message(inner) = &current.kind {
            current = inner;
            is_message = true;
        }
        current = match &current.kind {
            Kind::Multi(children) => children.get(index)?,
            _ if is_message && index == 0 => current,
            _ => return None,
        };
        is_message = false;
    }
    Some(current)
}

/// The octets of `section` of the message whose tree is `root` (`raw` is the whole
/// message).
pub(crate) fn section(raw: &[u8], root: &Part<'_, '_>, section: &Section) -> Option<Vec<u8>> {
    if section.part.is_empty() {
        return match &section.text {
            None => Some(raw.to_vec()),
            Some(text) => message_text(root, text),
        };
    }
    let part = resolve(root, &section.part)?;
    match &section.text {
        None => Some(part.body_bytes().to_vec()),
        Some(SectionText::Mime) => Some(part.header_bytes().to_vec()),
        // HEADER, TEXT and HEADER.FIELDS after a part number only name the parts of
        // an encapsulated message.
        Some(text) => match &part.kind {
            Kind::Message(inner) => message_text(inner, text),
            _ => None,
        },
    }
}

/// `section-msgtext` of the message whose root is `root`.
pub(crate) fn message_text(root: &Part<'_, '_>, text: &SectionText) -> Option<Vec<u8>> {
    match text {
        SectionText::Header => Some(root.header_bytes().to_vec()),
        SectionText::Text => Some(root.body_bytes().to_vec()),
        SectionText::HeaderFields(names) => Some(header_fields(root, names, true)),
        SectionText::HeaderFieldsNot(names) => Some(header_fields(root, names, false)),
        SectionText::Mime => None,
    }
}

/// The fields of `root`'s header whose name is (`wanted`) or is not (`!wanted`) one of
/// `names`, case-insensitively, each as it appears (folded lines included), then the
/// blank line (RFC 9051 §6.4.5).
fn header_fields(root: &Part<'_, '_>, names: &[String], wanted: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for header in root.headers {
        let name = header.name.as_str();
        let listed = names.iter().any(|n| n.trim().eq_ignore_ascii_case(name));
        if listed != wanted {
            continue;
        }
        let field = raw_field_bytes(root.src, header);
        out.extend_from_slice(field);
        if !field.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The content of `part` with its Content-Transfer-Encoding removed.
pub(crate) fn binary(
    raw: &[u8],
    root: &Part<'_, '_>,
    path: &[u32],
) -> Result<Option<Vec<u8>>, BinaryError> {
    if path.is_empty() {
        return Ok(Some(raw.to_vec()));
    }
    let Some(part) = resolve(root, path) else {
        return Ok(None);
    };
    let body = part.body_bytes();
    if !matches!(part.kind, Kind::Leaf) {
        // A multipart or an encapsulated message is not encoded (RFC 2045 §6.4).
        return Ok(Some(body.to_vec()));
    }
    match part.transfer_encoding().as_deref() {
        None | Some("7bit" | "8bit" | "binary") => Ok(Some(body.to_vec())),
        Some("base64") => Ok(Some(decode_base64(body))),
        Some("quoted-printable") => {
            let (_, decoded) = MessageStream::new(body).decode_quoted_printable_mime(b"");
            Ok(Some(decoded.into_owned()))
        }
        // Not a token: BODYSTRUCTURE shows it as 7BIT, so it is read as such.
        Some(other) if !crate::body_structure::is_token(other) => Ok(Some(body.to_vec())),
        Some(_) => Err(BinaryError::UnknownCte),
    }
}

/// Base64 decoding that skips what is not in the alphabet (RFC 2045 §6.8: "any
/// characters outside of the base64 alphabet are to be ignored").
fn decode_base64(body: &[u8]) -> Vec<u8> {
    let clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .collect();
    base64_decode(&clean).unwrap_or_default()
}
