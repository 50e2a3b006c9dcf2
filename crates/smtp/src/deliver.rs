//! Local delivery: trace headers, one blob, one message row per recipient mailbox.
//!
//! Order (design invariant 1): the blob is written and fsynced first, then every INBOX
//! row is committed in one store transaction, and only then does the caller answer `250`.
//! A crash before the commit leaves at most an unreferenced blob (collected later), never
//! a row without its blob or an acknowledged message without rows.

use std::net::SocketAddr;

use mailstead_store::model::{Flags, NewMessage, unix_now};
use mailstead_types::{AccountId, MailboxId};

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

    let blob_id = server.stores.blobs.put(&message).await?;
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
            },
        ));
    }
    meta.append_messages(&targets).await?;
    tracing::info!(
        msg_id = %id,
        from = %mail_display_reverse_path(&tx.mail.reverse_path),
        recipients = tx.recipients.len(),
        size = message.len(),
        "delivered"
    );
    Ok(id)
}
