//! Session tests of the submission role (RFC 6409) after AUTH: MAIL needs a login (or a
//! relay network), sender ownership on MAIL FROM and `From:` (design invariant 3), the
//! fixes submission makes to a message (`Date:`, `Message-ID:`), DKIM signing, local and
//! remote recipients, the sending rate, REQUIRETLS (RFC 8689) and address literals.

use mailstead_mailauth::{KeyType, generate_key};
use mailstead_store::model::{AccountUpdate, DkimAlgorithm, NewDkimKey, NotifyFlags};
use mailstead_testkit::{SmtpClient, TestServer, assert_reply};

/// A message from `from` with a Date and a Message-ID.
fn message(from: &str) -> String {
    format!(
        "From: {from}\r\nTo: friend@remote.example\r\nSubject: hello\r\n\
         Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <given@client.example>\r\n\
         \r\nHi there.\r\n"
    )
}

/// MAIL, RCPTs (each must be accepted), DATA with `body`; returns the final reply.
async fn send(c: &mut SmtpClient, mail: &str, rcpts: &[&str], body: &str) -> (u16, String) {
    assert_reply(&c.cmd(mail).await, 250, "2.1.0");
    for rcpt in rcpts {
        assert_reply(&c.cmd(rcpt).await, 250, "2.1.5");
    }
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(body.as_bytes()).await;
    c.send_raw(b".\r\n").await;
    c.read_reply().await
}

async fn set_spoofing(server: &TestServer, user: &str) {
    server
        .directory
        .update_user(
            user,
            &AccountUpdate {
                allow_spoofing: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("update");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_without_auth_is_refused_with_530() {
    let server = TestServer::start().await;
    let c = server.submission_client().await;
    let mut c = c.starttls(server.tls_client.clone()).await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 530, "5.7.0");
    // Over implicit TLS too.
    let mut c = server.submissions_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 530, "5.7.0");
    assert!(server.queued().await.is_empty());
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_from_another_users_address_is_refused_with_553_5_7_1() {
    let server = TestServer::start().await;
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = c.cmd("MAIL FROM:<bob@example.org>").await;
    assert_reply(&(code, text.clone()), 553, "5.7.1");
    assert!(
        text.contains("<bob@example.org>: sender address not owned by alice@example.org"),
        "{text}"
    );
    assert_reply(&c.cmd("MAIL FROM:<ceo@bank.example>").await, 553, "5.7.1");
    // Their own address (any case) and the null reverse path are fine.
    assert_reply(&c.cmd("MAIL FROM:<Alice@Example.ORG>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RSET").await, 250, "2.0.0");
    assert_reply(&c.cmd("MAIL FROM:<>").await, 250, "2.1.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_the_user_receives_may_be_used_as_sender() {
    let server = TestServer::start().await;
    server
        .directory
        .add_alias(
            "team@example.org",
            &["alice@example.org".into(), "bob@example.org".into()],
        )
        .await
        .expect("alias");
    server
        .directory
        .add_alias("billing@example.org", &["bob@example.org".into()])
        .await
        .expect("alias");
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<team@example.org>",
        &["RCPT TO:<friend@remote.example>"],
        &message("Team <team@example.org>"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    assert_reply(
        &c.cmd("MAIL FROM:<billing@example.org>").await,
        553,
        "5.7.1",
    );
    assert_eq!(server.queued().await.len(), 1);
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_allowed_to_spoof_may_use_any_sender() {
    let server = TestServer::start().await;
    set_spoofing(&server, "alice@example.org").await;
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<list-bounces@lists.example>",
        &["RCPT TO:<friend@remote.example>"],
        &message("The List <list@lists.example>"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let queued = server.queued().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].mail_from, "list-bounces@lists.example");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_header_of_another_user_is_refused_at_the_end_of_data_and_nothing_is_kept() {
    let server = TestServer::start().await;
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &[
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<friend@remote.example>",
        ],
        &message("Alice <alice@example.org>, Bob <bob@example.org>"),
    )
    .await;
    assert_reply(&(code, text.clone()), 553, "5.7.1");
    assert!(text.contains("<bob@example.org>"), "{text}");
    assert!(server.inbox("bob@example.org").await.is_empty());
    assert!(server.queued().await.is_empty());
    // Over BDAT as well.
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<bob@example.org>").await, 250, "2.1.5");
    let body = message("bob@example.org");
    c.send(&format!("BDAT {} LAST", body.len())).await;
    c.send_raw(body.as_bytes()).await;
    assert_reply(&c.read_reply().await, 553, "5.7.1");
    assert!(server.inbox("bob@example.org").await.is_empty());
    // The session goes on.
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.org>"],
        &message("alice@example.org"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    assert_eq!(server.inbox("bob@example.org").await.len(), 1);
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_without_from_is_refused_with_554_5_6_0() {
    let server = TestServer::start().await;
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.org>"],
        "To: bob@example.org\r\nSubject: anonymous\r\n\r\nwho am I?\r\n",
    )
    .await;
    assert_reply(&(code, text), 554, "5.6.0");
    assert!(server.inbox("bob@example.org").await.is_empty());
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_date_and_message_id_are_added_and_present_ones_kept() {
    let server = TestServer::start().await;
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<friend@remote.example>"],
        "From: alice@example.org\r\nSubject: bare\r\n\r\nno date\r\n",
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let queued = server.queued().await;
    assert_eq!(queued.len(), 1);
    let raw = String::from_utf8(server.blob(&queued[0].blob_id).await).expect("utf-8");
    let (header, body) = raw.split_once("\r\n\r\n").expect("header");
    assert_eq!(body, "no date\r\n");
    assert_eq!(header.matches("\r\nDate: ").count(), 1, "{header}");
    let id_line = header
        .lines()
        .find(|l| l.starts_with("Message-ID: <"))
        .unwrap_or_else(|| panic!("no Message-ID in {header}"));
    assert!(id_line.ends_with("@mx.example.org>"), "{id_line}");
    // Sent on, so no Return-Path (RFC 5321 §4.4); authenticated over TLS: ESMTPSA.
    assert!(!header.contains("Return-Path:"), "{header}");
    assert!(header.contains(" with ESMTPSA id "), "{header}");

    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.org>"],
        &message("alice@example.org"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let inbox = server.inbox("bob@example.org").await;
    let raw = String::from_utf8_lossy(&inbox[0].1).into_owned();
    assert_eq!(raw.matches("Date: ").count(), 1, "{raw}");
    assert_eq!(raw.matches("Message-ID: ").count(), 1, "{raw}");
    assert!(raw.contains("Message-ID: <given@client.example>"), "{raw}");
    // Delivered here only: the local copy carries Return-Path.
    assert!(
        raw.starts_with("Return-Path: <alice@example.org>\r\n"),
        "{raw}"
    );
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_is_dkim_signed_when_the_domain_has_a_key_and_not_otherwise() {
    let server = TestServer::start().await;
    let domain = server
        .directory
        .find_domain("example.org")
        .await
        .expect("domain");
    // A new domain gets keys; remove them to see mail go unsigned.
    let meta = &server.stores.meta;
    for key in meta.dkim_keys(domain.id).await.expect("keys") {
        meta.delete_dkim_key(key.id).await.expect("delete key");
    }
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<friend@remote.example>"],
        &message("alice@example.org"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let queued = server.queued().await;
    let raw = String::from_utf8(server.blob(&queued[0].blob_id).await).expect("utf-8");
    assert!(!raw.contains("DKIM-Signature:"), "{raw}");

    let key = generate_key(KeyType::Ed25519).expect("key");
    meta.create_dkim_key(&NewDkimKey {
        domain_id: domain.id,
        selector: "s2024".into(),
        algorithm: DkimAlgorithm::Ed25519,
        private_key: key.private_pkcs8.clone(),
        public_key: key.public_key.clone(),
    })
    .await
    .expect("dkim key");
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<friend@remote.example>"],
        &message("Alice <alice@example.org>"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let queued = server.queued().await;
    assert_eq!(queued.len(), 2);
    let raw = String::from_utf8(server.blob(&queued[1].blob_id).await).expect("utf-8");
    // The signature comes first, over the final header (Received, added fields and all).
    assert!(raw.starts_with("DKIM-Signature:"), "{raw}");
    let (signature, rest) = raw.split_once("\r\nReceived: ").expect("Received after it");
    assert!(signature.contains("d=example.org"), "{signature}");
    assert!(signature.contains("s=s2024"), "{signature}");
    assert!(
        rest.contains("\r\nFrom: Alice <alice@example.org>\r\n"),
        "{rest}"
    );
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_recipient_lands_in_the_inbox_and_the_remote_one_is_queued() {
    let server = TestServer::start().await;
    let alice = server
        .directory
        .find_user("alice@example.org")
        .await
        .expect("alice");
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org> ENVID=abc",
        &[
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<Friend@Remote.Example> NOTIFY=SUCCESS,FAILURE",
        ],
        &message("alice@example.org"),
    )
    .await;
    assert_reply(&(code, text.clone()), 250, "2.0.0");
    assert!(text.contains("queued as"), "{text}");
    assert_eq!(server.inbox("bob@example.org").await.len(), 1);
    let queued = server.queued().await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let q = &queued[0];
    assert_eq!(q.mail_from, "alice@example.org");
    assert_eq!(q.envid.as_deref(), Some("abc"));
    assert_eq!(q.submitter, Some(alice.id));
    assert!(!q.requiretls);
    assert_eq!(q.recipients.len(), 1);
    assert_eq!(q.recipients[0].address, "Friend@Remote.Example");
    assert_eq!(
        q.recipients[0].notify,
        NotifyFlags::SUCCESS.union(NotifyFlags::FAILURE)
    );
    // The local copy is the queued one with Return-Path in front (RFC 5321 §4.4: added
    // at final delivery, never sent on).
    let local = server.inbox("bob@example.org").await.remove(0).1;
    let sent = server.blob(&q.blob_id).await;
    assert!(!sent.starts_with(b"Return-Path:"));
    let return_path = b"Return-Path: <alice@example.org>\r\n";
    assert!(local.starts_with(return_path));
    assert_eq!(&local[return_path.len()..], &sent[..]);
    assert_eq!(server.submission.delivered(), 1);
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rcpt_checks_on_submission() {
    let server = TestServer::start().await;
    let mut c = server.submission_login("alice@example.org").await;
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<someone@[192.0.2.1]>").await, 550, "5.1.2");
    assert_reply(&c.cmd("RCPT TO:<nobody@example.org>").await, 550, "5.1.1");
    assert_reply(
        &c.cmd("RCPT TO:<anyone@anywhere.example>").await,
        250,
        "2.1.5",
    );
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_rate_limit_refuses_the_next_message_with_450() {
    let server = TestServer::start_with_submission(|cfg| cfg.send_rate_per_hour = 2).await;
    let mut c = server.submission_login("alice@example.org").await;
    for _ in 0..2 {
        let (code, text) = send(
            &mut c,
            "MAIL FROM:<alice@example.org>",
            &["RCPT TO:<bob@example.org>"],
            &message("alice@example.org"),
        )
        .await;
        assert_reply(&(code, text), 250, "2.0.0");
    }
    let (code, text) = c.cmd("MAIL FROM:<alice@example.org>").await;
    assert_reply(&(code, text.clone()), 450, "4.7.1");
    assert!(text.contains("rate limit"), "{text}");
    // Per account: bob still may send.
    let mut c = server.submission_login("bob@example.org").await;
    assert_reply(&c.cmd("MAIL FROM:<bob@example.org>").await, 250, "2.1.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submission_over_implicit_tls_delivers() {
    let server = TestServer::start().await;
    let mut c = server.submissions_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    let (code, text) = c
        .auth_plain("alice@example.org", mailstead_testkit::PASSWORD)
        .await;
    assert_reply(&(code, text), 235, "2.7.0");
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.org>"],
        &message("alice@example.org"),
    )
    .await;
    assert_reply(&(code, text.clone()), 250, "2.0.0");
    assert!(text.contains("stored as"), "{text}");
    let inbox = server.inbox("bob@example.org").await;
    assert_eq!(inbox.len(), 1);
    let raw = String::from_utf8_lossy(&inbox[0].1).into_owned();
    assert!(raw.contains(" with ESMTPSA id "), "{raw}");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_network_clients_may_send_without_auth_and_without_ownership_check() {
    let server = TestServer::start_with_submission(|cfg| {
        cfg.relay_networks = vec![("127.0.0.0".parse().expect("ip"), 8)];
    })
    .await;
    let mut c = server.submission_client().await;
    assert_eq!(c.cmd("EHLO app.example").await.0, 250);
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<noreply@app.example>",
        &["RCPT TO:<customer@remote.example>"],
        &message("App <noreply@app.example>"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let queued = server.queued().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].mail_from, "noreply@app.example");
    assert_eq!(queued[0].submitter, None);
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requiretls_is_refused_in_clear_and_kept_with_the_queued_message_over_tls() {
    let server = TestServer::start_with_submission(|cfg| {
        cfg.relay_networks = vec![("127.0.0.0".parse().expect("ip"), 8)];
    })
    .await;
    let mut c = server.submission_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(
        &c.cmd("MAIL FROM:<alice@example.org> REQUIRETLS").await,
        530,
        "5.7.10",
    );

    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org> REQUIRETLS",
        &["RCPT TO:<friend@remote.example>"],
        &message("alice@example.org"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let queued = server.queued().await;
    assert_eq!(queued.len(), 1);
    assert!(queued[0].requiretls);
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_queue_worker_running_a_remote_recipient_reaches_the_other_server() {
    // The "remote" server: another in-process mailstead hosting remote.example.
    let remote = TestServer::start().await;
    remote
        .directory
        .add_domain("remote.example")
        .await
        .expect("domain");
    remote
        .directory
        .add_user(
            "friend@remote.example",
            &mailstead_types::Secret::new(mailstead_testkit::PASSWORD.into()),
            &mailstead_directory::NewUser::default(),
        )
        .await
        .expect("user");
    let resolver = mailstead_dns::MockResolver::new()
        .mx("remote.example", &[(10, "mx.remote.example")])
        .ip("mx.remote.example", &[remote.smtp_addr.ip()]);
    let port = remote.smtp_addr.port();
    let server = TestServer::builder()
        .resolver(std::sync::Arc::new(resolver))
        .queue(move |q| q.remote_port = port)
        .run_queue()
        .start()
        .await;
    let mut c = server.submission_login("alice@example.org").await;
    let (code, text) = send(
        &mut c,
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<friend@remote.example>"],
        &message("alice@example.org"),
    )
    .await;
    assert_reply(&(code, text), 250, "2.0.0");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let inbox = loop {
        let inbox = remote.inbox("friend@remote.example").await;
        if !inbox.is_empty() || std::time::Instant::now() > deadline {
            break inbox;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        inbox.len(),
        1,
        "not delivered; queue: {:?}",
        server.queued().await
    );
    let raw = String::from_utf8_lossy(&inbox[0].1).into_owned();
    // Signed by us (the domain got keys when it was created), received over the MX.
    assert!(raw.contains("DKIM-Signature:"), "{raw}");
    assert!(
        raw.starts_with("Return-Path: <alice@example.org>\r\n"),
        "{raw}"
    );
    assert_eq!(server.submission.panics(), 0);
    assert_eq!(remote.smtp.panics(), 0);
}
