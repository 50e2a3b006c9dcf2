//! `section` (BODY[...], RFC 9051 §6.4.5) and `binary` (BINARY[...], RFC 3516) on the
//! fixture messages, checked by exact bytes.

use mailstead_imap_proto::{Section, SectionText};
use mailstead_message::{BinaryError, binary, section};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.eml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sec(part: &[u32], text: Option<SectionText>) -> Section {
    Section {
        part: part.to_vec(),
        text,
    }
}

fn fields(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// `BODY[section]` of fixture `name` as text (the fixtures' sections are UTF-8).
fn body(name: &str, part: &[u32], text: Option<SectionText>) -> Option<String> {
    section(&fixture(name), &sec(part, text)).map(|b| String::from_utf8(b).expect("UTF-8 section"))
}

const NESTED_HEADER: &str = "From: Carol <carol@example.com>\r\n\
    To: Dave <dave@example.com>\r\n\
    Subject: Fwd: Holiday photos\r\n\
    Date: Thu, 03 Aug 2023 18:30:00 -0400\r\n\
    Message-ID: <fwd-1@example.com>\r\n\
    MIME-Version: 1.0\r\n\
    Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n";

const FORWARDED_HEADER: &str = "From: Erin <erin@example.net>\r\n\
    To: Carol <carol@example.com>\r\n\
    Subject: Holiday photos\r\n\
    Date: Mon, 31 Jul 2023 08:00:00 +0100\r\n\
    Message-ID: <photos-7@example.net>\r\n\
    MIME-Version: 1.0\r\n\
    Content-Type: multipart/mixed; boundary=\"fwd-mixed\"\r\n\r\n";

const FORWARDED_TEXT: &str = "--fwd-mixed\r\n\
    Content-Type: text/plain; charset=iso-8859-1\r\n\
    Content-Transfer-Encoding: quoted-printable\r\n\r\n\
    Here are the photos from the beach, caf=E9 included.\r\n\
    --fwd-mixed\r\n\
    Content-Type: image/png; name=beach.png\r\n\
    Content-Transfer-Encoding: base64\r\n\
    Content-Disposition: inline; filename=beach.png\r\n\r\n\
    iVBORw0KGgoAAAANSUhEUgABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJic=\r\n\
    --fwd-mixed--";

#[test]
fn empty_section_is_the_whole_message() {
    let raw = fixture("nested");
    assert_eq!(section(&raw, &sec(&[], None)), Some(raw));
}

#[test]
fn header_includes_the_blank_line_and_text_is_the_rest() {
    let raw = fixture("nested");
    let header = body("nested", &[], Some(SectionText::Header)).unwrap();
    let text = body("nested", &[], Some(SectionText::Text)).unwrap();
    assert_eq!(header, NESTED_HEADER);
    assert_eq!(format!("{header}{text}").as_bytes(), raw.as_slice());
}

#[test]
fn header_fields_are_the_matching_lines_as_they_appear_with_folding() {
    assert_eq!(
        body(
            "simple",
            &[],
            Some(SectionText::HeaderFields(fields(&[
                "SUBJECT", "received", "x-absent"
            ])))
        )
        .unwrap(),
        "Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n\
         \tby mail.example.com with ESMTPS id 4f2a; Mon, 7 Feb 1994 21:52:25 -0800\r\n\
         Subject: Meeting notes\r\n for Tuesday\r\n\r\n"
    );
}

#[test]
fn header_fields_not_are_the_other_lines() {
    assert_eq!(
        body(
            "simple",
            &[],
            Some(SectionText::HeaderFieldsNot(fields(&[
                "return-path",
                "received",
                "Date",
                "from",
                "to",
                "cc",
                "subject",
                "message-id"
            ])))
        )
        .unwrap(),
        "In-Reply-To: <A11111@example.com>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n"
    );
}

#[test]
fn header_fields_with_no_match_is_the_blank_line() {
    assert_eq!(
        body(
            "simple",
            &[],
            Some(SectionText::HeaderFields(fields(&["x-none"])))
        )
        .unwrap(),
        "\r\n"
    );
}

#[test]
fn part_one_of_a_non_multipart_message_is_its_body() {
    assert_eq!(
        body("simple", &[1], None).unwrap(),
        "Hello Bob,\r\n\r\nHere are the notes from the meeting.\r\n-- Alice\r\n"
    );
    assert_eq!(body("simple", &[2], None), None);
    assert_eq!(body("simple", &[1, 1], None), None);
}

#[test]
fn part_of_a_multipart_is_its_content_without_mime_header_or_boundary_crlf() {
    assert_eq!(
        body("nested", &[1, 1], None).unwrap(),
        "See the forwarded message."
    );
    assert_eq!(
        body("nested", &[1, 2], None).unwrap(),
        "<p>See the <i>forwarded</i> message.</p>"
    );
    assert_eq!(
        body("nested", &[3], None).unwrap(),
        "Remember the sunscreen."
    );
}

#[test]
fn multipart_part_content_includes_its_boundaries() {
    assert_eq!(
        body("nested", &[1], None).unwrap(),
        "--inner-alt\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n\
         See the forwarded message.\r\n\
         --inner-alt\r\n\
         Content-Type: text/html; charset=us-ascii\r\n\r\n\
         <p>See the <i>forwarded</i> message.</p>\r\n\
         --inner-alt--"
    );
}

#[test]
fn mime_is_the_part_header_including_the_blank_line() {
    assert_eq!(
        body("nested", &[1], Some(SectionText::Mime)).unwrap(),
        "Content-Type: multipart/alternative; boundary=\"inner-alt\"\r\n\r\n"
    );
    assert_eq!(
        body("nested", &[2], Some(SectionText::Mime)).unwrap(),
        "Content-Type: message/rfc822\r\nContent-Description: Forwarded message\r\n\r\n"
    );
    assert_eq!(
        body("nested", &[2, 2], Some(SectionText::Mime)).unwrap(),
        "Content-Type: image/png; name=beach.png\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: inline; filename=beach.png\r\n\r\n"
    );
}

#[test]
fn message_rfc822_part_is_the_encapsulated_message() {
    assert_eq!(
        body("nested", &[2], None).unwrap(),
        format!("{FORWARDED_HEADER}{FORWARDED_TEXT}")
    );
    assert_eq!(
        body("nested", &[2], Some(SectionText::Header)).unwrap(),
        FORWARDED_HEADER
    );
    assert_eq!(
        body("nested", &[2], Some(SectionText::Text)).unwrap(),
        FORWARDED_TEXT
    );
    assert_eq!(
        body(
            "nested",
            &[2],
            Some(SectionText::HeaderFields(fields(&["from", "SUBJECT"])))
        )
        .unwrap(),
        "From: Erin <erin@example.net>\r\nSubject: Holiday photos\r\n\r\n"
    );
    assert_eq!(
        body(
            "nested",
            &[2],
            Some(SectionText::HeaderFieldsNot(fields(&[
                "from",
                "subject",
                "content-type"
            ])))
        )
        .unwrap(),
        "To: Carol <carol@example.com>\r\n\
         Date: Mon, 31 Jul 2023 08:00:00 +0100\r\n\
         Message-ID: <photos-7@example.net>\r\n\
         MIME-Version: 1.0\r\n\r\n"
    );
}

#[test]
fn parts_of_an_encapsulated_multipart_message_are_numbered_below_it() {
    assert_eq!(
        body("nested", &[2, 1], None).unwrap(),
        "Here are the photos from the beach, caf=E9 included."
    );
    assert_eq!(
        body("nested", &[2, 1], Some(SectionText::Mime)).unwrap(),
        "Content-Type: text/plain; charset=iso-8859-1\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    );
    assert_eq!(
        body("nested", &[2, 2], None).unwrap(),
        "iVBORw0KGgoAAAANSUhEUgABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJic="
    );
}

#[test]
fn part_one_of_an_encapsulated_non_multipart_message_is_its_body() {
    assert_eq!(body("digest", &[1, 1], None).unwrap(), "Hello list.");
    assert_eq!(
        body("digest", &[2, 1], Some(SectionText::Mime)).unwrap(),
        "From: b@example.org\r\nSubject: Second post\r\n\r\n"
    );
    assert_eq!(
        body("digest", &[2], Some(SectionText::Header)).unwrap(),
        "From: b@example.org\r\nSubject: Second post\r\n\r\n"
    );
    assert_eq!(
        body("digest", &[2], Some(SectionText::Text)).unwrap(),
        "Hi all."
    );
    assert_eq!(body("digest", &[1, 2], None), None);
}

#[test]
fn header_and_text_after_a_part_number_need_a_message_rfc822_part() {
    assert_eq!(body("nested", &[1], Some(SectionText::Header)), None);
    assert_eq!(body("nested", &[3], Some(SectionText::Text)), None);
    assert_eq!(
        body(
            "nested",
            &[1, 1],
            Some(SectionText::HeaderFields(fields(&["from"])))
        ),
        None
    );
}

#[test]
fn mime_of_the_whole_message_does_not_exist() {
    assert_eq!(body("nested", &[], Some(SectionText::Mime)), None);
}

#[test]
fn nonexistent_parts_are_none() {
    for path in [&[4][..], &[0], &[2, 3], &[1, 1, 1], &[3, 1], &[2, 2, 1]] {
        assert_eq!(body("nested", path, None), None, "{path:?}");
        assert_eq!(binary(&fixture("nested"), path), Ok(None), "{path:?}");
    }
}

#[test]
fn bare_lf_message_sections() {
    assert_eq!(
        body("bare_lf", &[1], None).unwrap(),
        "first part\ntwo lines"
    );
    assert_eq!(
        body("bare_lf", &[2], Some(SectionText::Mime)).unwrap(),
        "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
    );
    assert_eq!(
        body(
            "bare_lf",
            &[],
            Some(SectionText::HeaderFields(fields(&["subject"])))
        )
        .unwrap(),
        "Subject: Bare LF\n\r\n"
    );
}

#[test]
fn message_without_separator_is_all_header_and_empty_text() {
    let raw = fixture("no_separator");
    assert_eq!(
        section(&raw, &sec(&[], Some(SectionText::Header))),
        Some(raw.clone())
    );
    assert_eq!(
        section(&raw, &sec(&[], Some(SectionText::Text))),
        Some(vec![])
    );
    assert_eq!(section(&raw, &sec(&[1], None)), Some(vec![]));
}

#[test]
fn header_field_without_final_line_break_is_terminated() {
    let raw = b"Subject: no newline";
    assert_eq!(
        section(
            raw,
            &sec(&[], Some(SectionText::HeaderFields(fields(&["subject"]))))
        ),
        Some(b"Subject: no newline\r\n\r\n".to_vec())
    );
}

#[test]
fn stand_in_part_of_a_multipart_without_parts_is_empty() {
    let raw = b"Content-Type: multipart/mixed; boundary=\"foo\"\r\n\r\nno boundary here\r\n";
    assert_eq!(section(raw, &sec(&[1], None)), Some(vec![]));
    assert_eq!(
        section(raw, &sec(&[1], Some(SectionText::Mime))),
        Some(vec![])
    );
    assert_eq!(section(raw, &sec(&[2], None)), None);
}

#[test]
fn broken_message_is_all_text() {
    let raw = fixture("broken");
    assert_eq!(
        section(&raw, &sec(&[], Some(SectionText::Header))),
        Some(vec![])
    );
    assert_eq!(
        section(&raw, &sec(&[], Some(SectionText::Text))),
        Some(raw.clone())
    );
    assert_eq!(section(&raw, &sec(&[1], None)), Some(raw.clone()));
    assert_eq!(binary(&raw, &[1]), Ok(Some(raw.clone())));
}

// ---------------------------------------------------------------------------------
// BINARY
// ---------------------------------------------------------------------------------

#[test]
fn binary_of_the_empty_part_is_the_whole_message() {
    let raw = fixture("mixed_attachment");
    assert_eq!(binary(&raw, &[]), Ok(Some(raw)));
}

#[test]
fn binary_decodes_base64() {
    let expected = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
        .repeat(3);
    assert_eq!(
        binary(&fixture("mixed_attachment"), &[2]),
        Ok(Some(expected))
    );
    assert_eq!(
        binary(&fixture("bare_lf"), &[2]),
        Ok(Some(vec![0, 1, 2, 3, 4]))
    );
    let png = binary(&fixture("nested"), &[2, 2]).unwrap().unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(png.len(), 56);
}

#[test]
fn binary_decodes_quoted_printable() {
    assert_eq!(
        binary(&fixture("quoted_printable"), &[1]),
        Ok(Some(
            "Café au lait coûte 3€. This line is long enough that it needs a soft line break.\r\n\
             Second line with trailing space \r\n"
                .as_bytes()
                .to_vec()
        ))
    );
    assert_eq!(
        binary(&fixture("nested"), &[2, 1]),
        Ok(Some(
            b"Here are the photos from the beach, caf\xe9 included.".to_vec()
        ))
    );
}

#[test]
fn binary_of_identity_encodings_is_the_content() {
    assert_eq!(
        binary(&fixture("mixed_attachment"), &[1]),
        Ok(Some(b"Please find the invoice attached.".to_vec()))
    );
    assert_eq!(
        binary(&fixture("nested"), &[3]),
        Ok(Some(b"Remember the sunscreen.".to_vec()))
    );
}

#[test]
fn binary_of_unknown_encoding_is_an_error() {
    assert_eq!(
        binary(&fixture("unknown_cte"), &[2]),
        Err(BinaryError::UnknownCte)
    );
    assert_eq!(
        binary(&fixture("unknown_cte"), &[1]),
        Ok(Some(b"See attachment.".to_vec()))
    );
}

#[test]
fn binary_of_a_multipart_or_message_part_is_its_raw_content() {
    let raw = fixture("nested");
    assert_eq!(binary(&raw, &[1]), Ok(section(&raw, &sec(&[1], None))));
    assert_eq!(binary(&raw, &[2]), Ok(section(&raw, &sec(&[2], None))));
}

#[test]
fn binary_tolerates_garbage_in_base64() {
    let raw = b"Content-Transfer-Encoding: base64\r\n\r\nAAEC!!AwQ=\r\n";
    assert_eq!(binary(raw, &[1]), Ok(Some(vec![0, 1, 2, 3, 4])));
}

#[test]
fn sections_answers_each_section_like_section() {
    let raw = fixture("nested");
    let wanted = vec![
        sec(&[], Some(SectionText::Header)),
        sec(&[2, 1], None),
        sec(&[9], None),
        sec(&[2], Some(SectionText::Text)),
    ];
    let expected: Vec<_> = wanted.iter().map(|s| section(&raw, s)).collect();
    assert_eq!(mailstead_message::sections(&raw, &wanted), expected);
}
