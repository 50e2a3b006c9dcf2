//! SQLite backend: the embedded default metadata store (design §3).
//!
//! Module map, the same file names as `postgres/` so the two can be read side by side:
//! `domain` (domains, alternative names), `account` (accounts, manager rights, app
//! passwords), `alias`, `mailbox`, `message` (append, delivery, flags, expunge, change
//! log), `dsn` (DSN requests owed by deliveries), `queue` (the outbound queue: messages,
//! recipients, leases), `dkim` (DKIM signing keys), `secret` (server secrets), `spam`
//! (spam settings, Bayes models, greylisting). Each holds free functions over a
//! `&rusqlite::Connection`; this file holds the connections, start-up migration, the row
//! helpers and the trait impl, which only delegates.
//!
//! # Connections and concurrency
//!
//! SQLite allows one writer at a time per database file, so the store does not pretend
//! otherwise:
//! - **One writer connection**, owned by a dedicated thread fed through a channel. Every
//!   write is a job run on that thread inside a `BEGIN IMMEDIATE` transaction, so writes of
//!   this process are serialised without any further locking: UID/MODSEQ allocation and
//!   cross-table uniqueness checks are plain read-then-write code.
//! - **Group commit.** With `synchronous = FULL` every commit costs an fsync, which is most
//!   of a small write's time. So the writer takes every job already queued when it wakes
//!   (at most `MAX_GROUP`, 64, never waiting for more: a lone write commits at once), runs
//!   them in one transaction, each in its own `SAVEPOINT`, and commits once. A job that
//!   fails or panics is rolled back to its savepoint and only its caller hears of it; the
//!   others go on. Every caller is answered only after the commit (or its failure, which
//!   every job of the group then reports), so `Ok` still means durable. See `run_group`.
//! - **`BEGIN IMMEDIATE`** takes the write lock at the start of the transaction. Another
//!   process (the CLI while the server runs) writing the same file then waits on the busy
//!   timeout instead of failing with `SQLITE_BUSY` when a read transaction tries to
//!   upgrade to a write, which SQLite cannot wait for.
//! - **N read-only connections** in a small pool guarded by a semaphore. WAL mode lets them
//!   read a consistent snapshot while the writer commits. Each read runs in a deferred
//!   transaction so multi-statement reads (an alias with its destinations) are consistent.
//! - Every rusqlite call runs off the async worker threads: on the writer thread or in
//!   `spawn_blocking`.
//! - **Change notification.** A write that changes mailboxes (append, delivery, flags,
//!   expunge, copy/move, rename, delete) names them from its result, and the writer thread
//!   announces them on the store's [`Notifier`] after its group's `COMMIT` succeeded and
//!   before the caller is answered; never from inside the savepoint, and never for a job
//!   that failed or a group whose commit failed. See `write_and_notify`. Writes that queue
//!   something (an acceptance with queued messages, an attempt's notices, a retry, a DSN
//!   request replaced by its notice) wake the outbound queue the same way (`write_then`).
//!
//! # Durability
//!
//! WAL with `synchronous = FULL`: the WAL is fsynced at every commit, so a write whose
//! future returned `Ok` survives a crash or power loss (design invariant 1); group commit
//! shares that fsync between the writes of one group without answering any of them early. `busy_timeout`
//! is 10 s on every connection, for the other process's transactions and checkpoints.
//!
//! # Migrations
//!
//! At open the schema version is read first, without writing anything, and a database
//! migrated by a newer mailstead is refused ([`StoreError::SchemaTooNew`]) before even the
//! journal mode is touched. Pending steps are then applied one transaction each, together
//! with their `schema_migrations` row; the version is re-read inside each transaction so
//! two processes starting at once apply every step exactly once.

mod account;
mod alias;
mod dkim;
mod domain;
mod dsn;
mod mailbox;
mod message;
mod queue;
mod secret;
mod spam;

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mailstead_types::{
    AccountId, Address, AliasId, AppPasswordId, BlobId, DkimKeyId, DomainId, DsnRequestId,
    MailboxId, ModSeq, QueueId, Uid,
};
use rusqlite::types::FromSql;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, Row, TransactionBehavior};
use tokio::sync::{Semaphore, oneshot};

use crate::migrate;
use crate::model::*;
use crate::{MetaStore, Notifier, Result, StoreError};

/// How long a connection waits for a lock held by another connection or process before
/// failing with `SQLITE_BUSY` (a temporary error).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The bootstrap table of the migration runner; it must exist before the first step so
/// that step's row can be written in the same transaction.
const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)";

/// Metadata store on one SQLite database file.
///
/// Cheap to share behind an `Arc`; dropping the last handle stops the writer thread once it
/// has finished the jobs already queued, and closes every connection.
pub struct SqliteStore {
    path: PathBuf,
    writer: mpsc::Sender<Box<dyn WriteJob>>,
    readers: Arc<ReaderPool>,
    /// Transactions committed by the writer thread (see [`SqliteStore::commits`]).
    commits: Arc<AtomicU64>,
    /// Announces committed mailbox changes; called on the writer thread after the commit
    /// (see [`SqliteStore::write_and_notify`]).
    notifier: Arc<Notifier>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("readers", &self.readers.size)
            .finish()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating it (and its directory) if missing, migrates
    /// it to the latest schema, and starts the writer thread and `readers` read-only
    /// connections (at least one).
    ///
    /// Fails with [`StoreError::SchemaTooNew`], without writing anything, when the database
    /// was migrated by a newer mailstead.
    pub async fn open(path: &Path, readers: u32) -> Result<Self> {
        let path = path.to_path_buf();
        let readers = readers.max(1) as usize;
        blocking(move || Self::open_blocking(path, readers)).await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many write transactions this store's writer thread has committed since open
    /// (one per group of jobs). For tests and benchmarks that show group commit at work;
    /// not a stable interface.
    #[doc(hidden)]
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn open_blocking(path: PathBuf, readers: usize) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut writer = open_connection(&path, false)?;
        // Refuse a newer schema before anything is written, not even the journal mode.
        migrate::pending(migrate::SQLITE, current_version(&writer)?)?;
        enable_wal(&writer, &path)?;
        migrate_schema(&mut writer)?;

        let pool = (0..readers)
            .map(|_| open_connection(&path, true))
            .collect::<Result<Vec<_>>>()?;
        let readers = Arc::new(ReaderPool {
            size: readers,
            conns: Mutex::new(pool),
            permits: Arc::new(Semaphore::new(readers)),
        });

        let (tx, rx) = mpsc::channel();
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        std::thread::Builder::new()
            .name("mailstead-sqlite-writer".into())
            .spawn(move || writer_loop(&writer, &rx, &counter))
            .map_err(|source| StoreError::Io {
                path: "sqlite writer thread".into(),
                source,
            })?;
        Ok(SqliteStore {
            path,
            writer: tx,
            readers,
            commits,
            notifier: Arc::new(Notifier::new()),
        })
    }

    /// Runs `f` in a write transaction on the writer thread (possibly shared with other
    /// jobs: see group commit in the module docs); its changes are committed when it returns `Ok` and
    /// rolled back when it returns `Err` or panics. Returns once the outcome is durable.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.submit(Job::boxed(f)).await
    }

    /// [`SqliteStore::write`] for a change to mailboxes: once the job's group has
    /// committed, and only if the job succeeded, the mailboxes `changed` names from its
    /// result are announced on the [`Notifier`]. That happens on the writer thread before
    /// the caller is answered, so the announcement is made even if the caller has gone
    /// (its future dropped), and never for a change that was rolled back.
    async fn write_and_notify<T, F, C>(&self, f: F, changed: C) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        C: FnOnce(&T) -> Vec<MailboxId> + Send + 'static,
    {
        self.write_then(f, move |notifier, value| {
            for mailbox in changed(value) {
                notifier.notify(mailbox);
            }
        })
        .await
    }

    /// [`SqliteStore::write`] with `announce` run on the [`Notifier`] and the job's value
    /// on the writer thread, once the job's group has committed and only if the job
    /// succeeded, before the caller is answered: what [`SqliteStore::write_and_notify`]
    /// does for mailboxes, open to other announcements (waking the outbound queue).
    async fn write_then<T, F, A>(&self, f: F, announce: A) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        A: FnOnce(&Notifier, &T) + Send + 'static,
    {
        let notifier = self.notifier.clone();
        let on_commit = Box::new(move |value: &T| announce(&notifier, value));
        self.submit(Job::boxed_with(f, Some(on_commit))).await
    }

    /// Queues a job on the writer thread and waits for its answer.
    async fn submit<T>(
        &self,
        (job, result): (Box<dyn WriteJob>, oneshot::Receiver<Result<T>>),
    ) -> Result<T> {
        self.writer
            .send(job)
            .map_err(|_| StoreError::Task("the sqlite writer thread is gone".into()))?;
        result
            .await
            .map_err(|_| StoreError::Task("the sqlite writer thread dropped a job".into()))?
    }

    /// Runs `f` on a read-only connection, in a deferred transaction (one snapshot).
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        // One permit per pooled connection, so a permit holder always finds one.
        let permit = self
            .readers
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Task("the sqlite reader pool is closed".into()))?;
        let pool = self.readers.clone();
        blocking(move || {
            let _permit = permit;
            let lease = pool.lease()?;
            let tx = lease.conn()?.unchecked_transaction()?;
            // Dropping the read transaction ends it; there is nothing to commit.
            f(&tx)
        })
        .await
    }
}

/// Opens and configures one connection; `read_only` ones refuse every write.
fn open_connection(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Per connection, off by default in SQLite: the cascades of the schema depend on it.
    conn.pragma_update(None, "foreign_keys", true)?;
    // Per connection too; FULL fsyncs the WAL at every commit (durability invariant).
    conn.pragma_update(None, "synchronous", "FULL")?;
    if read_only {
        // `query_only` rather than SQLITE_OPEN_READONLY: a read-only handle cannot create
        // the WAL index (-shm) if it is missing, e.g. right after another process's last
        // connection closed; query_only refuses writes just the same.
        conn.pragma_update(None, "query_only", true)?;
        // Readers map the file instead of copying every page through read(2): FETCH and
        // SEARCH over a large mailbox read thousands of pages per command. (Writes still
        // go through the WAL; the mapping only serves reads of checkpointed pages.)
        conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    }
    Ok(conn)
}

/// Puts the database in WAL mode (a persistent property of the file).
///
/// The switch needs an exclusive lock, and SQLite returns `SQLITE_BUSY` for it at once
/// instead of running the busy handler; two processes opening a new database together hit
/// that. So retry, for as long as the busy timeout would have waited.
fn enable_wal(conn: &Connection, path: &Path) -> Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(mode) => {
                if !mode.eq_ignore_ascii_case("wal") {
                    // In-memory or exotic VFS: still correct (one writer), less concurrent.
                    tracing::warn!(path = %path.display(), mode, "sqlite database is not in WAL mode");
                }
                return Ok(());
            }
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The highest applied migration, 0 for a new (empty) database. Writes nothing.
fn current_version(conn: &Connection) -> Result<i64> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

/// Applies every pending migration, one transaction each.
fn migrate_schema(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Re-read under the write lock: another process may have migrated meanwhile.
        let pending = migrate::pending(migrate::SQLITE, current_version(&tx)?)?;
        let Some(step) = pending.first() else {
            return Ok(());
        };
        tx.execute_batch(CREATE_SCHEMA_MIGRATIONS)?;
        tx.execute_batch(step.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (step.version, step.name, unix_now()),
        )?;
        tx.commit()?;
        tracing::info!(
            version = step.version,
            name = step.name,
            "applied sqlite migration"
        );
    }
}

/// Runs blocking work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

// --- the writer thread -------------------------------------------------------------------

/// The most jobs committed together. Bounds how long the first job of a group waits for
/// the others to run before its commit, and how much one failed commit takes down.
const MAX_GROUP: usize = 64;

/// One queued write. Split in two steps so that the transaction's fate (commit or not) is
/// known before the caller hears back: with group commit, several jobs run before one
/// commit, and none may report success before it.
trait WriteJob: Send {
    /// Runs the job's statements inside the open write transaction; false means the
    /// job failed and its changes must not be kept.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Tells the caller the result, given the outcome of the transaction.
    fn finish(self: Box<Self>, outcome: Result<()>);
}

/// Run on the writer thread with a job's value once its group has committed.
type OnCommit<T> = Box<dyn FnOnce(&T) + Send>;

/// A [`WriteJob`] made of a closure and the channel back to its caller.
struct Job<T, F> {
    work: Option<F>,
    result: Option<Result<T>>,
    on_commit: Option<OnCommit<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    /// The job for the writer thread, and where its result will arrive.
    fn boxed(work: F) -> (Box<dyn WriteJob>, oneshot::Receiver<Result<T>>) {
        Self::boxed_with(work, None)
    }

    /// [`Job::boxed`] with a hook run on the job's value only when the job succeeded and
    /// its group committed, before the caller is answered.
    fn boxed_with(
        work: F,
        on_commit: Option<OnCommit<T>>,
    ) -> (Box<dyn WriteJob>, oneshot::Receiver<Result<T>>) {
        let (reply, result) = oneshot::channel();
        let job = Job {
            work: Some(work),
            result: None,
            on_commit,
            reply,
        };
        (Box::new(job), result)
    }
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, outcome: Result<()>) {
        let result = match (self.result, outcome) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)) | None, Err(e)) => Err(e),
            (None, Ok(())) => Err(StoreError::Task("write job did not run".into())),
        };
        if let (Ok(value), Some(on_commit)) = (&result, self.on_commit) {
            on_commit(value);
        }
        // The caller may have given up (its future was dropped); nothing to tell then.
        let _ = self.reply.send(result);
    }
}

/// The writer thread: runs queued jobs, a group per transaction, until every sender is
/// gone (and the jobs they queued are done).
fn writer_loop(conn: &Connection, jobs: &mpsc::Receiver<Box<dyn WriteJob>>, commits: &AtomicU64) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = jobs.recv() {
        group.push(first);
        // Only what is queued already: waiting to fill a group would delay a lone write.
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        run_group(conn, group.drain(..), commits);
    }
}

/// What became of one job run inside the group transaction.
enum Ran {
    /// Its changes are in the transaction, to be kept if the commit succeeds.
    Kept,
    /// It failed or panicked; its savepoint was rolled back and the transaction goes on.
    /// The outcome to finish it with (its own error is kept by the job).
    Undone(Result<()>),
    /// The transaction itself is gone or in an unknown state: SQLite rolled it back on its
    /// own (I/O error, disk full: the job's error says which), or a savepoint statement
    /// failed. Nothing of the group so far can be kept.
    Broken {
        /// Finishes this job (its own error wins, as in `Undone`).
        outcome: Result<()>,
        /// What the jobs kept before it are told.
        cause: StoreError,
    },
}

/// Runs `jobs` in one `BEGIN IMMEDIATE` transaction with one commit, each job in its own
/// savepoint, and finishes every job: a failed or panicking job at once with its error
/// (after rolling back to its savepoint), the others after the commit with its outcome.
///
/// Failure of the group as a whole: when `BEGIN` or `COMMIT` fails, every job not failed
/// on its own gets that error. When the transaction breaks in the middle (see
/// [`Ran::Broken`]), the jobs kept before are failed with a temporary error, since their
/// changes are lost, and the remaining jobs go on in a new transaction.
fn run_group(
    conn: &Connection,
    jobs: impl IntoIterator<Item = Box<dyn WriteJob>>,
    commits: &AtomicU64,
) {
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        // Never begin inside a transaction a failed ROLLBACK may have left open.
        rollback(conn);
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let e = StoreError::from(e);
            for job in jobs.by_ref() {
                job.finish(Err(copy_error(&e)));
            }
            return;
        }
        // Jobs whose changes wait for the commit.
        let mut kept: Vec<Box<dyn WriteJob>> = Vec::new();
        let mut broken = None;
        for mut job in jobs.by_ref() {
            match run_in_savepoint(conn, job.as_mut()) {
                Ran::Kept => kept.push(job),
                Ran::Undone(outcome) => job.finish(outcome),
                Ran::Broken { outcome, cause } => {
                    job.finish(outcome);
                    broken = Some(cause);
                    break;
                }
            }
        }
        if let Some(cause) = broken {
            rollback(conn);
            tracing::warn!(
                error = %cause,
                jobs = kept.len(),
                "sqlite group transaction broke; the writes run in it are failed"
            );
            for job in kept {
                job.finish(Err(copy_error(&cause)));
            }
            // The jobs after the broken one have not run: they get a new transaction.
            continue;
        }
        if kept.is_empty() {
            // Every job failed: nothing to keep, no fsync to pay for.
            rollback(conn);
            return;
        }
        match conn.execute_batch("COMMIT") {
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
                for job in kept {
                    job.finish(Ok(()));
                }
            }
            Err(e) => {
                // A failed COMMIT may leave the transaction open (e.g. a deferred
                // constraint); it must not linger into the next group.
                rollback(conn);
                let e = StoreError::from(e);
                for job in kept {
                    job.finish(Err(copy_error(&e)));
                }
            }
        }
        return;
    }
}

/// Runs one job inside `SAVEPOINT job` of the open transaction; see [`Ran`].
fn run_in_savepoint(conn: &Connection, job: &mut dyn WriteJob) -> Ran {
    if let Err(e) = conn.execute_batch("SAVEPOINT job") {
        let cause = StoreError::from(e);
        return Ran::Broken {
            outcome: Err(copy_error(&cause)),
            cause,
        };
    }
    // A panic in one job must not take down the writer (and with it every later write):
    // its changes are rolled back to the savepoint and its caller gets an error.
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| job.run(conn))) {
        Ok(true) => {
            return match conn.execute_batch("RELEASE job") {
                Ok(()) => Ran::Kept,
                Err(e) => {
                    let cause = StoreError::from(e);
                    Ran::Broken {
                        outcome: Err(copy_error(&cause)),
                        cause,
                    }
                }
            };
        }
        Ok(false) => Ok(()),
        Err(_) => Err(StoreError::Task("a sqlite write job panicked".into())),
    };
    if conn.is_autocommit() {
        // SQLite rolled the whole transaction back itself (SQLITE_FULL, SQLITE_IOERR...).
        return Ran::Broken {
            outcome,
            cause: StoreError::Task(
                "the sqlite transaction was rolled back by a failure of another write in \
                 the same group; retry"
                    .into(),
            ),
        };
    }
    // ROLLBACK TO keeps the savepoint open; RELEASE closes it.
    match conn.execute_batch("ROLLBACK TO job; RELEASE job") {
        Ok(()) => Ran::Undone(outcome),
        Err(e) => Ran::Broken {
            outcome,
            cause: StoreError::from(e),
        },
    }
}

/// Ends the open transaction without keeping anything, if one is open.
fn rollback(conn: &Connection) {
    if conn.is_autocommit() {
        return;
    }
    if let Err(e) = conn.execute_batch("ROLLBACK") {
        // Nothing better to do here; the next group tries again before its BEGIN.
        tracing::error!(error = %e, "sqlite rollback failed");
    }
}

/// The error of a whole group, once for each of its jobs (`StoreError` is not `Clone`).
/// An SQLite error keeps its codes, so callers classify it as they would their own.
fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        other => StoreError::Task(other.to_string()),
    }
}

// --- the reader pool ---------------------------------------------------------------------

/// Read-only connections; the semaphore has exactly one permit per connection.
struct ReaderPool {
    size: usize,
    conns: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReaderPool {
    /// Takes a connection out until the lease drops (also on a panic, so none is lost).
    fn lease(&self) -> Result<Lease<'_>> {
        let conn = self.lock().pop();
        match conn {
            Some(conn) => Ok(Lease {
                pool: self,
                conn: Some(conn),
            }),
            None => Err(StoreError::Task("no free sqlite reader connection".into())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while the lock was held cannot leave the Vec half-changed (push and pop
        // are the only operations), so a poisoned lock is safe to use.
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connection borrowed from the [`ReaderPool`].
struct Lease<'a> {
    pool: &'a ReaderPool,
    conn: Option<Connection>,
}

impl Lease<'_> {
    fn conn(&self) -> Result<&Connection> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::Task("sqlite reader lease is empty".into()))
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.lock().push(conn);
        }
    }
}

// --- helpers shared by the entity modules --------------------------------------------------

/// Reads column `idx` as `T`; a value of the wrong type or range is `Corrupt` (never a
/// panic), naming the column.
fn col<T: FromSql>(row: &Row<'_>, idx: usize) -> Result<T> {
    row.get::<_, T>(idx).map_err(|e| match e {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => corrupt_col(row, idx, &e.to_string()),
        other => StoreError::Sqlite(other),
    })
}

/// Reads a non-negative INTEGER column as `u64` (rusqlite has no such conversion without
/// a feature, since SQLite integers are signed); a negative value is `Corrupt`.
fn col_u64(row: &Row<'_>, idx: usize) -> Result<u64> {
    let value: i64 = col(row, idx)?;
    u64::try_from(value).map_err(|_| corrupt_col(row, idx, &format!("negative value {value}")))
}

/// [`col_u64`] for a nullable column.
fn col_opt_u64(row: &Row<'_>, idx: usize) -> Result<Option<u64>> {
    match col::<Option<i64>>(row, idx)? {
        None => Ok(None),
        Some(value) => u64::try_from(value)
            .map(Some)
            .map_err(|_| corrupt_col(row, idx, &format!("negative value {value}"))),
    }
}

fn corrupt_col(row: &Row<'_>, idx: usize, what: &str) -> StoreError {
    let name = row.as_ref().column_name(idx).unwrap_or("?");
    StoreError::Corrupt(format!("column {name}: {what}"))
}

/// Runs a query (statement cached per connection) and converts every row with `f`.
fn query_all<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}

/// Runs a query that returns at most one row and converts it with `f`.
fn query_opt<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    match rows.next()? {
        Some(row) => f(row).map(Some),
        None => Ok(None),
    }
}

/// Runs a query that returns exactly one non-negative number (`COUNT`, `SUM`, ...).
fn query_u64<P: Params>(conn: &Connection, sql: &str, params: P) -> Result<u64> {
    query_opt(conn, sql, params, |r| col_u64(r, 0))?
        .ok_or_else(|| StoreError::Corrupt(format!("no row from {sql:?}")))
}

/// Runs a statement and returns how many rows it changed.
fn execute<P: Params>(conn: &Connection, sql: &str, params: P) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// Whether a row exists; used for the `NotFound` checks before writes.
fn exists<P: Params>(conn: &Connection, sql: &str, params: P) -> Result<bool> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, |_| Ok(()))
        .optional()?
        .is_some())
}

/// True when `e` is a UNIQUE or PRIMARY KEY violation.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error(),
        Some(err) if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Maps a unique violation to `Conflict(noun)`, any other error to `Sqlite`.
fn conflict_on_unique(e: rusqlite::Error, noun: impl FnOnce() -> String) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(noun())
    } else {
        StoreError::Sqlite(e)
    }
}

/// A non-negative 64-bit number for an INTEGER column; `Invalid` above `i64::MAX`.
fn to_sql_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{what} {value} is too large")))
}

/// `mailboxes` when `cond` holds, else none: which mailboxes a write changed.
fn only_if(cond: bool, mailboxes: Vec<MailboxId>) -> Vec<MailboxId> {
    if cond { mailboxes } else { Vec::new() }
}

/// A stored domain name parsed back; `Corrupt` when it is not a valid domain.
fn parse_domain(name: &str) -> Result<mailstead_types::Domain> {
    name.parse()
        .map_err(|e| StoreError::Corrupt(format!("stored domain name {name:?}: {e}")))
}

// --- the trait -------------------------------------------------------------------------

#[async_trait]
impl MetaStore for SqliteStore {
    async fn schema_version(&self) -> Result<i64> {
        self.read(current_version).await
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| query_u64(c, "SELECT 1", []).map(drop)).await
    }

    async fn create_domain(&self, name: &mailstead_types::Domain) -> Result<Domain> {
        let name = name.clone();
        self.write(move |c| domain::create(c, &name)).await
    }

    async fn domain(&self, name: &mailstead_types::Domain) -> Result<Option<Domain>> {
        let name = name.clone();
        self.read(move |c| domain::by_name(c, &name)).await
    }

    async fn domain_by_id(&self, id: DomainId) -> Result<Option<Domain>> {
        self.read(move |c| domain::by_id(c, id)).await
    }

    async fn resolve_domain(&self, name: &mailstead_types::Domain) -> Result<Option<Domain>> {
        let name = name.clone();
        self.read(move |c| domain::resolve(c, &name)).await
    }

    async fn list_domains(&self) -> Result<Vec<Domain>> {
        self.read(domain::list).await
    }

    async fn delete_domain(&self, id: DomainId) -> Result<()> {
        self.write(move |c| domain::delete(c, id)).await
    }

    async fn add_alternative_domain(
        &self,
        domain: DomainId,
        name: &mailstead_types::Domain,
    ) -> Result<()> {
        let name = name.clone();
        self.write(move |c| domain::add_alternative(c, domain, &name))
            .await
    }

    async fn remove_alternative_domain(&self, name: &mailstead_types::Domain) -> Result<()> {
        let name = name.clone();
        self.write(move |c| domain::remove_alternative(c, &name))
            .await
    }

    async fn alternative_domains(&self, domain: DomainId) -> Result<Vec<mailstead_types::Domain>> {
        self.read(move |c| domain::alternatives(c, domain)).await
    }

    async fn create_account(&self, new: &NewAccount) -> Result<Account> {
        let new = new.clone();
        self.write(move |c| account::create(c, &new)).await
    }

    async fn account(&self, address: &Address) -> Result<Option<Account>> {
        let address = address.clone();
        self.read(move |c| account::by_address(c, &address)).await
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        self.read(move |c| account::by_id(c, id)).await
    }

    async fn list_accounts(&self, domain: Option<DomainId>) -> Result<Vec<Account>> {
        self.read(move |c| account::list(c, domain)).await
    }

    async fn count_accounts(&self, domain: DomainId) -> Result<u64> {
        self.read(move |c| account::count(c, domain)).await
    }

    async fn update_account(&self, id: AccountId, update: &AccountUpdate) -> Result<Account> {
        let update = update.clone();
        self.write(move |c| account::update(c, id, &update)).await
    }

    async fn delete_account(&self, id: AccountId) -> Result<()> {
        self.write(move |c| account::delete(c, id)).await
    }

    async fn set_managed_domains(&self, id: AccountId, domains: &[DomainId]) -> Result<()> {
        let domains = domains.to_vec();
        self.write(move |c| account::set_managed_domains(c, id, &domains))
            .await
    }

    async fn managed_domains(&self, id: AccountId) -> Result<Vec<DomainId>> {
        self.read(move |c| account::managed_domains(c, id)).await
    }

    async fn create_app_password(
        &self,
        account: AccountId,
        name: &str,
        hash: &str,
    ) -> Result<AppPassword> {
        let (name, hash) = (name.to_owned(), hash.to_owned());
        self.write(move |c| account::create_app_password(c, account, &name, &hash))
            .await
    }

    async fn app_passwords(&self, account: AccountId) -> Result<Vec<AppPassword>> {
        self.read(move |c| account::app_passwords(c, account)).await
    }

    async fn delete_app_password(&self, account: AccountId, id: AppPasswordId) -> Result<()> {
        self.write(move |c| account::delete_app_password(c, account, id))
            .await
    }

    async fn touch_app_password(&self, id: AppPasswordId, at: UnixTime) -> Result<()> {
        self.write(move |c| account::touch_app_password(c, id, at))
            .await
    }

    async fn create_alias(&self, new: &NewAlias) -> Result<Alias> {
        let new = new.clone();
        self.write(move |c| alias::create(c, &new)).await
    }

    async fn alias(&self, domain: DomainId, local_part: &str) -> Result<Option<Alias>> {
        let local_part = local_part.to_owned();
        self.read(move |c| alias::by_local_part(c, domain, &local_part))
            .await
    }

    async fn alias_by_id(&self, id: AliasId) -> Result<Option<Alias>> {
        self.read(move |c| alias::by_id(c, id)).await
    }

    async fn list_aliases(&self, domain: Option<DomainId>) -> Result<Vec<Alias>> {
        self.read(move |c| alias::list(c, domain)).await
    }

    async fn update_alias(&self, id: AliasId, destinations: &[String]) -> Result<Alias> {
        let destinations = destinations.to_vec();
        self.write(move |c| alias::update(c, id, &destinations))
            .await
    }

    async fn delete_alias(&self, id: AliasId) -> Result<()> {
        self.write(move |c| alias::delete(c, id)).await
    }

    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<Mailbox> {
        let name = name.to_owned();
        self.write(move |c| mailbox::create(c, account, &name, special_use, false))
            .await
    }

    async fn mailboxes(&self, account: AccountId) -> Result<Vec<Mailbox>> {
        self.read(move |c| mailbox::list(c, account)).await
    }

    async fn mailbox(&self, account: AccountId, name: &str) -> Result<Option<Mailbox>> {
        let name = name.to_owned();
        self.read(move |c| mailbox::by_name(c, account, &name))
            .await
    }

    async fn mailbox_by_id(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        self.read(move |c| mailbox::by_id(c, id)).await
    }

    async fn rename_mailbox(&self, id: MailboxId, new_name: &str) -> Result<Mailbox> {
        let new_name = new_name.to_owned();
        self.write_and_notify(
            move |c| mailbox::rename(c, id, &new_name),
            move |_| vec![id],
        )
        .await
    }

    async fn delete_mailbox(&self, id: MailboxId) -> Result<()> {
        self.write_and_notify(move |c| mailbox::delete(c, id), move |_| vec![id])
            .await
    }

    async fn set_subscribed(&self, id: MailboxId, subscribed: bool) -> Result<()> {
        self.write(move |c| mailbox::set_subscribed(c, id, subscribed))
            .await
    }

    async fn append_message(&self, mailbox: MailboxId, new: &NewMessage) -> Result<Message> {
        let new = new.clone();
        self.write_and_notify(
            move |c| message::append(c, mailbox, &new),
            move |_| vec![mailbox],
        )
        .await
    }

    async fn accept(
        &self,
        targets: &[(MailboxId, NewMessage)],
        dsn: &[NewDsnRequest],
        queue: &[NewQueuedMessage],
    ) -> Result<(Vec<Message>, Vec<QueueId>)> {
        if targets.is_empty() && dsn.is_empty() && queue.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        // One write job: one savepoint in the group-commit transaction, all or nothing.
        let (targets, dsn, queue) = (targets.to_vec(), dsn.to_vec(), queue.to_vec());
        let mut changed: Vec<MailboxId> = targets.iter().map(|(mailbox, _)| *mailbox).collect();
        changed.sort_unstable_by_key(|m| m.0);
        changed.dedup();
        let queued = !queue.is_empty();
        self.write_then(
            move |c| message::accept(c, &targets, &dsn, &queue),
            move |notifier, _| {
                for mailbox in changed {
                    notifier.notify(mailbox);
                }
                if queued {
                    notifier.notify_queue();
                }
            },
        )
        .await
    }

    async fn messages(&self, mailbox: MailboxId) -> Result<Vec<Message>> {
        self.read(move |c| message::list(c, mailbox)).await
    }

    async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
    ) -> Result<Vec<Message>> {
        let (uids, keywords) = (uids.to_vec(), keywords.to_vec());
        self.write_and_notify(
            move |c| message::store_flags(c, mailbox, &uids, op, flags, &keywords),
            move |changed| only_if(!changed.is_empty(), vec![mailbox]),
        )
        .await
    }

    async fn expunge(&self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>> {
        let uids = uids.to_vec();
        self.write_and_notify(
            move |c| message::expunge(c, mailbox, &uids),
            move |removed| only_if(!removed.is_empty(), vec![mailbox]),
        )
        .await
    }

    async fn changes_since(&self, mailbox: MailboxId, since: ModSeq) -> Result<Vec<Change>> {
        self.read(move |c| message::changes_since(c, mailbox, since))
            .await
    }

    async fn account_usage(&self, account: AccountId) -> Result<u64> {
        self.read(move |c| message::account_usage(c, account)).await
    }

    async fn messages_in_range(
        &self,
        mailbox: MailboxId,
        first: Uid,
        last: Uid,
    ) -> Result<Vec<Message>> {
        self.read(move |c| message::in_range(c, mailbox, first, last))
            .await
    }

    async fn mailbox_counts(&self, mailbox: MailboxId) -> Result<MailboxCounts> {
        self.read(move |c| message::counts(c, mailbox)).await
    }

    async fn copy_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
        remove_source: bool,
    ) -> Result<Vec<(Uid, Uid)>> {
        let uids = uids.to_vec();
        self.write_and_notify(
            move |c| message::copy(c, from, &uids, to, remove_source),
            move |pairs| match (pairs.is_empty(), remove_source) {
                (true, _) => Vec::new(),
                (false, false) => vec![to],
                (false, true) => vec![to, from],
            },
        )
        .await
    }

    async fn set_special_use(&self, id: MailboxId, special_use: Option<SpecialUse>) -> Result<()> {
        self.write(move |c| mailbox::set_special_use(c, id, special_use))
            .await
    }

    async fn put_index(&self, blob: &BlobId, index: &MessageIndex) -> Result<()> {
        let (blob, index) = (*blob, index.clone());
        self.write(move |c| message::insert_index(c, &blob, &index))
            .await
    }

    async fn summaries(&self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<(Uid, String)>> {
        let uids = uids.to_vec();
        self.read(move |c| message::summaries(c, mailbox, &uids))
            .await
    }

    async fn unindexed(&self, mailbox: MailboxId) -> Result<Vec<(Uid, BlobId)>> {
        self.read(move |c| message::unindexed(c, mailbox)).await
    }

    async fn search_headers(&self, mailbox: MailboxId, needle: &str) -> Result<Vec<(Uid, String)>> {
        let needle = needle.to_owned();
        self.read(move |c| message::search_headers(c, mailbox, &needle))
            .await
    }

    async fn search_body(&self, mailbox: MailboxId, needle: &str) -> Result<Vec<Uid>> {
        let needle = needle.to_owned();
        self.read(move |c| message::search_body(c, mailbox, &needle))
            .await
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    async fn dsn_requests(&self, limit: u32) -> Result<Vec<DsnRequest>> {
        self.read(move |c| dsn::list(c, limit)).await
    }

    async fn delete_dsn_request(&self, id: DsnRequestId) -> Result<()> {
        self.write(move |c| dsn::delete(c, id)).await
    }

    async fn queue_lease(
        &self,
        now: UnixTime,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMessage>> {
        self.write(move |c| queue::lease(c, now, lease_secs, limit))
            .await
    }

    async fn queue_complete(
        &self,
        id: QueueId,
        updates: &[RecipientUpdate],
        notices: &[NewQueuedMessage],
    ) -> Result<bool> {
        let (updates, notices) = (updates.to_vec(), notices.to_vec());
        let queued = !notices.is_empty();
        self.write_then(
            move |c| queue::complete(c, id, &updates, &notices),
            move |notifier, _| {
                if queued {
                    notifier.notify_queue();
                }
            },
        )
        .await
    }

    async fn queue_next_due(&self) -> Result<Option<UnixTime>> {
        self.read(queue::next_due).await
    }

    async fn queue_list(&self) -> Result<Vec<QueuedMessage>> {
        self.read(queue::list).await
    }

    async fn queue_message(&self, id: QueueId) -> Result<Option<QueuedMessage>> {
        self.read(move |c| queue::by_id(c, id)).await
    }

    async fn queue_retry(&self, id: Option<QueueId>, now: UnixTime) -> Result<u64> {
        self.write_then(
            move |c| queue::retry(c, id, now),
            |notifier, changed| {
                if *changed > 0 {
                    notifier.notify_queue();
                }
            },
        )
        .await
    }

    async fn queue_delete(&self, id: QueueId) -> Result<()> {
        self.write(move |c| queue::delete(c, id)).await
    }

    async fn queue_stats(&self) -> Result<QueueStats> {
        self.read(queue::stats).await
    }

    async fn replace_dsn_request(
        &self,
        id: DsnRequestId,
        notice: Option<&NewQueuedMessage>,
    ) -> Result<()> {
        let notice = notice.cloned();
        let queued = notice.is_some();
        self.write_then(
            move |c| dsn::replace(c, id, notice.as_ref()),
            move |notifier, _| {
                if queued {
                    notifier.notify_queue();
                }
            },
        )
        .await
    }

    async fn create_dkim_key(&self, new: &NewDkimKey) -> Result<DkimKey> {
        let new = new.clone();
        self.write(move |c| dkim::create(c, &new)).await
    }

    async fn dkim_keys(&self, domain: DomainId) -> Result<Vec<DkimKey>> {
        self.read(move |c| dkim::list(c, domain)).await
    }

    async fn set_dkim_key_active(&self, id: DkimKeyId, active: bool) -> Result<()> {
        self.write(move |c| dkim::set_active(c, id, active)).await
    }

    async fn delete_dkim_key(&self, id: DkimKeyId) -> Result<()> {
        self.write(move |c| dkim::delete(c, id)).await
    }

    async fn ensure_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
        // Read first: once stored (the usual case), no write transaction is needed.
        let key = name.to_owned();
        if let Some(value) = self.read(move |c| secret::get(c, &key)).await? {
            return Ok(value);
        }
        let (name, candidate) = (name.to_owned(), candidate.to_vec());
        self.write(move |c| secret::ensure(c, &name, &candidate))
            .await
    }

    async fn spam_settings(&self, account: AccountId) -> Result<SpamSettings> {
        self.read(move |c| spam::settings(c, account)).await
    }

    async fn set_spam_settings(&self, account: AccountId, settings: &SpamSettings) -> Result<()> {
        let settings = *settings;
        self.write(move |c| spam::set_settings(c, account, &settings))
            .await
    }

    async fn bayes_counts(
        &self,
        model: BayesModel,
        features: &[u64],
    ) -> Result<(Vec<(u64, BayesCounts)>, BayesTotals)> {
        let features = features.to_vec();
        self.read(move |c| spam::counts(c, model, &features)).await
    }

    async fn bayes_learn(
        &self,
        model: BayesModel,
        message_key: &str,
        features: &[u64],
        class: BayesClass,
    ) -> Result<LearnOutcome> {
        let (message_key, features) = (message_key.to_owned(), features.to_vec());
        self.write(move |c| spam::learn(c, model, &message_key, &features, class))
            .await
    }

    async fn bayes_reset(&self, model: BayesModel) -> Result<()> {
        self.write(move |c| spam::reset(c, model)).await
    }

    async fn greylist_check(
        &self,
        triplet: &str,
        now: UnixTime,
        policy: &GreylistPolicy,
    ) -> Result<GreylistOutcome> {
        let (triplet, policy) = (triplet.to_owned(), *policy);
        self.write(move |c| spam::greylist_check(c, &triplet, now, &policy))
            .await
    }

    async fn greylist_prune(&self, now: UnixTime, policy: &GreylistPolicy) -> Result<u64> {
        let policy = *policy;
        self.write(move |c| spam::greylist_prune(c, now, &policy))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragma(conn: &Connection, name: &str) -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .expect("pragma")
    }

    #[test]
    fn connections_are_set_up_for_durability_and_waiting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("meta.sqlite3");
        let writer = open_connection(&path, false).expect("writer");
        assert_eq!(pragma(&writer, "synchronous"), 2, "FULL");
        assert_eq!(pragma(&writer, "foreign_keys"), 1);
        assert_eq!(pragma(&writer, "busy_timeout"), 10_000);
        assert_eq!(pragma(&writer, "query_only"), 0);

        let reader = open_connection(&path, true).expect("reader");
        assert_eq!(pragma(&reader, "foreign_keys"), 1);
        assert_eq!(pragma(&reader, "busy_timeout"), 10_000);
        assert_eq!(pragma(&reader, "query_only"), 1);
        assert!(reader.execute_batch("CREATE TABLE t (x INTEGER)").is_err());
    }

    #[tokio::test]
    async fn open_switches_the_file_to_wal_and_migrates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("meta.sqlite3");
        let store = SqliteStore::open(&path, 1).await.expect("open");
        let raw = Connection::open(&path).expect("raw");
        let mode: String = raw
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal_mode");
        assert_eq!(mode, "wal");
        let names: Vec<String> = raw
            .prepare("SELECT name FROM schema_migrations ORDER BY version")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("schema_migrations");
        let expected: Vec<String> = migrate::SQLITE.iter().map(|m| m.name.to_owned()).collect();
        assert_eq!(names, expected);
        drop(store);
    }

    /// A database left at schema 1 by an older mailstead is migrated on open: its data
    /// stays, and the tables of later steps (DSN requests, schema 2) work.
    #[tokio::test]
    async fn open_upgrades_a_schema_1_database_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("meta.sqlite3");
        {
            let conn = open_connection(&path, false).expect("raw");
            conn.execute_batch(CREATE_SCHEMA_MIGRATIONS)
                .expect("bootstrap");
            conn.execute_batch(migrate::SQLITE[0].sql)
                .expect("schema 1");
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'initial', 0)",
                [],
            )
            .expect("version row");
            execute(
                &conn,
                "INSERT INTO domains (name, created_at) VALUES ('example.org', 0)",
                [],
            )
            .expect("domain");
        }
        let store = SqliteStore::open(&path, 1).await.expect("open");
        assert_eq!(
            store.schema_version().await.expect("version"),
            migrate::LATEST_SQLITE_VERSION
        );
        let step_2: String = Connection::open(&path)
            .and_then(|c| {
                c.query_row(
                    "SELECT name FROM schema_migrations WHERE version = 2",
                    [],
                    |r| r.get(0),
                )
            })
            .expect("step 2 recorded");
        assert_eq!(step_2, "dsn_requests");
        assert_eq!(store.list_domains().await.expect("domains").len(), 1);
        let request = NewDsnRequest {
            blob_id: crate::fs::blob_id_of(b"message"),
            mail_from: "sender@example.com".into(),
            envid: None,
            ret: Some(DsnRet::Full),
            recipient: "alice@example.org".into(),
            original_recipient: None,
            action: DsnAction::Delivered,
            created_at: 1,
        };
        store.deliver(&[], &[request]).await.expect("deliver");
        assert_eq!(store.dsn_requests(10).await.expect("list").len(), 1);
    }

    #[tokio::test]
    async fn a_failed_write_job_is_rolled_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("m.sqlite3"), 1)
            .await
            .expect("open");
        let result: Result<()> = store
            .write(|c| {
                execute(
                    c,
                    "INSERT INTO domains (name, created_at) VALUES ('example.org', 0)",
                    [],
                )?;
                Err(StoreError::Invalid("changed my mind".into()))
            })
            .await;
        assert!(matches!(result, Err(StoreError::Invalid(_))));
        assert!(store.list_domains().await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn a_panicking_write_job_does_not_stop_the_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("m.sqlite3"), 1)
            .await
            .expect("open");
        let result: Result<()> = store
            .write(|c| {
                execute(
                    c,
                    "INSERT INTO domains (name, created_at) VALUES ('example.org', 0)",
                    [],
                )?;
                panic!("bug in a write job");
            })
            .await;
        assert!(matches!(result, Err(StoreError::Task(_))));
        assert!(store.list_domains().await.expect("list").is_empty());
        let name: mailstead_types::Domain = "example.net".parse().expect("domain");
        store
            .create_domain(&name)
            .await
            .expect("the writer still runs");
    }
    // --- group commit, driven directly: the jobs of a group are known in advance ---------

    /// A connection to a scratch database with a table `t` and a table `child` whose
    /// foreign key is checked only at COMMIT.
    fn scratch(dir: &tempfile::TempDir) -> Connection {
        let conn = open_connection(&dir.path().join("scratch.sqlite3"), false).expect("open");
        conn.execute_batch(
            "CREATE TABLE t (x INTEGER PRIMARY KEY);
             CREATE TABLE child (p INTEGER REFERENCES t (x) DEFERRABLE INITIALLY DEFERRED);",
        )
        .expect("schema");
        conn
    }

    type Reply = oneshot::Receiver<Result<()>>;

    fn job(
        f: impl FnOnce(&Connection) -> Result<()> + Send + 'static,
    ) -> (Box<dyn WriteJob>, Reply) {
        Job::boxed(f)
    }

    fn insert(x: i64) -> (Box<dyn WriteJob>, Reply) {
        job(move |c| execute(c, "INSERT INTO t (x) VALUES (?1)", [x]).map(drop))
    }

    fn rows(conn: &Connection) -> Vec<i64> {
        query_all(conn, "SELECT x FROM t ORDER BY x", [], |r| col(r, 0)).expect("rows")
    }

    fn answer(mut reply: Reply) -> Result<()> {
        reply.try_recv().expect("the job was answered")
    }

    /// Runs the jobs as one group and returns their answers, in order.
    fn group(
        conn: &Connection,
        commits: &AtomicU64,
        jobs: Vec<(Box<dyn WriteJob>, Reply)>,
    ) -> Vec<Result<()>> {
        let (jobs, replies): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        run_group(conn, jobs, commits);
        replies.into_iter().map(answer).collect()
    }

    #[test]
    fn a_group_commits_once_and_rolls_back_only_its_failed_jobs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = scratch(&dir);
        let commits = AtomicU64::new(0);
        let answers = group(
            &conn,
            &commits,
            vec![
                insert(1),
                job(|c| {
                    execute(c, "INSERT INTO t (x) VALUES (2)", [])?;
                    Err(StoreError::Invalid("changed my mind".into()))
                }),
                job(|c| {
                    execute(c, "INSERT INTO t (x) VALUES (3)", [])?;
                    panic!("bug in a write job");
                }),
                insert(4),
                // A statement error (duplicate key) undoes only this job.
                job(|c| {
                    execute(c, "INSERT INTO t (x) VALUES (5)", [])?;
                    execute(c, "INSERT INTO t (x) VALUES (1)", []).map(drop)
                }),
            ],
        );
        assert!(answers[0].is_ok(), "{answers:?}");
        assert!(
            matches!(answers[1], Err(StoreError::Invalid(_))),
            "{answers:?}"
        );
        assert!(
            matches!(answers[2], Err(StoreError::Task(_))),
            "{answers:?}"
        );
        assert!(answers[3].is_ok(), "{answers:?}");
        assert!(
            matches!(answers[4], Err(StoreError::Sqlite(_))),
            "{answers:?}"
        );
        assert_eq!(rows(&conn), [1, 4]);
        assert_eq!(commits.load(Ordering::Relaxed), 1);
        assert!(conn.is_autocommit(), "no transaction left open");
    }

    #[test]
    fn a_failed_commit_fails_every_job_of_the_group() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = scratch(&dir);
        let commits = AtomicU64::new(0);
        let answers = group(
            &conn,
            &commits,
            vec![
                insert(1),
                // Breaks the deferred foreign key: only COMMIT notices.
                job(|c| execute(c, "INSERT INTO child (p) VALUES (99)", []).map(drop)),
                insert(2),
                job(|_| Err(StoreError::Invalid("own error".into()))),
            ],
        );
        assert!(
            matches!(answers[0], Err(StoreError::Sqlite(_))),
            "{answers:?}"
        );
        assert!(
            matches!(answers[1], Err(StoreError::Sqlite(_))),
            "{answers:?}"
        );
        assert!(
            matches!(answers[2], Err(StoreError::Sqlite(_))),
            "{answers:?}"
        );
        assert!(
            matches!(answers[3], Err(StoreError::Invalid(_))),
            "a job's own error wins"
        );
        assert!(rows(&conn).is_empty());
        assert_eq!(commits.load(Ordering::Relaxed), 0);
        assert!(
            conn.is_autocommit(),
            "the failed transaction was rolled back"
        );

        let answers = group(&conn, &commits, vec![insert(3)]);
        assert!(answers[0].is_ok(), "the next group commits: {answers:?}");
        assert_eq!(rows(&conn), [3]);
    }

    /// A job whose commit hook records `x` in `log` (as `write_and_notify` announces).
    fn hooked(x: i64, fail: bool, log: &Arc<Mutex<Vec<i64>>>) -> (Box<dyn WriteJob>, Reply) {
        let log = log.clone();
        Job::boxed_with(
            move |c: &Connection| {
                execute(c, "INSERT INTO t (x) VALUES (?1)", [x])?;
                if fail {
                    return Err(StoreError::Invalid("changed my mind".into()));
                }
                Ok(())
            },
            Some(Box::new(move |_: &()| {
                log.lock().unwrap_or_else(|p| p.into_inner()).push(x)
            })),
        )
    }

    #[test]
    fn commit_hooks_run_after_the_commit_only_for_jobs_that_succeeded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = scratch(&dir);
        let commits = AtomicU64::new(0);
        let log = Arc::new(Mutex::new(Vec::new()));
        let answers = group(
            &conn,
            &commits,
            vec![
                hooked(1, false, &log),
                hooked(2, true, &log),
                hooked(3, false, &log),
            ],
        );
        assert!(answers[0].is_ok() && answers[1].is_err() && answers[2].is_ok());
        assert_eq!(*log.lock().expect("log"), [1, 3]);

        // A group whose COMMIT fails runs no hook, not even for the jobs that succeeded.
        log.lock().expect("log").clear();
        let answers = group(
            &conn,
            &commits,
            vec![
                hooked(4, false, &log),
                job(|c| execute(c, "INSERT INTO child (p) VALUES (99)", []).map(drop)),
            ],
        );
        assert!(answers.iter().all(Result::is_err), "{answers:?}");
        assert!(log.lock().expect("log").is_empty());
    }

    #[test]
    fn a_broken_transaction_fails_the_jobs_before_it_and_the_rest_go_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = scratch(&dir);
        let commits = AtomicU64::new(0);
        let answers = group(
            &conn,
            &commits,
            vec![
                insert(1),
                // As SQLite does by itself on SQLITE_FULL or an I/O error.
                job(|c| {
                    c.execute_batch("ROLLBACK")?;
                    Err(StoreError::Invalid("disk full, say".into()))
                }),
                insert(3),
                // Ends its own savepoint, so the writer's RELEASE fails.
                job(|c| {
                    execute(c, "INSERT INTO t (x) VALUES (4)", [])?;
                    c.execute_batch("RELEASE job").map_err(StoreError::from)
                }),
                insert(5),
            ],
        );
        assert!(
            matches!(answers[0], Err(StoreError::Task(_))),
            "{answers:?}"
        );
        assert!(
            matches!(answers[1], Err(StoreError::Invalid(_))),
            "{answers:?}"
        );
        assert!(
            matches!(answers[2], Err(StoreError::Sqlite(_))),
            "{answers:?}"
        );
        assert!(
            matches!(answers[3], Err(StoreError::Sqlite(_))),
            "{answers:?}"
        );
        assert!(answers[4].is_ok(), "{answers:?}");
        assert_eq!(rows(&conn), [5]);
        assert_eq!(commits.load(Ordering::Relaxed), 1);
        assert!(conn.is_autocommit());
    }

    #[test]
    fn the_writer_takes_every_queued_job_up_to_the_group_bound() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = scratch(&dir);
        let commits = AtomicU64::new(0);
        let (tx, rx) = mpsc::channel();
        let n = MAX_GROUP as i64 + 10;
        let replies: Vec<Reply> = (0..n)
            .map(|x| {
                let (job, reply) = insert(x);
                tx.send(job).expect("queue");
                reply
            })
            .collect();
        drop(tx);
        writer_loop(&conn, &rx, &commits);
        for reply in replies {
            answer(reply).expect("committed");
        }
        assert_eq!(rows(&conn).len() as i64, n);
        assert_eq!(
            commits.load(Ordering::Relaxed),
            2,
            "a full group, then the rest"
        );
    }
}
