//! Server secrets: values made once (e.g. the SRS key) and then shared by every process
//! using the database. The first value stored under a name stays: `INSERT OR IGNORE` on
//! the single writer, so concurrent callers all read back the one that won.

use rusqlite::Connection;

use super::{col, execute, query_opt};
use crate::model::check_secret_name;
use crate::{Result, StoreError};

/// The value stored under `name`, if any.
pub(super) fn get(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>> {
    check_secret_name(name)?;
    query_opt(
        conn,
        "SELECT value FROM secrets WHERE name = ?1",
        [name],
        |row| col(row, 0),
    )
}

/// The value stored under `name`; stores `candidate` first if there is none. `Invalid` for
/// a name that cannot be stored (see [`check_secret_name`]).
pub(super) fn ensure(conn: &Connection, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
    check_secret_name(name)?;
    execute(
        conn,
        "INSERT OR IGNORE INTO secrets (name, value) VALUES (?1, ?2)",
        (name, candidate),
    )?;
    get(conn, name)?
        .ok_or_else(|| StoreError::Corrupt(format!("secret {name:?} vanished after insert")))
}
