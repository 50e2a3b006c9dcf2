//! The outbound queue: messages waiting to be sent to other servers, each with its
//! recipients and their delivery state (PostgreSQL).
//!
//! Messages are queued by [`super::message::accept`] (in the transaction of the delivery
//! that accepted them), by [`complete`] (the notices an attempt produced) and by
//! `dsn::replace` (a stored DSN request turned into its notification), always through
//! [`insert_all`].
//!
//! Several nodes run queue workers on one database, so leasing locks the message rows it
//! takes with `SELECT ... FOR UPDATE SKIP LOCKED` and sets their `lease_until` in the
//! same transaction: a concurrent lease skips the rows being taken, and once the lease is
//! committed its `lease_until` keeps them out (a row locked after the other's commit is
//! re-checked against its new version). [`complete`] locks the message row (`FOR UPDATE`)
//! before it writes, so it waits for a lease being taken, and an operator's `DELETE`
//! meanwhile turns it into `NotFound`.
//!
//! Reads of messages with their recipients run in one `REPEATABLE READ` transaction, so
//! the two statements see the same snapshot.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use mailstead_types::{AccountId, QueueId, QueueRecipientId};
use tokio_postgres::Row;

use super::{
    PostgresStore, execute, from_sql_u32, from_sql_u64, not_found_on_foreign_key, query, query_one,
    query_opt, to_sql_i64,
};
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
fn message_from_row(row: &Row) -> Result<QueuedMessage> {
    let blob_id: &str = row.try_get("blob_id")?;
    Ok(QueuedMessage {
        id: QueueId(row.try_get("id")?),
        blob_id: blob_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("stored blob id {blob_id:?}")))?,
        size: from_sql_u64(row.try_get("size")?, "queued message size")?,
        mail_from: row.try_get("mail_from")?,
        envid: row.try_get("envid")?,
        ret: row
            .try_get::<_, Option<&str>>("ret")?
            .map(DsnRet::from_stored)
            .transpose()?,
        body_8bit: row.try_get("body_8bit")?,
        smtputf8: row.try_get("smtputf8")?,
        requiretls: row.try_get("requiretls")?,
        submitter: row.try_get::<_, Option<i64>>("submitter")?.map(AccountId),
        created_at: row.try_get("created_at")?,
        lease_until: row.try_get("lease_until")?,
        recipients: Vec::new(),
    })
}

/// A recipient row with the message it belongs to.
fn recipient_from_row(row: &Row) -> Result<(QueueId, QueuedRecipient)> {
    let notify: i32 = row.try_get("notify")?;
    let notify = u8::try_from(notify)
        .map_err(|_| StoreError::Corrupt(format!("recipient NOTIFY out of range: {notify}")))?;
    Ok((
        QueueId(row.try_get("message_id")?),
        QueuedRecipient {
            id: QueueRecipientId(row.try_get("id")?),
            address: row.try_get("address")?,
            original_recipient: OriginalRecipient::from_stored(
                row.try_get("orcpt_type")?,
                row.try_get("orcpt")?,
            )?,
            notify: NotifyFlags(notify),
            status: RecipientStatus::from_stored(row.try_get("status")?)?,
            attempts: from_sql_u32(row.try_get("attempts")?, "attempts")?,
            next_attempt: row.try_get("next_attempt")?,
            last_attempt: row.try_get("last_attempt")?,
            last_error: row.try_get("last_error")?,
            delay_notified: row.try_get("delay_notified")?,
        },
    ))
}

/// Gives each message its recipients, keeping the order of `messages` and, per message,
/// of `recipients`.
fn assemble(messages: &[Row], recipients: &[Row]) -> Result<Vec<QueuedMessage>> {
    let mut messages = messages
        .iter()
        .map(message_from_row)
        .collect::<Result<Vec<_>>>()?;
    let index: HashMap<QueueId, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    for row in recipients {
        let (message, recipient) = recipient_from_row(row)?;
        if let Some(&i) = index.get(&message) {
            messages[i].recipients.push(recipient);
        }
    }
    Ok(messages)
}

/// The messages with these ids (missing ones left out), ascending by id, read by `c`
/// (a transaction, for one snapshot).
async fn load<C: GenericClient>(c: &C, ids: &[i64]) -> Result<Vec<QueuedMessage>> {
    let messages = query(
        c,
        &format!(
            "SELECT {MESSAGE_COLUMNS} FROM queue_messages WHERE id = ANY($1::BIGINT[]) ORDER BY id"
        ),
        &[&ids],
    )
    .await?;
    let recipients = query(
        c,
        &format!(
            "SELECT {RECIPIENT_COLUMNS} FROM queue_recipients
              WHERE message_id = ANY($1::BIGINT[]) ORDER BY message_id, id"
        ),
        &[&ids],
    )
    .await?;
    assemble(&messages, &recipients)
}

/// Queues messages inside `tx`, each with its recipients (all pending, due at its
/// `next_attempt`, with ascending ids in the order given); returns their ids in order.
/// `Invalid` as [`NewQueuedMessage`] says, checked for all before anything is written;
/// `NotFound` for a submitter account that does not exist. Takes no row lock but the
/// key-share lock of the submitter's foreign key.
pub(super) async fn insert_all(
    tx: &deadpool_postgres::Transaction<'_>,
    queued: &[NewQueuedMessage],
) -> Result<Vec<QueueId>> {
    for new in queued {
        new.check()?;
    }
    let mut ids = Vec::with_capacity(queued.len());
    for new in queued {
        let size = to_sql_i64(new.size, "queued message size")?;
        let submitter = new.submitter.map(|a| a.0);
        let row = query_one(
            tx,
            "INSERT INTO queue_messages (blob_id, size, mail_from, envid, ret, body_8bit,
                                         smtputf8, requiretls, submitter, created_at,
                                         lease_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)
             RETURNING id",
            &[
                &new.blob_id.to_hex(),
                &size,
                &new.mail_from,
                &new.envid,
                &new.ret.map(DsnRet::as_str),
                &new.body_8bit,
                &new.smtputf8,
                &new.requiretls,
                &submitter,
                &new.created_at,
            ],
        )
        .await
        .map_err(|e| {
            not_found_on_foreign_key(e, || match new.submitter {
                Some(account) => format!("account {account}"),
                None => "submitter account".into(),
            })
        })?;
        let id: i64 = row.try_get("id")?;
        let recipients = &new.recipients;
        let addresses: Vec<&str> = recipients.iter().map(|r| r.address.as_str()).collect();
        let orcpt_types: Vec<Option<&str>> = recipients
            .iter()
            .map(|r| r.original_recipient.as_ref().map(|o| o.addr_type.as_str()))
            .collect();
        let orcpts: Vec<Option<&str>> = recipients
            .iter()
            .map(|r| r.original_recipient.as_ref().map(|o| o.address.as_str()))
            .collect();
        let notify: Vec<i32> = recipients.iter().map(|r| i32::from(r.notify.0)).collect();
        execute(
            tx,
            "INSERT INTO queue_recipients (message_id, address, orcpt_type, orcpt, notify,
                                           status, attempts, next_attempt, last_attempt,
                                           last_error, delay_notified)
             SELECT $1, r.address, r.orcpt_type, r.orcpt, r.notify, 'pending', 0, $6, NULL,
                    NULL, FALSE
               FROM unnest($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::INTEGER[])
                    WITH ORDINALITY AS r(address, orcpt_type, orcpt, notify, n)
              ORDER BY r.n",
            &[
                &id,
                &addresses,
                &orcpt_types,
                &orcpts,
                &notify,
                &new.next_attempt,
            ],
        )
        .await?;
        ids.push(QueueId(id));
    }
    Ok(ids)
}

/// Leases at most `limit` due messages (see `MetaStore::queue_lease`), most overdue
/// first, in one transaction.
pub(super) async fn lease(
    store: &PostgresStore,
    now: UnixTime,
    lease_secs: i64,
    limit: u32,
) -> Result<Vec<QueuedMessage>> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    // The due set comes from the (status, next_attempt) index; only the message rows are
    // locked, and rows another lease is taking right now are skipped, not waited for.
    let due = query(
        &tx,
        "WITH due AS (
             SELECT message_id, MIN(next_attempt) AS due
               FROM queue_recipients
              WHERE status = 'pending' AND next_attempt <= $1
              GROUP BY message_id
         )
         SELECT m.id
           FROM queue_messages m JOIN due d ON d.message_id = m.id
          WHERE m.lease_until IS NULL OR m.lease_until < $1
          ORDER BY d.due, m.id
          LIMIT $2
            FOR UPDATE OF m SKIP LOCKED",
        &[&now, &i64::from(limit)],
    )
    .await?;
    let due = due
        .iter()
        .map(|row| row.try_get::<_, i64>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    execute(
        &tx,
        "UPDATE queue_messages SET lease_until = $2 WHERE id = ANY($1::BIGINT[])",
        &[&due, &now.saturating_add(lease_secs)],
    )
    .await?;
    let mut leased = load(&tx, &due).await?;
    tx.commit().await?;
    let rank: HashMap<i64, usize> = due.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    leased.sort_by_key(|m| rank.get(&m.id.0).copied().unwrap_or(usize::MAX));
    Ok(leased)
}

/// Records an attempt (see `MetaStore::queue_complete`) in one transaction; any error
/// drops it, so nothing is written. Wakes the queue when notices were queued.
///
/// Per update, as the SQLite backend: `attempted` adds one to `attempts` and sets
/// `last_attempt` to the store's clock; `last_error` is replaced when given (without NUL)
/// and kept when `None`; `delay_notified` is set, never cleared. Updates naming one
/// recipient twice are `Invalid`.
pub(super) async fn complete(
    store: &PostgresStore,
    id: QueueId,
    updates: &[RecipientUpdate],
    notices: &[NewQueuedMessage],
) -> Result<bool> {
    RecipientUpdate::check_all(updates)?;
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let message = query_opt(
        &tx,
        "SELECT id FROM queue_messages WHERE id = $1 FOR UPDATE",
        &[&id.0],
    )
    .await?;
    if message.is_none() {
        return Err(StoreError::NotFound(format!("queued message {id}")));
    }
    if !updates.is_empty() {
        let ids: Vec<i64> = updates.iter().map(|u| u.id.0).collect();
        let statuses: Vec<&str> = updates.iter().map(|u| u.status.as_str()).collect();
        let attempted: Vec<bool> = updates.iter().map(|u| u.attempted).collect();
        let next: Vec<i64> = updates.iter().map(|u| u.next_attempt).collect();
        let errors: Vec<Option<String>> = updates
            .iter()
            .map(|u| u.stored_error().map(|e| e.into_owned()))
            .collect();
        let delay: Vec<bool> = updates.iter().map(|u| u.delay_notified).collect();
        let changed = execute(
            &tx,
            "UPDATE queue_recipients r
                SET status = u.status,
                    attempts = r.attempts + CASE WHEN u.attempted THEN 1 ELSE 0 END,
                    last_attempt = CASE WHEN u.attempted THEN $8 ELSE r.last_attempt END,
                    next_attempt = u.next_attempt,
                    last_error = COALESCE(u.last_error, r.last_error),
                    delay_notified = r.delay_notified OR u.delay_notified
               FROM unnest($2::BIGINT[], $3::TEXT[], $4::BOOLEAN[], $5::BIGINT[],
                           $6::TEXT[], $7::BOOLEAN[])
                    AS u(id, status, attempted, next_attempt, last_error, delay_notified)
              WHERE r.id = u.id AND r.message_id = $1",
            &[
                &id.0,
                &ids,
                &statuses,
                &attempted,
                &next,
                &errors,
                &delay,
                &unix_now(),
            ],
        )
        .await?;
        // The ids are distinct (checked above), so a shortfall is a foreign recipient.
        if changed != updates.len() as u64 {
            return Err(StoreError::Invalid(format!(
                "an updated queue recipient is not one of queued message {id}"
            )));
        }
    }
    insert_all(&tx, notices).await?;
    let pending = query_opt(
        &tx,
        "SELECT 1 FROM queue_recipients WHERE message_id = $1 AND status = 'pending' LIMIT 1",
        &[&id.0],
    )
    .await?
    .is_some();
    if pending {
        execute(
            &tx,
            "UPDATE queue_messages SET lease_until = NULL WHERE id = $1",
            &[&id.0],
        )
        .await?;
    } else {
        // ON DELETE CASCADE removes the recipients.
        execute(&tx, "DELETE FROM queue_messages WHERE id = $1", &[&id.0]).await?;
    }
    tx.commit().await?;
    if !notices.is_empty() {
        store.notifier.notify_queue();
    }
    Ok(!pending)
}

/// The earliest time something is due (see `MetaStore::queue_next_due`).
pub(super) async fn next_due(store: &PostgresStore) -> Result<Option<UnixTime>> {
    let client = store.client().await?;
    let row = query_one(
        &client,
        "SELECT MIN(CASE WHEN m.lease_until > p.due THEN m.lease_until ELSE p.due END) AS due
           FROM (SELECT message_id, MIN(next_attempt) AS due FROM queue_recipients
                  WHERE status = 'pending' GROUP BY message_id) p
           JOIN queue_messages m ON m.id = p.message_id",
        &[],
    )
    .await?;
    Ok(row.try_get("due")?)
}

/// Every queued message with its recipients, ascending by id.
pub(super) async fn list(store: &PostgresStore) -> Result<Vec<QueuedMessage>> {
    let mut client = store.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let messages = query(
        &tx,
        &format!("SELECT {MESSAGE_COLUMNS} FROM queue_messages ORDER BY id"),
        &[],
    )
    .await?;
    let recipients = query(
        &tx,
        &format!("SELECT {RECIPIENT_COLUMNS} FROM queue_recipients ORDER BY message_id, id"),
        &[],
    )
    .await?;
    tx.commit().await?;
    assemble(&messages, &recipients)
}

/// One queued message with its recipients.
pub(super) async fn by_id(store: &PostgresStore, id: QueueId) -> Result<Option<QueuedMessage>> {
    let mut client = store.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let mut found = load(&tx, &[id.0]).await?;
    tx.commit().await?;
    Ok(found.pop())
}

/// Makes pending recipients due at `now` (those due later; the others are due already);
/// returns how many changed and wakes the queue if any did. `NotFound` for a named
/// message that does not exist.
pub(super) async fn retry(
    store: &PostgresStore,
    id: Option<QueueId>,
    now: UnixTime,
) -> Result<u64> {
    let client = store.client().await?;
    let changed = match id {
        Some(id) => {
            let changed = execute(
                &client,
                "UPDATE queue_recipients SET next_attempt = $1
                  WHERE message_id = $2 AND status = 'pending' AND next_attempt > $1",
                &[&now, &id.0],
            )
            .await?;
            if changed == 0
                && query_opt(
                    &client,
                    "SELECT 1 FROM queue_messages WHERE id = $1",
                    &[&id.0],
                )
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound(format!("queued message {id}")));
            }
            changed
        }
        None => {
            execute(
                &client,
                "UPDATE queue_recipients SET next_attempt = $1
                  WHERE status = 'pending' AND next_attempt > $1",
                &[&now],
            )
            .await?
        }
    };
    if changed > 0 {
        store.notifier.notify_queue();
    }
    Ok(changed)
}

/// Removes a message with its recipients; `NotFound` if absent.
pub(super) async fn delete(store: &PostgresStore, id: QueueId) -> Result<()> {
    let client = store.client().await?;
    match execute(
        &client,
        "DELETE FROM queue_messages WHERE id = $1",
        &[&id.0],
    )
    .await?
    {
        0 => Err(StoreError::NotFound(format!("queued message {id}"))),
        _ => Ok(()),
    }
}

/// Counts of the queue, in one statement (one snapshot).
pub(super) async fn stats(store: &PostgresStore) -> Result<QueueStats> {
    let client = store.client().await?;
    let row = query_one(
        &client,
        "SELECT (SELECT COUNT(*) FROM queue_messages) AS messages,
                (SELECT COUNT(*) FROM queue_recipients WHERE status = 'pending') AS pending,
                (SELECT MIN(created_at) FROM queue_messages) AS oldest",
        &[],
    )
    .await?;
    Ok(QueueStats {
        messages: from_sql_u64(row.try_get("messages")?, "queued messages")?,
        pending_recipients: from_sql_u64(row.try_get("pending")?, "pending recipients")?,
        oldest: row.try_get("oldest")?,
    })
}
