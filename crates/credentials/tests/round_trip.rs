//! Property: whatever the password, `hash_password` output verifies with it, needs no rehash,
//! and does not verify with a different password.

use mailstead_credentials::{Verification, hash_password, verify_password};
use proptest::prelude::*;

proptest! {
    // argon2id with 19 MiB is slow; a few cases of arbitrary Unicode are enough here, the
    // fixtures and unit tests cover the rest.
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn hash_then_verify_round_trips(password in any::<String>(), other in any::<String>()) {
        let stored = hash_password(&password).expect("hashing a short password works");
        prop_assert_eq!(
            verify_password(&password, &stored).expect("our own hash is well-formed"),
            Verification::Match { needs_rehash: false }
        );
        if other != password {
            prop_assert_eq!(
                verify_password(&other, &stored).expect("our own hash is well-formed"),
                Verification::Mismatch
            );
        }
    }
}
