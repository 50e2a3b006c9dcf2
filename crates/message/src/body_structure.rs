//! BODYSTRUCTURE (RFC 9051 §7.5.2, §9 `body`) from the part tree.
//!
//! Conventions (Dovecot's, except the case): media type, subtype, parameter names,
//! encoding and disposition type are upper-cased; parameter values are kept. A `TEXT/*`
//! part without a charset gets `("CHARSET" "US-ASCII")` (RFC 2045 §5.2 default). An
//! invalid Content-Transfer-Encoding is reported as `7BIT` (as Dovecot does). `octets`
//! and `lines` measure the content as stored — raw octets, not CRLF-normalised, so they
//! agree with the `BODY[...]` this crate returns; `lines` counts its LFs. A multipart
//! without parts gets one empty `TEXT/PLAIN` part (the grammar needs one).

use mail_parser::{HeaderName, HeaderValue};
use mailstead_imap_proto::{BodyExtension, BodyFields, BodyStructure};

use crate::envelope::envelope;
use crate::tree::{Kind, Part};

/// The BODYSTRUCTURE of `part` (for a message root: of its body).
pub(crate) fn body_structure(part: &Part<'_, '_>) -> BodyStructure {
    match &part.kind {
        Kind::Multi(children) => {
            let parts = if children.is_empty() {
                vec![empty_text_plain()]
            } else {
                children.iter().map(body_structure).collect()
            };
            BodyStructure::Multi {
                parts,
                subtype: part.media.subtype.to_ascii_uppercase(),
                params: upper_names(&part.media.params),
                ext: BodyExtension {
                    md5: None,
                    ..extension(part)
                },
            }
        }
        kind => {
            let (media_type, subtype) = if part.media.ty == "multipart" {
                // A multipart below the nesting limit: shown as opaque data.
                ("APPLICATION".to_string(), "OCTET-STREAM".to_string())
            } else {
                (
                    part.media.ty.to_ascii_uppercase(),
                    part.media.subtype.to_ascii_uppercase(),
                )
            };
            let mut params = upper_names(&part.media.params);
            if media_type == "TEXT" && !params.iter().any(|(n, _)| n == "CHARSET") {
                params.push(("CHARSET".into(), "US-ASCII".into()));
            }
            let body = part.body_bytes();
            let message = match kind {
                Kind::Message(inner) => Some(Box::new((envelope(inner), body_structure(inner)))),
                _ => None,
            };
            let lines = (media_type == "TEXT" || message.is_some()).then(|| count_lines(body));
            BodyStructure::Single {
                media_type,
                subtype,
                fields: BodyFields {
                    params,
                    id: part.raw_value(&HeaderName::ContentId),
                    description: part.raw_value(&HeaderName::ContentDescription),
                    encoding: encoding(part),
                    octets: u32::try_from(body.len()).unwrap_or(u32::MAX),
                },
                lines,
                message,
                ext: extension(part),
            }
        }
    }
}

/// The stand-in part of a multipart that has none.
pub(crate) fn empty_text_plain() -> BodyStructure {
    BodyStructure::Single {
        media_type: "TEXT".into(),
        subtype: "PLAIN".into(),
        fields: BodyFields {
            params: vec![("CHARSET".into(), "US-ASCII".into())],
            id: None,
            description: None,
            encoding: "7BIT".into(),
            octets: 0,
        },
        lines: Some(0),
        message: None,
        ext: BodyExtension::default(),
    }
}

/// LFs in `body`.
pub(crate) fn count_lines(body: &[u8]) -> u32 {
    u32::try_from(body.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX)
}

/// The Content-Transfer-Encoding, upper-cased; `7BIT` when absent or not a token
/// (RFC 2045 §6.1 `mechanism`).
fn encoding(part: &Part<'_, '_>) -> String {
    match part.transfer_encoding() {
        Some(cte) if is_token(&cte) => cte.to_ascii_uppercase(),
        _ => "7BIT".into(),
    }
}

/// RFC 2045 §5.1 `token`: printable US-ASCII except SPACE and tspecials.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (0x21..0x7f).contains(&b) && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// Content-MD5, Content-Disposition, Content-Language, Content-Location (RFC 9051 §9
/// `body-ext-1part`).
fn extension(part: &Part<'_, '_>) -> BodyExtension {
    let disposition = part
        .value(&HeaderName::ContentDisposition)
        .and_then(HeaderValue::as_content_type)
        .map(|cd| cd.ctype().trim())
        .filter(|ty| !ty.is_empty())
        .map(|ty| {
            let params = part
                .value(&HeaderName::ContentDisposition)
                .and_then(HeaderValue::as_content_type)
                .and_then(|cd| cd.attributes())
                .unwrap_or_default()
                .iter()
                .map(|a| (a.name.to_ascii_uppercase(), a.value.to_string()))
                .collect();
            (ty.to_ascii_uppercase(), params)
        });
    let language = match part.value(&HeaderName::ContentLanguage) {
        Some(HeaderValue::Text(tag)) => vec![tag.trim().to_string()],
        Some(HeaderValue::TextList(tags)) => tags.iter().map(|t| t.trim().to_string()).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|t| !t.is_empty())
    .collect();
    BodyExtension {
        md5: part.raw_value(&HeaderName::ContentMd5),
        disposition,
        language,
        location: part.raw_value(&HeaderName::ContentLocation),
    }
}

fn upper_names(params: &[(String, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(n, v)| (n.to_ascii_uppercase(), v.clone()))
        .collect()
}
