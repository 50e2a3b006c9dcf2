//! The SMTP client of the outbound queue (RFC 5321 §3, §4; client side of RFC 3207
//! STARTTLS, RFC 2920 PIPELINING, RFC 4954 AUTH, RFC 1870 SIZE, RFC 6152 8BITMIME,
//! RFC 6531 SMTPUTF8, RFC 3461 DSN parameters, RFC 8689 REQUIRETLS).
//!
//! One [`Session`] is one connection to one server; it can carry several transactions
//! (the worker sends every due message for a destination over one connection).
//! Timeouts are those of RFC 5321 §4.5.3.2 unless configured shorter.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use mailstead_smtp_proto::{
    EhloResponse, EnhancedCode, Reply, ReplyParseError, dot_stuff, parse_ehlo_response,
    parse_reply, xtext,
};
use mailstead_store::model::{DsnRet, NotifyFlags, OriginalRecipient};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// How a session uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPolicy {
    /// STARTTLS when offered, certificate not verified (RFC 7435 opportunistic security);
    /// plaintext when not offered. A failed handshake is a temporary failure of this
    /// host (the worker tries the next one, not plaintext: a MITM could force that).
    Opportunistic,
    /// STARTTLS must be offered and succeed (certificate not verified): "TLS required".
    Required,
    /// STARTTLS (or implicit TLS) with a certificate verified for the host name against
    /// the configured roots: REQUIRETLS (RFC 8689 §4.2.1) and smarthosts.
    Verified,
}

/// Settings shared by every session.
#[derive(Clone)]
pub struct ClientConfig {
    /// Our name in EHLO.
    pub helo: String,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Greeting, EHLO, MAIL, RCPT, QUIT, RSET (RFC 5321 §4.5.3.2: 5 minutes).
    pub command_timeout: Duration,
    /// Wait for the reply after the final dot (RFC 5321 §4.5.3.2.6: 10 minutes), and
    /// for each write of message data.
    pub data_timeout: Duration,
    /// For [`TlsPolicy::Opportunistic`] and [`TlsPolicy::Required`]: accepts any
    /// certificate.
    pub tls_unverified: Arc<rustls::ClientConfig>,
    /// For [`TlsPolicy::Verified`]: verifies against roots.
    pub tls_verified: Arc<rustls::ClientConfig>,
}

/// Where Debian and its derivatives keep the system's trusted roots.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

impl ClientConfig {
    /// A config with the given EHLO name, RFC 5321 timeouts, and TLS configs: the
    /// unverified one accepts any certificate; the verified one trusts the system's
    /// roots (from `/etc/ssl/certs/ca-certificates.crt` when present) plus the PEM
    /// certificates in `extra_roots` (e.g. a smarthost's private CA).
    pub fn new(helo: &str, extra_roots: &[u8]) -> Result<ClientConfig, ClientError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = || {
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| ClientError::Config(format!("TLS protocol versions: {e}")))
        };

        let unverified = builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth();

        let mut roots = RootCertStore::empty();
        // The system store is optional (a container may have none; then only the
        // extra roots are trusted). Certificates rustls cannot use are skipped, as
        // every TLS client does with a distribution bundle.
        if let Ok(pem) = std::fs::read(SYSTEM_ROOTS) {
            let (added, ignored) = roots.add_parsable_certificates(
                CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok),
            );
            tracing::debug!(added, ignored, path = SYSTEM_ROOTS, "system TLS roots");
        }
        // The extra roots are configuration: a broken one is an error, not skipped.
        for cert in CertificateDer::pem_slice_iter(extra_roots) {
            let cert =
                cert.map_err(|e| ClientError::Config(format!("extra root certificates: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| ClientError::Config(format!("extra root certificate: {e}")))?;
        }
        let verified = builder()?
            .with_root_certificates(roots)
            .with_no_client_auth();

        Ok(ClientConfig {
            helo: helo.to_string(),
            // RFC 5321 gives none for the connection itself; Postfix waits 30 s.
            connect_timeout: Duration::from_secs(30),
            // RFC 5321 §4.5.3.2.1–§4.5.3.2.5: 5 minutes for the greeting, MAIL and RCPT
            // (DATA's 2 minutes is shorter, but one setting is enough here).
            command_timeout: Duration::from_secs(5 * 60),
            // RFC 5321 §4.5.3.2.6: 10 minutes for the reply after the final dot.
            data_timeout: Duration::from_secs(10 * 60),
            tls_unverified: Arc::new(unverified),
            tls_verified: Arc::new(verified),
        })
    }

    fn tls_config(&self, policy: TlsPolicy) -> Arc<rustls::ClientConfig> {
        match policy {
            TlsPolicy::Verified => self.tls_verified.clone(),
            TlsPolicy::Opportunistic | TlsPolicy::Required => self.tls_unverified.clone(),
        }
    }
}

/// The certificate "verifier" of opportunistic TLS (RFC 7435 §3: encrypt without
/// authenticating rather than not at all). It accepts any certificate, but still checks
/// the handshake signatures with the provider's algorithms, so the session is at least
/// bound to the key of the certificate presented.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The envelope of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Reverse path without `<>`, `""` for the null sender.
    pub mail_from: String,
    /// Octets of the message (sent as SIZE= when the server offers SIZE).
    pub size: u64,
    /// `ENVID=` (xtext-encoded when sent), only when the server offers DSN.
    pub envid: Option<String>,
    /// `RET=`, only when the server offers DSN.
    pub ret: Option<DsnRet>,
    /// Send `BODY=8BITMIME` (the server must offer 8BITMIME; else [`ClientError::Unsupported`]).
    pub body_8bit: bool,
    /// Send `SMTPUTF8` (the server must offer it; else [`ClientError::Unsupported`]).
    pub smtputf8: bool,
    /// Send `REQUIRETLS` (the session must be verified TLS and the server offer it;
    /// else [`ClientError::Unsupported`]).
    pub requiretls: bool,
}

/// One RCPT of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rcpt {
    /// Forward path without `<>`.
    pub address: String,
    /// `NOTIFY=` (only sent when the server offers DSN and it is set).
    pub notify: NotifyFlags,
    /// `ORCPT=` (only sent when the server offers DSN).
    pub original_recipient: Option<OriginalRecipient>,
}

/// What the server said to one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The reply to each RCPT, in order.
    pub rcpt: Vec<Reply>,
    /// The reply after the message data; `None` when no RCPT was accepted (DATA was
    /// not sent; the transaction was reset).
    pub data: Option<Reply>,
}

/// Why a session or transaction failed as a whole (every recipient of it shares the
/// outcome). Per-recipient refusals are in [`Outcome`] instead.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// TCP connect failed (temporary).
    #[error("connect to {addr} failed: {source}")]
    Connect {
        /// Where.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No reply in time (temporary).
    #[error("timeout {0}")]
    Timeout(&'static str),
    /// The connection broke or the server sent something unparseable (temporary).
    #[error("connection lost or garbled {stage}: {reason}")]
    Io {
        /// e.g. "after RCPT".
        stage: &'static str,
        /// Detail.
        reason: String,
    },
    /// The server refused the session or transaction: greeting, EHLO/HELO, MAIL FROM,
    /// AUTH or RSET, with its reply (4xx temporary, 5xx permanent). A refused STARTTLS
    /// is [`ClientError::Tls`] when the policy needs TLS (the next host may do better).
    #[error("{stage} refused: {reply}")]
    Refused {
        /// e.g. "MAIL FROM".
        stage: &'static str,
        /// The reply (its code decides temporary or permanent).
        reply: Reply,
    },
    /// The TLS handshake failed, or the policy needs TLS that the server does not offer
    /// (or refuses), or credentials would have gone over plaintext.
    #[error("TLS: {0}")]
    Tls(String),
    /// The message needs an extension the server does not offer (8BITMIME, SMTPUTF8,
    /// REQUIRETLS): permanent for this server.
    #[error("the server does not support {0}")]
    Unsupported(&'static str),
    /// The local TLS set-up is unusable.
    #[error("TLS configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// Whether the failure is permanent (a 5xx refusal or a missing extension), so the
    /// recipients fail rather than wait.
    pub fn is_permanent(&self) -> bool {
        match self {
            ClientError::Refused { reply, .. } => reply.is_permanent(),
            ClientError::Unsupported(_) => true,
            ClientError::Connect { .. }
            | ClientError::Timeout(_)
            | ClientError::Io { .. }
            | ClientError::Tls(_)
            | ClientError::Config(_) => false,
        }
    }

    /// Whether the connection may be out of step with the server after this error (a
    /// reply may still be on its way), so the session must not be used again.
    fn breaks_session(&self) -> bool {
        matches!(self, ClientError::Timeout(_) | ClientError::Io { .. })
    }
}

/// Most octets buffered for one reply. RFC 5321 §4.5.3.1.5 limits a reply line to 512
/// octets, but EHLO replies of many lines are normal, so the limit is on the whole
/// reply; beyond it the server is broken or hostile.
const MAX_REPLY: usize = 64 * 1024;

/// Message data is written in pieces of this size, each with its own timeout
/// (RFC 5321 §4.5.3.2.5: 3 minutes per TCP SEND of the data block).
const DATA_CHUNK: usize = 64 * 1024;

/// RFC 3461 §4.4: "The ENVID parameter ... MUST NOT exceed 100 characters" (xtext).
const MAX_ENVID: usize = 100;
/// RFC 3461 §4.2: an ORCPT value is at most 500 characters.
const MAX_ORCPT: usize = 500;

/// One connection to one SMTP server.
pub struct Session {
    conn: Conn,
    ehlo: EhloResponse,
    greeting_name: String,
    tls: bool,
    /// TLS with the certificate verified (REQUIRETLS may be sent).
    verified: bool,
    peer: SocketAddr,
    command_timeout: Duration,
    data_timeout: Duration,
    /// Set after a timeout or I/O error: a late reply could be taken for the answer
    /// to the next command, so nothing more is sent.
    broken: bool,
}

impl Session {
    /// Connects to `addr`, reads the greeting, says EHLO (HELO if EHLO is refused with
    /// 5xx), and then per `tls`: STARTTLS and EHLO again. `server_name` is the host name
    /// the certificate is verified against (the MX name). With `implicit_tls` the TLS
    /// handshake happens right after connecting (port 465 style smarthosts).
    pub async fn connect(
        config: &ClientConfig,
        addr: SocketAddr,
        server_name: &str,
        tls: TlsPolicy,
        implicit_tls: bool,
    ) -> Result<Session, ClientError> {
        let tcp = match timeout(config.connect_timeout, TcpStream::connect(addr)).await {
            Err(_) => return Err(ClientError::Timeout("connecting")),
            Ok(Err(source)) => return Err(ClientError::Connect { addr, source }),
            Ok(Ok(tcp)) => tcp,
        };
        // Commands are written whole; Nagle would only delay them. Failure is harmless.
        let _ = tcp.set_nodelay(true);
        let name = tls_server_name(server_name, addr, tls)?;
        let ct = config.command_timeout;
        let mut conn = Conn {
            stream: Stream::Plain(tcp),
            buf: Vec::new(),
        };
        if implicit_tls {
            conn = conn
                .upgrade(config.tls_config(tls), name.clone(), ct)
                .await?;
        }

        // RFC 5321 §3.1: a 554 (or 421) greeting refuses the session.
        let greeting = conn.read_reply("waiting for the greeting", ct).await?;
        if greeting.code != 220 {
            conn.abandon(ct).await;
            return Err(ClientError::Refused {
                stage: "greeting",
                reply: greeting,
            });
        }
        let greeting_name = greeting
            .lines
            .first()
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_default()
            .to_string();

        let mut ehlo = conn.hello(&config.helo, ct).await?;
        let mut is_tls = implicit_tls;
        if !is_tls {
            if ehlo.has_capability("STARTTLS") {
                // RFC 3207 §4.
                conn.write(b"STARTTLS\r\n", "sending STARTTLS", ct).await?;
                let reply = conn.read_reply("after STARTTLS", ct).await?;
                if reply.code == 220 {
                    conn = conn.upgrade(config.tls_config(tls), name, ct).await?;
                    // RFC 3207 §4.2: forget what was learnt in plaintext, ask again.
                    ehlo = conn.hello(&config.helo, ct).await?;
                    is_tls = true;
                } else if tls == TlsPolicy::Opportunistic {
                    // RFC 3207 §4: the client may go on without TLS; opportunistic TLS
                    // would be stripped by an attacker as easily as this.
                    tracing::debug!(%addr, %reply, "STARTTLS refused, continuing without TLS");
                } else {
                    conn.abandon(ct).await;
                    return Err(ClientError::Tls(format!("STARTTLS refused: {reply}")));
                }
            } else if tls != TlsPolicy::Opportunistic {
                conn.abandon(ct).await;
                return Err(ClientError::Tls(
                    "the server does not offer STARTTLS".into(),
                ));
            }
        }

        Ok(Session {
            conn,
            ehlo,
            greeting_name,
            tls: is_tls,
            verified: is_tls && tls == TlsPolicy::Verified,
            peer: addr,
            command_timeout: ct,
            data_timeout: config.data_timeout,
            broken: false,
        })
    }

    /// AUTH PLAIN (or LOGIN when only that is offered), RFC 4954; only over TLS unless
    /// the server is on a loopback address.
    pub async fn authenticate(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        // RFC 4954 §4 and §14: plaintext mechanisms only over an encrypted channel; a
        // relay on the same host is the one exception (nothing to eavesdrop on).
        if !self.tls && !self.peer.ip().is_loopback() {
            return Err(ClientError::Tls(
                "refusing to send credentials without TLS".into(),
            ));
        }
        self.usable()?;
        let result = self.authenticate_inner(user, password).await;
        self.note(result)
    }

    async fn authenticate_inner(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        let offered = auth_mechanisms(&self.ehlo);
        let offers = |m: &str| offered.iter().any(|o| o.eq_ignore_ascii_case(m));
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let ct = self.command_timeout;
        let conn = &mut self.conn;
        if offers("PLAIN") {
            // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
            if user.contains('\0') || password.contains('\0') {
                return Err(ClientError::Config(
                    "a user name or password with NUL cannot be sent with PLAIN".into(),
                ));
            }
            // RFC 4954 §4: the initial response on the AUTH line saves a round trip.
            let response = b64(format!("\0{user}\0{password}").as_bytes());
            let mut line = format!("AUTH PLAIN {response}\r\n").into_bytes();
            let written = conn.write(&line, "sending AUTH", ct).await;
            wipe(&mut line);
            written?;
            let reply = conn.read_reply("after AUTH", ct).await?;
            if reply.code == 334 {
                // The server wants more than the initial response: cancel (RFC 4954 §4).
                conn.write(b"*\r\n", "sending AUTH", ct).await?;
                let cancelled = conn.read_reply("after AUTH", ct).await?;
                return Err(ClientError::Refused {
                    stage: "AUTH",
                    reply: cancelled,
                });
            }
            return refused_unless_positive("AUTH", reply);
        }
        if offers("LOGIN") {
            // The LOGIN mechanism (draft-murchison-sasl-login): user name and password
            // each answer a 334 challenge.
            conn.write(b"AUTH LOGIN\r\n", "sending AUTH", ct).await?;
            for secret in [user, password] {
                let reply = conn.read_reply("after AUTH", ct).await?;
                if reply.code != 334 {
                    return Err(ClientError::Refused {
                        stage: "AUTH",
                        reply,
                    });
                }
                let mut line = format!("{}\r\n", b64(secret.as_bytes())).into_bytes();
                let written = conn.write(&line, "sending AUTH", ct).await;
                wipe(&mut line);
                written?;
            }
            let reply = conn.read_reply("after AUTH", ct).await?;
            return refused_unless_positive("AUTH", reply);
        }
        Err(ClientError::Unsupported("AUTH PLAIN or LOGIN"))
    }

    /// Sends one message: MAIL, every RCPT, DATA (dot-stuffed) when at least one
    /// recipient was accepted, else RSET. Commands are pipelined when the server offers
    /// PIPELINING. `message` is the raw message with CRLF line ends.
    ///
    /// A recipient address that cannot be written into a command (a control character
    /// or an angle bracket) is not sent; its reply is a local `553 5.1.3`.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        rcpts: &[Rcpt],
        message: &[u8],
    ) -> Result<Outcome, ClientError> {
        self.usable()?;
        let result = self.send_inner(envelope, rcpts, message).await;
        self.note(result)
    }

    async fn send_inner(
        &mut self,
        envelope: &Envelope,
        rcpts: &[Rcpt],
        message: &[u8],
    ) -> Result<Outcome, ClientError> {
        let mail = self.mail_command(envelope)?;
        let ct = self.command_timeout;
        // `None` for a recipient refused locally.
        let rcpt_lines: Vec<Option<String>> = rcpts.iter().map(|r| self.rcpt_command(r)).collect();
        let mut replies: Vec<Option<Reply>> = vec![None; rcpts.len()];

        if self.ehlo.has_capability("PIPELINING") {
            // RFC 2920 §3.1: MAIL and the RCPTs in one go, then the replies in order.
            let mut batch = mail.into_bytes();
            for line in rcpt_lines.iter().flatten() {
                batch.extend_from_slice(line.as_bytes());
            }
            self.conn
                .write(&batch, "sending MAIL FROM and RCPT TO", ct)
                .await?;
            let mail_reply = self.conn.read_reply("after MAIL FROM", ct).await?;
            let mut rcpt_error = None;
            for (line, reply) in rcpt_lines.iter().zip(replies.iter_mut()) {
                if line.is_some() {
                    match self.conn.read_reply("after RCPT TO", ct).await {
                        Ok(r) => *reply = Some(r),
                        Err(e) => {
                            rcpt_error = Some(e);
                            break;
                        }
                    }
                }
            }
            if !mail_reply.is_positive() {
                // The refusal is the outcome even when the server hung up after it
                // (421); a reply not read would put the session out of step.
                if rcpt_error.is_some() {
                    self.broken = true;
                }
                return Err(ClientError::Refused {
                    stage: "MAIL FROM",
                    reply: mail_reply,
                });
            }
            if let Some(e) = rcpt_error {
                return Err(e);
            }
        } else {
            self.conn
                .write(mail.as_bytes(), "sending MAIL FROM", ct)
                .await?;
            let mail_reply = self.conn.read_reply("after MAIL FROM", ct).await?;
            if !mail_reply.is_positive() {
                return Err(ClientError::Refused {
                    stage: "MAIL FROM",
                    reply: mail_reply,
                });
            }
            for (line, reply) in rcpt_lines.iter().zip(replies.iter_mut()) {
                if let Some(line) = line {
                    self.conn
                        .write(line.as_bytes(), "sending RCPT TO", ct)
                        .await?;
                    *reply = Some(self.conn.read_reply("after RCPT TO", ct).await?);
                }
            }
        }
        let rcpt: Vec<Reply> = replies
            .into_iter()
            .map(|r| r.unwrap_or_else(unsendable_address))
            .collect();

        if !rcpt.iter().any(Reply::is_positive) {
            // RFC 5321 §4.1.1.5: abort the transaction MAIL opened.
            self.reset_quietly().await;
            return Ok(Outcome { rcpt, data: None });
        }

        // RFC 5321 §4.1.1.4, §4.5.3.2.2: DATA, then 354.
        self.conn.write(b"DATA\r\n", "sending DATA", ct).await?;
        let reply = self.conn.read_reply("after DATA", ct).await?;
        if reply.code != 354 {
            if reply.is_positive() {
                return Err(ClientError::Io {
                    stage: "after DATA",
                    reason: format!("{reply} instead of 354"),
                });
            }
            // The refusal of DATA is the transaction's outcome; the accepted RCPTs are
            // still open on the server.
            self.reset_quietly().await;
            return Ok(Outcome {
                rcpt,
                data: Some(reply),
            });
        }
        // RFC 5321 §4.5.2: dot-stuffed, ending in CRLF before the final ".".
        let data = dot_stuff(message);
        for chunk in data.chunks(DATA_CHUNK) {
            self.conn
                .write(chunk, "sending the message data", self.data_timeout)
                .await?;
        }
        // RFC 5321 §4.5.3.2.6: the reply after the dot may take long (content checks).
        let reply = self
            .conn
            .read_reply("after the message data", self.data_timeout)
            .await?;
        Ok(Outcome {
            rcpt,
            data: Some(reply),
        })
    }

    /// `MAIL FROM:<path> params` CRLF with the parameters the server offers, or why
    /// the message cannot go to this server.
    fn mail_command(&self, envelope: &Envelope) -> Result<String, ClientError> {
        let ehlo = &self.ehlo;
        // Check every requirement before anything is sent: the session stays usable.
        if envelope.body_8bit && !ehlo.has_capability("8BITMIME") {
            return Err(ClientError::Unsupported("8BITMIME"));
        }
        if envelope.smtputf8 && !ehlo.has_capability("SMTPUTF8") {
            return Err(ClientError::Unsupported("SMTPUTF8"));
        }
        // RFC 8689 §4.2.1: only over TLS with a verified certificate, to a server that
        // offers REQUIRETLS.
        if envelope.requiretls && !(self.verified && ehlo.has_capability("REQUIRETLS")) {
            return Err(ClientError::Unsupported("REQUIRETLS"));
        }
        if !sendable_path(&envelope.mail_from) {
            return Err(ClientError::Refused {
                stage: "MAIL FROM",
                reply: Reply::new(
                    553,
                    Some(EnhancedCode(5, 1, 7)),
                    "sender address cannot be sent (not attempted)",
                ),
            });
        }
        let mut cmd = format!("MAIL FROM:<{}>", envelope.mail_from);
        if ehlo.has_capability("SIZE") {
            // RFC 1870 §3.
            cmd.push_str(&format!(" SIZE={}", envelope.size));
        }
        if envelope.body_8bit {
            // RFC 6152 §2.
            cmd.push_str(" BODY=8BITMIME");
        }
        if envelope.smtputf8 {
            // RFC 6531 §3.4.
            cmd.push_str(" SMTPUTF8");
        }
        if envelope.requiretls {
            // RFC 8689 §4.1.
            cmd.push_str(" REQUIRETLS");
        }
        if ehlo.has_capability("DSN") {
            // RFC 3461 §4.3, §4.4.
            match envelope.ret {
                Some(DsnRet::Full) => cmd.push_str(" RET=FULL"),
                Some(DsnRet::Hdrs) => cmd.push_str(" RET=HDRS"),
                None => {}
            }
            if let Some(envid) = &envelope.envid {
                let encoded = xtext::encode(envid.as_bytes());
                // Too long for the server to have to accept: better no ENVID than a
                // refused MAIL.
                if !encoded.is_empty() && encoded.len() <= MAX_ENVID {
                    cmd.push_str(" ENVID=");
                    cmd.push_str(&encoded);
                }
            }
        }
        cmd.push_str("\r\n");
        Ok(cmd)
    }

    /// `RCPT TO:<path> params` CRLF, or `None` when the address cannot be sent.
    fn rcpt_command(&self, rcpt: &Rcpt) -> Option<String> {
        if rcpt.address.is_empty() || !sendable_path(&rcpt.address) {
            return None;
        }
        let mut cmd = format!("RCPT TO:<{}>", rcpt.address);
        if self.ehlo.has_capability("DSN") {
            // RFC 3461 §4.1.
            if let Some(notify) = notify_value(rcpt.notify) {
                cmd.push_str(" NOTIFY=");
                cmd.push_str(&notify);
            }
            // RFC 3461 §4.2: `ORCPT=addr-type ";" xtext`.
            if let Some(OriginalRecipient { addr_type, address }) = &rcpt.original_recipient {
                let orcpt = format!("{addr_type};{}", xtext::encode(address.as_bytes()));
                let atom = !addr_type.is_empty()
                    && addr_type
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if atom && orcpt.len() <= MAX_ORCPT {
                    cmd.push_str(" ORCPT=");
                    cmd.push_str(&orcpt);
                }
            }
        }
        cmd.push_str("\r\n");
        Some(cmd)
    }

    /// RSET between transactions when a previous one ended in the middle.
    pub async fn reset(&mut self) -> Result<(), ClientError> {
        self.usable()?;
        let ct = self.command_timeout;
        let result = async {
            self.conn.write(b"RSET\r\n", "sending RSET", ct).await?;
            let reply = self.conn.read_reply("after RSET", ct).await?;
            refused_unless_positive("RSET", reply)
        }
        .await;
        self.note(result)
    }

    /// RSET after a transaction whose outcome is already known: a failure only marks
    /// the session broken (the outcome stands).
    async fn reset_quietly(&mut self) {
        if let Err(e) = self.reset().await {
            tracing::debug!(error = %e, "RSET failed");
            self.broken = true;
        }
    }

    /// QUIT and close (errors ignored).
    pub async fn quit(mut self) {
        if !self.broken {
            let ct = self.command_timeout;
            // RFC 5321 §4.1.1.10: the server answers 221 and closes.
            if self
                .conn
                .write(b"QUIT\r\n", "sending QUIT", ct)
                .await
                .is_ok()
            {
                let _ = self.conn.read_reply("after QUIT", ct).await;
            }
        }
        self.conn.close(self.command_timeout).await;
    }

    /// Whether the connection is TLS now.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The server's EHLO capabilities (after STARTTLS: the second EHLO's).
    pub fn capabilities(&self) -> &EhloResponse {
        &self.ehlo
    }

    /// The server's greeting name (first word of the 220), for DSN `Remote-MTA`.
    pub fn server_name(&self) -> &str {
        &self.greeting_name
    }

    fn usable(&self) -> Result<(), ClientError> {
        if self.broken {
            Err(ClientError::Io {
                stage: "before the command",
                reason: "the session broke earlier".into(),
            })
        } else {
            Ok(())
        }
    }

    /// Marks the session broken when `result` says it may be out of step.
    fn note<T>(&mut self, result: Result<T, ClientError>) -> Result<T, ClientError> {
        if let Err(e) = &result
            && e.breaks_session()
        {
            self.broken = true;
        }
        result
    }
}

/// The local reply for a recipient whose address cannot be put in a command.
fn unsendable_address() -> Reply {
    Reply::new(
        553,
        Some(EnhancedCode(5, 1, 3)),
        "recipient address cannot be sent (not attempted)",
    )
}

/// Whether `path` can go between `<` and `>` without changing the command: no control
/// characters (CR, LF: command injection), no angle brackets.
fn sendable_path(path: &str) -> bool {
    !path.chars().any(|c| c.is_control() || c == '<' || c == '>')
}

/// The `NOTIFY=` value (RFC 3461 §4.1): `NEVER`, or a comma list; `None` when unset.
fn notify_value(flags: NotifyFlags) -> Option<String> {
    if flags.contains(NotifyFlags::NEVER) && flags != NotifyFlags::UNSET {
        return Some("NEVER".into());
    }
    let list: Vec<&str> = [
        (NotifyFlags::SUCCESS, "SUCCESS"),
        (NotifyFlags::FAILURE, "FAILURE"),
        (NotifyFlags::DELAY, "DELAY"),
    ]
    .into_iter()
    .filter(|(flag, _)| flags.contains(*flag))
    .map(|(_, name)| name)
    .collect();
    (!list.is_empty()).then(|| list.join(","))
}

/// The SASL mechanisms offered: `AUTH PLAIN LOGIN`, and the pre-RFC 2554 form
/// `AUTH=PLAIN LOGIN` some servers still send.
fn auth_mechanisms(ehlo: &EhloResponse) -> Vec<String> {
    let mut mechanisms: Vec<String> = ehlo
        .capability_params("AUTH")
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    for line in &ehlo.capabilities {
        if let Some(rest) = line
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("AUTH="))
            .and_then(|_| line.get(5..))
        {
            mechanisms.extend(
                rest.split(' ')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string),
            );
        }
    }
    mechanisms
}

fn refused_unless_positive(stage: &'static str, reply: Reply) -> Result<(), ClientError> {
    if reply.is_positive() {
        Ok(())
    } else {
        Err(ClientError::Refused { stage, reply })
    }
}

/// Overwrites a buffer that held a credential, so it does not linger in freed memory.
fn wipe(buf: &mut [u8]) {
    buf.iter_mut().for_each(|b| *b = 0);
}

/// The name the certificate is checked against and sent as SNI: the host name without
/// a trailing dot, or the address of an IP literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
/// Without verification a name rustls cannot use falls back to the peer's address.
fn tls_server_name(
    host: &str,
    addr: SocketAddr,
    policy: TlsPolicy,
) -> Result<ServerName<'static>, ClientError> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .map(|h| h.strip_prefix("IPv6:").unwrap_or(h))
        .unwrap_or(host);
    match ServerName::try_from(host.to_string()) {
        Ok(name) => Ok(name),
        Err(_) if policy != TlsPolicy::Verified => Ok(ServerName::IpAddress(addr.ip().into())),
        Err(e) => Err(ClientError::Tls(format!(
            "{host:?} is not a name a certificate can be verified for: {e}"
        ))),
    }
}

/// The byte stream, before or after STARTTLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The connection with its read buffer (replies may arrive several at once when
/// pipelining, or split across reads).
struct Conn {
    stream: Stream,
    buf: Vec<u8>,
}

impl Conn {
    /// Reads one complete, possibly multi-line, reply within `limit`.
    async fn read_reply(
        &mut self,
        stage: &'static str,
        limit: Duration,
    ) -> Result<Reply, ClientError> {
        let deadline = Instant::now() + limit;
        let mut chunk = [0u8; 4096];
        loop {
            match parse_reply(&self.buf) {
                Ok((reply, used)) => {
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Err(ReplyParseError::Incomplete) => {}
                Err(ReplyParseError::Invalid(reason)) => {
                    return Err(ClientError::Io { stage, reason });
                }
            }
            if self.buf.len() >= MAX_REPLY {
                return Err(ClientError::Io {
                    stage,
                    reason: format!("reply longer than {MAX_REPLY} octets"),
                });
            }
            let read = match &mut self.stream {
                Stream::Plain(s) => timeout_at(deadline, s.read(&mut chunk)).await,
                Stream::Tls(s) => timeout_at(deadline, s.read(&mut chunk)).await,
            };
            match read {
                Err(_) => return Err(ClientError::Timeout(stage)),
                Ok(Err(e)) => {
                    return Err(ClientError::Io {
                        stage,
                        reason: e.to_string(),
                    });
                }
                Ok(Ok(0)) => {
                    return Err(ClientError::Io {
                        stage,
                        reason: "connection closed".into(),
                    });
                }
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Writes (and flushes: TLS buffers) `data` within `limit`.
    async fn write(
        &mut self,
        data: &[u8],
        stage: &'static str,
        limit: Duration,
    ) -> Result<(), ClientError> {
        async fn write_flush<S: tokio::io::AsyncWrite + Unpin>(
            s: &mut S,
            data: &[u8],
        ) -> io::Result<()> {
            s.write_all(data).await?;
            s.flush().await
        }
        let written = match &mut self.stream {
            Stream::Plain(s) => timeout(limit, write_flush(s, data)).await,
            Stream::Tls(s) => timeout(limit, write_flush(s.as_mut(), data)).await,
        };
        match written {
            Err(_) => Err(ClientError::Timeout(stage)),
            Ok(Err(e)) => Err(ClientError::Io {
                stage,
                reason: e.to_string(),
            }),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// EHLO, or HELO when EHLO is refused with 5xx (RFC 5321 §4.1.1.1, §3.2).
    async fn hello(&mut self, helo: &str, limit: Duration) -> Result<EhloResponse, ClientError> {
        self.write(format!("EHLO {helo}\r\n").as_bytes(), "sending EHLO", limit)
            .await?;
        let reply = self.read_reply("after EHLO", limit).await?;
        if reply.is_positive() {
            return Ok(parse_ehlo_response(&reply));
        }
        if !reply.is_permanent() {
            self.abandon(limit).await;
            return Err(ClientError::Refused {
                stage: "EHLO",
                reply,
            });
        }
        self.write(format!("HELO {helo}\r\n").as_bytes(), "sending HELO", limit)
            .await?;
        let reply = self.read_reply("after HELO", limit).await?;
        if !reply.is_positive() {
            self.abandon(limit).await;
            return Err(ClientError::Refused {
                stage: "HELO",
                reply,
            });
        }
        // No extensions after HELO: the reply's first word is still the server's name.
        let mut ehlo = parse_ehlo_response(&reply);
        ehlo.capabilities.clear();
        Ok(ehlo)
    }

    /// The TLS handshake on the plain connection (after `220` to STARTTLS, or at once
    /// for implicit TLS).
    async fn upgrade(
        self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        limit: Duration,
    ) -> Result<Conn, ClientError> {
        // RFC 3207 §4.2 / CVE-2011-0411: anything the server sent after its 220 came
        // in plaintext and must not be read as if it came over TLS.
        if !self.buf.is_empty() {
            return Err(ClientError::Tls(
                "the server sent data after its STARTTLS reply".into(),
            ));
        }
        let Stream::Plain(tcp) = self.stream else {
            return Err(ClientError::Tls("TLS is already on".into()));
        };
        let connector = TlsConnector::from(config);
        match timeout(limit, connector.connect(name, tcp)).await {
            Err(_) => Err(ClientError::Timeout("in the TLS handshake")),
            Ok(Err(e)) => Err(ClientError::Tls(e.to_string())),
            Ok(Ok(tls)) => Ok(Conn {
                stream: Stream::Tls(Box::new(tls)),
                buf: Vec::new(),
            }),
        }
    }

    /// QUIT without waiting for the reply, after a refusal (RFC 5321 §3.8: the client
    /// should end the session with QUIT), then close.
    async fn abandon(&mut self, limit: Duration) {
        let _ = self.write(b"QUIT\r\n", "sending QUIT", limit).await;
        self.close(limit).await;
    }

    /// Shuts the stream down (TLS: close_notify first); errors ignored.
    async fn close(&mut self, limit: Duration) {
        let _ = match &mut self.stream {
            Stream::Plain(s) => timeout(limit, s.shutdown()).await,
            Stream::Tls(s) => timeout(limit, s.shutdown()).await,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanence() {
        let refused = |code| ClientError::Refused {
            stage: "MAIL FROM",
            reply: Reply::new(code, None, "x"),
        };
        assert!(refused(550).is_permanent());
        assert!(!refused(451).is_permanent());
        assert!(ClientError::Unsupported("8BITMIME").is_permanent());
        assert!(!ClientError::Timeout("after EHLO").is_permanent());
        assert!(!ClientError::Tls("x".into()).is_permanent());
    }

    #[test]
    fn notify_values() {
        assert_eq!(notify_value(NotifyFlags::UNSET), None);
        assert_eq!(notify_value(NotifyFlags::NEVER).as_deref(), Some("NEVER"));
        assert_eq!(
            notify_value(NotifyFlags::SUCCESS.union(NotifyFlags::DELAY)).as_deref(),
            Some("SUCCESS,DELAY")
        );
        assert_eq!(
            notify_value(NotifyFlags::FAILURE).as_deref(),
            Some("FAILURE")
        );
    }

    #[test]
    fn server_names() {
        let addr: SocketAddr = "192.0.2.1:25".parse().unwrap();
        let name = |h| tls_server_name(h, addr, TlsPolicy::Verified);
        assert_eq!(
            name("mx.example.org.").unwrap(),
            ServerName::try_from("mx.example.org").unwrap()
        );
        assert_eq!(
            name("[192.0.2.7]").unwrap(),
            ServerName::try_from("192.0.2.7").unwrap()
        );
        assert_eq!(
            name("[IPv6:2001:db8::1]").unwrap(),
            ServerName::try_from("2001:db8::1").unwrap()
        );
        assert!(matches!(name("bad name!"), Err(ClientError::Tls(_))));
        assert_eq!(
            tls_server_name("bad name!", addr, TlsPolicy::Opportunistic).unwrap(),
            ServerName::try_from("192.0.2.1").unwrap()
        );
    }

    #[test]
    fn paths_that_cannot_be_sent() {
        assert!(sendable_path("a@b.example"));
        assert!(sendable_path("\"a b\"@b.example"));
        assert!(sendable_path(""));
        assert!(!sendable_path("a@b\r\nRCPT TO:<x@y>"));
        assert!(!sendable_path("a>@b"));
    }

    #[test]
    fn legacy_auth_capability() {
        let ehlo = EhloResponse {
            domain: "x".into(),
            greeting: String::new(),
            capabilities: vec!["AUTH=LOGIN PLAIN".into()],
        };
        assert_eq!(auth_mechanisms(&ehlo), ["LOGIN", "PLAIN"]);
    }
}
