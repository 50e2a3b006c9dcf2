//! Local-delivery throughput of the metadata stores: concurrent `append_messages` calls,
//! each after a 4 KiB blob `put` to the filesystem blob store, as the SMTP server does
//! before it answers `250`.
//!
//! ```text
//! cargo run --release -p mailstead-store --example append_bench -- \
//!     [--concurrency 1,10,20] [--messages 200] [--accounts 100] [--recipients 1] \
//!     [--readers 4] [--pool 16] [--skip-blobs] [--postgres postgres://postgres@127.0.0.1/postgres]
//! ```
//!
//! For each concurrency C, a fresh SQLite store in a temp directory (and, with
//! `--postgres URL`, a fresh PostgreSQL database `mailstead_bench_*`, dropped afterwards)
//! gets `--accounts` accounts; then C tasks deliver `--messages` messages each, every one
//! to `--recipients` distinct INBOXes picked at random. Printed per run: deliveries per
//! second, latency of a whole delivery (p50, p99), the share of it spent in the blob
//! `put`, and commits: the SQLite writer's transactions, or PostgreSQL's `xact_commit`
//! and WAL syncs (cluster-wide `pg_stat_wal`, so keep the server otherwise idle).

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailstead_store::fs::FsBlobStore;
use mailstead_store::model::{Flags, NewAccount, NewMessage, unix_now};
use mailstead_store::postgres::PostgresStore;
use mailstead_store::sqlite::SqliteStore;
use mailstead_store::{BlobStore, MetaStore};
use mailstead_types::MailboxId;
use tokio_postgres::NoTls;

type BoxError = Box<dyn Error + Send + Sync>;

const USAGE: &str = "usage: append_bench [--concurrency 1,10,20] [--messages M] \
[--accounts N] [--recipients R] [--readers N] [--pool N] [--skip-blobs] [--postgres URL]";

/// Size of every message body.
const MESSAGE_BYTES: usize = 4096;

#[derive(Debug, Clone)]
struct Options {
    concurrency: Vec<usize>,
    messages: usize,
    accounts: usize,
    recipients: usize,
    readers: u32,
    pool: u32,
    skip_blobs: bool,
    postgres: Option<String>,
}

fn parse_args() -> Result<Options, BoxError> {
    let mut o = Options {
        concurrency: vec![1, 10, 20],
        messages: 200,
        accounts: 100,
        recipients: 1,
        readers: 4,
        pool: 16,
        skip_blobs: false,
        postgres: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--concurrency" => {
                o.concurrency = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--messages" => o.messages = value()?.parse()?,
            "--accounts" => o.accounts = value()?.parse()?,
            "--recipients" => o.recipients = value()?.parse()?,
            "--readers" => o.readers = value()?.parse()?,
            "--pool" => o.pool = value()?.parse()?,
            "--postgres" => o.postgres = Some(value()?),
            "--skip-blobs" => o.skip_blobs = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    if o.recipients == 0 || o.recipients > o.accounts {
        return Err("--recipients must be between 1 and --accounts".into());
    }
    if o.concurrency.contains(&0) || o.messages == 0 {
        return Err("--concurrency and --messages must be at least 1".into());
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let o = parse_args()?;
    println!(
        "{} accounts, {} recipient(s) per delivery, {} messages per task, {} B bodies{}",
        o.accounts,
        o.recipients,
        o.messages,
        MESSAGE_BYTES,
        if o.skip_blobs { ", no blob put" } else { "" }
    );
    for &c in &o.concurrency {
        let dir = tempfile::tempdir()?;
        let meta = SqliteStore::open(&dir.path().join("meta.sqlite3"), o.readers).await?;
        let meta = Arc::new(meta);
        let inboxes = setup(&*meta, o.accounts).await?;
        let before = meta.commits();
        let report = deliver(meta.clone(), dir.path(), &inboxes, c, &o).await?;
        let commits = meta.commits() - before;
        println!(
            "sqlite    C={c:<3} {report}  commits {commits} ({:.1} deliveries/commit)",
            report.deliveries as f64 / commits.max(1) as f64
        );
    }
    if let Some(url) = &o.postgres {
        for &c in &o.concurrency {
            postgres_run(url, c, &o).await?;
        }
    }
    Ok(())
}

/// One PostgreSQL run on a fresh database, dropped afterwards whatever happened.
async fn postgres_run(admin_url: &str, c: usize, o: &Options) -> Result<(), BoxError> {
    let admin = connect(admin_url).await?;
    let db = format!(
        "mailstead_bench_{}_{:08x}",
        unix_now(),
        rand::random::<u32>()
    );
    admin
        .batch_execute(&format!("CREATE DATABASE \"{db}\""))
        .await?;
    let result = postgres_measure(&admin, &with_dbname(admin_url, &db), &db, c, o).await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
        .await?;
    result
}

async fn postgres_measure(
    admin: &tokio_postgres::Client,
    url: &str,
    db: &str,
    c: usize,
    o: &Options,
) -> Result<(), BoxError> {
    let inboxes = {
        let meta = PostgresStore::connect(url, None, o.pool).await?;
        setup(&meta, o.accounts).await?
    };
    // Statistics reach the views when a backend flushes them, at the latest when it
    // exits: so count between two points where no backend of the database is left.
    let before = pg_counters(admin, db).await?;
    let meta = Arc::new(PostgresStore::connect(url, None, o.pool).await?);
    let dir = tempfile::tempdir()?;
    let report = deliver(meta.clone(), dir.path(), &inboxes, c, o).await?;
    drop(meta);
    let after = pg_counters(admin, db).await?;
    let commits = after.0 - before.0;
    println!(
        "postgres  C={c:<3} {report}  xact_commit {commits}, WAL syncs {} (pool {})",
        after.1 - before.1,
        o.pool
    );
    Ok(())
}

/// `(xact_commit of the database, wal_sync of the cluster)`, once every backend of the
/// database is gone (so their statistics are flushed).
async fn pg_counters(admin: &tokio_postgres::Client, db: &str) -> Result<(i64, i64), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                &[&db],
            )
            .await?;
        if row.get::<_, i64>(0) == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = admin
        .query_one(
            "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1),
                    (SELECT wal_sync FROM pg_stat_wal)",
            &[&db],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// Creates the accounts and returns their INBOXes.
async fn setup(meta: &dyn MetaStore, accounts: usize) -> Result<Vec<MailboxId>, BoxError> {
    meta.create_domain(&"bench.example".parse()?).await?;
    let mut inboxes = Vec::with_capacity(accounts);
    for i in 0..accounts {
        let account = meta
            .create_account(&NewAccount {
                address: format!("user{i}@bench.example").parse()?,
                display_name: format!("User {i}"),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                quota_bytes: None,
                enabled: true,
                global_admin: false,
            })
            .await?;
        let inbox = meta
            .mailbox(account.id, "INBOX")
            .await?
            .ok_or("a new account has an INBOX")?;
        inboxes.push(inbox.id);
    }
    Ok(inboxes)
}

/// What one run measured.
struct Report {
    deliveries: usize,
    elapsed: Duration,
    /// Latency of each delivery (blob put + append_messages), sorted.
    latencies: Vec<Duration>,
    /// Total time spent in blob puts.
    blob_time: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 * p) as usize).min(self.latencies.len() - 1);
            self.latencies[i].as_secs_f64() * 1e3
        };
        let total: Duration = self.latencies.iter().sum();
        write!(
            f,
            "{:>5} deliveries in {:>6.2} s = {:>7.0}/s  latency p50 {:>6.2} ms p99 {:>6.2} ms  \
             blob put {:>3.0}%",
            self.deliveries,
            self.elapsed.as_secs_f64(),
            self.deliveries as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            100.0 * self.blob_time.as_secs_f64() / total.as_secs_f64().max(1e-9),
        )
    }
}

/// `c` tasks delivering `o.messages` messages each.
async fn deliver(
    meta: Arc<dyn MetaStore>,
    dir: &Path,
    inboxes: &[MailboxId],
    c: usize,
    o: &Options,
) -> Result<Report, BoxError> {
    let blobs = Arc::new(FsBlobStore::open(&dir.join("blobs")).await?);
    let inboxes: Arc<[MailboxId]> = inboxes.into();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(c);
    for task in 0..c {
        let (meta, blobs, inboxes) = (meta.clone(), blobs.clone(), inboxes.clone());
        let (messages, recipients, skip_blobs) = (o.messages, o.recipients, o.skip_blobs);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages);
            let mut blob_time = Duration::ZERO;
            for i in 0..messages {
                let body = message_body(task, i);
                let t0 = Instant::now();
                let blob_id = if skip_blobs {
                    mailstead_store::fs::blob_id_of(&body)
                } else {
                    blobs.put(&body).await?
                };
                blob_time += t0.elapsed();
                let new = NewMessage {
                    blob_id,
                    size: body.len() as u64,
                    internal_date: unix_now(),
                    flags: Flags::EMPTY,
                    keywords: Vec::new(),
                    index: None,
                };
                let first = rand::random::<u64>() as usize;
                let targets: Vec<_> = (0..recipients)
                    .map(|j| (inboxes[(first + j) % inboxes.len()], new.clone()))
                    .collect();
                meta.append_messages(&targets).await?;
                latencies.push(t0.elapsed());
            }
            Ok::<_, BoxError>((latencies, blob_time))
        }));
    }
    let mut latencies = Vec::with_capacity(c * o.messages);
    let mut blob_time = Duration::ZERO;
    for task in tasks {
        let (l, b) = task.await??;
        latencies.extend(l);
        blob_time += b;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(Report {
        deliveries: latencies.len(),
        elapsed,
        latencies,
        blob_time,
    })
}

/// A distinct 4 KiB message.
fn message_body(task: usize, i: usize) -> Vec<u8> {
    let mut body = format!(
        "From: sender@remote.example\r\nTo: user@bench.example\r\n\
         Message-ID: <{task}.{i}.{}@remote.example>\r\nSubject: bench {task}/{i}\r\n\r\n",
        rand::random::<u64>()
    )
    .into_bytes();
    let line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n";
    while body.len() < MESSAGE_BYTES {
        body.extend_from_slice(line);
    }
    body.truncate(MESSAGE_BYTES);
    body
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, BoxError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// `url` with its database replaced by `db` (URL or key=value form).
fn with_dbname(url: &str, db: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // key=value form: a later key overrides an earlier one.
        return format!("{url} dbname={db}");
    };
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority_start = scheme_end + 3;
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{db}{query}", &base[..authority_end])
}
