//! LOGIN (RFC 9051 §6.2.3) and AUTHENTICATE PLAIN (RFC 9051 §6.2.2, RFC 4616, SASL-IR
//! RFC 4959), with failed-login throttling (`mailstead_directory::LoginLimiter`).

use base64::Engine;
use mailstead_directory::LoginGate;
use mailstead_imap_proto::{Response, ResponseCode};
use mailstead_types::Secret;

use crate::conn::Line;
use crate::session::{CmdError, CmdResult, Done, MAX_LINE, Session, bad, no};

/// LOGIN user password.
pub(crate) async fn login(s: &mut Session, username: &str, password: String) -> CmdResult {
    if !s.auth_allowed() {
        return Err(no(
            Some(ResponseCode::PrivacyRequired),
            "use STARTTLS (or port 993) before logging in",
        ));
    }
    check(s, username, Secret::new(password)).await
}

/// AUTHENTICATE PLAIN with or without an initial response.
pub(crate) async fn authenticate(
    s: &mut Session,
    mechanism: &str,
    initial: Option<String>,
) -> CmdResult {
    if !mechanism.eq_ignore_ascii_case("PLAIN") {
        return Err(no(None, "unsupported mechanism; use PLAIN"));
    }
    if !s.auth_allowed() {
        return Err(no(
            Some(ResponseCode::PrivacyRequired),
            "use STARTTLS (or port 993) before logging in",
        ));
    }
    let response = match initial {
        Some(r) => r,
        None => {
            s.send(&Response::Continue(String::new()));
            let line = match s
                .conn
                .next_line(MAX_LINE, s.server.config.login_timeout)
                .await?
            {
                Line::Text(l) => l,
                Line::TooLong => return Err(bad("response too long")),
            };
            String::from_utf8_lossy(&line).trim_end().to_string()
        }
    };
    if response == "*" {
        return Err(bad("authentication cancelled"));
    }
    let decoded = if response == "=" {
        Vec::new()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(response.as_bytes())
            .map_err(|_| bad("invalid base64"))?
    };
    let credentials = match mailstead_credentials::sasl::parse_plain(&decoded) {
        Ok(c) => c,
        Err(e @ mailstead_credentials::sasl::PlainError::OtherIdentity) => {
            return Err(no(Some(ResponseCode::AuthorizationFailed), e.to_string()));
        }
        Err(e) => return Err(bad(e.to_string())),
    };
    check(s, &credentials.authcid, Secret::new(credentials.password)).await
}

/// Checks the credentials, throttled; on success the session is authenticated.
async fn check(s: &mut Session, login: &str, password: Secret<String>) -> CmdResult {
    let ip = s.remote.ip();
    let limiter = &s.server.logins;
    match limiter.gate(ip, login) {
        LoginGate::Refuse => {
            tokio::time::sleep(limiter.limits().failure_delay).await;
            tracing::info!(login, "login refused: too many failures from this address");
            return Err(no(
                Some(ResponseCode::Unavailable),
                "too many failed logins, try again later",
            ));
        }
        LoginGate::CheckAfter(d) => tokio::time::sleep(d).await,
        LoginGate::Check => {}
    }
    let outcome = s.server.directory.authenticate(login, &password).await?;
    let Some(auth) = outcome else {
        let limiter = &s.server.logins;
        limiter.failed(ip, login);
        tokio::time::sleep(limiter.limits().failure_delay).await;
        tracing::info!(login, "login failed");
        return Err(CmdError::No(
            Some(ResponseCode::AuthenticationFailed),
            "invalid credentials".into(),
        ));
    };
    s.server.logins.succeeded(ip);
    tracing::info!(account = %auth.account.address, "logged in");
    s.account = Some(auth.account);
    s.notes = Some(s.server.stores.meta.notifier().subscribe());
    let caps = s.capabilities();
    Ok(Done::with(ResponseCode::Capability(caps), "logged in"))
}
