//! End-to-end tests of the outbound path of the built `mailstead` binary (issue #5) with
//! real third-party peers (design §9.4): users submit with swaks and Python's smtplib
//! (STARTTLS + AUTH on `[submission] listen`, implicit TLS on `tls_listen`); the queue
//! finds the destination through a real DNS server (unbound, `mailstead_dns::testing`)
//! serving MX records that point at peers on other loopback addresses, all on one port
//! (`[queue] remote_port`):
//!
//! | domain       | MX host                   | peer                                                |
//! |--------------|---------------------------|-----------------------------------------------------|
//! | sink.test    | mx.sink.test 127.0.0.2    | Postfix's `smtp-sink`, saving every message         |
//! | retry.test   | mx.retry.test 127.0.0.3   | `tests/queue/flaky_mx.py`: 451 at RCPT N times, 250 |
//! | reject.test  | mx.reject.test 127.0.0.4  | `smtp-sink -f RCPT`: 550 to every RCPT              |
//! | nullmx.test  | `MX 0 .` (RFC 7505)       | none                                                |
//! | postfix.test | mx.postfix.test 127.0.0.5 | a private Postfix delivering into a Maildir         |
//!
//! What is checked: DKIM signatures (RSA and Ed25519) verified by dkimpy against the
//! records `mailstead domain dkim list` tells the operator to publish, served by DNS;
//! sender checks (553 5.7.1); retries after 451; RFC 3464 bounces read back over IMAP
//! with Python's `email` parser; the `mailstead queue` commands; kill -9 before and
//! during delivery losing no accepted message.
//!
//! External tools (a missing one fails the test, it never skips): unbound, swaks, python3
//! with dkimpy, PyNaCl and dnspython, Postfix (`smtp-sink`, `postfix`; the Postfix test
//! needs root, as Postfix's master does). `scripts/test.sh` installs them.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mailstead_dns::testing::Unbound;
use serde_json::Value;
use support::{Install, Server, run_with_timeout};

const PASSWORD: &str = "correct horse battery staple";
/// The Python peers and clients of these tests.
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/queue");
/// Longest any single external client run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

const SINK_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const RETRY_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const REJECT_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);
const POSTFIX_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);

/// The zone every test's unbound serves.
const ZONE: &[&str] = &[
    "sink.test. MX 10 mx.sink.test.",
    "mx.sink.test. A 127.0.0.2",
    "retry.test. MX 10 mx.retry.test.",
    "mx.retry.test. A 127.0.0.3",
    "reject.test. MX 10 mx.reject.test.",
    "mx.reject.test. A 127.0.0.4",
    "nullmx.test. MX 0 .",
    "postfix.test. MX 10 mx.postfix.test.",
    "mx.postfix.test. A 127.0.0.5",
];

// ---------------------------------------------------------------------------------------
// Helpers: tools, waiting, the scenario, the peers.
// ---------------------------------------------------------------------------------------

/// An external program, from `PATH` or the sbin directories (which a non-root `PATH` often
/// lacks); a missing one fails the test with what to install.
fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: install the Debian package `{package}` \
                 (scripts/test.sh does); these tests never skip"
            )
        })
}

/// The Python modules the scripts import; a missing one fails the test.
fn require_python_modules(modules: &str) {
    let mut c = Command::new(tool("python3", "python3"));
    c.arg("-c").arg(format!("import {modules}"));
    let out = run_with_timeout(c, b"", TOOL_TIMEOUT);
    assert!(
        out.status.success(),
        "python3 cannot import {modules} (pip install dkimpy pynacl dnspython; \
         scripts/test.sh does): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Polls `f` every 100 ms until it returns `Some`, failing the test after `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A port free on every loopback address the peers use (same port, different IPs).
fn shared_peer_port() -> u16 {
    let ips = [SINK_IP, RETRY_IP, REJECT_IP, POSTFIX_IP];
    // Outside the ephemeral range, like every port of these tests (see `free_port`).
    for _ in 0..100 {
        let port = support::free_port();
        let all: Vec<_> = ips
            .iter()
            .map(|ip| TcpListener::bind((*ip, port)))
            .collect();
        if all.iter().all(Result::is_ok) {
            return port;
        }
    }
    panic!("no port free on 127.0.0.2-5");
}

/// A path as a command-line argument.
fn path_arg(p: &Path) -> String {
    p.display().to_string()
}

/// The value of the first `name:` header of a message (its first line, trimmed).
fn header(message: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let prefix = format!("{}:", name.to_ascii_lowercase());
    for line in lines {
        if line.is_empty() {
            return None;
        }
        if line.to_ascii_lowercase().starts_with(&prefix) {
            return Some(line[prefix.len()..].trim().to_string());
        }
    }
    None
}

/// One test's world: unbound serving [`ZONE`], the install pointed at it, and the port
/// every peer listens on.
struct Outbound {
    install: Install,
    peer_port: u16,
    // Kept running for the server; dropped (killed) with the scenario.
    _dns: Unbound,
}

impl Outbound {
    /// A fresh install whose queue resolves through our unbound, delivers to
    /// `remote_port` = the peers' port and retries after 1-2 s; `extra` overrides.
    fn new(extra: &[(&str, &str)]) -> Outbound {
        tool("unbound", "unbound");
        let dns = Unbound::start(ZONE).unwrap_or_else(|e| panic!("cannot start unbound: {e}"));
        let peer_port = shared_peer_port();
        let mut install = Install::new(&[]);
        for (k, v) in [
            ("MAILSTEAD_DNS_NAMESERVERS", format!("[\"{}\"]", dns.addr)),
            ("MAILSTEAD_QUEUE_REMOTE_PORT", peer_port.to_string()),
            ("MAILSTEAD_QUEUE_RETRY_INITIAL_SECS", "1".into()),
            ("MAILSTEAD_QUEUE_RETRY_MAX_SECS", "2".into()),
            ("MAILSTEAD_QUEUE_CONNECT_TIMEOUT_SECS", "5".into()),
            ("MAILSTEAD_QUEUE_COMMAND_TIMEOUT_SECS", "20".into()),
            ("MAILSTEAD_QUEUE_DATA_TIMEOUT_SECS", "20".into()),
        ] {
            install.set_env(k, &v);
        }
        for (k, v) in extra {
            install.set_env(k, v);
        }
        Outbound {
            install,
            peer_port,
            _dns: dns,
        }
    }

    /// Starts the server and (first time) adds alice and bob.
    fn serve_with_users(&self) -> Server {
        let server = self.install.serve();
        for user in ["alice@example.org", "bob@example.org"] {
            let out = self.install.cli(&["user", "show", user], "");
            if !out.status.success() {
                self.install.add_user(user);
            }
        }
        server
    }

    /// `mailstead queue list --json`.
    fn queue(&self) -> Vec<Value> {
        match self.install.json(&["queue", "list"]) {
            Value::Array(a) => a,
            other => panic!("queue list --json is not an array: {other}"),
        }
    }

    /// Waits until the queue is empty.
    fn wait_queue_empty(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let q = self.queue();
            if q.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "queue not empty after {limit:?}: {}",
                serde_json::to_string_pretty(&q).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn submission_port(&self) -> u16 {
        self.install.submission_port
    }
}

/// A peer SMTP server on `ip:port`, killed when dropped. What it received is in `dump`.
struct Peer {
    child: Child,
    what: String,
    /// Received messages, one file each.
    dump: PathBuf,
    /// The flaky peer's attempt log (JSON lines).
    log: PathBuf,
    /// The peer's stderr.
    stderr: PathBuf,
    // Removed last.
    _dir: tempfile::TempDir,
}

impl Peer {
    fn dirs() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let dump = dir.path().join("dump");
        std::fs::create_dir(&dump).expect("dump dir");
        // smtp-sink drops to `nobody` when started as root and writes there.
        for p in [dir.path(), dump.as_path()] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777))
                .expect("chmod dump dir");
        }
        (dir, dump)
    }

    /// Postfix's `smtp-sink` on `ip:port` saving each message into `dump`, with `flags`.
    fn smtp_sink(ip: Ipv4Addr, port: u16, flags: &[&str]) -> Peer {
        let bin = tool("smtp-sink", "postfix");
        let (dir, dump) = Peer::dirs();
        let stderr = dir.path().join("stderr");
        let mut c = Command::new(bin);
        if is_root() {
            c.args(["-u", "nobody"]);
        }
        c.arg("-d")
            .arg(format!("{}/%H%M%S.", dump.display()))
            .args(flags)
            .arg(format!("{ip}:{port}"))
            .arg("64");
        Peer::spawn(
            c,
            format!("smtp-sink {flags:?} on {ip}:{port}"),
            dir,
            dump,
            stderr,
            ip,
            port,
        )
    }

    /// `tests/queue/flaky_mx.py` on `ip:port`: 451 at RCPT for the first `fail`
    /// transactions (-1: always), then 250.
    fn flaky(ip: Ipv4Addr, port: u16, fail: i32) -> Peer {
        let (dir, dump) = Peer::dirs();
        let stderr = dir.path().join("stderr");
        let log = dir.path().join("attempts.jsonl");
        let mut c = Command::new(tool("python3", "python3"));
        c.arg(format!("{SCRIPTS}/flaky_mx.py"))
            .args(["--host", &ip.to_string(), "--port", &port.to_string()])
            .args(["--log", &path_arg(&log), "--dump", &path_arg(&dump)])
            .args(["--fail", &fail.to_string()]);
        let mut peer = Peer::spawn(
            c,
            format!("flaky_mx.py on {ip}:{port}"),
            dir,
            dump,
            stderr,
            ip,
            port,
        );
        peer.log = log;
        peer
    }

    fn spawn(
        mut c: Command,
        what: String,
        dir: tempfile::TempDir,
        dump: PathBuf,
        stderr: PathBuf,
        ip: Ipv4Addr,
        port: u16,
    ) -> Peer {
        let err = std::fs::File::create(&stderr).expect("stderr file");
        let child = c
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let mut peer = Peer {
            child,
            what,
            dump,
            log: dir.path().join("attempts.jsonl"),
            stderr,
            _dir: dir,
        };
        let addr = SocketAddr::from((ip, port));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = peer.child.try_wait().expect("try_wait") {
                panic!(
                    "{} exited at start ({st}): {}",
                    peer.what,
                    peer.stderr_text()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return peer;
            }
            assert!(
                Instant::now() < deadline,
                "{} does not listen: {}",
                peer.what,
                peer.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Every message received so far: (file, bytes), by file name.
    fn messages(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dump)
            .expect("read dump dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
            .collect()
    }

    /// The received message with this Message-ID (exactly one expected).
    fn message(&self, message_id: &str) -> Option<(PathBuf, Vec<u8>)> {
        let found: Vec<_> = self
            .messages()
            .into_iter()
            .filter(|(_, b)| header(b, "Message-ID").as_deref() == Some(message_id))
            .collect();
        assert!(
            found.len() <= 1,
            "{} received {message_id} {} times",
            self.what,
            found.len()
        );
        found.into_iter().next()
    }

    /// The flaky peer's attempts so far.
    fn attempts(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("attempt log line"))
            .collect()
    }
}

impl Peer {
    /// Ends the peer's process (its dump stays readable).
    fn kill(&mut self) {
        // Errors mean it has already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs swaks against the submission port; returns the exit code and the transcript.
fn swaks(port: u16, args: &[&str]) -> (Option<i32>, String) {
    let mut c = Command::new(tool("swaks", "swaks"));
    c.arg("--server")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--timeout", "30"])
        .args(args);
    let out = run_with_timeout(c, b"", TOOL_TIMEOUT);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// swaks as alice (STARTTLS, AUTH PLAIN) with `args` added.
fn swaks_as_alice(port: u16, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec![
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        PASSWORD,
    ];
    all.extend_from_slice(args);
    swaks(port, &all)
}

/// Runs a script of `tests/queue` with `args`; it must exit 0. Returns its stdout as JSON.
fn script(name: &str, args: &[&str]) -> Value {
    let mut c = Command::new(tool("python3", "python3"));
    c.arg(format!("{SCRIPTS}/{name}")).args(args);
    let out: Output = run_with_timeout(c, b"", TOOL_TIMEOUT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout}"))
}

/// Submits `count` messages as alice with smtplib (`mode`: `starttls` on the submission
/// port, `implicit` on the submissions port); message i has Message-ID
/// `<TAG-i@example.org>`. Returns the script's report.
fn submit(out: &Outbound, mode: &str, to: &str, tag: &str, count: usize) -> Value {
    let port = match mode {
        "implicit" => out.install.submissions_port,
        _ => out.install.submission_port,
    };
    script(
        "submit.py",
        &[
            "--port",
            &port.to_string(),
            "--mode",
            mode,
            "--user",
            "alice@example.org",
            "--password",
            PASSWORD,
            "--from",
            "alice@example.org",
            "--to",
            to,
            "--tag",
            tag,
            "--count",
            &count.to_string(),
        ],
    )
}

/// Like [`submit`], and every message must be accepted.
fn submit_ok(out: &Outbound, mode: &str, to: &str, tag: &str, count: usize) {
    let report = submit(out, mode, to, tag, count);
    assert_eq!(
        report["accepted"].as_array().map(Vec::len),
        Some(count),
        "not every message was accepted: {report}"
    );
}

// ---------------------------------------------------------------------------------------
// 1. Submission → MX, DKIM-signed.
// ---------------------------------------------------------------------------------------

/// The TXT records `domain dkim list --json` says to publish, in unbound's presentation
/// form (long values split into 255-octet strings, RFC 7208 §3.3 style).
fn dkim_records(install: &Install, domain: &str) -> (Vec<String>, Vec<Value>) {
    let list = install.json(&["domain", "dkim", "list", domain]);
    let list = list
        .as_array()
        .cloned()
        .expect("dkim list --json is an array");
    let records = list
        .iter()
        .map(|r| {
            let name = r["name"].as_str().expect("record name");
            let value = r["value"].as_str().expect("record value");
            let chunks: Vec<String> = value
                .as_bytes()
                .chunks(255)
                .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
                .collect();
            format!("{}. TXT {}", name.trim_end_matches('.'), chunks.join(" "))
        })
        .collect();
    (records, list)
}

#[test]
fn submitted_mail_reaches_the_mx_signed_with_rsa_and_ed25519_dkim() {
    require_python_modules("dkim, nacl, dns.resolver");
    let out = Outbound::new(&[]);
    let sink = Peer::smtp_sink(SINK_IP, out.peer_port, &[]);
    let server = out.serve_with_users();

    // What the operator publishes, served by a second unbound for dkimpy.
    let (records, keys) = dkim_records(&out.install, "example.org");
    let algorithms: BTreeSet<String> = keys
        .iter()
        .filter(|k| k["key"]["active"].as_bool() == Some(true))
        .map(|k| {
            k["key"]["algorithm"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
        })
        .collect();
    assert_eq!(
        algorithms.len(),
        2,
        "example.org should have an active RSA and an active Ed25519 key: {keys:?}"
    );
    let record_refs: Vec<&str> = records.iter().map(String::as_str).collect();
    let key_dns =
        Unbound::start(&record_refs).unwrap_or_else(|e| panic!("unbound with DKIM keys: {e}"));

    let (code, text) = swaks_as_alice(
        out.submission_port(),
        &[
            "--from",
            "alice@example.org",
            "--to",
            "bob@sink.test",
            "--header",
            "Subject: swaks 0",
            "--header",
            "Message-Id: <swaks-0@example.org>",
        ],
    );
    assert_eq!(code, Some(0), "swaks submission failed:\n{text}");
    assert!(text.contains("AUTH PLAIN"), "{text}");
    submit_ok(&out, "starttls", "bob@sink.test", "starttls", 1);
    submit_ok(&out, "implicit", "bob@sink.test", "implicit", 1);

    let ids = [
        "<swaks-0@example.org>",
        "<starttls-0@example.org>",
        "<implicit-0@example.org>",
    ];
    let received = wait_for(Duration::from_secs(30), "3 messages at smtp-sink", || {
        let found: Vec<_> = ids.iter().filter_map(|id| sink.message(id)).collect();
        (found.len() == ids.len()).then_some(found)
    });
    let ns = key_dns.addr;
    for (file, bytes) in &received {
        let id = header(bytes, "Message-ID").unwrap_or_default();
        // smtp-sink's own trace fields show the envelope it was given.
        assert_eq!(
            header(bytes, "X-Mail-Args").as_deref(),
            Some("<alice@example.org>"),
            "{id}"
        );
        assert_eq!(
            header(bytes, "X-Rcpt-Args").as_deref(),
            Some("<bob@sink.test>"),
            "{id}"
        );
        let verdicts = script(
            "dkim_verify.py",
            &[
                &path_arg(file),
                &ns.ip().to_string(),
                &ns.port().to_string(),
            ],
        );
        let verdicts = verdicts.as_array().cloned().unwrap_or_default();
        assert_eq!(
            verdicts.len(),
            2,
            "{id}: two DKIM signatures expected: {verdicts:?}"
        );
        let by_alg: BTreeMap<String, &Value> = verdicts
            .iter()
            .map(|v| (v["a"].as_str().unwrap_or_default().to_string(), v))
            .collect();
        assert_eq!(
            by_alg.keys().cloned().collect::<Vec<_>>(),
            ["ed25519-sha256", "rsa-sha256"],
            "{id}: expected one RSA and one Ed25519 signature: {verdicts:?}\n{}",
            String::from_utf8_lossy(bytes)
        );
        for v in &verdicts {
            assert_eq!(v["d"], "example.org", "{id}: {v}");
            assert_eq!(
                v["valid"],
                true,
                "{id}: dkimpy rejects the {} signature: {v}\n{}",
                v["a"],
                String::from_utf8_lossy(bytes)
            );
        }
    }
    out.wait_queue_empty(Duration::from_secs(10));
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 2. Sender checks.
// ---------------------------------------------------------------------------------------

#[test]
fn submission_refuses_another_users_from_header_or_mail_from_with_553() {
    let out = Outbound::new(&[]);
    let sink = Peer::smtp_sink(SINK_IP, out.peer_port, &[]);
    let server = out.serve_with_users();

    // From: header of another user, own MAIL FROM: refused after the data.
    let (code, text) = swaks_as_alice(
        out.submission_port(),
        &[
            "--from",
            "alice@example.org",
            "--to",
            "bob@sink.test",
            "--header",
            "From: bob@example.org",
            "--header",
            "Message-Id: <forged-header@example.org>",
        ],
    );
    assert_ne!(code, Some(0), "a forged From: must fail:\n{text}");
    assert!(text.contains("553 5.7.1"), "expected 553 5.7.1:\n{text}");

    // MAIL FROM another user: refused at MAIL.
    let (code, text) = swaks_as_alice(
        out.submission_port(),
        &[
            "--from",
            "bob@example.org",
            "--to",
            "bob@sink.test",
            "--header",
            "Message-Id: <forged-envelope@example.org>",
        ],
    );
    assert_ne!(code, Some(0), "a forged MAIL FROM must fail:\n{text}");
    assert!(text.contains("MAIL FROM:<bob@example.org>"), "{text}");
    assert!(text.contains("553 5.7.1"), "expected 553 5.7.1:\n{text}");

    // A good message afterwards arrives, and is the only one.
    submit_ok(&out, "starttls", "bob@sink.test", "good", 1);
    wait_for(
        Duration::from_secs(30),
        "the good message at the sink",
        || sink.message("<good-0@example.org>"),
    );
    out.wait_queue_empty(Duration::from_secs(10));
    let all = sink.messages();
    assert_eq!(
        all.len(),
        1,
        "only the good message may reach the sink: {:?}",
        all.iter()
            .map(|(_, b)| header(b, "Message-ID"))
            .collect::<Vec<_>>()
    );
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 3. Retry after 451.
// ---------------------------------------------------------------------------------------

fn recipient_status(entry: &Value) -> String {
    entry["recipients"][0]["status"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
}

#[test]
fn temporary_failure_is_retried_until_delivered() {
    let out = Outbound::new(&[]);
    // Two 451s (1 s then 2 s back-off) leave a window of seconds to see it queued.
    let peer = Peer::flaky(RETRY_IP, out.peer_port, 2);
    let server = out.serve_with_users();
    submit_ok(&out, "starttls", "x@retry.test", "retry", 1);

    let pending = wait_for(
        Duration::from_secs(20),
        "the message pending after a 451",
        || {
            out.queue().into_iter().find(|m| {
                recipient_status(m) == "pending"
                    && m["recipients"][0]["attempts"].as_u64().unwrap_or(0) >= 1
            })
        },
    );
    assert_eq!(pending["mail_from"], "alice@example.org", "{pending}");
    assert_eq!(
        pending["recipients"][0]["address"], "x@retry.test",
        "{pending}"
    );
    let last_error = pending["recipients"][0]["last_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        last_error.contains("451"),
        "last error should be the 451: {pending}"
    );

    out.wait_queue_empty(Duration::from_secs(30));
    let attempts = peer.attempts();
    let codes: Vec<u64> = attempts.iter().filter_map(|a| a["code"].as_u64()).collect();
    assert_eq!(codes, [451, 451, 250], "peer log: {attempts:?}");
    assert_eq!(
        attempts[2]["message_id"], "<retry-0@example.org>",
        "{attempts:?}"
    );
    assert!(peer.message("<retry-0@example.org>").is_some());
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 4. Bounces.
// ---------------------------------------------------------------------------------------

/// The DSN (as described by dsn_fetch.py) that returns the message `message_id`.
fn dsn_for<'a>(dsns: &'a [Value], message_id: &str) -> &'a Value {
    dsns.iter()
        .find(|d| {
            d["parts"]
                .as_array()
                .is_some_and(|parts| parts.iter().any(|p| p["message_id"] == message_id))
        })
        .unwrap_or_else(|| panic!("no DSN returns {message_id}: {dsns:#?}"))
}

/// Checks a failure DSN: multipart/report; report-type=delivery-status, Action failed,
/// the status, Final-Recipient; returns the per-recipient fields.
fn assert_failure_dsn(dsn: &Value, recipient: &str, status: &str) -> BTreeMap<String, String> {
    assert_eq!(dsn["content_type"], "multipart/report", "{dsn:#}");
    assert_eq!(dsn["report_type"], "delivery-status", "{dsn:#}");
    let parts = dsn["parts"].as_array().expect("parts");
    assert_eq!(
        parts[0]["content_type"], "text/plain",
        "human-readable part first: {dsn:#}"
    );
    let status_part = parts
        .iter()
        .find(|p| p["content_type"] == "message/delivery-status")
        .unwrap_or_else(|| panic!("no message/delivery-status part: {dsn:#}"));
    let per_message = &status_part["per_message"];
    assert!(
        per_message["Reporting-MTA"]
            .as_str()
            .is_some_and(|v| v.contains("mail.example.org")),
        "{dsn:#}"
    );
    let rcpts = status_part["recipients"]
        .as_array()
        .expect("recipient blocks");
    assert_eq!(rcpts.len(), 1, "{dsn:#}");
    let fields: BTreeMap<String, String> = rcpts[0]
        .as_object()
        .expect("fields")
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        fields.get("action").map(|s| s.trim()),
        Some("failed"),
        "{fields:?}"
    );
    assert_eq!(
        fields.get("status").map(|s| s.trim()),
        Some(status),
        "{fields:?}"
    );
    let final_rcpt = fields.get("final-recipient").cloned().unwrap_or_default();
    assert!(
        final_rcpt.to_ascii_lowercase().starts_with("rfc822;") && final_rcpt.contains(recipient),
        "Final-Recipient: {final_rcpt:?}"
    );
    fields
}

#[test]
fn permanent_failures_bounce_a_delivery_status_report_to_the_senders_inbox() {
    let out = Outbound::new(&[]);
    let reject = Peer::smtp_sink(
        REJECT_IP,
        out.peer_port,
        // Greets as mx.reject.test, as a real MX names itself.
        &[
            "-h",
            "mx.reject.test",
            "-f",
            "RCPT",
            "-B",
            "550 5.1.1 no such user here",
        ],
    );
    let server = out.serve_with_users();
    submit_ok(&out, "starttls", "nobody@reject.test", "bounce", 1);
    submit_ok(&out, "starttls", "someone@nullmx.test", "nullmx", 1);

    wait_for(Duration::from_secs(30), "two DSNs in alice's INBOX", || {
        (out.install.inbox("alice@example.org").len() >= 2).then_some(())
    });
    let dsns = script(
        "dsn_fetch.py",
        &[
            "127.0.0.1",
            &out.install.imap_port.to_string(),
            "alice@example.org",
            PASSWORD,
        ],
    );
    let dsns = dsns.as_array().cloned().expect("a list");
    assert_eq!(dsns.len(), 2, "exactly two DSNs expected: {dsns:#?}");
    for d in &dsns {
        assert!(
            d["from"]
                .as_str()
                .is_some_and(|f| f.to_ascii_lowercase().contains("mailer-daemon@")),
            "DSN From: {d:#}"
        );
        assert_eq!(d["auto_submitted"], "auto-replied", "RFC 3834 §5: {d:#}");
    }

    // 550 at RCPT from the MX.
    let dsn = dsn_for(&dsns, "<bounce-0@example.org>");
    let fields = assert_failure_dsn(dsn, "nobody@reject.test", "5.1.1");
    assert_eq!(
        fields.get("remote-mta").map(String::as_str),
        Some("dns; mx.reject.test"),
        "{fields:?}"
    );
    assert!(
        fields
            .get("diagnostic-code")
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("smtp;") && v.contains("550")),
        "{fields:?}"
    );

    // Null MX: failed at once, no server to name.
    let dsn = dsn_for(&dsns, "<nullmx-0@example.org>");
    let fields = assert_failure_dsn(dsn, "someone@nullmx.test", "5.1.10");
    assert!(!fields.contains_key("remote-mta"), "{fields:?}");

    assert!(
        reject.messages().is_empty(),
        "the rejecting MX stored something"
    );
    out.wait_queue_empty(Duration::from_secs(10));
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 5. The queue commands.
// ---------------------------------------------------------------------------------------

#[test]
fn queue_commands_list_show_retry_and_delete_without_a_dsn() {
    // A long back-off: only `queue retry` brings a second attempt within the test.
    let out = Outbound::new(&[
        ("MAILSTEAD_QUEUE_RETRY_INITIAL_SECS", "600"),
        ("MAILSTEAD_QUEUE_RETRY_MAX_SECS", "600"),
    ]);
    let peer = Peer::flaky(RETRY_IP, out.peer_port, -1);
    let server = out.serve_with_users();
    submit_ok(&out, "starttls", "y@retry.test", "held", 2);

    let queued = wait_for(
        Duration::from_secs(20),
        "two messages held after one attempt each",
        || {
            let q = out.queue();
            (q.len() == 2
                && q.iter().all(|m| {
                    recipient_status(m) == "pending"
                        && m["recipients"][0]["attempts"].as_u64() == Some(1)
                }))
            .then_some(q)
        },
    );
    let ids: Vec<u64> = queued
        .iter()
        .map(|m| m["id"].as_u64().expect("numeric id"))
        .collect();
    let (a, b) = (ids[0].to_string(), ids[1].to_string());

    let list = out.install.ok(&["queue", "list"], "");
    for id in &ids {
        assert!(
            list.lines().any(|l| l.starts_with(&format!("{id} "))
                && l.contains("alice@example.org")
                && l.contains("1/1")
                && l.contains("451")),
            "queue list has no line for {id}:\n{list}"
        );
    }

    let show = out.install.ok(&["queue", "show", &a], "");
    assert!(show.contains(&format!("id:        {a}")), "{show}");
    assert!(show.contains("from:      alice@example.org"), "{show}");
    assert!(
        show.lines().any(|l| l
            .trim_start()
            .starts_with("y@retry.test pending attempts=1")
            && l.contains("451")),
        "{show}"
    );
    let shown = out.install.json(&["queue", "show", &a]);
    assert_eq!(shown["id"].as_u64(), Some(ids[0]), "{shown}");
    assert_eq!(shown["recipients"][0]["address"], "y@retry.test", "{shown}");

    // retry: due now, and the peer sees a second attempt at once.
    let before = peer.attempts().len();
    let retry = out.install.ok(&["queue", "retry", &a], "");
    assert_eq!(retry.trim(), "1 recipient(s) due now");
    wait_for(
        Duration::from_secs(15),
        "a second attempt after queue retry",
        || {
            let m = out.install.json(&["queue", "show", &a]);
            (m["recipients"][0]["attempts"].as_u64() == Some(2)).then_some(())
        },
    );
    assert!(peer.attempts().len() > before, "{:?}", peer.attempts());
    let retry = out.install.json(&["queue", "retry", &b]);
    assert_eq!(retry, serde_json::json!({ "recipients_due_now": 1 }));

    // delete: gone, no notification.
    let deleted = out.install.ok(&["queue", "delete", &a], "");
    assert_eq!(deleted.trim(), format!("deleted queued message {a}"));
    let deleted = out.install.json(&["queue", "delete", &b]);
    assert_eq!(deleted, serde_json::json!({ "deleted": ids[1] }));
    assert_eq!(
        out.install.ok(&["queue", "list"], "").trim(),
        "queue is empty"
    );
    assert!(out.queue().is_empty());
    let err = out.install.refused(&["queue", "show", &a], "");
    assert!(err.contains(&format!("no queued message {a}")), "{err}");
    let err = out.install.refused(&["queue", "delete", &b], "");
    assert!(err.contains(&format!("no queued message {b}")), "{err}");

    // Several DSN passes (one a second) later, still no bounce for the deleted mail.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        out.install.inbox("alice@example.org").is_empty(),
        "a deleted message caused a notification"
    );
    assert!(out.queue().is_empty(), "{:?}", out.queue());
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 6. kill -9.
// ---------------------------------------------------------------------------------------

/// Message-IDs of the complete `crash-*` messages a peer received.
fn complete_crash_ids(peer: &Peer) -> BTreeSet<String> {
    peer.messages()
        .into_iter()
        .filter(|(_, b)| String::from_utf8_lossy(b).contains("A second line."))
        .filter_map(|(_, b)| header(&b, "Message-ID"))
        .filter(|id| id.starts_with("<crash-"))
        .collect()
}

#[test]
fn kill_9_before_and_during_delivery_loses_no_accepted_message() {
    const COUNT: usize = 50;
    let out = Outbound::new(&[
        // Crashed deliveries are taken up again 10 s later (the shortest lease).
        ("MAILSTEAD_QUEUE_LEASE_SECS", "10"),
        ("MAILSTEAD_QUEUE_MAX_PER_DOMAIN", "4"),
    ]);

    // The MX is down: every message is accepted and stays queued.
    let server = out.serve_with_users();
    submit_ok(&out, "starttls", "bob@sink.test", "crash", COUNT);
    wait_for(Duration::from_secs(20), "50 messages tried once", || {
        let q = out.queue();
        (q.len() == COUNT
            && q.iter()
                .all(|m| m["recipients"][0]["attempts"].as_u64().unwrap_or(0) >= 1))
        .then_some(())
    });
    let status = server.stop(9);
    assert!(
        !status.success(),
        "kill -9 should end the server abnormally"
    );
    assert_eq!(out.queue().len(), COUNT, "queue after kill -9");

    // A slow MX (1 s before answering each final dot): kill -9 while delivering.
    let mut slow = Peer::smtp_sink(SINK_IP, out.peer_port, &["-W", ".:1"]);
    let server = out.install.serve();
    wait_for(
        Duration::from_secs(30),
        "some deliveries to the slow MX",
        || (complete_crash_ids(&slow).len() >= 6).then_some(()),
    );
    server.stop(9);
    let first = complete_crash_ids(&slow);
    assert!(
        first.len() < COUNT,
        "everything was delivered before the kill; the test no longer crashes mid-delivery"
    );
    // Its dump stays: it is counted again below.
    slow.kill();

    // A fast MX, the server again: every accepted message arrives at least once.
    let fast = Peer::smtp_sink(SINK_IP, out.peer_port, &[]);
    let server = out.install.serve();
    let all: BTreeSet<String> = (0..COUNT)
        .map(|i| format!("<crash-{i}@example.org>"))
        .collect();
    wait_for(
        Duration::from_secs(45),
        "every accepted message at the MX",
        || {
            let mut got = complete_crash_ids(&slow);
            got.extend(complete_crash_ids(&fast));
            got.is_superset(&all).then_some(())
        },
    );
    out.wait_queue_empty(Duration::from_secs(20));
    let redelivered = complete_crash_ids(&fast).intersection(&first).count();
    eprintln!(
        "kill -9 test: {} delivered before the crash, {} of them again after (at least once)",
        first.len(),
        redelivered
    );
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 7. Postfix as the remote MX.
// ---------------------------------------------------------------------------------------

/// A private Postfix instance (`tests/queue/postfix_mx.sh`) on `ip:port`, the MX of
/// `domain`, delivering into one Maildir; stopped when dropped.
struct PostfixMx {
    work: PathBuf,
    // Removed after `drop` stopped Postfix.
    _dir: tempfile::TempDir,
}

impl PostfixMx {
    fn start(ip: Ipv4Addr, port: u16, domain: &str) -> PostfixMx {
        tool("postfix", "postfix");
        assert!(
            is_root(),
            "the Postfix MX test needs root (Postfix's master starts as root); \
             run the tests as root, as scripts/test.sh in CI does"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        // Postfix's daemons run as `postfix` and must reach the queue under this dir.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let mx = PostfixMx {
            work: dir.path().join("mx"),
            _dir: dir,
        };
        let out = mx.script(&["start", &ip.to_string(), &port.to_string(), domain]);
        assert!(
            out.status.success(),
            "postfix_mx.sh start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        mx
    }

    fn script(&self, args: &[&str]) -> Output {
        let mut c = Command::new("bash");
        c.arg(format!("{SCRIPTS}/postfix_mx.sh"))
            .arg(args[0])
            .arg(&self.work)
            .args(&args[1..]);
        run_with_timeout(c, b"", TOOL_TIMEOUT)
    }

    /// Messages delivered to the Maildir.
    fn delivered(&self) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.work.join("mail/inbox/new")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .collect()
    }

    fn maillog(&self) -> String {
        std::fs::read_to_string(self.work.join("maillog")).unwrap_or_default()
    }
}

impl Drop for PostfixMx {
    fn drop(&mut self) {
        let _ = self.script(&["stop"]);
    }
}

#[test]
fn postfix_as_the_remote_mx_receives_over_starttls() {
    let out = Outbound::new(&[]);
    let mx = PostfixMx::start(POSTFIX_IP, out.peer_port, "postfix.test");
    let server = out.serve_with_users();
    submit_ok(&out, "starttls", "carol@postfix.test", "postfix", 1);
    let message = wait_for(
        Duration::from_secs(30),
        "the message in Postfix's Maildir",
        || {
            mx.delivered()
                .into_iter()
                .find(|m| header(m, "Message-ID").as_deref() == Some("<postfix-0@example.org>"))
        },
    );
    let text = String::from_utf8_lossy(&message);
    // Postfix's Received: from us, over TLS (opportunistic STARTTLS, RFC 7435).
    assert!(
        text.contains("by postfix-test-mx.localdomain (Postfix) with ESMTPS id"),
        "Postfix did not receive over STARTTLS:\n{text}\n{}",
        mx.maillog()
    );
    assert!(
        text.contains("Received: from mail.example.org ("),
        "EHLO name: {text}"
    );
    assert!(text.contains("DKIM-Signature:"), "{text}");
    assert!(
        mx.maillog()
            .contains("to=<carol@postfix.test>, relay=virtual"),
        "{}",
        mx.maillog()
    );
    out.wait_queue_empty(Duration::from_secs(10));
    server.stop_gracefully();
}
