//! Mail flow of mailstead: what happens to a message once a session has accepted it.
//!
//! - [`Queue::accept`]: the one entry point of every accepted message (MX, submission,
//!   DSNs). Local recipients get it in their INBOX, remote ones are queued, in ONE store
//!   transaction after the blob is durable ([`mailstead_store::MetaStore::accept`]).
//! - The worker ([`Queue::run`]): leases due messages, finds each recipient domain's
//!   servers (smarthost, or MX through [`mailstead_dns::Resolver`] with implicit MX and
//!   null MX, RFC 5321 §5.1, RFC 7505), delivers with the SMTP [`client`] (STARTTLS
//!   opportunistic or required, REQUIRETLS RFC 8689), retries temporary failures with
//!   exponential back-off, and reports failures, delays and requested successes as RFC
//!   3464 DSNs ([`dsn`]).
//! - [`srs`]: the Sender Rewriting Scheme for mail forwarded to other domains.
//! - DKIM signing of outgoing mail ([`Queue::dkim_sign`], keys from the store).
//!
//! Module map: `client` (SMTP client), `dsn` (reports), `srs`, `local` (local delivery),
//! `route` (where a domain's mail goes), `worker` (the delivery loop), `sign` (DKIM).
//!
//! Invariants:
//! 1. A queued message is removed only when every recipient has a final status, in the
//!    same transaction that queues the DSNs that status owes: kill -9 at any point leaves
//!    every message either still queued (and delivered again, at least once) or
//!    finished with its notifications queued.
//! 2. A message with the null reverse path never causes a DSN.
//! 3. No store transaction is held across a network exchange (design invariant 7).
//! 4. A REQUIRETLS message is only ever sent over verified TLS to a server offering
//!    REQUIRETLS; otherwise it fails (RFC 8689 §4.2.1).

pub mod client;
pub mod dsn;
mod local;
mod route;
mod sign;
pub mod srs;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mailstead_dns::Resolver;
use mailstead_store::Stores;
use mailstead_store::model::{DsnRet, NewQueuedRecipient, NotifyFlags, OriginalRecipient};
use mailstead_types::{AccountId, Secret};
use tokio::sync::watch;

pub use local::LocalRecipient;

/// A relay host used instead of MX lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smarthost {
    /// Host name (or IP literal) of the relay.
    pub host: String,
    /// Port (587 with STARTTLS, 465 with implicit TLS, 25).
    pub port: u16,
    /// TLS to the relay.
    pub tls: SmarthostTls,
    /// AUTH user name, if the relay needs a login.
    pub username: Option<String>,
    /// AUTH password.
    pub password: Option<Secret<String>>,
}

/// How to speak TLS to a smarthost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmarthostTls {
    /// STARTTLS, certificate verified (the default).
    StartTls,
    /// TLS from the first byte (port 465), certificate verified.
    Implicit,
    /// No TLS (a relay on a trusted network only).
    None,
}

/// How the queue behaves.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Our host name: EHLO, `Reporting-MTA`, `MAILER-DAEMON@`.
    pub hostname: String,
    /// The port of remote MX hosts (25; tests point it elsewhere).
    pub remote_port: u16,
    /// First retry delay after a temporary failure.
    pub retry_initial: Duration,
    /// Longest retry delay (the delay doubles up to this).
    pub retry_max: Duration,
    /// Give up (bounce) this long after the message was accepted.
    pub give_up_after: Duration,
    /// Send a delay notice when a recipient is still pending this long after acceptance
    /// (`None`: never).
    pub delay_notice_after: Option<Duration>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Command reply timeout.
    pub command_timeout: Duration,
    /// Data reply timeout.
    pub data_timeout: Duration,
    /// Deliveries running at once (all destinations).
    pub max_concurrent: usize,
    /// Connections at once to one destination domain.
    pub max_per_domain: usize,
    /// Messages sent over one connection before it is closed.
    pub max_messages_per_connection: usize,
    /// A worker's lease on a message (it is retried by anyone after that).
    pub lease: Duration,
    /// Require TLS for every remote delivery.
    pub tls_required: bool,
    /// Domains whose mail must go over TLS (lower-case).
    pub tls_required_domains: Vec<String>,
    /// Relay everything through this host instead of MX lookup.
    pub smarthost: Option<Smarthost>,
    /// Per-domain relays (lower-case domain → relay), before the global one.
    pub domain_smarthosts: HashMap<String, Smarthost>,
    /// Extra trusted roots (PEM) for verified TLS (smarthosts with a private CA).
    pub extra_roots_pem: Vec<u8>,
    /// Largest original returned whole in a DSN.
    pub dsn_max_return_size: usize,
}

impl QueueConfig {
    /// Settings for tests: short timeouts, retries after one second.
    pub fn for_tests(hostname: &str) -> Self {
        QueueConfig {
            hostname: hostname.to_string(),
            remote_port: 25,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(4),
            give_up_after: Duration::from_secs(3600),
            delay_notice_after: None,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
            data_timeout: Duration::from_secs(10),
            max_concurrent: 20,
            max_per_domain: 4,
            max_messages_per_connection: 100,
            lease: Duration::from_secs(60),
            tls_required: false,
            tls_required_domains: Vec::new(),
            smarthost: None,
            domain_smarthosts: HashMap::new(),
            extra_roots_pem: Vec::new(),
            dsn_max_return_size: 1024 * 1024,
        }
    }
}

/// Why accepting or signing failed (the session answers 451; nothing was acknowledged).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mailstead_store::StoreError),
    /// DKIM signing failed.
    #[error("DKIM: {0}")]
    Dkim(#[from] mailstead_mailauth::DkimError),
    /// The TLS client set-up failed.
    #[error(transparent)]
    Client(#[from] client::ClientError),
    /// A blocking task failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// A remote recipient handed to [`Queue::accept`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRecipient {
    /// Forward path without `<>`.
    pub address: String,
    /// `NOTIFY=`.
    pub notify: NotifyFlags,
    /// `ORCPT=`.
    pub original_recipient: Option<OriginalRecipient>,
}

impl From<&RemoteRecipient> for NewQueuedRecipient {
    fn from(r: &RemoteRecipient) -> Self {
        NewQueuedRecipient {
            address: r.address.clone(),
            original_recipient: r.original_recipient.clone(),
            notify: r.notify,
        }
    }
}

/// A message a session accepted, with where it goes.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The complete message as it is to be stored and sent (trace headers and DKIM
    /// signatures already prepended).
    pub message: Vec<u8>,
    /// Reverse path without `<>`, `""` for the null sender.
    pub mail_from: String,
    /// `ENVID=`, decoded.
    pub envid: Option<String>,
    /// `RET=`.
    pub ret: Option<DsnRet>,
    /// `BODY=8BITMIME` was given (or the message has 8-bit octets).
    pub body_8bit: bool,
    /// `SMTPUTF8` was given.
    pub smtputf8: bool,
    /// `REQUIRETLS` was given.
    pub requiretls: bool,
    /// The authenticated account that submitted it (submission only).
    pub submitter: Option<AccountId>,
    /// Local recipients.
    pub local: Vec<LocalRecipient>,
    /// The `Return-Path:` field (with CRLF) that local copies begin with (RFC 5321 §4.4:
    /// added at final delivery; never sent on to other servers).
    pub return_path: Option<String>,
    /// How an account's copy differs from `message` (spam verdict fields in front, filed
    /// in Junk, marked read). Accounts not named get `message` in their INBOX.
    pub local_copies: HashMap<AccountId, LocalCopy>,
    /// Remote recipients, sent with `mail_from` as it is.
    pub remote: Vec<RemoteRecipient>,
    /// Forwarded recipients (external alias destinations): sent with the reverse path
    /// rewritten by SRS, as a separate queued message.
    pub forwarded: Vec<RemoteRecipient>,
}

/// How one account's copy of an incoming message is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalCopy {
    /// Header fields (each ending in CRLF) put in front of the message, after
    /// `Return-Path`: e.g. `X-Spam-Status` with this account's threshold.
    pub headers: String,
    /// File it in the account's Junk mailbox (special use `\Junk`) instead of INBOX.
    pub junk: bool,
    /// Store it with `\Seen`.
    pub seen: bool,
}

/// What [`Queue::accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The id for logs and the `250` reply.
    pub id: String,
    /// Local copies stored.
    pub delivered: usize,
    /// Queued recipients (remote and forwarded).
    pub queued: usize,
}

/// The mail flow: accepting, queueing, delivering.
pub struct Queue {
    config: QueueConfig,
    stores: Stores,
    resolver: Arc<dyn Resolver>,
    client: client::ClientConfig,
    srs: srs::Srs,
    signers: sign::SignerCache,
    worker: worker::WorkerState,
}

/// Name of the SRS key in the store's secrets.
const SRS_SECRET: &str = "srs-key";

impl Queue {
    /// The queue over these stores. Loads (or creates, once for all nodes) the SRS key.
    pub async fn new(
        config: QueueConfig,
        stores: Stores,
        resolver: Arc<dyn Resolver>,
    ) -> Result<Arc<Queue>, QueueError> {
        let candidate: [u8; 32] = rand::random();
        let key = stores.meta.ensure_secret(SRS_SECRET, &candidate).await?;
        let srs = srs::Srs::new(&key, &config.hostname, 21);
        let client = client::ClientConfig::new(&config.hostname, &config.extra_roots_pem)?;
        let client = client::ClientConfig {
            connect_timeout: config.connect_timeout,
            command_timeout: config.command_timeout,
            data_timeout: config.data_timeout,
            ..client
        };
        Ok(Arc::new(Queue {
            worker: worker::WorkerState::new(&config),
            config,
            stores,
            resolver,
            client,
            srs,
            signers: sign::SignerCache::default(),
        }))
    }

    /// The settings.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// The stores.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The SRS rewriter (the MX reverses SRS recipients with it).
    pub fn srs(&self) -> &srs::Srs {
        &self.srs
    }

    /// Accepts a message: the blob is written (and the IMAP index computed) first, then
    /// the local copies, the success DSNs they owe and the queued copies are committed
    /// in one transaction. Returns only once all of it is durable.
    pub async fn accept(&self, incoming: Incoming) -> Result<Accepted, QueueError> {
        local::accept(self, incoming).await
    }

    /// The `DKIM-Signature` header fields for a message from `domain`, signed with every
    /// active key of that domain (empty when the domain is not ours or has no key).
    pub async fn dkim_sign(&self, domain: &str, message: &[u8]) -> Result<Vec<u8>, QueueError> {
        sign::sign(self, domain, message).await
    }

    /// Runs the delivery worker until `shutdown` turns true; deliveries in flight finish
    /// (their results are recorded) before it returns.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        worker::run(self, shutdown).await
    }
}
