//! End-to-end tests of the SMTP MX listener of the built `mailstead` binary with real
//! third-party clients (design §9.4): swaks, Python's smtplib, Postfix as a peer MTA and
//! its `smtp-source` load generator, and a raw socket for what no installed client speaks
//! (BDAT). Every test asserts on what the server STORED (read back through
//! `mailstead-store`), byte-exact where the client's bytes are known, and ends with
//! SIGTERM → exit 0. The crash test checks design invariant 1: kill -9 under load loses no
//! acknowledged message and leaves no half message.
//!
//! External tools: swaks, python3, Postfix (`postfix`, `postqueue`, `smtp-source`) and
//! `bench/postfix-peer.sh` (a private Postfix instance; needs root, as Postfix's master
//! does); PostgreSQL at `TEST_POSTGRES_URL` for the PostgreSQL test.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Install, PgDb, StoredMessage, free_port, run_with_timeout, split_trace};

/// Longest any single external client run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Helpers: clients, stored-message lookups.
// ---------------------------------------------------------------------------------------

/// A minimal SMTP client over a plain socket, for what no installed client does (BDAT) and
/// for the crash test's tracking senders. Every read has a timeout.
struct Smtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Smtp {
    fn connect(port: u16) -> std::io::Result<Smtp> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        let writer = stream.try_clone()?;
        Ok(Smtp {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// One reply (all its lines): the code and the text of every line joined by `\n`.
    fn reply(&mut self) -> std::io::Result<(u16, String)> {
        let mut text = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| std::io::Error::other(format!("not a reply line: {line:?}")))?;
            let last = line.as_bytes().get(3) != Some(&b'-');
            text.push(line.get(4..).unwrap_or_default().to_string());
            if last {
                return Ok((code, text.join("\n")));
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()
    }

    fn cmd(&mut self, line: &str) -> std::io::Result<(u16, String)> {
        self.send(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    /// A command whose reply must have `code`; the test fails otherwise.
    fn expect(&mut self, line: &str, code: u16) -> String {
        let (got, text) = self
            .cmd(line)
            .unwrap_or_else(|e| panic!("{line}: connection failed: {e}"));
        assert_eq!(got, code, "{line} → {got} {text}");
        text
    }

    /// The next reply must have `code`.
    fn expect_reply(&mut self, what: &str, code: u16) -> String {
        let (got, text) = self
            .reply()
            .unwrap_or_else(|e| panic!("{what}: connection failed: {e}"));
        assert_eq!(got, code, "{what} → {got} {text}");
        text
    }
}

/// Runs swaks against 127.0.0.1:`port`; returns the exit code and the whole transcript.
fn swaks(port: u16, args: &[&str]) -> (Option<i32>, String) {
    let mut c = Command::new("swaks");
    c.arg("--server")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--timeout", "30"])
        .args(args);
    let out = run_with_timeout(c, b"", TOOL_TIMEOUT);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// swaks must have delivered (exit 0, `250` after the dot).
fn swaks_ok(port: u16, args: &[&str]) -> String {
    let (code, text) = swaks(port, args);
    assert_eq!(code, Some(0), "swaks {args:?} failed:\n{text}");
    assert!(
        text.contains("<~  250 2.0.0 ok") || text.contains("<-  250 2.0.0 ok"),
        "no 250 after the dot:\n{text}"
    );
    text
}

/// Runs a Python program with `args`, `stdin` piped in; it must exit 0. Returns stdout.
fn python(script: &str, args: &[&str], stdin: &[u8]) -> String {
    let mut c = Command::new("python3");
    c.arg("-c").arg(script).args(args);
    let out = run_with_timeout(c, stdin, TOOL_TIMEOUT);
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 python output")
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// The only stored message containing `marker` (a unique Message-Id, say).
fn by_marker<'a>(msgs: &'a [StoredMessage], marker: &str) -> &'a StoredMessage {
    let found: Vec<&StoredMessage> = msgs
        .iter()
        .filter(|m| contains(&m.bytes, marker.as_bytes()))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one stored message with {marker:?}, found {}",
        found.len()
    );
    found[0]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts that a stored message is the trace block plus exactly `body`; returns the
/// trace block for further checks.
fn assert_stored_exactly(msg: &StoredMessage, body: &[u8]) -> String {
    let (trace, rest) = msg.split_trace();
    assert!(
        rest == body,
        "stored body differs from what was sent\n--- stored ---\n{}\n--- sent ---\n{}",
        String::from_utf8_lossy(rest),
        String::from_utf8_lossy(body)
    );
    trace
}

/// Blob files under `data/blobs` (not counting `tmp/`).
fn blob_files(install: &Install) -> usize {
    fn walk(dir: &Path, n: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "tmp") {
                    continue;
                }
                walk(&p, n);
            } else {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(&install.path().join("data/blobs"), &mut n);
    n
}

/// Polls `f` every 200 ms until it returns `Some`, for at most `limit`.
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
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The payload `smtp-source -l LEN` writes after its four headers: lines of a digit
/// (line number mod 10) and 77 `X`, then the remainder as `X`s; LEN counts CRLF as 2.
/// (Checked against Postfix 3.7's smtp-source; LEN % 80 must not be 0.)
fn smtp_source_payload(len: usize) -> Vec<u8> {
    assert_ne!(len % 80, 0);
    let mut out = Vec::with_capacity(len + 2);
    for i in 1..=len / 80 {
        out.push(b'0' + (i % 10) as u8);
        out.extend(std::iter::repeat_n(b'X', 77));
        out.extend_from_slice(b"\r\n");
    }
    out.extend(std::iter::repeat_n(b'X', len % 80));
    out.extend_from_slice(b"\r\n");
    out
}

/// Checks that `body` (without our trace block) is a complete smtp-source message of
/// payload length `len`: its four headers, a blank line, the whole payload, nothing else.
fn assert_smtp_source_message(body: &[u8], len: usize, what: &str) {
    let text = String::from_utf8_lossy(body);
    let Some(split) = body.windows(4).position(|w| w == b"\r\n\r\n") else {
        panic!("{what}: no header/body separator:\n{text}");
    };
    let headers = String::from_utf8_lossy(&body[..split + 2]);
    for h in [
        "From: <sender@remote.example>\r\n",
        "To: <alice@example.org>\r\n",
        "Date: ",
        "Message-Id: <",
    ] {
        assert!(
            headers.contains(h),
            "{what}: header {h:?} missing:\n{headers}"
        );
    }
    let payload = &body[split + 4..];
    assert!(
        payload == smtp_source_payload(len).as_slice(),
        "{what}: payload incomplete or altered ({} octets, want {}):\n{}",
        payload.len(),
        len + 2,
        String::from_utf8_lossy(&payload[payload.len().saturating_sub(200)..])
    );
}

// ---------------------------------------------------------------------------------------
// 1. swaks: plain, STARTTLS, PIPELINING, 8-bit; SMTPUTF8 and BODY=8BITMIME via smtplib;
//    relay refusal and unknown users.
// ---------------------------------------------------------------------------------------

/// Python: `send_message` of a message with UTF-8 addresses, so smtplib itself picks
/// `SMTPUTF8 BODY=8BITMIME`; prints the bytes handed to DATA (hex) and the MAIL options.
const PY_SMTPUTF8: &str = r#"
import smtplib, sys, json
from email.message import EmailMessage
port = int(sys.argv[1])
m = EmailMessage()
m['From'] = 'Jörg Groß <jörg@remote.example>'
m['To'] = 'Jöran <jöran@example.org>'
m['Subject'] = 'Grüße aus Köln'
m['Message-Id'] = '<smtputf8-1@remote.example>'
m.set_content('Hej Jöran,\nÆble, ø, å — 日本語.\n.a line with a leading dot\n', cte='8bit')
s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.remote.example', timeout=30)
sent = []
orig = s.data
def data(msg):
    sent.append(msg)
    return orig(msg)
s.data = data
s.ehlo()
assert s.has_extn('smtputf8'), 'SMTPUTF8 not advertised'
assert s.has_extn('8bitmime'), '8BITMIME not advertised'
refused = s.send_message(m)
s.quit()
print(json.dumps({'refused': {k: [v[0], v[1].decode()] for k, v in refused.items()},
                  'data': sent[0].hex()}))
"#;

/// Python: an ISO-8859-1 body declared with `BODY=8BITMIME` (ASCII addresses) and DSN
/// parameters, raw bytes from stdin; smtplib does the dot-stuffing.
const PY_8BITMIME: &str = r#"
import smtplib, sys
port = int(sys.argv[1])
data = sys.stdin.buffer.read()
s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.remote.example', timeout=30)
s.ehlo()
assert s.has_extn('8bitmime'), '8BITMIME not advertised'
# DSN parameters (RFC 3461) ride along: they must be accepted.
assert s.has_extn('dsn'), 'DSN not advertised'
refused = s.sendmail('sender@remote.example', ['alice@example.org'], data,
                     mail_options=['BODY=8BITMIME', 'RET=HDRS', 'ENVID=py-8bitmime-1'],
                     rcpt_options=['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;alice@example.org'])
assert refused == {}, refused
s.quit()
print('ok')
"#;

#[test]
fn swaks_plain_starttls_pipelining_8bitmime_smtputf8() {
    let install = Install::new(&[]);
    let server = install.serve();
    install.add_user("alice@example.org");
    install.add_user("jöran@example.org");
    let port = install.smtp_port;
    let dir = install.path();

    // a) Plain ESMTP. The message comes from a file with CRLF line ends and dot lines, so
    //    swaks does the dot-stuffing; it adds the final CRLF itself.
    let plain = b"From: Sender <sender@remote.example>\r\n\
To: alice@example.org\r\n\
Subject: plain\r\n\
Message-Id: <plain-1@remote.example>\r\n\
\r\n\
First line\r\n\
.A line with a leading dot\r\n\
..two dots\r\n\
.\r\n\
last line";
    std::fs::write(dir.join("plain.eml"), plain).expect("write");
    let plain_file = dir.join("plain.eml").display().to_string();
    swaks_ok(
        port,
        &[
            "--helo",
            "client.remote.example",
            "--from",
            "sender@remote.example",
            "--to",
            "alice@example.org",
            "--data",
            &plain_file,
        ],
    );

    // b) STARTTLS (-tls: must be offered and must succeed).
    let tls = b"From: sender@remote.example\r\n\
To: alice@example.org\r\n\
Subject: over TLS\r\n\
Message-Id: <tls-1@remote.example>\r\n\
\r\n\
This went over STARTTLS.\r\n\
.\r\n\
end";
    std::fs::write(dir.join("tls.eml"), tls).expect("write");
    let tls_file = dir.join("tls.eml").display().to_string();
    let transcript = swaks_ok(
        port,
        &[
            "-tls",
            "--helo",
            "tls.remote.example",
            "--from",
            "sender@remote.example",
            "--to",
            "alice@example.org",
            "--data",
            &tls_file,
        ],
    );
    assert!(
        transcript.contains("=== TLS started"),
        "swaks did not start TLS:\n{transcript}"
    );

    // c) PIPELINING: swaks sends MAIL, RCPT and DATA in one batch before reading replies.
    let piped = b"From: sender@remote.example\r\n\
To: alice@example.org\r\n\
Subject: pipelined\r\n\
Message-Id: <pipeline-1@remote.example>\r\n\
\r\n\
MAIL, RCPT and DATA went in one write.\r\n\
end";
    std::fs::write(dir.join("piped.eml"), piped).expect("write");
    let piped_file = dir.join("piped.eml").display().to_string();
    let transcript = swaks_ok(
        port,
        &[
            "--pipeline",
            "--helo",
            "pipe.remote.example",
            "--from",
            "sender@remote.example",
            "--to",
            "alice@example.org",
            "--data",
            &piped_file,
        ],
    );
    let data_sent = transcript.find(" -> DATA").expect("DATA in transcript");
    let mail_ok = transcript
        .find("250 2.1.0")
        .expect("MAIL reply in transcript");
    assert!(
        data_sent < mail_ok,
        "swaks did not pipeline (DATA sent after the MAIL reply):\n{transcript}"
    );

    // d) An 8-bit body (raw UTF-8 in a header and the body) with swaks, which cannot say
    //    BODY=8BITMIME (swaks 20201014 has no MAIL parameters): the octets must arrive
    //    untouched anyway. --header adds a header at the end of the file's headers.
    let eight_head = "From: sender@remote.example\r\n\
To: alice@example.org\r\n\
Subject: Grüße — 8 bit\r\n\
Message-Id: <swaks-8bit-1@remote.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n";
    let eight_body = "\r\nÆble, ø, å; Ünïcödé — 日本語 — ☃\r\n.dot line with ü\r\nend ß";
    std::fs::write(
        dir.join("eight.eml"),
        format!("{eight_head}{eight_body}").as_bytes(),
    )
    .expect("write");
    let eight_file = dir.join("eight.eml").display().to_string();
    swaks_ok(
        port,
        &[
            "--protocol",
            "ESMTP",
            "--helo",
            "eight.remote.example",
            "--from",
            "sender@remote.example",
            "--to",
            "alice@example.org",
            "--header",
            "X-Swaks-Test: 8-bit body",
            "--data",
            &eight_file,
        ],
    );

    //    And swaks' own message template with a UTF-8 --body and --header.
    swaks_ok(
        port,
        &[
            "--helo",
            "eight.remote.example",
            "--from",
            "sender@remote.example",
            "--to",
            "alice@example.org",
            "--header",
            "Subject: Grüße aus swaks",
            "--header",
            "Message-Id: <swaks-body-1@remote.example>",
            "--body",
            "Zoë sagt: schöne Grüße ☃",
        ],
    );

    // e) BODY=8BITMIME declared: swaks cannot, so Python's smtplib does it.
    let latin1: &[u8] = b"From: sender@remote.example\r\n\
To: alice@example.org\r\n\
Subject: 8BITMIME declared\r\n\
Message-Id: <py-8bitmime-1@remote.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Caf\xe9 cr\xe8me br\xfbl\xe9e, \xa7 \xbd \xff\r\n\
.\r\n\
..\r\n\
end\r\n";
    let out = python(PY_8BITMIME, &[&port.to_string()], latin1);
    assert_eq!(out.trim(), "ok");

    // f) SMTPUTF8. swaks 20201014 has no SMTPUTF8 (nor any MAIL parameter): it sends the
    //    UTF-8 address bare, which must be refused (RFC 6531 §3.4: 553 5.6.7)...
    let (code, text) = swaks(
        port,
        &[
            "--from",
            "sender@remote.example",
            "--to",
            "jöran@example.org",
        ],
    );
    assert_ne!(
        code,
        Some(0),
        "UTF-8 RCPT without SMTPUTF8 accepted:\n{text}"
    );
    assert!(text.contains("553 5.6.7"), "{text}");
    // ...so the SMTPUTF8 delivery to jöran@example.org is done with Python's smtplib,
    // whose send_message adds SMTPUTF8 (and BODY=8BITMIME) for UTF-8 addresses.
    let out: serde_json::Value =
        serde_json::from_str(&python(PY_SMTPUTF8, &[&port.to_string()], b"")).expect("json");
    assert_eq!(out["refused"], serde_json::json!({}), "{out}");
    let utf8_sent = unhex(out["data"].as_str().expect("data"));

    // g) Refusals: no relaying, no unknown users; nothing stored by either.
    let blobs_before = blob_files(&install);
    let (code, text) = swaks(
        port,
        &[
            "--from",
            "sender@remote.example",
            "--to",
            "victim@elsewhere.example",
        ],
    );
    assert_ne!(code, Some(0), "relay accepted:\n{text}");
    assert!(
        text.contains("554 5.7.1"),
        "relay not refused with 554 5.7.1:\n{text}"
    );
    let (code, text) = swaks(
        port,
        &[
            "--from",
            "sender@remote.example",
            "--to",
            "nobody@example.org",
        ],
    );
    assert_ne!(code, Some(0), "unknown user accepted:\n{text}");
    assert!(
        text.contains("550 5.1.1"),
        "unknown user not refused with 550 5.1.1:\n{text}"
    );
    // The same over a raw session: after the refused RCPT there is nothing to send to.
    let mut c = Smtp::connect(port).expect("connect");
    c.expect_reply("greeting", 220);
    c.expect("EHLO raw.remote.example", 250);
    c.expect("MAIL FROM:<sender@remote.example>", 250);
    let text = c.expect("RCPT TO:<victim@elsewhere.example>", 554);
    assert!(text.starts_with("5.7.1"), "{text}");
    let text = c.expect("RCPT TO:<nobody@example.org>", 550);
    assert!(text.starts_with("5.1.1"), "{text}");
    let (code, text) = c.cmd("DATA").expect("DATA");
    assert!(
        code == 554 || code == 503,
        "DATA without a valid recipient → {code} {text}"
    );
    // The other commands of the MX listener, and SIZE over the limit.
    c.expect("RSET", 250);
    c.expect("NOOP", 250);
    let text = c.expect("VRFY alice@example.org", 252);
    assert!(text.starts_with("2."), "{text}");
    let text = c.expect("HELP", 214);
    assert!(text.contains("BDAT"), "{text}");
    let text = c.expect("MAIL FROM:<sender@remote.example> SIZE=999999999999", 552);
    assert!(text.starts_with("5.3.4"), "{text}");
    c.expect("QUIT", 221);
    assert_eq!(
        blob_files(&install),
        blobs_before,
        "a refused message was stored"
    );

    // What was stored.
    let inbox = install.inbox("alice@example.org");
    assert_eq!(
        inbox.len(),
        6,
        "alice: {:#?}",
        inbox.iter().map(StoredMessage::text).collect::<Vec<_>>()
    );
    let mut expected_plain = plain.to_vec();
    expected_plain.extend_from_slice(b"\r\n");
    let trace = assert_stored_exactly(by_marker(&inbox, "<plain-1@"), &expected_plain);
    assert!(
        trace.starts_with("Return-Path: <sender@remote.example>\r\n"),
        "{trace}"
    );
    assert!(
        trace.contains("Received: from client.remote.example ([127.0.0.1])\r\n\tby mail.example.org (mailstead) with ESMTP id "),
        "{trace}"
    );
    assert!(trace.contains("\tfor <alice@example.org>; "), "{trace}");

    let mut expected_tls = tls.to_vec();
    expected_tls.extend_from_slice(b"\r\n");
    let trace = assert_stored_exactly(by_marker(&inbox, "<tls-1@"), &expected_tls);
    assert!(
        trace.contains(" with ESMTPS id "),
        "STARTTLS not recorded: {trace}"
    );
    assert!(trace.contains("(version=TLSv1_"), "{trace}");

    let mut expected_piped = piped.to_vec();
    expected_piped.extend_from_slice(b"\r\n");
    let trace = assert_stored_exactly(by_marker(&inbox, "<pipeline-1@"), &expected_piped);
    assert!(trace.contains(" with ESMTP id "), "{trace}");

    let expected_eight =
        format!("{eight_head}X-Swaks-Test: 8-bit body\r\n{eight_body}\r\n").into_bytes();
    assert_stored_exactly(by_marker(&inbox, "<swaks-8bit-1@"), &expected_eight);

    let templated = by_marker(&inbox, "<swaks-body-1@");
    // swaks ends --body with a newline, its template adds another, and a CRLF goes
    // before the dot: two empty lines at the end (as `swaks --dump-mail` shows).
    let want_end = "\r\n\r\nZoë sagt: schöne Grüße ☃\r\n\r\n\r\n";
    let want_subject = "\r\nSubject: Grüße aus swaks\r\n";
    assert!(
        contains(&templated.bytes, want_subject.as_bytes())
            && templated.bytes.ends_with(want_end.as_bytes()),
        "{}",
        templated.text()
    );

    let trace = assert_stored_exactly(by_marker(&inbox, "<py-8bitmime-1@"), latin1);
    assert!(
        trace.contains("Received: from py.remote.example "),
        "{trace}"
    );

    let joeran = install.inbox("jöran@example.org");
    assert_eq!(
        joeran.len(),
        1,
        "jöran must have exactly the SMTPUTF8 message"
    );
    let trace = assert_stored_exactly(&joeran[0], &utf8_sent);
    assert!(
        trace.starts_with("Return-Path: <jörg@remote.example>\r\n"),
        "{trace}"
    );
    assert!(trace.contains(" with UTF8SMTP id "), "{trace}");
    assert!(trace.contains("\tfor <jöran@example.org>; "), "{trace}");
    assert!(contains(
        &joeran[0].bytes,
        "Subject: Grüße aus Köln\r\n".as_bytes()
    ));

    assert!(
        install.inbox("admin@example.org").is_empty(),
        "admin got mail"
    );
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 2. smtplib: STARTTLS, send_message with UTF-8 headers to an account and an alias.
// ---------------------------------------------------------------------------------------

const PY_STARTTLS_SEND_MESSAGE: &str = r#"
import smtplib, ssl, sys, json
from email.message import EmailMessage
port = int(sys.argv[1])
m = EmailMessage()
m['From'] = 'Zoë Åström <zoe@remote.example>'
m['To'] = 'Das Team <team@example.org>'
m['Cc'] = 'Alice Ünal <alice@example.org>'
m['Subject'] = 'Grüße aus Köln — Ünïcödé ☃'
m['Message-Id'] = '<py-starttls-1@remote.example>'
m['Date'] = 'Mon, 02 Mar 2026 10:00:00 +0100'
m.set_content('Hallo zusammen,\n\nschöne Grüße aus Köln!\n.\nZoë\n')
s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.remote.example', timeout=30)
s.ehlo()
assert s.has_extn('starttls'), 'STARTTLS not advertised'
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the first-run certificate is self-signed
code, _ = s.starttls(context=ctx)
assert code == 220, code
s.ehlo()
assert not s.has_extn('starttls'), 'STARTTLS offered again after TLS'
sent = []
orig = s.data
def data(msg):
    sent.append(msg)
    return orig(msg)
s.data = data
refused = s.send_message(m)
s.quit()
print(json.dumps({'refused': {k: [v[0], v[1].decode()] for k, v in refused.items()},
                  'data': sent[0].hex()}))
"#;

/// Parses a stored message with Python's email package and prints decoded fields.
const PY_PARSE: &str = r#"
import sys, json, email, email.policy
m = email.message_from_binary_file(sys.stdin.buffer, policy=email.policy.default)
print(json.dumps({'subject': str(m['Subject']), 'from': str(m['From']),
                  'to': str(m['To']), 'cc': str(m['Cc']),
                  'body': m.get_body(('plain',)).get_content().replace('\r\n', '\n')}))
"#;

#[test]
fn python_smtplib_send_message_with_starttls_and_utf8() {
    let install = Install::new(&[]);
    let server = install.serve();
    install.add_user("alice@example.org");
    install.add_user("bob@example.org");
    install.ok(
        &[
            "alias",
            "add",
            "team@example.org",
            "alice@example.org,bob@example.org",
        ],
        "",
    );

    let out: serde_json::Value = serde_json::from_str(&python(
        PY_STARTTLS_SEND_MESSAGE,
        &[&install.smtp_port.to_string()],
        b"",
    ))
    .expect("json");
    assert_eq!(out["refused"], serde_json::json!({}), "{out}");
    let sent = unhex(out["data"].as_str().expect("data"));

    // alice is a recipient twice (directly in Cc and through the alias): one copy.
    let alice = install.inbox("alice@example.org");
    let bob = install.inbox("bob@example.org");
    assert_eq!(alice.len(), 1, "alice must have the message exactly once");
    assert_eq!(bob.len(), 1, "bob must have the message exactly once");
    assert_eq!(
        alice[0].blob_id, bob[0].blob_id,
        "one blob for all recipients"
    );
    let trace = assert_stored_exactly(&alice[0], &sent);
    assert_eq!(alice[0].bytes, bob[0].bytes);
    assert!(
        trace.starts_with("Return-Path: <zoe@remote.example>\r\n"),
        "{trace}"
    );
    assert!(
        trace.contains("Received: from py.remote.example ([127.0.0.1])\r\n\tby mail.example.org (mailstead) with ESMTPS id "),
        "{trace}"
    );
    assert!(
        !trace.contains("\tfor <"),
        "two recipients: no `for` clause: {trace}"
    );

    // The UTF-8 headers survive the trip (encoded words as smtplib wrote them).
    let parsed: serde_json::Value =
        serde_json::from_str(&python(PY_PARSE, &[], &alice[0].bytes)).expect("json");
    assert_eq!(parsed["subject"], "Grüße aus Köln — Ünïcödé ☃");
    assert_eq!(parsed["from"], "Zoë Åström <zoe@remote.example>");
    assert_eq!(parsed["to"], "Das Team <team@example.org>");
    assert_eq!(parsed["cc"], "Alice Ünal <alice@example.org>");
    assert_eq!(
        parsed["body"],
        "Hallo zusammen,\n\nschöne Grüße aus Köln!\n.\nZoë\n"
    );
    assert!(install.inbox("admin@example.org").is_empty());
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 3. BDAT over a raw socket.
// ---------------------------------------------------------------------------------------

/// A message whose bytes test chunking: CRLF split across chunk boundaries, a lone `.`
/// line and dot lines (no dot-stuffing in BDAT: they are data), 8-bit octets.
fn bdat_message(id: &str, filler_lines: usize) -> Vec<u8> {
    let mut m = format!(
        "From: sender@remote.example\r\nTo: alice@example.org\r\nSubject: BDAT {id}\r\n\
Message-Id: <{id}@remote.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
This is chunked.\r\n.\r\n..\r\n.not stuffed\r\nÜnïcödé ☃\r\n"
    )
    .into_bytes();
    for i in 0..filler_lines {
        m.extend_from_slice(format!("{i:06} {}\r\n", "abcdefghij".repeat(i % 13)).as_bytes());
    }
    m.extend_from_slice(b"\r\n.\r\nthe end\r\n");
    m
}

/// `BDAT n` commands with their chunks for `message` cut at `sizes` (the rest goes in the
/// last chunk); `zero_last` ends with `BDAT 0 LAST` instead of LAST on the last chunk.
fn bdat_commands(message: &[u8], sizes: &[usize], zero_last: bool) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut chunks = 0;
    for &n in sizes {
        assert!(pos + n < message.len());
        out.extend_from_slice(format!("BDAT {n}\r\n").as_bytes());
        out.extend_from_slice(&message[pos..pos + n]);
        pos += n;
        chunks += 1;
    }
    let rest = &message[pos..];
    if zero_last {
        out.extend_from_slice(format!("BDAT {}\r\n", rest.len()).as_bytes());
        out.extend_from_slice(rest);
        out.extend_from_slice(b"BDAT 0 LAST\r\n");
        chunks += 2;
    } else {
        out.extend_from_slice(format!("BDAT {} LAST\r\n", rest.len()).as_bytes());
        out.extend_from_slice(rest);
        chunks += 1;
    }
    (out, chunks)
}

#[test]
fn bdat_over_raw_socket() {
    // No installed client speaks BDAT (swaks 20201014, smtplib and Postfix's smtp client
    // do not), so the test speaks it itself.
    let install = Install::new(&[]);
    let server = install.serve();
    install.add_user("alice@example.org");

    let mut c = Smtp::connect(install.smtp_port).expect("connect");
    c.expect_reply("greeting", 220);
    let ehlo = c.expect("EHLO bdat.remote.example", 250);
    for cap in ["CHUNKING", "PIPELINING", "8BITMIME"] {
        assert!(
            ehlo.lines().any(|l| l == cap),
            "{cap} not advertised: {ehlo}"
        );
    }

    // Transaction 1: MAIL, RCPT and five odd-sized chunks in ONE write (pipelined); the
    // cuts fall inside CRLFs and inside the lone-dot line.
    let first = bdat_message("bdat-1", 40);
    let mut batch =
        b"MAIL FROM:<sender@remote.example> BODY=8BITMIME\r\nRCPT TO:<alice@example.org>\r\n"
            .to_vec();
    // Header lines end at known offsets; 1 and 7 split the first line, the others are odd.
    let (cmds, chunks) = bdat_commands(&first, &[1, 7, 333, 1001], false);
    batch.extend_from_slice(&cmds);
    c.send(&batch).expect("send batch");
    c.expect_reply("MAIL", 250);
    c.expect_reply("RCPT", 250);
    for i in 1..chunks {
        let text = c.expect_reply(&format!("BDAT chunk {i}"), 250);
        assert!(text.starts_with("2.0.0"), "{text}");
    }
    let text = c.expect_reply("BDAT LAST", 250);
    assert!(text.contains("ok"), "{text}");

    // Transaction 2: a larger message (several reads of the server's buffer per chunk),
    // chunk sizes around powers of two, ended by BDAT 0 LAST; again all in one write.
    // A bounce (null reverse path) to alice and to the domain-less Postmaster (RFC 5321
    // §4.5.1), which reaches the global administrator.
    let second = bdat_message("bdat-2", 4000);
    assert!(second.len() > 200_000, "{}", second.len());
    let mut batch =
        b"MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<Postmaster>\r\n".to_vec();
    let (cmds, chunks) = bdat_commands(&second, &[65_537, 16_383, 3, 99_999], true);
    batch.extend_from_slice(&cmds);
    c.send(&batch).expect("send batch");
    c.expect_reply("MAIL", 250);
    c.expect_reply("RCPT alice", 250);
    c.expect_reply("RCPT Postmaster", 250);
    for i in 1..chunks {
        c.expect_reply(&format!("BDAT chunk {i}"), 250);
    }
    c.expect_reply("BDAT 0 LAST", 250);

    // Transaction 3: chunks then RSET: nothing stored.
    let third = bdat_message("bdat-3-reset", 10);
    let mut batch =
        b"MAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@example.org>\r\n".to_vec();
    batch.extend_from_slice(format!("BDAT {}\r\n", third.len()).as_bytes());
    batch.extend_from_slice(&third);
    batch.extend_from_slice(b"RSET\r\n");
    c.send(&batch).expect("send batch");
    c.expect_reply("MAIL", 250);
    c.expect_reply("RCPT", 250);
    c.expect_reply("BDAT", 250);
    c.expect_reply("RSET", 250);

    // DATA after BDAT in one transaction is a sequence error.
    c.expect("MAIL FROM:<sender@remote.example>", 250);
    c.expect("RCPT TO:<alice@example.org>", 250);
    c.send(b"BDAT 5\r\nhello").expect("send");
    c.expect_reply("BDAT 5", 250);
    c.expect("DATA", 503);
    c.expect("RSET", 250);
    c.expect("QUIT", 221);

    let inbox = install.inbox("alice@example.org");
    assert_eq!(inbox.len(), 2, "exactly the two completed BDAT messages");
    let trace = assert_stored_exactly(by_marker(&inbox, "<bdat-1@"), &first);
    assert!(
        trace.contains("Received: from bdat.remote.example ([127.0.0.1])\r\n\tby mail.example.org (mailstead) with ESMTP id "),
        "{trace}"
    );
    let bounce = by_marker(&inbox, "<bdat-2@");
    let trace = assert_stored_exactly(bounce, &second);
    assert!(trace.starts_with("Return-Path: <>\r\n"), "{trace}");
    assert!(
        !trace.contains("\tfor <"),
        "two recipients: no `for`: {trace}"
    );
    assert!(inbox[0].uid < inbox[1].uid);
    let admin = install.inbox("admin@example.org");
    assert_eq!(admin.len(), 1, "Postmaster reaches the administrator");
    assert_eq!(admin[0].blob_id, bounce.blob_id);
    server.stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 4. Postfix as a peer MTA relaying to mailstead.
// ---------------------------------------------------------------------------------------

/// A private Postfix instance (bench/postfix-peer.sh) on a free port that relays
/// example.org to mailstead; stopped when dropped.
struct PostfixPeer {
    work: PathBuf,
    port: u16,
    // Declared last: removed after `drop` stopped Postfix.
    _dir: tempfile::TempDir,
}

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/postfix-peer.sh")
}

impl PostfixPeer {
    fn start(target_port: u16) -> PostfixPeer {
        let dir = tempfile::tempdir().expect("temp dir");
        // Postfix's daemons run as `postfix` and must reach the queue under this dir.
        let chmod = Command::new("chmod")
            .arg("755")
            .arg(dir.path())
            .status()
            .expect("chmod");
        assert!(chmod.success());
        let peer = PostfixPeer {
            work: dir.path().join("peer"),
            port: free_port(),
            _dir: dir,
        };
        let out = peer.script(&["start", &target_port.to_string()]);
        assert!(
            out.status.success(),
            "postfix-peer.sh start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        peer
    }

    fn script(&self, args: &[&str]) -> Output {
        let mut c = Command::new("bash");
        c.arg(peer_script())
            .arg(args[0])
            .arg(&self.work)
            .args(&args[1..])
            .env("PEER_SMTP_PORT", self.port.to_string());
        run_with_timeout(c, b"", TOOL_TIMEOUT)
    }

    fn queue(&self) -> String {
        let mut c = Command::new("postqueue");
        c.arg("-c").arg(self.work.join("etc")).arg("-p");
        let out = run_with_timeout(c, b"", TOOL_TIMEOUT);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn maillog(&self) -> String {
        std::fs::read_to_string(self.work.join("maillog")).unwrap_or_default()
    }
}

impl Drop for PostfixPeer {
    fn drop(&mut self) {
        let _ = self.script(&["stop"]);
    }
}

#[test]
fn postfix_relays_to_mailstead_as_a_peer_mta() {
    let install = Install::new(&[]);
    let server = install.serve();
    install.add_user("alice@example.org");
    let peer = PostfixPeer::start(install.smtp_port);

    const COUNT: usize = 20;
    const LEN: usize = 1000;
    let mut c = Command::new("smtp-source");
    c.args(["-s", "4", "-m", &COUNT.to_string(), "-l", &LEN.to_string()])
        .args(["-f", "sender@remote.example", "-t", "alice@example.org"])
        .arg(format!("127.0.0.1:{}", peer.port));
    let out = run_with_timeout(c, b"", TOOL_TIMEOUT);
    assert!(
        out.status.success(),
        "smtp-source to the peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let inbox = wait_for(
        Duration::from_secs(60),
        "20 messages relayed by Postfix",
        || {
            let inbox = install.inbox("alice@example.org");
            (inbox.len() >= COUNT).then_some(inbox)
        },
    );
    assert_eq!(inbox.len(), COUNT, "duplicates delivered");
    for m in &inbox {
        let (trace, body) = m.split_trace();
        assert!(
            trace.starts_with("Return-Path: <sender@remote.example>\r\n"),
            "{trace}"
        );
        // Postfix's smtp client says EHLO with its myhostname and uses STARTTLS when
        // offered (smtp_tls_security_level = may).
        assert!(
            trace.contains("Received: from postfix-bench-peer.localdomain ([127.0.0.1])\r\n\tby mail.example.org (mailstead) with ESMTPS id "),
            "{trace}"
        );
        assert!(trace.contains("\tfor <alice@example.org>; "), "{trace}");
        // Postfix's own Received comes first in what it relayed.
        let (postfix_received, rest) = split_received(body);
        assert!(
            postfix_received.contains("by postfix-bench-peer.localdomain (Postfix) with ")
                && postfix_received.contains("for <alice@example.org>"),
            "no Received from Postfix: {postfix_received}"
        );
        assert_smtp_source_message(rest, LEN, &format!("uid {}", m.uid));
    }
    let queue = wait_for(Duration::from_secs(30), "Postfix queue empty", || {
        let q = peer.queue();
        q.contains("Mail queue is empty").then_some(q)
    });
    assert!(queue.contains("Mail queue is empty"));
    // Postfix logs through postlogd, asynchronously: give the last lines a moment.
    let sent = |log: &str| log.matches("status=sent (250 2.0.0 ok: stored as ").count();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut log = peer.maillog();
    while sent(&log) < COUNT && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        log = peer.maillog();
    }
    assert_eq!(sent(&log), COUNT, "Postfix log:\n{log}");
    assert!(
        log.contains("Trusted TLS connection established to 127.0.0.1")
            || log.contains("Untrusted TLS connection established to 127.0.0.1")
            || log.contains("Anonymous TLS connection established to 127.0.0.1"),
        "Postfix did not use STARTTLS to mailstead:\n{log}"
    );
    drop(peer);
    server.stop_gracefully();
}

/// Splits the first header (a `Received:` with its continuation lines) off `body`.
fn split_received(body: &[u8]) -> (String, &[u8]) {
    assert!(
        body.starts_with(b"Received: "),
        "no Received header first: {:?}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    let mut pos = 0;
    loop {
        let end = body[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|i| pos + i + 2)
            .expect("unterminated header");
        pos = end;
        if !matches!(body.get(pos), Some(b' ' | b'\t')) {
            break;
        }
    }
    (
        String::from_utf8_lossy(&body[..pos]).into_owned(),
        &body[pos..],
    )
}

// ---------------------------------------------------------------------------------------
// 5. PostgreSQL backend (metadata and blobs in PostgreSQL).
// ---------------------------------------------------------------------------------------

#[test]
fn postgres_backend_receives_mail() {
    let db = PgDb::new();
    let install = Install::on_postgres(&db);
    let server = install.serve();
    install.add_user("alice@example.org");
    let message = b"From: sender@remote.example\r\n\
To: alice@example.org\r\n\
Subject: stored in PostgreSQL\r\n\
Message-Id: <pg-1@remote.example>\r\n\
\r\n\
Rows and bytea.\r\n\
.dot\r\n\
end";
    std::fs::write(install.path().join("pg.eml"), message).expect("write");
    let file = install.path().join("pg.eml").display().to_string();
    swaks_ok(
        install.smtp_port,
        &[
            "--helo",
            "pg.remote.example",
            "--from",
            "sender@remote.example",
            "--to",
            "alice@example.org",
            "--data",
            &file,
        ],
    );
    let inbox = install.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1);
    let mut expected = message.to_vec();
    expected.extend_from_slice(b"\r\n");
    let trace = assert_stored_exactly(&inbox[0], &expected);
    assert!(trace.contains(" with ESMTP id "), "{trace}");
    assert!(
        !install.path().join("data/mailstead.sqlite3").exists(),
        "sqlite not used"
    );
    assert_eq!(blob_files(&install), 0, "blobs must be in PostgreSQL");
    server.stop_gracefully();
    drop(db);
}

// ---------------------------------------------------------------------------------------
// 6. kill -9 under load: no acknowledged message lost, no half message stored.
// ---------------------------------------------------------------------------------------

/// What a tracking sender sent: the unstuffed message bytes by Message-Id marker, and
/// which of them got `250` after the final dot.
#[derive(Default)]
struct Tracked {
    sent: HashMap<String, Vec<u8>>,
    acked: Vec<String>,
}

/// xorshift64*: reproducible pseudo-random bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A tracked message: unique Message-Id marker, 0.5–40 KB of lines, some starting with
/// dots (so the wire form differs from the stored form).
fn tracked_message(rng: &mut Rng, marker: &str) -> Vec<u8> {
    let mut m = format!(
        "From: tracker@remote.example\r\nTo: alice@example.org\r\nSubject: tracked\r\n\
Message-Id: {marker}\r\n\r\n"
    )
    .into_bytes();
    let target = 500 + rng.below(40_000) as usize;
    let alphabet = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:-_=+";
    while m.len() < target {
        match rng.below(20) {
            0 => m.extend_from_slice(b".\r\n"),
            1 | 2 => {
                m.push(b'.');
            }
            _ => {}
        }
        let len = rng.below(120) as usize;
        for _ in 0..len {
            m.push(alphabet[rng.below(alphabet.len() as u64) as usize]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(format!("end of {marker}\r\n").as_bytes());
    m
}

/// Dot-stuffs a CRLF message for DATA and appends the terminator.
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// One tracking sender: sends messages one after the other on one connection until the
/// connection fails (the server was killed); records each one before DATA ends and which
/// ones got `250`.
fn tracking_sender(port: u16, round: usize, thread: usize, tracked: Arc<Mutex<Tracked>>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((round as u64) << 32) ^ thread as u64 ^ 1);
    let Ok(mut c) = Smtp::connect(port) else {
        return;
    };
    let step =
        |r: std::io::Result<(u16, String)>, want: u16| matches!(r, Ok((code, _)) if code == want);
    if !step(c.reply(), 220) || !step(c.cmd("EHLO tracker.remote.example"), 250) {
        return;
    }
    for n in 0.. {
        let marker = format!("<track-{round}-{thread}-{n}@remote.example>");
        let message = tracked_message(&mut rng, &marker);
        if !step(c.cmd("MAIL FROM:<tracker@remote.example>"), 250)
            || !step(c.cmd("RCPT TO:<alice@example.org>"), 250)
            || !step(c.cmd("DATA"), 354)
        {
            return;
        }
        tracked
            .lock()
            .expect("lock")
            .sent
            .insert(marker.clone(), message.clone());
        if c.send(&dot_stuff(&message)).is_err() {
            return;
        }
        match c.reply() {
            Ok((250, _)) => tracked.lock().expect("lock").acked.push(marker),
            _ => return,
        }
    }
}

#[test]
fn kill_9_during_load_loses_no_acknowledged_message() {
    let install = Install::new(&[("MAILSTEAD_SMTP_MAX_CONNECTIONS_PER_IP", "100")]);
    let mut server = Some(install.serve());
    install.add_user("alice@example.org");
    let port = install.smtp_port;
    let tracked = Arc::new(Mutex::new(Tracked::default()));
    const LEN: usize = 4096;
    const TRACKERS: usize = 4;
    let mut acked_total = 0;
    let mut rounds = BTreeMap::new();

    // Three kill points after different amounts of load.
    for (round, delay_ms) in [(0usize, 900u64), (1, 1500), (2, 2100)] {
        let mut load = Command::new("smtp-source")
            .args(["-s", "10", "-m", "20000", "-l", &LEN.to_string()])
            .args(["-f", "sender@remote.example", "-t", "alice@example.org"])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn smtp-source");
        let senders: Vec<_> = (0..TRACKERS)
            .map(|t| {
                let tracked = tracked.clone();
                std::thread::spawn(move || tracking_sender(port, round, t, tracked))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(delay_ms));
        // Still under load at the kill point (checked before the kill: smtp-source stops
        // by itself soon after its connections break).
        let load_running = load.try_wait().expect("try_wait").is_none();
        let mut s = server.take().expect("server running");
        s.child.kill().expect("kill -9 the server");
        let status = s.child.wait().expect("wait");
        assert!(!status.success(), "the server was not killed: {status:?}");
        drop(s);
        // The load generator may still be retrying against the dead port: end it too.
        let _ = load.kill();
        let _ = load.wait();
        assert!(
            load_running,
            "smtp-source had ended before the kill (all 20000 sent, or stopped by an \
             error reply): the kill point was not under load"
        );
        for s in senders {
            s.join().expect("tracking sender panicked");
        }

        // Leftovers of interrupted blob writes must be cleared at the next start; plant
        // one so the check cannot pass vacuously.
        let tmp = install.path().join("data/blobs/tmp");
        let leftovers = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
        std::fs::write(tmp.join("interrupted.put"), b"half a blob").expect("plant leftover");

        let s = install.serve();
        let remaining: Vec<_> = std::fs::read_dir(&tmp)
            .expect("blobs/tmp")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            remaining.is_empty(),
            "blobs/tmp not cleared at start: {remaining:?}"
        );
        server = Some(s);

        // Verify: every stored message is complete; every acknowledged one is there.
        let inbox = install.inbox("alice@example.org");
        let t = tracked.lock().expect("lock");
        let mut seen: HashMap<&str, u32> = HashMap::new();
        let mut load_messages = 0;
        let mut last_uid = 0;
        for m in &inbox {
            assert!(m.uid > last_uid, "UIDs not strictly ascending");
            last_uid = m.uid;
            let (trace, body) = split_trace(&m.bytes);
            if trace.starts_with("Return-Path: <tracker@remote.example>\r\n") {
                let marker = t
                    .sent
                    .keys()
                    .find(|k| contains(&body[..body.len().min(300)], k.as_bytes()))
                    .unwrap_or_else(|| {
                        panic!(
                            "uid {}: stored tracked message was never sent:\n{}",
                            m.uid,
                            m.text()
                        )
                    });
                assert!(
                    body == t.sent[marker].as_slice(),
                    "uid {}: tracked message {marker} stored incomplete or altered \
                     ({} octets stored, {} sent)",
                    m.uid,
                    body.len(),
                    t.sent[marker].len()
                );
                *seen.entry(marker.as_str()).or_default() += 1;
            } else {
                assert!(
                    trace.starts_with("Return-Path: <sender@remote.example>\r\n"),
                    "uid {}: unexpected message: {trace}",
                    m.uid
                );
                assert_smtp_source_message(body, LEN, &format!("uid {}", m.uid));
                load_messages += 1;
            }
        }
        for (marker, n) in &seen {
            assert_eq!(*n, 1, "{marker} stored {n} times");
        }
        let lost: Vec<&String> = t
            .acked
            .iter()
            .filter(|a| !seen.contains_key(a.as_str()))
            .collect();
        assert!(
            lost.is_empty(),
            "round {round}: {} acknowledged message(s) lost after kill -9: {lost:?}",
            lost.len()
        );
        let acked_now = t.acked.len() - acked_total;
        acked_total = t.acked.len();
        assert!(
            acked_now > 0,
            "round {round}: no tracked message was acknowledged"
        );
        rounds.insert(
            round,
            (delay_ms, acked_now, seen.len(), load_messages, leftovers),
        );
    }
    // Printed for the record (cargo test shows it with --nocapture).
    for (round, (delay, acked, tracked_stored, load, leftovers)) in &rounds {
        println!(
            "round {round}: killed after {delay} ms; tracked acked this round {acked}; \
             tracked stored (all rounds) {tracked_stored}; smtp-source stored (all rounds) \
             {load}; blobs/tmp leftovers {leftovers}"
        );
    }
    server.take().expect("server").stop_gracefully();
}

// ---------------------------------------------------------------------------------------
// 7. SIGTERM in the middle of a message: it is finished and stored, then 421.
// ---------------------------------------------------------------------------------------

#[test]
fn sigterm_during_data_finishes_the_message_then_421() {
    let install = Install::new(&[]);
    let server = install.serve();
    install.add_user("alice@example.org");
    let mut c = Smtp::connect(install.smtp_port).expect("connect");
    c.expect_reply("greeting", 220);
    c.expect("EHLO late.remote.example", 250);
    c.expect("MAIL FROM:<sender@remote.example>", 250);
    c.expect("RCPT TO:<alice@example.org>", 250);
    c.expect("DATA", 354);
    let message = b"Subject: started before SIGTERM\r\n\
Message-Id: <sigterm-1@remote.example>\r\n\
\r\n\
first half, then the signal, then the rest\r\n";
    let (head, tail) = message.split_at(60);
    c.send(head).expect("first half");
    std::thread::sleep(Duration::from_millis(200));
    server.signal(15);
    std::thread::sleep(Duration::from_millis(500));
    // No new connections once shutting down (refused, or at most told 421).
    if let Ok(mut late) = Smtp::connect(install.smtp_port) {
        // Closed without a word is fine too.
        if let Ok((code, text)) = late.reply() {
            assert_eq!(code, 421, "new session during shutdown: {text}");
        }
    }
    c.send(tail).expect("second half");
    c.send(b".\r\n").expect("dot");
    c.expect_reply("end of data during shutdown", 250);
    let text = c.expect("NOOP", 421);
    assert!(text.starts_with("4.3.2"), "{text}");
    let status = server.wait();
    assert!(status.success(), "SIGTERM must exit 0, got {status:?}");
    let inbox = install.inbox("alice@example.org");
    assert_eq!(inbox.len(), 1);
    assert_stored_exactly(&inbox[0], message);
}

// ---------------------------------------------------------------------------------------
// 8. Admin commands while mail arrives must not disturb deliveries.
// ---------------------------------------------------------------------------------------

/// Regression: admin commands used to open the fs blob store, whose opening clears
/// `data/blobs/tmp` — the running server's in-flight blobs — so deliveries got 451.
#[test]
fn admin_commands_while_receiving_do_not_fail_deliveries() {
    let install = Install::new(&[("MAILSTEAD_SMTP_MAX_CONNECTIONS_PER_IP", "100")]);
    let server = install.serve();
    install.add_user("alice@example.org");
    const COUNT: usize = 600;
    const LEN: usize = 40_960 + 16;
    let log = install.path().join("smtp-source.log");
    let mut load = Command::new("smtp-source")
        .args(["-s", "10", "-m", &COUNT.to_string(), "-l", &LEN.to_string()])
        .args(["-f", "sender@remote.example", "-t", "alice@example.org"])
        .arg(format!("127.0.0.1:{}", install.smtp_port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn smtp-source");
    // `mailstead domain list` in a loop while smtp-source runs (at most 60 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut admin_runs = 0;
    let status = loop {
        if let Some(st) = load.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = load.kill();
            let _ = load.wait();
            panic!("smtp-source did not finish within 60 s");
        }
        install.ok(&["domain", "list"], "");
        admin_runs += 1;
    };
    assert!(admin_runs > 0);
    if !status.success() {
        // Let the server's log of the failure arrive before it is shown.
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        status.success(),
        "smtp-source failed while {admin_runs} admin commands ran: {}\nserver log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default(),
        server.stderr()
    );
    let inbox = install.inbox("alice@example.org");
    assert_eq!(inbox.len(), COUNT);
    for m in &inbox {
        let (_, body) = m.split_trace();
        assert_smtp_source_message(body, LEN, &format!("uid {}", m.uid));
    }
    server.stop_gracefully();
}
