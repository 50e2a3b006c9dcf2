//! The outbound queue: messages queued by `accept` (atomically with local delivery),
//! leased by workers, completed attempt by attempt, retried, deleted and counted; DSN
//! requests replaced by their notices; the queue's wake-ups; and what a queued message
//! may not hold.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use mailstead_store::MetaStore;
use mailstead_store::fs::blob_id_of;
use mailstead_store::model::{
    DsnAction, DsnRet, NewDsnRequest, NewQueuedMessage, NewQueuedRecipient, NotifyFlags,
    OriginalRecipient, QueueStats, QueuedMessage, QueuedRecipient, RecipientStatus,
    RecipientUpdate,
};
use mailstead_types::{AccountId, DsnRequestId, MailboxId, ModSeq, QueueId, QueueRecipientId};

use super::{MetaFixture, account, assert_err, domain, inbox, new_message};

/// The test clock: every time in these tests is an offset from it.
const T0: i64 = 1_700_000_000;

/// A message for `recipients`, due at `next_attempt`, with every optional field set.
fn queued(n: u64, recipients: &[&str], next_attempt: i64) -> NewQueuedMessage {
    NewQueuedMessage {
        blob_id: blob_id_of(format!("queued {n}").as_bytes()),
        size: 100 + n,
        mail_from: "alice@example.org".into(),
        envid: Some(format!("env {n}")),
        ret: Some(DsnRet::Hdrs),
        body_8bit: true,
        smtputf8: false,
        requiretls: true,
        submitter: None,
        created_at: T0 + n as i64,
        next_attempt,
        recipients: recipients
            .iter()
            .map(|address| NewQueuedRecipient {
                address: (*address).to_owned(),
                original_recipient: Some(OriginalRecipient {
                    addr_type: "rfc822".into(),
                    address: format!("Orig+{address}"),
                }),
                notify: NotifyFlags::FAILURE.union(NotifyFlags::DELAY),
            })
            .collect(),
    }
}

/// A notification from the null sender (a DSN or delay notice): what an attempt queues.
fn notice(n: u64) -> NewQueuedMessage {
    NewQueuedMessage {
        mail_from: String::new(),
        envid: None,
        ret: None,
        body_8bit: false,
        requiretls: false,
        ..queued(1_000 + n, &["alice@example.org"], T0)
    }
}

/// What the store must give back for `new`, stored as `got` (whose ids it chose).
fn stored(got: &QueuedMessage, new: &NewQueuedMessage) -> QueuedMessage {
    assert_eq!(got.recipients.len(), new.recipients.len(), "{got:?}");
    QueuedMessage {
        id: got.id,
        blob_id: new.blob_id,
        size: new.size,
        mail_from: new.mail_from.clone(),
        envid: new.envid.clone(),
        ret: new.ret,
        body_8bit: new.body_8bit,
        smtputf8: new.smtputf8,
        requiretls: new.requiretls,
        submitter: new.submitter,
        created_at: new.created_at,
        lease_until: None,
        recipients: got
            .recipients
            .iter()
            .zip(&new.recipients)
            .map(|(got, new_r)| QueuedRecipient {
                id: got.id,
                address: new_r.address.clone(),
                original_recipient: new_r.original_recipient.clone(),
                notify: new_r.notify,
                status: RecipientStatus::Pending,
                attempts: 0,
                next_attempt: new.next_attempt,
                last_attempt: None,
                last_error: None,
                delay_notified: false,
            })
            .collect(),
    }
}

/// An update that records an attempt with `status`.
fn attempt(
    id: QueueRecipientId,
    status: RecipientStatus,
    next: i64,
    reply: &str,
) -> RecipientUpdate {
    RecipientUpdate {
        id,
        status,
        attempted: true,
        next_attempt: next,
        last_error: Some(reply.to_owned()),
        delay_notified: false,
    }
}

async fn list(s: &dyn MetaStore) -> Vec<QueuedMessage> {
    s.queue_list().await.expect("queue_list")
}

async fn message(s: &dyn MetaStore, id: QueueId) -> QueuedMessage {
    s.queue_message(id)
        .await
        .expect("queue_message")
        .unwrap_or_else(|| panic!("queued message {id} exists"))
}

fn ids(messages: &[QueuedMessage]) -> Vec<QueueId> {
    messages.iter().map(|m| m.id).collect()
}

/// A DSN request for the replace test.
fn request(n: i64) -> NewDsnRequest {
    NewDsnRequest {
        blob_id: blob_id_of(b"delivered"),
        mail_from: "sender@example.com".into(),
        envid: None,
        ret: None,
        recipient: format!("rcpt{n}@example.org"),
        original_recipient: None,
        action: DsnAction::Delivered,
        created_at: T0 + n,
    }
}

/// `accept` delivers locally, stores DSN requests and queues messages in one call; queued
/// messages come back field for field (optional fields set and absent), with their
/// recipients pending and untried. A failure anywhere (a missing mailbox, a queued
/// message without recipients) writes nothing at all.
pub async fn accept_delivers_locally_and_queues_atomically(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let local = new_message(1, 10);
    let first = queued(1, &["bob@remote.example", "carol@remote.example"], T0);
    let second = NewQueuedMessage {
        envid: None,
        ret: None,
        submitter: Some(alice.id),
        recipients: vec![NewQueuedRecipient {
            address: "dave@other.example".into(),
            original_recipient: None,
            notify: NotifyFlags::UNSET,
        }],
        ..queued(2, &[], T0 + 5)
    };
    let (messages, queue_ids) = s
        .accept(
            &[(inbox.id, local.clone())],
            &[request(1)],
            &[first.clone(), second.clone()],
        )
        .await
        .expect("accept");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].blob_id, local.blob_id);
    assert_eq!(queue_ids.len(), 2);
    assert_ne!(queue_ids[0], queue_ids[1]);

    let got = list(s).await;
    let mut want_order = queue_ids.clone();
    want_order.sort();
    assert_eq!(ids(&got), want_order, "listed ascending by id");
    let by_id = |id: QueueId| got.iter().find(|m| m.id == id).cloned().expect("listed");
    let (got_first, got_second) = (by_id(queue_ids[0]), by_id(queue_ids[1]));
    assert_eq!(got_first, stored(&got_first, &first));
    assert_eq!(got_second, stored(&got_second, &second));
    assert!(got_first.recipients[0].id < got_first.recipients[1].id);
    assert_eq!(message(s, queue_ids[1]).await, got_second);
    assert_eq!(
        s.queue_message(QueueId(queue_ids[1].0 + 1000))
            .await
            .expect("queue_message"),
        None
    );
    assert_eq!(s.dsn_requests(10).await.expect("dsn").len(), 1);
    assert_eq!(
        s.accept(&[], &[], &[]).await.expect("nothing"),
        (vec![], vec![])
    );

    // A missing mailbox: neither the good target nor the queue entry is written.
    let before = s.mailbox_by_id(inbox.id).await.expect("mailbox");
    let missing = MailboxId(inbox.id.0 + 1000);
    let third = queued(3, &["erin@remote.example"], T0);
    assert_err!(
        s.accept(
            &[
                (inbox.id, new_message(2, 10)),
                (missing, new_message(2, 10))
            ],
            &[request(2)],
            std::slice::from_ref(&third),
        )
        .await,
        NotFound
    );
    // A queued message without recipients: the same.
    assert_err!(
        s.accept(
            &[(inbox.id, new_message(3, 10))],
            &[],
            &[third.clone(), queued(4, &[], T0)],
        )
        .await,
        Invalid
    );
    assert_eq!(list(s).await, got, "nothing queued");
    assert_eq!(s.messages(inbox.id).await.expect("messages"), messages);
    assert_eq!(s.mailbox_by_id(inbox.id).await.expect("mailbox"), before);
    assert_eq!(s.dsn_requests(10).await.expect("dsn").len(), 1);

    // Queue only (the null sender's bounce of a remote message, say).
    let id = s.enqueue(&third).await.expect("enqueue");
    let got = message(s, id).await;
    assert_eq!(got, stored(&got, &third));
    assert_eq!(list(s).await.len(), 3);
}

/// Texts a PostgreSQL `TEXT` cannot hold (NUL, which xtext can carry), an empty recipient
/// and a message without recipients are `Invalid` on every backend, and a submitter that
/// does not exist is `NotFound`; nothing of the call is written.
pub async fn accept_refuses_queued_messages_no_backend_can_store(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    let good = queued(1, &["bob@remote.example"], T0);
    let with_recipient = |address: &str, orcpt: Option<(&str, &str)>| NewQueuedMessage {
        recipients: vec![NewQueuedRecipient {
            address: address.into(),
            original_recipient: orcpt.map(|(t, a)| OriginalRecipient {
                addr_type: t.into(),
                address: a.into(),
            }),
            notify: NotifyFlags::UNSET,
        }],
        ..good.clone()
    };
    let bad = [
        NewQueuedMessage {
            mail_from: "a\0b@example.org".into(),
            ..good.clone()
        },
        NewQueuedMessage {
            envid: Some("env\0id".into()),
            ..good.clone()
        },
        with_recipient("bob\0@remote.example", None),
        with_recipient("bob@remote.example", Some(("rfc822", "orig\0@example.org"))),
        with_recipient("bob@remote.example", Some(("rfc\0822", "orig@example.org"))),
        with_recipient("", None),
        NewQueuedMessage {
            recipients: Vec::new(),
            ..good.clone()
        },
    ];
    for bad in bad {
        assert_err!(
            s.accept(
                &[(inbox.id, new_message(1, 10))],
                &[request(1)],
                &[good.clone(), bad.clone()],
            )
            .await,
            Invalid
        );
        assert_err!(s.enqueue(&bad).await, Invalid);
    }
    assert_err!(
        s.enqueue(&NewQueuedMessage {
            submitter: Some(AccountId(999_999)),
            ..good.clone()
        })
        .await,
        NotFound
    );
    assert!(list(s).await.is_empty(), "nothing queued");
    assert!(s.messages(inbox.id).await.expect("messages").is_empty());
    assert!(s.dsn_requests(10).await.expect("dsn").is_empty());
    assert_eq!(
        s.changes_since(inbox.id, ModSeq(0)).await.expect("changes"),
        vec![]
    );
}

/// A lease takes only messages with a due pending recipient, most overdue first, at most
/// `limit`, sets their lease, and returns each with all its recipients (final ones and
/// pending ones not yet due too).
pub async fn lease_takes_due_messages_most_overdue_first(f: &MetaFixture) {
    let s = &*f.store;
    let a = s
        .enqueue(&queued(
            1,
            &["a1@remote.example", "a2@remote.example"],
            T0 + 30,
        ))
        .await
        .expect("enqueue");
    let b = s
        .enqueue(&queued(2, &["b@remote.example"], T0 + 10))
        .await
        .expect("enqueue");
    let c = s
        .enqueue(&queued(3, &["c@remote.example"], T0 + 20))
        .await
        .expect("enqueue");
    let later = s
        .enqueue(&queued(4, &["d@remote.example"], T0 + 100))
        .await
        .expect("enqueue");

    assert_eq!(
        s.queue_lease(T0 + 50, 1000, 0).await.expect("lease"),
        vec![]
    );
    let leased = s.queue_lease(T0 + 50, 1000, 2).await.expect("lease");
    assert_eq!(
        ids(&leased),
        [b, c],
        "most overdue first, at most the limit"
    );
    for m in &leased {
        assert_eq!(m.lease_until, Some(T0 + 1050));
        assert_eq!(*m, message(s, m.id).await, "as stored, with the lease");
    }
    let leased = s.queue_lease(T0 + 50, 1000, 10).await.expect("lease");
    assert_eq!(
        ids(&leased),
        [a],
        "the leased and the not-yet-due are left out"
    );
    assert_eq!(leased[0].recipients.len(), 2);
    assert_eq!(
        s.queue_lease(T0 + 50, 1000, 10).await.expect("lease"),
        vec![]
    );
    assert_eq!(message(s, later).await.lease_until, None);

    // All recipients come with the message: a delivered one and a pending one due later.
    let m = s
        .enqueue(&queued(
            5,
            &["x@remote.example", "y@remote.example", "z@remote.example"],
            T0,
        ))
        .await
        .expect("enqueue");
    let r = message(s, m).await.recipients;
    s.queue_complete(
        m,
        &[
            attempt(r[0].id, RecipientStatus::Delivered, T0, "250 ok"),
            attempt(r[1].id, RecipientStatus::Pending, T0 + 10_000, "451 later"),
            attempt(r[2].id, RecipientStatus::Pending, T0 + 60, "451 soon"),
        ],
        &[],
    )
    .await
    .expect("complete");
    // m's earliest due pending recipient (T0 + 60) is more overdue than `later`'s.
    let leased = s.queue_lease(T0 + 200, 60, 10).await.expect("lease");
    assert_eq!(ids(&leased), [m, later]);
    let statuses: Vec<_> = leased[0].recipients.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            RecipientStatus::Delivered,
            RecipientStatus::Pending,
            RecipientStatus::Pending
        ]
    );
}

/// A leased message is not leased again while its lease stands (`lease_until >= now`),
/// and is once it has expired (a worker that died).
pub async fn leased_messages_are_not_leased_again_until_the_lease_expires(f: &MetaFixture) {
    let s = &*f.store;
    let id = s
        .enqueue(&queued(1, &["bob@remote.example"], T0))
        .await
        .expect("enqueue");
    let leased = s.queue_lease(T0, 60, 10).await.expect("lease");
    assert_eq!(ids(&leased), [id]);
    assert_eq!(leased[0].lease_until, Some(T0 + 60));
    assert_eq!(message(s, id).await.lease_until, Some(T0 + 60));

    for now in [T0, T0 + 30, T0 + 60] {
        assert_eq!(
            s.queue_lease(now, 60, 10).await.expect("lease"),
            vec![],
            "leased at {now}"
        );
    }
    let again = s.queue_lease(T0 + 61, 60, 10).await.expect("lease");
    assert_eq!(ids(&again), [id], "the lease expired");
    assert_eq!(again[0].lease_until, Some(T0 + 121));
}

/// Leases taken at the same time never hand out one message twice; together with the
/// leases after them they hand out every due message.
pub async fn concurrent_leases_never_return_the_same_message(f: &MetaFixture) {
    const MESSAGES: u64 = 30;
    let s: Arc<dyn MetaStore> = f.store.clone();
    let mut all = HashSet::new();
    for n in 0..MESSAGES {
        all.insert(
            s.enqueue(&queued(n, &["bob@remote.example"], T0))
                .await
                .expect("enqueue"),
        );
    }
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (s, start) = (s.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                s.queue_lease(T0, 300, 5).await
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.extend(ids(&task.await.expect("task").expect("lease")));
    }
    loop {
        let more = s.queue_lease(T0, 300, 5).await.expect("lease");
        if more.is_empty() {
            break;
        }
        seen.extend(ids(&more));
    }
    let distinct: HashSet<QueueId> = seen.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        seen.len(),
        "a message leased twice: {seen:?}"
    );
    assert_eq!(distinct, all, "every due message leased");
}

/// `queue_complete` records each recipient's attempt, queues the notices, clears the
/// lease and keeps the message while a recipient is pending; once every recipient is
/// final it removes the message (and says so).
pub async fn queue_complete_records_attempts_and_removes_finished_messages(f: &MetaFixture) {
    let s = &*f.store;
    let id = s
        .enqueue(&queued(
            1,
            &["bob@remote.example", "carol@remote.example"],
            T0,
        ))
        .await
        .expect("enqueue");
    s.queue_lease(T0, 60, 10).await.expect("lease");
    let r = message(s, id).await.recipients;

    let removed = s
        .queue_complete(
            id,
            &[
                attempt(r[0].id, RecipientStatus::Delivered, T0, "250 2.0.0 ok"),
                RecipientUpdate {
                    delay_notified: true,
                    // From a remote server: a NUL is dropped, not refused.
                    ..attempt(
                        r[1].id,
                        RecipientStatus::Pending,
                        T0 + 600,
                        "451 grey\0listed",
                    )
                },
            ],
            &[notice(1)],
        )
        .await
        .expect("complete");
    assert!(!removed, "carol is still pending");
    let m = message(s, id).await;
    assert_eq!(m.lease_until, None, "lease cleared");
    let (bob, carol) = (&m.recipients[0], &m.recipients[1]);
    assert_eq!(bob.status, RecipientStatus::Delivered);
    assert_eq!(bob.attempts, 1);
    assert!(bob.last_attempt.is_some());
    assert_eq!(bob.last_error.as_deref(), Some("250 2.0.0 ok"));
    assert_eq!(carol.status, RecipientStatus::Pending);
    assert_eq!(carol.attempts, 1);
    assert_eq!(carol.next_attempt, T0 + 600);
    assert_eq!(carol.last_error.as_deref(), Some("451 greylisted"));
    assert!(carol.delay_notified);
    let queue = list(s).await;
    assert_eq!(queue.len(), 2, "the notice is queued");
    let notice_id = queue
        .iter()
        .map(|m| m.id)
        .find(|q| *q != id)
        .expect("notice");
    let got = message(s, notice_id).await;
    assert_eq!(got, stored(&got, &notice(1)));

    // An update without an attempt is not counted; a delay notice stays recorded.
    s.queue_complete(
        id,
        &[RecipientUpdate {
            attempted: false,
            ..attempt(r[1].id, RecipientStatus::Pending, T0 + 900, "451 again")
        }],
        &[],
    )
    .await
    .expect("complete");
    let carol = message(s, id).await.recipients[1].clone();
    assert_eq!(carol.attempts, 1);
    assert_eq!(carol.next_attempt, T0 + 900);
    assert!(carol.delay_notified);

    let removed = s
        .queue_complete(
            id,
            &[attempt(
                r[1].id,
                RecipientStatus::Failed,
                T0,
                "550 no such user",
            )],
            &[notice(2)],
        )
        .await
        .expect("complete");
    assert!(removed, "every recipient is final");
    assert_eq!(s.queue_message(id).await.expect("queue_message"), None);
    assert_eq!(list(s).await.len(), 2, "both notices, not the message");
}

/// An update naming a recipient of another message (or one that does not exist, or one
/// recipient twice) and an invalid notice are `Invalid`, and nothing of the call is
/// written: no update, no notice, the lease kept.
pub async fn queue_complete_with_a_foreign_recipient_writes_nothing(f: &MetaFixture) {
    let s = &*f.store;
    let a = s
        .enqueue(&queued(1, &["a@remote.example"], T0))
        .await
        .expect("enqueue");
    let b = s
        .enqueue(&queued(2, &["b@remote.example"], T0))
        .await
        .expect("enqueue");
    s.queue_lease(T0, 60, 10).await.expect("lease");
    let ra = message(s, a).await.recipients[0].id;
    let rb = message(s, b).await.recipients[0].id;
    let before = list(s).await;

    let delivered = |id| attempt(id, RecipientStatus::Delivered, T0, "250 ok");
    let calls: Vec<(Vec<RecipientUpdate>, Vec<NewQueuedMessage>)> = vec![
        (vec![delivered(ra), delivered(rb)], vec![notice(1)]),
        (vec![delivered(rb)], vec![]),
        (vec![delivered(QueueRecipientId(rb.0 + 1000))], vec![]),
        (vec![delivered(ra), delivered(ra)], vec![]),
        (
            vec![delivered(ra)],
            vec![NewQueuedMessage {
                mail_from: "x\0@example.org".into(),
                ..notice(2)
            }],
        ),
        (vec![delivered(ra)], vec![queued(3, &[], T0)]),
    ];
    for (updates, notices) in calls {
        assert_err!(s.queue_complete(a, &updates, &notices).await, Invalid);
    }
    assert_eq!(list(s).await, before, "nothing written");
}

/// Completing a message an operator deleted meanwhile is `NotFound`, and its notices are
/// not queued.
pub async fn queue_complete_of_a_deleted_message_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    let id = s
        .enqueue(&queued(1, &["bob@remote.example"], T0))
        .await
        .expect("enqueue");
    s.queue_lease(T0, 60, 10).await.expect("lease");
    let r = message(s, id).await.recipients[0].id;
    s.queue_delete(id).await.expect("delete");
    assert_err!(
        s.queue_complete(
            id,
            &[attempt(r, RecipientStatus::Failed, T0, "550 no")],
            &[notice(1)],
        )
        .await,
        NotFound
    );
    assert!(list(s).await.is_empty(), "the notice was not queued");
}

/// `queue_next_due`: the earliest pending attempt, or a standing lease's end when later;
/// `None` when nothing is pending.
pub async fn queue_next_due_follows_pending_attempts_and_leases(f: &MetaFixture) {
    let s = &*f.store;
    assert_eq!(s.queue_next_due().await.expect("next_due"), None);
    let a = s
        .enqueue(&queued(1, &["a@remote.example"], T0 + 100))
        .await
        .expect("enqueue");
    assert_eq!(s.queue_next_due().await.expect("next_due"), Some(T0 + 100));
    let b = s
        .enqueue(&queued(
            2,
            &["b1@remote.example", "b2@remote.example"],
            T0 + 50,
        ))
        .await
        .expect("enqueue");
    assert_eq!(s.queue_next_due().await.expect("next_due"), Some(T0 + 50));

    assert_eq!(
        ids(&s.queue_lease(T0 + 60, 100, 10).await.expect("lease")),
        [b]
    );
    assert_eq!(
        s.queue_next_due().await.expect("next_due"),
        Some(T0 + 100),
        "b is leased until T0 + 160"
    );
    let rb = message(s, b).await.recipients;
    s.queue_complete(
        b,
        &[
            attempt(rb[0].id, RecipientStatus::Delivered, T0, "250 ok"),
            attempt(rb[1].id, RecipientStatus::Pending, T0 + 70, "451 later"),
        ],
        &[],
    )
    .await
    .expect("complete");
    assert_eq!(
        s.queue_next_due().await.expect("next_due"),
        Some(T0 + 70),
        "only b's pending recipient counts, and the lease is gone"
    );
    s.queue_complete(
        b,
        &[attempt(rb[1].id, RecipientStatus::Failed, T0, "550 no")],
        &[],
    )
    .await
    .expect("complete");
    let ra = message(s, a).await.recipients[0].id;
    s.queue_complete(
        a,
        &[attempt(ra, RecipientStatus::Delivered, T0, "250 ok")],
        &[],
    )
    .await
    .expect("complete");
    assert_eq!(s.queue_next_due().await.expect("next_due"), None);
}

/// `queue_retry` makes pending recipients due now, of one message or of all; it leaves
/// final recipients, recipients already due and leases alone, and counts what changed.
pub async fn queue_retry_makes_pending_recipients_due(f: &MetaFixture) {
    let s = &*f.store;
    let a = s
        .enqueue(&queued(
            1,
            &["a1@remote.example", "a2@remote.example"],
            T0 + 1000,
        ))
        .await
        .expect("enqueue");
    let b = s
        .enqueue(&queued(2, &["b@remote.example"], T0 + 2000))
        .await
        .expect("enqueue");
    let c = s
        .enqueue(&queued(3, &["c@remote.example"], T0))
        .await
        .expect("enqueue");
    let ra = message(s, a).await.recipients;
    s.queue_complete(
        a,
        &[attempt(
            ra[0].id,
            RecipientStatus::Delivered,
            T0 + 5000,
            "250 ok",
        )],
        &[],
    )
    .await
    .expect("complete");
    assert_eq!(ids(&s.queue_lease(T0, 60, 10).await.expect("lease")), [c]);

    assert_eq!(s.queue_retry(Some(a), T0 + 10).await.expect("retry"), 1);
    let got = message(s, a).await.recipients;
    assert_eq!(
        got[0].next_attempt,
        T0 + 5000,
        "a delivered recipient is left alone"
    );
    assert_eq!(got[1].next_attempt, T0 + 10);
    assert_eq!(s.queue_retry(Some(a), T0 + 10).await.expect("retry"), 0);

    assert_eq!(
        s.queue_retry(None, T0 + 20).await.expect("retry all"),
        1,
        "b only"
    );
    assert_eq!(message(s, b).await.recipients[0].next_attempt, T0 + 20);
    assert_eq!(message(s, c).await.lease_until, Some(T0 + 60), "lease kept");
    assert_err!(s.queue_retry(Some(QueueId(c.0 + 1000)), T0).await, NotFound);
    assert_eq!(
        ids(&s.queue_lease(T0 + 20, 60, 10).await.expect("lease")),
        [a, b],
        "both due now"
    );
}

/// `queue_delete` removes a message with its recipients (`NotFound` the second time);
/// `queue_stats` counts messages, pending recipients and the oldest arrival.
pub async fn queue_delete_and_stats(f: &MetaFixture) {
    let s = &*f.store;
    assert_eq!(s.queue_stats().await.expect("stats"), QueueStats::default());
    let a = s
        .enqueue(&queued(1, &["a1@remote.example", "a2@remote.example"], T0))
        .await
        .expect("enqueue");
    let b = s
        .enqueue(&queued(2, &["b@remote.example"], T0))
        .await
        .expect("enqueue");
    assert_eq!(
        s.queue_stats().await.expect("stats"),
        QueueStats {
            messages: 2,
            pending_recipients: 3,
            oldest: Some(T0 + 1),
        }
    );
    let ra = message(s, a).await.recipients[0].id;
    s.queue_complete(
        a,
        &[attempt(ra, RecipientStatus::Delivered, T0, "250 ok")],
        &[],
    )
    .await
    .expect("complete");
    assert_eq!(s.queue_stats().await.expect("stats").pending_recipients, 2);

    s.queue_delete(a).await.expect("delete");
    assert_eq!(s.queue_message(a).await.expect("queue_message"), None);
    assert_eq!(ids(&list(s).await), [b]);
    assert_err!(s.queue_delete(a).await, NotFound);
    assert_eq!(
        s.queue_stats().await.expect("stats"),
        QueueStats {
            messages: 1,
            pending_recipients: 1,
            oldest: Some(T0 + 2),
        }
    );
}

/// `replace_dsn_request` deletes a request and queues its notice together; `None` only
/// deletes; a request already gone is `NotFound` and an invalid notice `Invalid`, and then
/// nothing is queued or deleted.
pub async fn replace_dsn_request_queues_its_notice(f: &MetaFixture) {
    let s = &*f.store;
    s.deliver(&[], &[request(1), request(2), request(3)])
        .await
        .expect("deliver");
    let requests = s.dsn_requests(10).await.expect("dsn");
    let rid: Vec<DsnRequestId> = requests.iter().map(|r| r.id).collect();

    s.replace_dsn_request(rid[0], Some(&notice(1)))
        .await
        .expect("replace");
    assert_eq!(
        s.dsn_requests(10).await.expect("dsn"),
        requests[1..].to_vec()
    );
    let queue = list(s).await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0], stored(&queue[0], &notice(1)));

    assert_err!(
        s.replace_dsn_request(rid[0], Some(&notice(2))).await,
        NotFound
    );
    assert_eq!(list(s).await, queue, "nothing queued for a request gone");

    s.replace_dsn_request(rid[1], None).await.expect("replace");
    assert_eq!(
        s.dsn_requests(10).await.expect("dsn"),
        requests[2..].to_vec()
    );

    for bad in [
        queued(5, &[], T0),
        NewQueuedMessage {
            envid: Some("\0".into()),
            ..notice(3)
        },
    ] {
        assert_err!(s.replace_dsn_request(rid[2], Some(&bad)).await, Invalid);
    }
    assert_eq!(
        s.dsn_requests(10).await.expect("dsn"),
        requests[2..].to_vec()
    );
    assert_eq!(list(s).await, queue);
}

/// A queued message outlives the removal of its submitter's account (it is still sent);
/// the submitter is then unknown.
pub async fn submitter_removal_keeps_the_queued_message(f: &MetaFixture) {
    let s = &*f.store;
    domain(s, "example.org").await;
    let alice = account(s, "alice@example.org").await;
    let id = s
        .enqueue(&NewQueuedMessage {
            submitter: Some(alice.id),
            ..queued(1, &["bob@remote.example"], T0)
        })
        .await
        .expect("enqueue");
    assert_eq!(message(s, id).await.submitter, Some(alice.id));
    s.delete_account(alice.id).await.expect("delete account");
    let m = message(s, id).await;
    assert_eq!(m.submitter, None);
    assert_eq!(m.recipients.len(), 1);
}

/// Whether the queue was woken (a wake-up given while nobody waited is kept for the next
/// wait, so asking after the call is enough).
async fn woken(s: &dyn MetaStore) -> bool {
    tokio::time::timeout(Duration::from_secs(5), s.notifier().queue_notified())
        .await
        .is_ok()
}

/// Whether the queue stays asleep (no wake-up is pending).
async fn asleep(s: &dyn MetaStore) -> bool {
    tokio::time::timeout(Duration::from_millis(50), s.notifier().queue_notified())
        .await
        .is_err()
}

/// Every commit that queues something or makes it due wakes the queue (an acceptance
/// with queue entries, an attempt with notices, a retry that changed something, a DSN
/// request replaced by its notice); deliveries without queue entries, failures and
/// no-ops do not.
pub async fn queue_is_woken_by_commits_that_queue_something(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    assert!(asleep(s).await, "a new store has no wake-up pending");

    s.deliver(&[(inbox.id, new_message(1, 10))], &[request(1)])
        .await
        .expect("deliver");
    assert!(asleep(s).await, "local delivery only");

    let (_, queued_ids) = s
        .accept(
            &[(inbox.id, new_message(2, 10))],
            &[],
            &[queued(1, &["bob@remote.example"], T0)],
        )
        .await
        .expect("accept");
    assert!(woken(s).await, "accept with a queue entry");

    assert!(
        s.accept(
            &[(MailboxId(inbox.id.0 + 1000), new_message(3, 10))],
            &[],
            &[queued(2, &["bob@remote.example"], T0)],
        )
        .await
        .is_err()
    );
    assert!(asleep(s).await, "a failed accept");

    let id = queued_ids[0];
    s.queue_lease(T0, 60, 10).await.expect("lease");
    assert!(asleep(s).await, "a lease");
    let r = message(s, id).await.recipients[0].id;
    s.queue_complete(
        id,
        &[attempt(r, RecipientStatus::Pending, T0 + 600, "451 later")],
        &[],
    )
    .await
    .expect("complete");
    assert!(asleep(s).await, "an attempt without notices");
    s.queue_complete(
        id,
        &[RecipientUpdate {
            delay_notified: true,
            ..attempt(r, RecipientStatus::Pending, T0 + 1200, "451 later")
        }],
        &[notice(1)],
    )
    .await
    .expect("complete");
    assert!(woken(s).await, "an attempt with a notice");

    assert_eq!(s.queue_retry(Some(id), T0).await.expect("retry"), 1);
    assert!(woken(s).await, "a retry that changed something");
    assert_eq!(s.queue_retry(Some(id), T0).await.expect("retry"), 0);
    assert!(asleep(s).await, "a retry that changed nothing");

    let requests = s.dsn_requests(10).await.expect("dsn");
    s.replace_dsn_request(requests[0].id, None)
        .await
        .expect("replace");
    assert!(asleep(s).await, "a request deleted without notice");
    s.deliver(&[], &[request(2)]).await.expect("deliver");
    let requests = s.dsn_requests(10).await.expect("dsn");
    s.replace_dsn_request(requests[0].id, Some(&notice(2)))
        .await
        .expect("replace");
    assert!(woken(s).await, "a request replaced by its notice");
}
