//! Domains and their alternative names (PostgreSQL).
//!
//! A name is unique across `domains` and `alternative_domains` together, which no single
//! constraint can say; creating either kind of name therefore takes a transaction-level
//! advisory lock ([`DOMAIN_NAMES_LOCK`]) before its check-then-insert, so two nodes cannot
//! both add the same name, one as a primary and one as an alternative. Domain creation is
//! rare, so serialising it costs nothing. Removal cascades through foreign keys
//! (`ON DELETE CASCADE`) in the one `DELETE` statement.

use mailstead_types::DomainId;
use tokio_postgres::Row;

use super::{PostgresStore, conflict_on_unique, execute, parse_domain, query, query_opt};
use crate::model::{Domain, unix_now};
use crate::{Result, StoreError};

/// Advisory lock key serialising changes to the namespace of domain names.
const DOMAIN_NAMES_LOCK: i64 = 0x6d73_5f64_6f6d_6169;

const COLUMNS: &str = "id, name, created_at";

fn from_row(row: &Row) -> Result<Domain> {
    let name: &str = row.try_get("name")?;
    Ok(Domain {
        id: DomainId(row.try_get("id")?),
        name: parse_domain(name)?,
        created_at: row.try_get("created_at")?,
    })
}

/// Takes the domain-name lock for the rest of the transaction, then fails with `Conflict`
/// if `name` is already a primary or alternative name.
async fn lock_and_check_free(
    tx: &deadpool_postgres::Transaction<'_>,
    name: &mailstead_types::Domain,
) -> Result<()> {
    execute(
        tx,
        "SELECT pg_advisory_xact_lock($1)",
        &[&DOMAIN_NAMES_LOCK],
    )
    .await?;
    let taken = query_opt(
        tx,
        "SELECT 1 FROM domains WHERE name = $1
         UNION ALL
         SELECT 1 FROM alternative_domains WHERE name = $1
         LIMIT 1",
        &[&name.as_str()],
    )
    .await?;
    match taken {
        Some(_) => Err(StoreError::Conflict(format!("domain {name}"))),
        None => Ok(()),
    }
}

pub(super) async fn create(
    store: &PostgresStore,
    name: &mailstead_types::Domain,
) -> Result<Domain> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    lock_and_check_free(&tx, name).await?;
    let row = query_opt(
        &tx,
        &format!("INSERT INTO domains (name, created_at) VALUES ($1, $2) RETURNING {COLUMNS}"),
        &[&name.as_str(), &unix_now()],
    )
    .await
    .map_err(|e| conflict_on_unique(e, || format!("domain {name}")))?;
    let domain = match row {
        Some(row) => from_row(&row)?,
        None => return Err(StoreError::Corrupt("INSERT returned no row".into())),
    };
    tx.commit().await?;
    Ok(domain)
}

pub(super) async fn by_name(
    store: &PostgresStore,
    name: &mailstead_types::Domain,
) -> Result<Option<Domain>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        &format!("SELECT {COLUMNS} FROM domains WHERE name = $1"),
        &[&name.as_str()],
    )
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn by_id(store: &PostgresStore, id: DomainId) -> Result<Option<Domain>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        &format!("SELECT {COLUMNS} FROM domains WHERE id = $1"),
        &[&id.0],
    )
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn resolve(
    store: &PostgresStore,
    name: &mailstead_types::Domain,
) -> Result<Option<Domain>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        "SELECT d.id, d.name, d.created_at FROM domains d WHERE d.name = $1
         UNION ALL
         SELECT d.id, d.name, d.created_at
           FROM alternative_domains a JOIN domains d ON d.id = a.domain_id
          WHERE a.name = $1
         LIMIT 1",
        &[&name.as_str()],
    )
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(store: &PostgresStore) -> Result<Vec<Domain>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        &format!("SELECT {COLUMNS} FROM domains ORDER BY name"),
        &[],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn delete(store: &PostgresStore, id: DomainId) -> Result<()> {
    let client = store.client().await?;
    // One statement: the cascade to alternatives, aliases, accounts, mailboxes, messages,
    // change log, app passwords and manager rights is atomic with it.
    let n = execute(&client, "DELETE FROM domains WHERE id = $1", &[&id.0]).await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("domain {id}")));
    }
    Ok(())
}

pub(super) async fn add_alternative(
    store: &PostgresStore,
    domain: DomainId,
    name: &mailstead_types::Domain,
) -> Result<()> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    lock_and_check_free(&tx, name).await?;
    // Lock the primary so a concurrent delete cannot slip between the check and the insert.
    let primary = query_opt(
        &tx,
        "SELECT 1 FROM domains WHERE id = $1 FOR KEY SHARE",
        &[&domain.0],
    )
    .await?;
    if primary.is_none() {
        return Err(StoreError::NotFound(format!("domain {domain}")));
    }
    execute(
        &tx,
        "INSERT INTO alternative_domains (name, domain_id) VALUES ($1, $2)",
        &[&name.as_str(), &domain.0],
    )
    .await
    .map_err(|e| conflict_on_unique(e, || format!("domain {name}")))?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn remove_alternative(
    store: &PostgresStore,
    name: &mailstead_types::Domain,
) -> Result<()> {
    let client = store.client().await?;
    let n = execute(
        &client,
        "DELETE FROM alternative_domains WHERE name = $1",
        &[&name.as_str()],
    )
    .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("alternative domain {name}")));
    }
    Ok(())
}

pub(super) async fn alternatives(
    store: &PostgresStore,
    domain: DomainId,
) -> Result<Vec<mailstead_types::Domain>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT name FROM alternative_domains WHERE domain_id = $1 ORDER BY name",
        &[&domain.0],
    )
    .await?;
    rows.iter()
        .map(|row| parse_domain(row.try_get::<_, &str>("name")?))
        .collect()
}
