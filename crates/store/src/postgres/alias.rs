//! Aliases and their ordered destinations (PostgreSQL).
//!
//! Destinations live in `alias_destinations` keyed by (alias, position) and are read back
//! with an `ARRAY(...)` sub-select in position order, so an alias is always loaded in one
//! round trip. A non-wildcard alias and an account may not share an address: creation
//! locks the domain row first, as account creation does (see `account`).

use mailstead_types::{AliasId, DomainId};
use tokio_postgres::Row;

use super::{PostgresStore, conflict_on_unique, execute, query, query_one, query_opt};
use crate::model::{Alias, NewAlias, unix_now};
use crate::{Result, StoreError};

/// The alias columns plus its destinations as a `TEXT[]` in position order.
const SELECT: &str = "SELECT a.id, a.domain_id, a.local_part, a.wildcard, a.created_at,
        ARRAY(SELECT d.destination FROM alias_destinations d
               WHERE d.alias_id = a.id ORDER BY d.position) AS destinations
   FROM aliases a";

fn from_row(row: &Row) -> Result<Alias> {
    Ok(Alias {
        id: AliasId(row.try_get("id")?),
        domain_id: DomainId(row.try_get("domain_id")?),
        local_part: row.try_get("local_part")?,
        wildcard: row.try_get("wildcard")?,
        destinations: row.try_get("destinations")?,
        created_at: row.try_get("created_at")?,
    })
}

fn check_destinations(destinations: &[String]) -> Result<()> {
    if destinations.is_empty() {
        return Err(StoreError::Invalid(
            "an alias needs at least one destination".into(),
        ));
    }
    Ok(())
}

/// Writes the destinations of alias `id` in the given order.
async fn insert_destinations(
    tx: &deadpool_postgres::Transaction<'_>,
    id: i64,
    destinations: &[String],
) -> Result<()> {
    execute(
        tx,
        "INSERT INTO alias_destinations (alias_id, position, destination)
         SELECT $1, (d.n - 1)::INTEGER, d.destination
           FROM unnest($2::TEXT[]) WITH ORDINALITY AS d(destination, n)",
        &[&id, &destinations],
    )
    .await?;
    Ok(())
}

/// The alias `id` as seen inside `tx`.
async fn load(tx: &deadpool_postgres::Transaction<'_>, id: i64) -> Result<Alias> {
    let row = query_one(tx, &format!("{SELECT} WHERE a.id = $1"), &[&id]).await?;
    from_row(&row)
}

pub(super) async fn create(store: &PostgresStore, new: &NewAlias) -> Result<Alias> {
    check_destinations(&new.destinations)?;
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    // The domain row lock serialises this against account creation in the same domain.
    let domain = query_opt(
        &tx,
        "SELECT name FROM domains WHERE id = $1 FOR NO KEY UPDATE",
        &[&new.domain_id.0],
    )
    .await?;
    let domain_name: String = match domain {
        Some(row) => row.try_get("name")?,
        None => return Err(StoreError::NotFound(format!("domain {}", new.domain_id))),
    };
    let shown = format!("{}@{domain_name}", new.local_part);
    if !new.wildcard {
        let account = query_opt(
            &tx,
            "SELECT 1 FROM accounts WHERE domain_id = $1 AND local_part = $2",
            &[&new.domain_id.0, &new.local_part],
        )
        .await?;
        if account.is_some() {
            return Err(StoreError::Conflict(format!("account {shown}")));
        }
    }
    let row = query_one(
        &tx,
        "INSERT INTO aliases (domain_id, local_part, wildcard, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
        &[
            &new.domain_id.0,
            &new.local_part,
            &new.wildcard,
            &unix_now(),
        ],
    )
    .await
    .map_err(|e| conflict_on_unique(e, || format!("alias {shown}")))?;
    let id: i64 = row.try_get("id")?;
    insert_destinations(&tx, id, &new.destinations).await?;
    let alias = load(&tx, id).await?;
    tx.commit().await?;
    Ok(alias)
}

pub(super) async fn by_local_part(
    store: &PostgresStore,
    domain: DomainId,
    local_part: &str,
) -> Result<Option<Alias>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        &format!("{SELECT} WHERE a.domain_id = $1 AND a.local_part = $2"),
        &[&domain.0, &local_part],
    )
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn by_id(store: &PostgresStore, id: AliasId) -> Result<Option<Alias>> {
    let client = store.client().await?;
    let row = query_opt(&client, &format!("{SELECT} WHERE a.id = $1"), &[&id.0]).await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(store: &PostgresStore, domain: Option<DomainId>) -> Result<Vec<Alias>> {
    let client = store.client().await?;
    let domain = domain.map(|d| d.0);
    let rows = query(
        &client,
        &format!(
            "{SELECT} JOIN domains dom ON dom.id = a.domain_id
              WHERE $1::BIGINT IS NULL OR a.domain_id = $1
              ORDER BY dom.name, a.local_part"
        ),
        &[&domain],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn update(
    store: &PostgresStore,
    id: AliasId,
    destinations: &[String],
) -> Result<Alias> {
    check_destinations(destinations)?;
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    // Locking the alias serialises concurrent replacements of its destinations.
    let found = query_opt(
        &tx,
        "SELECT 1 FROM aliases WHERE id = $1 FOR NO KEY UPDATE",
        &[&id.0],
    )
    .await?;
    if found.is_none() {
        return Err(StoreError::NotFound(format!("alias {id}")));
    }
    execute(
        &tx,
        "DELETE FROM alias_destinations WHERE alias_id = $1",
        &[&id.0],
    )
    .await?;
    insert_destinations(&tx, id.0, destinations).await?;
    let alias = load(&tx, id.0).await?;
    tx.commit().await?;
    Ok(alias)
}

pub(super) async fn delete(store: &PostgresStore, id: AliasId) -> Result<()> {
    let client = store.client().await?;
    let n = execute(&client, "DELETE FROM aliases WHERE id = $1", &[&id.0]).await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("alias {id}")));
    }
    Ok(())
}
