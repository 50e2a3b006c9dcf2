//! Mail addresses (RFC 5321 §4.1.2 `Mailbox`, RFC 6531 §3.3 UTF-8 local parts).

use std::fmt;
use std::str::FromStr;

use crate::{Domain, DomainError};

/// `local-part@domain`, normalised: the local part folded to lower case, the domain in
/// its ASCII form. Only the `Dot-string` form of the local part is accepted; quoted local
/// parts (`"a b"@example.org`) are refused because no account or alias may be named so.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    local: String,
    domain: Domain,
}

/// Why a string is not a mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// There is no `@`, or nothing before it.
    #[error("address {0:?} must look like local-part@domain")]
    Shape(String),
    /// The local part is longer than 64 octets (RFC 5321 §4.5.3.1.1).
    #[error("local part of {0:?} is longer than 64 octets")]
    LocalTooLong(String),
    /// The local part is not a dot-string of atext / UTF-8 characters.
    #[error("local part of {0:?} has characters not allowed in an address")]
    LocalSyntax(String),
    /// The domain is invalid.
    #[error("address {address:?}: {source}")]
    Domain {
        /// The whole input.
        address: String,
        /// What is wrong with its domain.
        #[source]
        source: DomainError,
    },
}

/// RFC 5322 §3.2.3 `atext`, extended by RFC 6531 §3.3 with any non-ASCII character.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// Validates a local part as `Dot-string = Atom *("." Atom)` and returns it folded.
pub(crate) fn parse_local_part(input: &str, whole: &str) -> Result<String, AddressError> {
    if input.is_empty() {
        return Err(AddressError::Shape(whole.to_string()));
    }
    if input.len() > 64 {
        return Err(AddressError::LocalTooLong(whole.to_string()));
    }
    let atoms_ok = input
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(|c| is_atext(c) && !c.is_control()));
    if !atoms_ok {
        return Err(AddressError::LocalSyntax(whole.to_string()));
    }
    Ok(input.to_lowercase())
}

impl Address {
    /// Builds an address from parts, validating the local part.
    pub fn new(local: &str, domain: Domain) -> Result<Self, AddressError> {
        let whole = format!("{local}@{domain}");
        Ok(Address {
            local: parse_local_part(local, &whole)?,
            domain,
        })
    }

    /// The normalised local part.
    pub fn local_part(&self) -> &str {
        &self.local
    }

    /// The domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(AddressError::Shape(trimmed.to_string()));
        };
        let local = parse_local_part(local, trimmed)?;
        let domain = domain.parse().map_err(|source| AddressError::Domain {
            address: trimmed.to_string(),
            source,
        })?;
        Ok(Address { local, domain })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_addresses_normalise() {
        let table = [
            ("alice@example.org", "alice@example.org"),
            ("Alice@Example.ORG", "alice@example.org"),
            ("first.last@example.org", "first.last@example.org"),
            ("user+tag@example.org", "user+tag@example.org"),
            ("o'brien@example.org", "o'brien@example.org"),
            // RFC 6531 §3.3: UTF-8 local part, IDN domain.
            ("Jöran@Bücher.example", "jöran@xn--bcher-kva.example"),
            ("用户@example.org", "用户@example.org"),
        ];
        for (input, want) in table {
            let got = input.parse::<Address>().map(|a| a.to_string());
            assert_eq!(got, Ok(want.to_string()), "{input}");
        }
    }

    #[test]
    fn invalid_addresses_are_rejected() {
        for bad in [
            "",
            "alice",
            "@example.org",
            "alice@",
            ".alice@example.org",
            "alice.@example.org",
            "al..ice@example.org",
            "al ice@example.org",
            "\"al ice\"@example.org",
            "alice@exa mple.org",
            "alice@[127.0.0.1]",
            "al(ice)@example.org",
            "al\u{0}ice@example.org",
            &format!("{}@example.org", "a".repeat(65)),
        ] {
            assert!(bad.parse::<Address>().is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = s.parse::<Address>();
        }

        #[test]
        fn display_then_parse_round_trips(local in "[a-z0-9][a-z0-9+_.-]{0,20}[a-z0-9]", dom in "[a-z][a-z0-9]{0,10}\\.[a-z]{2,6}") {
            prop_assume!(!local.contains(".."));
            let a: Address = format!("{local}@{dom}").parse().unwrap();
            let again: Address = a.to_string().parse().unwrap();
            prop_assert_eq!(a, again);
        }
    }
}
