//! Session tests of DATA (RFC 5321 §4.1.1.4): trace headers (§4.4), dot-stuffing (§4.5.2),
//! size limit (RFC 1870 §6), content checks, durability and reset after the message.

use std::time::Duration;

use mailstead_testkit::{SmtpClient, TestServer, assert_reply};

/// A client after EHLO, `MAIL FROM:<sender@example.com>` (with `mail_params`) and a RCPT
/// for each of `to`.
async fn with_recipients(server: &TestServer, mail_params: &str, to: &[&str]) -> SmtpClient {
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(
        &c.cmd(&format!("MAIL FROM:<sender@example.com>{mail_params}"))
            .await,
        250,
        "2.1.0",
    );
    for rcpt in to {
        assert_reply(&c.cmd(&format!("RCPT TO:<{rcpt}>")).await, 250, "2.1.5");
    }
    c
}

/// Splits a stored message into its trace header block (Return-Path and Received, with
/// continuation lines) and the message as the client sent it.
fn split_trace(raw: &[u8]) -> (String, &[u8]) {
    let mut pos = 0;
    for field in ["Return-Path:", "Received:"] {
        assert!(
            raw[pos..].starts_with(field.as_bytes()),
            "expected {field} at {pos} in {:?}",
            String::from_utf8_lossy(raw)
        );
        // The field ends at the first CRLF not followed by folding white space.
        loop {
            let Some(crlf) = raw[pos..].windows(2).position(|w| w == b"\r\n") else {
                panic!("unterminated {field}");
            };
            pos += crlf + 2;
            if !matches!(raw.get(pos), Some(b' ' | b'\t')) {
                break;
            }
        }
    }
    (
        String::from_utf8_lossy(&raw[..pos]).into_owned(),
        &raw[pos..],
    )
}

/// The one message in `user`'s INBOX.
async fn only_message(
    server: &TestServer,
    user: &str,
) -> (mailstead_store::model::Message, Vec<u8>) {
    let mut inbox = server.inbox(user).await;
    assert_eq!(inbox.len(), 1, "messages in {user}");
    inbox.remove(0)
}

const BODY: &[u8] =
    b"From: sender@example.com\r\nTo: alice@example.org\r\nSubject: test\r\n\r\nHello Alice.\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_message_has_trace_headers_and_the_exact_body() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(BODY).await;
    c.send_raw(b".\r\n").await;
    let (code, reply) = c.read_reply().await;
    assert_reply(&(code, reply.clone()), 250, "2.0.0");
    let (message, raw) = only_message(&server, "alice@example.org").await;
    let (trace, body) = split_trace(&raw);
    assert_eq!(body, BODY);
    // The id in the reply is the one in the Received header, for tracing a message.
    let id = reply.rsplit(' ').next().unwrap_or_default();
    assert!(id.len() >= 8, "{reply:?}");
    assert!(trace.contains(&format!(" id {id}")), "{id} not in {trace}");
    assert_eq!(message.size, raw.len() as u64);
    assert!(
        trace.starts_with(
            "Return-Path: <sender@example.com>\r\nReceived: from client.example ([127.0.0.1])"
        ),
        "{trace}"
    );
    assert!(trace.contains("by mx.example.org "), "{trace}");
    assert!(trace.contains(" with ESMTP "), "{trace}");
    assert!(trace.contains("for <alice@example.org>;"), "{trace}");
    assert!(!trace.contains("version="), "no TLS: {trace}");
    assert_eq!(server.smtp.delivered(), 1);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_header_names_no_recipient_when_there_are_two() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org", "bob@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: two\r\n\r\nhi\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "bob@example.org").await;
    let (trace, body) = split_trace(&raw);
    assert_eq!(body, b"Subject: two\r\n\r\nhi\r\n");
    assert!(trace.contains("by mx.example.org "), "{trace}");
    assert!(!trace.contains("for <"), "{trace}");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helo_session_is_recorded_with_smtp_and_utf8_with_utf8smtp() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("HELO old.example").await.0, 250);
    assert_eq!(c.cmd("MAIL FROM:<sender@example.com>").await.0, 250);
    assert_eq!(c.cmd("RCPT TO:<alice@example.org>").await.0, 250);
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: old\r\n\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    let (trace, _) = split_trace(&raw);
    assert!(trace.contains("from old.example "), "{trace}");
    assert!(trace.contains(" with SMTP "), "{trace}");

    let mut c = with_recipients(&server, " SMTPUTF8", &["bob@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: new\r\n\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "bob@example.org").await;
    let (trace, _) = split_trace(&raw);
    assert!(trace.contains(" with UTF8SMTP "), "{trace}");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_helo_name_cannot_break_the_received_header() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO x(y);z\\w").await.0, 250);
    assert_eq!(c.cmd("MAIL FROM:<sender@example.com>").await.0, 250);
    assert_eq!(c.cmd("RCPT TO:<alice@example.org>").await.0, 250);
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: h\r\n\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    let (trace, body) = split_trace(&raw);
    assert!(trace.contains("from xyzw ([127.0.0.1])"), "{trace}");
    assert_eq!(body, b"Subject: h\r\n\r\n");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_stuffing_is_undone() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: dots\r\n\r\n..hidden\r\n...\r\n..\r\nmid.dle\r\n.\r\n")
        .await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    let (_, body) = split_trace(&raw);
    assert_eq!(
        body,
        b"Subject: dots\r\n\r\n.hidden\r\n..\r\n.\r\nmid.dle\r\n"
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_marker_split_across_writes_is_recognised() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    for piece in [
        &b"Subject: split\r\n\r\nbody\r"[..],
        b"\n.",
        b"\r",
        b"\nNOOP\r\n",
    ] {
        c.send_raw(piece).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    assert_eq!(split_trace(&raw).1, b"Subject: split\r\n\r\nbody\r\n");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_for_two_recipients_is_stored_once_as_one_blob() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org", "bob@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: shared\r\n\r\nsame bytes\r\n.\r\n")
        .await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (a, raw_a) = only_message(&server, "alice@example.org").await;
    let (b, raw_b) = only_message(&server, "bob@example.org").await;
    assert_eq!(a.blob_id, b.blob_id);
    assert_eq!(raw_a, raw_b);
    assert_ne!(a.mailbox_id, b.mailbox_id);
    assert_eq!(server.smtp.delivered(), 1);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_message_is_accepted_and_stored_with_trace_headers_only() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b".\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    let (_, body) = split_trace(&raw);
    assert!(body.is_empty(), "{body:?}");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_without_recipients_is_rejected_with_554_and_without_mail_with_503() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("DATA").await, 503, "5.5.1");
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<nobody@example.org>").await, 550, "5.1.1");
    assert_reply(&c.cmd("DATA").await, 554, "5.5.0");
    // No 354 was sent, so what follows is read as commands again.
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.delivered(), 0);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_over_the_size_limit_is_refused_with_552_and_the_session_goes_on() {
    let server = TestServer::start_with(|cfg| cfg.max_message_size = 2048).await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..40 {
        big.extend_from_slice(&[b'x'; 98]);
        big.extend_from_slice(b"\r\n");
    }
    big.extend_from_slice(b".\r\n");
    c.send_raw(&big).await;
    assert_reply(&c.read_reply().await, 552, "5.3.4");
    assert!(server.inbox("alice@example.org").await.is_empty());
    // The transaction is over, and the lines of the refused message were not commands.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    let (code, text) = c
        .send_mail(
            "sender@example.com",
            &["alice@example.org"],
            "Subject: small\r\n\r\nok\r\n",
        )
        .await;
    assert_reply(&(code, text), 250, "2.0.0");
    assert_eq!(server.inbox("alice@example.org").await.len(), 1);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_of_exactly_the_size_limit_is_accepted() {
    let server = TestServer::start_with(|cfg| cfg.max_message_size = 2048).await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    let mut body = Vec::new();
    while body.len() < 2048 - 100 {
        body.extend_from_slice(&[b'y'; 98]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(&vec![b'z'; 2048 - body.len() - 2]);
    body.extend_from_slice(b"\r\n");
    assert_eq!(body.len(), 2048);
    c.send_raw(&body).await;
    c.send_raw(b".\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    assert_eq!(split_trace(&raw).1, body.as_slice());
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_with_nul_is_rejected_with_554_5_6_0() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: nul\r\n\r\na\0b\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 554, "5.6.0");
    assert!(server.inbox("alice@example.org").await.is_empty());
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_lf_lines_are_stored_with_crlf() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: bare\n\nline one\nline two\r\n.\r\n")
        .await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    let (_, body) = split_trace(&raw);
    assert_eq!(body, b"Subject: bare\r\n\r\nline one\r\nline two\r\n");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_lf_dot_does_not_end_the_message_so_nothing_is_smuggled() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    // Another MTA might end the message at "\n.\n" and take what follows as a second
    // transaction for bob (SMTP smuggling). Here it is all one message for alice.
    c.send_raw(
        b"Subject: one\r\n\r\nfirst\n.\nMAIL FROM:<spoof@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\n",
    )
    .await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    // Exactly one reply came: the next one belongs to our NOOP.
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    let (_, body) = split_trace(&raw);
    assert!(
        body.starts_with(b"Subject: one\r\n\r\nfirst\r\n"),
        "{body:?}"
    );
    assert!(body.ends_with(b"Subject: smuggled\r\n\r\n"), "{body:?}");
    assert!(server.inbox("bob@example.org").await.is_empty());
    assert_eq!(server.smtp.delivered(), 1);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_bit_body_is_stored_intact() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, " BODY=8BITMIME", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    let body: &[u8] = b"Subject: caf\xc3\xa9\r\nContent-Transfer-Encoding: 8bit\r\n\r\nd\xe9j\xe0 vu \xff\xfe\x80\r\n";
    c.send_raw(body).await;
    c.send_raw(b".\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let (_, raw) = only_message(&server, "alice@example.org").await;
    assert_eq!(split_trace(&raw).1, body);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnecting_mid_data_leaves_nothing_stored() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: cut\r\n\r\nhalf a message\r\n").await;
    drop(c);
    // Wait for the session to notice and end.
    for _ in 0..100 {
        if server.smtp.open_sessions() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.smtp.open_sessions(), 0);
    assert!(server.inbox("alice@example.org").await.is_empty());
    assert_eq!(server.smtp.delivered(), 0);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_to_one_mailbox_are_all_stored_with_distinct_uids() {
    let server = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let addr = server.smtp_addr;
        tasks.push(tokio::spawn(async move {
            let mut c = SmtpClient::connect(addr).await;
            assert_eq!(c.read_reply().await.0, 220);
            c.send_mail(
                "sender@example.com",
                &["alice@example.org", "bob@example.org"],
                &format!("Subject: parallel {i}\r\n\r\nbody {i}\r\n"),
            )
            .await
        }));
    }
    for t in tasks {
        let reply = t.await.expect("client task");
        assert_reply(&reply, 250, "2.0.0");
    }
    for user in ["alice@example.org", "bob@example.org"] {
        let inbox = server.inbox(user).await;
        assert_eq!(inbox.len(), 12, "{user}");
        let mut uids: Vec<_> = inbox.iter().map(|(m, _)| m.uid).collect();
        uids.dedup();
        assert_eq!(uids.len(), 12, "{user}: {uids:?}");
    }
    assert_eq!(server.smtp.delivered(), 12);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_is_reset_after_data() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: first\r\n\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    // Recipients are not carried over, and a new MAIL is not "nested".
    assert_reply(&c.cmd("RCPT TO:<bob@example.org>").await, 503, "5.5.1");
    assert_reply(&c.cmd("DATA").await, 503, "5.5.1");
    assert_reply(&c.cmd("MAIL FROM:<other@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<bob@example.org>").await, 250, "2.1.5");
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: second\r\n\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(server.inbox("alice@example.org").await.len(), 1);
    let (_, raw) = only_message(&server, "bob@example.org").await;
    assert!(raw.starts_with(b"Return-Path: <other@example.com>\r\n"));
    assert_eq!(server.smtp.delivered(), 2);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failure_is_answered_451_4_3_0_and_nothing_is_acknowledged() {
    let server = TestServer::start().await;
    // The blob store writes through `<root>/tmp/`; a file in its place makes every put fail.
    let tmp = server.dir.path().join("blobs").join("tmp");
    std::fs::remove_dir_all(&tmp).expect("remove tmp");
    std::fs::write(&tmp, b"not a directory").expect("block tmp");
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: lost?\r\n\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 451, "4.3.0");
    assert_eq!(server.smtp.delivered(), 0);
    assert!(server.inbox("alice@example.org").await.is_empty());
    // The transaction is over; once the store works again, so does the next one.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    std::fs::remove_file(&tmp).expect("unblock tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let (code, text) = c
        .send_mail(
            "sender@example.com",
            &["alice@example.org"],
            "Subject: retry\r\n\r\n",
        )
        .await;
    assert_reply(&(code, text), 250, "2.0.0");
    assert_eq!(server.inbox("alice@example.org").await.len(), 1);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_message_in_progress_finish_then_says_421() {
    let server = TestServer::start().await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: last one\r\n\r\n").await;
    server.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.send_raw(b"finished after the stop\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_reply(&c.read_reply().await, 421, "4.3.2");
    assert!(c.closed().await);
    let (_, raw) = only_message(&server, "alice@example.org").await;
    assert!(raw.ends_with(b"\r\nfinished after the stop\r\n"));
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_timeout_closes_with_421_4_4_2_and_stores_nothing() {
    let server = TestServer::start_with(|cfg| cfg.data_timeout = Duration::from_secs(1)).await;
    let mut c = with_recipients(&server, "", &["alice@example.org"]).await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: slow\r\n\r\nand then nothing").await;
    assert_reply(&c.read_reply().await, 421, "4.4.2");
    assert!(c.closed().await);
    assert!(server.inbox("alice@example.org").await.is_empty());
    assert_eq!(server.smtp.panics(), 0);
}
