//! A DSN built from any field values is a well-formed `multipart/report` that mail-parser
//! reads, and no value can inject a field (see `fuzz/checks/dsn_report.rs` for the input
//! layout and the checks).
#![no_main]
use libfuzzer_sys::fuzz_target;

// The checks live in `fuzz/checks/` so that the corpus replay of `cargo test` asserts
// exactly the same.
#[path = "../checks/dsn_report.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    check::check(data);
});
