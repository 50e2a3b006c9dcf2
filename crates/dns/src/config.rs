//! [`DnsConfig`]: which nameservers to ask, how long to wait, how often to try.
//!
//! With no nameservers configured, the system's are used: the `nameserver` lines of
//! `/etc/resolv.conf`, read by [`parse_resolv_conf`]. Only those lines are read, on
//! purpose: `search`, `domain` and `ndots` must not apply to a mail server's queries
//! (every query is fully qualified), and the timeout and attempts come from
//! [`DnsConfig`]. This is a dozen lines instead of hickory's `system-config` feature and
//! its dependencies. As glibc does, a missing file or one without a usable `nameserver`
//! line means `127.0.0.1:53`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::DnsError;

/// The system resolver configuration read when [`DnsConfig::nameservers`] is empty.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// The nameserver used when the system names none (glibc's default).
pub const FALLBACK_NAMESERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53);

/// Where to send queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// Nameservers (UDP with TCP fallback on truncation), tried in order; empty = the
    /// system's /etc/resolv.conf.
    pub nameservers: Vec<SocketAddr>,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Tries per query.
    pub attempts: usize,
}

impl Default for DnsConfig {
    /// The system's nameservers, a 5 s timeout, 2 tries.
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

impl DnsConfig {
    /// The nameservers to use: [`DnsConfig::nameservers`], or when that is empty the
    /// system's from [`RESOLV_CONF`] (see the module documentation).
    ///
    /// # Errors
    ///
    /// [`DnsError::Temporary`] naming [`RESOLV_CONF`] when the file exists but cannot be
    /// read.
    pub fn effective_nameservers(&self) -> Result<Vec<SocketAddr>, DnsError> {
        if !self.nameservers.is_empty() {
            return Ok(self.nameservers.clone());
        }
        let text = match std::fs::read_to_string(RESOLV_CONF) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(err) => {
                return Err(DnsError::Temporary {
                    name: RESOLV_CONF.to_owned(),
                    reason: format!("cannot read: {err}"),
                });
            }
        };
        let servers = parse_resolv_conf(&text);
        if servers.is_empty() {
            Ok(vec![FALLBACK_NAMESERVER])
        } else {
            Ok(servers)
        }
    }
}

/// The nameservers of a resolv.conf(5) text, port 53, in file order.
///
/// Reads `nameserver <ip>` lines; skips comments (`#`, `;`), every other keyword, and
/// addresses it cannot parse (such as IPv6 link-local ones with a `%zone` suffix).
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next() != Some("nameserver") {
                return None;
            }
            let ip: IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_system_servers_5s_2_tries() {
        let config = DnsConfig::default();
        assert!(config.nameservers.is_empty());
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert_eq!(config.attempts, 2);
    }

    #[test]
    fn resolv_conf_nameserver_lines_are_read_in_order() {
        let text = "\
# generated
search corp.example
options ndots:5 timeout:1
nameserver 192.0.2.53
; nameserver 192.0.2.99
  nameserver\t2001:db8::53
nameserver fe80::1%eth0
nameserver not-an-ip
nameserver
domain corp.example
";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                "192.0.2.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap(),
            ]
        );
    }

    #[test]
    fn configured_nameservers_win_over_the_system() {
        let config = DnsConfig {
            nameservers: vec!["127.0.0.1:5353".parse().unwrap()],
            ..DnsConfig::default()
        };
        assert_eq!(
            config.effective_nameservers().unwrap(),
            vec!["127.0.0.1:5353".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn system_nameservers_are_never_empty() {
        // Whatever this machine's resolv.conf says, there is at least the fallback.
        if let Ok(servers) = DnsConfig::default().effective_nameservers() {
            assert!(!servers.is_empty());
        }
    }
}
