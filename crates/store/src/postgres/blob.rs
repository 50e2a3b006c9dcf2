//! Blobs as `bytea` rows (PostgreSQL), for deployments without a shared filesystem.
//!
//! Content-addressed: the key is the lower-case hex SHA-256 of the data, so `put` of
//! content already present is `ON CONFLICT DO NOTHING` and every node storing the same
//! message at once ends with one row. A `put` returns after its single-statement
//! transaction committed, which PostgreSQL makes durable (WAL flushed, with the server's
//! default `synchronous_commit = on`) before it answers. Reads re-hash the data and report
//! `Corrupt` on a mismatch, as the filesystem store does.

use mailstead_types::BlobId;

use super::{PostgresStore, execute, query, query_opt};
use crate::fs::blob_id_of;
use crate::model::unix_now;
use crate::{Result, StoreError};

pub(super) async fn put(store: &PostgresStore, data: &[u8]) -> Result<BlobId> {
    let id = blob_id_of(data);
    let size = i64::try_from(data.len())
        .map_err(|_| StoreError::Invalid(format!("blob of {} bytes is too large", data.len())))?;
    let client = store.client().await?;
    execute(
        &client,
        "INSERT INTO blobs (id, data, size, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING",
        &[&id.to_hex(), &data, &size, &unix_now()],
    )
    .await?;
    Ok(id)
}

pub(super) async fn get(store: &PostgresStore, id: &BlobId) -> Result<Option<Vec<u8>>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        "SELECT data FROM blobs WHERE id = $1",
        &[&id.to_hex()],
    )
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let data: Vec<u8> = row.try_get("data")?;
    if blob_id_of(&data) != *id {
        return Err(StoreError::Corrupt(format!(
            "blob {id} does not match its hash"
        )));
    }
    Ok(Some(data))
}

pub(super) async fn exists(store: &PostgresStore, id: &BlobId) -> Result<bool> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        "SELECT 1 FROM blobs WHERE id = $1",
        &[&id.to_hex()],
    )
    .await?;
    Ok(row.is_some())
}

pub(super) async fn delete(store: &PostgresStore, id: &BlobId) -> Result<()> {
    let client = store.client().await?;
    execute(&client, "DELETE FROM blobs WHERE id = $1", &[&id.to_hex()]).await?;
    Ok(())
}

pub(super) async fn list(store: &PostgresStore) -> Result<Vec<BlobId>> {
    let client = store.client().await?;
    let rows = query(&client, "SELECT id FROM blobs ORDER BY id", &[]).await?;
    rows.iter()
        .map(|row| {
            let id: &str = row.try_get("id")?;
            id.parse()
                .map_err(|_| StoreError::Corrupt(format!("stored blob id {id:?}")))
        })
        .collect()
}
