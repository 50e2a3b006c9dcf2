//! K-fold cross-validation of the spam filter on a labelled corpus: the accuracy
//! benchmark of `bench/spam-accuracy.sh` (issue #6), the SpamAssassin side of which runs on
//! the same folds.
//!
//! ```text
//! cargo run --release -p mailstead-spam --example crossval -- CORPUS FOLDS.tsv \
//!     [--threshold 80] [--weight NAME=VALUE]... [--messages OUT.jsonl]
//! ```
//!
//! `FOLDS.tsv` has one line per message, `fold <TAB> spam|ham <TAB> path`, the path
//! relative to `CORPUS` (what `bench/spam/corpus.sh` writes). For each fold a fresh
//! [`MemoryModel`] learns the messages of the other folds; each message of the fold is
//! then judged twice:
//!
//! - **Bayes alone**: spam when the model's probability is above 0.5;
//! - **the verdict**: the content rules and the classifier's symbol, weighed with the
//!   default weights (or those given with `--weight`), spam when the score is above
//!   `--threshold` percent of the reject score (default 80: above 12 of 15), the
//!   per-account test of the server. There are no authentication results and no DNS
//!   blocklists here: the corpus has no SMTP envelope and its DNS is twenty years gone.
//!
//! The corpus has no envelope either, so the content rules get one read from the
//! message: the envelope sender from `Return-Path`, and the HELO name and client IP
//! from the first `Received` field (newest first) whose client has a public IPv4 address,
//! which is the hop into the recipient's own network. A message without one gets an
//! empty HELO (no HELO rule fires) and the IP 192.0.2.1 (TEST-NET-1). The rules judge the
//! message as of the date of its newest `Received` field (else its `Date`): the corpus
//! is from 2002, and judged as of today every message would be "dated in the past". No
//! local domains.
//!
//! Out, on stdout, JSON lines: one per fold (counts and times), one `timing` line
//! (throughput of each step), `sweep` lines (false-positive and false-negative rates at
//! each threshold, and at threshold 80 for a grid of `BAYES_SPAM` and `BAYES_HAM`
//! weights, which is how the default weights were checked); with `--messages`, one line
//! per message (fold, class, file, score, verdict, Bayes probability, symbols), which
//! `bench/spam/table.sh` reads. A summary table goes to stderr.
//!
//! The rules are independent of the folds and the tokenising too, so both run once per
//! message (timed on their own); each fold times the learning and the probability.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mailstead_spam::bayes::{self, Class, MemoryModel};
use mailstead_spam::rules::{self, MessageFacts};
use mailstead_spam::tokenize;
use mailstead_spam::verdict::{Hit, Verdict, Weights};

/// The client IP given to the rules for a message whose `Received` fields name none.
const NO_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

/// Thresholds (percent of the reject score) of the sweep.
const SWEEP_THRESHOLDS: &[u8] = &[10, 20, 30, 33, 40, 50, 60, 70, 75, 80, 85, 90, 95, 99, 100];
/// `BAYES_SPAM` weights of the weight sweep.
const SWEEP_SPAM_WEIGHTS: &[f64] = &[
    6.0, 9.0, 10.0, 11.0, 12.0, 12.1, 12.5, 13.0, 13.5, 14.0, 15.0,
];
/// `BAYES_HAM` weights of the weight sweep.
const SWEEP_HAM_WEIGHTS: &[f64] = &[-1.0, -2.0, -4.0, -6.0];

struct Options {
    corpus: PathBuf,
    folds: PathBuf,
    threshold: u8,
    overrides: HashMap<String, f64>,
    messages: Option<PathBuf>,
}

/// One message of the corpus, with what does not depend on the fold.
struct Sample {
    fold: usize,
    class: Class,
    file: String,
    features: Vec<u64>,
    /// The content rules' hits.
    hits: Vec<Hit>,
}

/// What a fold's model said of a held-out message.
struct Outcome {
    /// Index into the samples.
    sample: usize,
    probability: Option<f64>,
    /// Content hits and the classifier's hit.
    hits: Vec<Hit>,
}

#[derive(Default, Clone, Copy)]
struct Confusion {
    ham: u64,
    false_positives: u64,
    spam: u64,
    false_negatives: u64,
}

impl Confusion {
    fn add(&mut self, class: Class, judged_spam: bool) {
        match class {
            Class::Ham => {
                self.ham += 1;
                self.false_positives += u64::from(judged_spam);
            }
            Class::Spam => {
                self.spam += 1;
                self.false_negatives += u64::from(!judged_spam);
            }
        }
    }

    fn fp_rate(&self) -> f64 {
        percent(self.false_positives, self.ham)
    }

    fn fn_rate(&self) -> f64 {
        percent(self.false_negatives, self.spam)
    }

    fn json(&self) -> String {
        format!(
            "{{\"ham\":{},\"false_positives\":{},\"fp_rate_pct\":{:.2},\"spam\":{},\"false_negatives\":{},\"fn_rate_pct\":{:.2}}}",
            self.ham,
            self.false_positives,
            self.fp_rate(),
            self.spam,
            self.false_negatives,
            self.fn_rate()
        )
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("crossval: {e}");
            eprintln!(
                "usage: crossval CORPUS FOLDS.tsv [--threshold 80] [--weight NAME=VALUE]... [--messages OUT.jsonl]"
            );
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crossval: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut positional = Vec::new();
    let mut threshold = 80u8;
    let mut overrides = HashMap::new();
    let mut messages = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threshold" => {
                let v = args.next().ok_or("--threshold needs a value")?;
                threshold = v
                    .parse()
                    .ok()
                    .filter(|t| *t <= 100)
                    .ok_or_else(|| format!("bad threshold {v:?}"))?;
            }
            "--weight" => {
                let v = args.next().ok_or("--weight needs NAME=VALUE")?;
                let (name, value) = v
                    .split_once('=')
                    .ok_or_else(|| format!("bad weight {v:?}"))?;
                let value: f64 = value.parse().map_err(|_| format!("bad weight {v:?}"))?;
                overrides.insert(name.to_ascii_uppercase(), value);
            }
            "--messages" => {
                messages = Some(PathBuf::from(args.next().ok_or("--messages needs a file")?));
            }
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [corpus, folds]: [PathBuf; 2] = positional
        .try_into()
        .map_err(|_| "expected CORPUS and FOLDS.tsv".to_owned())?;
    Ok(Options {
        corpus,
        folds,
        threshold,
        overrides,
        messages,
    })
}

fn run(options: &Options) -> Result<(), String> {
    let list = std::fs::read_to_string(&options.folds)
        .map_err(|e| format!("{}: {e}", options.folds.display()))?;
    let mut entries = Vec::new();
    for (n, line) in list.lines().enumerate() {
        let mut cols = line.split('\t');
        let (Some(fold), Some(class), Some(file), None) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            return Err(format!(
                "{}:{}: expected 3 columns",
                options.folds.display(),
                n + 1
            ));
        };
        let fold: usize = fold
            .parse()
            .map_err(|_| format!("{}:{}: bad fold", options.folds.display(), n + 1))?;
        let class = match class {
            "spam" => Class::Spam,
            "ham" => Class::Ham,
            _ => return Err(format!("{}:{}: bad class", options.folds.display(), n + 1)),
        };
        entries.push((fold, class, file.to_owned()));
    }
    let folds = entries.iter().map(|e| e.0 + 1).max().unwrap_or(0);
    if folds < 2 {
        return Err("fewer than 2 folds".into());
    }

    // Read every message once; tokenise and run the rules once (timed apart).
    let mut raw = Vec::with_capacity(entries.len());
    for (_, _, file) in &entries {
        let path = options.corpus.join(file);
        raw.push(std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    let bytes: usize = raw.iter().map(Vec::len).sum();
    let start = Instant::now();
    let features: Vec<Vec<u64>> = raw.iter().map(|m| tokenize::features(m)).collect();
    let tokenize_time = start.elapsed();
    let no_domains: Vec<String> = Vec::new();
    let start = Instant::now();
    let hits: Vec<Vec<Hit>> = raw
        .iter()
        .map(|m| {
            let envelope = Envelope::read(m);
            rules::content_hits_at(
                &MessageFacts {
                    message: m,
                    mail_from: &envelope.mail_from,
                    helo: &envelope.helo,
                    remote_ip: envelope.remote_ip,
                    local_domains: &no_domains,
                },
                envelope.received,
            )
        })
        .collect();
    let rules_time = start.elapsed();
    let samples: Vec<Sample> = entries
        .into_iter()
        .zip(features)
        .zip(hits)
        .map(|(((fold, class, file), features), hits)| Sample {
            fold,
            class,
            file,
            features,
            hits,
        })
        .collect();
    drop(raw);

    let weights = Weights::default().with_overrides(&options.overrides, 15.0);
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(samples.len());
    let (mut learn_time, mut classify_time) = (Duration::ZERO, Duration::ZERO);
    let (mut learned, mut classified) = (0u64, 0u64);
    for fold in 0..folds {
        let start = Instant::now();
        let mut model = MemoryModel::new();
        let mut n_learn = 0u64;
        for s in samples.iter().filter(|s| s.fold != fold) {
            model.learn(&s.features, s.class);
            n_learn += 1;
        }
        let fold_learn = start.elapsed();
        let start = Instant::now();
        let first = outcomes.len();
        for (i, s) in samples.iter().enumerate().filter(|(_, s)| s.fold == fold) {
            let probability = model.probability(&s.features);
            let mut all = s.hits.clone();
            all.extend(probability.and_then(bayes::hit));
            // The verdict is part of classifying; the sweeps below weigh again.
            std::hint::black_box(Verdict::new(&all, &weights));
            outcomes.push(Outcome {
                sample: i,
                probability,
                hits: all,
            });
        }
        let fold_classify = start.elapsed();
        let n_test = (outcomes.len() - first) as u64;
        learn_time += fold_learn;
        classify_time += fold_classify;
        learned += n_learn;
        classified += n_test;
        let (mut by_bayes, mut by_verdict) = (Confusion::default(), Confusion::default());
        for o in &outcomes[first..] {
            let s = &samples[o.sample];
            by_bayes.add(s.class, o.probability.is_some_and(|p| p > 0.5));
            by_verdict.add(
                s.class,
                Verdict::new(&o.hits, &weights).is_spam(options.threshold),
            );
        }
        println!(
            "{{\"side\":\"mailstead\",\"fold\":{fold},\"learn_messages\":{n_learn},\"learn_seconds\":{:.3},\"model_features\":{},\"classify_messages\":{n_test},\"classify_seconds\":{:.3},\"bayes\":{},\"verdict\":{},\"threshold\":{}}}",
            fold_learn.as_secs_f64(),
            model.feature_count(),
            fold_classify.as_secs_f64(),
            by_bayes.json(),
            by_verdict.json(),
            options.threshold
        );
    }

    let n = samples.len() as f64;
    let rate = |count: f64, time: Duration| count / time.as_secs_f64().max(1e-9);
    println!(
        "{{\"side\":\"mailstead\",\"timing\":true,\"messages\":{},\"bytes\":{bytes},\"tokenize_msgs_per_s\":{:.0},\"rules_msgs_per_s\":{:.0},\"learn_msgs_per_s\":{:.0},\"classify_msgs_per_s\":{:.0},\"train_end_to_end_msgs_per_s\":{:.0},\"judge_end_to_end_msgs_per_s\":{:.0}}}",
        samples.len(),
        rate(n, tokenize_time),
        rate(n, rules_time),
        rate(learned as f64, learn_time),
        rate(classified as f64, classify_time),
        // Training a message = tokenising it + learning it; judging one = tokenising it
        // + the rules + the probability and the verdict.
        1.0 / (tokenize_time.as_secs_f64() / n + learn_time.as_secs_f64() / learned as f64),
        1.0 / ((tokenize_time + rules_time).as_secs_f64() / n
            + classify_time.as_secs_f64() / classified as f64),
    );

    // The threshold sweep with the weights in use.
    let scored: Vec<(Class, f64)> = outcomes
        .iter()
        .map(|o| {
            (
                samples[o.sample].class,
                Verdict::new(&o.hits, &weights).score,
            )
        })
        .collect();
    for t in SWEEP_THRESHOLDS {
        let bar = weights.reject_score * f64::from(*t) / 100.0;
        let mut c = Confusion::default();
        for (class, score) in &scored {
            c.add(*class, *score > bar);
        }
        println!(
            "{{\"side\":\"mailstead\",\"sweep\":\"threshold\",\"threshold\":{t},\"score_above\":{bar:.2},\"result\":{}}}",
            c.json()
        );
    }
    // The weight sweep at the threshold in use.
    for spam_w in SWEEP_SPAM_WEIGHTS {
        for ham_w in SWEEP_HAM_WEIGHTS {
            let mut o = options.overrides.clone();
            o.insert(bayes::BAYES_SPAM.to_owned(), *spam_w);
            o.insert(bayes::BAYES_HAM.to_owned(), *ham_w);
            let w = Weights::default().with_overrides(&o, 15.0);
            let mut c = Confusion::default();
            for out in &outcomes {
                c.add(
                    samples[out.sample].class,
                    Verdict::new(&out.hits, &w).is_spam(options.threshold),
                );
            }
            println!(
                "{{\"side\":\"mailstead\",\"sweep\":\"bayes_weights\",\"threshold\":{},\"BAYES_SPAM\":{spam_w},\"BAYES_HAM\":{ham_w},\"result\":{}}}",
                options.threshold,
                c.json()
            );
        }
    }

    if let Some(path) = &options.messages {
        write_messages(path, &samples, &outcomes, &weights, options.threshold)?;
    }
    summary(&samples, &outcomes, &weights, options.threshold);
    Ok(())
}

fn write_messages(
    path: &Path,
    samples: &[Sample],
    outcomes: &[Outcome],
    weights: &Weights,
    threshold: u8,
) -> Result<(), String> {
    let mut out = String::new();
    for o in outcomes {
        let s = &samples[o.sample];
        let v = Verdict::new(&o.hits, weights);
        let symbols: Vec<String> = v
            .symbols
            .iter()
            .map(|sym| format!("\"{}\"", json_escape(&sym.name)))
            .collect();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{{\"side\":\"mailstead\",\"fold\":{},\"class\":\"{}\",\"file\":\"{}\",\"score\":{:.2},\"spam\":{},\"threshold\":{threshold},\"bayes_p\":{},\"symbols\":[{}]}}",
            s.fold,
            match s.class {
                Class::Spam => "spam",
                Class::Ham => "ham",
            },
            json_escape(&s.file),
            v.score,
            v.is_spam(threshold),
            o.probability
                .map_or_else(|| "null".to_owned(), |p| format!("{p}")),
            symbols.join(",")
        );
    }
    std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))
}

/// A table for people, on stderr: rates by folder, and how often each symbol fired.
fn summary(samples: &[Sample], outcomes: &[Outcome], weights: &Weights, threshold: u8) {
    let folder = |s: &Sample| s.file.split('/').next().unwrap_or("").to_owned();
    let mut rows: Vec<(String, Confusion, Confusion)> = Vec::new();
    let mut fired: HashMap<(String, String), u64> = HashMap::new();
    for o in outcomes {
        let s = &samples[o.sample];
        let f = folder(s);
        let row = match rows.iter_mut().position(|r| r.0 == f) {
            Some(i) => &mut rows[i],
            None => {
                rows.push((f.clone(), Confusion::default(), Confusion::default()));
                let last = rows.len() - 1;
                &mut rows[last]
            }
        };
        row.1.add(s.class, o.probability.is_some_and(|p| p > 0.5));
        row.2
            .add(s.class, Verdict::new(&o.hits, weights).is_spam(threshold));
        for h in &o.hits {
            *fired.entry((f.clone(), h.name.to_string())).or_default() += 1;
        }
    }
    eprintln!("folder        messages  Bayes>0.5 wrong   verdict>{threshold}% wrong");
    for (f, b, v) in &rows {
        let (n, wb, wv) = (
            b.ham + b.spam,
            b.false_positives + b.false_negatives,
            v.false_positives + v.false_negatives,
        );
        eprintln!(
            "{f:<13} {n:>8}  {wb:>5} ({:>5.2}%)   {wv:>5} ({:>5.2}%)",
            percent(wb, n),
            percent(wv, n)
        );
    }
    let mut fired: Vec<_> = fired.into_iter().collect();
    fired.sort();
    eprintln!("symbol hits by folder:");
    for ((f, name), count) in fired {
        eprintln!(
            "  {f:<13} {name:<24} {count:>5}  weight {:>6.2}",
            weights.weight(&name)
        );
    }
}

/// The envelope the MX would have seen, as far as the message's own fields tell.
struct Envelope {
    mail_from: String,
    helo: String,
    remote_ip: IpAddr,
    /// When the message was received: the date of the newest `Received` field, else its
    /// `Date`, else now (the `Date` rules compare with it; the corpus is from 2002).
    received: SystemTime,
}

impl Envelope {
    fn read(message: &[u8]) -> Self {
        let mut envelope = Self {
            mail_from: String::new(),
            helo: String::new(),
            remote_ip: NO_CLIENT,
            received: SystemTime::now(),
        };
        let mut found_client = false;
        let (mut received, mut sent) = (None, None);
        for (name, value) in header_fields(message) {
            if name.eq_ignore_ascii_case("received") && received.is_none() {
                received = value.rsplit_once(';').and_then(|(_, d)| timestamp(d));
            } else if name.eq_ignore_ascii_case("date") && sent.is_none() {
                sent = timestamp(&value);
            }
            if name.eq_ignore_ascii_case("return-path") && envelope.mail_from.is_empty() {
                envelope.mail_from = value
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim()
                    .to_owned();
            } else if name.eq_ignore_ascii_case("received")
                && !found_client
                && let Some((helo, ip)) = received_client(&value)
            {
                envelope.helo = helo;
                envelope.remote_ip = IpAddr::V4(ip);
                found_client = true;
            }
        }
        if let Some(t) = received.or(sent) {
            envelope.received = t;
        }
        envelope
    }
}

/// An RFC 5322 date-time as a time, when it is one after 1970.
fn timestamp(text: &str) -> Option<SystemTime> {
    let t = mail_parser::DateTime::parse_rfc822(text.trim())?.to_timestamp();
    let secs = u64::try_from(t).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// The header fields of a message, unfolded, in order; values read as Latin-1 so that no
/// byte is lost.
fn header_fields(message: &[u8]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in message.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let text: String = line.iter().map(|b| char::from(*b)).collect();
        if text.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(text.trim());
            }
        } else if let Some((name, value)) = text.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        // A line that is neither (the mbox "From " line) is skipped.
    }
    fields
}

/// `from HELO (... [a.b.c.d] ...)` of a Received field, when the address is a public IPv4
/// address.
fn received_client(value: &str) -> Option<(String, Ipv4Addr)> {
    let rest = value.trim_start().strip_prefix("from ")?;
    let helo = rest.split_whitespace().next()?.to_owned();
    let by = rest.find(" by ").unwrap_or(rest.len());
    let clause = &rest[..by];
    let mut search = clause;
    while let Some(open) = search.find('[') {
        let after = &search[open + 1..];
        let close = after.find(']')?;
        if let Ok(ip) = after[..close].parse::<Ipv4Addr>()
            && is_public(ip)
        {
            return Some((helo, ip));
        }
        search = &after[close..];
    }
    None
}

fn is_public(ip: Ipv4Addr) -> bool {
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.octets()[0] == 0)
}

fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}
