//! The outbound SMTP client against scripted fake servers (one per test, on
//! `127.0.0.1:0`), and once against Postfix's `smtp-sink`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailstead_queue::client::{
    ClientConfig, ClientError, Envelope, Outcome, Rcpt, Session, TlsPolicy,
};
use mailstead_store::model::{DsnRet, NotifyFlags, OriginalRecipient};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// How long the fake server waits for a line before the test fails.
const WAIT: Duration = Duration::from_secs(5);

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The server side of one scripted connection.
struct Peer {
    io: BufReader<Box<dyn Io>>,
}

impl Peer {
    /// Sends `lines` (separated by `\n`), each ending in CRLF, in one write.
    async fn say(&mut self, lines: &str) {
        let mut out = String::new();
        for line in lines.split('\n') {
            out.push_str(line);
            out.push_str("\r\n");
        }
        let io = self.io.get_mut();
        io.write_all(out.as_bytes())
            .await
            .expect("write to the client");
        io.flush().await.expect("write to the client");
    }

    /// The next line without CRLF; `None` at end of stream or after `wait`.
    async fn try_line(&mut self, wait: Duration) -> Option<String> {
        let mut line = Vec::new();
        match tokio::time::timeout(wait, self.io.read_until(b'\n', &mut line)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return None,
        }
        assert!(line.ends_with(b"\r\n"), "line without CRLF: {line:?}");
        line.truncate(line.len() - 2);
        Some(String::from_utf8(line).expect("a UTF-8 line"))
    }

    /// The next line, which must come.
    async fn line(&mut self) -> String {
        self.try_line(WAIT).await.expect("a line from the client")
    }

    /// The next line, which must start with `prefix`.
    async fn expect(&mut self, prefix: &str) -> String {
        let line = self.line().await;
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}, got {line:?}"
        );
        line
    }

    /// The raw message data up to and including the final `.` CRLF.
    async fn data(&mut self) -> Vec<u8> {
        let mut data = Vec::new();
        loop {
            let start = data.len();
            let n = tokio::time::timeout(WAIT, self.io.read_until(b'\n', &mut data))
                .await
                .expect("message data in time")
                .expect("read the data");
            assert!(n > 0, "connection closed in the data");
            if &data[start..] == b".\r\n" {
                return data;
            }
        }
    }

    /// 220, then the EHLO reply with `caps`.
    async fn greet(&mut self, caps: &[&str]) {
        self.say("220 fake.test ESMTP ready").await;
        self.expect("EHLO client.test").await;
        self.ehlo(caps).await;
    }

    async fn ehlo(&mut self, caps: &[&str]) {
        let mut lines = vec!["fake.test greets you".to_string()];
        lines.extend(caps.iter().map(|c| c.to_string()));
        let n = lines.len();
        let reply: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i + 1 == n { ' ' } else { '-' }))
            .collect();
        self.say(&reply.join("\n")).await;
    }

    /// MAIL, RCPT(s), DATA, the data, 250, QUIT: the rest of a plain transaction.
    async fn accept_message(&mut self, rcpts: usize) -> Vec<u8> {
        self.expect("MAIL FROM:").await;
        self.say("250 2.1.0 ok").await;
        for _ in 0..rcpts {
            self.expect("RCPT TO:").await;
            self.say("250 2.1.5 ok").await;
        }
        self.expect("DATA").await;
        self.say("354 go ahead").await;
        let data = self.data().await;
        self.say("250 2.0.0 queued as X").await;
        data
    }

    /// QUIT, 221, then the client closes.
    async fn quit(&mut self) {
        self.expect("QUIT").await;
        self.say("221 2.0.0 bye").await;
        assert_eq!(self.try_line(WAIT).await, None, "nothing after QUIT");
    }

    /// The TLS handshake after a `220` to STARTTLS.
    async fn starttls(self, acceptor: &TlsAcceptor) -> std::io::Result<Peer> {
        assert!(self.io.buffer().is_empty(), "pipelined data before TLS");
        let tcp = self.io.into_inner();
        let tls = acceptor.accept(tcp).await?;
        Ok(Peer {
            io: BufReader::new(Box::new(tls)),
        })
    }
}

/// A server on `127.0.0.1:0` that runs `script` on its first connection.
async fn serve<F, Fut, T>(script: F) -> (SocketAddr, JoinHandle<T>)
where
    F: FnOnce(Peer) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let handle = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        script(Peer {
            io: BufReader::new(Box::new(tcp)),
        })
        .await
    });
    (addr, handle)
}

fn config(extra_roots: &[u8]) -> ClientConfig {
    ClientConfig {
        connect_timeout: WAIT,
        command_timeout: WAIT,
        data_timeout: WAIT,
        ..ClientConfig::new("client.test", extra_roots).expect("client config")
    }
}

async fn connect(addr: SocketAddr, tls: TlsPolicy) -> Result<Session, ClientError> {
    Session::connect(&config(b""), addr, "mx.test", tls, false).await
}

fn envelope(from: &str) -> Envelope {
    Envelope {
        mail_from: from.into(),
        size: 42,
        envid: None,
        ret: None,
        body_8bit: false,
        smtputf8: false,
        requiretls: false,
    }
}

fn rcpt(address: &str) -> Rcpt {
    Rcpt {
        address: address.into(),
        notify: NotifyFlags::UNSET,
        original_recipient: None,
    }
}

const MESSAGE: &[u8] = b"From: a@x.test\r\nSubject: hi\r\n\r\nHello.\r\n";

/// A self-signed certificate for `mx.test`: the server's TLS acceptor and the PEM.
fn certificate() -> (TlsAcceptor, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["mx.test".to_string()]).expect("certificate");
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .expect("server certificate");
    (TlsAcceptor::from(Arc::new(config)), certified.cert.pem())
}

#[tokio::test]
async fn pipelining_sends_mail_and_every_rcpt_in_one_batch() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["PIPELINING", "SIZE 1000000"]).await;
        // No reply is sent before all three commands are in: a lock-step client would
        // wait for the MAIL reply and this would time out.
        let mut batch = Vec::new();
        for _ in 0..3 {
            let line = peer.try_line(Duration::from_secs(2)).await;
            batch.push(line.expect("MAIL and both RCPTs without waiting for replies"));
        }
        peer.say("250 2.1.0 ok\n250 2.1.5 ok\n250 2.1.5 ok").await;
        peer.expect("DATA").await;
        peer.say("354 go ahead").await;
        let data = peer.data().await;
        peer.say("250 2.0.0 queued").await;
        peer.quit().await;
        (batch, data)
    })
    .await;

    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    assert!(!session.is_tls());
    assert_eq!(session.server_name(), "fake.test");
    let outcome = session
        .send(
            &envelope("a@x.test"),
            &[rcpt("b@y.test"), rcpt("c@y.test")],
            MESSAGE,
        )
        .await
        .unwrap();
    session.quit().await;
    assert_eq!(outcome.rcpt.len(), 2);
    assert!(outcome.rcpt.iter().all(|r| r.code == 250));
    assert_eq!(outcome.data.map(|r| r.code), Some(250));

    let (batch, data) = server.await.unwrap();
    assert_eq!(
        batch,
        [
            "MAIL FROM:<a@x.test> SIZE=42",
            "RCPT TO:<b@y.test>",
            "RCPT TO:<c@y.test>"
        ]
    );
    assert_eq!(data, [MESSAGE, b".\r\n"].concat());
}

#[tokio::test]
async fn one_refused_rcpt_does_not_stop_the_others() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["PIPELINING"]).await;
        for _ in 0..3 {
            peer.line().await;
        }
        peer.say("250 2.1.0 ok\n550 5.1.1 <b@y.test>: no such user\n250 2.1.5 ok")
            .await;
        peer.expect("DATA").await;
        peer.say("354 go ahead").await;
        peer.data().await;
        peer.say("250 2.0.0 queued").await;
        peer.quit().await;
    })
    .await;

    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let Outcome {
        rcpt: replies,
        data,
    } = session
        .send(
            &envelope("a@x.test"),
            &[rcpt("b@y.test"), rcpt("c@y.test")],
            MESSAGE,
        )
        .await
        .unwrap();
    session.quit().await;
    server.await.unwrap();
    assert_eq!(replies[0].code, 550);
    assert_eq!(
        replies[0].enhanced,
        Some(mailstead_smtp_proto::EnhancedCode(5, 1, 1))
    );
    assert_eq!(replies[1].code, 250);
    assert_eq!(data.map(|r| r.code), Some(250));
}

#[tokio::test]
async fn no_accepted_rcpt_means_rset_instead_of_data() {
    let (addr, server) = serve(|mut peer| async move {
        // No PIPELINING: lock-step.
        peer.greet(&["8BITMIME"]).await;
        peer.expect("MAIL FROM:<a@x.test>").await;
        peer.say("250 2.1.0 ok").await;
        peer.expect("RCPT TO:<b@y.test>").await;
        peer.say("550 5.1.1 no such user").await;
        peer.expect("RCPT TO:<c@y.test>").await;
        peer.say("450 4.2.1 try later").await;
        let next = peer.line().await;
        peer.say("250 2.0.0 reset").await;
        peer.quit().await;
        next
    })
    .await;

    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let outcome = session
        .send(
            &envelope("a@x.test"),
            &[rcpt("b@y.test"), rcpt("c@y.test")],
            MESSAGE,
        )
        .await
        .unwrap();
    session.quit().await;
    assert_eq!(server.await.unwrap(), "RSET");
    assert_eq!(
        outcome.rcpt.iter().map(|r| r.code).collect::<Vec<_>>(),
        [550, 450]
    );
    assert_eq!(outcome.data, None);
}

#[tokio::test]
async fn refused_mail_is_a_permanent_refusal_and_the_session_stays_in_step() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["PIPELINING"]).await;
        peer.expect("MAIL FROM:<a@x.test>").await;
        peer.expect("RCPT TO:<b@y.test>").await;
        peer.say("550 5.7.1 sender rejected\n503 5.5.1 need MAIL first")
            .await;
        // Pipelined replies all consumed: the next command is answered correctly.
        peer.expect("MAIL FROM:<ok@x.test>").await;
        peer.expect("RCPT TO:<b@y.test>").await;
        peer.say("451 4.3.0 try later\n503 5.5.1 need MAIL first")
            .await;
        peer.quit().await;
    })
    .await;

    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let err = session
        .send(&envelope("a@x.test"), &[rcpt("b@y.test")], MESSAGE)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Refused { stage: "MAIL FROM", reply } if reply.code == 550),
        "{err:?}"
    );
    assert!(err.is_permanent());
    let err = session
        .send(&envelope("ok@x.test"), &[rcpt("b@y.test")], MESSAGE)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Refused { stage: "MAIL FROM", reply } if reply.code == 451),
        "{err:?}"
    );
    assert!(!err.is_permanent());
    session.quit().await;
    server.await.unwrap();
}

#[tokio::test]
async fn mail_refused_with_421_and_hang_up_is_still_a_refusal() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["PIPELINING"]).await;
        peer.expect("MAIL FROM:").await;
        peer.expect("RCPT TO:").await;
        // RFC 5321 §3.8: 421 and close, without answering the RCPT.
        peer.say("421 4.3.2 shutting down").await;
    })
    .await;
    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let err = session
        .send(&envelope("a@x.test"), &[rcpt("b@y.test")], MESSAGE)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Refused { stage: "MAIL FROM", reply } if reply.code == 421),
        "{err:?}"
    );
    assert!(!err.is_permanent());
    // The session is not used again.
    assert!(matches!(session.reset().await, Err(ClientError::Io { .. })));
    server.await.unwrap();
}

#[tokio::test]
async fn temporary_greeting_refusal_is_temporary() {
    let (addr, server) = serve(|mut peer| async move {
        peer.say("421 4.3.2 too busy, try later").await;
    })
    .await;
    let err = connect(addr, TlsPolicy::Opportunistic)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&err, ClientError::Refused { stage: "greeting", reply } if reply.code == 421),
        "{err:?}"
    );
    assert!(!err.is_permanent());
    server.await.unwrap();

    let (addr, server) = serve(|mut peer| async move {
        peer.say("554 5.7.1 no service for you").await;
        peer.quit_without_reply().await;
    })
    .await;
    let err = connect(addr, TlsPolicy::Opportunistic)
        .await
        .err()
        .expect("refused");
    assert!(err.is_permanent(), "{err:?}");
    server.await.unwrap();
}

impl Peer {
    /// The client's QUIT after a refusal, without a reply, then end of stream.
    async fn quit_without_reply(&mut self) {
        self.expect("QUIT").await;
        assert_eq!(self.try_line(WAIT).await, None);
    }
}

#[tokio::test]
async fn silent_server_times_out() {
    let (addr, server) = serve(|mut peer| async move {
        peer.say("220 fake.test ESMTP").await;
        peer.expect("EHLO").await;
        // Never answers; waits for the client to give up and close.
        assert_eq!(peer.try_line(WAIT).await, None);
    })
    .await;
    let config = ClientConfig {
        command_timeout: Duration::from_millis(300),
        ..config(b"")
    };
    let started = std::time::Instant::now();
    let err = Session::connect(&config, addr, "mx.test", TlsPolicy::Opportunistic, false)
        .await
        .err()
        .expect("timeout");
    assert!(matches!(err, ClientError::Timeout(_)), "{err:?}");
    assert!(!err.is_permanent());
    assert!(started.elapsed() < Duration::from_secs(3));
    server.await.unwrap();
}

#[tokio::test]
async fn timeout_in_a_transaction_leaves_the_session_unusable() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&[]).await;
        peer.expect("MAIL FROM:").await;
        // The reply comes too late: it must not be read as the reply to a later command.
        tokio::time::sleep(Duration::from_millis(600)).await;
        peer.say("250 2.1.0 ok").await;
        assert_eq!(peer.try_line(WAIT).await, None, "nothing after the timeout");
    })
    .await;
    let config = ClientConfig {
        command_timeout: Duration::from_millis(300),
        ..config(b"")
    };
    let mut session = Session::connect(&config, addr, "mx.test", TlsPolicy::Opportunistic, false)
        .await
        .unwrap();
    let err = session
        .send(&envelope("a@x.test"), &[rcpt("b@y.test")], MESSAGE)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout("after MAIL FROM")),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let err = session.reset().await.unwrap_err();
    assert!(matches!(err, ClientError::Io { .. }), "{err:?}");
    session.quit().await;
    server.await.unwrap();
}

#[tokio::test]
async fn message_data_is_dot_stuffed_and_ends_with_crlf() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&[]).await;
        let data = peer.accept_message(1).await;
        peer.quit().await;
        data
    })
    .await;
    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let message = b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\nlast line without CRLF";
    let outcome = session
        .send(&envelope("a@x.test"), &[rcpt("b@y.test")], message)
        .await
        .unwrap();
    session.quit().await;
    assert_eq!(outcome.data.map(|r| r.code), Some(250));
    assert_eq!(
        server.await.unwrap(),
        b"Subject: dots\r\n\r\n..leading dot\r\n...two\r\n..\r\nlast line without CRLF\r\n.\r\n"
    );
}

#[tokio::test]
async fn dsn_parameters_are_sent_only_when_the_server_offers_dsn() {
    async fn lines_sent(caps: &'static [&'static str]) -> (String, String) {
        let (addr, server) = serve(move |mut peer| async move {
            peer.greet(caps).await;
            let mail = peer.expect("MAIL FROM:").await;
            peer.say("250 2.1.0 ok").await;
            let rcpt = peer.expect("RCPT TO:").await;
            peer.say("550 5.1.1 no").await;
            peer.expect("RSET").await;
            peer.say("250 ok").await;
            peer.quit().await;
            (mail, rcpt)
        })
        .await;
        let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
        let envelope = Envelope {
            envid: Some("id+with space".into()),
            ret: Some(DsnRet::Hdrs),
            ..envelope("a@x.test")
        };
        let rcpt = Rcpt {
            address: "b@y.test".into(),
            notify: NotifyFlags::SUCCESS.union(NotifyFlags::FAILURE),
            original_recipient: Some(OriginalRecipient {
                addr_type: "rfc822".into(),
                address: "B+o@y.test".into(),
            }),
        };
        session.send(&envelope, &[rcpt], MESSAGE).await.unwrap();
        session.quit().await;
        server.await.unwrap()
    }

    let (mail, rcpt) = lines_sent(&["DSN"]).await;
    assert_eq!(
        mail,
        "MAIL FROM:<a@x.test> RET=HDRS ENVID=id+2Bwith+20space"
    );
    assert_eq!(
        rcpt,
        "RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;B+2Bo@y.test"
    );
    let (mail, rcpt) = lines_sent(&["8BITMIME"]).await;
    assert_eq!(mail, "MAIL FROM:<a@x.test>");
    assert_eq!(rcpt, "RCPT TO:<b@y.test>");
}

#[tokio::test]
async fn null_sender_and_extension_parameters() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["8BITMIME", "SMTPUTF8", "SIZE"]).await;
        let mail = peer.expect("MAIL FROM:").await;
        peer.say("250 2.1.0 ok").await;
        peer.expect("RCPT TO:<b@y.test>").await;
        peer.say("250 2.1.5 ok").await;
        peer.expect("DATA").await;
        peer.say("354 go ahead").await;
        peer.data().await;
        peer.say("250 2.0.0 queued").await;
        peer.quit().await;
        mail
    })
    .await;
    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let envelope = Envelope {
        body_8bit: true,
        smtputf8: true,
        ..envelope("")
    };
    session
        .send(&envelope, &[rcpt("b@y.test")], MESSAGE)
        .await
        .unwrap();
    session.quit().await;
    assert_eq!(
        server.await.unwrap(),
        "MAIL FROM:<> SIZE=42 BODY=8BITMIME SMTPUTF8"
    );
}

#[tokio::test]
async fn needed_extensions_that_are_not_offered_are_unsupported() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["PIPELINING", "REQUIRETLS"]).await;
        // Nothing of the refused transactions was sent.
        peer.quit().await;
    })
    .await;
    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    for (envelope, missing) in [
        (
            Envelope {
                body_8bit: true,
                ..envelope("a@x.test")
            },
            "8BITMIME",
        ),
        (
            Envelope {
                smtputf8: true,
                ..envelope("a@x.test")
            },
            "SMTPUTF8",
        ),
        // Offered, but the session is not verified TLS.
        (
            Envelope {
                requiretls: true,
                ..envelope("a@x.test")
            },
            "REQUIRETLS",
        ),
    ] {
        let err = session
            .send(&envelope, &[rcpt("b@y.test")], MESSAGE)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ClientError::Unsupported(m) if m == missing),
            "{err:?}"
        );
        assert!(err.is_permanent());
    }
    session.quit().await;
    server.await.unwrap();
}

#[tokio::test]
async fn unsendable_rcpt_gets_a_local_refusal_and_is_not_sent() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["PIPELINING"]).await;
        let mail = peer.line().await;
        let rcpt = peer.line().await;
        peer.say("250 ok\n250 ok").await;
        peer.expect("DATA").await;
        peer.say("354 go").await;
        peer.data().await;
        peer.say("250 ok").await;
        peer.quit().await;
        (mail, rcpt)
    })
    .await;
    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let outcome = session
        .send(
            &envelope("a@x.test"),
            &[rcpt("evil@y.test>\r\nRSET"), rcpt("c@y.test")],
            MESSAGE,
        )
        .await
        .unwrap();
    session.quit().await;
    assert_eq!(outcome.rcpt[0].code, 553);
    assert_eq!(outcome.rcpt[1].code, 250);
    let (mail, rcpt) = server.await.unwrap();
    assert_eq!(mail, "MAIL FROM:<a@x.test>");
    assert_eq!(rcpt, "RCPT TO:<c@y.test>");
}

#[tokio::test]
async fn helo_when_ehlo_is_not_implemented() {
    let (addr, server) = serve(|mut peer| async move {
        peer.say("220 old.test SMTP").await;
        peer.expect("EHLO client.test").await;
        peer.say("502 5.5.2 what?").await;
        peer.expect("HELO client.test").await;
        peer.say("250 old.test").await;
        peer.quit().await;
    })
    .await;
    let session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    assert!(session.capabilities().capabilities.is_empty());
    assert_eq!(session.server_name(), "old.test");
    session.quit().await;
    server.await.unwrap();
}

#[tokio::test]
async fn overlong_reply_is_an_error() {
    let (addr, server) = serve(|mut peer| async move {
        let line = format!("220-{}", "x".repeat(500));
        let lines = vec![line; 150].join("\n");
        peer.say(&lines).await;
        // The client gives up without reading on.
        while peer.try_line(WAIT).await.is_some() {}
    })
    .await;
    let err = connect(addr, TlsPolicy::Opportunistic)
        .await
        .err()
        .expect("error");
    assert!(matches!(err, ClientError::Io { .. }), "{err:?}");
    server.await.unwrap();
}

/// A server offering STARTTLS with `acceptor`; after TLS it offers 8BITMIME and
/// REQUIRETLS and expects QUIT. Returns whether the handshake succeeded.
async fn tls_server(acceptor: TlsAcceptor) -> (SocketAddr, JoinHandle<bool>) {
    serve(|mut peer| async move {
        peer.greet(&["PIPELINING", "STARTTLS"]).await;
        peer.expect("STARTTLS").await;
        peer.say("220 2.0.0 ready").await;
        let Ok(mut peer) = peer.starttls(&acceptor).await else {
            return false;
        };
        peer.expect("EHLO client.test").await;
        peer.ehlo(&["PIPELINING", "8BITMIME", "REQUIRETLS"]).await;
        peer.quit().await;
        true
    })
    .await
}

#[tokio::test]
async fn opportunistic_starttls_accepts_a_self_signed_certificate() {
    let (acceptor, _) = certificate();
    let (addr, server) = tls_server(acceptor).await;
    let session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    assert!(session.is_tls());
    // The capabilities are those of the EHLO after TLS.
    assert!(session.capabilities().has_capability("8BITMIME"));
    assert!(!session.capabilities().has_capability("STARTTLS"));
    session.quit().await;
    assert!(server.await.unwrap());
}

#[tokio::test]
async fn required_tls_accepts_a_self_signed_certificate() {
    let (acceptor, _) = certificate();
    let (addr, server) = tls_server(acceptor).await;
    let session = connect(addr, TlsPolicy::Required).await.unwrap();
    assert!(session.is_tls());
    session.quit().await;
    assert!(server.await.unwrap());
}

#[tokio::test]
async fn verified_tls_needs_a_trusted_certificate_for_the_name() {
    // Not trusted: the handshake fails.
    let (acceptor, pem) = certificate();
    let (addr, server) = tls_server(acceptor.clone()).await;
    let err = Session::connect(&config(b""), addr, "mx.test", TlsPolicy::Verified, false)
        .await
        .err()
        .expect("untrusted certificate");
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    assert!(!err.is_permanent());
    assert!(!server.await.unwrap());

    // Trusted through the extra roots, for the right name: verified TLS, and
    // REQUIRETLS can be sent.
    let (addr, server) = server_for_requiretls(acceptor.clone()).await;
    let config = config(pem.as_bytes());
    let mut session = Session::connect(&config, addr, "mx.test", TlsPolicy::Verified, false)
        .await
        .unwrap();
    assert!(session.is_tls());
    let envelope = Envelope {
        requiretls: true,
        ..envelope("a@x.test")
    };
    let outcome = session
        .send(&envelope, &[rcpt("b@y.test")], MESSAGE)
        .await
        .unwrap();
    assert_eq!(outcome.data.map(|r| r.code), Some(250));
    session.quit().await;
    assert_eq!(
        server.await.unwrap(),
        Some("MAIL FROM:<a@x.test> REQUIRETLS".to_string())
    );

    // Trusted, but for another name.
    let (addr, server) = tls_server(acceptor).await;
    let err = Session::connect(&config, addr, "other.test", TlsPolicy::Verified, false)
        .await
        .err()
        .expect("wrong name");
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    assert!(!server.await.unwrap());
}

/// Like [`tls_server`], accepting one message; returns its MAIL line.
async fn server_for_requiretls(acceptor: TlsAcceptor) -> (SocketAddr, JoinHandle<Option<String>>) {
    serve(|mut peer| async move {
        peer.greet(&["STARTTLS"]).await;
        peer.expect("STARTTLS").await;
        peer.say("220 2.0.0 ready").await;
        let mut peer = peer.starttls(&acceptor).await.ok()?;
        peer.expect("EHLO client.test").await;
        peer.ehlo(&["REQUIRETLS"]).await;
        let mail = peer.expect("MAIL FROM:").await;
        peer.say("250 2.1.0 ok").await;
        peer.expect("RCPT TO:").await;
        peer.say("250 2.1.5 ok").await;
        peer.expect("DATA").await;
        peer.say("354 go ahead").await;
        peer.data().await;
        peer.say("250 2.0.0 queued").await;
        peer.quit().await;
        Some(mail)
    })
    .await
}

#[tokio::test]
async fn implicit_tls_handshakes_before_the_greeting() {
    let (acceptor, pem) = certificate();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut peer = Peer {
            io: BufReader::new(Box::new(tls)),
        };
        peer.greet(&["AUTH PLAIN"]).await;
        peer.expect("AUTH PLAIN ").await;
        peer.say("235 2.7.0 ok").await;
        peer.quit().await;
    });
    let config = config(pem.as_bytes());
    let mut session = Session::connect(&config, addr, "mx.test", TlsPolicy::Verified, true)
        .await
        .unwrap();
    assert!(session.is_tls());
    session.authenticate("user", "pass").await.unwrap();
    session.quit().await;
    server.await.unwrap();
}

#[tokio::test]
async fn required_tls_without_starttls_fails() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["PIPELINING", "8BITMIME"]).await;
        peer.quit_without_reply().await;
    })
    .await;
    let err = connect(addr, TlsPolicy::Required)
        .await
        .err()
        .expect("no STARTTLS");
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    assert!(!err.is_permanent());
    server.await.unwrap();
}

#[tokio::test]
async fn refused_starttls_falls_back_to_plaintext_only_when_opportunistic() {
    let script = |mut peer: Peer| async move {
        peer.greet(&["STARTTLS"]).await;
        peer.expect("STARTTLS").await;
        peer.say("454 4.7.0 TLS not available").await;
        peer.line().await
    };
    let (addr, server1) = serve(script).await;
    let session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    assert!(!session.is_tls());
    session.quit().await;
    assert_eq!(server1.await.unwrap(), "QUIT");

    let (addr, server2) = serve(script).await;
    let err = connect(addr, TlsPolicy::Required)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    assert_eq!(server2.await.unwrap(), "QUIT");
}

#[tokio::test]
async fn auth_plain_sends_the_credentials_as_initial_response() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["AUTH LOGIN PLAIN"]).await;
        let auth = peer.line().await;
        peer.say("235 2.7.0 Authentication successful").await;
        peer.quit().await;
        auth
    })
    .await;
    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    // Plaintext is allowed here only because the server is on a loopback address.
    session.authenticate("user", "pass").await.unwrap();
    session.quit().await;
    // base64("\0user\0pass"), RFC 4616 §2.
    assert_eq!(server.await.unwrap(), "AUTH PLAIN AHVzZXIAcGFzcw==");
}

#[tokio::test]
async fn auth_login_when_plain_is_not_offered() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["AUTH LOGIN"]).await;
        peer.expect("AUTH LOGIN").await;
        peer.say("334 VXNlcm5hbWU6").await;
        let user = peer.line().await;
        peer.say("334 UGFzc3dvcmQ6").await;
        let pass = peer.line().await;
        peer.say("535 5.7.8 Authentication credentials invalid")
            .await;
        peer.quit().await;
        (user, pass)
    })
    .await;
    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let err = session.authenticate("user", "pass").await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Refused { stage: "AUTH", reply } if reply.code == 535),
        "{err:?}"
    );
    assert!(err.is_permanent());
    session.quit().await;
    assert_eq!(
        server.await.unwrap(),
        ("dXNlcg==".to_string(), "cGFzcw==".to_string())
    );
}

#[tokio::test]
async fn auth_without_a_known_mechanism_is_unsupported() {
    let (addr, server) = serve(|mut peer| async move {
        peer.greet(&["AUTH CRAM-MD5"]).await;
        peer.quit().await;
    })
    .await;
    let mut session = connect(addr, TlsPolicy::Opportunistic).await.unwrap();
    let err = session.authenticate("user", "pass").await.unwrap_err();
    assert!(matches!(err, ClientError::Unsupported(_)), "{err:?}");
    session.quit().await;
    server.await.unwrap();
}

/// Postfix's `smtp-sink` (Debian package `postfix`), killed when dropped.
struct SmtpSink {
    child: std::process::Child,
    addr: SocketAddr,
    dump: tempfile::TempDir,
}

impl SmtpSink {
    const PATH: &str = "/usr/sbin/smtp-sink";

    async fn start() -> SmtpSink {
        assert!(
            std::path::Path::new(Self::PATH).exists(),
            "this test needs Postfix's smtp-sink at {}: apt-get install postfix",
            Self::PATH
        );
        let dump = tempfile::tempdir().expect("temporary directory");
        // smtp-sink drops privileges to `nobody` when run as root, who must be able to
        // write the dumps.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dump.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        // A free port: bind, note it, release it for smtp-sink.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let port = addr.port();
        let mut cmd = std::process::Command::new(Self::PATH);
        if is_root() {
            // "This option is required when the process runs with super-user
            // privileges" (smtp-sink(1)).
            cmd.args(["-u", "nobody"]);
        }
        cmd.arg("-d")
            .arg(dump.path().join("msg."))
            .arg(format!("127.0.0.1:{port}"))
            .arg("10")
            .stdout(std::process::Stdio::null());
        let child = cmd.spawn().expect("smtp-sink starts");
        let sink = SmtpSink { child, addr, dump };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return sink;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("smtp-sink did not listen on {addr}");
    }

    /// The dumped transactions (smtp-sink writes one file per message).
    async fn dumps(&self) -> Vec<String> {
        for _ in 0..100 {
            let files: Vec<String> = std::fs::read_dir(self.dump.path())
                .expect("the dump directory")
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect();
            if !files.is_empty() {
                return files;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Vec::new()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

#[tokio::test]
async fn delivers_to_postfix_smtp_sink() {
    let sink = SmtpSink::start().await;
    let mut session = Session::connect(
        &config(b""),
        sink.addr,
        "localhost",
        TlsPolicy::Opportunistic,
        false,
    )
    .await
    .unwrap();
    assert!(session.capabilities().has_capability("PIPELINING"));
    assert!(session.capabilities().has_capability("DSN"));
    session.authenticate("user", "pass").await.unwrap();
    let first_envelope = Envelope {
        envid: Some("env 1".into()),
        ret: Some(DsnRet::Full),
        body_8bit: true,
        ..envelope("a@x.test")
    };
    let rcpts = [
        Rcpt {
            notify: NotifyFlags::FAILURE,
            original_recipient: Some(OriginalRecipient {
                addr_type: "rfc822".into(),
                address: "b@y.test".into(),
            }),
            ..rcpt("b@y.test")
        },
        rcpt("c@y.test"),
    ];
    let message = b"From: a@x.test\r\nSubject: sink\r\n\r\n.dot line\r\nCaf\xc3\xa9\r\n";
    let outcome = session
        .send(&first_envelope, &rcpts, message)
        .await
        .unwrap();
    assert!(outcome.rcpt.iter().all(|r| r.code == 250), "{outcome:?}");
    assert_eq!(
        outcome.data.as_ref().map(|r| r.code),
        Some(250),
        "{outcome:?}"
    );
    // A second transaction on the same connection.
    let outcome = session
        .send(&envelope("d@x.test"), &[rcpt("e@y.test")], MESSAGE)
        .await
        .unwrap();
    assert_eq!(outcome.data.map(|r| r.code), Some(250));
    session.quit().await;

    let dumps = sink.dumps().await;
    let first = dumps
        .iter()
        .find(|d| d.contains("Subject: sink"))
        .expect("the message was dumped");
    assert!(
        first.contains("X-Mail-Args: <a@x.test> RET=FULL ENVID=env+201 BODY=8BITMIME")
            || first.contains("X-Mail-Args: <a@x.test> BODY=8BITMIME RET=FULL ENVID=env+201"),
        "{first}"
    );
    assert!(
        first.contains("X-Rcpt-Args: <b@y.test> NOTIFY=FAILURE ORCPT=rfc822;b@y.test"),
        "{first}"
    );
    // smtp-sink undoes the dot-stuffing.
    assert!(
        first.contains("\n.dot line\n") || first.contains("\r\n.dot line\r\n"),
        "{first}"
    );
}
