//! Robinson-Fisher classification: how spammy a message is, from how often its features
//! ([`crate::tokenize`]) were seen in learned spam and ham.
//!
//! # Method
//!
//! The method of SpamBayes ("chi-combining"), after Gary Robinson, "A Statistical
//! Approach to the Spam Problem", Linux Journal 107 (2003), and R. A. Fisher's method of
//! combining probabilities (Statistical Methods for Research Workers, 4th ed. 1932, §21.1):
//!
//! 1. For each feature w of the message with `b` spam and `g` ham counts out of `nb` spam
//!    and `ng` ham messages learned:
//!    `p(w) = (b/nb) / (b/nb + g/ng)` (Graham's ratio, normalised by the totals so
//!    an unbalanced training set is no bias), then Robinson's degree of belief
//!    `f(w) = (s·x + n·p(w)) / (s + n)` with `n = b + g`, which pulls rarely seen
//!    features towards the assumed probability `x` = [`ASSUMED_PROBABILITY`] with the
//!    strength `s` = [`PRIOR_STRENGTH`]. Features never seen are left out (f = x).
//! 2. Only the interesting features take part: `|f(w) − 0.5| ≥` [`MIN_STRENGTH`], at
//!    most [`MAX_CLUES`] of them, the most extreme first (SpamBayes' defaults
//!    `robinson_minimum_prob_strength` and `max_discriminators`).
//! 3. Fisher's method on the n clues, both ways:
//!    `H = C⁻¹(−2 Σ ln f(w), 2n)` and `S = C⁻¹(−2 Σ ln(1 − f(w)), 2n)`, where `C⁻¹` is
//!    Robinson's "inverse chi-square", the probability that a χ² variable with 2n degrees
//!    of freedom is at least the value ([`inverse_chi_square`]). H is near 1 when the
//!    f(w) are together too high to be chance, S when they are too low.
//! 4. The indicator `I = (1 + H − S) / 2`: near 1 for spam, near 0 for ham, and near 0.5
//!    both when there is no evidence and when the evidence conflicts — which is why the
//!    chi-square method is trusted more than Graham's product at its extremes.
//!
//! Below [`MIN_LEARNS`] messages of either class there is no answer.
//!
//! # Symbols
//!
//! [`hit`] turns I into `BAYES_SPAM` (I ≥ [`SPAM_FROM`]) or `BAYES_HAM` (I ≤ [`HAM_TO`])
//! with a factor growing linearly from the middle to 1 at [`SURE_SPAM`] / [`SURE_HAM`]; the
//! weights are in [`WEIGHTS`] (reasoning there).

use std::collections::HashMap;

use crate::verdict::Hit;

/// The symbol of a spammy message.
pub const BAYES_SPAM: &str = "BAYES_SPAM";
/// The symbol of a hammy message.
pub const BAYES_HAM: &str = "BAYES_HAM";

/// Symbols of the classifier and their default weights, for a reject score of 15 and the
/// default per-account spam bar of 80% (12).
///
/// - `BAYES_SPAM` 13.0: a sure classifier alone (87% of the reject score) files a message
///   in Junk at the default threshold (12) but never refuses it; refusing needs 2 more
///   points of independent evidence (an authentication failure, a blocklist). Tuned by
///   10-fold cross-validation on the SpamAssassin corpus's `*-1` folders
///   (`bench/spam-accuracy.sh`): at 9.0 (below the bar) 91% of spam stayed in INBOX, at 13
///   18% with one false positive in 2,750 ham (docs/benchmarks.md).
/// - `BAYES_HAM` −4.0: smaller in size, since a spammer can imitate ham more easily than
///   a sender of ham ends up looking like spam; it pulls a wanted message that trips a
///   few rules back under the bar (SpamAssassin BAYES_00 −1.9 of 5, Rspamd −3 of 15).
///   Between −1 and −6 it made no difference in the cross-validation.
///
/// Configuration may override them (`[filter] weights`).
pub const WEIGHTS: &[(&str, f64)] = &[(BAYES_SPAM, 13.0), (BAYES_HAM, -4.0)];

/// Learned messages of each class needed before the model is used.
///
/// 200, the default of both SpamAssassin (`bayes_min_spam_num`, `bayes_min_ham_num`) and
/// Rspamd (`min_learns`): with fewer, most features rest on one or two messages, and the
/// distinctive-but-rare ones (names, dates, one newsletter) dominate the clues, which
/// gives confident wrong answers — the costly kind, since a false BAYES_SPAM on ham
/// counts as much as a true one.
pub const MIN_LEARNS: u64 = 200;

/// Robinson's `s`: the strength, in messages, of the assumed probability of a feature.
pub const PRIOR_STRENGTH: f64 = 1.0;
/// Robinson's `x`: the probability assumed for a feature before it has been seen.
pub const ASSUMED_PROBABILITY: f64 = 0.5;
/// Features with `|f(w) − 0.5|` below this are not clues.
pub const MIN_STRENGTH: f64 = 0.1;
/// At most this many clues, the most extreme, are combined.
pub const MAX_CLUES: usize = 150;

/// `BAYES_SPAM` fires from this probability up.
pub const SPAM_FROM: f64 = 0.6;
/// `BAYES_HAM` fires from this probability down.
pub const HAM_TO: f64 = 0.4;
/// At and above this probability `BAYES_SPAM` has factor 1.
pub const SURE_SPAM: f64 = 0.99;
/// At and below this probability `BAYES_HAM` has factor 1.
pub const SURE_HAM: f64 = 0.01;

/// How often a feature was seen in learned spam and ham.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Spam messages that had it.
    pub spam: u32,
    /// Ham messages that had it.
    pub ham: u32,
}

/// How many messages a model learned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Spam messages.
    pub spam: u64,
    /// Ham messages.
    pub ham: u64,
}

/// What a message was learned as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Unwanted.
    Spam,
    /// Wanted.
    Ham,
}

/// A synchronous source of counts, such as [`MemoryModel`]. (The store's counts come
/// from an async query; they are given to [`probability`] directly.)
pub trait TokenCounts {
    /// How many messages of each class were learned.
    fn totals(&self) -> Totals;
    /// The counts of those of `features` that were ever learned; the others are absent.
    fn counts(&self, features: &[u64]) -> HashMap<u64, Counts>;
}

/// The spam probability of a message with `features` by the model in `source`; `None`
/// while it has learned fewer than [`MIN_LEARNS`] of either class (then no counts are
/// asked for).
pub fn classify<T: TokenCounts + ?Sized>(source: &T, features: &[u64]) -> Option<f64> {
    let totals = source.totals();
    if !trained(totals) {
        return None;
    }
    probability(features, &source.counts(features), totals)
}

/// The spam probability (Robinson-Fisher indicator, 0 = ham, 1 = spam) of a message with
/// `features` (as [`crate::tokenize::features`] returns them), given the `counts` of its
/// features and the model's `totals`; `None` while the model has learned fewer than
/// [`MIN_LEARNS`] of either class. 0.5 when no feature is a clue.
pub fn probability(features: &[u64], counts: &HashMap<u64, Counts>, totals: Totals) -> Option<f64> {
    if !trained(totals) {
        return None;
    }
    let mut clues: Vec<(f64, u64)> = features
        .iter()
        .filter_map(|f| {
            let p = feature_probability(*counts.get(f)?, totals);
            ((p - 0.5).abs() >= MIN_STRENGTH).then_some((p, *f))
        })
        .collect();
    // The most extreme first; ties by feature so that the choice is deterministic.
    clues.sort_unstable_by(|a, b| {
        (b.0 - 0.5)
            .abs()
            .total_cmp(&(a.0 - 0.5).abs())
            .then(a.1.cmp(&b.1))
    });
    // A feature given twice is one clue (equal ones are adjacent now).
    clues.dedup_by_key(|c| c.1);
    clues.truncate(MAX_CLUES);
    Some(fisher(clues.iter().map(|c| c.0)))
}

/// Robinson's f(w) of a feature with `counts` in a model with `totals`: in (0, 1), and
/// [`ASSUMED_PROBABILITY`] for a feature never seen.
pub fn feature_probability(counts: Counts, totals: Totals) -> f64 {
    let ratio = |n: u32, total: u64| {
        if total == 0 {
            0.0
        } else {
            // Counts above the total (a miscounted store) are capped at "every message".
            (f64::from(n) / total as f64).min(1.0)
        }
    };
    let spam = ratio(counts.spam, totals.spam);
    let ham = ratio(counts.ham, totals.ham);
    if spam + ham == 0.0 {
        return ASSUMED_PROBABILITY;
    }
    let p = spam / (spam + ham);
    let n = f64::from(counts.spam) + f64::from(counts.ham);
    (PRIOR_STRENGTH * ASSUMED_PROBABILITY + n * p) / (PRIOR_STRENGTH + n)
}

/// Fisher's combining of the clues' f(w), both ways, into the indicator
/// `I = (1 + H − S) / 2` (see the module docs); 0.5 for no clues.
pub fn fisher(clues: impl IntoIterator<Item = f64>) -> f64 {
    let (mut ln_f, mut ln_not_f, mut n) = (0.0, 0.0, 0u32);
    for f in clues {
        // f(w) is in (0, 1) for any counts; clamping keeps the logarithms finite anyway.
        let f = f.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON);
        ln_f += f.ln();
        ln_not_f += (-f).ln_1p();
        n += 1;
    }
    if n == 0 {
        return 0.5;
    }
    let h = inverse_chi_square(-2.0 * ln_f, 2 * n);
    let s = inverse_chi_square(-2.0 * ln_not_f, 2 * n);
    ((1.0 + h - s) / 2.0).clamp(0.0, 1.0)
}

/// Robinson's "inverse chi-square" `C⁻¹(χ², ν)`: the probability that a chi-square
/// variable with `dof` degrees of freedom is at least `chi2` (the upper tail, `Q`).
///
/// For even ν = 2k it is the series `e^(−m) Σ_{i<k} m^i / i!` with `m = χ²/2` (the
/// Poisson distribution function), summed here in logarithms so that no term
/// underflows. `dof` is even in Fisher's method; an odd one is rounded up. 1 for
/// `chi2 ≤ 0`.
pub fn inverse_chi_square(chi2: f64, dof: u32) -> f64 {
    if chi2.is_nan() || chi2 <= 0.0 {
        return 1.0;
    }
    let k = dof.div_ceil(2).max(1);
    let m = chi2 / 2.0;
    let ln_m = m.ln();
    let mut ln_term = -m;
    let mut sum = ln_term.exp();
    for i in 1..k {
        ln_term += ln_m - f64::from(i).ln();
        sum += ln_term.exp();
    }
    sum.min(1.0)
}

/// The symbol for a spam probability: `BAYES_SPAM` from [`SPAM_FROM`] up, `BAYES_HAM`
/// from [`HAM_TO`] down, with a factor growing from the middle (0.5) to 1 at
/// [`SURE_SPAM`] / [`SURE_HAM`]; `None` in between (and for NaN). The detail is the
/// probability with three decimals.
pub fn hit(probability: f64) -> Option<Hit> {
    if probability.is_nan() {
        return None;
    }
    let p = probability.clamp(0.0, 1.0);
    let (name, factor) = if p >= SPAM_FROM {
        (BAYES_SPAM, (p - 0.5) / (SURE_SPAM - 0.5))
    } else if p <= HAM_TO {
        (BAYES_HAM, (0.5 - p) / (0.5 - SURE_HAM))
    } else {
        return None;
    };
    Some(
        Hit::new(name)
            .with_factor(factor.min(1.0))
            .with_detail(format!("{p:.3}")),
    )
}

fn trained(totals: Totals) -> bool {
    totals.spam >= MIN_LEARNS && totals.ham >= MIN_LEARNS
}

/// A model in memory: for tests and the accuracy benchmark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryModel {
    counts: HashMap<u64, Counts>,
    totals: Totals,
}

impl MemoryModel {
    /// A model that learned nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Learns a message with `features` (distinct, as [`crate::tokenize::features`]
    /// returns them) as `class`.
    pub fn learn(&mut self, features: &[u64], class: Class) {
        match class {
            Class::Spam => self.totals.spam = self.totals.spam.saturating_add(1),
            Class::Ham => self.totals.ham = self.totals.ham.saturating_add(1),
        }
        for f in features {
            let c = self.counts.entry(*f).or_default();
            match class {
                Class::Spam => c.spam = c.spam.saturating_add(1),
                Class::Ham => c.ham = c.ham.saturating_add(1),
            }
        }
    }

    /// Forgets a message learned as `class` with `features` (to correct a mistaken
    /// learn: unlearn, then learn as the other class). Counts stop at zero, and features
    /// left with no counts are removed, so that learning and unlearning the same message
    /// gives back the model before.
    pub fn unlearn(&mut self, features: &[u64], class: Class) {
        match class {
            Class::Spam => self.totals.spam = self.totals.spam.saturating_sub(1),
            Class::Ham => self.totals.ham = self.totals.ham.saturating_sub(1),
        }
        for f in features {
            let Some(c) = self.counts.get_mut(f) else {
                continue;
            };
            match class {
                Class::Spam => c.spam = c.spam.saturating_sub(1),
                Class::Ham => c.ham = c.ham.saturating_sub(1),
            }
            if *c == Counts::default() {
                self.counts.remove(f);
            }
        }
    }

    /// How many messages of each class were learned.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The counts of those of `features` that were ever learned.
    pub fn counts(&self, features: &[u64]) -> HashMap<u64, Counts> {
        features
            .iter()
            .filter_map(|f| Some((*f, *self.counts.get(f)?)))
            .collect()
    }

    /// How many distinct features the model holds.
    pub fn feature_count(&self) -> usize {
        self.counts.len()
    }

    /// The spam probability of a message with `features`; `None` while fewer than
    /// [`MIN_LEARNS`] of either class were learned.
    pub fn probability(&self, features: &[u64]) -> Option<f64> {
        classify(self, features)
    }
}

impl TokenCounts for MemoryModel {
    fn totals(&self) -> Totals {
        self.totals
    }

    fn counts(&self, features: &[u64]) -> HashMap<u64, Counts> {
        MemoryModel::counts(self, features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    /// Upper-tail critical values from standard chi-square tables (NIST/SEMATECH
    /// e-Handbook of Statistical Methods, table 1.3.6.7.4), and closed forms.
    #[test]
    fn inverse_chi_square_matches_tables() {
        for (chi2, dof, q) in [
            (5.991, 2, 0.05),
            (9.210, 2, 0.01),
            (9.488, 4, 0.05),
            (13.277, 4, 0.01),
            (18.307, 10, 0.05),
            (3.940, 10, 0.95),
            (31.410, 20, 0.05),
            (37.566, 20, 0.01),
            (124.342, 100, 0.05),
            (77.929, 100, 0.95),
        ] {
            let got = inverse_chi_square(chi2, dof);
            assert!(close(got, q, 5e-4), "C⁻¹({chi2}, {dof}) = {got}, want {q}");
        }
        // ν = 2: e^(−χ²/2); ν = 4: e^(−m)(1 + m).
        assert!(close(inverse_chi_square(3.0, 2), (-1.5f64).exp(), 1e-12));
        assert!(close(
            inverse_chi_square(2.0, 4),
            2.0 * (-1.0f64).exp(),
            1e-12
        ));
        assert_eq!(inverse_chi_square(0.0, 10), 1.0);
        assert_eq!(inverse_chi_square(-1.0, 10), 1.0);
        // Far in the tail, and with many degrees of freedom, nothing underflows to NaN.
        assert!(inverse_chi_square(5000.0, 300) < 1e-300);
        assert!(close(inverse_chi_square(300.0, 300), 0.49, 0.02));
    }

    #[test]
    fn feature_probability_follows_robinson() {
        let totals = Totals {
            spam: 100,
            ham: 100,
        };
        let f = |spam, ham| feature_probability(Counts { spam, ham }, totals);
        assert_eq!(f(0, 0), 0.5);
        // One spam: (0.5 + 1·1) / 2.
        assert!(close(f(1, 0), 0.75, 1e-12));
        // Ten spam, no ham: (0.5 + 10) / 11.
        assert!(close(f(10, 0), 10.5 / 11.0, 1e-12));
        assert!(close(f(0, 10), 0.5 / 11.0, 1e-12));
        assert!(close(f(10, 10), 0.5, 1e-12));
        // Normalised by the totals: 10 of 100 spam against 10 of 1000 ham.
        let p = feature_probability(
            Counts { spam: 10, ham: 10 },
            Totals {
                spam: 100,
                ham: 1000,
            },
        );
        assert!(close(p, (0.5 + 20.0 * (0.1 / 0.11)) / 21.0, 1e-12));
    }

    #[test]
    fn fisher_is_symmetric_and_neutral_without_evidence() {
        assert_eq!(fisher([]), 0.5);
        assert!(fisher([0.99; 10]) > 0.99);
        assert!(fisher([0.01; 10]) < 0.01);
        assert!(close(fisher([0.99, 0.01]), 0.5, 1e-9));
        let spammy = fisher([0.9, 0.8, 0.95]);
        let hammy = fisher([0.1, 0.2, 0.05]);
        assert!(close(spammy, 1.0 - hammy, 1e-9));
    }

    #[test]
    fn hit_bands() {
        assert_eq!(hit(0.5), None);
        assert_eq!(hit(0.59), None);
        assert_eq!(hit(0.41), None);
        assert_eq!(hit(f64::NAN), None);
        let spam = hit(0.999).expect("spam");
        assert_eq!(spam.name, BAYES_SPAM);
        assert_eq!(spam.factor, 1.0);
        assert_eq!(spam.detail.as_deref(), Some("0.999"));
        let weak = hit(0.6).expect("weak spam");
        assert!(close(weak.factor, 0.1 / 0.49, 1e-12));
        let ham = hit(0.0).expect("ham");
        assert_eq!(ham.name, BAYES_HAM);
        assert_eq!(ham.factor, 1.0);
        let weak = hit(0.4).expect("weak ham");
        assert!(weak.factor > 0.0 && weak.factor < 0.25);
        // Out of range is clamped.
        assert_eq!(hit(7.0).map(|h| h.factor), Some(1.0));
    }

    #[test]
    fn weights_name_both_symbols() {
        let names: Vec<&str> = WEIGHTS.iter().map(|w| w.0).collect();
        assert_eq!(names, [BAYES_SPAM, BAYES_HAM]);
        assert!(WEIGHTS[0].1 > 0.0 && WEIGHTS[1].1 < 0.0);
    }
}
