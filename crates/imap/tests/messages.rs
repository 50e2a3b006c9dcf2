//! Message commands: APPEND, FETCH, STORE, COPY, MOVE, EXPUNGE, CLOSE, UNSELECT, SEARCH.

use mailstead_testkit::TestServer;
use mailstead_testkit::imap::ImapClient;

const SIMPLE: &str = "From: Ann Example <ann@example.com>\r\nTo: alice@example.org\r\nSubject: Quarterly report\r\nDate: Wed, 17 Jul 1996 02:23:25 -0700\r\nMessage-ID: <1@example.com>\r\n\r\nThe numbers look fine.\r\nSee you.\r\n";

const MULTI: &str = "From: bob@example.org\r\nTo: alice@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDate: Mon, 2 Feb 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nH=C3=A4llo xylophonist\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b1--\r\n";

async fn append(c: &mut ImapClient, mailbox: &str, flags: &str, msg: &str) -> String {
    let tag = c.tag();
    c.send_raw(
        format!(
            "{tag} APPEND {mailbox} {flags} {{{}+}}\r\n{msg}\r\n",
            msg.len()
        )
        .as_bytes(),
    )
    .await;
    c.read_until_tagged(&tag).await.ok().status
}

async fn setup(server: &TestServer) -> ImapClient {
    let mut c = server.imap_login("alice@example.org").await;
    append(&mut c, "INBOX", "(\\Seen)", SIMPLE).await;
    append(&mut c, "INBOX", "()", MULTI).await;
    append(
        &mut c,
        "INBOX",
        "(\\Flagged $Important)",
        "Subject: third\r\n\r\nbody three\r\n",
    )
    .await;
    c.cmd("SELECT INBOX").await.ok();
    c
}

#[tokio::test]
async fn append_answers_appenduid_and_multiappend_is_atomic() {
    let server = TestServer::start().await;
    let mut c = server.imap_login("alice@example.org").await;
    let status = append(&mut c, "INBOX", "(\\Seen)", SIMPLE).await;
    assert!(status.contains("[APPENDUID "), "{status}");
    assert!(status.contains(" 1]"), "{status}");
    // MULTIAPPEND: two messages in one command, UIDs 2:3.
    c.send_raw(b"m APPEND INBOX {14+}\r\nSubject: a\r\n\r\n (\\Draft) \"17-Jul-1996 02:44:25 -0700\" {14+}\r\nSubject: b\r\n\r\n\r\n")
        .await;
    let r = c.read_until_tagged("m").await.ok();
    assert!(r.status.contains(" 2:3]"), "{}", r.status);
    let r = c.cmd("APPEND Nowhere {1+}\r\nx").await.no();
    assert!(r.status.contains("[TRYCREATE]"), "{}", r.status);
    let r = c.cmd("SELECT INBOX").await.ok();
    assert!(r.has("3 EXISTS"));
    let r = c.cmd("FETCH 3 (FLAGS INTERNALDATE)").await.ok();
    assert!(
        r.has("\\Draft") && r.has("17-Jul-1996 09:44:25 +0000"),
        "{:?}",
        r.untagged
    );
}

#[tokio::test]
async fn fetch_items() {
    let server = TestServer::start().await;
    let mut c = setup(&server).await;
    let r = c.cmd("FETCH 1 (UID FLAGS RFC822.SIZE ENVELOPE)").await.ok();
    let line = &r.untagged[0];
    assert!(
        line.starts_with("* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE "),
        "{line}"
    );
    assert!(line.contains("ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700\" \"Quarterly report\" ((\"Ann Example\" NIL \"ann\" \"example.com\"))"), "{line}");
    let r = c.cmd("FETCH 2 BODYSTRUCTURE").await.ok();
    let bs = &r.untagged[0];
    assert!(
        bs.contains("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\""),
        "{bs}"
    );
    assert!(bs.contains("\"MIXED\""), "{bs}");
    let r = c
        .cmd("FETCH 2 (BODY.PEEK[1] BINARY.PEEK[1] BINARY.SIZE[2])")
        .await
        .ok();
    let line = &r.untagged[0];
    assert!(line.contains("H=C3=A4llo xylophonist"), "{line}");
    assert!(line.contains("Hällo xylophonist"), "{line}");
    assert!(line.contains("BINARY.SIZE[2] 6"), "{line}");
    let r = c
        .cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<4.7>)")
        .await
        .ok();
    let line = &r.untagged[0];
    assert!(
        line.contains("Subject: Quarterly report\r\n\r\n"),
        "{line:?}"
    );
    assert!(line.contains("BODY[TEXT]<4> {7}\r\nnumbers"), "{line:?}");
    // BODY[] sets \Seen and reports the new flags; BODY.PEEK does not.
    let r = c.cmd("FETCH 3 BODY.PEEK[]").await.ok();
    assert!(!r.untagged[0].contains("\\Seen"));
    let r = c.cmd("FETCH 3 BODY[]").await.ok();
    assert!(r.untagged[0].contains("\\Seen"), "{:?}", r.untagged);
    let r = c.cmd("UID FETCH 2:* (FLAGS)").await.ok();
    assert_eq!(r.lines("").len(), 2);
    assert!(r.untagged.iter().all(|l| l.contains("UID ")));
    c.cmd("FETCH 9 FLAGS").await.bad();
    let r = c.cmd("FETCH 1 FAST").await.ok();
    assert!(r.untagged[0].contains("INTERNALDATE"));
}

#[tokio::test]
async fn store_flags_and_keywords() {
    let server = TestServer::start().await;
    let mut c = setup(&server).await;
    let r = c.cmd("STORE 1:2 +FLAGS (\\Answered $Forwarded)").await.ok();
    assert_eq!(r.lines("").len(), 2);
    assert!(r.untagged[1].contains("\\Answered") && r.untagged[1].contains("$Forwarded"));
    let r = c.cmd("STORE 1 -FLAGS.SILENT (\\Seen)").await.ok();
    assert!(r.untagged.is_empty(), "{:?}", r.untagged);
    let r = c.cmd("UID STORE 3 FLAGS (\\Deleted)").await.ok();
    assert!(r.untagged[0].contains("UID 3") && r.untagged[0].contains("FLAGS (\\Deleted)"));
    c.cmd("STORE 1 +FLAGS (\\Bogus)").await.bad();
    let r = c.cmd("EXAMINE INBOX").await.ok();
    assert!(r.status.contains("[READ-ONLY]"));
    c.cmd("STORE 1 +FLAGS (\\Seen)").await.no();
}

#[tokio::test]
async fn copy_move_expunge() {
    let server = TestServer::start().await;
    let mut c = setup(&server).await;
    let r = c.cmd("COPY 1:2 Archive").await.ok();
    assert!(
        r.status.contains("[COPYUID ") && r.status.contains(" 1:2 1:2]"),
        "{}",
        r.status
    );
    let r = c.cmd("UID MOVE 3 Trash").await.ok();
    assert!(
        r.has("[COPYUID ") && r.has("* 3 EXPUNGE"),
        "{:?}",
        r.untagged
    );
    let r = c.cmd("COPY 1 Nowhere").await.no();
    assert!(r.status.contains("[TRYCREATE]"));
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").await.ok();
    let r = c.cmd("EXPUNGE").await.ok();
    assert_eq!(r.lines("1 EXPUNGE").len(), 1, "{:?}", r.untagged);
    let r = c.cmd("STATUS Trash (MESSAGES)").await.ok();
    assert!(r.has("MESSAGES 1"));
    // UID EXPUNGE removes only the named \Deleted messages.
    c.cmd("SELECT Archive").await.ok();
    c.cmd("STORE 1:2 +FLAGS.SILENT (\\Deleted)").await.ok();
    let r = c.cmd("UID EXPUNGE 2").await.ok();
    assert_eq!(r.lines("2 EXPUNGE").len(), 1, "{:?}", r.untagged);
    c.cmd("CLOSE").await.ok();
    let r = c.cmd("STATUS Archive (MESSAGES)").await.ok();
    assert!(r.has("MESSAGES 0"), "{:?}", r.untagged);
    c.cmd("SELECT Trash").await.ok();
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)").await.ok();
    c.cmd("UNSELECT").await.ok();
    let r = c.cmd("STATUS Trash (MESSAGES)").await.ok();
    assert!(r.has("MESSAGES 1"), "UNSELECT does not expunge");
}

#[tokio::test]
async fn search_keys() {
    let server = TestServer::start().await;
    let mut c = setup(&server).await;
    let cases: &[(&str, &str)] = &[
        ("SEARCH ALL", "SEARCH 1 2 3"),
        ("SEARCH SEEN", "SEARCH 1"),
        ("SEARCH UNSEEN", "SEARCH 2 3"),
        ("SEARCH FLAGGED", "SEARCH 3"),
        ("SEARCH KEYWORD $Important", "SEARCH 3"),
        ("SEARCH UNKEYWORD $Important", "SEARCH 1 2"),
        ("SEARCH SUBJECT quarterly", "SEARCH 1"),
        ("SEARCH CHARSET UTF-8 SUBJECT {7+}\r\ngrüße", "SEARCH 2"),
        ("SEARCH FROM ann", "SEARCH 1"),
        ("SEARCH TO alice", "SEARCH 1 2"),
        ("SEARCH BODY xylophonist", "SEARCH 2"),
        ("SEARCH BODY {6+}\r\nhällo", "SEARCH 2"),
        ("SEARCH TEXT quarterly", "SEARCH 1"),
        ("SEARCH HEADER Message-ID <1@example.com>", "SEARCH 1"),
        ("SEARCH HEADER MIME-Version \"\"", "SEARCH 2"),
        ("SEARCH OR FLAGGED SEEN", "SEARCH 1 3"),
        ("SEARCH NOT SEEN", "SEARCH 2 3"),
        ("SEARCH LARGER 100", "SEARCH 1 2"),
        ("SEARCH SMALLER 100", "SEARCH 3"),
        ("SEARCH SENTBEFORE 1-Jan-2000", "SEARCH 1"),
        ("SEARCH SENTON 2-Feb-2026", "SEARCH 2"),
        ("SEARCH SINCE 1-Jan-2020", "SEARCH 1 2 3"),
        ("SEARCH BEFORE 1-Jan-2020", "SEARCH"),
        ("SEARCH 2:*", "SEARCH 2 3"),
        ("SEARCH UID 1,3", "SEARCH 1 3"),
        ("UID SEARCH SEEN", "SEARCH 1"),
        ("SEARCH (SEEN OR FLAGGED SEEN)", "SEARCH 1"),
        ("SEARCH (SEEN OR FLAGGED DRAFT)", "SEARCH"),
        ("SEARCH SUBJECT \"100%\"", "SEARCH"),
    ];
    for (cmd, want) in cases {
        let r = c.cmd(cmd).await;
        assert!(r.status.starts_with("OK"), "{cmd}: {}", r.status);
        assert_eq!(r.lines("SEARCH"), vec![*want], "{cmd}");
    }
    let r = c.cmd("SEARCH CHARSET KOI8-R ALL").await.no();
    assert!(r.status.contains("[BADCHARSET"), "{}", r.status);
    // ESEARCH and SEARCHRES.
    let r = c.cmd("SEARCH RETURN (MIN MAX COUNT) UNSEEN").await.ok();
    assert!(
        r.lines("ESEARCH")[0].ends_with("MIN 2 MAX 3 COUNT 2"),
        "{:?}",
        r.untagged
    );
    let r = c.cmd("UID SEARCH RETURN (ALL) ALL").await.ok();
    assert!(
        r.lines("ESEARCH")[0].ends_with("UID ALL 1:3"),
        "{:?}",
        r.untagged
    );
    let r = c.cmd("SEARCH RETURN (SAVE) FLAGGED").await.ok();
    assert!(r.lines("ESEARCH").is_empty());
    let r = c.cmd("FETCH $ (UID)").await.ok();
    assert_eq!(r.untagged.len(), 1);
    assert!(r.untagged[0].contains("UID 3"));
    // IMAP4rev2 answers SEARCH with ESEARCH.
    c.cmd("ENABLE IMAP4rev2").await.ok();
    let r = c.cmd("SEARCH SEEN").await.ok();
    assert!(r.lines("ESEARCH")[0].ends_with("ALL 1"), "{:?}", r.untagged);
}

#[tokio::test]
async fn condstore_and_qresync() {
    let server = TestServer::start().await;
    let mut c = setup(&server).await;
    let r = c.cmd("SELECT INBOX (CONDSTORE)").await.ok();
    let hm = r.lines("OK [HIGHESTMODSEQ")[0].to_string();
    let modseq: u64 = hm
        .trim_start_matches("OK [HIGHESTMODSEQ ")
        .split(']')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("modseq");
    c.cmd("STORE 2 +FLAGS (\\Seen)").await.ok();
    let r = c
        .cmd(&format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq})"))
        .await
        .ok();
    assert_eq!(r.lines("").len(), 1, "{:?}", r.untagged);
    assert!(r.untagged[0].contains("MODSEQ"));
    // UNCHANGEDSINCE older than the message's MODSEQ: not changed, MODIFIED.
    let r = c
        .cmd(&format!(
            "STORE 2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Flagged)"
        ))
        .await
        .ok();
    assert!(r.status.contains("[MODIFIED 2]"), "{}", r.status);
    let r = c.cmd("SEARCH MODSEQ 1").await.ok();
    assert!(
        r.lines("SEARCH")[0].contains("(MODSEQ "),
        "{:?}",
        r.untagged
    );
    // QRESYNC: expunge a message, then resync from the old MODSEQ.
    c.cmd("ENABLE QRESYNC").await.ok();
    let r = c.cmd("SELECT INBOX").await.ok();
    let validity: String = r.lines("OK [UIDVALIDITY")[0]
        .trim_start_matches("OK [UIDVALIDITY ")
        .split(']')
        .next()
        .unwrap_or_default()
        .to_string();
    c.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)").await.ok();
    let r = c.cmd("EXPUNGE").await.ok();
    assert!(r.has("VANISHED 3"), "{:?}", r.untagged);
    let r = c
        .cmd(&format!("SELECT INBOX (QRESYNC ({validity} {modseq} 1:3))"))
        .await
        .ok();
    assert!(r.has("OK [CLOSED]"), "{:?}", r.untagged);
    assert!(r.has("VANISHED (EARLIER) 3"), "{:?}", r.untagged);
    assert!(r.lines("2 FETCH").len() == 1, "{:?}", r.untagged);
    let r = c
        .cmd(&format!(
            "UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)"
        ))
        .await
        .ok();
    assert!(r.has("VANISHED (EARLIER) 3"), "{:?}", r.untagged);
}
