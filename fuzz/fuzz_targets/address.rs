//! Address and domain parsing must never panic, and what parses must re-parse to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mailstead_types::{Address, Domain};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(a) = s.parse::<Address>() {
            let again: Address = a.to_string().parse().expect("display of an address re-parses");
            assert_eq!(a, again);
        }
        let _ = s.parse::<Domain>();
    }
});
