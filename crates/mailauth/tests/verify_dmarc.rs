//! DMARC (RFC 7489) through [`Verifier::verify`] over a mock resolver: alignment (relaxed
//! and strict, SPF and DKIM), the policy asked for (`p=`, `sp=`), `pct=` sampling, and
//! the organizational domain as mail-auth finds it (the DMARCbis tree walk).

mod support;

use mailstead_dns::MockResolver;
use mailstead_mailauth::{AuthResult, DmarcCheck, DmarcPolicy};
use support::{CLIENT, Session, ed25519_key, ip, key_record, signed, verify};

const SPF_PASS: &str = "v=spf1 ip4:192.0.2.1 -all";

/// One message: its From domain, MAIL FROM domain and DKIM signing domain (if signed).
struct Mail<'a> {
    from: &'a str,
    mail_from: &'a str,
    dkim: Option<&'a str>,
}

/// DMARC of `mail` with `dns` plus: SPF passing for the MAIL FROM domain and the key
/// record of the signing domain.
async fn dmarc(dns: MockResolver, mail: Mail<'_>) -> Option<DmarcCheck> {
    let text = format!(
        "From: Alice <alice@{}>\r\nTo: bob@receiver.test\r\nSubject: hi\r\n\r\nbody\r\n",
        mail.from
    );
    let mut dns = dns.txt(mail.mail_from, &[SPF_PASS]);
    let message = match mail.dkim {
        Some(domain) => {
            dns = dns.txt(
                &format!("ed1._domainkey.{domain}"),
                &[&key_record(ed25519_key())],
            );
            signed(&text, &[(domain, "ed1", ed25519_key())])
        }
        None => text.into_bytes(),
    };
    let mail_from = format!("bounce@{}", mail.mail_from);
    let outcome = verify(
        dns,
        &Session {
            mail_from: &mail_from,
            message: &message,
            ..Session::default()
        },
    )
    .await;
    outcome.dmarc
}

fn record(domain: &str, record: &str) -> MockResolver {
    MockResolver::new().txt(&format!("_dmarc.{domain}"), &[record])
}

/// Expected: result, policy, applied, spf_aligned, dkim_aligned.
type Expected = (
    AuthResult,
    Option<DmarcPolicy>,
    Option<DmarcPolicy>,
    bool,
    bool,
);

fn summary(check: &DmarcCheck) -> Expected {
    (
        check.result,
        check.policy,
        check.applied,
        check.spf_aligned,
        check.dkim_aligned,
    )
}

#[tokio::test]
async fn alignment_and_policy_table() {
    use AuthResult::{Fail, None as NoResult, Pass, TempError};
    use DmarcPolicy::{None as PNone, Quarantine, Reject};
    let cases: Vec<(&str, MockResolver, Mail<'_>, &str, Expected)> = vec![
        (
            "relaxed: SPF of a subdomain aligns",
            record("example.org", "v=DMARC1; p=reject"),
            Mail {
                from: "example.org",
                mail_from: "mail.example.org",
                dkim: None,
            },
            "example.org",
            (Pass, Some(Reject), None, true, false),
        ),
        (
            "strict: SPF of a subdomain does not align",
            record("example.org", "v=DMARC1; p=reject; aspf=s"),
            Mail {
                from: "example.org",
                mail_from: "mail.example.org",
                dkim: None,
            },
            "example.org",
            (Fail, Some(Reject), Some(Reject), false, false),
        ),
        (
            "SPF-only alignment",
            record("example.org", "v=DMARC1; p=reject"),
            Mail {
                from: "example.org",
                mail_from: "example.org",
                dkim: Some("other.test"),
            },
            "example.org",
            (Pass, Some(Reject), None, true, false),
        ),
        (
            "DKIM-only alignment",
            record("example.org", "v=DMARC1; p=reject"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: Some("example.org"),
            },
            "example.org",
            (Pass, Some(Reject), None, false, true),
        ),
        (
            "relaxed: DKIM of a subdomain aligns",
            record("example.org", "v=DMARC1; p=reject"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: Some("mail.example.org"),
            },
            "example.org",
            (Pass, Some(Reject), None, false, true),
        ),
        (
            "strict: DKIM of a subdomain does not align",
            record("example.org", "v=DMARC1; p=quarantine; adkim=s"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: Some("mail.example.org"),
            },
            "example.org",
            (Fail, Some(Quarantine), Some(Quarantine), false, false),
        ),
        (
            "no record: none",
            MockResolver::new(),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (NoResult, None, None, false, false),
        ),
        (
            "p=quarantine, nothing aligned",
            record("example.org", "v=DMARC1; p=quarantine"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: Some("other.test"),
            },
            "example.org",
            (Fail, Some(Quarantine), Some(Quarantine), false, false),
        ),
        (
            "p=none, nothing aligned",
            record("example.org", "v=DMARC1; p=none; rua=mailto:d@example.org"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (Fail, Some(PNone), Some(PNone), false, false),
        ),
        (
            "sp= applies to a subdomain of the organizational domain",
            record("example.org", "v=DMARC1; p=reject; sp=quarantine"),
            Mail {
                from: "news.example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "news.example.org",
            (Fail, Some(Quarantine), Some(Quarantine), false, false),
        ),
        (
            "without sp=, p= applies to subdomains",
            record("example.org", "v=DMARC1; p=reject"),
            Mail {
                from: "news.example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "news.example.org",
            (Fail, Some(Reject), Some(Reject), false, false),
        ),
        (
            "sp= does not apply to the organizational domain itself",
            record("example.org", "v=DMARC1; p=reject; sp=none"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (Fail, Some(Reject), Some(Reject), false, false),
        ),
        (
            "the subdomain's own record wins",
            record("example.org", "v=DMARC1; p=reject")
                .txt("_dmarc.news.example.org", &["v=DMARC1; p=none"]),
            Mail {
                from: "news.example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "news.example.org",
            (Fail, Some(PNone), Some(PNone), false, false),
        ),
        (
            "organizational domain found by the tree walk, several levels up",
            record("example.org", "v=DMARC1; p=reject; sp=quarantine"),
            Mail {
                from: "a.b.example.org",
                mail_from: "mail.example.org",
                dkim: None,
            },
            "a.b.example.org",
            (Pass, Some(Quarantine), None, true, false),
        ),
        (
            "pct=0: reject sampled out is quarantine",
            record("example.org", "v=DMARC1; p=reject; pct=0"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (Fail, Some(Reject), Some(Quarantine), false, false),
        ),
        (
            "pct=0: quarantine sampled out is none",
            record("example.org", "v=DMARC1; p=quarantine; pct=0"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (Fail, Some(Quarantine), Some(PNone), false, false),
        ),
        (
            "pct=0 on the organizational record applies to its subdomains",
            record("example.org", "v=DMARC1; p=reject; sp=reject; pct=0"),
            Mail {
                from: "news.example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "news.example.org",
            (Fail, Some(Reject), Some(Quarantine), false, false),
        ),
        (
            "pct=100 applies to every message",
            record("example.org", "v=DMARC1; p=reject; pct=100"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (Fail, Some(Reject), Some(Reject), false, false),
        ),
        (
            "pct does not matter for a pass",
            record("example.org", "v=DMARC1; p=reject; pct=0"),
            Mail {
                from: "example.org",
                mail_from: "example.org",
                dkim: None,
            },
            "example.org",
            (Pass, Some(Reject), None, true, false),
        ),
        (
            "temperror: the record lookup failed",
            MockResolver::new().temporary_failure("_dmarc.example.org"),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (TempError, None, None, false, false),
        ),
        (
            "two DMARC records: no policy",
            MockResolver::new().txt(
                "_dmarc.example.org",
                &["v=DMARC1; p=reject", "v=DMARC1; p=none"],
            ),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (NoResult, None, None, false, false),
        ),
        (
            "a TXT record that is not DMARC is ignored",
            MockResolver::new().txt(
                "_dmarc.example.org",
                &["site-verification=1", "v=DMARC1; p=reject"],
            ),
            Mail {
                from: "example.org",
                mail_from: "bounces.other.test",
                dkim: None,
            },
            "example.org",
            (Fail, Some(Reject), Some(Reject), false, false),
        ),
    ];
    for (what, dns, mail, from_domain, expected) in cases {
        let check = dmarc(dns, mail)
            .await
            .unwrap_or_else(|| panic!("{what}: no dmarc"));
        assert_eq!(check.from_domain, from_domain, "{what}");
        assert_eq!(summary(&check), expected, "{what}");
    }
}

#[tokio::test]
async fn spf_temperror_on_an_aligned_domain_is_dmarc_temperror() {
    let dns = record("example.org", "v=DMARC1; p=reject").temporary_failure("example.org");
    let message = b"From: alice@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
    let outcome = verify(
        dns,
        &Session {
            mail_from: "bounce@example.org",
            message,
            ..Session::default()
        },
    )
    .await;
    assert_eq!(
        outcome.spf_mail_from.result,
        mailstead_mailauth::SpfResult::TempError
    );
    assert!(outcome.any_temporary());
    let dmarc = outcome.dmarc.expect("dmarc");
    assert_eq!(dmarc.result, AuthResult::TempError);
    assert_eq!(dmarc.applied, None);
}

#[tokio::test]
async fn null_reverse_path_aligns_with_the_helo_domain() {
    let dns = record("example.org", "v=DMARC1; p=reject").txt("mail.example.org", &[SPF_PASS]);
    let outcome = verify(
        dns,
        &Session {
            helo: "mail.example.org",
            mail_from: "",
            message: b"From: alice@example.org\r\n\r\nbody\r\n",
            remote_ip: ip(CLIENT),
        },
    )
    .await;
    let dmarc = outcome.dmarc.expect("dmarc");
    assert_eq!(dmarc.result, AuthResult::Pass);
    assert!(dmarc.spf_aligned);
}

#[tokio::test]
async fn no_single_author_domain_means_no_dmarc() {
    let dns = record("example.org", "v=DMARC1; p=reject");
    for message in [
        b"From: a@example.org, b@other.test\r\n\r\nbody\r\n".as_slice(),
        b"Subject: no from\r\n\r\nbody\r\n",
        b"From: undisclosed\r\n\r\nbody\r\n",
    ] {
        let outcome = verify(
            dns.clone(),
            &Session {
                mail_from: "bounce@example.org",
                message,
                ..Session::default()
            },
        )
        .await;
        assert_eq!(outcome.dmarc, None, "{}", String::from_utf8_lossy(message));
    }
}

#[tokio::test]
async fn two_from_addresses_of_one_domain_are_evaluated() {
    let dns = record("example.org", "v=DMARC1; p=reject");
    let outcome = verify(
        dns,
        &Session {
            mail_from: "bounce@other.test",
            message: b"From: a@example.org, b@EXAMPLE.org\r\n\r\nbody\r\n",
            ..Session::default()
        },
    )
    .await;
    let dmarc = outcome.dmarc.expect("dmarc");
    assert_eq!(dmarc.from_domain, "example.org");
    assert_eq!(dmarc.result, AuthResult::Fail);
}
