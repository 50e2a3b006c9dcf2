//! bcrypt (Provos & Mazières, "A Future-Adaptable Password Scheme", 1999) in its crypt(3)
//! form: `$2b$<cost>$<22 chars salt><31 chars hash>`, 60 ASCII characters, in bcrypt's own
//! base64 alphabet (`./A-Za-z0-9`).
//!
//! `$2a$`, `$2b$` and `$2y$` compute the same function for every password we accept (they
//! differ only in OpenBSD's 2014 wrap-around bug for passwords of 256+ bytes and in
//! crypt_blowfish's 2011 sign-extension bug, which `$2y$` marks as fixed). `$2x$` marks hashes
//! computed *with* that bug; reproducing it is not worth it, so they are refused.
//!
//! We parse the string ourselves rather than call `bcrypt::verify` so that the cost cap is
//! enforced before hashing and salts whose unused padding bits are set (written by some old
//! PHP versions; passlib warns about and repairs them) still verify, as in crypt_blowfish.

use crate::{CredentialError, MAX_BCRYPT_COST, Scheme};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use subtle::ConstantTimeEq;

/// bcrypt's base64: its own alphabet, no padding, unused trailing bits ignored.
const BCRYPT64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::BCRYPT,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// bcrypt's minimum cost (2^4 rounds); the algorithm is not defined below.
const MIN_COST: u32 = 4;
/// Encoded salt length.
pub(crate) const SALT_CHARS: usize = 22;
/// Encoded hash length.
pub(crate) const HASH_CHARS: usize = 31;

/// A validated `$2a$`/`$2b$`/`$2y$` hash.
pub(crate) struct Parsed {
    cost: u32,
    salt: [u8; 16],
    hash: [u8; 23],
}

impl Parsed {
    /// Parse and validate a 60-character bcrypt string.
    pub(crate) fn parse(s: &str) -> Result<Self, CredentialError> {
        let bad = |reason: &str| CredentialError::malformed(Scheme::Bcrypt, reason);
        // Byte-wise from here on: ASCII checked first so no slice can split a UTF-8 char.
        if !s.is_ascii() || s.len() != 7 + SALT_CHARS + HASH_CHARS {
            return Err(bad("not 60 ASCII characters"));
        }
        let (head, tail) = s.split_at(7);
        let mut fields = head.split('$');
        let (Some(""), Some(minor), Some(cost), Some("")) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected $2b$NN$"));
        };
        match minor {
            "2a" | "2b" | "2y" => {}
            "2x" => return Err(bad("$2x$ (crypt_blowfish bug-compatible) is not supported")),
            _ => return Err(bad("unknown bcrypt version")),
        }
        let cost = parse_cost(cost).map_err(&bad)?;
        let (salt, hash) = tail.split_at(SALT_CHARS);
        Ok(Self {
            cost,
            salt: decode_salt(salt).map_err(&bad)?,
            hash: decode_hash(hash).map_err(&bad)?,
        })
    }

    /// Recompute and compare in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, CredentialError> {
        let computed = raw(password, self.cost, self.salt)
            .map_err(|reason| CredentialError::malformed(Scheme::Bcrypt, reason))?;
        Ok(computed.ct_eq(&self.hash).into())
    }
}

/// A two-digit cost within `MIN_COST..=MAX_BCRYPT_COST` (the DoS cap).
pub(crate) fn parse_cost(cost: &str) -> Result<u32, &'static str> {
    if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return Err("cost is not two digits");
    }
    let cost: u32 = cost.parse().map_err(|_| "cost is not two digits")?;
    if cost < MIN_COST {
        return Err("cost below 4");
    }
    if cost > MAX_BCRYPT_COST {
        return Err("cost above the cap");
    }
    Ok(cost)
}

/// Decode the 22-character salt (16 bytes).
pub(crate) fn decode_salt(salt: &str) -> Result<[u8; 16], &'static str> {
    decode_exact(salt, SALT_CHARS).ok_or("salt is not 22 bcrypt-base64 characters")
}

/// Decode the 31-character hash (23 bytes: bcrypt drops the last byte of its 24).
pub(crate) fn decode_hash(hash: &str) -> Result<[u8; 23], &'static str> {
    decode_exact(hash, HASH_CHARS).ok_or("hash is not 31 bcrypt-base64 characters")
}

fn decode_exact<const N: usize>(s: &str, chars: usize) -> Option<[u8; N]> {
    if s.len() != chars {
        return None;
    }
    BCRYPT64.decode(s).ok()?.try_into().ok()
}

/// The 23 hash bytes bcrypt computes for `password` (truncated to 72 bytes, as every
/// implementation does) at `cost` with `salt`.
pub(crate) fn raw(password: &[u8], cost: u32, salt: [u8; 16]) -> Result<[u8; 23], &'static str> {
    let parts =
        bcrypt::hash_with_salt(password, cost, salt).map_err(|_| "bcrypt refused the cost")?;
    // The crate keeps the raw bytes private; its formatted string is the canonical encoding,
    // so decoding its tail gives them back.
    let formatted = parts.format_for_version(bcrypt::Version::TwoB);
    let tail = formatted
        .get(formatted.len().saturating_sub(HASH_CHARS)..)
        .ok_or("bcrypt output too short")?;
    decode_hash(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenBSD's regression vectors (`regress/lib/libc/bcrypt`), also used by crypt_blowfish.
    const VECTORS: &[(&str, &str)] = &[
        (
            "U*U",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        ),
        (
            "",
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy",
        ),
        (
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
            "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
        ),
        (
            "\u{ff}\u{ff}\u{a3}",
            "$2y$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",
        ),
    ];

    #[test]
    fn known_vectors_verify() {
        for (password, stored) in VECTORS {
            let parsed = Parsed::parse(stored).expect("well-formed");
            // The last vector is Latin-1 bytes in crypt_blowfish's tests; as a Rust string
            // they are UTF-8, so it must *not* match here: it checks we do not fold encodings.
            let latin1 = password.chars().any(|c| c as u32 > 0x7f);
            assert_eq!(
                parsed.verify(password.as_bytes()).expect("verifies"),
                !latin1,
                "{stored}"
            );
            if latin1 {
                let bytes: Vec<u8> = password.chars().map(|c| c as u32 as u8).collect();
                assert!(parsed.verify(&bytes).expect("verifies"), "{stored}");
            }
        }
    }

    #[test]
    fn salt_padding_bits_are_ignored() {
        // Same salt as the first vector, last salt char '.' (bits 000000) changed to '/'
        // (000001): only padding bits differ, so it must still verify.
        let stored = "$2a$05$CCCCCCCCCCCCCCCCCCCCC/E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        let parsed = Parsed::parse(stored).expect("well-formed");
        assert!(parsed.verify(b"U*U").expect("verifies"));
    }

    #[test]
    fn cost_bounds() {
        assert_eq!(parse_cost("04"), Ok(4));
        assert_eq!(parse_cost("16"), Ok(MAX_BCRYPT_COST));
        assert!(parse_cost("17").is_err());
        assert!(parse_cost("03").is_err());
        assert!(parse_cost("5").is_err());
        assert!(parse_cost("+5").is_err());
    }
}
