//! [`Verifier::verify`] through the production resolver (`HickoryResolver`) against a real
//! DNS server, unbound on loopback (`mailstead_dns::testing::Unbound`): the answers of a
//! real server, negative ones included, reach mail-auth through the `Resolver` trait.
//!
//! unbound must be installed (`scripts/test.sh` installs it); without it this test fails.

mod support;

use std::sync::Arc;

use mailstead_dns::HickoryResolver;
use mailstead_dns::testing::Unbound;
use mailstead_mailauth::{AuthResult, DmarcPolicy, SpfResult};
use support::{CLIENT, Session, ed25519_key, ip, key_record, signed, verify_with};

#[tokio::test]
async fn every_check_passes_over_real_dns() {
    let key = key_record(ed25519_key());
    let records = [
        r#"sender.test. TXT "v=spf1 exists:%{i}.allow.sender.test a:gone.sender.test mx -all""#
            .to_owned(),
        "sender.test. MX 10 mx.sender.test.".to_owned(),
        "mx.sender.test. A 198.51.100.1".to_owned(),
        "mail.sender.test. A 192.0.2.1".to_owned(),
        r#"mail.sender.test. TXT "v=spf1 a -all""#.to_owned(),
        // exists: only the client's address is listed, the name of another is NXDOMAIN.
        "192.0.2.1.allow.sender.test. A 127.0.0.2".to_owned(),
        format!(r#"ed1._domainkey.sender.test. TXT "{key}""#),
        r#"_dmarc.sender.test. TXT "v=DMARC1; p=reject; aspf=s""#.to_owned(),
        "1.2.0.192.in-addr.arpa. PTR mail.sender.test.".to_owned(),
    ];
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    let server = Unbound::start(&records).unwrap_or_else(|err| {
        panic!("cannot start unbound (install the `unbound` package): {err}")
    });
    let dns = Arc::new(HickoryResolver::new(&server.dns_config()).expect("resolver"));

    let message = signed(
        "From: alice@sender.test\r\nTo: bob@receiver.test\r\nSubject: hi\r\n\r\nbody\r\n",
        &[("sender.test", "ed1", ed25519_key())],
    );
    let outcome = verify_with(
        dns.clone(),
        &Session {
            helo: "mail.sender.test",
            mail_from: "bounce@sender.test",
            message: &message,
            remote_ip: ip(CLIENT),
        },
    )
    .await;
    assert_eq!(
        outcome.spf_mail_from.result,
        SpfResult::Pass,
        "{}",
        server.log()
    );
    assert_eq!(outcome.spf_helo.result, SpfResult::Pass);
    assert_eq!(outcome.dkim.len(), 1);
    assert_eq!(
        outcome.dkim[0].result,
        AuthResult::Pass,
        "{:?}",
        outcome.dkim
    );
    let dmarc = outcome.dmarc.as_ref().expect("dmarc");
    assert_eq!(dmarc.result, AuthResult::Pass);
    assert_eq!(dmarc.policy, Some(DmarcPolicy::Reject));
    assert!(dmarc.spf_aligned && dmarc.dkim_aligned);
    assert_eq!(outcome.iprev.result, AuthResult::Pass);
    assert_eq!(outcome.iprev.name.as_deref(), Some("mail.sender.test"));
    assert!(!outcome.any_temporary());

    // Another client: exists: and a: find nothing (NXDOMAIN), mx has another address.
    let outcome = verify_with(
        dns,
        &Session {
            helo: "mail.sender.test",
            mail_from: "bounce@sender.test",
            message: &message,
            remote_ip: ip("192.0.2.99"),
        },
    )
    .await;
    assert_eq!(outcome.spf_mail_from.result, SpfResult::Fail);
    assert_eq!(outcome.iprev.result, AuthResult::PermError);
    let dmarc = outcome.dmarc.expect("dmarc");
    assert_eq!(dmarc.result, AuthResult::Pass, "DKIM still aligns");
    assert!(!dmarc.spf_aligned);
}
