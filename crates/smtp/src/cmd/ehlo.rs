//! EHLO and HELO (RFC 5321 §4.1.1.1): greeting, capability list, implicit reset.
//!
//! The list depends on the session: STARTTLS until TLS is up (RFC 3207), AUTH on
//! submission once it may be used (RFC 4954 §4: never in clear), REQUIRETLS only over
//! TLS (RFC 8689 §4).

use mailstead_smtp_proto::{EhloResponse, codes};

use super::rep;
use crate::session::{Flow, Session};
use crate::state::Greeting;

/// Handles EHLO (`extended`) or HELO.
pub(crate) fn ehlo(s: &mut Session, domain: String, extended: bool) -> Flow {
    if domain.trim().is_empty() {
        s.conn.reply(&rep(
            codes::C501_SYNTAX,
            "a domain or address literal is required",
        ));
        return s.bad_command();
    }
    // §4.1.4: EHLO in the middle of a transaction resets it, as RSET would.
    s.state.reset_transaction();
    s.state.greeting = Some(Greeting {
        domain: domain.clone(),
        extended,
    });
    let hostname = s.server.config.hostname.clone();
    if !extended {
        // RFC 2034 §3: the HELO reply, like the EHLO reply, carries no enhanced code.
        s.conn
            .reply(&rep(codes::C250_EHLO, format!("{hostname} hello {domain}")));
        return Flow::Continue;
    }
    let mut capabilities = vec![
        "PIPELINING".to_string(),
        format!("SIZE {}", s.server.config.max_message_size),
        "8BITMIME".into(),
        "SMTPUTF8".into(),
        "CHUNKING".into(),
        "ENHANCEDSTATUSCODES".into(),
        "DSN".into(),
    ];
    if s.server.tls.is_some() && s.tls.is_none() {
        capabilities.push("STARTTLS".into());
    }
    if s.tls.is_some() {
        capabilities.push("REQUIRETLS".into());
    }
    if s.auth_allowed() {
        capabilities.push("AUTH PLAIN LOGIN".into());
    }
    capabilities.push("HELP".into());
    let response = EhloResponse {
        domain: hostname,
        greeting: format!("hello {domain} [{}]", s.remote.ip()),
        capabilities,
    };
    s.conn.reply(&response.encode());
    Flow::Continue
}
