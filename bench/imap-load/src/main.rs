//! mailstead's IMAP load generator: fills a mailbox with a deterministic, realistic
//! corpus and times what mail clients make a server do with it, against any IMAP server
//! on loopback (mailstead, or Dovecot as the reference), with plain TCP and LOGIN.
//!
//! Subcommands (each prints JSON lines on stdout, one per measured round, and exits 1 on
//! the first wrong answer from the server):
//!
//! - `populate`: APPENDs `--count` messages (RFC 3501 §6.3.11), pipelined; with LITERAL+
//!   (RFC 7888) when the server advertises it, else with synchronising literals.
//! - `fetch --what meta|bodies`: `FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)` or
//!   `FETCH 1:* BODY.PEEK[]`, every response parsed (literals included) and checked.
//! - `search --word W`: `SEARCH TEXT W` and `UID SEARCH BODY W`, hit counts checked.
//! - `idle --conns N`: N connections LOGIN, SELECT INBOX and IDLE (RFC 2177); a command
//!   given with `--measure-cmd` reports the server's memory before and while they idle;
//!   then one APPEND must reach every idling connection as `* n EXISTS`.
//!
//! Modules: [`conn`] (an IMAP connection: commands, responses with literals),
//! [`value`] (IMAP data → values), [`corpus`] (the messages), one module per
//! subcommand, [`report`] (JSON lines).
//!
//! Standard library only: threads, not an async runtime (1,000 idle connections are
//! 1,000 parked threads with small stacks; the client's memory is not what is measured).

mod conn;
mod corpus;
mod fetch;
mod idle;
mod populate;
mod report;
mod search;
mod value;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: imap-load SUBCOMMAND [options]

subcommands:
  populate  --count N (10000) --seed S (1) --window N (64: commands in flight)
            --sync-literals (even when the server has LITERAL+)
  fetch     --what meta|bodies (meta) --rounds N (3)
  search    --word W (xylophonist) --rounds N (3) [--expect N]
  idle      --conns N (1000) [--measure-cmd CMD] --settle-secs S (3)
            --login-parallel N (16) --no-notify --notify-timeout-secs S (60)

common options:
  --addr HOST:PORT (127.0.0.1:2143)  --user U  --pass P | --pass-file F
  --mailbox M (INBOX)  --label L (the address)  --timeout-secs S (300: any one read)

The expected hit count of `search` is the number of messages i < EXISTS with
i % 2000 == 7 (where populate puts the rare word), unless --expect is given.";

/// Options common to every subcommand, plus the subcommand's own (by name).
pub struct Opts {
    pub addr: String,
    pub user: String,
    pub pass: String,
    pub mailbox: String,
    pub label: String,
    pub timeout: Duration,
    rest: HashMap<String, String>,
}

impl Opts {
    fn parse(args: &[String], flags: &[&str]) -> Result<Opts, String> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let key = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {a:?}"))?;
            if flags.contains(&key) {
                map.insert(key.to_string(), String::new());
            } else {
                let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
                map.insert(key.to_string(), v.clone());
            }
        }
        let take = |m: &mut HashMap<String, String>, k: &str| m.remove(k);
        let addr = take(&mut map, "addr").unwrap_or_else(|| "127.0.0.1:2143".into());
        let user = take(&mut map, "user").ok_or("--user is required")?;
        let pass = match (take(&mut map, "pass"), take(&mut map, "pass-file")) {
            (Some(p), None) => p,
            (None, Some(f)) => std::fs::read_to_string(&f)
                .map_err(|e| format!("--pass-file {f}: {e}"))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            _ => return Err("exactly one of --pass and --pass-file is required".into()),
        };
        let mailbox = take(&mut map, "mailbox").unwrap_or_else(|| "INBOX".into());
        let label = take(&mut map, "label").unwrap_or_else(|| addr.clone());
        let timeout_secs: u64 = match take(&mut map, "timeout-secs") {
            Some(v) => v.parse().map_err(|_| "--timeout-secs: a number")?,
            None => 300,
        };
        Ok(Opts {
            addr,
            user,
            pass,
            mailbox,
            label,
            timeout: Duration::from_secs(timeout_secs),
            rest: map,
        })
    }

    /// A subcommand option as a number, with its default.
    pub fn num(&mut self, key: &str, default: u64) -> Result<u64, String> {
        match self.rest.remove(key) {
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key}: a number, not {v:?}")),
            None => Ok(default),
        }
    }

    /// A subcommand option as text, if given.
    pub fn text(&mut self, key: &str) -> Option<String> {
        self.rest.remove(key)
    }

    /// Whether a value-less flag was given.
    pub fn flag(&mut self, key: &str) -> bool {
        self.rest.remove(key).is_some()
    }

    /// Fails on options the subcommand did not use.
    pub fn finish(&self) -> Result<(), String> {
        match self.rest.keys().next() {
            Some(k) => Err(format!("unknown option --{k}")),
            None => Ok(()),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(sub) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let flags: &[&str] = &["no-notify", "sync-literals"];
    let opts = match sub.as_str() {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        "populate" | "fetch" | "search" | "idle" => Opts::parse(&args[1..], flags),
        other => Err(format!("unknown subcommand {other:?}\n\n{USAGE}")),
    };
    let result = opts.and_then(|o| match sub.as_str() {
        "populate" => populate::run(o),
        "fetch" => fetch::run(o),
        "search" => search::run(o),
        _ => idle::run(o),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imap-load {sub}: error: {e}");
            ExitCode::FAILURE
        }
    }
}
