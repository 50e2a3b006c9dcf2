//! The generic conformance suite of the store traits, run against every backend.
//!
//! Each behaviour is one `pub async fn` taking a fixture with a fresh, empty store; the
//! macros [`meta_conformance_tests!`] and [`blob_conformance_tests!`] expand to one
//! `#[tokio::test]` per behaviour (on the multi-thread runtime, so concurrency tests really
//! run in parallel), so a backend's test file is only:
//!
//! ```ignore
//! mod conformance;
//! async fn fresh_meta() -> Option<conformance::MetaFixture> { ... }
//! async fn fresh_blobs() -> Option<conformance::BlobFixture> { ... }
//! conformance::meta_conformance_tests!(fresh_meta);
//! conformance::blob_conformance_tests!(fresh_blobs);
//! ```
//!
//! A constructor returns `None` when its backend is not available here (e.g. no
//! `TEST_POSTGRES_URL`); every test then passes without checking anything and says so on
//! stderr. A backend file must invoke both macros, or the unused suite functions warn.
//!
//! Every test builds its own store and depends on no other test, so they run in any order
//! and in parallel. Tests check only what the trait documents, so any correct backend
//! passes: e.g. `list()` of blobs is compared as a set, ids only for equality.
//!
//! Module map: `health`, `domain`, `account` (with manager rights and app passwords),
//! `alias`, `mailbox`, `message` (append, flags, expunge, changes, usage, ranges, STATUS
//! counts, concurrency), `copy` (COPY and MOVE), `index` (message index: summaries,
//! search), `notify` (change notification), `dsn` (DSN requests stored by delivery),
//! `queue` (the outbound queue: accept, lease, complete, retry, wake-ups), `dkim` (DKIM
//! keys), `secret` (server secrets), `spam` (spam settings, Bayes models, greylisting),
//! `blob`.

pub mod account;
pub mod alias;
pub mod blob;
pub mod copy;
pub mod dkim;
pub mod domain;
pub mod dsn;
pub mod health;
pub mod index;
pub mod mailbox;
pub mod message;
pub mod notify;
pub mod queue;
pub mod secret;
pub mod spam;

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mailstead_store::fs::blob_id_of;
use mailstead_store::model::{Account, Domain, Flags, Mailbox, NewAccount, NewMessage};
use mailstead_store::{BlobStore, MetaStore};
use mailstead_types::{AccountId, Address, BlobId};

/// A fresh, empty metadata store and what keeps it alive.
pub struct MetaFixture {
    /// The store under test.
    pub store: Arc<dyn MetaStore>,
    /// The schema version a freshly opened store of this backend must report.
    pub latest_schema_version: i64,
    /// Dropped after the test: a temp directory, a throw-away database...
    pub _guard: Box<dyn Any + Send>,
}

/// Damages the stored content of one blob behind the store's back (same id, other bytes).
pub type CorruptBlob =
    Box<dyn Fn(BlobId) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A fresh, empty blob store and what keeps it alive.
pub struct BlobFixture {
    /// The store under test.
    pub store: Arc<dyn BlobStore>,
    /// How to corrupt a stored blob, for the hash-check test. `None` skips that test;
    /// a backend leaving it out must say why in its test file.
    pub corrupt: Option<CorruptBlob>,
    /// Dropped after the test.
    pub _guard: Box<dyn Any + Send>,
}

/// Expands to one `#[tokio::test]` per `MetaStore` behaviour, each on a store made by
/// `$make` (a path to an `async fn() -> Option<MetaFixture>` in scope at the call site).
macro_rules! meta_conformance_tests {
    ($make:path) => {
        $crate::conformance::conformance_tests!(meta_conformance, $make;
            health::schema_version_is_the_latest,
            health::ping_succeeds,
            domain::domain_is_created_and_found_by_name_and_id,
            domain::duplicate_domain_is_a_conflict,
            domain::alternative_and_primary_names_conflict_both_ways,
            domain::resolve_finds_primary_and_alternative_names,
            domain::domains_are_listed_sorted_by_name,
            domain::alternative_domains_are_listed_sorted_and_removed,
            domain::alternative_of_a_missing_domain_is_not_found,
            domain::delete_domain_removes_everything_in_it,
            domain::delete_missing_domain_is_not_found,
            account::create_account_makes_the_default_mailboxes,
            account::account_in_an_unknown_domain_is_not_found,
            account::duplicate_address_is_a_conflict,
            account::account_and_alias_addresses_conflict_both_ways,
            account::wildcard_alias_does_not_conflict_with_an_account,
            account::accounts_are_found_listed_sorted_and_counted,
            account::update_account_changes_only_the_given_fields,
            account::update_missing_account_is_not_found,
            account::delete_account_removes_its_mailboxes_and_messages,
            account::managed_domains_are_replaced_and_sorted,
            account::managed_domains_refuse_missing_account_or_domain,
            account::app_passwords_are_created_listed_and_revoked,
            account::app_password_of_another_account_is_not_found,
            account::touch_app_password_records_the_last_use,
            alias::alias_is_created_and_found_with_ordered_destinations,
            alias::catch_all_and_wildcard_aliases_are_stored,
            alias::alias_without_destination_is_invalid,
            alias::duplicate_alias_is_a_conflict,
            alias::alias_in_an_unknown_domain_is_not_found,
            alias::update_alias_replaces_destinations,
            alias::delete_alias_removes_it,
            alias::aliases_are_listed_sorted_and_filtered,
            mailbox::mailbox_is_created_empty_and_found,
            mailbox::mailbox_of_a_missing_account_is_not_found,
            mailbox::duplicate_mailbox_name_is_a_conflict,
            mailbox::rename_mailbox_keeps_uid_validity_and_messages,
            mailbox::rename_to_a_taken_name_is_a_conflict,
            mailbox::delete_mailbox_removes_its_messages,
            mailbox::subscription_is_set_and_cleared,
            mailbox::recreated_mailbox_gets_a_larger_uid_validity,
            mailbox::mailboxes_are_listed_sorted_by_name,
            mailbox::special_use_is_set_replaced_and_cleared,
            message::append_assigns_ascending_uids_and_modseqs,
            message::append_to_a_missing_mailbox_is_not_found,
            message::append_keeps_keywords_sorted_without_duplicates,
            message::store_flags_adds_removes_and_replaces,
            message::store_flags_changes_keywords,
            message::store_flags_leaves_unchanged_messages_alone,
            message::store_flags_skips_missing_uids,
            message::expunge_removes_messages_and_logs_changes,
            message::changes_since_returns_later_changes_ascending,
            message::account_usage_sums_message_sizes,
            message::concurrent_appends_get_distinct_ascending_uids,
            message::concurrent_appends_to_different_mailboxes_stay_independent,
            message::append_messages_is_atomic,
            message::append_messages_to_several_mailboxes_assigns_per_mailbox_uids,
            message::append_messages_same_mailbox_twice,
            message::concurrent_append_messages_from_many_tasks,
            message::messages_in_range_returns_the_uids_between_bounds,
            message::mailbox_counts_count_unseen_deleted_and_size,
            copy::copy_keeps_message_data_and_allocates_in_the_target,
            copy::copy_skips_missing_uids,
            copy::copy_with_a_missing_mailbox_is_not_found,
            copy::move_expunges_the_sources_with_change_rows,
            copy::move_is_atomic,
            copy::concurrent_moves_move_each_message_once,
            index::index_is_stored_with_delivery_and_shared_by_copies,
            index::put_index_is_idempotent_and_first_write_wins,
            index::summaries_cover_the_requested_indexed_uids,
            index::search_finds_plain_substrings,
            index::nul_characters_are_stripped,
            notify::notifier_announces_every_committed_change,
            notify::notifier_is_silent_for_no_ops_and_failures,
            dsn::dsn_requests_are_stored_by_deliver_and_listed_oldest_first,
            dsn::deliver_stores_requests_without_targets,
            dsn::dsn_request_is_deleted,
            dsn::deliver_is_atomic_with_its_dsn_requests,
            queue::accept_delivers_locally_and_queues_atomically,
            queue::accept_refuses_queued_messages_no_backend_can_store,
            queue::lease_takes_due_messages_most_overdue_first,
            queue::leased_messages_are_not_leased_again_until_the_lease_expires,
            queue::concurrent_leases_never_return_the_same_message,
            queue::queue_complete_records_attempts_and_removes_finished_messages,
            queue::queue_complete_with_a_foreign_recipient_writes_nothing,
            queue::queue_complete_of_a_deleted_message_is_not_found,
            queue::queue_next_due_follows_pending_attempts_and_leases,
            queue::queue_retry_makes_pending_recipients_due,
            queue::queue_delete_and_stats,
            queue::replace_dsn_request_queues_its_notice,
            queue::submitter_removal_keeps_the_queued_message,
            queue::queue_is_woken_by_commits_that_queue_something,
            dkim::dkim_keys_are_created_active_and_listed_by_domain,
            dkim::dkim_key_conflicts_and_invalid_keys_are_refused,
            dkim::dkim_key_is_deactivated_and_deleted,
            dkim::deleting_a_domain_removes_its_dkim_keys,
            secret::ensure_secret_keeps_the_first_value,
            secret::concurrent_ensure_secret_agrees_on_one_value,
            secret::ensure_secret_refuses_unstorable_names,
            spam::spam_settings_are_the_defaults_until_set,
            spam::spam_settings_refuse_missing_accounts_and_thresholds_above_100,
            spam::bayes_learn_adds_counts_and_totals,
            spam::bayes_learn_of_a_known_message_changes_nothing,
            spam::bayes_relearn_moves_counts_to_the_other_class,
            spam::bayes_counts_never_go_below_zero,
            spam::bayes_models_are_separate,
            spam::bayes_reset_forgets_one_model,
            spam::deleting_an_account_removes_its_bayes_model,
            spam::bayes_learn_refuses_missing_accounts_and_bad_keys,
            spam::bayes_learn_of_a_large_message,
            spam::concurrent_bayes_learns_count_each_message_once,
            spam::greylist_defers_new_triplets_then_passes_retries,
            spam::greylist_expired_entries_start_over,
            spam::greylist_prune_removes_expired_entries,
            spam::concurrent_greylist_checks_agree,
            spam::greylist_refuses_unstorable_triplets,
        );
    };
}
pub(crate) use meta_conformance_tests;

/// Expands to one `#[tokio::test]` per `BlobStore` behaviour, each on a store made by
/// `$make` (a path to an `async fn() -> Option<BlobFixture>` in scope at the call site).
macro_rules! blob_conformance_tests {
    ($make:path) => {
        $crate::conformance::conformance_tests!(blob_conformance, $make;
            blob::put_then_get_round_trips,
            blob::same_content_is_stored_once,
            blob::get_of_a_missing_blob_is_none,
            blob::exists_and_delete,
            blob::list_returns_every_stored_id,
            blob::corrupted_content_is_detected,
            blob::large_blob_round_trips,
            blob::get_many_answers_in_order,
        );
    };
}
pub(crate) use blob_conformance_tests;

/// The expansion shared by both suites: a module `$suite` with one test per function.
macro_rules! conformance_tests {
    ($suite:ident, $make:path; $($module:ident :: $name:ident),+ $(,)?) => {
        mod $suite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(fixture) = $make().await else {
                        eprintln!("skipped: the backend is not available here");
                        return;
                    };
                    $crate::conformance::$module::$name(&fixture).await;
                }
            )+
        }
    };
}
pub(crate) use conformance_tests;

// --- helpers for the suite -----------------------------------------------------------------

/// Asserts that a store call failed with the given `StoreError` variant.
macro_rules! assert_err {
    ($result:expr, $variant:ident) => {
        match $result {
            Err(mailstead_store::StoreError::$variant { .. }) => {}
            other => panic!(
                "{} should fail with {}, got {:?}",
                stringify!($result),
                stringify!($variant),
                other
            ),
        }
    };
}
pub(crate) use assert_err;

/// A domain name from a literal.
pub fn dn(name: &str) -> mailstead_types::Domain {
    name.parse().expect("test domain names are valid")
}

/// An address from a literal.
pub fn addr(address: &str) -> Address {
    address.parse().expect("test addresses are valid")
}

/// Creates a domain.
pub async fn domain(store: &dyn MetaStore, name: &str) -> Domain {
    store.create_domain(&dn(name)).await.expect("create_domain")
}

/// What `create_account` needs, with test defaults.
pub fn new_account(address: &str) -> NewAccount {
    NewAccount {
        address: addr(address),
        display_name: format!("User {address}"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        quota_bytes: Some(1 << 30),
        enabled: true,
        global_admin: false,
    }
}

/// Creates an account (its domain must exist).
pub async fn account(store: &dyn MetaStore, address: &str) -> Account {
    store
        .create_account(&new_account(address))
        .await
        .expect("create_account")
}

/// The mailbox of an account by name, which must exist.
pub async fn mailbox(store: &dyn MetaStore, account: AccountId, name: &str) -> Mailbox {
    store
        .mailbox(account, name)
        .await
        .expect("mailbox")
        .unwrap_or_else(|| panic!("mailbox {name} exists"))
}

/// A domain, an account and its INBOX: the usual start of a message test.
pub async fn inbox(store: &dyn MetaStore) -> (Account, Mailbox) {
    domain(store, "example.org").await;
    let account = account(store, "alice@example.org").await;
    let inbox = mailbox(store, account.id, "INBOX").await;
    (account, inbox)
}

/// A message to append whose blob id is the SHA-256 of a distinct body (the blob itself
/// is not needed by the metadata store).
pub fn new_message(n: u64, size: u64) -> NewMessage {
    NewMessage {
        blob_id: blob_id_of(format!("message {n}").as_bytes()),
        size,
        internal_date: 1_700_000_000 + n as i64,
        flags: Flags::EMPTY,
        keywords: Vec::new(),
        index: None,
    }
}

/// Strings from literals.
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
