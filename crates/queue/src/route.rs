//! Where mail for a domain goes: a smarthost (per domain, then global), or the domain's
//! MX hosts in preference order (RFC 5321 §5.1), the implicit MX (the domain's own
//! addresses) when it has none, and nowhere for a null MX (RFC 7505).

use std::net::{IpAddr, SocketAddr};

use mailstead_dns::{DnsError, MxAnswer};

use crate::{Queue, Smarthost};

/// Most addresses tried for one destination in one attempt.
const MAX_HOPS: usize = 10;

/// One server to try.
#[derive(Debug, Clone)]
pub(crate) struct Hop {
    /// The host name (for TLS verification and `Remote-MTA`).
    pub host: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// The relay's settings when this hop is a smarthost.
    pub smarthost: Option<Smarthost>,
}

/// Why there is no server to try.
#[derive(Debug, Clone)]
pub(crate) enum RouteError {
    /// The domain cannot receive mail: fail the recipients (`status`, `text`).
    Permanent {
        /// RFC 3463 status.
        status: &'static str,
        /// Why.
        text: String,
    },
    /// DNS trouble: retry later.
    Temporary(String),
}

fn dns_error(e: DnsError, what: &str) -> RouteError {
    match e {
        DnsError::NxDomain(name) => RouteError::Permanent {
            status: "5.1.2",
            text: format!("{what}: domain {name} does not exist"),
        },
        DnsError::InvalidName(name) => RouteError::Permanent {
            status: "5.1.2",
            text: format!("{what}: invalid domain name {name:?}"),
        },
        e @ DnsError::Temporary { .. } => RouteError::Temporary(e.to_string()),
    }
}

/// The relay for `domain`, if one is configured.
pub(crate) fn smarthost_for<'a>(queue: &'a Queue, domain: &str) -> Option<&'a Smarthost> {
    queue
        .config
        .domain_smarthosts
        .get(domain)
        .or(queue.config.smarthost.as_ref())
}

/// The servers to try for `domain`, in order.
pub(crate) async fn resolve(queue: &Queue, domain: &str) -> Result<Vec<Hop>, RouteError> {
    if let Some(relay) = smarthost_for(queue, domain) {
        let ips = match relay.host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => queue.resolver.ips(&relay.host).await.map_err(|e| {
                match dns_error(e, "smarthost") {
                    // A misconfigured relay is the operator's problem: keep the mail.
                    RouteError::Permanent { text, .. } => RouteError::Temporary(text),
                    t => t,
                }
            })?,
        };
        if ips.is_empty() {
            return Err(RouteError::Temporary(format!(
                "smarthost {} has no address",
                relay.host
            )));
        }
        return Ok(ips
            .into_iter()
            .take(MAX_HOPS)
            .map(|ip| Hop {
                host: relay.host.clone(),
                addr: SocketAddr::new(ip, relay.port),
                smarthost: Some(relay.clone()),
            })
            .collect());
    }
    // Address literals (`user@[192.0.2.1]`) are not routed: the submission side refuses
    // them, and a domain that is an IP is not a domain.
    let port = queue.config.remote_port;
    let hosts: Vec<String> = match queue.resolver.mx(domain).await {
        Ok(MxAnswer::NullMx) => {
            return Err(RouteError::Permanent {
                status: "5.1.10",
                text: format!("{domain} accepts no mail (null MX, RFC 7505)"),
            });
        }
        Ok(MxAnswer::Hosts(mx)) => mx.into_iter().map(|m| m.exchange).collect(),
        Ok(MxAnswer::NoMx) => vec![domain.to_string()],
        Err(e) => return Err(dns_error(e, "MX lookup")),
    };
    let mut hops = Vec::new();
    let mut last_error = None;
    for host in hosts {
        match queue.resolver.ips(&host).await {
            Ok(ips) => {
                for ip in ips {
                    if hops.len() < MAX_HOPS {
                        hops.push(Hop {
                            host: host.clone(),
                            addr: SocketAddr::new(ip, port),
                            smarthost: None,
                        });
                    }
                }
            }
            Err(e) => last_error = Some(e),
        }
    }
    if hops.is_empty() {
        return Err(match last_error {
            Some(e @ DnsError::Temporary { .. }) => RouteError::Temporary(e.to_string()),
            // Every host name is NXDOMAIN or has no address: RFC 5321 §5.1 says such a
            // domain is unreachable; Postfix defers in case it is a passing DNS problem.
            _ => RouteError::Temporary(format!("no address for any mail server of {domain}")),
        });
    }
    Ok(hops)
}
