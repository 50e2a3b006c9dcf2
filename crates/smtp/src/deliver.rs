//! Local delivery: trace headers, one blob, one message row per recipient mailbox, and the
//! DSN requests the delivery owes.
//!
//! Order (design invariant 1): the blob is written and fsynced first, then every INBOX
//! row and every DSN request is committed in one store transaction, and only then does the
//! caller answer `250`. A crash before the commit leaves at most an unreferenced blob
//! (collected later), never a row without its blob, an acknowledged message without rows,
//! or a delivered message whose requested notification is lost.
//!
//! DSNs (RFC 3461): failures of a local delivery are answered in the session (4xx/5xx), so
//! the only notification it can still owe is §6.2.2's "delivered", for each accepted RCPT
//! whose `NOTIFY=` includes `SUCCESS`. That request is stored with the message (ENVID,
//! RET, ORCPT and all) for the outbound queue, which sends it (RFC 3464).

use std::net::SocketAddr;

use mailstead_smtp_proto::{Ret, ReversePath};
use mailstead_store::model::{
    DsnAction, DsnRet, Flags, MessageIndex, NewDsnRequest, NewMessage, OriginalRecipient, UnixTime,
    unix_now,
};
use mailstead_types::{AccountId, BlobId, MailboxId};

use crate::SmtpServer;
use crate::cmd::mail_display_reverse_path;
use crate::session::TlsInfo;
use crate::state::Transaction;

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
}

/// Why a delivery failed (always temporary for the client: 451).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliverError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mailstead_store::StoreError),
}

/// Keeps what a client put in HELO printable and bounded before it goes into a header.
fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | ';' | '\\'))
        .take(255)
        .collect()
}

/// `with` keyword of RFC 3848 / RFC 6531 §4.3.
fn protocol(ctx: &Context, tx: &Transaction) -> &'static str {
    match (tx.mail.smtputf8, ctx.extended, ctx.tls.is_some()) {
        (true, _, true) => "UTF8SMTPS",
        (true, _, false) => "UTF8SMTP",
        (false, true, true) => "ESMTPS",
        (false, true, false) => "ESMTP",
        (false, false, _) => "SMTP",
    }
}

/// The `Return-Path` and `Received` lines (RFC 5321 §4.4) prepended to the message.
pub(crate) fn trace_headers(
    hostname: &str,
    id: &str,
    ctx: &Context,
    tx: &Transaction,
    now: time::OffsetDateTime,
) -> String {
    let date = now
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let mut h = format!(
        "Return-Path: {}\r\n",
        mail_display_reverse_path(&tx.mail.reverse_path)
    );
    let ip = match ctx.remote.ip() {
        std::net::IpAddr::V4(v4) => format!("[{v4}]"),
        std::net::IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    };
    h.push_str(&format!(
        "Received: from {} ({ip})\r\n\tby {hostname} (mailstead) with {} id {id}",
        sanitize(&ctx.helo),
        protocol(ctx, tx)
    ));
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

/// The DSN requests a delivery of `tx` owes (RFC 3461 §6.2.2): one "delivered"
/// notification per accepted RCPT whose NOTIFY includes SUCCESS, in RCPT order, naming the
/// recipient as accepted. NOTIFY absent (which RFC 3461 §4.1 lets an MTA read as FAILURE
/// or FAILURE,DELAY) or without SUCCESS owes none, and so does a null reverse path: a DSN
/// is never sent to `<>` (RFC 3461 §6.2, RFC 5321 §4.5.5). An address that reached several
/// accounts (an alias) is reported `expanded` (RFC 3461 §6.2.7.3), one account `delivered`.
fn dsn_requests(tx: &Transaction, blob_id: BlobId, created_at: UnixTime) -> Vec<NewDsnRequest> {
    let mail_from = match &tx.mail.reverse_path {
        ReversePath::Null => return Vec::new(),
        ReversePath::Path(path) => path.to_string(),
    };
    let ret = tx.mail.ret.map(|ret| match ret {
        Ret::Full => DsnRet::Full,
        Ret::Hdrs => DsnRet::Hdrs,
    });
    let envid = tx.mail.envid.clone().filter(|e| storable("ENVID", e));
    tx.recipients
        .iter()
        .filter(|r| r.rcpt.notify.is_some_and(|n| n.success))
        .map(|r| NewDsnRequest {
            blob_id,
            mail_from: mail_from.clone(),
            envid: envid.clone(),
            ret,
            recipient: r.address.to_string(),
            original_recipient: r
                .rcpt
                .orcpt
                .as_ref()
                .filter(|o| storable("ORCPT", &o.address))
                .map(|o| OriginalRecipient {
                    addr_type: o.addr_type.clone(),
                    address: o.address.clone(),
                }),
            action: if r.accounts.len() > 1 {
                DsnAction::Expanded
            } else {
                DsnAction::Delivered
            },
            created_at,
        })
        .collect()
}

/// Whether a decoded DSN parameter can be stored. xtext can encode a NUL (`+00`), which
/// the store refuses (a PostgreSQL `TEXT` cannot hold one); such a value is dropped, since
/// it is optional in the DSN, rather than failing the whole delivery.
fn storable(name: &str, value: &str) -> bool {
    let ok = !value.contains('\0');
    if !ok {
        tracing::debug!(parameter = name, "DSN parameter holds a NUL; not stored");
    }
    ok
}

/// Stores the message for every recipient account. Returns the id used in logs and in
/// the Received header.
pub(crate) async fn deliver(
    server: &SmtpServer,
    tx: &Transaction,
    ctx: &Context,
    body: Vec<u8>,
) -> Result<String, DeliverError> {
    let id = format!("{:016X}", rand::random::<u64>());
    let headers = trace_headers(
        &server.config.hostname,
        &id,
        ctx,
        tx,
        time::OffsetDateTime::now_utc(),
    );
    let mut message = Vec::with_capacity(headers.len() + body.len());
    message.extend_from_slice(headers.as_bytes());
    message.extend_from_slice(&body);
    drop(body);

    // The IMAP index (summary, search text) is computed while the blob is written, and
    // committed with the message rows, so IMAP never reads the blob for ENVELOPE,
    // BODYSTRUCTURE or SEARCH.
    let message = std::sync::Arc::new(message);
    let for_index = message.clone();
    let indexing = tokio::task::spawn_blocking(move || {
        let indexed = mailstead_message::index(&for_index);
        std::sync::Arc::new(MessageIndex {
            summary: indexed.summary.to_stored(),
            header_text: indexed.header_text,
            body_text: indexed.body_text,
        })
    });
    let blob_id = server.stores.blobs.put(&message).await?;
    // A panic in the parser loses only the index (IMAP indexes the message later).
    let index = indexing.await.ok();
    let mut accounts: Vec<AccountId> = Vec::new();
    for r in &tx.recipients {
        for a in &r.accounts {
            if !accounts.contains(&a.id) {
                accounts.push(a.id);
            }
        }
    }
    let meta = &server.stores.meta;
    let mut targets: Vec<(MailboxId, NewMessage)> = Vec::with_capacity(accounts.len());
    let internal_date = unix_now();
    for account in accounts {
        let inbox = match meta.mailbox(account, "INBOX").await? {
            Some(m) => m,
            // INBOX cannot be deleted over IMAP, but a store edited by hand may lack it.
            None => meta.create_mailbox(account, "INBOX", None).await?,
        };
        targets.push((
            inbox.id,
            NewMessage {
                blob_id,
                size: message.len() as u64,
                internal_date,
                flags: Flags::EMPTY,
                keywords: Vec::new(),
                index: index.clone(),
            },
        ));
    }
    let dsn = dsn_requests(tx, blob_id, internal_date);
    meta.deliver(&targets, &dsn).await?;
    tracing::info!(
        msg_id = %id,
        from = %mail_display_reverse_path(&tx.mail.reverse_path),
        recipients = tx.recipients.len(),
        dsn_requests = dsn.len(),
        size = message.len(),
        "delivered"
    );
    Ok(id)
}
