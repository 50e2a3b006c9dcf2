//! Session tests of MAIL FROM (RFC 5321 §4.1.1.2) and its parameters: SIZE (RFC 1870),
//! BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET and ENVID (RFC 3461), REQUIRETLS
//! (RFC 8689).

use mailstead_testkit::{SmtpClient, TestServer, assert_reply};

/// A client that has said EHLO.
async fn greeted(server: &TestServer) -> SmtpClient {
    let mut c = server.smtp_client().await;
    let (code, text) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250, "{text}");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_from_is_accepted_with_250_2_1_0() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    // The transaction exists: a recipient can follow.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_from_keyword_is_case_insensitive() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("mail from:<sender@example.com>").await, 250, "2.1.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_sender_is_accepted_and_recorded_as_empty_return_path() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("MAIL FROM:<>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: bounce\r\n\r\nreport\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let inbox = server.inbox("alice@example.org").await;
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].1.starts_with(b"Return-Path: <>\r\n"));
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_mail_is_rejected_with_503() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("MAIL FROM:<first@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("MAIL FROM:<second@example.com>").await, 503, "5.5.1");
    // The first transaction is intact.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: t\r\n\r\nbody\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let inbox = server.inbox("alice@example.org").await;
    assert!(
        inbox[0]
            .1
            .starts_with(b"Return-Path: <first@example.com>\r\n")
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_size_over_the_limit_is_rejected_with_552_5_3_4() {
    let server = TestServer::start_with(|cfg| cfg.max_message_size = 2048).await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> SIZE=2049").await,
        552,
        "5.3.4",
    );
    // No transaction was started.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    // Exactly at the limit is fine.
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> SIZE=2048").await,
        250,
        "2.1.0",
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_size_value_is_refused_without_overflow() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> SIZE=18446744073709551615")
            .await,
        552,
        "5.3.4",
    );
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> SIZE=99999999999999999999")
            .await,
        501,
        "5.5.4",
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_parameter_is_rejected_with_555_5_5_4() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> XFOO=bar").await,
        555,
        "5.5.4",
    );
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sender_is_rejected_with_501_5_1_7() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("MAIL FROM:sender@example.com").await, 501, "5.1.7");
    assert_reply(&c.cmd("MAIL FROM:<sender@>").await, 501, "5.1.7");
    assert_reply(&c.cmd("MAIL FROM:<a..b@example.com>").await, 501, "5.1.7");
    assert_reply(&c.cmd("MAIL TO:<sender@example.com>").await, 501, "5.5.4");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_8bitmime_and_7bit_are_accepted() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> BODY=8BITMIME").await,
        250,
        "2.1.0",
    );
    assert_reply(&c.cmd("RSET").await, 250, "2.0.0");
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> BODY=7bit").await,
        250,
        "2.1.0",
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_binarymime_is_refused_because_it_is_not_offered() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> BODY=BINARYMIME")
            .await,
        555,
        "5.5.4",
    );
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_sender_with_smtputf8_is_accepted() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<jösé@bücher.example> SMTPUTF8").await,
        250,
        "2.1.0",
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_sender_without_smtputf8_is_rejected_with_553_5_6_7() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(&c.cmd("MAIL FROM:<jösé@example.com>").await, 553, "5.6.7");
    assert_reply(
        &c.cmd("MAIL FROM:<jose@bücher.example>").await,
        553,
        "5.6.7",
    );
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_after_helo_are_refused_but_plain_mail_works() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("HELO client.example").await.0, 250);
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> SIZE=100").await,
        555,
        "5.5.4",
    );
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> BODY=8BITMIME").await,
        555,
        "5.5.4",
    );
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsn_ret_and_envid_are_accepted() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> RET=HDRS ENVID=QQ314159+2Bx")
            .await,
        250,
        "2.1.0",
    );
    assert_reply(
        &c.cmd("RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.org")
            .await,
        250,
        "2.1.5",
    );
    assert_reply(&c.cmd("RSET").await, 250, "2.0.0");
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> RET=FULL").await,
        250,
        "2.1.0",
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_dsn_values_are_rejected_with_501() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> RET=SOME").await,
        501,
        "5.5.4",
    );
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> RET=FULL RET=HDRS")
            .await,
        501,
        "5.5.4",
    );
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(
        &c.cmd("RCPT TO:<alice@example.org> NOTIFY=NEVER,SUCCESS")
            .await,
        501,
        "5.5.4",
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requiretls_is_refused_in_clear_with_530_5_7_10_and_accepted_over_tls() {
    let server = TestServer::start().await;
    let mut c = greeted(&server).await;
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> REQUIRETLS").await,
        530,
        "5.7.10",
    );
    let mut c = c.starttls(server.tls_client.clone()).await;
    let (code, ehlo) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    assert!(ehlo.lines().any(|l| l == "REQUIRETLS"), "{ehlo}");
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> REQUIRETLS").await,
        250,
        "2.1.0",
    );
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_eq!(server.smtp.panics(), 0);
}
