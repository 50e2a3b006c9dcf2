//! `index`: ENVELOPE, BODYSTRUCTURE, sent date and search text of the fixture messages
//! (tests/fixtures/*.eml), asserted structurally; the JSON round trip of `Summary`.

use mailstead_imap_proto::{BodyExtension, BodyFields, BodyStructure, Envelope, EnvelopeAddress};
use mailstead_message::{Indexed, MAX_BODY_TEXT_BYTES, Summary, header_field_matches, index};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.eml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn indexed(name: &str) -> Indexed {
    index(&fixture(name))
}

fn addr(name: Option<&str>, mailbox: &str, host: &str) -> EnvelopeAddress {
    EnvelopeAddress {
        name: name.map(String::from),
        adl: None,
        mailbox: Some(mailbox.into()),
        host: Some(host.into()),
    }
}

fn group_start(name: &str) -> EnvelopeAddress {
    EnvelopeAddress {
        mailbox: Some(name.into()),
        ..EnvelopeAddress::default()
    }
}

fn group_end() -> EnvelopeAddress {
    EnvelopeAddress::default()
}

fn s(v: &str) -> Option<String> {
    Some(v.into())
}

fn params(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// A single part without extension data other than what the test sets after.
fn single(
    media: (&str, &str),
    p: &[(&str, &str)],
    encoding: &str,
    octets: u32,
    lines: Option<u32>,
) -> BodyStructure {
    BodyStructure::Single {
        media_type: media.0.into(),
        subtype: media.1.into(),
        fields: BodyFields {
            params: params(p),
            id: None,
            description: None,
            encoding: encoding.into(),
            octets,
        },
        lines,
        message: None,
        ext: BodyExtension::default(),
    }
}

fn multi(subtype: &str, boundary: &str, parts: Vec<BodyStructure>) -> BodyStructure {
    BodyStructure::Multi {
        parts,
        subtype: subtype.into(),
        params: params(&[("BOUNDARY", boundary)]),
        ext: BodyExtension::default(),
    }
}

fn with_ext(mut body: BodyStructure, new_ext: BodyExtension) -> BodyStructure {
    match &mut body {
        BodyStructure::Single { ext, .. } | BodyStructure::Multi { ext, .. } => *ext = new_ext,
    }
    body
}

fn with_fields(
    mut body: BodyStructure,
    id: Option<&str>,
    description: Option<&str>,
) -> BodyStructure {
    if let BodyStructure::Single { fields, .. } = &mut body {
        fields.id = id.map(String::from);
        fields.description = description.map(String::from);
    }
    body
}

fn message(
    p: &[(&str, &str)],
    octets: u32,
    lines: u32,
    envelope: Envelope,
    body: BodyStructure,
) -> BodyStructure {
    let mut part = single(("MESSAGE", "RFC822"), p, "7BIT", octets, Some(lines));
    if let BodyStructure::Single { message, .. } = &mut part {
        *message = Some(Box::new((envelope, body)));
    }
    part
}

/// An envelope whose sender and reply-to default to from.
fn envelope(
    date: Option<&str>,
    subject: Option<&str>,
    from: Vec<EnvelopeAddress>,
    to: Vec<EnvelopeAddress>,
    message_id: Option<&str>,
) -> Envelope {
    Envelope {
        date: date.map(String::from),
        subject: subject.map(String::from),
        sender: from.clone(),
        reply_to: from.clone(),
        from,
        to,
        cc: Vec::new(),
        bcc: Vec::new(),
        in_reply_to: None,
        message_id: message_id.map(String::from),
    }
}

const US_ASCII: &[(&str, &str)] = &[("CHARSET", "US-ASCII")];

// ---------------------------------------------------------------------------------
// ENVELOPE
// ---------------------------------------------------------------------------------

#[test]
fn simple_message_envelope_has_raw_fields_and_sender_reply_to_default_to_from() {
    let alice = addr(s("Alice Example").as_deref(), "alice", "example.org");
    let expected = Envelope {
        date: s("Mon, 7 Feb 1994 21:52:25 -0800 (PST)"),
        subject: s("Meeting notes for Tuesday"),
        from: vec![alice.clone()],
        sender: vec![alice.clone()],
        reply_to: vec![alice],
        to: vec![
            addr(Some("Bob"), "bob", "example.com"),
            addr(None, "carol", "example.com"),
        ],
        cc: vec![addr(Some("Doe, John"), "john", "example.net")],
        bcc: vec![],
        in_reply_to: s("<A11111@example.com>"),
        message_id: s("<B27397-0100000@example.org>"),
    };
    assert_eq!(indexed("simple").summary.envelope, expected);
}

#[test]
fn group_syntax_becomes_start_and_end_markers() {
    let env = indexed("groups").summary.envelope;
    assert_eq!(
        env.to,
        vec![
            group_start("Friends"),
            addr(None, "anna", "example.com"),
            addr(Some("Ben B."), "ben", "example.com"),
            group_end(),
            addr(None, "zoe", "example.com"),
        ]
    );
    assert_eq!(
        env.cc,
        vec![group_start("undisclosed-recipients"), group_end()]
    );
    assert_eq!(
        env.reply_to,
        vec![addr(Some("Team List"), "team", "lists.example.org")]
    );
}

#[test]
fn non_ascii_display_name_is_given_as_an_encoded_word() {
    let env = indexed("groups").summary.envelope;
    let joerg = addr(
        Some("=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?="),
        "joerg",
        "example.de",
    );
    assert_eq!(env.from, vec![joerg.clone()]);
    assert_eq!(env.sender, vec![joerg]);
}

#[test]
fn encoded_word_subject_is_kept_raw() {
    let env = indexed("encoded_words").summary.envelope;
    assert_eq!(
        env.subject.as_deref(),
        Some("=?UTF-8?B?w4RwZmVsIHVuZCBCaXJuZW4=?= =?ISO-8859-1?Q?_und_Kirsch=E9n?=")
    );
    assert_eq!(
        env.from,
        vec![addr(
            Some("=?UTF-8?Q?Andr=C3=A9_Pirard?="),
            "PIRARD",
            "vm1.ulg.ac.be"
        )]
    );
    assert_eq!(
        env.to,
        vec![addr(Some("Keith Moore"), "moore", "cs.utk.edu")]
    );
}

#[test]
fn eight_bit_headers_are_read_as_utf8() {
    let env = indexed("eight_bit_headers").summary.envelope;
    assert_eq!(env.subject.as_deref(), Some("Cañón y ñandú"));
    assert_eq!(
        env.from,
        vec![addr(
            Some("=?UTF-8?Q?Jos=C3=A9_Garc=C3=ADa?="),
            "jose",
            "example.es"
        )]
    );
    assert_eq!(env.to, vec![addr(None, "müller", "example.de")]);
}

#[test]
fn missing_headers_are_nil_and_empty_lists() {
    let env = indexed("digest").summary.envelope;
    assert_eq!(env.cc, vec![]);
    assert_eq!(env.bcc, vec![]);
    assert_eq!(env.in_reply_to, None);
    assert_eq!(env.message_id, None);
}

// ---------------------------------------------------------------------------------
// BODYSTRUCTURE
// ---------------------------------------------------------------------------------

#[test]
fn simple_text_plain_body_structure() {
    let ix = indexed("simple");
    assert_eq!(
        ix.summary.body,
        single(("TEXT", "PLAIN"), US_ASCII, "7BIT", 62, Some(4))
    );
    assert_eq!(ix.summary.sent_date, Some(760_686_745));
}

#[test]
fn multipart_alternative_body_structure() {
    let expected = multi(
        "ALTERNATIVE",
        "alt-boundary",
        vec![
            single(
                ("TEXT", "PLAIN"),
                &[("CHARSET", "utf-8")],
                "7BIT",
                22,
                Some(0),
            ),
            single(
                ("TEXT", "HTML"),
                &[("CHARSET", "utf-8")],
                "QUOTED-PRINTABLE",
                64,
                Some(0),
            ),
        ],
    );
    assert_eq!(indexed("alternative").summary.body, expected);
}

#[test]
fn multipart_mixed_with_base64_attachment_has_all_extension_data() {
    let text = with_ext(
        single(
            ("TEXT", "PLAIN"),
            &[("CHARSET", "utf-8"), ("FORMAT", "flowed")],
            "8BIT",
            33,
            Some(0),
        ),
        BodyExtension {
            language: vec!["en".into(), "de".into()],
            ..BodyExtension::default()
        },
    );
    let pdf = with_ext(
        with_fields(
            single(
                ("APPLICATION", "PDF"),
                &[("NAME", "invoice 42.pdf")],
                "BASE64",
                340,
                None,
            ),
            Some("<part1.invoice@example.org>"),
            Some("Invoice"),
        ),
        BodyExtension {
            md5: s("Q2hlY2sgSW50ZWdyaXR5IQ=="),
            disposition: Some((
                "ATTACHMENT".into(),
                params(&[("FILENAME", "invoice 42.pdf"), ("SIZE", "240")]),
            )),
            language: vec![],
            location: s("https://example.org/invoice-42.pdf"),
        },
    );
    assert_eq!(
        indexed("mixed_attachment").summary.body,
        multi("MIXED", "----=_Part_0_123", vec![text, pdf])
    );
}

#[test]
fn nested_multipart_and_multipart_message_rfc822_body_structure() {
    let alternative = multi(
        "ALTERNATIVE",
        "inner-alt",
        vec![
            single(
                ("TEXT", "PLAIN"),
                &[("CHARSET", "us-ascii")],
                "7BIT",
                26,
                Some(0),
            ),
            single(
                ("TEXT", "HTML"),
                &[("CHARSET", "us-ascii")],
                "7BIT",
                40,
                Some(0),
            ),
        ],
    );
    let inner_envelope = envelope(
        Some("Mon, 31 Jul 2023 08:00:00 +0100"),
        Some("Holiday photos"),
        vec![addr(Some("Erin"), "erin", "example.net")],
        vec![addr(Some("Carol"), "carol", "example.com")],
        Some("<photos-7@example.net>"),
    );
    let inner_body = multi(
        "MIXED",
        "fwd-mixed",
        vec![
            single(
                ("TEXT", "PLAIN"),
                &[("CHARSET", "iso-8859-1")],
                "QUOTED-PRINTABLE",
                52,
                Some(0),
            ),
            with_ext(
                single(
                    ("IMAGE", "PNG"),
                    &[("NAME", "beach.png")],
                    "BASE64",
                    76,
                    None,
                ),
                BodyExtension {
                    disposition: Some(("INLINE".into(), params(&[("FILENAME", "beach.png")]))),
                    ..BodyExtension::default()
                },
            ),
        ],
    );
    let forwarded = with_fields(
        message(&[], 627, 19, inner_envelope, inner_body),
        None,
        Some("Forwarded message"),
    );
    let notes = with_ext(
        single(
            ("TEXT", "PLAIN"),
            &[("NAME", "notes.txt"), ("CHARSET", "US-ASCII")],
            "7BIT",
            23,
            Some(0),
        ),
        BodyExtension {
            disposition: Some(("ATTACHMENT".into(), params(&[("FILENAME", "notes.txt")]))),
            ..BodyExtension::default()
        },
    );
    assert_eq!(
        indexed("nested").summary.body,
        multi("MIXED", "outer", vec![alternative, forwarded, notes])
    );
}

#[test]
fn digest_parts_without_content_type_are_message_rfc822() {
    let post = |from: &str, subject: &str, octets, body_octets| {
        message(
            &[],
            octets,
            3,
            envelope(
                None,
                Some(subject),
                vec![addr(None, from, "example.org")],
                vec![],
                None,
            ),
            single(("TEXT", "PLAIN"), US_ASCII, "7BIT", body_octets, Some(0)),
        )
    };
    assert_eq!(
        indexed("digest").summary.body,
        multi(
            "DIGEST",
            "dig",
            vec![
                post("a", "First post", 55, 11),
                post("b", "Second post", 52, 7)
            ]
        )
    );
}

#[test]
fn quoted_printable_body_counts_encoded_octets_and_lines() {
    assert_eq!(
        indexed("quoted_printable").summary.body,
        single(
            ("TEXT", "PLAIN"),
            &[("CHARSET", "utf-8")],
            "QUOTED-PRINTABLE",
            139,
            Some(3)
        )
    );
}

#[test]
fn message_without_header_body_separator_is_all_header() {
    let ix = indexed("no_separator");
    assert_eq!(
        ix.summary.body,
        single(("TEXT", "PLAIN"), US_ASCII, "7BIT", 0, Some(0))
    );
    assert_eq!(
        ix.summary.envelope.subject.as_deref(),
        Some("Only a header")
    );
    assert_eq!(ix.body_text, "");
}

#[test]
fn bare_lf_message_sizes_are_of_the_stored_octets() {
    let expected = multi(
        "MIXED",
        "lf",
        vec![
            single(("TEXT", "PLAIN"), US_ASCII, "7BIT", 20, Some(1)),
            single(("APPLICATION", "OCTET-STREAM"), &[], "BASE64", 8, None),
        ],
    );
    assert_eq!(indexed("bare_lf").summary.body, expected);
}

#[test]
fn unknown_transfer_encoding_is_reported_upper_cased() {
    let BodyStructure::Multi { parts, .. } = indexed("unknown_cte").summary.body else {
        panic!("not a multipart");
    };
    let BodyStructure::Single { fields, .. } = &parts[1] else {
        panic!("not a single part");
    };
    assert_eq!(fields.encoding, "X-UUENCODE");
}

#[test]
fn broken_message_is_one_text_plain_body_of_the_whole_size() {
    let raw = fixture("broken");
    let ix = index(&raw);
    assert_eq!(ix.summary.envelope, Envelope::default());
    assert_eq!(
        ix.summary.body,
        single(
            ("TEXT", "PLAIN"),
            US_ASCII,
            "7BIT",
            raw.len() as u32,
            Some(3)
        )
    );
    assert_eq!(ix.summary.sent_date, None);
    assert_eq!(ix.header_text, "");
}

#[test]
fn message_without_content_type_is_text_plain_us_ascii() {
    let ix = index(b"Subject: hi\r\n\r\nbody\r\n");
    assert_eq!(
        ix.summary.body,
        single(("TEXT", "PLAIN"), US_ASCII, "7BIT", 6, Some(1))
    );
}

#[test]
fn empty_input_does_not_panic() {
    let ix = index(b"");
    assert_eq!(
        ix.summary.body,
        single(("TEXT", "PLAIN"), US_ASCII, "7BIT", 0, Some(0))
    );
}

#[test]
fn multipart_without_parts_gets_one_empty_text_plain() {
    let raw = b"Content-Type: multipart/mixed; boundary=\"foo\"\r\n\r\n";
    assert_eq!(
        index(raw).summary.body,
        multi(
            "MIXED",
            "foo",
            vec![single(("TEXT", "PLAIN"), US_ASCII, "7BIT", 0, Some(0))]
        )
    );
}

#[test]
fn invalid_transfer_encoding_is_7bit() {
    let raw = b"Content-Type: text/plain\r\nContent-Transfer-Encoding: ?invalid\r\n\r\nhi\r\n";
    let BodyStructure::Single { fields, .. } = index(raw).summary.body else {
        panic!("not a single part");
    };
    assert_eq!(fields.encoding, "7BIT");
}

#[test]
fn base64_encoded_message_rfc822_is_an_opaque_part() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n\
        U3ViamVjdDogaGkNCg0KYm9keQ0K\r\n--b--\r\n";
    let BodyStructure::Multi { parts, .. } = index(raw).summary.body else {
        panic!("not a multipart");
    };
    assert_eq!(
        parts[0],
        single(("MESSAGE", "RFC822"), &[], "BASE64", 28, None)
    );
}

#[test]
fn deep_nesting_is_cut_and_still_round_trips_through_json() {
    let mut raw = String::new();
    for depth in 0..200 {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{depth}\r\n\r\n--b{depth}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\nleaf\r\n");
    for depth in (0..200).rev() {
        raw.push_str(&format!("--b{depth}--\r\n"));
    }
    let summary = index(raw.as_bytes()).summary;
    assert_eq!(Summary::from_json(&summary.to_json()), Some(summary));
}

#[test]
fn deeply_nested_messages_do_not_overflow_the_stack() {
    let mut raw = Vec::new();
    for _ in 0..20_000 {
        raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    raw.extend_from_slice(b"Subject: bottom\r\n\r\nbody\r\n");
    let summary = index(&raw).summary;
    assert_eq!(Summary::from_json(&summary.to_json()), Some(summary));
}

// ---------------------------------------------------------------------------------
// Search text
// ---------------------------------------------------------------------------------

#[test]
fn header_text_has_every_field_decoded_unfolded_and_lower_cased() {
    let ix = indexed("encoded_words");
    assert_eq!(
        ix.header_text,
        "from: andré pirard <pirard@vm1.ulg.ac.be>\n\
         to: keith moore <moore@cs.utk.edu>\n\
         subject: äpfel und birnen und kirschén\n\
         date: sat, 5 aug 2023 07:45:10 +0200\n\
         message-id: <ew-1@example.be>\n\
         content-type: text/plain; charset=utf-8\n\
         content-transfer-encoding: 8bit\n"
    );
    assert!(
        indexed("simple")
            .header_text
            .contains("subject: meeting notes for tuesday\n")
    );
}

#[test]
fn header_text_reads_non_utf8_octets_as_latin1() {
    assert!(
        indexed("eight_bit_headers")
            .header_text
            .contains("x-latin1: café\n")
    );
}

#[test]
fn body_text_has_decoded_text_html_without_tags_and_attached_messages() {
    let ix = indexed("nested");
    assert_eq!(
        ix.body_text,
        "content-type: multipart/alternative; boundary=\"inner-alt\"\n\
         content-type: text/plain; charset=us-ascii\n\
         see the forwarded message.\n\
         content-type: text/html; charset=us-ascii\n\
         see the forwarded message.\n\
         content-type: message/rfc822\n\
         content-description: forwarded message\n\
         from: erin <erin@example.net>\n\
         to: carol <carol@example.com>\n\
         subject: holiday photos\n\
         date: mon, 31 jul 2023 08:00:00 +0100\n\
         message-id: <photos-7@example.net>\n\
         mime-version: 1.0\n\
         content-type: multipart/mixed; boundary=\"fwd-mixed\"\n\
         content-type: text/plain; charset=iso-8859-1\n\
         content-transfer-encoding: quoted-printable\n\
         here are the photos from the beach, café included.\n\
         content-type: image/png; name=beach.png\n\
         content-transfer-encoding: base64\n\
         content-disposition: inline; filename=beach.png\n\
         content-type: text/plain; name=\"notes.txt\"\n\
         content-disposition: attachment; filename=\"notes.txt\"\n\
         remember the sunscreen."
    );
}

#[test]
fn body_text_decodes_quoted_printable_and_html() {
    assert!(
        indexed("quoted_printable")
            .body_text
            .starts_with("café au lait coûte 3€. this line is long enough that it needs a soft")
    );
    let alternative = indexed("alternative").body_text;
    assert_eq!(
        alternative,
        "content-type: text/plain; charset=utf-8\n\
         content-transfer-encoding: 7bit\n\
         big savings this week.\n\
         content-type: text/html; charset=utf-8\n\
         content-transfer-encoding: quoted-printable\n\
         big savings this week."
    );
}

#[test]
fn body_text_is_capped_at_one_mib_on_a_char_boundary() {
    let mut raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
    raw.extend("é".repeat(MAX_BODY_TEXT_BYTES).as_bytes());
    let body_text = index(&raw).body_text;
    assert!(body_text.len() <= MAX_BODY_TEXT_BYTES);
    assert!(body_text.len() >= MAX_BODY_TEXT_BYTES - 1);
    assert!(body_text.chars().all(|c| c == 'é'));
}

#[test]
fn header_field_matches_names_case_insensitively_and_needle_as_substring() {
    let ix = indexed("simple");
    assert!(header_field_matches(
        &ix.header_text,
        "Message-ID",
        "b27397"
    ));
    assert!(header_field_matches(
        &ix.header_text,
        "SUBJECT",
        "notes for"
    ));
    assert!(!header_field_matches(&ix.header_text, "subject", "alice"));
    assert!(!header_field_matches(&ix.header_text, "X-Missing", ""));
}

#[test]
fn header_field_matches_empty_needle_when_field_exists() {
    let ix = indexed("simple");
    assert!(header_field_matches(&ix.header_text, "In-Reply-To", ""));
    assert!(!header_field_matches(&ix.header_text, "Bcc", ""));
}

// ---------------------------------------------------------------------------------
// Stored form
// ---------------------------------------------------------------------------------

#[test]
fn fixture_summaries_round_trip_through_json() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            let summary = index(&std::fs::read(&path).unwrap()).summary;
            assert_eq!(
                Summary::from_json(&summary.to_json()),
                Some(summary),
                "{path:?}"
            );
        }
    }
}

fn arb_opt_string() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(any::<String>())
}

fn arb_address() -> impl Strategy<Value = EnvelopeAddress> {
    (
        arb_opt_string(),
        arb_opt_string(),
        arb_opt_string(),
        arb_opt_string(),
    )
        .prop_map(|(name, adl, mailbox, host)| EnvelopeAddress {
            name,
            adl,
            mailbox,
            host,
        })
}

fn arb_envelope() -> impl Strategy<Value = Envelope> {
    let list = || proptest::collection::vec(arb_address(), 0..3);
    (
        (arb_opt_string(), arb_opt_string(), list(), list(), list()),
        (list(), list(), list(), arb_opt_string(), arb_opt_string()),
    )
        .prop_map(
            |((date, subject, from, sender, reply_to), (to, cc, bcc, in_reply_to, message_id))| {
                Envelope {
                    date,
                    subject,
                    from,
                    sender,
                    reply_to,
                    to,
                    cc,
                    bcc,
                    in_reply_to,
                    message_id,
                }
            },
        )
}

fn arb_params() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((any::<String>(), any::<String>()), 0..3)
}

fn arb_extension() -> impl Strategy<Value = BodyExtension> {
    (
        arb_opt_string(),
        proptest::option::of((any::<String>(), arb_params())),
        proptest::collection::vec(any::<String>(), 0..3),
        arb_opt_string(),
    )
        .prop_map(|(md5, disposition, language, location)| BodyExtension {
            md5,
            disposition,
            language,
            location,
        })
}

fn arb_body() -> impl Strategy<Value = BodyStructure> {
    let leaf = (
        any::<String>(),
        any::<String>(),
        arb_params(),
        arb_opt_string(),
        arb_opt_string(),
        any::<String>(),
        any::<u32>(),
        proptest::option::of(any::<u32>()),
        arb_extension(),
    )
        .prop_map(
            |(media_type, subtype, params, id, description, encoding, octets, lines, ext)| {
                BodyStructure::Single {
                    media_type,
                    subtype,
                    fields: BodyFields {
                        params,
                        id,
                        description,
                        encoding,
                        octets,
                    },
                    lines,
                    message: None,
                    ext,
                }
            },
        );
    leaf.prop_recursive(4, 16, 4, |inner| {
        prop_oneof![
            (
                proptest::collection::vec(inner.clone(), 1..4),
                any::<String>(),
                arb_params(),
                arb_extension()
            )
                .prop_map(|(parts, subtype, params, ext)| BodyStructure::Multi {
                    parts,
                    subtype,
                    params,
                    ext,
                }),
            (arb_envelope(), inner, any::<u32>(), arb_extension()).prop_map(
                |(envelope, body, octets, ext)| BodyStructure::Single {
                    media_type: "MESSAGE".into(),
                    subtype: "RFC822".into(),
                    fields: BodyFields {
                        params: vec![],
                        id: None,
                        description: None,
                        encoding: "7BIT".into(),
                        octets,
                    },
                    lines: Some(octets / 40),
                    message: Some(Box::new((envelope, body))),
                    ext,
                }
            ),
        ]
    })
}

proptest! {
    #[test]
    fn summary_json_round_trips(
        envelope in arb_envelope(),
        body in arb_body(),
        sent_date in proptest::option::of(any::<i64>()),
    ) {
        let summary = Summary { envelope, body, sent_date };
        prop_assert_eq!(Summary::from_json(&summary.to_json()), Some(summary));
    }

    #[test]
    fn index_never_panics_and_its_summary_round_trips(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
        let summary = index(&raw).summary;
        prop_assert_eq!(Summary::from_json(&summary.to_json()), Some(summary));
    }
}

#[test]
fn multipart_whose_boundary_is_missing_still_has_searchable_text() {
    let raw = b"Content-Type: multipart/mixed; boundary=\"foo\"\r\n\r\nStray Text\r\n";
    let ix = index(raw);
    assert_eq!(ix.body_text, "stray text");
    assert!(!ix.body_text.contains("content-type"));
    assert_eq!(
        ix.summary.body,
        multi(
            "MIXED",
            "foo",
            vec![single(("TEXT", "PLAIN"), US_ASCII, "7BIT", 0, Some(0))]
        )
    );
}

#[test]
fn empty_sender_defaults_to_from() {
    let raw = b"From: a@example.org\r\nSender:\r\nReply-To: \r\n\r\nx\r\n";
    let env = index(raw).summary.envelope;
    assert_eq!(env.sender, vec![addr(None, "a", "example.org")]);
    assert_eq!(env.reply_to, vec![addr(None, "a", "example.org")]);
}

#[test]
fn empty_encapsulated_message_has_an_empty_envelope() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: message/rfc822\r\n\r\n\r\n--b--\r\n";
    let BodyStructure::Multi { parts, .. } = index(raw).summary.body else {
        panic!("not a multipart");
    };
    let BodyStructure::Single { message, .. } = &parts[0] else {
        panic!("not a single part");
    };
    let (envelope, _) = message.as_deref().expect("message/rfc822 data");
    assert_eq!(envelope, &Envelope::default());
}

/// Dovecot's own known answer (src/lib-imap/test-imap-bodystructure.c, the message with
/// "Root MIME prologue"), with CRLF line ends so that raw sizes equal Dovecot's
/// CRLF-normalised ones; only the case of the tokens differs by design.
#[test]
fn dovecot_known_answer_bodystructure() {
    let raw = "From: user@domain.org\n\
        Date: Sat, 24 Mar 2007 23:00:00 +0200\n\
        Mime-Version: 1.0\n\
        Content-Type: multipart/mixed; boundary=\"foo\n bar\"\n\
        \n\
        Root MIME prologue\n\
        \n\
        --foo bar\n\
        Content-Type: text/x-myown; charset=us-ascii; foo=\"quoted\\\"string\"\n\
        Content-ID: <foo@example.com>\n\
        Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n\
        Content-Disposition: inline; foo=bar\n\
        Content-Description: hellodescription\n\
        Content-Language: en, fi, se\n\
        Content-Location: http://example.com/test.txt\n\
        \n\
        hello\n\
        \n\
        --foo bar\n\
        Content-Type: message/rfc822\n\
        \n\
        From: sub@domain.org\n\
        To: sub-to1@domain.org, sub-to2@domain.org\n\
        Date: Sun, 12 Aug 2012 12:34:56 +0300\n\
        Subject: submsg\n\
        Content-Type: multipart/alternative; boundary=\"sub1\"\n\
        \n\
        Sub MIME prologue\n\
        --sub1\n\
        Content-Type: text/html\n\
        Content-Transfer-Encoding: 8bit\n\
        \n\
        <p>Hello world</p>\n\
        \n\
        --sub1\n\
        Content-Type: text/plain\n\
        Content-Transfer-Encoding: ?invalid\n\
        \n\
        Hello another world\n\
        \n\
        --sub1--\n\
        Sub MIME epilogue\n\
        \n\
        --foo bar--\n\
        Root MIME epilogue\n"
        .replace('\n', "\r\n");
    let first = BodyStructure::Single {
        media_type: "TEXT".into(),
        subtype: "X-MYOWN".into(),
        fields: BodyFields {
            params: params(&[("CHARSET", "us-ascii"), ("FOO", "quoted\"string")]),
            id: s("<foo@example.com>"),
            description: s("hellodescription"),
            encoding: "7BIT".into(),
            octets: 7,
        },
        lines: Some(1),
        message: None,
        ext: BodyExtension {
            md5: s("Q2hlY2sgSW50ZWdyaXR5IQ=="),
            disposition: Some(("INLINE".into(), params(&[("FOO", "bar")]))),
            language: vec!["en".into(), "fi".into(), "se".into()],
            location: s("http://example.com/test.txt"),
        },
    };
    let sub = addr(None, "sub", "domain.org");
    let inner_envelope = Envelope {
        date: s("Sun, 12 Aug 2012 12:34:56 +0300"),
        subject: s("submsg"),
        from: vec![sub.clone()],
        sender: vec![sub.clone()],
        reply_to: vec![sub],
        to: vec![
            addr(None, "sub-to1", "domain.org"),
            addr(None, "sub-to2", "domain.org"),
        ],
        ..Envelope::default()
    };
    let inner_body = multi(
        "ALTERNATIVE",
        "sub1",
        vec![
            single(("TEXT", "HTML"), US_ASCII, "8BIT", 20, Some(1)),
            single(("TEXT", "PLAIN"), US_ASCII, "7BIT", 21, Some(1)),
        ],
    );
    let second = message(&[], 412, 21, inner_envelope, inner_body);
    assert_eq!(
        index(raw.as_bytes()).summary.body,
        multi("MIXED", "foo bar", vec![first, second])
    );
}

#[test]
fn of_several_content_type_fields_the_last_one_splits_the_parts() {
    let raw = b"Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
        --b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n";
    assert_eq!(
        index(raw).summary.body,
        multi(
            "MIXED",
            "b",
            vec![single(("TEXT", "HTML"), US_ASCII, "7BIT", 8, Some(0))]
        )
    );
}

#[test]
fn stored_summary_round_trip_keeps_wire_forms_and_refuses_damage() {
    let raw = b"From: A <a@example.org>\r\nDate: Wed, 17 Jul 1996 02:23:25 -0700\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nbody\r\n--x--\r\n";
    let summary = mailstead_message::summarize(raw);
    let stored = summary.to_stored();
    let view = mailstead_message::StoredSummary::parse(&stored).expect("parses");
    assert_eq!(view.sent_date, summary.sent_date);
    assert_eq!(
        view.envelope.as_bytes(),
        mailstead_imap_proto::encode::envelope_wire(&summary.envelope)
    );
    assert_eq!(
        view.bodystructure.as_bytes(),
        mailstead_imap_proto::encode::body_wire(&summary.body, true)
    );
    assert_eq!(
        view.body.as_bytes(),
        mailstead_imap_proto::encode::body_wire(&summary.body, false)
    );
    assert!(view.bodystructure.contains("\"MIXED\""));
    for bad in [
        "",
        "S1",
        "S2 - 1 1 1\nabc",
        "S1 - 1 1 5\nabc",
        "S1 x 1 1 1\nabc",
        "{\"a\":1}",
    ] {
        assert_eq!(
            mailstead_message::StoredSummary::parse(bad),
            None,
            "{bad:?}"
        );
    }
    // Non-ASCII text (a literal in the wire form) survives.
    let raw = "Subject: Grüße\r\nFrom: Zoë <z@example.org>\r\n\r\nx\r\n".as_bytes();
    let summary = mailstead_message::summarize(raw);
    let stored = summary.to_stored();
    assert!(mailstead_message::StoredSummary::parse(&stored).is_some());
}
