//! Session tests of RSET, NOOP, VRFY, EXPN, HELP, QUIT, AUTH on the MX listener, and of
//! the session limits: bad commands, line length, timeouts, connections, shutdown.

use std::time::{Duration, Instant};

use mailstead_testkit::{SmtpClient, TestServer, assert_reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client that has said EHLO.
async fn greeted(server: &TestServer) -> SmtpClient {
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rset_answers_250_2_0_0_and_forgets_the_transaction() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_reply(&c.cmd("RSET").await, 250, "2.0.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_reply(&c.cmd("DATA").await, 503, "5.5.1");
    // The greeting survives RSET: MAIL works without a new EHLO.
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RSET extra").await, 501, "5.5.4");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noop_answers_250_2_0_0_with_or_without_argument() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    // NOOP is allowed before EHLO.
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_reply(&c.cmd("noop anything at all").await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vrfy_answers_252_without_revealing_anything() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    let existing = c.cmd("VRFY alice@example.org").await;
    let unknown = c.cmd("VRFY nobody@example.org").await;
    assert_reply(&existing, 252, "2.0.0");
    assert_eq!(existing, unknown, "VRFY must not tell accounts apart");
    assert_reply(&c.cmd("VRFY").await, 501, "5.5.4");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expn_is_not_available_502() {
    let server = TestServer::start().await;
    server
        .directory
        .add_alias(
            "team@example.org",
            &["alice@example.org".into(), "bob@example.org".into()],
        )
        .await
        .expect("alias");
    let mut c = greeted(&server).await;
    let (code, text) = c.cmd("EXPN team@example.org").await;
    assert_reply(&(code, text.clone()), 502, "5.5.1");
    assert!(!text.contains("alice"), "{text:?}");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_answers_214() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("HELP").await, 214, "2.0.0");
    assert_reply(&c.cmd("HELP MAIL").await, 214, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quit_answers_221_and_closes() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    let (code, text) = c.cmd("QUIT").await;
    assert_reply(&(code, text.clone()), 221, "2.0.0");
    assert!(text.contains("mx.example.org"), "{text:?}");
    assert!(c.closed().await);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_command_is_rejected_with_500_5_5_1() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("XYZZY").await, 500, "5.5.1");
    assert_reply(&c.cmd("GET / HTTP/1.1").await, 500, "5.5.1");
    assert_reply(&c.cmd("").await, 500, "5.5.2");
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_bad_commands_end_the_session_with_421() {
    let server = TestServer::start_with(|cfg| cfg.max_bad_commands = 3).await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("XYZZY").await, 500, "5.5.1");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_reply(&c.cmd("XYZZY").await, 500, "5.5.1");
    assert_reply(&c.read_reply().await, 421, "4.7.0");
    assert!(c.closed().await);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_commands_do_not_count_toward_the_bad_command_limit() {
    let server = TestServer::start_with(|cfg| cfg.max_bad_commands = 3).await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("XYZZY").await, 500, "5.5.1");
    assert_reply(&c.cmd("XYZZY").await, 500, "5.5.1");
    for _ in 0..5 {
        assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    }
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_long_command_line_is_refused_with_500_5_5_2_and_the_session_goes_on() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    let long = format!("MAIL FROM:<{}@example.com>", "x".repeat(5000));
    assert_reply(&c.cmd(&long).await, 500, "5.5.2");
    // The line was not half-executed: there is no transaction.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    // A line far beyond the read buffer too.
    let huge = format!("NOOP {}", "y".repeat(100_000));
    assert_reply(&c.cmd(&huge).await, 500, "5.5.2");
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_of_exactly_the_limit_is_accepted_and_one_more_octet_is_not() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    // MAX_COMMAND_LINE (4096) counts the line without its CRLF.
    let at_limit = format!("NOOP {}", "x".repeat(4096 - 5));
    assert_eq!(at_limit.len(), 4096);
    assert_reply(&c.cmd(&at_limit).await, 250, "2.0.0");
    let over = format!("NOOP {}", "x".repeat(4096 - 4));
    assert_reply(&c.cmd(&over).await, 500, "5.5.2");
    // The limit holds when the line arrives in pieces, CR and LF apart.
    c.send_raw(at_limit.as_bytes()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.send_raw(b"\r").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.send_raw(b"\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_timeout_ends_the_session_with_421_4_4_2() {
    let server = TestServer::start_with(|cfg| cfg.command_timeout = Duration::from_secs(1)).await;
    let mut c = greeted(&server).await;
    let started = Instant::now();
    assert_reply(&c.read_reply().await, 421, "4.4.2");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(c.closed().await);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_timeout_applies_to_a_partial_line() {
    let server = TestServer::start_with(|cfg| cfg.command_timeout = Duration::from_secs(1)).await;
    let mut c = greeted(&server).await;
    c.send_raw(b"NOOP with no end").await;
    assert_reply(&c.read_reply().await, 421, "4.4.2");
    assert!(c.closed().await);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_timeout_counts_from_the_start_of_the_line_not_from_the_last_byte() {
    let server = TestServer::start_with(|cfg| cfg.command_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(server.smtp_addr).await.expect("connect");
    let mut greeting = [0u8; 256];
    let n = stream.read(&mut greeting).await.expect("greeting");
    assert!(greeting[..n].starts_with(b"220 "));
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    // One byte every 200 ms for 4 s: every read is in time, the line never is.
    let trickle = tokio::spawn(async move {
        for b in b"NOOP slowly, slowly".iter().cycle().take(20) {
            if writer.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut received)).await;
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("421 4.4.2 "), "{text:?}");
    assert!(
        elapsed < Duration::from_millis(2500),
        "closed only after {elapsed:?}"
    );
    trickle.abort();
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_never_reads_its_replies_is_disconnected() {
    let server = TestServer::start_with(|cfg| cfg.command_timeout = Duration::from_secs(1)).await;
    let stream = TcpStream::connect(server.smtp_addr).await.expect("connect");
    let (_reader, mut writer) = stream.into_split();
    // Pipelined NOOPs whose replies (more than twice their size) are never read: the
    // server's writes block once the socket buffers are full.
    let flood = tokio::spawn(async move {
        let chunk = b"NOOP\r\n".repeat(10_000);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if writer.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut open = u32::MAX;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        open = server.smtp.open_sessions();
        if open == 0 {
            break;
        }
    }
    assert_eq!(
        open, 0,
        "the session is stuck writing to a client that does not read"
    );
    flood.abort();
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_on_the_mx_listener_is_refused_with_502() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("AUTH PLAIN AGFsaWNlAHBhc3N3b3Jk").await,
        502,
        "5.5.1",
    );
    assert_reply(&c.cmd("AUTH LOGIN").await, 502, "5.5.1");
    // Still unauthenticated, still an MX: relaying is refused.
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<victim@evil.example>").await, 554, "5.7.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_per_ip_limit_get_421_4_7_0_and_are_closed() {
    let server = TestServer::start_with(|cfg| cfg.max_connections_per_ip = 1).await;
    let mut first = greeted(&server).await;
    let mut second = SmtpClient::connect(server.smtp_addr).await;
    assert_reply(&second.read_reply().await, 421, "4.7.0");
    assert!(second.closed().await);
    // The first session is unaffected.
    assert_reply(&first.cmd("NOOP").await, 250, "2.0.0");
    // Once it ends, its slot is free again.
    assert_reply(&first.cmd("QUIT").await, 221, "2.0.0");
    assert!(first.closed().await);
    let mut admitted = false;
    for _ in 0..100 {
        let mut next = SmtpClient::connect(server.smtp_addr).await;
        match next.read_reply().await.0 {
            220 => {
                admitted = true;
                break;
            }
            421 => tokio::time::sleep(Duration::from_millis(20)).await,
            other => panic!("unexpected greeting {other}"),
        }
    }
    assert!(admitted, "the slot was never released");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_connection_limit_gives_421() {
    let server = TestServer::start_with(|cfg| cfg.max_connections = 2).await;
    let _a = greeted(&server).await;
    let _b = greeted(&server).await;
    let mut third = SmtpClient::connect(server.smtp_addr).await;
    let (code, _) = third.read_reply().await;
    assert_eq!(code, 421);
    assert!(third.closed().await);
    assert_eq!(server.smtp.open_sessions(), 2);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_an_idle_session_421_4_3_2() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    server.stop();
    assert_reply(&c.read_reply().await, 421, "4.3.2");
    assert!(c.closed().await);
    assert_eq!(server.smtp.delivered(), 0);
    assert_eq!(server.smtp.panics(), 0);
}
