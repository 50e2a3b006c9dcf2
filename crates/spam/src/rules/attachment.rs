//! Attachments judged by their file names: the `filename` of `Content-Disposition` and
//! the `name` of `Content-Type` (RFC 2183, RFC 2045; RFC 2231/2047 encodings decoded by
//! mail-parser), case-insensitively, in every part including attached messages, and the
//! entry names of ZIP archives (read from the archive's headers, never decompressed).
//!
//! | Symbol | Meaning |
//! |--------|---------|
//! | `ATTACH_EXECUTABLE` | a file Windows runs when opened (`.exe`, `.scr`, `.js`, `.hta`, `.lnk`, `.iso`, … see [`EXECUTABLE`]) |
//! | `ATTACH_MACRO` | an Office document with macros (`.docm`, `.xlsm`, … see [`MACRO`]) |
//! | `ATTACH_DOUBLE_EXT` | an executable or macro extension behind a document one (`invoice.pdf.exe`, `scan.jpg   .scr`): made to look like a document |
//! | `ATTACH_ARCHIVE_EXECUTABLE` | a ZIP archive holding an executable |
//!
//! Before the extension is read, a name loses what Windows ignores or what hides the
//! real extension: trailing dots and spaces, control characters and the bidirectional
//! overrides (`invoice\u{202E}fdp.exe` shows as `invoiceexe.pdf`).

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use crate::verdict::Hit;

/// Extensions of files that run when opened.
pub const EXECUTABLE: &[&str] = &[
    "ace",
    "apk",
    "app",
    "appx",
    "appxbundle",
    "bat",
    "cab",
    "chm",
    "cmd",
    "com",
    "cpl",
    "dll",
    "exe",
    "gadget",
    "hta",
    "img",
    "inf",
    "iso",
    "jar",
    "js",
    "jse",
    "lnk",
    "msc",
    "msi",
    "msix",
    "msp",
    "pif",
    "ps1",
    "psm1",
    "reg",
    "scf",
    "scr",
    "sct",
    "url",
    "vb",
    "vbe",
    "vbs",
    "vhd",
    "vhdx",
    "wsc",
    "wsf",
    "wsh",
    "xll",
];

/// Extensions of Office documents that carry macros.
pub const MACRO: &[&str] = &[
    "docm", "dotm", "potm", "ppam", "ppsm", "pptm", "sldm", "xlam", "xlsb", "xlsm", "xltm",
];

/// Extensions a malicious file pretends to have in front of its real one.
const DECOY: &[&str] = &[
    "avi", "bmp", "csv", "doc", "docx", "eml", "gif", "htm", "html", "jpeg", "jpg", "mov", "mp3",
    "mp4", "odt", "ods", "pdf", "png", "ppt", "pptx", "rar", "rtf", "tif", "tiff", "txt", "wav",
    "xls", "xlsx", "xml", "zip", "7z",
];

/// Attached messages are followed this deep.
const MAX_DEPTH: usize = 3;
/// At most this many ZIP entries are read per archive.
const MAX_ZIP_ENTRIES: usize = 1000;

/// What a file name is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Kind {
    pub executable: bool,
    pub macro_document: bool,
    pub double_extension: bool,
}

/// Classifies a file name.
pub(crate) fn classify(name: &str) -> Kind {
    let name = clean(name);
    let mut parts = name.rsplit('.');
    let ext = parts.next().unwrap_or_default().trim();
    let before = parts.next().map(str::trim);
    let has_stem = parts.next().is_some();
    let executable = name.contains('.') && EXECUTABLE.contains(&ext);
    let macro_document = name.contains('.') && MACRO.contains(&ext);
    let double_extension =
        (executable || macro_document) && has_stem && before.is_some_and(|b| DECOY.contains(&b));
    Kind {
        executable,
        macro_document,
        double_extension,
    }
}

/// Lower case without control characters, bidirectional formatting characters and
/// trailing dots and spaces.
fn clean(name: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect::<String>()
        .to_lowercase();
    kept.trim_end_matches(['.', ' ']).trim().to_owned()
}

/// The attachment symbols of a message.
pub(crate) fn hits(message: &Message<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    walk(message, 0, &mut hits);
    hits
}

fn walk(message: &Message<'_>, depth: usize, hits: &mut Vec<Hit>) {
    for part in &message.parts {
        for name in names(part) {
            let kind = classify(name);
            if kind.executable {
                fire(hits, "ATTACH_EXECUTABLE", name);
            }
            if kind.macro_document {
                fire(hits, "ATTACH_MACRO", name);
            }
            if kind.double_extension {
                fire(hits, "ATTACH_DOUBLE_EXT", name);
            }
        }
        match &part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) if is_zip(part, bytes) => {
                if let Some(entry) = zip_entry_names(bytes)
                    .into_iter()
                    .find(|entry| classify(entry).executable)
                {
                    fire(hits, "ATTACH_ARCHIVE_EXECUTABLE", &entry);
                }
            }
            PartType::Message(inner) if depth < MAX_DEPTH => walk(inner, depth + 1, hits),
            _ => {}
        }
    }
}

fn fire(hits: &mut Vec<Hit>, name: &'static str, detail: &str) {
    if !hits.iter().any(|h| h.name == name) {
        hits.push(Hit::new(name).with_detail(detail));
    }
}

/// The file names a part gives: `Content-Disposition` `filename` and `Content-Type`
/// `name`.
fn names<'p>(part: &'p MessagePart<'_>) -> Vec<&'p str> {
    let mut names = Vec::new();
    let disposition = part.content_disposition().and_then(|d| d.attributes());
    let content_type = part.content_type().and_then(|t| t.attributes());
    for attr in disposition.into_iter().flatten() {
        if attr.name.eq_ignore_ascii_case("filename") {
            names.push(attr.value.as_ref());
        }
    }
    for attr in content_type.into_iter().flatten() {
        if attr.name.eq_ignore_ascii_case("name") {
            names.push(attr.value.as_ref());
        }
    }
    names
}

/// Whether a part is a ZIP archive: by name, by type, or by its first bytes.
fn is_zip(part: &MessagePart<'_>, bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        || names(part).iter().any(|n| clean(n).ends_with(".zip"))
        || part.content_type().is_some_and(|t| {
            t.subtype().is_some_and(|s| {
                matches!(
                    s.to_ascii_lowercase().as_str(),
                    "zip" | "x-zip" | "x-zip-compressed"
                )
            })
        })
}

/// The entry names of a ZIP archive (APPNOTE.TXT §4.3.7 local file headers,
/// §4.3.12 central directory headers), read from the headers only; `Vec::new()` for
/// bytes that are no archive.
pub(crate) fn zip_entry_names(bytes: &[u8]) -> Vec<String> {
    const LOCAL: &[u8] = b"PK\x03\x04";
    const CENTRAL: &[u8] = b"PK\x01\x02";
    let u16_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 2)?;
        Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let mut names: Vec<String> = Vec::new();
    let mut at = 0;
    while names.len() < MAX_ZIP_ENTRIES {
        let Some(offset) = bytes
            .get(at..)
            .and_then(|rest| rest.windows(4).position(|w| w == LOCAL || w == CENTRAL))
        else {
            break;
        };
        let start = at + offset;
        let (len_at, name_at) = if bytes[start..].starts_with(LOCAL) {
            (start + 26, start + 30)
        } else {
            (start + 28, start + 46)
        };
        let name = u16_at(len_at).and_then(|len| bytes.get(name_at..name_at + len));
        match name {
            Some(name) => {
                let name = String::from_utf8_lossy(name).into_owned();
                if !names.contains(&name) {
                    names.push(name);
                }
                at = start + 4;
            }
            None => break,
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        let exe = Kind {
            executable: true,
            ..Kind::default()
        };
        let double = Kind {
            executable: true,
            double_extension: true,
            ..Kind::default()
        };
        let macro_doc = Kind {
            macro_document: true,
            ..Kind::default()
        };
        for (name, kind) in [
            ("setup.EXE", exe),
            ("run.js", exe),
            ("disk.iso", exe),
            ("trailing.exe. . ", exe),
            ("invoice.pdf.exe", double),
            ("Scan.JPG   .scr", double),
            ("invoice\u{202e}fdp.exe", exe),
            ("budget.xlsm", macro_doc),
            ("report.pdf", Kind::default()),
            ("archive.tar.gz", Kind::default()),
            ("exe", Kind::default()),
            ("", Kind::default()),
            ("setup.v2.exe", exe),
        ] {
            assert_eq!(classify(name), kind, "{name:?}");
        }
        assert!(classify("q.pdf.docm").double_extension);
    }

    #[test]
    fn zip_entries_are_read_from_headers() {
        let mut zip = Vec::new();
        for name in ["readme.txt", "payload.exe"] {
            zip.extend_from_slice(b"PK\x03\x04");
            zip.extend_from_slice(&[0; 22]);
            zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
            zip.extend_from_slice(&[0, 0]);
            zip.extend_from_slice(name.as_bytes());
            zip.extend_from_slice(b"compressed data");
        }
        assert_eq!(zip_entry_names(&zip), vec!["readme.txt", "payload.exe"]);
        assert!(zip_entry_names(b"PK\x03\x04\x00").is_empty());
        assert!(zip_entry_names(b"not a zip").is_empty());
    }
}
