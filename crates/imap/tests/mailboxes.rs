//! Mailbox commands: LIST (basic, extended, status, special-use), CREATE, DELETE, RENAME,
//! SUBSCRIBE/LSUB, STATUS, quota.

use mailstead_testkit::TestServer;

#[tokio::test]
async fn list_shows_the_default_mailboxes_with_roles() {
    let server = TestServer::start().await;
    let mut c = server.imap_login("alice@example.org").await;
    let r = c.cmd("LIST \"\" \"*\"").await.ok();
    let lines = r.lines("LIST");
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(lines[0].ends_with("\"/\" INBOX"), "{lines:?}");
    assert!(r.has("\\Sent") && r.has("\\Trash") && r.has("\\Junk") && r.has("\\Drafts"));
    let r = c.cmd("LIST \"\" \"\"").await.ok();
    assert_eq!(r.lines("LIST"), vec!["LIST (\\Noselect) \"/\" \"\""]);
    let r = c.cmd("LIST (SPECIAL-USE) \"\" \"*\"").await.ok();
    assert_eq!(r.lines("LIST").len(), 5);
    let r = c
        .cmd("LIST \"\" \"%\" RETURN (STATUS (MESSAGES UIDNEXT SIZE))")
        .await
        .ok();
    assert_eq!(r.lines("STATUS").len(), 6, "{:?}", r.untagged);
    assert!(r.lines("STATUS")[0].contains("MESSAGES 0"));
}

#[tokio::test]
async fn create_with_hierarchy_children_and_special_use() {
    let server = TestServer::start().await;
    let mut c = server.imap_login("alice@example.org").await;
    c.cmd("CREATE Projects/2026/Q4").await.ok();
    c.cmd("CREATE Projects").await.no();
    let r = c.cmd("LIST \"\" \"Projects*\"").await.ok();
    let lines = r.lines("LIST");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].contains("\\HasChildren") && lines[0].ends_with("Projects"));
    assert!(lines[2].contains("\\HasNoChildren"));
    let r = c.cmd("LIST \"\" \"Projects/%\"").await.ok();
    assert_eq!(r.lines("LIST").len(), 1);
    let r = c.cmd("CREATE Bills (USE (\\Archive))").await.ok();
    assert!(r.status.starts_with("OK"));
    c.cmd("CREATE Odd (USE (\\Nonsense))").await.no();
    let r = c.cmd("LIST \"\" Bills").await.ok();
    assert!(r.has("\\Archive"));
    c.cmd("CREATE inbox").await.no();
    c.cmd("CREATE \"a*b\"").await.no();
    // Modified UTF-7 round trip.
    c.cmd("CREATE \"Entw&APw-rfe\"").await.ok();
    let r = c.cmd("LIST \"\" \"Entw*\"").await.ok();
    assert!(r.has("Entw&APw-rfe"), "{:?}", r.untagged);
    c.cmd("ENABLE IMAP4rev2").await.ok();
    let r = c.cmd("LIST \"\" \"Entw*\"").await.ok();
    assert!(r.has("Entwürfe"), "{:?}", r.untagged);
}

#[tokio::test]
async fn delete_and_rename_with_children_and_inbox() {
    let server = TestServer::start().await;
    let mut c = server.imap_login("alice@example.org").await;
    c.cmd("CREATE a/b/c").await.ok();
    c.cmd("RENAME a x").await.ok();
    let r = c.cmd("LIST \"\" \"*\"").await.ok();
    assert!(
        r.has("\"/\" x/b/c") && r.has("\"/\" x/b") && !r.has("\"/\" a"),
        "{:?}",
        r.untagged
    );
    c.cmd("RENAME x Trash").await.no();
    c.cmd("RENAME nothere y").await.no();
    c.cmd("DELETE x/b/c").await.ok();
    c.cmd("DELETE x/b/c").await.no();
    c.cmd("DELETE INBOX").await.no();
    // RENAME INBOX moves its messages and leaves it empty.
    c.send_raw(b"a APPEND INBOX {13+}\r\nSubject: hi\r\n\r\n")
        .await;
    c.read_until_tagged("a").await.ok();
    c.cmd("RENAME INBOX Old").await.ok();
    let r = c.cmd("STATUS INBOX (MESSAGES)").await.ok();
    assert!(r.has("MESSAGES 0"), "{:?}", r.untagged);
    let r = c.cmd("STATUS Old (MESSAGES)").await.ok();
    assert!(r.has("MESSAGES 1"), "{:?}", r.untagged);
}

#[tokio::test]
async fn subscriptions_and_lsub() {
    let server = TestServer::start().await;
    let mut c = server.imap_login("alice@example.org").await;
    c.cmd("CREATE News/Rust").await.ok();
    c.cmd("SUBSCRIBE News/Rust").await.ok();
    let r = c.cmd("LSUB \"\" \"*\"").await.ok();
    assert!(r.has("News/Rust"));
    assert!(!r.lines("LSUB").iter().any(|l| l.ends_with(" News")));
    let r = c.cmd("LSUB \"\" \"%\"").await.ok();
    assert!(r.has("(\\Noselect) \"/\" News"), "{:?}", r.untagged);
    let r = c.cmd("LIST (SUBSCRIBED) \"\" \"*\"").await.ok();
    assert!(r.lines("LIST").iter().all(|l| l.contains("\\Subscribed")));
    assert!(r.has("News/Rust"));
    let r = c
        .cmd("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"")
        .await
        .ok();
    assert!(r.has("CHILDINFO"), "{:?}", r.untagged);
    c.cmd("UNSUBSCRIBE News/Rust").await.ok();
    let r = c.cmd("LSUB \"\" \"News*\"").await.ok();
    assert!(r.lines("LSUB").is_empty());
    c.cmd("SUBSCRIBE Nowhere").await.no();
}

#[tokio::test]
async fn status_counts_and_quota() {
    let server = TestServer::start().await;
    server
        .directory
        .update_user(
            "alice@example.org",
            &mailstead_store::model::AccountUpdate {
                quota_bytes: Some(Some(100)),
                ..Default::default()
            },
        )
        .await
        .expect("quota");
    let mut c = server.imap_login("alice@example.org").await;
    c.send_raw(b"a APPEND INBOX (\\Seen) {13+}\r\nSubject: hi\r\n\r\n")
        .await;
    c.read_until_tagged("a").await.ok();
    let r = c
        .cmd("STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE DELETED HIGHESTMODSEQ APPENDLIMIT)")
        .await
        .ok();
    let line = r.lines("STATUS")[0];
    for want in [
        "MESSAGES 1",
        "UNSEEN 0",
        "UIDNEXT 2",
        "SIZE 13",
        "DELETED 0",
    ] {
        assert!(line.contains(want), "{want} in {line}");
    }
    let r = c.cmd("GETQUOTAROOT INBOX").await.ok();
    assert!(r.has("QUOTAROOT INBOX \"\""), "{:?}", r.untagged);
    assert!(r.has("QUOTA \"\" (STORAGE 1 0)"), "{:?}", r.untagged);
    // Over quota: NO [OVERQUOTA], nothing stored.
    let big = "x".repeat(200);
    c.send_raw(format!("b APPEND INBOX {{{}+}}\r\n{big}\r\n", big.len()).as_bytes())
        .await;
    let r = c.read_until_tagged("b").await.no();
    assert!(r.status.contains("[OVERQUOTA]"), "{}", r.status);
    c.cmd("SETQUOTA \"\" (STORAGE 10)").await.no();
    // 13 + 60 fits in 100; a COPY of the two (73 more) does not.
    let m = "x".repeat(60);
    c.send_raw(format!("c APPEND INBOX {{{}+}}\r\n{m}\r\n", m.len()).as_bytes())
        .await;
    c.read_until_tagged("c").await.ok();
    c.cmd("SELECT INBOX").await.ok();
    let r = c.cmd("COPY 1:2 Archive").await.no();
    assert!(r.status.contains("[OVERQUOTA]"), "{}", r.status);
    let r = c.cmd("STATUS Archive (MESSAGES)").await.ok();
    assert!(r.has("MESSAGES 0"));
    // MOVE adds nothing to the account, so it is allowed.
    c.cmd("MOVE 2 Archive").await.ok();
    // \Deleted + EXPUNGE frees the space: now the big one fits.
    c.cmd("SELECT Archive").await.ok();
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").await.ok();
    c.cmd("EXPUNGE").await.ok();
    c.send_raw(format!("d APPEND INBOX {{{}+}}\r\n{m}\r\n", m.len()).as_bytes())
        .await;
    c.read_until_tagged("d").await.ok();
}
