//! Replays fuzz/corpus/message (the cargo-fuzz corpus, seeded with tests/fixtures) so
//! plain `cargo test` guards against regressions found by fuzzing. The checks are the
//! fuzz target's (`mailstead_message::check::consistency`): no panic, and `index`,
//! `section` and `binary` agree.

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

#[test]
fn message_corpus_indexes_and_sections_consistently() {
    for (name, data) in corpus("message") {
        // Named on stderr so a failure says which file it was.
        eprintln!("checking {name}");
        mailstead_message::check::consistency(&data);
    }
}
