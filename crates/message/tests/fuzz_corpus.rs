//! Replays fuzz/corpus/message (the cargo-fuzz corpus, seeded with tests/fixtures) so
//! plain `cargo test` guards against regressions found by fuzzing. The checks mirror
//! fuzz/fuzz_targets/message.rs: no panic, and `index`, `section` and `binary` agree.

use mailstead_message::{
    BinaryError, BodyStructure, MAX_BODY_TEXT_BYTES, Section, SectionText, Summary, binary, index,
    section,
};

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/../../fuzz/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("corpus directory exists")
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            let data = std::fs::read(&path).expect("corpus file");
            (path.display().to_string(), data)
        })
        .collect();
    assert!(
        files.len() >= 10,
        "{name} corpus unexpectedly small: {}",
        files.len()
    );
    files
}

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

fn check(name: &str, data: &[u8]) {
    let indexed = index(data);
    assert!(indexed.body_text.len() <= MAX_BODY_TEXT_BYTES, "{name}");
    let json = indexed.summary.to_json();
    assert_eq!(
        Summary::from_json(&json).as_ref(),
        Some(&indexed.summary),
        "{name}"
    );

    let whole = |text| section(data, &Section { part: vec![], text });
    assert_eq!(whole(None).as_deref(), Some(data), "{name}");
    let header = whole(Some(SectionText::Header)).expect("HEADER exists");
    let text = whole(Some(SectionText::Text)).expect("TEXT exists");
    assert_eq!([header, text].concat(), data, "{name}");
    let fields = whole(Some(SectionText::HeaderFields(vec![
        "subject".into(),
        "from".into(),
    ])));
    assert!(fields.expect("HEADER.FIELDS exists").ends_with(b"\r\n"));

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
        let at = |text| Section {
            part: path.clone(),
            text,
        };
        let content =
            section(data, &at(None)).unwrap_or_else(|| panic!("{name}: BODY[{path:?}] exists"));
        assert!(
            section(data, &at(Some(SectionText::Mime))).is_some(),
            "{name}"
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
                "{name}: octets of {path:?}"
            );
            assert!(lines.unwrap_or(0) <= fields.octets, "{name}");
            if message.is_some() {
                assert!(
                    section(data, &at(Some(SectionText::Text))).is_some(),
                    "{name}"
                );
            }
        }
        match binary(data, path) {
            Ok(Some(_)) | Err(BinaryError::UnknownCte) => {}
            Ok(None) => panic!("{name}: BINARY[{path:?}] exists"),
        }
    }
    let past = vec![listed.len() as u32 + 1];
    let none = Section {
        part: past.clone(),
        text: None,
    };
    assert_eq!(section(data, &none), None, "{name}");
    assert_eq!(binary(data, &past), Ok(None), "{name}");
}

#[test]
fn message_corpus_indexes_and_sections_consistently() {
    for (name, data) in corpus("message") {
        check(&name, &data);
    }
}
