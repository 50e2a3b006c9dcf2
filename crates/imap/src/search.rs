//! SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH (RFC 4731), SEARCHRES (RFC 5182)
//! and CONDSTORE's MODSEQ key (RFC 7162 §3.1.5).
//!
//! Flags, sizes, dates and numbers are evaluated on the message rows. Text keys (BODY,
//! TEXT, SUBJECT, FROM, TO, CC, BCC, HEADER) are answered from the index stored with
//! each message (decoded, lower-cased header and body text) by a substring query in the
//! store, never by reading the blobs; header keys are then checked exactly against the
//! field they name. Matching is case-insensitive (Unicode lower-casing of both sides).

use std::collections::{HashMap, HashSet};

use mailstead_imap_proto::{
    ESearch, Response, ResponseCode, SearchKey, SearchReturn, SeqNum, SequenceSet,
};
use mailstead_message::StoredSummary;
use mailstead_store::Stores;
use mailstead_store::model::{Flags, Message};
use mailstead_types::{MailboxId, Uid};

use crate::append::index_of;
use crate::session::{CmdError, CmdResult, Done, Session, no};
use crate::set::ranges;

/// A text key's field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Field {
    Body,
    Text,
    Header(String),
}

/// Everything the keys need beyond the rows, gathered before evaluation.
#[derive(Default)]
struct Prepared {
    text: HashMap<(Field, String), HashSet<u32>>,
    sent: HashMap<u32, i64>,
}

fn walk<'a>(key: &'a SearchKey, f: &mut impl FnMut(&'a SearchKey)) {
    f(key);
    match key {
        SearchKey::Not(k) => walk(k, f),
        SearchKey::Or(a, b) => {
            walk(a, f);
            walk(b, f);
        }
        SearchKey::And(ks) => ks.iter().for_each(|k| walk(k, f)),
        _ => {}
    }
}

fn text_key(key: &SearchKey) -> Option<(Field, String)> {
    let (field, needle) = match key {
        SearchKey::Body(n) => (Field::Body, n),
        SearchKey::Text(n) => (Field::Text, n),
        SearchKey::Subject(n) => (Field::Header("subject".into()), n),
        SearchKey::From(n) => (Field::Header("from".into()), n),
        SearchKey::To(n) => (Field::Header("to".into()), n),
        SearchKey::Cc(n) => (Field::Header("cc".into()), n),
        SearchKey::Bcc(n) => (Field::Header("bcc".into()), n),
        SearchKey::Header(name, n) => (Field::Header(name.to_lowercase()), n),
        _ => return None,
    };
    Some((field, needle.to_lowercase()))
}

async fn prepare(
    stores: &Stores,
    mailbox: MailboxId,
    key: &SearchKey,
    uids: &[Uid],
) -> Result<Prepared, CmdError> {
    let mut texts = Vec::new();
    let mut sent = false;
    walk(key, &mut |k| {
        if let Some(t) = text_key(k) {
            texts.push(t);
        }
        if matches!(
            k,
            SearchKey::SentBefore(_) | SearchKey::SentOn(_) | SearchKey::SentSince(_)
        ) {
            sent = true;
        }
    });
    let mut p = Prepared::default();
    if texts.is_empty() && !sent {
        return Ok(p);
    }
    // Messages stored before indexing existed are indexed now, once.
    for (_, blob) in stores.meta.unindexed(mailbox).await? {
        if let Some(raw) = stores.blobs.get(&blob).await? {
            let index = tokio::task::spawn_blocking(move || index_of(&raw))
                .await
                .map_err(|_| no(Some(ResponseCode::ServerBug), "indexing failed"))?;
            stores.meta.put_index(&blob, &index).await?;
        }
    }
    for (field, needle) in texts {
        if p.text.contains_key(&(field.clone(), needle.clone())) {
            continue;
        }
        let hits: HashSet<u32> = match &field {
            Field::Body => stores
                .meta
                .search_body(mailbox, &needle)
                .await?
                .into_iter()
                .map(|u| u.0)
                .collect(),
            Field::Text => {
                let mut h: HashSet<u32> = stores
                    .meta
                    .search_body(mailbox, &needle)
                    .await?
                    .into_iter()
                    .map(|u| u.0)
                    .collect();
                h.extend(
                    stores
                        .meta
                        .search_headers(mailbox, &needle)
                        .await?
                        .into_iter()
                        .map(|(u, _)| u.0),
                );
                h
            }
            Field::Header(name) => stores
                .meta
                .search_headers(mailbox, &needle)
                .await?
                .into_iter()
                .filter(|(_, text)| mailstead_message::header_field_matches(text, name, &needle))
                .map(|(u, _)| u.0)
                .collect(),
        };
        p.text.insert((field, needle), hits);
    }
    if sent {
        for (u, json) in stores.meta.summaries(mailbox, uids).await? {
            if let Some(d) = StoredSummary::parse(&json).and_then(|s| s.sent_date) {
                p.sent.insert(u.0, d);
            }
        }
    }
    Ok(p)
}

fn day(unix: i64) -> Option<time::Date> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .map(|d| d.date())
}

struct Ctx<'a> {
    prepared: &'a Prepared,
    saved: &'a [u32],
    exists: u32,
    max_uid: u32,
}

fn in_set(set: &SequenceSet, value: u32, star: u32, saved_values: &[u32]) -> bool {
    match set {
        SequenceSet::Saved => saved_values.contains(&value),
        SequenceSet::Ranges(rs) => rs.iter().any(|r| {
            let v = |n: SeqNum| match n {
                SeqNum::Value(v) => v,
                SeqNum::Star => star,
            };
            let (a, b) = (v(r.start), v(r.end));
            (a.min(b)..=a.max(b)).contains(&value)
        }),
    }
}

fn eval(key: &SearchKey, m: &Message, seq: u32, c: &Ctx<'_>) -> bool {
    use SearchKey::*;
    let has = |f: Flags| m.flags.contains(f);
    let internal = day(m.internal_date);
    let sent = c.prepared.sent.get(&m.uid.0).copied().and_then(day);
    match key {
        All => true,
        Answered => has(Flags::ANSWERED),
        Deleted => has(Flags::DELETED),
        Draft => has(Flags::DRAFT),
        Flagged => has(Flags::FLAGGED),
        Seen => has(Flags::SEEN),
        Unanswered => !has(Flags::ANSWERED),
        Undeleted => !has(Flags::DELETED),
        Undraft => !has(Flags::DRAFT),
        Unflagged => !has(Flags::FLAGGED),
        Unseen => !has(Flags::SEEN),
        // No message is \Recent in mailstead (RFC 9051 removed it).
        New | Recent => false,
        Old => true,
        Keyword(k) => m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)),
        Unkeyword(k) => !m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k)),
        Larger(n) => m.size > *n,
        Smaller(n) => m.size < *n,
        Before(d) => internal.is_some_and(|i| i < *d),
        On(d) => internal == Some(*d),
        Since(d) => internal.is_some_and(|i| i >= *d),
        SentBefore(d) => sent.is_some_and(|i| i < *d),
        SentOn(d) => sent == Some(*d),
        SentSince(d) => sent.is_some_and(|i| i >= *d),
        ModSeq(n) => m.modseq.0 >= *n,
        Uid(set) => in_set(set, m.uid.0, c.max_uid, c.saved),
        SequenceSet(set) => match set {
            mailstead_imap_proto::SequenceSet::Saved => c.saved.contains(&m.uid.0),
            _ => in_set(set, seq, c.exists, &[]),
        },
        Not(k) => !eval(k, m, seq, c),
        Or(a, b) => eval(a, m, seq, c) || eval(b, m, seq, c),
        And(ks) => ks.iter().all(|k| eval(k, m, seq, c)),
        Body(_) | Text(_) | Subject(_) | From(_) | To(_) | Cc(_) | Bcc(_) | Header(..) => {
            match text_key(key) {
                Some(t) => c
                    .prepared
                    .text
                    .get(&t)
                    .is_some_and(|h| h.contains(&m.uid.0)),
                None => false,
            }
        }
    }
}

fn has_modseq_key(key: &SearchKey) -> bool {
    let mut found = false;
    walk(key, &mut |k| {
        if matches!(k, SearchKey::ModSeq(_)) {
            found = true;
        }
    });
    found
}

/// `[UID] SEARCH [RETURN (...)] [CHARSET c] keys`.
pub(crate) async fn search(
    s: &mut Session,
    tag: &str,
    uid: bool,
    returns: Option<Vec<SearchReturn>>,
    charset: Option<String>,
    criteria: SearchKey,
) -> CmdResult {
    if let Some(cs) = &charset
        && !cs.eq_ignore_ascii_case("UTF-8")
        && !cs.eq_ignore_ascii_case("US-ASCII")
    {
        return Err(no(
            Some(ResponseCode::BadCharset(vec![
                "UTF-8".into(),
                "US-ASCII".into(),
            ])),
            "unsupported charset",
        ));
    }
    let with_modseq = has_modseq_key(&criteria);
    if with_modseq {
        s.condstore = true;
    }
    let saved = s.saved.clone().unwrap_or_default();
    let stores = s.server.stores.clone();
    let (mailbox, known) = {
        let sel = s.selected()?;
        (sel.mailbox.id, sel.uids.clone())
    };
    let messages = stores.meta.messages(mailbox).await?;
    let uids: Vec<Uid> = messages.iter().map(|m| m.uid).collect();
    let prepared = prepare(&stores, mailbox, &criteria, &uids).await?;
    let ctx = Ctx {
        prepared: &prepared,
        saved: &saved,
        exists: known.len(),
        max_uid: known.last().unwrap_or(0),
    };
    // Only messages the client knows (not yet announced ones have no sequence number).
    let mut hits: Vec<(u32, u32, u64)> = Vec::new();
    for m in &messages {
        let Some(seq) = known.seq_of(m.uid.0) else {
            continue;
        };
        if eval(&criteria, m, seq, &ctx) {
            hits.push((seq, m.uid.0, m.modseq.0));
        }
    }
    let values: Vec<u32> = hits
        .iter()
        .map(|(seq, u, _)| if uid { *u } else { *seq })
        .collect();
    let max_modseq = hits.iter().map(|h| h.2).max();
    let returns = match (returns, s.rev2) {
        (Some(r), _) => Some(r),
        (None, true) => Some(vec![]),
        (None, false) => None,
    };
    match returns {
        None => {
            s.send(&Response::Search(
                values,
                if with_modseq { max_modseq } else { None },
            ));
        }
        Some(opts) => {
            let opts = if opts.is_empty() {
                vec![SearchReturn::All]
            } else {
                opts
            };
            let want = |o: SearchReturn| opts.contains(&o);
            if want(SearchReturn::Save) {
                // RFC 5182 §2.4: with MIN and/or MAX, only those are saved.
                let mut keep: Vec<u32> = Vec::new();
                let (min, max) = (want(SearchReturn::Min), want(SearchReturn::Max));
                if min || max {
                    if min && let Some(h) = hits.first() {
                        keep.push(h.1);
                    }
                    if max && let Some(h) = hits.last() {
                        keep.push(h.1);
                    }
                    keep.dedup();
                } else {
                    keep = hits.iter().map(|h| h.1).collect();
                }
                s.saved = Some(keep);
            }
            let only_save = opts.iter().all(|o| *o == SearchReturn::Save);
            if !only_save {
                let e = ESearch {
                    tag: Some(tag.to_string()),
                    uid,
                    min: values.first().copied().filter(|_| want(SearchReturn::Min)),
                    max: values.last().copied().filter(|_| want(SearchReturn::Max)),
                    count: want(SearchReturn::Count).then_some(values.len() as u32),
                    all: (want(SearchReturn::All) && !values.is_empty()).then(|| ranges(&values)),
                    modseq: if with_modseq && !values.is_empty() {
                        max_modseq
                    } else {
                        None
                    },
                };
                s.send(&Response::ESearch(e));
            }
        }
    }
    Ok(Done::ok(if uid {
        "UID SEARCH completed"
    } else {
        "SEARCH completed"
    }))
}
