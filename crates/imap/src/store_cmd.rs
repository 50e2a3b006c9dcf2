//! STORE (RFC 9051 §6.4.6) with CONDSTORE's UNCHANGEDSINCE (RFC 7162 §3.1.3).

use mailstead_imap_proto::{FetchItem, Flag, Response, ResponseCode, SequenceSet, StoreKind};
use mailstead_store::model::FlagOp;
use mailstead_types::Uid;

use crate::selected::{flags_of, split_flags};
use crate::session::{CmdResult, Done, Session, no};
use crate::set::{ranges, resolve};

/// `[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags)`.
pub(crate) async fn store(
    s: &mut Session,
    uid: bool,
    set: &SequenceSet,
    unchanged_since: Option<u64>,
    kind: StoreKind,
    silent: bool,
    flags: &[Flag],
) -> CmdResult {
    let saved = s.saved.clone();
    if unchanged_since.is_some() {
        s.condstore = true;
    }
    let condstore = s.condstore;
    let stores = s.server.stores.clone();
    let sel = s.selected()?;
    if sel.read_only {
        return Err(no(Some(ResponseCode::ReadOnly), "mailbox is read-only"));
    }
    let pairs = resolve(sel, set, uid, saved.as_deref())?;
    let (bits, keywords) = split_flags(flags, false)?;
    let op = match kind {
        StoreKind::Replace => FlagOp::Replace,
        StoreKind::Add => FlagOp::Add,
        StoreKind::Remove => FlagOp::Remove,
    };
    if pairs.is_empty() {
        return Ok(Done::ok("STORE completed"));
    }
    let first = Uid(pairs[0].1);
    let last = Uid(pairs[pairs.len() - 1].1);
    let mut targets: Vec<Uid> = pairs.iter().map(|(_, u)| Uid(*u)).collect();
    let mut modified: Vec<u32> = Vec::new();
    if let Some(limit) = unchanged_since {
        // RFC 7162 §3.1.3: messages changed since the client's MODSEQ are left alone and
        // reported in MODIFIED. (The check and the update are two steps; a change in
        // between is reported by the next sync rather than refused; see docs.)
        let current = stores
            .meta
            .messages_in_range(sel.mailbox.id, first, last)
            .await?;
        for m in &current {
            if m.modseq.0 > limit && targets.binary_search(&m.uid).is_ok() {
                modified.push(m.uid.0);
            }
        }
        targets.retain(|u| modified.binary_search(&u.0).is_err());
    }
    let changed = if targets.is_empty() {
        Vec::new()
    } else {
        stores
            .meta
            .store_flags(sel.mailbox.id, &targets, op, bits, &keywords)
            .await?
    };
    for m in &changed {
        sel.own_changes.insert(m.modseq.0);
    }
    // Non-silent: the new flags of every message named (changed or not); silent: only
    // what CONDSTORE requires (MODSEQ of the changed ones is still sent under CONDSTORE
    // so the client can track it, RFC 7162 §3.1.3).
    let mut out = Vec::new();
    if !silent || condstore {
        let current = stores
            .meta
            .messages_in_range(sel.mailbox.id, first, last)
            .await?;
        for m in &current {
            if targets.binary_search(&m.uid).is_err() {
                continue;
            }
            let was_changed = changed.iter().any(|c| c.uid == m.uid);
            if silent && !was_changed {
                continue;
            }
            let Some(seq) = sel.seq_of(m.uid.0) else {
                continue;
            };
            let mut items = Vec::new();
            if uid {
                items.push(FetchItem::Uid(m.uid.0));
            }
            if !silent {
                items.push(FetchItem::Flags(flags_of(m)));
            }
            if condstore {
                items.push(FetchItem::ModSeq(m.modseq.0));
            }
            if !items.is_empty() {
                out.push(Response::Fetch(seq, items));
            }
        }
    }
    for r in &out {
        s.send(r);
    }
    if !modified.is_empty() {
        let set: Vec<u32> = if uid {
            modified
        } else {
            let sel = s.selected()?;
            let mut seqs: Vec<u32> = modified.iter().filter_map(|u| sel.seq_of(*u)).collect();
            seqs.sort_unstable();
            seqs
        };
        return Ok(Done::with(
            ResponseCode::Modified(ranges(&set)),
            "conditional STORE failed for some messages",
        ));
    }
    Ok(Done::ok("STORE completed"))
}
