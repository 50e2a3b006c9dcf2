//! Semantic checks: rules that span keys or that a type cannot express. Every rule adds an
//! issue and goes on; a rule is skipped when a key it reads already failed to deserialize
//! (it would be judging the default instead of what the user wrote).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use mailstead_types::Domain;

use crate::error::ConfigIssue;
use crate::settings::{BlobBackend, Config, StoreBackend};

/// Upper bound of `server.shutdown_grace_secs`: one hour.
const MAX_SHUTDOWN_GRACE_SECS: u64 = 3600;

/// Adds an issue for every rule `config` breaks. `failed` holds the `section.key` paths that
/// did not deserialize.
pub(crate) fn validate(config: &Config, failed: &BTreeSet<String>, issues: &mut Vec<ConfigIssue>) {
    let ok = |keys: &[&str]| keys.iter().all(|key| !failed.contains(*key));
    let mut issue = |path: &str, message: String| issues.push(ConfigIssue::new(path, message));

    let server = &config.server;
    if ok(&["server.hostname"])
        && let Err(e) = server.hostname.parse::<Domain>()
    {
        issue("server.hostname", format!("not a valid host name: {e}"));
    }
    if ok(&["server.shutdown_grace_secs"])
        && !(1..=MAX_SHUTDOWN_GRACE_SECS).contains(&server.shutdown_grace_secs)
    {
        issue(
            "server.shutdown_grace_secs",
            format!(
                "must be between 1 and {MAX_SHUTDOWN_GRACE_SECS}, got {}",
                server.shutdown_grace_secs
            ),
        );
    }

    let store = &config.store;
    if ok(&["store.backend", "store.postgres_url"])
        && store.backend == StoreBackend::Postgres
        && store.postgres_url.is_none()
    {
        issue(
            "store.postgres_url",
            "required when store.backend = \"postgres\"".to_owned(),
        );
    }
    if ok(&["store.sqlite_readers"]) && store.sqlite_readers == 0 {
        issue("store.sqlite_readers", "must be at least 1".to_owned());
    }
    if ok(&["store.postgres_pool_size"]) && store.postgres_pool_size == 0 {
        issue("store.postgres_pool_size", "must be at least 1".to_owned());
    }

    if ok(&["blobs.backend", "store.backend"])
        && config.blobs.backend == BlobBackend::Postgres
        && store.backend != StoreBackend::Postgres
    {
        issue(
            "blobs.backend",
            "\"postgres\" needs store.backend = \"postgres\"".to_owned(),
        );
    }

    if ok(&["http.listen"]) && config.http.listen.is_empty() {
        issue("http.listen", "needs at least one address".to_owned());
    }
    // Every listener address once across all lists: a second bind of the same address
    // would fail at start-up. The issue is at the repeat and names the first occurrence.
    // Port 0 (any free port, as in tests) never collides.
    let listeners = [
        ("http.listen", &config.http.listen),
        ("smtp.listen", &config.smtp.listen),
        ("imap.listen", &config.imap.listen),
        ("imap.tls_listen", &config.imap.tls_listen),
    ];
    let mut first_seen: Vec<(SocketAddr, String)> = Vec::new();
    for (key, addrs) in listeners {
        if !ok(&[key]) {
            continue;
        }
        for (i, addr) in addrs.iter().enumerate() {
            let here = format!("{key}[{i}]");
            match first_seen.iter().find(|(seen, _)| seen == addr) {
                Some((_, first)) => issue(&here, format!("{addr} is already listed as {first}")),
                None if addr.port() == 0 => {}
                None => first_seen.push((*addr, here)),
            }
        }
    }

    let (smtp, imap, auth) = (&config.smtp, &config.imap, &config.auth);
    let at_least = [
        (
            "smtp.max_message_size_bytes",
            smtp.max_message_size_bytes,
            1024,
        ),
        ("smtp.max_recipients", u64::from(smtp.max_recipients), 1),
        ("smtp.max_connections", u64::from(smtp.max_connections), 1),
        (
            "smtp.max_connections_per_ip",
            u64::from(smtp.max_connections_per_ip),
            1,
        ),
        ("smtp.command_timeout_secs", smtp.command_timeout_secs, 1),
        ("smtp.data_timeout_secs", smtp.data_timeout_secs, 1),
        ("smtp.max_bad_commands", u64::from(smtp.max_bad_commands), 1),
        (
            "imap.max_message_size_bytes",
            imap.max_message_size_bytes,
            1024,
        ),
        ("imap.max_connections", u64::from(imap.max_connections), 1),
        (
            "imap.max_connections_per_ip",
            u64::from(imap.max_connections_per_ip),
            1,
        ),
        ("imap.idle_timeout_secs", imap.idle_timeout_secs, 60),
        ("imap.login_timeout_secs", imap.login_timeout_secs, 1),
        ("imap.max_bad_commands", u64::from(imap.max_bad_commands), 1),
        (
            "auth.max_failures_per_ip",
            u64::from(auth.max_failures_per_ip),
            1,
        ),
        (
            "auth.slow_account_after",
            u64::from(auth.slow_account_after),
            1,
        ),
        ("auth.window_secs", auth.window_secs, 1),
    ];
    for (path, value, min) in at_least {
        if ok(&[path]) && value < min {
            issue(path, format!("must be at least {min}"));
        }
    }

    if ok(&["log.level"]) && !is_filter_directive(&config.log.level) {
        issue(
            "log.level",
            format!(
                "{:?} is not a filter directive such as \"info\" or \"info,mailstead_smtp=debug\"",
                config.log.level
            ),
        );
    }
}

/// A cheap syntactic check of a `tracing` env-filter directive: non-empty, made of
/// `[A-Za-z0-9_=:,.-]`. The full grammar is checked by the logging set-up.
fn is_filter_directive(level: &str) -> bool {
    !level.is_empty()
        && level
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_=:,.-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_directives_are_checked_for_their_characters() {
        assert!(is_filter_directive("info"));
        assert!(is_filter_directive(
            "info,mailstead_smtp=debug,hyper::proto=warn"
        ));
        assert!(!is_filter_directive(""));
        assert!(!is_filter_directive("info debug"));
        assert!(!is_filter_directive("[span]=trace"));
    }
}
