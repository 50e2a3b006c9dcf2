//! The TOML configuration of mailstead: the static settings of a node (listeners, paths,
//! backend URLs, limits). Runtime data (domains, accounts, keys) lives in the store, not here.
//!
//! # Modules
//!
//! - `settings`: [`Config`] and one struct per `[section]` ([`ServerSettings`],
//!   [`StoreSettings`], [`BlobSettings`], [`HttpSettings`], [`SmtpSettings`],
//!   [`SubmissionSettings`], [`ImapSettings`], [`QueueSettings`], [`DnsSettings`],
//!   [`AuthSettings`], [`TlsSettings`], [`LogSettings`]),
//!   each `#[serde(default, deny_unknown_fields)]` with named default functions.
//! - `load`: [`Config::load`] / [`Config::parse`]: environment overrides, per-key checking,
//!   path and secret resolution.
//! - `validate`: the rules between keys (a PostgreSQL store needs a URL, ...).
//! - `error`: [`ConfigIssue`] (a path and a message) and [`ConfigErrors`] (all of them).
//! - `docs`: [`default_toml`] (the commented file written on first run) and
//!   [`reference_markdown`] (`docs/config.md`), both generated from the JSON schema that
//!   `schemars` derives from the structs and their `///` docs, so neither can drift.
//!
//! # Where the file is
//!
//! [`locate`]: the `--config FILE` argument, else `$MAILSTEAD_CONFIG`, else
//! `./mailstead.toml`. Relative paths inside the file are taken from the directory that
//! holds it.
//!
//! # Environment overrides
//!
//! `MAILSTEAD_<SECTION>_<KEY>` sets `<key>` of `[<section>]`, e.g.
//! `MAILSTEAD_STORE_BACKEND=postgres` or `MAILSTEAD_HTTP_LISTEN='["127.0.0.1:8081"]'`. The value
//! is read as a TOML value, and as a plain string when that fails or does not fit the key
//! (a comma-separated string is also tried for lists). Only names whose `<SECTION>` is a known
//! section are overrides; other `MAILSTEAD_*` variables (`MAILSTEAD_CONFIG`, ...) are ignored.
//! An override naming an unknown key is an issue reported under the variable's name.
//!
//! # Errors: all of them, at once
//!
//! serde stops at the first error, which makes fixing a config a loop of one edit per run.
//! Instead the text is parsed into a `toml::Table` (a syntax error is the one thing that
//! stops there, reported with its line and column), overrides are applied, and then each key
//! is deserialized on its own into its section struct; every failure becomes a
//! [`ConfigIssue`] with its path (`store.backend`, `http.listen[1]`). Semantic rules run
//! after, and also collect. [`ConfigErrors`] holds every issue.
//!
//! # Secrets
//!
//! `store.postgres_password` and `http.api_token` are [`Secret`]s (their `Debug` is
//! redacted) and can be read from a file instead (`*_file`, Docker-secrets style: one
//! trailing newline is dropped). After loading, the inline field holds the value either way.

mod docs;
mod error;
mod load;
mod settings;
mod validate;

use std::path::{Path, PathBuf};

use mailstead_types::Secret;

pub use docs::{default_toml, reference_markdown};
pub use error::{ConfigErrors, ConfigIssue};
pub use settings::{
    AuthSettings, BlobBackend, BlobSettings, Config, DnsSettings, FilterSettings, GreylistSettings,
    HttpSettings, ImapSettings, LogFormat, LogSettings, QueueSettings, ServerSettings,
    SmarthostTls, SmtpSettings, StoreBackend, StoreSettings, SubmissionSettings,
    TemporaryFailureAction, TlsSettings, parse_cidr,
};
pub use validate::parse_host_port;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "MAILSTEAD_CONFIG";

/// The configuration file used when neither `--config` nor `$MAILSTEAD_CONFIG` names one.
pub const DEFAULT_CONFIG_FILE: &str = "mailstead.toml";

/// The configuration file to read: `cli` (`--config FILE`), else `$MAILSTEAD_CONFIG` when set
/// and non-empty, else `./mailstead.toml`.
pub fn locate(cli: Option<&Path>) -> PathBuf {
    if let Some(path) = cli {
        return path.to_path_buf();
    }
    match std::env::var_os(CONFIG_ENV) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(DEFAULT_CONFIG_FILE),
    }
}

impl Config {
    /// The data directory (absolute after [`Config::load`]).
    pub fn data_dir(&self) -> &Path {
        &self.server.data_dir
    }

    /// The SQLite database file: `store.sqlite_path`, else `<data_dir>/mailstead.sqlite3`.
    pub fn sqlite_path(&self) -> PathBuf {
        self.store
            .sqlite_path
            .clone()
            .unwrap_or_else(|| self.data_dir().join("mailstead.sqlite3"))
    }

    /// The directory of the `fs` blob store: `blobs.path`, else `<data_dir>/blobs`.
    pub fn blob_path(&self) -> PathBuf {
        self.blobs
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir().join("blobs"))
    }

    /// The TLS certificate chain: `tls.cert_path`, else `<data_dir>/tls/cert.pem`.
    pub fn cert_path(&self) -> PathBuf {
        self.tls
            .cert_path
            .clone()
            .unwrap_or_else(|| self.data_dir().join("tls").join("cert.pem"))
    }

    /// The TLS private key: `tls.key_path`, else `<data_dir>/tls/key.pem`.
    pub fn key_path(&self) -> PathBuf {
        self.tls
            .key_path
            .clone()
            .unwrap_or_else(|| self.data_dir().join("tls").join("key.pem"))
    }

    /// The PostgreSQL password, from `store.postgres_password` or, after loading, read from
    /// `store.postgres_password_file`; `None` when neither is set.
    pub fn postgres_password(&self) -> Option<&Secret<String>> {
        self.store.postgres_password.as_ref()
    }

    /// The REST API bearer token, from `http.api_token` or, after loading, read from
    /// `http.api_token_file`; `None` when neither is set.
    pub fn api_token(&self) -> Option<&Secret<String>> {
        self.http.api_token.as_ref()
    }
}
