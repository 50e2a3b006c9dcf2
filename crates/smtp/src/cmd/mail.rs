//! MAIL FROM (RFC 5321 §4.1.1.2) with SIZE, BODY, SMTPUTF8, RET, ENVID parameters.

use mailstead_smtp_proto::{Body, MailFrom, ReversePath, codes};

use super::rep;
use crate::session::{Flow, Session};
use crate::state::{BodyMode, Transaction};

/// Starts a transaction.
pub(crate) fn mail(s: &mut Session, mail: MailFrom) -> Flow {
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
        || mail.envid.is_some();
    if uses_extensions && !extended {
        s.conn.reply(&rep(
            codes::C555_UNKNOWN_PARAMETER,
            "parameters need EHLO, not HELO",
        ));
        return s.bad_command();
    }
    if mail.requiretls {
        s.conn.reply(&rep(
            codes::C555_UNKNOWN_PARAMETER,
            "REQUIRETLS is not supported",
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

/// `<>` or `<local@domain>` for logs and the Return-Path header.
pub(crate) fn display_reverse_path(p: &ReversePath) -> String {
    match p {
        ReversePath::Null => "<>".into(),
        ReversePath::Path(p) => format!("<{p}>"),
    }
}
