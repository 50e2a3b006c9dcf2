//! The directory of mailstead: domains, accounts, aliases and app passwords, with the
//! rules that sit above the store.
//!
//! Every front end (CLI, HTTP API, SMTP, IMAP, POP3) goes through [`Directory`], so the
//! rules hold whichever way a change arrives:
//! - names are validated and normalised ([`mailstead_types::Domain`] is IDNA-normalised,
//!   addresses lower-cased) before anything is written;
//! - a domain with accounts is removed only when forced;
//! - an alias may not point at an unknown local address, and may not close a loop
//!   (`a → b → a`), checked when it is created;
//! - passwords are hashed with argon2id on a blocking thread (never on the async workers),
//!   and a login with a legacy hash (bcrypt, SHA-crypt, passlib, {SSHA}...) rehashes it;
//! - recipient resolution ([`Directory::resolve_recipient`]) follows exact accounts, exact
//!   aliases, wildcard aliases and the catch-all, in that order, with loops cut.
//!
//! Nothing here caches: each call reads the store, so a change made by the CLI in another
//! process is seen by a running server at its next lookup.
//!
//! Module map: `domain`, `account`, `alias` (incl. patterns), `token` (app passwords),
//! `auth` (login), `limiter` (failed-login throttling), `resolve` (recipient expansion), `sender`
//! (which sender addresses an account may use, [`Directory::may_send_as`]), `error`.

mod account;
mod alias;
mod auth;
mod dkim;
mod domain;
mod error;
mod hashpool;
mod limiter;
mod resolve;
mod sender;
mod token;

use std::sync::Arc;

use mailstead_store::MetaStore;

pub use account::{NewUser, UserDetails};
pub use alias::AliasSpec;
pub use auth::{Authenticated, LoginMethod};
pub use dkim::DkimRecord;
pub use domain::DomainDetails;
pub use error::{DirectoryError, Result};
pub use limiter::{LoginGate, LoginLimiter, LoginLimits};
pub use resolve::Resolution;

/// Entry point of all directory operations; cheap to clone.
#[derive(Clone)]
pub struct Directory {
    meta: Arc<dyn MetaStore>,
    hasher: Arc<hashpool::HashPool>,
}

impl Directory {
    /// A directory over the given metadata store.
    pub fn new(meta: Arc<dyn MetaStore>) -> Self {
        Self {
            meta,
            hasher: Arc::new(hashpool::HashPool::for_machine()),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn MetaStore> {
        &self.meta
    }
}

impl Directory {
    /// Runs CPU- and memory-heavy work (password hashing) on the directory's fixed pool
    /// of hashing threads, off the async workers (see `hashpool`).
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        self.hasher.run(f).await
    }
}
