//! The features of messages: which appear for the subject, text, HTML, links, headers
//! and attachments, and that any bytes give sorted, distinct features without panicking.

use mailstead_spam::tokenize::{MAX_WORDS_PER_STREAM, OSB_WINDOW, bigram, feature, features};
use proptest::prelude::*;

/// `features` of `message`, checking on the way that they are sorted and distinct and
/// the same the second time.
fn of(message: &str) -> Vec<u64> {
    let f = features(message.as_bytes());
    assert!(f.windows(2).all(|w| w[0] < w[1]), "not sorted and distinct");
    assert_eq!(f, features(message.as_bytes()), "not deterministic");
    f
}

fn has(features: &[u64], text: &str) -> bool {
    features.binary_search(&feature(text)).is_ok()
}

fn has_bigram(features: &[u64], left: &str, right: &str, distance: u8) -> bool {
    features
        .binary_search(&bigram(feature(left), feature(right), distance))
        .is_ok()
}

const PLAIN: &str = "From: Alice Example <alice@Mail.Example.com>\r\n\
    To: bob@example.org\r\n\
    Subject: Quarterly Report\r\n\
    X-Mailer: Microsoft Outlook 16.0\r\n\
    Received: from mx.sender.example (mx.sender.example [203.0.113.5])\r\n\
    \tby mx.example.org with ESMTPS id abc; Tue, 1 Jul 2025 10:00:00 +0000\r\n\
    Content-Type: text/plain; charset=UTF-8\r\n\
    \r\n\
    Please find the quarterly report for the project.\r\n\
    The numbers are on www.Reports.Example.net/q3 and https://user@files.example.com:8443/x.\r\n";

#[test]
fn subject_words_are_prefixed_and_apart_from_body_words() {
    let f = of(PLAIN);
    assert!(has(&f, "subject:quarterly"));
    assert!(has(&f, "subject:report"));
    assert!(has(&f, "quarterly"), "body word");
    assert!(!has(&f, "subject:project"));
    assert!(has(&f, "project"));
    assert!(has_bigram(&f, "subject:quarterly", "subject:report", 1));
}

#[test]
fn body_words_form_unigrams_and_sparse_bigrams_within_the_window() {
    let f = of("Subject: x\r\n\r\nbuy cheap pills online now today\r\n");
    for w in ["buy", "cheap", "pills", "online", "now", "today"] {
        assert!(has(&f, w), "{w}");
    }
    assert!(has_bigram(&f, "buy", "cheap", 1));
    assert!(has_bigram(&f, "buy", "pills", 2));
    assert!(has_bigram(&f, "buy", "now", 4));
    // "today" is 5 words after "buy": outside the window of 5.
    assert_eq!(OSB_WINDOW, 5);
    assert!(!has_bigram(&f, "buy", "today", 5));
    assert!(has_bigram(&f, "cheap", "today", 4));
    // Order matters.
    assert!(!has_bigram(&f, "cheap", "buy", 1));
}

#[test]
fn words_are_lower_cased_and_trimmed_and_keep_money_signs() {
    let f = of("Subject: x\r\n\r\nWIN $1000 NOW!!! (really.) \u{dc}BER-cool 'quoted' e-mail.\r\n");
    for w in [
        "win",
        "$1000",
        "now!!!",
        "really",
        "\u{fc}ber-cool",
        "quoted",
        "e-mail",
    ] {
        assert!(has(&f, w), "{w}");
    }
    assert!(!has(&f, "WIN"));
}

#[test]
fn short_words_are_dropped_and_long_ones_summarised() {
    let long = "x".repeat(35);
    let f = of(&format!("Subject: s\r\n\r\na {long} ok\r\n"));
    assert!(!has(&f, "a"));
    assert!(has(&f, "ok"));
    assert!(has(&f, "skip:x:3"), "35 characters: skip:x:3");
    assert!(!has(&f, &long));
}

#[test]
fn unspaced_scripts_give_one_word_per_character() {
    let f = of(
        "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\u{7121}\u{6599}\u{3067}\r\n",
    );
    assert!(has(&f, "subject:\u{65e5}"));
    assert!(has_bigram(&f, "subject:\u{65e5}", "subject:\u{672c}", 1));
    assert!(has(&f, "\u{7121}"));
    assert!(has_bigram(&f, "\u{7121}", "\u{6599}", 1));
}

#[test]
fn links_in_text_give_their_hosts_and_parent_domains() {
    let f = of(PLAIN);
    assert!(has(&f, "url:www.reports.example.net"));
    assert!(has(&f, "url:reports.example.net"));
    assert!(has(&f, "url:example.net"));
    assert!(!has(&f, "url:net"));
    assert!(
        has(&f, "url:files.example.com"),
        "user and port are not the host"
    );
    assert!(has(&f, "url:example.com"));
}

#[test]
fn headers_give_sender_mailer_and_relay_features() {
    let f = of(PLAIN);
    assert!(has(&f, "from:mail.example.com"));
    assert!(has(&f, "fromname:alice"));
    assert!(has(&f, "reply-to:none"));
    assert!(has(&f, "mailer:microsoft"));
    assert!(has(&f, "mailer:microsoft outlook ##.#"));
    assert!(has(&f, "rcvd:ip4:203.0.113"));
    assert!(has(&f, "rcvd:ip4:203.0"));
    assert!(has(&f, "ctype:text/plain"));
    assert!(has(&f, "charset:utf-8"));

    let f = of("From: a@one.example\r\nReply-To: b@two.example\r\n\
        User-Agent: Mutt/2.2\r\nSubject: x\r\n\r\nbody\r\n");
    assert!(has(&f, "reply-to:other-domain"));
    assert!(has(&f, "mailer:mutt"));
    assert!(has(&f, "ctype:none"));
    let f = of("From: a@one.example\r\nReply-To: b@ONE.example\r\nSubject: x\r\n\r\nbody\r\n");
    assert!(has(&f, "reply-to:same-domain"));
    let f = of("Subject: x\r\n\r\nbody\r\n");
    assert!(has(&f, "from:none"));
}

#[test]
fn shouting_subject_is_a_feature() {
    assert!(has(
        &of("Subject: FREE MONEY NOW\r\n\r\nx\r\n"),
        "subject:caps"
    ));
    assert!(!has(
        &of("Subject: Free money now\r\n\r\nx\r\n"),
        "subject:caps"
    ));
}

const HTML: &str = "From: shop@deals.example\r\n\
    Subject: Offer\r\n\
    MIME-Version: 1.0\r\n\
    Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
    \r\n\
    --b1\r\n\
    Content-Type: text/html; charset=utf-8\r\n\
    Content-Transfer-Encoding: quoted-printable\r\n\
    \r\n\
    <html><head><style>.hidden { color: white }</style>\r\n\
    <script>var tracker = 'scriptword';</script></head>\r\n\
    <body><p>Claim your fr<b>ee</b> pr&#105;ze&nbsp;today</p><!-- commentword -->\r\n\
    <a href=3D\"https://Click.Tracker.example/r?id=3D1\">Click here</a>\r\n\
    <img src=3D'//cdn.images.example/pixel.gif'><form action=3Dhttp://198.51.100.7/x></form>\r\n\
    <a href=3D\"/relative\">rel</a> 5 &lt; 6 &amp; more</body></html>\r\n\
    --b1--\r\n";

#[test]
fn html_is_stripped_to_its_text() {
    let f = of(HTML);
    for w in ["claim", "free", "prize", "today", "click", "here", "more"] {
        assert!(has(&f, w), "{w}");
    }
    // Inline tags do not split words; block tags do.
    assert!(!has(&f, "fr"));
    assert!(has_bigram(&f, "click", "here", 1));
    // Style, script and comments are not text.
    for w in ["hidden", "tracker", "scriptword", "commentword", "color"] {
        assert!(!has(&f, w), "{w}");
    }
}

#[test]
fn html_links_and_tags_are_features() {
    let f = of(HTML);
    assert!(has(&f, "url:click.tracker.example"));
    assert!(has(&f, "url:tracker.example"));
    assert!(has(&f, "url:cdn.images.example"));
    assert!(has(&f, "url:images.example"));
    assert!(has(&f, "url:ip"), "a link to an IP literal");
    assert!(has(&f, "url:198.51.100.7"));
    for t in ["html:a", "html:img", "html:form", "html:script", "html:p"] {
        assert!(has(&f, t), "{t}");
    }
    assert!(has(&f, "ctype:multipart/alternative"));
    assert!(has(&f, "ctype:text/html"));
    assert!(has(&f, "cte:quoted-printable"));
}

#[test]
fn attachments_give_type_and_extension() {
    let f = of("Subject: Invoice\r\n\
        Content-Type: multipart/mixed; boundary=\"m\"\r\n\
        \r\n\
        --m\r\n\
        Content-Type: text/plain\r\n\
        \r\n\
        See the attached invoice.\r\n\
        --m\r\n\
        Content-Type: application/pdf; name=\"Invoice 2025.PDF\"\r\n\
        Content-Disposition: attachment; filename=\"Invoice 2025.PDF\"\r\n\
        Content-Transfer-Encoding: base64\r\n\
        \r\n\
        JVBERi0xLjQK\r\n\
        --m\r\n\
        Content-Type: application/octet-stream\r\n\
        Content-Disposition: attachment; filename=\"README\"\r\n\
        \r\n\
        data\r\n\
        --m--\r\n");
    assert!(has(&f, "attach:pdf"));
    assert!(has(&f, "attach:noext"));
    assert!(has(&f, "ctype:application/pdf"));
    assert!(has(&f, "ctype:multipart/mixed"));
    assert!(has(&f, "cte:base64"));
    assert!(has(&f, "attached"));
    assert!(!has(&f, "data"), "binary parts are not text");
}

#[test]
fn forwarded_messages_are_read() {
    let f = of("Subject: Fwd\r\n\
        Content-Type: multipart/mixed; boundary=\"m\"\r\n\
        \r\n\
        --m\r\n\
        Content-Type: message/rfc822\r\n\
        \r\n\
        From: inner@inner.example\r\n\
        Subject: Inner subject\r\n\
        \r\n\
        Inner body words\r\n\
        --m--\r\n");
    assert!(has(&f, "subject:inner"));
    assert!(has(&f, "words"));
    assert!(has(&f, "ctype:message/rfc822"));
}

#[test]
fn non_utf8_and_garbage_input_still_gives_features() {
    // Latin-1 declared and undeclared.
    let latin1 = b"Subject: caf\xe9\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nd\xe9j\xe0 vu\r\n";
    let f = features(latin1);
    assert!(f.binary_search(&feature("d\u{e9}j\u{e0}")).is_ok());
    let f = features(b"Subject: \xff\xfe\r\n\r\n\xc3\x28 broken \xa0\xa1 utf8\r\n");
    assert!(f.binary_search(&feature("broken")).is_ok());
    for garbage in [
        &b""[..],
        b"\0\0\0",
        b"\r\n\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x\r\n--x--",
        b"<html><a href=\"",
        b"Content-Type: text/html\r\n\r\n<a href='http://",
        b"Content-Type: text/html\r\n\r\n&#99999999999;&#x;&;<<<>>><!--",
        b"Subject: =?utf-8?B?////?=\r\n\r\n",
    ] {
        let f = features(garbage);
        assert!(f.windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn input_without_header_fields_is_read_as_text() {
    let f = of("just some text, no header fields\r\n\r\nand more text\r\n");
    assert!(has(&f, "parse:no-headers"));
    for w in ["just", "text", "header", "fields", "more"] {
        assert!(has(&f, w), "{w}");
    }
    assert!(has(&of(""), "parse:failed"));
    assert!(!has(&of(PLAIN), "parse:no-headers"));
}

#[test]
fn pathological_html_stays_cheap() {
    // Quadratic scanning would take minutes on these.
    for body in [
        "<".repeat(200_000),
        "<!--".repeat(50_000),
        "<a href=".repeat(30_000),
        "&".repeat(200_000),
        "<script>".repeat(30_000),
    ] {
        let f = of(&format!("Content-Type: text/html\r\n\r\n{body}"));
        assert!(!f.is_empty());
    }
}

#[test]
fn huge_messages_read_a_bounded_number_of_words() {
    let mut body = String::new();
    let mut i = 0u32;
    while body.len() < 200_000 {
        body.push_str(&format!("word{i} "));
        i += 1;
    }
    let f = of(&format!("Subject: big\r\n\r\n{body}\r\n"));
    assert!(has(&f, "word0"));
    assert!(has(&f, &format!("word{}", MAX_WORDS_PER_STREAM - 1)));
    assert!(!has(&f, &format!("word{}", MAX_WORDS_PER_STREAM)));
    assert!(
        f.len() <= MAX_WORDS_PER_STREAM * OSB_WINDOW + 100,
        "{}",
        f.len()
    );
}

/// The counts in the stores are keyed by these hashes: a change here needs a note in the
/// changelog that the classifier must be retrained.
#[test]
fn features_of_a_fixed_message_never_change() {
    let f = features(b"Subject: Hi there\r\n\r\nhello world\r\n");
    let expected: [u64; 9] = [
        0x1489_16e8_d301_46bd,
        0x20ae_7b57_dd56_462a,
        0x23dd_9464_179d_175d,
        0x34f6_1c2a_a857_a72d,
        0x4f59_ff5e_730c_8af3,
        0x59f9_b07c_d999_8284,
        0x74a7_5433_e930_0823,
        0x8da2_a432_d613_f457,
        0xa430_d846_80aa_bd0b,
    ];
    assert_eq!(f, expected);
    for text in [
        "subject:hi",
        "subject:there",
        "hello",
        "world",
        "from:none",
        "reply-to:none",
        "ctype:none",
    ] {
        assert!(has(&f, text), "{text}");
    }
    assert!(has_bigram(&f, "hello", "world", 1));
    assert!(has_bigram(&f, "subject:hi", "subject:there", 1));
}

proptest! {
    #[test]
    fn any_bytes_give_sorted_distinct_features(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let f = features(&data);
        prop_assert!(f.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn message_like_input_gives_sorted_distinct_features(
        subject in "[ -~\u{80}-\u{3000}]{0,60}",
        ctype in prop::sample::select(vec!["text/plain", "text/html", "multipart/mixed; boundary=b", "message/rfc822"]),
        body in "[ -~\r\n<>&;#=\"'/\u{e0}-\u{ff}\u{4e00}-\u{4e10}]{0,600}",
    ) {
        let message = format!("Subject: {subject}\r\nContent-Type: {ctype}\r\n\r\n{body}");
        let f = features(message.as_bytes());
        prop_assert!(f.windows(2).all(|w| w[0] < w[1]));
        prop_assert_eq!(f, features(message.as_bytes()));
    }
}
