//! SPF (RFC 7208) through [`Verifier::verify`] over a mock resolver: every result, for
//! MAIL FROM and HELO, and every mechanism that looks something up, with positive,
//! negative and temporarily failing answers.

mod support;

use mailstead_dns::MockResolver;
use mailstead_dns::name::reverse_name;
use mailstead_mailauth::{SpfCheck, SpfResult};
use support::{CLIENT, Counting, Session, ip, verify, verify_with};

/// The MAIL FROM check of `bounce@sender.test` from `client` with `records`.
async fn mail_from(dns: MockResolver, client: &str) -> SpfResult {
    let outcome = verify(
        dns,
        &Session {
            remote_ip: ip(client),
            mail_from: "bounce@sender.test",
            ..Session::default()
        },
    )
    .await;
    assert_eq!(outcome.spf_mail_from.domain, "sender.test");
    outcome.spf_mail_from.result
}

/// `sender.test` publishing `record`, plus `extra` entries.
fn publishing(record: &str, extra: impl FnOnce(MockResolver) -> MockResolver) -> MockResolver {
    extra(MockResolver::new().txt("sender.test", &[record]))
}

#[tokio::test]
async fn mail_from_results_table() {
    use SpfResult::*;
    let v4 = CLIENT;
    let v6 = "2001:db8::1";
    let same = |dns: MockResolver| dns;
    let cases: Vec<(&str, MockResolver, &str, SpfResult)> = vec![
        // ip4 / ip6 and the all qualifiers.
        (
            "ip4 pass",
            publishing("v=spf1 ip4:192.0.2.0/24 -all", same),
            v4,
            Pass,
        ),
        (
            "ip4 fail",
            publishing("v=spf1 ip4:198.51.100.1 -all", same),
            v4,
            Fail,
        ),
        (
            "softfail",
            publishing("v=spf1 ip4:198.51.100.1 ~all", same),
            v4,
            SoftFail,
        ),
        (
            "neutral",
            publishing("v=spf1 ip4:198.51.100.1 ?all", same),
            v4,
            Neutral,
        ),
        (
            "no match, no all",
            publishing("v=spf1 ip4:198.51.100.1", same),
            v4,
            Neutral,
        ),
        (
            "ip6 pass",
            publishing("v=spf1 ip6:2001:db8::/32 -all", same),
            v6,
            Pass,
        ),
        (
            "ip6 fail",
            publishing("v=spf1 ip6:2001:db8:1::/48 -all", same),
            v6,
            Fail,
        ),
        (
            "ip4 does not match an ipv6 client",
            publishing("v=spf1 ip4:0.0.0.0/0 -all", same),
            v6,
            Fail,
        ),
        // none: no record.
        (
            "none: only other TXT records",
            MockResolver::new().txt("sender.test", &["site-verification=abc"]),
            v4,
            None,
        ),
        (
            "none: NODATA",
            MockResolver::new().ip("sender.test", &[ip("192.0.2.9")]),
            v4,
            None,
        ),
        ("none: NXDOMAIN", MockResolver::new(), v4, None),
        // temperror.
        (
            "temperror: TXT lookup",
            MockResolver::new().temporary_failure("sender.test"),
            v4,
            TempError,
        ),
        (
            "temperror: a mechanism's lookup",
            publishing("v=spf1 a:flaky.test -all", |d| {
                d.temporary_failure("flaky.test")
            }),
            v4,
            TempError,
        ),
        (
            "temperror: include's lookup",
            publishing("v=spf1 include:flaky.test -all", |d| {
                d.temporary_failure("flaky.test")
            }),
            v4,
            TempError,
        ),
        // permerror.
        (
            "permerror: syntax",
            publishing("v=spf1 ip4:192.0.2 -all", same),
            v4,
            PermError,
        ),
        (
            "permerror: unknown mechanism",
            publishing("v=spf1 foo:bar -all", same),
            v4,
            PermError,
        ),
        (
            "permerror: two SPF records (RFC 7208 §4.5)",
            MockResolver::new().txt("sender.test", &["v=spf1 -all", "v=spf1 +all"]),
            v4,
            PermError,
        ),
        (
            "permerror: include without a record",
            publishing("v=spf1 include:nothing.test -all", same),
            v4,
            PermError,
        ),
        (
            "permerror: redirect without a record",
            publishing("v=spf1 redirect=nothing.test", same),
            v4,
            PermError,
        ),
        // include / redirect.
        (
            "include pass",
            publishing("v=spf1 include:_spf.provider.test -all", |d| {
                d.txt("_spf.provider.test", &["v=spf1 ip4:192.0.2.1 -all"])
            }),
            v4,
            Pass,
        ),
        (
            "include without match falls through to -all",
            publishing("v=spf1 include:_spf.provider.test -all", |d| {
                d.txt("_spf.provider.test", &["v=spf1 ip4:198.51.100.1 -all"])
            }),
            v4,
            Fail,
        ),
        (
            "redirect pass",
            publishing("v=spf1 redirect=_spf.other.test", |d| {
                d.txt("_spf.other.test", &["v=spf1 ip4:192.0.2.0/28 -all"])
            }),
            v4,
            Pass,
        ),
        (
            "redirect softfail",
            publishing("v=spf1 redirect=_spf.other.test", |d| {
                d.txt("_spf.other.test", &["v=spf1 ~all"])
            }),
            v4,
            SoftFail,
        ),
        // a.
        (
            "a pass",
            publishing("v=spf1 a -all", |d| d.ip("sender.test", &[ip("192.0.2.1")])),
            v4,
            Pass,
        ),
        (
            "a:other with a cidr",
            publishing("v=spf1 a:hosts.test/24 -all", |d| {
                d.ip("hosts.test", &[ip("192.0.2.200")])
            }),
            v4,
            Pass,
        ),
        (
            "a ipv6",
            publishing("v=spf1 a -all", |d| {
                d.ip("sender.test", &[ip("2001:db8::1")])
            }),
            v6,
            Pass,
        ),
        (
            "a: other address",
            publishing("v=spf1 a -all", |d| {
                d.ip("sender.test", &[ip("198.51.100.1")])
            }),
            v4,
            Fail,
        ),
        (
            "a: NODATA is no match",
            publishing("v=spf1 a -all", same),
            v4,
            Fail,
        ),
        (
            "a: NXDOMAIN is no match",
            publishing("v=spf1 a:gone.test -all", same),
            v4,
            Fail,
        ),
        (
            "a: only AAAA for an ipv4 client is no match",
            publishing("v=spf1 a:v6only.test -all", |d| {
                d.ip("v6only.test", &[ip("2001:db8::1")])
            }),
            v4,
            Fail,
        ),
        // mx.
        (
            "mx pass",
            publishing("v=spf1 mx -all", |d| {
                d.mx(
                    "sender.test",
                    &[(10, "mx1.sender.test"), (20, "mx2.sender.test")],
                )
                .ip("mx1.sender.test", &[ip("198.51.100.1")])
                .ip("mx2.sender.test", &[ip("192.0.2.1")])
            }),
            v4,
            Pass,
        ),
        (
            "mx: no exchange has the address",
            publishing("v=spf1 mx -all", |d| {
                d.mx("sender.test", &[(10, "mx1.sender.test")])
                    .ip("mx1.sender.test", &[ip("198.51.100.1")])
            }),
            v4,
            Fail,
        ),
        (
            "mx: exchange NXDOMAIN",
            publishing("v=spf1 mx -all", |d| {
                d.mx("sender.test", &[(10, "gone.test")])
            }),
            v4,
            Fail,
        ),
        ("mx: no MX", publishing("v=spf1 mx -all", same), v4, Fail),
        (
            "mx: null MX",
            publishing("v=spf1 mx -all", |d| d.null_mx("sender.test")),
            v4,
            Fail,
        ),
        (
            "mx: MX lookup fails temporarily",
            publishing("v=spf1 mx:flaky.test -all", |d| {
                d.temporary_failure("flaky.test")
            }),
            v4,
            TempError,
        ),
        (
            "mx: exchange lookup fails temporarily",
            publishing("v=spf1 mx -all", |d| {
                d.mx("sender.test", &[(10, "flaky.test")])
                    .temporary_failure("flaky.test")
            }),
            v4,
            TempError,
        ),
        (
            "mx ipv6",
            publishing("v=spf1 mx -all", |d| {
                d.mx("sender.test", &[(10, "mx1.sender.test")])
                    .ip("mx1.sender.test", &[ip("192.0.2.1"), ip("2001:db8::1")])
            }),
            v6,
            Pass,
        ),
        // ptr (RFC 7208 §5.5).
        (
            "ptr pass",
            publishing("v=spf1 ptr -all", |d| {
                d.ptr(ip(CLIENT), &["mail.sender.test"])
                    .ip("mail.sender.test", &[ip(CLIENT)])
            }),
            v4,
            Pass,
        ),
        (
            "ptr: name does not resolve back",
            publishing("v=spf1 ptr -all", |d| {
                d.ptr(ip(CLIENT), &["mail.sender.test"])
                    .ip("mail.sender.test", &[ip("198.51.100.1")])
            }),
            v4,
            Fail,
        ),
        (
            "ptr: name outside the domain",
            publishing("v=spf1 ptr -all", |d| {
                d.ptr(ip(CLIENT), &["mail.elsewhere.test"])
                    .ip("mail.elsewhere.test", &[ip(CLIENT)])
            }),
            v4,
            Fail,
        ),
        (
            "ptr: a DNS error is no match",
            publishing("v=spf1 ptr ~all", |d| {
                d.temporary_failure(&reverse_name(ip(CLIENT)))
            }),
            v4,
            SoftFail,
        ),
        // The lookup limit (RFC 7208 §4.6.4).
        (
            "permerror: 11 DNS mechanisms",
            publishing(
                "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test a:h6.test \
                 a:h7.test a:h8.test a:h9.test a:h10.test a:h11.test -all",
                same,
            ),
            v4,
            PermError,
        ),
        (
            "10 DNS mechanisms are allowed",
            publishing(
                "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test a:h6.test \
                 a:h7.test a:h8.test a:h9.test a:h10.test -all",
                |d| d.ip("h10.test", &[ip(CLIENT)]),
            ),
            v4,
            Pass,
        ),
        (
            "macros: %{i} and %{d}",
            publishing("v=spf1 a:%{i}._ip.%{d} -all", |d| {
                d.ip("192.0.2.1._ip.sender.test", &[ip(CLIENT)])
            }),
            v4,
            Pass,
        ),
    ];
    for (what, dns, client, expected) in cases {
        assert_eq!(mail_from(dns, client).await, expected, "{what}");
    }
}

#[tokio::test]
async fn exists_matches_only_names_that_have_addresses() {
    use SpfResult::*;
    let record = "v=spf1 exists:%{i}.list.test -all";
    let listed = "192.0.2.1.list.test";
    let cases: Vec<(&str, MockResolver, SpfResult)> = vec![
        (
            "listed",
            publishing(record, |d| d.ip(listed, &[ip("127.0.0.2")])),
            Pass,
        ),
        ("NXDOMAIN", publishing(record, |d| d), Fail),
        (
            "NODATA (the name has only TXT)",
            publishing(record, |d| d.txt(listed, &["x"])),
            Fail,
        ),
        (
            "explicit NXDOMAIN",
            publishing(record, |d| d.nxdomain(listed)),
            Fail,
        ),
        (
            "temporary failure",
            publishing(record, |d| d.temporary_failure(listed)),
            TempError,
        ),
        // mail-auth's exists() counts AAAA too (RFC 7208 §5.7 says A only).
        (
            "only AAAA",
            publishing(record, |d| d.ip(listed, &[ip("::1")])),
            Pass,
        ),
        (
            "+exists never matches a missing name",
            publishing("v=spf1 +exists:nothing.test ~all", |d| d),
            SoftFail,
        ),
    ];
    for (what, dns, expected) in cases {
        assert_eq!(mail_from(dns, CLIENT).await, expected, "{what}");
    }
}

#[tokio::test]
async fn helo_identity_is_checked_on_its_own() {
    let dns = MockResolver::new()
        .txt("mail.sender.test", &["v=spf1 a -all"])
        .ip("mail.sender.test", &[ip(CLIENT)])
        .txt("sender.test", &["v=spf1 -all"]);
    let outcome = verify(
        dns,
        &Session {
            helo: "Mail.Sender.Test",
            mail_from: "bounce@sender.test",
            ..Session::default()
        },
    )
    .await;
    assert_eq!(
        outcome.spf_helo,
        SpfCheck {
            result: SpfResult::Pass,
            domain: "mail.sender.test".into()
        }
    );
    assert_eq!(
        outcome.spf_mail_from,
        SpfCheck {
            result: SpfResult::Fail,
            domain: "sender.test".into()
        }
    );
}

#[tokio::test]
async fn helo_results_table() {
    use SpfResult::*;
    let cases: Vec<(&str, &str, MockResolver, SpfResult)> = vec![
        (
            "fail",
            "mail.sender.test",
            MockResolver::new().txt("mail.sender.test", &["v=spf1 -all"]),
            Fail,
        ),
        (
            "softfail",
            "mail.sender.test",
            MockResolver::new().txt("mail.sender.test", &["v=spf1 ~all"]),
            SoftFail,
        ),
        (
            "neutral",
            "mail.sender.test",
            MockResolver::new().txt("mail.sender.test", &["v=spf1 ?all"]),
            Neutral,
        ),
        ("none", "mail.sender.test", MockResolver::new(), None),
        (
            "temperror",
            "mail.sender.test",
            MockResolver::new().temporary_failure("mail.sender.test"),
            TempError,
        ),
        (
            "permerror",
            "mail.sender.test",
            MockResolver::new().txt("mail.sender.test", &["v=spf1 ip4:x -all"]),
            PermError,
        ),
        (
            "address literal: no identity",
            "[192.0.2.1]",
            MockResolver::new(),
            None,
        ),
        (
            "bare address: no identity",
            "192.0.2.1",
            MockResolver::new(),
            None,
        ),
        (
            "single label",
            "localhost",
            MockResolver::new().txt("localhost", &["v=spf1 +all"]),
            None,
        ),
    ];
    for (what, helo, dns, expected) in cases {
        let outcome = verify(
            dns,
            &Session {
                helo,
                mail_from: "bounce@other.test",
                ..Session::default()
            },
        )
        .await;
        assert_eq!(outcome.spf_helo.result, expected, "{what}");
    }
}

#[tokio::test]
async fn null_reverse_path_is_checked_as_postmaster_at_helo() {
    let dns = MockResolver::new()
        .txt("mail.sender.test", &["v=spf1 ip4:192.0.2.1 -all"])
        .txt("sender.test", &["v=spf1 -all"]);
    for mail_from in ["", "<>"] {
        let outcome = verify(
            dns.clone(),
            &Session {
                mail_from,
                ..Session::default()
            },
        )
        .await;
        let expected = SpfCheck {
            result: SpfResult::Pass,
            domain: "mail.sender.test".into(),
        };
        assert_eq!(outcome.spf_helo, expected, "{mail_from:?}");
        assert_eq!(outcome.spf_mail_from, expected, "{mail_from:?}");
    }
}

#[tokio::test]
async fn mail_from_domain_is_case_insensitive_and_angle_brackets_are_ignored() {
    let dns = MockResolver::new().txt("sender.test", &["v=spf1 ip4:192.0.2.1 -all"]);
    let outcome = verify(
        dns,
        &Session {
            mail_from: "<Bounce@SENDER.Test>",
            ..Session::default()
        },
    )
    .await;
    assert_eq!(
        outcome.spf_mail_from,
        SpfCheck {
            result: SpfResult::Pass,
            domain: "sender.test".into()
        }
    );
}

#[tokio::test]
async fn an_ipv4_mapped_client_address_is_checked_as_ipv4() {
    let dns = MockResolver::new().txt("sender.test", &["v=spf1 ip4:192.0.2.1 -all"]);
    assert_eq!(mail_from(dns, "::ffff:192.0.2.1").await, SpfResult::Pass);
}

#[tokio::test]
async fn every_lookup_goes_through_the_resolver_once() {
    // TXT sender.test, TXT include, MX, A of both exchanges; HELO: TXT; iprev: PTR.
    let dns = Counting::new(
        MockResolver::new()
            .txt(
                "sender.test",
                &["v=spf1 include:_spf.sender.test mx ip4:198.51.100.0/24 -all"],
            )
            .txt("_spf.sender.test", &["v=spf1 ip4:203.0.113.0/24 -all"])
            .mx(
                "sender.test",
                &[(10, "mx1.sender.test"), (20, "mx2.sender.test")],
            )
            .ip("mx1.sender.test", &[ip("198.51.100.7")])
            .ip("mx2.sender.test", &[ip(CLIENT)]),
    );
    let outcome = verify_with(
        dns.clone(),
        &Session {
            mail_from: "bounce@sender.test",
            message: b"",
            ..Session::default()
        },
    )
    .await;
    assert_eq!(outcome.spf_mail_from.result, SpfResult::Pass);
    assert_eq!(dns.lookups(), 7);
}
