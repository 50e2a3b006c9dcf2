//! DNS lookups for mailstead: MX for the outbound queue, A/AAAA for the hosts it connects
//! to, TXT for SPF, DKIM and DMARC, PTR for iprev and SPF's `ptr`.
//!
//! Everything that needs DNS takes an `Arc<dyn` [`Resolver`]`>`: [`HickoryResolver`] in
//! production (hickory-resolver with its cache, UDP with TCP fallback), [`MockResolver`]
//! in session tests (a table, no network), and with the `testing` feature
//! `testing::Unbound`, a real DNS server on loopback that a [`HickoryResolver`] can be
//! pointed at.
//!
//! # RFCs
//!
//! | RFC | What | Where |
//! |-----|------|-------|
//! | 1035 | names: labels of 1–63 octets, at most 255 octets in wire form (§2.3.4); MX (§3.3.9), TXT (§3.3.14) | [`name`], [`answer`] |
//! | 2308 | negative answers: NXDOMAIN (name error, §2.1) versus NODATA (§2.2) | [`DnsError::NxDomain`], [`MxAnswer::NoMx`] |
//! | 5321 | §5.1: MX ordered by preference, equal preferences in random order; no MX → the implicit MX (the domain's own A/AAAA) | [`MxAnswer`] |
//! | 7505 | null MX: a single MX `0 .` means the domain accepts no mail (§3) | [`MxAnswer::NullMx`] |
//! | 7208 | §3.3: the character-strings of one TXT record are concatenated | [`Resolver::txt`] |
//! | 1035, 3596 | reverse lookups: PTR at `<octets reversed>.in-addr.arpa` (RFC 1035 §3.5), `<nibbles reversed>.ip6.arpa` (RFC 3596 §2.5) | [`Resolver::ptr`], [`name::reverse_name`] |
//!
//! # Modules
//!
//! - [`answer`] — [`Mx`], [`MxAnswer`] and how MX records become an answer.
//! - [`error`] — [`DnsError`], permanent ([`DnsError::NxDomain`], [`DnsError::InvalidName`])
//!   or temporary.
//! - [`name`] — the name check and normal form shared by both resolvers, and
//!   [`name::reverse_name`] for PTR lookups.
//! - [`config`] — [`DnsConfig`], and the system's nameservers from `/etc/resolv.conf`.
//! - [`hickory`] — [`HickoryResolver`].
//! - [`mock`] — [`MockResolver`].
//! - `testing` (feature `testing`) — `testing::Unbound`.
//!
//! # Invariants
//!
//! - Names are compared and queried in one normal form: ASCII, lower case, no trailing
//!   dot; queries go out fully qualified, so no search domain is ever appended (a mail
//!   server must not deliver `example.com` mail to `example.com.corp.local`).
//! - NXDOMAIN (the name does not exist) is the only permanent lookup failure; NODATA (the
//!   name exists without records of the type) is an empty answer, never an error; every
//!   other failure (SERVFAIL, REFUSED, timeout, network) is [`DnsError::Temporary`].
//! - [`MxAnswer::Hosts`] is never empty and never contains the root (`.`) exchange.
//! - The two resolvers agree: the same records give the same answer through
//!   [`HickoryResolver`] (tested against unbound) and [`MockResolver`].

pub mod answer;
pub mod config;
pub mod error;
pub mod hickory;
pub mod mock;
pub mod name;
#[cfg(feature = "testing")]
pub mod testing;

use std::net::IpAddr;

pub use answer::{Mx, MxAnswer};
pub use config::DnsConfig;
pub use error::DnsError;
pub use hickory::HickoryResolver;
pub use mock::MockResolver;

/// A DNS resolver: the lookups mail delivery and mail authentication need.
///
/// Names may be given with or without a trailing dot, in any case; they must be ASCII
/// (IDNA conversion is the caller's job), or the lookup fails with
/// [`DnsError::InvalidName`].
#[async_trait::async_trait]
pub trait Resolver: Send + Sync + 'static {
    /// The MX records of `domain` (RFC 5321 §5.1, RFC 7505).
    async fn mx(&self, domain: &str) -> Result<MxAnswer, DnsError>;

    /// A and AAAA of a host (IPv4 first, then IPv6); empty for NODATA; NxDomain for
    /// NXDOMAIN.
    ///
    /// A temporary failure of either query fails the whole lookup with
    /// [`DnsError::Temporary`], even when the other query found addresses: the caller
    /// then sees every address or retries, never a silently partial list.
    async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, DnsError>;

    /// TXT records of a name, each record's character-strings concatenated (RFC 7208
    /// §3.3); empty for NODATA.
    ///
    /// Records are bytes on the wire; octets that are not UTF-8 become U+FFFD (SPF, DKIM
    /// and DMARC records are ASCII, so such a record is invalid to them either way).
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;

    /// The PTR records of `ip` (looked up at [`name::reverse_name`]): the host names in
    /// normal form (lower case, no trailing dot), in the order received; empty for NODATA;
    /// [`DnsError::NxDomain`] naming the reverse name for NXDOMAIN.
    ///
    /// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is looked up as its IPv4 address.
    /// Targets that are not valid host names (and the root) are left out.
    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsError>;
}
