//! The IMAP server of mailstead: IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) over the
//! store, for every client (Thunderbird, Apple Mail, Outlook, K-9, mutt, mbsync, ...).
//!
//! RFCs: 3501, 9051 (`ENABLE IMAP4rev2` switches: no `\Recent`/RECENT, ESEARCH answers to
//! SEARCH, UTF-8 mailbox names), 2177 IDLE, 4315 UIDPLUS, 6851 MOVE, 6154 SPECIAL-USE and
//! CREATE-SPECIAL-USE, 5258 LIST-EXTENDED, 5819 LIST-STATUS, 2342 NAMESPACE, 5161 ENABLE,
//! 4959 SASL-IR, 2971 ID, 3691 UNSELECT, 3348 CHILDREN, 4731 ESEARCH, 5182 SEARCHRES,
//! 7162 CONDSTORE and QRESYNC, 9208 QUOTA (STORAGE), 7889 APPENDLIMIT, 8438 STATUS=SIZE,
//! 3516 BINARY, 3502 MULTIAPPEND, 7888 LITERAL+, 2595/8314 STARTTLS and implicit TLS,
//! 4616 SASL PLAIN, 5530 response codes.
//!
//! Module map: `conn` (buffered stream, TLS upgrade), `session` (connection loop, command
//! framing with literal limits, dispatch, IDLE), `selected` (the selected mailbox: the
//! sequence-number map and the sync that turns the store's change log into untagged
//! EXISTS/EXPUNGE/VANISHED/FETCH), `mailbox` (names, LIST, CREATE/DELETE/RENAME, STATUS),
//! `auth` (LOGIN, AUTHENTICATE), `fetch`, `search`, `store_cmd` (STORE), `copy` (COPY,
//! MOVE), `append`, `set` (sequence sets).
//!
//! Invariants:
//! 1. `OK` to APPEND/COPY/MOVE only after the blob is durable and the rows committed.
//! 2. Sessions on one mailbox see each other's changes at their next command (and at once
//!    in IDLE, woken by the store's notifier): never an EXPUNGE during a non-UID FETCH,
//!    STORE or SEARCH (RFC 9051 §7.5.1); a sequence number always names the same message
//!    until the client has been told otherwise.
//! 3. No command reads more than the limits allow: a literal over the limit is refused
//!    before it is read; every read has a timeout.
//! 4. Nothing a client sends panics the server (panics would end one session and are
//!    counted by [`ImapServer::panics`]).
//! 5. LOGIN and AUTHENTICATE are refused on a cleartext connection from a non-loopback
//!    address (LOGINDISABLED) until STARTTLS.

mod append;
mod auth;
mod conn;
mod copy;
mod fetch;
mod mailbox;
mod search;
mod selected;
mod session;
mod set;
mod store_cmd;
mod uidmap;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mailstead_directory::{Directory, LoginLimiter, LoginLimits};
use mailstead_smtp::ConnectionLimits;
use mailstead_store::Stores;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

/// Settings of the IMAP listeners.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// Our host name (greeting).
    pub hostname: String,
    /// Largest message APPEND takes (APPENDLIMIT), octets.
    pub max_message_size: u64,
    /// Most connections at once.
    pub max_connections: u32,
    /// Most connections at once from one IP.
    pub max_connections_per_ip: u32,
    /// Autologout of an authenticated session that sends nothing (RFC 9051 §5.4: at least
    /// 30 minutes; IDLE is renewed by clients before that).
    pub idle_timeout: Duration,
    /// Autologout before authentication.
    pub login_timeout: Duration,
    /// Let LOGIN/AUTHENTICATE run without TLS on loopback connections.
    pub plaintext_auth_on_loopback: bool,
    /// Rejected commands in a row before `BYE`.
    pub max_bad_commands: u32,
    /// Failed-login throttling.
    pub login_limits: LoginLimits,
}

impl ImapConfig {
    /// Small, fast settings for tests.
    pub fn for_tests(hostname: &str) -> Self {
        ImapConfig {
            hostname: hostname.to_string(),
            max_message_size: 10 * 1024 * 1024,
            max_connections: 1000,
            max_connections_per_ip: 1000,
            idle_timeout: Duration::from_secs(1800),
            login_timeout: Duration::from_secs(60),
            plaintext_auth_on_loopback: true,
            max_bad_commands: 20,
            login_limits: LoginLimits {
                failure_delay: Duration::from_millis(50),
                ..LoginLimits::default()
            },
        }
    }
}

/// How a listener starts its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Cleartext, STARTTLS offered (port 143).
    StartTls,
    /// TLS from the first byte (port 993, RFC 8314).
    ImplicitTls,
}

/// Everything a session needs, shared by all sessions.
/// Told when a user files messages as spam (COPY/MOVE into the `\Junk` mailbox) or as
/// not spam (out of Junk into any mailbox but Trash): the classifier learns from it.
/// Called after the command's reply, off the session's path.
#[async_trait::async_trait]
pub trait JunkLearner: Send + Sync + 'static {
    /// `account` says the message stored as `blob` is spam (`true`) or ham (`false`).
    async fn learn(
        &self,
        account: mailstead_types::AccountId,
        blob: mailstead_types::BlobId,
        spam: bool,
    );
}

/// The IMAP server.
pub struct ImapServer {
    learner: Option<Arc<dyn JunkLearner>>,
    config: ImapConfig,
    directory: Directory,
    stores: Stores,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnectionLimits,
    logins: LoginLimiter,
    panics: AtomicU64,
}

impl ImapServer {
    /// A server over these stores; `tls` enables STARTTLS and implicit-TLS listeners.
    pub fn new(
        config: ImapConfig,
        stores: Stores,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Arc<Self> {
        Self::with_learner(config, stores, tls, None)
    }

    /// As [`ImapServer::new`], telling `learner` when users move mail into or out of Junk.
    pub fn with_learner(
        config: ImapConfig,
        stores: Stores,
        tls: Option<Arc<rustls::ServerConfig>>,
        learner: Option<Arc<dyn JunkLearner>>,
    ) -> Arc<Self> {
        let limits = ConnectionLimits::new(config.max_connections, config.max_connections_per_ip);
        Arc::new(ImapServer {
            learner,
            directory: Directory::new(stores.meta.clone()),
            logins: LoginLimiter::new(config.login_limits.clone()),
            config,
            stores,
            tls,
            limits,
            panics: AtomicU64::new(0),
        })
    }

    /// Session tasks that panicked (tests assert it stays zero).
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// IMAP sessions open now.
    pub fn open_sessions(&self) -> u32 {
        self.limits.open()
    }

    /// Accepts connections until `shutdown` turns true; each runs in its own task.
    /// Sessions still open then get `* BYE` at their next command or while idling.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        security: Security,
        shutdown: watch::Receiver<bool>,
    ) {
        let mut next_id: u64 = rand::random::<u32>().into();
        let mut stop = shutdown.clone();
        loop {
            let accepted = tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                a = listener.accept() => a,
            };
            let (stream, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "imap accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            next_id += 1;
            let server = self.clone();
            let shutdown = shutdown.clone();
            let span = tracing::info_span!("imap", cid = next_id, proto = "imap", remote_ip = %remote.ip());
            tokio::spawn(
                async move {
                    let inner = server.clone();
                    let task = tokio::spawn(
                        async move { session::run(inner, stream, remote, security, shutdown).await }
                            .in_current_span(),
                    );
                    if let Err(e) = task.await
                        && e.is_panic()
                    {
                        server.panics.fetch_add(1, Ordering::Relaxed);
                        tracing::error!("imap session panicked; connection closed");
                    }
                }
                .instrument(span),
            );
        }
    }

    /// The local address of a bound listener.
    pub fn describe(listener: &TcpListener) -> Option<SocketAddr> {
        listener.local_addr().ok()
    }
}
