//! The connection loop: implicit TLS (RFC 8314), greeting, command lines, replies, DATA
//! and BDAT bodies, STARTTLS.
//!
//! Replies are written to an output buffer and flushed only before the session would wait
//! for input, so a pipelining client (RFC 2920) gets one write for a whole batch.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailstead_smtp_proto::{MAX_COMMAND_LINE, Reply, codes, parse_command};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::cmd::rep;
use crate::limits::Refusal;
use crate::state::State;
use crate::{Role, Security, SmtpServer};

/// A byte stream: plain TCP or TLS over it.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Why the session ends.
#[derive(Debug)]
pub(crate) enum End {
    /// The peer went away, or a write failed: close without a word.
    Gone,
    /// A timeout or limit: the reply was sent, now close.
    Closed,
}

/// TLS facts for the Received header and logs.
#[derive(Debug, Clone)]
pub(crate) struct TlsInfo {
    /// e.g. `TLSv1_3`.
    pub version: String,
    /// e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
}

/// The connection: stream, input buffer, output buffer.
pub(crate) struct Conn {
    stream: Option<Box<dyn Io>>,
    input: Vec<u8>,
    start: usize,
    output: Vec<u8>,
    /// Longest wait for a write: a client that stops reading cannot hold the session.
    write_timeout: Duration,
}

/// One command line read from the client.
pub(crate) enum Line {
    /// A complete line without its line ending.
    Text(Vec<u8>),
    /// A line longer than the limit (it was read and thrown away).
    TooLong,
}

impl Conn {
    fn new(stream: Box<dyn Io>, write_timeout: Duration) -> Self {
        Conn {
            stream: Some(stream),
            input: Vec::with_capacity(8192),
            start: 0,
            output: Vec::with_capacity(1024),
            write_timeout,
        }
    }

    /// Queues a reply.
    pub fn reply(&mut self, reply: &Reply) {
        self.output.extend_from_slice(&reply.encode());
    }

    /// Queues bytes as they are (a `334 ` challenge, whose trailing space matters).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    /// Writes queued replies; a client that does not read them in time is gone.
    pub async fn flush(&mut self) -> Result<(), End> {
        if self.output.is_empty() {
            return Ok(());
        }
        let stream = self.stream.as_mut().ok_or(End::Gone)?;
        let write = async {
            stream.write_all(&self.output).await?;
            stream.flush().await
        };
        match tokio::time::timeout(self.write_timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Err(End::Gone),
        }
        self.output.clear();
        Ok(())
    }

    /// Bytes received and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.input[self.start..]
    }

    /// Marks `n` buffered bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.input.len());
        if self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 {
            self.input.drain(..self.start);
            self.start = 0;
        }
    }

    /// Flushes replies, then reads more input (at least one byte) within `timeout`.
    pub async fn read_more(&mut self, timeout: Duration) -> Result<(), ReadError> {
        self.flush().await.map_err(|_| ReadError::Gone)?;
        let stream = self.stream.as_mut().ok_or(ReadError::Gone)?;
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(timeout, stream.read(&mut chunk)).await {
            Err(_) => Err(ReadError::Timeout),
            Ok(Err(_)) | Ok(Ok(0)) => Err(ReadError::Gone),
            Ok(Ok(n)) => {
                self.input.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// The next command line, or an error. Lines end at LF (a preceding CR is dropped);
    /// a line longer than [`MAX_COMMAND_LINE`] is read to its end and reported as too long.
    /// The whole line must arrive within `timeout`, so trickling bytes cannot keep an
    /// idle session open.
    pub async fn next_line(&mut self, timeout: Duration) -> Result<Line, ReadError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut discarding = false;
        loop {
            if let Some(pos) = self.buffered().iter().position(|&b| b == b'\n') {
                let mut line = self.buffered()[..pos].to_vec();
                self.consume(pos + 1);
                // The limit counts the line without its CR (as `MAX_COMMAND_LINE` says).
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if discarding || line.len() > MAX_COMMAND_LINE {
                    return Ok(Line::TooLong);
                }
                return Ok(Line::Text(line));
            }
            // `+ 1`: a line of exactly the limit may be buffered with its CR, LF to come.
            if self.buffered().len() > MAX_COMMAND_LINE + 1 {
                // Keep memory bounded: drop what we have and remember to refuse the line.
                discarding = true;
                let n = self.buffered().len();
                self.consume(n);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            self.read_more(left).await?;
        }
    }

    /// Replaces the stream by TLS over it. Buffered plaintext is discarded first: anything
    /// the client sent after STARTTLS before the handshake must not be taken as coming
    /// over TLS (RFC 3207 §4.2, the command-injection attack).
    pub async fn upgrade(
        &mut self,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> Result<TlsInfo, End> {
        self.flush().await?;
        self.input.clear();
        self.start = 0;
        let plain = self.stream.take().ok_or(End::Gone)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let tls = match tokio::time::timeout(timeout, acceptor.accept(plain)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::info!(error = %e, "TLS handshake failed");
                return Err(End::Gone);
            }
            Err(_) => return Err(End::Gone),
        };
        let (_, conn) = tls.get_ref();
        let info = TlsInfo {
            version: conn
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            cipher: conn
                .negotiated_cipher_suite()
                .map(|c| format!("{:?}", c.suite()))
                .unwrap_or_default(),
        };
        self.stream = Some(Box::new(tls));
        Ok(info)
    }

    async fn shutdown(&mut self) {
        let _ = self.flush().await;
        if let Some(s) = self.stream.as_mut() {
            let _ = s.shutdown().await;
        }
    }
}

/// Why reading failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Nothing arrived in time.
    Timeout,
    /// Closed or broken.
    Gone,
}

/// Per-session context handed to the command handlers.
pub(crate) struct Session {
    pub server: Arc<SmtpServer>,
    pub conn: Conn,
    pub remote: SocketAddr,
    pub state: State,
    pub tls: Option<TlsInfo>,
    /// The client is in `relay_networks` (submission: may send without AUTH).
    pub relay_client: bool,
}

/// What a handler tells the loop.
pub(crate) enum Flow {
    /// Read the next command.
    Continue,
    /// Close the connection (after flushing replies).
    Close,
}

impl Session {
    /// True on the submission listener.
    pub fn submission(&self) -> bool {
        self.server.config.role == Role::Submission
    }

    /// Whether AUTH may be offered and used now: on submission, over TLS, or in clear on
    /// a loopback connection when `plaintext_auth_on_loopback` (RFC 4954 §4 and design
    /// invariant 3: no password in clear over a network).
    pub fn auth_allowed(&self) -> bool {
        self.submission()
            && (self.tls.is_some()
                || (self.server.config.plaintext_auth_on_loopback
                    && self.remote.ip().to_canonical().is_loopback()))
    }

    /// Counts a rejected command; past the limit, says 421 and asks to close.
    pub fn bad_command(&mut self) -> Flow {
        self.state.bad_commands += 1;
        if self.state.bad_commands >= self.server.config.max_bad_commands {
            self.conn.reply(&rep(
                codes::C421_TOO_MANY_ERRORS,
                format!("{} too many errors, closing", self.server.config.hostname),
            ));
            return Flow::Close;
        }
        Flow::Continue
    }
}

/// Runs one SMTP session to its end.
pub(crate) async fn run(
    server: Arc<SmtpServer>,
    stream: TcpStream,
    remote: SocketAddr,
    security: Security,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::new(Box::new(stream), server.config.command_timeout);
    let hostname = server.config.hostname.clone();
    let guard = server.limits.acquire(remote.ip());
    // RFC 8314 §3.3: on an implicit-TLS port the handshake comes first, and everything,
    // the greeting and a refusal included, is said over TLS.
    let mut tls = None;
    if security == Security::ImplicitTls {
        let Some(config) = server.tls.clone() else {
            return;
        };
        match conn.upgrade(config, server.config.command_timeout).await {
            Ok(info) => {
                tracing::debug!(version = %info.version, cipher = %info.cipher, "TLS established");
                tls = Some(info);
            }
            Err(_) => return,
        }
    }
    let _guard = match guard {
        Ok(g) => g,
        Err(refusal) => {
            let why = match refusal {
                Refusal::Total => "too many connections",
                Refusal::PerIp => "too many connections from your address",
            };
            tracing::info!(why, "connection refused");
            conn.reply(&rep(
                codes::C421_TOO_MANY_CONNECTIONS,
                format!("{hostname} {why}, try again later"),
            ));
            conn.shutdown().await;
            return;
        }
    };
    tracing::debug!("connected");
    conn.reply(&rep(
        codes::C220_READY,
        format!("{hostname} ESMTP mailstead"),
    ));
    let relay_client = crate::relay::in_networks(remote.ip(), &server.config.relay_networks);
    let mut session = Session {
        server,
        conn,
        remote,
        state: State::default(),
        tls,
        relay_client,
    };
    loop {
        let timeout = session.server.config.command_timeout;
        let line = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop), if session.conn.buffered().is_empty() => {
                session.conn.reply(&rep(codes::C421_SHUTTING_DOWN, format!("{hostname} shutting down")));
                break;
            }
            line = session.conn.next_line(timeout) => line,
        };
        let line = match line {
            Ok(l) => l,
            Err(ReadError::Timeout) => {
                session.conn.reply(&rep(
                    codes::C421_TIMEOUT,
                    format!("{hostname} timeout, closing"),
                ));
                break;
            }
            Err(ReadError::Gone) => {
                tracing::debug!("client went away");
                return;
            }
        };
        let flow = match line {
            Line::TooLong => {
                session
                    .conn
                    .reply(&rep(codes::C500_LINE_TOO_LONG, "line too long"));
                session.bad_command()
            }
            Line::Text(bytes) => match parse_command(&bytes) {
                Ok(command) => match crate::cmd::handle(&mut session, command).await {
                    Ok(flow) => flow,
                    Err(End::Gone) => return,
                    Err(End::Closed) => break,
                },
                Err(e) => {
                    session.conn.reply(&e.reply());
                    session.bad_command()
                }
            },
        };
        if let Flow::Close = flow {
            break;
        }
    }
    session.conn.shutdown().await;
}
