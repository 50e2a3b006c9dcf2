//! [`MockResolver`]: a table of names and records, for tests that must not touch the
//! network.
//!
//! Built with chained calls, then shared as an `Arc<dyn Resolver>`:
//!
//! ```
//! use std::sync::Arc;
//! use mailstead_dns::{MockResolver, MxAnswer, Resolver};
//! # tokio_test_block_on(async {
//! let dns: Arc<dyn Resolver> = Arc::new(MockResolver::new()
//!     .mx("example.com", &[(10, "mx1.example.com"), (20, "mx2.example.com")])
//!     .ip("mx1.example.com", &["192.0.2.1".parse().unwrap()])
//!     .null_mx("nomail.example")
//!     .temporary_failure("flaky.example"));
//! assert!(matches!(dns.mx("Example.COM.").await, Ok(MxAnswer::Hosts(_))));
//! assert_eq!(dns.mx("nomail.example").await, Ok(MxAnswer::NullMx));
//! assert!(dns.mx("unknown.example").await.is_err());
//! # });
//! # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! The builder methods [`MockResolver::mx`] and [`MockResolver::txt`] share their names
//! with lookups of [`Resolver`]; on a `MockResolver` value the builder wins, so look up
//! through the trait: an `Arc<dyn Resolver>`, a `&dyn Resolver`, or
//! `Resolver::mx(&dns, "example.com")`.
//!
//! Semantics, the same as [`crate::HickoryResolver`] against a server holding the same
//! records: a name not in the table is NXDOMAIN (for PTR: an address without
//! [`MockResolver::ptr`] entries); a name in the table without records of
//! the asked type is NODATA (so a name with only `ip`/`txt` entries gives
//! [`MxAnswer::NoMx`]); MX records go through [`MxAnswer::from_records`], so preference
//! order, shuffling and null MX behave as in production. Names are compared in the
//! normal form of [`crate::name::normalize`] (case-insensitive, trailing dot ignored);
//! invalid names fail with [`DnsError::InvalidName`] as they would for real. The
//! builder methods add to what a name already has, except [`MockResolver::nxdomain`]
//! and [`MockResolver::temporary_failure`], which override all of it.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::{DnsError, MxAnswer, Resolver, name};

/// A table-driven resolver for tests: no network.
#[derive(Debug, Clone, Default)]
pub struct MockResolver {
    names: HashMap<String, Entry>,
}

/// What the table holds for one name.
#[derive(Debug, Clone, Default)]
struct Entry {
    outcome: Outcome,
    mx: Vec<(u16, String)>,
    ips: Vec<IpAddr>,
    txt: Vec<String>,
    ptr: Vec<String>,
}

/// How lookups of one name end, whatever the record type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Outcome {
    /// The name exists: answer from its records.
    #[default]
    Exists,
    /// NXDOMAIN, set with [`MockResolver::nxdomain`].
    NxDomain,
    /// SERVFAIL, set with [`MockResolver::temporary_failure`].
    Temporary,
}

impl MockResolver {
    /// An empty table: every name is NXDOMAIN.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds MX records (preference, exchange) to `domain`; an exchange of `"."` is the
    /// root, as in a null MX.
    pub fn mx(mut self, domain: &str, records: &[(u16, &str)]) -> Self {
        self.entry(domain).mx.extend(
            records
                .iter()
                .map(|&(preference, exchange)| (preference, exchange.to_owned())),
        );
        self
    }

    /// Gives `domain` a null MX, `MX 0 .` (RFC 7505): it accepts no mail.
    pub fn null_mx(self, domain: &str) -> Self {
        self.mx(domain, &[(0, ".")])
    }

    /// Adds A and AAAA records to `host` (returned IPv4 first, each family in the order
    /// given).
    pub fn ip(mut self, host: &str, ips: &[IpAddr]) -> Self {
        self.entry(host).ips.extend_from_slice(ips);
        self
    }

    /// Adds TXT records to `name`, each given as its character-strings already
    /// concatenated.
    pub fn txt(mut self, name: &str, records: &[&str]) -> Self {
        self.entry(name)
            .txt
            .extend(records.iter().map(|&record| record.to_owned()));
        self
    }

    /// Adds PTR records for `ip`: host names (any case, with or without the trailing dot),
    /// kept under the reverse name ([`name::reverse_name`]), so
    /// `.temporary_failure(&reverse_name(ip))` and `.nxdomain(..)` apply to them too.
    pub fn ptr(mut self, ip: IpAddr, names: &[&str]) -> Self {
        self.entry(&name::reverse_name(ip))
            .ptr
            .extend(names.iter().map(|&host| host.to_owned()));
        self
    }

    /// Makes every lookup of `name` answer NXDOMAIN (the default for names never
    /// mentioned; useful to override earlier entries).
    pub fn nxdomain(mut self, name: &str) -> Self {
        self.entry(name).outcome = Outcome::NxDomain;
        self
    }

    /// Makes every lookup of `name` fail with [`DnsError::Temporary`], as a SERVFAIL or
    /// timeout would.
    pub fn temporary_failure(mut self, name: &str) -> Self {
        self.entry(name).outcome = Outcome::Temporary;
        self
    }

    fn entry(&mut self, name: &str) -> &mut Entry {
        // An invalid name is kept under a key no lookup reaches: lookups of it fail with
        // InvalidName before the table is consulted, as the real resolver's would.
        let key = name::normalize(name).unwrap_or_else(|_| name.to_owned());
        self.names.entry(key).or_default()
    }

    /// The entry of an existing name, or the error its lookup ends with.
    fn lookup(&self, name: &str) -> Result<&Entry, DnsError> {
        let key = name::normalize(name)?;
        match self.names.get(&key) {
            None => Err(DnsError::NxDomain(key)),
            Some(entry) => match entry.outcome {
                Outcome::Exists => Ok(entry),
                Outcome::NxDomain => Err(DnsError::NxDomain(key)),
                Outcome::Temporary => Err(DnsError::Temporary {
                    name: key,
                    reason: "SERVFAIL (mock)".to_owned(),
                }),
            },
        }
    }
}

#[async_trait::async_trait]
impl Resolver for MockResolver {
    async fn mx(&self, domain: &str) -> Result<MxAnswer, DnsError> {
        let entry = self.lookup(domain)?;
        MxAnswer::from_records(entry.mx.iter().map(|(pref, host)| (*pref, host.as_str())))
    }

    async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        let entry = self.lookup(host)?;
        let (mut ips, v6): (Vec<IpAddr>, Vec<IpAddr>) =
            entry.ips.iter().partition(|ip| ip.is_ipv4());
        ips.extend(v6);
        Ok(ips)
    }

    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        Ok(self.lookup(name)?.txt.clone())
    }

    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError> {
        let entry = self.lookup(&name::reverse_name(ip))?;
        Ok(entry
            .ptr
            .iter()
            .filter_map(|host| name::normalize(host).ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mx;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn mx(preference: u16, exchange: &str) -> Mx {
        Mx {
            preference,
            exchange: exchange.to_owned(),
        }
    }

    #[tokio::test]
    async fn mx_records_come_sorted_by_preference() {
        let dns: &dyn Resolver = &MockResolver::new().mx(
            "example.com",
            &[(20, "mx2.example.com."), (10, "MX1.example.com")],
        );
        assert_eq!(
            dns.mx("example.com").await,
            Ok(MxAnswer::Hosts(vec![
                mx(10, "mx1.example.com"),
                mx(20, "mx2.example.com")
            ]))
        );
    }

    #[tokio::test]
    async fn names_are_case_insensitive_and_trailing_dot_is_ignored() {
        let dns: &dyn Resolver = &MockResolver::new()
            .mx("Example.COM.", &[(10, "mx.example.com")])
            .ip("MX.example.com", &[ip("192.0.2.1")]);
        for name in ["example.com", "EXAMPLE.com.", "example.com."] {
            assert_eq!(
                dns.mx(name).await,
                Ok(MxAnswer::Hosts(vec![mx(10, "mx.example.com")])),
                "{name}"
            );
        }
        assert_eq!(dns.ips("mx.EXAMPLE.com.").await, Ok(vec![ip("192.0.2.1")]));
    }

    #[tokio::test]
    async fn null_mx_is_reported() {
        let dns: &dyn Resolver = &MockResolver::new().null_mx("nomail.example");
        assert_eq!(dns.mx("nomail.example").await, Ok(MxAnswer::NullMx));
    }

    #[tokio::test]
    async fn a_name_with_only_addresses_has_no_mx() {
        let dns: &dyn Resolver = &MockResolver::new()
            .ip("implicit.example", &[ip("192.0.2.7")])
            .txt("spf-only.example", &["v=spf1 -all"]);
        assert_eq!(dns.mx("implicit.example").await, Ok(MxAnswer::NoMx));
        assert_eq!(dns.mx("spf-only.example").await, Ok(MxAnswer::NoMx));
    }

    #[tokio::test]
    async fn unknown_names_are_nxdomain_for_every_type() {
        let dns: &dyn Resolver = &MockResolver::new().mx("example.com", &[(10, "mx.example.com")]);
        let nx = Err(DnsError::NxDomain("unknown.example".into()));
        assert_eq!(
            dns.mx("Unknown.Example.").await,
            nx.clone().map(|()| MxAnswer::NoMx)
        );
        assert_eq!(
            dns.ips("unknown.example").await,
            nx.clone().map(|()| vec![])
        );
        assert_eq!(dns.txt("unknown.example").await, nx.map(|()| vec![]));
    }

    #[tokio::test]
    async fn known_names_without_the_type_are_nodata() {
        let dns: &dyn Resolver = &MockResolver::new().mx("example.com", &[(10, "mx.example.com")]);
        assert_eq!(dns.ips("example.com").await, Ok(vec![]));
        assert_eq!(dns.txt("example.com").await, Ok(vec![]));
    }

    #[tokio::test]
    async fn ipv4_comes_before_ipv6() {
        let dns: &dyn Resolver = &MockResolver::new()
            .ip("host.example", &[ip("2001:db8::1"), ip("192.0.2.1")])
            .ip("host.example", &[ip("2001:db8::2"), ip("192.0.2.2")]);
        assert_eq!(
            dns.ips("host.example").await,
            Ok(vec![
                ip("192.0.2.1"),
                ip("192.0.2.2"),
                ip("2001:db8::1"),
                ip("2001:db8::2")
            ])
        );
    }

    #[tokio::test]
    async fn txt_records_are_returned_in_order() {
        let dns: &dyn Resolver = &MockResolver::new()
            .txt("example.com", &["v=spf1 mx -all"])
            .txt("example.com", &["google-site-verification=x"]);
        assert_eq!(
            dns.txt("example.com").await,
            Ok(vec![
                "v=spf1 mx -all".to_owned(),
                "google-site-verification=x".to_owned()
            ])
        );
    }

    #[tokio::test]
    async fn nxdomain_overrides_records() {
        let dns: &dyn Resolver = &MockResolver::new()
            .ip("gone.example", &[ip("192.0.2.1")])
            .nxdomain("gone.example");
        assert_eq!(
            dns.ips("gone.example").await,
            Err(DnsError::NxDomain("gone.example".into()))
        );
    }

    #[tokio::test]
    async fn temporary_failure_is_temporary_for_every_type() {
        let dns: &dyn Resolver = &MockResolver::new()
            .mx("flaky.example", &[(10, "mx.flaky.example")])
            .temporary_failure("Flaky.Example.");
        let mx_err = dns.mx("flaky.example").await.unwrap_err();
        assert!(mx_err.is_temporary());
        assert_eq!(
            mx_err,
            DnsError::Temporary {
                name: "flaky.example".into(),
                reason: "SERVFAIL (mock)".into()
            }
        );
        assert!(dns.ips("flaky.example").await.unwrap_err().is_temporary());
        assert!(dns.txt("flaky.example").await.unwrap_err().is_temporary());
    }

    #[tokio::test]
    async fn invalid_names_are_refused() {
        let dns: &dyn Resolver = &MockResolver::new().ip("a..b", &[ip("192.0.2.1")]);
        assert_eq!(
            dns.ips("a..b").await,
            Err(DnsError::InvalidName("a..b".into()))
        );
        assert_eq!(dns.mx("").await, Err(DnsError::InvalidName(String::new())));
    }

    #[tokio::test]
    async fn ptr_records_come_normalized_in_order() {
        let dns: &dyn Resolver = &MockResolver::new()
            .ptr(ip("192.0.2.1"), &["Mail.Example.com.", "alias.example.net"])
            .ptr(ip("2001:db8::1"), &["v6.example.com"]);
        assert_eq!(
            dns.ptr(ip("192.0.2.1")).await,
            Ok(vec![
                "mail.example.com".to_owned(),
                "alias.example.net".to_owned()
            ])
        );
        assert_eq!(
            dns.ptr(ip("2001:db8::1")).await,
            Ok(vec!["v6.example.com".to_owned()])
        );
        // An IPv4-mapped address is its IPv4 address.
        assert_eq!(
            dns.ptr(ip("::ffff:192.0.2.1"))
                .await
                .map(|names| names.len()),
            Ok(2)
        );
    }

    #[tokio::test]
    async fn ptr_of_an_unknown_address_is_nxdomain_and_invalid_targets_are_dropped() {
        let dns: &dyn Resolver = &MockResolver::new()
            .ptr(ip("192.0.2.1"), &["bad..name", "ok.example"])
            .txt("2.2.0.192.in-addr.arpa", &["not a ptr"]);
        assert_eq!(
            dns.ptr(ip("192.0.2.1")).await,
            Ok(vec!["ok.example".to_owned()])
        );
        assert_eq!(
            dns.ptr(ip("192.0.2.9")).await,
            Err(DnsError::NxDomain("9.2.0.192.in-addr.arpa".into()))
        );
        // The reverse name exists with another type: NODATA.
        assert_eq!(dns.ptr(ip("192.0.2.2")).await, Ok(vec![]));
    }

    #[tokio::test]
    async fn ptr_temporary_failure_is_set_on_the_reverse_name() {
        let dns: &dyn Resolver = &MockResolver::new()
            .ptr(ip("192.0.2.1"), &["mail.example.com"])
            .temporary_failure(&name::reverse_name(ip("192.0.2.1")));
        assert!(dns.ptr(ip("192.0.2.1")).await.unwrap_err().is_temporary());
    }

    #[tokio::test]
    async fn usable_as_a_shared_trait_object() {
        let dns: std::sync::Arc<dyn Resolver> =
            std::sync::Arc::new(MockResolver::new().ip("h.example", &[ip("192.0.2.1")]));
        assert_eq!(dns.ips("h.example").await, Ok(vec![ip("192.0.2.1")]));
    }
}
