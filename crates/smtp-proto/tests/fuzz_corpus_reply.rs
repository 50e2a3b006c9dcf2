//! Replays fuzz/corpus/smtp_reply (the cargo-fuzz corpus) so plain `cargo test` guards
//! against regressions found by fuzzing. The checks are the fuzz target's own
//! (`fuzz/checks/smtp_reply.rs`, included below): no panic in `parse_reply` or
//! `parse_ehlo_response`, prefixes of a reply are incomplete, and a parsed reply
//! re-encodes to one that parses back.

#[path = "../../../fuzz/checks/smtp_reply.rs"]
mod check;

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
fn smtp_reply_corpus_parses_without_panic_and_round_trips() {
    let mut complete = 0;
    for (name, data) in corpus("smtp_reply") {
        // Named on stderr so a failure says which file it was.
        eprintln!("checking {name}");
        check::check(&data);
        if mailstead_smtp_proto::parse_reply(&data).is_ok() {
            complete += 1;
        }
    }
    assert!(complete >= 8, "only {complete} corpus entries hold a reply");
}
