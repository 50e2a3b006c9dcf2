//! RCPT TO (RFC 5321 §4.1.1.3): only local recipients on this listener (no open relay).

use mailstead_smtp_proto::{RcptTo, codes};
use mailstead_types::Address;

use super::rep;
use crate::SmtpServer;
use crate::session::{End, Flow, Session};
use crate::state::Recipient;

/// Checks and records a recipient.
pub(crate) async fn rcpt(s: &mut Session, rcpt: RcptTo) -> Result<Flow, End> {
    let Some(tx) = &s.state.transaction else {
        s.conn
            .reply(&rep(codes::C503_BAD_SEQUENCE, "send MAIL first"));
        return Ok(s.bad_command());
    };
    if tx.recipients.len() >= s.server.config.max_recipients {
        // RFC 5321 §4.5.3.1.10: 452 for too many recipients; the client sends the rest later.
        s.conn
            .reply(&rep(codes::C452_TOO_MANY_RECIPIENTS, "too many recipients"));
        return Ok(Flow::Continue);
    }
    // As for MAIL: DSN parameters (RFC 3461) exist only after EHLO.
    let extended = s.state.greeting.as_ref().is_some_and(|g| g.extended);
    if !extended && (rcpt.notify.is_some() || rcpt.orcpt.is_some()) {
        s.conn.reply(&rep(
            codes::C555_UNKNOWN_PARAMETER,
            "parameters need EHLO, not HELO",
        ));
        return Ok(s.bad_command());
    }
    let smtputf8 = tx.mail.smtputf8;
    let path = &rcpt.forward_path;
    if !smtputf8 && (!path.local_part.is_ascii() || !path.domain.is_ascii()) {
        s.conn.reply(&rep(
            codes::C553_SMTPUTF8_REQUIRED,
            "UTF-8 recipient without SMTPUTF8",
        ));
        return Ok(s.bad_command());
    }
    let address = match recipient_address(&s.server, &rcpt).await {
        Ok(Target::Local(a)) => a,
        Ok(Target::NotLocal) => {
            s.conn
                .reply(&rep(codes::C554_RELAY_DENIED, "relay access denied"));
            return Ok(s.bad_command());
        }
        Ok(Target::Impossible) => {
            s.conn.reply(&rep(codes::C550_NO_SUCH_USER, "no such user"));
            return Ok(s.bad_command());
        }
        Err(e) => return Ok(temporary(s, e)),
    };
    let mut resolution = match s.server.directory.resolve_recipient(&address).await {
        Ok(r) => r,
        Err(e) => return Ok(temporary(s, e)),
    };
    if resolution.is_empty() && address.local_part() == "postmaster" {
        // RFC 5321 §4.5.1: postmaster must be accepted for every domain we serve. With no
        // account or alias of that name, the global administrators receive it.
        match s.server.stores.meta.list_accounts(None).await {
            Ok(all) => {
                resolution.accounts = all
                    .into_iter()
                    .filter(|a| a.global_admin && a.enabled)
                    .collect();
            }
            Err(e) => return Ok(temporary(s, e)),
        }
    }
    if resolution.is_empty() {
        s.conn.reply(&rep(
            codes::C550_NO_SUCH_USER,
            format!("<{address}>: no such user"),
        ));
        return Ok(s.bad_command());
    }
    if !resolution.external.is_empty() {
        // Forwarding to external addresses needs the outbound queue (#5). The directory
        // refuses such aliases; one that exists anyway (written past it) is deferred, so
        // the sender retries and nothing is dropped.
        tracing::warn!(rcpt = %address, "alias has external destinations; deferring");
        s.conn.reply(&rep(
            codes::C451_LOCAL_ERROR,
            "forwarding to external addresses is not available yet",
        ));
        return Ok(Flow::Continue);
    }
    if resolution.accounts.is_empty() {
        s.conn.reply(&rep(
            codes::C550_MAILBOX_DISABLED,
            format!("<{address}>: mailbox disabled"),
        ));
        return Ok(s.bad_command());
    }
    // Quota: refuse (temporarily) only when every account this address reaches is full;
    // mail for the others must not wait for one full mailbox.
    let mut room = false;
    for account in &resolution.accounts {
        match account.quota_bytes {
            None => room = true,
            Some(quota) => match s.server.stores.meta.account_usage(account.id).await {
                Ok(used) if used < quota => room = true,
                Ok(_) => {}
                Err(e) => return Ok(temporary(s, e)),
            },
        }
    }
    if !room {
        s.conn.reply(&rep(
            codes::C452_INSUFFICIENT_STORAGE,
            format!("<{address}>: mailbox full"),
        ));
        return Ok(Flow::Continue);
    }
    tracing::debug!(rcpt = %address, accounts = resolution.accounts.len(), "RCPT");
    if let Some(tx) = s.state.transaction.as_mut() {
        tx.recipients.push(Recipient {
            address,
            accounts: resolution.accounts,
            rcpt,
        });
    }
    s.conn.reply(&rep(codes::C250_RECIPIENT_OK, "recipient ok"));
    Ok(Flow::Continue)
}

/// Where a recipient path points.
enum Target {
    /// A normalised address in a local domain.
    Local(Address),
    /// A domain that is not ours (or an address literal): relaying.
    NotLocal,
    /// A local domain, but a local part no account or alias can have (quoted, odd).
    Impossible,
}

/// Classifies a recipient path. `RCPT TO:<Postmaster>` (no domain, RFC 5321 §4.5.1) is the
/// postmaster of the first hosted domain.
async fn recipient_address(
    server: &SmtpServer,
    rcpt: &RcptTo,
) -> Result<Target, mailstead_store::StoreError> {
    let path = &rcpt.forward_path;
    if path.domain.is_empty() {
        let domains = server.stores.meta.list_domains().await?;
        return Ok(domains
            .into_iter()
            .next()
            .and_then(|d| Address::new("postmaster", d.name).ok())
            .map_or(Target::NotLocal, Target::Local));
    }
    let Ok(domain) = path.domain.parse::<mailstead_types::Domain>() else {
        return Ok(Target::NotLocal); // address literals and malformed names are never local
    };
    let Some(local_domain) = server.stores.meta.resolve_domain(&domain).await? else {
        return Ok(Target::NotLocal);
    };
    Ok(match Address::new(&path.local_part, local_domain.name) {
        Ok(a) => Target::Local(a),
        Err(_) => Target::Impossible,
    })
}

/// Logs a store failure once and answers 451.
pub(crate) fn temporary(s: &mut Session, e: impl std::error::Error) -> Flow {
    tracing::error!(error = %e, "temporary failure");
    s.conn.reply(&rep(
        codes::C451_LOCAL_ERROR,
        "temporary local problem, try again later",
    ));
    Flow::Continue
}
