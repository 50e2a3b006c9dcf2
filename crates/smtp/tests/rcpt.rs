//! Session tests of RCPT TO (RFC 5321 §4.1.1.3): local recipients through accounts,
//! aliases, catch-all, wildcards and alternative domains; no open relay; limits; external
//! alias destinations forwarded through the queue with SRS, and bounces to our SRS
//! addresses sent on to the original sender.

use mailstead_directory::NewUser;
use mailstead_store::model::AccountUpdate;
use mailstead_testkit::{PASSWORD, SmtpClient, TestServer, assert_reply};
use mailstead_types::Secret;

/// A client after EHLO and `MAIL FROM:<sender@example.com>`.
async fn in_transaction(server: &TestServer) -> SmtpClient {
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    c
}

/// Sends DATA with a small message carrying `subject` and expects it stored.
async fn finish_data(c: &mut SmtpClient, subject: &str) {
    let (code, text) = c.cmd("DATA").await;
    assert_eq!(code, 354, "{text}");
    c.send_raw(format!("Subject: {subject}\r\n\r\nhello\r\n.\r\n").as_bytes())
        .await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
}

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

async fn add_user(server: &TestServer, address: &str, opts: &NewUser) {
    server
        .directory
        .add_user(address, &Secret::new(PASSWORD.into()), opts)
        .await
        .expect("add user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_account_is_accepted_with_250_2_1_5() {
    let server = TestServer::start().await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    finish_data(&mut c, "for alice").await;
    assert_eq!(subjects(&server, "alice@example.org").await, ["for alice"]);
    assert!(subjects(&server, "bob@example.org").await.is_empty());
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_address_is_case_insensitive() {
    let server = TestServer::start().await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<ALICE@Example.ORG>").await, 250, "2.1.5");
    finish_data(&mut c, "shouted").await;
    assert_eq!(subjects(&server, "alice@example.org").await, ["shouted"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_with_several_destinations_delivers_to_each() {
    let server = TestServer::start().await;
    server
        .directory
        .add_alias(
            "sales@example.org",
            &["alice@example.org".into(), "bob@example.org".into()],
        )
        .await
        .expect("alias");
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<sales@example.org>").await, 250, "2.1.5");
    finish_data(&mut c, "to sales").await;
    assert_eq!(subjects(&server, "alice@example.org").await, ["to sales"]);
    assert_eq!(subjects(&server, "bob@example.org").await, ["to sales"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_reached_twice_in_one_transaction_gets_one_copy() {
    let server = TestServer::start().await;
    server
        .directory
        .add_alias(
            "sales@example.org",
            &["alice@example.org".into(), "bob@example.org".into()],
        )
        .await
        .expect("alias");
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_reply(&c.cmd("RCPT TO:<sales@example.org>").await, 250, "2.1.5");
    finish_data(&mut c, "once").await;
    assert_eq!(subjects(&server, "alice@example.org").await, ["once"]);
    assert_eq!(subjects(&server, "bob@example.org").await, ["once"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_all_receives_mail_for_unknown_local_parts() {
    let server = TestServer::start().await;
    server
        .directory
        .add_alias("@example.org", &["bob@example.org".into()])
        .await
        .expect("catch-all");
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<nobody@example.org>").await, 250, "2.1.5");
    // An existing account still gets its own mail.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    finish_data(&mut c, "caught").await;
    assert_eq!(subjects(&server, "bob@example.org").await, ["caught"]);
    assert_eq!(subjects(&server, "alice@example.org").await, ["caught"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_alias_receives_matching_local_parts_only() {
    let server = TestServer::start().await;
    server
        .directory
        .add_alias("team-*@example.org", &["bob@example.org".into()])
        .await
        .expect("wildcard");
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<team-eu@example.org>").await, 250, "2.1.5");
    assert_reply(&c.cmd("RCPT TO:<teamster@example.org>").await, 550, "5.1.1");
    finish_data(&mut c, "team").await;
    assert_eq!(subjects(&server, "bob@example.org").await, ["team"]);
    assert!(subjects(&server, "alice@example.org").await.is_empty());
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alternative_domain_delivers_to_the_primary_account() {
    let server = TestServer::start().await;
    server
        .directory
        .add_alternative_domain("example.org", "example.net")
        .await
        .expect("alternative domain");
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<alice@example.net>").await, 250, "2.1.5");
    assert_reply(&c.cmd("RCPT TO:<nobody@example.net>").await, 550, "5.1.1");
    finish_data(&mut c, "alternative").await;
    assert_eq!(
        subjects(&server, "alice@example.org").await,
        ["alternative"]
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_local_user_is_rejected_with_550_5_1_1() {
    let server = TestServer::start().await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<nobody@example.org>").await, 550, "5.1.1");
    // The transaction goes on with the valid recipients.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    finish_data(&mut c, "after a refusal").await;
    assert_eq!(
        subjects(&server, "alice@example.org").await,
        ["after a refusal"]
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_local_domain_is_refused_with_554_5_7_1() {
    let server = TestServer::start().await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<victim@evil.example>").await, 554, "5.7.1");
    assert_reply(
        &c.cmd("RCPT TO:<alice@example.org.evil.example>").await,
        554,
        "5.7.1",
    );
    assert_reply(&c.cmd("RCPT TO:<alice@org>").await, 554, "5.7.1");
    // Nothing was accepted, so DATA has no recipients.
    assert_reply(&c.cmd("DATA").await, 554, "5.5.0");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_tricks_are_never_accepted() {
    let server = TestServer::start().await;
    let mut c = in_transaction(&server).await;
    let table = [
        // Two @: not a valid address at all.
        ("<user@example.org@evil.example>", 501, "5.1.3"),
        // A quoted local part with an @: no account can be named so.
        ("<\"user@evil.example\"@example.org>", 550, "5.1.1"),
        // Address literals are never local.
        ("<a@[127.0.0.1]>", 554, "5.7.1"),
        ("<a@[IPv6:::1]>", 554, "5.7.1"),
        // The percent hack is just an unknown local part here.
        ("<a%evil.example@example.org>", 550, "5.1.1"),
        // A source route through us to a foreign domain (RFC 5321 §4.1.2: route ignored).
        ("<@example.org:user@evil.example>", 554, "5.7.1"),
        // `!` paths (UUCP) are just an unknown local part.
        ("<evil.example!user@example.org>", 550, "5.1.1"),
    ];
    for (path, code, enhanced) in table {
        let reply = c.cmd(&format!("RCPT TO:{path}")).await;
        assert!(reply.0 != 250, "{path} accepted: {reply:?}");
        assert_reply(&reply, code, enhanced);
    }
    assert_reply(&c.cmd("DATA").await, 554, "5.5.0");
    assert_eq!(server.smtp.delivered(), 0);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_route_to_a_local_recipient_is_delivered_locally() {
    let server = TestServer::start().await;
    let mut c = in_transaction(&server).await;
    assert_reply(
        &c.cmd("RCPT TO:<@relay.example:alice@example.org>").await,
        250,
        "2.1.5",
    );
    finish_data(&mut c, "routed").await;
    assert_eq!(subjects(&server, "alice@example.org").await, ["routed"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_account_is_rejected_with_550_5_2_1() {
    let server = TestServer::start().await;
    server
        .directory
        .set_enabled("bob@example.org", false)
        .await
        .expect("disable");
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<bob@example.org>").await, 550, "5.2.1");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_over_quota_is_deferred_with_452_4_2_2() {
    let server = TestServer::start().await;
    server
        .directory
        .update_user(
            "alice@example.org",
            &AccountUpdate {
                quota_bytes: Some(Some(100)),
                ..Default::default()
            },
        )
        .await
        .expect("quota");
    // Under quota: accepted, and the message (trace headers alone exceed 100 octets)
    // fills the mailbox.
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    finish_data(&mut c, "fills the quota").await;
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 452, "4.2.2");
    // Another recipient in the same transaction is not held up.
    assert_reply(&c.cmd("RCPT TO:<bob@example.org>").await, 250, "2.1.5");
    finish_data(&mut c, "bob only").await;
    assert_eq!(
        subjects(&server, "alice@example.org").await,
        ["fills the quota"]
    );
    assert_eq!(subjects(&server, "bob@example.org").await, ["bob only"]);
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_recipients_are_deferred_with_452_4_5_3() {
    let server = TestServer::start_with(|cfg| cfg.max_recipients = 2).await;
    add_user(&server, "carol@example.org", &NewUser::default()).await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_reply(&c.cmd("RCPT TO:<bob@example.org>").await, 250, "2.1.5");
    assert_reply(&c.cmd("RCPT TO:<carol@example.org>").await, 452, "4.5.3");
    finish_data(&mut c, "two of three").await;
    assert_eq!(
        subjects(&server, "alice@example.org").await,
        ["two of three"]
    );
    assert_eq!(subjects(&server, "bob@example.org").await, ["two of three"]);
    assert!(subjects(&server, "carol@example.org").await.is_empty());
    // The limit is per transaction: the next one takes carol.
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<carol@example.org>").await, 250, "2.1.5");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rcpt_before_mail_is_rejected_with_503() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 503, "5.5.1");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsn_parameters_after_helo_are_refused_with_555() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("HELO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(
        &c.cmd("RCPT TO:<alice@example.org> NOTIFY=NEVER").await,
        555,
        "5.5.4",
    );
    assert_reply(
        &c.cmd("RCPT TO:<alice@example.org> ORCPT=rfc822;alice@example.org")
            .await,
        555,
        "5.5.4",
    );
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_recipient_is_rejected_with_501_5_1_3() {
    let server = TestServer::start().await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:alice@example.org").await, 501, "5.1.3");
    assert_reply(&c.cmd("RCPT TO:<>").await, 501, "5.1.3");
    assert_reply(&c.cmd("RCPT TO:<alice>").await, 501, "5.1.3");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_postmaster_goes_to_global_admins_when_no_postmaster_alias_exists() {
    let server = TestServer::start().await;
    add_user(
        &server,
        "root@example.org",
        &NewUser {
            global_admin: true,
            ..Default::default()
        },
    )
    .await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<Postmaster>").await, 250, "2.1.5");
    finish_data(&mut c, "to the postmaster").await;
    assert_eq!(
        subjects(&server, "root@example.org").await,
        ["to the postmaster"]
    );
    assert!(subjects(&server, "alice@example.org").await.is_empty());
    // The domain form too.
    assert_reply(&c.cmd("MAIL FROM:<sender@example.com>").await, 250, "2.1.0");
    assert_reply(
        &c.cmd("RCPT TO:<postmaster@example.org>").await,
        250,
        "2.1.5",
    );
    finish_data(&mut c, "again").await;
    assert_eq!(
        subjects(&server, "root@example.org").await,
        ["to the postmaster", "again"]
    );
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postmaster_alias_takes_precedence_over_admins() {
    let server = TestServer::start().await;
    add_user(
        &server,
        "root@example.org",
        &NewUser {
            global_admin: true,
            ..Default::default()
        },
    )
    .await;
    server
        .directory
        .add_alias("postmaster@example.org", &["bob@example.org".into()])
        .await
        .expect("alias");
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<Postmaster>").await, 250, "2.1.5");
    finish_data(&mut c, "to bob").await;
    assert_eq!(subjects(&server, "bob@example.org").await, ["to bob"]);
    assert!(subjects(&server, "root@example.org").await.is_empty());
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_recipient_without_smtputf8_is_rejected_with_553_5_6_7() {
    let server = TestServer::start().await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<jösé@example.org>").await, 553, "5.6.7");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_recipient_with_smtputf8_is_looked_up() {
    let server = TestServer::start().await;
    add_user(&server, "jösé@example.org", &NewUser::default()).await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(
        &c.cmd("MAIL FROM:<sender@example.com> SMTPUTF8").await,
        250,
        "2.1.0",
    );
    assert_reply(&c.cmd("RCPT TO:<JÖSÉ@example.org>").await, 250, "2.1.5");
    assert_reply(&c.cmd("RCPT TO:<jürgen@example.org>").await, 550, "5.1.1");
    finish_data(&mut c, "utf8").await;
    assert_eq!(subjects(&server, "jösé@example.org").await, ["utf8"]);
    assert_eq!(server.smtp.panics(), 0);
}

/// An alias `fwd@example.org` to alice and an external address, written past the
/// directory's checks.
async fn add_forwarding_alias(server: &TestServer) {
    let domain = server
        .directory
        .find_domain("example.org")
        .await
        .expect("domain");
    server
        .stores
        .meta
        .create_alias(&mailstead_store::model::NewAlias {
            domain_id: domain.id,
            local_part: "fwd".into(),
            wildcard: false,
            destinations: vec!["alice@example.org".into(), "friend@remote.example".into()],
        })
        .await
        .expect("alias");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_alias_destination_is_queued_with_an_srs_sender() {
    let server = TestServer::start().await;
    add_forwarding_alias(&server).await;
    let mut c = in_transaction(&server).await;
    assert_reply(&c.cmd("RCPT TO:<fwd@example.org>").await, 250, "2.1.5");
    finish_data(&mut c, "forward me").await;
    assert_eq!(subjects(&server, "alice@example.org").await, ["forward me"]);
    let queued = server.queued().await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let q = &queued[0];
    // The sender is rewritten so SPF passes at the destination and bounces come back.
    assert!(
        q.mail_from.starts_with("SRS0=") && q.mail_from.ends_with("@mx.example.org"),
        "{}",
        q.mail_from
    );
    assert!(
        q.mail_from.contains("=example.com=sender@"),
        "{}",
        q.mail_from
    );
    assert_eq!(q.recipients.len(), 1);
    assert_eq!(q.recipients[0].address, "friend@remote.example");
    // The copy sent on is the one stored, without Return-Path (it is not delivered here
    // only).
    let raw = server.blob(&q.blob_id).await;
    assert!(raw.starts_with(b"Received: from client.example"), "{raw:?}");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounce_to_a_valid_srs_address_is_queued_to_the_original_sender() {
    let server = TestServer::start().await;
    let day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 86_400;
    let srs = server.queue.srs().forward("orig@remote.example", day);
    assert!(srs.starts_with("SRS0="), "{srs}");
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO bouncer.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<>").await, 250, "2.1.0");
    assert_reply(&c.cmd(&format!("RCPT TO:<{srs}>")).await, 250, "2.1.5");
    finish_data(&mut c, "Undelivered Mail Returned to Sender").await;
    let queued = server.queued().await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].mail_from, "");
    assert_eq!(queued[0].recipients[0].address, "orig@remote.example");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_srs_address_is_refused_with_550() {
    let server = TestServer::start().await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO bouncer.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<>").await, 250, "2.1.0");
    let (code, text) = c
        .cmd("RCPT TO:<SRS0=abcd=AA=victim.example=someone@mx.example.org>")
        .await;
    assert_reply(&(code, text.clone()), 550, "5.1.1");
    assert!(text.contains("invalid SRS address"), "{text}");
    // In a local domain too, and whatever the case of the tag.
    assert_reply(
        &c.cmd("RCPT TO:<srs0=abcd=AA=victim.example=someone@example.org>")
            .await,
        550,
        "5.1.1",
    );
    // An SRS-looking address of another domain is simply not ours: no relaying.
    assert_reply(
        &c.cmd("RCPT TO:<SRS0=abcd=AA=victim.example=someone@other.example>")
            .await,
        554,
        "5.7.1",
    );
    assert!(server.queued().await.is_empty());
    assert_eq!(server.smtp.panics(), 0);
}
