//! RCPT TO (RFC 5321 §4.1.1.3). On the MX only local recipients (no open relay), plus
//! bounces to our SRS addresses, which are sent on; on submission any destination
//! (RFC 6409 §4.3; MAIL checked the authorization), address literals excepted.
//!
//! A local address is expanded at once (`Directory::resolve_recipient`): its accounts get
//! the message in their INBOX, its external alias destinations get it forwarded.

use mailstead_queue::srs::Srs;
use mailstead_smtp_proto::{RcptTo, codes};
use mailstead_store::model::unix_now;
use mailstead_types::Address;

use super::rep;
use crate::SmtpServer;
use crate::session::{End, Flow, Session};
use crate::state::{Recipient, Route};

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
    let recipient = match classify(s, &rcpt).await {
        Ok(Ok(r)) => r,
        Ok(Err(refused)) => return Ok(refused),
        Err(e) => return Ok(temporary(s, e)),
    };
    if let Some(policy) = s.server.config.greylist
        && !s.submission()
    {
        match greylist(s, &recipient.address, &policy).await {
            Ok(None) => {}
            Ok(Some(flow)) => return Ok(flow),
            Err(e) => return Ok(temporary(s, e)),
        }
    }
    tracing::debug!(rcpt = %recipient.address, "RCPT");
    if let Some(tx) = s.state.transaction.as_mut() {
        tx.recipients.push(recipient);
    }
    s.conn.reply(&rep(codes::C250_RECIPIENT_OK, "recipient ok"));
    Ok(Flow::Continue)
}

/// The greylisting triplet (RFC 6647 §2.1): the client's network (IPv4 /24, IPv6 /64,
/// since big senders retry from another address of the same pool), the reverse path and
/// the recipient, lower-cased.
pub(crate) fn triplet(ip: std::net::IpAddr, mail_from: &str, rcpt: &str) -> String {
    let net = match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    };
    format!(
        "{net} {} {}",
        mail_from.to_ascii_lowercase(),
        rcpt.to_ascii_lowercase()
    )
}

/// Greylisting of one recipient on the MX: `Some(flow)` when deferred (reply queued).
/// Loopback clients and postmaster (RFC 5321 §4.5.1 wants its mail to arrive) are never
/// greylisted.
async fn greylist(
    s: &mut Session,
    rcpt: &str,
    policy: &mailstead_store::model::GreylistPolicy,
) -> Result<Option<Flow>, mailstead_store::StoreError> {
    if s.remote.ip().is_loopback() && !s.server.config.greylist_loopback {
        return Ok(None);
    }
    if rcpt
        .split('@')
        .next()
        .is_some_and(|l| l.eq_ignore_ascii_case("postmaster"))
    {
        return Ok(None);
    }
    let from = match s.state.transaction.as_ref().map(|t| &t.mail.reverse_path) {
        Some(mailstead_smtp_proto::ReversePath::Path(p)) => p.to_string(),
        _ => String::new(),
    };
    let key = triplet(s.remote.ip(), &from, rcpt);
    match s
        .server
        .stores
        .meta
        .greylist_check(&key, unix_now(), policy)
        .await?
    {
        mailstead_store::model::GreylistOutcome::Pass => Ok(None),
        mailstead_store::model::GreylistOutcome::Defer { retry_after } => {
            tracing::info!(rcpt = %rcpt, retry_after, "greylisted");
            s.conn.reply(&rep(
                codes::C451_GREYLISTED,
                format!("greylisted, please try again in {retry_after} seconds"),
            ));
            Ok(Some(Flow::Continue))
        }
    }
}

/// A lookup failed: the client is told 451 and tries again later.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LookupError {
    /// The store.
    #[error(transparent)]
    Store(#[from] mailstead_store::StoreError),
    /// The directory.
    #[error(transparent)]
    Directory(#[from] mailstead_directory::DirectoryError),
}

/// Decides where a recipient goes. `Ok(Err(flow))`: refused, the reply is queued.
async fn classify(s: &mut Session, rcpt: &RcptTo) -> Result<Result<Recipient, Flow>, LookupError> {
    let path = &rcpt.forward_path;
    let accepted = |address: String, route: Route| Recipient {
        address,
        route,
        rcpt: rcpt.clone(),
    };
    // A bounce to one of our SRS addresses (mail we forwarded): sent on to the original
    // sender once the address is verified, so forged ones cannot make us relay.
    if !path.domain.is_empty()
        && Srs::is_srs(&path.local_part)
        && is_our_domain(&s.server, &path.domain).await?
    {
        let day = (unix_now().max(0) as u64) / 86_400;
        return Ok(match s.server.queue.srs().reverse(&path.local_part, day) {
            Ok(original) => {
                tracing::debug!(rcpt = %path, to = %original, "SRS address reversed");
                Ok(accepted(path.to_string(), Route::Remote(original)))
            }
            Err(e) => {
                tracing::info!(rcpt = %path, error = %e, "SRS address refused");
                s.conn
                    .reply(&rep(codes::C550_NO_SUCH_USER, "invalid SRS address"));
                Err(s.bad_command())
            }
        });
    }
    if s.submission() && path.domain.starts_with('[') {
        s.conn.reply(&rep(
            codes::C550_BAD_DESTINATION_SYSTEM,
            "address literals are not accepted",
        ));
        return Ok(Err(s.bad_command()));
    }
    let address = match recipient_address(&s.server, rcpt).await? {
        Target::Local(a) => a,
        Target::NotLocal if s.submission() => {
            // RFC 6409 §4.3: an authorized submission may go anywhere (MAIL checked the
            // authorization).
            if path.domain.parse::<mailstead_types::Domain>().is_err() {
                s.conn.reply(&rep(
                    codes::C501_BAD_RECIPIENT,
                    "invalid destination domain",
                ));
                return Ok(Err(s.bad_command()));
            }
            return Ok(Ok(accepted(
                path.to_string(),
                Route::Remote(path.to_string()),
            )));
        }
        Target::NotLocal => {
            s.conn
                .reply(&rep(codes::C554_RELAY_DENIED, "relay access denied"));
            return Ok(Err(s.bad_command()));
        }
        Target::Impossible => {
            s.conn.reply(&rep(codes::C550_NO_SUCH_USER, "no such user"));
            return Ok(Err(s.bad_command()));
        }
    };
    let mut resolution = s.server.directory.resolve_recipient(&address).await?;
    if resolution.is_empty() && address.local_part() == "postmaster" {
        // RFC 5321 §4.5.1: postmaster must be accepted for every domain we serve. With no
        // account or alias of that name, the global administrators receive it.
        let all = s.server.stores.meta.list_accounts(None).await?;
        resolution.accounts = all
            .into_iter()
            .filter(|a| a.global_admin && a.enabled)
            .collect();
    }
    if resolution.is_empty() {
        s.conn.reply(&rep(
            codes::C550_NO_SUCH_USER,
            format!("<{address}>: no such user"),
        ));
        return Ok(Err(s.bad_command()));
    }
    if resolution.accounts.is_empty() && resolution.external.is_empty() {
        s.conn.reply(&rep(
            codes::C550_MAILBOX_DISABLED,
            format!("<{address}>: mailbox disabled"),
        ));
        return Ok(Err(s.bad_command()));
    }
    // Quota: refuse (temporarily) only when every account this address reaches is full
    // and nothing is forwarded; mail for the others must not wait for one full mailbox.
    let mut room = !resolution.external.is_empty();
    let mut accounts = resolution.accounts.iter();
    while !room && let Some(account) = accounts.next() {
        room = match account.quota_bytes {
            None => true,
            Some(quota) => s.server.stores.meta.account_usage(account.id).await? < quota,
        };
    }
    if !room {
        s.conn.reply(&rep(
            codes::C452_INSUFFICIENT_STORAGE,
            format!("<{address}>: mailbox full"),
        ));
        return Ok(Err(Flow::Continue));
    }
    if !resolution.external.is_empty() {
        // External alias destinations are forwarded by the queue, the sender rewritten
        // with SRS so that SPF passes at the destination.
        tracing::debug!(rcpt = %address, forwarded = resolution.external.len(), "forwarding");
    }
    Ok(Ok(accepted(
        address.to_string(),
        Route::Local {
            accounts: resolution.accounts.iter().map(|a| a.id).collect(),
            forwarded: resolution.external.iter().map(|a| a.to_string()).collect(),
        },
    )))
}

/// Whether `domain` (as sent in a path) is our host name or a local domain.
async fn is_our_domain(
    server: &SmtpServer,
    domain: &str,
) -> Result<bool, mailstead_store::StoreError> {
    if domain.eq_ignore_ascii_case(&server.config.hostname) {
        return Ok(true);
    }
    let Ok(domain) = domain.parse::<mailstead_types::Domain>() else {
        return Ok(false);
    };
    Ok(server.stores.meta.resolve_domain(&domain).await?.is_some())
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
