//! `mailstead spam ...`: the operator's side of the spam filter (issue #6).
//!
//! - `train` — teaches the Bayesian classifier ([`mailstead_spam::bayes`]) from mail the
//!   operator already sorted: the global model, and with `--account` that account's own
//!   model too (the pair IMAP learning trains when a user files mail in Junk).
//! - `settings` — an account's spam settings (on/off, threshold, mark as read).
//! - `reset` — forgets a model.
//! - `check` — scores one message file offline: content rules and the classifier.
//! - `symbols` — every symbol and the weight it has with this config.
//!
//! # What `train` reads
//!
//! Each `--spam`/`--ham` path is one of:
//!
//! - a Maildir (a directory with `cur/` or `new/`): the files of `new/` and `cur/`, then
//!   those of each Maildir++ subfolder (`.Name/`, itself a Maildir) — `tmp/` never;
//! - any other directory: its files, and its subdirectories recursively (a subdirectory
//!   that is a Maildir is read as one); names starting with `.` are skipped;
//! - a file: an mbox when it starts with `From ` (every message; see below), else one
//!   message.
//!
//! Symbolic links to files are followed, to directories not (no loops). A file that
//! cannot be read, or an empty message, is counted as unreadable with a warning on
//! stderr; it does not stop the run. A path given on the command line that does not exist
//! stops it before anything is learned.
//!
//! An mbox is split at each line starting with `From ` at the start of the file or after
//! an empty line; that envelope line is dropped, as is the empty line before the next
//! one, and the `>From ` quoting of mboxrd (and mboxo) is undone (`>From ` → `From `,
//! `>>From ` → `>From `).
//!
//! # Idempotence
//!
//! A message is learned under the hex SHA-256 of its bytes (the same form as a blob id),
//! and the store learns each key once per model ([`MetaStore::bayes_learn`]): running
//! `train` again on the same mail changes nothing (counted as "already known"), and
//! giving a message as the other class than before moves its counts over ("relearned").
//! A message given as both classes in one run ends as ham (spam is read first). An
//! interrupted run can simply be started again.
//!
//! # What `check` scores
//!
//! What the MX would give the message coming in from outside, minus what needs the
//! connection or DNS: the content rules ([`mailstead_spam::rules::content_hits`]) with
//! MAIL FROM taken from `Return-Path:` and no HELO, and the classifier — the account's
//! own model with `--account` once it is trained enough, else the global one — weighed
//! with this config's `[filter]` weights. No SPF, DKIM, DMARC, ARC, iprev or blocklist
//! symbol can appear. A `From:` in one of our own domains fires `FORGED_LOCAL_SENDER`, as
//! it would at the MX. The exit status is 0 whatever the score: the command informs.
//!
//! # Work split
//!
//! One blocking task walks the paths and reads the files; the features
//! ([`mailstead_spam::tokenize::features`], CPU-bound) and hashes of each batch are
//! computed on a few scoped threads; the async side writes to the store, one transaction
//! per message and model, while the next batch is prepared. Progress goes to stderr every
//! [`PROGRESS_EVERY`] messages when it is a terminal.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use mailstead_config::Config;
use mailstead_directory::Directory;
use mailstead_spam::bayes::{self, Totals};
use mailstead_spam::rules::{self, MessageFacts};
use mailstead_spam::{FilterConfig, Verdict, Weights};
use mailstead_store::MetaStore;
use mailstead_store::model::{BayesClass, BayesModel, BayesTotals, LearnOutcome, SpamSettings};
use mailstead_types::BlobId;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::cli::SpamCmd;
use crate::output::{self, table};

/// How often (in messages) `train` reports progress on a terminal.
const PROGRESS_EVERY: u64 = 500;
/// Messages prepared (read, hashed, tokenised) per batch.
const BATCH_MESSAGES: usize = 128;
/// Bytes read per batch at most (a batch ends early on big messages).
const BATCH_BYTES: usize = 32 << 20;
/// Most threads computing features.
const MAX_THREADS: usize = 8;

/// Runs a `mailstead spam` command.
pub async fn run(path: &Path, cmd: SpamCmd, as_json: bool) -> anyhow::Result<ExitCode> {
    let config = super::load_config(path)?;
    super::init_tracing(&config, true);
    let filter = mailstead_server::filter_config(&config);
    match cmd {
        SpamCmd::Train { spam, ham, account } => {
            let dir = open_directory(&config, path).await?;
            train(&dir, spam, ham, account.as_deref(), as_json).await?
        }
        SpamCmd::Settings {
            address,
            enabled,
            threshold,
            mark_read,
        } => {
            let change = SettingsChange {
                enabled,
                threshold,
                mark_as_read: mark_read,
            };
            let dir = open_directory(&config, path).await?;
            settings(&dir, &filter, &address, change, as_json).await?
        }
        SpamCmd::Reset { account } => {
            let dir = open_directory(&config, path).await?;
            reset(&dir, account.as_deref(), as_json).await?
        }
        SpamCmd::Check { file, account } => {
            let dir = open_directory(&config, path).await?;
            check(&dir, &filter, &file, account.as_deref(), as_json).await?
        }
        // Only the config: works without touching the store.
        SpamCmd::Symbols => symbols(&config, &filter, as_json)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The directory over the configured store (`super::open_directory`, with the config
/// already loaded).
async fn open_directory(config: &Config, path: &Path) -> anyhow::Result<Directory> {
    let meta = mailstead_server::open_meta_store(config)
        .await
        .with_context(|| format!("config {}", path.display()))?;
    Ok(Directory::new(meta))
}

// --- train ------------------------------------------------------------------------------

/// What `train` did to one class in one model.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct ClassReport {
    learned: u64,
    relearned: u64,
    already_known: u64,
}

impl ClassReport {
    fn count(&mut self, outcome: LearnOutcome) {
        match outcome {
            LearnOutcome::Learned => self.learned += 1,
            LearnOutcome::Relearned => self.relearned += 1,
            LearnOutcome::AlreadyKnown => self.already_known += 1,
        }
    }
}

/// What `train` did to one model.
#[derive(Debug, Serialize)]
struct ModelReport {
    /// `global`, or the account's address.
    model: String,
    #[serde(skip)]
    id: BayesModel,
    spam: ClassReport,
    ham: ClassReport,
    /// The model's totals after the run.
    totals: TotalsReport,
}

/// A model's totals, as printed.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct TotalsReport {
    spam: u64,
    ham: u64,
}

impl From<BayesTotals> for TotalsReport {
    fn from(t: BayesTotals) -> Self {
        Self {
            spam: t.spam,
            ham: t.ham,
        }
    }
}

/// A count per class.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct PerClass {
    spam: u64,
    ham: u64,
}

impl PerClass {
    fn bump(&mut self, class: BayesClass) {
        match class {
            BayesClass::Spam => self.spam += 1,
            BayesClass::Ham => self.ham += 1,
        }
    }
}

/// One message read from a path, or why it could not be.
enum Raw {
    Message {
        class: BayesClass,
        origin: String,
        bytes: Vec<u8>,
    },
    Unreadable {
        class: BayesClass,
        origin: String,
        error: String,
    },
}

/// A message ready to learn, or why it cannot be.
enum Prepared {
    Message {
        class: BayesClass,
        origin: String,
        key: String,
        features: Vec<u64>,
    },
    Unreadable {
        class: BayesClass,
        origin: String,
        error: String,
    },
}

async fn train(
    dir: &Directory,
    spam: Vec<PathBuf>,
    ham: Vec<PathBuf>,
    account: Option<&str>,
    as_json: bool,
) -> anyhow::Result<()> {
    if spam.is_empty() && ham.is_empty() {
        bail!("nothing to learn: give --spam PATH and/or --ham PATH");
    }
    let meta = dir.store().clone();
    let mut models = vec![ModelReport {
        model: "global".into(),
        id: BayesModel::Global,
        spam: ClassReport::default(),
        ham: ClassReport::default(),
        totals: TotalsReport::default(),
    }];
    let account_address = match account {
        Some(address) => {
            let a = dir.find_user(address).await?;
            // The account's model first, then the global one, as IMAP learning does.
            models.insert(
                0,
                ModelReport {
                    model: a.address.to_string(),
                    id: BayesModel::Account(a.id),
                    spam: ClassReport::default(),
                    ham: ClassReport::default(),
                    totals: TotalsReport::default(),
                },
            );
            Some(a.address.to_string())
        }
        None => None,
    };
    let classes: Vec<BayesClass> = [
        (!spam.is_empty()).then_some(BayesClass::Spam),
        (!ham.is_empty()).then_some(BayesClass::Ham),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut sources = Vec::new();
    for (class, paths) in [(BayesClass::Spam, spam), (BayesClass::Ham, ham)] {
        for p in paths {
            let md =
                std::fs::metadata(&p).with_context(|| format!("cannot read {}", p.display()))?;
            if !md.is_file() && !md.is_dir() {
                bail!("{} is neither a file nor a directory", p.display());
            }
            sources.push((class, p));
        }
    }

    let tty = std::io::stderr().is_terminal();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Prepared>>(4);
    let producer = tokio::task::spawn_blocking(move || prepare_all(sources, tx));
    let mut read = PerClass::default();
    let mut unreadable = PerClass::default();
    let mut done = 0u64;
    let mut progress_shown = false;
    let mut failure = None;
    'batches: while let Some(batch) = rx.recv().await {
        for item in batch {
            match item {
                Prepared::Unreadable {
                    class,
                    origin,
                    error,
                } => {
                    unreadable.bump(class);
                    warn(
                        tty,
                        &mut progress_shown,
                        &format!("skipped {origin}: {error}"),
                    );
                }
                Prepared::Message {
                    class,
                    origin,
                    key,
                    features,
                } => {
                    read.bump(class);
                    for m in models.iter_mut() {
                        match meta.bayes_learn(m.id, &key, &features, class).await {
                            Ok(outcome) => match class {
                                BayesClass::Spam => m.spam.count(outcome),
                                BayesClass::Ham => m.ham.count(outcome),
                            },
                            Err(e) => {
                                failure = Some(anyhow::Error::new(e).context(format!(
                                    "cannot learn {origin} in the {} model \
                                     (what was learned before stays; running again is safe)",
                                    m.model
                                )));
                                break 'batches;
                            }
                        }
                    }
                }
            }
            done += 1;
            if tty && done.is_multiple_of(PROGRESS_EVERY) {
                eprint!(
                    "\r{done} messages: {} spam, {} ham, {} unreadable",
                    read.spam,
                    read.ham,
                    unreadable.spam + unreadable.ham
                );
                progress_shown = true;
            }
        }
    }
    // Dropping the receiver stops the reader at its next batch.
    drop(rx);
    let joined = producer.await;
    if progress_shown {
        eprintln!();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    joined.context("reading the mail failed")?;

    for m in models.iter_mut() {
        let (_, totals) = meta.bayes_counts(m.id, &[]).await?;
        m.totals = totals.into();
    }
    if as_json {
        output::json(&json!({
            "account": account_address,
            "read": read,
            "unreadable": unreadable,
            "models": models,
            "min_learns": bayes::MIN_LEARNS,
        }))?;
        return Ok(());
    }
    let mut rows = Vec::new();
    for m in &models {
        for class in &classes {
            let (name, r) = match class {
                BayesClass::Spam => ("spam", m.spam),
                BayesClass::Ham => ("ham", m.ham),
            };
            rows.push(vec![
                m.model.clone(),
                name.to_owned(),
                r.learned.to_string(),
                r.relearned.to_string(),
                r.already_known.to_string(),
            ]);
        }
    }
    table(
        &["MODEL", "CLASS", "LEARNED", "RELEARNED", "ALREADY KNOWN"],
        &rows,
    );
    println!(
        "read {} spam and {} ham message(s); unreadable: {} spam, {} ham",
        read.spam, read.ham, unreadable.spam, unreadable.ham
    );
    for m in &models {
        println!(
            "{} model now: {} spam, {} ham{}",
            m.model,
            m.totals.spam,
            m.totals.ham,
            untrained_note(m.totals.spam, m.totals.ham)
        );
    }
    Ok(())
}

/// " (not used until ...)" for a model below [`bayes::MIN_LEARNS`], else "".
fn untrained_note(spam: u64, ham: u64) -> String {
    if spam >= bayes::MIN_LEARNS && ham >= bayes::MIN_LEARNS {
        String::new()
    } else {
        format!(
            " (not used until it has learned {} of each)",
            bayes::MIN_LEARNS
        )
    }
}

/// A warning on stderr, on a line of its own even while progress is shown.
fn warn(tty: bool, progress_shown: &mut bool, text: &str) {
    if tty && *progress_shown {
        // Clear the progress line; the next report writes it again.
        eprint!("\r\x1b[2K");
        *progress_shown = false;
    }
    eprintln!("warning: {text}");
}

/// The blocking side of `train`: walks every source, reads its messages and sends them
/// prepared, in batches, until done or the receiver is gone.
fn prepare_all(sources: Vec<(BayesClass, PathBuf)>, tx: tokio::sync::mpsc::Sender<Vec<Prepared>>) {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, MAX_THREADS);
    let mut batcher = Batcher {
        tx,
        threads,
        pending: Vec::new(),
        pending_bytes: 0,
    };
    for (class, path) in sources {
        let mut found = 0u64;
        let go_on = walk(&path, class, &mut |raw| {
            found += 1;
            batcher.push(raw)
        });
        if !go_on {
            return;
        }
        if found == 0 {
            // Unlike an unreadable file this is no error, but likely a wrong path.
            eprintln!("warning: no messages found in {}", path.display());
        }
    }
    batcher.flush();
}

/// Collects raw messages into batches and sends them prepared.
struct Batcher {
    tx: tokio::sync::mpsc::Sender<Vec<Prepared>>,
    threads: usize,
    pending: Vec<Raw>,
    pending_bytes: usize,
}

impl Batcher {
    /// Adds a message; false once the receiver is gone (stop reading).
    fn push(&mut self, raw: Raw) -> bool {
        if let Raw::Message { bytes, .. } = &raw {
            self.pending_bytes += bytes.len();
        }
        self.pending.push(raw);
        if self.pending.len() >= BATCH_MESSAGES || self.pending_bytes >= BATCH_BYTES {
            return self.flush();
        }
        true
    }

    /// Prepares and sends what is pending; false once the receiver is gone.
    fn flush(&mut self) -> bool {
        if self.pending.is_empty() {
            return !self.tx.is_closed();
        }
        let batch = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let prepared = prepare_batch(batch, self.threads);
        self.tx.blocking_send(prepared).is_ok()
    }
}

/// Hashes and tokenises a batch on up to `threads` threads, keeping its order (so a
/// message found twice is learned, then already known, in reading order).
fn prepare_batch(batch: Vec<Raw>, threads: usize) -> Vec<Prepared> {
    let chunk = batch.len().div_ceil(threads.max(1)).max(1);
    let mut chunks: Vec<Vec<Raw>> = Vec::new();
    let mut rest = batch.into_iter().peekable();
    while rest.peek().is_some() {
        chunks.push(rest.by_ref().take(chunk).collect());
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| scope.spawn(move || c.into_iter().map(prepare).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(items) => items,
                // The tokenizer does not panic on any input; should it, the whole run
                // stops rather than silently learning part of the batch.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

fn prepare(raw: Raw) -> Prepared {
    match raw {
        Raw::Unreadable {
            class,
            origin,
            error,
        } => Prepared::Unreadable {
            class,
            origin,
            error,
        },
        Raw::Message {
            class,
            origin,
            bytes,
        } => {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Prepared::Unreadable {
                    class,
                    origin,
                    error: "empty message".into(),
                };
            }
            Prepared::Message {
                class,
                origin,
                key: message_key(&bytes),
                features: mailstead_spam::tokenize::features(&bytes),
            }
        }
    }
}

/// The key a message file is learned under: the hex SHA-256 of its bytes.
fn message_key(bytes: &[u8]) -> String {
    BlobId(Sha256::digest(bytes).into()).to_hex()
}

/// Sends every message under `path` to `emit` (see the module docs for what is read);
/// false as soon as `emit` says stop.
fn walk(path: &Path, class: BayesClass, emit: &mut dyn FnMut(Raw) -> bool) -> bool {
    let unreadable = |error: std::io::Error| Raw::Unreadable {
        class,
        origin: path.display().to_string(),
        error: error.to_string(),
    };
    let md = match std::fs::metadata(path) {
        Ok(md) => md,
        Err(e) => return emit(unreadable(e)),
    };
    if md.is_file() {
        return read_file(path, class, emit);
    }
    if !md.is_dir() {
        return true;
    }
    if is_maildir(path) {
        if !read_maildir_folder(path, class, emit) {
            return false;
        }
        // Maildir++: the subfolders are `.Name` directories beside cur/new/tmp.
        let entries = match sorted_entries(path) {
            Ok(e) => e,
            Err(e) => return emit(unreadable(e)),
        };
        for (name, p, kind) in entries {
            if name.starts_with('.')
                && kind == Kind::Dir
                && is_maildir(&p)
                && !read_maildir_folder(&p, class, emit)
            {
                return false;
            }
        }
        return true;
    }
    let entries = match sorted_entries(path) {
        Ok(e) => e,
        Err(e) => return emit(unreadable(e)),
    };
    for (name, p, kind) in entries {
        if name.starts_with('.') {
            continue;
        }
        let go_on = match kind {
            Kind::File => read_file(&p, class, emit),
            Kind::Dir => walk(&p, class, emit),
            Kind::Other => true,
        };
        if !go_on {
            return false;
        }
    }
    true
}

/// A Maildir has `cur/` or `new/` (RFC-less, but every implementation agrees).
fn is_maildir(path: &Path) -> bool {
    path.join("cur").is_dir() || path.join("new").is_dir()
}

/// The messages of one Maildir folder: `new/`, then `cur/`.
fn read_maildir_folder(path: &Path, class: BayesClass, emit: &mut dyn FnMut(Raw) -> bool) -> bool {
    for sub in ["new", "cur"] {
        let dir = path.join(sub);
        if !dir.is_dir() {
            continue;
        }
        let entries = match sorted_entries(&dir) {
            Ok(e) => e,
            Err(e) => {
                if !emit(Raw::Unreadable {
                    class,
                    origin: dir.display().to_string(),
                    error: e.to_string(),
                }) {
                    return false;
                }
                continue;
            }
        };
        for (name, p, kind) in entries {
            if kind == Kind::File && !name.starts_with('.') && !read_file(&p, class, emit) {
                return false;
            }
        }
    }
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    /// A real directory (not a link to one).
    Dir,
    Other,
}

/// The entries of a directory sorted by name, each with its kind (links to files count
/// as files; links to directories are not followed).
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(String, PathBuf, Kind)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let ft = entry.file_type()?;
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            Kind::File
        } else {
            Kind::Other
        };
        out.push((entry.file_name().to_string_lossy().into_owned(), path, kind));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// One file: an mbox (every message) when it starts with `From `, else one message.
fn read_file(path: &Path, class: BayesClass, emit: &mut dyn FnMut(Raw) -> bool) -> bool {
    let origin = path.display().to_string();
    let unreadable = |error: std::io::Error| Raw::Unreadable {
        class,
        origin: origin.clone(),
        error: error.to_string(),
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return emit(unreadable(e)),
    };
    let mut head = Vec::with_capacity(5);
    if let Err(e) = file.by_ref().take(5).read_to_end(&mut head) {
        return emit(unreadable(e));
    }
    if head == b"From " {
        let reader = BufReader::with_capacity(64 << 10, std::io::Cursor::new(head).chain(file));
        let mut n = 0u64;
        return split_mbox(reader, &mut |message| {
            n += 1;
            let origin = format!("{origin} (message {n})");
            emit(match message {
                Ok(bytes) => Raw::Message {
                    class,
                    origin,
                    bytes,
                },
                Err(e) => Raw::Unreadable {
                    class,
                    origin,
                    error: e.to_string(),
                },
            })
        });
    }
    let mut bytes = head;
    if let Err(e) = file.read_to_end(&mut bytes) {
        return emit(unreadable(e));
    }
    emit(Raw::Message {
        class,
        origin,
        bytes,
    })
}

/// Splits an mbox (see the module docs) and hands each message to `emit`; a read error
/// ends the file after being handed over. False as soon as `emit` says stop.
fn split_mbox(
    mut reader: impl BufRead,
    emit: &mut dyn FnMut(std::io::Result<Vec<u8>>) -> bool,
) -> bool {
    let mut line = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut after_blank = true;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return emit(Err(e)),
        }
        if after_blank && line.starts_with(b"From ") {
            if let Some(message) = current.take()
                && !emit(Ok(end_of_mbox_message(message)))
            {
                return false;
            }
            current = Some(Vec::new());
            after_blank = false;
            continue;
        }
        after_blank = line == b"\n" || line == b"\r\n";
        // Text before the first `From ` line is no message.
        if let Some(message) = current.as_mut() {
            let quoted = line.starts_with(b">")
                && line
                    .iter()
                    .position(|&b| b != b'>')
                    .is_some_and(|i| line[i..].starts_with(b"From "));
            message.extend_from_slice(if quoted { &line[1..] } else { &line });
        }
    }
    match current {
        Some(message) => emit(Ok(end_of_mbox_message(message))),
        None => true,
    }
}

/// Drops the empty line that separates a message from the next `From ` line.
fn end_of_mbox_message(mut message: Vec<u8>) -> Vec<u8> {
    if message.ends_with(b"\r\n\r\n") {
        message.truncate(message.len() - 2);
    } else if message.ends_with(b"\n\n") {
        message.truncate(message.len() - 1);
    }
    message
}

// --- settings ---------------------------------------------------------------------------

/// The changes `spam settings` was asked for.
struct SettingsChange {
    enabled: Option<bool>,
    threshold: Option<u8>,
    mark_as_read: Option<bool>,
}

async fn settings(
    dir: &Directory,
    filter: &FilterConfig,
    address: &str,
    change: SettingsChange,
    as_json: bool,
) -> anyhow::Result<()> {
    let account = dir.find_user(address).await?;
    let meta = dir.store();
    let mut s = meta.spam_settings(account.id).await?;
    let changed =
        change.enabled.is_some() || change.threshold.is_some() || change.mark_as_read.is_some();
    if changed {
        // A threshold above 100 never gets here (clap refuses it; the store would too).
        s = SpamSettings {
            enabled: change.enabled.unwrap_or(s.enabled),
            threshold: change.threshold.unwrap_or(s.threshold),
            mark_as_read: change.mark_as_read.unwrap_or(s.mark_as_read),
        };
        meta.set_spam_settings(account.id, &s).await?;
    }
    let reject = filter.weights.reject_score;
    let junk_above = reject * f64::from(s.threshold) / 100.0;
    if as_json {
        output::json(&json!({
            "account": account.address.to_string(),
            "enabled": s.enabled,
            "threshold": s.threshold,
            "mark_as_read": s.mark_as_read,
            "junk_above_score": junk_above,
            "reject_score": reject,
            "changed": changed,
        }))?;
        return Ok(());
    }
    if changed {
        println!("changed the spam settings of {}", account.address);
    }
    println!("account:      {}", account.address);
    println!("enabled:      {}", yes_no(s.enabled));
    println!(
        "threshold:    {}% (score above {junk_above:.2} of the reject score {reject:.2} → Junk)",
        s.threshold
    );
    println!("mark as read: {}", yes_no(s.mark_as_read));
    if !filter.spam_enabled {
        println!("note: spam scoring is off in the config ([filter] spam_enabled = false)");
    }
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

// --- reset ------------------------------------------------------------------------------

async fn reset(dir: &Directory, account: Option<&str>, as_json: bool) -> anyhow::Result<()> {
    let (model, name) = match account {
        Some(address) => {
            let a = dir.find_user(address).await?;
            (BayesModel::Account(a.id), a.address.to_string())
        }
        None => (BayesModel::Global, "global".to_owned()),
    };
    let meta = dir.store();
    let (_, before) = meta.bayes_counts(model, &[]).await?;
    meta.bayes_reset(model).await?;
    if as_json {
        output::json(&json!({
            "model": name,
            "forgot": TotalsReport::from(before),
        }))?;
    } else {
        println!(
            "reset the {name} model: forgot {} spam and {} ham message(s)",
            before.spam, before.ham
        );
    }
    Ok(())
}

// --- check ------------------------------------------------------------------------------

/// A symbol as `check --json` prints it.
#[derive(Debug, Serialize)]
struct SymbolReport {
    name: String,
    score: f64,
    detail: Option<String>,
}

async fn check(
    dir: &Directory,
    filter: &FilterConfig,
    file: &Path,
    account: Option<&str>,
    as_json: bool,
) -> anyhow::Result<()> {
    let message = read_one_message(file)?;
    let meta = dir.store();
    let account = match account {
        Some(address) => {
            let a = dir.find_user(address).await?;
            let settings = meta.spam_settings(a.id).await?;
            Some((a, settings))
        }
        None => None,
    };
    let local_domains: Vec<String> = meta
        .list_domains()
        .await?
        .into_iter()
        .map(|d| d.name.to_string())
        .collect();
    // The envelope is gone: MAIL FROM as the delivering server recorded it in
    // Return-Path, and no HELO (so no HELO rule fires, whatever the address).
    let mail_from = return_path(&message);
    let facts = MessageFacts {
        message: &message,
        mail_from: &mail_from,
        helo: "",
        remote_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        local_domains: &local_domains,
    };
    let mut hits = rules::content_hits(&facts);

    let owned = message.clone();
    let features = tokio::task::spawn_blocking(move || mailstead_spam::tokenize::features(&owned))
        .await
        .context("tokenising the message failed")?;
    // As the MX does: the account's own model once trained enough, else the global one.
    let mut bayes_model = "global".to_owned();
    let mut probability = None;
    let mut totals = Totals::default();
    if let Some((a, _)) = &account {
        let (p, t) = classify(meta.as_ref(), BayesModel::Account(a.id), &features).await?;
        if p.is_some() {
            bayes_model = a.address.to_string();
            probability = p;
            totals = t;
        }
    }
    if probability.is_none() {
        (probability, totals) = classify(meta.as_ref(), BayesModel::Global, &features).await?;
    }
    hits.extend(probability.and_then(bayes::hit));
    let verdict = Verdict::new(&hits, &filter.weights);
    let threshold = account
        .as_ref()
        .map_or(SpamSettings::default().threshold, |(_, s)| s.threshold);
    let filtered = account.as_ref().is_none_or(|(_, s)| s.enabled);
    let rejected = filter.reject_enabled && verdict.rejected();
    let junk = !rejected && filtered && verdict.is_spam(threshold);
    let outcome = if rejected {
        "refused at end of DATA"
    } else if junk {
        "filed in Junk"
    } else {
        "delivered to INBOX"
    };
    let symbols: Vec<SymbolReport> = verdict
        .symbols
        .iter()
        .map(|s| SymbolReport {
            name: s.name.clone(),
            score: s.score,
            detail: s.detail.clone(),
        })
        .collect();
    if as_json {
        output::json(&json!({
            "file": file,
            "score": verdict.score,
            "reject_score": verdict.reject_score,
            "percent": verdict.percent(),
            "threshold": threshold,
            "account": account.as_ref().map(|(a, _)| a.address.to_string()),
            "spam": verdict.is_spam(threshold),
            "rejected": rejected,
            "outcome": outcome,
            "bayes": {
                "model": bayes_model,
                "probability": probability,
                "totals": { "spam": totals.spam, "ham": totals.ham },
            },
            "symbols": symbols,
        }))?;
        return Ok(());
    }
    println!(
        "score:    {:.2} / {:.2} ({}% of the reject score)",
        verdict.score,
        verdict.reject_score,
        verdict.percent()
    );
    println!(
        "verdict:  {outcome} (threshold {threshold}%{})",
        match &account {
            Some((a, _)) => format!(" of {}", a.address),
            None => ", the default".to_owned(),
        }
    );
    match probability {
        Some(p) => println!("bayes:    {p:.3} spam probability ({bayes_model} model)"),
        None => println!(
            "bayes:    no answer: the {bayes_model} model has learned {} spam and {} ham, \
             needs {} of each",
            totals.spam,
            totals.ham,
            bayes::MIN_LEARNS
        ),
    }
    if symbols.is_empty() {
        println!("symbols:  none");
    } else {
        println!("symbols:");
        let rows: Vec<Vec<String>> = symbols
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    format!("{:.2}", s.score),
                    s.detail.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table(&["SYMBOL", "SCORE", "DETAIL"], &rows);
    }
    println!("offline:  no SPF, DKIM, DMARC, ARC or DNS blocklist checks");
    if !filter.spam_enabled {
        println!("note:     spam scoring is off in the config ([filter] spam_enabled = false)");
    }
    Ok(())
}

/// The classifier's probability for `features` with one model, and the model's totals.
async fn classify(
    meta: &dyn MetaStore,
    model: BayesModel,
    features: &[u64],
) -> anyhow::Result<(Option<f64>, Totals)> {
    Ok(mailstead_spam::filter::classify(meta, model, features).await?)
}

/// The message of a file to check: the whole file, or an mbox's first message.
fn read_one_message(file: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    if !bytes.starts_with(b"From ") {
        return Ok(bytes);
    }
    let mut first = None;
    split_mbox(&bytes[..], &mut |m| {
        first = Some(m);
        false
    });
    match first {
        Some(Ok(m)) => Ok(m),
        Some(Err(e)) => Err(e).with_context(|| format!("cannot read {}", file.display())),
        None => bail!("{} holds no message", file.display()),
    }
}

/// The address of the message's `Return-Path:` field (what the MX saw as MAIL FROM), or
/// `""` (the null sender) without one.
fn return_path(message: &[u8]) -> String {
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.len() > 12 && line[..12].eq_ignore_ascii_case(b"return-path:") {
            let value = String::from_utf8_lossy(&line[12..]);
            return value
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
        }
    }
    String::new()
}

// --- symbols ----------------------------------------------------------------------------

fn symbols(config: &Config, filter: &FilterConfig, as_json: bool) -> anyhow::Result<()> {
    let known: BTreeSet<String> = Weights::default()
        .with_zone_weights(filter.dnsbl.zones())
        .all()
        .into_iter()
        .map(|(n, _)| n.to_owned())
        .collect();
    let overridden: BTreeSet<String> = config
        .filter
        .weights
        .keys()
        .map(|k| k.to_ascii_uppercase())
        .collect();
    let list: Vec<(String, f64, &str)> = filter
        .weights
        .all()
        .into_iter()
        .map(|(name, weight)| {
            let source = match (overridden.contains(name), known.contains(name)) {
                (true, true) => "config",
                (true, false) => "config (unknown symbol)",
                (false, _) => "default",
            };
            (name.to_owned(), weight, source)
        })
        .collect();
    if as_json {
        let symbols: Vec<_> = list
            .iter()
            .map(|(name, weight, source)| {
                json!({ "name": name, "weight": weight, "source": source })
            })
            .collect();
        output::json(&json!({
            "reject_score": filter.weights.reject_score,
            "symbols": symbols,
        }))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|(name, weight, source)| {
            vec![name.clone(), format!("{weight:.2}"), (*source).to_owned()]
        })
        .collect();
    table(&["SYMBOL", "WEIGHT", "SOURCE"], &rows);
    println!("reject score: {:.2}", filter.weights.reject_score);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        split_mbox(text.as_bytes(), &mut |m| {
            out.push(String::from_utf8(m.expect("read")).expect("utf-8"));
            true
        });
        out
    }

    #[test]
    fn mbox_is_split_at_from_lines_after_blank_lines() {
        let mbox = "From a@example.org Mon Jan  1 00:00:00 2024\n\
                    Subject: one\n\
                    \n\
                    body\n\
                    From here on, not a separator\n\
                    \n\
                    From b@example.org Mon Jan  1 00:00:01 2024\n\
                    Subject: two\n\
                    \n\
                    >From quoted\n\
                    >>From twice\n\
                    >not from\n";
        assert_eq!(
            split(mbox),
            [
                "Subject: one\n\nbody\nFrom here on, not a separator\n",
                "Subject: two\n\nFrom quoted\n>From twice\n>not from\n",
            ]
        );
    }

    #[test]
    fn mbox_with_crlf_and_no_final_newline() {
        let mbox = "From x\r\nSubject: a\r\n\r\nA\r\n\r\nFrom y\r\nSubject: b\r\n\r\nB";
        assert_eq!(
            split(mbox),
            ["Subject: a\r\n\r\nA\r\n", "Subject: b\r\n\r\nB"]
        );
    }

    #[test]
    fn text_before_the_first_from_line_is_no_message() {
        assert!(split("no mbox\n").is_empty());
        assert_eq!(split("From x\n"), [""]);
    }

    #[test]
    fn message_key_is_the_hex_sha256() {
        assert_eq!(
            message_key(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn return_path_is_read_from_the_header_only() {
        assert_eq!(
            return_path(b"Return-Path: <a@example.org>\r\nSubject: x\r\n\r\n"),
            "a@example.org"
        );
        assert_eq!(return_path(b"Subject: x\n\nReturn-Path: <b@x>\n"), "");
        assert_eq!(return_path(b"return-path: <>\n\n"), "");
    }
}
