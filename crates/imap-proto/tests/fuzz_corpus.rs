//! Replays fuzz/corpus/imap_command (the cargo-fuzz corpus) so plain `cargo test` guards
//! against regressions found by fuzzing. The checks mirror
//! fuzz/fuzz_targets/imap_command.rs.

use mailstead_imap_proto::{literal_at_end, parse_command};

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
        files.len() >= 40,
        "{name} corpus unexpectedly small: {}",
        files.len()
    );
    files
}

#[test]
fn imap_command_corpus_parses_without_panic_and_round_trips() {
    let mut parsed = 0;
    for (path, data) in corpus("imap_command") {
        let _ = literal_at_end(&data);
        if let Ok(line) = parse_command(&data) {
            parsed += 1;
            let wire = line.command.encode(&line.tag);
            assert_eq!(parse_command(&wire), Ok(line), "{path}");
        }
    }
    assert!(parsed >= 30, "only {parsed} corpus entries parse");
}
