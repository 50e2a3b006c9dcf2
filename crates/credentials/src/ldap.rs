//! The `{SCHEME}`-prefixed digests of RFC 2307 (§5.3, `userPassword` syntax) as extended by
//! OpenLDAP and Dovecot: `{SSHA}base64(SHA-1(password ‖ salt) ‖ salt)` and
//! `{SSHA512}base64(SHA-512(password ‖ salt) ‖ salt)` with a salt of any length (Dovecot
//! writes 4 bytes, OpenLDAP 4 or 8), and clear text (`{PLAIN}`).

use crate::{CredentialError, Scheme};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// A validated `{SSHA}` / `{SSHA512}` value: the digest, then the salt.
pub(crate) struct Salted {
    scheme: Scheme,
    decoded: Vec<u8>,
    digest_len: usize,
}

impl Salted {
    /// Decode the base64 after the prefix; it must hold a full digest and a non-empty salt
    /// (Dovecot's `ssha_verify` refuses anything not longer than the digest, too).
    pub(crate) fn parse(scheme: Scheme, body: &str) -> Result<Self, CredentialError> {
        let digest_len = match scheme {
            Scheme::Ssha512 => 64,
            _ => 20,
        };
        let decoded = STANDARD
            .decode(body)
            .map_err(|_| CredentialError::malformed(scheme, "not standard base64"))?;
        if decoded.len() <= digest_len {
            return Err(CredentialError::malformed(
                scheme,
                "too short for a digest and a salt",
            ));
        }
        Ok(Self {
            scheme,
            decoded,
            digest_len,
        })
    }

    /// Recompute and compare in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        let (expected, salt) = self.decoded.split_at(self.digest_len);
        match self.scheme {
            Scheme::Ssha512 => {
                let computed = Sha512::new()
                    .chain_update(password)
                    .chain_update(salt)
                    .finalize();
                computed.as_slice().ct_eq(expected).into()
            }
            _ => {
                let computed = Sha1::new()
                    .chain_update(password)
                    .chain_update(salt)
                    .finalize();
                computed.as_slice().ct_eq(expected).into()
            }
        }
    }
}

/// Compare a clear-text password. Both sides are hashed first so that the comparison is
/// constant-time in the content *and* does not reveal the stored password's length.
pub(crate) fn verify_plain(password: &[u8], stored: &str) -> bool {
    let a = Sha512::digest(password);
    let b = Sha512::digest(stored.as_bytes());
    a.as_slice().ct_eq(b.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssha_is_digest_then_salt() {
        // Built by hand from the definition, with the salt "salt": SHA-1("secret" ‖ "salt").
        let mut raw = Sha1::digest(b"secretsalt").to_vec();
        raw.extend_from_slice(b"salt");
        let parsed = Salted::parse(Scheme::Ssha, &STANDARD.encode(&raw)).expect("well-formed");
        assert!(parsed.verify(b"secret"));
        assert!(!parsed.verify(b"secre"));
        assert!(!parsed.verify(b"secrets"));
    }

    #[test]
    fn plain_compares_exactly() {
        assert!(verify_plain(b"secret", "secret"));
        assert!(verify_plain(b"", ""));
        assert!(!verify_plain(b"secret", "Secret"));
        assert!(!verify_plain(b"secret", "secret "));
    }
}
