//! DKIM signing of any message bytes with fixed Ed25519 keys never panics, fails exactly
//! when there is no `From` field, and otherwise gives well-formed `DKIM-Signature` fields
//! (see `fuzz/checks/dkim_sign.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

// The checks live in `fuzz/checks/` so that the corpus replay of `cargo test` asserts
// exactly the same.
#[path = "../checks/dkim_sign.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check(data);
});
