//! Storage of mailstead: metadata ([`MetaStore`]) and raw messages ([`BlobStore`]).
//!
//! Backends:
//! - [`sqlite`]: the embedded default. rusqlite in WAL mode, one writer connection
//!   (all writes are serialised through it, so UID allocation needs no further locking)
//!   and a pool of read-only connections.
//! - [`postgres`]: the shared backend for several nodes (tokio-postgres + deadpool).
//!   Implements both traits: blobs as `bytea` rows.
//! - [`fs`]: the default blob store, content-addressed files under `blobs/ab/cd/<sha256>`.
//!
//! Module map: `model` (plain rows), `error`, `migrate` (numbered SQL migrations per
//! dialect under `migrations/<dialect>/NNNN_name.sql`), `notify` ([`Notifier`]: in-process
//! announcements of committed mailbox changes), one directory per backend with the
//! same file names per entity. The generic conformance suite lives in `tests/conformance/`
//! and runs against every backend.
//!
//! Invariants (tested by the conformance suite):
//! 1. UIDs are strictly ascending per mailbox and never reused while its UIDVALIDITY stands;
//!    MODSEQ is strictly ascending per mailbox, including under concurrent appends.
//! 2. A blob `put` returns only after the content is durable (file fsynced, renamed,
//!    directory fsynced; or the row committed). Callers write the blob *before* the
//!    metadata that references it, so metadata never points at a missing blob.
//! 3. Blobs are immutable and content-addressed: the same bytes are stored once.
//! 4. Every multi-row change (account + its default mailboxes, domain removal cascade,
//!    append + change log, an accepted message's local copies + its DSN requests + its
//!    queue entries, a queue attempt's outcome + the DSNs it owes, a Bayes learn's
//!    learned-message row + feature counts + totals) is one transaction: it happens whole
//!    or not at all.
//! 5. The schema version is checked at open: a database migrated by a newer binary is
//!    refused with [`StoreError::SchemaTooNew`], never written to.
//! 6. Spam state (migration 5: `account_spam_settings`, `bayes_models`, `bayes_tokens`,
//!    `bayes_learned`, `greylist`): a message is counted at most once per Bayes model,
//!    also when several nodes learn it at once; counts and totals never go below zero;
//!    an account's settings and model are removed with the account (a foreign key, a
//!    trigger); a greylist check reads and writes its triplet's entry atomically.

pub mod error;
pub mod fs;
mod migrate;
pub mod model;
mod notify;
pub mod postgres;
pub mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use mailstead_types::{
    AccountId, Address, AliasId, AppPasswordId, BlobId, DkimKeyId, DomainId, DsnRequestId,
    MailboxId, ModSeq, QueueId, Secret, Uid,
};

pub use error::{Result, StoreError};
pub use migrate::{LATEST_POSTGRES_VERSION, LATEST_SQLITE_VERSION};
use model::*;
pub use notify::Notifier;

/// Metadata storage: domains, accounts, aliases, mailboxes, messages, change log, DSN
/// requests.
///
/// All methods are safe to call concurrently. Methods that change several rows do so in
/// one transaction. `NotFound` is returned by updates/deletes of a missing row; lookups
/// return `Ok(None)` instead.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    // --- health -------------------------------------------------------------------------

    /// The schema version the database is at.
    async fn schema_version(&self) -> Result<i64>;
    /// Cheap round trip to the database (readiness probe).
    async fn ping(&self) -> Result<()>;

    // --- domains ------------------------------------------------------------------------

    /// Creates a primary domain. `Conflict` if the name exists as a primary or alternative.
    async fn create_domain(&self, name: &mailstead_types::Domain) -> Result<Domain>;
    /// A primary domain by name.
    async fn domain(&self, name: &mailstead_types::Domain) -> Result<Option<Domain>>;
    /// A domain by id.
    async fn domain_by_id(&self, id: DomainId) -> Result<Option<Domain>>;
    /// The primary domain that `name` is, or that it is an alternative name of.
    async fn resolve_domain(&self, name: &mailstead_types::Domain) -> Result<Option<Domain>>;
    /// Every primary domain, sorted by name.
    async fn list_domains(&self) -> Result<Vec<Domain>>;
    /// Removes a domain and everything in it (alternatives, aliases, accounts with their
    /// mailboxes, messages and app passwords) in one transaction. Blobs stay for the GC.
    async fn delete_domain(&self, id: DomainId) -> Result<()>;
    /// Adds an alternative name of a domain (mail to `x@alt` goes to `x@domain`).
    /// `Conflict` if the name exists as a primary or alternative.
    async fn add_alternative_domain(
        &self,
        domain: DomainId,
        name: &mailstead_types::Domain,
    ) -> Result<()>;
    /// Removes an alternative name; `NotFound` if it is not one.
    async fn remove_alternative_domain(&self, name: &mailstead_types::Domain) -> Result<()>;
    /// The alternative names of a domain, sorted.
    async fn alternative_domains(&self, domain: DomainId) -> Result<Vec<mailstead_types::Domain>>;

    // --- accounts -----------------------------------------------------------------------

    /// Creates an account and its [`DEFAULT_MAILBOXES`] in one transaction. `NotFound` if
    /// the address's domain is not a primary domain; `Conflict` if an account or an alias
    /// (non-wildcard, same local part) already has the address.
    async fn create_account(&self, new: &NewAccount) -> Result<Account>;
    /// An account by address.
    async fn account(&self, address: &Address) -> Result<Option<Account>>;
    /// An account by id.
    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>>;
    /// Accounts, optionally of one domain, sorted by address.
    async fn list_accounts(&self, domain: Option<DomainId>) -> Result<Vec<Account>>;
    /// How many accounts a domain has.
    async fn count_accounts(&self, domain: DomainId) -> Result<u64>;
    /// Applies a partial update and returns the new row.
    async fn update_account(&self, id: AccountId, update: &AccountUpdate) -> Result<Account>;
    /// Removes an account with its mailboxes, messages, app passwords and manager rights.
    async fn delete_account(&self, id: AccountId) -> Result<()>;
    /// Replaces the set of domains an account manages (domain manager role).
    async fn set_managed_domains(&self, id: AccountId, domains: &[DomainId]) -> Result<()>;
    /// The domains an account manages, sorted by id.
    async fn managed_domains(&self, id: AccountId) -> Result<Vec<DomainId>>;

    // --- app passwords ------------------------------------------------------------------

    /// Stores an app password (already hashed).
    async fn create_app_password(
        &self,
        account: AccountId,
        name: &str,
        hash: &str,
    ) -> Result<AppPassword>;
    /// The app passwords of an account, sorted by id.
    async fn app_passwords(&self, account: AccountId) -> Result<Vec<AppPassword>>;
    /// Revokes one; `NotFound` unless it exists and belongs to `account`.
    async fn delete_app_password(&self, account: AccountId, id: AppPasswordId) -> Result<()>;
    /// Records a successful login with an app password.
    async fn touch_app_password(&self, id: AppPasswordId, at: UnixTime) -> Result<()>;

    // --- aliases ------------------------------------------------------------------------

    /// Creates an alias. `Invalid` with no destination; `Conflict` if the same
    /// (domain, local part) exists as an alias or, for a non-wildcard, as an account.
    async fn create_alias(&self, new: &NewAlias) -> Result<Alias>;
    /// The alias with exactly this local part (`""` = catch-all, or a pattern as written).
    async fn alias(&self, domain: DomainId, local_part: &str) -> Result<Option<Alias>>;
    /// An alias by id.
    async fn alias_by_id(&self, id: AliasId) -> Result<Option<Alias>>;
    /// Aliases, optionally of one domain, sorted by (domain, local part).
    async fn list_aliases(&self, domain: Option<DomainId>) -> Result<Vec<Alias>>;
    /// Replaces the destinations of an alias (`Invalid` if empty).
    async fn update_alias(&self, id: AliasId, destinations: &[String]) -> Result<Alias>;
    /// Removes an alias.
    async fn delete_alias(&self, id: AliasId) -> Result<()>;

    // --- mailboxes ----------------------------------------------------------------------

    /// Creates a mailbox with a fresh UIDVALIDITY (never one this account's mailbox of the
    /// same name had before), UIDNEXT 1 and HIGHESTMODSEQ 1. `Conflict` if the name exists.
    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<Mailbox>;
    /// The mailboxes of an account, sorted by name.
    async fn mailboxes(&self, account: AccountId) -> Result<Vec<Mailbox>>;
    /// A mailbox by exact name.
    async fn mailbox(&self, account: AccountId, name: &str) -> Result<Option<Mailbox>>;
    /// A mailbox by id.
    async fn mailbox_by_id(&self, id: MailboxId) -> Result<Option<Mailbox>>;
    /// Renames one mailbox (callers rename children themselves). `Conflict` if taken.
    async fn rename_mailbox(&self, id: MailboxId, new_name: &str) -> Result<Mailbox>;
    /// Removes a mailbox with its messages and change log.
    async fn delete_mailbox(&self, id: MailboxId) -> Result<()>;
    /// Sets the subscribed flag.
    async fn set_subscribed(&self, id: MailboxId, subscribed: bool) -> Result<()>;

    // --- messages -----------------------------------------------------------------------

    /// Appends a message: takes UID = UIDNEXT and MODSEQ = HIGHESTMODSEQ + 1, advances
    /// both, and logs an `Appended` change, in one transaction.
    async fn append_message(&self, mailbox: MailboxId, new: &NewMessage) -> Result<Message>;
    /// Appends one message to each of several mailboxes (local delivery to several
    /// recipients): [`MetaStore::deliver`] without DSN requests.
    async fn append_messages(&self, targets: &[(MailboxId, NewMessage)]) -> Result<Vec<Message>> {
        self.deliver(targets, &[]).await
    }
    /// Local delivery: [`MetaStore::accept`] without queued messages.
    async fn deliver(
        &self,
        targets: &[(MailboxId, NewMessage)],
        dsn: &[NewDsnRequest],
    ) -> Result<Vec<Message>> {
        Ok(self.accept(targets, dsn, &[]).await?.0)
    }
    /// Accepting a message: appends one message to each of several local mailboxes,
    /// records the DSNs owed for it (RFC 3461 §6.2.2) and queues the copies for other
    /// servers, in ONE transaction, so either every local recipient has the message and
    /// every request and queue entry is stored, or nothing is (`NotFound` if any mailbox is
    /// missing, `Invalid` for a request [`NewDsnRequest`] forbids or a queued message
    /// without recipients, and nothing is written anywhere); concurrent deliveries share
    /// commits. Each append allocates and logs exactly as [`MetaStore::append_message`]; a
    /// mailbox named twice gets two messages with ascending UIDs. Results are in the order
    /// of `targets` and `queue`; requests get ascending ids in the order given. With
    /// nothing to write it is `Ok` and empty, without a transaction. Queued messages wake
    /// the queue through [`MetaStore::notifier`]'s queue channel.
    async fn accept(
        &self,
        targets: &[(MailboxId, NewMessage)],
        dsn: &[NewDsnRequest],
        queue: &[NewQueuedMessage],
    ) -> Result<(Vec<Message>, Vec<QueueId>)>;
    /// Messages of a mailbox in ascending UID order.
    async fn messages(&self, mailbox: MailboxId) -> Result<Vec<Message>>;
    /// Changes flags/keywords of the messages with these UIDs (missing UIDs are skipped).
    /// Every message whose flags really change gets its own new MODSEQ and a `Flags` change
    /// row; the changed messages are returned in ascending UID order.
    async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
    ) -> Result<Vec<Message>>;
    /// Removes the messages with these UIDs, logging an `Expunged` change for each (one
    /// new MODSEQ each). Returns the UIDs really removed, ascending.
    async fn expunge(&self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>>;
    /// Change-log rows with MODSEQ greater than `since`, ascending.
    async fn changes_since(&self, mailbox: MailboxId, since: ModSeq) -> Result<Vec<Change>>;
    /// Sum of message sizes over all mailboxes of an account (quota usage).
    async fn account_usage(&self, account: AccountId) -> Result<u64>;
    /// Messages of a mailbox with `first <= UID <= last`, ascending.
    async fn messages_in_range(
        &self,
        mailbox: MailboxId,
        first: Uid,
        last: Uid,
    ) -> Result<Vec<Message>>;
    /// Counts for STATUS without loading the rows (one query); `NotFound` if the mailbox
    /// is missing.
    async fn mailbox_counts(&self, mailbox: MailboxId) -> Result<MailboxCounts>;
    /// Copies the messages with these UIDs (missing ones skipped) from `from` to `to`,
    /// in ascending UID order, each getting the next UID and MODSEQ of `to` with its
    /// flags, keywords, internal date and blob; with `remove_source` (MOVE, RFC 6851) the
    /// originals are expunged (logged as `Expunged`) in the SAME transaction. Returns
    /// `(source UID, new UID)` pairs in ascending source order. `NotFound` if either
    /// mailbox is missing; `Invalid` if `from == to` with `remove_source`.
    async fn copy_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
        remove_source: bool,
    ) -> Result<Vec<(Uid, Uid)>>;
    /// Sets or clears the RFC 6154 role of a mailbox.
    async fn set_special_use(&self, id: MailboxId, special_use: Option<SpecialUse>) -> Result<()>;

    // --- message index (IMAP summaries and search text) ----------------------------------

    /// Stores the index of a blob (no-op if one exists: blobs are immutable). NUL
    /// characters are stripped from its texts (see [`MessageIndex`]).
    ///
    /// Index rows are keyed by blob, not by message, and are not removed with the
    /// messages that reference them (expunge, mailbox or account deletion): the blob
    /// garbage collector removes them with the unreferenced blob. Every read joins from a
    /// mailbox's messages, so an orphan row is never seen.
    async fn put_index(&self, blob: &BlobId, index: &MessageIndex) -> Result<()>;
    /// The stored summaries of the messages of `mailbox` with these UIDs, ascending by
    /// UID; messages without an index row are left out.
    async fn summaries(&self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<(Uid, String)>>;
    /// Messages of `mailbox` without an index row (delivered before indexing existed, or
    /// by a path that skipped it): `(UID, blob)`, ascending.
    async fn unindexed(&self, mailbox: MailboxId) -> Result<Vec<(Uid, BlobId)>>;
    /// Messages of `mailbox` whose `header_text` contains `needle` (already lower-case;
    /// plain substring, no pattern characters), with that header text for the caller's
    /// exact field check; ascending by UID. An empty needle matches every indexed
    /// message; NUL characters in `needle` are ignored, as they were stripped from the
    /// stored text. A scan of the mailbox's index rows in the
    /// database (no full-text index yet).
    async fn search_headers(&self, mailbox: MailboxId, needle: &str) -> Result<Vec<(Uid, String)>>;
    /// UIDs of messages of `mailbox` whose `body_text` contains `needle` (lower-case,
    /// plain substring), ascending; as [`MetaStore::search_headers`] for empty needles
    /// and NUL.
    async fn search_body(&self, mailbox: MailboxId, needle: &str) -> Result<Vec<Uid>>;

    // --- change notification ----------------------------------------------------------

    /// The in-process notifier every committed change to a mailbox (append, delivery,
    /// flags, expunge, copy/move target and source, rename, delete) is announced on, after
    /// its commit.
    fn notifier(&self) -> &Notifier;

    // --- outbound queue -----------------------------------------------------------------

    /// Queues one message (see [`MetaStore::accept`]).
    async fn enqueue(&self, message: &NewQueuedMessage) -> Result<QueueId> {
        let (_, ids) = self.accept(&[], &[], std::slice::from_ref(message)).await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| StoreError::Invalid("nothing queued".into()))
    }
    /// Leases due work: at most `limit` messages that have a pending recipient with
    /// `next_attempt <= now` and no standing lease (`lease_until` NULL or `< now`), most
    /// overdue first, each returned with ALL its recipients; sets `lease_until = now +
    /// lease_secs` on them in the same transaction, so two workers (or nodes) never hold
    /// the same message while a lease stands (PostgreSQL: `FOR UPDATE SKIP LOCKED`). A
    /// worker that dies leaves the lease to expire and the message is leased again.
    async fn queue_lease(
        &self,
        now: UnixTime,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMessage>>;
    /// Records an attempt, in ONE transaction: applies `updates` to recipients of `id`
    /// (others unchanged; an update naming a recipient of another message is `Invalid`
    /// and nothing is written), queues `notices` (DSNs, delay notices), clears the lease,
    /// and removes the message with its recipients once every recipient is final.
    /// Returns true when the message was removed. `NotFound` if the message is gone
    /// (deleted by an operator meanwhile): then nothing is written, notices included.
    async fn queue_complete(
        &self,
        id: QueueId,
        updates: &[RecipientUpdate],
        notices: &[NewQueuedMessage],
    ) -> Result<bool>;
    /// The earliest time something in the queue is due: the minimum over messages with
    /// a pending recipient of max(earliest pending `next_attempt`, `lease_until`);
    /// `None` when nothing is pending.
    async fn queue_next_due(&self) -> Result<Option<UnixTime>>;
    /// Every queued message with its recipients, ascending by id.
    async fn queue_list(&self) -> Result<Vec<QueuedMessage>>;
    /// One queued message with its recipients.
    async fn queue_message(&self, id: QueueId) -> Result<Option<QueuedMessage>>;
    /// Makes the pending recipients of one message (or of all, with `None`) due at
    /// `now`; returns how many recipients changed. Leases are left alone. `NotFound` for
    /// a named message that does not exist.
    async fn queue_retry(&self, id: Option<QueueId>, now: UnixTime) -> Result<u64>;
    /// Removes a message and its recipients from the queue without any notification
    /// (operator action); `NotFound` if absent.
    async fn queue_delete(&self, id: QueueId) -> Result<()>;
    /// Counts of the queue.
    async fn queue_stats(&self) -> Result<QueueStats>;
    /// Turns a stored DSN request into its queued notification, in ONE transaction:
    /// deletes the request and queues `notice` (`None`: just delete, e.g. for a null
    /// sender). `NotFound` if the request is gone; then nothing is queued.
    async fn replace_dsn_request(
        &self,
        id: DsnRequestId,
        notice: Option<&NewQueuedMessage>,
    ) -> Result<()>;

    // --- DKIM keys ----------------------------------------------------------------------

    /// Stores a DKIM key, active. `NotFound` if the domain is missing, `Conflict` if the
    /// domain has the selector already, `Invalid` for an empty selector or key.
    async fn create_dkim_key(&self, new: &NewDkimKey) -> Result<DkimKey>;
    /// The keys of a domain (active and not), ascending by id.
    async fn dkim_keys(&self, domain: DomainId) -> Result<Vec<DkimKey>>;
    /// Activates or deactivates a key; `NotFound` if absent.
    async fn set_dkim_key_active(&self, id: DkimKeyId, active: bool) -> Result<()>;
    /// Removes a key; `NotFound` if absent.
    async fn delete_dkim_key(&self, id: DkimKeyId) -> Result<()>;

    // --- server secrets -----------------------------------------------------------------

    /// The secret stored under `name` (e.g. the SRS key); if there is none, stores
    /// `candidate` and returns it. Concurrent callers (other nodes) all get the one value
    /// that won.
    async fn ensure_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>>;

    // --- spam: per-account settings, Bayes models, greylisting ---------------------------

    /// The spam settings of an account ([`SpamSettings::default`] when never set);
    /// `NotFound` if the account is missing.
    async fn spam_settings(&self, account: AccountId) -> Result<SpamSettings>;
    /// Stores the spam settings of an account; `NotFound` if the account is missing,
    /// `Invalid` for a threshold above 100.
    async fn set_spam_settings(&self, account: AccountId, settings: &SpamSettings) -> Result<()>;
    /// The counts of these features in a model (features never seen are absent; each
    /// feature once, ascending), and the model's totals, read in one snapshot. A model
    /// that learned nothing, also an account's that does not exist, is empty.
    async fn bayes_counts(
        &self,
        model: BayesModel,
        features: &[u64],
    ) -> Result<(Vec<(u64, BayesCounts)>, BayesTotals)>;
    /// Trains a model with one message in ONE transaction, idempotently per
    /// `(model, message_key)` (the message's blob id, or a hash of a file's bytes):
    /// already learned as the same class → nothing changes ([`LearnOutcome::AlreadyKnown`]);
    /// learned as the other class → the old counts are taken back and the new ones added
    /// ([`LearnOutcome::Relearned`]); else the features' counts and the totals grow by one
    /// ([`LearnOutcome::Learned`]). Counts never go below zero.
    ///
    /// A feature named twice counts once. Relearning takes back the `features` given now
    /// (no features are stored per message): callers pass the same features as at the
    /// first learn, which they can, since a message's bytes are immutable and its
    /// features deterministic. `NotFound` for the model of a missing account; `Invalid`
    /// for an empty `message_key`, one over 255 bytes or holding NUL, and for an
    /// account id below 1.
    async fn bayes_learn(
        &self,
        model: BayesModel,
        message_key: &str,
        features: &[u64],
        class: BayesClass,
    ) -> Result<LearnOutcome>;
    /// Forgets every count of a model, its totals and which messages it learned (e.g.
    /// an account's on request). An account's model also goes with the account.
    async fn bayes_reset(&self, model: BayesModel) -> Result<()>;
    /// Greylisting (RFC 6647) of one triplet, atomically: first seen now → a new entry,
    /// [`GreylistOutcome::Defer`]; seen, and `now` is at least `delay` after the first
    /// sight (and the entry has not expired: a retry within `retry_window` of the first
    /// sight, or a passed entry used within `pass_lifetime`) → [`GreylistOutcome::Pass`], the
    /// entry marked passed and its last use set to `now`; seen but too early → `Defer`
    /// with the seconds left. An expired entry starts over as if new. Entries older than
    /// their lifetime are removed by [`MetaStore::greylist_prune`]. `Invalid` for an
    /// empty triplet, one over 1024 bytes or holding NUL.
    async fn greylist_check(
        &self,
        triplet: &str,
        now: UnixTime,
        policy: &GreylistPolicy,
    ) -> Result<GreylistOutcome>;
    /// Removes expired greylist entries; returns how many.
    async fn greylist_prune(&self, now: UnixTime, policy: &GreylistPolicy) -> Result<u64>;

    // --- DSN requests -------------------------------------------------------------------

    /// At most `limit` stored DSN requests, oldest first (by `created_at`, then id), for
    /// the outbound queue to send. They stay until [`MetaStore::delete_dsn_request`].
    async fn dsn_requests(&self, limit: u32) -> Result<Vec<DsnRequest>>;
    /// Removes a DSN request (once its notification is sent or given up).
    async fn delete_dsn_request(&self, id: DsnRequestId) -> Result<()>;
}

/// Immutable, content-addressed storage of raw messages.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `data` and returns its SHA-256. Durable when it returns. Storing content that
    /// is already present is a no-op that returns the same id.
    async fn put(&self, data: &[u8]) -> Result<BlobId>;
    /// The content, or `None` if absent. Implementations verify the hash on read and
    /// return `Corrupt` on mismatch.
    async fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>>;
    /// Several blobs, in the order asked (`None` for an absent one), each verified as by
    /// [`BlobStore::get`]. Backends override it to read a batch in one go (one blocking
    /// task, one query) instead of one round trip per blob.
    async fn get_many(&self, ids: &[BlobId]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.get(id).await?);
        }
        Ok(out)
    }
    /// Whether the blob is present.
    async fn exists(&self, id: &BlobId) -> Result<bool>;
    /// Removes a blob (garbage collection only; no-op when absent).
    async fn delete(&self, id: &BlobId) -> Result<()>;
    /// Every stored blob id (for verify and garbage collection).
    async fn list(&self) -> Result<Vec<BlobId>>;
}

/// Which metadata backend to open.
#[derive(Debug, Clone)]
pub enum MetaBackend {
    /// SQLite database file (created if missing).
    Sqlite {
        /// Database file.
        path: PathBuf,
        /// Number of read-only connections.
        readers: u32,
    },
    /// PostgreSQL server.
    Postgres {
        /// `postgres://user@host:port/db` connection string.
        url: String,
        /// Password, if not in the URL.
        password: Option<Secret<String>>,
        /// Maximum pooled connections.
        pool_size: u32,
    },
}

/// Which blob backend to open.
#[derive(Debug, Clone)]
pub enum BlobBackend {
    /// Files under this directory.
    Fs {
        /// Root directory of the blob tree.
        path: PathBuf,
    },
    /// Rows in the PostgreSQL metadata database (requires [`MetaBackend::Postgres`]).
    Postgres,
}

/// The two opened stores.
#[derive(Clone)]
pub struct Stores {
    /// Metadata.
    pub meta: Arc<dyn MetaStore>,
    /// Raw messages.
    pub blobs: Arc<dyn BlobStore>,
}

/// Opens (creating and migrating as needed) only the metadata store: what admin commands
/// need. It never touches the blob store, whose opening clears half-written blobs and so is
/// for the one server process that writes them.
pub async fn open_meta(meta: &MetaBackend) -> Result<Arc<dyn MetaStore>> {
    Ok(match meta {
        MetaBackend::Sqlite { path, readers } => {
            Arc::new(sqlite::SqliteStore::open(path, *readers).await?)
        }
        MetaBackend::Postgres {
            url,
            password,
            pool_size,
        } => Arc::new(postgres::PostgresStore::connect(url, password.as_ref(), *pool_size).await?),
    })
}

/// Opens (creating and migrating as needed) the configured backends. Only the server
/// calls this: opening the filesystem blob store clears its `tmp/` directory.
pub async fn open(meta: &MetaBackend, blobs: &BlobBackend) -> Result<Stores> {
    match (meta, blobs) {
        (MetaBackend::Sqlite { path, readers }, BlobBackend::Fs { path: blob_path }) => {
            let meta = sqlite::SqliteStore::open(path, *readers).await?;
            let blobs = fs::FsBlobStore::open(blob_path).await?;
            Ok(Stores {
                meta: Arc::new(meta),
                blobs: Arc::new(blobs),
            })
        }
        (MetaBackend::Sqlite { .. }, BlobBackend::Postgres) => Err(StoreError::Invalid(
            "the postgres blob backend needs the postgres metadata backend".into(),
        )),
        (
            MetaBackend::Postgres {
                url,
                password,
                pool_size,
            },
            blob_backend,
        ) => {
            let pg = Arc::new(
                postgres::PostgresStore::connect(url, password.as_ref(), *pool_size).await?,
            );
            let blobs: Arc<dyn BlobStore> = match blob_backend {
                BlobBackend::Fs { path } => Arc::new(fs::FsBlobStore::open(path).await?),
                BlobBackend::Postgres => pg.clone(),
            };
            Ok(Stores { meta: pg, blobs })
        }
    }
}
