//! The SMTP server of mailstead in the MX role: receives mail for local domains from other
//! servers and delivers it durably into the INBOX of every recipient.
//!
//! RFCs: 5321 (SMTP; §4.1 commands, §4.4 trace headers, §4.5.3 limits and timeouts),
//! 1870 (SIZE), 2920 (PIPELINING: replies are batched until the client waits), 3030
//! (CHUNKING/BDAT), 3207 (STARTTLS; buffered plaintext is discarded and the session state
//! reset after the handshake), 2034 + 3463 (enhanced status codes on every reply), 3461 (DSN
//! parameters accepted), 6152 (8BITMIME), 6531 (SMTPUTF8).
//!
//! Module map: `session` (connection loop, line and data reading, reply batching), `state`
//! (transaction state), `cmd/` (one file per command family), `deliver` (headers, blob,
//! metadata), `limits` (connection counting), `error`.
//!
//! Invariants:
//! 1. `250` to DATA/BDAT LAST only after the blob is durable and every recipient's message
//!    row is committed; any failure before that gives `451` and nothing is acknowledged.
//! 2. No open relay: a recipient in a domain that is not local is refused with `554 5.7.1`;
//!    there is no authentication on this listener.
//! 3. Every read has a timeout and every line and message a size limit; nothing a client
//!    sends can panic the server (panics would end one session only and are counted).
//! 4. A client that disconnects before the end of DATA leaves nothing stored.

mod cmd;
mod deliver;
mod limits;
mod session;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mailstead_directory::Directory;
use mailstead_store::Stores;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

pub use limits::ConnectionLimits;

/// Limits and identity of the SMTP listener.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Our host name: greeting, EHLO reply, `Received: by`.
    pub hostname: String,
    /// Largest message in octets (SIZE).
    pub max_message_size: u64,
    /// Most recipients per transaction.
    pub max_recipients: usize,
    /// Most connections at once.
    pub max_connections: u32,
    /// Most connections at once from one IP.
    pub max_connections_per_ip: u32,
    /// Wait for a command line.
    pub command_timeout: Duration,
    /// Wait for each block of message data.
    pub data_timeout: Duration,
    /// Rejected commands before `421` and close.
    pub max_bad_commands: u32,
}

impl SmtpConfig {
    /// Defaults suitable for tests: small, fast.
    pub fn for_tests(hostname: &str) -> Self {
        SmtpConfig {
            hostname: hostname.to_string(),
            max_message_size: 10 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 100,
            max_connections_per_ip: 50,
            command_timeout: Duration::from_secs(30),
            data_timeout: Duration::from_secs(30),
            max_bad_commands: 10,
        }
    }
}

/// Everything a session needs, shared by all sessions of a listener.
pub struct SmtpServer {
    config: SmtpConfig,
    directory: Directory,
    stores: Stores,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnectionLimits,
    panics: AtomicU64,
    delivered: AtomicU64,
}

impl SmtpServer {
    /// A server over these stores; `tls` enables STARTTLS.
    pub fn new(
        config: SmtpConfig,
        stores: Stores,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Arc<Self> {
        let limits = ConnectionLimits::new(config.max_connections, config.max_connections_per_ip);
        Arc::new(SmtpServer {
            directory: Directory::new(stores.meta.clone()),
            config,
            stores,
            tls,
            limits,
            panics: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
        })
    }

    /// Session tasks that panicked (tests assert it stays zero).
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// SMTP sessions open now.
    pub fn open_sessions(&self) -> u32 {
        self.limits.open()
    }

    /// Messages delivered (acknowledged with 250) since start.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Accepts connections until `shutdown` turns true; each connection runs in its own
    /// task. Returns when the listener stops accepting; sessions still running keep going
    /// and are told `421` at their next command.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut next_id: u64 = rand::random::<u32>().into();
        loop {
            let accepted = tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                a = listener.accept() => a,
            };
            let (stream, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "smtp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            next_id += 1;
            let server = self.clone();
            let shutdown = shutdown.clone();
            let span = tracing::info_span!("smtp", cid = next_id, proto = "smtp", remote_ip = %remote.ip());
            tokio::spawn(
                async move {
                    let inner = server.clone();
                    let task = tokio::spawn(
                        async move { session::run(inner, stream, remote, shutdown).await }
                            .in_current_span(),
                    );
                    if let Err(e) = task.await
                        && e.is_panic()
                    {
                        server.panics.fetch_add(1, Ordering::Relaxed);
                        tracing::error!("smtp session panicked; connection closed");
                    }
                }
                .instrument(span),
            );
        }
    }

    /// The local address of a bound listener, for banners.
    pub fn describe(listener: &TcpListener) -> Option<SocketAddr> {
        listener.local_addr().ok()
    }
}
