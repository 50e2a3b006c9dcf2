//! Several sessions on one mailbox: EXISTS, EXPUNGE (never during FETCH/STORE/SEARCH by
//! sequence number), FETCH FLAGS, IDLE woken by SMTP delivery.

use std::time::{Duration, Instant};

use mailstead_testkit::TestServer;
use mailstead_testkit::imap::ImapClient;

async fn append(c: &mut ImapClient, msg: &str) {
    let tag = c.tag();
    c.send_raw(format!("{tag} APPEND INBOX {{{}+}}\r\n{msg}\r\n", msg.len()).as_bytes())
        .await;
    c.read_until_tagged(&tag).await.ok();
}

#[tokio::test]
async fn a_second_session_sees_appends_flag_changes_and_expunges() {
    let server = TestServer::start().await;
    let mut a = server.imap_login("alice@example.org").await;
    let mut b = server.imap_login("alice@example.org").await;
    append(&mut a, "Subject: one\r\n\r\n1\r\n").await;
    append(&mut a, "Subject: two\r\n\r\n2\r\n").await;
    a.cmd("SELECT INBOX").await.ok();
    b.cmd("SELECT INBOX").await.ok();
    append(&mut a, "Subject: three\r\n\r\n3\r\n").await;
    let r = b.cmd("NOOP").await.ok();
    assert!(r.has("* 3 EXISTS"), "{:?}", r.untagged);
    a.cmd("STORE 2 +FLAGS (\\Flagged)").await.ok();
    let r = b.cmd("NOOP").await.ok();
    assert!(
        r.has("* 2 FETCH (UID 2 FLAGS (\\Flagged))"),
        "{:?}",
        r.untagged
    );
    // A expunges message 1; B must not hear of it during FETCH/STORE/SEARCH by number,
    // and its numbers keep meaning the same messages until it is told.
    a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").await.ok();
    a.cmd("EXPUNGE").await.ok();
    let r = b.cmd("FETCH 1:3 (UID)").await.ok();
    assert!(!r.has("EXPUNGE"), "{:?}", r.untagged);
    assert!(
        r.has("* 2 FETCH (UID 2)") && r.has("* 3 FETCH (UID 3)"),
        "{:?}",
        r.untagged
    );
    let r = b.cmd("SEARCH ALL").await.ok();
    assert!(!r.has("EXPUNGE"));
    let r = b.cmd("STORE 3 +FLAGS (\\Seen)").await.ok();
    assert!(!r.has("EXPUNGE"));
    assert!(r.has("* 3 FETCH"), "{:?}", r.untagged);
    let r = b.cmd("NOOP").await.ok();
    assert!(r.has("* 1 EXPUNGE"), "{:?}", r.untagged);
    let r = b.cmd("FETCH 1:* (UID)").await.ok();
    assert!(
        r.has("* 1 FETCH (UID 2)") && r.has("* 2 FETCH (UID 3)"),
        "{:?}",
        r.untagged
    );
    // UID commands may carry expunges.
    a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").await.ok();
    a.cmd("EXPUNGE").await.ok();
    let r = b.cmd("UID FETCH 1:* (FLAGS)").await.ok();
    assert!(r.has("* 1 EXPUNGE"), "{:?}", r.untagged);
}

#[tokio::test]
async fn idle_reports_an_smtp_delivery_within_a_second() {
    let server = TestServer::start().await;
    let mut c = server.imap_login("alice@example.org").await;
    c.cmd("SELECT INBOX").await.ok();
    c.send_raw(b"i IDLE\r\n").await;
    let cont = c.read_response().await.expect("continuation");
    assert!(cont.starts_with('+'), "{cont}");
    let mut smtp = server.smtp_client().await;
    let (code, _) = smtp
        .send_mail(
            "x@example.net",
            &["alice@example.org"],
            "Subject: ping\r\n\r\nhi\r\n",
        )
        .await;
    assert_eq!(code, 250);
    let acked = Instant::now();
    let exists = c.read_response().await.expect("exists");
    assert_eq!(exists, "* 1 EXISTS");
    assert!(
        acked.elapsed() < Duration::from_secs(1),
        "{:?}",
        acked.elapsed()
    );
    c.send_raw(b"DONE\r\n").await;
    c.read_until_tagged("i").await.ok();
    // Indexed at delivery: ENVELOPE without reading the blob, and SEARCH finds it.
    let r = c.cmd("FETCH 1 ENVELOPE").await.ok();
    assert!(r.has("\"ping\""), "{:?}", r.untagged);
    let r = c.cmd("SEARCH SUBJECT ping").await.ok();
    assert_eq!(r.lines("SEARCH"), vec!["SEARCH 1"]);
}

#[tokio::test]
async fn idle_sees_expunges_and_flag_changes_from_another_session() {
    let server = TestServer::start().await;
    let mut a = server.imap_login("alice@example.org").await;
    append(&mut a, "Subject: one\r\n\r\n1\r\n").await;
    let mut b = server.imap_login("alice@example.org").await;
    b.cmd("SELECT INBOX").await.ok();
    b.send_raw(b"i IDLE\r\n").await;
    let _ = b.read_response().await;
    a.cmd("SELECT INBOX").await.ok();
    a.cmd("STORE 1 +FLAGS (\\Seen)").await.ok();
    let line = b.read_response().await.expect("fetch");
    assert!(line.contains("FETCH") && line.contains("\\Seen"), "{line}");
    a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").await.ok();
    a.cmd("EXPUNGE").await.ok();
    let mut got = Vec::new();
    while !got.iter().any(|l: &String| l.contains("EXPUNGE")) {
        got.push(b.read_response().await.expect("update"));
    }
    b.send_raw(b"DONE\r\n").await;
    b.read_until_tagged("i").await.ok();
}

#[tokio::test]
async fn concurrent_appends_from_many_sessions_get_distinct_ascending_uids() {
    let server = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let addr = server.imap_addr;
        tasks.push(tokio::spawn(async move {
            let mut c =
                ImapClient::login(addr, "alice@example.org", mailstead_testkit::PASSWORD).await;
            let mut uids = Vec::new();
            for j in 0..10 {
                let msg = format!("Subject: {i}-{j}\r\n\r\nx\r\n");
                let tag = c.tag();
                c.send_raw(
                    format!("{tag} APPEND INBOX {{{}+}}\r\n{msg}\r\n", msg.len()).as_bytes(),
                )
                .await;
                let r = c.read_until_tagged(&tag).await.ok();
                let uid: u32 = r
                    .status
                    .split(']')
                    .next()
                    .and_then(|s| s.rsplit(' ').next())
                    .and_then(|s| s.parse().ok())
                    .expect("uid");
                uids.push(uid);
            }
            uids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let uids = t.await.expect("task");
        assert!(uids.windows(2).all(|w| w[0] < w[1]));
        all.extend(uids);
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 80);
    assert_eq!(server.imap.panics(), 0);
}
