//! The checks of the `dkim_sign` fuzz target, shared with its corpus replay
//! (`crates/mailauth/tests/fuzz_corpus.rs` includes this file) so the two cannot drift
//! apart.
//!
//! Input: the message bytes. `Signer::sign` with two fixed Ed25519 keys (RSA is too slow
//! to fuzz; the code paths after the key are the same) must never panic, and:
//!
//! - it fails exactly when mail-auth's header scanner (the one its signer uses, seen
//!   through `AuthenticatedMessage::parse`) finds no `From` field, and then with
//!   `MissingFrom`;
//! - otherwise it returns two `DKIM-Signature` fields, in key order, CRLF-terminated,
//!   folded with whitespace and no other line break, each with `v=1`,
//!   `a=ed25519-sha256`, `c=relaxed/relaxed`, our `d=` and `s=`, a `t=`, `bh=` and `b=`,
//!   neither `l=` nor `x=`, and an `h=` naming every field of `SIGNED_HEADERS`: once per
//!   occurrence in the message and once more for each one absent (so none can be added
//!   later), and nothing else.

use std::sync::OnceLock;

use mail_auth::AuthenticatedMessage;
use mailstead_mailauth::{DkimError, KeyType, SIGNED_HEADERS, Signer, SigningKey};

/// A fixed Ed25519 key, PKCS#8 v2 DER as `mailstead_mailauth::generate_key` made it.
/// Its record: `v=DKIM1; k=ed25519; p=hvbuV8hjmJQEnCdK3HR73JgJ/tFh/VBnfN8MLweLmC4=`.
/// Fuzzing only: it signs nothing real.
pub const ED25519_PKCS8: [u8; 83] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    0xac, 0xd7, 0x83, 0xc4, 0x37, 0x6a, 0x7a, 0xac, 0xa0, 0x1b, 0x86, 0x5e, 0x63, 0x52, 0x8a, 0xe7,
    0x76, 0x25, 0x09, 0x2f, 0x3a, 0xcd, 0x56, 0xad, 0x1a, 0x1f, 0xe2, 0x3b, 0x80, 0x24, 0x7f, 0xa0,
    0x81, 0x21, 0x00, 0x86, 0xf6, 0xee, 0x57, 0xc8, 0x63, 0x98, 0x94, 0x04, 0x9c, 0x27, 0x4a, 0xdc,
    0x74, 0x7b, 0xdc, 0x98, 0x09, 0xfe, 0xd1, 0x61, 0xfd, 0x50, 0x67, 0x7c, 0xdf, 0x0c, 0x2f, 0x07,
    0x8b, 0x98, 0x2e,
];

const DOMAIN: &str = "example.org";
const SELECTORS: [&str; 2] = ["fuzz1", "fuzz2"];

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let keys: Vec<SigningKey> = SELECTORS
            .iter()
            .map(|s| SigningKey {
                domain: DOMAIN.into(),
                selector: (*s).into(),
                key_type: KeyType::Ed25519,
                private_pkcs8: ED25519_PKCS8.to_vec(),
            })
            .collect();
        Signer::new(&keys).unwrap_or_else(|e| panic!("fixed key: {e}"))
    })
}

/// Runs every check on `data`; panics on a violation.
pub fn check(data: &[u8]) {
    // The header fields as mail-auth's scanner finds them (`None`: not one).
    let found: Vec<&[u8]> = AuthenticatedMessage::parse(data)
        .map(|m| m.headers.iter().map(|(name, _)| *name).collect())
        .unwrap_or_default();
    let has_from = found.iter().any(|n| n.eq_ignore_ascii_case(b"From"));
    match signer().sign(data) {
        Ok(fields) => {
            assert!(has_from, "signed without a From field mail-auth would sign");
            let present = found
                .iter()
                .filter(|n| {
                    SIGNED_HEADERS
                        .iter()
                        .any(|s| s.as_bytes().eq_ignore_ascii_case(n))
                })
                .count();
            let absent = SIGNED_HEADERS
                .iter()
                .filter(|s| !found.iter().any(|n| s.as_bytes().eq_ignore_ascii_case(n)))
                .count();
            check_fields(&fields, present + absent);
        }
        Err(DkimError::MissingFrom) => {
            assert!(!has_from, "MissingFrom, but mail-auth signs the From field");
        }
        Err(e) => panic!("sign failed with an Ed25519 key: {e}"),
    }
}

/// `h_len`: how many names `h=` must list.
fn check_fields(fields: &[u8], h_len: usize) {
    let text =
        std::str::from_utf8(fields).unwrap_or_else(|_| panic!("fields are not UTF-8: {fields:?}"));
    assert!(text.ends_with("\r\n"), "{text:?}");
    // One field per key: a new field starts at every line that does not start with WSP.
    let mut unfolded: Vec<String> = Vec::new();
    for line in text[..text.len() - 2].split("\r\n") {
        assert!(!line.contains(['\r', '\n']), "bare CR or LF: {text:?}");
        if line.starts_with([' ', '\t']) {
            let last = unfolded
                .last_mut()
                .unwrap_or_else(|| panic!("continuation first: {text:?}"));
            last.push_str(line);
        } else {
            unfolded.push(line.to_string());
        }
    }
    assert_eq!(unfolded.len(), SELECTORS.len(), "{text:?}");
    for (field, selector) in unfolded.iter().zip(SELECTORS) {
        let value = field
            .strip_prefix("DKIM-Signature:")
            .unwrap_or_else(|| panic!("not a DKIM-Signature: {field:?}"));
        let tags: Vec<(&str, String)> = value
            .split(';')
            .filter(|t| !t.trim().is_empty())
            .map(|t| {
                let (name, v) = t
                    .split_once('=')
                    .unwrap_or_else(|| panic!("tag without '=': {t:?} in {field:?}"));
                let v: String = v.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                (name.trim(), v)
            })
            .collect();
        let tag = |name: &str| -> Option<&str> {
            let mut found = tags
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str());
            let first = found.next();
            assert!(found.next().is_none(), "{name}= twice in {field:?}");
            first
        };
        assert_eq!(tag("v"), Some("1"), "{field:?}");
        assert_eq!(tag("a"), Some("ed25519-sha256"), "{field:?}");
        assert_eq!(tag("c"), Some("relaxed/relaxed"), "{field:?}");
        assert_eq!(tag("d"), Some(DOMAIN), "{field:?}");
        assert_eq!(tag("s"), Some(selector), "{field:?}");
        assert!(
            tag("t").is_some_and(|t| t.parse::<u64>().is_ok()),
            "{field:?}"
        );
        assert!(tag("bh").is_some_and(|v| !v.is_empty()), "{field:?}");
        assert!(tag("b").is_some_and(|v| !v.is_empty()), "{field:?}");
        assert_eq!(tag("l"), None, "{field:?}");
        assert_eq!(tag("x"), None, "{field:?}");
        let h = tag("h").unwrap_or_else(|| panic!("no h= in {field:?}"));
        let signed: Vec<&str> = h.split(':').collect();
        assert_eq!(signed.len(), h_len, "h= of {field:?}");
        for name in &signed {
            assert!(
                SIGNED_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name)),
                "{name} is not one of SIGNED_HEADERS: {field:?}"
            );
        }
        for name in SIGNED_HEADERS {
            assert!(
                signed.iter().any(|s| s.eq_ignore_ascii_case(name)),
                "{name} missing from h=: {field:?}"
            );
        }
    }
}
