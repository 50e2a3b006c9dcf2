//! Errors of directory operations, phrased for the person who asked.

use mailstead_store::StoreError;

/// Why a directory operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The input is malformed (bad domain, bad address, empty destination list...).
    #[error("{0}")]
    Invalid(String),
    /// A named thing does not exist.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The thing already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The operation is refused as asked (e.g. removing a domain with accounts, an alias
    /// loop); the message says what to do instead.
    #[error("{0}")]
    Refused(String),
    /// Password hashing failed.
    #[error("password hashing failed: {0}")]
    Credentials(#[from] mailstead_credentials::CredentialError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A blocking task died.
    #[error("background task failed: {0}")]
    Task(String),
}

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => DirectoryError::NotFound(what),
            StoreError::Conflict(what) => DirectoryError::Conflict(what),
            StoreError::Invalid(why) => DirectoryError::Invalid(why),
            other => DirectoryError::Store(other),
        }
    }
}

/// Result alias of the directory.
pub type Result<T, E = DirectoryError> = std::result::Result<T, E>;
