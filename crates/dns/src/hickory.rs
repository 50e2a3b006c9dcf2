//! [`HickoryResolver`]: the production [`Resolver`], hickory-resolver underneath.
//!
//! Set-up (see [`HickoryResolver::new`]): the nameservers of [`DnsConfig`] (or of
//! `/etc/resolv.conf`, see [`crate::config`]), each over UDP with TCP when an answer comes
//! back truncated, asked in the given order one at a time; no search domains and
//! `ndots: 0`, and every query written fully qualified anyway; `/etc/hosts` is not
//! consulted (mail routing is DNS's business); hickory's response cache, which honours
//! TTLs and caches negative answers for their SOA minimum (RFC 2308 §5). No DNSSEC, no
//! encrypted transports.
//!
//! hickory reports "no records" as an error carrying the response code: NXDOMAIN becomes
//! [`DnsError::NxDomain`], NOERROR (NODATA, RFC 2308 §2.2) an empty answer; an answer
//! whose records are all of another type (a CNAME whose target lacks the type) is also
//! empty. PTR lookups ask for the name of [`name::reverse_name`] like any other name.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as HickoryDnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use crate::{DnsConfig, DnsError, MxAnswer, Resolver, name};

/// The real resolver (hickory-resolver), with hickory's cache.
///
/// Cheap to share: put it in an `Arc` and hand it to every user; the cache is shared.
pub struct HickoryResolver {
    inner: TokioResolver,
    nameservers: Vec<SocketAddr>,
}

impl fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HickoryResolver")
            .field("nameservers", &self.nameservers)
            .finish_non_exhaustive()
    }
}

impl HickoryResolver {
    /// A resolver asking the nameservers of `config` (the system's when it names none),
    /// as described in the module documentation.
    ///
    /// Needs no runtime to be built; lookups must run inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`DnsError::Temporary`] when `/etc/resolv.conf` is needed but unreadable, or
    /// hickory refuses the configuration.
    pub fn new(config: &DnsConfig) -> Result<Self, DnsError> {
        let nameservers = config.effective_nameservers()?;
        let name_servers = nameservers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                // Tried in this order: UDP, and TCP when UDP's answer is truncated.
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            })
            .collect();
        let resolver_config = ResolverConfig::from_parts(None, Vec::new(), name_servers);

        let mut options = ResolverOpts::default();
        options.ndots = 0;
        options.timeout = config.timeout;
        options.attempts = config.attempts;
        options.use_hosts_file = ResolveHosts::Never;
        // "Tried in order": one server at a time, in the configured order.
        options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
        options.num_concurrent_reqs = 1;

        let inner =
            TokioResolver::builder_with_config(resolver_config, TokioRuntimeProvider::default())
                .with_options(options)
                .build()
                .map_err(|err| DnsError::Temporary {
                    name: format!("{nameservers:?}"),
                    reason: format!("cannot set up the resolver: {err}"),
                })?;
        Ok(Self { inner, nameservers })
    }

    /// The nameservers this resolver asks, in order.
    pub fn nameservers(&self) -> &[SocketAddr] {
        &self.nameservers
    }

    /// Looks `name` up for `record_type`: `Ok(None)` for NODATA.
    async fn lookup(
        &self,
        query: &Query,
        record_type: RecordType,
    ) -> Result<Option<Lookup>, DnsError> {
        match self.inner.lookup(query.fqdn.clone(), record_type).await {
            Ok(lookup) => Ok(Some(lookup)),
            Err(err) => match &err {
                NetError::Dns(HickoryDnsError::NoRecordsFound(no_records)) => {
                    match no_records.response_code {
                        ResponseCode::NXDomain => Err(DnsError::NxDomain(query.name.clone())),
                        ResponseCode::NoError => Ok(None),
                        code => Err(query.temporary(format!("{record_type}: {code}"))),
                    }
                }
                _ => Err(query.temporary(format!("{record_type}: {err}"))),
            },
        }
    }
}

/// A checked name: its normal form for errors, its FQDN for hickory.
struct Query {
    name: String,
    fqdn: Name,
}

impl Query {
    fn new(input: &str) -> Result<Self, DnsError> {
        let name = name::normalize(input)?;
        let fqdn = Name::from_ascii(format!("{name}."))
            .map_err(|_| DnsError::InvalidName(input.to_owned()))?;
        Ok(Self { name, fqdn })
    }

    fn temporary(&self, reason: String) -> DnsError {
        tracing::debug!(domain = %self.name, reason, "temporary DNS failure");
        DnsError::Temporary {
            name: self.name.clone(),
            reason,
        }
    }
}

#[async_trait::async_trait]
impl Resolver for HickoryResolver {
    async fn mx(&self, domain: &str) -> Result<MxAnswer, DnsError> {
        let query = Query::new(domain)?;
        let Some(lookup) = self.lookup(&query, RecordType::MX).await? else {
            return Ok(MxAnswer::NoMx);
        };
        let records: Vec<(u16, String)> = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::MX(mx) if mx.exchange.is_root() => Some((mx.preference, ".".to_owned())),
                RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                _ => None,
            })
            .collect();
        MxAnswer::from_records(records.iter().map(|(pref, host)| (*pref, host.as_str())))
    }

    async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        let query = Query::new(host)?;
        let (v4, v6) = tokio::join!(
            self.lookup(&query, RecordType::A),
            self.lookup(&query, RecordType::AAAA)
        );
        let addresses = |lookup: Option<Lookup>| -> Vec<IpAddr> {
            lookup
                .iter()
                .flat_map(|lookup| lookup.answers())
                .filter_map(|record| match &record.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                    _ => None,
                })
                .collect()
        };
        match (v4, v6) {
            (Err(err), _) | (_, Err(err)) if err.is_temporary() => Err(err),
            (Ok(v4), Ok(v6)) => Ok(addresses(v4).into_iter().chain(addresses(v6)).collect()),
            // NXDOMAIN for one type and an answer for the other: the name does exist
            // (a server changing its mind between the two queries); take what there is.
            (Ok(found), Err(nx)) | (Err(nx), Ok(found)) => {
                let found = addresses(found);
                if found.is_empty() { Err(nx) } else { Ok(found) }
            }
            (Err(nx), Err(_)) => Err(nx),
        }
    }

    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let query = Query::new(name)?;
        let Some(lookup) = self.lookup(&query, RecordType::TXT).await? else {
            return Ok(Vec::new());
        };
        Ok(lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => {
                    // RFC 7208 §3.3: the strings of one record are joined without spaces.
                    let bytes: Vec<u8> = txt.txt_data.iter().flatten().copied().collect();
                    Some(String::from_utf8_lossy(&bytes).into_owned())
                }
                _ => None,
            })
            .collect())
    }

    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError> {
        let query = Query::new(&name::reverse_name(ip))?;
        let Some(lookup) = self.lookup(&query, RecordType::PTR).await? else {
            return Ok(Vec::new());
        };
        Ok(lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::PTR(ptr) if !ptr.0.is_root() => name::normalize(&ptr.0.to_ascii()).ok(),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_explicit_nameservers_outside_a_runtime() {
        let config = DnsConfig {
            nameservers: vec!["127.0.0.1:5353".parse().unwrap()],
            ..DnsConfig::default()
        };
        let resolver = HickoryResolver::new(&config).unwrap();
        assert_eq!(
            resolver.nameservers(),
            ["127.0.0.1:5353".parse::<SocketAddr>().unwrap()]
        );
    }

    #[tokio::test]
    async fn invalid_names_are_refused_before_any_query() {
        // No server listens on this port: a query would time out, not say InvalidName.
        let config = DnsConfig {
            nameservers: vec!["127.0.0.1:9".parse().unwrap()],
            ..DnsConfig::default()
        };
        let resolver = HickoryResolver::new(&config).unwrap();
        assert_eq!(
            resolver.mx("a..b").await,
            Err(DnsError::InvalidName("a..b".into()))
        );
        assert_eq!(
            resolver.ips("").await,
            Err(DnsError::InvalidName(String::new()))
        );
        assert_eq!(
            resolver.txt("bad name").await,
            Err(DnsError::InvalidName("bad name".into()))
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_temporary_failure() {
        let config = DnsConfig {
            // Port 9 (discard) on loopback: nothing answers; UDP gets "connection
            // refused" or silence, both temporary.
            nameservers: vec!["127.0.0.1:9".parse().unwrap()],
            timeout: std::time::Duration::from_millis(200),
            attempts: 1,
        };
        let resolver = HickoryResolver::new(&config).unwrap();
        let err = resolver.mx("example.test").await.unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
        let DnsError::Temporary { name, .. } = err else {
            unreachable!()
        };
        assert_eq!(name, "example.test");
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_ptr_lookups_temporarily() {
        let config = DnsConfig {
            nameservers: vec!["127.0.0.1:9".parse().unwrap()],
            timeout: std::time::Duration::from_millis(200),
            attempts: 1,
        };
        let resolver = HickoryResolver::new(&config).unwrap();
        let err = resolver
            .ptr("192.0.2.1".parse().unwrap())
            .await
            .unwrap_err();
        let DnsError::Temporary { name, .. } = err else {
            panic!("expected a temporary failure, got {err:?}");
        };
        assert_eq!(name, "1.2.0.192.in-addr.arpa");
    }
}
