//! AUTH on the submission listener (RFC 4954): PLAIN (RFC 4616) and LOGIN
//! (draft-murchison-sasl-login-00), over TLS only (or loopback when configured), throttled
//! by the shared [`mailstead_directory::LoginLimiter`]. App passwords work like the
//! account password (`Directory::authenticate` tries both).
//!
//! Credentials are kept in [`Secret`] and never logged; only the login name is.

use base64::Engine as _;
use mailstead_directory::LoginGate;
use mailstead_smtp_proto::codes;
use mailstead_types::Secret;

use super::rep;
use crate::session::{End, Flow, Line, ReadError, Session};

/// `334` challenge of LOGIN for the user name: base64 of `Username:`.
const LOGIN_USERNAME: &str = "VXNlcm5hbWU6";
/// `334` challenge of LOGIN for the password: base64 of `Password:`.
const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

/// One client response in the exchange, or the reason there is none (the reply was
/// already queued).
enum Response {
    /// The decoded response.
    Data(Vec<u8>),
    /// Cancelled, undecodable, too long: the exchange is over.
    Failed,
}

/// `AUTH mechanism [initial-response]`.
pub(crate) async fn auth(
    s: &mut Session,
    mechanism: &str,
    initial: Option<String>,
) -> Result<Flow, End> {
    // RFC 4954 §4: one successful AUTH per session, only after EHLO, never inside a
    // mail transaction.
    if s.state.account.is_some() {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "already authenticated"));
        return Ok(s.bad_command());
    }
    if !s.state.greeting.as_ref().is_some_and(|g| g.extended) {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "send EHLO first"));
        return Ok(s.bad_command());
    }
    if s.state.transaction.is_some() {
        s.conn.reply(&rep(
            codes::C503_BAD_SEQUENCE,
            "AUTH is not allowed during a mail transaction",
        ));
        return Ok(s.bad_command());
    }
    if !s.auth_allowed() {
        // RFC 4954 §6: 538 "encryption required for requested authentication mechanism".
        s.conn.reply(&rep(
            codes::C538_ENCRYPTION_REQUIRED,
            "encryption required: use STARTTLS (or port 465) first",
        ));
        return Ok(Flow::Continue);
    }
    let credentials = if mechanism.eq_ignore_ascii_case("PLAIN") {
        plain(s, initial).await?
    } else if mechanism.eq_ignore_ascii_case("LOGIN") {
        login(s, initial).await?
    } else {
        s.conn.reply(&rep(
            codes::C504_PARAMETER_NOT_IMPLEMENTED,
            "unsupported mechanism; use PLAIN or LOGIN",
        ));
        return Ok(s.bad_command());
    };
    let Some((login, password)) = credentials else {
        return Ok(Flow::Continue);
    };
    check(s, &login, password).await
}

/// PLAIN: `[authzid] NUL authcid NUL passwd` (RFC 4616 §2), in the initial response or
/// after an empty `334 ` challenge.
async fn plain(
    s: &mut Session,
    initial: Option<String>,
) -> Result<Option<(String, Secret<String>)>, End> {
    let response = match initial {
        Some(text) => decode(s, &text),
        None => challenge(s, "").await?,
    };
    let Response::Data(decoded) = response else {
        return Ok(None);
    };
    match mailstead_credentials::sasl::parse_plain(&decoded) {
        Ok(c) => Ok(Some((c.authcid, Secret::new(c.password)))),
        Err(e @ mailstead_credentials::sasl::PlainError::OtherIdentity) => {
            s.conn.reply(&rep(codes::C535_AUTH_FAILED, e.to_string()));
            Ok(None)
        }
        Err(e) => {
            s.conn.reply(&rep(codes::C501_SYNTAX, e.to_string()));
            Ok(None)
        }
    }
}

/// LOGIN: the user name (in the initial response or after `334 Username:`), then the
/// password after `334 Password:`, each base64.
async fn login(
    s: &mut Session,
    initial: Option<String>,
) -> Result<Option<(String, Secret<String>)>, End> {
    let user = match initial {
        Some(text) => decode(s, &text),
        None => challenge(s, LOGIN_USERNAME).await?,
    };
    let Response::Data(user) = user else {
        return Ok(None);
    };
    let Response::Data(password) = challenge(s, LOGIN_PASSWORD).await? else {
        return Ok(None);
    };
    let (Ok(user), Ok(password)) = (String::from_utf8(user), String::from_utf8(password)) else {
        s.conn.reply(&rep(
            codes::C501_SYNTAX,
            "user name and password must be UTF-8",
        ));
        return Ok(None);
    };
    Ok(Some((user, Secret::new(password))))
}

/// Sends `334 <text>` and reads the client's answer.
async fn challenge(s: &mut Session, text: &str) -> Result<Response, End> {
    // RFC 4954 §4: `continue-req = "334" SP [base64] CRLF`; the space stays when the
    // challenge is empty, which `Reply` would drop.
    s.conn.send_raw(format!("334 {text}\r\n").as_bytes());
    let line = match s.conn.next_line(s.server.config.command_timeout).await {
        Ok(Line::Text(line)) => line,
        Ok(Line::TooLong) => {
            s.conn.reply(&rep(
                codes::C500_AUTH_LINE_TOO_LONG,
                "authentication line too long",
            ));
            return Ok(Response::Failed);
        }
        Err(ReadError::Timeout) => {
            let text = format!("{} timeout, closing", s.server.config.hostname);
            s.conn.reply(&rep(codes::C421_TIMEOUT, text));
            return Err(End::Closed);
        }
        Err(ReadError::Gone) => return Err(End::Gone),
    };
    let text = String::from_utf8_lossy(&line);
    Ok(decode(s, text.trim()))
}

/// Decodes one response: `*` cancels (RFC 4954 §4: `501`), `=` is empty, anything else
/// must be base64 (`501 5.5.2` otherwise).
fn decode(s: &mut Session, text: &str) -> Response {
    if text == "*" {
        s.conn
            .reply(&rep(codes::C501_AUTH_CANCELLED, "authentication cancelled"));
        return Response::Failed;
    }
    if text == "=" {
        return Response::Data(Vec::new());
    }
    match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
        Ok(data) => Response::Data(data),
        Err(_) => {
            s.conn.reply(&rep(
                codes::C501_AUTH_BAD_BASE64,
                "cannot decode the response as base64",
            ));
            Response::Failed
        }
    }
}

/// Checks the credentials, throttled; on success the session is authenticated.
async fn check(s: &mut Session, login: &str, password: Secret<String>) -> Result<Flow, End> {
    let ip = s.remote.ip();
    let limiter = &s.server.logins;
    match limiter.gate(ip, login) {
        LoginGate::Refuse => {
            tokio::time::sleep(limiter.limits().failure_delay).await;
            tracing::info!(login, "login refused: too many failures from this address");
            s.conn.reply(&rep(
                codes::C454_AUTH_TEMPORARY_FAILURE,
                "too many failed logins, try later",
            ));
            return Ok(Flow::Continue);
        }
        LoginGate::CheckAfter(d) => tokio::time::sleep(d).await,
        LoginGate::Check => {}
    }
    let outcome = match s.server.directory.authenticate(login, &password).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "authentication failed to run");
            s.conn.reply(&rep(
                codes::C454_AUTH_TEMPORARY_FAILURE,
                "temporary authentication failure",
            ));
            return Ok(Flow::Continue);
        }
    };
    drop(password);
    let Some(auth) = outcome else {
        let limiter = &s.server.logins;
        limiter.failed(ip, login);
        tokio::time::sleep(limiter.limits().failure_delay).await;
        tracing::info!(login, "login failed");
        s.conn
            .reply(&rep(codes::C535_AUTH_FAILED, "invalid credentials"));
        return Ok(Flow::Continue);
    };
    s.server.logins.succeeded(ip);
    tracing::info!(account = %auth.account.address, "logged in");
    s.state.account = Some(auth.account);
    s.conn.reply(&rep(
        codes::C235_AUTH_SUCCEEDED,
        "authentication successful",
    ));
    Ok(Flow::Continue)
}
