//! Replays fuzz/corpus/smtp_command and fuzz/corpus/smtp_data (the cargo-fuzz corpora) so
//! plain `cargo test` guards against regressions found by fuzzing. The checks mirror
//! fuzz/fuzz_targets/smtp_command.rs and smtp_data.rs.

use mailstead_smtp_proto::{DataDecoder, DataProgress, dot_stuff, parse_command};

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/../../fuzz/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let files: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .expect("corpus directory exists")
        .map(|entry| std::fs::read(entry.expect("dir entry").path()).expect("corpus file"))
        .collect();
    assert!(
        files.len() >= 10,
        "{name} corpus unexpectedly small: {}",
        files.len()
    );
    files
}

#[test]
fn smtp_command_corpus_parses_without_panic_and_round_trips() {
    for data in corpus("smtp_command") {
        match parse_command(&data) {
            Ok(cmd) => assert_eq!(parse_command(cmd.to_string().as_bytes()), Ok(cmd)),
            Err(e) => assert!(e.reply().is_permanent()),
        }
    }
}

#[test]
fn smtp_data_corpus_decodes_the_same_in_any_chunks() {
    for data in corpus("smtp_data") {
        let [max, seed, rest @ ..] = data.as_slice() else {
            continue;
        };
        let max = u64::from(*max);
        let mut whole = DataDecoder::new(max);
        let progress = whole.feed(rest);
        let mut chunked = DataDecoder::new(max);
        let step = usize::from(*seed % 17) + 1;
        let mut done = None;
        for (i, chunk) in rest.chunks(step).enumerate() {
            if let DataProgress::Done { consumed } = chunked.feed(chunk) {
                done = Some(i * step + consumed);
                break;
            }
        }
        match progress {
            DataProgress::Done { consumed } => assert_eq!(done, Some(consumed)),
            DataProgress::NeedMore { .. } => assert_eq!(done, None),
        }
        let (a, b) = (whole.take_message(), chunked.take_message());
        assert!(a.len() as u64 <= max);
        assert_eq!(a, b);
        if whole.is_done() && !whole.too_big() && whole.bare_cr_seen() + whole.bare_lf_seen() == 0 {
            let mut again = DataDecoder::new(u64::MAX);
            let wire = dot_stuff(&a);
            assert_eq!(
                again.feed(&wire),
                DataProgress::Done {
                    consumed: wire.len()
                }
            );
            assert_eq!(again.take_message(), a);
        }
    }
}
