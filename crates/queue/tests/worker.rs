//! The delivery worker end to end: a real [`Queue`] over SQLite in a temporary directory,
//! a mock resolver, and scripted SMTP servers on loopback addresses (127.0.0.2 and up,
//! all on one port, since `remote_port` is one port for every MX host).

mod support;

use std::time::{Duration, Instant};

use mailstead_dns::MockResolver;
use mailstead_queue::{Queue, Smarthost, SmarthostTls};
use mailstead_store::model::{DsnRet, NotifyFlags, OriginalRecipient, RecipientStatus, unix_now};
use support::{
    ALICE, BOB, Env, FakeMx, Script, Worker, certificate, eventually, lo, local, message, remote,
};

/// The one recipient of the one queued message, once it has been attempted `n` times.
async fn after_attempts(env: &Env, n: u32) -> mailstead_store::model::QueuedRecipient {
    eventually(&format!("{n} attempts"), async || {
        let queued = env.queued().await;
        let r = queued.first()?.recipients.first()?.clone();
        (r.attempts >= n).then_some(r)
    })
    .await
}

/// The RCPT lines for `address` the server saw.
fn rcpts_for(mx: &FakeMx, address: &str) -> usize {
    let needle = format!("<{address}>");
    mx.log()
        .rcpts
        .iter()
        .filter(|l| l.contains(&needle))
        .count()
}

// --- routing -----------------------------------------------------------------------------

#[tokio::test]
async fn an_mx_host_refusing_connections_is_skipped_for_the_next_preference() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    // 127.0.0.9: nobody listens on the port there, the connection is refused.
    let dns = MockResolver::new()
        .mx(
            "remote.test",
            &[(20, "mx2.remote.test"), (10, "mx1.remote.test")],
        )
        .ip("mx1.remote.test", &[lo(9)])
        .ip("mx2.remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    worker
        .accept(message(ALICE, &["x@remote.test"], "m1"))
        .await;

    let t = mx.wait_transactions(1).await;
    assert_eq!(t[0].ip, lo(2));
    assert_eq!(t[0].rcpts, vec!["RCPT TO:<x@remote.test>"]);
    env.wait_queue_empty().await;
    assert!(env.inbox(env.alice).await.is_empty(), "no DSN");
    worker.stop().await;
}

#[tokio::test]
async fn the_preferred_mx_host_is_used_when_it_answers() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[3], Script::default()).await;
    let dns = MockResolver::new()
        .mx(
            "remote.test",
            &[(20, "mx2.remote.test"), (10, "mx1.remote.test")],
        )
        .ip("mx1.remote.test", &[lo(3)])
        .ip("mx2.remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    for i in 0..3 {
        worker
            .accept(message(ALICE, &["x@remote.test"], &format!("m{i}")))
            .await;
    }
    mx.wait_transactions(3).await;
    env.wait_queue_empty().await;
    let log = mx.log();
    assert!(log.connections.iter().all(|ip| *ip == lo(3)), "{log:?}");
    worker.stop().await;
}

#[tokio::test]
async fn a_domain_without_mx_is_delivered_to_its_address_record() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    let dns = MockResolver::new().ip("implicit.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    worker
        .accept(message(ALICE, &["x@implicit.test"], "m"))
        .await;
    let t = mx.wait_transactions(1).await;
    assert_eq!(t[0].rcpts, vec!["RCPT TO:<x@implicit.test>"]);
    env.wait_queue_empty().await;
    worker.stop().await;
}

#[tokio::test]
async fn null_mx_fails_at_once_with_a_dsn_in_the_local_senders_inbox() {
    let env = Env::new().await;
    let dns = MockResolver::new().null_mx("nomail.test");
    let worker = env.start(env.config(1), dns).await;
    let started = Instant::now();
    worker.accept(message(ALICE, &["x@nomail.test"], "m")).await;

    let dsn = env.one_dsn_to_alice().await;
    // Failed at the first attempt: no retry delay.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(dsn.field("action"), "failed");
    assert_eq!(dsn.field("status"), "5.1.10");
    assert!(dsn.field("final-recipient").ends_with("x@nomail.test"));
    assert!(
        dsn.message_fields["reporting-mta"].ends_with(support::HOSTNAME),
        "{dsn:#?}"
    );
    assert_eq!(dsn.returned.as_deref(), Some("message/rfc822"));
    worker.stop().await;
}

#[tokio::test]
async fn nxdomain_fails_the_recipient_with_5_1_2() {
    let env = Env::new().await;
    let dns = MockResolver::new().nxdomain("gone.test");
    let worker = env.start(env.config(1), dns).await;
    worker.accept(message(ALICE, &["x@gone.test"], "m")).await;
    let dsn = env.one_dsn_to_alice().await;
    assert_eq!(dsn.field("action"), "failed");
    assert_eq!(dsn.field("status"), "5.1.2");
    worker.stop().await;
}

#[tokio::test]
async fn a_temporary_dns_failure_keeps_the_recipient_pending() {
    let env = Env::new().await;
    let dns = MockResolver::new().temporary_failure("flaky.test");
    let worker = env.start(env.config(1), dns).await;
    worker.accept(message(ALICE, &["x@flaky.test"], "m")).await;
    let r = after_attempts(&env, 1).await;
    assert_eq!(r.status, RecipientStatus::Pending);
    assert!(
        r.last_error.as_deref().unwrap_or("").contains("SERVFAIL"),
        "{r:?}"
    );
    assert!(env.inbox(env.alice).await.is_empty());
    worker.stop().await;
}

// --- transactions ------------------------------------------------------------------------

#[tokio::test]
async fn recipients_at_one_domain_share_one_transaction() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    let dns = MockResolver::new()
        .mx("remote.test", &[(10, "mx.remote.test")])
        .ip("mx.remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    worker
        .accept(message(
            ALICE,
            &["a@remote.test", "b@remote.test", "c@Remote.Test"],
            "m",
        ))
        .await;
    env.wait_queue_empty().await;
    let log = mx.log();
    assert_eq!(log.mails.len(), 1, "{log:?}");
    assert_eq!(log.transactions.len(), 1, "{log:?}");
    assert_eq!(
        log.transactions[0].rcpts,
        vec![
            "RCPT TO:<a@remote.test>",
            "RCPT TO:<b@remote.test>",
            "RCPT TO:<c@Remote.Test>"
        ]
    );
    worker.stop().await;
}

#[tokio::test]
async fn recipients_at_two_domains_get_one_transaction_each() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[3], Script::default()).await;
    let dns = MockResolver::new()
        .mx("one.test", &[(10, "mx.one.test")])
        .ip("mx.one.test", &[lo(2)])
        .mx("two.test", &[(10, "mx.two.test")])
        .ip("mx.two.test", &[lo(3)]);
    let worker = env.start(env.config(mx.port), dns).await;
    worker
        .accept(message(
            ALICE,
            &["a@one.test", "b@two.test", "c@one.test"],
            "m",
        ))
        .await;
    env.wait_queue_empty().await;
    let mut t = mx.log().transactions;
    assert_eq!(t.len(), 2, "{t:?}");
    t.sort_by_key(|t| t.ip);
    assert_eq!(t[0].ip, lo(2));
    assert_eq!(
        t[0].rcpts,
        vec!["RCPT TO:<a@one.test>", "RCPT TO:<c@one.test>"]
    );
    assert_eq!(t[1].ip, lo(3));
    assert_eq!(t[1].rcpts, vec!["RCPT TO:<b@two.test>"]);
    worker.stop().await;
}

// --- retries and failures ----------------------------------------------------------------

#[tokio::test]
async fn a_451_is_retried_and_delivered_without_a_dsn() {
    let env = Env::new().await;
    let script = Script::default().rcpt(|_, n| {
        if n == 0 {
            "451 4.3.0 try again later".into()
        } else {
            "250 2.1.5 ok".into()
        }
    });
    let mx = FakeMx::start(&[], script).await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    worker.accept(message(ALICE, &["x@remote.test"], "m")).await;

    let r = after_attempts(&env, 1).await;
    assert_eq!(r.status, RecipientStatus::Pending);
    assert_eq!(r.attempts, 1);
    let error = r.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("451") && error.contains("try again later"),
        "{error}"
    );
    assert!(r.next_attempt > r.last_attempt.unwrap_or(0), "{r:?}");

    mx.wait_transactions(1).await;
    env.wait_queue_empty().await;
    assert_eq!(rcpts_for(&mx, "x@remote.test"), 2);
    assert!(env.inbox(env.alice).await.is_empty(), "no DSN");
    worker.stop().await;
}

#[tokio::test]
async fn a_refused_recipient_is_bounced_alone_with_the_remote_reply() {
    let env = Env::new().await;
    let script = Script::default().rcpt(|a, _| {
        if a.starts_with("nobody@") {
            "550 5.1.1 <nobody@remote.test>: no such user".into()
        } else {
            "250 2.1.5 ok".into()
        }
    });
    let mx = FakeMx::start(&[], script).await;
    let dns = MockResolver::new()
        .mx("remote.test", &[(10, "mx.remote.test")])
        .ip("mx.remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    let mut m = message(
        ALICE,
        &["nobody@remote.test", "somebody@remote.test"],
        "bounce-me",
    );
    m.envid = Some("envelope-1".into());
    m.ret = Some(DsnRet::Hdrs);
    m.remote[0].original_recipient = Some(OriginalRecipient {
        addr_type: "rfc822".into(),
        address: "Nobody@Remote.Test".into(),
    });
    worker.accept(m).await;

    let t = mx.wait_transactions(1).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].subject(), "bounce-me");
    let dsn = env.one_dsn_to_alice().await;
    assert_eq!(dsn.recipients.len(), 1, "only the refused one: {dsn:#?}");
    assert_eq!(dsn.field("final-recipient"), "rfc822; nobody@remote.test");
    assert_eq!(dsn.field("action"), "failed");
    assert_eq!(dsn.field("status"), "5.1.1");
    let diagnostic = dsn.field("diagnostic-code");
    assert!(
        diagnostic.starts_with("smtp;")
            && diagnostic.contains("550 5.1.1")
            && diagnostic.contains("no such user"),
        "{diagnostic}"
    );
    assert_eq!(dsn.field("remote-mta"), "dns; mx.remote.test", "{dsn:#?}");
    assert!(!dsn.text.is_empty());
    assert!(!format!("{dsn:?}").contains("somebody@"), "{dsn:#?}");
    assert!(dsn.subject.contains("Undelivered"), "{dsn:#?}");
    assert_eq!(dsn.message_fields["original-envelope-id"], "envelope-1");
    assert!(
        dsn.field("original-recipient")
            .ends_with("Nobody@Remote.Test"),
        "{dsn:#?}"
    );
    // RET=HDRS: the header of the original only.
    assert_eq!(dsn.returned.as_deref(), Some("text/rfc822-headers"));
    worker.stop().await;
}

#[tokio::test]
async fn a_refused_data_fails_every_accepted_recipient() {
    let env = Env::new().await;
    let script = Script::default().data(|_| "554 5.6.0 content rejected".into());
    let mx = FakeMx::start(&[], script).await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    worker
        .accept(message(ALICE, &["a@remote.test", "b@remote.test"], "m"))
        .await;
    let dsn = env.one_dsn_to_alice().await;
    assert_eq!(dsn.recipients.len(), 2, "{dsn:#?}");
    for r in &dsn.recipients {
        assert_eq!(r["status"], "5.6.0");
        assert!(r["diagnostic-code"].contains("content rejected"), "{r:?}");
    }
    worker.stop().await;
}

#[tokio::test]
async fn notify_never_suppresses_the_failure_dsn() {
    let env = Env::new().await;
    let dns = MockResolver::new().null_mx("nomail.test");
    let worker = env.start(env.config(1), dns).await;
    let mut m = message(ALICE, &[], "m");
    m.remote = vec![remote("x@nomail.test", NotifyFlags::NEVER)];
    worker.accept(m).await;
    // The failure and the DSN it owes are recorded in one transaction: an empty queue
    // with an empty INBOX means no DSN was ever queued.
    env.wait_queue_empty().await;
    assert!(env.inbox(env.alice).await.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_failing_message_from_the_null_sender_causes_no_dsn_and_is_removed() {
    let env = Env::new().await;
    let mx = FakeMx::start(
        &[],
        Script::default().rcpt(|_, _| "550 5.1.1 no such user".into()),
    )
    .await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    worker
        .accept(message("", &["x@remote.test"], "bounce"))
        .await;
    eventually("the RCPT", async || {
        (rcpts_for(&mx, "x@remote.test") > 0).then_some(())
    })
    .await;
    env.wait_queue_empty().await;
    assert_eq!(mx.log().mails, vec!["MAIL FROM:<>"]);
    assert!(env.inbox(env.alice).await.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_recipient_still_deferred_when_the_time_is_up_fails_with_5_4_7() {
    let env = Env::new().await;
    let mx = FakeMx::start(
        &[],
        Script::default().rcpt(|_, _| "451 4.7.1 greylisted, come back later".into()),
    )
    .await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let mut config = env.config(mx.port);
    config.give_up_after = Duration::from_secs(2);
    let worker = env.start(config, dns).await;
    let started = unix_now();
    worker.accept(message(ALICE, &["x@remote.test"], "m")).await;

    let dsn = env.one_dsn_to_alice().await;
    assert!(unix_now() - started >= 2);
    assert!(
        rcpts_for(&mx, "x@remote.test") >= 2,
        "retried before giving up"
    );
    assert_eq!(dsn.field("action"), "failed");
    assert_eq!(dsn.field("status"), "5.4.7");
    assert!(
        dsn.field("diagnostic-code").contains("greylisted"),
        "{dsn:#?}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn one_delay_notice_is_sent_however_many_retries_follow() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default().rcpt(|_, _| "451 4.3.0 busy".into())).await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let mut config = env.config(mx.port);
    config.delay_notice_after = Some(Duration::from_secs(1));
    config.retry_max = Duration::from_secs(1);
    let worker = env.start(config, dns).await;
    worker.accept(message(ALICE, &["x@remote.test"], "m")).await;

    let r = after_attempts(&env, 4).await;
    assert!(r.delay_notified, "{r:?}");
    // The notice was queued at attempt 2 or 3 and delivered locally long since; wait
    // until only the original is left in the queue.
    eventually("only the original queued", async || {
        (env.queued().await.len() == 1).then_some(())
    })
    .await;
    let dsns = env.dsns(env.alice).await;
    assert_eq!(dsns.len(), 1, "{dsns:#?}");
    assert_eq!(dsns[0].field("action"), "delayed");
    assert!(dsns[0].subject.contains("Delayed"), "{:#?}", dsns[0]);
    assert_eq!(dsns[0].field("status"), "4.3.0");
    assert!(
        dsns[0].recipients[0].contains_key("will-retry-until"),
        "{:#?}",
        dsns[0]
    );
    assert_eq!(
        env.queued().await[0].recipients[0].status,
        RecipientStatus::Pending
    );
    worker.stop().await;
}

// --- success notices ---------------------------------------------------------------------

#[tokio::test]
async fn notify_success_to_a_server_without_dsn_is_reported_as_relayed() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    let mut m = message(ALICE, &[], "m");
    m.remote = vec![remote("x@remote.test", NotifyFlags::SUCCESS)];
    worker.accept(m).await;

    let t = mx.wait_transactions(1).await;
    assert_eq!(t[0].rcpts, vec!["RCPT TO:<x@remote.test>"]);
    let dsn = env.one_dsn_to_alice().await;
    assert_eq!(dsn.field("action"), "relayed");
    assert!(dsn.subject.contains("Successful"), "{dsn:#?}");
    assert_eq!(dsn.field("status"), "2.0.0");
    worker.stop().await;
}

#[tokio::test]
async fn notify_success_to_a_server_with_dsn_is_passed_on_and_not_reported() {
    let env = Env::new().await;
    let mx = FakeMx::start(
        &[],
        Script::default().caps(&["PIPELINING", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES"]),
    )
    .await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    let mut m = message(ALICE, &[], "m");
    m.remote = vec![remote(
        "x@remote.test",
        NotifyFlags::SUCCESS.union(NotifyFlags::FAILURE),
    )];
    worker.accept(m).await;

    let t = mx.wait_transactions(1).await;
    assert_eq!(
        t[0].rcpts,
        vec!["RCPT TO:<x@remote.test> NOTIFY=SUCCESS,FAILURE"]
    );
    env.wait_queue_empty().await;
    assert!(env.inbox(env.alice).await.is_empty(), "no DSN from us");
    worker.stop().await;
}

#[tokio::test]
async fn notify_success_for_a_local_recipient_is_reported_as_delivered() {
    let env = Env::new().await;
    let worker = env.start(env.config(1), MockResolver::new()).await;
    let mut m = message(ALICE, &[], "for-bob");
    m.local = vec![local(BOB, env.bob, NotifyFlags::SUCCESS)];
    worker.accept(m).await;
    assert_eq!(env.inbox(env.bob).await.len(), 1);

    let dsn = eventually("the success DSN", async || env.dsns(env.alice).await.pop()).await;
    assert_eq!(dsn.field("action"), "delivered");
    assert_eq!(dsn.field("status"), "2.0.0");
    assert_eq!(dsn.field("final-recipient"), format!("rfc822; {BOB}"));
    env.wait_queue_empty().await;
    assert_eq!(env.dsns(env.alice).await.len(), 1);
    assert!(env.dsns(env.bob).await.is_empty());
    worker.stop().await;
}

// --- crash safety ------------------------------------------------------------------------

#[tokio::test]
async fn a_message_leased_by_a_dead_worker_is_delivered_only_after_the_lease_expires() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let queue = env.queue(env.config(mx.port), dns).await;
    queue
        .accept(message(ALICE, &["x@remote.test"], "m"))
        .await
        .unwrap();
    // A worker that dies holding a 2 s lease.
    let leased_at = Instant::now();
    let leased = env
        .stores
        .meta
        .queue_lease(unix_now(), 2, 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);

    let worker = Worker::start(queue);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        mx.log().connections.is_empty(),
        "delivered under a standing lease"
    );
    mx.wait_transactions(1).await;
    assert!(leased_at.elapsed() >= Duration::from_secs(2));
    env.wait_queue_empty().await;
    assert_eq!(mx.log().transactions.len(), 1);
    worker.stop().await;
}

/// Accepts `n` messages, runs a worker until the server has `stop_after`, stops it with
/// `stop`, runs a new queue on the same store, and checks every message arrived.
async fn restart_loses_nothing(crash: bool) {
    let env = Env::new().await;
    let script = Script::default().data_delay(Duration::from_millis(200));
    let mx = FakeMx::start(&[], script).await;
    let dns = || MockResolver::new().ip("remote.test", &[lo(2)]);
    let mut config = env.config(mx.port);
    config.max_concurrent = 2;
    config.lease = Duration::from_secs(2);
    let queue = env.queue(config.clone(), dns()).await;
    let n = 10;
    for i in 0..n {
        queue
            .accept(message(ALICE, &["x@remote.test"], &format!("m{i}")))
            .await
            .expect("accept");
    }
    let first = Worker::start(queue);
    mx.wait_transactions(2).await;
    if crash {
        first.crash().await;
    } else {
        first.stop().await;
    }
    let left = env.queued().await.len();
    assert!(left > 0, "stopped midway");
    if !crash {
        // Deliveries in flight finished and were recorded.
        assert!(left < n, "{left} left");
    }

    let second = env.start(config, dns()).await;
    env.wait_queue_empty().await;
    let mut subjects: Vec<String> = mx.log().transactions.iter().map(|t| t.subject()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(
        subjects.len(),
        n,
        "every message at least once: {subjects:?}"
    );
    second.stop().await;
}

#[tokio::test]
async fn a_worker_stopped_midway_loses_no_message() {
    restart_loses_nothing(false).await;
}

#[tokio::test]
async fn a_worker_killed_midway_loses_no_message() {
    restart_loses_nothing(true).await;
}

// --- TLS ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_tls_required_domain_is_not_delivered_in_plaintext() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    let dns = MockResolver::new().ip("strict.test", &[lo(2)]);
    let mut config = env.config(mx.port);
    config.tls_required_domains = vec!["strict.test".into()];
    let worker = env.start(config, dns).await;
    worker.accept(message(ALICE, &["x@strict.test"], "m")).await;

    let r = after_attempts(&env, 1).await;
    assert_eq!(r.status, RecipientStatus::Pending);
    assert!(
        r.last_error.as_deref().unwrap_or("").contains("TLS"),
        "{r:?}"
    );
    let log = mx.log();
    assert!(!log.connections.is_empty());
    assert!(log.mails.is_empty(), "nothing sent in plaintext: {log:?}");
    assert!(env.inbox(env.alice).await.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_requiretls_message_to_a_server_without_requiretls_fails_with_5_7_30() {
    let env = Env::new().await;
    let (acceptor, pem) = certificate(&["mx.secure.test"]);
    let script = Script::default().tls(acceptor);
    let mx = FakeMx::start(&[], script).await;
    let dns = MockResolver::new()
        .mx("secure.test", &[(10, "mx.secure.test")])
        .ip("mx.secure.test", &[lo(2)]);
    let mut config = env.config(mx.port);
    config.extra_roots_pem = pem.into_bytes();
    let worker = env.start(config, dns).await;
    let mut m = message(ALICE, &["x@secure.test"], "m");
    m.requiretls = true;
    worker.accept(m).await;

    let dsn = env.one_dsn_to_alice().await;
    assert_eq!(dsn.field("action"), "failed");
    assert_eq!(dsn.field("status"), "5.7.30");
    assert!(mx.log().mails.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_requiretls_message_goes_to_the_next_mx_host_when_the_first_lacks_requiretls() {
    let env = Env::new().await;
    let (acceptor, pem) = certificate(&["mx1.secure.test", "mx2.secure.test"]);
    let without = Script::default().tls(acceptor.clone());
    let mx1 = FakeMx::start(&[], without).await;
    let with = Script::default()
        .caps(&["PIPELINING", "8BITMIME", "REQUIRETLS"])
        .tls(acceptor);
    let mx2 = FakeMx::start_on(mx1.port, &[3], with).await;
    let dns = MockResolver::new()
        .mx(
            "secure.test",
            &[(10, "mx1.secure.test"), (20, "mx2.secure.test")],
        )
        .ip("mx1.secure.test", &[lo(2)])
        .ip("mx2.secure.test", &[lo(3)]);
    let mut config = env.config(mx1.port);
    config.extra_roots_pem = pem.into_bytes();
    let worker = env.start(config, dns).await;
    let mut m = message(ALICE, &["x@secure.test"], "m");
    m.requiretls = true;
    worker.accept(m).await;

    let t = mx2.wait_transactions(1).await;
    assert_eq!(t[0].mail, "MAIL FROM:<alice@local.test> REQUIRETLS");
    env.wait_queue_empty().await;
    assert_eq!(mx1.log().connections.len(), 1);
    assert!(mx1.log().mails.is_empty());
    assert!(env.inbox(env.alice).await.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_requiretls_message_to_a_server_without_starttls_fails_with_a_dsn() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    let dns = MockResolver::new().ip("plain.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    let mut m = message(ALICE, &["x@plain.test"], "m");
    m.requiretls = true;
    worker.accept(m).await;

    let dsn = env.one_dsn_to_alice().await;
    assert_eq!(dsn.field("action"), "failed");
    // RFC 8689 §5: 5.7.10 when no TLS session can be had.
    assert_eq!(dsn.field("status"), "5.7.10");
    assert!(mx.log().mails.is_empty());
    worker.stop().await;
}

// --- smarthost and connections ------------------------------------------------------------

#[tokio::test]
async fn a_smarthost_takes_mail_for_every_domain_without_mx_lookup() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    let mut config = env.config(1);
    config.smarthost = Some(Smarthost {
        host: "127.0.0.2".into(),
        port: mx.port,
        tls: SmarthostTls::None,
        username: None,
        password: None,
    });
    // Every name is NXDOMAIN: any lookup would fail the recipients.
    let worker = env.start(config, MockResolver::new()).await;
    worker
        .accept(message(ALICE, &["a@one.example", "b@two.example"], "m"))
        .await;
    env.wait_queue_empty().await;
    let mut rcpts: Vec<String> = mx
        .log()
        .transactions
        .iter()
        .flat_map(|t| t.rcpts.clone())
        .collect();
    rcpts.sort();
    assert_eq!(
        rcpts,
        vec!["RCPT TO:<a@one.example>", "RCPT TO:<b@two.example>"]
    );
    assert!(env.inbox(env.alice).await.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn messages_to_one_domain_reuse_connections() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default()).await;
    let dns = MockResolver::new()
        .mx("remote.test", &[(10, "mx.remote.test")])
        .ip("mx.remote.test", &[lo(2)]);
    let config = env.config(mx.port);
    let max_per_domain = config.max_per_domain;
    let queue: std::sync::Arc<Queue> = env.queue(config, dns).await;
    let n = 20;
    for i in 0..n {
        queue
            .accept(message(ALICE, &["x@remote.test"], &format!("m{i}")))
            .await
            .unwrap();
    }
    let worker = Worker::start(queue);
    mx.wait_transactions(n).await;
    env.wait_queue_empty().await;
    let log = mx.log();
    assert_eq!(log.transactions.len(), n);
    assert!(
        log.connections.len() <= max_per_domain,
        "{} connections for {n} messages",
        log.connections.len()
    );
    let mut used: Vec<usize> = log.transactions.iter().map(|t| t.connection).collect();
    used.sort();
    used.dedup();
    assert!(used.len() < n, "{used:?}");
    worker.stop().await;
}

#[tokio::test]
async fn a_delivery_outlasting_its_lease_is_not_started_twice() {
    let env = Env::new().await;
    let script = Script::default().data_delay(Duration::from_secs(4));
    let mx = FakeMx::start(&[], script).await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let mut config = env.config(mx.port);
    config.lease = Duration::from_secs(1);
    let worker = env.start(config, dns).await;
    worker
        .accept(message(ALICE, &["x@remote.test"], "slow"))
        .await;
    env.wait_queue_empty().await;
    let log = mx.log();
    assert_eq!(log.mails.len(), 1, "one delivery only: {log:?}");
    assert_eq!(log.transactions.len(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_is_replaced_without_a_retry_delay() {
    let env = Env::new().await;
    let script = Script::default().close_after_data();
    let mx = FakeMx::start(&[], script).await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let mut config = env.config(mx.port);
    // A failed attempt would wait longer than the test does.
    config.retry_initial = Duration::from_secs(60);
    config.retry_max = Duration::from_secs(60);
    let worker = env.start(config, dns).await;
    worker
        .accept(message(ALICE, &["x@remote.test"], "m1"))
        .await;
    mx.wait_transactions(1).await;
    env.wait_queue_empty().await;
    // The session of m1 went back to the pool, and the server has closed it.
    worker
        .accept(message(ALICE, &["x@remote.test"], "m2"))
        .await;
    let t = mx.wait_transactions(2).await;
    assert_eq!(t[1].subject(), "m2");
    assert_eq!(t[1].connection, 1, "a fresh connection");
    env.wait_queue_empty().await;
    worker.stop().await;
}

#[tokio::test]
async fn a_dsn_to_a_remote_sender_goes_out_from_the_null_reverse_path() {
    let env = Env::new().await;
    let mx = FakeMx::start(
        &[3],
        Script::default().rcpt(|a, _| {
            if a.ends_with("@refusing.test") {
                "550 5.1.1 unknown".into()
            } else {
                "250 2.1.5 ok".into()
            }
        }),
    )
    .await;
    let dns = MockResolver::new()
        .ip("refusing.test", &[lo(2)])
        .ip("sender.test", &[lo(3)]);
    let worker = env.start(env.config(mx.port), dns).await;
    worker
        .accept(message("carol@sender.test", &["x@refusing.test"], "m"))
        .await;
    let t = mx.wait_transactions(1).await;
    assert_eq!(t[0].ip, lo(3));
    assert_eq!(t[0].mail, "MAIL FROM:<>");
    assert_eq!(t[0].rcpts, vec!["RCPT TO:<carol@sender.test>"]);
    let dsn = support::Dsn::parse(&t[0].data).expect("a DSN");
    assert_eq!(dsn.field("status"), "5.1.1");
    env.wait_queue_empty().await;
    worker.stop().await;
}

#[tokio::test]
async fn an_8bit_message_to_a_server_without_8bitmime_fails_with_5_6_3() {
    let env = Env::new().await;
    let mx = FakeMx::start(&[], Script::default().caps(&["PIPELINING"])).await;
    let dns = MockResolver::new().ip("remote.test", &[lo(2)]);
    let worker = env.start(env.config(mx.port), dns).await;
    let mut m = message(ALICE, &["x@remote.test"], "m");
    m.message = "Subject: m\r\n\r\nGrüße\r\n".as_bytes().to_vec();
    worker.accept(m).await;
    let dsn = env.one_dsn_to_alice().await;
    assert_eq!(dsn.field("action"), "failed");
    assert_eq!(dsn.field("status"), "5.6.3");
    assert!(mx.log().mails.is_empty());
    worker.stop().await;
}
