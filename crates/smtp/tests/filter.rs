//! Session tests of the MX filter: authentication of incoming mail (SPF, DKIM, DMARC;
//! `Authentication-Results`, RFC 8601), the DMARC policy at end of DATA, spam scoring with
//! per-account settings and Junk filing, temporary DNS failures, greylisting (RFC 6647),
//! the per-IP message rate and learning from IMAP moves. DNS is a `MockResolver`.

use std::sync::Arc;
use std::time::Duration;

use mailstead_dns::{MockResolver, Resolver};
use mailstead_mailauth::{KeyType, Signer, SigningKey, dns_record, generate_key};
use mailstead_spam::OnTemporaryFailure;
use mailstead_store::model::{BayesModel, GreylistPolicy, SpamSettings};
use mailstead_testkit::{HOSTNAME, TestServer, assert_reply};

/// A message from `from` to alice, with `extra` header lines (CRLF-terminated).
fn message(from: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: alice@example.org\r\nSubject: {subject}\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{}@sender.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n{body}\r\n",
        rand_id()
    )
}

fn rand_id() -> String {
    format!("{:016x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// Signs `message` for `domain` with a fresh Ed25519 key; returns the signed message and
/// the TXT record to publish at `sel._domainkey.<domain>`.
fn sign(domain: &str, message: &str) -> (String, String) {
    let key = generate_key(KeyType::Ed25519).expect("key");
    let record = dns_record(key.key_type, &key.public_key);
    let signer = Signer::new(&[SigningKey {
        domain: domain.into(),
        selector: "sel".into(),
        key_type: key.key_type,
        private_pkcs8: key.private_pkcs8,
    }])
    .expect("signer");
    let fields = signer.sign(message.as_bytes()).expect("sign");
    (
        format!("{}{message}", String::from_utf8_lossy(&fields)),
        record,
    )
}

/// Sends one message over the MX from 127.0.0.1 (HELO `client.test`).
async fn send(server: &TestServer, mail_from: &str, to: &[&str], message: &str) -> (u16, String) {
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.test").await.0, 250);
    let reply = c.cmd(&format!("MAIL FROM:<{mail_from}>")).await;
    if reply.0 != 250 {
        return reply;
    }
    for rcpt in to {
        let reply = c.cmd(&format!("RCPT TO:<{rcpt}>")).await;
        if reply.0 != 250 {
            return reply;
        }
    }
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(message.as_bytes()).await;
    c.send_raw(b".\r\n").await;
    c.read_reply().await
}

/// The header section of a stored message.
fn header(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The unfolded value of the first field `name` in a header section.
fn field(header: &str, name: &str) -> Option<String> {
    let unfolded = header.replace("\r\n\t", " ").replace("\r\n ", " ");
    unfolded.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

async fn server_with(
    dns: MockResolver,
    f: impl FnOnce(&mut mailstead_spam::FilterConfig) + Send + 'static,
) -> TestServer {
    let dns: Arc<dyn Resolver> = Arc::new(dns);
    TestServer::builder().resolver(dns).filter(f).start().await
}

/// DNS of a sender domain with SPF (only 192.0.2.1 may send), and DMARC `policy`.
fn sender_dns(dns: MockResolver, domain: &str, policy: &str) -> MockResolver {
    dns.txt(domain, &["v=spf1 ip4:192.0.2.1 -all"]).txt(
        &format!("_dmarc.{domain}"),
        &[&format!("v=DMARC1; p={policy}")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkim_signed_mail_passes_dmarc_and_gets_authentication_results() {
    let (signed, record) = sign(
        "friendly.com",
        &message("Friend <a@friendly.com>", "lunch", "", "See you at noon."),
    );
    let dns = sender_dns(MockResolver::new(), "friendly.com", "reject")
        .txt("sel._domainkey.friendly.com", &[&record]);
    let server = server_with(dns, |_| {}).await;
    let reply = send(&server, "a@friendly.com", &["alice@example.org"], &signed).await;
    assert_reply(&reply, 250, "2.0.0");
    let inbox = server.inbox("alice@example.org").await;
    assert_eq!(inbox.len(), 1);
    let h = header(&inbox[0].1);
    let ar = field(&h, "Authentication-Results").expect("Authentication-Results");
    assert!(ar.starts_with(HOSTNAME), "{ar}");
    assert!(ar.contains("dkim=pass"), "{ar}");
    assert!(ar.contains("header.d=friendly.com"), "{ar}");
    assert!(ar.contains("dmarc=pass"), "{ar}");
    // Our client is 127.0.0.1, not 192.0.2.1.
    assert!(ar.contains("spf=fail"), "{ar}");
    assert!(field(&h, "X-Spam-Score").is_some(), "{h}");
    let status = field(&h, "X-Spam-Status").expect("X-Spam-Status");
    assert!(status.starts_with("No,"), "{status}");
    // Return-Path on top, then the verdict, then A-R above our Received.
    assert!(h.starts_with("Return-Path: <a@friendly.com>\r\n"), "{h}");
    let (ar_at, rcv_at) = (
        h.find("Authentication-Results:").unwrap_or(usize::MAX),
        h.find("Received:").unwrap_or(0),
    );
    assert!(ar_at < rcv_at, "{h}");
    assert_eq!(server.smtp.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_from_under_dmarc_reject_is_refused_with_550_5_7_1() {
    let dns = sender_dns(MockResolver::new(), "bigbank.com", "reject");
    let server = server_with(dns, |_| {}).await;
    let m = message(
        "Big Bank <security@bigbank.com>",
        "verify your account",
        "",
        "Click.",
    );
    let reply = send(&server, "bounce@elsewhere.net", &["alice@example.org"], &m).await;
    assert_reply(&reply, 550, "5.7.1");
    assert!(reply.1.contains("DMARC"), "{reply:?}");
    assert!(server.inbox("alice@example.org").await.is_empty());
    assert!(server.mailbox("alice@example.org", "Junk").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_from_under_dmarc_reject_goes_to_junk_when_rejection_is_off() {
    let dns = sender_dns(MockResolver::new(), "bigbank.com", "reject");
    let server = server_with(dns, |f| f.dmarc_reject = false).await;
    let m = message(
        "Big Bank <security@bigbank.com>",
        "verify your account",
        "",
        "Click.",
    );
    let reply = send(&server, "bounce@elsewhere.net", &["alice@example.org"], &m).await;
    assert_reply(&reply, 250, "2.0.0");
    assert!(server.inbox("alice@example.org").await.is_empty());
    let junk = server.mailbox("alice@example.org", "Junk").await;
    assert_eq!(junk.len(), 1);
    let ar = field(&header(&junk[0].1), "Authentication-Results").expect("A-R");
    assert!(ar.contains("dmarc=fail"), "{ar}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_from_under_dmarc_quarantine_goes_to_junk() {
    let dns = sender_dns(MockResolver::new(), "shop.com", "quarantine");
    let server = server_with(dns, |_| {}).await;
    let m = message("Shop <news@shop.com>", "offers", "", "Offers inside.");
    let reply = send(&server, "x@elsewhere.net", &["alice@example.org"], &m).await;
    assert_reply(&reply, 250, "2.0.0");
    assert!(server.inbox("alice@example.org").await.is_empty());
    assert_eq!(server.mailbox("alice@example.org", "Junk").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_dns_failure_never_rejects_permanently() {
    // The DMARC record cannot be fetched: defer when configured so, else accept.
    let dns = || {
        MockResolver::new()
            .txt("bigbank.com", &["v=spf1 ip4:192.0.2.1 -all"])
            .temporary_failure("_dmarc.bigbank.com")
    };
    let m = message("Big Bank <security@bigbank.com>", "hello", "", "Hi.");
    let server = server_with(dns(), |f| {
        f.on_temporary_failure = OnTemporaryFailure::Defer;
    })
    .await;
    let reply = send(&server, "x@elsewhere.net", &["alice@example.org"], &m).await;
    assert_eq!(reply.0, 451, "{reply:?}");
    assert!(reply.1.starts_with("4.7."), "{reply:?}");

    let server = server_with(dns(), |_| {}).await;
    let reply = send(&server, "x@elsewhere.net", &["alice@example.org"], &m).await;
    assert_reply(&reply, 250, "2.0.0");
    let stored = server.inbox("alice@example.org").await;
    let both = [stored, server.mailbox("alice@example.org", "Junk").await].concat();
    assert_eq!(both.len(), 1);
    let ar = field(&header(&both[0].1), "Authentication-Results").expect("A-R");
    assert!(ar.contains("dmarc=temperror"), "{ar}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_claiming_our_authserv_id_are_removed_and_others_kept() {
    let server = server_with(MockResolver::new(), |_| {}).await;
    let extra = format!(
        "Authentication-Results: {HOSTNAME}; dkim=pass header.d=forged.example\r\n\
         Authentication-Results: other.example;\r\n\tspf=pass smtp.mailfrom=x@y.example\r\n"
    );
    let m = message("x@y.example", "hello", &extra, "Hi.");
    let reply = send(&server, "x@y.example", &["alice@example.org"], &m).await;
    assert_reply(&reply, 250, "2.0.0");
    let stored = [
        server.inbox("alice@example.org").await,
        server.mailbox("alice@example.org", "Junk").await,
    ]
    .concat();
    let h = header(&stored[0].1);
    assert!(!h.contains("header.d=forged.example"), "{h}");
    assert!(h.contains("Authentication-Results: other.example;"), "{h}");
    assert_eq!(
        h.matches(&format!("Authentication-Results: {HOSTNAME}"))
            .count(),
        1,
        "{h}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_account_threshold_and_mark_as_read_decide_the_copy() {
    let server = server_with(MockResolver::new(), |f| {
        // Make one rule decisive so the test does not depend on default weights.
        f.weights = std::mem::take(&mut f.weights).with_overrides(
            &[("SUBJ_ALL_CAPS".to_string(), 10.0)].into_iter().collect(),
            15.0,
        );
    })
    .await;
    let meta = server.stores.meta.clone();
    let alice = meta
        .account(&"alice@example.org".parse().expect("address"))
        .await
        .expect("store")
        .expect("alice");
    // alice: a low threshold (Junk at > 30% of 15) and mark as read; bob: the default.
    meta.set_spam_settings(
        alice.id,
        &SpamSettings {
            enabled: true,
            threshold: 30,
            mark_as_read: true,
        },
    )
    .await
    .expect("settings");
    let m = message(
        "x@y.example",
        "URGENT WINNER NOTIFICATION TODAY",
        "",
        "Claim your prize.",
    );
    let reply = send(
        &server,
        "x@y.example",
        &["alice@example.org", "bob@example.org"],
        &m.replace(
            "To: alice@example.org",
            "To: alice@example.org, bob@example.org",
        ),
    )
    .await;
    assert_reply(&reply, 250, "2.0.0");
    let junk = server.mailbox("alice@example.org", "Junk").await;
    assert_eq!(junk.len(), 1, "alice's Junk");
    assert!(
        junk[0]
            .0
            .flags
            .contains(mailstead_store::model::Flags::SEEN)
    );
    let status = field(&header(&junk[0].1), "X-Spam-Status").expect("status");
    assert!(status.starts_with("Yes,"), "{status}");
    assert!(status.contains("SUBJ_ALL_CAPS"), "{status}");
    let bob = server.inbox("bob@example.org").await;
    assert_eq!(bob.len(), 1, "bob's INBOX");
    let status = field(&header(&bob[0].1), "X-Spam-Status").expect("status");
    assert!(status.starts_with("No,"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spam_filtering_off_for_an_account_keeps_mail_in_inbox() {
    let server = server_with(MockResolver::new(), |f| {
        f.weights = std::mem::take(&mut f.weights).with_overrides(
            &[("SUBJ_ALL_CAPS".to_string(), 11.0)].into_iter().collect(),
            15.0,
        );
    })
    .await;
    let meta = server.stores.meta.clone();
    let alice = meta
        .account(&"alice@example.org".parse().expect("address"))
        .await
        .expect("store")
        .expect("alice");
    meta.set_spam_settings(
        alice.id,
        &SpamSettings {
            enabled: false,
            ..SpamSettings::default()
        },
    )
    .await
    .expect("settings");
    let m = message("x@y.example", "URGENT WINNER NOTIFICATION", "", "Claim.");
    assert_reply(
        &send(&server, "x@y.example", &["alice@example.org"], &m).await,
        250,
        "2.0.0",
    );
    assert_eq!(server.inbox("alice@example.org").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_score_at_the_reject_score_is_refused_at_data() {
    let server = server_with(MockResolver::new(), |f| {
        f.weights = std::mem::take(&mut f.weights).with_overrides(
            &[("SUBJ_ALL_CAPS".to_string(), 30.0)].into_iter().collect(),
            15.0,
        );
    })
    .await;
    let m = message("x@y.example", "URGENT WINNER NOTIFICATION", "", "Claim.");
    let reply = send(&server, "x@y.example", &["alice@example.org"], &m).await;
    assert_reply(&reply, 550, "5.7.1");
    assert!(reply.1.contains("spam"), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greylisting_defers_a_new_triplet_then_passes_the_retry() {
    let dns: Arc<dyn Resolver> = Arc::new(MockResolver::new());
    let server = TestServer::builder()
        .resolver(dns)
        .filter(|_| {})
        .smtp(|c| {
            c.greylist = Some(GreylistPolicy {
                delay: 1,
                retry_window: 3600,
                pass_lifetime: 3600,
            });
            c.greylist_loopback = true;
        })
        .start()
        .await;
    let mut c = server.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.test").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<x@y.example>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 451, "4.7.1");
    // Too early: still deferred.
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 451, "4.7.1");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 250, "2.1.5");
    // Another sender is a new triplet.
    assert_eq!(c.cmd("RSET").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<z@y.example>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<alice@example.org>").await, 451, "4.7.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_per_ip_are_limited_per_hour() {
    let server = TestServer::builder()
        .smtp(|c| c.max_messages_per_ip_per_hour = 2)
        .start()
        .await;
    let m = message("x@y.example", "hello", "", "Hi.");
    for _ in 0..2 {
        assert_reply(
            &send(&server, "x@y.example", &["alice@example.org"], &m).await,
            250,
            "2.0.0",
        );
    }
    let reply = send(&server, "x@y.example", &["alice@example.org"], &m).await;
    assert_reply(&reply, 450, "4.7.1");
}

/// Waits until `model` has learned `spam` spam and `ham` ham messages.
async fn wait_for_totals(server: &TestServer, model: BayesModel, spam: u64, ham: u64) {
    for _ in 0..100 {
        let (_, totals) = server
            .stores
            .meta
            .bayes_counts(model, &[])
            .await
            .expect("counts");
        if totals.spam == spam && totals.ham == ham {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("model {model:?} never reached spam={spam} ham={ham}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_into_junk_trains_spam_and_out_of_junk_trains_ham() {
    let server = server_with(MockResolver::new(), |_| {}).await;
    let m = message("x@y.example", "cheap pills", "", "Buy cheap pills now.");
    assert_reply(
        &send(&server, "x@y.example", &["alice@example.org"], &m).await,
        250,
        "2.0.0",
    );
    let alice = server
        .stores
        .meta
        .account(&"alice@example.org".parse().expect("address"))
        .await
        .expect("store")
        .expect("alice");
    let mut imap = server.imap_login("alice@example.org").await;
    imap.cmd("SELECT INBOX").await.ok();
    imap.cmd("UID MOVE 1 Junk").await.ok();
    wait_for_totals(&server, BayesModel::Account(alice.id), 1, 0).await;
    wait_for_totals(&server, BayesModel::Global, 1, 0).await;
    // Moving it again (back and forth) relearns, never double counts.
    imap.cmd("SELECT Junk").await.ok();
    imap.cmd("UID MOVE 1 INBOX").await.ok();
    wait_for_totals(&server, BayesModel::Account(alice.id), 0, 1).await;
    wait_for_totals(&server, BayesModel::Global, 0, 1).await;
    // Into Trash from Junk is deletion, not a judgement.
    imap.cmd("SELECT INBOX").await.ok();
    imap.cmd("UID MOVE 2 Junk").await.ok();
    wait_for_totals(&server, BayesModel::Global, 1, 0).await;
    imap.cmd("SELECT Junk").await.ok();
    imap.cmd("UID MOVE 2 Trash").await.ok();
    tokio::time::sleep(Duration::from_millis(300)).await;
    wait_for_totals(&server, BayesModel::Global, 1, 0).await;
}
