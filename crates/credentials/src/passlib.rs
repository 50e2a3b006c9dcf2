//! Two formats of the Python library passlib (1.7), used by Mailu and many web applications.
//!
//! - `bcrypt_sha256` (`passlib/handlers/bcrypt.py`), a wrapper lifting bcrypt's 72-byte limit:
//!   - v2 (passlib ≥ 1.7.3): `$bcrypt-sha256$v=2,t=2b,r=<cost>$<salt>$<digest>`, computing
//!     `bcrypt($2b$, cost, salt, base64(HMAC-SHA256(key = <salt> as its 22 ASCII chars,
//!     msg = password)))`;
//!   - v1: `$bcrypt-sha256$<2a|2b>,<cost>$<salt>$<digest>`, computing
//!     `bcrypt(cost, salt, base64(SHA-256(password)))`.
//!
//!   base64 is the standard alphabet with `=` padding (44 characters); salt and digest use
//!   bcrypt's alphabet, 22 and 31 characters.
//! - `pbkdf2_sha256` (`passlib/handlers/pbkdf2.py`): `$pbkdf2-sha256$<rounds>$<salt>$<checksum>`,
//!   PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) with a 32-byte output; salt and checksum in passlib's
//!   "adapted base64" (standard alphabet with `.` for `+`, no padding).
//!
//! Parsing follows passlib's own rules (its regular expressions, no zero-padded rounds, v2
//! salts without padding bits), so a string passlib refuses is refused here too.

use crate::blowfish;
use crate::{CredentialError, MAX_BCRYPT_COST, MAX_PBKDF2_ROUNDS, Scheme};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// bcrypt's base64 characters whose unused low bits are zero, for the last salt character
/// (passlib's `bcrypt.final_salt_chars`).
const FINAL_SALT_CHARS: &[u8] = b".Oeu";

/// A validated `$bcrypt-sha256$` hash.
pub(crate) struct BcryptSha256<'a> {
    version: u8,
    cost: u32,
    /// The salt as written: v2 keys its HMAC with these characters, not the decoded bytes.
    salt_text: &'a str,
    salt: [u8; 16],
    digest: [u8; 23],
}

impl<'a> BcryptSha256<'a> {
    /// Parse and validate both versions.
    pub(crate) fn parse(s: &'a str) -> Result<Self, CredentialError> {
        let bad = |reason: &str| CredentialError::malformed(Scheme::BcryptSha256, reason);
        let rest = s
            .strip_prefix("$bcrypt-sha256$")
            .ok_or_else(|| bad("wrong prefix"))?;
        let mut fields = rest.split('$');
        let (Some(config), Some(salt_text), Some(digest), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected config$salt$digest"));
        };

        // passlib's `_v2_hash_re`: `v=(\d+),t=(2b),r=(\d{1,2})`; `_v1_hash_re`: `(2[ab]),(\d{1,2})`.
        let (version, rounds) = if let Some(v2) = config.strip_prefix("v=") {
            let mut parts = v2.split(',');
            let (Some(v), Some(t), Some(r), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("expected v=2,t=2b,r=N"));
            };
            if !is_digits(v, 1, usize::MAX) {
                return Err(bad("version is not a number"));
            }
            // passlib supports versions 1 and 2 only, and v1 never uses this syntax.
            if v != "2" {
                return Err(bad("unsupported version"));
            }
            if t != "t=2b" {
                return Err(bad("v2 requires t=2b"));
            }
            let r = r.strip_prefix("r=").ok_or_else(|| bad("expected r=N"))?;
            (2, r)
        } else {
            let (ident, r) = config.split_once(',').ok_or_else(|| bad("expected 2b,N"))?;
            if ident != "2a" && ident != "2b" {
                return Err(bad("v1 requires 2a or 2b"));
            }
            (1, r)
        };
        let cost = parse_rounds(rounds).map_err(&bad)?;

        if salt_text.len() != blowfish::SALT_CHARS {
            return Err(bad("salt is not 22 characters"));
        }
        // passlib v2 refuses salts with padding bits set: bcrypt implementations disagree
        // on them, and the HMAC key is the text, so a "repaired" salt would not verify.
        if version == 2
            && !salt_text
                .bytes()
                .last()
                .is_some_and(|c| FINAL_SALT_CHARS.contains(&c))
        {
            return Err(bad("salt has padding bits set"));
        }
        let salt = blowfish::decode_salt(salt_text).map_err(&bad)?;
        let digest = blowfish::decode_hash(digest).map_err(&bad)?;
        Ok(Self {
            version,
            cost,
            salt_text,
            salt,
            digest,
        })
    }

    /// Recompute and compare in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, CredentialError> {
        let bad = |reason: &str| CredentialError::malformed(Scheme::BcryptSha256, reason);
        let prehash: [u8; 32] = if self.version == 1 {
            Sha256::digest(password).into()
        } else {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.salt_text.as_bytes())
                .map_err(|_| bad("HMAC refused the key"))?;
            mac.update(password);
            mac.finalize().into_bytes().into()
        };
        // Not hex: passlib keeps the key at 44 bytes, under bcrypt's 72-byte limit.
        let key = STANDARD.encode(prehash);
        let computed = blowfish::raw(key.as_bytes(), self.cost, self.salt).map_err(bad)?;
        Ok(computed.ct_eq(&self.digest).into())
    }
}

/// `\d{1,2}` without zero padding (passlib's `ZeroPaddedRoundsError`), within bcrypt's
/// 4..=31 and our cap.
fn parse_rounds(r: &str) -> Result<u32, &'static str> {
    if !is_digits(r, 1, 2) || (r.starts_with('0') && r != "0") {
        return Err("rounds is not 1 or 2 digits without zero padding");
    }
    let cost: u32 = r.parse().map_err(|_| "rounds is not a number")?;
    if cost < 4 {
        return Err("rounds below 4");
    }
    if cost > MAX_BCRYPT_COST {
        return Err("rounds above the cap");
    }
    Ok(cost)
}

fn is_digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// passlib's "adapted base64" (`ab64_decode`): `./` instead of `+/`, unpadded; plain `+` is
/// accepted too, as passlib does. Unused trailing bits are ignored like Python's `a2b_base64`.
const AB64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

fn ab64_decode(s: &str) -> Option<Vec<u8>> {
    AB64.decode(s.replace('.', "+")).ok()
}

/// Checksum length of `pbkdf2_sha256`: one SHA-256 output.
const PBKDF2_SHA256_LEN: usize = 32;

/// A validated `$pbkdf2-sha256$` hash.
pub(crate) struct Pbkdf2Sha256 {
    rounds: u32,
    salt: Vec<u8>,
    checksum: [u8; PBKDF2_SHA256_LEN],
}

impl Pbkdf2Sha256 {
    /// Parse and validate (passlib's `parse_mc3`).
    pub(crate) fn parse(s: &str) -> Result<Self, CredentialError> {
        let bad = |reason: &str| CredentialError::malformed(Scheme::Pbkdf2Sha256, reason);
        let rest = s
            .strip_prefix("$pbkdf2-sha256$")
            .ok_or_else(|| bad("wrong prefix"))?;
        let mut fields = rest.split('$');
        let (Some(rounds), Some(salt), Some(checksum), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected rounds$salt$checksum"));
        };
        if !is_digits(rounds, 1, 10) || rounds.starts_with('0') {
            return Err(bad("rounds is not a positive number without zero padding"));
        }
        let rounds: u32 = rounds.parse().map_err(|_| bad("rounds above the cap"))?;
        if rounds > MAX_PBKDF2_ROUNDS {
            return Err(bad("rounds above the cap"));
        }
        // passlib allows 0 to 1024 salt bytes.
        let salt = ab64_decode(salt)
            .filter(|salt| salt.len() <= 1024)
            .ok_or_else(|| bad("salt is not adapted base64 of at most 1024 bytes"))?;
        let checksum = ab64_decode(checksum)
            .and_then(|c| <[u8; PBKDF2_SHA256_LEN]>::try_from(c).ok())
            .ok_or_else(|| bad("checksum is not 32 bytes of adapted base64"))?;
        Ok(Self {
            rounds,
            salt,
            checksum,
        })
    }

    /// Recompute and compare in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        let mut computed = [0u8; PBKDF2_SHA256_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, &self.salt, self.rounds, &mut computed);
        computed.ct_eq(&self.checksum).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `abc123` repeated to 72 characters (passlib's `repeat_string("abc123", 72)`).
    const ABC72: &str = "abc123abc123abc123abc123abc123abc123abc123abc123abc123abc123abc123abc123";

    /// passlib's own test vectors (`passlib/tests/test_handlers_bcrypt.py`,
    /// `bcrypt_sha256_test.known_correct_hashes`).
    fn bcrypt_sha256_vectors() -> Vec<(String, &'static str)> {
        let table = "t\u{e1}\u{411}\u{2113}\u{259}"; // passlib's UPASS_TABLE
        vec![
            // v1
            (
                "".into(),
                "$bcrypt-sha256$2a,5$E/e/2AOhqM5W/KJTFQzLce$F6dYSxOdAEoJZO2eoHUZWZljW/e0TXO",
            ),
            (
                "password".into(),
                "$bcrypt-sha256$2a,5$5Hg1DKFqPE8C2aflZ5vVoe$12BjNE0p7axMg55.Y/mHsYiVuFBDQyu",
            ),
            (
                "password".into(),
                "$bcrypt-sha256$2b,5$5Hg1DKFqPE8C2aflZ5vVoe$12BjNE0p7axMg55.Y/mHsYiVuFBDQyu",
            ),
            (
                table.into(),
                "$bcrypt-sha256$2b,5$.US1fQ4TQS.ZTz/uJ5Kyn.$QNdPDOTKKT5/sovNz1iWg26quOU4Pje",
            ),
            (
                ABC72.into(),
                "$bcrypt-sha256$2b,5$X1g1nh3g0v4h6970O68cxe$r/hyEtqJ0teqPEmfTLoZ83ciAI1Q74.",
            ),
            (
                format!("{ABC72}qwr"),
                "$bcrypt-sha256$2b,5$X1g1nh3g0v4h6970O68cxe$021KLEif6epjot5yoxk0m8I0929ohEa",
            ),
            // v2
            (
                "".into(),
                "$bcrypt-sha256$v=2,t=2b,r=5$E/e/2AOhqM5W/KJTFQzLce$WFPIZKtDDTriqWwlmRFfHiOTeheAZWe",
            ),
            (
                "password".into(),
                "$bcrypt-sha256$v=2,t=2b,r=5$5Hg1DKFqPE8C2aflZ5vVoe$wOK1VFFtS8IGTrGa7.h5fs0u84qyPbS",
            ),
            (
                table.into(),
                "$bcrypt-sha256$v=2,t=2b,r=5$.US1fQ4TQS.ZTz/uJ5Kyn.$pzzgp40k8reM1CuQb03PvE0IDPQSdV6",
            ),
            (
                ABC72.into(),
                "$bcrypt-sha256$v=2,t=2b,r=5$X1g1nh3g0v4h6970O68cxe$zu1cloESVFIOsUIo7fCEgkdHaI9SSue",
            ),
            (
                format!("{ABC72}qwr"),
                "$bcrypt-sha256$v=2,t=2b,r=5$X1g1nh3g0v4h6970O68cxe$CBF9csfEdW68xv3DwE6xSULXMtqEFP.",
            ),
        ]
    }

    /// From passlib's test suite (`test_handlers_pbkdf2.py`, `pbkdf2_sha256_test`).
    const PBKDF2_SHA256: &[(&str, &str)] = &[
        (
            "password",
            "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
        ),
        (
            "\u{399}\u{3c9}\u{3b1}\u{3bd}\u{3bd}\u{3b7}\u{3c2}", // passlib's UPASS_WAV
            "$pbkdf2-sha256$1212$3SABFJGDtyhrQMVt1uABPw$WyaUoqCLgvz97s523nF4iuOqZNbp5Nt8do/cuaa7AiI",
        ),
    ];

    #[test]
    fn passlib_bcrypt_sha256_vectors_verify() {
        for (password, stored) in bcrypt_sha256_vectors() {
            let parsed = BcryptSha256::parse(stored).expect("well-formed");
            assert!(
                parsed.verify(password.as_bytes()).expect("verifies"),
                "{stored}"
            );
            assert!(!parsed.verify(b"passwore").expect("verifies"), "{stored}");
        }
    }

    #[test]
    fn passlib_pbkdf2_sha256_vectors_verify() {
        for (password, stored) in PBKDF2_SHA256 {
            let parsed = Pbkdf2Sha256::parse(stored).expect("well-formed");
            assert!(parsed.verify(password.as_bytes()), "{stored}");
            assert!(!parsed.verify(b"passwore"), "{stored}");
        }
    }

    #[test]
    fn rounds_rules() {
        assert_eq!(parse_rounds("5"), Ok(5));
        assert_eq!(parse_rounds("16"), Ok(16));
        assert!(parse_rounds("05").is_err());
        assert!(parse_rounds("17").is_err());
        assert!(parse_rounds("3").is_err());
        assert!(parse_rounds("123").is_err());
    }
}
