//! The classifier on a synthetic corpus: it learns to tell pharmacy and lottery spam from
//! meeting and project ham, stays silent below `MIN_LEARNS`, unlearns exactly, and never
//! leaves [0, 1].

use std::collections::HashMap;

use mailstead_spam::bayes::{
    self, BAYES_HAM, BAYES_SPAM, Class, Counts, HAM_TO, MIN_LEARNS, MemoryModel, SPAM_FROM, Totals,
};
use mailstead_spam::tokenize::features;
use mailstead_spam::{Verdict, Weights};
use proptest::prelude::*;

const SPAM_WORDS: &[&str] = &[
    "pharmacy",
    "pills",
    "viagra",
    "discount",
    "lottery",
    "winner",
    "prize",
    "claim",
    "cash",
    "million",
    "jackpot",
    "offer",
    "cheap",
    "guaranteed",
    "casino",
    "bonus",
    "refill",
    "prescription",
    "congratulations",
    "selected",
    "transfer",
    "fee",
    "unclaimed",
    "beneficiary",
    "medication",
    "wholesale",
    "exclusive",
    "limited",
    "act",
    "urgent",
];
const HAM_WORDS: &[&str] = &[
    "meeting",
    "project",
    "agenda",
    "review",
    "deadline",
    "schedule",
    "team",
    "report",
    "minutes",
    "draft",
    "budget",
    "milestone",
    "release",
    "notes",
    "colleagues",
    "tuesday",
    "thursday",
    "design",
    "feedback",
    "sprint",
    "roadmap",
    "slides",
    "workshop",
    "invoice",
    "lunch",
    "office",
    "quarter",
    "proposal",
    "client",
    "planning",
];
const COMMON_WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "you",
    "your",
    "this",
    "with",
    "have",
    "will",
    "please",
    "today",
    "time",
    "information",
    "email",
    "more",
    "about",
    "from",
    "all",
    "can",
    "new",
    "now",
    "our",
    "get",
    "just",
    "here",
    "week",
    "see",
    "know",
    "thanks",
    "regards",
];
const SPAM_DOMAINS: &[&str] = &["cheap-meds.example", "lotto-win.example", "pharma.example"];
const HAM_DOMAINS: &[&str] = &["example.org", "corp.example", "partner.example"];

/// A small deterministic generator (PCG-style LCG), so the corpus is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[(self.next() % words.len() as u64) as usize]
    }
}

/// A message of `class`: half its words from the class vocabulary, half common words.
fn message(rng: &mut Rng, class: Class) -> Vec<u8> {
    let (words, domains) = match class {
        Class::Spam => (SPAM_WORDS, SPAM_DOMAINS),
        Class::Ham => (HAM_WORDS, HAM_DOMAINS),
    };
    let text = |n: usize, rng: &mut Rng| {
        (0..n)
            .map(|_| {
                if rng.next().is_multiple_of(2) {
                    rng.pick(words)
                } else {
                    rng.pick(COMMON_WORDS)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let subject = text(4, rng);
    let body = text(40, rng);
    let domain = rng.pick(domains);
    format!("From: someone@{domain}\r\nSubject: {subject}\r\n\r\n{body}\r\n").into_bytes()
}

fn corpus(seed: u64, spam: usize, ham: usize) -> Vec<(Vec<u64>, Class)> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for _ in 0..spam {
        out.push((features(&message(&mut rng, Class::Spam)), Class::Spam));
    }
    for _ in 0..ham {
        out.push((features(&message(&mut rng, Class::Ham)), Class::Ham));
    }
    out
}

fn trained(spam: usize, ham: usize) -> MemoryModel {
    let mut model = MemoryModel::new();
    for (f, class) in corpus(1, spam, ham) {
        model.learn(&f, class);
    }
    model
}

#[test]
fn held_out_messages_are_classified_correctly() {
    let n = MIN_LEARNS as usize + 50;
    let model = trained(n, n);
    assert_eq!(
        model.totals(),
        Totals {
            spam: n as u64,
            ham: n as u64
        }
    );
    for (f, class) in corpus(2, 50, 50) {
        let p = model.probability(&f).expect("trained");
        let hit = bayes::hit(p).expect("a sure answer");
        match class {
            Class::Spam => {
                assert!(p >= SPAM_FROM, "spam scored {p}");
                assert_eq!(hit.name, BAYES_SPAM);
            }
            Class::Ham => {
                assert!(p <= HAM_TO, "ham scored {p}");
                assert_eq!(hit.name, BAYES_HAM);
            }
        }
    }
}

#[test]
fn separable_classes_give_near_certain_probabilities() {
    let n = MIN_LEARNS as usize;
    let model = trained(n, n);
    let spam = features(
        b"Subject: lottery winner claim your prize\r\n\r\ncongratulations you are the \
          selected beneficiary of the unclaimed jackpot, pay the transfer fee\r\n",
    );
    let ham = features(
        b"Subject: project meeting agenda\r\n\r\nplease review the draft budget and the \
          milestone notes before the sprint review on thursday\r\n",
    );
    let p_spam = model.probability(&spam).expect("trained");
    let p_ham = model.probability(&ham).expect("trained");
    assert!(p_spam > 0.99, "{p_spam}");
    assert!(p_ham < 0.01, "{p_ham}");
    let hit = bayes::hit(p_spam).expect("spam");
    assert_eq!(hit.factor, 1.0);
}

#[test]
fn unseen_words_are_no_evidence() {
    let model = trained(MIN_LEARNS as usize, MIN_LEARNS as usize);
    let f = features(b"Subject: zyxq\r\n\r\nquux frobnicate wibble\r\n");
    // Only unseen features apart from header ones shared by both classes.
    let p = model.probability(&f).expect("trained");
    assert!((p - 0.5).abs() < 0.1, "{p}");
    assert_eq!(bayes::hit(0.5), None);
    assert_eq!(model.probability(&[]), Some(0.5));
}

#[test]
fn below_min_learns_there_is_no_probability() {
    let n = MIN_LEARNS as usize;
    let f = features(&message(&mut Rng(3), Class::Spam));
    assert_eq!(trained(n - 1, n + 100).probability(&f), None);
    assert_eq!(trained(n + 100, n - 1).probability(&f), None);
    assert_eq!(MemoryModel::new().probability(&f), None);
    assert!(trained(n, n).probability(&f).is_some());
    // The free function says the same.
    assert_eq!(
        bayes::probability(
            &f,
            &HashMap::new(),
            Totals {
                spam: MIN_LEARNS - 1,
                ham: MIN_LEARNS
            }
        ),
        None
    );
}

#[test]
fn learn_then_unlearn_gives_back_the_empty_model() {
    let messages = corpus(4, 30, 30);
    let mut model = MemoryModel::new();
    for (f, class) in &messages {
        model.learn(f, *class);
    }
    assert!(model.feature_count() > 0);
    for (f, class) in messages.iter().rev() {
        model.unlearn(f, *class);
    }
    assert_eq!(model, MemoryModel::new());
    assert_eq!(model.feature_count(), 0);
    // Unlearning what was never learned stops at zero.
    model.unlearn(&messages[0].0, Class::Spam);
    assert_eq!(model, MemoryModel::new());
}

#[test]
fn relearning_as_the_other_class_equals_learning_it_so() {
    let messages = corpus(5, 10, 10);
    let mut corrected = MemoryModel::new();
    let mut direct = MemoryModel::new();
    for (f, class) in &messages {
        corrected.learn(f, *class);
        direct.learn(f, *class);
    }
    let (f, _) = &messages[0];
    corrected.learn(f, Class::Ham);
    corrected.unlearn(f, Class::Ham);
    corrected.unlearn(f, Class::Spam);
    corrected.learn(f, Class::Ham);
    direct.unlearn(f, Class::Spam);
    direct.learn(f, Class::Ham);
    assert_eq!(corrected, direct);
    let counts = direct.counts(f);
    assert_eq!(
        counts.len(),
        f.len(),
        "every feature of a learned message is known"
    );
    assert!(counts.values().all(|c| c.ham >= 1));
}

#[test]
fn a_sure_spam_hit_weighs_the_bayes_spam_weight() {
    let weights = Weights::default();
    let spam = bayes::hit(0.999).expect("spam");
    let ham = bayes::hit(0.001).expect("ham");
    let verdict = Verdict::new(&[spam], &weights);
    assert_eq!(verdict.score, weights.weight(BAYES_SPAM));
    assert!(verdict.score > 0.0 && !verdict.rejected());
    let verdict = Verdict::new(&[ham], &weights);
    assert!(verdict.score < 0.0);
}

proptest! {
    #[test]
    fn probability_is_always_in_unit_interval(
        counts in proptest::collection::vec((0u64..64, any::<u32>(), any::<u32>()), 0..300),
        extra in proptest::collection::vec(0u64..80, 0..50),
        spam in prop_oneof![MIN_LEARNS..MIN_LEARNS + 10, any::<u64>()],
        ham in prop_oneof![MIN_LEARNS..MIN_LEARNS + 10, any::<u64>()],
    ) {
        let counts: HashMap<u64, Counts> = counts
            .into_iter()
            .map(|(f, spam, ham)| (f, Counts { spam, ham }))
            .collect();
        let mut features: Vec<u64> = counts.keys().copied().chain(extra).collect();
        features.sort_unstable();
        let totals = Totals { spam, ham };
        match bayes::probability(&features, &counts, totals) {
            Some(p) => {
                prop_assert!((0.0..=1.0).contains(&p), "{}", p);
                if let Some(hit) = bayes::hit(p) {
                    prop_assert!(hit.factor > 0.0 && hit.factor <= 1.0);
                }
            }
            None => prop_assert!(spam < MIN_LEARNS || ham < MIN_LEARNS),
        }
    }

    #[test]
    fn inverse_chi_square_is_a_probability_falling_with_chi2(
        a in 0.0f64..2000.0, b in 0.0f64..2000.0, dof in 1u32..400,
    ) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let q_lo = bayes::inverse_chi_square(lo, dof);
        let q_hi = bayes::inverse_chi_square(hi, dof);
        prop_assert!((0.0..=1.0).contains(&q_lo) && (0.0..=1.0).contains(&q_hi));
        prop_assert!(q_hi <= q_lo + 1e-12);
    }
}
