//! Session tests of the DSN extension (RFC 3461) on local delivery: the parameters of MAIL
//! (RET, ENVID) and RCPT (NOTIFY, ORCPT) are stored with the message as a "delivered"
//! request (§6.2.2) for every accepted RCPT whose NOTIFY includes SUCCESS, and only then.

use mailstead_store::model::{DsnAction, DsnRequest, DsnRet, OriginalRecipient};
use mailstead_testkit::{SmtpClient, TestServer, assert_reply};

/// EHLO, `mail` (the whole MAIL command), every RCPT command of `rcpts`, then DATA with a
/// small message, which must be accepted.
async fn send(server: &TestServer, mail: &str, rcpts: &[&str]) -> SmtpClient {
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd(mail).await, 250, "2.1.0");
    for rcpt in rcpts {
        assert_reply(&c.cmd(rcpt).await, 250, "2.1.5");
    }
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(b"Subject: dsn\r\n\r\nhello\r\n.\r\n").await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    c
}

/// Every stored DSN request, oldest first.
async fn requests(server: &TestServer) -> Vec<DsnRequest> {
    server
        .stores
        .meta
        .dsn_requests(100)
        .await
        .expect("dsn_requests")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_success_stores_a_delivered_request_with_every_dsn_parameter() {
    let server = TestServer::start().await;
    send(
        &server,
        "MAIL FROM:<Sender@Example.COM> RET=HDRS ENVID=QQ+2B314159+3Dx",
        &["RCPT TO:<Alice@Example.ORG> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Alice+2BTag@Example.ORG"],
    )
    .await;

    let inbox = server.inbox("alice@example.org").await;
    assert_eq!(inbox.len(), 1);
    let message = &inbox[0].0;
    let got = requests(&server).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r.blob_id, message.blob_id, "the request names the message");
    assert_eq!(r.mail_from, "Sender@Example.COM", "reverse path without <>");
    assert_eq!(
        r.envid.as_deref(),
        Some("QQ+314159=x"),
        "ENVID xtext-decoded"
    );
    assert_eq!(r.ret, Some(DsnRet::Hdrs));
    assert_eq!(
        r.recipient, "alice@example.org",
        "the recipient as accepted"
    );
    assert_eq!(
        r.original_recipient,
        Some(OriginalRecipient {
            addr_type: "rfc822".into(),
            address: "Alice+Tag@Example.ORG".into(),
        }),
        "ORCPT xtext-decoded"
    );
    assert_eq!(r.action, DsnAction::Delivered);
    assert_eq!(r.created_at, message.internal_date);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_never_or_no_notify_stores_no_request() {
    let server = TestServer::start().await;
    send(
        &server,
        "MAIL FROM:<sender@example.com> RET=FULL ENVID=abc",
        &[
            "RCPT TO:<alice@example.org> NOTIFY=NEVER ORCPT=rfc822;alice@example.org",
            "RCPT TO:<bob@example.org>",
        ],
    )
    .await;
    send(
        &server,
        "MAIL FROM:<sender@example.com>",
        &["RCPT TO:<alice@example.org> NOTIFY=FAILURE,DELAY"],
    )
    .await;
    assert_eq!(server.inbox("alice@example.org").await.len(), 2);
    assert_eq!(server.inbox("bob@example.org").await.len(), 1);
    assert_eq!(requests(&server).await, vec![]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_recipient_asking_for_success_gets_a_request() {
    let server = TestServer::start().await;
    send(
        &server,
        "MAIL FROM:<sender@example.com>",
        &[
            "RCPT TO:<alice@example.org> NOTIFY=FAILURE",
            "RCPT TO:<bob@example.org> NOTIFY=SUCCESS",
        ],
    )
    .await;
    let got = requests(&server).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r.recipient, "bob@example.org");
    assert_eq!(r.mail_from, "sender@example.com");
    assert_eq!((r.envid.as_deref(), r.ret), (None, None));
    assert_eq!(r.original_recipient, None);
    for user in ["alice@example.org", "bob@example.org"] {
        let inbox = server.inbox(user).await;
        assert_eq!(inbox.len(), 1, "{user}");
        assert_eq!(inbox[0].0.blob_id, r.blob_id, "one blob shared by all");
    }
    assert_eq!(server.smtp.panics(), 0);
}

/// One request per accepted RCPT, in RCPT order: an alias reaching two accounts owes one
/// notification (for the alias as accepted), an account named twice owes two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_accepted_rcpt_with_success_gets_one_request() {
    let server = TestServer::start().await;
    server
        .directory
        .add_alias(
            "team@example.org",
            &["alice@example.org".into(), "bob@example.org".into()],
        )
        .await
        .expect("alias");
    send(
        &server,
        "MAIL FROM:<sender@example.com>",
        &[
            "RCPT TO:<team@example.org> NOTIFY=SUCCESS",
            "RCPT TO:<alice@example.org> NOTIFY=SUCCESS ORCPT=rfc822;first",
            "RCPT TO:<alice@example.org> NOTIFY=SUCCESS ORCPT=rfc822;second",
        ],
    )
    .await;
    let got = requests(&server).await;
    let seen: Vec<_> = got
        .iter()
        .map(|r| {
            (
                r.recipient.as_str(),
                r.original_recipient.as_ref().map(|o| o.address.as_str()),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("team@example.org", None),
            ("alice@example.org", Some("first")),
            ("alice@example.org", Some("second")),
        ]
    );
    let actions: Vec<_> = got.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            DsnAction::Expanded,
            DsnAction::Delivered,
            DsnAction::Delivered
        ],
        "the alias to two accounts is reported expanded"
    );
    assert_eq!(server.inbox("alice@example.org").await.len(), 1);
    assert_eq!(server.inbox("bob@example.org").await.len(), 1);
    assert_eq!(server.smtp.panics(), 0);
}

/// A DSN is never sent to the null reverse path (RFC 3461 §6.2), so none is stored; the
/// message itself is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_sender_owes_no_dsn() {
    let server = TestServer::start().await;
    send(
        &server,
        "MAIL FROM:<> RET=FULL",
        &["RCPT TO:<alice@example.org> NOTIFY=SUCCESS"],
    )
    .await;
    assert!(requests(&server).await.is_empty());
    assert_eq!(server.inbox("alice@example.org").await.len(), 1);
    assert_eq!(server.smtp.panics(), 0);
}

/// xtext can encode a NUL, which the store cannot keep: the delivery still succeeds, the
/// request is stored without that optional field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsn_parameter_holding_a_nul_is_dropped_not_fatal() {
    let server = TestServer::start().await;
    send(
        &server,
        "MAIL FROM:<sender@example.com> ENVID=a+00b",
        &["RCPT TO:<alice@example.org> NOTIFY=SUCCESS ORCPT=rfc822;x+00y@example.org"],
    )
    .await;
    assert_eq!(server.inbox("alice@example.org").await.len(), 1);
    let got = requests(&server).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envid, None);
    assert_eq!(got[0].original_recipient, None);
    assert_eq!(got[0].recipient, "alice@example.org");
    assert_eq!(server.smtp.panics(), 0);
}

/// BDAT (RFC 3030) delivers through the same path: the request is stored too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bdat_delivery_stores_the_request() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> ENVID=bdat").await,
        250,
        "2.1.0",
    );
    assert_reply(
        &c.cmd("RCPT TO:<bob@example.org> NOTIFY=SUCCESS").await,
        250,
        "2.1.5",
    );
    let body = b"Subject: bdat\r\n\r\nhello\r\n";
    c.send_raw(format!("BDAT {} LAST\r\n", body.len()).as_bytes())
        .await;
    c.send_raw(body).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
    let got = requests(&server).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envid.as_deref(), Some("bdat"));
    assert_eq!(
        got[0].blob_id,
        server.inbox("bob@example.org").await[0].0.blob_id
    );
    assert_eq!(server.smtp.panics(), 0);
}
