//! The one normal form of a name, used for queries and for comparing names.
//!
//! [`normalize`] checks the RFC 1035 §2.3.4 limits (labels of 1 to 63 octets, a name of
//! at most 253 characters without the trailing dot, i.e. 255 octets in wire form) and
//! returns the name in lower case without its trailing dot. Any printable ASCII character
//! other than `\` is allowed in a label, not only letters, digits and hyphens: DKIM and
//! DMARC names have underscores (`sel._domainkey.example.com`, `_dmarc.example.com`) and
//! SPF macros (RFC 7208 §7) expand to arbitrary characters. `\` is refused because DNS
//! presentation format reads it as an escape. Non-ASCII names are refused: IDNA (RFC
//! 5891) is the caller's job.
//!
//! [`reverse_name`] gives the `in-addr.arpa` / `ip6.arpa` name of an address, where its
//! PTR records are.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::DnsError;

/// The longest name, in characters, without the trailing dot (255 octets in wire form).
pub const MAX_NAME_LEN: usize = 253;

/// The longest label, in octets (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// `name` in normal form: lower case, without the trailing dot, checked as described in
/// the module documentation.
///
/// # Errors
///
/// [`DnsError::InvalidName`] for an empty name, the root (`.`), an empty or over-long
/// label, an over-long name, or a character outside printable ASCII (or `\`).
pub fn normalize(name: &str) -> Result<String, DnsError> {
    let invalid = || DnsError::InvalidName(name.to_owned());
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() || bare.len() > MAX_NAME_LEN {
        return Err(invalid());
    }
    for label in bare.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(invalid());
        }
        if !label.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
            return Err(invalid());
        }
    }
    Ok(bare.to_ascii_lowercase())
}

/// `name` in normal form (see [`normalize`]) with a trailing dot, as a query must be
/// written so that no search domain is appended.
///
/// # Errors
///
/// As [`normalize`].
pub fn fqdn(name: &str) -> Result<String, DnsError> {
    normalize(name).map(|bare| bare + ".")
}

/// The name the PTR records of `ip` live at, in normal form: the four octets reversed
/// under `in-addr.arpa` (RFC 1035 §3.5), or the 32 nibbles of an IPv6 address reversed
/// under `ip6.arpa` (RFC 3596 §2.5). An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) gives
/// the name of its IPv4 address: that is where its PTR records are published.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                // Writing to a String cannot fail.
                let _ = write!(name, "{:x}.{:x}.", byte & 0x0f, byte >> 4);
            }
            name.push_str("ip6.arpa");
            name
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_dot_and_case_are_normalized_away() {
        assert_eq!(normalize("Example.COM.").unwrap(), "example.com");
        assert_eq!(normalize("example.com").unwrap(), "example.com");
        assert_eq!(normalize("localhost").unwrap(), "localhost");
        assert_eq!(fqdn("Example.com").unwrap(), "example.com.");
    }

    #[test]
    fn underscores_and_digits_are_allowed() {
        assert_eq!(
            normalize("sel1._domainkey.Example.com").unwrap(),
            "sel1._domainkey.example.com"
        );
        assert_eq!(
            normalize("_dmarc.example.com").unwrap(),
            "_dmarc.example.com"
        );
        assert_eq!(normalize("192.0.2.1").unwrap(), "192.0.2.1");
    }

    #[test]
    fn malformed_names_are_invalid() {
        for bad in [
            "",
            ".",
            "..",
            "a..b",
            ".example.com",
            "example.com..",
            "exa mple.com",
            "exam\\046ple.com",
            "bücher.example",
            "tab\t.example",
        ] {
            assert_eq!(
                normalize(bad),
                Err(DnsError::InvalidName(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reverse_names_follow_rfc_1035_and_3596() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(reverse_name(ip("192.0.2.1")), "1.2.0.192.in-addr.arpa");
        assert_eq!(reverse_name(ip("10.0.0.255")), "255.0.0.10.in-addr.arpa");
        // RFC 3596 §2.5's example.
        assert_eq!(
            reverse_name(ip("4321:0:1:2:3:4:567:89ab")),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa"
        );
        assert_eq!(
            reverse_name(ip("::ffff:192.0.2.1")),
            "1.2.0.192.in-addr.arpa"
        );
        // Reverse names are names like any other.
        let v6 = reverse_name(ip("2001:db8::1"));
        assert_eq!(normalize(&v6).unwrap(), v6);
    }

    #[test]
    fn length_limits_follow_rfc_1035() {
        let label63 = "a".repeat(63);
        assert!(normalize(&format!("{label63}.example")).is_ok());
        assert!(normalize(&format!("a{label63}.example")).is_err());

        // 4 × 63 + 3 dots = 255 characters: too long; 253 is the limit.
        let name253 = format!("{0}.{0}.{0}.{1}", label63, "a".repeat(61));
        assert_eq!(name253.len(), 253);
        assert!(normalize(&name253).is_ok());
        assert!(normalize(&format!("{name253}.")).is_ok());
        assert!(normalize(&format!("{name253}.a")).is_err());
    }
}
