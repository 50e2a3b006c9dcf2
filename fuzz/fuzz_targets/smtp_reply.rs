//! Server replies as a pipelining client reads them: `parse_reply` and `parse_ehlo_response`
//! never panic, and a parsed reply re-encodes to one that parses back (see
//! `fuzz/checks/smtp_reply.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

// The checks live in `fuzz/checks/` so that the corpus replay of `cargo test` asserts
// exactly the same.
#[path = "../checks/smtp_reply.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check(data);
});
