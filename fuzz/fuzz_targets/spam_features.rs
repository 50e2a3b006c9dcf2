//! Spam features: `tokenize::features` never panics on any bytes and gives sorted,
//! distinct features, and the classifier over them stays in [0, 1] (see
//! `fuzz/checks/spam_features.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

// The checks live in `fuzz/checks/` so that the corpus replay of `cargo test` asserts
// exactly the same.
#[path = "../checks/spam_features.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check(data);
});
