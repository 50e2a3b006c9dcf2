//! Helpers shared by the end-to-end tests of the built `mailstead` binary (`e2e.rs`,
//! `smtp_e2e.rs`, `imap_e2e.rs`, `queue_e2e.rs`): a scratch installation in a temp dir, the running server, a fresh
//! PostgreSQL database per test, external commands with a deadline, and reading back what
//! the server stored through the `mailstead-store` crate.
//!
//! Every wait here is bounded, so a broken server fails a test instead of hanging it.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use mailstead_store::{BlobBackend, BlobStore, MetaBackend, MetaStore};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mailstead");

/// A free TCP port on 127.0.0.1, below the kernel's ephemeral range (32768 and up on
/// Linux).
///
/// A port taken with `bind(:0)` and released comes from the ephemeral range, which every
/// outgoing connection draws its local port from; with the queue and its peers making
/// connections all the time, such a port was sometimes taken again before the server
/// bound it. Ports here come from a per-process sequence in 20000..32000 (start picked
/// from the process id; test binaries run one at a time), each checked by binding it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 20000..32000");
}

/// A scratch installation: a directory holding `mailstead.toml` and `data/`, plus the
/// environment every command of the test runs with.
pub struct Install {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
    pub http_port: u16,
    pub smtp_port: u16,
    pub imap_port: u16,
    pub imaps_port: u16,
    /// Submission with STARTTLS (`[submission] listen`).
    pub submission_port: u16,
    /// Submission over implicit TLS (`[submission] tls_listen`).
    pub submissions_port: u16,
}

impl Install {
    /// An install whose metadata and blobs live in the PostgreSQL database `db`.
    pub fn on_postgres(db: &PgDb) -> Self {
        let url = db.url();
        Install::new(&[
            ("MAILSTEAD_STORE_BACKEND", "postgres"),
            ("MAILSTEAD_STORE_POSTGRES_URL", &url),
            ("MAILSTEAD_BLOBS_BACKEND", "postgres"),
        ])
    }

    /// SMTP, submission, IMAP and HTTP on free loopback ports (never the default ports,
    /// so tests can run in parallel), host name `mail.example.org` (so the first
    /// run creates the domain example.org and admin@example.org), plus `extra_env`.
    pub fn new(extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let http_port = free_port();
        let smtp_port = free_port();
        let imap_port = free_port();
        let imaps_port = free_port();
        let submission_port = free_port();
        let submissions_port = free_port();
        let mut env = vec![
            (
                "MAILSTEAD_IMAP_LISTEN".to_string(),
                format!("[\"127.0.0.1:{imap_port}\"]"),
            ),
            (
                "MAILSTEAD_IMAP_TLS_LISTEN".to_string(),
                format!("[\"127.0.0.1:{imaps_port}\"]"),
            ),
            (
                "MAILSTEAD_SMTP_LISTEN".to_string(),
                format!("[\"127.0.0.1:{smtp_port}\"]"),
            ),
            (
                "MAILSTEAD_SUBMISSION_LISTEN".to_string(),
                format!("[\"127.0.0.1:{submission_port}\"]"),
            ),
            (
                "MAILSTEAD_SUBMISSION_TLS_LISTEN".to_string(),
                format!("[\"127.0.0.1:{submissions_port}\"]"),
            ),
            (
                "MAILSTEAD_CONFIG".to_string(),
                dir.path().join("mailstead.toml").display().to_string(),
            ),
            (
                "MAILSTEAD_HTTP_LISTEN".to_string(),
                format!("[\"127.0.0.1:{http_port}\"]"),
            ),
            (
                "MAILSTEAD_SERVER_HOSTNAME".to_string(),
                "mail.example.org".to_string(),
            ),
            (
                "MAILSTEAD_SERVER_SHUTDOWN_GRACE_SECS".to_string(),
                "5".to_string(),
            ),
        ];
        for (k, v) in extra_env {
            env.push((k.to_string(), v.to_string()));
        }
        Install {
            dir,
            env,
            http_port,
            smtp_port,
            imap_port,
            imaps_port,
            submission_port,
            submissions_port,
        }
    }

    /// Sets (or replaces) one environment variable of every later command, e.g.
    /// `MAILSTEAD_QUEUE_REMOTE_PORT`; takes effect at the next `serve`.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The value this install's environment gives `key`, if any (last one wins).
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs an admin command with `stdin` piped in.
    pub fn cli(&self, args: &[&str], stdin: &str) -> Output {
        let mut c = self.command();
        c.args(args);
        run_with_timeout(c, stdin.as_bytes(), Duration::from_secs(60))
    }

    /// Runs a command with no `MAILSTEAD_*` overrides at all (only what the file says).
    pub fn cli_without_overrides(&self, args: &[&str]) -> Output {
        let mut c = Command::new(BIN);
        c.current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(args);
        run_with_timeout(c, b"", Duration::from_secs(60))
    }

    /// Runs an admin command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.cli(args, stdin);
        assert!(
            out.status.success(),
            "mailstead {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs a `--json` command and parses its output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a, "")).expect("json output")
    }

    /// Runs a command that must fail with exit 1 and one line on stderr; returns it.
    pub fn refused(&self, args: &[&str], stdin: &str) -> String {
        let out = self.cli(args, stdin);
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert_eq!(
            out.status.code(),
            Some(1),
            "mailstead {args:?} should fail: {err}"
        );
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line expected: {err}");
        err
    }

    /// Adds a user with a password given on standard input.
    pub fn add_user(&self, address: &str) {
        self.ok(
            &["user", "add", address, "--password-file", "-"],
            "correct horse battery staple\n",
        );
    }

    /// Starts `mailstead serve` and waits (at most 60 s) for its "mailstead: ready" line.
    pub fn serve(&self) -> Server {
        let mut child = self
            .command()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mailstead serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let err_buf = Arc::new(Mutex::new(String::new()));
        let err_copy = err_buf.clone();
        std::thread::spawn(move || {
            // Line by line, so what was logged is visible before the process ends.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut b) = err_copy.lock() {
                    b.push_str(&line);
                    b.push('\n');
                }
            }
        });
        let mut banner = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let done = line == "mailstead: ready";
                    banner.push(line);
                    if done {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    std::thread::sleep(Duration::from_millis(200));
                    panic!(
                        "server did not become ready; stdout: {banner:?}; stderr: {}",
                        err_buf.lock().map(|s| s.clone()).unwrap_or_default()
                    );
                }
            }
        }
        Server {
            child,
            banner,
            port: self.http_port,
            smtp_port: self.smtp_port,
            stderr: err_buf,
        }
    }

    /// The store backends this install's server uses, for reading back what it stored.
    pub fn store_backends(&self) -> (MetaBackend, BlobBackend) {
        let data = self.path().join("data");
        let meta = match self.env_value("MAILSTEAD_STORE_BACKEND") {
            Some("postgres") => MetaBackend::Postgres {
                url: self
                    .env_value("MAILSTEAD_STORE_POSTGRES_URL")
                    .expect("MAILSTEAD_STORE_POSTGRES_URL with the postgres backend")
                    .to_string(),
                password: None,
                pool_size: 2,
            },
            _ => MetaBackend::Sqlite {
                path: data.join("mailstead.sqlite3"),
                readers: 1,
            },
        };
        let blobs = match self.env_value("MAILSTEAD_BLOBS_BACKEND") {
            Some("postgres") => BlobBackend::Postgres,
            _ => BlobBackend::Fs {
                path: data.join("blobs"),
            },
        };
        (meta, blobs)
    }

    /// Every message in the INBOX of `address`, ascending UID, with its stored bytes, read
    /// through the same store the server writes (SQLite in WAL mode may be read while the
    /// server runs). A message row whose blob is missing fails the test.
    pub fn inbox(&self, address: &str) -> Vec<StoredMessage> {
        self.mailbox(address, "INBOX")
    }

    /// Like [`Install::inbox`] for any mailbox.
    ///
    /// File blobs are read straight from `data/blobs/ab/cd/<sha256>`: opening the fs blob
    /// store would clear `blobs/tmp`, where the running server writes blobs in flight.
    pub fn mailbox(&self, address: &str, mailbox: &str) -> Vec<StoredMessage> {
        let (meta_backend, blob_backend) = self.store_backends();
        let address: mailstead_types::Address = address.parse().expect("address");
        block_on(async move {
            let (meta, pg_blobs): (Arc<dyn MetaStore>, Option<Arc<dyn BlobStore>>) =
                match (&meta_backend, &blob_backend) {
                    (MetaBackend::Sqlite { path, readers }, BlobBackend::Fs { .. }) => (
                        Arc::new(
                            mailstead_store::sqlite::SqliteStore::open(path, *readers)
                                .await
                                .expect("open the SQLite store"),
                        ),
                        None,
                    ),
                    (MetaBackend::Postgres { .. }, BlobBackend::Postgres) => {
                        let stores = mailstead_store::open(&meta_backend, &blob_backend)
                            .await
                            .expect("open the PostgreSQL store");
                        (stores.meta, Some(stores.blobs))
                    }
                    other => panic!("backend combination not supported by the tests: {other:?}"),
                };
            let account = meta
                .account(&address)
                .await
                .expect("account lookup")
                .unwrap_or_else(|| panic!("no account {address}"));
            let mbox = meta
                .mailbox(account.id, mailbox)
                .await
                .expect("mailbox lookup")
                .unwrap_or_else(|| panic!("{address} has no {mailbox}"));
            let mut out = Vec::new();
            for m in meta.messages(mbox.id).await.expect("messages") {
                let hex = m.blob_id.to_hex();
                let bytes = match (&pg_blobs, &blob_backend) {
                    (Some(blobs), _) => blobs.get(&m.blob_id).await.expect("read blob"),
                    (None, BlobBackend::Fs { path }) => {
                        let file = path.join(&hex[0..2]).join(&hex[2..4]).join(&hex);
                        match std::fs::read(&file) {
                            Ok(b) => Some(b),
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                            Err(e) => panic!("read {}: {e}", file.display()),
                        }
                    }
                    (None, BlobBackend::Postgres) => unreachable!(),
                };
                let bytes = bytes.unwrap_or_else(|| {
                    panic!("message uid {} of {address} has no blob {hex}", m.uid.0)
                });
                assert_eq!(
                    Sha256::digest(&bytes).as_slice(),
                    m.blob_id.0.as_slice(),
                    "blob {hex} does not match its hash (torn or altered)"
                );
                assert_eq!(
                    bytes.len() as u64,
                    m.size,
                    "stored size of uid {} of {address} differs from its blob",
                    m.uid.0
                );
                out.push(StoredMessage {
                    uid: m.uid.0,
                    blob_id: hex,
                    bytes,
                });
            }
            out
        })
    }
}

/// One stored message as read back by the test.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub uid: u32,
    pub blob_id: String,
    pub bytes: Vec<u8>,
}

impl StoredMessage {
    /// The whole message as text (lossy), for assertions and failure output.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The message without the trace block the server prepended: a `Return-Path:` line
    /// and one `Received:` header (with its continuation lines). Fails if they are absent.
    pub fn split_trace(&self) -> (String, &[u8]) {
        split_trace(&self.bytes)
    }
}

/// Splits the fields the server prepended off a stored message: `Return-Path:`, then
/// the MX filter's `X-Spam-*` and `Authentication-Results:` fields if any, then our one
/// `Received:` field (each with its continuation lines). Fails if Return-Path or Received
/// is absent.
pub fn split_trace(bytes: &[u8]) -> (String, &[u8]) {
    assert!(
        bytes.starts_with(b"Return-Path: "),
        "stored message does not start with Return-Path: {:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
    );
    const ADDED: [&[u8]; 4] = [
        b"Return-Path: ",
        b"X-Spam-Score: ",
        b"X-Spam-Status: ",
        b"Authentication-Results: ",
    ];
    let mut pos = 0;
    loop {
        let is_received = bytes[pos..].starts_with(b"Received: ");
        assert!(
            is_received || ADDED.iter().any(|f| bytes[pos..].starts_with(f)),
            "no Received after the fields the server adds: {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(600)])
        );
        // The field with its folded lines.
        loop {
            pos = bytes[pos..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .map(|i| pos + i + 2)
                .unwrap_or_else(|| panic!("unterminated header line in the trace block"));
            if !matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                break;
            }
        }
        if is_received {
            break;
        }
    }
    (
        String::from_utf8_lossy(&bytes[..pos]).into_owned(),
        &bytes[pos..],
    )
}

/// The running `mailstead serve`.
pub struct Server {
    pub child: Child,
    pub banner: Vec<String>,
    pub port: u16,
    pub smtp_port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    pub fn banner_value(&self, prefix: &str) -> Option<String> {
        self.banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix).map(|s| s.trim().to_string()))
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path)
    }

    /// What the server wrote to stderr so far (its log at `warn`).
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sends a signal (through `kill(1)`, which keeps `unsafe` out of the tests).
    pub fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits (at most 30 s) for the process to end.
    pub fn wait(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop within 30 s; stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a signal and waits (at most 30 s) for the exit status.
    pub fn stop(self, signal: i32) -> ExitStatus {
        self.signal(signal);
        self.wait()
    }

    /// SIGTERM, and the exit status must be 0 (graceful shutdown).
    pub fn stop_gracefully(self) {
        let stderr = self.stderr.clone();
        let status = self.stop(15);
        assert!(
            status.success(),
            "SIGTERM must exit 0, got {status:?}; stderr: {}",
            stderr.lock().map(|s| s.clone()).unwrap_or_default()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect http");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read http");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let body = resp
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

/// Runs a future to completion on a small runtime of its own (the store needs tokio).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// Runs `command` with `stdin` piped in and stdout/stderr captured; kills it and fails the
/// test if it has not ended after `timeout`.
pub fn run_with_timeout(mut command: Command, stdin: &[u8], timeout: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let readers = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .map(|stream| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut s) = stream {
                let _ = s.read_to_end(&mut buf);
            }
            buf
        })
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    let [stdout, stderr] = readers.map(|r| r.join().unwrap_or_default());
    Output {
        status,
        stdout,
        stderr,
    }
}

/// A PostgreSQL database for one test, dropped when the guard goes.
pub struct PgDb {
    pub admin_url: String,
    pub name: String,
}

impl PgDb {
    pub fn new() -> Self {
        let admin_url = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("mailstead_e2e_{}_{}", std::process::id(), free_port());
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        PgDb { admin_url, name }
    }

    pub fn url(&self) -> String {
        match self.admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{}", self.name),
            None => panic!("TEST_POSTGRES_URL has no database part: {}", self.admin_url),
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

pub fn psql(url: &str, sql: &str) {
    let mut c = Command::new("psql");
    c.args([url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql]);
    let out = run_with_timeout(c, b"", Duration::from_secs(60));
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
