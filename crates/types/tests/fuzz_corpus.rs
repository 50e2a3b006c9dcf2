//! Replays fuzz/corpus/address (the cargo-fuzz corpus) so plain `cargo test` guards
//! against regressions found by fuzzing.

use mailstead_types::{Address, Domain};

#[test]
fn address_corpus_parses_without_panic_and_round_trips() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/address");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory exists") {
        let data = std::fs::read(entry.expect("dir entry").path()).expect("corpus file");
        if let Ok(s) = std::str::from_utf8(&data) {
            if let Ok(a) = s.parse::<Address>() {
                assert_eq!(a.to_string().parse::<Address>().ok(), Some(a));
            }
            let _ = s.parse::<Domain>();
        }
        n += 1;
    }
    assert!(n >= 5, "corpus unexpectedly small: {n}");
}
