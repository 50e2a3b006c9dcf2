//! STARTTLS (RFC 3207).

use mailstead_smtp_proto::codes;

use super::rep;
use crate::session::{End, Flow, Session};
use crate::state::State;

/// Upgrades the connection; afterwards the session starts over (§4.2: forget EHLO and any
/// transaction; the client must send EHLO again).
pub(crate) async fn starttls(s: &mut Session) -> Result<Flow, End> {
    let Some(config) = s.server.tls.clone() else {
        s.conn
            .reply(&rep(codes::C454_TLS_UNAVAILABLE, "TLS not available"));
        return Ok(Flow::Continue);
    };
    if s.tls.is_some() {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "TLS already active"));
        return Ok(s.bad_command());
    }
    s.conn
        .reply(&rep(codes::C220_READY_FOR_TLS, "ready to start TLS"));
    let info = s
        .conn
        .upgrade(config, s.server.config.command_timeout)
        .await?;
    tracing::debug!(version = %info.version, cipher = %info.cipher, "TLS established");
    s.tls = Some(info);
    let bad = s.state.bad_commands;
    s.state = State::default();
    s.state.bad_commands = bad;
    Ok(Flow::Continue)
}
