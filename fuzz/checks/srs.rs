//! The checks of the `srs` fuzz target, shared with its corpus replay
//! (`crates/queue/tests/fuzz_corpus.rs` includes this file) so the two cannot drift apart.
//!
//! Input: `<day>\n<string>` (day in decimal; without a first line that parses, the whole
//! input is the string and the day is 20000). The string is given to `reverse` as a local
//! part and to `forward` as a sender. Checks:
//!
//! - neither panics; `reverse` says `NotSrs` exactly when `is_srs` is false, and whatever
//!   it returns on success is an address;
//! - `forward` leaves the null sender, non-addresses and our own domain alone, and
//!   otherwise gives an SRS address in our domain: SRS0 for a plain sender, SRS1 for an
//!   SRS0 sender of another forwarder;
//! - for a sender `local@domain` whose domain holds no `=` (a domain name never does; the
//!   SRS fields are `=`-separated), the rewritten address reverses on the same day with
//!   the same key to the sender (for an SRS0 sender: to it with the tag spelled `SRS0`),
//!   still reverses 21 days later and when case-folded, is expired 22 days later (SRS0),
//!   and survives two more forwarders (SRS1, re-signed without growing).

use mailstead_queue::srs::{Srs, SrsError};

/// The day used when the input has no day line.
const DEFAULT_DAY: u64 = 20_000;
/// Our domain (lower case: `forward` writes it lower-cased).
const OURS: &str = "fwd.example";
/// The maximum age given to [`Srs::new`].
const MAX_AGE: u32 = 21;

fn ours() -> Srs {
    Srs::new(b"fuzz key", "Fwd.Example", MAX_AGE)
}

/// Runs every check on `data`; panics on a violation.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (day, s) = match text.split_once('\n') {
        Some((d, s)) => match d.parse::<u64>() {
            Ok(day) => (day, s),
            Err(_) => (DEFAULT_DAY, &*text),
        },
        None => (DEFAULT_DAY, &*text),
    };
    let srs = ours();

    // `s` as a local part coming back to us.
    match srs.reverse(s, day) {
        Ok(addr) => {
            assert!(Srs::is_srs(s));
            assert!(addr.contains('@'), "reversed {s:?} to {addr:?}");
        }
        Err(SrsError::NotSrs) => assert!(!Srs::is_srs(s), "{s:?} is SRS"),
        Err(_) => assert!(Srs::is_srs(s), "{s:?} is not SRS"),
    }

    // `s` as a sender going out.
    let out = srs.forward(s, day);
    let Some((local, domain)) = s.rsplit_once('@') else {
        assert_eq!(out, s, "no address, no rewrite");
        return;
    };
    if local.is_empty() || domain.is_empty() || domain.eq_ignore_ascii_case(OURS) {
        assert_eq!(out, s, "nothing to rewrite");
        return;
    }
    let out_local = out
        .strip_suffix(&format!("@{OURS}"))
        .unwrap_or_else(|| panic!("{s:?} rewritten outside our domain: {out:?}"));
    assert!(Srs::is_srs(out_local), "{out:?}");
    let srs0_sender = has_tag(local, "SRS0");
    if srs0_sender {
        assert!(out_local.starts_with("SRS1="), "{s:?} → {out:?}");
    } else if !has_tag(local, "SRS1") {
        assert!(out_local.starts_with("SRS0="), "{s:?} → {out:?}");
    }
    let back = srs.reverse(out_local, day);
    if has_tag(local, "SRS1") && !srs0_sender {
        // Another forwarder's SRS1: re-signed (SRS1) or, if unreadable, wrapped (SRS0).
        if let Ok(addr) = &back {
            assert!(addr.contains('@'));
        }
        return;
    }
    if domain.contains('=') {
        return;
    }
    let expected = if srs0_sender {
        format!("SRS0{}@{domain}", &local[4..])
    } else {
        s.to_string()
    };
    assert_eq!(back.as_ref(), Ok(&expected), "{s:?} → {out:?}");

    if !srs0_sender {
        // Age and case folding (SRS0 only: SRS1 carries no time stamp).
        if let Some(later) = day.checked_add(u64::from(MAX_AGE) + 1) {
            assert_eq!(srs.reverse(out_local, later - 1).as_ref(), Ok(&expected));
            assert_eq!(srs.reverse(out_local, later), Err(SrsError::Expired));
        }
        assert_eq!(
            srs.reverse(&out_local.to_ascii_lowercase(), day),
            Ok(expected.to_ascii_lowercase())
        );
    }

    // Two more forwarders: the second makes SRS1 naming the first SRS0 forwarder (us, or
    // for an SRS0 sender the forwarder before us), the third keeps that.
    let first_srs0 = if srs0_sender { &expected } else { &out };
    let second = Srs::new(b"second key", "second.example", MAX_AGE);
    let third = Srs::new(b"third key", "third.example", MAX_AGE);
    let out2 = second.forward(&out, day);
    let out2_local = out2
        .strip_suffix("@second.example")
        .unwrap_or_else(|| panic!("{out:?} → {out2:?}"));
    assert_eq!(second.reverse(out2_local, day).as_ref(), Ok(first_srs0));
    let out3 = third.forward(&out2, day);
    let out3_local = out3
        .strip_suffix("@third.example")
        .unwrap_or_else(|| panic!("{out2:?} → {out3:?}"));
    assert_eq!(third.reverse(out3_local, day).as_ref(), Ok(first_srs0));
    assert!(out3.len() <= out2.len() + 16, "{out2:?} grew to {out3:?}");
}

/// `local` starts with `tag` (case-insensitive) and one of the separators `=`, `-`, `+`.
fn has_tag(local: &str, tag: &str) -> bool {
    local
        .get(..tag.len())
        .is_some_and(|t| t.eq_ignore_ascii_case(tag))
        && local[tag.len()..].starts_with(['=', '-', '+'])
}
