//! DSN requests (RFC 3461): the notifications deliveries still owe their senders, kept for
//! the outbound queue. Written only by [`super::message::accept`], in the transaction of
//! the messages they are about; read oldest first, and deleted or replaced by their
//! queued notification ([`replace`]) by the queue.

use mailstead_types::DsnRequestId;
use rusqlite::{Connection, Row};

use super::{col, execute, query_all, queue};
use crate::model::{
    DsnAction, DsnRequest, DsnRet, NewDsnRequest, NewQueuedMessage, OriginalRecipient,
};
use crate::{Result, StoreError};

const COLUMNS: &str =
    "id, blob_id, mail_from, envid, ret, recipient, orcpt_type, orcpt, action, created_at";

fn from_row(row: &Row<'_>) -> Result<DsnRequest> {
    let blob_id: String = col(row, 1)?;
    Ok(DsnRequest {
        id: DsnRequestId(col(row, 0)?),
        blob_id: blob_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("stored blob id {blob_id:?}")))?,
        mail_from: col(row, 2)?,
        envid: col(row, 3)?,
        ret: col::<Option<String>>(row, 4)?
            .map(|r| DsnRet::from_stored(&r))
            .transpose()?,
        recipient: col(row, 5)?,
        original_recipient: OriginalRecipient::from_stored(col(row, 6)?, col(row, 7)?)?,
        action: DsnAction::from_stored(&col::<String>(row, 8)?)?,
        created_at: col(row, 9)?,
    })
}

/// Stores one request inside the caller's transaction (see [`NewDsnRequest`] for what is
/// `Invalid`).
pub(super) fn insert(conn: &Connection, new: &NewDsnRequest) -> Result<DsnRequestId> {
    new.check()?;
    let orcpt = new.original_recipient.as_ref();
    execute(
        conn,
        "INSERT INTO dsn_requests (blob_id, mail_from, envid, ret, recipient, orcpt_type, \
         orcpt, action, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        (
            new.blob_id.to_hex(),
            &new.mail_from,
            &new.envid,
            new.ret.map(DsnRet::as_str),
            &new.recipient,
            orcpt.map(|o| o.addr_type.as_str()),
            orcpt.map(|o| o.address.as_str()),
            new.action.as_str(),
            new.created_at,
        ),
    )?;
    Ok(DsnRequestId(conn.last_insert_rowid()))
}

/// At most `limit` requests, oldest first.
pub(super) fn list(conn: &Connection, limit: u32) -> Result<Vec<DsnRequest>> {
    query_all(
        conn,
        &format!("SELECT {COLUMNS} FROM dsn_requests ORDER BY created_at, id LIMIT ?1"),
        [limit],
        from_row,
    )
}

/// Removes one request; `NotFound` if there is none with this id.
pub(super) fn delete(conn: &Connection, id: DsnRequestId) -> Result<()> {
    match execute(conn, "DELETE FROM dsn_requests WHERE id = ?1", [id.0])? {
        0 => Err(StoreError::NotFound(format!("DSN request {id}"))),
        _ => Ok(()),
    }
}

/// Deletes a request and queues its notification, `notice`, inside the caller's
/// transaction; `NotFound` if the request is gone, then nothing is queued (the job's
/// savepoint rollback undoes a failed insert, so it is all or nothing).
pub(super) fn replace(
    conn: &Connection,
    id: DsnRequestId,
    notice: Option<&NewQueuedMessage>,
) -> Result<()> {
    if let Some(notice) = notice {
        notice.check()?;
    }
    delete(conn, id)?;
    if let Some(notice) = notice {
        queue::insert(conn, notice)?;
    }
    Ok(())
}
