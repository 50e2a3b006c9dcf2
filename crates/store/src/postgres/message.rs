//! Messages and the per-mailbox change log (PostgreSQL).
//!
//! Every change to a mailbox's messages begins by locking its `mailboxes` row: `append`
//! with `UPDATE ... SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1
//! RETURNING`, `store_flags` and `expunge` with `SELECT ... FOR UPDATE`. The row lock is
//! held until commit, so concurrent writers on any number of nodes are serialised per
//! mailbox and UIDs and MODSEQs come out strictly ascending and never reused (RFC 9051
//! §2.3.1.1, RFC 7162 §3). Writers of different mailboxes do not wait for each other.
//! A delivery to several mailboxes (`accept`) holds several row locks at once, so it
//! takes them in ascending mailbox id order, the same in every transaction: no deadlock.
//!
//! COPY/MOVE locks both mailbox rows, also in ascending id order.
//!
//! Batches (a flag change, expunge, copy or move over many UIDs) are written with `unnest`
//! over arrays, and sets of UIDs are read with `uid = ANY($n::BIGINT[])`, one statement per
//! table, so their cost in round trips and parameters does not grow with their size.
//!
//! The message index (`message_index`, one row per blob) is written with the message that
//! brings it (`append_row`) or later by `put_index`, always `ON CONFLICT DO NOTHING`: blobs
//! are immutable, so a row once written is right for every copy. Search scans the
//! mailbox's rows with `strpos()` (a plain substring test, unlike `LIKE`); a `pg_trgm`
//! index is the next step if that becomes too slow.
//!
//! Every function that changes a mailbox announces it on the store's notifier right after
//! its commit.

use deadpool_postgres::GenericClient;
use mailstead_types::{BlobId, MailboxId, MessageId, ModSeq, QueueId, Uid};
use tokio_postgres::Row;

use super::{
    PostgresStore, dsn, execute, from_sql_u32, from_sql_u64, not_found_on_foreign_key, query,
    query_one, query_opt, queue, to_sql_i64,
};
use crate::model::{
    Change, ChangeKind, FlagOp, Flags, MailboxCounts, Message, MessageIndex, NewDsnRequest,
    NewMessage, NewQueuedMessage, without_nul,
};
use crate::{Result, StoreError};

const COLUMNS: &str = "id, mailbox_id, uid, modseq, flags, keywords, internal_date, size, blob_id";

/// How a [`ChangeKind`] is written in `changes.kind`.
fn kind_to_sql(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Appended => "appended",
        ChangeKind::Flags => "flags",
        ChangeKind::Expunged => "expunged",
    }
}

fn kind_from_sql(kind: &str) -> Result<ChangeKind> {
    match kind {
        "appended" => Ok(ChangeKind::Appended),
        "flags" => Ok(ChangeKind::Flags),
        "expunged" => Ok(ChangeKind::Expunged),
        other => Err(StoreError::Corrupt(format!(
            "unknown change kind {other:?}"
        ))),
    }
}

/// Keywords sorted and without duplicates, as the model promises; `Invalid` for one that
/// could not survive the space-separated column (empty or holding white space).
fn normalise_keywords(keywords: &[String]) -> Result<Vec<String>> {
    if let Some(bad) = keywords
        .iter()
        .find(|k| k.is_empty() || k.chars().any(char::is_whitespace))
    {
        return Err(StoreError::Invalid(format!("keyword {bad:?}")));
    }
    let mut out = keywords.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

fn keywords_to_sql(keywords: &[String]) -> String {
    keywords.join(" ")
}

fn keywords_from_sql(keywords: &str) -> Vec<String> {
    keywords
        .split(' ')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

fn from_row(row: &Row) -> Result<Message> {
    let flags: i32 = row.try_get("flags")?;
    let flags = u8::try_from(flags)
        .map_err(|_| StoreError::Corrupt(format!("message flags out of range: {flags}")))?;
    let blob_id: &str = row.try_get("blob_id")?;
    let blob_id: BlobId = blob_id
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("stored blob id {blob_id:?}")))?;
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        mailbox_id: MailboxId(row.try_get("mailbox_id")?),
        uid: Uid(from_sql_u32(row.try_get("uid")?, "uid")?),
        modseq: ModSeq(from_sql_u64(row.try_get("modseq")?, "modseq")?),
        flags: Flags(flags),
        keywords: keywords_from_sql(row.try_get("keywords")?),
        internal_date: row.try_get("internal_date")?,
        size: from_sql_u64(row.try_get("size")?, "size")?,
        blob_id,
    })
}

/// Locks the mailbox row for the rest of `tx` and returns its HIGHESTMODSEQ.
async fn lock_mailbox(tx: &deadpool_postgres::Transaction<'_>, mailbox: MailboxId) -> Result<i64> {
    let row = query_opt(
        tx,
        "SELECT highest_modseq FROM mailboxes WHERE id = $1 FOR UPDATE",
        &[&mailbox.0],
    )
    .await?;
    match row {
        Some(row) => Ok(row.try_get("highest_modseq")?),
        None => Err(StoreError::NotFound(format!("mailbox {mailbox}"))),
    }
}

/// UIDs as `BIGINT`s, ascending and without duplicates.
fn uids_to_sql(uids: &[Uid]) -> Vec<i64> {
    let mut out: Vec<i64> = uids.iter().map(|u| i64::from(u.0)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Appends change-log rows of one kind: `modseqs[i]` for `uids[i]`.
async fn log_changes(
    tx: &deadpool_postgres::Transaction<'_>,
    mailbox: MailboxId,
    kind: ChangeKind,
    modseqs: &[i64],
    uids: &[i64],
) -> Result<()> {
    execute(
        tx,
        "INSERT INTO changes (mailbox_id, modseq, uid, kind)
         SELECT $1, c.modseq, c.uid, $4
           FROM unnest($2::BIGINT[], $3::BIGINT[]) AS c(modseq, uid)",
        &[&mailbox.0, &modseqs, &uids, &kind_to_sql(kind)],
    )
    .await?;
    Ok(())
}

/// Appends a message in its own transaction; see [`append_row`].
pub(super) async fn append(
    store: &PostgresStore,
    mailbox: MailboxId,
    new: &NewMessage,
) -> Result<Message> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let message = append_row(&tx, mailbox, new).await?;
    tx.commit().await?;
    store.notifier.notify(mailbox);
    Ok(message)
}

/// Accepting a message (`MetaStore::accept`): stores the DSN requests, queues the
/// messages for other servers and appends one message to each target mailbox, in one
/// transaction: all or nothing (the first error drops the transaction, undoing everything
/// before it). Results are in the order of `targets` and `queued`; a mailbox named twice
/// gets two messages with ascending UIDs.
///
/// The requests and queued messages go first: they take no row lock (but the key-share
/// lock of a submitter's foreign key), so an invalid one fails before any mailbox is
/// locked. The rows are then appended in ascending mailbox id order (stable, so one
/// mailbox's messages keep the order given): every delivery takes its mailbox row locks
/// in the same order, so two deliveries to overlapping recipients queue instead of
/// deadlocking. After the commit the changed mailboxes are announced, and the outbound
/// queue woken if something was queued.
pub(super) async fn accept(
    store: &PostgresStore,
    targets: &[(MailboxId, NewMessage)],
    requests: &[NewDsnRequest],
    queued: &[NewQueuedMessage],
) -> Result<(Vec<Message>, Vec<QueueId>)> {
    if targets.is_empty() && requests.is_empty() && queued.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&i| targets[i].0.0);
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    dsn::insert_all(&tx, requests).await?;
    let ids = queue::insert_all(&tx, queued).await?;
    let mut appended = Vec::with_capacity(targets.len());
    for i in order {
        let (mailbox, new) = &targets[i];
        appended.push((i, append_row(&tx, *mailbox, new).await?));
    }
    tx.commit().await?;
    let mut changed: Vec<MailboxId> = targets.iter().map(|(mailbox, _)| *mailbox).collect();
    changed.sort_unstable_by_key(|m| m.0);
    changed.dedup();
    for mailbox in changed {
        store.notifier.notify(mailbox);
    }
    if !queued.is_empty() {
        store.notifier.notify_queue();
    }
    appended.sort_by_key(|(i, _)| *i);
    Ok((
        appended.into_iter().map(|(_, message)| message).collect(),
        ids,
    ))
}

/// Appends a message inside `tx`: takes UID = UIDNEXT and MODSEQ = HIGHESTMODSEQ + 1,
/// advances both and logs an `Appended` change. Leaves the mailbox row locked until `tx`
/// ends.
async fn append_row(
    tx: &deadpool_postgres::Transaction<'_>,
    mailbox: MailboxId,
    new: &NewMessage,
) -> Result<Message> {
    let keywords = keywords_to_sql(&normalise_keywords(&new.keywords)?);
    let size = to_sql_i64(new.size, "message size")?;
    // Takes the mailbox row lock: concurrent appenders on every node queue here.
    let row = query_opt(
        tx,
        "UPDATE mailboxes
            SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1
          WHERE id = $1
          RETURNING uid_next - 1 AS uid, highest_modseq AS modseq",
        &[&mailbox.0],
    )
    .await?;
    let (uid, modseq): (i64, i64) = match row {
        Some(row) => (row.try_get("uid")?, row.try_get("modseq")?),
        None => return Err(StoreError::NotFound(format!("mailbox {mailbox}"))),
    };
    // RFC 9051 §2.3.1.1: UIDs are 32-bit, and UIDNEXT must stay one; a mailbox that used
    // them all must be recreated (new UIDVALIDITY). Dropping `tx` undoes the increment.
    if uid >= i64::from(u32::MAX) {
        return Err(StoreError::Invalid(format!(
            "mailbox {mailbox} has used every UID"
        )));
    }
    let row = query_one(
        tx,
        &format!(
            "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date,
                                   size, blob_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             RETURNING {COLUMNS}"
        ),
        &[
            &mailbox.0,
            &uid,
            &modseq,
            &i32::from(new.flags.0),
            &keywords,
            &new.internal_date,
            &size,
            &new.blob_id.to_hex(),
        ],
    )
    .await
    .map_err(|e| not_found_on_foreign_key(e, || format!("mailbox {mailbox}")))?;
    let message = from_row(&row)?;
    log_changes(tx, mailbox, ChangeKind::Appended, &[modseq], &[uid]).await?;
    if let Some(index) = &new.index {
        insert_index(tx, &new.blob_id, index).await?;
    }
    Ok(message)
}

pub(super) async fn list(store: &PostgresStore, mailbox: MailboxId) -> Result<Vec<Message>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        &format!("SELECT {COLUMNS} FROM messages WHERE mailbox_id = $1 ORDER BY uid"),
        &[&mailbox.0],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

/// The flags and keywords `op` makes of the current ones (RFC 9051 §6.4.6).
fn apply(
    op: FlagOp,
    current: (Flags, &[String]),
    given: (Flags, &[String]),
) -> (Flags, Vec<String>) {
    let (flags, keywords) = current;
    let (new_flags, new_keywords) = given;
    match op {
        FlagOp::Replace => (new_flags, new_keywords.to_vec()),
        FlagOp::Add => {
            let mut all = keywords.to_vec();
            all.extend(new_keywords.iter().cloned());
            all.sort();
            all.dedup();
            (flags.union(new_flags), all)
        }
        FlagOp::Remove => (
            flags.difference(new_flags),
            keywords
                .iter()
                .filter(|k| !new_keywords.contains(k))
                .cloned()
                .collect(),
        ),
    }
}

pub(super) async fn store_flags(
    store: &PostgresStore,
    mailbox: MailboxId,
    uids: &[Uid],
    op: FlagOp,
    flags: Flags,
    keywords: &[String],
) -> Result<Vec<Message>> {
    let keywords = normalise_keywords(keywords)?;
    let uids = uids_to_sql(uids);
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let mut highest = lock_mailbox(&tx, mailbox).await?;
    let rows = query(
        &tx,
        &format!(
            "SELECT {COLUMNS} FROM messages
              WHERE mailbox_id = $1 AND uid = ANY($2::BIGINT[])
              ORDER BY uid"
        ),
        &[&mailbox.0, &uids],
    )
    .await?;
    let mut changed = Vec::new();
    for row in &rows {
        let mut message = from_row(row)?;
        let (new_flags, new_keywords) =
            apply(op, (message.flags, &message.keywords), (flags, &keywords));
        if new_flags == message.flags && new_keywords == message.keywords {
            continue;
        }
        highest += 1;
        message.flags = new_flags;
        message.keywords = new_keywords;
        message.modseq = ModSeq(from_sql_u64(highest, "highest_modseq")?);
        changed.push(message);
    }
    if changed.is_empty() {
        return Ok(changed);
    }
    let changed_uids: Vec<i64> = changed.iter().map(|m| i64::from(m.uid.0)).collect();
    let modseqs: Vec<i64> = changed
        .iter()
        .map(|m| to_sql_i64(m.modseq.0, "modseq"))
        .collect::<Result<_>>()?;
    let flag_bits: Vec<i32> = changed.iter().map(|m| i32::from(m.flags.0)).collect();
    let keyword_texts: Vec<String> = changed
        .iter()
        .map(|m| keywords_to_sql(&m.keywords))
        .collect();
    execute(
        &tx,
        "UPDATE messages m
            SET flags = u.flags, keywords = u.keywords, modseq = u.modseq
           FROM unnest($2::BIGINT[], $3::INTEGER[], $4::TEXT[], $5::BIGINT[])
                AS u(uid, flags, keywords, modseq)
          WHERE m.mailbox_id = $1 AND m.uid = u.uid",
        &[
            &mailbox.0,
            &changed_uids,
            &flag_bits,
            &keyword_texts,
            &modseqs,
        ],
    )
    .await?;
    log_changes(&tx, mailbox, ChangeKind::Flags, &modseqs, &changed_uids).await?;
    execute(
        &tx,
        "UPDATE mailboxes SET highest_modseq = $2 WHERE id = $1",
        &[&mailbox.0, &highest],
    )
    .await?;
    tx.commit().await?;
    store.notifier.notify(mailbox);
    Ok(changed)
}

pub(super) async fn expunge(
    store: &PostgresStore,
    mailbox: MailboxId,
    uids: &[Uid],
) -> Result<Vec<Uid>> {
    let uids = uids_to_sql(uids);
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let mut highest = lock_mailbox(&tx, mailbox).await?;
    let rows = query(
        &tx,
        "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::BIGINT[]) RETURNING uid",
        &[&mailbox.0, &uids],
    )
    .await?;
    let mut removed: Vec<i64> = rows
        .iter()
        .map(|row| row.try_get::<_, i64>("uid"))
        .collect::<Result<_, _>>()?;
    if removed.is_empty() {
        return Ok(Vec::new());
    }
    removed.sort_unstable();
    let modseqs: Vec<i64> = removed
        .iter()
        .map(|_| {
            highest += 1;
            highest
        })
        .collect();
    log_changes(&tx, mailbox, ChangeKind::Expunged, &modseqs, &removed).await?;
    execute(
        &tx,
        "UPDATE mailboxes SET highest_modseq = $2 WHERE id = $1",
        &[&mailbox.0, &highest],
    )
    .await?;
    tx.commit().await?;
    store.notifier.notify(mailbox);
    removed
        .into_iter()
        .map(|uid| Ok(Uid(from_sql_u32(uid, "uid")?)))
        .collect()
}

pub(super) async fn changes_since(
    store: &PostgresStore,
    mailbox: MailboxId,
    since: ModSeq,
) -> Result<Vec<Change>> {
    // A MODSEQ beyond the BIGINT range is beyond every stored one.
    let Ok(since) = i64::try_from(since.0) else {
        return Ok(Vec::new());
    };
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT modseq, uid, kind FROM changes
          WHERE mailbox_id = $1 AND modseq > $2
          ORDER BY modseq",
        &[&mailbox.0, &since],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Change {
                modseq: ModSeq(from_sql_u64(row.try_get("modseq")?, "modseq")?),
                uid: Uid(from_sql_u32(row.try_get("uid")?, "uid")?),
                kind: kind_from_sql(row.try_get("kind")?)?,
            })
        })
        .collect()
}

pub(super) async fn account_usage(
    store: &PostgresStore,
    account: mailstead_types::AccountId,
) -> Result<u64> {
    let client = store.client().await?;
    let row = query_one(
        &client,
        "SELECT COALESCE(SUM(m.size), 0)::BIGINT
           FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
          WHERE b.account_id = $1",
        &[&account.0],
    )
    .await?;
    from_sql_u64(row.try_get(0)?, "account usage")
}

/// Stores the index of a blob unless it has one (blobs are immutable); NUL characters are
/// stripped (see [`MessageIndex`]).
async fn insert_index<C: GenericClient>(c: &C, blob: &BlobId, index: &MessageIndex) -> Result<()> {
    let (summary, header_text, body_text) = index.stored_texts();
    execute(
        c,
        "INSERT INTO message_index (blob_id, summary, header_text, body_text)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (blob_id) DO NOTHING",
        &[&blob.to_hex(), &&*summary, &&*header_text, &&*body_text],
    )
    .await?;
    Ok(())
}

pub(super) async fn put_index(
    store: &PostgresStore,
    blob: &BlobId,
    index: &MessageIndex,
) -> Result<()> {
    let client = store.client().await?;
    insert_index(&client, blob, index).await
}

pub(super) async fn in_range(
    store: &PostgresStore,
    mailbox: MailboxId,
    first: Uid,
    last: Uid,
) -> Result<Vec<Message>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        &format!(
            "SELECT {COLUMNS} FROM messages
              WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3
              ORDER BY uid"
        ),
        &[&mailbox.0, &i64::from(first.0), &i64::from(last.0)],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

/// The STATUS counts of a mailbox in one query; `NotFound` if it does not exist.
pub(super) async fn counts(store: &PostgresStore, mailbox: MailboxId) -> Result<MailboxCounts> {
    let client = store.client().await?;
    let sql = format!(
        "SELECT COUNT(m.id) AS messages,
                COUNT(m.id) FILTER (WHERE m.flags & {seen} = 0) AS unseen,
                COUNT(m.id) FILTER (WHERE m.flags & {deleted} <> 0) AS deleted,
                COALESCE(SUM(m.size), 0)::BIGINT AS size
           FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id
          WHERE b.id = $1
          GROUP BY b.id",
        seen = Flags::SEEN.0,
        deleted = Flags::DELETED.0,
    );
    let Some(row) = query_opt(&client, &sql, &[&mailbox.0]).await? else {
        return Err(StoreError::NotFound(format!("mailbox {mailbox}")));
    };
    Ok(MailboxCounts {
        messages: from_sql_u64(row.try_get("messages")?, "message count")?,
        unseen: from_sql_u64(row.try_get("unseen")?, "unseen count")?,
        deleted: from_sql_u64(row.try_get("deleted")?, "deleted count")?,
        size: from_sql_u64(row.try_get("size")?, "mailbox size")?,
    })
}

/// Locks a mailbox row for the rest of `tx`: `(uid_next, highest_modseq)`, or `NotFound`.
async fn lock_for_copy(
    tx: &deadpool_postgres::Transaction<'_>,
    mailbox: MailboxId,
) -> Result<(i64, i64)> {
    let row = query_opt(
        tx,
        "SELECT uid_next, highest_modseq FROM mailboxes WHERE id = $1 FOR UPDATE",
        &[&mailbox.0],
    )
    .await?;
    match row {
        Some(row) => Ok((row.try_get("uid_next")?, row.try_get("highest_modseq")?)),
        None => Err(StoreError::NotFound(format!("mailbox {mailbox}"))),
    }
}

/// COPY, or MOVE with `remove_source` (RFC 6851), in one transaction: see
/// `MetaStore::copy_messages`. Both mailbox rows are locked first, in ascending id order
/// (as `deliver` does), so concurrent copies, moves and deliveries queue instead of
/// deadlocking, and a second move of the same UIDs finds them gone. The copies are
/// inserted from their source rows (`INSERT ... SELECT`, so flags, keywords, date, size and
/// blob carry over exactly) with the target's next UIDs and MODSEQs and `Appended`
/// changes; for MOVE the sources are then deleted with new source MODSEQs and `Expunged`
/// changes.
pub(super) async fn copy(
    store: &PostgresStore,
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
    let uids = uids_to_sql(uids);
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let (first, second) = if from.0 <= to.0 {
        (from, to)
    } else {
        (to, from)
    };
    let first_row = lock_for_copy(&tx, first).await?;
    let second_row = if first == second {
        first_row
    } else {
        lock_for_copy(&tx, second).await?
    };
    let ((_, source_highest), (uid_next, target_highest)) = if first == from {
        (first_row, second_row)
    } else {
        (second_row, first_row)
    };
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = query(
        &tx,
        "SELECT uid FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::BIGINT[]) ORDER BY uid",
        &[&from.0, &uids],
    )
    .await?;
    let present: Vec<i64> = rows
        .iter()
        .map(|row| row.try_get::<_, i64>("uid"))
        .collect::<Result<_, _>>()?;
    if present.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(present.len())
        .map_err(|_| StoreError::Invalid("too many messages to copy".into()))?;
    // RFC 9051 §2.3.1.1: UIDs are 32-bit and UIDNEXT must stay one, as in `append_row`.
    if uid_next + count > i64::from(u32::MAX) {
        return Err(StoreError::Invalid(format!(
            "mailbox {to} has too few UIDs left for {count} messages"
        )));
    }
    let new_uids: Vec<i64> = (uid_next..uid_next + count).collect();
    let modseqs: Vec<i64> = (target_highest + 1..=target_highest + count).collect();
    execute(
        &tx,
        "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, size,
                               blob_id)
         SELECT $1, u.uid, u.modseq, m.flags, m.keywords, m.internal_date, m.size, m.blob_id
           FROM unnest($3::BIGINT[], $4::BIGINT[], $5::BIGINT[]) AS u(src, uid, modseq)
           JOIN messages m ON m.mailbox_id = $2 AND m.uid = u.src",
        &[&to.0, &from.0, &present, &new_uids, &modseqs],
    )
    .await?;
    log_changes(&tx, to, ChangeKind::Appended, &modseqs, &new_uids).await?;
    execute(
        &tx,
        "UPDATE mailboxes SET uid_next = $2, highest_modseq = $3 WHERE id = $1",
        &[&to.0, &(uid_next + count), &(target_highest + count)],
    )
    .await?;
    if remove_source {
        execute(
            &tx,
            "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::BIGINT[])",
            &[&from.0, &present],
        )
        .await?;
        let source_modseqs: Vec<i64> = (source_highest + 1..=source_highest + count).collect();
        log_changes(&tx, from, ChangeKind::Expunged, &source_modseqs, &present).await?;
        execute(
            &tx,
            "UPDATE mailboxes SET highest_modseq = $2 WHERE id = $1",
            &[&from.0, &(source_highest + count)],
        )
        .await?;
    }
    tx.commit().await?;
    store.notifier.notify(to);
    if remove_source {
        store.notifier.notify(from);
    }
    present
        .iter()
        .zip(&new_uids)
        .map(|(&src, &new)| {
            Ok((
                Uid(from_sql_u32(src, "uid")?),
                Uid(from_sql_u32(new, "uid")?),
            ))
        })
        .collect()
}

pub(super) async fn summaries(
    store: &PostgresStore,
    mailbox: MailboxId,
    uids: &[Uid],
) -> Result<Vec<(Uid, String)>> {
    let uids = uids_to_sql(uids);
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT m.uid, i.summary FROM messages m
           JOIN message_index i ON i.blob_id = m.blob_id
          WHERE m.mailbox_id = $1 AND m.uid = ANY($2::BIGINT[])
          ORDER BY m.uid",
        &[&mailbox.0, &uids],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                Uid(from_sql_u32(row.try_get("uid")?, "uid")?),
                row.try_get("summary")?,
            ))
        })
        .collect()
}

pub(super) async fn unindexed(
    store: &PostgresStore,
    mailbox: MailboxId,
) -> Result<Vec<(Uid, BlobId)>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT m.uid, m.blob_id FROM messages m
           LEFT JOIN message_index i ON i.blob_id = m.blob_id
          WHERE m.mailbox_id = $1 AND i.blob_id IS NULL
          ORDER BY m.uid",
        &[&mailbox.0],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let blob_id: &str = row.try_get("blob_id")?;
            Ok((
                Uid(from_sql_u32(row.try_get("uid")?, "uid")?),
                blob_id
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("stored blob id {blob_id:?}")))?,
            ))
        })
        .collect()
}

pub(super) async fn search_headers(
    store: &PostgresStore,
    mailbox: MailboxId,
    needle: &str,
) -> Result<Vec<(Uid, String)>> {
    let needle = without_nul(needle);
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT m.uid, i.header_text FROM messages m
           JOIN message_index i ON i.blob_id = m.blob_id
          WHERE m.mailbox_id = $1 AND strpos(i.header_text, $2) > 0
          ORDER BY m.uid",
        &[&mailbox.0, &&*needle],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                Uid(from_sql_u32(row.try_get("uid")?, "uid")?),
                row.try_get("header_text")?,
            ))
        })
        .collect()
}

pub(super) async fn search_body(
    store: &PostgresStore,
    mailbox: MailboxId,
    needle: &str,
) -> Result<Vec<Uid>> {
    let needle = without_nul(needle);
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT m.uid FROM messages m
           JOIN message_index i ON i.blob_id = m.blob_id
          WHERE m.mailbox_id = $1 AND strpos(i.body_text, $2) > 0
          ORDER BY m.uid",
        &[&mailbox.0, &&*needle],
    )
    .await?;
    rows.iter()
        .map(|row| Ok(Uid(from_sql_u32(row.try_get("uid")?, "uid")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keywords_round_trip_through_their_column() {
        for list in [
            kw(&[]),
            kw(&["$Forwarded"]),
            kw(&["$Junk", "$label1", "work"]),
        ] {
            assert_eq!(keywords_from_sql(&keywords_to_sql(&list)), list);
        }
    }

    #[test]
    fn keywords_are_sorted_deduplicated_and_checked() {
        assert_eq!(
            normalise_keywords(&kw(&["b", "a", "b"])).ok(),
            Some(kw(&["a", "b"]))
        );
        assert!(matches!(
            normalise_keywords(&kw(&["two words"])),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            normalise_keywords(&kw(&[""])),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn flag_operations_follow_rfc_9051_store() {
        let cur = (Flags::SEEN, &kw(&["a", "c"])[..]);
        let given = (Flags::FLAGGED, &kw(&["b", "c"])[..]);
        assert_eq!(
            apply(FlagOp::Replace, cur, given),
            (Flags::FLAGGED, kw(&["b", "c"]))
        );
        assert_eq!(
            apply(FlagOp::Add, cur, given),
            (Flags::SEEN.union(Flags::FLAGGED), kw(&["a", "b", "c"]))
        );
        assert_eq!(apply(FlagOp::Remove, cur, given), (Flags::SEEN, kw(&["a"])));
    }

    #[test]
    fn change_kinds_round_trip() {
        for kind in [
            ChangeKind::Appended,
            ChangeKind::Flags,
            ChangeKind::Expunged,
        ] {
            assert_eq!(kind_from_sql(kind_to_sql(kind)).ok(), Some(kind));
        }
        assert!(kind_from_sql("moved").is_err());
    }
}
