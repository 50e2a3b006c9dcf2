//! Replays fuzz/corpus/config (the cargo-fuzz corpus) so plain `cargo test` guards against
//! regressions found by fuzzing: `Config::parse` never panics, whatever the text.

use std::path::Path;

use mailstead_config::Config;

#[test]
fn config_corpus_parses_without_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/config");
    let mut n = 0;
    let mut valid = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory exists") {
        let data = std::fs::read(entry.expect("dir entry").path()).expect("corpus file");
        if let Ok(text) = std::str::from_utf8(&data)
            && Config::parse(text, Path::new("/nonexistent"), &[]).is_ok()
        {
            valid += 1;
        }
        n += 1;
    }
    assert!(n >= 8, "corpus unexpectedly small: {n}");
    assert!(
        valid >= 1,
        "the corpus should hold at least one valid config"
    );
}
