//! Accounts, their domain-manager rights and their app passwords.
//!
//! An address belongs to an account or to a (non-wildcard) alias, never both. Like the
//! domain-name rule this spans two tables and is checked here, race-free on the single
//! writer; `UNIQUE (address)` still turns a duplicate account into `Conflict`.

use mailstead_types::{AccountId, Address, AppPasswordId, DomainId};
use rusqlite::{Connection, Row};

use super::{
    col, col_opt_u64, conflict_on_unique, execute, exists, mailbox, query_all, query_opt,
    query_u64, to_sql_i64,
};
use crate::model::{
    Account, AccountUpdate, AppPassword, DEFAULT_MAILBOXES, NewAccount, UnixTime, unix_now,
};
use crate::{Result, StoreError};

const COLUMNS: &str = "id, domain_id, address, display_name, password_hash, quota_bytes, \
                       enabled, global_admin, allow_spoofing, created_at";

fn from_row(row: &Row<'_>) -> Result<Account> {
    let address: String = col(row, 2)?;
    Ok(Account {
        id: AccountId(col(row, 0)?),
        domain_id: DomainId(col(row, 1)?),
        address: address
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("stored address {address:?}: {e}")))?,
        display_name: col(row, 3)?,
        password_hash: col(row, 4)?,
        quota_bytes: col_opt_u64(row, 5)?,
        enabled: col(row, 6)?,
        global_admin: col(row, 7)?,
        allow_spoofing: col(row, 8)?,
        created_at: col(row, 9)?,
    })
}

/// Creates an account and its default mailboxes (subscribed), in the caller's transaction.
pub(super) fn create(conn: &Connection, new: &NewAccount) -> Result<Account> {
    let address = &new.address;
    let domain_name = address.domain();
    let domain_id: DomainId = query_opt(
        conn,
        "SELECT id FROM domains WHERE name = ?1",
        [domain_name.as_str()],
        |r| col(r, 0).map(DomainId),
    )?
    .ok_or_else(|| StoreError::NotFound(format!("domain {domain_name}")))?;
    let noun = || format!("address {address}");
    if exists(
        conn,
        "SELECT 1 FROM aliases WHERE domain_id = ?1 AND local_part = ?2 AND wildcard = 0",
        (domain_id.0, address.local_part()),
    )? {
        return Err(StoreError::Conflict(noun()));
    }
    let quota_bytes = new
        .quota_bytes
        .map(|q| to_sql_i64(q, "quota_bytes"))
        .transpose()?;
    let created_at = unix_now();
    conn.prepare_cached(
        "INSERT INTO accounts (domain_id, local_part, address, display_name, password_hash, \
         quota_bytes, enabled, global_admin, allow_spoofing, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)",
    )?
    .execute((
        domain_id.0,
        address.local_part(),
        address.to_string(),
        &new.display_name,
        &new.password_hash,
        quota_bytes,
        new.enabled,
        new.global_admin,
        created_at,
    ))
    .map_err(|e| conflict_on_unique(e, noun))?;
    let id = AccountId(conn.last_insert_rowid());
    for (name, special_use) in DEFAULT_MAILBOXES {
        mailbox::create(conn, id, name, special_use, true)?;
    }
    Ok(Account {
        id,
        domain_id,
        address: address.clone(),
        display_name: new.display_name.clone(),
        password_hash: new.password_hash.clone(),
        quota_bytes: new.quota_bytes,
        enabled: new.enabled,
        global_admin: new.global_admin,
        allow_spoofing: false,
        created_at,
    })
}

/// An account by address.
pub(super) fn by_address(conn: &Connection, address: &Address) -> Result<Option<Account>> {
    query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM accounts WHERE address = ?1"),
        [address.to_string()],
        from_row,
    )
}

/// An account by id.
pub(super) fn by_id(conn: &Connection, id: AccountId) -> Result<Option<Account>> {
    query_opt(
        conn,
        &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"),
        [id.0],
        from_row,
    )
}

fn require(conn: &Connection, id: AccountId) -> Result<Account> {
    by_id(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("account {id}")))
}

/// Accounts, optionally of one domain, sorted by address.
pub(super) fn list(conn: &Connection, domain: Option<DomainId>) -> Result<Vec<Account>> {
    match domain {
        Some(d) => query_all(
            conn,
            &format!("SELECT {COLUMNS} FROM accounts WHERE domain_id = ?1 ORDER BY address"),
            [d.0],
            from_row,
        ),
        None => query_all(
            conn,
            &format!("SELECT {COLUMNS} FROM accounts ORDER BY address"),
            [],
            from_row,
        ),
    }
}

/// How many accounts a domain has.
pub(super) fn count(conn: &Connection, domain: DomainId) -> Result<u64> {
    query_u64(
        conn,
        "SELECT COUNT(*) FROM accounts WHERE domain_id = ?1",
        [domain.0],
    )
}

/// Applies a partial update (read, change, write back: the writer is exclusive).
pub(super) fn update(conn: &Connection, id: AccountId, update: &AccountUpdate) -> Result<Account> {
    let mut account = require(conn, id)?;
    if let Some(v) = &update.display_name {
        account.display_name.clone_from(v);
    }
    if let Some(v) = &update.password_hash {
        account.password_hash.clone_from(v);
    }
    if let Some(v) = update.quota_bytes {
        account.quota_bytes = v;
    }
    if let Some(v) = update.enabled {
        account.enabled = v;
    }
    if let Some(v) = update.global_admin {
        account.global_admin = v;
    }
    if let Some(v) = update.allow_spoofing {
        account.allow_spoofing = v;
    }
    let quota_bytes = account
        .quota_bytes
        .map(|q| to_sql_i64(q, "quota_bytes"))
        .transpose()?;
    execute(
        conn,
        "UPDATE accounts SET display_name = ?1, password_hash = ?2, quota_bytes = ?3, \
         enabled = ?4, global_admin = ?5, allow_spoofing = ?6 WHERE id = ?7",
        (
            &account.display_name,
            &account.password_hash,
            quota_bytes,
            account.enabled,
            account.global_admin,
            account.allow_spoofing,
            id.0,
        ),
    )?;
    Ok(account)
}

/// Removes an account; mailboxes, messages, app passwords and manager rights go by
/// ON DELETE CASCADE.
pub(super) fn delete(conn: &Connection, id: AccountId) -> Result<()> {
    match execute(conn, "DELETE FROM accounts WHERE id = ?1", [id.0])? {
        0 => Err(StoreError::NotFound(format!("account {id}"))),
        _ => Ok(()),
    }
}

/// Replaces the set of domains an account manages; `NotFound` for a missing account or
/// domain (nothing is changed then: the caller's transaction rolls back).
pub(super) fn set_managed_domains(
    conn: &Connection,
    id: AccountId,
    domains: &[DomainId],
) -> Result<()> {
    require(conn, id)?;
    execute(
        conn,
        "DELETE FROM domain_managers WHERE account_id = ?1",
        [id.0],
    )?;
    for domain in domains {
        if !exists(conn, "SELECT 1 FROM domains WHERE id = ?1", [domain.0])? {
            return Err(StoreError::NotFound(format!("domain {domain}")));
        }
        // OR IGNORE: a domain given twice is managed once.
        execute(
            conn,
            "INSERT OR IGNORE INTO domain_managers (account_id, domain_id) VALUES (?1, ?2)",
            (id.0, domain.0),
        )?;
    }
    Ok(())
}

/// The domains an account manages, sorted by id.
pub(super) fn managed_domains(conn: &Connection, id: AccountId) -> Result<Vec<DomainId>> {
    query_all(
        conn,
        "SELECT domain_id FROM domain_managers WHERE account_id = ?1 ORDER BY domain_id",
        [id.0],
        |r| col(r, 0).map(DomainId),
    )
}

// --- app passwords -------------------------------------------------------------------------

const APP_PASSWORD_COLUMNS: &str = "id, account_id, name, hash, created_at, last_used_at";

fn app_password_from_row(row: &Row<'_>) -> Result<AppPassword> {
    Ok(AppPassword {
        id: AppPasswordId(col(row, 0)?),
        account_id: AccountId(col(row, 1)?),
        name: col(row, 2)?,
        hash: col(row, 3)?,
        created_at: col(row, 4)?,
        last_used_at: col(row, 5)?,
    })
}

/// Stores an app password (already hashed); `NotFound` for a missing account.
pub(super) fn create_app_password(
    conn: &Connection,
    account: AccountId,
    name: &str,
    hash: &str,
) -> Result<AppPassword> {
    require(conn, account)?;
    let created_at = unix_now();
    execute(
        conn,
        "INSERT INTO app_passwords (account_id, name, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        (account.0, name, hash, created_at),
    )?;
    Ok(AppPassword {
        id: AppPasswordId(conn.last_insert_rowid()),
        account_id: account,
        name: name.to_owned(),
        hash: hash.to_owned(),
        created_at,
        last_used_at: None,
    })
}

/// The app passwords of an account, sorted by id.
pub(super) fn app_passwords(conn: &Connection, account: AccountId) -> Result<Vec<AppPassword>> {
    query_all(
        conn,
        &format!(
            "SELECT {APP_PASSWORD_COLUMNS} FROM app_passwords WHERE account_id = ?1 ORDER BY id"
        ),
        [account.0],
        app_password_from_row,
    )
}

/// Revokes an app password; `NotFound` unless it exists and belongs to `account`.
pub(super) fn delete_app_password(
    conn: &Connection,
    account: AccountId,
    id: AppPasswordId,
) -> Result<()> {
    match execute(
        conn,
        "DELETE FROM app_passwords WHERE id = ?1 AND account_id = ?2",
        (id.0, account.0),
    )? {
        0 => Err(StoreError::NotFound(format!("app password {id}"))),
        _ => Ok(()),
    }
}

/// Records a successful login with an app password.
pub(super) fn touch_app_password(conn: &Connection, id: AppPasswordId, at: UnixTime) -> Result<()> {
    match execute(
        conn,
        "UPDATE app_passwords SET last_used_at = ?1 WHERE id = ?2",
        (at, id.0),
    )? {
        0 => Err(StoreError::NotFound(format!("app password {id}"))),
        _ => Ok(()),
    }
}
