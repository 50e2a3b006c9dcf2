//! The settings structs, one per `[section]`, with their named default functions.
//!
//! Every struct is `#[serde(default, deny_unknown_fields)]`: a missing key takes its default
//! and an unknown key is an error. `load.rs` relies on both to check one key at a time.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::OnceLock;

use mailstead_types::{Domain, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole configuration file, one field per `[section]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Identity of this server and where it keeps its data.
    pub server: ServerSettings,
    /// The metadata store: domains, accounts, mailboxes, message index, queue.
    pub store: StoreSettings,
    /// The blob store holding raw messages, content-addressed by SHA-256.
    pub blobs: BlobSettings,
    /// The HTTP listener: admin UI, REST API, /metrics, /health, autoconfig, MTA-STS.
    pub http: HttpSettings,
    /// The SMTP listener for mail from other servers (the MX role).
    pub smtp: SmtpSettings,
    /// The IMAP listeners for mail clients (cleartext with STARTTLS, and implicit TLS).
    pub imap: ImapSettings,
    /// The submission listeners where users send mail (RFC 6409 with STARTTLS, RFC 8314
    /// implicit TLS).
    pub submission: SubmissionSettings,
    /// The outbound queue: delivery to other servers, retries, bounces, relays.
    pub queue: QueueSettings,
    /// The DNS resolver used for MX lookups (and later SPF, DKIM, DMARC).
    pub dns: DnsSettings,
    /// Failed-login throttling, shared by every protocol that takes a password.
    pub auth: AuthSettings,
    /// The TLS certificate used by every listener that speaks TLS.
    pub tls: TlsSettings,
    /// Logging (tracing) level and output format.
    pub log: LogSettings,
    /// How the MX judges incoming mail: SPF, DKIM, DMARC, ARC, iprev and spam scoring.
    pub filter: FilterSettings,
    /// Greylisting of incoming mail (RFC 6647), off by default.
    pub greylist: GreylistSettings,
}

/// `[server]`: identity of this server and where it keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Fully qualified name of this host, used as the SMTP HELO/EHLO name and as the name in
    /// the self-signed certificate. Must be a valid domain name; stored in its ASCII, lower-case
    /// form after loading.
    #[schemars(extend("x-default-doc" = "the machine's hostname, else \"localhost\""))]
    pub hostname: String,
    /// Directory holding the SQLite database, blobs and TLS files. A relative path is
    /// resolved against the directory of the configuration file.
    pub data_dir: PathBuf,
    /// On shutdown, how long running sessions get to finish before they are cut.
    #[schemars(range(min = 1, max = 3600))]
    pub shutdown_grace_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            hostname: default_hostname(),
            data_dir: default_data_dir(),
            shutdown_grace_secs: default_shutdown_grace_secs(),
        }
    }
}

/// The machine's hostname from `/proc/sys/kernel/hostname`, else `$HOSTNAME`, else
/// `localhost`. A name that is not a valid domain (a container id like `0123456789`, a name
/// with `_`) is skipped so that the defaults always validate.
/// Read once per process: serde builds a default struct for every key that `load.rs` checks.
fn default_hostname() -> String {
    static HOSTNAME: OnceLock<String> = OnceLock::new();
    HOSTNAME
        .get_or_init(|| {
            let candidates = [
                std::fs::read_to_string("/proc/sys/kernel/hostname").ok(),
                std::env::var("HOSTNAME").ok(),
            ];
            candidates
                .into_iter()
                .flatten()
                .map(|name| name.trim().to_owned())
                .find(|name| name.parse::<Domain>().is_ok())
                .unwrap_or_else(|| "localhost".to_owned())
        })
        .clone()
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

fn default_shutdown_grace_secs() -> u64 {
    30
}

/// Which metadata store backend to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// Embedded SQLite database in one file (the default, for one machine).
    #[default]
    Sqlite,
    /// A PostgreSQL server, shared by several mailstead nodes.
    Postgres,
}

/// `[store]`: the metadata store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// Metadata backend.
    pub backend: StoreBackend,
    /// SQLite database file. Unset: `<data_dir>/mailstead.sqlite3`.
    #[schemars(example = &"/var/lib/mailstead/mailstead.sqlite3")]
    pub sqlite_path: Option<PathBuf>,
    /// Number of read-only SQLite connections beside the single writer.
    #[schemars(range(min = 1))]
    pub sqlite_readers: u32,
    /// PostgreSQL connection URL, without the password; required when `backend = "postgres"`.
    #[schemars(example = &"postgres://mailstead@127.0.0.1:5432/mailstead")]
    pub postgres_url: Option<String>,
    /// PostgreSQL password. Prefer `postgres_password_file`; set at most one of the two.
    #[schemars(with = "Option<String>", example = &"change-me")]
    pub postgres_password: Option<Secret<String>>,
    /// File holding the PostgreSQL password (one trailing newline is ignored, as written by
    /// Docker or Kubernetes secrets).
    #[schemars(example = &"/run/secrets/postgres_password")]
    pub postgres_password_file: Option<PathBuf>,
    /// Maximum number of PostgreSQL connections in the pool.
    #[schemars(range(min = 1))]
    pub postgres_pool_size: u32,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            backend: StoreBackend::default(),
            sqlite_path: None,
            sqlite_readers: default_sqlite_readers(),
            postgres_url: None,
            postgres_password: None,
            postgres_password_file: None,
            postgres_pool_size: default_postgres_pool_size(),
        }
    }
}

fn default_sqlite_readers() -> u32 {
    4
}

fn default_postgres_pool_size() -> u32 {
    16
}

/// Which blob store backend to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    /// Files under a directory, `ab/cd/<sha256>` (the default, for one machine).
    #[default]
    Fs,
    /// `bytea` rows in the PostgreSQL store; needs `store.backend = "postgres"`.
    Postgres,
}

/// `[blobs]`: where raw messages are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BlobSettings {
    /// Blob backend.
    pub backend: BlobBackend,
    /// Directory of the `fs` backend. Unset: `<data_dir>/blobs`.
    #[schemars(example = &"/var/lib/mailstead/blobs")]
    pub path: Option<PathBuf>,
}

/// `[http]`: the HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Addresses to listen on for HTTP (admin UI, API, /metrics, /health); at least one,
    /// no duplicates.
    pub listen: Vec<SocketAddr>,
    /// Bearer token for the REST API. Prefer `api_token_file`; set at most one of the two.
    #[schemars(with = "Option<String>", example = &"a-long-random-string")]
    pub api_token: Option<Secret<String>>,
    /// File holding the REST API bearer token (one trailing newline is ignored).
    #[schemars(example = &"/run/secrets/api_token")]
    pub api_token_file: Option<PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: default_http_listen(),
            api_token: None,
            api_token_file: None,
        }
    }
}

fn default_http_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::UNSPECIFIED,
        8080,
    ))]
}

/// `[smtp]`: the SMTP listener receiving mail from other servers (RFC 5321, the MX role).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Addresses to listen on for SMTP (port 25 in production); an empty list disables the
    /// listener. No duplicates.
    pub listen: Vec<SocketAddr>,
    /// Largest message accepted, in octets; advertised with SIZE (RFC 1870) and enforced
    /// while reading (`552 5.3.4`).
    #[schemars(range(min = 1024))]
    pub max_message_size_bytes: u64,
    /// Most recipients of one transaction; more get `452 4.5.3` (RFC 5321 §4.5.3.1.8 asks
    /// for at least 100).
    #[schemars(range(min = 1))]
    pub max_recipients: u32,
    /// Most SMTP connections open at once; more get `421` and are closed.
    #[schemars(range(min = 1))]
    pub max_connections: u32,
    /// Most SMTP connections open at once from one IP address; more get `421`.
    #[schemars(range(min = 1))]
    pub max_connections_per_ip: u32,
    /// How long to wait for the next command line (RFC 5321 §4.5.3.2.7: at least 5 minutes).
    #[schemars(range(min = 1))]
    pub command_timeout_secs: u64,
    /// How long to wait for each block of message data during DATA or BDAT.
    #[schemars(range(min = 1))]
    pub data_timeout_secs: u64,
    /// After this many rejected commands (syntax errors, bad sequence, unknown recipients)
    /// the session gets `421` and is closed.
    #[schemars(range(min = 1))]
    pub max_bad_commands: u32,
    /// Most messages one client IP address may have accepted per hour (a sliding
    /// window, per process); more get `450 4.7.1` at MAIL. 0: unlimited.
    pub max_messages_per_ip_per_hour: u32,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            listen: default_smtp_listen(),
            max_message_size_bytes: default_max_message_size_bytes(),
            max_recipients: default_max_recipients(),
            max_connections: default_max_connections(),
            max_connections_per_ip: default_max_connections_per_ip(),
            command_timeout_secs: default_command_timeout_secs(),
            data_timeout_secs: default_data_timeout_secs(),
            max_bad_commands: default_max_bad_commands(),
            max_messages_per_ip_per_hour: 0,
        }
    }
}

fn default_smtp_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::UNSPECIFIED,
        2525,
    ))]
}

fn default_max_message_size_bytes() -> u64 {
    50 * 1024 * 1024
}

fn default_max_recipients() -> u32 {
    100
}

fn default_max_connections() -> u32 {
    500
}

/// As Postfix's `smtpd_client_connection_count_limit`.
fn default_max_connections_per_ip() -> u32 {
    50
}

fn default_command_timeout_secs() -> u64 {
    300
}

fn default_data_timeout_secs() -> u64 {
    300
}

fn default_max_bad_commands() -> u32 {
    20
}

/// `[imap]`: the IMAP listeners for mail clients (RFC 9051, IMAP4rev2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ImapSettings {
    /// Addresses to listen on for cleartext IMAP with STARTTLS (port 143 in production); an
    /// empty list disables the listener. No duplicates, and none shared with another
    /// listener.
    pub listen: Vec<SocketAddr>,
    /// Addresses to listen on for IMAP over implicit TLS (port 993 in production, RFC 8314);
    /// an empty list disables the listener. No duplicates, and none shared with another
    /// listener.
    pub tls_listen: Vec<SocketAddr>,
    /// Largest message APPEND accepts, in octets; advertised with APPENDLIMIT (RFC 7889).
    #[schemars(range(min = 1024))]
    pub max_message_size_bytes: u64,
    /// Most IMAP connections open at once, both listeners together; more are refused with
    /// `BYE` and closed.
    #[schemars(range(min = 1))]
    pub max_connections: u32,
    /// Most IMAP connections open at once from one IP address; more are refused with `BYE`.
    #[schemars(range(min = 1))]
    pub max_connections_per_ip: u32,
    /// Autologout of an authenticated session that sends nothing, IDLE included. RFC 9051
    /// §5.4 asks for at least 30 minutes: a value below 1800 breaks that, and clients that
    /// renew IDLE every 29 minutes get disconnected.
    #[schemars(range(min = 60))]
    pub idle_timeout_secs: u64,
    /// Autologout of a session that has not authenticated yet.
    #[schemars(range(min = 1))]
    pub login_timeout_secs: u64,
    /// Allow LOGIN and AUTHENTICATE without TLS on connections from 127.0.0.0/8 and ::1
    /// (for a webmail or proxy on the same host). Otherwise a cleartext session announces
    /// LOGINDISABLED until STARTTLS.
    pub plaintext_auth_on_loopback: bool,
    /// After this many rejected commands (`BAD`) in a row the session gets `BYE` and is
    /// closed.
    #[schemars(range(min = 1))]
    pub max_bad_commands: u32,
}

impl Default for ImapSettings {
    fn default() -> Self {
        Self {
            listen: default_imap_listen(),
            tls_listen: default_imap_tls_listen(),
            max_message_size_bytes: default_imap_max_message_size_bytes(),
            max_connections: default_imap_max_connections(),
            max_connections_per_ip: default_imap_max_connections_per_ip(),
            idle_timeout_secs: default_imap_idle_timeout_secs(),
            login_timeout_secs: default_imap_login_timeout_secs(),
            plaintext_auth_on_loopback: default_plaintext_auth_on_loopback(),
            max_bad_commands: default_imap_max_bad_commands(),
        }
    }
}

fn default_imap_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::UNSPECIFIED,
        2143,
    ))]
}

fn default_imap_tls_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::UNSPECIFIED,
        2993,
    ))]
}

fn default_imap_max_message_size_bytes() -> u64 {
    50 * 1024 * 1024
}

/// Clients keep one or more connections open per device (one per IDLEd mailbox), so more
/// than SMTP's.
fn default_imap_max_connections() -> u32 {
    2000
}

/// A household or office behind one NAT address, each device with several connections.
fn default_imap_max_connections_per_ip() -> u32 {
    200
}

/// RFC 9051 §5.4: "at least 30 minutes".
fn default_imap_idle_timeout_secs() -> u64 {
    1800
}

fn default_imap_login_timeout_secs() -> u64 {
    60
}

fn default_plaintext_auth_on_loopback() -> bool {
    true
}

fn default_imap_max_bad_commands() -> u32 {
    20
}

/// `[auth]`: failed-login throttling, shared by every protocol that takes a password. The
/// counts are in memory, per process, over a sliding window of `window_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Wait before answering a failed login, in milliseconds.
    pub failure_delay_ms: u64,
    /// Failures from one IP address within the window after which that address's logins are
    /// refused without checking the password, until the window has passed.
    #[schemars(range(min = 1))]
    pub max_failures_per_ip: u32,
    /// Failures against one account (from any address) within the window after which every
    /// attempt on it waits `account_delay_ms` more; the password is still checked, so the
    /// owner is never locked out.
    #[schemars(range(min = 1))]
    pub slow_account_after: u32,
    /// The extra wait, in milliseconds, for attempts on an account slowed by
    /// `slow_account_after`.
    pub account_delay_ms: u64,
    /// How long a failed login counts, in seconds.
    #[schemars(range(min = 1))]
    pub window_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            failure_delay_ms: default_failure_delay_ms(),
            max_failures_per_ip: default_max_failures_per_ip(),
            slow_account_after: default_slow_account_after(),
            account_delay_ms: default_account_delay_ms(),
            window_secs: default_auth_window_secs(),
        }
    }
}

fn default_failure_delay_ms() -> u64 {
    1000
}

fn default_max_failures_per_ip() -> u32 {
    10
}

fn default_slow_account_after() -> u32 {
    5
}

fn default_account_delay_ms() -> u64 {
    2000
}

/// 15 minutes.
fn default_auth_window_secs() -> u64 {
    900
}

/// `[tls]`: the certificate and private key, PEM encoded, used by every TLS listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    /// Certificate chain (PEM). Unset: `<data_dir>/tls/cert.pem`.
    #[schemars(example = &"/etc/letsencrypt/live/mail.example.org/fullchain.pem")]
    pub cert_path: Option<PathBuf>,
    /// Private key (PEM). Unset: `<data_dir>/tls/key.pem`.
    #[schemars(example = &"/etc/letsencrypt/live/mail.example.org/privkey.pem")]
    pub key_path: Option<PathBuf>,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// Filter directive in `tracing` env-filter syntax, e.g. `info` or
    /// `info,mailstead_smtp=debug`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: default_log_level(),
            format: LogFormat::default(),
        }
    }
}

fn default_log_level() -> String {
    "info".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_hostname_is_a_valid_domain() {
        assert!("localhost".parse::<Domain>().is_ok());
        assert!(default_hostname().parse::<Domain>().is_ok());
    }
}

/// `[submission]`: where users send mail (RFC 6409 submission with STARTTLS, RFC 8314
/// submissions with implicit TLS). AUTH is offered only over TLS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SubmissionSettings {
    /// Addresses for submission with STARTTLS (port 587 in production); an empty list
    /// disables the listener. No address shared with another listener.
    pub listen: Vec<SocketAddr>,
    /// Addresses for submission over implicit TLS (port 465 in production, RFC 8314); an
    /// empty list disables the listener.
    pub tls_listen: Vec<SocketAddr>,
    /// Largest message accepted, in octets (SIZE, RFC 1870).
    #[schemars(range(min = 1024))]
    pub max_message_size_bytes: u64,
    /// Most recipients of one message.
    #[schemars(range(min = 1))]
    pub max_recipients: u32,
    /// Most submission connections open at once, both listeners together.
    #[schemars(range(min = 1))]
    pub max_connections: u32,
    /// Most submission connections open at once from one IP address.
    #[schemars(range(min = 1))]
    pub max_connections_per_ip: u32,
    /// Messages one account may send per hour (a sliding window); more get `450 4.7.1`.
    /// 0 is unlimited.
    pub send_rate_per_hour: u32,
    /// Allow AUTH without TLS on connections from 127.0.0.0/8 and ::1 (a webmail on the
    /// same host).
    pub plaintext_auth_on_loopback: bool,
    /// Networks (CIDR, e.g. `10.0.0.0/8`, `::1/128`) whose clients may send without AUTH,
    /// as Postfix's `mynetworks` and Mailu's `RELAYNETS`. No sender check applies to them:
    /// list only hosts you trust.
    #[schemars(example = &example_relay_networks())]
    pub relay_networks: Vec<String>,
}

impl Default for SubmissionSettings {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::UNSPECIFIED,
                2587,
            ))],
            tls_listen: vec![SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::UNSPECIFIED,
                2465,
            ))],
            max_message_size_bytes: default_max_message_size_bytes(),
            max_recipients: default_max_recipients(),
            max_connections: default_max_connections(),
            max_connections_per_ip: default_max_connections_per_ip(),
            send_rate_per_hour: 200,
            plaintext_auth_on_loopback: true,
            relay_networks: Vec::new(),
        }
    }
}

/// How the queue speaks TLS to a smarthost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmarthostTls {
    /// STARTTLS, certificate verified (port 587 or 25).
    #[default]
    Starttls,
    /// TLS from the first byte, certificate verified (port 465).
    Implicit,
    /// No TLS: only for a relay on a network you trust.
    None,
}

/// `[queue]`: delivery of mail to other servers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// Port of remote mail servers found by MX lookup. 25 everywhere in production; tests
    /// point it at a local peer.
    #[schemars(range(min = 1))]
    pub remote_port: u16,
    /// Wait before the first retry after a temporary failure; it doubles per attempt.
    #[schemars(range(min = 1))]
    pub retry_initial_secs: u64,
    /// Longest wait between retries.
    #[schemars(range(min = 1))]
    pub retry_max_secs: u64,
    /// Give up (and bounce with a DSN) this long after the message was accepted.
    #[schemars(range(min = 1))]
    pub give_up_after_secs: u64,
    /// Tell the sender (a "delayed" DSN, once) when a recipient is still undelivered this
    /// long after acceptance. 0 never tells.
    pub delay_notice_after_secs: u64,
    /// TCP connect timeout per server.
    #[schemars(range(min = 1))]
    pub connect_timeout_secs: u64,
    /// Wait for the reply to a command (RFC 5321 §4.5.3.2: 5 minutes).
    #[schemars(range(min = 1))]
    pub command_timeout_secs: u64,
    /// Wait for the reply after the message data (RFC 5321 §4.5.3.2.6: 10 minutes).
    #[schemars(range(min = 1))]
    pub data_timeout_secs: u64,
    /// Deliveries running at once.
    #[schemars(range(min = 1))]
    pub max_concurrent: u32,
    /// Connections at once to one destination domain.
    #[schemars(range(min = 1))]
    pub max_per_domain: u32,
    /// Messages sent over one connection before it is closed.
    #[schemars(range(min = 1))]
    pub max_messages_per_connection: u32,
    /// How long a worker holds a message it is delivering; a node that dies leaves it to
    /// be picked up after this.
    #[schemars(range(min = 10))]
    pub lease_secs: u64,
    /// Deliver to other servers only over TLS (STARTTLS must be offered and succeed;
    /// certificates are not verified). Off: TLS whenever offered (RFC 7435).
    pub tls_required: bool,
    /// Domains whose mail must go over TLS even when `tls_required` is off.
    #[schemars(with = "Vec<String>")]
    pub tls_required_domains: Vec<Domain>,
    /// Send all outgoing mail through this relay (`host:port`) instead of MX lookup.
    #[schemars(example = &"smtp.provider.example:587")]
    pub smarthost: Option<String>,
    /// TLS to the smarthost.
    pub smarthost_tls: SmarthostTls,
    /// AUTH user name at the smarthost.
    pub smarthost_username: Option<String>,
    /// AUTH password at the smarthost. Prefer `smarthost_password_file`.
    #[schemars(with = "Option<String>")]
    pub smarthost_password: Option<Secret<String>>,
    /// File holding the smarthost password.
    pub smarthost_password_file: Option<PathBuf>,
    /// Per-domain relays: recipient domain → `host:port`, used before `smarthost`; STARTTLS
    /// verified as `smarthost_tls` says, no AUTH.
    #[schemars(example = &example_domain_relays())]
    pub domain_smarthosts: BTreeMap<String, String>,
    /// Extra trusted CA certificates (PEM) for verified TLS (a relay with a private CA).
    pub tls_extra_roots_file: Option<PathBuf>,
}

fn example_relay_networks() -> Vec<String> {
    vec!["192.0.2.0/24".to_owned()]
}

fn example_nameservers() -> Vec<SocketAddr> {
    vec![SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 53))]
}

fn example_domain_relays() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "partner.example".to_owned(),
        "mx.partner.example:25".to_owned(),
    )])
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            remote_port: 25,
            retry_initial_secs: 300,
            retry_max_secs: 4 * 3600,
            give_up_after_secs: 5 * 24 * 3600,
            delay_notice_after_secs: 4 * 3600,
            connect_timeout_secs: 30,
            command_timeout_secs: 300,
            data_timeout_secs: 600,
            max_concurrent: 50,
            max_per_domain: 10,
            max_messages_per_connection: 100,
            lease_secs: 600,
            tls_required: false,
            tls_required_domains: Vec::new(),
            smarthost: None,
            smarthost_tls: SmarthostTls::default(),
            smarthost_username: None,
            smarthost_password: None,
            smarthost_password_file: None,
            domain_smarthosts: BTreeMap::new(),
            tls_extra_roots_file: None,
        }
    }
}

/// `[dns]`: the resolver.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DnsSettings {
    /// Nameservers to ask (`ip:port`), in order. Empty: those of `/etc/resolv.conf`.
    /// A validating local resolver (unbound) is the usual choice for a mail server.
    #[schemars(example = &example_nameservers())]
    pub nameservers: Vec<SocketAddr>,
    /// Timeout of one query.
    #[schemars(range(min = 1))]
    pub timeout_secs: u64,
    /// Tries per query.
    #[schemars(range(min = 1))]
    pub attempts: u32,
}

impl Default for DnsSettings {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout_secs: 5,
            attempts: 2,
        }
    }
}

/// Parses `a.b.c.d/n` or `ipv6/n` (a bare address is a host route).
pub fn parse_cidr(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.trim().parse::<u8>().ok()?,
        None => max,
    };
    (len <= max).then_some((ip, len))
}

/// What the MX does when a check could not finish because DNS failed temporarily.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemporaryFailureAction {
    /// Accept and judge on what is known (a DMARC reject becomes Junk): never a refusal.
    #[default]
    Accept,
    /// Answer `451 4.7.5`: the sender retries later.
    Defer,
}

/// `[filter]`: how the MX judges incoming mail. Authentication (SPF, DKIM, DMARC, ARC,
/// iprev) always runs and is recorded in `Authentication-Results`; spam scoring adds
/// rules, DNS blocklists and the Bayesian classifier. Per-account settings (on/off,
/// threshold, mark as read) are in the store.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FilterSettings {
    /// Score messages for spam (rules, blocklists, classifier) and file spam in Junk.
    pub spam_enabled: bool,
    /// The score at and above which a message is refused at end of DATA (`550 5.7.1`);
    /// also the 100% mark of the accounts' thresholds (Mailu's `spam_threshold`).
    #[schemars(range(min = 1.0))]
    pub reject_score: f64,
    /// Refuse messages that reach `reject_score`; when false they are filed in Junk.
    pub reject_enabled: bool,
    /// Refuse (`550 5.7.1`) mail failing DMARC when the sender's policy is `p=reject`;
    /// when false it is filed in Junk.
    pub dmarc_reject: bool,
    /// What a temporary DNS failure does: `accept` or `defer` (`451`). Never a permanent
    /// refusal either way.
    pub on_temporary_failure: TemporaryFailureAction,
    /// Symbol weights replacing the defaults, e.g. `{ BAYES_SPAM = 9.0 }`
    /// (`mailstead spam symbols` lists them).
    pub weights: BTreeMap<String, f64>,
    /// DNS blocklists of client IPs (RFC 5782), zone → weight, e.g.
    /// `{ "zen.spamhaus.org" = 6.0 }`. Empty: none asked.
    pub dnsbl_ip_zones: BTreeMap<String, f64>,
    /// DNS blocklists of domains found in links (RFC 5782 §2.2), zone → weight, e.g.
    /// `{ "dbl.spamhaus.org" = 5.0 }`.
    pub dnsbl_domain_zones: BTreeMap<String, f64>,
    /// Most link domains of one message looked up in the domain blocklists.
    pub dnsbl_max_domains: u32,
    /// Train the classifier when a user moves a message into Junk (spam) or out of it
    /// (ham) over IMAP.
    pub learn_from_imap: bool,
}

impl Default for FilterSettings {
    fn default() -> Self {
        Self {
            spam_enabled: true,
            reject_score: 15.0,
            reject_enabled: true,
            dmarc_reject: true,
            on_temporary_failure: TemporaryFailureAction::Accept,
            weights: BTreeMap::new(),
            dnsbl_ip_zones: BTreeMap::new(),
            dnsbl_domain_zones: BTreeMap::new(),
            dnsbl_max_domains: 20,
            learn_from_imap: true,
        }
    }
}

/// `[greylist]`: greylisting (RFC 6647) on the MX: the first message of an unknown
/// (client network, sender, recipient) triplet is deferred with `451 4.7.1`; a retry after
/// `delay_secs` passes. Loopback clients and postmaster are never greylisted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GreylistSettings {
    /// Turn greylisting on.
    pub enabled: bool,
    /// How long a new triplet is deferred.
    #[schemars(range(min = 1))]
    pub delay_secs: u64,
    /// How long after the first attempt a retry still counts; later it starts over.
    #[schemars(range(min = 1))]
    pub retry_window_secs: u64,
    /// How long a passed triplet stays passed after its last message.
    #[schemars(range(min = 1))]
    pub pass_lifetime_secs: u64,
}

impl Default for GreylistSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            delay_secs: 300,
            retry_window_secs: 2 * 86_400,
            pass_lifetime_secs: 36 * 86_400,
        }
    }
}
