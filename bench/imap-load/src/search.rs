//! `search`: a full-text search over the whole mailbox, as a client's search box sends
//! it: `SEARCH TEXT word` (header and body) and `UID SEARCH BODY word` (body only),
//! each timed from sending to its tagged OK. The hits must be exactly the messages the
//! corpus put the word into (or `--expect N`).

use std::time::Instant;

use crate::conn::{Conn, quote};
use crate::report::Line;
use crate::{Opts, corpus};

pub fn run(mut o: Opts) -> Result<(), String> {
    let word = o.text("word").unwrap_or_else(|| corpus::RARE_WORD.into());
    let rounds = o.num("rounds", 3)?;
    let expect = match o.text("expect") {
        Some(v) => Some(v.parse::<u64>().map_err(|_| "--expect: a number")?),
        None => None,
    };
    o.finish()?;
    let mut c = Conn::login(&o.addr, o.timeout, &o.user, &o.pass)?;
    let exists = c.select(&o.mailbox)?;
    let expected =
        expect.unwrap_or_else(|| (0..exists).filter(|&i| corpus::has_rare_word(i)).count() as u64);

    for round in 1..=rounds {
        for (key, command) in [
            ("TEXT", format!("SEARCH TEXT {}", quote(&word))),
            ("UID BODY", format!("UID SEARCH BODY {}", quote(&word))),
        ] {
            let mut hits = Vec::new();
            let started = Instant::now();
            let done = c.command_each(&command, |r| {
                if let Some(rest) = r.raw.strip_prefix(b"* SEARCH") {
                    for n in String::from_utf8_lossy(rest).split_whitespace() {
                        hits.push(n.parse::<u64>().map_err(|_| format!("SEARCH hit {n:?}"))?);
                    }
                }
                Ok(())
            })?;
            let elapsed = started.elapsed();
            if done.status() != b"OK" {
                return Err(format!("{command}: {}", done.first_line()));
            }
            let ok = hits.len() as u64 == expected;
            Line::new("search", &o.label, &o.addr)
                .str("key", key)
                .str("word", &word)
                .str("mailbox", &o.mailbox)
                .num("round", round)
                .num("messages", exists)
                .num("hits", hits.len())
                .num("expected", expected)
                .ms("ms", elapsed)
                .bool("ok", ok)
                .print();
            if !ok {
                let n = hits.len();
                hits.truncate(20);
                return Err(format!(
                    "{command}: {n} hits, expected {expected} (the first: {hits:?})"
                ));
            }
        }
    }
    c.logout();
    Ok(())
}
