//! The end of a transaction: trace headers (RFC 5321 §4.4), what submission adds
//! (`submit`), and the hand-over to the queue ([`mailstead_queue::Queue::accept`]), which
//! writes the blob, the local copies, the success DSNs they owe and the queued copies in
//! one transaction before the session may answer `250` (design invariant 1).
//!
//! `Return-Path` is a final-delivery field (RFC 5321 §4.4: added by the server that
//! delivers the message, and a message sent on "SHOULD NOT" carry one): the queue puts it
//! on local copies only.
//!
//! On the MX, with a filter, the message is judged first ([`mailstead_spam::Filter`]):
//! `Authentication-Results` fields claiming our host name are removed (RFC 8601 §5), the
//! checks run, the action may refuse it (`550`/`451`), our own `Authentication-Results`
//! goes above our `Received`, and each recipient account gets its `X-Spam-*` fields,
//! mailbox (INBOX or Junk) and flags.

use std::net::SocketAddr;

use std::collections::HashMap;

use mailstead_queue::{Accepted, Incoming, LocalCopy, LocalRecipient, RemoteRecipient};
use mailstead_smtp_proto::{Body, EnhancedCode, Notify, Reply, Ret, ReversePath};
use mailstead_store::model::{Account, DsnRet, NotifyFlags, OriginalRecipient};

use crate::SmtpServer;
use crate::cmd::mail_display_reverse_path;
use crate::session::TlsInfo;
use crate::state::{Recipient, Route, Transaction};

/// Facts about the session that go into the Received header.
pub(crate) struct Context {
    /// HELO/EHLO name.
    pub helo: String,
    /// EHLO rather than HELO.
    pub extended: bool,
    /// Client address.
    pub remote: SocketAddr,
    /// TLS, if any.
    pub tls: Option<TlsInfo>,
    /// The submitting account (after AUTH), if any.
    pub account: Option<Account>,
}

/// Why a delivery failed (always temporary for the client: 451).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliverError {
    /// The queue (store, signing) failed.
    #[error(transparent)]
    Queue(#[from] mailstead_queue::QueueError),
    /// A directory lookup failed.
    #[error(transparent)]
    Directory(#[from] mailstead_directory::DirectoryError),
}

/// How the end of a transaction went.
pub(crate) enum Outcome {
    /// Durable: answer `250` with `id`, the id of our Received field (the queue logs its
    /// own id for the message next to it).
    Accepted {
        /// The Received id.
        id: String,
        /// What the queue did.
        accepted: Accepted,
    },
    /// Refused by policy (submission's checks): answer this, nothing was stored.
    Refused(Reply),
}

/// Keeps what a client put in HELO printable and bounded before it goes into a header.
fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | ';' | '\\'))
        .take(255)
        .collect()
}

/// `with` keyword of RFC 3848 / RFC 6531 §4.3: `S` for TLS, `A` for an authenticated
/// client.
fn protocol(ctx: &Context, tx: &Transaction) -> String {
    let base = match (tx.mail.smtputf8, ctx.extended) {
        (true, _) => "UTF8SMTP",
        (false, true) => "ESMTP",
        (false, false) => return "SMTP".into(),
    };
    let mut p = base.to_string();
    if ctx.tls.is_some() {
        p.push('S');
    }
    if ctx.account.is_some() {
        p.push('A');
    }
    p
}

/// The `Return-Path` line (RFC 5321 §4.4).
pub(crate) fn return_path(tx: &Transaction) -> String {
    format!(
        "Return-Path: {}\r\n",
        mail_display_reverse_path(&tx.mail.reverse_path)
    )
}

/// The `Received` field (RFC 5321 §4.4) prepended to the message.
pub(crate) fn received(
    hostname: &str,
    id: &str,
    ctx: &Context,
    tx: &Transaction,
    now: time::OffsetDateTime,
) -> String {
    let date = now
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let ip = match ctx.remote.ip() {
        std::net::IpAddr::V4(v4) => format!("[{v4}]"),
        std::net::IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    };
    let mut h = format!(
        "Received: from {} ({ip})\r\n\tby {hostname} (mailstead) with {} id {id}",
        sanitize(&ctx.helo),
        protocol(ctx, tx)
    );
    if let Some(tls) = &ctx.tls {
        h.push_str(&format!(
            "\r\n\t(version={} cipher={})",
            tls.version, tls.cipher
        ));
    }
    // As Postfix does: name the recipient only when there is one, so one copy serves all.
    if let [only] = tx.recipients.as_slice() {
        h.push_str(&format!("\r\n\tfor <{}>", only.address));
    }
    h.push_str(&format!("; {date}\r\n"));
    h
}

/// `NOTIFY=` as the store keeps it.
fn notify_flags(notify: Option<Notify>) -> NotifyFlags {
    match notify {
        None => NotifyFlags::UNSET,
        Some(n) if n.is_never() => NotifyFlags::NEVER,
        Some(n) => [
            (n.success, NotifyFlags::SUCCESS),
            (n.failure, NotifyFlags::FAILURE),
            (n.delay, NotifyFlags::DELAY),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(NotifyFlags::UNSET, |acc, (_, f)| acc.union(f)),
    }
}

/// `ORCPT=` as the store keeps it.
fn original_recipient(r: &Recipient) -> Option<OriginalRecipient> {
    r.rcpt.orcpt.as_ref().map(|o| OriginalRecipient {
        addr_type: o.addr_type.clone(),
        address: o.address.clone(),
    })
}

/// The recipients sorted by route: local, remote, forwarded.
fn routes(
    tx: &Transaction,
) -> (
    Vec<LocalRecipient>,
    Vec<RemoteRecipient>,
    Vec<RemoteRecipient>,
) {
    let (mut local, mut remote, mut forwarded) = (Vec::new(), Vec::new(), Vec::new());
    for r in &tx.recipients {
        let notify = notify_flags(r.rcpt.notify);
        match &r.route {
            Route::Local {
                accounts,
                forwarded: external,
            } => {
                if !accounts.is_empty() {
                    local.push(LocalRecipient {
                        address: r.address.clone(),
                        accounts: accounts.clone(),
                        notify,
                        original_recipient: original_recipient(r),
                    });
                }
                for address in external {
                    // Without an ORCPT, the alias as accepted becomes it, so a DSN about
                    // the forwarded copy names the address the sender used (RFC 3461
                    // §4.2 leaves supplying one to the MTA that expands the address).
                    forwarded.push(RemoteRecipient {
                        address: address.clone(),
                        notify,
                        original_recipient: original_recipient(r).or_else(|| {
                            Some(OriginalRecipient {
                                addr_type: "rfc822".into(),
                                address: r.address.clone(),
                            })
                        }),
                    });
                }
            }
            Route::Remote(address) => remote.push(RemoteRecipient {
                address: address.clone(),
                notify,
                original_recipient: original_recipient(r),
            }),
        }
    }
    (local, remote, forwarded)
}

/// Completes the transaction with the received `body`: submission's checks and
/// additions, trace headers, then [`mailstead_queue::Queue::accept`].
pub(crate) async fn deliver(
    server: &SmtpServer,
    tx: &Transaction,
    ctx: &Context,
    body: Vec<u8>,
) -> Result<Outcome, DeliverError> {
    let (local, remote, forwarded) = routes(tx);
    let id = format!("{:016X}", rand::random::<u64>());
    let now = time::OffsetDateTime::now_utc();
    let received = received(&server.config.hostname, &id, ctx, tx, now);
    let mut message = Vec::with_capacity(received.len() + body.len() + 512);
    let mut local_copies = HashMap::new();
    if server.config.role == crate::Role::Submission {
        let prepared =
            match crate::submit::prepare(server, ctx.account.as_ref(), &body, now).await? {
                Ok(p) => p,
                Err(refusal) => return Ok(Outcome::Refused(refusal)),
            };
        let mut unsigned = Vec::with_capacity(received.len() + prepared.added.len() + body.len());
        unsigned.extend_from_slice(received.as_bytes());
        unsigned.extend_from_slice(prepared.added.as_bytes());
        unsigned.extend_from_slice(&body);
        drop(body);
        // Signed as it will be sent, the signature itself excepted (RFC 6376 §5.4).
        let signature = match &prepared.signing_domain {
            Some(domain) => server.queue.dkim_sign(domain, &unsigned).await?,
            None => Vec::new(),
        };
        message.extend_from_slice(&signature);
        message.extend_from_slice(&unsigned);
    } else if let Some(filter) = &server.filter {
        // RFC 8601 §5: results claiming to be ours did not come from us.
        let body = match mailstead_mailauth::strip_own_results(&body, &server.config.hostname) {
            std::borrow::Cow::Borrowed(_) => body,
            std::borrow::Cow::Owned(stripped) => stripped,
        };
        let mail_from = match &tx.mail.reverse_path {
            ReversePath::Null => String::new(),
            ReversePath::Path(p) => p.to_string(),
        };
        let judgement = filter
            .judge(&mailstead_spam::filter::Input {
                message: &body,
                remote_ip: ctx.remote.ip(),
                helo: &ctx.helo,
                mail_from: &mail_from,
                hostname: &server.config.hostname,
            })
            .await;
        let score = judgement.verdict.as_ref().map(|v| v.score);
        match &judgement.action {
            mailstead_spam::Action::Accept => {}
            mailstead_spam::Action::Reject { status, text } => {
                tracing::info!(msg_id = %id, from = %mail_display_reverse_path(&tx.mail.reverse_path), ?score, reason = %text, "rejected");
                let (c, sub, det) = *status;
                return Ok(Outcome::Refused(Reply::new(
                    550,
                    Some(EnhancedCode(c, sub, det)),
                    text,
                )));
            }
            mailstead_spam::Action::Defer { status, text } => {
                tracing::info!(msg_id = %id, ?score, reason = %text, "deferred");
                let (c, sub, det) = *status;
                return Ok(Outcome::Refused(Reply::new(
                    451,
                    Some(EnhancedCode(c, sub, det)),
                    text,
                )));
            }
        }
        for r in &local {
            for account in &r.accounts {
                if local_copies.contains_key(account) {
                    continue;
                }
                let copy = filter.copy_for(&judgement, *account).await;
                local_copies.insert(
                    *account,
                    LocalCopy {
                        headers: copy.headers,
                        junk: copy.junk,
                        seen: copy.seen,
                    },
                );
            }
        }
        tracing::info!(
            msg_id = %id,
            ?score,
            junk = local_copies.values().filter(|c| c.junk).count(),
            "judged"
        );
        message.extend_from_slice(
            judgement
                .auth
                .header(&server.config.hostname, ctx.remote.ip())
                .as_bytes(),
        );
        message.extend_from_slice(received.as_bytes());
        message.extend_from_slice(&body);
    } else {
        message.extend_from_slice(received.as_bytes());
        message.extend_from_slice(&body);
        drop(body);
    }
    let incoming = Incoming {
        message,
        mail_from: match &tx.mail.reverse_path {
            ReversePath::Null => String::new(),
            ReversePath::Path(p) => p.to_string(),
        },
        envid: tx.mail.envid.clone(),
        ret: tx.mail.ret.map(|r| match r {
            Ret::Full => DsnRet::Full,
            Ret::Hdrs => DsnRet::Hdrs,
        }),
        body_8bit: tx.mail.body == Some(Body::EightBitMime),
        smtputf8: tx.mail.smtputf8,
        requiretls: tx.mail.requiretls,
        submitter: ctx.account.as_ref().map(|a| a.id),
        local,
        remote,
        forwarded,
        return_path: Some(return_path(tx)),
        local_copies,
    };
    let accepted = server.queue.accept(incoming).await?;
    tracing::info!(
        msg_id = %id,
        queue_id = %accepted.id,
        from = %mail_display_reverse_path(&tx.mail.reverse_path),
        recipients = tx.recipients.len(),
        delivered = accepted.delivered,
        queued = accepted.queued,
        "accepted"
    );
    Ok(Outcome::Accepted { id, accepted })
}
