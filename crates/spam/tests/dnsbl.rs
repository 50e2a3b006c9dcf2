//! DNS blocklists (RFC 5782) over `MockResolver` tables, and once against a real unbound
//! on loopback through `HickoryResolver`.

use std::net::IpAddr;
use std::sync::Arc;

use mailstead_dns::testing::Unbound;
use mailstead_dns::{HickoryResolver, MockResolver, Resolver};
use mailstead_spam::dnsbl::{self, DnsblConfig, DnsblResult, Zone};
use mailstead_spam::verdict::Hit;
use mailstead_spam::{Verdict, Weights};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn config() -> DnsblConfig {
    DnsblConfig {
        ip_zones: vec![Zone::ip("zen.example", 6.0), Zone::ip("bl.example", 2.0)],
        domain_zones: vec![Zone::domain("dbl.example", 5.0)],
        ..DnsblConfig::default()
    }
}

fn domains(names: &[&str]) -> Vec<String> {
    names.iter().map(|d| (*d).to_owned()).collect()
}

fn hit(symbol: &'static str, detail: &str) -> Hit {
    Hit::new(symbol).with_detail(detail)
}

/// One row: what the lists hold, what is asked, what comes back.
struct Case {
    name: &'static str,
    dns: MockResolver,
    ip: &'static str,
    domains: &'static [&'static str],
    hits: Vec<Hit>,
    temporary_failures: usize,
    refused: usize,
}

#[tokio::test]
async fn blocklist_answers() {
    let cases = vec![
        Case {
            name: "listed IPv4",
            dns: MockResolver::new().ip("99.2.0.192.zen.example", &[ip("127.0.0.2")]),
            ip: "192.0.2.99",
            domains: &[],
            hits: vec![hit("RBL_ZEN_EXAMPLE", "192.0.2.99 127.0.0.2")],
            temporary_failures: 0,
            refused: 0,
        },
        Case {
            name: "listed IPv6, nibbles reversed",
            dns: MockResolver::new().ip(
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example",
                &[ip("127.0.0.4")],
            ),
            ip: "2001:db8::1",
            domains: &[],
            hits: vec![hit("RBL_BL_EXAMPLE", "2001:db8::1 127.0.0.4")],
            temporary_failures: 0,
            refused: 0,
        },
        Case {
            name: "IPv4-mapped IPv6 is looked up as IPv4",
            dns: MockResolver::new().ip("99.2.0.192.zen.example", &[ip("127.0.0.2")]),
            ip: "::ffff:192.0.2.99",
            domains: &[],
            hits: vec![hit("RBL_ZEN_EXAMPLE", "192.0.2.99 127.0.0.2")],
            temporary_failures: 0,
            refused: 0,
        },
        Case {
            name: "listed in both IP zones",
            dns: MockResolver::new()
                .ip("99.2.0.192.zen.example", &[ip("127.0.0.10")])
                .ip("99.2.0.192.bl.example", &[ip("127.0.0.2")]),
            ip: "192.0.2.99",
            domains: &[],
            hits: vec![
                hit("RBL_ZEN_EXAMPLE", "192.0.2.99 127.0.0.10"),
                hit("RBL_BL_EXAMPLE", "192.0.2.99 127.0.0.2"),
            ],
            temporary_failures: 0,
            refused: 0,
        },
        Case {
            name: "not listed (NXDOMAIN)",
            dns: MockResolver::new().ip("1.2.0.192.zen.example", &[ip("127.0.0.2")]),
            ip: "192.0.2.99",
            domains: &["clean.example"],
            hits: vec![],
            temporary_failures: 0,
            refused: 0,
        },
        Case {
            name: "an answer outside 127/8 is no listing",
            dns: MockResolver::new().ip("99.2.0.192.zen.example", &[ip("192.0.2.53")]),
            ip: "192.0.2.99",
            domains: &[],
            hits: vec![],
            temporary_failures: 0,
            refused: 0,
        },
        Case {
            name: "error codes are refusals, not listings",
            dns: MockResolver::new()
                .ip("99.2.0.192.zen.example", &[ip("127.255.255.254")])
                .ip("99.2.0.192.bl.example", &[ip("127.255.255.255")])
                .ip("spam.example.dbl.example", &[ip("127.0.0.1")]),
            ip: "192.0.2.99",
            domains: &["spam.example"],
            hits: vec![],
            temporary_failures: 0,
            refused: 3,
        },
        Case {
            name: "temporary failure is counted, no hit",
            dns: MockResolver::new()
                .temporary_failure("99.2.0.192.zen.example")
                .temporary_failure("flaky.example.dbl.example"),
            ip: "192.0.2.99",
            domains: &["flaky.example"],
            hits: vec![],
            temporary_failures: 2,
            refused: 0,
        },
        Case {
            name: "domain zone: one hit however many domains are listed",
            dns: MockResolver::new()
                .ip("spam.example.dbl.example", &[ip("127.0.1.2")])
                .ip("phish.example.dbl.example", &[ip("127.0.1.4")]),
            ip: "192.0.2.99",
            domains: &["clean.example", "spam.example", "phish.example"],
            hits: vec![hit("URIBL_DBL_EXAMPLE", "spam.example 127.0.1.2")],
            temporary_failures: 0,
            refused: 0,
        },
        Case {
            name: "private addresses are not looked up",
            dns: MockResolver::new().ip("1.0.0.10.zen.example", &[ip("127.0.0.2")]),
            ip: "10.0.0.1",
            domains: &[],
            hits: vec![],
            temporary_failures: 0,
            refused: 0,
        },
    ];
    for case in cases {
        let dns: Arc<dyn Resolver> = Arc::new(case.dns);
        let result =
            dnsbl::check(dns.as_ref(), &config(), ip(case.ip), &domains(case.domains)).await;
        assert_eq!(
            result,
            DnsblResult {
                hits: case.hits,
                temporary_failures: case.temporary_failures,
                refused: case.refused,
            },
            "{}",
            case.name
        );
    }
}

#[tokio::test]
async fn private_addresses_are_looked_up_when_asked() {
    let dns: Arc<dyn Resolver> =
        Arc::new(MockResolver::new().ip("1.0.0.127.zen.example", &[ip("127.0.0.2")]));
    let config = DnsblConfig {
        check_private: true,
        ..config()
    };
    let result = dnsbl::check(dns.as_ref(), &config, ip("127.0.0.1"), &[]).await;
    assert_eq!(
        result.hits,
        vec![hit("RBL_ZEN_EXAMPLE", "127.0.0.1 127.0.0.2")]
    );
}

#[tokio::test]
async fn no_zones_no_lookups() {
    // Every lookup would fail: none is made.
    let dns: Arc<dyn Resolver> = Arc::new(MockResolver::new().temporary_failure("example"));
    let result = dnsbl::check(
        dns.as_ref(),
        &DnsblConfig::default(),
        ip("192.0.2.99"),
        &domains(&["spam.example"]),
    )
    .await;
    assert_eq!(result, DnsblResult::default());
}

#[tokio::test]
async fn only_max_domains_distinct_domains_are_asked() {
    // 30 domains, the 25th listed; duplicates and case do not count twice.
    let mut names: Vec<String> = (0..30).map(|i| format!("d{i}.example")).collect();
    names.insert(1, "D0.EXAMPLE".to_owned());
    let dns: Arc<dyn Resolver> =
        Arc::new(MockResolver::new().ip("d24.example.dbl.example", &[ip("127.0.1.2")]));
    let listed_beyond_limit = dnsbl::check(
        dns.as_ref(),
        &DnsblConfig {
            max_domains: 20,
            ..config()
        },
        ip("192.0.2.99"),
        &names,
    )
    .await;
    assert!(listed_beyond_limit.hits.is_empty());
    let within_limit = dnsbl::check(
        dns.as_ref(),
        &DnsblConfig {
            max_domains: 25,
            ..config()
        },
        ip("192.0.2.99"),
        &names,
    )
    .await;
    assert_eq!(
        within_limit.hits,
        vec![hit("URIBL_DBL_EXAMPLE", "d24.example 127.0.1.2")]
    );
}

#[tokio::test]
async fn many_lookups_keep_the_configuration_order() {
    // More lookups than run at once: hits come in zone order all the same.
    let zones: Vec<Zone> = (0..40)
        .map(|i| Zone::ip(&format!("z{i}.example"), 1.0))
        .collect();
    let mut dns = MockResolver::new();
    for i in (0..40).rev().step_by(3) {
        dns = dns.ip(&format!("99.2.0.192.z{i}.example"), &[ip("127.0.0.2")]);
    }
    let dns: Arc<dyn Resolver> = Arc::new(dns);
    let config = DnsblConfig {
        ip_zones: zones,
        ..DnsblConfig::default()
    };
    let result = dnsbl::check(dns.as_ref(), &config, ip("192.0.2.99"), &[]).await;
    let symbols: Vec<&str> = result.hits.iter().map(|h| h.name.as_ref()).collect();
    let expected: Vec<String> = (0..40)
        .rev()
        .step_by(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|i| format!("RBL_Z{i}_EXAMPLE"))
        .collect();
    assert_eq!(symbols, expected);
}

#[tokio::test]
async fn a_zones_weight_is_its_symbols_weight() {
    let dns: Arc<dyn Resolver> = Arc::new(
        MockResolver::new()
            .ip("99.2.0.192.zen.example", &[ip("127.0.0.2")])
            .ip("spam.example.dbl.example", &[ip("127.0.1.2")]),
    );
    let config = config();
    let result = dnsbl::check(
        dns.as_ref(),
        &config,
        ip("192.0.2.99"),
        &domains(&["spam.example"]),
    )
    .await;
    let weights = Weights::default().with_zone_weights(config.zones());
    let verdict = Verdict::new(&result.hits, &weights);
    assert_eq!(verdict.score, 11.0);
    // A configured override of the symbol still wins.
    let overrides = [("RBL_ZEN_EXAMPLE".to_owned(), 1.0)].into_iter().collect();
    let weights = weights.with_overrides(&overrides, 15.0);
    assert_eq!(Verdict::new(&result.hits, &weights).score, 6.0);
}

#[tokio::test]
async fn well_known_zones_have_their_symbols() {
    let zone = Zone::ip("zen.spamhaus.org", 6.0);
    assert_eq!(zone.symbol, "RBL_SPAMHAUS_ZEN");
    assert_eq!(Weights::default().weight("RBL_SPAMHAUS_ZEN"), 6.0);
    assert_eq!(Zone::domain("dbl.spamhaus.org", 6.5).symbol, "DBL_SPAMHAUS");
}

#[test]
fn the_check_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let dns = MockResolver::new();
    let config = config();
    let domains = domains(&["a.example"]);
    let future = dnsbl::check(&dns, &config, ip("192.0.2.1"), &domains);
    assert_send(&future);
}

#[tokio::test]
async fn real_dns_server_on_loopback() {
    let server = Unbound::start(&[
        "99.2.0.192.zen.test. A 127.0.0.2",
        "99.2.0.192.zen.test. TXT \"listed: see https://zen.test/192.0.2.99\"",
        "98.2.0.192.zen.test. A 127.255.255.254",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test. A 127.0.0.3",
        "spam.example.dbl.test. A 127.0.1.2",
        // Exists without an A record (NODATA): not listed.
        "nodata.example.dbl.test. TXT \"x\"",
    ])
    .unwrap_or_else(|err| panic!("cannot start unbound (install the `unbound` package): {err}"));
    let dns = HickoryResolver::new(&server.dns_config()).expect("resolver");
    let config = DnsblConfig {
        ip_zones: vec![Zone::ip("zen.test", 6.0)],
        domain_zones: vec![Zone::domain("dbl.test", 5.0)],
        ..DnsblConfig::default()
    };
    let listed = dnsbl::check(
        &dns,
        &config,
        ip("192.0.2.99"),
        &domains(&["nodata.example", "clean.example", "spam.example"]),
    )
    .await;
    assert_eq!(
        listed,
        DnsblResult {
            hits: vec![
                hit("RBL_ZEN_TEST", "192.0.2.99 127.0.0.2"),
                hit("URIBL_DBL_TEST", "spam.example 127.0.1.2"),
            ],
            temporary_failures: 0,
            refused: 0,
        },
        "unbound log:\n{}",
        server.log()
    );
    let v6 = dnsbl::check(&dns, &config, ip("2001:db8::1"), &[]).await;
    assert_eq!(v6.hits, vec![hit("RBL_ZEN_TEST", "2001:db8::1 127.0.0.3")]);
    let refused = dnsbl::check(&dns, &config, ip("192.0.2.98"), &[]).await;
    assert_eq!((refused.hits.len(), refused.refused), (0, 1));
    let clean = dnsbl::check(&dns, &config, ip("192.0.2.1"), &[]).await;
    assert_eq!(clean, DnsblResult::default());
}
