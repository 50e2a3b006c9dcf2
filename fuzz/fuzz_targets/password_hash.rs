//! Verifying a password against any stored string must never panic, must agree with
//! `scheme_of`, and must stay fast: a stored hash asking for more than the cost caps is
//! refused before hashing (run with `-timeout=` to catch a cap that is missing).
//!
//! Input: `<password>\n<stored>`; without a newline the whole input is the stored string.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mailstead_credentials::{CredentialError, scheme_of, verify_password};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (password, stored) = s.split_once('\n').unwrap_or(("", s));
    match verify_password(password, stored) {
        Ok(_) => assert!(scheme_of(stored).is_some(), "verified but no scheme"),
        Err(CredentialError::Malformed { scheme, .. }) => {
            assert_eq!(
                scheme_of(stored),
                Some(scheme),
                "Malformed names another scheme"
            )
        }
        Err(CredentialError::UnknownScheme) => {
            assert_eq!(
                scheme_of(stored),
                None,
                "unknown to verify, known to scheme_of"
            )
        }
        Err(CredentialError::Hashing(_)) => panic!("verify never reports a hashing error"),
    }
});
