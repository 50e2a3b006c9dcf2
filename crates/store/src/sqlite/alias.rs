//! Aliases: an address, catch-all (`""`) or `*` pattern of a domain, delivering to one or
//! more destinations kept in order in `alias_destinations`.
//!
//! A non-wildcard alias and an account never share an address (checked here on the single
//! writer, see `account.rs`); a wildcard pattern may overlap accounts, which take
//! precedence at delivery.

use mailstead_types::{AliasId, DomainId};
use rusqlite::{Connection, Row};

use super::{col, conflict_on_unique, domain, execute, exists, query_all, query_opt};
use crate::model::{Alias, NewAlias, unix_now};
use crate::{Result, StoreError};

/// An alias row without its destinations (filled in by [`with_destinations`]).
fn from_row(row: &Row<'_>) -> Result<Alias> {
    Ok(Alias {
        id: AliasId(col(row, 0)?),
        domain_id: DomainId(col(row, 1)?),
        local_part: col(row, 2)?,
        wildcard: col(row, 3)?,
        destinations: Vec::new(),
        created_at: col(row, 4)?,
    })
}

const COLUMNS: &str = "a.id, a.domain_id, a.local_part, a.wildcard, a.created_at";

/// Loads the destinations of `aliases`, in their stored order.
fn with_destinations(conn: &Connection, mut aliases: Vec<Alias>) -> Result<Vec<Alias>> {
    // One indexed lookup per alias: SQLite runs in-process, so this costs microseconds
    // and needs no join-and-regroup code.
    for alias in &mut aliases {
        alias.destinations = destinations(conn, alias.id)?;
    }
    Ok(aliases)
}

fn destinations(conn: &Connection, id: AliasId) -> Result<Vec<String>> {
    query_all(
        conn,
        "SELECT destination FROM alias_destinations WHERE alias_id = ?1 ORDER BY position",
        [id.0],
        |r| col(r, 0),
    )
}

fn write_destinations(conn: &Connection, id: AliasId, destinations: &[String]) -> Result<()> {
    execute(
        conn,
        "DELETE FROM alias_destinations WHERE alias_id = ?1",
        [id.0],
    )?;
    for (position, destination) in destinations.iter().enumerate() {
        execute(
            conn,
            "INSERT INTO alias_destinations (alias_id, position, destination) VALUES (?1, ?2, ?3)",
            (id.0, position as i64, destination),
        )?;
    }
    Ok(())
}

fn require_destinations(destinations: &[String]) -> Result<()> {
    if destinations.is_empty() {
        return Err(StoreError::Invalid(
            "an alias needs at least one destination".into(),
        ));
    }
    Ok(())
}

/// Creates an alias. `Invalid` with no destination, `NotFound` for a missing domain,
/// `Conflict` if the (domain, local part) is an alias or, for a non-wildcard, an account.
pub(super) fn create(conn: &Connection, new: &NewAlias) -> Result<Alias> {
    require_destinations(&new.destinations)?;
    let domain = domain::by_id(conn, new.domain_id)?
        .ok_or_else(|| StoreError::NotFound(format!("domain {}", new.domain_id)))?;
    let noun = || format!("address {}@{}", new.local_part, domain.name);
    if !new.wildcard
        && exists(
            conn,
            "SELECT 1 FROM accounts WHERE domain_id = ?1 AND local_part = ?2",
            (domain.id.0, &new.local_part),
        )?
    {
        return Err(StoreError::Conflict(noun()));
    }
    let created_at = unix_now();
    conn.prepare_cached(
        "INSERT INTO aliases (domain_id, local_part, wildcard, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute((domain.id.0, &new.local_part, new.wildcard, created_at))
    .map_err(|e| conflict_on_unique(e, noun))?;
    let id = AliasId(conn.last_insert_rowid());
    write_destinations(conn, id, &new.destinations)?;
    Ok(Alias {
        id,
        domain_id: domain.id,
        local_part: new.local_part.clone(),
        wildcard: new.wildcard,
        destinations: new.destinations.clone(),
        created_at,
    })
}

/// The alias with exactly this local part.
pub(super) fn by_local_part(
    conn: &Connection,
    domain: DomainId,
    local_part: &str,
) -> Result<Option<Alias>> {
    let alias = query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM aliases a WHERE a.domain_id = ?1 AND a.local_part = ?2"),
        (domain.0, local_part),
        from_row,
    )?;
    Ok(with_destinations(conn, alias.into_iter().collect())?.pop())
}

/// An alias by id.
pub(super) fn by_id(conn: &Connection, id: AliasId) -> Result<Option<Alias>> {
    let alias = query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM aliases a WHERE a.id = ?1"),
        [id.0],
        from_row,
    )?;
    Ok(with_destinations(conn, alias.into_iter().collect())?.pop())
}

/// Aliases, optionally of one domain, sorted by (domain name, local part).
pub(super) fn list(conn: &Connection, domain: Option<DomainId>) -> Result<Vec<Alias>> {
    let aliases = match domain {
        Some(d) => query_all(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM aliases a WHERE a.domain_id = ?1 ORDER BY a.local_part"
            ),
            [d.0],
            from_row,
        )?,
        None => query_all(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM aliases a JOIN domains d ON d.id = a.domain_id \
                 ORDER BY d.name, a.local_part"
            ),
            [],
            from_row,
        )?,
    };
    with_destinations(conn, aliases)
}

/// Replaces the destinations of an alias; `Invalid` if empty, `NotFound` if missing.
pub(super) fn update(conn: &Connection, id: AliasId, destinations: &[String]) -> Result<Alias> {
    require_destinations(destinations)?;
    let mut alias = by_id(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("alias {id}")))?;
    write_destinations(conn, id, destinations)?;
    alias.destinations = destinations.to_vec();
    Ok(alias)
}

/// Removes an alias; its destinations go by ON DELETE CASCADE.
pub(super) fn delete(conn: &Connection, id: AliasId) -> Result<()> {
    match execute(conn, "DELETE FROM aliases WHERE id = ?1", [id.0])? {
        0 => Err(StoreError::NotFound(format!("alias {id}"))),
        _ => Ok(()),
    }
}
