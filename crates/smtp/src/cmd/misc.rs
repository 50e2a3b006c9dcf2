//! VRFY, EXPN, HELP, and AUTH on the MX listener (submission: `auth`).

use mailstead_smtp_proto::codes;

use super::rep;
use crate::session::{Flow, Session};

/// VRFY: never confirm addresses (RFC 5321 §3.5.3 allows 252; it keeps harvesters blind).
pub(crate) fn vrfy(s: &mut Session) -> Flow {
    s.conn.reply(&rep(
        codes::C252_CANNOT_VRFY,
        "cannot verify the user, but will accept the message and attempt delivery",
    ));
    Flow::Continue
}

/// EXPN: lists are not disclosed.
pub(crate) fn expn(s: &mut Session) -> Flow {
    s.conn
        .reply(&rep(codes::C502_NOT_IMPLEMENTED, "EXPN is not available"));
    Flow::Continue
}

/// HELP: a pointer, as RFC 5321 §4.1.1.8 asks.
pub(crate) fn help(s: &mut Session) -> Flow {
    s.conn.reply(&rep(
        codes::C214_HELP,
        "mailstead: commands EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS; see RFC 5321",
    ));
    Flow::Continue
}

/// AUTH: the MX listener takes no logins (submission is a separate listener).
pub(crate) fn auth(s: &mut Session) -> Flow {
    s.conn.reply(&rep(
        codes::C502_NOT_IMPLEMENTED,
        "authentication is not available on this port; use submission",
    ));
    s.bad_command()
}
