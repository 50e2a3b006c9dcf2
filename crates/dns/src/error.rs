//! [`DnsError`]: the ways a lookup can fail, split into permanent and temporary.

/// A failed lookup.
///
/// NXDOMAIN and an invalid name are permanent (a mail for such a domain bounces);
/// everything else may succeed later (the message stays queued). NODATA is not an error:
/// it is an empty answer ([`crate::MxAnswer::NoMx`], an empty list).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DnsError {
    /// NXDOMAIN: the name does not exist (permanent).
    #[error("{0}: no such domain")]
    NxDomain(String),
    /// SERVFAIL, timeout, refused, network error: try again later.
    #[error("temporary DNS failure for {name}: {reason}")]
    Temporary {
        /// The name that was looked up (normal form: lower case, no trailing dot).
        name: String,
        /// What went wrong, for logs and delivery status notifications.
        reason: String,
    },
    /// Not a valid domain name.
    #[error("invalid DNS name {0:?}")]
    InvalidName(String),
}

impl DnsError {
    /// Whether the lookup may succeed if tried again later ([`DnsError::Temporary`]).
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Temporary { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temporary_is_temporary() {
        assert!(
            DnsError::Temporary {
                name: "example.com".into(),
                reason: "timeout".into()
            }
            .is_temporary()
        );
        assert!(!DnsError::NxDomain("example.com".into()).is_temporary());
        assert!(!DnsError::InvalidName("a..b".into()).is_temporary());
    }

    #[test]
    fn messages_name_the_domain() {
        assert_eq!(
            DnsError::NxDomain("example.com".into()).to_string(),
            "example.com: no such domain"
        );
        assert_eq!(
            DnsError::Temporary {
                name: "example.com".into(),
                reason: "request timed out".into()
            }
            .to_string(),
            "temporary DNS failure for example.com: request timed out"
        );
        assert_eq!(
            DnsError::InvalidName("a..b".into()).to_string(),
            "invalid DNS name \"a..b\""
        );
    }
}
