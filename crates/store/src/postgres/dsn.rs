//! DSN requests (RFC 3461): the notifications deliveries still owe their senders, kept for
//! the outbound queue (PostgreSQL). Written only by [`super::message::accept`], in the
//! transaction of the messages they are about, with one `unnest` statement for all of a
//! delivery's requests; read oldest first, and deleted or replaced by their queued
//! notification ([`replace`]) by the queue.

use mailstead_types::DsnRequestId;
use tokio_postgres::Row;

use super::{PostgresStore, execute, query, queue};
use crate::model::{
    DsnAction, DsnRequest, DsnRet, NewDsnRequest, NewQueuedMessage, OriginalRecipient,
};
use crate::{Result, StoreError};

const COLUMNS: &str =
    "id, blob_id, mail_from, envid, ret, recipient, orcpt_type, orcpt, action, created_at";

fn from_row(row: &Row) -> Result<DsnRequest> {
    let blob_id: &str = row.try_get("blob_id")?;
    Ok(DsnRequest {
        id: DsnRequestId(row.try_get("id")?),
        blob_id: blob_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("stored blob id {blob_id:?}")))?,
        mail_from: row.try_get("mail_from")?,
        envid: row.try_get("envid")?,
        ret: row
            .try_get::<_, Option<&str>>("ret")?
            .map(DsnRet::from_stored)
            .transpose()?,
        recipient: row.try_get("recipient")?,
        original_recipient: OriginalRecipient::from_stored(
            row.try_get("orcpt_type")?,
            row.try_get("orcpt")?,
        )?,
        action: DsnAction::from_stored(row.try_get("action")?)?,
        created_at: row.try_get("created_at")?,
    })
}

/// Stores the requests inside `tx`, with ascending ids in the order given (see
/// [`NewDsnRequest`] for what is `Invalid`). Takes no row lock.
pub(super) async fn insert_all(
    tx: &deadpool_postgres::Transaction<'_>,
    requests: &[NewDsnRequest],
) -> Result<()> {
    if requests.is_empty() {
        return Ok(());
    }
    for request in requests {
        request.check()?;
    }
    let column = |f: fn(&NewDsnRequest) -> Option<&str>| -> Vec<Option<&str>> {
        requests.iter().map(f).collect()
    };
    let blob_ids: Vec<String> = requests.iter().map(|r| r.blob_id.to_hex()).collect();
    let mail_froms = column(|r| Some(&r.mail_from));
    let envids = column(|r| r.envid.as_deref());
    let rets = column(|r| r.ret.map(DsnRet::as_str));
    let recipients = column(|r| Some(&r.recipient));
    let orcpt_types = column(|r| r.original_recipient.as_ref().map(|o| o.addr_type.as_str()));
    let orcpts = column(|r| r.original_recipient.as_ref().map(|o| o.address.as_str()));
    let actions = column(|r| Some(r.action.as_str()));
    let created: Vec<i64> = requests.iter().map(|r| r.created_at).collect();
    execute(
        tx,
        "INSERT INTO dsn_requests (blob_id, mail_from, envid, ret, recipient, orcpt_type,
                                   orcpt, action, created_at)
         SELECT r.blob_id, r.mail_from, r.envid, r.ret, r.recipient, r.orcpt_type, r.orcpt,
                r.action, r.created_at
           FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                       $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::BIGINT[])
                WITH ORDINALITY
                AS r(blob_id, mail_from, envid, ret, recipient, orcpt_type, orcpt, action,
                     created_at, n)
          ORDER BY r.n",
        &[
            &blob_ids,
            &mail_froms,
            &envids,
            &rets,
            &recipients,
            &orcpt_types,
            &orcpts,
            &actions,
            &created,
        ],
    )
    .await?;
    Ok(())
}

/// At most `limit` requests, oldest first.
pub(super) async fn list(store: &PostgresStore, limit: u32) -> Result<Vec<DsnRequest>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        &format!("SELECT {COLUMNS} FROM dsn_requests ORDER BY created_at, id LIMIT $1"),
        &[&i64::from(limit)],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

/// Removes one request; `NotFound` if there is none with this id.
pub(super) async fn delete(store: &PostgresStore, id: DsnRequestId) -> Result<()> {
    let client = store.client().await?;
    match execute(&client, "DELETE FROM dsn_requests WHERE id = $1", &[&id.0]).await? {
        0 => Err(StoreError::NotFound(format!("DSN request {id}"))),
        _ => Ok(()),
    }
}

/// Deletes a request and queues its notification, `notice`, in one transaction; `NotFound`
/// if the request is gone (then nothing is queued). Wakes the queue when a notice was
/// queued.
pub(super) async fn replace(
    store: &PostgresStore,
    id: DsnRequestId,
    notice: Option<&NewQueuedMessage>,
) -> Result<()> {
    if let Some(notice) = notice {
        notice.check()?;
    }
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    if execute(&tx, "DELETE FROM dsn_requests WHERE id = $1", &[&id.0]).await? == 0 {
        return Err(StoreError::NotFound(format!("DSN request {id}")));
    }
    if let Some(notice) = notice {
        queue::insert_all(&tx, std::slice::from_ref(notice)).await?;
    }
    tx.commit().await?;
    if notice.is_some() {
        store.notifier.notify_queue();
    }
    Ok(())
}
