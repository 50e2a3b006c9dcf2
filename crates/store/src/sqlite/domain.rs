//! Domains and their alternative names.
//!
//! A name is a primary domain or an alternative name, never both. That rule spans two
//! tables, so no single UNIQUE constraint holds it: it is checked here, which is race-free
//! because every write runs on the one writer connection inside `BEGIN IMMEDIATE` (other
//! processes wait for the write lock). The UNIQUE constraints still catch a duplicate
//! within one table and turn it into `Conflict`.

use mailstead_types::DomainId;
use rusqlite::{Connection, Row};

use super::{col, conflict_on_unique, execute, exists, parse_domain, query_all, query_opt};
use crate::model::{Domain, unix_now};
use crate::{Result, StoreError};

const COLUMNS: &str = "id, name, created_at";

fn from_row(row: &Row<'_>) -> Result<Domain> {
    Ok(Domain {
        id: DomainId(col(row, 0)?),
        name: parse_domain(&col::<String>(row, 1)?)?,
        created_at: col(row, 2)?,
    })
}

/// Creates a primary domain; `Conflict` if the name is taken as primary or alternative.
pub(super) fn create(conn: &Connection, name: &mailstead_types::Domain) -> Result<Domain> {
    let noun = || format!("domain {name}");
    if is_alternative(conn, name)? {
        return Err(StoreError::Conflict(noun()));
    }
    let created_at = unix_now();
    conn.prepare_cached("INSERT INTO domains (name, created_at) VALUES (?1, ?2)")?
        .execute((name.as_str(), created_at))
        .map_err(|e| conflict_on_unique(e, noun))?;
    Ok(Domain {
        id: DomainId(conn.last_insert_rowid()),
        name: name.clone(),
        created_at,
    })
}

/// A primary domain by name.
pub(super) fn by_name(conn: &Connection, name: &mailstead_types::Domain) -> Result<Option<Domain>> {
    query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM domains WHERE name = ?1"),
        [name.as_str()],
        from_row,
    )
}

/// A domain by id.
pub(super) fn by_id(conn: &Connection, id: DomainId) -> Result<Option<Domain>> {
    query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM domains WHERE id = ?1"),
        [id.0],
        from_row,
    )
}

/// The primary domain `name` is, or is an alternative name of.
pub(super) fn resolve(conn: &Connection, name: &mailstead_types::Domain) -> Result<Option<Domain>> {
    if let Some(domain) = by_name(conn, name)? {
        return Ok(Some(domain));
    }
    query_opt(
        conn,
        "SELECT d.id, d.name, d.created_at FROM alternative_domains a \
         JOIN domains d ON d.id = a.domain_id WHERE a.name = ?1",
        [name.as_str()],
        from_row,
    )
}

/// Every primary domain, sorted by name.
pub(super) fn list(conn: &Connection) -> Result<Vec<Domain>> {
    query_all(
        conn,
        &format!("SELECT {COLUMNS} FROM domains ORDER BY name"),
        [],
        from_row,
    )
}

/// Removes a domain; the schema's ON DELETE CASCADE removes its alternative names,
/// aliases, accounts and everything they own, in this same transaction.
pub(super) fn delete(conn: &Connection, id: DomainId) -> Result<()> {
    match execute(conn, "DELETE FROM domains WHERE id = ?1", [id.0])? {
        0 => Err(StoreError::NotFound(format!("domain {id}"))),
        _ => Ok(()),
    }
}

/// Adds an alternative name of `domain`; `Conflict` if the name is taken.
pub(super) fn add_alternative(
    conn: &Connection,
    domain: DomainId,
    name: &mailstead_types::Domain,
) -> Result<()> {
    if by_id(conn, domain)?.is_none() {
        return Err(StoreError::NotFound(format!("domain {domain}")));
    }
    let noun = || format!("domain {name}");
    if by_name(conn, name)?.is_some() {
        return Err(StoreError::Conflict(noun()));
    }
    conn.prepare_cached("INSERT INTO alternative_domains (name, domain_id) VALUES (?1, ?2)")?
        .execute((name.as_str(), domain.0))
        .map_err(|e| conflict_on_unique(e, noun))?;
    Ok(())
}

/// Removes an alternative name; `NotFound` if it is not one.
pub(super) fn remove_alternative(conn: &Connection, name: &mailstead_types::Domain) -> Result<()> {
    match execute(
        conn,
        "DELETE FROM alternative_domains WHERE name = ?1",
        [name.as_str()],
    )? {
        0 => Err(StoreError::NotFound(format!("alternative domain {name}"))),
        _ => Ok(()),
    }
}

/// The alternative names of a domain, sorted.
pub(super) fn alternatives(
    conn: &Connection,
    domain: DomainId,
) -> Result<Vec<mailstead_types::Domain>> {
    query_all(
        conn,
        "SELECT name FROM alternative_domains WHERE domain_id = ?1 ORDER BY name",
        [domain.0],
        |row| parse_domain(&col::<String>(row, 0)?),
    )
}

fn is_alternative(conn: &Connection, name: &mailstead_types::Domain) -> Result<bool> {
    exists(
        conn,
        "SELECT 1 FROM alternative_domains WHERE name = ?1",
        [name.as_str()],
    )
}
