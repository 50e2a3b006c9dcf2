//! DKIM signing keys of the domains (RFC 6376, RFC 8463 for Ed25519).
//!
//! The domain must exist: checked here, race-free on the single writer (a domain removed
//! meanwhile would have to be removed by this same connection). `UNIQUE (domain_id,
//! selector)` turns a duplicate selector into `Conflict`; removing a domain removes its
//! keys (`ON DELETE CASCADE`).

use mailstead_types::{DkimKeyId, DomainId};
use rusqlite::{Connection, Row};

use super::{col, conflict_on_unique, execute, exists, query_all};
use crate::model::{DkimAlgorithm, DkimKey, NewDkimKey, unix_now};
use crate::{Result, StoreError};

const COLUMNS: &str =
    "id, domain_id, selector, algorithm, private_key, public_key, created_at, active";

fn from_row(row: &Row<'_>) -> Result<DkimKey> {
    Ok(DkimKey {
        id: DkimKeyId(col(row, 0)?),
        domain_id: DomainId(col(row, 1)?),
        selector: col(row, 2)?,
        algorithm: DkimAlgorithm::from_stored(&col::<String>(row, 3)?)?,
        private_key: col(row, 4)?,
        public_key: col(row, 5)?,
        created_at: col(row, 6)?,
        active: col(row, 7)?,
    })
}

/// Stores a key, active (see [`NewDkimKey`] for what is `Invalid`); `NotFound` without
/// the domain, `Conflict` for a selector the domain has.
pub(super) fn create(conn: &Connection, new: &NewDkimKey) -> Result<DkimKey> {
    new.check()?;
    let domain = new.domain_id;
    if !exists(conn, "SELECT 1 FROM domains WHERE id = ?1", [domain.0])? {
        return Err(StoreError::NotFound(format!("domain {domain}")));
    }
    let created_at = unix_now();
    conn.prepare_cached(
        "INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key, \
         created_at, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
    )?
    .execute((
        domain.0,
        &new.selector,
        new.algorithm.as_str(),
        &new.private_key,
        &new.public_key,
        created_at,
    ))
    .map_err(|e| conflict_on_unique(e, || format!("DKIM selector {}", new.selector)))?;
    Ok(DkimKey {
        id: DkimKeyId(conn.last_insert_rowid()),
        domain_id: domain,
        selector: new.selector.clone(),
        algorithm: new.algorithm,
        private_key: new.private_key.clone(),
        public_key: new.public_key.clone(),
        created_at,
        active: true,
    })
}

/// The keys of a domain, ascending by id.
pub(super) fn list(conn: &Connection, domain: DomainId) -> Result<Vec<DkimKey>> {
    query_all(
        conn,
        &format!("SELECT {COLUMNS} FROM dkim_keys WHERE domain_id = ?1 ORDER BY id"),
        [domain.0],
        from_row,
    )
}

/// Activates or deactivates a key; `NotFound` if absent.
pub(super) fn set_active(conn: &Connection, id: DkimKeyId, active: bool) -> Result<()> {
    match execute(
        conn,
        "UPDATE dkim_keys SET active = ?1 WHERE id = ?2",
        (active, id.0),
    )? {
        0 => Err(StoreError::NotFound(format!("DKIM key {id}"))),
        _ => Ok(()),
    }
}

/// Removes a key; `NotFound` if absent.
pub(super) fn delete(conn: &Connection, id: DkimKeyId) -> Result<()> {
    match execute(conn, "DELETE FROM dkim_keys WHERE id = ?1", [id.0])? {
        0 => Err(StoreError::NotFound(format!("DKIM key {id}"))),
        _ => Ok(()),
    }
}
