//! DKIM keys: generating a key pair, the TXT record that publishes its public half, and
//! the selector name a new key gets.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{self, KeySize};
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::error::DkimError;

/// Key algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA, signing `rsa-sha256` (RFC 6376 §3.3.1, RFC 8301). Generated keys are 2048 bits.
    Rsa,
    /// Ed25519, signing `ed25519-sha256` (RFC 8463 §3).
    Ed25519,
}

impl KeyType {
    /// The key record's `k=` value (RFC 6376 §3.6.1, RFC 8463 §4.2): `rsa` or `ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A freshly generated key pair.
pub struct GeneratedKey {
    /// The algorithm.
    pub key_type: KeyType,
    /// PKCS#8 DER private key.
    pub private_pkcs8: Vec<u8>,
    /// What goes (base64) into `p=`: SubjectPublicKeyInfo DER for RSA, the raw 32-byte key
    /// for Ed25519 (RFC 8463 §4.2).
    pub public_key: Vec<u8>,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("key_type", &self.key_type)
            .field("private_pkcs8", &"<redacted>")
            .field("public_key", &BASE64.encode(&self.public_key))
            .finish()
    }
}

/// Generates a key pair: RSA-2048 (serialised as PKCS#8 v1) or Ed25519 (PKCS#8 v2, which
/// also carries the public key, RFC 5958 §2).
///
/// RSA generation takes a noticeable fraction of a second; run it off async workers.
pub fn generate_key(key_type: KeyType) -> Result<GeneratedKey, DkimError> {
    let failed = |source| DkimError::KeyGeneration { key_type, source };
    match key_type {
        KeyType::Rsa => {
            // RFC 8301 §3.2: signers MUST use at least 1024 bits and SHOULD use 2048.
            let pair = rsa::KeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
            let private: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
            // `p=` of an RSA key is the SubjectPublicKeyInfo DER (what RFC 6376 Appendix C's
            // `openssl rsa -pubout` writes), not the bare PKCS#1 RSAPublicKey `as_ref()` gives.
            let public: PublicKeyX509Der<'static> = pair.public_key().as_der().map_err(failed)?;
            Ok(GeneratedKey {
                key_type,
                private_pkcs8: private.as_ref().to_vec(),
                public_key: public.as_ref().to_vec(),
            })
        }
        KeyType::Ed25519 => {
            let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(failed)?;
            // Read it back for the raw public key (RFC 8463 §4.2: `p=` is the 32-byte key,
            // not a SubjectPublicKeyInfo).
            let pair = Ed25519KeyPair::from_pkcs8(document.as_ref())
                .map_err(|rejected| failed(rejected.into()))?;
            Ok(GeneratedKey {
                key_type,
                private_pkcs8: document.as_ref().to_vec(),
                public_key: pair.public_key().as_ref().to_vec(),
            })
        }
    }
}

/// The TXT record value to publish at `<selector>._domainkey.<domain>` (RFC 6376
/// §3.6.2.1): `v=DKIM1; k=rsa; p=<base64>` or `v=DKIM1; k=ed25519; p=<base64>`.
///
/// An RSA-2048 record is about 410 bytes, longer than one 255-byte TXT character-string:
/// whoever publishes it splits it into several strings of one record (RFC 6376 §3.6.2.2
/// says they are concatenated), not into several records.
pub fn dns_record(key_type: KeyType, public_key: &[u8]) -> String {
    format!(
        "v=DKIM1; k={}; p={}",
        key_type.as_str(),
        BASE64.encode(public_key)
    )
}

/// A selector name for a new key: `<prefix><yyyymmdd>r` for RSA, `...e` for Ed25519, e.g.
/// `("ms", (2026, 11, 23))` → `ms20261123r`. `date` is (year, month, day). Callers add a
/// suffix on conflict.
///
/// The date makes rotation visible in DNS, and the letter lets a domain's RSA and Ed25519
/// keys be published side by side: signing with both keeps verifiers that do not know
/// Ed25519 (RFC 8463 §3) passing on the RSA signature.
pub fn selector_for(prefix: &str, key_type: KeyType, date: (i32, u8, u8)) -> String {
    let (year, month, day) = date;
    let letter = match key_type {
        KeyType::Rsa => 'r',
        KeyType::Ed25519 => 'e',
    };
    format!("{prefix}{year:04}{month:02}{day:02}{letter}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_record_has_version_key_type_and_base64_key() {
        assert_eq!(
            dns_record(KeyType::Ed25519, &[0u8; 32]),
            "v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        );
        assert_eq!(
            dns_record(KeyType::Rsa, b"\x30\x82"),
            "v=DKIM1; k=rsa; p=MII="
        );
    }

    #[test]
    fn dns_record_of_rfc_8463_example_key() {
        // RFC 8463 Appendix A.2, the brisbane._domainkey.football.example.com record.
        let public_key = BASE64
            .decode("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
            .expect("RFC example is valid base64");
        assert_eq!(
            dns_record(KeyType::Ed25519, &public_key),
            "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        );
    }

    #[test]
    fn selector_for_is_prefix_date_and_key_letter() {
        assert_eq!(
            selector_for("ms", KeyType::Rsa, (2026, 11, 23)),
            "ms20261123r"
        );
        assert_eq!(
            selector_for("ms", KeyType::Ed25519, (2026, 11, 23)),
            "ms20261123e"
        );
        assert_eq!(selector_for("", KeyType::Rsa, (2027, 1, 5)), "20270105r");
        assert_eq!(
            selector_for("k-", KeyType::Ed25519, (999, 12, 31)),
            "k-09991231e"
        );
    }

    #[test]
    fn ed25519_key_is_pkcs8_with_a_raw_32_byte_public_key() {
        let key = generate_key(KeyType::Ed25519).expect("ed25519 generation");
        assert_eq!(key.key_type, KeyType::Ed25519);
        assert_eq!(key.public_key.len(), 32);
        let pair = Ed25519KeyPair::from_pkcs8(&key.private_pkcs8).expect("pkcs8 reads back");
        assert_eq!(pair.public_key().as_ref(), key.public_key.as_slice());
    }

    #[test]
    fn generated_key_debug_does_not_show_the_private_key() {
        let key = generate_key(KeyType::Ed25519).expect("ed25519 generation");
        let debug = format!("{key:?}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(
            !debug.contains(&format!("{:?}", key.private_pkcs8)),
            "{debug}"
        );
        assert!(
            !debug.contains(&BASE64.encode(&key.private_pkcs8)),
            "{debug}"
        );
    }
}
