//! COPY (RFC 9051 §6.4.7) and MOVE (RFC 6851), with COPYUID (RFC 4315).
//!
//! Both are one store transaction: a MOVE never leaves a message in both mailboxes or in
//! neither.

use mailstead_imap_proto::{MailboxName, ResponseCode, SequenceSet};
use mailstead_store::model::{Mailbox, SpecialUse};
use mailstead_types::Uid;

use crate::mailbox::{check_quota, decode_name};
use crate::selected::untagged;
use crate::session::{CmdResult, Done, Session, no};
use crate::set::{ranges, resolve};

/// `COPY`/`MOVE` and their UID forms.
pub(crate) async fn copy(
    s: &mut Session,
    uid: bool,
    set: &SequenceSet,
    target: &MailboxName,
    is_move: bool,
) -> CmdResult {
    let account = s.account()?.id;
    let name = decode_name(s, target)?;
    let saved = s.saved.clone();
    let qresync = s.qresync;
    let stores = s.server.stores.clone();
    let (source, read_only, pairs) = {
        let sel = s.selected()?;
        let pairs = resolve(sel, set, uid, saved.as_deref())?;
        (sel.mailbox.clone(), sel.read_only, pairs)
    };
    if is_move && read_only {
        return Err(no(Some(ResponseCode::ReadOnly), "mailbox is read-only"));
    }
    let Some(dest) = stores.meta.mailbox(account, &name).await? else {
        return Err(no(Some(ResponseCode::TryCreate), "no such mailbox"));
    };
    let what = if is_move { "MOVE" } else { "COPY" };
    if pairs.is_empty() {
        return Ok(Done::ok(format!("{what} completed: nothing to do")));
    }
    let uids: Vec<Uid> = pairs.iter().map(|(_, u)| Uid(*u)).collect();
    if !(is_move && dest.id == source.id) {
        // Quota: what the copies add (a MOVE within the account adds nothing).
        if !is_move {
            let first = uids.first().copied().unwrap_or(Uid(1));
            let last = uids.last().copied().unwrap_or(Uid(1));
            let size: u64 = stores
                .meta
                .messages_in_range(source.id, first, last)
                .await?
                .iter()
                .filter(|m| uids.binary_search(&m.uid).is_ok())
                .map(|m| m.size)
                .sum();
            check_quota(s, size).await?;
        }
    } else {
        return Err(no(
            Some(ResponseCode::Cannot),
            "source and destination are the same mailbox",
        ));
    }
    let mapping = stores
        .meta
        .copy_messages(source.id, &uids, dest.id, is_move)
        .await?;
    if mapping.is_empty() {
        return Err(no(
            Some(ResponseCode::ExpungeIssued),
            "the messages were expunged meanwhile",
        ));
    }
    learn(s, account, &source, &dest, &mapping).await;
    let src: Vec<u32> = mapping.iter().map(|(a, _)| a.0).collect();
    let dst: Vec<u32> = mapping.iter().map(|(_, b)| b.0).collect();
    let code = ResponseCode::CopyUid(dest.uid_validity.0, ranges(&src), ranges(&dst));
    if !is_move {
        return Ok(Done::with(code, "COPY completed"));
    }
    // RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
    s.send(&untagged(code, "moved"));
    let out = s.selected()?.remove(&src, qresync);
    for r in &out {
        s.send(r);
    }
    Ok(Done::ok("MOVE completed"))
}

/// Filing into Junk teaches the classifier "spam"; out of Junk (except into Trash, which
/// is deletion, not a judgement) "ham". The learning runs in its own task.
async fn learn(
    s: &Session,
    account: mailstead_types::AccountId,
    source: &Mailbox,
    dest: &Mailbox,
    mapping: &[(Uid, Uid)],
) {
    let Some(learner) = s.server.learner.clone() else {
        return;
    };
    let is_junk = |m: &Mailbox| m.special_use == Some(SpecialUse::Junk);
    let spam = if is_junk(dest) && !is_junk(source) {
        true
    } else if is_junk(source) && !is_junk(dest) && dest.special_use != Some(SpecialUse::Trash) {
        false
    } else {
        return;
    };
    let (Some(first), Some(last)) = (mapping.first(), mapping.last()) else {
        return;
    };
    let stores = s.server.stores.clone();
    let dest_id = dest.id;
    let uids: Vec<Uid> = mapping.iter().map(|(_, b)| *b).collect();
    let (lo, hi) = (first.1.min(last.1), first.1.max(last.1));
    tokio::spawn(async move {
        let messages = match stores.meta.messages_in_range(dest_id, lo, hi).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the messages to learn from");
                return;
            }
        };
        for m in messages.into_iter().filter(|m| uids.contains(&m.uid)) {
            learner.learn(account, m.blob_id, spam).await;
        }
    });
}
