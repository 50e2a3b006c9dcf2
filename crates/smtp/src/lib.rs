//! The SMTP server of mailstead, in two roles:
//!
//! - **MX** ([`Role::Mx`], port 25): receives mail for local domains from other servers.
//!   Local recipients get it in their INBOX; external destinations of aliases are
//!   forwarded through the queue (with SRS); bounces to our SRS addresses are sent on to
//!   the original sender. No authentication.
//! - **Submission** ([`Role::Submission`], RFC 6409: port 587 with STARTTLS, and RFC 8314
//!   port 465 with implicit TLS, [`Security::ImplicitTls`]): the account's own mail
//!   clients. AUTH (PLAIN, LOGIN) only over TLS, sender ownership enforced on MAIL FROM
//!   and `From:`, `Date:` and `Message-ID:` added when missing (RFC 6409 §8.1, §8.3),
//!   DKIM-signed, local recipients delivered at once and remote ones queued.
//!
//! Either way the end of DATA/BDAT hands the message to [`mailstead_queue::Queue::accept`],
//! which stores, queues and notifies in one transaction.
//!
//! RFCs: 5321 (SMTP; §4.1 commands, §4.4 trace headers, §4.5.3 limits and timeouts),
//! 6409 (message submission; §4.3 no relaying without authorization, §8 message fixes),
//! 4954 (AUTH; §4 exchange and cancel, §6 reply codes), 4616 (PLAIN),
//! draft-murchison-sasl-login (LOGIN), 8314 (implicit TLS for submission), 3848 (`with
//! ESMTPSA` in Received), 1870 (SIZE), 2920 (PIPELINING: replies are batched until the
//! client waits), 3030 (CHUNKING/BDAT), 3207 (STARTTLS; buffered plaintext is discarded
//! and the session state reset after the handshake, authentication included), 2034 + 3463
//! (enhanced status codes on every reply), 3461 (DSN parameters kept for the queue), 6152
//! (8BITMIME), 6531 (SMTPUTF8), 8689 (REQUIRETLS: advertised and accepted on TLS sessions
//! only, and kept with the queued message).
//!
//! Module map: `session` (connection loop, implicit TLS, line and data reading, reply
//! batching), `state` (transaction state), `cmd/` (one file per command family: `auth`,
//! `mail`, `rcpt`, `data`, ...), `deliver` (trace headers, the hand-over to the queue),
//! `submit` (what submission does to a message: From ownership, Date, Message-ID, DKIM),
//! `ratelimit` (messages per account per hour), `relay` (relay networks), `limits`
//! (connection counting).
//!
//! Invariants:
//! 1. `250` to DATA/BDAT LAST only after the blob is durable and every local copy and
//!    queued copy is committed (by `Queue::accept`); any failure before gives `451` and
//!    nothing is acknowledged.
//! 2. No open relay: on the MX, a recipient in a domain that is not local is refused with
//!    `554 5.7.1` (except a valid SRS address of ours, whose bounce is sent on); on
//!    submission, MAIL needs a successful AUTH or a client in `relay_networks`.
//! 3. AUTH is neither offered nor accepted without TLS (unless on loopback when
//!    `plaintext_auth_on_loopback`); failed logins are throttled by a
//!    [`mailstead_directory::LoginLimiter`]; credentials are never logged.
//! 4. An authenticated sender may only use addresses it owns in MAIL FROM and `From:`
//!    ([`mailstead_directory::Directory::may_send_as`]) unless its account may spoof.
//! 5. Every read has a timeout and every line and message a size limit; nothing a client
//!    sends can panic the server (panics would end one session only and are counted).
//! 6. A client that disconnects before the end of DATA leaves nothing stored.

mod cmd;
mod deliver;
mod limits;
mod ratelimit;
mod relay;
mod session;
mod state;
mod submit;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mailstead_directory::{Directory, LoginLimiter, LoginLimits};
use mailstead_queue::Queue;
use mailstead_spam::Filter;
use mailstead_store::Stores;
use mailstead_store::model::GreylistPolicy;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

pub use limits::ConnectionLimits;

/// What a listener is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Mail from other servers for local domains (port 25): no AUTH, no relaying.
    Mx,
    /// Mail from the users' own clients (ports 587 and 465, RFC 6409): AUTH required
    /// (or a relay network), any destination.
    Submission,
}

/// How a listener starts its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Cleartext greeting, STARTTLS offered when a certificate is configured (25, 587).
    StartTls,
    /// TLS from the first byte, greeting after the handshake (465, RFC 8314 §3.3).
    ImplicitTls,
}

/// Limits and identity of the SMTP listener.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Our host name: greeting, EHLO reply, `Received: by`, `Message-ID` right side.
    pub hostname: String,
    /// MX or submission.
    pub role: Role,
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
    /// Submission: offer and accept AUTH without TLS on loopback connections.
    pub plaintext_auth_on_loopback: bool,
    /// Submission: networks (address, prefix length) whose clients may send without AUTH,
    /// with no sender ownership check (Postfix `mynetworks`, Mailu `RELAYNETS`).
    pub relay_networks: Vec<(IpAddr, u8)>,
    /// Submission: messages one account may send per hour (sliding window); 0: unlimited.
    pub send_rate_per_hour: u32,
    /// Submission: failed-login throttling.
    pub login_limits: LoginLimits,
    /// MX: messages one client IP may have accepted per hour (sliding window); 0:
    /// unlimited.
    pub max_messages_per_ip_per_hour: u32,
    /// MX: greylisting (RFC 6647) of (client network, sender, recipient) triplets; `None`:
    /// off.
    pub greylist: Option<GreylistPolicy>,
    /// Greylist loopback clients too (tests); off in production, where loopback is a
    /// local program.
    pub greylist_loopback: bool,
}

impl SmtpConfig {
    /// Defaults suitable for tests: small, fast, MX role, no plaintext AUTH on loopback.
    pub fn for_tests(hostname: &str) -> Self {
        SmtpConfig {
            hostname: hostname.to_string(),
            role: Role::Mx,
            max_message_size: 10 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 100,
            max_connections_per_ip: 50,
            command_timeout: Duration::from_secs(30),
            data_timeout: Duration::from_secs(30),
            max_bad_commands: 10,
            plaintext_auth_on_loopback: false,
            relay_networks: Vec::new(),
            send_rate_per_hour: 0,
            login_limits: LoginLimits {
                failure_delay: Duration::from_millis(50),
                ..LoginLimits::default()
            },
            max_messages_per_ip_per_hour: 0,
            greylist: None,
            greylist_loopback: false,
        }
    }
}

/// Everything a session needs, shared by all sessions of a listener.
pub struct SmtpServer {
    config: SmtpConfig,
    directory: Directory,
    stores: Stores,
    tls: Option<Arc<rustls::ServerConfig>>,
    queue: Arc<Queue>,
    limits: ConnectionLimits,
    logins: LoginLimiter,
    send_rate: ratelimit::SendRate,
    ip_rate: ratelimit::SendRate<IpAddr>,
    filter: Option<Arc<Filter>>,
    panics: AtomicU64,
    delivered: AtomicU64,
}

impl SmtpServer {
    /// A server over these stores; `tls` enables STARTTLS (and implicit-TLS listeners);
    /// accepted messages go to `queue`.
    pub fn new(
        config: SmtpConfig,
        stores: Stores,
        tls: Option<Arc<rustls::ServerConfig>>,
        queue: Arc<Queue>,
    ) -> Arc<Self> {
        Self::with_filter(config, stores, tls, queue, None)
    }

    /// As [`SmtpServer::new`], with a filter that judges incoming mail (MX role:
    /// authentication, spam scoring, Junk filing).
    pub fn with_filter(
        config: SmtpConfig,
        stores: Stores,
        tls: Option<Arc<rustls::ServerConfig>>,
        queue: Arc<Queue>,
        filter: Option<Arc<Filter>>,
    ) -> Arc<Self> {
        let limits = ConnectionLimits::new(config.max_connections, config.max_connections_per_ip);
        Arc::new(SmtpServer {
            directory: Directory::new(stores.meta.clone()),
            logins: LoginLimiter::new(config.login_limits.clone()),
            send_rate: ratelimit::SendRate::new(config.send_rate_per_hour),
            ip_rate: ratelimit::SendRate::new(config.max_messages_per_ip_per_hour),
            filter,
            config,
            stores,
            tls,
            queue,
            limits,
            panics: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
        })
    }

    /// The settings.
    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// Session tasks that panicked (tests assert it stays zero).
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// SMTP sessions open now.
    pub fn open_sessions(&self) -> u32 {
        self.limits.open()
    }

    /// Messages accepted (acknowledged with 250) since start.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Accepts connections until `shutdown` turns true; each connection runs in its own
    /// task. Returns when the listener stops accepting; sessions still running keep going
    /// and are told `421` at their next command. With [`Security::ImplicitTls`] and no
    /// certificate, connections are closed at once.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        security: Security,
        mut shutdown: watch::Receiver<bool>,
    ) {
        if security == Security::ImplicitTls && self.tls.is_none() {
            tracing::error!("implicit-TLS SMTP listener without a certificate");
        }
        let proto = match (self.config.role, security) {
            (Role::Mx, _) => "smtp",
            (Role::Submission, Security::StartTls) => "submission",
            (Role::Submission, Security::ImplicitTls) => "submissions",
        };
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
            let span = tracing::info_span!("smtp", cid = next_id, proto, remote_ip = %remote.ip());
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
