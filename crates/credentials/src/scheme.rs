//! Recognising the scheme of a stored hash, with or without a Dovecot `{SCHEME}` prefix.
//!
//! Two prefix families exist: crypt(3)-style `$id$` (Modular Crypt Format and PHC strings) and
//! RFC 2307 / Dovecot `{SCHEME}`. Dovecot also puts `{SCHEME}` in front of crypt-style hashes
//! (`{BLF-CRYPT}$2y$...`); then the prefix and the inner `$id$` must agree.

use crate::CredentialError;
use std::fmt;

/// A password hash scheme that [`verify_password`](crate::verify_password) understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// argon2id PHC string (`$argon2id$`, Dovecot `{ARGON2ID}`); what we hash with.
    Argon2id,
    /// argon2i PHC string (`$argon2i$`, Dovecot `{ARGON2I}`).
    Argon2i,
    /// argon2d PHC string (`$argon2d$`).
    Argon2d,
    /// bcrypt `$2a$` / `$2b$` / `$2y$` (Dovecot `{BLF-CRYPT}`).
    Bcrypt,
    /// passlib `bcrypt_sha256` (`$bcrypt-sha256$`), versions 1 and 2.
    BcryptSha256,
    /// passlib `pbkdf2_sha256` (`$pbkdf2-sha256$`).
    Pbkdf2Sha256,
    /// SHA-512-crypt `$6$` (Dovecot `{SHA512-CRYPT}`).
    Sha512Crypt,
    /// SHA-256-crypt `$5$` (Dovecot `{SHA256-CRYPT}`).
    Sha256Crypt,
    /// RFC 2307 `{SSHA}`: salted SHA-1.
    Ssha,
    /// `{SSHA512}`: salted SHA-512.
    Ssha512,
    /// Clear text: `{PLAIN}`, `{CLEARTEXT}`, `{CLEAR}`.
    Plain,
}

impl Scheme {
    /// A short lower-case name, as used in error messages and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Argon2id => "argon2id",
            Scheme::Argon2i => "argon2i",
            Scheme::Argon2d => "argon2d",
            Scheme::Bcrypt => "bcrypt",
            Scheme::BcryptSha256 => "bcrypt-sha256",
            Scheme::Pbkdf2Sha256 => "pbkdf2-sha256",
            Scheme::Sha512Crypt => "sha512-crypt",
            Scheme::Sha256Crypt => "sha256-crypt",
            Scheme::Ssha => "ssha",
            Scheme::Ssha512 => "ssha512",
            Scheme::Plain => "plain",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Identify the scheme of a stored hash from its prefix alone.
///
/// Returns `None` for formats we cannot verify (md5-crypt, DES crypt, `{SHA}`, ...). A `Some`
/// does not mean the hash is well-formed: [`verify_password`](crate::verify_password) checks
/// the rest.
pub fn scheme_of(stored: &str) -> Option<Scheme> {
    match split(stored) {
        Ok((scheme, _)) => Some(scheme),
        // A `{PREFIX}` whose inner hash disagrees still names a scheme, the one that
        // `verify_password` reports in its `Malformed` error.
        Err(CredentialError::Malformed { scheme, .. }) => Some(scheme),
        Err(_) => None,
    }
}

/// What a `{PREFIX}` says about the string after it.
enum Prefix {
    /// The rest is a crypt-style string of exactly this scheme.
    Crypt(Scheme),
    /// `{CRYPT}`: the rest is any crypt(3) string (bcrypt or SHA-crypt).
    AnyCrypt,
    /// The rest is scheme-specific (base64 digest or clear text).
    Raw(Scheme),
}

/// Dovecot scheme names (case-insensitive in Dovecot too).
fn prefix(name: &str) -> Option<Prefix> {
    let p = match name.to_ascii_uppercase().as_str() {
        "ARGON2ID" => Prefix::Crypt(Scheme::Argon2id),
        "ARGON2I" => Prefix::Crypt(Scheme::Argon2i),
        "BLF-CRYPT" => Prefix::Crypt(Scheme::Bcrypt),
        "SHA512-CRYPT" => Prefix::Crypt(Scheme::Sha512Crypt),
        "SHA256-CRYPT" => Prefix::Crypt(Scheme::Sha256Crypt),
        "CRYPT" => Prefix::AnyCrypt,
        "SSHA" => Prefix::Raw(Scheme::Ssha),
        "SSHA512" => Prefix::Raw(Scheme::Ssha512),
        "PLAIN" | "CLEARTEXT" | "CLEAR" => Prefix::Raw(Scheme::Plain),
        _ => return None,
    };
    Some(p)
}

/// The scheme of a `$id$...` string, from its identifier.
fn crypt_scheme(s: &str) -> Option<Scheme> {
    let rest = s.strip_prefix('$')?;
    let id = rest.split('$').next()?;
    let scheme = match id {
        "argon2id" => Scheme::Argon2id,
        "argon2i" => Scheme::Argon2i,
        "argon2d" => Scheme::Argon2d,
        // `$2x$` (crypt_blowfish's sign-extension bug) is recognised so that it is reported
        // as malformed rather than unknown; the bcrypt module refuses it.
        "2a" | "2b" | "2y" | "2x" => Scheme::Bcrypt,
        "bcrypt-sha256" => Scheme::BcryptSha256,
        "pbkdf2-sha256" => Scheme::Pbkdf2Sha256,
        "6" => Scheme::Sha512Crypt,
        "5" => Scheme::Sha256Crypt,
        _ => return None,
    };
    Some(scheme)
}

/// Split a stored hash into its scheme and the part the scheme's module parses: the whole
/// crypt-style string (`$2y$...`) or, after a raw `{PREFIX}`, the text behind it.
pub(crate) fn split(stored: &str) -> Result<(Scheme, &str), CredentialError> {
    let Some(after_brace) = stored.strip_prefix('{') else {
        return crypt_scheme(stored)
            .map(|s| (s, stored))
            .ok_or(CredentialError::UnknownScheme);
    };
    let (name, body) = after_brace
        .split_once('}')
        .ok_or(CredentialError::UnknownScheme)?;
    match prefix(name).ok_or(CredentialError::UnknownScheme)? {
        Prefix::Raw(scheme) => Ok((scheme, body)),
        Prefix::Crypt(scheme) => match crypt_scheme(body) {
            Some(inner) if inner == scheme => Ok((scheme, body)),
            _ => Err(CredentialError::malformed(
                scheme,
                "the hash after the prefix is of another scheme",
            )),
        },
        Prefix::AnyCrypt => match crypt_scheme(body) {
            Some(inner @ (Scheme::Bcrypt | Scheme::Sha512Crypt | Scheme::Sha256Crypt)) => {
                Ok((inner, body))
            }
            _ => Err(CredentialError::UnknownScheme),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_of_reads_prefixes() {
        let cases: &[(&str, Option<Scheme>)] = &[
            ("$argon2id$v=19$...", Some(Scheme::Argon2id)),
            ("{ARGON2ID}$argon2id$v=19$...", Some(Scheme::Argon2id)),
            ("{argon2i}$argon2i$v=19$...", Some(Scheme::Argon2i)),
            ("$argon2d$v=19$...", Some(Scheme::Argon2d)),
            ("$2a$10$...", Some(Scheme::Bcrypt)),
            ("$2b$10$...", Some(Scheme::Bcrypt)),
            ("{BLF-CRYPT}$2y$05$...", Some(Scheme::Bcrypt)),
            ("{CRYPT}$2y$05$...", Some(Scheme::Bcrypt)),
            ("{CRYPT}$6$salt$x", Some(Scheme::Sha512Crypt)),
            (
                "$bcrypt-sha256$v=2,t=2b,r=12$...",
                Some(Scheme::BcryptSha256),
            ),
            ("$pbkdf2-sha256$29000$...", Some(Scheme::Pbkdf2Sha256)),
            ("$6$rounds=5000$salt$...", Some(Scheme::Sha512Crypt)),
            ("{SHA256-CRYPT}$5$salt$...", Some(Scheme::Sha256Crypt)),
            ("{SSHA}abc", Some(Scheme::Ssha)),
            ("{ssha512}abc", Some(Scheme::Ssha512)),
            ("{PLAIN}secret", Some(Scheme::Plain)),
            ("{CLEARTEXT}secret", Some(Scheme::Plain)),
            ("{CLEAR}", Some(Scheme::Plain)),
            ("$1$salt$md5crypt", None),
            ("{MD5-CRYPT}$1$salt$x", None),
            ("{CRYPT}$1$salt$x", None),
            ("{SHA}abc", None),
            ("abcdef", None),
            ("", None),
            ("{BLF-CRYPT}$6$salt$x", Some(Scheme::Bcrypt)),
        ];
        for (stored, want) in cases {
            assert_eq!(scheme_of(stored), *want, "{stored:?}");
        }
    }

    #[test]
    fn display_is_the_lower_case_name() {
        assert_eq!(Scheme::BcryptSha256.to_string(), "bcrypt-sha256");
        assert_eq!(Scheme::Argon2id.to_string(), "argon2id");
    }
}
