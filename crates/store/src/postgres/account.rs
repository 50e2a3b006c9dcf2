//! Accounts, domain-manager rights and app passwords (PostgreSQL).
//!
//! An address belongs either to an account or to a (non-wildcard) alias, never both; the
//! two live in different tables, so [`create`] and `alias::create` both lock the domain row
//! (`FOR NO KEY UPDATE`) before checking the other table, which serialises the two across
//! nodes. A new account's default mailboxes are inserted in the same transaction, so an
//! account never exists without its INBOX.

use mailstead_types::{AccountId, Address, AppPasswordId, DomainId};
use tokio_postgres::Row;

use super::{
    PostgresStore, conflict_on_unique, execute, from_sql_u64, mailbox, not_found_on_foreign_key,
    query, query_one, query_opt, to_sql_i64,
};
use crate::model::{
    Account, AccountUpdate, AppPassword, DEFAULT_MAILBOXES, NewAccount, UnixTime, unix_now,
};
use crate::{Result, StoreError};

const COLUMNS: &str = "id, domain_id, address, display_name, password_hash, quota_bytes, \
                       enabled, global_admin, allow_spoofing, created_at";

fn from_row(row: &Row) -> Result<Account> {
    let address: &str = row.try_get("address")?;
    let address: Address = address
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("stored account address {address:?}: {e}")))?;
    let quota_bytes = row
        .try_get::<_, Option<i64>>("quota_bytes")?
        .map(|q| from_sql_u64(q, "quota_bytes"))
        .transpose()?;
    Ok(Account {
        id: AccountId(row.try_get("id")?),
        domain_id: DomainId(row.try_get("domain_id")?),
        address,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        quota_bytes,
        enabled: row.try_get("enabled")?,
        global_admin: row.try_get("global_admin")?,
        allow_spoofing: row.try_get("allow_spoofing")?,
        created_at: row.try_get("created_at")?,
    })
}

fn app_password_from_row(row: &Row) -> Result<AppPassword> {
    Ok(AppPassword {
        id: AppPasswordId(row.try_get("id")?),
        account_id: AccountId(row.try_get("account_id")?),
        name: row.try_get("name")?,
        hash: row.try_get("hash")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

pub(super) async fn create(store: &PostgresStore, new: &NewAccount) -> Result<Account> {
    let address = &new.address;
    let quota = new
        .quota_bytes
        .map(|q| to_sql_i64(q, "quota_bytes"))
        .transpose()?;
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    // Only a primary domain holds accounts; its row lock serialises address creation.
    let domain = query_opt(
        &tx,
        "SELECT id FROM domains WHERE name = $1 FOR NO KEY UPDATE",
        &[&address.domain().as_str()],
    )
    .await?;
    let domain_id: i64 = match domain {
        Some(row) => row.try_get("id")?,
        None => return Err(StoreError::NotFound(format!("domain {}", address.domain()))),
    };
    let alias = query_opt(
        &tx,
        "SELECT 1 FROM aliases WHERE domain_id = $1 AND local_part = $2 AND NOT wildcard",
        &[&domain_id, &address.local_part()],
    )
    .await?;
    if alias.is_some() {
        return Err(StoreError::Conflict(format!("alias {address}")));
    }
    let row = query_one(
        &tx,
        &format!(
            "INSERT INTO accounts (domain_id, local_part, address, display_name, password_hash,
                                   quota_bytes, enabled, global_admin, allow_spoofing, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9)
             RETURNING {COLUMNS}"
        ),
        &[
            &domain_id,
            &address.local_part(),
            &address.to_string(),
            &new.display_name,
            &new.password_hash,
            &quota,
            &new.enabled,
            &new.global_admin,
            &unix_now(),
        ],
    )
    .await
    .map_err(|e| conflict_on_unique(e, || format!("account {address}")))?;
    let account = from_row(&row)?;
    for (name, special_use) in DEFAULT_MAILBOXES {
        mailbox::insert(&tx, account.id, name, special_use, true).await?;
    }
    tx.commit().await?;
    Ok(account)
}

pub(super) async fn by_address(
    store: &PostgresStore,
    address: &Address,
) -> Result<Option<Account>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        &format!("SELECT {COLUMNS} FROM accounts WHERE address = $1"),
        &[&address.to_string()],
    )
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn by_id(store: &PostgresStore, id: AccountId) -> Result<Option<Account>> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        &format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"),
        &[&id.0],
    )
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(store: &PostgresStore, domain: Option<DomainId>) -> Result<Vec<Account>> {
    let client = store.client().await?;
    let domain = domain.map(|d| d.0);
    let rows = query(
        &client,
        &format!(
            "SELECT {COLUMNS} FROM accounts
              WHERE $1::BIGINT IS NULL OR domain_id = $1
              ORDER BY address"
        ),
        &[&domain],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn count(store: &PostgresStore, domain: DomainId) -> Result<u64> {
    let client = store.client().await?;
    let row = query_one(
        &client,
        "SELECT COUNT(*) FROM accounts WHERE domain_id = $1",
        &[&domain.0],
    )
    .await?;
    from_sql_u64(row.try_get(0)?, "account count")
}

pub(super) async fn update(
    store: &PostgresStore,
    id: AccountId,
    update: &AccountUpdate,
) -> Result<Account> {
    let set_quota = update.quota_bytes.is_some();
    let quota = update
        .quota_bytes
        .flatten()
        .map(|q| to_sql_i64(q, "quota_bytes"))
        .transpose()?;
    let client = store.client().await?;
    // NULL parameters leave their column alone; the quota needs its own "set" flag because
    // NULL is also a value it can be set to (unlimited).
    let row = query_opt(
        &client,
        &format!(
            "UPDATE accounts SET
                 display_name   = COALESCE($2, display_name),
                 password_hash  = COALESCE($3, password_hash),
                 quota_bytes    = CASE WHEN $4 THEN $5 ELSE quota_bytes END,
                 enabled        = COALESCE($6, enabled),
                 global_admin   = COALESCE($7, global_admin),
                 allow_spoofing = COALESCE($8, allow_spoofing)
              WHERE id = $1
              RETURNING {COLUMNS}"
        ),
        &[
            &id.0,
            &update.display_name,
            &update.password_hash,
            &set_quota,
            &quota,
            &update.enabled,
            &update.global_admin,
            &update.allow_spoofing,
        ],
    )
    .await?;
    match row {
        Some(row) => from_row(&row),
        None => Err(StoreError::NotFound(format!("account {id}"))),
    }
}

pub(super) async fn delete(store: &PostgresStore, id: AccountId) -> Result<()> {
    let client = store.client().await?;
    // Mailboxes (with messages and change log), app passwords and manager rights go with
    // it through ON DELETE CASCADE, atomically with this statement.
    let n = execute(&client, "DELETE FROM accounts WHERE id = $1", &[&id.0]).await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("account {id}")));
    }
    Ok(())
}

pub(super) async fn set_managed_domains(
    store: &PostgresStore,
    id: AccountId,
    domains: &[DomainId],
) -> Result<()> {
    let ids: Vec<i64> = domains.iter().map(|d| d.0).collect();
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    // Locking the account serialises concurrent replacements of its set.
    let account = query_opt(
        &tx,
        "SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
        &[&id.0],
    )
    .await?;
    if account.is_none() {
        return Err(StoreError::NotFound(format!("account {id}")));
    }
    execute(
        &tx,
        "DELETE FROM domain_managers WHERE account_id = $1",
        &[&id.0],
    )
    .await?;
    execute(
        &tx,
        "INSERT INTO domain_managers (account_id, domain_id)
         SELECT $1, d FROM unnest($2::BIGINT[]) AS d
         ON CONFLICT DO NOTHING",
        &[&id.0, &ids],
    )
    .await
    .map_err(|e| not_found_on_foreign_key(e, || "domain to manage".to_string()))?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn managed_domains(store: &PostgresStore, id: AccountId) -> Result<Vec<DomainId>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT domain_id FROM domain_managers WHERE account_id = $1 ORDER BY domain_id",
        &[&id.0],
    )
    .await?;
    rows.iter()
        .map(|row| Ok(DomainId(row.try_get("domain_id")?)))
        .collect()
}

pub(super) async fn create_app_password(
    store: &PostgresStore,
    account: AccountId,
    name: &str,
    hash: &str,
) -> Result<AppPassword> {
    let client = store.client().await?;
    let row = query_one(
        &client,
        "INSERT INTO app_passwords (account_id, name, hash, created_at)
         VALUES ($1, $2, $3, $4)
         RETURNING id, account_id, name, hash, created_at, last_used_at",
        &[&account.0, &name, &hash, &unix_now()],
    )
    .await
    .map_err(|e| not_found_on_foreign_key(e, || format!("account {account}")))?;
    app_password_from_row(&row)
}

pub(super) async fn app_passwords(
    store: &PostgresStore,
    account: AccountId,
) -> Result<Vec<AppPassword>> {
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT id, account_id, name, hash, created_at, last_used_at
           FROM app_passwords WHERE account_id = $1 ORDER BY id",
        &[&account.0],
    )
    .await?;
    rows.iter().map(app_password_from_row).collect()
}

pub(super) async fn delete_app_password(
    store: &PostgresStore,
    account: AccountId,
    id: AppPasswordId,
) -> Result<()> {
    let client = store.client().await?;
    let n = execute(
        &client,
        "DELETE FROM app_passwords WHERE id = $1 AND account_id = $2",
        &[&id.0, &account.0],
    )
    .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("app password {id}")));
    }
    Ok(())
}

pub(super) async fn touch_app_password(
    store: &PostgresStore,
    id: AppPasswordId,
    at: UnixTime,
) -> Result<()> {
    let client = store.client().await?;
    let n = execute(
        &client,
        "UPDATE app_passwords SET last_used_at = $2 WHERE id = $1",
        &[&id.0, &at],
    )
    .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("app password {id}")));
    }
    Ok(())
}
