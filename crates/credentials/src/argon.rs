//! argon2 (RFC 9106) in the PHC string format: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`,
//! salt and hash in unpadded standard base64.
//!
//! This is the scheme new passwords are hashed with. The parameters are OWASP's minimum for
//! argon2id (19 MiB, 2 passes, 1 lane), which keeps a login under ~50 ms on one core while
//! costing an attacker 19 MiB per guess.

use crate::{
    CredentialError, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_PARALLELISM, MAX_ARGON2_TIME_COST, Scheme,
};
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash,
};
use subtle::ConstantTimeEq;

/// Memory cost of new hashes, in KiB.
const M_COST: u32 = 19 * 1024;
/// Passes over memory of new hashes.
const T_COST: u32 = 2;
/// Lanes of new hashes.
const P_COST: u32 = 1;
/// Output length of new hashes, in bytes.
const OUTPUT_LEN: usize = 32;
/// Salt length of new hashes (the argon2 crate's recommended length), in bytes.
const SALT_LEN: usize = 16;
/// argon2 itself refuses shorter salts (RFC 9106 §3.1 asks for at least 8 bytes).
const MIN_SALT_LEN: usize = 8;
/// PHC strings without `v=` are version 0x10: the reference implementation's
/// `decode_string` defaults to `ARGON2_VERSION_10`.
const VERSION_WHEN_ABSENT: u32 = 0x10;

/// Hash a new password with our current argon2id parameters and a random salt.
pub(crate) fn hash(password: &[u8]) -> Result<String, CredentialError> {
    let hashing = |e: argon2::Error| CredentialError::Hashing(e.to_string());
    let params = Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN)).map_err(hashing)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    // `hash_password` draws a 16-byte salt from the operating system's random source.
    let hash = argon
        .hash_password(password)
        .map_err(|e| CredentialError::Hashing(e.to_string()))?;
    Ok(hash.to_string())
}

thread_local! {
    /// This thread's argon2 working memory, reused by every verification on it.
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A validated argon2 PHC string, within the cost caps.
pub(crate) struct Parsed {
    scheme: Scheme,
    hash: PasswordHash,
    params: Params,
    algorithm: Algorithm,
    version: Version,
}

impl Parsed {
    /// Parse and validate `$argon2{id,i,d}$...`; `scheme` is what the prefix promised.
    pub(crate) fn parse(scheme: Scheme, s: &str) -> Result<Self, CredentialError> {
        let bad = |reason: &str| CredentialError::malformed(scheme, reason);
        let mut hash = PasswordHash::new(s).map_err(|_| bad("not a valid PHC string"))?;

        let algorithm =
            Algorithm::new(hash.algorithm.as_str()).map_err(|_| bad("unknown argon2 variant"))?;
        let expected = match scheme {
            Scheme::Argon2i => Algorithm::Argon2i,
            Scheme::Argon2d => Algorithm::Argon2d,
            _ => Algorithm::Argon2id,
        };
        if algorithm != expected {
            return Err(bad("argon2 variant does not match the scheme"));
        }

        let version_id = *hash.version.get_or_insert(VERSION_WHEN_ABSENT);
        let version = Version::try_from(version_id).map_err(|_| bad("unknown argon2 version"))?;

        // The argon2 crate fills a missing m/t/p with its defaults; the reference
        // implementation and libsodium require all three, and so do we.
        for name in ["m", "t", "p"] {
            if !hash.params.iter().any(|(ident, _)| ident.as_str() == name) {
                return Err(bad("missing m, t or p parameter"));
            }
        }
        let params = Params::try_from(&hash).map_err(|_| bad("invalid m, t or p parameter"))?;
        if params.m_cost() > MAX_ARGON2_MEMORY_KIB {
            return Err(bad("memory cost above the cap"));
        }
        if params.t_cost() > MAX_ARGON2_TIME_COST {
            return Err(bad("time cost above the cap"));
        }
        if params.p_cost() > MAX_ARGON2_PARALLELISM {
            return Err(bad("parallelism above the cap"));
        }

        match (&hash.salt, &hash.hash) {
            (Some(salt), Some(_)) if salt.len() >= MIN_SALT_LEN => {}
            (Some(_), Some(_)) => return Err(bad("salt shorter than 8 bytes")),
            _ => return Err(bad("missing salt or hash")),
        }

        Ok(Self {
            scheme,
            hash,
            params,
            algorithm,
            version,
        })
    }

    /// Recompute the hash of `password` and compare in constant time.
    ///
    /// The argon2 memory (19 MiB at our cost) is a per-thread buffer kept for the next
    /// verification, not allocated per call: allocators keep freed blocks of that size in
    /// the calling thread's arena, so a login burst spread over many threads would leave
    /// the process tens of MiB larger per thread. Verification runs on the directory's few
    /// hashing threads, so the memory is bounded by their number.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, CredentialError> {
        let (Some(salt), Some(expected)) = (&self.hash.salt, &self.hash.hash) else {
            return Err(CredentialError::malformed(
                self.scheme,
                "missing salt or hash",
            ));
        };
        if !self.params.keyid().is_empty() || !self.params.data().is_empty() {
            // Rare (never written by us): the library's own path handles them.
            return self.verify_allocating(password);
        }
        let refused = || CredentialError::malformed(self.scheme, "argon2 refused the parameters");
        let params = Params::new(
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
            Some(expected.len()),
        )
        .map_err(|_| refused())?;
        let blocks = params.block_count();
        let argon = Argon2::new(self.algorithm, self.version, params);
        let mut out = vec![0u8; expected.len()];
        let outcome = if blocks <= M_COST as usize {
            MEMORY.with(|cell| {
                let mut memory = cell.borrow_mut();
                if memory.len() < blocks {
                    memory.resize(blocks, Block::default());
                }
                argon.hash_password_into_with_memory(
                    password,
                    salt.as_ref(),
                    &mut out,
                    &mut memory[..blocks],
                )
            })
        } else {
            // A costlier imported hash: its memory is not kept (it is rehashed at our cost
            // on the first successful login anyway).
            let mut memory = vec![Block::default(); blocks];
            argon.hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut memory)
        };
        outcome.map_err(|_| refused())?;
        Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
    }

    fn verify_allocating(&self, password: &[u8]) -> Result<bool, CredentialError> {
        match Argon2::default().verify_password(password, &self.hash) {
            Ok(()) => Ok(true),
            Err(password_hash::Error::PasswordInvalid) => Ok(false),
            Err(_) => Err(CredentialError::malformed(
                self.scheme,
                "argon2 refused the parameters",
            )),
        }
    }

    /// Whether this hash is exactly what [`hash`] would produce today (no rehash needed).
    pub(crate) fn is_current(&self) -> bool {
        self.algorithm == Algorithm::Argon2id
            && self.version == Version::V0x13
            && self.params.m_cost() == M_COST
            && self.params.t_cost() == T_COST
            && self.params.p_cost() == P_COST
            && self.params.keyid().is_empty()
            && self.params.data().is_empty()
            && self.hash.hash.as_ref().map(|h| h.len()) == Some(OUTPUT_LEN)
            && self.hash.salt.as_ref().map(|s| s.len()) == Some(SALT_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9106 does not give PHC strings; this one is from the argon2 reference
    /// implementation's test suite (`argon2 password somesalt -id -t 2 -m 16 -p 1`,
    /// i.e. 64 MiB), and must verify.
    const REFERENCE_ID: &str =
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

    #[test]
    fn reference_vector_verifies_and_needs_rehash() {
        let parsed = Parsed::parse(Scheme::Argon2id, REFERENCE_ID).expect("well-formed");
        assert!(parsed.verify(b"password").expect("verifies"));
        assert!(!parsed.verify(b"passwore").expect("verifies"));
        assert!(!parsed.is_current());
    }

    #[test]
    fn missing_version_means_0x10() {
        // argon2 reference implementation, version 0x10:
        // `argon2 password somesalt -i -t 2 -m 16 -p 1 -v 10`.
        let v10 =
            "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
        let parsed = Parsed::parse(Scheme::Argon2i, v10).expect("well-formed");
        assert!(parsed.verify(b"password").expect("verifies"));
        assert!(!parsed.is_current());
    }

    #[test]
    fn new_hash_is_current() {
        let stored = hash(b"pw").expect("hashes");
        let parsed = Parsed::parse(Scheme::Argon2id, &stored).expect("well-formed");
        assert!(parsed.is_current());
        assert!(parsed.verify(b"pw").expect("verifies"));
    }

    #[test]
    fn our_parameters_with_a_shorter_salt_or_output_need_rehash() {
        for (salt, output_len) in [(&b"8bytes!!"[..], OUTPUT_LEN), (&[7u8; SALT_LEN][..], 16)] {
            let params = Params::new(M_COST, T_COST, P_COST, Some(output_len)).expect("valid");
            let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_with_salt(b"pw", salt)
                .expect("hashes")
                .to_string();
            let parsed = Parsed::parse(Scheme::Argon2id, &stored).expect("well-formed");
            assert!(parsed.verify(b"pw").expect("verifies"));
            assert!(!parsed.is_current(), "{stored}");
        }
    }

    #[test]
    fn caps_are_inclusive() {
        // At the caps the string is accepted (we do not hash: 1 GiB x 20 passes is slow).
        let at = format!(
            "$argon2id$v=19$m={MAX_ARGON2_MEMORY_KIB},t={MAX_ARGON2_TIME_COST},p={MAX_ARGON2_PARALLELISM}$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
        );
        assert!(Parsed::parse(Scheme::Argon2id, &at).is_ok());
        let over = format!(
            "$argon2id$v=19$m={},t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            MAX_ARGON2_MEMORY_KIB + 1
        );
        assert!(Parsed::parse(Scheme::Argon2id, &over).is_err());
    }

    #[test]
    fn missing_cost_parameter_is_malformed() {
        let s =
            "$argon2id$v=19$m=65536,t=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        assert!(Parsed::parse(Scheme::Argon2id, s).is_err());
    }
}
