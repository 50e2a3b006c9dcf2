//! The PostgreSQL backend: the generic conformance suites, plus what only a shared
//! database can show (several nodes at once, migration refusal, start-up races).
//!
//! Needs a PostgreSQL server: `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), a role allowed to create databases.
//! Tests fail, never skip, when it cannot be reached: a silently skipped backend is an
//! untested one. Every test gets its own database `mailstead_test_<unix secs>_<random>`,
//! dropped (`WITH (FORCE)`) when the test ends, pass or fail; databases left behind by a
//! killed run are dropped by the next run once they are an hour old.

mod conformance;

use std::sync::Arc;

use conformance::{BlobFixture, CorruptBlob, MetaFixture, assert_err};
use mailstead_store::fs::blob_id_of;
use mailstead_store::model::{
    BayesClass, BayesCounts, BayesModel, BayesTotals, FlagOp, Flags, LearnOutcome,
    NewQueuedMessage, NewQueuedRecipient, NotifyFlags, unix_now,
};
use mailstead_store::postgres::PostgresStore;
use mailstead_store::{BlobStore, LATEST_POSTGRES_VERSION, MetaStore, StoreError};
use mailstead_types::{BlobId, ModSeq, QueueId, Uid};
use tokio_postgres::NoTls;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DB_PREFIX: &str = "mailstead_test_";
/// Age after which a test database is taken as left behind by a killed run.
const STALE_AFTER_SECS: i64 = 3600;

fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database replaced by `db` (URL or key=value form).
fn with_dbname(url: &str, db: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // key=value form: a later key overrides an earlier one.
        return format!("{url} dbname={db}");
    };
    let (base, query) = match url.find('?') {
        Some(q) => url.split_at(q),
        None => (url, ""),
    };
    let authority_start = scheme_end + 3;
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{db}{query}", &base[..authority_end])
}

/// A plain connection (no pool), for set-up and for poking behind the store's back.
async fn raw_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = match tokio_postgres::connect(url, NoTls).await {
        Ok(pair) => pair,
        Err(e) => {
            let shown = url
                .parse::<tokio_postgres::Config>()
                .map(|c| {
                    format!(
                        "user {:?} at {:?} port {:?} database {:?}",
                        c.get_user(),
                        c.get_hosts(),
                        c.get_ports(),
                        c.get_dbname()
                    )
                })
                .unwrap_or_else(|e| format!("an unparsable URL ({e})"));
            panic!(
                "cannot connect to PostgreSQL ({shown}): {e}. The PostgreSQL tests need a \
                 server; start one or point TEST_POSTGRES_URL at one (a role that may \
                 CREATE DATABASE)"
            );
        }
    };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Drops test databases a killed run left behind (once per test process).
async fn drop_stale_databases(admin: &tokio_postgres::Client) {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let rows = admin
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'mailstead\\_test\\_%'",
                &[],
            )
            .await
            .expect("list test databases");
        let now = unix_now();
        for row in rows {
            let name: String = row.get(0);
            let created: Option<i64> = name
                .strip_prefix(DB_PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|secs| secs.parse().ok());
            if created.is_some_and(|t| now - t > STALE_AFTER_SECS) {
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            }
        }
    })
    .await;
}

/// A throw-away database, dropped when this value is.
struct TestDatabase {
    name: String,
    admin_url: String,
    /// Connection string of the test database itself.
    url: String,
}

impl TestDatabase {
    async fn create() -> TestDatabase {
        let admin_url = admin_url();
        let admin = raw_client(&admin_url).await;
        drop_stale_databases(&admin).await;
        let name = format!("{DB_PREFIX}{}_{:016x}", unix_now(), rand::random::<u64>());
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let url = with_dbname(&admin_url, &name);
        TestDatabase {
            name,
            admin_url,
            url,
        }
    }

    /// A store ("node") on this database.
    async fn connect(&self) -> PostgresStore {
        PostgresStore::connect(&self.url, None, 4)
            .await
            .unwrap_or_else(|e| panic!("PostgresStore::connect to {}: {e}", self.name))
    }

    /// A plain connection to this database.
    async fn raw(&self) -> tokio_postgres::Client {
        raw_client(&self.url).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside a runtime: use a thread with its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let (client, connection) = tokio_postgres::connect(&admin_url, NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}

// --- the conformance suites ------------------------------------------------------------

async fn fresh_meta() -> Option<MetaFixture> {
    let db = TestDatabase::create().await;
    let store = db.connect().await;
    Some(MetaFixture {
        store: Arc::new(store),
        latest_schema_version: LATEST_POSTGRES_VERSION,
        _guard: Box::new(db),
    })
}

async fn fresh_blobs() -> Option<BlobFixture> {
    let db = TestDatabase::create().await;
    let store = db.connect().await;
    let url = db.url.clone();
    let corrupt: CorruptBlob = Box::new(move |id: BlobId| {
        let url = url.clone();
        Box::pin(async move {
            let client = raw_client(&url).await;
            let n = client
                .execute(
                    "UPDATE blobs SET data = $2 WHERE id = $1",
                    &[&id.to_hex(), &&b"not the stored content"[..]],
                )
                .await
                .expect("corrupt blob");
            assert_eq!(n, 1, "blob {id} to corrupt exists");
        })
    });
    Some(BlobFixture {
        store: Arc::new(store),
        corrupt: Some(corrupt),
        _guard: Box::new(db),
    })
}

conformance::meta_conformance_tests!(fresh_meta);
conformance::blob_conformance_tests!(fresh_blobs);

// --- PostgreSQL only -------------------------------------------------------------------

/// A message to queue for one remote recipient, due at once.
fn queued_message(n: u64) -> NewQueuedMessage {
    NewQueuedMessage {
        blob_id: blob_id_of(format!("queued {n}").as_bytes()),
        size: 10,
        mail_from: "alice@example.org".into(),
        envid: None,
        ret: None,
        body_8bit: false,
        smtputf8: false,
        requiretls: false,
        submitter: None,
        created_at: 1_700_000_000,
        next_attempt: 1_700_000_000,
        recipients: vec![NewQueuedRecipient {
            address: format!("rcpt{n}@remote.example"),
            original_recipient: None,
            notify: NotifyFlags::UNSET,
        }],
    }
}

/// Queue workers on two nodes leasing at the same time (`FOR UPDATE SKIP LOCKED`) never
/// hold the same message, and between them lease every due one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_leasing_never_share_a_message() {
    const MESSAGES: u64 = 60;
    let db = TestDatabase::create().await;
    let a: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let b: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let mut all = std::collections::HashSet::new();
    for n in 0..MESSAGES {
        all.insert(a.enqueue(&queued_message(n)).await.expect("enqueue"));
    }
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let node = if w % 2 == 0 { a.clone() } else { b.clone() };
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let mut mine: Vec<QueueId> = Vec::new();
                loop {
                    let leased = node
                        .queue_lease(1_700_000_000, 600, 3)
                        .await
                        .expect("lease");
                    if leased.is_empty() {
                        return mine;
                    }
                    mine.extend(leased.iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    for worker in workers {
        seen.extend(worker.await.expect("worker"));
    }
    let distinct: std::collections::HashSet<QueueId> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), seen.len(), "a message leased twice");
    assert_eq!(distinct, all, "every due message leased");
}

/// A database migrated by a newer mailstead is refused at connect, and left as it was.
#[tokio::test]
async fn newer_schema_is_refused_without_writing() {
    let db = TestDatabase::create().await;
    drop(db.connect().await);
    let raw = db.raw().await;
    raw.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 0)",
        &[&(LATEST_POSTGRES_VERSION + 1)],
    )
    .await
    .expect("insert a future migration");

    match PostgresStore::connect(&db.url, None, 2).await {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!(found, LATEST_POSTGRES_VERSION + 1);
            assert_eq!(supported, LATEST_POSTGRES_VERSION);
        }
        Err(e) => panic!("expected SchemaTooNew, got {e}"),
        Ok(_) => panic!("expected SchemaTooNew, connect succeeded"),
    }
    let count: i64 = raw
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, LATEST_POSTGRES_VERSION + 1);
}

/// Even on a database holding only a newer `schema_migrations`, connect creates nothing:
/// the version is checked before the first write.
#[tokio::test]
async fn newer_schema_on_a_bare_database_creates_no_table() {
    let db = TestDatabase::create().await;
    let raw = db.raw().await;
    raw.batch_execute(&format!(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                                         applied_at BIGINT NOT NULL);
         INSERT INTO schema_migrations VALUES ({}, 'future', 0);",
        LATEST_POSTGRES_VERSION + 1
    ))
    .await
    .expect("set up a newer schema");

    assert_err!(PostgresStore::connect(&db.url, None, 2).await, SchemaTooNew);
    let tables: i64 = raw
        .query_one(
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .expect("count tables")
        .get(0);
    assert_eq!(tables, 1, "only schema_migrations exists");
}

/// Nodes starting at the same time on an empty database migrate it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_connects_migrate_once() {
    let db = TestDatabase::create().await;
    let connects = (0..4).map(|_| {
        let url = db.url.clone();
        tokio::spawn(async move { PostgresStore::connect(&url, None, 1).await })
    });
    for handle in connects.collect::<Vec<_>>() {
        let store = handle.await.expect("task").expect("connect");
        assert_eq!(
            store.schema_version().await.expect("version"),
            LATEST_POSTGRES_VERSION
        );
    }
    let rows: i64 = db
        .raw()
        .await
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, LATEST_POSTGRES_VERSION);
}

/// Two nodes appending to one mailbox at once: the UIDs are distinct, without gaps, and
/// UID and MODSEQ order agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_appending_to_one_mailbox_get_distinct_ascending_uids() {
    const PER_NODE: u64 = 25;
    let db = TestDatabase::create().await;
    let a: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let b: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let (_, inbox) = conformance::inbox(&*a).await;

    let mut tasks = Vec::new();
    for n in 0..PER_NODE * 2 {
        let node = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            node.append_message(inbox.id, &conformance::new_message(n, 10))
                .await
        }));
    }
    let mut uids = Vec::new();
    for task in tasks {
        let message = task.await.expect("task").expect("append");
        uids.push(message.uid);
    }
    uids.sort();
    let expected: Vec<Uid> = (1..=PER_NODE as u32 * 2).map(Uid).collect();
    assert_eq!(uids, expected, "distinct UIDs without gaps");

    let messages = b.messages(inbox.id).await.expect("messages");
    assert_eq!(messages.len(), expected.len());
    for pair in messages.windows(2) {
        assert!(pair[0].uid < pair[1].uid);
        assert!(pair[0].modseq < pair[1].modseq, "MODSEQ follows UID order");
    }
    let mailbox = a
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    assert_eq!(mailbox.uid_next, Uid(PER_NODE as u32 * 2 + 1));
    assert_eq!(mailbox.highest_modseq, ModSeq(PER_NODE * 2 + 1));
}

/// Appends on one node while another changes flags and expunges: every change gets its
/// own MODSEQ, and the change log ends at HIGHESTMODSEQ.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_changing_one_mailbox_keep_modseqs_unique() {
    let db = TestDatabase::create().await;
    let a: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let b: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let (_, inbox) = conformance::inbox(&*a).await;
    for n in 0..10 {
        a.append_message(inbox.id, &conformance::new_message(n, 1))
            .await
            .expect("append");
    }

    let appender = {
        let a = a.clone();
        tokio::spawn(async move {
            for n in 10..30 {
                a.append_message(inbox.id, &conformance::new_message(n, 1))
                    .await
                    .expect("append");
            }
        })
    };
    let changer = {
        let b = b.clone();
        tokio::spawn(async move {
            for round in 0..10u32 {
                let op = if round % 2 == 0 {
                    FlagOp::Add
                } else {
                    FlagOp::Remove
                };
                let uids: Vec<Uid> = (1..=30).map(Uid).collect();
                b.store_flags(inbox.id, &uids, op, Flags::SEEN, &[])
                    .await
                    .expect("store_flags");
            }
            b.expunge(inbox.id, &[Uid(1), Uid(2)])
                .await
                .expect("expunge")
        })
    };
    appender.await.expect("appender");
    let expunged = changer.await.expect("changer");
    assert_eq!(expunged, vec![Uid(1), Uid(2)]);

    let changes = a.changes_since(inbox.id, ModSeq(0)).await.expect("changes");
    for pair in changes.windows(2) {
        assert!(
            pair[0].modseq < pair[1].modseq,
            "strictly ascending MODSEQs"
        );
    }
    let mailbox = b
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    assert_eq!(
        changes.last().map(|c| c.modseq),
        Some(mailbox.highest_modseq)
    );
    assert_eq!(mailbox.uid_next, Uid(31));
    for m in a.messages(inbox.id).await.expect("messages") {
        assert!(m.modseq <= mailbox.highest_modseq);
    }
}

/// The same content stored by two nodes at once is one blob with one id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blob_put_is_idempotent_across_two_nodes() {
    let db = TestDatabase::create().await;
    let a: Arc<dyn BlobStore> = Arc::new(db.connect().await);
    let b: Arc<dyn BlobStore> = Arc::new(db.connect().await);
    let content = b"From: a@example.org\r\nSubject: once\r\n\r\nbody\r\n".to_vec();

    let mut tasks = Vec::new();
    for n in 0..10 {
        let node = if n % 2 == 0 { a.clone() } else { b.clone() };
        let content = content.clone();
        tasks.push(tokio::spawn(async move { node.put(&content).await }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("task").expect("put"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one id for one content");
    assert_eq!(a.list().await.expect("list"), ids);
    assert_eq!(b.get(&ids[0]).await.expect("get"), Some(content));
    let rows: i64 = db
        .raw()
        .await
        .query_one("SELECT COUNT(*) FROM blobs", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 1);
}

/// The features every learn of the Bayes tests below uses: since all messages have the
/// same features, a consistent model has each feature's counts equal to its totals.
fn bayes_features() -> Vec<u64> {
    (0..400u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect()
}

/// Asserts that every feature's counts equal the model's totals, and returns them.
async fn assert_bayes_consistent(store: &dyn MetaStore, model: BayesModel) -> BayesTotals {
    let features = bayes_features();
    let (found, totals) = store
        .bayes_counts(model, &features)
        .await
        .expect("bayes_counts");
    let want = BayesCounts {
        spam: totals.spam as u32,
        ham: totals.ham as u32,
    };
    if totals.spam + totals.ham > 0 {
        assert_eq!(found.len(), features.len());
    }
    for (feature, counts) in found {
        assert_eq!(
            counts, want,
            "feature {feature:#x} against totals {totals:?}"
        );
    }
    totals
}

/// Nodes learning one message at the same time, as the same or different classes, count
/// it once: its `bayes_learned` row decides, under its lock. Concurrent learns of other
/// messages with the same features (locked in one order) neither deadlock nor go lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_learning_one_message_count_it_once() {
    const ROUNDS: usize = 10;
    const LEARNERS: usize = 6;
    let db = TestDatabase::create().await;
    let a: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let b: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let model = BayesModel::Global;
    let mut others = 0;
    for round in 0..ROUNDS {
        let start = Arc::new(tokio::sync::Barrier::new(LEARNERS + 2));
        let mut tasks = Vec::new();
        for n in 0..LEARNERS + 2 {
            let node = if n % 2 == 0 { a.clone() } else { b.clone() };
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                // Most learn the round's message (odd rounds: with mixed classes); two
                // learn one of their own.
                let (key, class) = match n {
                    0 | 1 => (format!("own {round} {n}"), BayesClass::Ham),
                    _ if round % 2 == 1 && n % 3 == 0 => (format!("m{round}"), BayesClass::Ham),
                    _ => (format!("m{round}"), BayesClass::Spam),
                };
                let mut features = bayes_features();
                features.rotate_left(n * 53);
                start.wait().await;
                node.bayes_learn(model, &key, &features, class).await
            }));
        }
        let mut learned = 0;
        for task in tasks {
            match task.await.expect("task").expect("bayes_learn") {
                LearnOutcome::Learned => learned += 1,
                LearnOutcome::Relearned | LearnOutcome::AlreadyKnown => {}
            }
        }
        others += 2;
        assert_eq!(
            learned, 3,
            "round {round}: the shared message and the two own ones"
        );
        let totals = assert_bayes_consistent(&*a, model).await;
        assert_eq!(
            (totals.spam + totals.ham) as usize,
            round + 1 + others,
            "round {round}: every message counted once"
        );
    }
}

/// A reset racing with learns on two nodes neither deadlocks nor leaves a model whose
/// counts disagree with its totals (a learn is wholly before or wholly after it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bayes_reset_racing_with_learns_keeps_the_model_consistent() {
    let db = TestDatabase::create().await;
    let a: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let b: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let model = BayesModel::Global;
    let start = Arc::new(tokio::sync::Barrier::new(5));
    let mut learners = Vec::new();
    for n in 0..4 {
        let node = if n % 2 == 0 { a.clone() } else { b.clone() };
        let start = start.clone();
        learners.push(tokio::spawn(async move {
            start.wait().await;
            for i in 0..15 {
                node.bayes_learn(
                    model,
                    &format!("{n}/{i}"),
                    &bayes_features(),
                    BayesClass::Spam,
                )
                .await
                .expect("learn beside resets");
            }
        }));
    }
    start.wait().await;
    for _ in 0..5 {
        b.bayes_reset(model).await.expect("reset beside learns");
        assert_bayes_consistent(&*a, model).await;
    }
    for learner in learners {
        learner.await.expect("learner");
    }
    let totals = assert_bayes_consistent(&*b, model).await;
    assert!(totals.spam <= 60 && totals.ham == 0, "{totals:?}");
}

/// An account removed while a node learns into its model leaves no row of that model
/// behind: a learn either ends before the removal (whose trigger then deletes its rows)
/// or finds the account gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn account_removed_while_learning_leaves_no_bayes_rows() {
    let db = TestDatabase::create().await;
    let a: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let b: Arc<dyn MetaStore> = Arc::new(db.connect().await);
    let (alice, _) = conformance::inbox(&*a).await;
    let model = BayesModel::Account(alice.id);
    let learner = {
        let a = a.clone();
        tokio::spawn(async move {
            let mut learned = 0;
            for i in 0..200 {
                match a
                    .bayes_learn(model, &format!("m{i}"), &bayes_features(), BayesClass::Ham)
                    .await
                {
                    Ok(_) => learned += 1,
                    Err(StoreError::NotFound(_)) => return learned,
                    Err(e) => panic!("learn: {e}"),
                }
            }
            learned
        })
    };
    // Let some learns commit first.
    while b.bayes_counts(model, &[]).await.expect("counts").1.ham == 0 {
        tokio::task::yield_now().await;
    }
    b.delete_account(alice.id).await.expect("delete account");
    let learned = learner.await.expect("learner");
    assert!(learned > 0 && learned < 200, "{learned}");

    let raw = db.raw().await;
    for table in ["bayes_models", "bayes_tokens", "bayes_learned"] {
        let rows: i64 = raw
            .query_one(
                &format!("SELECT COUNT(*) FROM {table} WHERE model_id = $1"),
                &[&alice.id.0],
            )
            .await
            .expect("count")
            .get(0);
        assert_eq!(rows, 0, "{table} rows left of the removed account");
    }
}

/// Rows this version cannot read are reported as `Corrupt`, not a panic.
#[tokio::test]
async fn unreadable_rows_are_corrupt() {
    let db = TestDatabase::create().await;
    let store = db.connect().await;
    let (_, inbox) = conformance::inbox(&store).await;
    store
        .append_message(inbox.id, &conformance::new_message(1, 1))
        .await
        .expect("append");
    let raw = db.raw().await;

    raw.execute(
        "UPDATE mailboxes SET special_use = '\\Bogus' WHERE id = $1",
        &[&inbox.id.0],
    )
    .await
    .expect("damage mailbox");
    assert_err!(store.mailbox_by_id(inbox.id).await, Corrupt);

    raw.execute(
        "UPDATE messages SET blob_id = 'not-hex' WHERE mailbox_id = $1",
        &[&inbox.id.0],
    )
    .await
    .expect("damage message");
    assert_err!(store.messages(inbox.id).await, Corrupt);

    raw.execute(
        "UPDATE changes SET kind = 'moved' WHERE mailbox_id = $1",
        &[&inbox.id.0],
    )
    .await
    .expect("damage change");
    assert_err!(store.changes_since(inbox.id, ModSeq(0)).await, Corrupt);

    let queued = store.enqueue(&queued_message(1)).await.expect("enqueue");
    raw.execute("UPDATE queue_recipients SET notify = 300", &[])
        .await
        .expect("damage notify");
    assert_err!(store.queue_message(queued).await, Corrupt);
    raw.execute("UPDATE queue_messages SET blob_id = 'not-hex'", &[])
        .await
        .expect("damage queued blob id");
    assert_err!(store.queue_list().await, Corrupt);
}

/// A server that cannot be reached is a (temporary) error, and a malformed connection
/// string is `Invalid`; neither panics.
#[tokio::test]
async fn connect_failures_are_errors() {
    let unreachable = PostgresStore::connect("postgres://postgres@127.0.0.1:1/postgres", None, 1)
        .await
        .map(|_| ());
    match unreachable {
        Err(e) => assert!(e.is_temporary(), "{e}"),
        Ok(()) => panic!("connect to a closed port succeeded"),
    }
    assert_err!(
        PostgresStore::connect("host=127.0.0.1 port=notanumber", None, 1).await,
        Invalid
    );
}

#[test]
fn test_database_urls_replace_only_the_database() {
    let table = [
        (
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@127.0.0.1:5432/t1",
        ),
        ("postgres://u:p@h", "postgres://u:p@h/t1"),
        (
            "postgresql://u@h:1/db?sslmode=disable",
            "postgresql://u@h:1/t1?sslmode=disable",
        ),
        (
            "host=/run/postgresql user=pg",
            "host=/run/postgresql user=pg dbname=t1",
        ),
    ];
    for (url, want) in table {
        assert_eq!(with_dbname(url, "t1"), want, "{url}");
    }
}
