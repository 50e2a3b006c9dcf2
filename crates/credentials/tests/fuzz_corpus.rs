//! Replays fuzz/corpus/password_hash (the cargo-fuzz corpus) so plain `cargo test` guards
//! against regressions found by fuzzing, with the same checks as the fuzz target.

use mailstead_credentials::{CredentialError, Verification, scheme_of, verify_password};

#[test]
fn password_hash_corpus_never_panics_and_agrees_with_scheme_of() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/password_hash"
    );
    let mut n = 0;
    let mut matched = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory exists") {
        let path = entry.expect("dir entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        n += 1;
        let Ok(s) = std::str::from_utf8(&data) else {
            continue;
        };
        let (password, stored) = s.split_once('\n').unwrap_or(("", s));
        match verify_password(password, stored) {
            Ok(v) => {
                assert!(scheme_of(stored).is_some(), "{path:?}");
                matched += usize::from(matches!(v, Verification::Match { .. }));
            }
            Err(CredentialError::Malformed { scheme, .. }) => {
                assert_eq!(scheme_of(stored), Some(scheme), "{path:?}")
            }
            Err(CredentialError::UnknownScheme) => assert_eq!(scheme_of(stored), None, "{path:?}"),
            Err(e @ CredentialError::Hashing(_)) => panic!("{path:?}: {e}"),
        }
    }
    assert!(n >= 10, "corpus unexpectedly small: {n}");
    // The seeds include one valid hash per format: they must keep verifying.
    assert!(matched >= 12, "only {matched} corpus entries verified");
}

/// The seeds that ask for huge costs must be refused quickly, not computed.
#[test]
fn over_cap_seeds_are_refused_as_malformed() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/password_hash"
    );
    for name in [
        "huge_bcrypt_cost",
        "huge_sha_crypt_rounds",
        "huge_argon2_memory",
        "huge_pbkdf2_rounds",
    ] {
        let data = std::fs::read_to_string(format!("{dir}/{name}")).expect("seed exists");
        let (password, stored) = data.split_once('\n').expect("seed has a password line");
        let started = std::time::Instant::now();
        let got = verify_password(password, stored);
        assert!(
            matches!(got, Err(CredentialError::Malformed { .. })),
            "{name}: {got:?}"
        );
        assert!(
            started.elapsed().as_millis() < 100,
            "{name} took {:?}",
            started.elapsed()
        );
    }
}
