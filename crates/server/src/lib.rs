//! The mailstead process: everything between the binary and the protocol crates.
//!
//! - [`bootstrap`]: first run — default config file, data directory, self-signed
//!   certificate, initial admin account (password printed once).
//! - [`tls`]: certificate generation (rcgen) and loading into a rustls `ServerConfig`
//!   (aws-lc-rs provider).
//! - [`http`]: the HTTP listener: `/health/live`, `/health/ready`.
//! - SMTP (`mailstead-smtp`: MX and submission) and IMAP (`mailstead-imap`) listeners,
//!   and the outbound queue worker (`mailstead-queue`), wired by [`run`].
//! - [`run`]: serves on already-bound [`Listeners`] until a shutdown future resolves, then
//!   stops accepting and gives open connections `shutdown_grace_secs` to finish.
//!
//! Invariants: listeners are bound by the caller (tests bind `127.0.0.1:0`); no global
//! state; nothing caches directory data, so admin commands run by another process are
//! seen at once; shutdown is bounded.

pub mod bootstrap;
pub mod http;
pub mod learn;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use mailstead_config::{BlobBackend as CfgBlob, Config, StoreBackend};
use mailstead_store::{BlobBackend, MetaBackend, Stores};
use tokio::net::TcpListener;

/// The sockets the server serves on, bound before [`run`] so that callers (and tests) can
/// learn the real ports.
pub struct Listeners {
    /// HTTP (health, later admin UI/API).
    pub http: Vec<TcpListener>,
    /// SMTP (MX).
    pub smtp: Vec<TcpListener>,
    /// IMAP, cleartext with STARTTLS.
    pub imap: Vec<TcpListener>,
    /// IMAP with implicit TLS.
    pub imaps: Vec<TcpListener>,
    /// Submission with STARTTLS (RFC 6409).
    pub submission: Vec<TcpListener>,
    /// Submission with implicit TLS (RFC 8314).
    pub submissions: Vec<TcpListener>,
}

async fn bind_all(addrs: &[SocketAddr], setting: &str) -> anyhow::Result<Vec<TcpListener>> {
    let mut out = Vec::new();
    for addr in addrs {
        out.push(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} ({setting})"))?,
        );
    }
    Ok(out)
}

impl Listeners {
    /// Binds every listener address of the config. Fails naming the address that could not
    /// be bound.
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        Ok(Listeners {
            http: bind_all(&config.http.listen, "http.listen").await?,
            smtp: bind_all(&config.smtp.listen, "smtp.listen").await?,
            imap: bind_all(&config.imap.listen, "imap.listen").await?,
            imaps: bind_all(&config.imap.tls_listen, "imap.tls_listen").await?,
            submission: bind_all(&config.submission.listen, "submission.listen").await?,
            submissions: bind_all(&config.submission.tls_listen, "submission.tls_listen").await?,
        })
    }

    /// `(protocol, address)` of every bound socket, for the start-up banner.
    pub fn describe(&self) -> Vec<(&'static str, SocketAddr)> {
        let named = |proto: &'static str, ls: &[TcpListener]| {
            ls.iter()
                .filter_map(|l| l.local_addr().ok())
                .map(move |a| (proto, a))
                .collect::<Vec<_>>()
        };
        let mut out = named("smtp", &self.smtp);
        out.extend(named("imap", &self.imap));
        out.extend(named("imaps", &self.imaps));
        out.extend(named("submission", &self.submission));
        out.extend(named("submissions", &self.submissions));
        out.extend(named("http", &self.http));
        out
    }
}

/// The store backends the config asks for.
pub fn store_backends(config: &Config) -> (MetaBackend, BlobBackend) {
    let meta = match config.store.backend {
        StoreBackend::Sqlite => MetaBackend::Sqlite {
            path: config.sqlite_path(),
            readers: config.store.sqlite_readers,
        },
        StoreBackend::Postgres => MetaBackend::Postgres {
            url: config.store.postgres_url.clone().unwrap_or_default(),
            password: config.postgres_password().cloned(),
            pool_size: config.store.postgres_pool_size,
        },
    };
    let blobs = match config.blobs.backend {
        CfgBlob::Fs => BlobBackend::Fs {
            path: config.blob_path(),
        },
        CfgBlob::Postgres => BlobBackend::Postgres,
    };
    (meta, blobs)
}

/// Opens (creating and migrating) the configured stores.
pub async fn open_stores(config: &Config) -> anyhow::Result<Stores> {
    let (meta, blobs) = store_backends(config);
    if let MetaBackend::Sqlite { path, .. } = &meta
        && let Some(dir) = path.parent()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    mailstead_store::open(&meta, &blobs)
        .await
        .context("cannot open the store")
}

/// Opens only the metadata store (admin commands): never the blob store, whose opening
/// clears the running server's half-written blobs.
pub async fn open_meta_store(
    config: &Config,
) -> anyhow::Result<std::sync::Arc<dyn mailstead_store::MetaStore>> {
    let (meta, _) = store_backends(config);
    if let MetaBackend::Sqlite { path, .. } = &meta
        && let Some(dir) = path.parent()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    mailstead_store::open_meta(&meta)
        .await
        .context("cannot open the store")
}

/// The schema version a fully migrated database of the configured backend has.
pub fn expected_schema_version(config: &Config) -> i64 {
    match config.store.backend {
        StoreBackend::Sqlite => mailstead_store::LATEST_SQLITE_VERSION,
        StoreBackend::Postgres => mailstead_store::LATEST_POSTGRES_VERSION,
    }
}

fn login_limits(config: &Config) -> mailstead_directory::LoginLimits {
    let a = &config.auth;
    mailstead_directory::LoginLimits {
        failure_delay: Duration::from_millis(a.failure_delay_ms),
        max_failures_per_ip: a.max_failures_per_ip,
        slow_account_after: a.slow_account_after,
        account_delay: Duration::from_millis(a.account_delay_ms),
        window: Duration::from_secs(a.window_secs),
    }
}

/// The SMTP settings of the config in the form the SMTP crate takes (the MX listener).
pub fn smtp_config(config: &Config) -> mailstead_smtp::SmtpConfig {
    let s = &config.smtp;
    mailstead_smtp::SmtpConfig {
        hostname: config.server.hostname.clone(),
        role: mailstead_smtp::Role::Mx,
        max_message_size: s.max_message_size_bytes,
        max_recipients: s.max_recipients as usize,
        max_connections: s.max_connections,
        max_connections_per_ip: s.max_connections_per_ip,
        command_timeout: Duration::from_secs(s.command_timeout_secs),
        data_timeout: Duration::from_secs(s.data_timeout_secs),
        max_bad_commands: s.max_bad_commands,
        plaintext_auth_on_loopback: false,
        relay_networks: Vec::new(),
        send_rate_per_hour: 0,
        login_limits: login_limits(config),
        max_messages_per_ip_per_hour: s.max_messages_per_ip_per_hour,
        greylist: greylist_policy(config),
        greylist_loopback: false,
    }
}

/// The MX filter's settings.
pub fn filter_config(config: &Config) -> mailstead_spam::FilterConfig {
    let f = &config.filter;
    let overrides: std::collections::HashMap<String, f64> =
        f.weights.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let dnsbl = mailstead_spam::dnsbl::DnsblConfig {
        ip_zones: f
            .dnsbl_ip_zones
            .iter()
            .map(|(zone, weight)| mailstead_spam::dnsbl::Zone::ip(zone, *weight))
            .collect(),
        domain_zones: f
            .dnsbl_domain_zones
            .iter()
            .map(|(zone, weight)| mailstead_spam::dnsbl::Zone::domain(zone, *weight))
            .collect(),
        max_domains: f.dnsbl_max_domains as usize,
        ..Default::default()
    };
    // Zone weights first, so an explicit `weights` entry for a zone's symbol wins.
    let weights = mailstead_spam::Weights::default()
        .with_zone_weights(dnsbl.zones())
        .with_overrides(&overrides, f.reject_score);
    mailstead_spam::FilterConfig {
        spam_enabled: f.spam_enabled,
        weights,
        reject_enabled: f.reject_enabled,
        dmarc_reject: f.dmarc_reject,
        on_temporary_failure: match f.on_temporary_failure {
            mailstead_config::TemporaryFailureAction::Accept => {
                mailstead_spam::OnTemporaryFailure::Accept
            }
            mailstead_config::TemporaryFailureAction::Defer => {
                mailstead_spam::OnTemporaryFailure::Defer
            }
        },
        dnsbl,
    }
}

/// The greylisting policy, when on.
pub fn greylist_policy(config: &Config) -> Option<mailstead_store::model::GreylistPolicy> {
    let g = &config.greylist;
    g.enabled.then_some(mailstead_store::model::GreylistPolicy {
        delay: g.delay_secs,
        retry_window: g.retry_window_secs,
        pass_lifetime: g.pass_lifetime_secs,
    })
}

/// The submission listeners' settings (timeouts and bad-command limit from `[smtp]`).
pub fn submission_config(config: &Config) -> mailstead_smtp::SmtpConfig {
    let s = &config.submission;
    mailstead_smtp::SmtpConfig {
        role: mailstead_smtp::Role::Submission,
        max_message_size: s.max_message_size_bytes,
        max_recipients: s.max_recipients as usize,
        max_connections: s.max_connections,
        max_connections_per_ip: s.max_connections_per_ip,
        plaintext_auth_on_loopback: s.plaintext_auth_on_loopback,
        relay_networks: s
            .relay_networks
            .iter()
            .filter_map(|n| mailstead_config::parse_cidr(n))
            .collect(),
        send_rate_per_hour: s.send_rate_per_hour,
        max_messages_per_ip_per_hour: 0,
        greylist: None,
        ..smtp_config(config)
    }
}

fn smarthost(
    host_port: &str,
    tls: mailstead_config::SmarthostTls,
    username: Option<String>,
    password: Option<mailstead_types::Secret<String>>,
) -> Option<mailstead_queue::Smarthost> {
    let (host, port) = mailstead_config::parse_host_port(host_port)?;
    Some(mailstead_queue::Smarthost {
        host,
        port,
        tls: match tls {
            mailstead_config::SmarthostTls::Starttls => mailstead_queue::SmarthostTls::StartTls,
            mailstead_config::SmarthostTls::Implicit => mailstead_queue::SmarthostTls::Implicit,
            mailstead_config::SmarthostTls::None => mailstead_queue::SmarthostTls::None,
        },
        username,
        password,
    })
}

/// The queue settings of the config in the form the queue crate takes. Reads the extra
/// roots file.
pub fn queue_config(config: &Config) -> anyhow::Result<mailstead_queue::QueueConfig> {
    let q = &config.queue;
    let extra_roots_pem = match &q.tls_extra_roots_file {
        Some(path) => std::fs::read(path).with_context(|| {
            format!("cannot read queue.tls_extra_roots_file {}", path.display())
        })?,
        None => Vec::new(),
    };
    Ok(mailstead_queue::QueueConfig {
        hostname: config.server.hostname.clone(),
        remote_port: q.remote_port,
        retry_initial: Duration::from_secs(q.retry_initial_secs),
        retry_max: Duration::from_secs(q.retry_max_secs),
        give_up_after: Duration::from_secs(q.give_up_after_secs),
        delay_notice_after: (q.delay_notice_after_secs > 0)
            .then(|| Duration::from_secs(q.delay_notice_after_secs)),
        connect_timeout: Duration::from_secs(q.connect_timeout_secs),
        command_timeout: Duration::from_secs(q.command_timeout_secs),
        data_timeout: Duration::from_secs(q.data_timeout_secs),
        max_concurrent: q.max_concurrent as usize,
        max_per_domain: q.max_per_domain as usize,
        max_messages_per_connection: q.max_messages_per_connection as usize,
        lease: Duration::from_secs(q.lease_secs),
        tls_required: q.tls_required,
        tls_required_domains: q
            .tls_required_domains
            .iter()
            .map(|d| d.as_str().to_owned())
            .collect(),
        smarthost: q.smarthost.as_deref().and_then(|h| {
            smarthost(
                h,
                q.smarthost_tls,
                q.smarthost_username.clone(),
                q.smarthost_password.clone(),
            )
        }),
        domain_smarthosts: q
            .domain_smarthosts
            .iter()
            .filter_map(|(d, h)| {
                Some((
                    d.to_ascii_lowercase(),
                    smarthost(h, q.smarthost_tls, None, None)?,
                ))
            })
            .collect(),
        extra_roots_pem,
        dsn_max_return_size: 1024 * 1024,
    })
}

/// The resolver the config asks for.
pub fn resolver(config: &Config) -> anyhow::Result<std::sync::Arc<dyn mailstead_dns::Resolver>> {
    let d = &config.dns;
    let resolver = mailstead_dns::HickoryResolver::new(&mailstead_dns::DnsConfig {
        nameservers: d.nameservers.clone(),
        timeout: Duration::from_secs(d.timeout_secs),
        attempts: d.attempts as usize,
    })
    .context("cannot set up the DNS resolver")?;
    Ok(std::sync::Arc::new(resolver))
}

/// The IMAP settings of the config in the form the IMAP crate takes.
pub fn imap_config(config: &Config) -> mailstead_imap::ImapConfig {
    let i = &config.imap;
    mailstead_imap::ImapConfig {
        hostname: config.server.hostname.clone(),
        max_message_size: i.max_message_size_bytes,
        max_connections: i.max_connections,
        max_connections_per_ip: i.max_connections_per_ip,
        idle_timeout: Duration::from_secs(i.idle_timeout_secs),
        login_timeout: Duration::from_secs(i.login_timeout_secs),
        plaintext_auth_on_loopback: i.plaintext_auth_on_loopback,
        max_bad_commands: i.max_bad_commands,
        login_limits: login_limits(config),
    }
}

/// Serves until `shutdown` resolves; then stops accepting and waits at most
/// `server.shutdown_grace_secs` for open connections before returning.
///
/// `tls` is the certificate for STARTTLS (None: STARTTLS is not offered).
pub async fn run(
    config: Config,
    stores: Stores,
    listeners: Listeners,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    if tls.is_none() && !listeners.imaps.is_empty() {
        anyhow::bail!("imap.tls_listen needs a TLS certificate");
    }
    if tls.is_none() && !listeners.submissions.is_empty() {
        anyhow::bail!("submission.tls_listen needs a TLS certificate");
    }
    let dns = resolver(&config)?;
    let queue = mailstead_queue::Queue::new(queue_config(&config)?, stores.clone(), dns.clone())
        .await
        .context("cannot start the outbound queue")?;
    let queue_task = tokio::spawn(queue.clone().run(stop_rx.clone()));
    let filter = std::sync::Arc::new(mailstead_spam::Filter::new(
        filter_config(&config),
        dns,
        stores.meta.clone(),
    ));
    let smtp = mailstead_smtp::SmtpServer::with_filter(
        smtp_config(&config),
        stores.clone(),
        tls.clone(),
        queue.clone(),
        Some(filter.clone()),
    );
    let submission = mailstead_smtp::SmtpServer::new(
        submission_config(&config),
        stores.clone(),
        tls.clone(),
        queue.clone(),
    );
    let mut accept_tasks = tokio::task::JoinSet::new();
    for listener in listeners.smtp {
        accept_tasks.spawn(smtp.clone().serve(
            listener,
            mailstead_smtp::Security::StartTls,
            stop_rx.clone(),
        ));
    }
    for listener in listeners.submission {
        accept_tasks.spawn(submission.clone().serve(
            listener,
            mailstead_smtp::Security::StartTls,
            stop_rx.clone(),
        ));
    }
    for listener in listeners.submissions {
        accept_tasks.spawn(submission.clone().serve(
            listener,
            mailstead_smtp::Security::ImplicitTls,
            stop_rx.clone(),
        ));
    }
    let learner: Option<std::sync::Arc<dyn mailstead_imap::JunkLearner>> =
        if config.filter.learn_from_imap {
            Some(std::sync::Arc::new(learn::ImapLearner::new(
                filter.clone(),
                stores.blobs.clone(),
            )))
        } else {
            None
        };
    let imap = mailstead_imap::ImapServer::with_learner(
        imap_config(&config),
        stores.clone(),
        tls,
        learner,
    );
    for listener in listeners.imap {
        accept_tasks.spawn(imap.clone().serve(
            listener,
            mailstead_imap::Security::StartTls,
            stop_rx.clone(),
        ));
    }
    for listener in listeners.imaps {
        accept_tasks.spawn(imap.clone().serve(
            listener,
            mailstead_imap::Security::ImplicitTls,
            stop_rx.clone(),
        ));
    }
    let state = http::HttpState {
        meta: stores.meta.clone(),
        expected_schema_version: expected_schema_version(&config),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners.http {
        let mut rx = stop_rx.clone();
        let app = http::router(state.clone());
        tasks.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
        });
    }
    shutdown.await;
    tracing::info!("shutting down: no new connections");
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async {
        while accept_tasks.join_next().await.is_some() {}
        // Sessions get 421 at their next command; one in the middle of a message finishes it.
        while smtp.open_sessions() > 0 || submission.open_sessions() > 0 || imap.open_sessions() > 0
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while let Some(res) = tasks.join_next().await {
            match res {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "listener ended with an error"),
                Err(e) => tracing::warn!(error = %e, "listener task failed"),
            }
        }
    })
    .await;
    // The queue worker finishes the deliveries in flight and records them.
    if tokio::time::timeout(grace, queue_task).await.is_err() {
        tracing::warn!("outbound deliveries still running after the grace period");
    }
    if drained.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "sessions still open after the grace period; closing them"
        );
        tasks.abort_all();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // Without a SIGTERM handler only Ctrl-C stops us; say so rather than fail.
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}
