//! Session tests of BDAT (RFC 3030 §2, CHUNKING): chunk sizes, LAST, refusals that still
//! consume the chunk, size limit across chunks, pipelining.

use mailstead_testkit::{SmtpClient, TestServer, assert_reply};

/// The wire form of one BDAT command with its chunk.
fn bdat(chunk: &[u8], last: bool) -> Vec<u8> {
    let mut out = format!(
        "BDAT {}{}\r\n",
        chunk.len(),
        if last { " LAST" } else { "" }
    )
    .into_bytes();
    out.extend_from_slice(chunk);
    out
}

/// A client after EHLO, MAIL and `RCPT TO:<alice@example.org>`.
async fn ready_for_alice(server: &TestServer) -> SmtpClient {
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    c
}

/// The message in alice's INBOX as the client sent it (trace headers removed).
async fn alice_body(server: &TestServer) -> Vec<u8> {
    let inbox = server.inbox("alice@example.org").await;
    assert_eq!(inbox.len(), 1, "messages for alice");
    let raw = &inbox[0].1;
    assert!(raw.starts_with(b"Return-Path: <sender@example.com>\r\nReceived: "));
    // The Received field ends at the first CRLF not followed by folding white space.
    let mut pos = raw
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("Return-Path line")
        + 2;
    loop {
        let crlf = raw[pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("end of Received");
        pos += crlf + 2;
        if !matches!(raw.get(pos), Some(b' ' | b'\t')) {
            break;
        }
    }
    raw[pos..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_chunk_with_last_is_delivered() {
    let server = TestServer::start().await;
    let mut c = ready_for_alice(&server).await;
    let message = b"Subject: chunk\r\n\r\none piece\r\n.\r\n";
    c.send_raw(&bdat(message, true)).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    // No dot-unstuffing with BDAT: the chunk is the message, a lone "." line included.
    assert_eq!(alice_body(&server).await, message);
    assert_eq!(server.smtp.delivered(), 1);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_of_odd_sizes_are_joined_exactly() {
    let server = TestServer::start().await;
    let mut c = ready_for_alice(&server).await;
    // 1 byte, 7 bytes, a chunk ending in CR whose LF opens the next one, then LAST.
    let chunks: [&[u8]; 4] = [b"S", b"ubject:", b" odd\r", b"\n\r\nbody\r\n"];
    for chunk in &chunks[..3] {
        c.send_raw(&bdat(chunk, false)).await;
        let (code, text) = c.read_reply().await;
        assert_reply(&(code, text.clone()), 250, "2.0.0");
        assert!(
            text.contains(&format!("{} octets", chunk.len())),
            "{text:?}"
        );
    }
    c.send_raw(&bdat(chunks[3], true)).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(alice_body(&server).await, b"Subject: odd\r\n\r\nbody\r\n");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bdat_zero_last_ends_the_message() {
    let server = TestServer::start().await;
    let mut c = ready_for_alice(&server).await;
    c.send_raw(&bdat(b"Subject: zero\r\n\r\nend follows\r\n", false))
        .await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_reply(&c.cmd("BDAT 0 LAST").await, 250, "2.0.0");
    assert_eq!(
        alice_body(&server).await,
        b"Subject: zero\r\n\r\nend follows\r\n"
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bdat_zero_last_alone_stores_an_empty_message() {
    let server = TestServer::start().await;
    let mut c = ready_for_alice(&server).await;
    assert_reply(&c.cmd("BDAT 0 LAST").await, 250, "2.0.0");
    assert!(alice_body(&server).await.is_empty());
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_after_bdat_is_rejected_with_503() {
    let server = TestServer::start().await;
    let mut c = ready_for_alice(&server).await;
    c.send_raw(&bdat(b"Subject: mixed\r\n", false)).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_reply(&c.cmd("DATA").await, 503, "5.5.1");
    // The chunked transaction continues.
    c.send_raw(&bdat(b"\r\nrest\r\n", true)).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(alice_body(&server).await, b"Subject: mixed\r\n\r\nrest\r\n");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_chunk_is_still_read_and_not_taken_as_commands() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    // Without MAIL: 503, and the chunk (which looks like QUIT) is skipped.
    c.send_raw(&bdat(b"QUIT\r\n", true)).await;
    assert_reply(&c.read_reply().await, 503, "5.5.1");
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    // With MAIL but no accepted recipient: 554, and the chunk is skipped too.
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<nobody@example.org>").await, 550, "5.1.1");
    c.send_raw(&bdat(b"QUIT\r\n", false)).await;
    assert_reply(&c.read_reply().await, 554, "5.5.0");
    assert_reply(&c.cmd("NOOP").await, 250, "2.0.0");
    assert_eq!(server.smtp.delivered(), 0);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_a_chunk_is_rejected_with_554_5_6_0() {
    let server = TestServer::start().await;
    let mut c = ready_for_alice(&server).await;
    c.send_raw(&bdat(b"Subject: nul\r\n\r\n", false)).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    c.send_raw(&bdat(b"a\0b\r\n", true)).await;
    assert_reply(&c.read_reply().await, 554, "5.6.0");
    assert!(server.inbox("alice@example.org").await.is_empty());
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limit_applies_across_chunks_with_552_5_3_4() {
    let server = TestServer::start_with(|cfg| cfg.max_message_size = 2048).await;
    let mut c = ready_for_alice(&server).await;
    c.send_raw(&bdat(&[b'a'; 1500], false)).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    c.send_raw(&bdat(&[b'b'; 1000], true)).await;
    assert_reply(&c.read_reply().await, 552, "5.3.4");
    assert!(server.inbox("alice@example.org").await.is_empty());
    // The session goes on: the transaction is gone, a new one works.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    c.send_raw(&bdat(&[b'c'; 2048], true)).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert_eq!(alice_body(&server).await, vec![b'c'; 2048]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_pipelined_after_a_too_big_one_are_discarded() {
    let server = TestServer::start_with(|cfg| cfg.max_message_size = 2048).await;
    let mut c = ready_for_alice(&server).await;
    let mut wire = bdat(&[b'a'; 3000], false);
    wire.extend_from_slice(&bdat(b"QUIT\r\n", true));
    wire.extend_from_slice(b"NOOP\r\n");
    c.send_raw(&wire).await;
    assert_reply(&c.read_reply().await, 552, "5.3.4");
    // The transaction ended with the 552; the next chunk is read and refused.
    assert_reply(&c.read_reply().await, 503, "5.5.1");
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    assert!(server.inbox("alice@example.org").await.is_empty());
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_bdat_commands_in_one_write_are_answered_in_order() {
    let server = TestServer::start().await;
    let mut c = ready_for_alice(&server).await;
    let mut wire = bdat(b"Subject: pipelined\r\n", false);
    wire.extend_from_slice(&bdat(b"\r\n", false));
    wire.extend_from_slice(&bdat(b"BDAT 5\r\nNOOP\r\n", true));
    wire.extend_from_slice(b"NOOP\r\n");
    c.send_raw(&wire).await;
    for _ in 0..2 {
        let (code, text) = c.read_reply().await;
        assert_reply(&(code, text.clone()), 250, "2.0.0");
        assert!(text.contains("octets"), "chunk reply: {text:?}");
    }
    let (code, text) = c.read_reply().await;
    assert_reply(&(code, text.clone()), 250, "2.0.0");
    assert!(
        text.contains("stored"),
        "the message is acknowledged last: {text:?}"
    );
    let (code, text) = c.read_reply().await;
    assert_reply(&(code, text.clone()), 250, "2.0.0");
    assert!(!text.contains("stored"), "NOOP: {text:?}");
    assert_eq!(
        alice_body(&server).await,
        b"Subject: pipelined\r\n\r\nBDAT 5\r\nNOOP\r\n"
    );
    assert_eq!(server.smtp.panics(), 0);
}
