//! SRS: `reverse` and `forward` never panic on any string, and what `forward` makes
//! reverses to the sender (see `fuzz/checks/srs.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

// The checks live in `fuzz/checks/` so that the corpus replay of `cargo test` asserts
// exactly the same.
#[path = "../checks/srs.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check(data);
});
