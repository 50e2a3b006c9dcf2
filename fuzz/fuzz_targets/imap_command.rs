//! Parsing any IMAP command must never panic, and a parsed command must re-parse from its
//! own client-side wire form to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mailstead_imap_proto::{literal_at_end, parse_command};

fuzz_target!(|data: &[u8]| {
    let _ = literal_at_end(data);
    if let Ok(line) = parse_command(data) {
        let wire = line.command.encode(&line.tag);
        let again = parse_command(&wire);
        assert_eq!(again.as_ref(), Ok(&line), "wire form re-parses: {wire:?}");
    }
});
