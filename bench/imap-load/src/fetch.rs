//! `fetch`: what a client does when it opens a mailbox it has not cached — the summary
//! of every message (`meta`: `FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)`), or every
//! message whole (`bodies`: `FETCH 1:* BODY.PEEK[]`, as an offline sync does), in one
//! command, timed from sending it to its tagged OK.
//!
//! Every FETCH response is parsed (literals included) and checked: one per message, no
//! message twice, each with the items asked for and a 10-field ENVELOPE; for `bodies`
//! the body octets add up to the mailbox's RFC822.SIZE total (fetched, untimed, first).

use std::time::Instant;

use crate::Opts;
use crate::conn::Conn;
use crate::report::Line;
use crate::value::{Value, fetch_response};

pub fn run(mut o: Opts) -> Result<(), String> {
    let what = o.text("what").unwrap_or_else(|| "meta".into());
    let rounds = o.num("rounds", 3)?;
    o.finish()?;
    let bodies = match what.as_str() {
        "meta" => false,
        "bodies" => true,
        other => return Err(format!("--what meta|bodies, not {other:?}")),
    };
    let mut c = Conn::login(&o.addr, o.timeout, &o.user, &o.pass)?;
    let exists = c.select(&o.mailbox)?;
    if exists == 0 {
        return Err(format!("{} is empty: populate it first", o.mailbox));
    }
    let expected_octets = if bodies {
        let mut total = 0;
        let done = c.command_each("FETCH 1:* (RFC822.SIZE)", |r| {
            if let Some((_, items)) = fetch_response(&r.raw)? {
                for (name, v) in items {
                    if name.eq_ignore_ascii_case(b"RFC822.SIZE") {
                        total += v.as_number().ok_or("RFC822.SIZE is not a number")?;
                    }
                }
            }
            Ok(())
        })?;
        if done.status() != b"OK" {
            return Err(format!("FETCH RFC822.SIZE: {}", done.first_line()));
        }
        Some(total)
    } else {
        None
    };
    let command = if bodies {
        "FETCH 1:* BODY.PEEK[]"
    } else {
        "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)"
    };

    for round in 1..=rounds {
        let mut seen = vec![false; exists as usize + 1];
        let mut responses = 0u64;
        let mut octets = 0u64;
        let read_before = c.reader.bytes_read;
        let started = Instant::now();
        let done = c.command_each(command, |r| {
            let Some((seq, items)) = fetch_response(&r.raw)? else {
                return Ok(()); // EXISTS, RECENT, ...
            };
            let slot = seen
                .get_mut(seq as usize)
                .filter(|_| seq > 0)
                .ok_or_else(|| format!("FETCH for message {seq} of {exists}"))?;
            if std::mem::replace(slot, true) {
                return Err(format!("two FETCH responses for message {seq}"));
            }
            responses += 1;
            if bodies {
                octets += body_octets(seq, &items)?;
            } else {
                check_meta(seq, &items)?;
            }
            Ok(())
        })?;
        let elapsed = started.elapsed();
        if done.status() != b"OK" {
            return Err(format!("{command}: {}", done.first_line()));
        }
        let mut ok = responses == exists;
        if let Some(want) = expected_octets {
            ok &= octets == want;
        }
        let mut line = Line::new("fetch", &o.label, &o.addr)
            .str("what", &what)
            .str("mailbox", &o.mailbox)
            .num("round", round)
            .num("messages", exists)
            .num("responses", responses)
            .ms("ms", elapsed)
            .num("bytes_read", c.reader.bytes_read - read_before);
        if bodies {
            line = line.num("body_octets", octets);
        }
        line.bool("ok", ok).print();
        if responses != exists {
            return Err(format!("{responses} FETCH responses for {exists} messages"));
        }
        if let Some(want) = expected_octets.filter(|&w| w != octets) {
            return Err(format!(
                "bodies add up to {octets} octets, RFC822.SIZE to {want}"
            ));
        }
    }
    c.logout();
    Ok(())
}

fn item<'v, 'a>(items: &'v [(&[u8], Value<'a>)], name: &str) -> Option<&'v Value<'a>> {
    items
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v)
}

fn check_meta(seq: u64, items: &[(&[u8], Value<'_>)]) -> Result<(), String> {
    let bad = |what: &str| format!("message {seq}: {what}");
    item(items, "UID")
        .and_then(Value::as_number)
        .filter(|&u| u > 0)
        .ok_or_else(|| bad("no UID"))?;
    item(items, "RFC822.SIZE")
        .and_then(Value::as_number)
        .ok_or_else(|| bad("no RFC822.SIZE"))?;
    match item(items, "FLAGS") {
        Some(Value::List(_)) => {}
        _ => return Err(bad("no FLAGS list")),
    }
    match item(items, "ENVELOPE") {
        Some(Value::List(env)) if env.len() == 10 => Ok(()),
        _ => Err(bad("no 10-field ENVELOPE")),
    }
}

fn body_octets(seq: u64, items: &[(&[u8], Value<'_>)]) -> Result<u64, String> {
    match item(items, "BODY[]") {
        Some(Value::Str(b)) => Ok(b.len() as u64),
        _ => Err(format!("message {seq}: no BODY[]")),
    }
}
