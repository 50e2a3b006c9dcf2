//! The one error type of this crate.

use crate::key::KeyType;

/// What went wrong generating a key or signing a message.
#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    /// The crypto library could not generate a key pair (or read back the one it made).
    #[error("{key_type} key generation failed")]
    KeyGeneration {
        /// The algorithm asked for.
        key_type: KeyType,
        /// The crypto library's error (it carries no detail by design).
        #[source]
        source: aws_lc_rs::error::Unspecified,
    },
    /// A [`SigningKey`](crate::SigningKey)'s `private_pkcs8` is not a PKCS#8 key of its
    /// `key_type` (or is an RSA key the library refuses, e.g. one under 2048 bits).
    #[error("dkim key {selector}._domainkey.{domain} ({key_type}) is unreadable")]
    KeyUnreadable {
        /// The key's selector.
        selector: String,
        /// The key's signing domain.
        domain: String,
        /// The key type the caller claimed.
        key_type: KeyType,
        /// The parser's error.
        #[source]
        source: mail_auth::Error,
    },
    /// A [`SigningKey`](crate::SigningKey)'s selector or domain cannot be written into a
    /// `DKIM-Signature` tag (RFC 6376 §3.5: `s=` is a DNS name, `d=` a domain name).
    #[error("dkim key {selector:?} for domain {domain:?} is not usable: {reason}")]
    InvalidName {
        /// The key's selector, as given.
        selector: String,
        /// The key's signing domain, as given.
        domain: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The message has no `From` header field. RFC 6376 §5.4: "The From header field MUST
    /// be signed", so a signature without it would be invalid for every verifier.
    #[error("message has no From header field, which a dkim signature must cover")]
    MissingFrom,
    /// `mail-auth` failed to sign the message with one key.
    #[error("dkim signing with {selector}._domainkey.{domain} failed")]
    Signing {
        /// The key's selector.
        selector: String,
        /// The key's signing domain.
        domain: String,
        /// The signer's error.
        #[source]
        source: mail_auth::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dkim_error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<DkimError>();
    }
}
