//! The mailstead process: everything between the binary and the protocol crates.
//!
//! - [`bootstrap`]: first run — default config file, data directory, self-signed
//!   certificate, initial admin account (password printed once).
//! - [`tls`]: certificate generation (rcgen) and loading into a rustls `ServerConfig`
//!   (aws-lc-rs provider).
//! - [`http`]: the HTTP listener: `/health/live`, `/health/ready`.
//! - SMTP (`mailstead-smtp`) and IMAP (`mailstead-imap`) listeners, wired by [`run`].
//! - [`run`]: serves on already-bound [`Listeners`] until a shutdown future resolves, then
//!   stops accepting and gives open connections `shutdown_grace_secs` to finish.
//!
//! Invariants: listeners are bound by the caller (tests bind `127.0.0.1:0`); no global
//! state; nothing caches directory data, so admin commands run by another process are
//! seen at once; shutdown is bounded.

pub mod bootstrap;
pub mod http;
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

/// The SMTP settings of the config in the form the SMTP crate takes.
pub fn smtp_config(config: &Config) -> mailstead_smtp::SmtpConfig {
    let s = &config.smtp;
    mailstead_smtp::SmtpConfig {
        hostname: config.server.hostname.clone(),
        max_message_size: s.max_message_size_bytes,
        max_recipients: s.max_recipients as usize,
        max_connections: s.max_connections,
        max_connections_per_ip: s.max_connections_per_ip,
        command_timeout: Duration::from_secs(s.command_timeout_secs),
        data_timeout: Duration::from_secs(s.data_timeout_secs),
        max_bad_commands: s.max_bad_commands,
    }
}

/// The IMAP settings of the config in the form the IMAP crate takes.
pub fn imap_config(config: &Config) -> mailstead_imap::ImapConfig {
    let i = &config.imap;
    let a = &config.auth;
    mailstead_imap::ImapConfig {
        hostname: config.server.hostname.clone(),
        max_message_size: i.max_message_size_bytes,
        max_connections: i.max_connections,
        max_connections_per_ip: i.max_connections_per_ip,
        idle_timeout: Duration::from_secs(i.idle_timeout_secs),
        login_timeout: Duration::from_secs(i.login_timeout_secs),
        plaintext_auth_on_loopback: i.plaintext_auth_on_loopback,
        max_bad_commands: i.max_bad_commands,
        login_limits: mailstead_directory::LoginLimits {
            failure_delay: Duration::from_millis(a.failure_delay_ms),
            max_failures_per_ip: a.max_failures_per_ip,
            slow_account_after: a.slow_account_after,
            account_delay: Duration::from_millis(a.account_delay_ms),
            window: Duration::from_secs(a.window_secs),
        },
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
    let smtp = mailstead_smtp::SmtpServer::new(smtp_config(&config), stores.clone(), tls.clone());
    let mut accept_tasks = tokio::task::JoinSet::new();
    for listener in listeners.smtp {
        accept_tasks.spawn(smtp.clone().serve(listener, stop_rx.clone()));
    }
    if tls.is_none() && !listeners.imaps.is_empty() {
        anyhow::bail!("imap.tls_listen needs a TLS certificate");
    }
    let imap = mailstead_imap::ImapServer::new(imap_config(&config), stores.clone(), tls);
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
        while smtp.open_sessions() > 0 || imap.open_sessions() > 0 {
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
