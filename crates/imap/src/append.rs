//! APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), BINARY literals (RFC 3516),
//! UIDPLUS's APPENDUID (RFC 4315) and APPENDLIMIT (RFC 7889).
//!
//! Order (invariant 1): every blob is written durably first, then all messages are
//! committed in ONE store transaction (all of a MULTIAPPEND or none), then `OK`.

use std::sync::Arc;

use mailstead_imap_proto::{AppendMessage, MailboxName, ResponseCode};
use mailstead_store::model::{MessageIndex, NewMessage, unix_now};

use crate::mailbox::{check_quota, decode_name};
use crate::selected::split_flags;
use crate::session::{CmdResult, Done, Session, no};
use crate::set::ranges;

/// The store's index of a message (summary, search text).
pub(crate) fn index_of(raw: &[u8]) -> Arc<MessageIndex> {
    let indexed = mailstead_message::index(raw);
    Arc::new(MessageIndex {
        summary: indexed.summary.to_stored(),
        header_text: indexed.header_text,
        body_text: indexed.body_text,
    })
}

/// APPEND of one or more messages.
pub(crate) async fn append(
    s: &mut Session,
    raw: &MailboxName,
    messages: Vec<AppendMessage>,
) -> CmdResult {
    let account = s.account()?.id;
    let name = decode_name(s, raw)?;
    let Some(mailbox) = s.server.stores.meta.mailbox(account, &name).await? else {
        return Err(no(Some(ResponseCode::TryCreate), "no such mailbox"));
    };
    let limit = s.server.config.max_message_size;
    let mut total = 0u64;
    for m in &messages {
        if m.data.len() as u64 > limit {
            return Err(no(Some(ResponseCode::TooBig), "message too big"));
        }
        if m.data.is_empty() {
            return Err(no(None, "empty message"));
        }
        total += m.data.len() as u64;
    }
    check_quota(s, total).await?;
    let stores = s.server.stores.clone();
    let mut targets = Vec::with_capacity(messages.len());
    for m in &messages {
        let (flags, keywords) = split_flags(&m.flags, true)?;
        let blob_id = stores.blobs.put(&m.data).await?;
        let data = m.data.clone();
        let index = tokio::task::spawn_blocking(move || index_of(&data))
            .await
            .map_err(|_| no(Some(ResponseCode::ServerBug), "indexing failed"))?;
        let internal_date = m.date.map(|d| d.unix_timestamp()).unwrap_or_else(unix_now);
        targets.push((
            mailbox.id,
            NewMessage {
                blob_id,
                size: m.data.len() as u64,
                internal_date,
                flags,
                keywords,
                index: Some(index),
            },
        ));
    }
    let stored = stores.meta.deliver(&targets, &[]).await?;
    let uids: Vec<u32> = stored.iter().map(|m| m.uid.0).collect();
    Ok(Done::with(
        ResponseCode::AppendUid(mailbox.uid_validity.0, ranges(&uids)),
        "APPEND completed",
    ))
}
