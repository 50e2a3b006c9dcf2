//! The checks of the `smtp_reply` fuzz target, shared with its corpus replay
//! (`crates/smtp-proto/tests/fuzz_corpus_reply.rs` includes this file) so the two cannot
//! drift apart.
//!
//! The input is what a server sends: replies one after another, as a pipelining client
//! reads them. For every complete reply:
//!
//! - `parse_reply` never panics and takes 1..=len bytes; every strict prefix of those bytes
//!   is `Incomplete` (a client reading in pieces never sees a valid reply as invalid);
//! - the reply re-encodes (`Reply::encode`) to CRLF lines without other control
//!   characters, which parse back completely to a reply that itself round-trips exactly;
//!   when the text holds no control character but HT (`encode` replaces the others by
//!   `?`, and CR splits lines), the reply parsed back is equal to the original;
//! - `parse_ehlo_response` never panics, lists capabilities only for a 2yz reply, and when
//!   no line holds a CR, `parse_ehlo_response(&ehlo.encode())` gives the same response.

use mailstead_smtp_proto::{Reply, ReplyParseError, parse_ehlo_response, parse_reply};

/// Strict prefixes checked per reply: at most this many line ends, plus the one just
/// before the final LF (keeps the check linear enough for the fuzzer).
const PREFIX_CHECKS: usize = 8;

/// Runs every check on `data`; panics on a violation.
pub fn check(data: &[u8]) {
    let mut rest = data;
    // Reply after reply until one is incomplete or invalid (the client stops there).
    while let Ok((reply, n)) = parse_reply(rest) {
        assert!(
            n >= 1 && n <= rest.len(),
            "took {n} of {} bytes",
            rest.len()
        );
        check_reply(&reply, &rest[..n]);
        rest = &rest[n..];
    }
}

fn check_reply(reply: &Reply, wire: &[u8]) {
    assert!((200..600).contains(&reply.code), "code {}", reply.code);
    assert!(!reply.lines.is_empty(), "a parsed reply has a line");
    assert!(
        reply.lines.iter().all(|l| !l.contains('\n')),
        "LF inside a line: {reply:?}"
    );
    if let Some(e) = reply.enhanced {
        assert_eq!(
            u16::from(e.0),
            reply.code / 100,
            "enhanced class: {reply:?}"
        );
    }

    // Prefixes of a complete reply are incomplete, never invalid.
    assert_eq!(wire.last(), Some(&b'\n'));
    let line_ends = wire
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
        .take(PREFIX_CHECKS);
    for cut in line_ends.chain([0, wire.len() - 1]) {
        if cut < wire.len() {
            assert_eq!(
                parse_reply(&wire[..cut]),
                Err(ReplyParseError::Incomplete),
                "prefix of {cut} bytes of {wire:?}"
            );
        }
    }

    // Re-encoding.
    let encoded = reply.encode();
    for line in encoded.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\r\n").unwrap_or_else(|| {
            panic!("encoded line without CRLF: {line:?}");
        });
        assert!(
            !body.iter().any(|&b| b.is_ascii_control() && b != b'\t'),
            "control character in encoded line {line:?}"
        );
    }
    let (again, n) = parse_reply(&encoded)
        .unwrap_or_else(|e| panic!("encoded reply does not parse ({e}): {encoded:?}"));
    assert_eq!(n, encoded.len(), "encoded reply parsed short: {encoded:?}");
    // Not `again.encode() == encoded` in general: a CR splits a line, and a new line
    // may then start with what reads as an enhanced code ("250 2.0.0\r..."). One round
    // gives clean text, which round-trips exactly from then on.
    let encoded_again = again.encode();
    assert_eq!(
        parse_reply(&encoded_again),
        Ok((again.clone(), encoded_again.len())),
        "not stable after one round: {reply:?}"
    );
    let clean = reply
        .lines
        .iter()
        .all(|l| !l.chars().any(|c| c.is_control() && c != '\t'));
    if clean {
        assert_eq!(&again, reply, "round trip through {encoded:?}");
    }

    // EHLO.
    let ehlo = parse_ehlo_response(reply);
    assert!(reply.is_positive() || ehlo.capabilities.is_empty());
    assert!(!ehlo.domain.contains(' '));
    let _ = ehlo.capability("SIZE");
    let _ = ehlo.capability_params("AUTH");
    let _ = ehlo.has_capability("PIPELINING");
    if reply.lines.iter().all(|l| !l.contains('\r')) {
        assert_eq!(
            parse_ehlo_response(&ehlo.encode()),
            ehlo,
            "EHLO round trip of {reply:?}"
        );
    }
}
