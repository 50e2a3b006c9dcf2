//! DNS blocklists (RFC 5782): is the client's address, or a domain of a link in the
//! message, listed?
//!
//! # Queries
//!
//! - IP zones (DNSBL, RFC 5782 §2.1): an IPv4 address's octets reversed, then the zone:
//!   `192.0.2.99` in `zen.example` is `99.2.0.192.zen.example`; an IPv6 address's 32
//!   nibbles reversed (RFC 5782 §2.4): `2001:db8::1` is
//!   `1.0.0.0.…0.0.0.0.8.b.d.0.1.0.0.2.zen.example`. An IPv4-mapped IPv6 address is
//!   looked up as the IPv4 address. Private, loopback, link-local, CGNAT and unspecified
//!   addresses are never listed anywhere, so they are not looked up (unless
//!   [`DnsblConfig::check_private`], for tests).
//! - Domain zones (URI blocklists such as Spamhaus DBL, SURBL and URIBL, RFC 5782 §2.2):
//!   `<domain>.<zone>` for each domain of [`crate::rules::domains_in`], at most
//!   [`DnsblConfig::max_domains`] of them.
//!
//! # Answers
//!
//! Looked up with [`Resolver::ips`] (the A records):
//!
//! - NXDOMAIN (or no A record): not listed.
//! - An A record in `127.0.0.0/8` (RFC 5782 §2.3; `127.0.0.2` is every list's test
//!   entry, §5): listed — except the codes a list answers instead of an answer, which
//!   are *refusals*, counted in [`DnsblResult::refused`] and logged, never a hit:
//!   - `127.0.0.1`: RFC 5782 §5 forbids listing it; URIBL and SURBL answer it when they
//!     refuse the query (a public resolver, or over their free quota);
//!   - `127.255.255.0/24`: Spamhaus's error codes — `.252` a typing error in the zone
//!     name, `.254` a query through a public/open resolver, `.255` too many queries
//!     (rate-limited); the rest of the /24 is kept for more of them;
//!   - `127.0.1.255`: Spamhaus DBL, "IP queries prohibited" (an address asked of a
//!     domain list).
//! - An A record outside `127.0.0.0/8`: not listed (a resolver that answers NXDOMAIN
//!   with its own search page would otherwise list everything).
//! - A temporary failure (SERVFAIL, timeout): no hit, counted in
//!   [`DnsblResult::temporary_failures`] so the caller can tell a clean result from an
//!   unknown one.
//!
//! # Symbols
//!
//! Each zone has its own symbol and weight ([`Zone`]): `Zone::ip("bl.example", 3.0)`
//! derives `RBL_BL_EXAMPLE` (domain zones: `URIBL_…`), and well-known zones have the
//! names in [`WEIGHTS`] (`zen.spamhaus.org` is `RBL_SPAMHAUS_ZEN`, `dbl.spamhaus.org` is
//! `DBL_SPAMHAUS`, …). A zone fires at most once per message, however many of the
//! message's domains it lists; the detail names what was listed and the answer
//! (`192.0.2.99 127.0.0.4`). The zone's configured weight becomes its symbol's weight
//! through [`crate::Weights::with_zone_weights`].
//!
//! Lookups run concurrently, at most [`MAX_CONCURRENT_LOOKUPS`] at a time; each is
//! bounded by the resolver's own timeout.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::task::Poll;

use mailstead_dns::{DnsError, Resolver};

use crate::verdict::Hit;

/// The well-known zones: (zone, symbol, suggested weight). [`Zone::ip`] and
/// [`Zone::domain`] name these zones' symbols from here; none is queried unless
/// configured.
pub const KNOWN_ZONES: &[(&str, &str, f64)] = &[
    // Spamhaus ZEN: SBL, CSS, XBL (exploited hosts) and PBL (end-user ranges).
    ("zen.spamhaus.org", "RBL_SPAMHAUS_ZEN", 6.0),
    ("bl.spamcop.net", "RBL_SPAMCOP", 2.0),
    ("b.barracudacentral.org", "RBL_BARRACUDA", 2.0),
    ("bl.mailspike.net", "RBL_MAILSPIKE", 2.0),
    ("psbl.surriel.com", "RBL_PSBL", 1.5),
    // Domain (URI) lists.
    ("dbl.spamhaus.org", "DBL_SPAMHAUS", 6.5),
    ("multi.surbl.org", "SURBL_MULTI", 5.0),
    ("multi.uribl.com", "URIBL_MULTI", 4.0),
];

/// Symbols of the well-known zones and their suggested weights (from [`KNOWN_ZONES`]);
/// a configured zone's weight replaces its symbol's through
/// [`crate::Weights::with_zone_weights`].
pub const WEIGHTS: &[(&str, f64)] = &[
    ("RBL_SPAMHAUS_ZEN", 6.0),
    ("RBL_SPAMCOP", 2.0),
    ("RBL_BARRACUDA", 2.0),
    ("RBL_MAILSPIKE", 2.0),
    ("RBL_PSBL", 1.5),
    ("DBL_SPAMHAUS", 6.5),
    ("SURBL_MULTI", 5.0),
    ("URIBL_MULTI", 4.0),
];

/// At most this many lookups are in flight at once.
pub const MAX_CONCURRENT_LOOKUPS: usize = 16;

/// The default of [`DnsblConfig::max_domains`].
pub const DEFAULT_MAX_DOMAINS: usize = 20;

/// One blocklist zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// The zone queried, e.g. `zen.spamhaus.org` (no trailing dot needed).
    pub zone: String,
    /// The symbol a listing fires, `[A-Z0-9_]+`.
    pub symbol: String,
    /// The weight of [`Zone::symbol`] (see [`crate::Weights::with_zone_weights`]).
    pub weight: f64,
}

impl Zone {
    /// An IP zone; its symbol is the well-known one ([`KNOWN_ZONES`]) or `RBL_` and the
    /// zone in upper case with every other character than a letter or digit as `_`.
    pub fn ip(zone: &str, weight: f64) -> Self {
        Self::named(zone, "RBL_", weight)
    }

    /// A domain zone; its symbol is the well-known one ([`KNOWN_ZONES`]) or `URIBL_` and
    /// the zone as in [`Zone::ip`].
    pub fn domain(zone: &str, weight: f64) -> Self {
        Self::named(zone, "URIBL_", weight)
    }

    /// The same zone with another symbol (upper-cased, other characters than letters and
    /// digits as `_`).
    pub fn with_symbol(mut self, symbol: &str) -> Self {
        self.symbol = symbol_name("", symbol);
        self
    }

    fn named(zone: &str, prefix: &str, weight: f64) -> Self {
        let zone = zone.trim().trim_end_matches('.').to_ascii_lowercase();
        let symbol = KNOWN_ZONES
            .iter()
            .find(|(known, _, _)| *known == zone)
            .map_or_else(|| symbol_name(prefix, &zone), |(_, s, _)| (*s).to_owned());
        Self {
            zone,
            symbol,
            weight,
        }
    }
}

/// `prefix` and `text` upper-cased, every character other than an ASCII letter or digit
/// replaced by `_`.
fn symbol_name(prefix: &str, text: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + text.len());
    out.push_str(prefix);
    out.extend(text.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    out
}

/// Which lists to ask.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsblConfig {
    /// Lists of client addresses (e.g. `zen.spamhaus.org`).
    pub ip_zones: Vec<Zone>,
    /// Lists of domains found in links (e.g. `dbl.spamhaus.org`).
    pub domain_zones: Vec<Zone>,
    /// At most this many of the message's domains are looked up in each domain zone.
    pub max_domains: usize,
    /// Also look up private, loopback, link-local, CGNAT and unspecified addresses
    /// (no list has them; for tests on loopback only).
    pub check_private: bool,
}

impl Default for DnsblConfig {
    /// No zones (no lookups: the server configuration names the lists to use),
    /// [`DEFAULT_MAX_DOMAINS`], private addresses skipped.
    fn default() -> Self {
        Self {
            ip_zones: Vec::new(),
            domain_zones: Vec::new(),
            max_domains: DEFAULT_MAX_DOMAINS,
            check_private: false,
        }
    }
}

impl DnsblConfig {
    /// Every zone, IP zones first: for [`crate::Weights::with_zone_weights`].
    pub fn zones(&self) -> impl Iterator<Item = &Zone> {
        self.ip_zones.iter().chain(&self.domain_zones)
    }
}

/// What the lists said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsblResult {
    /// One hit per zone that lists the address or a domain, in the order of the
    /// configuration.
    pub hits: Vec<Hit>,
    /// Lookups that failed temporarily (their zones may list the message; the result is
    /// incomplete).
    pub temporary_failures: usize,
    /// Lookups a list refused with one of its error codes (see the module
    /// documentation): the list is misconfigured or rate-limiting us.
    pub refused: usize,
}

/// The name to look up for `ip` in `zone` (RFC 5782 §2.1, §2.4).
pub fn ip_query(ip: IpAddr, zone: &str) -> String {
    let zone = zone.trim_end_matches('.');
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{zone}")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(64 + zone.len());
            for byte in v6.octets().iter().rev() {
                for nibble in [byte & 0x0f, byte >> 4] {
                    name.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                    name.push('.');
                }
            }
            name.push_str(zone);
            name
        }
    }
}

/// The name to look up for `domain` in `zone` (RFC 5782 §2.2); `None` for something
/// that is not a plain ASCII domain name.
pub fn domain_query(domain: &str, zone: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('.');
    let valid = !domain.is_empty()
        && domain.contains('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !domain.split('.').any(str::is_empty);
    valid.then(|| {
        format!(
            "{}.{}",
            domain.to_ascii_lowercase(),
            zone.trim_end_matches('.')
        )
    })
}

/// Whether an address is one no public list holds: private (RFC 1918), loopback,
/// link-local, CGNAT (RFC 6598), unspecified or broadcast; IPv6 loopback, unspecified,
/// unique local (RFC 4193) and link-local.
pub fn is_private(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
        }
    }
}

/// What one answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Listed, with the (first) listing code.
    Listed(Ipv4Addr),
    NotListed,
    /// The list answered an error code.
    Refused(Ipv4Addr),
    Temporary,
}

/// Whether `code` is one of the error codes lists answer instead of a listing.
fn is_refusal(code: Ipv4Addr) -> bool {
    let [a, b, c, _] = code.octets();
    code == Ipv4Addr::new(127, 0, 0, 1)
        || (a, b, c) == (127, 255, 255)
        || code == Ipv4Addr::new(127, 0, 1, 255)
}

/// Classifies the A records of one lookup.
fn classify(result: Result<Vec<IpAddr>, DnsError>) -> Answer {
    let ips = match result {
        Ok(ips) => ips,
        Err(DnsError::Temporary { .. }) => return Answer::Temporary,
        Err(DnsError::NxDomain(_) | DnsError::InvalidName(_)) => return Answer::NotListed,
    };
    let codes = ips.iter().filter_map(|ip| match ip {
        IpAddr::V4(v4) if v4.octets()[0] == 127 => Some(*v4),
        _ => None,
    });
    let mut refused = None;
    for code in codes {
        if is_refusal(code) {
            refused.get_or_insert(code);
        } else {
            return Answer::Listed(code);
        }
    }
    refused.map_or(Answer::NotListed, Answer::Refused)
}

/// One query: which zone, what is asked about, the name.
struct Query<'c> {
    zone: &'c Zone,
    subject: String,
    name: String,
}

/// Looks `ip` up in every IP zone and `domains` (the first [`DnsblConfig::max_domains`]
/// distinct ones) in every domain zone. Never fails: a lookup that fails temporarily is
/// counted in [`DnsblResult::temporary_failures`].
pub async fn check(
    resolver: &dyn Resolver,
    config: &DnsblConfig,
    ip: IpAddr,
    domains: &[String],
) -> DnsblResult {
    let mut queries: Vec<Query<'_>> = Vec::new();
    let ip = ip.to_canonical();
    if config.check_private || !is_private(ip) {
        for zone in &config.ip_zones {
            queries.push(Query {
                zone,
                subject: ip.to_string(),
                name: ip_query(ip, &zone.zone),
            });
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for domain in domains {
        if seen.len() >= config.max_domains {
            break;
        }
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        if seen.contains(&domain) {
            continue;
        }
        seen.push(domain);
    }
    for zone in &config.domain_zones {
        for domain in &seen {
            if let Some(name) = domain_query(domain, &zone.zone) {
                queries.push(Query {
                    zone,
                    subject: domain.clone(),
                    name,
                });
            }
        }
    }

    let lookups: Vec<BoxFuture<'_, Answer>> = queries
        .iter()
        .map(|q| -> BoxFuture<'_, Answer> {
            Box::pin(async move { classify(resolver.ips(&q.name).await) })
        })
        .collect();
    let answers = join_bounded(lookups, MAX_CONCURRENT_LOOKUPS).await;

    let mut result = DnsblResult::default();
    let mut fired: Vec<&str> = Vec::new();
    for (query, answer) in queries.iter().zip(answers) {
        match answer {
            Answer::Listed(code) => {
                if fired.contains(&query.zone.symbol.as_str()) {
                    continue;
                }
                fired.push(&query.zone.symbol);
                tracing::debug!(zone = %query.zone.zone, listed = %query.subject, %code, "dnsbl listing");
                result.hits.push(
                    Hit::new(query.zone.symbol.clone())
                        .with_detail(format!("{} {code}", query.subject)),
                );
            }
            Answer::NotListed => {}
            Answer::Refused(code) => {
                tracing::warn!(zone = %query.zone.zone, %code, "dnsbl refused the query (misconfigured zone, public resolver or rate limit)");
                result.refused += 1;
            }
            Answer::Temporary => {
                tracing::debug!(zone = %query.zone.zone, name = %query.name, "dnsbl lookup failed temporarily");
                result.temporary_failures += 1;
            }
        }
    }
    result
}

/// A boxed future, as `async_trait` makes them.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs `futures` concurrently, at most `limit` at a time, and returns their outputs in
/// the order given (a `join_all` with a bound, without a dependency for it).
async fn join_bounded<'a, T>(futures: Vec<BoxFuture<'a, T>>, limit: usize) -> Vec<T> {
    let limit = limit.max(1);
    let mut results: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    let mut waiting = futures.into_iter().enumerate();
    let mut running: Vec<(usize, BoxFuture<'a, T>)> = Vec::new();
    std::future::poll_fn(|cx| {
        loop {
            while running.len() < limit {
                match waiting.next() {
                    Some(next) => running.push(next),
                    None => break,
                }
            }
            if running.is_empty() {
                return Poll::Ready(());
            }
            let mut finished = false;
            let mut i = 0;
            while i < running.len() {
                if let Poll::Ready(output) = running[i].1.as_mut().poll(cx) {
                    let (index, _) = running.swap_remove(i);
                    results[index] = Some(output);
                    finished = true;
                } else {
                    i += 1;
                }
            }
            // Futures started in place of the finished ones must be polled once to
            // register their wakers; otherwise wait for a wake-up.
            if !finished {
                return Poll::Pending;
            }
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_query_reverses_the_octets() {
        assert_eq!(
            ip_query(ip("192.0.2.99"), "zen.example."),
            "99.2.0.192.zen.example"
        );
        assert_eq!(
            ip_query(ip("::ffff:192.0.2.99"), "zen.example"),
            "99.2.0.192.zen.example"
        );
    }

    #[test]
    fn ipv6_query_reverses_the_nibbles() {
        // RFC 5782 §2.4's example.
        assert_eq!(
            ip_query(ip("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"
        );
    }

    #[test]
    fn domain_query_appends_the_zone_to_plain_domains_only() {
        assert_eq!(
            domain_query("Example.COM.", "dbl.example"),
            Some("example.com.dbl.example".to_owned())
        );
        assert_eq!(domain_query("", "dbl.example"), None);
        assert_eq!(domain_query("localhost", "dbl.example"), None);
        assert_eq!(domain_query("a..b", "dbl.example"), None);
        assert_eq!(domain_query("bücher.example", "dbl.example"), None);
    }

    #[test]
    fn private_addresses_are_recognised() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip(private)), "{private}");
        }
        for public in ["192.0.2.1", "8.8.8.8", "100.128.0.1", "2001:db8::1"] {
            assert!(!is_private(ip(public)), "{public}");
        }
    }

    #[test]
    fn answers_are_classified() {
        let a = |s: &str| Ok(vec![ip(s)]);
        assert_eq!(
            classify(a("127.0.0.2")),
            Answer::Listed(Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(
            classify(a("127.0.1.2")),
            Answer::Listed(Ipv4Addr::new(127, 0, 1, 2))
        );
        for refusal in [
            "127.0.0.1",
            "127.255.255.252",
            "127.255.255.254",
            "127.255.255.255",
            "127.0.1.255",
        ] {
            assert!(
                matches!(classify(a(refusal)), Answer::Refused(_)),
                "{refusal}"
            );
        }
        assert_eq!(classify(a("192.0.2.1")), Answer::NotListed);
        assert_eq!(classify(a("::127.0.0.2")), Answer::NotListed);
        assert_eq!(classify(Ok(vec![])), Answer::NotListed);
        assert_eq!(
            classify(Ok(vec![ip("127.255.255.254"), ip("127.0.0.3")])),
            Answer::Listed(Ipv4Addr::new(127, 0, 0, 3))
        );
        assert_eq!(
            classify(Err(DnsError::NxDomain("x".into()))),
            Answer::NotListed
        );
        assert_eq!(
            classify(Err(DnsError::Temporary {
                name: "x".into(),
                reason: "timeout".into()
            })),
            Answer::Temporary
        );
    }

    #[test]
    fn zone_symbols_are_known_or_derived() {
        assert_eq!(
            Zone::ip("zen.spamhaus.org.", 6.0).symbol,
            "RBL_SPAMHAUS_ZEN"
        );
        assert_eq!(
            Zone::ip("bl.example-list.org", 1.0).symbol,
            "RBL_BL_EXAMPLE_LIST_ORG"
        );
        assert_eq!(Zone::domain("dbl.spamhaus.org", 6.5).symbol, "DBL_SPAMHAUS");
        assert_eq!(Zone::domain("uri.example", 1.0).symbol, "URIBL_URI_EXAMPLE");
        assert_eq!(
            Zone::ip("bl.example", 1.0).with_symbol("my-list").symbol,
            "MY_LIST"
        );
        for (zone, symbol, weight) in KNOWN_ZONES {
            assert!(
                WEIGHTS.contains(&(*symbol, *weight)),
                "{zone}: {symbol} {weight} missing from WEIGHTS"
            );
        }
    }

    #[tokio::test]
    async fn join_bounded_keeps_the_order_and_the_bound() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let futures: Vec<Pin<Box<dyn Future<Output = usize> + Send>>> = (0..40usize)
            .map(|i| {
                let running = running.clone();
                let peak = peak.clone();
                Box::pin(async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let delay = ((40 - i) % 7) as u64;
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                }) as Pin<Box<dyn Future<Output = usize> + Send>>
            })
            .collect();
        let out = join_bounded(futures, 5).await;
        assert_eq!(out, (0..40).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 5);
        assert!(peak.load(Ordering::SeqCst) > 1, "ran concurrently");
    }
}
