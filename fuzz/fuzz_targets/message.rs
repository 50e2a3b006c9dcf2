//! `index`, `section` and `binary` must never panic on any input, and must agree with
//! each other: every part BODYSTRUCTURE lists exists in `section` and `binary`, and its
//! `octets` are the length of `BODY[part]`; `BODY[HEADER]` + `BODY[TEXT]` is the message;
//! the stored summary reads back; the body text stays within its cap.
#![no_main]
use libfuzzer_sys::fuzz_target;

// The checks live in the crate (`check::consistency`) so that the corpus replay of
// `cargo test` asserts exactly the same.
fuzz_target!(|data: &[u8]| {
    mailstead_message::check::consistency(data);
});
