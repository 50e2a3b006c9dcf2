//! Numbered schema migrations per SQL dialect.
//!
//! Each backend keeps a `schema_migrations(version, name, applied_at)` table, applies every
//! migration above its current version in order (each in its own transaction, together with
//! its `schema_migrations` row), and refuses a database whose version is above the last one
//! this binary knows ([`StoreError::SchemaTooNew`]), so an old binary never writes to a
//! schema it does not understand.

use crate::{Result, StoreError};

/// One migration step.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Sequence number, 1-based, without gaps.
    pub version: i64,
    /// Short name (the file name without number and extension).
    pub name: &'static str,
    /// SQL to run (may hold several statements).
    pub sql: &'static str,
}

/// Migrations of the SQLite dialect, in order.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "dsn_requests",
        sql: include_str!("../migrations/sqlite/0002_dsn_requests.sql"),
    },
    Migration {
        version: 3,
        name: "message_index",
        sql: include_str!("../migrations/sqlite/0003_message_index.sql"),
    },
    Migration {
        version: 4,
        name: "queue_dkim",
        sql: include_str!("../migrations/sqlite/0004_queue_dkim.sql"),
    },
    Migration {
        version: 5,
        name: "spam",
        sql: include_str!("../migrations/sqlite/0005_spam.sql"),
    },
];

/// Migrations of the PostgreSQL dialect, in order.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "dsn_requests",
        sql: include_str!("../migrations/postgres/0002_dsn_requests.sql"),
    },
    Migration {
        version: 3,
        name: "message_index",
        sql: include_str!("../migrations/postgres/0003_message_index.sql"),
    },
    Migration {
        version: 4,
        name: "queue_dkim",
        sql: include_str!("../migrations/postgres/0004_queue_dkim.sql"),
    },
    Migration {
        version: 5,
        name: "spam",
        sql: include_str!("../migrations/postgres/0005_spam.sql"),
    },
];

/// The schema version a fully migrated SQLite database has.
pub const LATEST_SQLITE_VERSION: i64 = SQLITE.len() as i64;
/// The schema version a fully migrated PostgreSQL database has.
pub const LATEST_POSTGRES_VERSION: i64 = POSTGRES.len() as i64;

/// The migrations still to apply to a database at `current`, or `SchemaTooNew`.
pub(crate) fn pending(all: &'static [Migration], current: i64) -> Result<&'static [Migration]> {
    let latest = all.len() as i64;
    if current > latest {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: latest,
        });
    }
    // `current` is within 0..=latest here, so the cast and slice cannot fail.
    Ok(&all[current.max(0) as usize..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_without_gaps() {
        for list in [SQLITE, POSTGRES] {
            for (i, m) in list.iter().enumerate() {
                assert_eq!(m.version, i as i64 + 1, "{}", m.name);
                assert!(!m.sql.trim().is_empty(), "{} is empty", m.name);
            }
        }
    }

    #[test]
    fn both_dialects_have_the_same_steps() {
        let names = |l: &[Migration]| l.iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
    }

    #[test]
    fn pending_refuses_a_newer_schema() {
        assert!(matches!(
            pending(SQLITE, LATEST_SQLITE_VERSION + 1),
            Err(StoreError::SchemaTooNew { .. })
        ));
        assert_eq!(pending(SQLITE, 0).map(|p| p.len()).ok(), Some(SQLITE.len()));
        assert_eq!(
            pending(SQLITE, LATEST_SQLITE_VERSION).map(|p| p.len()).ok(),
            Some(0)
        );
    }
}
