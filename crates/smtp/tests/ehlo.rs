//! Session tests of the greeting, EHLO and HELO (RFC 5321 §4.1.1.1, §4.1.4; RFC 2034 §3).

use mailstead_testkit::{SmtpClient, TestServer, assert_reply};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greeting_is_220_with_our_hostname_and_no_enhanced_code() {
    let server = TestServer::start().await;
    let mut c = SmtpClient::connect(server.smtp_addr).await;
    let (code, text) = c.read_reply().await;
    assert_eq!(code, 220);
    // RFC 2034 §3: no enhanced code before EHLO.
    assert!(text.starts_with("mx.example.org "), "{text:?}");
    assert!(text.contains("ESMTP"), "{text:?}");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ehlo_lists_every_extension_with_the_size_limit() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    let (code, text) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("mx.example.org "), "{first:?}");
    assert!(first.contains("client.example"), "{first:?}");
    let capabilities: Vec<&str> = lines.collect();
    for expected in [
        "PIPELINING",
        "SIZE 10485760",
        "8BITMIME",
        "SMTPUTF8",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "DSN",
        "STARTTLS",
    ] {
        assert!(
            capabilities.contains(&expected),
            "{expected} missing from {capabilities:?}"
        );
    }
    // Not offered: a capability the server does not implement must not be advertised.
    for absent in ["BINARYMIME", "AUTH", "REQUIRETLS"] {
        assert!(
            !capabilities.iter().any(|c| c.starts_with(absent)),
            "{absent} advertised: {capabilities:?}"
        );
    }
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ehlo_advertises_the_configured_size_limit() {
    let server = TestServer::start_with(|cfg| cfg.max_message_size = 2048).await;
    let mut c = server.smtp_client().await;
    let (code, text) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    assert!(text.lines().any(|l| l == "SIZE 2048"), "{text:?}");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helo_is_answered_with_one_line_and_allows_a_transaction() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    let (code, text) = c.cmd("HELO client.example").await;
    assert_eq!(code, 250);
    // One line, no capability list, no enhanced code (ENHANCEDSTATUSCODES needs EHLO).
    assert!(!text.contains('\n'), "{text:?}");
    assert!(text.starts_with("mx.example.org "), "{text:?}");
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_before_ehlo_is_rejected_with_503() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 503, "5.5.1");
    // The session goes on: after EHLO the same command works.
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ehlo_without_a_domain_is_rejected_with_501() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_reply(&c.cmd("EHLO").await, 501, "5.5.4");
    assert_reply(&c.cmd("EHLO   ").await, 501, "5.5.4");
    assert_reply(&c.cmd("HELO").await, 501, "5.5.4");
    // No greeting was recorded.
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 503, "5.5.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ehlo_in_the_middle_of_a_transaction_resets_it() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_reply(&c.cmd("DATA").await, 503, "5.5.1");
    // A new MAIL is not "nested": the old transaction is gone.
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_eq!(server.smtp.panics(), 0);
}
