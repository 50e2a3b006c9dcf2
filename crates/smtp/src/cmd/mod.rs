//! Command dispatch: one module per command family.

mod auth;
mod data;
mod ehlo;
mod mail;
mod misc;
mod rcpt;
mod starttls;

use mailstead_smtp_proto::{Command, Reply, codes};

use crate::session::{End, Flow, Session};

pub(crate) use mail::display_reverse_path as mail_display_reverse_path;

/// Builds a reply from a code constant and a text.
pub(crate) fn rep(code: codes::ReplyCode, text: impl AsRef<str>) -> Reply {
    Reply::from_code(code, text)
}

/// Runs one parsed command.
pub(crate) async fn handle(s: &mut Session, command: Command) -> Result<Flow, End> {
    match command {
        Command::Ehlo { domain } => Ok(ehlo::ehlo(s, domain, true)),
        Command::Helo { domain } => Ok(ehlo::ehlo(s, domain, false)),
        Command::Mail(mail) => Ok(mail::mail(s, mail).await),
        Command::Rcpt(rcpt) => rcpt::rcpt(s, rcpt).await,
        Command::Data => data::data(s).await,
        Command::Bdat { chunk_size, last } => data::bdat(s, chunk_size, last).await,
        Command::Rset => {
            s.state.reset_transaction();
            s.conn.reply(&rep(codes::C250_OK, "reset"));
            Ok(Flow::Continue)
        }
        Command::Noop => {
            s.conn.reply(&rep(codes::C250_OK, "ok"));
            Ok(Flow::Continue)
        }
        Command::Quit => {
            let bye = format!("{} closing connection", s.server.config.hostname);
            s.conn.reply(&rep(codes::C221_BYE, bye));
            Ok(Flow::Close)
        }
        Command::Vrfy { .. } => Ok(misc::vrfy(s)),
        Command::Expn { .. } => Ok(misc::expn(s)),
        Command::Help { .. } => Ok(misc::help(s)),
        Command::StartTls => starttls::starttls(s).await,
        Command::Auth {
            mechanism,
            initial_response,
        } => {
            if s.submission() {
                auth::auth(s, &mechanism, initial_response).await
            } else {
                Ok(misc::auth(s))
            }
        }
    }
}
