//! The SQLite metadata store and the filesystem blob store: the conformance suite, plus
//! what only a file-backed store has: persistence across reopen, refusal of a newer
//! schema without touching the file, two processes writing one file, corrupt rows, and
//! group commit of the single writer.

mod conformance;

use std::path::Path;
use std::sync::Arc;

use conformance::{BlobFixture, MetaFixture, assert_err, new_account, new_message};
use mailstead_store::fs::{FsBlobStore, blob_id_of};
use mailstead_store::model::{NewQueuedMessage, NewQueuedRecipient, NotifyFlags};
use mailstead_store::sqlite::SqliteStore;
use mailstead_store::{LATEST_SQLITE_VERSION, MetaStore, StoreError};
use mailstead_types::{BlobId, MailboxId, Uid};

/// A fresh store in its own temp directory (removed when the fixture drops).
async fn fresh_meta() -> Option<MetaFixture> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("meta.sqlite3"), 2)
        .await
        .expect("open sqlite store");
    Some(MetaFixture {
        store: Arc::new(store),
        latest_schema_version: LATEST_SQLITE_VERSION,
        _guard: Box::new(dir),
    })
}

/// A fresh filesystem blob store; corruption overwrites the blob's file in place.
async fn fresh_blobs() -> Option<BlobFixture> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FsBlobStore::open(&dir.path().join("blobs"))
        .await
        .expect("open blob store");
    let files = store.clone();
    Some(BlobFixture {
        store: Arc::new(store),
        corrupt: Some(Box::new(move |id: BlobId| {
            let path = files.path_of(&id);
            Box::pin(async move {
                std::fs::write(&path, b"not what was stored").expect("overwrite blob file");
            })
        })),
        _guard: Box::new(dir),
    })
}

conformance::meta_conformance_tests!(fresh_meta);
conformance::blob_conformance_tests!(fresh_blobs);

// --- SQLite only -------------------------------------------------------------------------

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, 2).await.expect("open sqlite store")
}

/// A message to queue for one remote recipient.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_store_finds_its_data_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join("meta.sqlite3");
    let (alice, inbox, appended) = {
        let store = open(&path).await;
        store
            .create_domain(&conformance::dn("example.org"))
            .await
            .expect("domain");
        let alice = store
            .create_account(&new_account("alice@example.org"))
            .await
            .expect("account");
        let inbox = conformance::mailbox(&store, alice.id, "INBOX").await;
        let appended = store
            .append_message(inbox.id, &new_message(1, 42))
            .await
            .expect("append");
        (alice, inbox, appended)
    };

    let store = open(&path).await;
    assert_eq!(
        store.schema_version().await.expect("version"),
        LATEST_SQLITE_VERSION
    );
    assert_eq!(
        store.account(&alice.address).await.expect("account"),
        Some(alice.clone())
    );
    assert_eq!(
        store.messages(inbox.id).await.expect("messages"),
        vec![appended]
    );
    let next = store
        .append_message(inbox.id, &new_message(2, 1))
        .await
        .expect("append");
    assert_eq!(next.uid, Uid(2), "UIDNEXT survived the reopen");
    assert_eq!(store.mailboxes(alice.id).await.expect("mailboxes").len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_schema_is_refused_and_the_file_is_not_modified() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("meta.sqlite3");
    let newer = LATEST_SQLITE_VERSION + 1;
    {
        // As a newer mailstead would have left it (rollback journal, not yet WAL, so a
        // change of journal mode would show in the file header too).
        let conn = rusqlite::Connection::open(&path).expect("create db");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             applied_at INTEGER NOT NULL);
             CREATE TABLE from_the_future (x INTEGER);",
        )
        .expect("schema");
        for version in 1..=newer {
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, 'step', 0)",
                [version],
            )
            .expect("row");
        }
    }
    let before = std::fs::read(&path).expect("read db");

    match SqliteStore::open(&path, 1).await {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!(found, newer);
            assert_eq!(supported, LATEST_SQLITE_VERSION);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(&path).expect("read db"),
        before,
        "file untouched"
    );
    assert!(!dir.path().join("meta.sqlite3-wal").exists());
}

/// Two stores on one file, as the server and a CLI command in two processes would have:
/// both write at once, into the same mailbox, without "database is locked" errors and
/// without a UID given twice (BEGIN IMMEDIATE + busy timeout serialise them).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_write_concurrently() {
    const PER_TASK: u64 = 60;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("meta.sqlite3");
    let (a, b) = tokio::join!(open(&path), open(&path));
    let (a, b): (Arc<dyn MetaStore>, Arc<dyn MetaStore>) = (Arc::new(a), Arc::new(b));
    let (alice, inbox) = conformance::inbox(&*a).await;

    let mut tasks = Vec::new();
    for (t, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                store
                    .append_message(inbox.id, &new_message(t as u64 * 1_000 + i, 1))
                    .await
                    .expect("append without a lock error");
            }
        }));
    }
    // Meanwhile, other writes through both stores.
    for i in 0..10 {
        let store = if i % 2 == 0 { &a } else { &b };
        store
            .create_mailbox(alice.id, &format!("Folder {i}"), None)
            .await
            .expect("create mailbox without a lock error");
    }
    for task in tasks {
        task.await.expect("task");
    }

    let total = 4 * PER_TASK as u32;
    for store in [&a, &b] {
        let uids: Vec<_> = store
            .messages(inbox.id)
            .await
            .expect("messages")
            .into_iter()
            .map(|m| m.uid)
            .collect();
        assert_eq!(uids, (1..=total).map(Uid).collect::<Vec<_>>());
        assert_eq!(
            store.mailboxes(alice.id).await.expect("mailboxes").len(),
            16
        );
    }
}

/// A row that does not decode is reported as `Corrupt`, not a panic or a generic error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rows_are_reported_as_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("meta.sqlite3");
    let store = open(&path).await;
    let (alice, inbox) = conformance::inbox(&store).await;
    store
        .append_message(inbox.id, &new_message(1, 10))
        .await
        .expect("append");

    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    raw.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    raw.execute("UPDATE messages SET blob_id = 'not hex'", [])
        .expect("damage blob id");
    assert_err!(store.messages(inbox.id).await, Corrupt);

    raw.execute(
        "UPDATE mailboxes SET special_use = '\\Bogus' WHERE name = 'Sent'",
        [],
    )
    .expect("damage special use");
    assert_err!(store.mailboxes(alice.id).await, Corrupt);

    raw.execute(
        "UPDATE mailboxes SET uid_next = -5 WHERE id = ?1",
        [inbox.id.0],
    )
    .expect("damage uid_next");
    assert_err!(store.mailbox_by_id(inbox.id).await, Corrupt);

    raw.execute("UPDATE accounts SET address = 'no at sign'", [])
        .expect("damage address");
    assert_err!(store.account_by_id(alice.id).await, Corrupt);

    raw.execute("UPDATE domains SET name = 'bad domain!'", [])
        .expect("damage domain");
    assert_err!(store.list_domains().await, Corrupt);

    let queued = store.enqueue(&queued_message(1)).await.expect("enqueue");
    raw.execute("UPDATE queue_recipients SET notify = 300", [])
        .expect("damage notify");
    assert_err!(store.queue_message(queued).await, Corrupt);
    raw.execute("UPDATE queue_messages SET blob_id = 'not hex'", [])
        .expect("damage queued blob id");
    assert_err!(store.queue_list().await, Corrupt);
}

/// `open` creates the database's directory, and a second open of the same file works
/// while the first store is still open (the server runs, a CLI command starts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_creates_the_directory_and_shares_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("a").join("b").join("meta.sqlite3");
    let first = open(&path).await;
    first
        .create_domain(&conformance::dn("example.org"))
        .await
        .expect("domain");
    let second = open(&path).await;
    assert_eq!(second.list_domains().await.expect("list").len(), 1);
    second
        .create_domain(&conformance::dn("example.net"))
        .await
        .expect("domain");
    // The first store's readers see the second's commit at once.
    assert_eq!(first.list_domains().await.expect("list").len(), 2);
    assert_eq!(first.path(), path.as_path());
}

/// Group commit: concurrent deliveries share commits (fewer commits than deliveries), and
/// one that fails (a missing mailbox among its targets) fails alone: its good target gets
/// nothing, while the deliveries committed in the same group are all there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_share_commits_and_fail_alone() {
    const JOBS: usize = 50;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open(&dir.path().join("meta.sqlite3")).await);
    let (_, a) = conformance::inbox(&*store).await;
    let bob = conformance::account(&*store, "bob@example.org").await;
    let b = conformance::mailbox(&*store, bob.id, "INBOX").await;
    let missing = MailboxId(b.id.0 + 1000);
    let fails = |job: usize| job % 5 == 3;

    let commits_before = store.commits();
    let start = Arc::new(tokio::sync::Barrier::new(JOBS));
    let mut tasks = Vec::new();
    for job in 0..JOBS {
        let (store, start) = (store.clone(), start.clone());
        let second = if fails(job) { missing } else { b.id };
        tasks.push(tokio::spawn(async move {
            let message = new_message(job as u64, 1);
            start.wait().await;
            store
                .append_messages(&[(a.id, message.clone()), (second, message)])
                .await
        }));
    }
    let mut delivered = Vec::new();
    for (job, task) in tasks.into_iter().enumerate() {
        let result = task.await.expect("task");
        if fails(job) {
            assert_err!(result, NotFound);
        } else {
            let got = result.unwrap_or_else(|e| panic!("delivery {job} failed: {e}"));
            delivered.push(got[0].blob_id);
        }
    }
    let commits = store.commits() - commits_before;
    let good = delivered.len();
    assert_eq!(good, JOBS - JOBS / 5);
    assert!(
        commits > 0 && commits < good as u64,
        "{commits} commits for {good} concurrent deliveries: no group commit"
    );

    for mailbox in [a.id, b.id] {
        let stored = store.messages(mailbox).await.expect("messages");
        assert_eq!(
            stored.iter().map(|m| m.uid).collect::<Vec<_>>(),
            (1..=good as u32).map(Uid).collect::<Vec<_>>(),
            "no UID used by a failed delivery"
        );
        let mut blobs: Vec<_> = stored.iter().map(|m| m.blob_id).collect();
        blobs.sort();
        delivered.sort();
        assert_eq!(blobs, delivered, "exactly the good deliveries");
    }
}

/// Group commit covers the queue rows too: concurrent acceptances, each with a local copy
/// and a queue entry, share commits, and one that fails (a missing mailbox) queues
/// nothing while those committed with it are all queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accepts_with_queue_entries_share_commits_and_fail_alone() {
    const JOBS: usize = 50;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open(&dir.path().join("meta.sqlite3")).await);
    let (_, inbox) = conformance::inbox(&*store).await;
    let missing = MailboxId(inbox.id.0 + 1000);
    let fails = |job: usize| job % 5 == 3;

    let commits_before = store.commits();
    let start = Arc::new(tokio::sync::Barrier::new(JOBS));
    let mut tasks = Vec::new();
    for job in 0..JOBS {
        let (store, start) = (store.clone(), start.clone());
        let target = if fails(job) { missing } else { inbox.id };
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            store
                .accept(
                    &[(target, new_message(job as u64, 1))],
                    &[],
                    &[queued_message(job as u64)],
                )
                .await
        }));
    }
    let mut queued = Vec::new();
    for (job, task) in tasks.into_iter().enumerate() {
        let result = task.await.expect("task");
        if fails(job) {
            assert_err!(result, NotFound);
        } else {
            let (_, ids) = result.unwrap_or_else(|e| panic!("accept {job} failed: {e}"));
            queued.extend(ids);
        }
    }
    let commits = store.commits() - commits_before;
    let good = queued.len();
    assert_eq!(good, JOBS - JOBS / 5);
    assert!(
        commits > 0 && commits < good as u64,
        "{commits} commits for {good} concurrent acceptances: no group commit"
    );
    queued.sort();
    let listed: Vec<_> = store
        .queue_list()
        .await
        .expect("queue_list")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(listed, queued, "exactly the good acceptances are queued");
    assert_eq!(
        store.messages(inbox.id).await.expect("messages").len(),
        good
    );
}
