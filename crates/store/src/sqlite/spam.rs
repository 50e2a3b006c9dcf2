//! Spam filtering state: per-account settings, Bayes models (counts per feature, totals,
//! learned messages) and greylisting (RFC 6647).
//!
//! Every write runs on the single writer, in its transaction, so each is atomic and
//! race-free as plain read-then-write code: a learn reads the class a message was learned
//! as, then adds its counts, with no other writer in between; a greylist check reads the
//! triplet's entry and writes the next one. Reads run on a reader in one deferred
//! transaction, so a model's counts and totals come from one snapshot.
//!
//! The decisions themselves ([`LearnPlan`], [`GreylistPolicy::decide`]) live in the model,
//! shared with the PostgreSQL backend.

use mailstead_types::AccountId;
use rusqlite::Connection;

use super::{col, col_u64, execute, exists, query_opt};
use crate::model::{
    BayesClass, BayesCounts, BayesModel, BayesTotals, GreylistEntry, GreylistOutcome,
    GreylistPolicy, LearnOutcome, LearnPlan, SpamSettings, UnixTime, check_message_key,
    check_triplet, feature_from_stored, stored_features,
};
use crate::{Result, StoreError};

/// The settings of an account; the defaults without a row; `NotFound` without the account.
pub(super) fn settings(conn: &Connection, account: AccountId) -> Result<SpamSettings> {
    let row = query_opt(
        conn,
        "SELECT s.enabled, s.threshold, s.mark_as_read
         FROM accounts a LEFT JOIN account_spam_settings s ON s.account_id = a.id
         WHERE a.id = ?1",
        [account.0],
        |row| {
            let threshold = match col::<Option<i64>>(row, 1)? {
                None => None,
                Some(t) => Some(u8::try_from(t).map_err(|_| {
                    StoreError::Corrupt(format!("spam threshold {t} is out of range"))
                })?),
            };
            Ok((col::<Option<bool>>(row, 0)?, threshold, col(row, 2)?))
        },
    )?;
    match row {
        None => Err(StoreError::NotFound(format!("account {account}"))),
        Some((Some(enabled), Some(threshold), Some(mark_as_read))) => Ok(SpamSettings {
            enabled,
            threshold,
            mark_as_read,
        }),
        Some(_) => Ok(SpamSettings::default()),
    }
}

/// Stores the settings of an account; `Invalid` for a threshold above 100, `NotFound`
/// without the account (checked on the single writer, so no removal can slip in).
pub(super) fn set_settings(
    conn: &Connection,
    account: AccountId,
    settings: &SpamSettings,
) -> Result<()> {
    settings.check()?;
    if !exists(conn, "SELECT 1 FROM accounts WHERE id = ?1", [account.0])? {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    execute(
        conn,
        "INSERT INTO account_spam_settings (account_id, enabled, threshold, mark_as_read)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id) DO UPDATE SET
             enabled = excluded.enabled,
             threshold = excluded.threshold,
             mark_as_read = excluded.mark_as_read",
        (
            account.0,
            settings.enabled,
            settings.threshold,
            settings.mark_as_read,
        ),
    )?;
    Ok(())
}

/// The counts of the features a model has (sorted by feature, each once) and its totals;
/// the caller's read transaction makes them one snapshot. One indexed lookup per feature
/// through one cached statement: no SQL built per call and no bound-variable limit to
/// chunk for, and each lookup is the one b-tree seek an `IN` list would make (in-process,
/// so there is no round trip to save).
pub(super) fn counts(
    conn: &Connection,
    model: BayesModel,
    features: &[u64],
) -> Result<(Vec<(u64, BayesCounts)>, BayesTotals)> {
    let model_id = model.stored_id()?;
    let totals = query_opt(
        conn,
        "SELECT spam_learned, ham_learned FROM bayes_models WHERE model_id = ?1",
        [model_id],
        |row| {
            Ok(BayesTotals {
                spam: col_u64(row, 0)?,
                ham: col_u64(row, 1)?,
            })
        },
    )?
    .unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT spam, ham FROM bayes_tokens WHERE model_id = ?1 AND feature = ?2",
    )?;
    let mut found = Vec::new();
    // Sorted as stored (signed); the answer is sorted as u64 below.
    for feature in stored_features(features) {
        let mut rows = stmt.query((model_id, feature))?;
        if let Some(row) = rows.next()? {
            let counts = BayesCounts {
                spam: count(row, 0)?,
                ham: count(row, 1)?,
            };
            found.push((feature_from_stored(feature), counts));
        }
    }
    found.sort_unstable_by_key(|&(feature, _)| feature);
    Ok((found, totals))
}

/// A count column as `u32`; `Corrupt` when negative or too large.
fn count(row: &rusqlite::Row<'_>, idx: usize) -> Result<u32> {
    let value = col_u64(row, idx)?;
    u32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("Bayes count {value} is out of range")))
}

/// Learns a message (see [`crate::MetaStore::bayes_learn`]), inside the writer's
/// transaction: the learned row decides, then one cached upsert per feature and one for
/// the totals. `NotFound` for an account model of a missing account (a model nobody
/// could delete); `Invalid` for an unstorable key.
pub(super) fn learn(
    conn: &Connection,
    model: BayesModel,
    message_key: &str,
    features: &[u64],
    class: BayesClass,
) -> Result<LearnOutcome> {
    check_message_key(message_key)?;
    let model_id = model.stored_id()?;
    if let Some(account) = model.account()
        && !exists(conn, "SELECT 1 FROM accounts WHERE id = ?1", [account.0])?
    {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let previous = query_opt(
        conn,
        "SELECT class FROM bayes_learned WHERE model_id = ?1 AND message_key = ?2",
        (model_id, message_key),
        |row| BayesClass::from_stored(&col::<String>(row, 0)?),
    )?;
    let plan = LearnPlan::new(previous, class);
    if plan.outcome == LearnOutcome::AlreadyKnown {
        return Ok(plan.outcome);
    }
    execute(
        conn,
        "INSERT INTO bayes_learned (model_id, message_key, class) VALUES (?1, ?2, ?3)
         ON CONFLICT (model_id, message_key) DO UPDATE SET class = excluded.class",
        (model_id, message_key, class.as_str()),
    )?;

    let (spam_new, ham_new) = plan.initial();
    let mut upsert = conn.prepare_cached(
        "INSERT INTO bayes_tokens (model_id, feature, spam, ham) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (model_id, feature) DO UPDATE SET
             spam = MAX(0, spam + ?5),
             ham = MAX(0, ham + ?6)",
    )?;
    for feature in stored_features(features) {
        upsert.execute((
            model_id,
            feature,
            spam_new,
            ham_new,
            plan.spam_delta,
            plan.ham_delta,
        ))?;
    }
    execute(
        conn,
        "INSERT INTO bayes_models (model_id, spam_learned, ham_learned) VALUES (?1, ?2, ?3)
         ON CONFLICT (model_id) DO UPDATE SET
             spam_learned = MAX(0, spam_learned + ?4),
             ham_learned = MAX(0, ham_learned + ?5)",
        (model_id, spam_new, ham_new, plan.spam_delta, plan.ham_delta),
    )?;
    Ok(plan.outcome)
}

/// Forgets a model: its counts, totals and learned messages. A model that learned
/// nothing (or an account that does not exist) is simply left empty.
pub(super) fn reset(conn: &Connection, model: BayesModel) -> Result<()> {
    let model_id = model.stored_id()?;
    execute(
        conn,
        "DELETE FROM bayes_models WHERE model_id = ?1",
        [model_id],
    )?;
    execute(
        conn,
        "DELETE FROM bayes_tokens WHERE model_id = ?1",
        [model_id],
    )?;
    execute(
        conn,
        "DELETE FROM bayes_learned WHERE model_id = ?1",
        [model_id],
    )?;
    Ok(())
}

/// Greylists one triplet (see [`crate::MetaStore::greylist_check`]): reads its entry and
/// writes the next one, on the single writer.
pub(super) fn greylist_check(
    conn: &Connection,
    triplet: &str,
    now: UnixTime,
    policy: &GreylistPolicy,
) -> Result<GreylistOutcome> {
    check_triplet(triplet)?;
    let entry = query_opt(
        conn,
        "SELECT first_seen, last_seen, passed FROM greylist WHERE triplet = ?1",
        [triplet],
        |row| {
            Ok(GreylistEntry {
                first_seen: col(row, 0)?,
                last_seen: col(row, 1)?,
                passed: col(row, 2)?,
            })
        },
    )?;
    let (outcome, write) = policy.decide(entry, now);
    if let Some(next) = write {
        execute(
            conn,
            "INSERT INTO greylist (triplet, first_seen, last_seen, passed)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (triplet) DO UPDATE SET
                 first_seen = excluded.first_seen,
                 last_seen = excluded.last_seen,
                 passed = excluded.passed",
            (triplet, next.first_seen, next.last_seen, next.passed),
        )?;
    }
    Ok(outcome)
}

/// Removes the entries expired at `now`; returns how many.
pub(super) fn greylist_prune(
    conn: &Connection,
    now: UnixTime,
    policy: &GreylistPolicy,
) -> Result<u64> {
    let (first_seen_before, last_seen_before) = policy.prune_bounds(now);
    let removed = execute(
        conn,
        "DELETE FROM greylist
         WHERE (passed = 0 AND first_seen < ?1) OR (passed <> 0 AND last_seen < ?2)",
        (first_seen_before, last_seen_before),
    )?;
    Ok(removed as u64)
}
