//! MAIL FROM (RFC 5321 §4.1.1.2) with SIZE, BODY, SMTPUTF8, RET, ENVID, REQUIRETLS
//! parameters; on submission also the AUTH requirement (RFC 6409 §4.3), the sending rate
//! and sender ownership (design invariant 3).

use mailstead_smtp_proto::{Body, MailFrom, ReversePath, codes};

use super::rcpt::temporary;
use super::rep;
use crate::session::{Flow, Session};
use crate::state::{BodyMode, Transaction};

/// Starts a transaction.
pub(crate) async fn mail(s: &mut Session, mail: MailFrom) -> Flow {
    let Some(greeting) = &s.state.greeting else {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "send EHLO or HELO first"));
        return s.bad_command();
    };
    let extended = greeting.extended;
    if s.state.transaction.is_some() {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "nested MAIL command"));
        return s.bad_command();
    }
    let uses_extensions = mail.size.is_some()
        || mail.body.is_some()
        || mail.smtputf8
        || mail.ret.is_some()
        || mail.envid.is_some()
        || mail.requiretls;
    if uses_extensions && !extended {
        s.conn.reply(&rep(
            codes::C555_UNKNOWN_PARAMETER,
            "parameters need EHLO, not HELO",
        ));
        return s.bad_command();
    }
    if mail.requiretls && s.tls.is_none() {
        // RFC 8689 §4.1: REQUIRETLS is only offered, and only valid, over TLS.
        s.conn.reply(&rep(
            codes::C530_REQUIRETLS_NEEDS_TLS,
            "REQUIRETLS needs TLS",
        ));
        return s.bad_command();
    }
    if let Some(size) = mail.size
        && size > s.server.config.max_message_size
    {
        s.conn.reply(&rep(
            codes::C552_MESSAGE_TOO_BIG,
            format!(
                "message size exceeds the limit of {} octets",
                s.server.config.max_message_size
            ),
        ));
        return Flow::Continue;
    }
    if mail.body == Some(Body::BinaryMime) {
        s.conn.reply(&rep(
            codes::C555_UNKNOWN_PARAMETER,
            "BINARYMIME is not supported",
        ));
        return s.bad_command();
    }
    // RFC 6531 §3.4: a UTF-8 address needs SMTPUTF8 on MAIL.
    if let ReversePath::Path(p) = &mail.reverse_path
        && !mail.smtputf8
        && (!p.local_part.is_ascii() || !p.domain.is_ascii())
    {
        s.conn.reply(&rep(
            codes::C553_SMTPUTF8_REQUIRED,
            "UTF-8 sender address without SMTPUTF8",
        ));
        return s.bad_command();
    }
    if s.submission() {
        match submission_checks(s, &mail.reverse_path).await {
            Ok(None) => {}
            Ok(Some(flow)) => return flow,
            Err(e) => return temporary(s, e),
        }
    } else if !s.server.ip_rate.allows(s.remote.ip()) {
        // MX: a client sending more than its hourly budget waits (RFC 5321 §4.2.5: 450).
        tracing::info!("message rate limit of the client address reached");
        s.conn.reply(&rep(
            codes::C450_RATE_LIMITED,
            "too many messages from your address, try later",
        ));
        return Flow::Continue;
    }
    tracing::debug!(from = %display_reverse_path(&mail.reverse_path), "MAIL");
    s.state.transaction = Some(Transaction {
        mail,
        recipients: Vec::new(),
        body_mode: BodyMode::None,
        chunks: Vec::new(),
        too_big: false,
    });
    s.conn.reply(&rep(codes::C250_SENDER_OK, "sender ok"));
    Flow::Continue
}

/// Submission: AUTH (or a relay network), the sending rate, and that the reverse path is
/// the account's (the null reverse path is allowed: a client may send a notification).
/// `Some(flow)` when the command was refused (the reply is queued).
async fn submission_checks(
    s: &mut Session,
    reverse_path: &ReversePath,
) -> Result<Option<Flow>, mailstead_directory::DirectoryError> {
    let Some(account) = s.state.account.clone() else {
        if s.relay_client {
            // A trusted network (Postfix `mynetworks`): no login, no ownership check.
            return Ok(None);
        }
        // RFC 6409 §4.3 / RFC 4954 §6: 530 5.7.0 authentication required.
        s.conn
            .reply(&rep(codes::C530_AUTH_REQUIRED, "Authentication required"));
        return Ok(Some(s.bad_command()));
    };
    if !s.server.send_rate.allows(account.id) {
        tracing::info!(account = %account.address, "sending rate limit reached");
        s.conn.reply(&rep(
            codes::C450_RATE_LIMITED,
            "sending rate limit exceeded, try later",
        ));
        return Ok(Some(Flow::Continue));
    }
    if let ReversePath::Path(path) = reverse_path {
        let sender = path.to_string();
        if !crate::submit::may_send_as(&s.server, &account, &sender).await? {
            tracing::info!(account = %account.address, from = %sender, "sender address refused");
            s.conn.reply(&rep(
                codes::C553_SENDER_NOT_ALLOWED,
                format!(
                    "<{sender}>: sender address not owned by {}",
                    account.address
                ),
            ));
            return Ok(Some(s.bad_command()));
        }
    }
    Ok(None)
}

/// `<>` or `<local@domain>` for logs and the Return-Path header.
pub(crate) fn display_reverse_path(p: &ReversePath) -> String {
    match p {
        ReversePath::Null => "<>".into(),
        ReversePath::Path(p) => format!("<{p}>"),
    }
}
