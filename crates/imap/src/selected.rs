//! The selected mailbox: the sequence-number map this session's client knows, and the
//! sync that brings it up to date from the store's change log.
//!
//! The map is the ascending list of UIDs the client has been told about; message sequence
//! number `n` is `uids[n - 1]`. It changes only by telling the client: EXISTS for new
//! messages (appended at the end, since UIDs only grow), EXPUNGE/VANISHED for removed
//! ones. Removals found while an EXPUNGE may not be sent (non-UID FETCH/STORE/SEARCH) are
//! kept pending and the messages stay in the map as "ghosts" until the next command that
//! may announce them.

use std::collections::{BTreeSet, HashSet};

use mailstead_imap_proto::{
    Flag, MailboxName, Response, ResponseCode, SelectParams, SequenceSet, Status,
};
use mailstead_store::StoreError;
use mailstead_store::Stores;
use mailstead_store::model::{ChangeKind, Flags, Mailbox, Message};
use mailstead_types::{MailboxId, ModSeq, Uid};

use crate::session::{CmdError, CmdResult, Done, Session, bad, no};
use crate::set::{ranges, uid_set_contains};
use crate::uidmap::UidMap;

/// The state of the selected mailbox in one session.
pub(crate) struct Selected {
    /// The mailbox row as of SELECT (name, UIDVALIDITY).
    pub mailbox: Mailbox,
    /// EXAMINE, or SELECT of a mailbox we may not change.
    pub read_only: bool,
    /// UIDs the client knows, ascending: sequence number n is `uids[n-1]`.
    pub uids: UidMap,
    /// Removed in the store, not yet announced.
    pub pending_expunge: BTreeSet<u32>,
    /// The highest MODSEQ this session's view reflects.
    pub modseq: u64,
    /// MODSEQs of flag changes this session made and already reported itself.
    pub own_changes: HashSet<u64>,
}

impl Selected {
    pub fn mailbox_id(&self) -> MailboxId {
        self.mailbox.id
    }

    /// Removes `gone` (ascending UIDs) from the map and returns what tells the client:
    /// one `VANISHED` under QRESYNC, else one `EXPUNGE` per message. Each EXPUNGE
    /// renumbers the messages after it (RFC 9051 §7.4.1); going from the highest number
    /// down, no announcement shifts a later one.
    pub fn remove(&mut self, gone: &[u32], qresync: bool) -> Vec<Response> {
        let mut out = Vec::new();
        if qresync {
            let known: Vec<u32> = gone
                .iter()
                .copied()
                .filter(|u| self.uids.remove(*u).is_some())
                .collect();
            if !known.is_empty() {
                out.push(Response::Vanished {
                    earlier: false,
                    uids: ranges(&known),
                });
            }
        } else {
            for uid in gone.iter().rev() {
                if let Some(seq) = self.uids.remove(*uid) {
                    out.push(Response::Expunge(seq));
                }
            }
        }
        out
    }

    /// Sequence number of a UID the client knows.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids.seq_of(uid)
    }

    /// Reads the change log since our MODSEQ and returns the untagged responses that bring
    /// the client up to date: EXPUNGE (or VANISHED under QRESYNC) when `allow_expunge`,
    /// FETCH FLAGS for messages changed by others, EXISTS for new messages.
    pub async fn sync(
        &mut self,
        stores: &Stores,
        allow_expunge: bool,
        condstore: bool,
        qresync: bool,
    ) -> Result<Vec<Response>, StoreError> {
        let mut out = Vec::new();
        let changes = stores
            .meta
            .changes_since(self.mailbox.id, ModSeq(self.modseq))
            .await?;
        if changes.is_empty() && (self.pending_expunge.is_empty() || !allow_expunge) {
            return Ok(out);
        }
        let last_known = self.uids.last().unwrap_or(0);
        let mut appended: BTreeSet<u32> = BTreeSet::new();
        let mut flagged: BTreeSet<u32> = BTreeSet::new();
        for c in &changes {
            self.modseq = self.modseq.max(c.modseq.0);
            match c.kind {
                ChangeKind::Appended => {
                    if c.uid.0 > last_known {
                        appended.insert(c.uid.0);
                    }
                }
                ChangeKind::Flags => {
                    if !self.own_changes.remove(&c.modseq.0) {
                        flagged.insert(c.uid.0);
                    }
                }
                ChangeKind::Expunged => {
                    if !appended.remove(&c.uid.0) && self.uids.contains(c.uid.0) {
                        self.pending_expunge.insert(c.uid.0);
                    }
                    flagged.remove(&c.uid.0);
                }
            }
        }
        if allow_expunge && !self.pending_expunge.is_empty() {
            let gone: Vec<u32> = std::mem::take(&mut self.pending_expunge)
                .into_iter()
                .collect();
            out.extend(self.remove(&gone, qresync));
        }
        if !flagged.is_empty() {
            let first = *flagged.iter().next().unwrap_or(&1);
            let last = *flagged.iter().next_back().unwrap_or(&1);
            let msgs = stores
                .meta
                .messages_in_range(self.mailbox.id, Uid(first), Uid(last))
                .await?;
            for m in msgs.iter().filter(|m| flagged.contains(&m.uid.0)) {
                if let Some(seq) = self.seq_of(m.uid.0) {
                    let mut items = vec![
                        mailstead_imap_proto::FetchItem::Uid(m.uid.0),
                        mailstead_imap_proto::FetchItem::Flags(flags_of(m)),
                    ];
                    if condstore {
                        items.push(mailstead_imap_proto::FetchItem::ModSeq(m.modseq.0));
                    }
                    out.push(Response::Fetch(seq, items));
                }
            }
        }
        if !appended.is_empty() {
            self.uids.extend(appended.iter().copied());
            out.push(Response::Exists(self.uids.len()));
        }
        Ok(out)
    }
}

/// The IMAP flags of a stored message.
pub(crate) fn flags_of(m: &Message) -> Vec<Flag> {
    let mut out = Vec::new();
    let f = m.flags;
    for (bit, flag) in [
        (Flags::SEEN, Flag::Seen),
        (Flags::ANSWERED, Flag::Answered),
        (Flags::FLAGGED, Flag::Flagged),
        (Flags::DELETED, Flag::Deleted),
        (Flags::DRAFT, Flag::Draft),
    ] {
        if f.contains(bit) {
            out.push(flag);
        }
    }
    out.extend(m.keywords.iter().map(|k| Flag::Keyword(k.clone())));
    out
}

/// Splits IMAP flags into the stored system-flag bits and keywords. `\Recent` cannot be
/// set by a client (RFC 3501 §2.3.2): refused by STORE, ignored in APPEND
/// (`recent_ok`); other `\Name` flags are refused.
pub(crate) fn split_flags(
    flags: &[Flag],
    recent_ok: bool,
) -> Result<(Flags, Vec<String>), CmdError> {
    let mut bits = Flags::EMPTY;
    let mut keywords = Vec::new();
    for f in flags {
        match f {
            Flag::Seen => bits = bits.union(Flags::SEEN),
            Flag::Answered => bits = bits.union(Flags::ANSWERED),
            Flag::Flagged => bits = bits.union(Flags::FLAGGED),
            Flag::Deleted => bits = bits.union(Flags::DELETED),
            Flag::Draft => bits = bits.union(Flags::DRAFT),
            Flag::Recent if recent_ok => {}
            Flag::Recent => return Err(bad("\\Recent cannot be changed")),
            Flag::Keyword(k) => {
                if !keywords.iter().any(|x: &String| x.eq_ignore_ascii_case(k)) {
                    keywords.push(k.clone());
                }
            }
            Flag::Wildcard | Flag::Extension(_) => {
                return Err(bad("only system flags and keywords can be set"));
            }
        }
    }
    keywords.sort();
    Ok((bits, keywords))
}

/// The flags every mailbox offers (FLAGS and PERMANENTFLAGS).
fn system_flags() -> Vec<Flag> {
    vec![
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ]
}

/// SELECT and EXAMINE (RFC 9051 §6.3.2–6.3.3), with CONDSTORE and QRESYNC (RFC 7162).
pub(crate) async fn select(
    s: &mut Session,
    name: &MailboxName,
    params: SelectParams,
    examine: bool,
) -> CmdResult {
    let account = s.account()?.id;
    // A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2); with QRESYNC the
    // client is told that the old one is closed.
    if s.selected.take().is_some() && (s.qresync || s.rev2) {
        s.untagged_ok(Some(ResponseCode::Closed), "previous mailbox closed");
    }
    s.saved = None;
    if params.qresync.is_some() && !s.qresync {
        return Err(bad("QRESYNC must be enabled first"));
    }
    if params.condstore {
        s.condstore = true;
    }
    let full = crate::mailbox::decode_name(s, name)?;
    let Some(mailbox) = s.server.stores.meta.mailbox(account, &full).await? else {
        return Err(no(Some(ResponseCode::NonExistent), "no such mailbox"));
    };
    let messages = s.server.stores.meta.messages(mailbox.id).await?;
    let uids = UidMap::from_sorted(messages.iter().map(|m| m.uid.0));
    let flags = {
        let mut f = system_flags();
        let mut kws: BTreeSet<String> = BTreeSet::new();
        for m in &messages {
            kws.extend(m.keywords.iter().cloned());
        }
        f.extend(kws.into_iter().map(Flag::Keyword));
        f
    };
    s.send(&Response::Flags(flags.clone()));
    s.send(&Response::Exists(uids.len() as u32));
    if !s.rev2 {
        s.send(&Response::Recent(0));
        if let Some(pos) = messages.iter().position(|m| !m.flags.contains(Flags::SEEN)) {
            s.untagged_ok(Some(ResponseCode::Unseen(pos as u32 + 1)), "first unseen");
        }
    }
    s.untagged_ok(
        Some(ResponseCode::UidValidity(mailbox.uid_validity.0)),
        "UIDs valid",
    );
    s.untagged_ok(
        Some(ResponseCode::UidNext(mailbox.uid_next.0)),
        "predicted next UID",
    );
    let mut permanent = if examine { Vec::new() } else { flags };
    if !examine {
        permanent.push(Flag::Wildcard);
    }
    s.untagged_ok(Some(ResponseCode::PermanentFlags(permanent)), "limited");
    let highest = messages
        .iter()
        .map(|m| m.modseq.0)
        .max()
        .unwrap_or(0)
        .max(mailbox.highest_modseq.0);
    if s.condstore {
        s.untagged_ok(Some(ResponseCode::HighestModSeq(highest)), "highest");
    }
    let mut sel = Selected {
        mailbox: mailbox.clone(),
        read_only: examine,
        uids,
        pending_expunge: BTreeSet::new(),
        modseq: highest,
        own_changes: HashSet::new(),
    };
    if let Some(q) = params.qresync
        && q.uid_validity == mailbox.uid_validity.0
    {
        qresync_report(s, &mut sel, &messages, &q).await?;
    }
    s.selected = Some(sel);
    if let Some(rx) = s.notes.as_mut() {
        // Announcements made before this SELECT are already reflected.
        while rx.try_recv().is_ok() {}
    }
    let code = if examine {
        ResponseCode::ReadOnly
    } else {
        ResponseCode::ReadWrite
    };
    Ok(Done::with(
        code,
        if examine {
            "EXAMINE completed"
        } else {
            "SELECT completed"
        },
    ))
}

/// QRESYNC's report at SELECT (RFC 7162 §3.2.5.1): VANISHED (EARLIER) for messages
/// expunged since the client's MODSEQ, FETCH for those changed since.
async fn qresync_report(
    s: &mut Session,
    sel: &mut Selected,
    messages: &[Message],
    q: &mailstead_imap_proto::QresyncParams,
) -> Result<(), CmdError> {
    let changes = s
        .server
        .stores
        .meta
        .changes_since(sel.mailbox.id, ModSeq(q.mod_seq))
        .await?;
    let known = |uid: u32| match &q.known_uids {
        Some(SequenceSet::Ranges(_)) => q
            .known_uids
            .as_ref()
            .is_some_and(|set| uid_set_contains(set, uid, u32::MAX)),
        _ => true,
    };
    let mut vanished: Vec<u32> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Expunged)
        .map(|c| c.uid.0)
        .filter(|u| !sel.uids.contains(*u) && known(*u))
        .collect();
    vanished.sort_unstable();
    vanished.dedup();
    if !vanished.is_empty() {
        s.send(&Response::Vanished {
            earlier: true,
            uids: ranges(&vanished),
        });
    }
    for (i, m) in messages.iter().enumerate() {
        if m.modseq.0 > q.mod_seq {
            s.send(&Response::Fetch(
                i as u32 + 1,
                vec![
                    mailstead_imap_proto::FetchItem::Uid(m.uid.0),
                    mailstead_imap_proto::FetchItem::Flags(flags_of(m)),
                    mailstead_imap_proto::FetchItem::ModSeq(m.modseq.0),
                ],
            ));
        }
    }
    Ok(())
}

/// CLOSE (expunge silently, then deselect) and UNSELECT (deselect only).
pub(crate) async fn close(s: &mut Session, expunge: bool) -> CmdResult {
    let sel = s
        .selected
        .take()
        .ok_or_else(|| bad("no mailbox selected"))?;
    if expunge && !sel.read_only {
        let msgs = s.server.stores.meta.messages(sel.mailbox.id).await?;
        let doomed: Vec<Uid> = msgs
            .iter()
            .filter(|m| m.flags.contains(Flags::DELETED))
            .map(|m| m.uid)
            .collect();
        if !doomed.is_empty() {
            s.server
                .stores
                .meta
                .expunge(sel.mailbox.id, &doomed)
                .await?;
        }
    }
    Ok(Done::ok(if expunge {
        "CLOSE completed"
    } else {
        "UNSELECT completed"
    }))
}

/// EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1).
pub(crate) async fn expunge(s: &mut Session, only: Option<&SequenceSet>) -> CmdResult {
    let saved = s.saved.clone();
    let qresync = s.qresync;
    let stores = s.server.stores.clone();
    let sel = s.selected()?;
    if sel.read_only {
        return Err(no(Some(ResponseCode::ReadOnly), "mailbox is read-only"));
    }
    let max_uid = sel.uids.last().unwrap_or(0);
    let msgs = stores.meta.messages(sel.mailbox.id).await?;
    let doomed: Vec<Uid> = msgs
        .iter()
        .filter(|m| m.flags.contains(Flags::DELETED))
        .filter(|m| sel.uids.contains(m.uid.0))
        .filter(|m| match only {
            None => true,
            Some(SequenceSet::Saved) => saved.as_ref().is_some_and(|v| v.contains(&m.uid.0)),
            Some(set) => uid_set_contains(set, m.uid.0, max_uid),
        })
        .map(|m| m.uid)
        .collect();
    if doomed.is_empty() {
        return Ok(Done::ok("EXPUNGE completed"));
    }
    let removed = stores.meta.expunge(sel.mailbox.id, &doomed).await?;
    let removed: Vec<u32> = removed.iter().map(|u| u.0).collect();
    let out = sel.remove(&removed, qresync);
    for r in &out {
        s.send(r);
    }
    Ok(Done::ok("EXPUNGE completed"))
}

/// Untagged `OK` with a response code (used by COPY/MOVE for COPYUID before EXPUNGEs).
pub(crate) fn untagged(code: ResponseCode, text: &str) -> Response {
    Response::Status {
        tag: None,
        status: Status::Ok,
        code: Some(code),
        text: text.to_string(),
    }
}
