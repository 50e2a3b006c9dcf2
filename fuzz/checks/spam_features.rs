//! The checks of the `spam_features` fuzz target, shared with its corpus replay
//! (`crates/spam/tests/fuzz_corpus.rs` includes this file) so the two cannot drift apart.
//!
//! Input: any bytes, taken as a message. Checks:
//!
//! - `tokenize::features` does not panic, and its features are sorted and distinct (the
//!   store and `bayes::probability` rely on it), and the same on a second call;
//! - `bayes::probability` over them, with counts made up from the feature hashes and a
//!   model just trained enough, is in [0, 1], and `bayes::hit` of it has a factor in
//!   (0, 1].

use std::collections::HashMap;

use mailstead_spam::bayes::{self, Counts, MIN_LEARNS, Totals};
use mailstead_spam::tokenize::features;

/// Runs every check on `data`; panics on a violation.
pub fn check(data: &[u8]) {
    let f = features(data);
    assert!(
        f.windows(2).all(|w| w[0] < w[1]),
        "features not sorted and distinct"
    );
    assert_eq!(f, features(data), "features not deterministic");

    // Counts from the hash bits: some features spammy, some hammy, some unseen.
    let counts: HashMap<u64, Counts> = f
        .iter()
        .filter(|h| *h % 3 != 0)
        .map(|h| {
            let spam = (h >> 8) as u32 % (MIN_LEARNS as u32 + 1);
            let ham = (h >> 40) as u32 % (MIN_LEARNS as u32 + 1);
            (*h, Counts { spam, ham })
        })
        .collect();
    let totals = Totals {
        spam: MIN_LEARNS,
        ham: MIN_LEARNS,
    };
    let p = bayes::probability(&f, &counts, totals).expect("trained enough");
    assert!((0.0..=1.0).contains(&p), "probability {p}");
    if let Some(hit) = bayes::hit(p) {
        assert!(
            hit.factor > 0.0 && hit.factor <= 1.0,
            "factor {}",
            hit.factor
        );
    }
}
