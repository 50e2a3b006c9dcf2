//! [`AuthOutcome`]: the `Authentication-Results` field it writes and
//! [`AuthOutcome::any_temporary`]; and [`Verifier::verify`] on input that is not a
//! well-formed message (no panic, bounded lookups).

mod support;

use std::net::IpAddr;

use mailstead_dns::MockResolver;
use mailstead_mailauth::{
    ArcCheck, AuthOutcome, AuthResult, DkimCheck, DmarcCheck, DmarcPolicy, IprevCheck, SpfCheck,
    SpfResult, Verifier, VerifyInput,
};
use support::{CLIENT, Counting, HOSTNAME, Session, ip, verify, verify_with};

fn representative() -> AuthOutcome {
    AuthOutcome {
        spf_helo: SpfCheck {
            result: SpfResult::None,
            domain: "mail.sender.test".into(),
        },
        spf_mail_from: SpfCheck {
            result: SpfResult::Pass,
            domain: "sender.test".into(),
        },
        dkim: vec![
            DkimCheck {
                result: AuthResult::Pass,
                domain: "sender.test".into(),
                selector: "ed1".into(),
                algorithm: "ed25519-sha256".into(),
                header_b: "abcdEFGH".into(),
                reason: None,
            },
            DkimCheck {
                result: AuthResult::Fail,
                domain: "sender.test".into(),
                selector: "rsa1".into(),
                algorithm: "rsa-sha256".into(),
                header_b: "ab/c+d==".into(),
                reason: Some("body hash mismatch".into()),
            },
        ],
        arc: ArcCheck {
            result: AuthResult::Pass,
            sets: 2,
        },
        dmarc: Some(DmarcCheck {
            result: AuthResult::Pass,
            from_domain: "sender.test".into(),
            policy: Some(DmarcPolicy::Reject),
            applied: None,
            spf_aligned: true,
            dkim_aligned: true,
        }),
        iprev: IprevCheck {
            result: AuthResult::Pass,
            name: Some("mail.sender.test".into()),
        },
    }
}

#[test]
fn header_text_of_a_representative_outcome() {
    let header = representative().header(HOSTNAME, ip(CLIENT));
    assert_eq!(
        header,
        concat!(
            "Authentication-Results: mx.receiver.test;\r\n",
            "\tspf=pass smtp.mailfrom=sender.test;\r\n",
            "\tspf=none smtp.helo=mail.sender.test;\r\n",
            "\tdkim=pass header.d=sender.test header.s=ed1 header.a=ed25519-sha256\r\n",
            "\theader.b=abcdEFGH;\r\n",
            "\tdkim=fail reason=\"body hash mismatch\" header.d=sender.test header.s=rsa1\r\n",
            "\theader.a=rsa-sha256 header.b=\"ab/c+d==\";\r\n",
            "\tarc=pass smtp.remote-ip=192.0.2.1;\r\n",
            "\tdmarc=pass header.from=sender.test policy.dmarc=reject;\r\n",
            "\tiprev=pass policy.iprev=192.0.2.1 (mail.sender.test)\r\n",
        )
    );
    for line in header.split_inclusive("\r\n") {
        assert!(line.len() - 2 < 78, "{line:?}");
    }
}

#[test]
fn header_quotes_what_the_client_controls() {
    let mut outcome = representative();
    outcome.spf_helo.domain = "evil.test; dkim=pass\r\nX-Injected: yes".into();
    outcome.dmarc.as_mut().expect("dmarc").applied = Some(DmarcPolicy::Quarantine);
    outcome.iprev.name = Some("(a) b".into());
    let header = outcome.header(HOSTNAME, "2001:db8::1".parse().expect("v6"));
    assert!(
        header.contains("smtp.helo=\"evil.test; dkim=pass??x-injected: yes\";"),
        "{header}"
    );
    assert!(header.contains("reason=\"sampled out by pct\""), "{header}");
    assert!(
        header.contains("policy.iprev=\"2001:db8::1\" (\\(a\\)_b)"),
        "{header}"
    );
    assert_eq!(header.matches("\r\n").count(), header.lines().count());
    assert!(
        header
            .split("\r\n")
            .skip(1)
            .all(|line| line.is_empty() || line.starts_with('\t'))
    );
}

#[test]
fn any_temporary_sees_every_check() {
    let outcome = representative();
    assert!(!outcome.any_temporary());
    type Mutation = fn(&mut AuthOutcome);
    let mutations: Vec<(&str, Mutation)> = vec![
        ("spf helo", |o| o.spf_helo.result = SpfResult::TempError),
        ("spf mail from", |o| {
            o.spf_mail_from.result = SpfResult::TempError
        }),
        ("dkim", |o| o.dkim[1].result = AuthResult::TempError),
        ("arc", |o| o.arc.result = AuthResult::TempError),
        ("dmarc", |o| {
            o.dmarc.as_mut().expect("dmarc").result = AuthResult::TempError
        }),
        ("iprev", |o| o.iprev.result = AuthResult::TempError),
    ];
    for (what, mutate) in mutations {
        let mut outcome = representative();
        mutate(&mut outcome);
        assert!(outcome.any_temporary(), "{what}");
    }
    let mut permanent = representative();
    permanent.spf_helo.result = SpfResult::PermError;
    permanent.dkim[0].result = AuthResult::PermError;
    permanent.iprev.result = AuthResult::PermError;
    assert!(!permanent.any_temporary());
}

#[tokio::test]
async fn verify_produces_a_header_for_a_real_outcome() {
    let dns = MockResolver::new()
        .txt("sender.test", &["v=spf1 ip4:192.0.2.1 -all"])
        .txt("_dmarc.sender.test", &["v=DMARC1; p=reject"])
        .ptr(ip(CLIENT), &["mail.sender.test"])
        .ip("mail.sender.test", &[ip(CLIENT)]);
    let outcome = verify(
        dns,
        &Session {
            mail_from: "bounce@sender.test",
            message: b"From: alice@sender.test\r\nSubject: hi\r\n\r\nbody\r\n",
            ..Session::default()
        },
    )
    .await;
    assert_eq!(
        outcome.header(HOSTNAME, ip(CLIENT)),
        concat!(
            "Authentication-Results: mx.receiver.test;\r\n",
            "\tspf=pass smtp.mailfrom=sender.test;\r\n",
            "\tspf=none smtp.helo=mail.sender.test;\r\n",
            "\tdkim=none;\r\n",
            "\tarc=none;\r\n",
            "\tdmarc=pass header.from=sender.test policy.dmarc=reject;\r\n",
            "\tiprev=pass policy.iprev=192.0.2.1 (mail.sender.test)\r\n",
        )
    );
}

/// Runs `message` through every check over an empty table (every name NXDOMAIN) and
/// returns the outcome and the number of lookups.
async fn survive(message: &[u8]) -> (AuthOutcome, usize) {
    let dns = Counting::new(MockResolver::new());
    let outcome = verify_with(
        dns.clone(),
        &Session {
            mail_from: "bounce@sender.test",
            message,
            ..Session::default()
        },
    )
    .await;
    (outcome, dns.lookups())
}

#[tokio::test]
async fn malformed_messages_do_not_panic() {
    let all_bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let huge_header: Vec<u8> = {
        let mut m = Vec::new();
        for i in 0..50_000 {
            m.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "v".repeat(20)).as_bytes());
        }
        m.extend_from_slice(b"From: a@sender.test\r\n\r\nbody\r\n");
        m
    };
    let long_line: Vec<u8> = [
        b"Subject: ".as_slice(),
        &vec![b'x'; 2_000_000],
        b"\r\nFrom: a@sender.test\r\n\r\nbody",
    ]
    .concat();
    let deep_folding: Vec<u8> = [
        b"From: a@sender.test\r\nDKIM-Signature: v=1;".as_slice(),
        &b"\r\n a=".repeat(100_000),
        b"\r\n\r\nbody",
    ]
    .concat();
    let many_bad_signatures: Vec<u8> = [
        b"DKIM-Signature: v=1; d=x.test; s=s; b=; bh=;\r\n".repeat(2_000),
        b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.test; s=s; b=\r\n".repeat(100),
        b"From: a@sender.test\r\n\r\n".to_vec(),
    ]
    .concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("only a line break", b"\r\n".to_vec()),
        (
            "no header, only a body",
            b"\r\nbody without header\r\n".to_vec(),
        ),
        (
            "no body separator",
            b"From: a@sender.test\r\nSubject: s".to_vec(),
        ),
        ("garbage bytes", all_bytes),
        ("NULs", vec![0; 1000]),
        (
            "a colon-less first line",
            b"not a header\r\n\r\nbody".to_vec(),
        ),
        (
            "bare LF",
            b"From: a@sender.test\nDKIM-Signature: v=1\n\nbody\n".to_vec(),
        ),
        ("huge header", huge_header),
        ("a 2 MB header line", long_line),
        ("deep folding", deep_folding),
        ("many unparsable signatures and seals", many_bad_signatures),
        (
            "From with odd addresses",
            b"From: <@>, \"x\" <a@>, b@\xff\xfe.test, =?utf-8?q?=00?= <c@d>\r\n\r\n".to_vec(),
        ),
    ];
    for (what, message) in cases {
        let (outcome, lookups) = survive(&message).await;
        // SPF of HELO and MAIL FROM, iprev, and at most a DMARC tree walk.
        assert!(lookups <= 12, "{what}: {lookups} lookups");
        let header = outcome.header(HOSTNAME, ip(CLIENT));
        assert!(header.ends_with("\r\n"), "{what}");
    }
}

#[tokio::test]
async fn lookups_per_message_are_bounded() {
    // 2000 signatures of distinct domains: only the first 20 keys are looked up.
    let mut message = Vec::new();
    for i in 0..2000 {
        message.extend_from_slice(
            format!(
                "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=d{i}.test; s=s; h=from;\r\n \
                 bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=Zm9vYmFyYmF6\r\n"
            )
            .as_bytes(),
        );
    }
    message.extend_from_slice(b"From: a@sender.test\r\n\r\n");
    let (outcome, lookups) = survive(&message).await;
    assert_eq!(outcome.dkim.len(), 2000);
    assert!(lookups <= 40, "{lookups}");
}

#[tokio::test]
async fn a_huge_spf_record_tree_is_cut_by_the_lookup_limit() {
    // Every include leads to a record of nine more includes: RFC 7208's limit of 10
    // lookups ends it with permerror, after about ten lookups, not hundreds.
    let mut dns = MockResolver::new().txt(
        "sender.test",
        &["v=spf1 include:i0.test include:i1.test include:i2.test -all"],
    );
    for i in 0..50 {
        let record = format!(
            "v=spf1 {} -all",
            (0..9)
                .map(|j| format!("include:i{}.test", (i * 9 + j + 1) % 50))
                .collect::<Vec<_>>()
                .join(" ")
        );
        dns = dns.txt(&format!("i{i}.test"), &[&record]);
    }
    let counting = Counting::new(dns);
    let outcome = verify_with(
        counting.clone(),
        &Session {
            mail_from: "bounce@sender.test",
            message: b"",
            ..Session::default()
        },
    )
    .await;
    assert_eq!(outcome.spf_mail_from.result, SpfResult::PermError);
    assert!(counting.lookups() <= 15, "{}", counting.lookups());
}

#[test]
fn verify_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let verifier = Verifier::new(std::sync::Arc::new(MockResolver::new()));
    let input = VerifyInput {
        message: b"",
        remote_ip: IpAddr::from([192, 0, 2, 1]),
        helo: "h.test",
        mail_from: "",
        hostname: HOSTNAME,
    };
    assert_send(&verifier.verify(&input));
}
