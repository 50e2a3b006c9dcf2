//! The outbound queue: messages waiting to be sent to other servers, each with its
//! recipients and their delivery state.
//!
//! Messages are queued by [`super::message::accept`] (in the transaction of the delivery
//! that accepted them), by [`complete`] (the notices an attempt produced) and by
//! `dsn::replace` (a stored DSN request turned into its notification), always through
//! [`insert`]. Leasing is read-then-write like UID allocation: race-free because every
//! write runs on the one writer connection inside `BEGIN IMMEDIATE`, which also holds off
//! other processes, so two leases never return the same message while its lease stands.
//!
//! Sets of message ids go to SQLite as one JSON array read with `json_each`, as sets of
//! UIDs do in `message.rs`.

use std::collections::HashMap;

use mailstead_types::{AccountId, QueueId, QueueRecipientId};
use rusqlite::{Connection, Row};

use super::{col, col_u64, execute, exists, query_all, query_opt, query_u64, to_sql_i64};
use crate::model::{
    DsnRet, NewQueuedMessage, NotifyFlags, OriginalRecipient, QueueStats, QueuedMessage,
    QueuedRecipient, RecipientStatus, RecipientUpdate, UnixTime, unix_now,
};
use crate::{Result, StoreError};

const MESSAGE_COLUMNS: &str = "id, blob_id, size, mail_from, envid, ret, body_8bit, smtputf8, \
                               requiretls, submitter, created_at, lease_until";

const RECIPIENT_COLUMNS: &str = "message_id, id, address, orcpt_type, orcpt, notify, status, \
                                 attempts, next_attempt, last_attempt, last_error, delay_notified";

/// A message row without its recipients (filled in by [`assemble`]).
fn message_from_row(row: &Row<'_>) -> Result<QueuedMessage> {
    let blob_id: String = col(row, 1)?;
    Ok(QueuedMessage {
        id: QueueId(col(row, 0)?),
        blob_id: blob_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("stored blob id {blob_id:?}")))?,
        size: col_u64(row, 2)?,
        mail_from: col(row, 3)?,
        envid: col(row, 4)?,
        ret: col::<Option<String>>(row, 5)?
            .map(|r| DsnRet::from_stored(&r))
            .transpose()?,
        body_8bit: col(row, 6)?,
        smtputf8: col(row, 7)?,
        requiretls: col(row, 8)?,
        submitter: col::<Option<i64>>(row, 9)?.map(AccountId),
        created_at: col(row, 10)?,
        lease_until: col(row, 11)?,
        recipients: Vec::new(),
    })
}

/// A recipient row with the message it belongs to.
fn recipient_from_row(row: &Row<'_>) -> Result<(QueueId, QueuedRecipient)> {
    Ok((
        QueueId(col(row, 0)?),
        QueuedRecipient {
            id: QueueRecipientId(col(row, 1)?),
            address: col(row, 2)?,
            original_recipient: OriginalRecipient::from_stored(col(row, 3)?, col(row, 4)?)?,
            notify: NotifyFlags(col(row, 5)?),
            status: RecipientStatus::from_stored(&col::<String>(row, 6)?)?,
            attempts: col(row, 7)?,
            next_attempt: col(row, 8)?,
            last_attempt: col(row, 9)?,
            last_error: col(row, 10)?,
            delay_notified: col(row, 11)?,
        },
    ))
}

/// Gives each message its recipients (both read in one snapshot), keeping the order of
/// `messages` and, per message, of `recipients`.
fn assemble(
    mut messages: Vec<QueuedMessage>,
    recipients: Vec<(QueueId, QueuedRecipient)>,
) -> Vec<QueuedMessage> {
    let index: HashMap<QueueId, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    for (message, recipient) in recipients {
        if let Some(&i) = index.get(&message) {
            messages[i].recipients.push(recipient);
        }
    }
    messages
}

/// A set of ids as the JSON array `json_each` reads.
fn id_array(ids: &[QueueId]) -> String {
    let ids: Vec<String> = ids.iter().map(|id| id.0.to_string()).collect();
    format!("[{}]", ids.join(","))
}

/// The messages with these ids (missing ones left out), ascending by id.
fn load(conn: &Connection, ids: &[QueueId]) -> Result<Vec<QueuedMessage>> {
    let ids = id_array(ids);
    let messages = query_all(
        conn,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM queue_messages \
             WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
        ),
        [&ids],
        message_from_row,
    )?;
    let recipients = query_all(
        conn,
        &format!(
            "SELECT {RECIPIENT_COLUMNS} FROM queue_recipients \
             WHERE message_id IN (SELECT value FROM json_each(?1)) ORDER BY message_id, id"
        ),
        [&ids],
        recipient_from_row,
    )?;
    Ok(assemble(messages, recipients))
}

/// Queues one message with its recipients (all pending, due at `next_attempt`) inside the
/// caller's transaction. `Invalid` as [`NewQueuedMessage`] says; `NotFound` for a
/// submitter account that does not exist.
pub(super) fn insert(conn: &Connection, new: &NewQueuedMessage) -> Result<QueueId> {
    new.check()?;
    if let Some(account) = new.submitter
        && !exists(conn, "SELECT 1 FROM accounts WHERE id = ?1", [account.0])?
    {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    execute(
        conn,
        "INSERT INTO queue_messages (blob_id, size, mail_from, envid, ret, body_8bit, \
         smtputf8, requiretls, submitter, created_at, lease_until) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL)",
        (
            new.blob_id.to_hex(),
            to_sql_i64(new.size, "queued message size")?,
            &new.mail_from,
            &new.envid,
            new.ret.map(DsnRet::as_str),
            new.body_8bit,
            new.smtputf8,
            new.requiretls,
            new.submitter.map(|a| a.0),
            new.created_at,
        ),
    )?;
    let id = QueueId(conn.last_insert_rowid());
    for r in &new.recipients {
        let orcpt = r.original_recipient.as_ref();
        execute(
            conn,
            "INSERT INTO queue_recipients (message_id, address, orcpt_type, orcpt, notify, \
             status, attempts, next_attempt, last_attempt, last_error, delay_notified) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, NULL, NULL, 0)",
            (
                id.0,
                &r.address,
                orcpt.map(|o| o.addr_type.as_str()),
                orcpt.map(|o| o.address.as_str()),
                r.notify.0,
                new.next_attempt,
            ),
        )?;
    }
    Ok(id)
}

/// Leases at most `limit` due messages (see `MetaStore::queue_lease`), most overdue first.
pub(super) fn lease(
    conn: &Connection,
    now: UnixTime,
    lease_secs: i64,
    limit: u32,
) -> Result<Vec<QueuedMessage>> {
    // Driven by the (status, next_attempt) index: only the due pending recipients are read.
    let due: Vec<QueueId> = query_all(
        conn,
        "SELECT r.message_id, MIN(r.next_attempt) AS due \
           FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id \
          WHERE r.status = 'pending' AND r.next_attempt <= ?1 \
            AND (m.lease_until IS NULL OR m.lease_until < ?1) \
          GROUP BY r.message_id \
          ORDER BY due, r.message_id \
          LIMIT ?2",
        (now, limit),
        |row| col(row, 0).map(QueueId),
    )?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    execute(
        conn,
        "UPDATE queue_messages SET lease_until = ?1 \
          WHERE id IN (SELECT value FROM json_each(?2))",
        (now.saturating_add(lease_secs), id_array(&due)),
    )?;
    let mut leased = load(conn, &due)?;
    let rank: HashMap<QueueId, usize> = due.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    leased.sort_by_key(|m| rank.get(&m.id).copied().unwrap_or(usize::MAX));
    Ok(leased)
}

/// Records an attempt (see `MetaStore::queue_complete`): all or nothing, since the first
/// error is returned and the job's savepoint rollback undoes what came before it.
///
/// Per update, as the PostgreSQL backend: `attempted` adds one to `attempts` and sets
/// `last_attempt` to the store's clock; `last_error` is replaced when given (without NUL)
/// and kept when `None`; `delay_notified` is set, never cleared. Updates naming one
/// recipient twice are `Invalid`.
pub(super) fn complete(
    conn: &Connection,
    id: QueueId,
    updates: &[RecipientUpdate],
    notices: &[NewQueuedMessage],
) -> Result<bool> {
    RecipientUpdate::check_all(updates)?;
    if !exists(conn, "SELECT 1 FROM queue_messages WHERE id = ?1", [id.0])? {
        return Err(StoreError::NotFound(format!("queued message {id}")));
    }
    let now = unix_now();
    for u in updates {
        let changed = execute(
            conn,
            "UPDATE queue_recipients \
                SET status = ?1, \
                    attempts = attempts + ?2, \
                    last_attempt = CASE WHEN ?2 = 1 THEN ?3 ELSE last_attempt END, \
                    next_attempt = ?4, \
                    last_error = COALESCE(?5, last_error), \
                    delay_notified = delay_notified OR ?6 \
              WHERE id = ?7 AND message_id = ?8",
            (
                u.status.as_str(),
                i64::from(u.attempted),
                now,
                u.next_attempt,
                u.stored_error(),
                u.delay_notified,
                u.id.0,
                id.0,
            ),
        )?;
        if changed == 0 {
            return Err(StoreError::Invalid(format!(
                "queue recipient {} is not one of queued message {id}",
                u.id
            )));
        }
    }
    for notice in notices {
        insert(conn, notice)?;
    }
    let pending = exists(
        conn,
        "SELECT 1 FROM queue_recipients WHERE message_id = ?1 AND status = 'pending'",
        [id.0],
    )?;
    if pending {
        execute(
            conn,
            "UPDATE queue_messages SET lease_until = NULL WHERE id = ?1",
            [id.0],
        )?;
    } else {
        // ON DELETE CASCADE removes the recipients.
        execute(conn, "DELETE FROM queue_messages WHERE id = ?1", [id.0])?;
    }
    Ok(!pending)
}

/// The earliest time something is due (see `MetaStore::queue_next_due`).
pub(super) fn next_due(conn: &Connection) -> Result<Option<UnixTime>> {
    query_opt(
        conn,
        "SELECT MIN(CASE WHEN m.lease_until > p.due THEN m.lease_until ELSE p.due END) \
           FROM (SELECT message_id, MIN(next_attempt) AS due FROM queue_recipients \
                  WHERE status = 'pending' GROUP BY message_id) p \
           JOIN queue_messages m ON m.id = p.message_id",
        [],
        |row| col::<Option<i64>>(row, 0),
    )
    .map(Option::flatten)
}

/// Every queued message with its recipients, ascending by id.
pub(super) fn list(conn: &Connection) -> Result<Vec<QueuedMessage>> {
    let messages = query_all(
        conn,
        &format!("SELECT {MESSAGE_COLUMNS} FROM queue_messages ORDER BY id"),
        [],
        message_from_row,
    )?;
    let recipients = query_all(
        conn,
        &format!("SELECT {RECIPIENT_COLUMNS} FROM queue_recipients ORDER BY message_id, id"),
        [],
        recipient_from_row,
    )?;
    Ok(assemble(messages, recipients))
}

/// One queued message with its recipients.
pub(super) fn by_id(conn: &Connection, id: QueueId) -> Result<Option<QueuedMessage>> {
    Ok(load(conn, &[id])?.pop())
}

/// Makes pending recipients due at `now` (those due later; the others are due already);
/// returns how many changed. `NotFound` for a named message that does not exist.
pub(super) fn retry(conn: &Connection, id: Option<QueueId>, now: UnixTime) -> Result<u64> {
    let changed = match id {
        Some(id) => {
            if !exists(conn, "SELECT 1 FROM queue_messages WHERE id = ?1", [id.0])? {
                return Err(StoreError::NotFound(format!("queued message {id}")));
            }
            execute(
                conn,
                "UPDATE queue_recipients SET next_attempt = ?1 \
                  WHERE message_id = ?2 AND status = 'pending' AND next_attempt > ?1",
                (now, id.0),
            )?
        }
        None => execute(
            conn,
            "UPDATE queue_recipients SET next_attempt = ?1 \
              WHERE status = 'pending' AND next_attempt > ?1",
            [now],
        )?,
    };
    Ok(changed as u64)
}

/// Removes a message with its recipients; `NotFound` if absent.
pub(super) fn delete(conn: &Connection, id: QueueId) -> Result<()> {
    match execute(conn, "DELETE FROM queue_messages WHERE id = ?1", [id.0])? {
        0 => Err(StoreError::NotFound(format!("queued message {id}"))),
        _ => Ok(()),
    }
}

/// Counts of the queue.
pub(super) fn stats(conn: &Connection) -> Result<QueueStats> {
    Ok(QueueStats {
        messages: query_u64(conn, "SELECT COUNT(*) FROM queue_messages", [])?,
        pending_recipients: query_u64(
            conn,
            "SELECT COUNT(*) FROM queue_recipients WHERE status = 'pending'",
            [],
        )?,
        oldest: query_opt(
            conn,
            "SELECT MIN(created_at) FROM queue_messages",
            [],
            |row| col::<Option<i64>>(row, 0),
        )?
        .flatten(),
    })
}
