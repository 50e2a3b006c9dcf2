//! The DATA decoder fed in input-determined chunks must never panic, must store at most
//! `max_size` octets, must agree with itself fed in one piece, and must never take bytes
//! after the end marker.
//!
//! Input: first byte = max size (0..=255), second byte = chunk-size seed, the rest is data.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mailstead_smtp_proto::{DataDecoder, DataProgress, dot_stuff};

fuzz_target!(|data: &[u8]| {
    let [max, seed, rest @ ..] = data else {
        return;
    };
    let max = u64::from(*max);
    let mut whole = DataDecoder::new(max);
    let whole_progress = whole.feed(rest);

    let mut chunked = DataDecoder::new(max);
    let mut offset = 0;
    let mut step = usize::from(*seed % 17) + 1;
    let mut chunked_done = None;
    while offset < rest.len() {
        let end = (offset + step).min(rest.len());
        match chunked.feed(&rest[offset..end]) {
            DataProgress::NeedMore { consumed } => assert_eq!(consumed, end - offset),
            DataProgress::Done { consumed } => {
                assert!(consumed <= end - offset);
                chunked_done = Some(offset + consumed);
                break;
            }
        }
        offset = end;
        step = step * 7 % 23 + 1;
    }
    match whole_progress {
        DataProgress::Done { consumed } => {
            assert_eq!(chunked_done, Some(consumed));
            assert!(rest[..consumed].ends_with(b".\r\n"));
        }
        DataProgress::NeedMore { consumed } => {
            assert_eq!(consumed, rest.len());
            assert_eq!(chunked_done, None);
        }
    }
    assert_eq!(whole.size(), chunked.size());
    assert_eq!(whole.too_big(), chunked.too_big());
    let (a, b) = (whole.take_message(), chunked.take_message());
    assert!(a.len() as u64 <= max);
    assert_eq!(a, b);

    // Encoding the decoded message and decoding it again is stable.
    if whole.is_done() && !whole.too_big() {
        let wire = dot_stuff(&a);
        let mut again = DataDecoder::new(u64::MAX);
        assert_eq!(
            again.feed(&wire),
            DataProgress::Done {
                consumed: wire.len()
            }
        );
        let bare = whole.bare_cr_seen() + whole.bare_lf_seen();
        if bare == 0 {
            assert_eq!(again.take_message(), a);
        }
    }
});
