//! End-to-end tests of `mailstead spam ...` (issue #6) against the built binary: training
//! the classifier from a Maildir++ tree, a plain directory and an mboxrd file, re-runs
//! changing nothing, a class swap moving the counts over, `spam check` of held-out
//! messages after training, per-account settings, `reset` and `symbols`.
//!
//! The corpora are generated here: spam and ham with two distinct vocabularies, enough of
//! each ([`mailstead_spam::bayes::MIN_LEARNS`] and a few) for the classifier to answer.
//! Each test works offline on its own install (a config file written by hand, no
//! `serve`): SQLite, and PostgreSQL at `TEST_POSTGRES_URL` for the train + check path.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{Install, PgDb};

/// Messages of each class in the corpora: the classifier answers from MIN_LEARNS up.
const PER_CLASS: u64 = mailstead_spam::bayes::MIN_LEARNS + 10;

const SPAM_WORDS: &[&str] = &[
    "casino",
    "jackpot",
    "lottery",
    "winner",
    "pills",
    "pharmacy",
    "viagra",
    "bitcoin",
    "crypto",
    "investment",
    "guaranteed",
    "prize",
    "inheritance",
    "refinance",
    "miracle",
    "discount",
    "bonus",
    "unclaimed",
    "millions",
    "exclusive",
    "offer",
    "limited",
    "claim",
    "wire",
    "beneficiary",
    "diet",
    "weightloss",
    "rolex",
    "replica",
    "loan",
];

const HAM_WORDS: &[&str] = &[
    "meeting",
    "agenda",
    "project",
    "review",
    "lunch",
    "schedule",
    "report",
    "budget",
    "deadline",
    "draft",
    "minutes",
    "quarterly",
    "roadmap",
    "sprint",
    "colleague",
    "slides",
    "feedback",
    "holiday",
    "kids",
    "dinner",
    "garden",
    "birthday",
    "weekend",
    "recipe",
    "library",
    "train",
    "conference",
    "thesis",
    "chapter",
    "rehearsal",
];

/// A deterministic generator (xorshift64*), so every run sees the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn words(&mut self, vocabulary: &[&str], n: usize) -> String {
        (0..n)
            .map(|_| vocabulary[(self.next() % vocabulary.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Message `i` of a class: well-formed header fields (so that no content rule tells the
/// classes apart), words of the class's vocabulary. Ham bodies have a line starting with
/// `From ` after an empty line, which an mbox must quote.
fn message(spam: bool, i: u64) -> String {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i * 2 + u64::from(spam) + 1));
    let (vocabulary, from, name) = if spam {
        (
            SPAM_WORDS,
            format!("promo{i}@deals{}.example.net", i % 7),
            "Deals",
        )
    } else {
        (
            HAM_WORDS,
            format!("colleague{}@partner.example.com", i % 5),
            "Sam",
        )
    };
    let subject = rng.words(vocabulary, 4);
    let mut body = String::new();
    for _ in 0..6 {
        body.push_str(&rng.words(vocabulary, 10));
        body.push('\n');
    }
    if !spam {
        body.push_str("\nFrom the desk of Sam, with thanks\n");
    }
    format!(
        "From: {name} <{from}>\n\
         To: alice@example.org\n\
         Subject: {subject}\n\
         Date: Mon, 01 Jan 2024 10:{:02}:00 +0000\n\
         Message-ID: <{i}.{}@example.net>\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         {body}",
        i % 60,
        if spam { "s" } else { "h" },
    )
}

/// An mboxrd file of `messages`: `From ` lines quoted as `>From `.
fn mbox(messages: impl IntoIterator<Item = String>) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str("From sender@example.net Mon Jan  1 10:00:00 2024\n");
        for line in m.lines() {
            if line.trim_start_matches('>').starts_with("From ") {
                out.push('>');
            }
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    std::fs::write(path, text).expect("write");
}

/// The corpora of a test, under `<install>/corpus`.
struct Corpus {
    /// Maildir++ of spam: `cur/`, `new/` and a `.Junk` subfolder, plus an empty file
    /// (unreadable) and a file in `tmp/` (never read).
    spam_maildir: PathBuf,
    /// mboxrd of ham.
    ham_mbox: PathBuf,
    /// Held-out messages (not trained).
    spam_sample: PathBuf,
    ham_sample: PathBuf,
}

impl Corpus {
    fn new(install: &Install) -> Self {
        let root = install.path().join("corpus");
        let spam_maildir = root.join("Spam");
        for folder in ["", ".Junk"] {
            for sub in ["cur", "new", "tmp"] {
                std::fs::create_dir_all(spam_maildir.join(folder).join(sub)).expect("mkdir");
            }
        }
        for i in 0..PER_CLASS {
            let place = match i % 3 {
                0 => "cur",
                1 => "new",
                _ => ".Junk/cur",
            };
            write(
                &spam_maildir.join(place).join(format!("{i}.mailstead:2,S")),
                &message(true, i),
            );
        }
        write(&spam_maildir.join("cur/empty.host:2,"), "");
        write(&spam_maildir.join("tmp/half-written"), &message(true, 9999));
        let ham_mbox = root.join("ham.mbox");
        write(&ham_mbox, &mbox((0..PER_CLASS).map(|i| message(false, i))));
        let spam_sample = root.join("held-out-spam.eml");
        write(&spam_sample, &message(true, 5000));
        let ham_sample = root.join("held-out-ham.eml");
        write(&ham_sample, &message(false, 5000));
        Corpus {
            spam_maildir,
            ham_mbox,
            spam_sample,
            ham_sample,
        }
    }
}

/// An install with a config file and example.org with alice, worked on offline.
fn offline(install: Install) -> Install {
    write(
        &install.path().join("mailstead.toml"),
        "[server]\nhostname = \"mail.example.org\"\n",
    );
    install.ok(&["domain", "add", "example.org"], "");
    install.add_user("alice@example.org");
    install
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The report of one model in `train --json`.
fn model<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["models"]
        .as_array()
        .expect("models")
        .iter()
        .find(|m| m["model"] == name)
        .unwrap_or_else(|| panic!("no model {name} in {report}"))
}

fn symbols(check: &Value) -> Vec<String> {
    check["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Trains from the Maildir and the mbox, trains again, and checks the held-out messages.
fn train_then_check(install: &Install) {
    let corpus = Corpus::new(install);
    let first = install.json(&[
        "spam",
        "train",
        "--spam",
        s(&corpus.spam_maildir),
        "--ham",
        s(&corpus.ham_mbox),
    ]);
    let n = PER_CLASS;
    assert_eq!(first["read"]["spam"], n, "{first}");
    assert_eq!(first["read"]["ham"], n, "mbox split wrongly: {first}");
    assert_eq!(first["unreadable"]["spam"], 1, "the empty file: {first}");
    assert_eq!(first["unreadable"]["ham"], 0, "{first}");
    assert_eq!(first["models"].as_array().map(Vec::len), Some(1), "{first}");
    let global = model(&first, "global");
    assert_eq!(global["spam"]["learned"], n, "{first}");
    assert_eq!(global["ham"]["learned"], n, "{first}");
    assert_eq!(global["totals"]["spam"], n, "{first}");
    assert_eq!(global["totals"]["ham"], n, "{first}");

    // Again: nothing changes.
    let again = install.ok(
        &[
            "spam",
            "train",
            "--spam",
            s(&corpus.spam_maildir),
            "--ham",
            s(&corpus.ham_mbox),
        ],
        "",
    );
    assert!(
        again.contains(&format!("global model now: {n} spam, {n} ham\n")),
        "{again}"
    );
    let again = install.json(&[
        "spam",
        "train",
        "--spam",
        s(&corpus.spam_maildir),
        "--ham",
        s(&corpus.ham_mbox),
    ]);
    let global = model(&again, "global");
    for class in ["spam", "ham"] {
        assert_eq!(global[class]["learned"], 0, "{again}");
        assert_eq!(global[class]["relearned"], 0, "{again}");
        assert_eq!(global[class]["already_known"], n, "{again}");
        assert_eq!(global["totals"][class], n, "{again}");
    }

    let spam = install.json(&["spam", "check", s(&corpus.spam_sample)]);
    assert!(symbols(&spam).contains(&"BAYES_SPAM".to_owned()), "{spam}");
    assert!(
        spam["bayes"]["probability"].as_f64().expect("p") > 0.9,
        "{spam}"
    );
    assert!(spam["score"].as_f64().expect("score") > 0.0, "{spam}");
    let ham = install.json(&["spam", "check", s(&corpus.ham_sample)]);
    assert!(symbols(&ham).contains(&"BAYES_HAM".to_owned()), "{ham}");
    assert!(
        ham["bayes"]["probability"].as_f64().expect("p") < 0.1,
        "{ham}"
    );
    assert_eq!(ham["outcome"], "delivered to INBOX", "{ham}");

    let text = install.ok(&["spam", "check", s(&corpus.spam_sample)], "");
    assert!(text.contains("BAYES_SPAM"), "{text}");
    assert!(text.contains("(global model)"), "{text}");
}

#[test]
fn train_from_maildir_and_mbox_is_idempotent_and_check_uses_it() {
    train_then_check(&offline(Install::new(&[])));
}

#[test]
fn train_and_check_on_postgres() {
    let db = PgDb::new();
    train_then_check(&offline(Install::on_postgres(&db)));
}

#[test]
fn swapping_classes_relearns_and_reset_forgets() {
    let install = offline(Install::new(&[]));
    let corpus = Corpus::new(&install);
    let n = PER_CLASS;
    let first = install.json(&[
        "spam",
        "train",
        "--spam",
        s(&corpus.spam_maildir),
        "--ham",
        s(&corpus.ham_mbox),
        "--account",
        "alice@example.org",
    ]);
    assert_eq!(first["account"], "alice@example.org", "{first}");
    for name in ["alice@example.org", "global"] {
        let m = model(&first, name);
        assert_eq!(m["spam"]["learned"], n, "{first}");
        assert_eq!(m["totals"]["ham"], n, "{first}");
    }
    let check = install.json(&[
        "spam",
        "check",
        s(&corpus.spam_sample),
        "--account",
        "alice@example.org",
    ]);
    assert_eq!(check["bayes"]["model"], "alice@example.org", "{check}");
    assert_eq!(check["threshold"], 80, "{check}");

    // The ham given as spam: moved over in both models.
    let swapped = install.json(&[
        "spam",
        "train",
        "--spam",
        s(&corpus.ham_mbox),
        "--account",
        "alice@example.org",
    ]);
    for name in ["alice@example.org", "global"] {
        let m = model(&swapped, name);
        assert_eq!(m["spam"]["relearned"], n, "{swapped}");
        assert_eq!(m["spam"]["learned"], 0, "{swapped}");
        assert_eq!(m["totals"]["spam"], 2 * n, "{swapped}");
        assert_eq!(m["totals"]["ham"], 0, "{swapped}");
    }
    // And back.
    let back = install.json(&["spam", "train", "--ham", s(&corpus.ham_mbox)]);
    let global = model(&back, "global");
    assert_eq!(global["ham"]["relearned"], n, "{back}");
    assert_eq!(global["totals"]["spam"], n, "{back}");
    assert_eq!(global["totals"]["ham"], n, "{back}");

    // Reset alice's model: the global one stays and decides for her.
    let reset = install.json(&["spam", "reset", "--account", "alice@example.org"]);
    assert_eq!(reset["model"], "alice@example.org", "{reset}");
    assert_eq!(reset["forgot"]["spam"], 2 * n, "{reset}");
    let reset = install.json(&["spam", "reset", "--account", "alice@example.org"]);
    assert_eq!(reset["forgot"]["spam"], 0, "{reset}");
    assert_eq!(reset["forgot"]["ham"], 0, "{reset}");
    let check = install.json(&[
        "spam",
        "check",
        s(&corpus.spam_sample),
        "--account",
        "alice@example.org",
    ]);
    assert_eq!(check["bayes"]["model"], "global", "{check}");
    assert!(
        symbols(&check).contains(&"BAYES_SPAM".to_owned()),
        "{check}"
    );

    // Reset the global model: no classifier answer any more.
    let text = install.ok(&["spam", "reset"], "");
    assert_eq!(
        text,
        format!("reset the global model: forgot {n} spam and {n} ham message(s)\n")
    );
    let check = install.json(&["spam", "check", s(&corpus.spam_sample)]);
    assert_eq!(check["bayes"]["probability"], Value::Null, "{check}");
    assert_eq!(check["bayes"]["totals"]["spam"], 0, "{check}");
    assert!(
        !symbols(&check).iter().any(|s| s.starts_with("BAYES")),
        "{check}"
    );
    let text = install.ok(&["spam", "check", s(&corpus.spam_sample)], "");
    assert!(text.contains("needs"), "{text}");
}

#[test]
fn plain_directories_single_files_and_mboxes_are_read() {
    let install = offline(Install::new(&[]));
    let root = install.path().join("plain");
    write(&root.join("a.eml"), &message(true, 1));
    write(&root.join("nested/deeper/b.eml"), &message(true, 2));
    write(&root.join(".hidden.eml"), &message(true, 3));
    // A Maildir inside a plain directory is read as one (tmp/ skipped).
    write(&root.join("box/new/c"), &message(true, 4));
    write(&root.join("box/tmp/d"), &message(true, 5));
    // An mbox inside a directory: every message.
    write(
        &root.join("archive.mbox"),
        &mbox((6..9).map(|i| message(true, i))),
    );
    let single = install.path().join("single.eml");
    write(&single, &message(true, 10));
    let report = install.json(&[
        "spam",
        "train",
        "--spam",
        s(&root),
        s(&single),
        "--account",
        "alice@example.org",
    ]);
    // a, b, c, three from the mbox, single.
    assert_eq!(report["read"]["spam"], 7, "{report}");
    assert_eq!(report["unreadable"]["spam"], 0, "{report}");
    assert_eq!(model(&report, "alice@example.org")["totals"]["spam"], 7);
    // The same bytes under another name are the same message.
    write(&install.path().join("copy.eml"), &message(true, 10));
    let copy = install.json(&[
        "spam",
        "train",
        "--spam",
        s(&install.path().join("copy.eml")),
    ]);
    assert_eq!(model(&copy, "global")["spam"]["already_known"], 1, "{copy}");
    let text = install.ok(&["spam", "train", "--ham", s(&single)], "");
    assert!(text.contains("global model now: 6 spam, 1 ham"), "{text}");
    assert!(text.contains("not used until"), "{text}");

    let err = install.refused(&["spam", "train", "--spam", "/nonexistent/maildir"], "");
    assert!(err.contains("/nonexistent/maildir"), "{err}");
    let err = install.refused(
        &[
            "spam",
            "train",
            "--spam",
            s(&single),
            "--account",
            "nobody@example.org",
        ],
        "",
    );
    assert!(err.contains("does not exist"), "{err}");
    let out = install.cli(&["spam", "train"], "");
    assert_eq!(out.status.code(), Some(2), "usage error expected");
}

#[test]
fn settings_are_shown_changed_and_checked() {
    let install = offline(Install::new(&[]));
    let get = install.json(&["spam", "settings", "alice@example.org"]);
    assert_eq!(get["enabled"], true, "{get}");
    assert_eq!(get["threshold"], 80, "{get}");
    assert_eq!(get["mark_as_read"], false, "{get}");
    assert_eq!(get["changed"], false, "{get}");

    let set = install.json(&[
        "spam",
        "settings",
        "alice@example.org",
        "--threshold",
        "50",
        "--mark-read",
        "true",
    ]);
    assert_eq!(set["changed"], true, "{set}");
    assert_eq!(set["threshold"], 50, "{set}");
    assert_eq!(set["mark_as_read"], true, "{set}");
    assert_eq!(set["enabled"], true, "{set}");
    assert_eq!(set["junk_above_score"], 7.5, "{set}");
    let text = install.ok(
        &[
            "spam",
            "settings",
            "alice@example.org",
            "--enabled",
            "false",
        ],
        "",
    );
    assert!(text.contains("changed the spam settings"), "{text}");
    assert!(text.contains("enabled:      no"), "{text}");
    assert!(text.contains("threshold:    50%"), "{text}");
    assert!(text.contains("mark as read: yes"), "{text}");

    for bad in [
        &["--threshold", "101"][..],
        &["--threshold", "-1"],
        &["--threshold", "many"],
        &["--enabled", "maybe"],
    ] {
        let mut args = vec!["spam", "settings", "alice@example.org"];
        args.extend_from_slice(bad);
        let out = install.cli(&args, "");
        assert_eq!(out.status.code(), Some(2), "{bad:?}: usage error expected");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(bad[0]), "{bad:?}: {err}");
    }
    let out = install.cli(
        &[
            "spam",
            "settings",
            "alice@example.org",
            "--threshold",
            "101",
        ],
        "",
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("0..=100"),
        "the range is named"
    );
    let after = install.json(&["spam", "settings", "alice@example.org"]);
    assert_eq!(
        (
            &after["enabled"],
            &after["threshold"],
            &after["mark_as_read"]
        ),
        (&Value::Bool(false), &Value::from(50), &Value::Bool(true)),
        "refused changes changed something: {after}"
    );
    let err = install.refused(&["spam", "settings", "nobody@example.org"], "");
    assert!(err.contains("does not exist"), "{err}");
}

/// `spam symbols --json` as (name, weight, source), in output order.
fn symbol_table(install: &Install) -> (Value, Vec<(String, f64, String)>) {
    let list = install.json(&["spam", "symbols"]);
    let rows = list["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["weight"].as_f64().expect("weight"),
                s["source"].as_str().expect("source").to_owned(),
            )
        })
        .collect();
    (list, rows)
}

fn find<'a>(rows: &'a [(String, f64, String)], name: &str) -> &'a (String, f64, String) {
    rows.iter()
        .find(|r| r.0 == name)
        .unwrap_or_else(|| panic!("{name} missing from {rows:?}"))
}

#[test]
fn symbols_list_every_default_weight_by_name() {
    let install = offline(Install::new(&[]));
    let (list, rows) = symbol_table(&install);
    assert_eq!(list["reject_score"], 15.0, "{list}");
    for (name, weight) in mailstead_spam::rules::WEIGHTS
        .iter()
        .chain(mailstead_spam::bayes::WEIGHTS)
    {
        assert_eq!(find(&rows, name).1, *weight, "{name}");
        assert_eq!(find(&rows, name).2, "default", "{name}");
    }
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted by name");

    let text = install.ok(&["spam", "symbols"], "");
    assert!(text.starts_with("SYMBOL"), "{text}");
    assert!(text.contains("reject score: 15.00"), "{text}");
}

#[test]
fn config_weights_override_symbols_and_check() {
    let install = offline(Install::new(&[]));
    write(
        &install.path().join("mailstead.toml"),
        "[server]\nhostname = \"mail.example.org\"\n\n\
         [filter]\nreject_score = 20.0\n\n\
         [filter.weights]\nMISSING_DATE = 2.5\nno_such_symbol = 1.0\n",
    );
    let (list, rows) = symbol_table(&install);
    assert_eq!(list["reject_score"], 20.0, "{list}");
    assert_eq!(find(&rows, "MISSING_DATE").1, 2.5);
    assert_eq!(find(&rows, "MISSING_DATE").2, "config");
    assert_eq!(find(&rows, "BAYES_HAM").2, "default");
    assert_eq!(find(&rows, "NO_SUCH_SYMBOL").2, "config (unknown symbol)");

    // `check` weighs with the same table.
    let msg = install.path().join("no-date.eml");
    write(
        &msg,
        "From: a@example.net\nTo: alice@example.org\nSubject: hello\n\
         Message-ID: <1@example.net>\n\nhi\n",
    );
    let check = install.json(&["spam", "check", s(&msg)]);
    assert_eq!(check["reject_score"], 20.0, "{check}");
    let missing_date = check["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .find(|s| s["name"] == "MISSING_DATE")
        .unwrap_or_else(|| panic!("MISSING_DATE expected: {check}"));
    assert_eq!(missing_date["score"], 2.5, "{check}");
}
