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
        ("submission.listen", &config.submission.listen),
        ("submission.tls_listen", &config.submission.tls_listen),
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
    let (sub, queue, dns) = (&config.submission, &config.queue, &config.dns);
    let more = [
        (
            "submission.max_message_size_bytes",
            sub.max_message_size_bytes,
            1024,
        ),
        (
            "submission.max_recipients",
            u64::from(sub.max_recipients),
            1,
        ),
        (
            "submission.max_connections",
            u64::from(sub.max_connections),
            1,
        ),
        (
            "submission.max_connections_per_ip",
            u64::from(sub.max_connections_per_ip),
            1,
        ),
        ("queue.remote_port", u64::from(queue.remote_port), 1),
        ("queue.retry_initial_secs", queue.retry_initial_secs, 1),
        ("queue.retry_max_secs", queue.retry_max_secs, 1),
        ("queue.give_up_after_secs", queue.give_up_after_secs, 1),
        ("queue.connect_timeout_secs", queue.connect_timeout_secs, 1),
        ("queue.command_timeout_secs", queue.command_timeout_secs, 1),
        ("queue.data_timeout_secs", queue.data_timeout_secs, 1),
        ("queue.max_concurrent", u64::from(queue.max_concurrent), 1),
        ("queue.max_per_domain", u64::from(queue.max_per_domain), 1),
        (
            "queue.max_messages_per_connection",
            u64::from(queue.max_messages_per_connection),
            1,
        ),
        ("queue.lease_secs", queue.lease_secs, 10),
        ("dns.timeout_secs", dns.timeout_secs, 1),
        ("dns.attempts", u64::from(dns.attempts), 1),
    ];
    for (path, value, min) in at_least.into_iter().chain(more) {
        if ok(&[path]) && value < min {
            issue(path, format!("must be at least {min}"));
        }
    }

    if ok(&["queue.retry_initial_secs", "queue.retry_max_secs"])
        && queue.retry_initial_secs > queue.retry_max_secs
    {
        issue(
            "queue.retry_initial_secs",
            format!(
                "must not exceed queue.retry_max_secs ({})",
                queue.retry_max_secs
            ),
        );
    }
    if ok(&["submission.relay_networks"]) {
        for (i, net) in sub.relay_networks.iter().enumerate() {
            if crate::settings::parse_cidr(net).is_none() {
                issue(
                    &format!("submission.relay_networks[{i}]"),
                    format!("{net:?} is not a network such as 192.0.2.0/24 or ::1/128"),
                );
            }
        }
    }
    if ok(&["queue.smarthost"])
        && let Some(host) = &queue.smarthost
        && parse_host_port(host).is_none()
    {
        issue("queue.smarthost", format!("{host:?} is not host:port"));
    }
    if ok(&["queue.domain_smarthosts"]) {
        for (domain, host) in &queue.domain_smarthosts {
            let path = format!("queue.domain_smarthosts.{domain}");
            if domain.parse::<Domain>().is_err() {
                issue(&path, format!("{domain:?} is not a domain name"));
            } else if parse_host_port(host).is_none() {
                issue(&path, format!("{host:?} is not host:port"));
            }
        }
    }
    if ok(&["queue.smarthost_password", "queue.smarthost_username"])
        && (queue.smarthost_password.is_some() || queue.smarthost_password_file.is_some())
        && queue.smarthost_username.is_none()
    {
        issue(
            "queue.smarthost_username",
            "required when a smarthost password is set".to_owned(),
        );
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

/// `host:port` (host a name or an IP literal, IPv6 in brackets) with a non-zero port.
pub fn parse_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    if host.parse::<std::net::IpAddr>().is_err() && host.parse::<Domain>().is_err() {
        return None;
    }
    Some((host.to_owned(), port))
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
