//! DKIM signing keys of the domains (RFC 6376, RFC 8463 for Ed25519), PostgreSQL.
//!
//! One `INSERT` each: the foreign key turns a missing domain into `NotFound` and
//! `UNIQUE (domain_id, selector)` a duplicate selector into `Conflict`, so no check-then-
//! insert race between nodes; removing a domain removes its keys (`ON DELETE CASCADE`).

use mailstead_types::{DkimKeyId, DomainId};
use tokio_postgres::Row;

use super::{PostgresStore, Violation, execute, query, query_one, violation};
use crate::model::{DkimAlgorithm, DkimKey, NewDkimKey, unix_now};
use crate::{Result, StoreError};

const COLUMNS: &str =
    "id, domain_id, selector, algorithm, private_key, public_key, created_at, active";

fn from_row(row: &Row) -> Result<DkimKey> {
    Ok(DkimKey {
        id: DkimKeyId(row.try_get("id")?),
        domain_id: DomainId(row.try_get("domain_id")?),
        selector: row.try_get("selector")?,
        algorithm: DkimAlgorithm::from_stored(row.try_get("algorithm")?)?,
        private_key: row.try_get("private_key")?,
        public_key: row.try_get("public_key")?,
        created_at: row.try_get("created_at")?,
        active: row.try_get("active")?,
    })
}

/// Stores a key, active (see [`NewDkimKey`] for what is `Invalid`); `NotFound` without
/// the domain, `Conflict` for a selector the domain has.
pub(super) async fn create(store: &PostgresStore, new: &NewDkimKey) -> Result<DkimKey> {
    new.check()?;
    let client = store.client().await?;
    let row = query_one(
        &client,
        &format!(
            "INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key,
                                    created_at, active)
             VALUES ($1, $2, $3, $4, $5, $6, TRUE)
             RETURNING {COLUMNS}"
        ),
        &[
            &new.domain_id.0,
            &new.selector,
            &new.algorithm.as_str(),
            &new.private_key,
            &new.public_key,
            &unix_now(),
        ],
    )
    .await
    .map_err(|e| match violation(&e) {
        Some(Violation::Unique) => StoreError::Conflict(format!("DKIM selector {}", new.selector)),
        Some(Violation::ForeignKey) => StoreError::NotFound(format!("domain {}", new.domain_id)),
        None => StoreError::Postgres(e),
    })?;
    from_row(&row)
}

/// The keys of a domain, ascending by id.
pub(super) async fn list(store: &PostgresStore, domain: DomainId) -> Result<Vec<DkimKey>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        &format!("SELECT {COLUMNS} FROM dkim_keys WHERE domain_id = $1 ORDER BY id"),
        &[&domain.0],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

/// Activates or deactivates a key; `NotFound` if absent.
pub(super) async fn set_active(store: &PostgresStore, id: DkimKeyId, active: bool) -> Result<()> {
    let client = store.client().await?;
    match execute(
        &client,
        "UPDATE dkim_keys SET active = $2 WHERE id = $1",
        &[&id.0, &active],
    )
    .await?
    {
        0 => Err(StoreError::NotFound(format!("DKIM key {id}"))),
        _ => Ok(()),
    }
}

/// Removes a key; `NotFound` if absent.
pub(super) async fn delete(store: &PostgresStore, id: DkimKeyId) -> Result<()> {
    let client = store.client().await?;
    match execute(&client, "DELETE FROM dkim_keys WHERE id = $1", &[&id.0]).await? {
        0 => Err(StoreError::NotFound(format!("DKIM key {id}"))),
        _ => Ok(()),
    }
}
