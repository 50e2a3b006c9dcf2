//! End-to-end tests of the inbound path of the built `mailstead` binary (issue #6): the MX
//! judges mail from real senders — SPF (RFC 7208), DKIM (RFC 6376, RSA and Ed25519 of
//! RFC 8463), DMARC (RFC 7489), iprev (RFC 8601 §3) — writes `Authentication-Results`
//! (RFC 8601), scores spam, files it in Junk and learns from IMAP moves.
//!
//! The senders' DNS is a real unbound on loopback (`mailstead_dns::testing`), the server's
//! only resolver (`[dns] nameservers`). DKIM keys are made per test by
//! `tests/inbound/inbound.py` (openssl for RSA, PyNaCl for Ed25519) and published there:
//!
//! | domain         | SPF                    | DKIM selectors   | DMARC        |
//! |----------------|------------------------|------------------|--------------|
//! | sender-one.com | `ip4:127.0.0.1 -all`   | `rsa`, `ed`      | p=reject     |
//! | forwarder.org  | `ip4:127.0.0.12 -all`  | none             | none         |
//! | newsletter.net | `ip4:192.0.2.3 ~all`   | `rsa`            | p=none       |
//! | bigbank.com    | `ip4:192.0.2.1 -all`   | none             | p=reject     |
//! | shop.com       | `ip4:192.0.2.2 -all`   | none             | p=quarantine |
//!
//! Senders connect from their own loopback addresses: 127.0.0.1 is `mx.sender-one.com`,
//! 127.0.0.12 `relay.forwarder.org`, 127.0.0.11 a forger no record names. iprev passes for
//! 127.0.0.1 only, whatever the zone says: hickory-resolver answers every PTR query under
//! `127.in-addr.arpa.` itself with `localhost.` (RFC 6761 §6.3) without asking the
//! configured server, and `localhost.` resolves to 127.0.0.1.
//!
//! Messages are signed with dkimpy and sent with Python's smtplib, swaks, and a real
//! Postfix relaying to our MX (`tests/inbound/postfix_relay.sh`, injected with its
//! `sendmail`); they are read back over IMAP with imaplib, and dkimpy checks that the
//! stored copies still verify: the fields we add must not break a signature. Scenarios:
//!
//! - aligned RSA DKIM + SPF pass → INBOX, `spf`/`dkim`/`dmarc`/`iprev` pass (both backends);
//! - a forged From of a `p=reject` domain → `550 5.7.1` at end of DATA, nothing stored
//!   (swaks; both backends);
//! - a forged From of a `p=quarantine` domain → Junk, `dmarc=fail` (swaks; both backends);
//! - moving a message into Junk over IMAP (`UID MOVE`) trains the global classifier
//!   (both backends);
//! - an Ed25519-only signature carrying DMARC through a forwarder; a message signed with
//!   both keys relayed by Postfix; a body changed after signing (`dkim=fail`, `p=none`
//!   delivers); `Authentication-Results` claiming our host name removed, another host's
//!   kept; a phish (forged local sender, `invoice.pdf.exe`, a link whose text names
//!   another site) → Junk with `X-Spam-Status: Yes` (SQLite).
//!
//! The scenarios run against one server per backend and every check is collected, so one
//! run reports every broken scenario at once ([`Checks`]).
//!
//! External tools (a missing one fails the test, it never skips): unbound, swaks, openssl,
//! python3 with dkimpy, PyNaCl and dnspython, Postfix (needs root, as Postfix's master
//! does). `scripts/test.sh` installs them.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use mailstead_dns::testing::Unbound;
use mailstead_store::model::BayesModel;
use serde_json::Value;
use support::{Install, PgDb, Server, run_with_timeout};

const PASSWORD: &str = "correct horse battery staple";
/// The Python client and the Postfix relay of these tests.
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/inbound");
/// Longest any single external client run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// Our host name (`Install::new`): the authserv-id of our `Authentication-Results`.
const HOSTNAME: &str = "mail.example.org";
/// The recipient of every message.
const RCPT: &str = "alice@example.org";

/// The sending host of sender-one.com (its SPF and A records name it; its PTR name is
/// `localhost`, see the module documentation).
const SENDER_IP: &str = "127.0.0.1";
const SENDER_HOST: &str = "mx.sender-one.com";
/// A host no record names: forgeries come from here.
const FORGER_IP: &str = "127.0.0.11";
const FORGER_HOST: &str = "mx.forger.net";
/// A forwarder with its own SPF, relaying mail of other domains.
const FORWARDER_IP: &str = "127.0.0.12";
const FORWARDER_HOST: &str = "relay.forwarder.org";

// ---------------------------------------------------------------------------------------
// Helpers: tools, DNS, the world of one test.
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

/// Runs `tests/inbound/inbound.py` with `args`; it must exit 0. Returns stdout as JSON.
fn inbound_py(args: &[&str]) -> Value {
    let mut c = Command::new(tool("python3", "python3"));
    c.arg(format!("{SCRIPTS}/inbound.py")).args(args);
    let out = run_with_timeout(c, b"", TOOL_TIMEOUT);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "inbound.py {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if stdout.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("inbound.py: not JSON ({e}): {stdout}"))
}

/// A TXT record in unbound's presentation form, the value split into 255-octet strings
/// (RFC 7208 §3.3 style; DKIM RSA keys are longer than one string).
fn txt(name: &str, value: &str) -> String {
    let chunks: Vec<String> = value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!("{name}. TXT {}", chunks.join(" "))
}

/// The records of the table in the module documentation; `keys` is what
/// `inbound.py keys` printed.
fn zone(keys: &Value) -> Vec<String> {
    let key = |domain: &str, alg: &str| {
        keys[domain][alg]
            .as_str()
            .unwrap_or_else(|| panic!("no {alg} key for {domain}: {keys}"))
            .to_string()
    };
    let z = vec![
        // sender-one.com: everything aligned.
        txt("sender-one.com", "v=spf1 ip4:127.0.0.1 -all"),
        txt("_dmarc.sender-one.com", "v=DMARC1; p=reject"),
        txt(
            "rsa._domainkey.sender-one.com",
            &key("sender-one.com", "rsa"),
        ),
        txt(
            "ed._domainkey.sender-one.com",
            &key("sender-one.com", "ed25519"),
        ),
        "mx.sender-one.com. A 127.0.0.1".into(),
        txt("mx.sender-one.com", "v=spf1 a -all"),
        // forwarder.org: its own SPF, no DMARC.
        txt("forwarder.org", "v=spf1 ip4:127.0.0.12 -all"),
        "relay.forwarder.org. A 127.0.0.12".into(),
        // newsletter.net: signs, but its SPF does not cover our senders; p=none.
        txt("newsletter.net", "v=spf1 ip4:192.0.2.3 ~all"),
        txt("_dmarc.newsletter.net", "v=DMARC1; p=none"),
        txt(
            "rsa._domainkey.newsletter.net",
            &key("newsletter.net", "rsa"),
        ),
        // bigbank.com and shop.com: forged From targets.
        txt("bigbank.com", "v=spf1 ip4:192.0.2.1 -all"),
        txt("_dmarc.bigbank.com", "v=DMARC1; p=reject"),
        txt("shop.com", "v=spf1 ip4:192.0.2.2 -all"),
        txt("_dmarc.shop.com", "v=DMARC1; p=quarantine"),
    ];
    // Nothing for forger.net or 127.0.0.11: NXDOMAIN (the server is authoritative for
    // everything, see `mailstead_dns::testing`).
    z
}

/// The header section of a message, each field unfolded (RFC 5322 §2.2.3), in order.
fn header_fields(raw: &str) -> Vec<(String, String)> {
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .replace("\r\n\t", " ")
        .replace("\r\n ", " ");
    head.split("\r\n")
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// The unfolded values of every field `name`.
fn fields(raw: &str, name: &str) -> Vec<String> {
    header_fields(raw)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

/// Every check of a run, collected: a scenario that fails does not hide the next one.
#[derive(Default)]
struct Checks {
    failures: Vec<String>,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(what());
        }
    }

    /// Fails the test with every failed check, and the server's log.
    fn finish(self, server: &Server) {
        assert!(
            self.failures.is_empty(),
            "{} check(s) failed:\n\n{}\n\nserver log (warn):\n{}",
            self.failures.len(),
            self.failures.join("\n\n"),
            server.stderr()
        );
    }
}

/// One test's world: the senders' unbound, their keys, the install pointed at it.
struct Inbound {
    install: Install,
    dns: Unbound,
    /// Keys and message files.
    work: tempfile::TempDir,
}

impl Inbound {
    /// Keys for the signing domains, unbound serving [`zone`], and `install` resolving
    /// through it only. Spam reaching the reject score is filed, not refused
    /// (`[filter] reject_enabled = false`): the spammy message must land in Junk whatever
    /// the default weights add up to; DMARC `p=reject` is still refused.
    fn new(mut install: Install) -> Inbound {
        tool("unbound", "unbound");
        tool("openssl", "openssl");
        require_python_modules("dkim, nacl, dns.resolver");
        let work = tempfile::tempdir().expect("temp dir");
        let keys = inbound_py(&[
            "keys",
            &work.path().display().to_string(),
            "sender-one.com",
            "newsletter.net",
        ]);
        let records = zone(&keys);
        let refs: Vec<&str> = records.iter().map(String::as_str).collect();
        let dns = Unbound::start(&refs).unwrap_or_else(|e| panic!("cannot start unbound: {e}"));
        install.set_env("MAILSTEAD_DNS_NAMESERVERS", &format!("[\"{}\"]", dns.addr));
        install.set_env("MAILSTEAD_FILTER_REJECT_ENABLED", "false");
        Inbound { install, dns, work }
    }

    /// Starts the server and adds alice.
    fn serve(&self) -> Server {
        let server = self.install.serve();
        self.install.add_user(RCPT);
        server
    }

    fn path(&self, name: &str) -> String {
        self.work.path().join(name).display().to_string()
    }

    /// `--sign` argument of `inbound.py message`.
    fn signer(&self, domain: &str, selector: &str) -> String {
        let (file, alg) = match selector {
            "ed" => (format!("{domain}.ed25519"), "ed25519-sha256"),
            _ => (format!("{domain}.rsa.pem"), "rsa-sha256"),
        };
        format!("{domain}:{selector}:{}:{alg}", self.path(&file))
    }

    /// Writes a message (`inbound.py message` with `args`) to a file named after `id`;
    /// returns its path.
    fn message(&self, id: &str, from: &str, subject: &str, args: &[&str]) -> String {
        let out = self.path(&format!("{id}.eml"));
        let message_id = format!("<{id}@e2e.test>");
        let mut all = vec![
            "message",
            "--out",
            &out,
            "--from",
            from,
            "--to",
            RCPT,
            "--subject",
            subject,
            "--message-id",
            &message_id,
        ];
        all.extend_from_slice(args);
        inbound_py(&all);
        out
    }

    /// Sends `file` with smtplib from `source`; the final reply as `{code, text}`.
    fn smtplib(&self, source: &str, helo: &str, mail_from: &str, file: &str) -> Value {
        inbound_py(&[
            "send",
            "--port",
            &self.install.smtp_port.to_string(),
            "--source",
            source,
            "--helo",
            helo,
            "--mail-from",
            mail_from,
            "--rcpt",
            RCPT,
            file,
        ])
    }

    /// Sends `file` with swaks from `source`; exit code and transcript.
    fn swaks(
        &self,
        source: &str,
        helo: &str,
        mail_from: &str,
        file: &str,
    ) -> (Option<i32>, String) {
        let mut c = Command::new(tool("swaks", "swaks"));
        c.arg("--server")
            .arg(format!("127.0.0.1:{}", self.install.smtp_port))
            .args(["--local-interface", source, "--helo", helo])
            .args(["--from", mail_from, "--to", RCPT])
            .args(["--timeout", "30"])
            .arg("--data")
            .arg(format!("@{file}"));
        let out = run_with_timeout(c, b"", TOOL_TIMEOUT);
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code(), text)
    }

    /// alice's INBOX and Junk over IMAP, each message with dkimpy's verdicts.
    fn fetch(&self) -> Vec<Value> {
        let ns = self.dns.addr.to_string();
        match inbound_py(&[
            "fetch",
            "--port",
            &self.install.imap_port.to_string(),
            "--user",
            RCPT,
            "--password",
            PASSWORD,
            "--ns",
            &ns,
        ]) {
            Value::Array(a) => a,
            other => panic!("fetch: not a list: {other}"),
        }
    }

    /// `UID MOVE` of the INBOX message `<id@e2e.test>` to `mailbox` over IMAP.
    fn move_to(&self, id: &str, mailbox: &str) {
        inbound_py(&[
            "move",
            "--port",
            &self.install.imap_port.to_string(),
            "--user",
            RCPT,
            "--password",
            PASSWORD,
            "--message-id",
            &format!("<{id}@e2e.test>"),
            "--to",
            mailbox,
        ]);
    }

    /// How many messages the global classifier has learned: (spam, ham), read from the
    /// store the server writes.
    fn global_totals(&self) -> (u64, u64) {
        let (meta, _) = self.install.store_backends();
        support::block_on(async move {
            let store = mailstead_store::open_meta(&meta)
                .await
                .expect("open the metadata store");
            let (_, totals) = store
                .bayes_counts(BayesModel::Global, &[])
                .await
                .expect("bayes totals");
            (totals.spam, totals.ham)
        })
    }
}

/// The fetched message `<id@e2e.test>`, if stored.
fn find<'a>(fetched: &'a [Value], id: &str) -> Option<&'a Value> {
    let want = format!("<{id}@e2e.test>");
    fetched.iter().find(|m| m["message_id"] == want.as_str())
}

/// What is checked about every stored copy, whatever the scenario: exactly one
/// `Authentication-Results` of ours, above our `Received`, and the `X-Spam-*` fields.
/// Returns our A-R value.
fn our_results(c: &mut Checks, id: &str, m: &Value) -> String {
    let raw = m["raw"].as_str().unwrap_or_default();
    let ours: Vec<String> = fields(raw, "Authentication-Results")
        .into_iter()
        .filter(|v| {
            v.split(';')
                .next()
                .is_some_and(|a| a.trim().eq_ignore_ascii_case(HOSTNAME))
        })
        .collect();
    c.check(ours.len() == 1, || {
        format!("{id}: exactly one Authentication-Results of ours expected:\n{raw}")
    });
    let names: Vec<String> = header_fields(raw)
        .into_iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let ar_at = names.iter().position(|n| n == "authentication-results");
    let received_at = names.iter().position(|n| n == "received");
    c.check(
        matches!((ar_at, received_at), (Some(a), Some(r)) if a < r),
        || format!("{id}: our Authentication-Results belongs above our Received:\n{raw}"),
    );
    for f in ["X-Spam-Score", "X-Spam-Status"] {
        c.check(fields(raw, f).len() == 1, || {
            format!("{id}: one {f} expected:\n{raw}")
        });
    }
    ours.into_iter().next().unwrap_or_default()
}

/// A-R contains every `want` (e.g. `dkim=pass`).
fn check_results(c: &mut Checks, id: &str, ar: &str, want: &[&str]) {
    for w in want {
        c.check(ar.contains(w), || {
            format!("{id}: `{w}` missing in Authentication-Results: {ar}")
        });
    }
}

/// `smtp.mailfrom` names the MAIL FROM address or its domain (RFC 8601 §2.7.2 allows
/// either).
fn check_mailfrom(c: &mut Checks, id: &str, ar: &str, address: &str) {
    let domain = address.rsplit('@').next().unwrap_or_default();
    c.check(
        ar.contains(&format!("smtp.mailfrom={address}"))
            || ar.contains(&format!("smtp.mailfrom={domain};")),
        || format!("{id}: smtp.mailfrom={address} (or {domain}) expected: {ar}"),
    );
}

/// dkimpy verifies every DKIM signature of the stored copy (`algs`: their `a=`, in order).
fn check_still_verifies(c: &mut Checks, id: &str, m: &Value, algs: &[&str]) {
    let verdicts = m["dkim"].as_array().cloned().unwrap_or_default();
    let got: Vec<&str> = verdicts.iter().filter_map(|v| v["a"].as_str()).collect();
    c.check(got == algs, || {
        format!("{id}: signatures {algs:?} expected in the stored copy, got {verdicts:?}")
    });
    for v in &verdicts {
        c.check(v["valid"] == true, || {
            format!(
                "{id}: the stored copy no longer verifies with dkimpy ({v}); our added fields \
                 broke the signature:\n{}",
                m["raw"].as_str().unwrap_or_default()
            )
        });
    }
}

/// The message must be in `mailbox` (and only there); returns it.
fn check_filed<'a>(
    c: &mut Checks,
    fetched: &'a [Value],
    id: &str,
    mailbox: &str,
) -> Option<&'a Value> {
    let m = find(fetched, id);
    let count = fetched
        .iter()
        .filter(|m| m["message_id"] == format!("<{id}@e2e.test>").as_str())
        .count();
    c.check(count <= 1, || format!("{id}: stored {count} times"));
    match m {
        None => c.check(false, || {
            format!("{id}: not stored (expected in {mailbox})")
        }),
        Some(m) => c.check(m["mailbox"] == mailbox, || {
            format!(
                "{id}: expected in {mailbox}, found in {}:\n{}",
                m["mailbox"],
                m["raw"].as_str().unwrap_or_default()
            )
        }),
    }
    m
}

/// The SMTP reply (from `inbound.py send`) must be 250.
fn check_accepted(c: &mut Checks, id: &str, reply: &Value) {
    c.check(reply["code"] == 250, || {
        format!("{id}: expected 250, got {reply}")
    });
}

// ---------------------------------------------------------------------------------------
// The Postfix relay.
// ---------------------------------------------------------------------------------------

/// A private Postfix instance (`tests/inbound/postfix_relay.sh`) relaying everything to our
/// MX from 127.0.0.1 as mx.sender-one.com; stopped when dropped.
struct PostfixRelay {
    work: PathBuf,
    // Removed after `drop` stopped Postfix.
    _dir: tempfile::TempDir,
}

impl PostfixRelay {
    fn start(mx_port: u16) -> PostfixRelay {
        tool("postfix", "postfix");
        assert!(
            is_root(),
            "the Postfix relay needs root (Postfix's master starts as root); \
             run the tests as root, as scripts/test.sh in CI does"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        // Postfix's daemons run as `postfix` and must reach the queue under this dir.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let relay = PostfixRelay {
            work: dir.path().join("relay"),
            _dir: dir,
        };
        let smtpd_port = support::free_port().to_string();
        relay.script(&[
            "start",
            &smtpd_port,
            &mx_port.to_string(),
            SENDER_IP,
            SENDER_HOST,
        ]);
        relay
    }

    fn script(&self, args: &[&str]) {
        let mut c = Command::new("bash");
        c.arg(format!("{SCRIPTS}/postfix_relay.sh"))
            .arg(args[0])
            .arg(&self.work)
            .args(&args[1..]);
        let out = run_with_timeout(c, b"", TOOL_TIMEOUT);
        assert!(
            out.status.success(),
            "postfix_relay.sh {args:?} failed: {}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
            self.maillog()
        );
    }

    /// Injects `file` with the instance's sendmail.
    fn send(&self, mail_from: &str, file: &str) {
        self.script(&["send", mail_from, RCPT, file]);
    }

    fn maillog(&self) -> String {
        std::fs::read_to_string(self.work.join("maillog")).unwrap_or_default()
    }
}

impl Drop for PostfixRelay {
    fn drop(&mut self) {
        let mut c = Command::new("bash");
        c.arg(format!("{SCRIPTS}/postfix_relay.sh"))
            .arg("stop")
            .arg(&self.work);
        let _ = run_with_timeout(c, b"", TOOL_TIMEOUT);
    }
}

// ---------------------------------------------------------------------------------------
// The scenarios.
// ---------------------------------------------------------------------------------------

/// Ids of the messages of [`send_core`], checked by [`check_core`].
const ALIGNED_RSA: &str = "aligned-rsa";
const FORGED_REJECT: &str = "forged-bigbank";
const FORGED_QUARANTINE: &str = "forged-shop";

/// The scenarios run on every backend: an aligned RSA-signed message from the domain's
/// own MTA, a forged From under `p=reject` (refused with swaks), and one under
/// `p=quarantine` (delivered into Junk, with swaks).
fn send_core(w: &Inbound, c: &mut Checks) {
    // a. Aligned DKIM (RSA) and SPF pass from the domain's own MTA.
    let file = w.message(
        ALIGNED_RSA,
        "Alice Sender <alice@sender-one.com>",
        "Minutes of Tuesday's meeting",
        &[
            "--body",
            "Hi Alice,\n\nthe minutes are below. Next meeting on Thursday.\n\nRegards,\nAlice",
            "--sign",
            &w.signer("sender-one.com", "rsa"),
        ],
    );
    let reply = w.smtplib(SENDER_IP, SENDER_HOST, "alice@sender-one.com", &file);
    check_accepted(c, ALIGNED_RSA, &reply);

    // c. From: a p=reject domain, from a host its SPF does not allow, unsigned.
    let file = w.message(
        FORGED_REJECT,
        "Big Bank Security <security@bigbank.com>",
        "Please verify your account",
        &["--body", "Dear customer, please confirm your details."],
    );
    let (code, text) = w.swaks(FORGER_IP, FORGER_HOST, "security@bigbank.com", &file);
    c.check(code == Some(26), || {
        format!("{FORGED_REJECT}: swaks should fail after DATA (exit 26), got {code:?}:\n{text}")
    });
    c.check(
        text.lines()
            .any(|l| l.contains("<** 550 5.7.1") || l.contains("<** 550-5.7.1")),
        || format!("{FORGED_REJECT}: `550 5.7.1` expected at end of DATA:\n{text}"),
    );

    // d. From: a p=quarantine domain, from a host its SPF does not allow, unsigned.
    let file = w.message(
        FORGED_QUARANTINE,
        "Shop <news@shop.com>",
        "Your order has shipped",
        &["--body", "Your parcel is on its way."],
    );
    let (code, text) = w.swaks(FORGER_IP, FORGER_HOST, "news@shop.com", &file);
    c.check(code == Some(0), || {
        format!("{FORGED_QUARANTINE}: swaks should deliver, got {code:?}:\n{text}")
    });
}

fn check_core(c: &mut Checks, fetched: &[Value]) {
    if let Some(m) = check_filed(c, fetched, ALIGNED_RSA, "INBOX") {
        let ar = our_results(c, ALIGNED_RSA, m);
        check_results(
            c,
            ALIGNED_RSA,
            &ar,
            &[
                "spf=pass smtp.mailfrom=",
                "dkim=pass",
                "header.d=sender-one.com",
                "dmarc=pass",
                "header.from=sender-one.com",
                "arc=none",
                "iprev=pass",
            ],
        );
        check_mailfrom(c, ALIGNED_RSA, &ar, "alice@sender-one.com");
        check_still_verifies(c, ALIGNED_RSA, m, &["rsa-sha256"]);
        let raw = m["raw"].as_str().unwrap_or_default();
        let status = fields(raw, "X-Spam-Status").join(" ");
        c.check(status.starts_with("No"), || {
            format!("{ALIGNED_RSA}: X-Spam-Status No expected: {status}")
        });
    }
    c.check(find(fetched, FORGED_REJECT).is_none(), || {
        format!(
            "{FORGED_REJECT}: refused, yet stored: {:?}",
            find(fetched, FORGED_REJECT)
        )
    });
    if let Some(m) = check_filed(c, fetched, FORGED_QUARANTINE, "Junk") {
        let ar = our_results(c, FORGED_QUARANTINE, m);
        check_results(
            c,
            FORGED_QUARANTINE,
            &ar,
            &["spf=fail", "dmarc=fail", "header.from=shop.com"],
        );
        c.check(!ar.contains("iprev=pass"), || {
            format!("{FORGED_QUARANTINE}: iprev passed for 127.0.0.11: {ar}")
        });
    }
}

/// The further scenarios of the SQLite run: Ed25519 via a forwarder, a real Postfix
/// relay, a tampered body, forged results of ours, a spammy message.
const ED25519: &str = "ed25519-forwarded";
const POSTFIX: &str = "postfix-relayed";
const TAMPERED: &str = "tampered-newsletter";
const FORGED_AR: &str = "forged-results";
const SPAMMY: &str = "spammy-invoice";

fn send_more(w: &Inbound, c: &mut Checks, relay: &PostfixRelay) {
    // b. Ed25519 only, through a forwarder: SPF passes for the forwarder's domain (not
    //    aligned), so DMARC (p=reject!) rests on the Ed25519 signature alone.
    let file = w.message(
        ED25519,
        "Alice Sender <alice@sender-one.com>",
        "Forwarded through a list",
        &[
            "--body",
            "This went through a forwarder that keeps the message intact.",
            "--sign",
            &w.signer("sender-one.com", "ed"),
        ],
    );
    let reply = w.smtplib(FORWARDER_IP, FORWARDER_HOST, "bounces@forwarder.org", &file);
    check_accepted(c, ED25519, &reply);

    // Postfix, the domain's real MTA, relays a message signed with both keys.
    let file = w.message(
        POSTFIX,
        "Alice Sender <alice@sender-one.com>",
        "Relayed by Postfix",
        &[
            "--body",
            "Sent through the sendmail command of a real MTA.",
            "--sign",
            &w.signer("sender-one.com", "rsa"),
            "--sign",
            &w.signer("sender-one.com", "ed"),
        ],
    );
    relay.send("alice@sender-one.com", &file);

    // e. Body changed after signing; the domain's DMARC policy is p=none.
    let file = w.message(
        TAMPERED,
        "Newsletter <news@newsletter.net>",
        "Your monthly statement",
        &[
            "--body",
            "Your statement is ready.\nAmount: 100 EUR\n",
            "--sign",
            &w.signer("newsletter.net", "rsa"),
            "--tamper",
        ],
    );
    let reply = w.smtplib(SENDER_IP, SENDER_HOST, "news@newsletter.net", &file);
    check_accepted(c, TAMPERED, &reply);

    // f. Results claiming our authserv-id (any case) must go; another host's stay. The
    //    signature does not cover them, so removing them keeps it valid.
    let forged = format!("Authentication-Results: {HOSTNAME}; dkim=pass header.d=bigbank.com");
    let forged_upper = format!(
        "Authentication-Results: {}; dmarc=pass header.from=bigbank.com",
        HOSTNAME.to_ascii_uppercase()
    );
    let file = w.message(
        FORGED_AR,
        "Alice Sender <alice@sender-one.com>",
        "Results claiming to be yours",
        &[
            "--header",
            &forged,
            "--header",
            &forged_upper,
            "--header",
            "Authentication-Results: relay.other.example; spf=pass smtp.mailfrom=x@other.example",
            "--body",
            "Nothing to see here.",
            "--sign",
            &w.signer("sender-one.com", "rsa"),
        ],
    );
    let reply = w.smtplib(SENDER_IP, SENDER_HOST, "alice@sender-one.com", &file);
    check_accepted(c, FORGED_AR, &reply);

    // g. Everything a phish does at once: a From: of our own domain from outside, an
    //    executable disguised as a PDF, a link whose text names another site, shouting.
    let file = w.message(
        SPAMMY,
        "Example.org Administrator <admin@example.org>",
        "URGENT: YOUR MAILBOX WILL BE SUSPENDED TODAY",
        &[
            "--body",
            "Dear user, your mailbox will be suspended. Verify your password now at \
             http://203.0.113.9/login or open the attached invoice.",
            "--html",
            "<html><body><p>Dear user, your mailbox will be <b>SUSPENDED</b>.</p>\
             <p><a href=\"http://203.0.113.9/verify/login.php\">https://mail.example.org/login</a></p>\
             <p>Open the attached invoice.</p></body></html>",
            "--attachment",
            "invoice.pdf.exe",
        ],
    );
    let reply = w.smtplib(FORGER_IP, FORGER_HOST, "billing@forger.net", &file);
    c.check(reply["code"] == 250, || {
        format!(
            "{SPAMMY}: expected 250 and filing in Junk (the install sets \
             MAILSTEAD_FILTER_REJECT_ENABLED=false), got {reply}"
        )
    });
}

fn check_more(c: &mut Checks, fetched: &[Value]) {
    if let Some(m) = check_filed(c, fetched, ED25519, "INBOX") {
        let ar = our_results(c, ED25519, m);
        check_results(
            c,
            ED25519,
            &ar,
            &[
                "spf=pass smtp.mailfrom=",
                "dkim=pass",
                "header.a=ed25519-sha256",
                "dmarc=pass",
            ],
        );
        check_mailfrom(c, ED25519, &ar, "bounces@forwarder.org");
        check_still_verifies(c, ED25519, m, &["ed25519-sha256"]);
    }
    if let Some(m) = check_filed(c, fetched, POSTFIX, "INBOX") {
        let ar = our_results(c, POSTFIX, m);
        check_results(
            c,
            POSTFIX,
            &ar,
            &[
                "spf=pass",
                "header.a=rsa-sha256",
                "header.a=ed25519-sha256",
                "dmarc=pass",
                "iprev=pass",
            ],
        );
        c.check(
            ar.matches("dkim=pass").count() == 2 && !ar.contains("dkim=fail"),
            || format!("{POSTFIX}: both signatures should pass: {ar}"),
        );
        check_still_verifies(c, POSTFIX, m, &["ed25519-sha256", "rsa-sha256"]);
        let raw = m["raw"].as_str().unwrap_or_default();
        c.check(raw.contains("by mx.sender-one.com (Postfix"), || {
            format!("{POSTFIX}: Postfix's own Received expected:\n{raw}")
        });
    }
    // p=none: delivered; where to is the spam score's business (a failed signature and a
    // softfail count against it), so either mailbox will do.
    match find(fetched, TAMPERED) {
        None => c.check(false, || {
            format!("{TAMPERED}: not stored (p=none delivers)")
        }),
        Some(m) => {
            let ar = our_results(c, TAMPERED, m);
            check_results(
                c,
                TAMPERED,
                &ar,
                &[
                    "dkim=fail",
                    "header.d=newsletter.net",
                    "dmarc=fail",
                    "spf=softfail",
                ],
            );
            c.check(!ar.contains("dkim=pass"), || format!("{TAMPERED}: {ar}"));
        }
    }
    if let Some(m) = check_filed(c, fetched, FORGED_AR, "INBOX") {
        let raw = m["raw"].as_str().unwrap_or_default();
        let ar = our_results(c, FORGED_AR, m);
        c.check(!raw.contains("header.d=bigbank.com"), || {
            format!("{FORGED_AR}: the forged `{HOSTNAME}` result survived:\n{raw}")
        });
        c.check(!raw.contains("header.from=bigbank.com"), || {
            format!("{FORGED_AR}: the forged upper-case `{HOSTNAME}` result survived:\n{raw}")
        });
        c.check(
            fields(raw, "Authentication-Results")
                .iter()
                .any(|v| v.starts_with("relay.other.example; spf=pass")),
            || format!("{FORGED_AR}: another host's results must stay:\n{raw}"),
        );
        check_results(c, FORGED_AR, &ar, &["dkim=pass", "dmarc=pass"]);
        check_still_verifies(c, FORGED_AR, m, &["rsa-sha256"]);
    }
    if let Some(m) = check_filed(c, fetched, SPAMMY, "Junk") {
        let raw = m["raw"].as_str().unwrap_or_default();
        let _ = our_results(c, SPAMMY, m);
        let status = fields(raw, "X-Spam-Status").join(" ");
        c.check(status.starts_with("Yes"), || {
            format!("{SPAMMY}: X-Spam-Status Yes expected: {status}\n{raw}")
        });
        for symbol in [
            "FORGED_LOCAL_SENDER",
            "ATTACH_EXECUTABLE",
            "PHISH_LINK_MISMATCH",
        ] {
            c.check(status.contains(symbol), || {
                format!("{SPAMMY}: {symbol} expected in X-Spam-Status: {status}")
            });
        }
    }
}

/// h. A user moving a message into Junk over IMAP trains the global classifier.
fn check_learning(w: &Inbound, c: &mut Checks) {
    let before = w.global_totals();
    c.check(before == (0, 0), || {
        format!("the classifier learned {before:?} (spam, ham) before any IMAP move")
    });
    w.move_to(ALIGNED_RSA, "Junk");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut totals = w.global_totals();
    while totals != (1, 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        totals = w.global_totals();
    }
    c.check(totals == (1, 0), || {
        format!("after UID MOVE into Junk the global model should have 1 spam, 0 ham: {totals:?}")
    });
}

// ---------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------

#[test]
fn inbound_mail_is_authenticated_filtered_and_learned_on_sqlite() {
    let started = Instant::now();
    let w = Inbound::new(Install::new(&[]));
    let server = w.serve();
    let relay = PostfixRelay::start(w.install.smtp_port);
    let mut c = Checks::default();

    send_core(&w, &mut c);
    send_more(&w, &mut c, &relay);
    // Postfix delivers on its own time: wait (at most 20 s) until our store has it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let postfix_id = format!("<{POSTFIX}@e2e.test>");
    while Instant::now() < deadline {
        let all = [w.install.inbox(RCPT), w.install.mailbox(RCPT, "Junk")].concat();
        if all.iter().any(|m| m.text().contains(&postfix_id)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let fetched = w.fetch();
    check_core(&mut c, &fetched);
    check_more(&mut c, &fetched);
    if find(&fetched, POSTFIX).is_none() {
        c.check(false, || format!("Postfix's log:\n{}", relay.maillog()));
    }
    check_learning(&w, &mut c);
    eprintln!(
        "inbound e2e (SQLite): {} messages stored, {:.1} s",
        fetched.len(),
        started.elapsed().as_secs_f64()
    );
    c.finish(&server);
    drop(relay);
    server.stop_gracefully();
}

#[test]
fn inbound_mail_is_authenticated_filtered_and_learned_on_postgres() {
    let db = PgDb::new();
    let w = Inbound::new(Install::on_postgres(&db));
    let server = w.serve();
    let mut c = Checks::default();
    send_core(&w, &mut c);
    let fetched = w.fetch();
    check_core(&mut c, &fetched);
    check_learning(&w, &mut c);
    c.finish(&server);
    server.stop_gracefully();
}
