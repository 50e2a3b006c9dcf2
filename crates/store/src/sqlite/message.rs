//! Messages of a mailbox: append (UID and MODSEQ allocation), flag changes, expunge, the
//! change log (RFC 7162 CONDSTORE/QRESYNC) and quota usage.
//!
//! Allocation is read-then-write on the mailbox row: read UIDNEXT and HIGHESTMODSEQ, use
//! them, store them advanced. That is race-free because every write runs on the one writer
//! connection inside `BEGIN IMMEDIATE`, which also holds off other processes; so UIDs and
//! MODSEQs are strictly ascending per mailbox (design invariant 4) without row locks.
//!
//! Sets of UIDs (COPY/MOVE, FETCH of summaries) go to SQLite as one JSON array parameter,
//! read with `json_each`: `uid IN (SELECT value FROM json_each(?))` is one statement
//! whatever the set's size, looked up through the `(mailbox_id, uid)` index, instead of an
//! `IN` list with a parameter per UID (SQLite caps parameters at 32766).
//!
//! The message index (`message_index`, one row per blob) is written with the message that
//! brings it (`append`) or later by `put_index`, always `INSERT OR IGNORE`: blobs are
//! immutable, so a row once written is right for every copy. Search is a scan of the
//! mailbox's rows with `instr()` (a plain substring test: `%` and `_` are ordinary
//! characters); an FTS5 trigram table is the next step if that becomes too slow.
//!
//! Keywords are stored as one space-separated, sorted, duplicate-free text: IMAP keywords
//! are atoms (RFC 9051 §9 `flag-keyword`), which cannot contain a space, so the encoding
//! is lossless; a keyword that is empty or holds white space is refused as `Invalid`.

use std::collections::BTreeSet;

use mailstead_types::{AccountId, BlobId, MailboxId, MessageId, ModSeq, QueueId, Uid};
use rusqlite::{Connection, Row};

use super::{
    col, col_u64, dsn, execute, mailbox, query_all, query_opt, query_u64, queue, to_sql_i64,
};
use crate::model::{
    Change, ChangeKind, FlagOp, Flags, Mailbox, MailboxCounts, Message, MessageIndex,
    NewDsnRequest, NewMessage, NewQueuedMessage, without_nul,
};
use crate::{Result, StoreError};

const COLUMNS: &str = "id, mailbox_id, uid, modseq, flags, keywords, internal_date, size, blob_id";

fn from_row(row: &Row<'_>) -> Result<Message> {
    let blob_id: String = col(row, 8)?;
    Ok(Message {
        id: MessageId(col(row, 0)?),
        mailbox_id: MailboxId(col(row, 1)?),
        uid: Uid(col(row, 2)?),
        modseq: ModSeq(col_u64(row, 3)?),
        flags: Flags(col(row, 4)?),
        keywords: decode_keywords(&col::<String>(row, 5)?),
        internal_date: col(row, 6)?,
        size: col_u64(row, 7)?,
        blob_id: blob_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("stored blob id {blob_id:?}")))?,
    })
}

/// The stored form of a keyword set: sorted, without duplicates, space-separated.
fn encode_keywords(keywords: &BTreeSet<String>) -> String {
    keywords
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

fn decode_keywords(stored: &str) -> Vec<String> {
    stored
        .split(' ')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Keywords as a set; `Invalid` for one that cannot be stored (empty, white space).
fn keyword_set(keywords: &[String]) -> Result<BTreeSet<String>> {
    keywords
        .iter()
        .map(|k| {
            if k.is_empty() || k.chars().any(char::is_whitespace) {
                Err(StoreError::Invalid(format!("keyword {k:?} is not an atom")))
            } else {
                Ok(k.clone())
            }
        })
        .collect()
}

/// The MODSEQ after `current`; `Invalid` past the 63 bits an INTEGER column holds.
fn next_modseq(current: ModSeq) -> Result<ModSeq> {
    let next = current.0.saturating_add(1);
    to_sql_i64(next, "modseq")?;
    Ok(ModSeq(next))
}

fn log_change(
    conn: &Connection,
    mailbox: MailboxId,
    modseq: ModSeq,
    uid: Uid,
    kind: ChangeKind,
) -> Result<()> {
    let kind = match kind {
        ChangeKind::Appended => "appended",
        ChangeKind::Flags => "flags",
        ChangeKind::Expunged => "expunged",
    };
    execute(
        conn,
        "INSERT INTO changes (mailbox_id, modseq, uid, kind) VALUES (?1, ?2, ?3, ?4)",
        (mailbox.0, to_sql_i64(modseq.0, "modseq")?, uid.0, kind),
    )?;
    Ok(())
}

fn set_highest_modseq(conn: &Connection, mailbox: MailboxId, modseq: ModSeq) -> Result<()> {
    execute(
        conn,
        "UPDATE mailboxes SET highest_modseq = ?1 WHERE id = ?2",
        (to_sql_i64(modseq.0, "modseq")?, mailbox.0),
    )?;
    Ok(())
}

/// Appends a message with UID = UIDNEXT and MODSEQ = HIGHESTMODSEQ + 1, advances both and
/// logs an `Appended` change.
pub(super) fn append(conn: &Connection, mailbox: MailboxId, new: &NewMessage) -> Result<Message> {
    let mb = mailbox::require(conn, mailbox)?;
    let keywords = keyword_set(&new.keywords)?;
    let uid = mb.uid_next;
    // RFC 9051 §2.3.1.1: UIDs are 32-bit; a mailbox that used them all must be recreated
    // (with a new UIDVALIDITY) before it takes more.
    let uid_next = uid
        .0
        .checked_add(1)
        .ok_or_else(|| StoreError::Invalid(format!("mailbox {} has used every UID", mb.name)))?;
    let modseq = next_modseq(mb.highest_modseq)?;
    let size = to_sql_i64(new.size, "message size")?;
    execute(
        conn,
        "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, size, \
         blob_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        (
            mailbox.0,
            uid.0,
            to_sql_i64(modseq.0, "modseq")?,
            new.flags.0,
            encode_keywords(&keywords),
            new.internal_date,
            size,
            new.blob_id.to_hex(),
        ),
    )?;
    let id = MessageId(conn.last_insert_rowid());
    execute(
        conn,
        "UPDATE mailboxes SET uid_next = ?1, highest_modseq = ?2 WHERE id = ?3",
        (uid_next, to_sql_i64(modseq.0, "modseq")?, mailbox.0),
    )?;
    log_change(conn, mailbox, modseq, uid, ChangeKind::Appended)?;
    if let Some(index) = &new.index {
        insert_index(conn, &new.blob_id, index)?;
    }
    Ok(Message {
        id,
        mailbox_id: mailbox,
        uid,
        modseq,
        flags: new.flags,
        keywords: keywords.into_iter().collect(),
        internal_date: new.internal_date,
        size: new.size,
        blob_id: new.blob_id,
    })
}

/// Accepting a message (`MetaStore::accept`): stores the DSN requests, queues the
/// messages for other servers, then appends one message to each target mailbox, in the
/// order given, with [`append`] each (a mailbox named twice gets two messages with
/// ascending UIDs); the same order as the PostgreSQL backend. The caller's transaction
/// (one write job: one savepoint of a group commit) makes it all or nothing: the first
/// error (an invalid request or queued message, a missing mailbox...) is returned and the
/// job's savepoint rollback undoes everything before it.
pub(super) fn accept(
    conn: &Connection,
    targets: &[(MailboxId, NewMessage)],
    requests: &[NewDsnRequest],
    queued: &[NewQueuedMessage],
) -> Result<(Vec<Message>, Vec<QueueId>)> {
    for request in requests {
        dsn::insert(conn, request)?;
    }
    let ids = queued
        .iter()
        .map(|new| queue::insert(conn, new))
        .collect::<Result<Vec<_>>>()?;
    let appended = targets
        .iter()
        .map(|(mailbox, new)| append(conn, *mailbox, new))
        .collect::<Result<Vec<_>>>()?;
    Ok((appended, ids))
}

/// Messages of a mailbox in ascending UID order.
pub(super) fn list(conn: &Connection, mailbox: MailboxId) -> Result<Vec<Message>> {
    query_all(
        conn,
        &format!("SELECT {COLUMNS} FROM messages WHERE mailbox_id = ?1 ORDER BY uid"),
        [mailbox.0],
        from_row,
    )
}

fn by_uid(conn: &Connection, mailbox: MailboxId, uid: Uid) -> Result<Option<Message>> {
    query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM messages WHERE mailbox_id = ?1 AND uid = ?2"),
        (mailbox.0, uid.0),
        from_row,
    )
}

/// The UIDs ascending, each once.
fn sorted_uids(uids: &[Uid]) -> Vec<Uid> {
    let mut uids = uids.to_vec();
    uids.sort_unstable();
    uids.dedup();
    uids
}

/// Changes flags and keywords (RFC 9051 §6.4.6); see `MetaStore::store_flags`.
pub(super) fn store_flags(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &[Uid],
    op: FlagOp,
    flags: Flags,
    keywords: &[String],
) -> Result<Vec<Message>> {
    let mb: Mailbox = mailbox::require(conn, mailbox)?;
    let given = keyword_set(keywords)?;
    let mut modseq = mb.highest_modseq;
    let mut changed = Vec::new();
    for uid in sorted_uids(uids) {
        let Some(message) = by_uid(conn, mailbox, uid)? else {
            continue;
        };
        let current: BTreeSet<String> = message.keywords.iter().cloned().collect();
        let (new_flags, new_keywords) = match op {
            FlagOp::Replace => (flags, given.clone()),
            FlagOp::Add => (
                message.flags.union(flags),
                current.union(&given).cloned().collect(),
            ),
            FlagOp::Remove => (
                message.flags.difference(flags),
                current.difference(&given).cloned().collect(),
            ),
        };
        // RFC 7162 §3.1.3: only a real change gets a new MODSEQ.
        if new_flags == message.flags && new_keywords == current {
            continue;
        }
        modseq = next_modseq(modseq)?;
        execute(
            conn,
            "UPDATE messages SET flags = ?1, keywords = ?2, modseq = ?3 WHERE id = ?4",
            (
                new_flags.0,
                encode_keywords(&new_keywords),
                to_sql_i64(modseq.0, "modseq")?,
                message.id.0,
            ),
        )?;
        log_change(conn, mailbox, modseq, uid, ChangeKind::Flags)?;
        changed.push(Message {
            modseq,
            flags: new_flags,
            keywords: new_keywords.into_iter().collect(),
            ..message
        });
    }
    if modseq != mb.highest_modseq {
        set_highest_modseq(conn, mailbox, modseq)?;
    }
    Ok(changed)
}

/// Removes the messages with these UIDs, one new MODSEQ and `Expunged` change each.
pub(super) fn expunge(conn: &Connection, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>> {
    let mb = mailbox::require(conn, mailbox)?;
    let mut modseq = mb.highest_modseq;
    let mut removed = Vec::new();
    for uid in sorted_uids(uids) {
        let n = execute(
            conn,
            "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
            (mailbox.0, uid.0),
        )?;
        if n == 0 {
            continue;
        }
        modseq = next_modseq(modseq)?;
        log_change(conn, mailbox, modseq, uid, ChangeKind::Expunged)?;
        removed.push(uid);
    }
    if modseq != mb.highest_modseq {
        set_highest_modseq(conn, mailbox, modseq)?;
    }
    Ok(removed)
}

/// Change-log rows with MODSEQ greater than `since`, ascending.
pub(super) fn changes_since(
    conn: &Connection,
    mailbox: MailboxId,
    since: ModSeq,
) -> Result<Vec<Change>> {
    // No stored MODSEQ exceeds i64::MAX, so a larger `since` means "nothing newer".
    let since = i64::try_from(since.0).unwrap_or(i64::MAX);
    query_all(
        conn,
        "SELECT modseq, uid, kind FROM changes WHERE mailbox_id = ?1 AND modseq > ?2 \
         ORDER BY modseq",
        (mailbox.0, since),
        |row| {
            let kind: String = col(row, 2)?;
            Ok(Change {
                modseq: ModSeq(col_u64(row, 0)?),
                uid: Uid(col(row, 1)?),
                kind: match kind.as_str() {
                    "appended" => ChangeKind::Appended,
                    "flags" => ChangeKind::Flags,
                    "expunged" => ChangeKind::Expunged,
                    other => {
                        return Err(StoreError::Corrupt(format!(
                            "unknown change kind {other:?}"
                        )));
                    }
                },
            })
        },
    )
}

/// Sum of message sizes over all mailboxes of an account.
pub(super) fn account_usage(conn: &Connection, account: AccountId) -> Result<u64> {
    query_u64(
        conn,
        "SELECT COALESCE(SUM(m.size), 0) FROM messages m \
         JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = ?1",
        [account.0],
    )
}

/// Stores the index of a blob unless it has one (blobs are immutable); NUL characters are
/// stripped (see [`MessageIndex`]).
pub(super) fn insert_index(conn: &Connection, blob: &BlobId, index: &MessageIndex) -> Result<()> {
    let (summary, header_text, body_text) = index.stored_texts();
    execute(
        conn,
        "INSERT OR IGNORE INTO message_index (blob_id, summary, header_text, body_text) \
         VALUES (?1, ?2, ?3, ?4)",
        (blob.to_hex(), &*summary, &*header_text, &*body_text),
    )?;
    Ok(())
}

/// A set of UIDs as the JSON array `json_each` reads (see the module docs).
fn uid_array(uids: &[Uid]) -> String {
    let mut out = String::with_capacity(uids.len() * 6 + 2);
    out.push('[');
    for (i, uid) in uids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&uid.0.to_string());
    }
    out.push(']');
    out
}

/// Messages of a mailbox with `first <= UID <= last`, ascending.
pub(super) fn in_range(
    conn: &Connection,
    mailbox: MailboxId,
    first: Uid,
    last: Uid,
) -> Result<Vec<Message>> {
    query_all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 \
             ORDER BY uid"
        ),
        (mailbox.0, first.0, last.0),
        from_row,
    )
}

/// The STATUS counts of a mailbox in one query; `NotFound` if it does not exist.
pub(super) fn counts(conn: &Connection, mailbox: MailboxId) -> Result<MailboxCounts> {
    let sql = format!(
        "SELECT COUNT(m.id), \
                COALESCE(SUM(CASE WHEN m.flags & {seen} = 0 THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN m.flags & {deleted} <> 0 THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(m.size), 0) \
           FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id \
          WHERE b.id = ?1 GROUP BY b.id",
        seen = Flags::SEEN.0,
        deleted = Flags::DELETED.0,
    );
    query_opt(conn, &sql, [mailbox.0], |row| {
        Ok(MailboxCounts {
            messages: col_u64(row, 0)?,
            unseen: col_u64(row, 1)?,
            deleted: col_u64(row, 2)?,
            size: col_u64(row, 3)?,
        })
    })?
    .ok_or_else(|| StoreError::NotFound(format!("mailbox {mailbox}")))
}

/// COPY, or MOVE with `remove_source` (RFC 6851): see `MetaStore::copy_messages`. Every
/// copy is inserted from its source row (`INSERT ... SELECT`, so flags, keywords, date,
/// size and blob are carried over exactly) with the target's next UID and MODSEQ and an
/// `Appended` change; for MOVE the source row is then deleted with a new source MODSEQ and
/// an `Expunged` change. The caller's transaction makes it all or nothing.
pub(super) fn copy(
    conn: &Connection,
    from: MailboxId,
    uids: &[Uid],
    to: MailboxId,
    remove_source: bool,
) -> Result<Vec<(Uid, Uid)>> {
    if remove_source && from == to {
        return Err(StoreError::Invalid(format!(
            "cannot move messages of mailbox {from} into itself"
        )));
    }
    let source = mailbox::require(conn, from)?;
    let target = mailbox::require(conn, to)?;
    let uids = sorted_uids(uids);
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let present: Vec<Uid> = query_all(
        conn,
        "SELECT uid FROM messages \
          WHERE mailbox_id = ?1 AND uid IN (SELECT value FROM json_each(?2)) ORDER BY uid",
        (from.0, uid_array(&uids)),
        |row| Ok(Uid(col(row, 0)?)),
    )?;
    if present.is_empty() {
        return Ok(Vec::new());
    }

    let mut uid_next = target.uid_next;
    let mut target_modseq = target.highest_modseq;
    let mut pairs = Vec::with_capacity(present.len());
    for &uid in &present {
        let new_uid = uid_next;
        uid_next = Uid(new_uid.0.checked_add(1).ok_or_else(|| {
            StoreError::Invalid(format!("mailbox {} has used every UID", target.name))
        })?);
        target_modseq = next_modseq(target_modseq)?;
        execute(
            conn,
            "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, \
             size, blob_id) \
             SELECT ?1, ?2, ?3, flags, keywords, internal_date, size, blob_id \
               FROM messages WHERE mailbox_id = ?4 AND uid = ?5",
            (
                to.0,
                new_uid.0,
                to_sql_i64(target_modseq.0, "modseq")?,
                from.0,
                uid.0,
            ),
        )?;
        log_change(conn, to, target_modseq, new_uid, ChangeKind::Appended)?;
        pairs.push((uid, new_uid));
    }
    execute(
        conn,
        "UPDATE mailboxes SET uid_next = ?1, highest_modseq = ?2 WHERE id = ?3",
        (uid_next.0, to_sql_i64(target_modseq.0, "modseq")?, to.0),
    )?;

    if remove_source {
        let mut source_modseq = source.highest_modseq;
        for &uid in &present {
            execute(
                conn,
                "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
                (from.0, uid.0),
            )?;
            source_modseq = next_modseq(source_modseq)?;
            log_change(conn, from, source_modseq, uid, ChangeKind::Expunged)?;
        }
        set_highest_modseq(conn, from, source_modseq)?;
    }
    Ok(pairs)
}

/// The stored summaries of the messages with these UIDs, ascending by UID.
pub(super) fn summaries(
    conn: &Connection,
    mailbox: MailboxId,
    uids: &[Uid],
) -> Result<Vec<(Uid, String)>> {
    let uids = sorted_uids(uids);
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    query_all(
        conn,
        "SELECT m.uid, i.summary FROM messages m \
           JOIN message_index i ON i.blob_id = m.blob_id \
          WHERE m.mailbox_id = ?1 AND m.uid IN (SELECT value FROM json_each(?2)) \
          ORDER BY m.uid",
        (mailbox.0, uid_array(&uids)),
        |row| Ok((Uid(col(row, 0)?), col(row, 1)?)),
    )
}

/// Messages without an index row: `(UID, blob)`, ascending.
pub(super) fn unindexed(conn: &Connection, mailbox: MailboxId) -> Result<Vec<(Uid, BlobId)>> {
    query_all(
        conn,
        "SELECT m.uid, m.blob_id FROM messages m \
           LEFT JOIN message_index i ON i.blob_id = m.blob_id \
          WHERE m.mailbox_id = ?1 AND i.blob_id IS NULL \
          ORDER BY m.uid",
        [mailbox.0],
        |row| {
            let blob_id: String = col(row, 1)?;
            Ok((
                Uid(col(row, 0)?),
                blob_id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("stored blob id {blob_id:?}")))?,
            ))
        },
    )
}

/// Messages whose header text contains `needle` (plain substring), with that text.
pub(super) fn search_headers(
    conn: &Connection,
    mailbox: MailboxId,
    needle: &str,
) -> Result<Vec<(Uid, String)>> {
    query_all(
        conn,
        "SELECT m.uid, i.header_text FROM messages m \
           JOIN message_index i ON i.blob_id = m.blob_id \
          WHERE m.mailbox_id = ?1 AND instr(i.header_text, ?2) > 0 \
          ORDER BY m.uid",
        (mailbox.0, &*without_nul(needle)),
        |row| Ok((Uid(col(row, 0)?), col(row, 1)?)),
    )
}

/// UIDs of the messages whose body text contains `needle` (plain substring).
pub(super) fn search_body(conn: &Connection, mailbox: MailboxId, needle: &str) -> Result<Vec<Uid>> {
    query_all(
        conn,
        "SELECT m.uid FROM messages m \
           JOIN message_index i ON i.blob_id = m.blob_id \
          WHERE m.mailbox_id = ?1 AND instr(i.body_text, ?2) > 0 \
          ORDER BY m.uid",
        (mailbox.0, &*without_nul(needle)),
        |row| Ok(Uid(col(row, 0)?)),
    )
}
