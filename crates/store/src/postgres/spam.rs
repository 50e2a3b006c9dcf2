//! Spam filtering state, PostgreSQL: per-account settings, Bayes models and greylisting
//! (RFC 6647), shared by every node.
//!
//! # Bayes learning across nodes
//!
//! A learn is one READ COMMITTED transaction, in this lock order:
//! 1. an account model locks its account row `FOR KEY SHARE`: the account cannot be
//!    removed meanwhile (its removal's trigger would miss rows written after it), and a
//!    missing account is `NotFound`;
//! 2. the model's `bayes_models` row, created if missing, is locked `FOR KEY SHARE`:
//!    learners share it, [`reset`] takes it `FOR UPDATE` and so waits for them, and they
//!    for it;
//! 3. the `(model, message_key)` row of `bayes_learned` decides, race-free: `INSERT ... ON
//!    CONFLICT DO NOTHING` inserts it (first learn) or, if another node is inserting it,
//!    waits for that transaction and then does nothing; the row is then read `FOR UPDATE`.
//!    So of two nodes learning one message at once, one adds the counts and the other
//!    finds the message learned: counted once;
//! 4. the counts: ONE `INSERT ... SELECT FROM unnest($features) ORDER BY feature ON
//!    CONFLICT DO UPDATE` for every feature. Features are sorted, so concurrent learns lock
//!    token rows in one order and cannot deadlock on them;
//! 5. the totals, an `UPDATE` of the models row (a `NO KEY UPDATE` lock, which conflicts
//!    with no learner's `KEY SHARE`; the learners queue on it briefly at the very end).
//!
//! An account's removal deletes its model through a trigger (models row first, then
//! tokens: the order of [`reset`]); step 1 keeps it from running in the middle of a learn.
//!
//! # Greylisting
//!
//! A check is one transaction: the entry is inserted if new (`ON CONFLICT DO NOTHING`
//! waits for a concurrent insert of the same triplet), else read `FOR UPDATE`, and the next
//! entry written, so two nodes checking one triplet at once are serialised on its row.

use mailstead_types::AccountId;
use tokio_postgres::Row;

use super::{
    PostgresStore, Violation, execute, from_sql_u32, from_sql_u64, query, query_opt, violation,
};
use crate::model::{
    BayesClass, BayesCounts, BayesModel, BayesTotals, GreylistEntry, GreylistOutcome,
    GreylistPolicy, LearnOutcome, LearnPlan, SpamSettings, UnixTime, check_message_key,
    check_triplet, feature_from_stored, stored_features,
};
use crate::{Result, StoreError};

/// How often a learn or check starts over when the row it inserted-or-found vanished in
/// between (removed by a concurrent reset or prune). Never expected more than once.
const RACE_RETRIES: usize = 3;

/// The settings of an account; the defaults without a row; `NotFound` without the account.
pub(super) async fn settings(store: &PostgresStore, account: AccountId) -> Result<SpamSettings> {
    let client = store.client().await?;
    let row = query_opt(
        &client,
        "SELECT s.enabled, s.threshold, s.mark_as_read
         FROM accounts a LEFT JOIN account_spam_settings s ON s.account_id = a.id
         WHERE a.id = $1",
        &[&account.0],
    )
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("account {account}")))?;
    let enabled: Option<bool> = row.try_get("enabled")?;
    let threshold: Option<i16> = row.try_get("threshold")?;
    let mark_as_read: Option<bool> = row.try_get("mark_as_read")?;
    match (enabled, threshold, mark_as_read) {
        (Some(enabled), Some(threshold), Some(mark_as_read)) => Ok(SpamSettings {
            enabled,
            threshold: u8::try_from(threshold).map_err(|_| {
                StoreError::Corrupt(format!("spam threshold {threshold} is out of range"))
            })?,
            mark_as_read,
        }),
        _ => Ok(SpamSettings::default()),
    }
}

/// Stores the settings of an account in one upsert; `Invalid` for a threshold above 100,
/// `NotFound` without the account (the foreign key).
pub(super) async fn set_settings(
    store: &PostgresStore,
    account: AccountId,
    settings: &SpamSettings,
) -> Result<()> {
    settings.check()?;
    let client = store.client().await?;
    execute(
        &client,
        "INSERT INTO account_spam_settings (account_id, enabled, threshold, mark_as_read)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id) DO UPDATE SET
             enabled = EXCLUDED.enabled,
             threshold = EXCLUDED.threshold,
             mark_as_read = EXCLUDED.mark_as_read",
        &[
            &account.0,
            &settings.enabled,
            &i16::from(settings.threshold),
            &settings.mark_as_read,
        ],
    )
    .await
    .map_err(|e| match violation(&e) {
        Some(Violation::ForeignKey) => StoreError::NotFound(format!("account {account}")),
        _ => StoreError::Postgres(e),
    })?;
    Ok(())
}

/// The counts of the features a model has (sorted by feature, each once) and its totals,
/// from ONE statement and so one snapshot: the totals row (feature `NULL`) and the
/// features' rows (`= ANY`, an index scan of the primary key).
pub(super) async fn counts(
    store: &PostgresStore,
    model: BayesModel,
    features: &[u64],
) -> Result<(Vec<(u64, BayesCounts)>, BayesTotals)> {
    let model_id = model.stored_id()?;
    let stored = stored_features(features);
    let client = store.client().await?;
    let rows = query(
        &client,
        "SELECT NULL::BIGINT AS feature, spam_learned AS spam, ham_learned AS ham
         FROM bayes_models WHERE model_id = $1
         UNION ALL
         SELECT feature, spam::BIGINT, ham::BIGINT
         FROM bayes_tokens WHERE model_id = $1 AND feature = ANY ($2::BIGINT[])",
        &[&model_id, &stored],
    )
    .await?;
    let mut totals = BayesTotals::default();
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let spam: i64 = row.try_get("spam")?;
        let ham: i64 = row.try_get("ham")?;
        match row.try_get::<_, Option<i64>>("feature")? {
            None => {
                totals = BayesTotals {
                    spam: from_sql_u64(spam, "Bayes spam total")?,
                    ham: from_sql_u64(ham, "Bayes ham total")?,
                }
            }
            Some(feature) => found.push((
                feature_from_stored(feature),
                BayesCounts {
                    spam: from_sql_u32(spam, "Bayes spam count")?,
                    ham: from_sql_u32(ham, "Bayes ham count")?,
                },
            )),
        }
    }
    found.sort_unstable_by_key(|&(feature, _)| feature);
    Ok((found, totals))
}

/// Learns a message in one transaction (see the module docs for the locks).
/// `NotFound` for an account model of a missing account; `Invalid` for an unstorable key.
pub(super) async fn learn(
    store: &PostgresStore,
    model: BayesModel,
    message_key: &str,
    features: &[u64],
    class: BayesClass,
) -> Result<LearnOutcome> {
    check_message_key(message_key)?;
    let model_id = model.stored_id()?;
    let stored = stored_features(features);
    let mut client = store.client().await?;
    let tx = client.transaction().await?;

    // 1. The account stays while its model is written.
    if let Some(account) = model.account() {
        let locked = query_opt(
            &tx,
            "SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE",
            &[&account.0],
        )
        .await?;
        if locked.is_none() {
            return Err(StoreError::NotFound(format!("account {account}")));
        }
    }

    // 2. The model's row, shared with other learners, exclusive to a reset.
    let mut attempt = 0;
    loop {
        execute(
            &tx,
            "INSERT INTO bayes_models (model_id, spam_learned, ham_learned) VALUES ($1, 0, 0)
             ON CONFLICT (model_id) DO NOTHING",
            &[&model_id],
        )
        .await?;
        let locked = query_opt(
            &tx,
            "SELECT 1 FROM bayes_models WHERE model_id = $1 FOR KEY SHARE",
            &[&model_id],
        )
        .await?;
        if locked.is_some() {
            break;
        }
        attempt += 1;
        if attempt >= RACE_RETRIES {
            return Err(StoreError::Task(format!(
                "Bayes model {model_id} kept vanishing while learning; retry"
            )));
        }
    }

    // 3. Whether, and as what, the message was learned: decided under its row's lock.
    let previous = learned_class(&tx, model_id, message_key, class).await?;
    let plan = LearnPlan::new(previous, class);
    match plan.outcome {
        LearnOutcome::AlreadyKnown => {
            tx.commit().await?;
            return Ok(plan.outcome);
        }
        LearnOutcome::Relearned => {
            execute(
                &tx,
                "UPDATE bayes_learned SET class = $3 WHERE model_id = $1 AND message_key = $2",
                &[&model_id, &message_key, &class.as_str()],
            )
            .await?;
        }
        // Inserted by `learned_class`.
        LearnOutcome::Learned => {}
    }

    // 4. Every feature in one statement, rows locked in feature order.
    let (spam_new, ham_new) = plan.initial();
    execute(
        &tx,
        "INSERT INTO bayes_tokens (model_id, feature, spam, ham)
         SELECT $1, f, $3, $4 FROM unnest($2::BIGINT[]) AS f ORDER BY f
         ON CONFLICT (model_id, feature) DO UPDATE SET
             spam = GREATEST(0, bayes_tokens.spam + $5),
             ham = GREATEST(0, bayes_tokens.ham + $6)",
        &[
            &model_id,
            &stored,
            &spam_new,
            &ham_new,
            &plan.spam_delta,
            &plan.ham_delta,
        ],
    )
    .await?;

    // 5. The totals.
    execute(
        &tx,
        "UPDATE bayes_models SET
             spam_learned = GREATEST(0, spam_learned + $2),
             ham_learned = GREATEST(0, ham_learned + $3)
         WHERE model_id = $1",
        &[
            &model_id,
            &i64::from(plan.spam_delta),
            &i64::from(plan.ham_delta),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(plan.outcome)
}

/// The class `message_key` was learned as in the model, with its `bayes_learned` row
/// locked for the rest of the transaction; `None` when it had not been learned, in which
/// case the row is inserted now as `class`.
async fn learned_class(
    tx: &deadpool_postgres::Transaction<'_>,
    model_id: i64,
    message_key: &str,
    class: BayesClass,
) -> Result<Option<BayesClass>> {
    for _ in 0..RACE_RETRIES {
        // Waits for a concurrent insert of the same key to commit or roll back.
        let inserted = query_opt(
            tx,
            "INSERT INTO bayes_learned (model_id, message_key, class) VALUES ($1, $2, $3)
             ON CONFLICT (model_id, message_key) DO NOTHING
             RETURNING 1",
            &[&model_id, &message_key, &class.as_str()],
        )
        .await?;
        if inserted.is_some() {
            return Ok(None);
        }
        // A new statement, so a new snapshot: the row that won is visible.
        let existing = query_opt(
            tx,
            "SELECT class FROM bayes_learned WHERE model_id = $1 AND message_key = $2
             FOR UPDATE",
            &[&model_id, &message_key],
        )
        .await?;
        if let Some(row) = existing {
            return BayesClass::from_stored(row.try_get("class")?).map(Some);
        }
        // Removed in between (cannot happen while the model row is held; kept safe).
    }
    Err(StoreError::Task(format!(
        "Bayes message {message_key:?} kept vanishing while learning; retry"
    )))
}

/// Forgets a model in one transaction: its row is locked `FOR UPDATE` first (waiting for
/// every learner of the model, and keeping new ones out), then its counts and learned
/// messages are deleted and its totals zeroed. The row stays, as the model's lock.
pub(super) async fn reset(store: &PostgresStore, model: BayesModel) -> Result<()> {
    let model_id = model.stored_id()?;
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    // The row must exist to be locked: without it a learner starting now would create
    // it, commit its counts between our deletes and our zeroing, and leave tokens that
    // the zeroed totals do not count (seen under load in the reset-racing test).
    execute(
        &tx,
        "INSERT INTO bayes_models (model_id, spam_learned, ham_learned) VALUES ($1, 0, 0)
         ON CONFLICT (model_id) DO NOTHING",
        &[&model_id],
    )
    .await?;
    execute(
        &tx,
        "SELECT 1 FROM bayes_models WHERE model_id = $1 FOR UPDATE",
        &[&model_id],
    )
    .await?;
    execute(
        &tx,
        "DELETE FROM bayes_tokens WHERE model_id = $1",
        &[&model_id],
    )
    .await?;
    execute(
        &tx,
        "DELETE FROM bayes_learned WHERE model_id = $1",
        &[&model_id],
    )
    .await?;
    execute(
        &tx,
        "UPDATE bayes_models SET spam_learned = 0, ham_learned = 0 WHERE model_id = $1",
        &[&model_id],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn greylist_entry(row: &Row) -> Result<GreylistEntry> {
    Ok(GreylistEntry {
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        passed: row.try_get("passed")?,
    })
}

/// Greylists one triplet in one transaction (see the module docs).
pub(super) async fn greylist_check(
    store: &PostgresStore,
    triplet: &str,
    now: UnixTime,
    policy: &GreylistPolicy,
) -> Result<GreylistOutcome> {
    check_triplet(triplet)?;
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    for _ in 0..RACE_RETRIES {
        let (outcome, fresh) = policy.first_sight(now);
        // Waits for a concurrent insert of the same triplet to commit or roll back.
        let inserted = query_opt(
            &tx,
            "INSERT INTO greylist (triplet, first_seen, last_seen, passed)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (triplet) DO NOTHING
             RETURNING 1",
            &[&triplet, &fresh.first_seen, &fresh.last_seen, &fresh.passed],
        )
        .await?;
        if inserted.is_some() {
            tx.commit().await?;
            return Ok(outcome);
        }
        let existing = query_opt(
            &tx,
            "SELECT first_seen, last_seen, passed FROM greylist WHERE triplet = $1 FOR UPDATE",
            &[&triplet],
        )
        .await?;
        let Some(row) = existing else {
            // Pruned in between: insert it again.
            continue;
        };
        let (outcome, write) = policy.decide(Some(greylist_entry(&row)?), now);
        if let Some(next) = write {
            execute(
                &tx,
                "UPDATE greylist SET first_seen = $2, last_seen = $3, passed = $4
                 WHERE triplet = $1",
                &[&triplet, &next.first_seen, &next.last_seen, &next.passed],
            )
            .await?;
        }
        tx.commit().await?;
        return Ok(outcome);
    }
    Err(StoreError::Task(format!(
        "greylist entry {triplet:?} kept vanishing; retry"
    )))
}

/// Removes the entries expired at `now`; returns how many.
pub(super) async fn greylist_prune(
    store: &PostgresStore,
    now: UnixTime,
    policy: &GreylistPolicy,
) -> Result<u64> {
    let (first_seen_before, last_seen_before) = policy.prune_bounds(now);
    let client = store.client().await?;
    Ok(execute(
        &client,
        "DELETE FROM greylist
         WHERE (NOT passed AND first_seen < $1) OR (passed AND last_seen < $2)",
        &[&first_seen_before, &last_seen_before],
    )
    .await?)
}
