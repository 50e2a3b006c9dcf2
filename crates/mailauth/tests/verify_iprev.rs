//! iprev (RFC 8601 §3) through [`Verifier::verify`] over a mock resolver.

mod support;

use mailstead_dns::MockResolver;
use mailstead_dns::name::reverse_name;
use mailstead_mailauth::{AuthResult, IprevCheck};
use support::{CLIENT, Session, ip, verify};

async fn iprev(dns: MockResolver, client: &str) -> IprevCheck {
    verify(
        dns,
        &Session {
            remote_ip: ip(client),
            ..Session::default()
        },
    )
    .await
    .iprev
}

fn check(result: AuthResult, name: Option<&str>) -> IprevCheck {
    IprevCheck {
        result,
        name: name.map(str::to_owned),
    }
}

#[tokio::test]
async fn iprev_table() {
    use AuthResult::{Fail, Pass, PermError, TempError};
    let v6 = "2001:db8::25";
    let cases: Vec<(&str, MockResolver, &str, IprevCheck)> = vec![
        (
            "pass",
            MockResolver::new()
                .ptr(ip(CLIENT), &["mail.sender.test"])
                .ip("mail.sender.test", &[ip(CLIENT)]),
            CLIENT,
            check(Pass, Some("mail.sender.test")),
        ),
        (
            "pass on the second name",
            MockResolver::new()
                .ptr(ip(CLIENT), &["stale.sender.test", "mail.sender.test"])
                .ip("stale.sender.test", &[ip("198.51.100.1")])
                .ip("mail.sender.test", &[ip("198.51.100.2"), ip(CLIENT)]),
            CLIENT,
            check(Pass, Some("mail.sender.test")),
        ),
        (
            "pass over IPv6",
            MockResolver::new()
                .ptr(ip(v6), &["v6.sender.test"])
                .ip("v6.sender.test", &[ip("192.0.2.25"), ip(v6)]),
            v6,
            check(Pass, Some("v6.sender.test")),
        ),
        (
            "pass for an IPv4-mapped address",
            MockResolver::new()
                .ptr(ip(CLIENT), &["mail.sender.test"])
                .ip("mail.sender.test", &[ip(CLIENT)]),
            "::ffff:192.0.2.1",
            check(Pass, Some("mail.sender.test")),
        ),
        (
            "fail: the name has other addresses",
            MockResolver::new()
                .ptr(ip(CLIENT), &["mail.sender.test"])
                .ip("mail.sender.test", &[ip("198.51.100.1")]),
            CLIENT,
            check(Fail, Some("mail.sender.test")),
        ),
        (
            "fail: the name does not exist",
            MockResolver::new().ptr(ip(CLIENT), &["gone.sender.test"]),
            CLIENT,
            check(Fail, Some("gone.sender.test")),
        ),
        (
            "fail: only the other family has the address",
            MockResolver::new()
                .ptr(ip(CLIENT), &["mail.sender.test"])
                .ip("mail.sender.test", &[ip("::ffff:192.0.2.1")]),
            CLIENT,
            check(Fail, Some("mail.sender.test")),
        ),
        (
            "permerror: no PTR (NXDOMAIN)",
            MockResolver::new(),
            CLIENT,
            check(PermError, None),
        ),
        (
            "permerror: no PTR (NODATA)",
            MockResolver::new().txt(&reverse_name(ip(CLIENT)), &["x"]),
            CLIENT,
            check(PermError, None),
        ),
        (
            "temperror: the PTR lookup",
            MockResolver::new().temporary_failure(&reverse_name(ip(CLIENT))),
            CLIENT,
            check(TempError, None),
        ),
        (
            "temperror: the forward lookup, nothing else matched",
            MockResolver::new()
                .ptr(ip(CLIENT), &["flaky.sender.test", "other.sender.test"])
                .temporary_failure("flaky.sender.test")
                .ip("other.sender.test", &[ip("198.51.100.1")]),
            CLIENT,
            check(TempError, Some("flaky.sender.test")),
        ),
        (
            "pass despite a temporary failure of another name",
            MockResolver::new()
                .ptr(ip(CLIENT), &["flaky.sender.test", "mail.sender.test"])
                .temporary_failure("flaky.sender.test")
                .ip("mail.sender.test", &[ip(CLIENT)]),
            CLIENT,
            check(Pass, Some("mail.sender.test")),
        ),
    ];
    for (what, dns, client, expected) in cases {
        assert_eq!(iprev(dns, client).await, expected, "{what}");
    }
}

#[tokio::test]
async fn at_most_ten_names_are_tried() {
    let names: Vec<String> = (1..=11).map(|i| format!("h{i}.sender.test")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let dns = MockResolver::new()
        .ptr(ip(CLIENT), &names)
        .ip("h11.sender.test", &[ip(CLIENT)]);
    assert_eq!(
        iprev(dns, CLIENT).await,
        check(AuthResult::Fail, Some("h1.sender.test"))
    );
}
