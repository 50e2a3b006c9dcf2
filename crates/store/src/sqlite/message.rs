//! Messages of a mailbox: append (UID and MODSEQ allocation), flag changes, expunge, the
//! change log (RFC 7162 CONDSTORE/QRESYNC) and quota usage.
//!
//! Allocation is read-then-write on the mailbox row: read UIDNEXT and HIGHESTMODSEQ, use
//! them, store them advanced. That is race-free because every write runs on the one writer
//! connection inside `BEGIN IMMEDIATE`, which also holds off other processes; so UIDs and
//! MODSEQs are strictly ascending per mailbox (design invariant 4) without row locks.
//!
//! Keywords are stored as one space-separated, sorted, duplicate-free text: IMAP keywords
//! are atoms (RFC 9051 §9 `flag-keyword`), which cannot contain a space, so the encoding
//! is lossless; a keyword that is empty or holds white space is refused as `Invalid`.

use std::collections::BTreeSet;

use mailstead_types::{AccountId, MailboxId, MessageId, ModSeq, Uid};
use rusqlite::{Connection, Row};

use super::{col, col_u64, dsn, execute, mailbox, query_all, query_opt, query_u64, to_sql_i64};
use crate::model::{
    Change, ChangeKind, FlagOp, Flags, Mailbox, Message, NewDsnRequest, NewMessage,
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

/// Local delivery (`MetaStore::deliver`): stores the DSN requests, then appends one
/// message to each target mailbox, in the order given, with [`append`] each (a mailbox
/// named twice gets two messages with ascending UIDs); the same order as the PostgreSQL
/// backend. The caller's transaction makes it all or nothing: the first error (an invalid
/// request, a missing mailbox...) is returned and the job's savepoint rollback undoes
/// everything before it.
pub(super) fn deliver(
    conn: &Connection,
    targets: &[(MailboxId, NewMessage)],
    requests: &[NewDsnRequest],
) -> Result<Vec<Message>> {
    for request in requests {
        dsn::insert(conn, request)?;
    }
    targets
        .iter()
        .map(|(mailbox, new)| append(conn, *mailbox, new))
        .collect()
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
