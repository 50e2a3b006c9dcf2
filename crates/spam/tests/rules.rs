//! Content and authentication rules: one test per symbol (it fires on a message made
//! for it and stays quiet on near misses), the authentication outcomes, a realistic ham
//! and a phishing message against the default weights, and garbage.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use mailstead_mailauth::{
    ArcCheck, AuthOutcome, AuthResult, DkimCheck, DmarcCheck, DmarcPolicy, IprevCheck, SpfCheck,
    SpfResult,
};
use mailstead_spam::rules::{self, MessageFacts};
use mailstead_spam::verdict::Hit;
use mailstead_spam::{Verdict, Weights};
use proptest::prelude::*;

/// Tue, 10 Mar 2026 12:00:00 +0000: when every test message is received.
const NOW_SECS: u64 = 1_773_144_000;
/// The `Date` of the test messages: two minutes before [`NOW_SECS`].
const DATE: &str = "Tue, 10 Mar 2026 11:58:00 +0000";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn local_domains() -> Vec<String> {
    vec!["ours.example".to_owned()]
}

/// A message and its envelope, built from fields so each test changes one thing.
#[derive(Debug, Clone)]
struct Mail {
    fields: Vec<(String, String)>,
    body: String,
    raw: Option<Vec<u8>>,
    helo: String,
    mail_from: String,
    remote_ip: IpAddr,
}

const HAM_BODY: &str = "--b1\r
Content-Type: text/plain; charset=utf-8\r
\r
Hi Bob,\r
\r
the minutes of Tuesday's meeting are on the wiki:\r
https://wiki.sender.example/minutes/42\r
\r
Alice\r
--b1\r
Content-Type: text/html; charset=utf-8\r
\r
<html><body><p>Hi Bob,</p><p>the minutes of Tuesday's meeting are\r
<a href=\"https://wiki.sender.example/minutes/42\">on the wiki</a>.</p>\r
<p>Alice</p></body></html>\r
--b1--\r
";

impl Mail {
    /// A plain, well-formed message between two people: multipart/alternative, aligned
    /// envelope, a proper HELO.
    fn ham() -> Self {
        let fields = [
            ("From", "Alice Example <alice@sender.example>"),
            ("To", "Bob <bob@ours.example>"),
            ("Subject", "Minutes of Tuesday's meeting"),
            ("Date", DATE),
            ("Message-ID", "<20260310115800.1234@sender.example>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", "multipart/alternative; boundary=\"b1\""),
        ];
        Self {
            fields: fields
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: HAM_BODY.to_owned(),
            raw: None,
            helo: "mail.sender.example".to_owned(),
            mail_from: "alice@sender.example".to_owned(),
            remote_ip: "192.0.2.10".parse().expect("address"),
        }
    }

    /// Exact bytes (the envelope of [`Mail::ham`]).
    fn raw(bytes: &[u8]) -> Self {
        Self {
            raw: Some(bytes.to_vec()),
            ..Self::ham()
        }
    }

    /// Replaces the first field of that name, or adds it.
    fn set(mut self, name: &str, value: &str) -> Self {
        match self
            .fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(field) => field.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Adds a field, even if one of that name exists.
    fn add(mut self, name: &str, value: &str) -> Self {
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Removes every field of that name.
    fn remove(mut self, name: &str) -> Self {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// A single-part body of this type.
    fn single(self, content_type: &str, body: &str) -> Self {
        let mut mail = self.set("Content-Type", content_type);
        mail.body = body.to_owned();
        mail
    }

    /// A text/plain body.
    fn text(self, body: &str) -> Self {
        self.single("text/plain; charset=utf-8", body)
    }

    /// A text/html body, no alternative.
    fn html(self, body: &str) -> Self {
        self.single("text/html; charset=utf-8", body)
    }

    /// multipart/mixed: a short text and one attachment with these part fields and
    /// base64 content.
    fn attachment(self, part_fields: &str, content: &[u8]) -> Self {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        let body = format!(
            "--m1\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n\
             --m1\r\n{part_fields}\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--m1--\r\n"
        );
        self.single("multipart/mixed; boundary=\"m1\"", &body)
    }

    fn helo(mut self, helo: &str) -> Self {
        self.helo = helo.to_owned();
        self
    }

    fn mail_from(mut self, mail_from: &str) -> Self {
        self.mail_from = mail_from.to_owned();
        self
    }

    fn remote_ip(mut self, ip: &str) -> Self {
        self.remote_ip = ip.parse().expect("address");
        self
    }

    fn bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut out = String::new();
        for (name, value) in &self.fields {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out.into_bytes()
    }

    fn hits(&self) -> Vec<Hit> {
        let message = self.bytes();
        let local = local_domains();
        rules::content_hits_at(
            &MessageFacts {
                message: &message,
                mail_from: &self.mail_from,
                helo: &self.helo,
                remote_ip: self.remote_ip,
                local_domains: &local,
            },
            now(),
        )
    }

    fn symbols(&self) -> Vec<String> {
        self.hits().iter().map(|h| h.name.to_string()).collect()
    }
}

fn weight(symbol: &str) -> f64 {
    rules::WEIGHTS
        .iter()
        .find(|(n, _)| *n == symbol)
        .map(|(_, w)| *w)
        .unwrap_or_else(|| panic!("{symbol} is not in rules::WEIGHTS"))
}

/// `symbol` fires on each of `fires` and on none of `quiet`.
fn check(symbol: &str, fires: &[Mail], quiet: &[Mail]) {
    weight(symbol);
    for mail in fires {
        let symbols = mail.symbols();
        assert!(
            symbols.iter().any(|s| s == symbol),
            "{symbol} should fire, got {symbols:?} for\n{}",
            String::from_utf8_lossy(&mail.bytes())
        );
        for s in &symbols {
            weight(s);
        }
    }
    for mail in quiet {
        let symbols = mail.symbols();
        assert!(
            !symbols.iter().any(|s| s == symbol),
            "{symbol} should not fire, got {symbols:?} for\n{}",
            String::from_utf8_lossy(&mail.bytes())
        );
    }
}

fn ham() -> Mail {
    Mail::ham()
}

// ---------------------------------------------------------------------------------
// The base message.

#[test]
fn the_ham_message_fires_nothing() {
    assert_eq!(ham().symbols(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------
// Header fields.

#[test]
fn missing_date() {
    check("MISSING_DATE", &[ham().remove("Date")], &[ham()]);
}

#[test]
fn invalid_date() {
    check(
        "INVALID_DATE",
        &[ham().set("Date", "yesterday at noon")],
        &[ham(), ham().remove("Date")],
    );
}

#[test]
fn date_in_future() {
    check(
        "DATE_IN_FUTURE",
        &[ham().set("Date", "Fri, 13 Mar 2026 12:00:00 +0000")],
        &[
            ham(),
            // Within a day: clocks are wrong by hours.
            ham().set("Date", "Tue, 10 Mar 2026 23:00:00 +0000"),
        ],
    );
}

#[test]
fn date_in_past() {
    check(
        "DATE_IN_PAST",
        &[ham().set("Date", "Mon, 10 Mar 2025 11:00:00 +0000")],
        &[ham(), ham().set("Date", "Mon, 12 May 2025 11:00:00 +0000")],
    );
}

#[test]
fn missing_mid() {
    check("MISSING_MID", &[ham().remove("Message-ID")], &[ham()]);
}

#[test]
fn invalid_msgid() {
    check(
        "INVALID_MSGID",
        &[
            ham().set("Message-ID", "12345"),
            ham().set("Message-ID", "<no-at-sign>"),
            ham().set("Message-ID", "<a@b@c>"),
        ],
        &[ham(), ham().remove("Message-ID")],
    );
}

#[test]
fn missing_from() {
    check(
        "MISSING_FROM",
        &[ham().remove("From"), ham().set("From", "nobody")],
        &[ham()],
    );
}

#[test]
fn multiple_from() {
    check(
        "MULTIPLE_FROM",
        &[
            ham().set("From", "alice@sender.example, mallory@evil.example"),
            ham().add("From", "mallory@evil.example"),
        ],
        &[ham()],
    );
}

#[test]
fn missing_subject() {
    check(
        "MISSING_SUBJECT",
        &[ham().remove("Subject"), ham().set("Subject", "   ")],
        &[ham()],
    );
}

#[test]
fn subj_all_caps() {
    check(
        "SUBJ_ALL_CAPS",
        &[
            ham().set("Subject", "YOU HAVE WON A PRIZE"),
            ham().set("Subject", "=?utf-8?q?GL=C3=9CCKWUNSCH_GEWINNER?="),
        ],
        &[
            ham(),
            ham().set("Subject", "Meeting with IBM and NASA"),
            ham().set("Subject", "URGENT"),
            ham().set("Subject", "FW: Q3"),
        ],
    );
}

#[test]
fn subj_excess_punct() {
    check(
        "SUBJ_EXCESS_PUNCT",
        &[
            ham().set("Subject", "Act now!!!"),
            ham().set("Subject", "$$$ cash $$$"),
        ],
        &[ham(), ham().set("Subject", "Save $5 on $10 today!")],
    );
}

#[test]
fn missing_to() {
    check(
        "MISSING_TO",
        &[ham().remove("To")],
        &[ham(), ham().set("To", "undisclosed-recipients:;")],
    );
}

#[test]
fn undisc_rcpt() {
    check(
        "UNDISC_RCPT",
        &[ham().set("To", "undisclosed-recipients:;")],
        &[ham(), ham().remove("To")],
    );
}

#[test]
fn many_recipients() {
    let list = |n: usize| {
        (0..n)
            .map(|i| format!("user{i}@ours.example"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    check(
        "MANY_RECIPIENTS",
        &[
            ham().set("To", &list(25)),
            ham().set("To", &list(15)).set("Cc", &list(10)),
        ],
        &[ham(), ham().set("To", &list(20))],
    );
}

#[test]
fn replyto_dom_neq_from_dom() {
    check(
        "REPLYTO_DOM_NEQ_FROM_DOM",
        &[ham().set("Reply-To", "sales@other.example")],
        &[
            ham(),
            ham().set("Reply-To", "team@lists.sender.example"),
            // A mailing list sets Reply-To to itself.
            ham()
                .set("Reply-To", "dev@lists.other.example")
                .set("List-Id", "<dev.lists.other.example>"),
            // Freemail is its own symbol.
            ham().set("Reply-To", "claims@gmail.com"),
        ],
    );
}

#[test]
fn freemail_replyto() {
    check(
        "FREEMAIL_REPLYTO",
        &[
            ham().set("Reply-To", "claims.department@gmail.com"),
            ham().set("Reply-To", "x@outlook.com"),
        ],
        &[
            ham(),
            ham()
                .set("From", "Alice <alice@gmail.com>")
                .set("Reply-To", "alice.private@yahoo.com")
                .mail_from("alice@gmail.com"),
        ],
    );
}

#[test]
fn from_name_has_addr_mismatch() {
    check(
        "FROM_NAME_HAS_ADDR_MISMATCH",
        &[
            ham().set("From", "\"service@bank.example\" <alert@sender.example>"),
            ham().set(
                "From",
                "Bank Security (security@bank.example) <alert@sender.example>",
            ),
        ],
        &[
            ham(),
            ham().set("From", "\"alice@sender.example\" <alice@sender.example>"),
            ham().set(
                "From",
                "\"Alice (alice@mail.sender.example)\" <alice@sender.example>",
            ),
        ],
    );
}

#[test]
fn mailfrom_neq_from_dom() {
    check(
        "MAILFROM_NEQ_FROM_DOM",
        &[ham().mail_from("bounces+123@esp.example")],
        &[
            ham(),
            ham().mail_from("bounce-42@mail.sender.example"),
            ham().mail_from(""),
        ],
    );
}

#[test]
fn forged_local_sender() {
    check(
        "FORGED_LOCAL_SENDER",
        &[
            ham().set("From", "The Boss <boss@ours.example>"),
            ham().set("From", "boss@OURS.Example"),
        ],
        &[
            ham(),
            // A subdomain is another domain.
            ham().set("From", "news@lists.ours.example"),
        ],
    );
}

#[test]
fn missing_mime_version() {
    check(
        "MISSING_MIME_VERSION",
        &[ham().remove("MIME-Version")],
        &[
            ham(),
            ham()
                .remove("MIME-Version")
                .text("plain RFC 5322 text\r\n")
                .remove("Content-Type"),
        ],
    );
}

#[test]
fn header_8bit() {
    check(
        "HEADER_8BIT",
        &[ham().set("Subject", "Grüße aus Köln")],
        &[
            ham(),
            ham().set("Subject", "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?="),
            // 8-bit in the body is fine.
            ham().text("Grüße\r\n"),
        ],
    );
}

#[test]
fn invalid_header_8bit() {
    let mut latin1 = ham().bytes();
    let at = latin1
        .windows(7)
        .position(|w| w == b"Minutes")
        .expect("subject");
    latin1[at + 1] = 0xEF; // "M\xEFnutes": ISO 8859-1, not UTF-8
    check(
        "INVALID_HEADER_8BIT",
        &[Mail::raw(&latin1)],
        &[ham(), ham().set("Subject", "Grüße")],
    );
}

#[test]
fn xmailer_bulk() {
    check(
        "XMAILER_BULK",
        &[
            ham().set(
                "X-Mailer",
                "PHPMailer 6.8.0 (https://github.com/PHPMailer/PHPMailer)",
            ),
            ham().set("User-Agent", "SendBlaster 4"),
        ],
        &[ham(), ham().set("X-Mailer", "Apple Mail (2.3774.500.171)")],
    );
}

// ---------------------------------------------------------------------------------
// HELO.

#[test]
fn helo_bare_ip() {
    check(
        "HELO_BARE_IP",
        &[
            ham().helo("[192.0.2.10]"),
            ham().helo("192.0.2.10"),
            ham().helo("[IPv6:2001:db8::1]"),
        ],
        &[ham(), ham().helo("")],
    );
}

#[test]
fn helo_not_fqdn() {
    check(
        "HELO_NOT_FQDN",
        &[
            ham().helo("DESKTOP-4F2K9"),
            ham().helo("pc.local"),
            ham().helo("box.lan"),
        ],
        &[
            ham(),
            ham().helo("mail.sender.example."),
            ham().helo("localhost"),
        ],
    );
}

#[test]
fn helo_localhost() {
    check(
        "HELO_LOCALHOST",
        &[ham().helo("localhost"), ham().helo("localhost.localdomain")],
        &[
            ham(),
            // A client on loopback may call itself so.
            ham().helo("localhost").remote_ip("127.0.0.1"),
            ham().helo("localhost").remote_ip("::1"),
        ],
    );
}

// ---------------------------------------------------------------------------------
// HTML.

#[test]
fn html_only() {
    check(
        "HTML_ONLY",
        &[ham().html("<p>Hello <b>Bob</b></p>")],
        &[ham(), ham().text("Hello Bob")],
    );
}

#[test]
fn html_image_only() {
    let long_text = "the minutes of Tuesday's meeting are attached below as a picture, \
                     with the action items for everyone in the team; ask me if unclear. ";
    check(
        "HTML_IMAGE_ONLY",
        &[ham().html("<html><body><a href=\"https://shop.example/\"><img src=\"https://cdn.example/offer.png\"></a><p>Hi!</p></body></html>")],
        &[
            ham(),
            ham().html(&format!("<p>{long_text}</p><img src=\"cid:chart\">")),
            ham().html("<p>Hi</p>"),
        ],
    );
}

// ---------------------------------------------------------------------------------
// Links.

fn html_link(href: &str, text: &str) -> Mail {
    ham().html(&format!(
        "<p>Dear customer, please review your account.</p><p><a href=\"{href}\">{text}</a></p>"
    ))
}

#[test]
fn url_ip() {
    check(
        "URL_IP",
        &[
            html_link("http://192.0.2.1/login", "log in"),
            html_link("http://3221225985/login", "log in"),
            ham().text("go to http://[2001:db8::1]/x now"),
        ],
        &[ham(), html_link("https://1.sender.example/", "x")],
    );
}

#[test]
fn url_shortener() {
    check(
        "URL_SHORTENER",
        &[
            html_link("https://bit.ly/3xYz", "your parcel"),
            ham().text("track it at https://tinyurl.com/abc123"),
        ],
        &[ham(), html_link("https://bitly.example.com/", "x")],
    );
}

#[test]
fn phish_link_mismatch() {
    check(
        "PHISH_LINK_MISMATCH",
        &[
            html_link(
                "http://evil.example/login",
                "https://www.bank.example/login",
            ),
            html_link("http://evil.example/login", "www.bank.example"),
            html_link("http://evil.example/login", "Bank.com/signin"),
            html_link("http://192.0.2.1/", "https://bank.example/"),
            // Character references do not hide the host.
            html_link("http://evil.example/", "https://&#x62;ank.example/"),
        ],
        &[
            ham(),
            html_link("https://wiki.sender.example/x", "www.sender.example"),
            html_link("https://evil.example/", "click here"),
            html_link("https://evil.example/", "report.pdf"),
            // The click tracking of a mailing service.
            html_link(
                "https://u123.ct.sendgrid.net/ls/click?x",
                "www.shop.example",
            ),
        ],
    );
}

#[test]
fn many_urls() {
    let urls = |n: usize| {
        (0..n)
            .map(|i| format!("https://shop.example/item/{i}"))
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    check(
        "MANY_URLS",
        &[ham().text(&urls(60))],
        &[
            ham(),
            ham().text(&urls(50)),
            ham().text(&format!("{0}\r\n{0}", urls(40))),
        ],
    );
}

#[test]
fn url_data() {
    check(
        "URL_DATA",
        &[
            html_link("data:text/html;base64,PGgxPkxvZ2luPC9oMT4=", "open the form"),
            html_link(" DATA:text/html,<script>", "open"),
        ],
        &[
            ham(),
            ham().html(
                "<p>Our logo: <img src=\"data:image/png;base64,iVBORw0KGgo=\"> and a long enough text for the image rule to stay quiet here, really long enough.</p>",
            ),
        ],
    );
}

#[test]
fn url_javascript() {
    check(
        "URL_JAVASCRIPT",
        &[
            html_link("javascript:document.forms[0].submit()", "confirm"),
            html_link("java\tscript:alert(1)", "confirm"),
        ],
        &[ham(), html_link("https://sender.example/javascript:", "x")],
    );
}

#[test]
fn url_punycode() {
    check(
        "URL_PUNYCODE",
        &[
            html_link("https://xn--pypal-4ve.example/login", "log in"),
            // Cyrillic а in "pаypal".
            html_link("https://p\u{0430}ypal.example/login", "log in"),
        ],
        &[ham()],
    );
}

// ---------------------------------------------------------------------------------
// Attachments.

fn attached(filename: &str) -> Mail {
    ham().attachment(
        &format!(
            "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"{filename}\""
        ),
        b"MZ\x90\x00 not really a program",
    )
}

/// A ZIP archive whose local file headers name `entries` (stored, empty).
fn zip(entries: &[&str]) -> Vec<u8> {
    let mut zip = Vec::new();
    for name in entries {
        zip.extend_from_slice(b"PK\x03\x04");
        zip.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        zip.extend_from_slice(&[0; 12]); // crc, sizes
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&[0, 0]);
        zip.extend_from_slice(name.as_bytes());
    }
    zip
}

#[test]
fn attach_executable() {
    check(
        "ATTACH_EXECUTABLE",
        &[
            attached("setup.exe"),
            attached("INVOICE.JS"),
            attached("disk.iso"),
            attached("shortcut.lnk. "),
            // The name only in Content-Type.
            ham().attachment("Content-Type: application/octet-stream; name=\"run.scr\"", b"x"),
            // RFC 2231 encoded.
            ham().attachment(
                "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.hta",
                b"x",
            ),
        ],
        &[ham(), attached("report.pdf"), attached("notes.txt")],
    );
}

#[test]
fn attach_macro() {
    check(
        "ATTACH_MACRO",
        &[attached("budget.xlsm"), attached("Letter.DOCM")],
        &[ham(), attached("budget.xlsx"), attached("letter.docx")],
    );
}

#[test]
fn attach_double_ext() {
    check(
        "ATTACH_DOUBLE_EXT",
        &[
            attached("invoice.pdf.exe"),
            attached("scan.jpg          .scr"),
            attached("order.doc.docm"),
        ],
        &[
            ham(),
            attached("setup.exe"),
            attached("backup.tar.gz"),
            attached("report.final.pdf"),
        ],
    );
}

#[test]
fn attach_archive_executable() {
    check(
        "ATTACH_ARCHIVE_EXECUTABLE",
        &[
            ham().attachment(
                "Content-Type: application/zip\r\nContent-Disposition: attachment; filename=\"invoice.zip\"",
                &zip(&["readme.txt", "invoice.pdf.exe"]),
            ),
            // Known by its bytes, whatever its name.
            ham().attachment(
                "Content-Type: application/octet-stream; name=\"data.bin\"",
                &zip(&["tool.js"]),
            ),
        ],
        &[
            ham(),
            ham().attachment(
                "Content-Type: application/zip; name=\"photos.zip\"",
                &zip(&["a.jpg", "b.jpg"]),
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------
// Parsing.

#[test]
fn parse_error() {
    check(
        "PARSE_ERROR",
        &[
            Mail::raw(b""),
            Mail::raw(b"\r\n\r\njust a body without any header field\r\n"),
        ],
        &[ham()],
    );
    // Without header fields, no pile of MISSING_* symbols.
    assert_eq!(
        Mail::raw(b"\r\nbody only\r\n").symbols(),
        vec!["PARSE_ERROR".to_owned()]
    );
}

// ---------------------------------------------------------------------------------
// Authentication.

fn passing() -> AuthOutcome {
    AuthOutcome {
        spf_helo: SpfCheck {
            result: SpfResult::Pass,
            domain: "mail.sender.example".into(),
        },
        spf_mail_from: SpfCheck {
            result: SpfResult::Pass,
            domain: "sender.example".into(),
        },
        dkim: vec![DkimCheck {
            result: AuthResult::Pass,
            domain: "sender.example".into(),
            selector: "s1".into(),
            algorithm: "rsa-sha256".into(),
            header_b: "abcdefgh".into(),
            reason: None,
        }],
        arc: ArcCheck {
            result: AuthResult::None,
            sets: 0,
        },
        dmarc: Some(DmarcCheck {
            result: AuthResult::Pass,
            from_domain: "sender.example".into(),
            policy: Some(DmarcPolicy::Reject),
            applied: None,
            spf_aligned: true,
            dkim_aligned: true,
        }),
        iprev: IprevCheck {
            result: AuthResult::Pass,
            name: Some("mail.sender.example".into()),
        },
    }
}

/// A forgery of a domain with `p=<policy>`: SPF fails, no signature, DMARC fails.
fn forged(policy: DmarcPolicy, applied: Option<DmarcPolicy>) -> AuthOutcome {
    AuthOutcome {
        spf_mail_from: SpfCheck {
            result: SpfResult::Fail,
            domain: "bank.example".into(),
        },
        dkim: vec![],
        dmarc: Some(DmarcCheck {
            result: AuthResult::Fail,
            from_domain: "bank.example".into(),
            policy: Some(policy),
            applied,
            spf_aligned: false,
            dkim_aligned: false,
        }),
        iprev: IprevCheck {
            result: AuthResult::PermError,
            name: None,
        },
        ..passing()
    }
}

fn auth_symbols(outcome: &AuthOutcome) -> Vec<String> {
    let hits = rules::auth_hits(outcome);
    let names: Vec<String> = hits.iter().map(|h| h.name.to_string()).collect();
    for name in &names {
        weight(name);
    }
    names
}

#[test]
fn auth_outcomes() {
    let cases: Vec<(&str, AuthOutcome, &[&str])> = vec![
        (
            "everything passes, DKIM of the From domain",
            passing(),
            &["SPF_PASS", "DKIM_ALIGNED", "DMARC_PASS"],
        ),
        (
            "a third-party signature only",
            AuthOutcome {
                dkim: vec![DkimCheck {
                    domain: "esp.example".into(),
                    ..passing().dkim[0].clone()
                }],
                dmarc: Some(DmarcCheck {
                    dkim_aligned: false,
                    ..passing().dmarc.expect("dmarc")
                }),
                ..passing()
            },
            &["SPF_PASS", "DKIM_PASS", "DMARC_PASS"],
        ),
        (
            "forgery of a p=reject domain",
            forged(DmarcPolicy::Reject, Some(DmarcPolicy::Reject)),
            &["SPF_FAIL", "DMARC_POLICY_REJECT", "IPREV_NONE"],
        ),
        (
            "p=reject sampled out by pct= is quarantine",
            forged(DmarcPolicy::Reject, None),
            &["SPF_FAIL", "DMARC_POLICY_QUARANTINE", "IPREV_NONE"],
        ),
        (
            "p=quarantine",
            forged(DmarcPolicy::Quarantine, Some(DmarcPolicy::Quarantine)),
            &["SPF_FAIL", "DMARC_POLICY_QUARANTINE", "IPREV_NONE"],
        ),
        (
            "p=none",
            forged(DmarcPolicy::None, Some(DmarcPolicy::None)),
            &["SPF_FAIL", "DMARC_POLICY_NONE_FAIL", "IPREV_NONE"],
        ),
        (
            "broken signature, softfail, PTR not resolving back, no DMARC record",
            AuthOutcome {
                spf_mail_from: SpfCheck {
                    result: SpfResult::SoftFail,
                    domain: "sender.example".into(),
                },
                dkim: vec![DkimCheck {
                    result: AuthResult::Fail,
                    reason: Some("body hash mismatch".into()),
                    ..passing().dkim[0].clone()
                }],
                dmarc: Some(DmarcCheck {
                    result: AuthResult::None,
                    policy: None,
                    spf_aligned: false,
                    dkim_aligned: false,
                    ..passing().dmarc.expect("dmarc")
                }),
                iprev: IprevCheck {
                    result: AuthResult::Fail,
                    name: Some("dyn-192-0-2-10.isp.example".into()),
                },
                ..passing()
            },
            &["SPF_SOFTFAIL", "DKIM_FAIL", "IPREV_FAIL"],
        ),
        (
            "a list: original signature broken, list signature good, ARC sealed",
            AuthOutcome {
                dkim: vec![
                    DkimCheck {
                        result: AuthResult::Fail,
                        ..passing().dkim[0].clone()
                    },
                    DkimCheck {
                        domain: "lists.example".into(),
                        ..passing().dkim[0].clone()
                    },
                ],
                arc: ArcCheck {
                    result: AuthResult::Pass,
                    sets: 1,
                },
                dmarc: Some(DmarcCheck {
                    result: AuthResult::Fail,
                    applied: Some(DmarcPolicy::None),
                    policy: Some(DmarcPolicy::None),
                    dkim_aligned: false,
                    spf_aligned: false,
                    ..passing().dmarc.expect("dmarc")
                }),
                ..passing()
            },
            &[
                "SPF_PASS",
                "DKIM_PASS",
                "DMARC_POLICY_NONE_FAIL",
                "ARC_PASS",
            ],
        ),
        (
            "no records anywhere",
            AuthOutcome {
                spf_mail_from: SpfCheck {
                    result: SpfResult::None,
                    domain: "sender.example".into(),
                },
                dkim: vec![],
                dmarc: None,
                ..passing()
            },
            &["SPF_NONE"],
        ),
        (
            "DNS trouble and broken records",
            AuthOutcome {
                spf_mail_from: SpfCheck {
                    result: SpfResult::TempError,
                    domain: "sender.example".into(),
                },
                dkim: vec![DkimCheck {
                    result: AuthResult::TempError,
                    ..passing().dkim[0].clone()
                }],
                arc: ArcCheck {
                    result: AuthResult::Fail,
                    sets: 2,
                },
                dmarc: Some(DmarcCheck {
                    result: AuthResult::TempError,
                    ..passing().dmarc.expect("dmarc")
                }),
                iprev: IprevCheck {
                    result: AuthResult::TempError,
                    name: None,
                },
                ..passing()
            },
            &["SPF_TEMPERROR", "ARC_FAIL"],
        ),
        (
            "SPF permerror, neutral HELO ignored",
            AuthOutcome {
                spf_helo: SpfCheck {
                    result: SpfResult::Neutral,
                    domain: "mail.sender.example".into(),
                },
                spf_mail_from: SpfCheck {
                    result: SpfResult::PermError,
                    domain: "sender.example".into(),
                },
                ..passing()
            },
            &["SPF_PERMERROR", "DKIM_ALIGNED", "DMARC_PASS"],
        ),
    ];
    for (name, outcome, expected) in cases {
        assert_eq!(auth_symbols(&outcome), expected, "{name}");
    }
}

#[test]
fn dkim_alignment_is_relaxed_even_without_the_dmarc_flag() {
    let outcome = AuthOutcome {
        dkim: vec![DkimCheck {
            domain: "mail.sender.example".into(),
            ..passing().dkim[0].clone()
        }],
        dmarc: Some(DmarcCheck {
            result: AuthResult::None,
            policy: None,
            dkim_aligned: false,
            ..passing().dmarc.expect("dmarc")
        }),
        ..passing()
    };
    assert_eq!(auth_symbols(&outcome), ["SPF_PASS", "DKIM_ALIGNED"]);
}

#[test]
fn auth_details_name_the_domain() {
    let hits = rules::auth_hits(&forged(DmarcPolicy::Reject, Some(DmarcPolicy::Reject)));
    let dmarc = hits
        .iter()
        .find(|h| h.name == "DMARC_POLICY_REJECT")
        .expect("dmarc hit");
    assert_eq!(dmarc.detail.as_deref(), Some("bank.example"));
}

// ---------------------------------------------------------------------------------
// Whole messages against the default weights.

#[test]
fn realistic_ham_scores_below_zero_with_passing_authentication() {
    let mut hits = ham().hits();
    hits.extend(rules::auth_hits(&passing()));
    let verdict = Verdict::new(&hits, &Weights::default());
    assert!(verdict.score < 0.0, "{verdict:?}");
    // A newsletter-ish variant from a mailing service: still nothing big.
    let newsletter = ham()
        .mail_from("bounces+abc@esp.example")
        .set("Reply-To", "support@sender.example")
        .set("List-Unsubscribe", "<https://esp.example/u/abc>");
    let hits = newsletter.hits();
    let verdict = Verdict::new(&hits, &Weights::default());
    assert!(
        verdict.symbols.iter().all(|s| s.score <= 1.0),
        "{verdict:?}"
    );
    assert!(verdict.score <= 1.0, "{verdict:?}");
}

#[test]
fn phishing_scores_above_the_junk_bar() {
    let phish = Mail::ham()
        .set(
            "From",
            "\"security@bank.example\" <alert@secure-notify.example>",
        )
        .set("To", "undisclosed-recipients:;")
        .set("Subject", "URGENT: YOUR ACCOUNT WILL BE SUSPENDED")
        .set("Reply-To", "bank.security.team@gmail.com")
        .html(
            "<html><body><p>Dear customer,</p><p>We detected unusual activity. Verify your \
             account within 24 hours:</p><p><a href=\"http://192.0.2.66/bank/login.php\">\
             https://www.bank.example/verify</a></p></body></html>",
        )
        .mail_from("mailer@cheap-host.example")
        .helo("[192.0.2.66]");
    let mut hits = phish.hits();
    // Not aligned with anything, the PTR missing.
    hits.extend(rules::auth_hits(&AuthOutcome {
        spf_mail_from: SpfCheck {
            result: SpfResult::SoftFail,
            domain: "cheap-host.example".into(),
        },
        dkim: vec![],
        dmarc: Some(DmarcCheck {
            result: AuthResult::None,
            from_domain: "secure-notify.example".into(),
            policy: None,
            applied: None,
            spf_aligned: false,
            dkim_aligned: false,
        }),
        iprev: IprevCheck {
            result: AuthResult::PermError,
            name: None,
        },
        ..passing()
    }));
    let verdict = Verdict::new(&hits, &Weights::default());
    assert!(verdict.score > 12.0, "{verdict:?}");
    assert!(verdict.is_spam(80));
}

#[test]
fn every_weight_is_in_the_default_table() {
    let weights = Weights::default();
    for (name, w) in rules::WEIGHTS {
        assert_eq!(weights.weight(name), *w, "{name}");
    }
}

// ---------------------------------------------------------------------------------
// domains_in.

#[test]
fn domains_in_text_and_html_parts() {
    let message = ham()
        .html(
            "<a href=\"https://www.Shop.Example.co.uk/a\">shop</a>\
             <img src=\"https://cdn.shop.example.co.uk/x.png\">\
             <a href=\"http://192.0.2.1/\">ip</a>\
             <a href=\"mailto:x@mail.example\">mail</a>\
             <a href=\"https://bücher.example/\">books</a>\
             see also www.other.example/page and https://tracker.example/t?u=1",
        )
        .bytes();
    assert_eq!(
        rules::domains_in(&message, 10),
        vec![
            "example.co.uk",
            "xn--bcher-kva.example",
            "other.example",
            "tracker.example"
        ]
    );
    assert_eq!(
        rules::domains_in(&message, 2),
        vec!["example.co.uk", "xn--bcher-kva.example"]
    );
    assert_eq!(
        rules::domains_in(&ham().bytes(), 10),
        vec!["sender.example"]
    );
}

#[test]
fn domains_in_skips_attachments() {
    let message = ham()
        .attachment(
            "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"log.txt\"",
            b"https://in-attachment.example/",
        )
        .bytes();
    assert_eq!(rules::domains_in(&message, 10), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------
// Garbage.

#[test]
fn hostile_inputs_do_not_panic() {
    let deep: String = (0..200)
        .map(|i| format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"))
        .collect();
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"\r\n".to_vec(),
        b"From:\r\n\r\n".to_vec(),
        b"From: <@>\r\nTo: ,,,\r\nDate: \r\nMessage-ID: <>\r\nReply-To: @\r\n\r\n".to_vec(),
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<a href=\"".to_vec(),
        b"Content-Type: text/html\r\n\r\n<a href=\"http://[\">&#xD800;</a><a href=http://\xff\xfe/>".to_vec(),
        b"Subject: \xff\xfe\xfd\r\n\r\n\xff".to_vec(),
        deep.into_bytes(),
        vec![0u8; 10_000],
        vec![b'<'; 10_000],
        b"From: a@b.example\r\n".repeat(1000),
        // Large inputs: every scan must stay linear.
        Mail::ham()
            .text(&"http://x.example/ www.y.example ".repeat(50_000))
            .bytes(),
        Mail::ham()
            .text(&"https://a.example".repeat(100_000))
            .bytes(),
        Mail::ham()
            .html(&"<a href=\"http://a.example/\">www.b.example</a>".repeat(50_000))
            .bytes(),
        Mail::ham().html(&"<".repeat(1_000_000)).bytes(),
    ];
    for input in inputs {
        let _ = Mail::raw(&input).hits();
        let _ = rules::domains_in(&input, 20);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Mail::raw(&bytes).hits();
        let _ = rules::domains_in(&bytes, 20);
    }

    #[test]
    fn arbitrary_html_does_not_panic(html in "[<>a-z=\"' /&#;x0-9:.-]{0,400}") {
        let _ = Mail::ham().html(&html).hits();
    }
}
