//! The one error type of the store.

/// What went wrong in a store operation. Callers map `NotFound`/`Conflict`/`Invalid` to
/// user errors and everything else to a temporary failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A row with the same unique name already exists (domain, address, mailbox name...).
    #[error("{0} already exists")]
    Conflict(String),
    /// The request itself is invalid (e.g. an alias with no destination).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database was migrated by a newer mailstead than this binary.
    #[error(
        "the database schema is version {found}, newer than the {supported} this mailstead knows; \
         run a newer mailstead or restore a backup made by this version"
    )]
    SchemaTooNew {
        /// Version recorded in the database.
        found: i64,
        /// Highest version this binary has migrations for.
        supported: i64,
    },
    /// The SQLite backend failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL backend failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// Filesystem I/O failed (blob store, database directory).
    #[error("i/o on {path}: {source}")]
    Io {
        /// What was being accessed.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Stored data is not what this version expects (corrupt row, blob hash mismatch).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A blocking task died (panicked or was cancelled).
    #[error("background task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// True for errors a client should retry later (4xx / `NO [UNAVAILABLE]`), false for
    /// errors about the request itself.
    pub fn is_temporary(&self) -> bool {
        !matches!(
            self,
            StoreError::NotFound(_) | StoreError::Conflict(_) | StoreError::Invalid(_)
        )
    }
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
