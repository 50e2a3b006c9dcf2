//! Spam filtering state: per-account settings, Bayes models (learn, relearn, counts,
//! reset, removal with the account) and greylisting.

use std::sync::Arc;
use std::time::Instant;

use mailstead_store::MetaStore;
use mailstead_store::model::{
    BayesClass, BayesCounts, BayesModel, BayesTotals, GreylistOutcome, GreylistPolicy,
    LearnOutcome, SpamSettings,
};
use mailstead_types::AccountId;

use super::{MetaFixture, account, assert_err, domain};

use BayesClass::{Ham, Spam};

/// Counts as the store reports them.
fn counts(spam: u32, ham: u32) -> BayesCounts {
    BayesCounts { spam, ham }
}

/// Totals as the store reports them.
fn totals(spam: u64, ham: u64) -> BayesTotals {
    BayesTotals { spam, ham }
}

/// `n` distinct features spread over the whole u64 range (splitmix64 of `seed + i`), so
/// they include values above `i64::MAX`.
fn features(seed: u64, n: usize) -> Vec<u64> {
    (0..n as u64)
        .map(|i| {
            let mut z = seed.wrapping_mul(1_000_003).wrapping_add(i) ^ 0x9e37_79b9_7f4a_7c15;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
        .collect()
}

/// The counts of `features` in `model` and its totals.
async fn read(
    s: &dyn MetaStore,
    model: BayesModel,
    features: &[u64],
) -> (Vec<(u64, BayesCounts)>, BayesTotals) {
    s.bayes_counts(model, features).await.expect("bayes_counts")
}

/// Learns one message, expecting `outcome`.
async fn learn(
    s: &dyn MetaStore,
    model: BayesModel,
    key: &str,
    features: &[u64],
    class: BayesClass,
    outcome: LearnOutcome,
) {
    let got = s
        .bayes_learn(model, key, features, class)
        .await
        .unwrap_or_else(|e| panic!("bayes_learn {key} as {class:?}: {e}"));
    assert_eq!(got, outcome, "learning {key} as {class:?}");
}

/// Two accounts in example.org.
async fn two_accounts(s: &dyn MetaStore) -> (AccountId, AccountId) {
    domain(s, "example.org").await;
    let alice = account(s, "alice@example.org").await;
    let bob = account(s, "bob@example.org").await;
    (alice.id, bob.id)
}

// --- settings ----------------------------------------------------------------------------

/// An account has the default settings until they are set; then exactly what was set,
/// replaced as a whole by the next set, and per account.
pub async fn spam_settings_are_the_defaults_until_set(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, bob) = two_accounts(s).await;
    let defaults = SpamSettings {
        enabled: true,
        threshold: 80,
        mark_as_read: false,
    };
    assert_eq!(SpamSettings::default(), defaults);
    assert_eq!(s.spam_settings(alice).await.expect("settings"), defaults);

    let mine = SpamSettings {
        enabled: false,
        threshold: 100,
        mark_as_read: true,
    };
    s.set_spam_settings(alice, &mine).await.expect("set");
    assert_eq!(s.spam_settings(alice).await.expect("settings"), mine);
    assert_eq!(s.spam_settings(bob).await.expect("settings"), defaults);

    let again = SpamSettings {
        enabled: true,
        threshold: 0,
        mark_as_read: false,
    };
    s.set_spam_settings(alice, &again).await.expect("set again");
    assert_eq!(s.spam_settings(alice).await.expect("settings"), again);
}

/// A missing account is `NotFound` (also once removed, settings and all); a threshold
/// above 100 is `Invalid` and changes nothing.
pub async fn spam_settings_refuse_missing_accounts_and_thresholds_above_100(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = two_accounts(s).await;
    let missing = AccountId(alice.0 + 1000);
    assert_err!(s.spam_settings(missing).await, NotFound);
    assert_err!(
        s.set_spam_settings(missing, &SpamSettings::default()).await,
        NotFound
    );

    let too_high = SpamSettings {
        threshold: 101,
        ..SpamSettings::default()
    };
    assert_err!(s.set_spam_settings(alice, &too_high).await, Invalid);
    let max = SpamSettings {
        threshold: u8::MAX,
        ..SpamSettings::default()
    };
    assert_err!(s.set_spam_settings(alice, &max).await, Invalid);
    assert_eq!(
        s.spam_settings(alice).await.expect("settings"),
        SpamSettings::default()
    );

    s.set_spam_settings(
        alice,
        &SpamSettings {
            enabled: false,
            ..SpamSettings::default()
        },
    )
    .await
    .expect("set");
    s.delete_account(alice).await.expect("delete account");
    assert_err!(s.spam_settings(alice).await, NotFound);
}

// --- Bayes -------------------------------------------------------------------------------

/// Learning adds one to each named feature's count of the class (a feature named twice
/// counts once) and to the model's total; counts come back ascending, once each, only
/// for features seen, with u64 values beyond `i64::MAX` intact.
pub async fn bayes_learn_adds_counts_and_totals(f: &MetaFixture) {
    let s = &*f.store;
    let g = BayesModel::Global;
    let (empty, none) = read(s, g, &[1, 2, 3]).await;
    assert!(empty.is_empty());
    assert_eq!(none, totals(0, 0));

    let big = u64::MAX;
    let high = 1 << 63;
    learn(s, g, "m1", &[3, 1, 2, big, 1], Spam, LearnOutcome::Learned).await;
    learn(s, g, "m2", &[2, 3, 4, high], Ham, LearnOutcome::Learned).await;
    learn(s, g, "m3", &[3], Spam, LearnOutcome::Learned).await;

    let (found, sums) = read(s, g, &[high, 5, 4, 3, 2, 1, big, 2]).await;
    assert_eq!(
        found,
        vec![
            (1, counts(1, 0)),
            (2, counts(1, 1)),
            (3, counts(2, 1)),
            (4, counts(0, 1)),
            (high, counts(0, 1)),
            (big, counts(1, 0)),
        ]
    );
    assert_eq!(sums, totals(2, 1));
    // A message without features still counts in the totals.
    learn(s, g, "m4", &[], Ham, LearnOutcome::Learned).await;
    assert_eq!(read(s, g, &[]).await, (Vec::new(), totals(2, 2)));
}

/// Learning a message again as the same class changes nothing.
pub async fn bayes_learn_of_a_known_message_changes_nothing(f: &MetaFixture) {
    let s = &*f.store;
    let g = BayesModel::Global;
    learn(s, g, "m1", &[1, 2], Spam, LearnOutcome::Learned).await;
    let before = read(s, g, &[1, 2]).await;
    learn(s, g, "m1", &[1, 2], Spam, LearnOutcome::AlreadyKnown).await;
    learn(s, g, "m1", &[1, 2, 3], Spam, LearnOutcome::AlreadyKnown).await;
    assert_eq!(read(s, g, &[1, 2, 3]).await, before);
    assert_eq!(before.1, totals(1, 0));
}

/// Learning a message as the other class moves its counts and its total over, both ways.
pub async fn bayes_relearn_moves_counts_to_the_other_class(f: &MetaFixture) {
    let s = &*f.store;
    let g = BayesModel::Global;
    learn(s, g, "other", &[2], Spam, LearnOutcome::Learned).await;
    learn(s, g, "m1", &[1, 2], Spam, LearnOutcome::Learned).await;
    learn(s, g, "m1", &[1, 2], Ham, LearnOutcome::Relearned).await;
    assert_eq!(
        read(s, g, &[1, 2]).await,
        (vec![(1, counts(0, 1)), (2, counts(1, 1))], totals(1, 1))
    );
    learn(s, g, "m1", &[1, 2], Ham, LearnOutcome::AlreadyKnown).await;
    learn(s, g, "m1", &[1, 2], Spam, LearnOutcome::Relearned).await;
    assert_eq!(
        read(s, g, &[1, 2]).await,
        (vec![(1, counts(1, 0)), (2, counts(2, 0))], totals(2, 0))
    );
}

/// Taking back counts a relearn's features never had stops at zero.
pub async fn bayes_counts_never_go_below_zero(f: &MetaFixture) {
    let s = &*f.store;
    let g = BayesModel::Global;
    learn(s, g, "m1", &[1], Spam, LearnOutcome::Learned).await;
    // Relearned with a feature the first learn did not name (a caller's bug, or features
    // of a newer version): its spam count stays at 0.
    learn(s, g, "m1", &[1, 9], Ham, LearnOutcome::Relearned).await;
    assert_eq!(
        read(s, g, &[1, 9]).await,
        (vec![(1, counts(0, 1)), (9, counts(0, 1))], totals(0, 1))
    );
    learn(s, g, "m1", &[1, 9], Spam, LearnOutcome::Relearned).await;
    assert_eq!(
        read(s, g, &[1, 9]).await,
        (vec![(1, counts(1, 0)), (9, counts(1, 0))], totals(1, 0))
    );
}

/// The global model and each account's model are separate: counts, totals, and which
/// messages they learned.
pub async fn bayes_models_are_separate(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, bob) = two_accounts(s).await;
    let (g, a, b) = (
        BayesModel::Global,
        BayesModel::Account(alice),
        BayesModel::Account(bob),
    );
    learn(s, g, "m1", &[1, 2], Spam, LearnOutcome::Learned).await;
    learn(s, a, "m1", &[1, 2], Ham, LearnOutcome::Learned).await;
    learn(s, a, "m2", &[2, 3], Ham, LearnOutcome::Learned).await;
    learn(s, b, "m1", &[1], Spam, LearnOutcome::Learned).await;

    let all = [1, 2, 3];
    assert_eq!(
        read(s, g, &all).await,
        (vec![(1, counts(1, 0)), (2, counts(1, 0))], totals(1, 0))
    );
    assert_eq!(
        read(s, a, &all).await,
        (
            vec![(1, counts(0, 1)), (2, counts(0, 2)), (3, counts(0, 1))],
            totals(0, 2)
        )
    );
    assert_eq!(
        read(s, b, &all).await,
        (vec![(1, counts(1, 0))], totals(1, 0))
    );
}

/// A reset forgets one model's counts, totals and learned messages (the same message is
/// learned anew), and nothing of the others; resetting an empty model is fine.
pub async fn bayes_reset_forgets_one_model(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, bob) = two_accounts(s).await;
    let (g, a, b) = (
        BayesModel::Global,
        BayesModel::Account(alice),
        BayesModel::Account(bob),
    );
    learn(s, g, "m1", &[1, 2], Spam, LearnOutcome::Learned).await;
    learn(s, a, "m1", &[1, 2], Spam, LearnOutcome::Learned).await;
    let global_before = read(s, g, &[1, 2]).await;

    s.bayes_reset(a).await.expect("reset");
    assert_eq!(read(s, a, &[1, 2]).await, (Vec::new(), totals(0, 0)));
    assert_eq!(read(s, g, &[1, 2]).await, global_before);
    s.bayes_reset(a).await.expect("reset again");
    s.bayes_reset(b)
        .await
        .expect("reset a model that learned nothing");

    learn(s, a, "m1", &[1], Ham, LearnOutcome::Learned).await;
    assert_eq!(
        read(s, a, &[1, 2]).await,
        (vec![(1, counts(0, 1))], totals(0, 1))
    );

    s.bayes_reset(g).await.expect("reset global");
    assert_eq!(read(s, g, &[1, 2]).await, (Vec::new(), totals(0, 0)));
    assert_eq!(
        read(s, a, &[1, 2]).await,
        (vec![(1, counts(0, 1))], totals(0, 1))
    );
}

/// Removing an account removes its model, also when the account goes with its domain;
/// the global model and other accounts' models stay.
pub async fn deleting_an_account_removes_its_bayes_model(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, bob) = two_accounts(s).await;
    domain(s, "example.net").await;
    let carol = account(s, "carol@example.net").await.id;
    let (g, a, b, c) = (
        BayesModel::Global,
        BayesModel::Account(alice),
        BayesModel::Account(bob),
        BayesModel::Account(carol),
    );
    for model in [g, a, b, c] {
        learn(s, model, "m1", &[1, 2], Spam, LearnOutcome::Learned).await;
    }
    let learned = (vec![(1, counts(1, 0)), (2, counts(1, 0))], totals(1, 0));

    s.delete_account(alice).await.expect("delete account");
    assert_eq!(read(s, a, &[1, 2]).await, (Vec::new(), totals(0, 0)));
    let net = s
        .domain(&super::dn("example.net"))
        .await
        .expect("domain")
        .expect("exists");
    s.delete_domain(net.id).await.expect("delete domain");
    assert_eq!(read(s, c, &[1, 2]).await, (Vec::new(), totals(0, 0)));

    assert_eq!(read(s, g, &[1, 2]).await, learned);
    assert_eq!(read(s, b, &[1, 2]).await, learned);
    // The removed account's model cannot be written again either.
    assert_err!(s.bayes_learn(a, "m2", &[1], Ham).await, NotFound);
}

/// The model of a missing account is `NotFound` to learn (and empty to read); keys no
/// backend can store, and account ids below 1, are `Invalid`.
pub async fn bayes_learn_refuses_missing_accounts_and_bad_keys(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = two_accounts(s).await;
    let missing = BayesModel::Account(AccountId(alice.0 + 1000));
    assert_err!(s.bayes_learn(missing, "m1", &[1], Spam).await, NotFound);
    assert_eq!(read(s, missing, &[1]).await, (Vec::new(), totals(0, 0)));
    s.bayes_reset(missing).await.expect("reset of nothing");

    let g = BayesModel::Global;
    for key in [String::new(), "a\0b".into(), "k".repeat(256)] {
        assert_err!(s.bayes_learn(g, &key, &[1], Spam).await, Invalid);
    }
    learn(s, g, &"k".repeat(255), &[1], Spam, LearnOutcome::Learned).await;
    let zero = BayesModel::Account(AccountId(0));
    assert_err!(s.bayes_learn(zero, "m1", &[1], Spam).await, Invalid);
    assert_err!(s.bayes_counts(zero, &[1]).await, Invalid);
    assert_eq!(
        read(s, g, &[1]).await,
        (vec![(1, counts(1, 0))], totals(1, 0))
    );
}

/// A message with 3,000 features is learned and relearned in one call each, and all its
/// counts read back in one call (the timings are printed, not asserted).
pub async fn bayes_learn_of_a_large_message(f: &MetaFixture) {
    const N: usize = 3_000;
    let s = &*f.store;
    let g = BayesModel::Global;
    let many = features(7, N);
    learn(s, g, "warm-up", &features(8, N), Ham, LearnOutcome::Learned).await;

    let start = Instant::now();
    learn(s, g, "big", &many, Spam, LearnOutcome::Learned).await;
    let learned = start.elapsed();
    let start = Instant::now();
    let (found, sums) = read(s, g, &many).await;
    let counted = start.elapsed();
    let start = Instant::now();
    learn(s, g, "big", &many, Ham, LearnOutcome::Relearned).await;
    let relearned = start.elapsed();
    eprintln!("{N} features: learn {learned:?}, counts {counted:?}, relearn {relearned:?}");

    assert_eq!(found.len(), N);
    assert!(found.iter().all(|(_, c)| *c == counts(1, 0)));
    let mut sorted = many.clone();
    sorted.sort_unstable();
    assert_eq!(found.iter().map(|(f, _)| *f).collect::<Vec<_>>(), sorted);
    assert_eq!(sums, totals(1, 1));
    let (found, sums) = read(s, g, &many).await;
    assert!(found.iter().all(|(_, c)| *c == counts(0, 1)));
    assert_eq!(sums, totals(0, 2));
}

/// Concurrent learns of one message count it once; concurrent learns of different
/// messages with the same features all count (and do not deadlock).
pub async fn concurrent_bayes_learns_count_each_message_once(f: &MetaFixture) {
    const TASKS: usize = 8;
    let s: Arc<dyn MetaStore> = f.store.clone();
    let g = BayesModel::Global;
    let shared = features(1, 500);
    let start = Arc::new(tokio::sync::Barrier::new(2 * TASKS));
    let mut tasks = Vec::new();
    for n in 0..2 * TASKS {
        let (s, start, shared) = (s.clone(), start.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            // Half learn "same", half their own message; the features overlap, in
            // different orders.
            let key = if n % 2 == 0 {
                "same".to_owned()
            } else {
                format!("own {n}")
            };
            let mut mine = shared;
            let len = mine.len();
            mine.rotate_left(n * 37 % len);
            start.wait().await;
            s.bayes_learn(g, &key, &mine, Spam).await
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("bayes_learn"));
    }
    let learned = outcomes
        .iter()
        .filter(|o| **o == LearnOutcome::Learned)
        .count();
    assert_eq!(learned, TASKS + 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == LearnOutcome::AlreadyKnown)
            .count(),
        TASKS - 1
    );
    let (found, sums) = read(&*s, g, &shared).await;
    assert_eq!(sums, totals(TASKS as u64 + 1, 0));
    assert_eq!(found.len(), shared.len());
    let want = counts(TASKS as u32 + 1, 0);
    assert!(found.iter().all(|(_, c)| *c == want), "{:?}", found[0]);
}

// --- greylisting -------------------------------------------------------------------------

const POLICY: GreylistPolicy = GreylistPolicy {
    delay: 300,
    retry_window: 4 * 3600,
    pass_lifetime: 30 * 86400,
};

const T0: i64 = 1_700_000_000;

/// Checks a triplet at `now`.
async fn check(s: &dyn MetaStore, triplet: &str, now: i64) -> GreylistOutcome {
    s.greylist_check(triplet, now, &POLICY)
        .await
        .unwrap_or_else(|e| panic!("greylist_check {triplet} at {now}: {e}"))
}

fn defer(retry_after: u64) -> GreylistOutcome {
    GreylistOutcome::Defer { retry_after }
}

/// New → deferred for the delay; too early → deferred for what is left; after the delay
/// → passes, and keeps passing while used within its lifetime, long after the retry
/// window; triplets are independent.
pub async fn greylist_defers_new_triplets_then_passes_retries(f: &MetaFixture) {
    let s = &*f.store;
    let t = "192.0.2.0/24|a@example.net|b@example.org";
    assert_eq!(check(s, t, T0).await, defer(300));
    assert_eq!(check(s, t, T0 + 100).await, defer(200));
    assert_eq!(check(s, t, T0 + 299).await, defer(1));
    assert_eq!(check(s, "other", T0 + 299).await, defer(300));
    assert_eq!(check(s, t, T0 + 300).await, GreylistOutcome::Pass);
    assert_eq!(check(s, t, T0 + 301).await, GreylistOutcome::Pass);
    // Each pass renews the lifetime from the last use.
    let day = 86400;
    assert_eq!(check(s, t, T0 + 20 * day).await, GreylistOutcome::Pass);
    assert_eq!(check(s, t, T0 + 49 * day).await, GreylistOutcome::Pass);
    assert_eq!(check(s, "other", T0 + 600).await, GreylistOutcome::Pass);
}

/// A retry after the window, or a passed triplet unused for longer than its lifetime,
/// starts over as new.
pub async fn greylist_expired_entries_start_over(f: &MetaFixture) {
    let s = &*f.store;
    let late = T0 + 4 * 3600 + 1;
    assert_eq!(check(s, "slow", T0).await, defer(300));
    assert_eq!(check(s, "slow", late).await, defer(300));
    assert_eq!(check(s, "slow", late + 100).await, defer(200));
    assert_eq!(check(s, "slow", late + 300).await, GreylistOutcome::Pass);

    assert_eq!(check(s, "idle", T0).await, defer(300));
    assert_eq!(check(s, "idle", T0 + 300).await, GreylistOutcome::Pass);
    let lifetime = 30 * 86400;
    assert_eq!(
        check(s, "idle", T0 + 300 + lifetime).await,
        GreylistOutcome::Pass,
        "used exactly at the end of its lifetime"
    );
    let gone = T0 + 300 + 2 * lifetime + 1;
    assert_eq!(check(s, "idle", gone).await, defer(300));
    assert_eq!(check(s, "idle", gone + 299).await, defer(1));
}

/// The prune removes exactly the expired entries and says how many; a pruned triplet is
/// new again.
pub async fn greylist_prune_removes_expired_entries(f: &MetaFixture) {
    let s = &*f.store;
    let day = 86400;
    // Pending, first seen long ago: expired.
    check(s, "pending-old", T0).await;
    let now = T0 + 31 * day;
    // Pending, recent: stays.
    check(s, "pending-new", now - 3600).await;
    // Passed, last used long ago: expired.
    check(s, "passed-old", T0).await;
    check(s, "passed-old", T0 + 300).await;
    // Passed long ago but used recently: stays.
    check(s, "passed-used", T0).await;
    check(s, "passed-used", T0 + 300).await;
    check(s, "passed-used", T0 + 25 * day).await;

    assert_eq!(s.greylist_prune(now, &POLICY).await.expect("prune"), 2);
    assert_eq!(s.greylist_prune(now, &POLICY).await.expect("prune"), 0);
    assert_eq!(check(s, "passed-used", now).await, GreylistOutcome::Pass);
    assert_eq!(check(s, "passed-old", now).await, defer(300));
    assert_eq!(check(s, "pending-old", now).await, defer(300));
    // At the end of its retry window "pending-new" stays; a second later it is pruned,
    // and new again.
    let end = now - 3600 + 4 * 3600;
    assert_eq!(s.greylist_prune(end, &POLICY).await.expect("prune"), 0);
    assert_eq!(s.greylist_prune(end + 1, &POLICY).await.expect("prune"), 1);
    assert_eq!(check(s, "pending-new", end + 1).await, defer(300));
}

/// Concurrent first sights of one triplet all defer, without errors; concurrent retries
/// after the delay all pass.
pub async fn concurrent_greylist_checks_agree(f: &MetaFixture) {
    const TASKS: usize = 8;
    let s: Arc<dyn MetaStore> = f.store.clone();
    for (now, want) in [(T0, defer(300)), (T0 + 300, GreylistOutcome::Pass)] {
        let start = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (s, start) = (s.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    s.greylist_check("shared", now, &POLICY).await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("task").expect("check"), want);
        }
    }
}

/// Triplets no backend can store alike are `Invalid`.
pub async fn greylist_refuses_unstorable_triplets(f: &MetaFixture) {
    let s = &*f.store;
    for bad in [String::new(), "a\0b".into(), "t".repeat(1025)] {
        assert_err!(s.greylist_check(&bad, T0, &POLICY).await, Invalid);
    }
    assert_eq!(check(s, &"t".repeat(1024), T0).await, defer(300));
}
