//! The agreement between [`crate::index`], [`crate::section`], [`crate::sections`] and
//! [`crate::binary`] that the fuzz target (`fuzz/fuzz_targets/message.rs`) and the corpus
//! replay (`tests/fuzz_corpus.rs`) both assert, kept here so the two cannot drift apart.
//! Not for production code: it panics on the first disagreement.

use mailstead_imap_proto::{BodyStructure, Section, SectionText};

use crate::{
    BinaryError, MAX_BODY_TEXT_BYTES, StoredSummary, Summary, binary, index, section, sections,
};

type Listed<'a> = Vec<(Vec<u32>, &'a BodyStructure)>;

/// (path, part) of every part BODYSTRUCTURE lists for a message body.
fn parts<'a>(body: &'a BodyStructure, prefix: &[u32], out: &mut Listed<'a>) {
    if let BodyStructure::Multi { .. } = body {
        inner(body, prefix, out);
    } else {
        let path = [prefix, &[1]].concat();
        out.push((path.clone(), body));
        inner(body, &path, out);
    }
}

/// The parts below part `path`.
fn inner<'a>(part: &'a BodyStructure, path: &[u32], out: &mut Listed<'a>) {
    match part {
        BodyStructure::Multi {
            parts: children, ..
        } => {
            for (i, child) in children.iter().enumerate() {
                let child_path = [path, &[i as u32 + 1]].concat();
                out.push((child_path.clone(), child));
                inner(child, &child_path, out);
            }
        }
        BodyStructure::Single {
            message: Some(m), ..
        } => parts(&m.1, path, out),
        BodyStructure::Single { .. } => {}
    }
}

/// Panics unless, for `data`: the body text stays within its cap; the summary reads back
/// (JSON and stored form); `BODY[HEADER]` + `BODY[TEXT]` is the message and the header
/// field selections end with the blank line; the header-only path of the top-level
/// sections agrees with the full parse; every part BODYSTRUCTURE lists (the first 64)
/// exists for `section` (content and MIME, TEXT of an attached message) and `binary`, its
/// `octets` being the length of `BODY[part]`; the part after the last does not exist.
pub fn consistency(data: &[u8]) {
    let indexed = index(data);
    assert!(indexed.body_text.len() <= MAX_BODY_TEXT_BYTES);
    let json = indexed.summary.to_json();
    assert_eq!(Summary::from_json(&json).as_ref(), Some(&indexed.summary));
    let stored = indexed.summary.to_stored();
    let view = StoredSummary::parse(&stored);
    assert_eq!(view.map(|v| v.sent_date), Some(indexed.summary.sent_date));

    let whole = |text| section(data, &Section { part: vec![], text });
    assert_eq!(whole(None).as_deref(), Some(data));
    let header = whole(Some(SectionText::Header)).unwrap_or_else(|| panic!("HEADER exists"));
    let text = whole(Some(SectionText::Text)).unwrap_or_else(|| panic!("TEXT exists"));
    assert_eq!([header, text].concat(), data);
    for fields in [
        SectionText::HeaderFields(vec!["subject".into(), "from".into()]),
        SectionText::HeaderFieldsNot(vec!["received".into()]),
    ] {
        let got = whole(Some(fields.clone())).unwrap_or_else(|| panic!("{fields:?} exists"));
        assert!(got.ends_with(b"\r\n"), "{fields:?}");
    }

    // The header-only path of the top-level sections agrees with the full parse (a list
    // with a part number in it takes the full parse for all).
    let top = |text| Section {
        part: vec![],
        text: Some(text),
    };
    let wanted = vec![
        top(SectionText::Header),
        top(SectionText::Text),
        top(SectionText::HeaderFields(vec![
            "subject".into(),
            "from".into(),
        ])),
        top(SectionText::HeaderFieldsNot(vec!["received".into()])),
        Section {
            part: vec![1],
            text: None,
        },
    ];
    let full = sections(data, &wanted);
    for (i, one) in wanted.iter().take(4).enumerate() {
        assert_eq!(section(data, one), full[i], "{one:?}");
    }

    let mut listed = Vec::new();
    parts(&indexed.summary.body, &[], &mut listed);
    for (path, part) in listed.iter().take(64) {
        let at = |text| Section {
            part: path.clone(),
            text,
        };
        let content = section(data, &at(None)).unwrap_or_else(|| panic!("BODY[{path:?}] exists"));
        assert!(section(data, &at(Some(SectionText::Mime))).is_some());
        if let BodyStructure::Single {
            fields,
            lines,
            message,
            ..
        } = part
        {
            assert_eq!(
                content.len() as u64,
                u64::from(fields.octets),
                "octets of {path:?}"
            );
            assert!(lines.unwrap_or(0) <= fields.octets);
            if message.is_some() {
                assert!(section(data, &at(Some(SectionText::Text))).is_some());
            }
        }
        match binary(data, path) {
            Ok(Some(_)) | Err(BinaryError::UnknownCte) => {}
            Ok(None) => panic!("BINARY[{path:?}] exists"),
        }
    }
    let past = vec![listed.len() as u32 + 1];
    let none = Section {
        part: past.clone(),
        text: None,
    };
    assert_eq!(section(data, &none), None);
    assert_eq!(binary(data, &past), Ok(None));
}
