//! MX forwarding end to end with two in-process servers: server A forwards mail for an
//! alias to an address at server B through its queue with the sender rewritten by SRS
//! (so SPF passes at B and bounces come back to A), and a bounce to that SRS address at
//! A's MX is sent on to the original sender; a tampered SRS address is refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mailstead_directory::NewUser;
use mailstead_dns::MockResolver;
use mailstead_testkit::{HOSTNAME, PASSWORD, SmtpClient, TestServer, assert_reply};
use mailstead_types::Secret;

/// Sends `body` (with the final dot) after DATA and expects it accepted.
async fn data(c: &mut SmtpClient, body: &str) {
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send_raw(body.as_bytes()).await;
    assert_reply(&c.read_reply().await, 250, "2.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_mail_reaches_the_other_server_with_srs_and_its_bounce_comes_back() {
    // B hosts b.test with `someone`; its queue worker does not run.
    let b = TestServer::start().await;
    b.directory.add_domain("b.test").await.expect("domain");
    b.directory
        .add_user(
            "someone@b.test",
            &Secret::new(PASSWORD.into()),
            &NewUser::default(),
        )
        .await
        .expect("user");

    // A forwards fwd@a.test to someone@b.test; b.test's MX is B. origin.test's DNS is
    // failing, so a bounce queued to it stays pending where the test can see it.
    let resolver = MockResolver::new()
        .mx("b.test", &[(10, "mx.b.test")])
        .ip("mx.b.test", &[b.smtp_addr.ip()])
        .temporary_failure("origin.test");
    let port = b.smtp_addr.port();
    let a = TestServer::builder()
        .resolver(Arc::new(resolver))
        .queue(move |q| q.remote_port = port)
        .run_queue()
        .start()
        .await;
    a.directory.add_domain("a.test").await.expect("domain");
    a.directory
        .add_alias("fwd@a.test", &["someone@b.test".into()])
        .await
        .expect("alias");

    let mut c = a.smtp_client().await;
    assert_eq!(c.cmd("EHLO client.origin.test").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<sender@origin.test>").await, 250, "2.1.0");
    assert_reply(&c.cmd("RCPT TO:<fwd@a.test>").await, 250, "2.1.5");
    data(
        &mut c,
        "From: sender@origin.test\r\nTo: fwd@a.test\r\nSubject: forward me\r\n\r\nHi.\r\n.\r\n",
    )
    .await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let inbox = loop {
        let inbox = b.inbox("someone@b.test").await;
        if !inbox.is_empty() || Instant::now() > deadline {
            break inbox;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        inbox.len(),
        1,
        "not forwarded; A's queue: {:?}",
        a.queued().await
    );
    let raw = String::from_utf8_lossy(&inbox[0].1).into_owned();
    assert!(raw.contains("\r\nSubject: forward me\r\n"), "{raw}");
    // B saw A's SRS address as the envelope sender.
    let srs = raw
        .strip_prefix("Return-Path: <")
        .and_then(|r| r.split_once(">\r\n"))
        .map(|(path, _)| path.to_string())
        .expect("Return-Path first");
    assert!(srs.starts_with("SRS0="), "{srs}");
    assert!(
        srs.ends_with(&format!("=origin.test=sender@{HOSTNAME}")),
        "{srs}"
    );

    // B's bounce to the SRS address: A refuses a tampered one, takes the real one and
    // queues it to the original sender with the null reverse path.
    let mut c = a.smtp_client().await;
    assert_eq!(c.cmd("EHLO b.test").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<>").await, 250, "2.1.0");
    let tampered = srs.replace("=sender@", "=victim@");
    assert_ne!(tampered, srs);
    let (code, text) = c.cmd(&format!("RCPT TO:<{tampered}>")).await;
    assert_reply(&(code, text.clone()), 550, "5.1.1");
    assert!(text.contains("invalid SRS address"), "{text}");
    assert_reply(&c.cmd(&format!("RCPT TO:<{srs}>")).await, 250, "2.1.5");
    data(
        &mut c,
        "From: MAILER-DAEMON@b.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         \r\nsomeone@b.test is over quota.\r\n.\r\n",
    )
    .await;

    let bounces: Vec<_> = a
        .queued()
        .await
        .into_iter()
        .filter(|q| {
            q.recipients
                .iter()
                .any(|r| r.address.contains("origin.test"))
        })
        .collect();
    assert_eq!(bounces.len(), 1, "{bounces:?}");
    let bounce = &bounces[0];
    assert_eq!(bounce.mail_from, "");
    assert_eq!(bounce.recipients.len(), 1);
    assert_eq!(bounce.recipients[0].address, "sender@origin.test");
    assert_eq!(a.smtp.panics(), 0);
    assert_eq!(b.smtp.panics(), 0);
}
