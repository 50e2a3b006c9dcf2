//! FETCH and UID FETCH (RFC 9051 §6.4.5), with CONDSTORE's CHANGEDSINCE and QRESYNC's
//! VANISHED (RFC 7162), BINARY (RFC 3516).
//!
//! ENVELOPE and BODYSTRUCTURE come from the index stored with each message (written at
//! delivery), so they never read the blob; a message without an index row is indexed
//! here once and the row stored. Body sections read the blob. Responses stream: the
//! output is flushed every [`crate::conn::FLUSH_AT`] octets.

use std::collections::HashMap;

use mailstead_imap_proto::{
    FetchAttr, FetchItem, FetchModifiers, Partial, Response, ResponseCode, Section, SectionText,
    SequenceSet,
};
use mailstead_message::StoredSummary;
use mailstead_store::model::{ChangeKind, FlagOp, Flags, Message};
use mailstead_types::{BlobId, ModSeq, Uid};

use crate::append::index_of;
use crate::selected::flags_of;
use crate::session::{CmdError, CmdResult, Done, Session, no};
use crate::set::{ranges, resolve};

/// Messages whose blobs are read in one go.
const FETCH_CHUNK: usize = 128;

fn needs_summary(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure
    )
}

fn needs_content(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Rfc822
            | FetchAttr::Rfc822Header
            | FetchAttr::Rfc822Text
            | FetchAttr::BodySection { .. }
            | FetchAttr::Binary { .. }
            | FetchAttr::BinarySize { .. }
    )
}

fn sets_seen(a: &FetchAttr) -> bool {
    matches!(
        a,
        FetchAttr::Rfc822
            | FetchAttr::Rfc822Text
            | FetchAttr::BodySection { peek: false, .. }
            | FetchAttr::Binary { peek: false, .. }
    )
}

fn cut(data: Vec<u8>, partial: Option<Partial>) -> Vec<u8> {
    match partial {
        None => data,
        Some(p) => {
            let start = (p.origin as usize).min(data.len());
            let end = start.saturating_add(p.count as usize).min(data.len());
            data[start..end].to_vec()
        }
    }
}

/// `FETCH` / `UID FETCH`.
pub(crate) async fn fetch(
    s: &mut Session,
    uid: bool,
    set: &SequenceSet,
    attrs: &[FetchAttr],
    modifiers: &FetchModifiers,
) -> CmdResult {
    let saved = s.saved.clone();
    if modifiers.changed_since.is_some() || attrs.contains(&FetchAttr::ModSeq) {
        s.condstore = true;
    }
    if modifiers.vanished && !(uid && s.qresync && modifiers.changed_since.is_some()) {
        return Err(crate::session::bad(
            "VANISHED needs UID FETCH, QRESYNC enabled and CHANGEDSINCE",
        ));
    }
    // RFC 7162 §3.1.4.1: CHANGEDSINCE makes MODSEQ part of every response.
    let want_modseq = modifiers.changed_since.is_some();
    let stores = s.server.stores.clone();
    let (mailbox, read_only, pairs, max_uid) = {
        let sel = s.selected()?;
        let pairs = resolve(sel, set, uid, saved.as_deref())?;
        (
            sel.mailbox.clone(),
            sel.read_only,
            pairs,
            sel.uids.last().unwrap_or(0),
        )
    };
    if modifiers.vanished
        && let Some(since) = modifiers.changed_since
    {
        let mut gone: Vec<u32> = stores
            .meta
            .changes_since(mailbox.id, ModSeq(since))
            .await?
            .iter()
            .filter(|c| c.kind == ChangeKind::Expunged)
            .map(|c| c.uid.0)
            .filter(|u| crate::set::uid_set_contains(set, *u, max_uid.max(*u)))
            .collect();
        gone.sort_unstable();
        gone.dedup();
        if !gone.is_empty() {
            s.send(&Response::Vanished {
                earlier: true,
                uids: ranges(&gone),
            });
        }
    }
    if pairs.is_empty() {
        return Ok(Done::ok("FETCH completed"));
    }
    let first = Uid(pairs[0].1);
    let last = Uid(pairs[pairs.len() - 1].1);
    let mut rows: HashMap<u32, Message> = stores
        .meta
        .messages_in_range(mailbox.id, first, last)
        .await?
        .into_iter()
        .map(|m| (m.uid.0, m))
        .collect();
    let wanted: Vec<(u32, u32)> = pairs
        .into_iter()
        .filter(|(_, u)| {
            rows.get(u)
                .is_some_and(|m| modifiers.changed_since.is_none_or(|c| m.modseq.0 > c))
        })
        .collect();

    // \Seen as a side effect of reading a body (not under EXAMINE or .PEEK).
    let mut seen_changed: Vec<u32> = Vec::new();
    if !read_only && attrs.iter().any(sets_seen) {
        let unseen: Vec<Uid> = wanted
            .iter()
            .filter(|(_, u)| rows.get(u).is_some_and(|m| !m.flags.contains(Flags::SEEN)))
            .map(|(_, u)| Uid(*u))
            .collect();
        if !unseen.is_empty() {
            let changed = stores
                .meta
                .store_flags(mailbox.id, &unseen, FlagOp::Add, Flags::SEEN, &[])
                .await?;
            let sel = s.selected()?;
            for m in changed {
                sel.own_changes.insert(m.modseq.0);
                seen_changed.push(m.uid.0);
                rows.insert(m.uid.0, m);
            }
        }
    }

    // Stored summaries hold ENVELOPE/BODY/BODYSTRUCTURE in wire form; one that does not
    // parse (damaged, or from an older format) is rebuilt from the blob below.
    let mut summaries: HashMap<u32, String> = HashMap::new();
    if attrs.iter().any(needs_summary) {
        let uids: Vec<Uid> = wanted.iter().map(|(_, u)| Uid(*u)).collect();
        for (u, stored) in stores.meta.summaries(mailbox.id, &uids).await? {
            if StoredSummary::parse(&stored).is_some() {
                summaries.insert(u.0, stored);
            }
        }
    }
    let with_content = attrs.iter().any(needs_content);
    let with_summary = attrs.iter().any(needs_summary);
    let wanted: Vec<(u32, u32)> = wanted
        .into_iter()
        .filter(|(_, u)| rows.contains_key(u))
        .collect();
    // Which messages need their blob: all when a body is asked for, else those whose
    // summary must be rebuilt.
    let blob_ids = |chunk: &[(u32, u32)]| -> Vec<(u32, BlobId)> {
        chunk
            .iter()
            .filter(|(_, u)| with_content || (with_summary && !summaries.contains_key(u)))
            .filter_map(|(_, u)| rows.get(u).map(|m| (*u, m.blob_id)))
            .collect()
    };
    // Blobs are read a chunk at a time (one blocking task each), the next chunk while this
    // one is encoded and written.
    let chunks: Vec<&[(u32, u32)]> = wanted.chunks(FETCH_CHUNK).collect();
    let mut plan: Vec<Vec<(u32, BlobId)>> = chunks.iter().map(|c| blob_ids(c)).collect();
    let read = |ids: Vec<(u32, BlobId)>| {
        let blobs = stores.blobs.clone();
        tokio::spawn(async move {
            let only: Vec<BlobId> = ids.iter().map(|(_, b)| *b).collect();
            let got = if only.is_empty() {
                Vec::new()
            } else {
                blobs.get_many(&only).await?
            };
            Ok::<_, mailstead_store::StoreError>(
                ids.into_iter()
                    .map(|(u, _)| u)
                    .zip(got)
                    .collect::<HashMap<u32, _>>(),
            )
        })
    };
    let mut next = plan.get_mut(0).map(|ids| read(std::mem::take(ids)));
    for (i, chunk) in chunks.iter().enumerate() {
        let mut raws = match next.take() {
            Some(handle) => handle
                .await
                .map_err(|_| no(Some(ResponseCode::ServerBug), "reading messages failed"))??,
            None => HashMap::new(),
        };
        next = plan.get_mut(i + 1).map(|ids| read(std::mem::take(ids)));
        for &(seq, u) in chunk.iter() {
            let Some(m) = rows.get(&u) else { continue };
            let raw = match raws.remove(&u) {
                Some(Some(r)) => Some(r),
                Some(None) => {
                    tracing::error!(uid = u, blob = %m.blob_id, "message blob is missing");
                    return Err(no(
                        Some(ResponseCode::ServerBug),
                        "a message could not be read",
                    ));
                }
                None => None,
            };
            if with_summary
                && !summaries.contains_key(&u)
                && let Some(raw) = &raw
            {
                // Delivered before indexing existed: index now, keep it (put_index leaves
                // an existing row alone, so a damaged one is only worked around here).
                let index = index_of(raw);
                stores.meta.put_index(&m.blob_id, &index).await?;
                summaries.insert(u, index.summary.clone());
            }
            let items = items_for(
                m,
                attrs,
                uid,
                want_modseq,
                seen_changed.contains(&u),
                summaries.remove(&u),
                raw,
            )?;
            s.send(&Response::Fetch(seq, items));
            s.conn.maybe_flush().await?;
        }
    }
    Ok(Done::ok("FETCH completed"))
}

/// The items of one message's FETCH response.
fn items_for(
    m: &Message,
    attrs: &[FetchAttr],
    uid: bool,
    want_modseq: bool,
    seen_changed: bool,
    summary: Option<String>,
    mut raw: Option<Vec<u8>>,
) -> Result<Vec<FetchItem>, CmdError> {
    let mut items = Vec::with_capacity(attrs.len() + 2);
    if uid && !attrs.contains(&FetchAttr::Uid) {
        items.push(FetchItem::Uid(m.uid.0));
    }
    // The one body item of a FETCH of whole messages (what a sync client asks for) takes
    // the blob as it is instead of a copy.
    let sole_body = attrs.iter().filter(|a| needs_content(a)).count() == 1;
    for a in attrs {
        let raw_or_empty: &[u8] = raw.as_deref().unwrap_or_default();
        let item = match a {
            FetchAttr::Uid => FetchItem::Uid(m.uid.0),
            FetchAttr::Flags => FetchItem::Flags(flags_of(m)),
            FetchAttr::InternalDate => FetchItem::InternalDate(
                time::OffsetDateTime::from_unix_timestamp(m.internal_date)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            ),
            FetchAttr::Rfc822Size => FetchItem::Rfc822Size(m.size),
            FetchAttr::ModSeq => FetchItem::ModSeq(m.modseq.0),
            FetchAttr::Envelope | FetchAttr::Body | FetchAttr::BodyStructure => {
                let Some(view) = summary.as_deref().and_then(StoredSummary::parse) else {
                    continue;
                };
                let (attr, wire) = match a {
                    FetchAttr::Envelope => ("ENVELOPE", view.envelope),
                    FetchAttr::Body => ("BODY", view.body),
                    _ => ("BODYSTRUCTURE", view.bodystructure),
                };
                FetchItem::Preencoded {
                    attr,
                    wire: wire.as_bytes().to_vec(),
                }
            }
            FetchAttr::Rfc822 => FetchItem::Rfc822 {
                attr: "RFC822",
                data: if sole_body {
                    raw.take().unwrap_or_default()
                } else {
                    raw_or_empty.to_vec()
                },
            },
            FetchAttr::Rfc822Header => FetchItem::Rfc822 {
                attr: "RFC822.HEADER",
                data: mailstead_message::section(
                    raw_or_empty,
                    &Section {
                        part: vec![],
                        text: Some(SectionText::Header),
                    },
                )
                .unwrap_or_default(),
            },
            FetchAttr::Rfc822Text => FetchItem::Rfc822 {
                attr: "RFC822.TEXT",
                data: mailstead_message::section(
                    raw_or_empty,
                    &Section {
                        part: vec![],
                        text: Some(SectionText::Text),
                    },
                )
                .unwrap_or_default(),
            },
            FetchAttr::BodySection {
                section, partial, ..
            } => {
                let whole = section.part.is_empty() && section.text.is_none();
                let data = if whole && sole_body && partial.is_none() {
                    raw.take()
                } else {
                    mailstead_message::section(raw_or_empty, section).map(|d| cut(d, *partial))
                };
                FetchItem::BodySection {
                    section: section.clone(),
                    origin: partial.map(|p| p.origin),
                    data,
                }
            }
            FetchAttr::Binary { part, partial, .. } => {
                let data = mailstead_message::binary(raw_or_empty, part)
                    .map_err(|_| no(Some(ResponseCode::UnknownCte), "cannot decode that part"))?
                    .map(|d| cut(d, *partial));
                FetchItem::Binary {
                    part: part.clone(),
                    origin: partial.map(|p| p.origin),
                    data,
                }
            }
            FetchAttr::BinarySize { part } => {
                let size = mailstead_message::binary(raw_or_empty, part)
                    .map_err(|_| no(Some(ResponseCode::UnknownCte), "cannot decode that part"))?
                    .map(|d| d.len() as u64)
                    .unwrap_or(0);
                FetchItem::BinarySize {
                    part: part.clone(),
                    size,
                }
            }
        };
        items.push(item);
    }
    if seen_changed && !attrs.contains(&FetchAttr::Flags) {
        items.push(FetchItem::Flags(flags_of(m)));
    }
    if want_modseq && !attrs.contains(&FetchAttr::ModSeq) {
        items.push(FetchItem::ModSeq(m.modseq.0));
    }
    Ok(items)
}
