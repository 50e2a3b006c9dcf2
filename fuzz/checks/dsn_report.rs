//! The checks of the `dsn_report` fuzz target, shared with its corpus replay
//! (`crates/queue/tests/fuzz_corpus.rs` includes this file) so the two cannot drift apart.
//!
//! Input (see [`decode`]): a fixed 71-byte head (flags, times, sizes, per-recipient
//! flags; zero-filled when short), then the string fields separated by 0xFF (a byte that
//! never occurs in UTF-8; invalid UTF-8 is read lossily), then the original message (the
//! rest, raw). Whatever the values, `build_report` must never panic, and its output must:
//!
//! - use CRLF line ends only (no bare CR or LF anywhere);
//! - parse with mail-parser as `multipart/report; report-type=delivery-status` with the
//!   top-level fields From, To, Subject (by action), Date, Message-ID, Auto-Submitted,
//!   MIME-Version and Content-Type, each once, and no other;
//! - have three parts: `text/plain`, `message/delivery-status`, and the original as
//!   `message/rfc822` (or its header as `text/rfc822-headers` for `RET=HDRS` or an
//!   original over the size limit);
//! - hold in the status part exactly the field groups and fields the report asks for, in
//!   RFC 3464 order, each line at most 998 octets and none of white space only: no value
//!   (a diagnostic with CRLF, an ENVID, an address) can start a field or a group of its
//!   own.

use mail_parser::{MessageParser, MimeHeaders as _, PartType};
use mailstead_queue::dsn::{DsnRecipient, DsnReport, build_report};
use mailstead_store::model::{DsnAction, DsnRet, OriginalRecipient};

/// Recipients a head describes at most.
const MAX_RECIPIENTS: usize = 3;
/// Length of the fixed head: flags, arrival, now, max_return_size, recipient count, and
/// per recipient its flags and two times.
pub const HEAD_LEN: usize = 1 + 8 + 8 + 2 + 1 + MAX_RECIPIENTS * (1 + 8 + 8);
/// Separates the string fields.
pub const SEP: u8 = 0xFF;

const ACTIONS: [DsnAction; 5] = [
    DsnAction::Failed,
    DsnAction::Delayed,
    DsnAction::Delivered,
    DsnAction::Relayed,
    DsnAction::Expanded,
];

/// The owned values of a report ([`DsnReport`] borrows).
#[derive(Debug)]
pub struct Input {
    pub reporting_mta: String,
    pub to: String,
    pub envid: Option<String>,
    pub arrival: i64,
    pub now: i64,
    pub ret: Option<DsnRet>,
    pub max_return_size: usize,
    pub recipients: Vec<DsnRecipient>,
    pub original: Vec<u8>,
}

/// Reads the fixed head and the fields.
///
/// Head: `flags` (bit 0: an ENVID; bits 1–2: RET none / FULL / HDRS / none), `arrival`
/// and `now` (i64 LE), `max_return_size` (u16 LE), the recipient count (mod 4), then per
/// recipient `flags` (bits 0–2: action mod 5; 3: ORCPT; 4: Remote-MTA; 5: diagnostic;
/// 6: last attempt; 7: will retry until) and its two times (i64 LE).
///
/// Fields, in order: reporting MTA, To, [ENVID], then per recipient: final recipient,
/// status, [ORCPT type, ORCPT address], [Remote-MTA], [diagnostic].
pub fn decode(data: &[u8]) -> Input {
    let mut head = [0u8; HEAD_LEN];
    let n = data.len().min(HEAD_LEN);
    head[..n].copy_from_slice(&data[..n]);
    let mut rest = &data[n..];
    let mut field = || -> String {
        let end = rest.iter().position(|&b| b == SEP).unwrap_or(rest.len());
        let value = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = rest.get(end + 1..).unwrap_or(&[]);
        value
    };
    let i64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[at..at + 8]);
        i64::from_le_bytes(b)
    };
    let flags = head[0];
    let reporting_mta = field();
    let to = field();
    let envid = (flags & 1 != 0).then(&mut field);
    let ret = match (flags >> 1) & 3 {
        1 => Some(DsnRet::Full),
        2 => Some(DsnRet::Hdrs),
        _ => None,
    };
    let count = usize::from(head[19] % 4).min(MAX_RECIPIENTS);
    let mut recipients = Vec::new();
    for i in 0..count {
        let at = 20 + i * 17;
        let f = head[at];
        let final_recipient = field();
        let status = field();
        let original_recipient = (f & 8 != 0).then(|| OriginalRecipient {
            addr_type: field(),
            address: field(),
        });
        let remote_mta = (f & 16 != 0).then(&mut field);
        let diagnostic = (f & 32 != 0).then(&mut field);
        recipients.push(DsnRecipient {
            final_recipient,
            original_recipient,
            action: ACTIONS[usize::from(f & 7) % ACTIONS.len()],
            status,
            remote_mta,
            diagnostic,
            last_attempt: (f & 64 != 0).then(|| i64_at(at + 1)),
            will_retry_until: (f & 128 != 0).then(|| i64_at(at + 9)),
        });
    }
    let original = rest.to_vec();
    Input {
        reporting_mta,
        to,
        envid,
        arrival: i64_at(1),
        now: i64_at(9),
        ret,
        max_return_size: usize::from(u16::from_le_bytes([head[17], head[18]])),
        recipients,
        original,
    }
}

/// Runs every check on `data`; panics on a violation.
pub fn check(data: &[u8]) {
    let input = decode(data);
    let report = DsnReport {
        reporting_mta: &input.reporting_mta,
        to: &input.to,
        envid: input.envid.as_deref(),
        arrival: input.arrival,
        recipients: input.recipients.clone(),
        original: &input.original,
        ret: input.ret,
        max_return_size: input.max_return_size,
        now: input.now,
    };
    let out = build_report(&report);
    check_output(&input, &out);
}

fn check_output(input: &Input, out: &[u8]) {
    let shown = || String::from_utf8_lossy(out).into_owned();
    for (i, &b) in out.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR at {i}: {}", shown()),
            b'\n' => assert!(i > 0 && out[i - 1] == b'\r', "bare LF at {i}: {}", shown()),
            _ => {}
        }
    }
    let Some(msg) = MessageParser::default().parse(out) else {
        panic!("mail-parser cannot read the report: {}", shown());
    };

    // Top-level fields.
    let expected = [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "MIME-Version",
        "Content-Type",
    ];
    let names: Vec<&str> = msg.headers().iter().map(|h| h.name()).collect();
    for name in &names {
        assert!(
            expected.iter().any(|e| e.eq_ignore_ascii_case(name)),
            "unexpected top-level field {name:?}: {}",
            shown()
        );
    }
    for e in expected {
        let n = names.iter().filter(|n| n.eq_ignore_ascii_case(e)).count();
        assert_eq!(n, 1, "{e} appears {n} times: {}", shown());
    }
    let subject = if input
        .recipients
        .iter()
        .any(|r| r.action == DsnAction::Failed)
    {
        "Undelivered Mail Returned to Sender"
    } else if input
        .recipients
        .iter()
        .any(|r| r.action == DsnAction::Delayed)
    {
        "Delayed Mail (still being retried)"
    } else {
        "Successful Mail Delivery Report"
    };
    assert_eq!(msg.subject(), Some(subject), "{}", shown());

    // The parts.
    let ct = msg
        .content_type()
        .unwrap_or_else(|| panic!("no Content-Type: {}", shown()));
    assert!(ct.ctype().eq_ignore_ascii_case("multipart"), "{}", shown());
    assert_eq!(ct.subtype(), Some("report"), "{}", shown());
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    let PartType::Multipart(children) = &msg.parts[0].body else {
        panic!("not multipart: {}", shown());
    };
    let parts: Vec<_> = children.iter().map(|&i| &msg.parts[i as usize]).collect();
    assert_eq!(parts.len(), 3, "{}", shown());
    let type_of = |i: usize| {
        let ct = parts[i]
            .content_type()
            .unwrap_or_else(|| panic!("part {i} has no Content-Type: {}", shown()));
        format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))
    };
    assert_eq!(type_of(0), "text/plain", "{}", shown());
    assert_eq!(type_of(1), "message/delivery-status", "{}", shown());
    let whole = input.ret != Some(DsnRet::Hdrs) && input.original.len() <= input.max_return_size;
    let third = if whole {
        "message/rfc822"
    } else {
        "text/rfc822-headers"
    };
    assert_eq!(type_of(2), third, "{}", shown());

    check_status(input, parts[1].contents(), out);
}

/// Presence of a field in a group of the status part.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Want {
    Yes,
    No,
    /// Dates: present when `time` can format the value.
    Maybe,
}

fn want(present: bool) -> Want {
    if present { Want::Yes } else { Want::No }
}

fn check_status(input: &Input, body: &[u8], out: &[u8]) {
    let shown = || String::from_utf8_lossy(out).into_owned();
    let text = std::str::from_utf8(body)
        .unwrap_or_else(|_| panic!("status part is not UTF-8: {}", shown()));
    let text = text.strip_suffix("\r\n").unwrap_or(text);
    let groups: Vec<&str> = text.split("\r\n\r\n").collect();
    assert_eq!(
        groups.len(),
        1 + input.recipients.len(),
        "groups of {text:?}"
    );
    let maybe = |t: Option<i64>| if t.is_some() { Want::Maybe } else { Want::No };
    let mut specs = vec![vec![
        ("Reporting-MTA", Want::Yes),
        ("Original-Envelope-Id", want(input.envid.is_some())),
        ("Arrival-Date", Want::Maybe),
    ]];
    for r in &input.recipients {
        specs.push(vec![
            ("Original-Recipient", want(r.original_recipient.is_some())),
            ("Final-Recipient", Want::Yes),
            ("Action", Want::Yes),
            ("Status", Want::Yes),
            ("Remote-MTA", want(r.remote_mta.is_some())),
            ("Diagnostic-Code", want(r.diagnostic.is_some())),
            ("Last-Attempt-Date", maybe(r.last_attempt)),
            ("Will-Retry-Until", maybe(r.will_retry_until)),
        ]);
    }
    for (gi, (group, spec)) in groups.iter().zip(&specs).enumerate() {
        // Unfold into (name, value).
        let mut fields: Vec<(&str, String)> = Vec::new();
        for line in group.split("\r\n") {
            assert!(
                line.len() <= 998,
                "line of {} octets in {text:?}",
                line.len()
            );
            assert!(!line.is_empty(), "empty line inside group {gi}: {text:?}");
            // RFC 5322 §4.2: a line of white space only is obsolete syntax, and a reader
            // that takes it for the blank line would see a group end there.
            assert!(
                !line.bytes().all(|b| b == b' ' || b == b'\t'),
                "white-space-only line in group {gi}: {text:?}"
            );
            if line.starts_with([' ', '\t']) {
                let last = fields
                    .last_mut()
                    .unwrap_or_else(|| panic!("group {gi} starts folded: {text:?}"));
                last.1.push_str(line);
            } else {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("not a field: {line:?} in {text:?}"));
                fields.push((name, value.to_string()));
            }
        }
        let mut got = fields.iter().peekable();
        for &(name, want) in spec {
            let here = got.peek().is_some_and(|(n, _)| *n == name);
            match want {
                Want::Yes => assert!(here, "group {gi} lacks {name}: {text:?}"),
                Want::No => assert!(!here, "group {gi} has {name}: {text:?}"),
                Want::Maybe => {}
            }
            if here {
                got.next();
            }
        }
        assert!(
            got.next().is_none(),
            "group {gi} has fields out of place: {fields:?} in {text:?}"
        );
        if gi > 0 {
            let r = &input.recipients[gi - 1];
            let action = fields
                .iter()
                .find(|(n, _)| *n == "Action")
                .map(|(_, v)| v.trim());
            assert_eq!(action, Some(r.action.as_str()), "{text:?}");
        }
    }
}
