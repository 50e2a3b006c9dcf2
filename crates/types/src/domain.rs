//! Mail domains (RFC 5321 §4.1.2 `Domain`), IDNA-normalised.

use std::fmt;
use std::str::FromStr;

/// A syntactically valid mail domain in its ASCII (A-label) form, lower case, with no
/// trailing dot. `Domain::from_str` accepts U-labels and converts them (UTS #46).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Domain(String);

/// Why a string is not a mail domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Nothing was given.
    #[error("domain is empty")]
    Empty,
    /// IDNA processing (UTS #46) refused the name.
    #[error("domain {0:?} is not a valid internationalised domain name")]
    Idna(String),
    /// The name is longer than 253 octets in ASCII form (RFC 1035 §2.3.4).
    #[error("domain {0:?} is longer than 253 characters")]
    TooLong(String),
    /// A label is empty, longer than 63 octets, or has characters outside letters, digits
    /// and hyphen, or starts or ends with a hyphen (RFC 5321 §4.1.2 `sub-domain`).
    #[error("domain {0:?} has an invalid label {1:?}")]
    Label(String, String),
    /// The last label is all digits, so the name would be read as an address literal.
    #[error("domain {0:?} looks like an IP address; use a name")]
    Numeric(String),
}

impl Domain {
    /// The ASCII form, e.g. `xn--bcher-kva.example`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Unicode form for display, e.g. `bücher.example`.
    pub fn to_unicode(&self) -> String {
        let (s, res) = idna::domain_to_unicode(&self.0);
        if res.is_ok() { s } else { self.0.clone() }
    }

    /// True when `self` is `other` or a sub-domain of it.
    pub fn is_within(&self, other: &Domain) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.ends_with(&other.0)
                && self.0.as_bytes()[self.0.len() - other.0.len() - 1] == b'.')
    }
}

impl FromStr for Domain {
    type Err = DomainError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(DomainError::Empty);
        }
        // ASCII names are checked label by label first, so the error names the bad label;
        // IDNA (UTS #46) processing is for Unicode names and for A-labels (`xn--`), whose
        // Punycode must decode.
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii_strict(trimmed)
                .map_err(|_| DomainError::Idna(trimmed.to_string()))?
        };
        if ascii.is_empty() {
            return Err(DomainError::Empty);
        }
        if ascii.len() > 253 {
            return Err(DomainError::TooLong(trimmed.to_string()));
        }
        for label in ascii.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(DomainError::Label(trimmed.to_string(), label.to_string()));
            }
        }
        if ascii.split('.').any(|l| l.starts_with("xn--"))
            && !idna::domain_to_ascii_strict(&ascii).is_ok_and(|a| a == ascii)
        {
            return Err(DomainError::Idna(trimmed.to_string()));
        }
        if ascii
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(DomainError::Numeric(trimmed.to_string()));
        }
        Ok(Domain(ascii))
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Domain({})", self.0)
    }
}

impl serde::Serialize for Domain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Domain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_domains_normalise_to_lower_case_ascii() {
        let table = [
            ("example.org", "example.org"),
            ("Example.ORG", "example.org"),
            ("mail.example.co.uk", "mail.example.co.uk"),
            ("localhost", "localhost"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("Bücher.example", "xn--bcher-kva.example"),
            ("a-b.example", "a-b.example"),
            ("1and1.com", "1and1.com"),
        ];
        for (input, want) in table {
            assert_eq!(
                input.parse::<Domain>().map(|d| d.0),
                Ok(want.into()),
                "{input}"
            );
        }
    }

    #[test]
    fn invalid_domains_are_rejected() {
        for bad in [
            "",
            "  ",
            "exa mple.org",
            "-example.org",
            "example-.org",
            "example..org",
            ".example.org",
            "ex_ample.org",
            "192.168.1.1",
            "[127.0.0.1]",
            "user@example.org",
            &format!("{}.org", "a".repeat(64)),
            &format!("{}org", "abcdefghi.".repeat(26)),
            "xn--.example",
            "xn--zz-zzzzzz.example",
        ] {
            assert!(bad.parse::<Domain>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ascii_errors_name_the_bad_label() {
        assert_eq!(
            "-x.example".parse::<Domain>(),
            Err(DomainError::Label("-x.example".into(), "-x".into()))
        );
        assert!(matches!(
            "exa mple.org".parse::<Domain>(),
            Err(DomainError::Label(..))
        ));
    }

    #[test]
    fn unicode_form_round_trips() {
        let d: Domain = "bücher.example".parse().unwrap();
        assert_eq!(d.to_unicode(), "bücher.example");
    }

    #[test]
    fn is_within_matches_subdomains_only() {
        let org: Domain = "example.org".parse().unwrap();
        let sub: Domain = "mail.example.org".parse().unwrap();
        let other: Domain = "badexample.org".parse().unwrap();
        assert!(sub.is_within(&org));
        assert!(org.is_within(&org));
        assert!(!other.is_within(&org));
    }
}
