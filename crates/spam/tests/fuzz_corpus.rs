//! Replays fuzz/corpus/spam_features (the cargo-fuzz corpus) so plain `cargo test` guards
//! against regressions found by fuzzing. The checks are the fuzz target's own
//! (`fuzz/checks/spam_features.rs`, included below).

#[path = "../../../fuzz/checks/spam_features.rs"]
mod spam_features;

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/../../fuzz/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("corpus directory exists")
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            let data = std::fs::read(&path).expect("corpus file");
            (path.display().to_string(), data)
        })
        .collect();
    assert!(
        files.len() >= 10,
        "{name} corpus unexpectedly small: {}",
        files.len()
    );
    files
}

/// `features` never panics, gives sorted distinct features, and the classifier over them
/// stays a probability.
#[test]
fn spam_features_corpus_tokenises_without_panic() {
    for (name, data) in corpus("spam_features") {
        // Named on stderr so a failure says which file it was.
        eprintln!("checking {name}");
        spam_features::check(&data);
    }
}
