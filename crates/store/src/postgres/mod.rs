//! PostgreSQL backend: the shared store of a multi-node deployment (design §6).
//!
//! Every node connects to the same database; all state a node needs lives there, so nodes
//! are interchangeable. One [`PostgresStore`] implements both [`MetaStore`] and
//! [`BlobStore`] (blobs as `bytea` rows in `blobs`), on a deadpool pool of tokio-postgres
//! connections.
//!
//! Module map, the same file names as `sqlite/` so the two can be read side by side:
//! `domain` (domains, alternative names), `account` (accounts, manager rights, app
//! passwords), `alias`, `mailbox`, `message` (append, delivery, flags, expunge, change
//! log), `dsn` (DSN requests owed by deliveries), `queue` (the outbound queue: messages,
//! recipients, leases), `dkim` (DKIM signing keys), `secret` (server secrets), `spam`
//! (spam settings, Bayes models, greylisting), `blob`.
//! This file holds the pool, start-up migration and the trait impls, which only delegate.
//!
//! Concurrency: several nodes write at once, so every invariant that SQLite gets from its
//! single writer is held here by row locks taken inside the transaction:
//! - UID/MODSEQ allocation updates the mailbox row first (`UPDATE mailboxes ... RETURNING`),
//!   and flag changes and expunges lock it (`FOR UPDATE`) before they read, so changes to
//!   one mailbox are serialised across nodes and UIDs and MODSEQs stay strictly ascending.
//! - Names that must be unique across two tables (a domain name as primary or alternative,
//!   an address as account or alias) are checked under a lock: an advisory transaction lock
//!   for domain names, the domain row (`FOR NO KEY UPDATE`) for addresses in a domain.
//! - The outbound queue is leased with `SELECT ... FOR UPDATE SKIP LOCKED` and a lease
//!   time written in the same transaction, so workers on several nodes never hold the
//!   same message (see `queue.rs`).
//! - Migrations run under a session-level advisory lock, so nodes starting together
//!   migrate once.
//!
//! Change notification: each transaction that changes a mailbox announces it on the
//! store's [`Notifier`] right after its commit. The notifier is in-process, so only
//! sessions on the node that made the change hear of it; sessions on other nodes see the
//! change at their next read of the change log. (`LISTEN`/`NOTIFY` would carry it across
//! nodes; not done yet.) Transactions that queue something wake this node's outbound
//! queue on the same notifier; other nodes find the work at their next poll.
//!
//! Text that is sorted or unique is `COLLATE "C"` in the schema, so orders match SQLite's
//! and the model types' byte order whatever the database's default collation is.

mod account;
mod alias;
mod blob;
mod dkim;
mod domain;
mod dsn;
mod mailbox;
mod message;
mod queue;
mod secret;
mod spam;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime,
};
use mailstead_types::{
    AccountId, Address, AliasId, AppPasswordId, BlobId, DkimKeyId, DomainId, DsnRequestId,
    MailboxId, ModSeq, QueueId, Secret, Uid,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::migrate;
use crate::model::*;
use crate::{BlobStore, MetaStore, Notifier, Result, StoreError};

/// Key of the session-level advisory lock held while migrating ("mailstea" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d61_696c_7374_6561;

/// How long a caller waits for a free pooled connection before failing (temporary error).
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long opening one new connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The bootstrap table of the migration runner; it must exist before the first migration
/// so that migration's row can be written in the same transaction.
const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Metadata and blob store on a PostgreSQL database shared by every node.
///
/// Connections are unencrypted (`NoTls`): TLS to the database is a later issue, so for now
/// the database must be reached over loopback, a Unix socket or a private network.
///
/// Clones share the pool and the [`Notifier`].
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// Announces committed mailbox changes made through this process (see the module docs).
    notifier: Arc<Notifier>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("pool_size", &status.size)
            .field("pool_max_size", &status.max_size)
            .finish()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db` or the key=value
    /// form), with `password` if given (it overrides one in the URL), and a pool of at most
    /// `pool_size` connections; then migrates the schema to the latest version.
    ///
    /// Fails with [`StoreError::SchemaTooNew`], without writing anything, when the database
    /// was migrated by a newer mailstead.
    pub async fn connect(
        url: &str,
        password: Option<&Secret<String>>,
        pool_size: u32,
    ) -> Result<Self> {
        // The parse error never echoes the URL, which may hold a password.
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("postgres connection string: {e}")))?;
        if let Some(password) = password {
            config.password(password.expose());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("mailstead");
        }

        migrate_schema(&config).await?;

        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1) as usize)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(PostgresStore {
            pool,
            notifier: Arc::new(Notifier::new()),
        })
    }

    /// A connection from the pool.
    async fn client(&self) -> Result<deadpool_postgres::Client> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => StoreError::Postgres(e),
            other => StoreError::Pool(other.to_string()),
        })
    }
}

/// Brings the schema to the latest version on a dedicated connection.
///
/// The connection is not pooled so that its session-level advisory lock dies with it
/// whatever happens: on any error the connection is dropped and the server releases the
/// lock, so a failed start never blocks the next node.
async fn migrate_schema(config: &tokio_postgres::Config) -> Result<()> {
    let (mut client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres migration connection failed");
        }
    });
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = migrate_locked(&mut client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    drop(client);
    // The driver ends once the client is gone; it does not need to be awaited.
    drop(driver);
    result?;
    unlocked?;
    Ok(())
}

/// The migration steps, run while holding [`MIGRATION_LOCK`].
async fn migrate_locked(client: &mut tokio_postgres::Client) -> Result<()> {
    let current = current_version(&*client).await?;
    // Refuse a newer schema before anything is written (not even the bootstrap table).
    let pending = migrate::pending(migrate::POSTGRES, current)?;
    if pending.is_empty() {
        return Ok(());
    }
    client.batch_execute(CREATE_SCHEMA_MIGRATIONS).await?;
    for step in pending {
        let tx = client.transaction().await?;
        tx.batch_execute(step.sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&step.version, &step.name, &unix_now()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            version = step.version,
            name = step.name,
            "applied postgres migration"
        );
    }
    Ok(())
}

/// The highest applied migration, 0 for an empty database.
async fn current_version(client: &tokio_postgres::Client) -> Result<i64> {
    let row = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?;
    if !row.try_get::<_, bool>(0)? {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}

// --- helpers shared by the entity modules ---------------------------------------------

/// Parameters of a statement.
type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Runs a statement (prepared once per connection) and returns its rows.
async fn query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.query(&stmt, params).await
}

/// Runs a statement that returns at most one row.
async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.query_opt(&stmt, params).await
}

/// Runs a statement that returns exactly one row.
async fn query_one<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<Row, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.query_one(&stmt, params).await
}

/// Runs a statement and returns how many rows it changed.
async fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.execute(&stmt, params).await
}

/// Which integrity constraint a statement broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Violation {
    /// A UNIQUE or PRIMARY KEY constraint: the row exists.
    Unique,
    /// A FOREIGN KEY constraint: the row referred to does not exist.
    ForeignKey,
}

/// The constraint `e` reports breaking, if it is a constraint violation.
fn violation(e: &tokio_postgres::Error) -> Option<Violation> {
    match e.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => Some(Violation::Unique),
        Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => Some(Violation::ForeignKey),
        _ => None,
    }
}

/// Maps a unique violation to `Conflict(noun)`, any other error to `Postgres`.
fn conflict_on_unique(e: tokio_postgres::Error, noun: impl FnOnce() -> String) -> StoreError {
    match violation(&e) {
        Some(Violation::Unique) => StoreError::Conflict(noun()),
        _ => StoreError::Postgres(e),
    }
}

/// Maps a foreign-key violation to `NotFound(noun)`, any other error to `Postgres`.
fn not_found_on_foreign_key(e: tokio_postgres::Error, noun: impl FnOnce() -> String) -> StoreError {
    match violation(&e) {
        Some(Violation::ForeignKey) => StoreError::NotFound(noun()),
        _ => StoreError::Postgres(e),
    }
}

/// A non-negative 64-bit number for a `BIGINT` column; `Invalid` above `i64::MAX`.
fn to_sql_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{what} {value} is too large")))
}

/// A `BIGINT` read back as `u64`; `Corrupt` when negative.
fn from_sql_u64(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} is negative: {value}")))
}

/// A `BIGINT` read back as `u32`; `Corrupt` when out of range.
fn from_sql_u32(value: i64, what: &str) -> Result<u32> {
    u32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{what} is out of range: {value}")))
}

/// A stored domain name parsed back; `Corrupt` when it is not a valid domain.
fn parse_domain(name: &str) -> Result<mailstead_types::Domain> {
    name.parse()
        .map_err(|e| StoreError::Corrupt(format!("stored domain name {name:?}: {e}")))
}

// --- the traits ------------------------------------------------------------------------

#[async_trait]
impl MetaStore for PostgresStore {
    async fn schema_version(&self) -> Result<i64> {
        let client = self.client().await?;
        let row = query_one(
            &client,
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .await?;
        Ok(row.try_get(0)?)
    }

    async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }

    async fn create_domain(&self, name: &mailstead_types::Domain) -> Result<Domain> {
        domain::create(self, name).await
    }

    async fn domain(&self, name: &mailstead_types::Domain) -> Result<Option<Domain>> {
        domain::by_name(self, name).await
    }

    async fn domain_by_id(&self, id: DomainId) -> Result<Option<Domain>> {
        domain::by_id(self, id).await
    }

    async fn resolve_domain(&self, name: &mailstead_types::Domain) -> Result<Option<Domain>> {
        domain::resolve(self, name).await
    }

    async fn list_domains(&self) -> Result<Vec<Domain>> {
        domain::list(self).await
    }

    async fn delete_domain(&self, id: DomainId) -> Result<()> {
        domain::delete(self, id).await
    }

    async fn add_alternative_domain(
        &self,
        domain: DomainId,
        name: &mailstead_types::Domain,
    ) -> Result<()> {
        domain::add_alternative(self, domain, name).await
    }

    async fn remove_alternative_domain(&self, name: &mailstead_types::Domain) -> Result<()> {
        domain::remove_alternative(self, name).await
    }

    async fn alternative_domains(&self, domain: DomainId) -> Result<Vec<mailstead_types::Domain>> {
        domain::alternatives(self, domain).await
    }

    async fn create_account(&self, new: &NewAccount) -> Result<Account> {
        account::create(self, new).await
    }

    async fn account(&self, address: &Address) -> Result<Option<Account>> {
        account::by_address(self, address).await
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        account::by_id(self, id).await
    }

    async fn list_accounts(&self, domain: Option<DomainId>) -> Result<Vec<Account>> {
        account::list(self, domain).await
    }

    async fn count_accounts(&self, domain: DomainId) -> Result<u64> {
        account::count(self, domain).await
    }

    async fn update_account(&self, id: AccountId, update: &AccountUpdate) -> Result<Account> {
        account::update(self, id, update).await
    }

    async fn delete_account(&self, id: AccountId) -> Result<()> {
        account::delete(self, id).await
    }

    async fn set_managed_domains(&self, id: AccountId, domains: &[DomainId]) -> Result<()> {
        account::set_managed_domains(self, id, domains).await
    }

    async fn managed_domains(&self, id: AccountId) -> Result<Vec<DomainId>> {
        account::managed_domains(self, id).await
    }

    async fn create_app_password(
        &self,
        account: AccountId,
        name: &str,
        hash: &str,
    ) -> Result<AppPassword> {
        account::create_app_password(self, account, name, hash).await
    }

    async fn app_passwords(&self, account: AccountId) -> Result<Vec<AppPassword>> {
        account::app_passwords(self, account).await
    }

    async fn delete_app_password(&self, account: AccountId, id: AppPasswordId) -> Result<()> {
        account::delete_app_password(self, account, id).await
    }

    async fn touch_app_password(&self, id: AppPasswordId, at: UnixTime) -> Result<()> {
        account::touch_app_password(self, id, at).await
    }

    async fn create_alias(&self, new: &NewAlias) -> Result<Alias> {
        alias::create(self, new).await
    }

    async fn alias(&self, domain: DomainId, local_part: &str) -> Result<Option<Alias>> {
        alias::by_local_part(self, domain, local_part).await
    }

    async fn alias_by_id(&self, id: AliasId) -> Result<Option<Alias>> {
        alias::by_id(self, id).await
    }

    async fn list_aliases(&self, domain: Option<DomainId>) -> Result<Vec<Alias>> {
        alias::list(self, domain).await
    }

    async fn update_alias(&self, id: AliasId, destinations: &[String]) -> Result<Alias> {
        alias::update(self, id, destinations).await
    }

    async fn delete_alias(&self, id: AliasId) -> Result<()> {
        alias::delete(self, id).await
    }

    async fn create_mailbox(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<Mailbox> {
        mailbox::create(self, account, name, special_use).await
    }

    async fn mailboxes(&self, account: AccountId) -> Result<Vec<Mailbox>> {
        mailbox::list(self, account).await
    }

    async fn mailbox(&self, account: AccountId, name: &str) -> Result<Option<Mailbox>> {
        mailbox::by_name(self, account, name).await
    }

    async fn mailbox_by_id(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        mailbox::by_id(self, id).await
    }

    async fn rename_mailbox(&self, id: MailboxId, new_name: &str) -> Result<Mailbox> {
        mailbox::rename(self, id, new_name).await
    }

    async fn delete_mailbox(&self, id: MailboxId) -> Result<()> {
        mailbox::delete(self, id).await
    }

    async fn set_subscribed(&self, id: MailboxId, subscribed: bool) -> Result<()> {
        mailbox::set_subscribed(self, id, subscribed).await
    }

    async fn append_message(&self, mailbox: MailboxId, new: &NewMessage) -> Result<Message> {
        message::append(self, mailbox, new).await
    }

    async fn accept(
        &self,
        targets: &[(MailboxId, NewMessage)],
        dsn: &[NewDsnRequest],
        queue: &[NewQueuedMessage],
    ) -> Result<(Vec<Message>, Vec<QueueId>)> {
        message::accept(self, targets, dsn, queue).await
    }

    async fn messages(&self, mailbox: MailboxId) -> Result<Vec<Message>> {
        message::list(self, mailbox).await
    }

    async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
    ) -> Result<Vec<Message>> {
        message::store_flags(self, mailbox, uids, op, flags, keywords).await
    }

    async fn expunge(&self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>> {
        message::expunge(self, mailbox, uids).await
    }

    async fn changes_since(&self, mailbox: MailboxId, since: ModSeq) -> Result<Vec<Change>> {
        message::changes_since(self, mailbox, since).await
    }

    async fn account_usage(&self, account: AccountId) -> Result<u64> {
        message::account_usage(self, account).await
    }

    async fn messages_in_range(
        &self,
        mailbox: MailboxId,
        first: Uid,
        last: Uid,
    ) -> Result<Vec<Message>> {
        message::in_range(self, mailbox, first, last).await
    }

    async fn mailbox_counts(&self, mailbox: MailboxId) -> Result<MailboxCounts> {
        message::counts(self, mailbox).await
    }

    async fn copy_messages(
        &self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
        remove_source: bool,
    ) -> Result<Vec<(Uid, Uid)>> {
        message::copy(self, from, uids, to, remove_source).await
    }

    async fn set_special_use(&self, id: MailboxId, special_use: Option<SpecialUse>) -> Result<()> {
        mailbox::set_special_use(self, id, special_use).await
    }

    async fn put_index(&self, blob: &BlobId, index: &MessageIndex) -> Result<()> {
        message::put_index(self, blob, index).await
    }

    async fn summaries(&self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<(Uid, String)>> {
        message::summaries(self, mailbox, uids).await
    }

    async fn unindexed(&self, mailbox: MailboxId) -> Result<Vec<(Uid, BlobId)>> {
        message::unindexed(self, mailbox).await
    }

    async fn search_headers(&self, mailbox: MailboxId, needle: &str) -> Result<Vec<(Uid, String)>> {
        message::search_headers(self, mailbox, needle).await
    }

    async fn search_body(&self, mailbox: MailboxId, needle: &str) -> Result<Vec<Uid>> {
        message::search_body(self, mailbox, needle).await
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    async fn dsn_requests(&self, limit: u32) -> Result<Vec<DsnRequest>> {
        dsn::list(self, limit).await
    }

    async fn delete_dsn_request(&self, id: DsnRequestId) -> Result<()> {
        dsn::delete(self, id).await
    }

    async fn queue_lease(
        &self,
        now: UnixTime,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<QueuedMessage>> {
        queue::lease(self, now, lease_secs, limit).await
    }

    async fn queue_complete(
        &self,
        id: QueueId,
        updates: &[RecipientUpdate],
        notices: &[NewQueuedMessage],
    ) -> Result<bool> {
        queue::complete(self, id, updates, notices).await
    }

    async fn queue_next_due(&self) -> Result<Option<UnixTime>> {
        queue::next_due(self).await
    }

    async fn queue_list(&self) -> Result<Vec<QueuedMessage>> {
        queue::list(self).await
    }

    async fn queue_message(&self, id: QueueId) -> Result<Option<QueuedMessage>> {
        queue::by_id(self, id).await
    }

    async fn queue_retry(&self, id: Option<QueueId>, now: UnixTime) -> Result<u64> {
        queue::retry(self, id, now).await
    }

    async fn queue_delete(&self, id: QueueId) -> Result<()> {
        queue::delete(self, id).await
    }

    async fn queue_stats(&self) -> Result<QueueStats> {
        queue::stats(self).await
    }

    async fn replace_dsn_request(
        &self,
        id: DsnRequestId,
        notice: Option<&NewQueuedMessage>,
    ) -> Result<()> {
        dsn::replace(self, id, notice).await
    }

    async fn create_dkim_key(&self, new: &NewDkimKey) -> Result<DkimKey> {
        dkim::create(self, new).await
    }

    async fn dkim_keys(&self, domain: DomainId) -> Result<Vec<DkimKey>> {
        dkim::list(self, domain).await
    }

    async fn set_dkim_key_active(&self, id: DkimKeyId, active: bool) -> Result<()> {
        dkim::set_active(self, id, active).await
    }

    async fn delete_dkim_key(&self, id: DkimKeyId) -> Result<()> {
        dkim::delete(self, id).await
    }

    async fn ensure_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
        secret::ensure(self, name, candidate).await
    }

    async fn spam_settings(&self, account: AccountId) -> Result<SpamSettings> {
        spam::settings(self, account).await
    }

    async fn set_spam_settings(&self, account: AccountId, settings: &SpamSettings) -> Result<()> {
        spam::set_settings(self, account, settings).await
    }

    async fn bayes_counts(
        &self,
        model: BayesModel,
        features: &[u64],
    ) -> Result<(Vec<(u64, BayesCounts)>, BayesTotals)> {
        spam::counts(self, model, features).await
    }

    async fn bayes_learn(
        &self,
        model: BayesModel,
        message_key: &str,
        features: &[u64],
        class: BayesClass,
    ) -> Result<LearnOutcome> {
        spam::learn(self, model, message_key, features, class).await
    }

    async fn bayes_reset(&self, model: BayesModel) -> Result<()> {
        spam::reset(self, model).await
    }

    async fn greylist_check(
        &self,
        triplet: &str,
        now: UnixTime,
        policy: &GreylistPolicy,
    ) -> Result<GreylistOutcome> {
        spam::greylist_check(self, triplet, now, policy).await
    }

    async fn greylist_prune(&self, now: UnixTime, policy: &GreylistPolicy) -> Result<u64> {
        spam::greylist_prune(self, now, policy).await
    }
}

#[async_trait]
impl BlobStore for PostgresStore {
    async fn put(&self, data: &[u8]) -> Result<BlobId> {
        blob::put(self, data).await
    }

    async fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>> {
        blob::get(self, id).await
    }

    async fn exists(&self, id: &BlobId) -> Result<bool> {
        blob::exists(self, id).await
    }

    async fn delete(&self, id: &BlobId) -> Result<()> {
        blob::delete(self, id).await
    }

    async fn list(&self) -> Result<Vec<BlobId>> {
        blob::list(self).await
    }
}
