//! `index`, `section` and `binary` must never panic on any input, and must agree with
//! each other: every part BODYSTRUCTURE lists exists in `section` and `binary`, and its
//! `octets` are the length of `BODY[part]`; `BODY[HEADER]` + `BODY[TEXT]` is the message;
//! the stored summary reads back; the body text stays within its cap.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mailstead_message::{
    BinaryError, BodyStructure, MAX_BODY_TEXT_BYTES, Section, SectionText, Summary, binary, index,
    section,
};

/// (path, part) of every part BODYSTRUCTURE lists for a message body.
fn parts<'a>(
    body: &'a BodyStructure,
    prefix: &[u32],
    out: &mut Vec<(Vec<u32>, &'a BodyStructure)>,
) {
    if let BodyStructure::Multi { .. } = body {
        inner(body, prefix, out);
    } else {
        let path = [prefix, &[1]].concat();
        out.push((path.clone(), body));
        inner(body, &path, out);
    }
}

/// The parts below part `path`.
fn inner<'a>(part: &'a BodyStructure, path: &[u32], out: &mut Vec<(Vec<u32>, &'a BodyStructure)>) {
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

fuzz_target!(|data: &[u8]| {
    let indexed = index(data);
    assert!(indexed.body_text.len() <= MAX_BODY_TEXT_BYTES);
    let json = indexed.summary.to_json();
    assert_eq!(Summary::from_json(&json).as_ref(), Some(&indexed.summary));

    let whole = |text| section(data, &Section { part: vec![], text });
    assert_eq!(whole(None).as_deref(), Some(data));
    let header = whole(Some(SectionText::Header)).expect("HEADER exists");
    let text = whole(Some(SectionText::Text)).expect("TEXT exists");
    assert_eq!([header, text].concat(), data);
    let fields = whole(Some(SectionText::HeaderFields(vec![
        "subject".into(),
        "from".into(),
    ])));
    assert!(fields.expect("HEADER.FIELDS exists").ends_with(b"\r\n"));
    let not = whole(Some(SectionText::HeaderFieldsNot(vec!["received".into()])));
    assert!(not.expect("HEADER.FIELDS.NOT exists").ends_with(b"\r\n"));

    // The header-only path of the top-level sections agrees with the full parse (a
    // list with a part number in it takes the full parse for all).
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
    let full = mailstead_message::sections(data, &wanted);
    for (i, one) in wanted.iter().take(4).enumerate() {
        assert_eq!(section(data, one), full[i], "{one:?}");
    }

    let mut listed = Vec::new();
    parts(&indexed.summary.body, &[], &mut listed);
    for (path, part) in listed.iter().take(64) {
        let content = section(
            data,
            &Section {
                part: path.clone(),
                text: None,
            },
        )
        .unwrap_or_else(|| panic!("BODY[{path:?}] exists"));
        assert!(
            section(
                data,
                &Section {
                    part: path.clone(),
                    text: Some(SectionText::Mime)
                }
            )
            .is_some()
        );
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
                let text = Section {
                    part: path.clone(),
                    text: Some(SectionText::Text),
                };
                assert!(section(data, &text).is_some());
            }
        }
        match binary(data, path) {
            Ok(Some(_)) | Err(BinaryError::UnknownCte) => {}
            Ok(None) => panic!("BINARY[{path:?}] exists"),
        }
    }
    let past = vec![listed.len() as u32 + 1];
    assert_eq!(
        section(
            data,
            &Section {
                part: past.clone(),
                text: None
            }
        ),
        None
    );
    assert_eq!(binary(data, &past), Ok(None));
});
