//! DKIM verification (RFC 6376 §6) through [`Verifier::verify`] over a mock resolver, of
//! messages signed by this crate's own `Signer` (RSA and Ed25519), the key records its
//! `dns_record` makes published as TXT.

mod support;

use mailstead_dns::MockResolver;
use mailstead_mailauth::{AuthResult, DkimCheck, MAX_DKIM_SIGNATURES};
use support::{
    Counting, Session, ed25519_key, key_record, other_ed25519_key, rsa_key, signed, verify,
    verify_with,
};

const MESSAGE: &str = concat!(
    "From: Alice <alice@sender.test>\r\n",
    "To: bob@receiver.test\r\n",
    "Subject: Quarterly report\r\n",
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n",
    "Message-ID: <1@sender.test>\r\n",
    "\r\n",
    "Hello Bob,\r\n",
    "the numbers are in.\r\n",
);

/// The DKIM checks of `message` over `dns`.
async fn dkim(dns: MockResolver, message: &[u8]) -> Vec<DkimCheck> {
    verify(
        dns,
        &Session {
            message,
            ..Session::default()
        },
    )
    .await
    .dkim
}

fn results(checks: &[DkimCheck]) -> Vec<(AuthResult, Option<&str>)> {
    checks
        .iter()
        .map(|check| (check.result, check.reason.as_deref()))
        .collect()
}

#[tokio::test]
async fn rsa_signature_passes() {
    let message = signed(MESSAGE, &[("sender.test", "rsa1", rsa_key())]);
    let dns = MockResolver::new().txt("rsa1._domainkey.sender.test", &[&key_record(rsa_key())]);
    let checks = dkim(dns, &message).await;
    assert_eq!(checks.len(), 1);
    let check = &checks[0];
    assert_eq!(check.result, AuthResult::Pass, "{check:?}");
    assert_eq!(check.domain, "sender.test");
    assert_eq!(check.selector, "rsa1");
    assert_eq!(check.algorithm, "rsa-sha256");
    assert_eq!(check.reason, None);
    // header.b: the first 8 characters of b= (RFC 6008).
    let text = String::from_utf8_lossy(&message);
    let b = text.split("b=").last().expect("b= tag");
    let b: String = b.chars().filter(|c| !c.is_whitespace()).take(8).collect();
    assert_eq!(check.header_b, b);
}

#[tokio::test]
async fn ed25519_signature_passes() {
    let message = signed(MESSAGE, &[("sender.test", "ed1", ed25519_key())]);
    let dns = MockResolver::new().txt("ed1._domainkey.sender.test", &[&key_record(ed25519_key())]);
    let checks = dkim(dns, &message).await;
    assert_eq!(results(&checks), [(AuthResult::Pass, None)]);
    assert_eq!(checks[0].algorithm, "ed25519-sha256");
}

#[tokio::test]
async fn failures_table() {
    let signed_message = signed(MESSAGE, &[("sender.test", "ed1", ed25519_key())]);
    let text = String::from_utf8(signed_message.clone()).expect("ascii");
    let published =
        MockResolver::new().txt("ed1._domainkey.sender.test", &[&key_record(ed25519_key())]);
    let cases: Vec<(&str, Vec<u8>, MockResolver, AuthResult, &str)> = vec![
        (
            "tampered header",
            text.replace(
                "Subject: Quarterly report",
                "Subject: Quarterly report (fake)",
            )
            .into_bytes(),
            published.clone(),
            AuthResult::Fail,
            "signature mismatch",
        ),
        (
            "tampered body",
            text.replace("numbers are in", "numbers are out")
                .into_bytes(),
            published.clone(),
            AuthResult::Fail,
            "body hash mismatch",
        ),
        (
            // RFC 6376 §6.1.2: no key record is PERMFAIL.
            "no key: NXDOMAIN",
            signed_message.clone(),
            MockResolver::new(),
            AuthResult::PermError,
            "no key record",
        ),
        (
            "no key: NODATA",
            signed_message.clone(),
            MockResolver::new().ip(
                "ed1._domainkey.sender.test",
                &["192.0.2.1".parse().unwrap()],
            ),
            AuthResult::PermError,
            "no key record",
        ),
        (
            "key record not DKIM",
            signed_message.clone(),
            MockResolver::new().txt("ed1._domainkey.sender.test", &["v=spf1 -all"]),
            AuthResult::PermError,
            "key record invalid",
        ),
        (
            "revoked key (empty p=)",
            signed_message.clone(),
            MockResolver::new().txt("ed1._domainkey.sender.test", &["v=DKIM1; k=ed25519; p="]),
            AuthResult::PermError,
            "key revoked",
        ),
        (
            "another key published",
            signed_message.clone(),
            MockResolver::new().txt(
                "ed1._domainkey.sender.test",
                &[&key_record(other_ed25519_key())],
            ),
            AuthResult::Fail,
            "signature mismatch",
        ),
        (
            "key lookup fails temporarily",
            signed_message.clone(),
            MockResolver::new().temporary_failure("ed1._domainkey.sender.test"),
            AuthResult::TempError,
            "key lookup failed temporarily",
        ),
    ];
    for (what, message, dns, result, reason) in cases {
        let checks = dkim(dns, &message).await;
        assert_eq!(results(&checks), [(result, Some(reason))], "{what}");
        assert_eq!(checks[0].domain, "sender.test", "{what}");
    }
}

#[tokio::test]
async fn every_signature_is_checked_in_field_order() {
    // The Ed25519 record publishes another key: the first field fails, the second passes.
    let message = signed(
        MESSAGE,
        &[
            ("sender.test", "ed1", ed25519_key()),
            ("sender.test", "rsa1", rsa_key()),
        ],
    );
    let dns = MockResolver::new()
        .txt("rsa1._domainkey.sender.test", &[&key_record(rsa_key())])
        .txt(
            "ed1._domainkey.sender.test",
            &[&key_record(other_ed25519_key())],
        );
    let checks = dkim(dns, &message).await;
    assert_eq!(
        results(&checks),
        [
            (AuthResult::Fail, Some("signature mismatch")),
            (AuthResult::Pass, None)
        ]
    );
    assert_eq!(checks[0].selector, "ed1");
    assert_eq!(checks[1].selector, "rsa1");
}

#[tokio::test]
async fn unparsable_signatures_are_neutral_in_field_order() {
    let good = signed(MESSAGE, &[("sender.test", "ed1", ed25519_key())]);
    let message = [
        b"DKIM-Signature: v=1; a=rsa-sha512; d=bad.test; s=x; h=from; bh=abc=; b=Zm9vYmFyYmF6\r\n"
            .as_slice(),
        &good,
    ]
    .concat();
    let dns = MockResolver::new().txt("ed1._domainkey.sender.test", &[&key_record(ed25519_key())]);
    let checks = dkim(dns, &message).await;
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert_eq!(checks[0].result, AuthResult::Neutral);
    assert_eq!(checks[0].domain, "bad.test");
    assert_eq!(checks[0].header_b, "Zm9vYmFy");
    assert!(
        checks[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("unusable signature")),
        "{checks:?}"
    );
    assert_eq!(checks[1].result, AuthResult::Pass);
}

#[tokio::test]
async fn a_signature_with_l_is_not_accepted() {
    let message = concat!(
        "DKIM-Signature: v=1; a=rsa-sha256; d=sender.test; s=x; c=relaxed/relaxed;\r\n",
        " h=from; l=5; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=Zm9vYmFyYmF6\r\n",
    );
    let message = [message.as_bytes(), MESSAGE.as_bytes()].concat();
    let checks = dkim(MockResolver::new(), &message).await;
    assert_eq!(
        results(&checks),
        [(
            AuthResult::Neutral,
            Some("unusable signature: l= is not accepted")
        )]
    );
}

#[tokio::test]
async fn an_unsigned_message_has_no_dkim_results() {
    assert!(
        dkim(MockResolver::new(), MESSAGE.as_bytes())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn signatures_over_the_limit_are_not_verified() {
    let one = signed(MESSAGE, &[("sender.test", "ed1", ed25519_key())]);
    let field_end = one
        .windows(2)
        .enumerate()
        .filter(|(_, w)| *w == b"\r\n")
        .map(|(i, _)| i + 2)
        .find(|&i| one.get(i) != Some(&b' ') && one.get(i) != Some(&b'\t'))
        .expect("end of the signature field");
    let field = &one[..field_end];
    let mut message = Vec::new();
    for _ in 0..MAX_DKIM_SIGNATURES + 5 {
        message.extend_from_slice(field);
    }
    message.extend_from_slice(MESSAGE.as_bytes());
    let dns = Counting::new(
        MockResolver::new().txt("ed1._domainkey.sender.test", &[&key_record(ed25519_key())]),
    );
    let outcome = verify_with(
        dns.clone(),
        &Session {
            message: &message,
            ..Session::default()
        },
    )
    .await;
    assert_eq!(outcome.dkim.len(), MAX_DKIM_SIGNATURES + 5);
    assert!(
        outcome.dkim[..MAX_DKIM_SIGNATURES]
            .iter()
            .all(|check| check.result == AuthResult::Pass)
    );
    assert!(outcome.dkim[MAX_DKIM_SIGNATURES..].iter().all(|check| {
        check.result == AuthResult::Neutral
            && check
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("not verified"))
    }));
    // The key record once (SPF HELO TXT, iprev PTR, DMARC tree walk: a few more).
    assert!(dns.lookups() < 10, "{}", dns.lookups());
}
