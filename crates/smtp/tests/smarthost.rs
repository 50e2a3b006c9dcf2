//! Relaying through a smarthost, end to end with two in-process servers: server A's queue
//! sends everything to server B's submission listener with STARTTLS (B's self-signed
//! certificate verified against A's extra roots) and AUTH as an account of B. A relay
//! that refuses the login, or whose certificate does not verify, leaves the mail queued
//! (a relay misconfiguration must not bounce mail), and nothing goes out in plaintext.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailstead_directory::NewUser;
use mailstead_dns::MockResolver;
use mailstead_queue::{Smarthost, SmarthostTls};
use mailstead_store::model::{AccountUpdate, QueuedRecipient, RecipientStatus};
use mailstead_testkit::{HOSTNAME, PASSWORD, TestServer, assert_reply};
use mailstead_types::Secret;

/// B's account that A logs in as; it may send as anyone (a relay service's customer).
const RELAY_USER: &str = "relay@b.test";
const RELAY_PASSWORD: &str = "relay secret";

/// Server B, the smarthost: hosts `b.test` with `friend@b.test` and [`RELAY_USER`]. Its
/// queue worker does not run.
async fn start_relay() -> TestServer {
    let b = TestServer::start().await;
    b.directory.add_domain("b.test").await.expect("domain");
    b.directory
        .add_user(
            "friend@b.test",
            &Secret::new(PASSWORD.into()),
            &NewUser::default(),
        )
        .await
        .expect("user");
    b.directory
        .add_user(
            RELAY_USER,
            &Secret::new(RELAY_PASSWORD.into()),
            &NewUser::default(),
        )
        .await
        .expect("relay user");
    b.directory
        .update_user(
            RELAY_USER,
            &AccountUpdate {
                allow_spoofing: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("allow spoofing");
    b
}

/// Server A, relaying through `b`'s submission port as [`HOSTNAME`] (the name in B's
/// certificate, resolving to 127.0.0.1) with `password`, trusting B's certificate when
/// `trust_b`. Hosts `a.test` with `carol@a.test`; its queue worker runs.
async fn start_sender(b: &TestServer, password: &str, trust_b: bool) -> TestServer {
    let smarthost = Smarthost {
        host: HOSTNAME.into(),
        port: b.submission_addr.port(),
        tls: SmarthostTls::StartTls,
        username: Some(RELAY_USER.into()),
        password: Some(Secret::new(password.into())),
    };
    let roots = if trust_b {
        b.certificate_pem()
    } else {
        Vec::new()
    };
    let resolver = MockResolver::new().ip(HOSTNAME, &[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let a = TestServer::builder()
        .resolver(Arc::new(resolver))
        .queue(move |q| {
            q.smarthost = Some(smarthost);
            q.extra_roots_pem = roots;
        })
        .run_queue()
        .start()
        .await;
    a.directory.add_domain("a.test").await.expect("domain");
    a.directory
        .add_user(
            "carol@a.test",
            &Secret::new(PASSWORD.into()),
            &NewUser::default(),
        )
        .await
        .expect("user");
    a
}

/// carol@a.test submits a message to friend@b.test at A.
async fn submit(a: &TestServer) {
    let mut c = a.submission_login("carol@a.test").await;
    assert_reply(&c.cmd("MAIL FROM:<carol@a.test>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<friend@b.test>").await, 250, "2.1.5");
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(
        b"From: Carol <carol@a.test>\r\nTo: friend@b.test\r\nSubject: via relay\r\n\
          \r\nHello through the smarthost.\r\n.\r\n",
    )
    .await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
}

/// Waits (up to 20 s) until A's only queued recipient has been tried `attempts` times.
async fn wait_attempts(a: &TestServer, attempts: u32) -> QueuedRecipient {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let queued = a.queued().await;
        assert_eq!(queued.len(), 1, "{queued:?}");
        let r = &queued[0].recipients[0];
        if r.attempts >= attempts {
            return r.clone();
        }
        assert!(Instant::now() < deadline, "not tried: {queued:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_is_relayed_through_the_smarthost_over_verified_tls_with_auth() {
    let b = start_relay().await;
    let a = start_sender(&b, RELAY_PASSWORD, true).await;
    submit(&a).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let inbox = loop {
        let inbox = b.inbox("friend@b.test").await;
        if !inbox.is_empty() || Instant::now() > deadline {
            break inbox;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        inbox.len(),
        1,
        "not relayed; A's queue: {:?}",
        a.queued().await
    );
    let raw = String::from_utf8_lossy(&inbox[0].1).into_owned();
    assert!(raw.starts_with("Return-Path: <carol@a.test>\r\n"), "{raw}");
    // B's trace field (the client is A's queue, saying EHLO with A's host name) records
    // a session with TLS and AUTH; A's own (from the test client) comes after it.
    let b_received = raw
        .split("\r\nReceived: ")
        .nth(1)
        .expect("B's Received field");
    assert!(
        b_received.starts_with(&format!("from {HOSTNAME} ([127.0.0.1])")),
        "{b_received}"
    );
    assert!(b_received.contains(" with ESMTPSA id "), "{b_received}");
    assert!(raw.contains("Received: from client.example"), "{raw}");
    // A signed it with a.test's key; B (which does not host a.test) added nothing.
    let domain = a.directory.find_domain("a.test").await.expect("domain");
    let keys = a.stores.meta.dkim_keys(domain.id).await.expect("keys");
    assert!(!keys.is_empty());
    let signatures: Vec<&str> = raw
        .split("DKIM-Signature:")
        .skip(1)
        .map(|s| s.split("\r\nReceived: ").next().unwrap_or(s))
        .collect();
    assert!(!signatures.is_empty(), "{raw}");
    for s in &signatures {
        assert!(s.contains("d=a.test"), "{s}");
        assert!(
            keys.iter()
                .any(|k| s.contains(&format!("s={}", k.selector))),
            "{s}"
        );
    }
    assert!(b.queued().await.is_empty());
    // Delivered: A's queue entry is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !a.queued().await.is_empty() {
        assert!(Instant::now() < deadline, "{:?}", a.queued().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.submission.delivered(), 1);
    assert_eq!(a.submission.panics(), 0);
    assert_eq!(b.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_smarthost_login_keeps_the_message_queued() {
    let b = start_relay().await;
    let a = start_sender(&b, "wrong password", true).await;
    submit(&a).await;

    // Tried twice and still pending: a 535 from the relay is deferred, not bounced.
    let r = wait_attempts(&a, 2).await;
    assert_eq!(r.status, RecipientStatus::Pending, "{r:?}");
    let error = r.last_error.unwrap_or_default();
    assert!(error.contains("AUTH refused"), "{error}");
    // No bounce to carol, nothing relayed.
    assert_eq!(a.queued().await.len(), 1);
    assert!(a.inbox("carol@a.test").await.is_empty());
    assert!(b.inbox("friend@b.test").await.is_empty());
    assert_eq!(b.submission.delivered(), 0);
    assert_eq!(a.submission.panics(), 0);
    assert_eq!(b.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverifiable_smarthost_certificate_keeps_the_message_queued() {
    let b = start_relay().await;
    let a = start_sender(&b, RELAY_PASSWORD, false).await;
    submit(&a).await;

    let r = wait_attempts(&a, 1).await;
    assert_eq!(r.status, RecipientStatus::Pending, "{r:?}");
    let error = r.last_error.unwrap_or_default();
    assert!(error.contains("TLS: "), "{error}");
    assert!(error.contains("certificate"), "{error}");
    // Not sent in plaintext instead.
    assert!(b.inbox("friend@b.test").await.is_empty());
    assert!(b.queued().await.is_empty());
    assert_eq!(b.submission.delivered(), 0);
    assert!(a.inbox("carol@a.test").await.is_empty());
    assert_eq!(a.submission.panics(), 0);
    assert_eq!(b.submission.panics(), 0);
}
