//! Replays fuzz/corpus/dkim_sign (the cargo-fuzz corpus) so plain `cargo test` guards
//! against regressions found by fuzzing. The checks are the fuzz target's own
//! (`fuzz/checks/dkim_sign.rs`, included below): `Signer::sign` never panics, refuses
//! exactly the messages whose `From` mail-auth would not sign, and otherwise gives
//! well-formed `DKIM-Signature` fields.

#[path = "../../../fuzz/checks/dkim_sign.rs"]
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
fn dkim_sign_corpus_signs_without_panic() {
    for (name, data) in corpus("dkim_sign") {
        // Named on stderr so a failure says which file it was.
        eprintln!("checking {name}");
        check::check(&data);
    }
}
