//! `HickoryResolver` against a real DNS server: unbound on loopback
//! (`mailstead_dns::testing::Unbound`), one server per test.
//!
//! unbound must be installed (`scripts/test.sh` installs it); without it these tests fail,
//! they do not skip.

use std::net::IpAddr;
use std::time::Duration;

use mailstead_dns::testing::Unbound;
use mailstead_dns::{DnsConfig, DnsError, HickoryResolver, Mx, MxAnswer, Resolver};

/// The zone every test here serves.
const RECORDS: &[&str] = &[
    // Two MX of different preference, listed worst first.
    "mail.test. MX 20 mx2.mail.test.",
    "mail.test. MX 10 MX1.mail.test.",
    "mx1.mail.test. A 127.0.0.11",
    "mx2.mail.test. A 127.0.0.12",
    // RFC 7505 null MX.
    "nullmx.test. MX 0 .",
    // A "." among real hosts: ignored.
    "mixed.test. MX 0 .",
    "mixed.test. MX 10 mx.mixed.test.",
    // Only an address: the implicit MX.
    "implicit.test. A 192.0.2.7",
    // Both families, AAAA listed first.
    "dual.test. AAAA 2001:db8::1",
    "dual.test. A 192.0.2.1",
    // One TXT record split into two character-strings, and a second record.
    r#"spf.test. TXT "v=spf1 ip4:192.0.2.0/24 " "include:_spf.other.test -all""#,
    r#"spf.test. TXT "site-verification=abc""#,
    r#"_dmarc.spf.test. TXT "v=DMARC1; p=reject""#,
    // A name outside test.: the server answers for it too, from these records only.
    "example.com. MX 10 mx.example.com.",
    // Reverse names: two PTR records for one address, one for an IPv6 address, and a
    // reverse name with a TXT record only (NODATA for PTR).
    "1.2.0.192.in-addr.arpa. PTR Mail.Example.COM.",
    "1.2.0.192.in-addr.arpa. PTR alias.example.net.",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR v6.example.com.",
    r#"2.2.0.192.in-addr.arpa. TXT "no ptr here""#,
];

fn start() -> (Unbound, HickoryResolver) {
    let server = Unbound::start(RECORDS).unwrap_or_else(|err| {
        panic!("cannot start unbound (install the `unbound` package): {err}")
    });
    let resolver = HickoryResolver::new(&server.dns_config()).expect("resolver");
    (server, resolver)
}

fn mx(preference: u16, exchange: &str) -> Mx {
    Mx {
        preference,
        exchange: exchange.to_owned(),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

#[tokio::test]
async fn mx_records_are_sorted_by_preference_and_lower_cased() {
    let (server, dns) = start();
    assert_eq!(
        dns.mx("mail.test").await,
        Ok(MxAnswer::Hosts(vec![
            mx(10, "mx1.mail.test"),
            mx(20, "mx2.mail.test")
        ])),
        "unbound log:\n{}",
        server.log()
    );
    // Any case, with or without the trailing dot.
    assert_eq!(
        dns.mx("MAIL.Test.").await,
        Ok(MxAnswer::Hosts(vec![
            mx(10, "mx1.mail.test"),
            mx(20, "mx2.mail.test")
        ]))
    );
    assert_eq!(dns.ips("mx1.mail.test").await, Ok(vec![ip("127.0.0.11")]));
}

#[tokio::test]
async fn null_mx_is_recognized() {
    let (_server, dns) = start();
    assert_eq!(dns.mx("nullmx.test").await, Ok(MxAnswer::NullMx));
}

#[tokio::test]
async fn root_exchange_next_to_real_hosts_is_ignored() {
    let (_server, dns) = start();
    assert_eq!(
        dns.mx("mixed.test").await,
        Ok(MxAnswer::Hosts(vec![mx(10, "mx.mixed.test")]))
    );
}

#[tokio::test]
async fn a_domain_with_only_an_address_has_no_mx_and_keeps_its_address() {
    let (_server, dns) = start();
    assert_eq!(dns.mx("implicit.test").await, Ok(MxAnswer::NoMx));
    assert_eq!(dns.ips("implicit.test.").await, Ok(vec![ip("192.0.2.7")]));
}

#[tokio::test]
async fn unknown_names_are_nxdomain_for_every_type() {
    let (_server, dns) = start();
    let nx = DnsError::NxDomain("nowhere.test".into());
    assert_eq!(dns.mx("nowhere.test").await, Err(nx.clone()));
    assert_eq!(dns.ips("Nowhere.Test.").await, Err(nx.clone()));
    assert_eq!(dns.txt("nowhere.test").await, Err(nx));
    // Below an existing name and outside test. alike.
    assert_eq!(
        dns.mx("sub.mail.test").await,
        Err(DnsError::NxDomain("sub.mail.test".into()))
    );
    assert_eq!(
        dns.mx("other.example.com").await,
        Err(DnsError::NxDomain("other.example.com".into()))
    );
}

#[tokio::test]
async fn existing_names_without_the_type_are_empty_not_errors() {
    let (_server, dns) = start();
    assert_eq!(dns.ips("mail.test").await, Ok(vec![]));
    assert_eq!(dns.txt("implicit.test").await, Ok(vec![]));
    assert_eq!(dns.mx("spf.test").await, Ok(MxAnswer::NoMx));
    // An empty non-terminal exists too (RFC 8020): NODATA.
    assert_eq!(dns.mx("test").await, Ok(MxAnswer::NoMx));
}

#[tokio::test]
async fn ipv4_addresses_come_before_ipv6() {
    let (_server, dns) = start();
    assert_eq!(
        dns.ips("dual.test").await,
        Ok(vec![ip("192.0.2.1"), ip("2001:db8::1")])
    );
}

#[tokio::test]
async fn txt_character_strings_are_concatenated_per_record() {
    let (_server, dns) = start();
    let mut records = dns.txt("spf.test").await.expect("txt");
    records.sort();
    assert_eq!(
        records,
        vec![
            "site-verification=abc".to_owned(),
            "v=spf1 ip4:192.0.2.0/24 include:_spf.other.test -all".to_owned(),
        ]
    );
    assert_eq!(
        dns.txt("_dmarc.SPF.test").await,
        Ok(vec!["v=DMARC1; p=reject".to_owned()])
    );
}

#[tokio::test]
async fn names_outside_test_are_served_from_the_given_records() {
    let (_server, dns) = start();
    assert_eq!(
        dns.mx("example.com").await,
        Ok(MxAnswer::Hosts(vec![mx(10, "mx.example.com")]))
    );
}

#[tokio::test]
async fn answers_too_big_for_udp_arrive_over_tcp() {
    // 12 TXT records of 200 octets: about 2.6 kB, over the 1232-octet EDNS UDP size, so
    // unbound truncates the UDP answer and the resolver must retry over TCP.
    let records: Vec<String> = (0..12)
        .map(|i| format!(r#"big.test. TXT "{i:02}{}""#, "x".repeat(198)))
        .collect();
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    let server = Unbound::start(&records).expect("unbound");
    let dns = HickoryResolver::new(&server.dns_config()).expect("resolver");
    let mut answer = dns.txt("big.test").await.expect("txt over tcp");
    answer.sort();
    assert_eq!(answer.len(), 12);
    for (i, record) in answer.iter().enumerate() {
        assert_eq!(record, &format!("{i:02}{}", "x".repeat(198)));
    }
}

#[tokio::test]
async fn a_server_that_stopped_answering_is_a_temporary_failure() {
    // Both families present: positive answers are cached for their TTL (a negative one
    // without an SOA is not).
    let server =
        Unbound::start(&["up.test. A 192.0.2.1", "up.test. AAAA 2001:db8::1"]).expect("unbound");
    let config = DnsConfig {
        timeout: Duration::from_millis(300),
        attempts: 1,
        ..server.dns_config()
    };
    let dns = HickoryResolver::new(&config).expect("resolver");
    assert_eq!(
        dns.ips("up.test").await,
        Ok(vec![ip("192.0.2.1"), ip("2001:db8::1")])
    );
    drop(server);
    let err = dns.mx("down.test").await.expect_err("no server");
    assert!(err.is_temporary(), "{err:?}");
    // The cache still answers what it has.
    assert_eq!(
        dns.ips("up.test").await,
        Ok(vec![ip("192.0.2.1"), ip("2001:db8::1")])
    );
}

#[tokio::test]
async fn ptr_records_are_normalized_host_names() {
    let (server, dns) = start();
    let mut names = dns
        .ptr(ip("192.0.2.1"))
        .await
        .unwrap_or_else(|err| panic!("ptr lookup failed: {err}; unbound log:\n{}", server.log()));
    names.sort();
    assert_eq!(
        names,
        vec![
            "alias.example.net".to_owned(),
            "mail.example.com".to_owned()
        ]
    );
    assert_eq!(
        dns.ptr(ip("2001:db8::1")).await,
        Ok(vec!["v6.example.com".to_owned()])
    );
    // An IPv4-mapped IPv6 address is looked up under in-addr.arpa.
    assert_eq!(
        dns.ptr(ip("::ffff:192.0.2.1"))
            .await
            .map(|names| names.len()),
        Ok(2)
    );
}

#[tokio::test]
async fn ptr_nodata_is_empty_and_nxdomain_names_the_reverse_name() {
    let (_server, dns) = start();
    assert_eq!(dns.ptr(ip("192.0.2.2")).await, Ok(vec![]));
    assert_eq!(
        dns.ptr(ip("192.0.2.3")).await,
        Err(DnsError::NxDomain("3.2.0.192.in-addr.arpa".into()))
    );
}
