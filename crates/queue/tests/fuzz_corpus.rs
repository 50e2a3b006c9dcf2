//! Replays fuzz/corpus/srs and fuzz/corpus/dsn_report (the cargo-fuzz corpora) so plain
//! `cargo test` guards against regressions found by fuzzing. The checks are the fuzz
//! targets' own (`fuzz/checks/srs.rs` and `dsn_report.rs`, included below).

#[path = "../../../fuzz/checks/dsn_report.rs"]
mod dsn_report;
#[path = "../../../fuzz/checks/srs.rs"]
mod srs;

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

/// `reverse` and `forward` never panic, and what `forward` makes reverses to the sender.
#[test]
fn srs_corpus_reverses_without_panic_and_round_trips() {
    for (name, data) in corpus("srs") {
        // Named on stderr so a failure says which file it was.
        eprintln!("checking {name}");
        srs::check(&data);
    }
}

/// Every report parses as `multipart/report` with a `message/delivery-status` part whose
/// fields are exactly the ones asked for: no value injects a field.
#[test]
fn dsn_report_corpus_builds_well_formed_reports() {
    let mut with_recipients = 0;
    for (name, data) in corpus("dsn_report") {
        eprintln!("checking {name}");
        dsn_report::check(&data);
        if !dsn_report::decode(&data).recipients.is_empty() {
            with_recipients += 1;
        }
    }
    assert!(
        with_recipients >= 5,
        "only {with_recipients} corpus entries report on a recipient"
    );
}
