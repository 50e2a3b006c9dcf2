//! Session tests of STARTTLS (RFC 3207): handshake, capability list afterwards, state
//! reset (§4.2), plaintext pipelined after STARTTLS discarded, trace header over TLS.

use mailstead_testkit::{SmtpClient, TestServer, assert_reply};

/// EHLO, STARTTLS and the handshake; returns the client over TLS (before a new EHLO).
async fn over_tls(server: &TestServer) -> SmtpClient {
    let mut c = server.smtp_client().await;
    let (code, ehlo) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    assert!(ehlo.lines().any(|l| l == "STARTTLS"), "{ehlo:?}");
    assert_reply(&c.cmd("STARTTLS").await, 220, "2.0.0");
    c.upgrade(server.tls_client.clone(), "mx.example.org").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_upgrades_and_ehlo_no_longer_offers_it() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    let (code, ehlo) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    let capabilities: Vec<&str> = ehlo.lines().skip(1).collect();
    assert!(!capabilities.contains(&"STARTTLS"), "{capabilities:?}");
    for expected in [
        "PIPELINING",
        "8BITMIME",
        "SMTPUTF8",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "DSN",
        "REQUIRETLS",
    ] {
        assert!(
            capabilities.contains(&expected),
            "{expected}: {capabilities:?}"
        );
    }
    // The MX takes no logins, over TLS either.
    assert!(
        !capabilities.iter().any(|c| c.starts_with("AUTH")),
        "{capabilities:?}"
    );
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_over_tls_is_recorded_as_esmtps_with_the_tls_version() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    let (code, text) = c
        .send_mail(
            "sender@example.com",
            &["alice@example.org"],
            "Subject: secret\r\n\r\nover TLS\r\n",
        )
        .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let inbox = server.inbox("alice@example.org").await;
    assert_eq!(inbox.len(), 1);
    let raw = String::from_utf8_lossy(&inbox[0].1).into_owned();
    let received = raw
        .split("\r\nSubject:")
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(received.contains(" with ESMTPS "), "{received}");
    assert!(received.contains("version=TLSv1_3"), "{received}");
    assert!(received.contains("cipher=TLS13_"), "{received}");
    assert!(received.contains("for <alice@example.org>"), "{received}");
    assert!(
        raw.ends_with("\r\nSubject: secret\r\n\r\nover TLS\r\n"),
        "{raw}"
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_reset_after_starttls() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    // RFC 3207 §4.2: the client must say EHLO again.
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 503, "5.5.1");
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_begun_in_plaintext_does_not_survive_starttls() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<plain@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("STARTTLS").await, 220, "2.0.0");
    let mut c = c.upgrade(server.tls_client.clone(), "mx.example.org").await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noop_pipelined_after_starttls_is_discarded() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    c.send_raw(b"STARTTLS\r\nNOOP\r\n").await;
    // Only the 220 in plaintext: a plaintext 250 for NOOP would break the handshake.
    assert_reply(&c.read_reply().await, 220, "2.0.0");
    let mut c = c.upgrade(server.tls_client.clone(), "mx.example.org").await;
    // The first reply over TLS belongs to our EHLO, not to the injected NOOP.
    let (code, ehlo) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    assert!(ehlo.starts_with("mx.example.org "), "{ehlo:?}");
    assert!(ehlo.lines().any(|l| l == "CHUNKING"), "{ehlo:?}");
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_injected_before_the_handshake_is_discarded() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    // The CVE-2011-0411 attack: plaintext commands that would be run after the handshake.
    c.send_raw(
        b"STARTTLS\r\nEHLO evil.example\r\nMAIL FROM:<spoof@evil.example>\r\nRCPT TO:<bob@example.org>\r\n",
    )
    .await;
    assert_reply(&c.read_reply().await, 220, "2.0.0");
    let mut c = c.upgrade(server.tls_client.clone(), "mx.example.org").await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    // Neither the injected MAIL nor the RCPT took effect.
    assert_reply(&c.cmd("DATA").await, 503, "5.5.1");
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert!(server.inbox("bob@example.org").await.is_empty());
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_starttls_is_rejected_with_503() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("STARTTLS").await, 503, "5.5.1");
    // The TLS session goes on.
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_an_argument_is_a_syntax_error() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("STARTTLS now").await, 501, "5.5.4");
    // Still plaintext: a plain command is answered.
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_handshake_ends_only_that_session() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("STARTTLS").await, 220, "2.0.0");
    // Not a ClientHello: the server gives up on this connection.
    c.send_raw(b"this is not TLS\r\n").await;
    assert!(c.closed().await);
    // Others are served.
    let mut other = server.smtp_client().await;
    assert_reply(&other.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}
