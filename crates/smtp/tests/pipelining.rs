//! Session tests of PIPELINING (RFC 2920): commands sent in one write are answered in
//! order, and the server keeps what follows a command in its buffer.

use mailstead_testkit::{TestServer, assert_reply};

/// Subjects of the messages in a user's INBOX, in order.
async fn subjects(server: &TestServer, user: &str) -> Vec<String> {
    server
        .inbox(user)
        .await
        .into_iter()
        .filter_map(|(_, raw)| {
            let text = String::from_utf8_lossy(&raw).into_owned();
            text.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_rcpt_rcpt_data_in_one_write_get_four_replies_in_order() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    c.send_raw(
        b"MAIL FROM:<sender@example.com>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
    )
    .await;
    assert_reply(&c.read_reply().await, 250, "2.1.0");
    assert_reply(&c.read_reply().await, 250, "2.1.5");
    assert_reply(&c.read_reply().await, 250, "2.1.5");
    assert_eq!(c.read_reply().await.0, 354);
    c.send_raw(b"Subject: batch\r\n\r\nhi\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(subjects(&server, "alice@example.org").await, ["batch"]);
    assert_eq!(subjects(&server, "bob@example.org").await, ["batch"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_recipient_in_a_batch_does_not_disturb_the_others() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    c.send_raw(
        b"EHLO client.example\r\nMAIL FROM:<sender@example.com>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<victim@evil.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n",
    )
    .await;
    assert_eq!(c.read_reply().await.0, 250);
    assert_reply(&c.read_reply().await, 250, "2.1.0");
    assert_reply(&c.read_reply().await, 550, "5.1.1");
    assert_reply(&c.read_reply().await, 554, "5.7.1");
    assert_reply(&c.read_reply().await, 250, "2.1.5");
    assert_eq!(c.read_reply().await.0, 354);
    c.send_raw(b"Subject: survivor\r\n\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(subjects(&server, "alice@example.org").await, ["survivor"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_without_valid_recipient_ends_with_554_to_data() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    c.send_raw(
        b"MAIL FROM:<sender@example.com>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\nNOOP\r\n",
    )
    .await;
    assert_reply(&c.read_reply().await, 250, "2.1.0");
    assert_reply(&c.read_reply().await, 550, "5.1.1");
    assert_reply(&c.read_reply().await, 554, "5.5.0");
    // DATA got no 354, so the next line is a command.
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(server.smtp.delivered(), 0);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ehlo_to_data_in_one_write_then_message_and_quit_in_another() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    c.send_raw(
        b"EHLO client.example\r\nMAIL FROM:<sender@example.com>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n",
    )
    .await;
    let (code, ehlo) = c.read_reply().await;
    assert_eq!(code, 250);
    assert!(ehlo.lines().any(|l| l == "PIPELINING"), "{ehlo:?}");
    assert_reply(&c.read_reply().await, 250, "2.1.0");
    assert_reply(&c.read_reply().await, 250, "2.1.5");
    assert_eq!(c.read_reply().await.0, 354);
    // RFC 2920 §3.1: after 354 the client may send the message and what follows at once.
    c.send_raw(b"Subject: at once\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        .await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_reply(&c.read_reply().await, 221, "2.0.0");
    assert!(c.closed().await);
    assert_eq!(subjects(&server, "alice@example.org").await, ["at once"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bdat_transactions_and_quit_in_a_single_write() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    let mut wire = Vec::new();
    for (rcpt, subject) in [
        ("alice@example.org", "first"),
        ("bob@example.org", "second"),
    ] {
        let message = format!("Subject: {subject}\r\n\r\nbody\r\n");
        wire.extend_from_slice(
            format!(
                "MAIL FROM:<sender@example.com>\r\nRCPT TO:<{rcpt}>\r\nBDAT {} LAST\r\n{message}",
                message.len()
            )
            .as_bytes(),
        );
    }
    wire.extend_from_slice(b"QUIT\r\n");
    c.send_raw(&wire).await;
    for _ in 0..2 {
        assert_reply(&c.read_reply().await, 250, "2.1.0");
        assert_reply(&c.read_reply().await, 250, "2.1.5");
        assert_reply(&c.read_reply().await, 250, "2.0.0");
    }
    assert_reply(&c.read_reply().await, 221, "2.0.0");
    assert!(c.closed().await);
    assert_eq!(subjects(&server, "alice@example.org").await, ["first"]);
    assert_eq!(subjects(&server, "bob@example.org").await, ["second"]);
    assert_eq!(server.smtp.delivered(), 2);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rset_and_noop_pipelined_between_transactions() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    c.send_raw(
        b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<alice@example.org>\r\nRSET\r\nRCPT TO:<alice@example.org>\r\nNOOP\r\n",
    )
    .await;
    assert_eq!(c.read_reply().await.0, 250);
    assert_reply(&c.read_reply().await, 250, "2.1.0");
    assert_reply(&c.read_reply().await, 250, "2.1.5");
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_reply(&c.read_reply().await, 503, "5.5.1");
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(server.smtp.panics(), 0);
}
