//! Accepting a message: the blob, the IMAP index, the local copies, the success DSNs they
//! owe and the queued copies for other servers.
//!
//! Order (design invariant 1): the blob is written and fsynced first; then local rows, DSN
//! requests and queue rows are committed in ONE transaction
//! ([`mailstead_store::MetaStore::accept`]); only then does the session answer `250`. A
//! crash before the commit leaves at most an unreferenced blob, never a row without its
//! blob or an acknowledged message without its rows.

use std::sync::Arc;

use std::collections::HashMap;

use mailstead_store::model::{
    DsnAction, Flags, MessageIndex, NewDsnRequest, NewMessage, NewQueuedMessage, NotifyFlags,
    OriginalRecipient, SpecialUse, unix_now,
};
use mailstead_types::{AccountId, BlobId, MailboxId};

use crate::{Accepted, Incoming, LocalCopy, Queue, QueueError, RemoteRecipient};

/// A local recipient address with the accounts it reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRecipient {
    /// The address as accepted (the DSN's Final-Recipient).
    pub address: String,
    /// The accounts it resolved to (one for an account, several for an alias).
    pub accounts: Vec<AccountId>,
    /// `NOTIFY=`: with SUCCESS, a "delivered" DSN is owed (RFC 3461 §6.2.2).
    pub notify: NotifyFlags,
    /// `ORCPT=`.
    pub original_recipient: Option<OriginalRecipient>,
}

/// The queue id shown in replies and logs: 16 hex digits.
pub(crate) fn new_id() -> String {
    format!("{:016X}", rand::random::<u64>())
}

/// Whether a NUL-free text can be stored; xtext can carry a NUL (`+00`), which the store
/// refuses (a PostgreSQL `TEXT` cannot hold one). Such an optional value is dropped
/// rather than failing the whole message.
fn storable(value: &str) -> bool {
    !value.contains('\0')
}

fn clean_orcpt(o: &Option<OriginalRecipient>) -> Option<OriginalRecipient> {
    o.as_ref()
        .filter(|o| storable(&o.address) && storable(&o.addr_type))
        .cloned()
}

/// The IMAP index of a message, computed on a blocking thread (the parser is CPU work).
/// A panic in the parser loses only the index (IMAP indexes the message later).
async fn index_of(message: Arc<Vec<u8>>) -> Option<Arc<MessageIndex>> {
    tokio::task::spawn_blocking(move || {
        let indexed = mailstead_message::index(&message);
        Arc::new(MessageIndex {
            summary: indexed.summary.to_stored(),
            header_text: indexed.header_text,
            body_text: indexed.body_text,
        })
    })
    .await
    .ok()
}

/// The mailbox an account's copy goes to: INBOX, or the mailbox with the `\Junk` role
/// (by role, so a renamed Junk still works; a mailbox named "Junk" otherwise; created
/// if there is neither).
async fn target_mailbox(
    meta: &dyn mailstead_store::MetaStore,
    account: AccountId,
    junk: bool,
) -> Result<MailboxId, QueueError> {
    if junk {
        let boxes = meta.mailboxes(account).await?;
        if let Some(m) = boxes
            .iter()
            .find(|m| m.special_use == Some(SpecialUse::Junk))
            .or_else(|| boxes.iter().find(|m| m.name == "Junk"))
        {
            return Ok(m.id);
        }
        return Ok(meta
            .create_mailbox(account, "Junk", Some(SpecialUse::Junk))
            .await?
            .id);
    }
    match meta.mailbox(account, "INBOX").await? {
        Some(m) => Ok(m.id),
        // INBOX cannot be deleted over IMAP, but a store edited by hand may lack it.
        None => Ok(meta.create_mailbox(account, "INBOX", None).await?.id),
    }
}

pub(crate) async fn accept(queue: &Queue, incoming: Incoming) -> Result<Accepted, QueueError> {
    let id = new_id();
    let stores = &queue.stores;
    let message = Arc::new(incoming.message);
    let now = unix_now();
    let meta = &stores.meta;

    let mut accounts: Vec<AccountId> = Vec::new();
    for r in &incoming.local {
        for a in &r.accounts {
            if !accounts.contains(a) {
                accounts.push(*a);
            }
        }
    }
    // One blob per distinct local content: the common case (one recipient, or several
    // with the same verdict) writes one. The copy for other servers never carries
    // Return-Path or a recipient's verdict fields.
    let return_path = incoming.return_path.clone().unwrap_or_default();
    let plain = LocalCopy::default();
    let mut variants: Vec<(String, Arc<Vec<u8>>)> = Vec::new();
    for account in &accounts {
        let copy = incoming.local_copies.get(account).unwrap_or(&plain);
        if variants.iter().any(|(h, _)| *h == copy.headers) {
            continue;
        }
        let bytes = if return_path.is_empty() && copy.headers.is_empty() {
            message.clone()
        } else {
            let mut b = Vec::with_capacity(return_path.len() + copy.headers.len() + message.len());
            b.extend_from_slice(return_path.as_bytes());
            b.extend_from_slice(copy.headers.as_bytes());
            b.extend_from_slice(&message);
            Arc::new(b)
        };
        variants.push((copy.headers.clone(), bytes));
    }
    let needs_base =
        !incoming.remote.is_empty() || !incoming.forwarded.is_empty() || accounts.is_empty();
    // The IMAP index is computed while the blob is written, and committed with the rows,
    // so IMAP never reads the blob for ENVELOPE, BODYSTRUCTURE or SEARCH.
    let mut local_blobs: Vec<(String, BlobId, u64, Option<Arc<MessageIndex>>)> = Vec::new();
    for (headers, bytes) in &variants {
        let indexing = tokio::spawn(index_of(bytes.clone()));
        let blob_id = stores.blobs.put(bytes).await?;
        let index = indexing.await.ok().flatten();
        local_blobs.push((headers.clone(), blob_id, bytes.len() as u64, index));
    }
    let base_blob = if !needs_base {
        None
    } else if let Some((_, b, _, _)) = variants
        .iter()
        .zip(&local_blobs)
        .find(|((_, bytes), _)| Arc::ptr_eq(bytes, &message))
        .map(|(_, l)| l)
    {
        Some(*b)
    } else {
        Some(stores.blobs.put(&message).await?)
    };

    let mut targets: Vec<(MailboxId, NewMessage)> = Vec::with_capacity(accounts.len());
    let mut blob_of: HashMap<AccountId, BlobId> = HashMap::new();
    for account in &accounts {
        let copy = incoming.local_copies.get(account).unwrap_or(&plain);
        let Some((_, blob_id, size, index)) = local_blobs.iter().find(|(h, ..)| *h == copy.headers)
        else {
            continue;
        };
        let mailbox = target_mailbox(meta.as_ref(), *account, copy.junk).await?;
        blob_of.insert(*account, *blob_id);
        targets.push((
            mailbox,
            NewMessage {
                blob_id: *blob_id,
                size: *size,
                internal_date: now,
                flags: if copy.seen { Flags::SEEN } else { Flags::EMPTY },
                keywords: Vec::new(),
                index: index.clone(),
            },
        ));
    }
    // What DSNs and queue rows point at: the copy sent on, else the first local copy.
    let Some(blob_id) = base_blob.or_else(|| local_blobs.first().map(|(_, b, ..)| *b)) else {
        return Err(QueueError::Store(mailstead_store::StoreError::Invalid(
            "a message without recipients".into(),
        )));
    };

    let envid = incoming.envid.clone().filter(|e| storable(e));
    let mail_from = if storable(&incoming.mail_from) {
        incoming.mail_from.clone()
    } else {
        String::new()
    };
    // RFC 3461 §6.2.2: local delivery owes only "delivered" notices, for NOTIFY=SUCCESS;
    // never to the null reverse path (§6.2, RFC 5321 §4.5.5).
    let dsn: Vec<NewDsnRequest> = if mail_from.is_empty() {
        Vec::new()
    } else {
        incoming
            .local
            .iter()
            .filter(|r| r.notify.wants_success() && storable(&r.address))
            .map(|r| NewDsnRequest {
                blob_id: r
                    .accounts
                    .first()
                    .and_then(|a| blob_of.get(a))
                    .copied()
                    .unwrap_or(blob_id),
                mail_from: mail_from.clone(),
                envid: envid.clone(),
                ret: incoming.ret,
                recipient: r.address.clone(),
                original_recipient: clean_orcpt(&r.original_recipient),
                action: if r.accounts.len() > 1 {
                    DsnAction::Expanded
                } else {
                    DsnAction::Delivered
                },
                created_at: now,
            })
            .collect()
    };

    let body_8bit = incoming.body_8bit || message.iter().any(|b| *b >= 0x80);
    let queued_message = |from: String, rcpts: &[RemoteRecipient]| NewQueuedMessage {
        blob_id,
        size: message.len() as u64,
        mail_from: from,
        envid: envid.clone(),
        ret: incoming.ret,
        body_8bit,
        smtputf8: incoming.smtputf8,
        requiretls: incoming.requiretls,
        submitter: incoming.submitter,
        created_at: now,
        next_attempt: now,
        recipients: rcpts
            .iter()
            .filter(|r| storable(&r.address))
            .map(|r| mailstead_store::model::NewQueuedRecipient {
                address: r.address.clone(),
                original_recipient: clean_orcpt(&r.original_recipient),
                notify: r.notify,
            })
            .collect(),
    };
    let mut queue_rows = Vec::new();
    if !incoming.remote.is_empty() {
        queue_rows.push(queued_message(mail_from.clone(), &incoming.remote));
    }
    if !incoming.forwarded.is_empty() {
        // Forwarded copies leave with our SRS address as sender, so that SPF passes at
        // the destination and a bounce comes back to us to be sent on.
        let day = (now.max(0) as u64) / 86_400;
        let srs_from = queue.srs.forward(&mail_from, day);
        queue_rows.push(queued_message(srs_from, &incoming.forwarded));
    }
    queue_rows.retain(|m| !m.recipients.is_empty());

    let (delivered, _) = meta.accept(&targets, &dsn, &queue_rows).await?;
    if !dsn.is_empty() {
        // The worker turns the requests into reports; wake it (queued rows wake it in
        // the store already).
        meta.notifier().notify_queue();
    }
    let queued: usize = queue_rows.iter().map(|m| m.recipients.len()).sum();
    tracing::info!(
        msg_id = %id,
        from = %format!("<{}>", incoming.mail_from),
        local = delivered.len(),
        queued,
        dsn_requests = dsn.len(),
        size = message.len(),
        "accepted"
    );
    Ok(Accepted {
        id,
        delivered: delivered.len(),
        queued,
    })
}
