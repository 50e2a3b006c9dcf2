//! Mailboxes (folders) and the UIDVALIDITY sequence.
//!
//! UIDVALIDITY comes from the `counters` row `uid_validity`: each new mailbox gets
//! `max(unix_now, last + 1)`, stored back in the same transaction. Values are therefore
//! unique over the database's life, so a mailbox deleted and created again under the same
//! name never gets its old UIDVALIDITY, and clients drop their cached UIDs (RFC 9051
//! §2.3.1.1). Starting from the clock keeps values distinct from those of an older
//! database this one may replace (a restore from backup).

use mailstead_types::{AccountId, MailboxId, ModSeq, Uid, UidValidity};
use rusqlite::{Connection, Row};

use super::{col, col_u64, conflict_on_unique, execute, exists, query_all, query_opt};
use crate::model::{Mailbox, SpecialUse, unix_now};
use crate::{Result, StoreError};

const COLUMNS: &str =
    "id, account_id, name, uid_validity, uid_next, highest_modseq, special_use, subscribed";

pub(super) fn from_row(row: &Row<'_>) -> Result<Mailbox> {
    let special_use =
        match col::<Option<String>>(row, 6)? {
            None => None,
            Some(s) => Some(SpecialUse::parse(&s).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown special-use attribute {s:?}"))
            })?),
        };
    Ok(Mailbox {
        id: MailboxId(col(row, 0)?),
        account_id: AccountId(col(row, 1)?),
        name: col(row, 2)?,
        uid_validity: UidValidity(col(row, 3)?),
        uid_next: Uid(col(row, 4)?),
        highest_modseq: ModSeq(col_u64(row, 5)?),
        special_use,
        subscribed: col(row, 7)?,
    })
}

/// Creates a mailbox with a fresh UIDVALIDITY, UIDNEXT 1 and HIGHESTMODSEQ 1.
/// `NotFound` if the account does not exist, `Conflict` if it has the name already.
pub(super) fn create(
    conn: &Connection,
    account: AccountId,
    name: &str,
    special_use: Option<SpecialUse>,
    subscribed: bool,
) -> Result<Mailbox> {
    if !exists(conn, "SELECT 1 FROM accounts WHERE id = ?1", [account.0])? {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let uid_validity = next_uid_validity(conn)?;
    conn.prepare_cached(
        "INSERT INTO mailboxes (account_id, name, uid_validity, uid_next, highest_modseq, \
         special_use, subscribed) VALUES (?1, ?2, ?3, 1, 1, ?4, ?5)",
    )?
    .execute((
        account.0,
        name,
        uid_validity.0,
        special_use.map(SpecialUse::as_str),
        subscribed,
    ))
    .map_err(|e| conflict_on_unique(e, || format!("mailbox {name}")))?;
    Ok(Mailbox {
        id: MailboxId(conn.last_insert_rowid()),
        account_id: account,
        name: name.to_owned(),
        uid_validity,
        uid_next: Uid(1),
        highest_modseq: ModSeq(1),
        special_use,
        subscribed,
    })
}

/// Takes the next value of the UIDVALIDITY sequence.
fn next_uid_validity(conn: &Connection) -> Result<UidValidity> {
    let last: Option<u32> = query_opt(
        conn,
        "SELECT value FROM counters WHERE name = 'uid_validity'",
        [],
        |r| col(r, 0),
    )?;
    // The clock as u32 lasts until 2106; past that (or on a clock before 1970) the
    // sequence simply goes on from `last + 1`.
    let now = u32::try_from(unix_now()).unwrap_or(0);
    let next = match last {
        None => now.max(1),
        Some(last) => last
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt("the UIDVALIDITY sequence is exhausted".into()))?
            .max(now),
    };
    execute(
        conn,
        "INSERT INTO counters (name, value) VALUES ('uid_validity', ?1) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [next],
    )?;
    Ok(UidValidity(next))
}

/// The mailboxes of an account, sorted by name.
pub(super) fn list(conn: &Connection, account: AccountId) -> Result<Vec<Mailbox>> {
    query_all(
        conn,
        &format!("SELECT {COLUMNS} FROM mailboxes WHERE account_id = ?1 ORDER BY name"),
        [account.0],
        from_row,
    )
}

/// A mailbox by exact name.
pub(super) fn by_name(
    conn: &Connection,
    account: AccountId,
    name: &str,
) -> Result<Option<Mailbox>> {
    query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM mailboxes WHERE account_id = ?1 AND name = ?2"),
        (account.0, name),
        from_row,
    )
}

/// A mailbox by id.
pub(super) fn by_id(conn: &Connection, id: MailboxId) -> Result<Option<Mailbox>> {
    query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM mailboxes WHERE id = ?1"),
        [id.0],
        from_row,
    )
}

/// A mailbox by id, `NotFound` when missing (for writes).
pub(super) fn require(conn: &Connection, id: MailboxId) -> Result<Mailbox> {
    by_id(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("mailbox {id}")))
}

/// Renames one mailbox, keeping its UIDVALIDITY and messages; `Conflict` if taken.
pub(super) fn rename(conn: &Connection, id: MailboxId, new_name: &str) -> Result<Mailbox> {
    let changed = conn
        .prepare_cached("UPDATE mailboxes SET name = ?1 WHERE id = ?2")?
        .execute((new_name, id.0))
        .map_err(|e| conflict_on_unique(e, || format!("mailbox {new_name}")))?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("mailbox {id}")));
    }
    require(conn, id)
}

/// Removes a mailbox; its messages and change log go by ON DELETE CASCADE (their
/// `message_index` rows stay for the blob garbage collector).
pub(super) fn delete(conn: &Connection, id: MailboxId) -> Result<()> {
    match execute(conn, "DELETE FROM mailboxes WHERE id = ?1", [id.0])? {
        0 => Err(StoreError::NotFound(format!("mailbox {id}"))),
        _ => Ok(()),
    }
}

/// Sets the subscribed flag.
pub(super) fn set_subscribed(conn: &Connection, id: MailboxId, subscribed: bool) -> Result<()> {
    match execute(
        conn,
        "UPDATE mailboxes SET subscribed = ?1 WHERE id = ?2",
        (subscribed, id.0),
    )? {
        0 => Err(StoreError::NotFound(format!("mailbox {id}"))),
        _ => Ok(()),
    }
}

/// Sets or clears the RFC 6154 role.
pub(super) fn set_special_use(
    conn: &Connection,
    id: MailboxId,
    special_use: Option<SpecialUse>,
) -> Result<()> {
    match execute(
        conn,
        "UPDATE mailboxes SET special_use = ?1 WHERE id = ?2",
        (special_use.map(SpecialUse::as_str), id.0),
    )? {
        0 => Err(StoreError::NotFound(format!("mailbox {id}"))),
        _ => Ok(()),
    }
}
