//! Session tests of AUTH on the submission listener (RFC 4954; PLAIN RFC 4616; LOGIN
//! draft-murchison-sasl-login): offered and accepted only over TLS (RFC 8314 implicit TLS
//! included), success and failure codes, cancel, app passwords, failed-login throttling,
//! and the reset of authentication by STARTTLS (RFC 3207 §4.2).

use base64::Engine as _;
use mailstead_directory::LoginLimits;
use mailstead_testkit::{PASSWORD, SmtpClient, TestServer, assert_reply};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn capabilities(ehlo: &str) -> Vec<String> {
    ehlo.lines().skip(1).map(str::to_string).collect()
}

/// A submission client over STARTTLS after the second EHLO, not logged in.
async fn over_tls(server: &TestServer) -> SmtpClient {
    let c = server.submission_client().await;
    let mut c = c.starttls(server.tls_client.clone()).await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_not_offered_before_tls_and_is_offered_after_starttls() {
    let server = TestServer::start().await;
    let mut c = server.submission_client().await;
    let (code, ehlo) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    let caps = capabilities(&ehlo);
    assert!(caps.iter().any(|c| c == "STARTTLS"), "{caps:?}");
    assert!(!caps.iter().any(|c| c.starts_with("AUTH")), "{caps:?}");
    assert!(!caps.iter().any(|c| c == "REQUIRETLS"), "{caps:?}");
    assert_reply(&c.cmd("STARTTLS").await, 220, "2.0.0");
    let mut c = c.upgrade(server.tls_client.clone(), "mx.example.org").await;
    let (code, ehlo) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    let caps = capabilities(&ehlo);
    assert!(caps.iter().any(|c| c == "AUTH PLAIN LOGIN"), "{caps:?}");
    assert!(caps.iter().any(|c| c == "REQUIRETLS"), "{caps:?}");
    assert!(!caps.iter().any(|c| c == "STARTTLS"), "{caps:?}");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_before_tls_is_refused_with_538_5_7_11() {
    let server = TestServer::start().await;
    let mut c = server.submission_client().await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 538, "5.7.11");
    assert_reply(&c.cmd("AUTH LOGIN").await, 538, "5.7.11");
    // Still not logged in.
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 530, "5.7.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_plain_with_an_initial_response_succeeds_with_235() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 235, "2.7.0");
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 250, "2.1.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_plain_after_an_empty_334_challenge_succeeds() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    c.send("AUTH PLAIN").await;
    // RFC 4954 §4: "334" SP, the space kept even for an empty challenge.
    assert_eq!(c.read_line().await.as_deref(), Some("334 "));
    let response = b64(&format!("alice@example.org\0alice@example.org\0{PASSWORD}"));
    assert_reply(&c.cmd(&response).await, 235, "2.7.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_login_asks_for_user_name_then_password() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    assert_eq!(c.cmd("AUTH LOGIN").await, (334, "VXNlcm5hbWU6".to_string()));
    assert_eq!(
        c.cmd(&b64("alice@example.org")).await,
        (334, "UGFzc3dvcmQ6".to_string())
    );
    assert_reply(&c.cmd(&b64(PASSWORD)).await, 235, "2.7.0");

    // The user name may come as initial response.
    let mut c = over_tls(&server).await;
    let (code, text) = c
        .cmd(&format!("AUTH LOGIN {}", b64("bob@example.org")))
        .await;
    assert_eq!((code, text.as_str()), (334, "UGFzc3dvcmQ6"));
    assert_reply(&c.cmd(&b64(PASSWORD)).await, 235, "2.7.0");
    assert_reply(&c.cmd("MAIL FROM:<bob@example.org>").await, 250, "2.1.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_refused_with_535_5_7_8() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    let (code, text) = c.auth_plain("alice@example.org", "wrong").await;
    assert_reply(&(code, text), 535, "5.7.8");
    let (code, text) = c.auth_plain("nobody@example.org", PASSWORD).await;
    assert_reply(&(code, text), 535, "5.7.8");
    assert_eq!(c.cmd("AUTH LOGIN").await.0, 334);
    assert_eq!(c.cmd(&b64("alice@example.org")).await.0, 334);
    assert_reply(&c.cmd(&b64("wrong")).await, 535, "5.7.8");
    // A failure leaves the session usable: the right password then works.
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 235, "2.7.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_password_logs_in() {
    let server = TestServer::start().await;
    let (_, token) = server
        .directory
        .add_token("alice@example.org", "phone")
        .await
        .expect("token");
    let mut c = over_tls(&server).await;
    let (code, text) = c.auth_plain("alice@example.org", token.expose()).await;
    assert_reply(&(code, text), 235, "2.7.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_from_one_address_are_throttled_with_454() {
    let server = TestServer::start_with_submission(|cfg| {
        cfg.login_limits = LoginLimits {
            failure_delay: std::time::Duration::from_millis(10),
            max_failures_per_ip: 3,
            ..LoginLimits::default()
        };
    })
    .await;
    let mut c = over_tls(&server).await;
    for _ in 0..3 {
        let (code, text) = c.auth_plain("alice@example.org", "guess").await;
        assert_reply(&(code, text), 535, "5.7.8");
    }
    // Refused unchecked now, even with the right password, and on a new connection.
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text.clone()), 454, "4.7.0");
    assert!(text.contains("too many failed logins"), "{text}");
    let mut c = over_tls(&server).await;
    let (code, text) = c.auth_plain("bob@example.org", PASSWORD).await;
    assert_reply(&(code, text), 454, "4.7.0");
    // IMAP has its own limiter: the SMTP failures do not lock it.
    server.imap_login("alice@example.org").await;
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_twice_is_503_and_cancel_is_501() {
    let server = TestServer::start().await;
    let mut c = over_tls(&server).await;
    assert_eq!(c.cmd("AUTH PLAIN").await.0, 334);
    assert_reply(&c.cmd("*").await, 501, "5.0.0");
    assert_eq!(c.cmd("AUTH LOGIN").await.0, 334);
    assert_eq!(c.cmd(&b64("alice@example.org")).await.0, 334);
    assert_reply(&c.cmd("*").await, 501, "5.0.0");
    assert_eq!(c.cmd("AUTH PLAIN").await.0, 334);
    assert_reply(&c.cmd("not base64!").await, 501, "5.5.2");
    assert_reply(&c.cmd("AUTH CRAM-MD5").await, 504, "5.5.4");
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 235, "2.7.0");
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 503, "5.5.1");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_not_allowed_inside_a_transaction_or_before_ehlo() {
    let server = TestServer::start_with_submission(|cfg| {
        cfg.relay_networks = vec![("127.0.0.0".parse().expect("ip"), 8)];
    })
    .await;
    let c = server.submission_client().await;
    let mut c = c.starttls(server.tls_client.clone()).await;
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 503, "5.5.1");
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 250, "2.1.0");
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 503, "5.5.1");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_auth_on_loopback_when_allowed_and_starttls_forgets_it() {
    let server =
        TestServer::start_with_submission(|cfg| cfg.plaintext_auth_on_loopback = true).await;
    let mut c = server.submission_client().await;
    let (_, ehlo) = c.cmd("EHLO client.example").await;
    assert!(
        capabilities(&ehlo).iter().any(|c| c == "AUTH PLAIN LOGIN"),
        "{ehlo}"
    );
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 235, "2.7.0");
    // RFC 3207 §4.2: after STARTTLS the session starts over, unauthenticated.
    let mut c = c.starttls(server.tls_client.clone()).await;
    assert_eq!(c.cmd("EHLO client.example").await.0, 250);
    assert_reply(&c.cmd("MAIL FROM:<alice@example.org>").await, 530, "5.7.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_listener_greets_over_tls_and_offers_auth_at_once() {
    let server = TestServer::start().await;
    let mut c = server.submissions_client().await;
    let (code, ehlo) = c.cmd("EHLO client.example").await;
    assert_eq!(code, 250);
    let caps = capabilities(&ehlo);
    assert!(caps.iter().any(|c| c == "AUTH PLAIN LOGIN"), "{caps:?}");
    assert!(!caps.iter().any(|c| c == "STARTTLS"), "{caps:?}");
    assert_reply(&c.cmd("STARTTLS").await, 503, "5.5.1");
    let (code, text) = c.auth_plain("alice@example.org", PASSWORD).await;
    assert_reply(&(code, text), 235, "2.7.0");
    assert_eq!(server.submission.panics(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_listener_refuses_a_cleartext_client() {
    let server = TestServer::start().await;
    let mut c = SmtpClient::connect(server.submissions_addr).await;
    // A cleartext client gets no greeting: the server waits for a TLS ClientHello, and
    // a line of text is no handshake (at most a TLS alert comes back before the close).
    c.send("EHLO client.example").await;
    while let Some(line) = c.read_line().await {
        assert!(!line.starts_with("220"), "greeting in clear: {line:?}");
    }
    assert_eq!(server.submission.panics(), 0);
}
