//! Server secrets: values made once (e.g. the SRS key) and then shared by every node
//! (PostgreSQL). The first value stored under a name stays: `INSERT ... ON CONFLICT DO
//! NOTHING` waits for a concurrent insert of the same name to end, and the `SELECT` after
//! it (a new snapshot, outside any transaction) reads the value that won.

use super::{PostgresStore, execute, query_opt};
use crate::model::check_secret_name;
use crate::{Result, StoreError};

/// The value stored under `name`; stores `candidate` first if there is none. `Invalid` for
/// a name that cannot be stored (see [`check_secret_name`]).
pub(super) async fn ensure(store: &PostgresStore, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
    check_secret_name(name)?;
    let client = store.client().await?;
    let select = "SELECT value FROM secrets WHERE name = $1";
    // Once stored (the usual case), nothing is written.
    if let Some(row) = query_opt(&client, select, &[&name]).await? {
        return Ok(row.try_get("value")?);
    }
    execute(
        &client,
        "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&name, &candidate],
    )
    .await?;
    match query_opt(&client, select, &[&name]).await? {
        Some(row) => Ok(row.try_get("value")?),
        None => Err(StoreError::Corrupt(format!(
            "secret {name:?} vanished after insert"
        ))),
    }
}
