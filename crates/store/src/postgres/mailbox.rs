//! Mailboxes (PostgreSQL): names, UIDVALIDITY, subscription.
//!
//! UIDVALIDITY comes from the `counters` row `uid_validity`: each new mailbox gets
//! `max(unix_now, last + 1)` in one atomic upsert, so no value is ever handed out twice
//! (RFC 9051 §2.3.1.1 asks only that a name never get back an old value; unique over the
//! whole database is the simplest way to promise it, across nodes and clock steps back).
//! The counter row stays locked until the creating transaction ends, which serialises
//! mailbox creation, a rare event.

use mailstead_types::{AccountId, MailboxId, ModSeq, Uid, UidValidity};
use tokio_postgres::Row;

use super::{
    PostgresStore, Violation, execute, from_sql_u32, from_sql_u64, query, query_one, query_opt,
    violation,
};
use crate::model::{Mailbox, SpecialUse, unix_now};
use crate::{Result, StoreError};

pub(super) const COLUMNS: &str =
    "id, account_id, name, uid_validity, uid_next, highest_modseq, special_use, subscribed";

pub(super) fn from_row(row: &Row) -> Result<Mailbox> {
    let special_use =
        match row.try_get::<_, Option<&str>>("special_use")? {
            None => None,
            Some(s) => Some(SpecialUse::parse(s).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown special-use attribute {s:?}"))
            })?),
        };
    Ok(Mailbox {
        id: MailboxId(row.try_get("id")?),
        account_id: AccountId(row.try_get("account_id")?),
        name: row.try_get("name")?,
        uid_validity: UidValidity(from_sql_u32(row.try_get("uid_validity")?, "uid_validity")?),
        uid_next: Uid(from_sql_u32(row.try_get("uid_next")?, "uid_next")?),
        highest_modseq: ModSeq(from_sql_u64(
            row.try_get("highest_modseq")?,
            "highest_modseq",
        )?),
        special_use,
        subscribed: row.try_get("subscribed")?,
    })
}

/// The next UIDVALIDITY: `max(unix_now, last + 1)`, recorded in `counters`.
async fn next_uid_validity(tx: &deadpool_postgres::Transaction<'_>) -> Result<i64> {
    let row = query_one(
        tx,
        "INSERT INTO counters (name, value) VALUES ('uid_validity', $1)
         ON CONFLICT (name) DO UPDATE SET value = GREATEST(EXCLUDED.value, counters.value + 1)
         RETURNING value",
        &[&unix_now().max(1)],
    )
    .await?;
    let value: i64 = row.try_get(0)?;
    if value > i64::from(u32::MAX) {
        return Err(StoreError::Corrupt(format!(
            "the uid_validity counter ({value}) has run past 32 bits"
        )));
    }
    Ok(value)
}

/// Inserts a mailbox inside `tx`: by `create` (unsubscribed, as IMAP CREATE leaves it) and
/// by account creation (the default mailboxes, subscribed so that clients show them).
pub(super) async fn insert(
    tx: &deadpool_postgres::Transaction<'_>,
    account: AccountId,
    name: &str,
    special_use: Option<SpecialUse>,
    subscribed: bool,
) -> Result<Mailbox> {
    let uid_validity = next_uid_validity(tx).await?;
    let row = query_one(
        tx,
        &format!(
            "INSERT INTO mailboxes (account_id, name, uid_validity, uid_next, highest_modseq,
                                    special_use, subscribed)
             VALUES ($1, $2, $3, 1, 1, $4, $5)
             RETURNING {COLUMNS}"
        ),
        &[
            &account.0,
            &name,
            &uid_validity,
            &special_use.map(SpecialUse::as_str),
            &subscribed,
        ],
    )
    .await
    .map_err(|e| match violation(&e) {
        Some(Violation::Unique) => StoreError::Conflict(format!("mailbox {name}")),
        Some(Violation::ForeignKey) => StoreError::NotFound(format!("account {account}")),
        None => StoreError::Postgres(e),
    })?;
    from_row(&row)
}

pub(super) async fn create(
    store: &PostgresStore,
    account: AccountId,
    name: &str,
    special_use: Option<SpecialUse>,
) -> Result<Mailbox> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let mailbox = insert(&tx, account, name, special_use, false).await?;
    tx.commit().await?;
    Ok(mailbox)
}

pub(super) async fn list(store: &PostgresStore, account: AccountId) -> Result<Vec<Mailbox>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        &format!("SELECT {COLUMNS} FROM mailboxes WHERE account_id = $1 ORDER BY name"),
        &[&account.0],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn by_name(
    store: &PostgresStore,
    account: AccountId,
    name: &str,
) -> Result<Option<Mailbox>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        &format!("SELECT {COLUMNS} FROM mailboxes WHERE account_id = $1 AND name = $2"),
        &[&account.0, &name],
    )
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn by_id(store: &PostgresStore, id: MailboxId) -> Result<Option<Mailbox>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        &format!("SELECT {COLUMNS} FROM mailboxes WHERE id = $1"),
        &[&id.0],
    )
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn rename(
    store: &PostgresStore,
    id: MailboxId,
    new_name: &str,
) -> Result<Mailbox> {
    let client = store.client().await?;
    // UIDVALIDITY stays: the messages keep their UIDs under the new name (RFC 9051 §6.3.6),
    // and a mailbox created later under the old name gets a fresh value from the counter.
    let row = query_opt(
        &client,
        &format!("UPDATE mailboxes SET name = $2 WHERE id = $1 RETURNING {COLUMNS}"),
        &[&id.0, &new_name],
    )
    .await
    .map_err(|e| super::conflict_on_unique(e, || format!("mailbox {new_name}")))?;
    match row {
        Some(row) => {
            // One statement in autocommit: it is committed once it has returned.
            store.notifier.notify(id);
            from_row(&row)
        }
        None => Err(StoreError::NotFound(format!("mailbox {id}"))),
    }
}

pub(super) async fn delete(store: &PostgresStore, id: MailboxId) -> Result<()> {
    let client = store.client().await?;
    // Messages and change log go with it (ON DELETE CASCADE), in this one statement. Their
    // message_index rows stay for the blob garbage collector.
    let n = execute(&client, "DELETE FROM mailboxes WHERE id = $1", &[&id.0]).await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("mailbox {id}")));
    }
    store.notifier.notify(id);
    Ok(())
}

/// Sets or clears the RFC 6154 role.
pub(super) async fn set_special_use(
    store: &PostgresStore,
    id: MailboxId,
    special_use: Option<SpecialUse>,
) -> Result<()> {
    let client = store.client().await?;
    let n = execute(
        &client,
        "UPDATE mailboxes SET special_use = $2 WHERE id = $1",
        &[&id.0, &special_use.map(SpecialUse::as_str)],
    )
    .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("mailbox {id}")));
    }
    Ok(())
}

pub(super) async fn set_subscribed(
    store: &PostgresStore,
    id: MailboxId,
    subscribed: bool,
) -> Result<()> {
    let client = store.client().await?;
    let n = execute(
        &client,
        "UPDATE mailboxes SET subscribed = $2 WHERE id = $1",
        &[&id.0, &subscribed],
    )
    .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("mailbox {id}")));
    }
    Ok(())
}
