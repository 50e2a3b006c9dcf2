//! SHA-crypt, as specified in "Unix crypt using SHA-256 and SHA-512" (Ulrich Drepper, 2007,
//! <https://www.akkadia.org/drepper/SHA-crypt.txt>) and implemented by glibc/libxcrypt:
//! `$6$[rounds=N$]<salt>$<86 chars>` (SHA-512) and `$5$[rounds=N$]<salt>$<43 chars>` (SHA-256).
//!
//! The string is validated here (rounds within `1000..=`[`MAX_SHA_CRYPT_ROUNDS`], salt of 1 to
//! 16 characters from `./0-9A-Za-z`, digest of the right length) and then handed to the
//! `sha-crypt` crate, which recomputes and compares in constant time.
//!
//! Deliberate differences from glibc: glibc clamps `rounds=` below 1000 or above 999 999 999
//! and truncates longer salts, but never *writes* such strings, so we refuse them instead of
//! guessing; and an empty salt (`$6$$...`) is refused because the `sha-crypt` crate cannot
//! represent it.

use crate::{CredentialError, MAX_SHA_CRYPT_ROUNDS, Scheme};
use sha_crypt::{PasswordVerifier, ShaCrypt, password_hash};

/// Drepper: "the minimum number of rounds is 1000".
const MIN_ROUNDS: u32 = 1000;
/// Drepper: "the salt string ... is limited to 16 characters".
const MAX_SALT_CHARS: usize = 16;

/// A validated SHA-crypt string.
pub(crate) struct Parsed<'a> {
    scheme: Scheme,
    stored: &'a str,
}

impl<'a> Parsed<'a> {
    /// Parse and validate `$5$...` / `$6$...`; `scheme` is what the prefix promised.
    pub(crate) fn parse(scheme: Scheme, stored: &'a str) -> Result<Self, CredentialError> {
        let bad = |reason: &str| CredentialError::malformed(scheme, reason);
        let (id, digest_chars) = match scheme {
            Scheme::Sha256Crypt => ("$5$", 43),
            _ => ("$6$", 86),
        };
        let mut rest = stored.strip_prefix(id).ok_or_else(|| bad("wrong prefix"))?;

        if let Some(after) = rest.strip_prefix("rounds=") {
            let (rounds, after) = after
                .split_once('$')
                .ok_or_else(|| bad("rounds= without salt"))?;
            if rounds.is_empty() || !rounds.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("rounds is not a decimal number"));
            }
            let rounds: u32 = rounds.parse().map_err(|_| bad("rounds above the cap"))?;
            if rounds < MIN_ROUNDS {
                return Err(bad("rounds below 1000"));
            }
            if rounds > MAX_SHA_CRYPT_ROUNDS {
                return Err(bad("rounds above the cap"));
            }
            rest = after;
        }

        let (salt, digest) = rest
            .split_once('$')
            .ok_or_else(|| bad("missing salt or digest"))?;
        if salt.is_empty() || salt.len() > MAX_SALT_CHARS || !salt.bytes().all(is_crypt64) {
            return Err(bad("salt is not 1 to 16 characters of ./0-9A-Za-z"));
        }
        if digest.len() != digest_chars || !digest.bytes().all(is_crypt64) {
            return Err(bad("digest has the wrong length or characters"));
        }
        Ok(Self { scheme, stored })
    }

    /// Recompute and compare (constant time, inside `sha-crypt`).
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, CredentialError> {
        let hasher = match self.scheme {
            Scheme::Sha256Crypt => ShaCrypt::SHA256,
            _ => ShaCrypt::SHA512,
        };
        match hasher.verify_password(password, self.stored) {
            Ok(()) => Ok(true),
            Err(password_hash::Error::PasswordInvalid) => Ok(false),
            // E.g. a last digest character whose unused bits are set: never written by glibc.
            Err(_) => Err(CredentialError::malformed(
                self.scheme,
                "digest is not canonical crypt base64",
            )),
        }
    }
}

/// crypt(3)'s base64 alphabet.
fn is_crypt64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'/'
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors from Drepper's specification (SHA-crypt.txt), those with a salt that
    /// fits the rules above.
    const VECTORS: &[(Scheme, &str, &str)] = &[
        (
            Scheme::Sha512Crypt,
            "Hello world!",
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
        ),
        (
            Scheme::Sha512Crypt,
            "Hello world!",
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
        ),
        (
            Scheme::Sha256Crypt,
            "Hello world!",
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
        ),
        (
            Scheme::Sha256Crypt,
            "we have a short salt string but not a short password",
            "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/",
        ),
    ];

    #[test]
    fn drepper_vectors_verify() {
        for (scheme, password, stored) in VECTORS {
            let parsed = Parsed::parse(*scheme, stored).expect("well-formed");
            assert!(
                parsed.verify(password.as_bytes()).expect("verifies"),
                "{stored}"
            );
            assert!(
                !parsed.verify(b"Hello world?").expect("verifies"),
                "{stored}"
            );
        }
    }

    #[test]
    fn rounds_bounds() {
        let digest = "x".repeat(86);
        let at = |rounds: &str| format!("$6$rounds={rounds}$salt${digest}");
        assert!(Parsed::parse(Scheme::Sha512Crypt, &at("1000")).is_ok());
        assert!(Parsed::parse(Scheme::Sha512Crypt, &at("1000000")).is_ok());
        for refused in [
            "999",
            "1000001",
            "999999999",
            "99999999999",
            "",
            "+5000",
            "5e3",
        ] {
            assert!(
                Parsed::parse(Scheme::Sha512Crypt, &at(refused)).is_err(),
                "{refused}"
            );
        }
    }
}
