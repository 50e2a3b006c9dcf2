//! Messages: append (UID/MODSEQ allocation), flags and keywords, expunge, the change log,
//! quota usage, allocation under concurrent appends, and delivery to several mailboxes at
//! once (`append_messages`: atomic, per-mailbox UIDs, concurrent).

use std::collections::HashSet;

use mailstead_store::model::{ChangeKind, FlagOp, Flags, Mailbox, NewMessage};
use mailstead_types::{MailboxId, ModSeq, Uid};

use super::{MetaFixture, account, assert_err, inbox, mailbox, new_message, strings};

/// Appends `n` messages and returns them.
async fn append_n(
    s: &dyn mailstead_store::MetaStore,
    mailbox: MailboxId,
    n: u64,
) -> Vec<mailstead_store::model::Message> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            s.append_message(mailbox, &new_message(i, 100 + i))
                .await
                .expect("append"),
        );
    }
    out
}

fn uids(list: &[u32]) -> Vec<Uid> {
    list.iter().copied().map(Uid).collect()
}

/// Appends get UIDs 1, 2, 3 and ascending MODSEQs above the initial 1; the mailbox's
/// UIDNEXT and HIGHESTMODSEQ advance; each append logs an `Appended` change.
pub async fn append_assigns_ascending_uids_and_modseqs(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    let new = NewMessage {
        flags: Flags::SEEN.union(Flags::FLAGGED),
        ..new_message(7, 1234)
    };
    let first = s.append_message(inbox.id, &new).await.expect("append");
    assert_eq!(first.mailbox_id, inbox.id);
    assert_eq!(first.uid, Uid(1));
    assert!(first.modseq > inbox.highest_modseq);
    assert_eq!(first.flags, new.flags);
    assert_eq!(first.size, 1234);
    assert_eq!(first.internal_date, new.internal_date);
    assert_eq!(first.blob_id, new.blob_id);

    let second = s
        .append_message(inbox.id, &new_message(8, 10))
        .await
        .expect("append");
    let third = s
        .append_message(inbox.id, &new_message(9, 10))
        .await
        .expect("append");
    assert_eq!((second.uid, third.uid), (Uid(2), Uid(3)));
    assert!(first.modseq < second.modseq && second.modseq < third.modseq);
    assert_ne!(first.id, second.id);

    let after = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    assert_eq!(after.uid_next, Uid(4));
    assert_eq!(after.highest_modseq, third.modseq);
    assert_eq!(after.uid_validity, inbox.uid_validity);

    let stored = s.messages(inbox.id).await.expect("messages");
    assert_eq!(stored, vec![first.clone(), second.clone(), third.clone()]);

    let changes = s.changes_since(inbox.id, ModSeq(0)).await.expect("changes");
    let seen: Vec<_> = changes.iter().map(|c| (c.modseq, c.uid, c.kind)).collect();
    assert_eq!(
        seen,
        vec![
            (first.modseq, Uid(1), ChangeKind::Appended),
            (second.modseq, Uid(2), ChangeKind::Appended),
            (third.modseq, Uid(3), ChangeKind::Appended),
        ]
    );
}

/// Appending to a mailbox that does not exist is `NotFound`.
pub async fn append_to_a_missing_mailbox_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    assert_err!(
        s.append_message(MailboxId(inbox.id.0 + 1000), &new_message(1, 1))
            .await,
        NotFound
    );
}

/// Keywords are kept sorted and without duplicates.
pub async fn append_keeps_keywords_sorted_without_duplicates(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    let new = NewMessage {
        keywords: strings(&["$Junk", "$Forwarded", "$Junk", "Work"]),
        ..new_message(1, 10)
    };
    let appended = s.append_message(inbox.id, &new).await.expect("append");
    let expected = strings(&["$Forwarded", "$Junk", "Work"]);
    assert_eq!(appended.keywords, expected);
    assert_eq!(
        s.messages(inbox.id).await.expect("messages")[0].keywords,
        expected
    );
}

/// `+FLAGS`, `-FLAGS` and `FLAGS` combine system flags as RFC 9051 §6.4.6 says; each
/// changed message gets a new MODSEQ and is returned.
pub async fn store_flags_adds_removes_and_replaces(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    append_n(s, inbox.id, 3).await;
    let all = uids(&[1, 2, 3]);

    let changed = s
        .store_flags(inbox.id, &all, FlagOp::Add, Flags::SEEN, &[])
        .await
        .expect("add");
    assert_eq!(changed.iter().map(|m| m.uid).collect::<Vec<_>>(), all);
    assert!(changed.iter().all(|m| m.flags == Flags::SEEN));
    let modseqs: Vec<_> = changed.iter().map(|m| m.modseq).collect();
    assert!(modseqs.windows(2).all(|w| w[0] < w[1]), "{modseqs:?}");
    assert_eq!(s.messages(inbox.id).await.expect("messages"), changed);

    let changed = s
        .store_flags(inbox.id, &uids(&[2]), FlagOp::Add, Flags::FLAGGED, &[])
        .await
        .expect("add");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].flags, Flags::SEEN.union(Flags::FLAGGED));

    let changed = s
        .store_flags(inbox.id, &all, FlagOp::Remove, Flags::SEEN, &[])
        .await
        .expect("remove");
    assert_eq!(changed.len(), 3);
    let flags: Vec<_> = changed.iter().map(|m| m.flags).collect();
    assert_eq!(flags, vec![Flags::EMPTY, Flags::FLAGGED, Flags::EMPTY]);

    let changed = s
        .store_flags(
            inbox.id,
            &uids(&[1, 2]),
            FlagOp::Replace,
            Flags::DELETED,
            &[],
        )
        .await
        .expect("replace");
    assert_eq!(changed.len(), 2);
    assert!(changed.iter().all(|m| m.flags == Flags::DELETED));

    let stored = s.messages(inbox.id).await.expect("messages");
    let flags: Vec<_> = stored.iter().map(|m| m.flags).collect();
    assert_eq!(flags, vec![Flags::DELETED, Flags::DELETED, Flags::EMPTY]);
    let highest = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    let max = stored.iter().map(|m| m.modseq).max().expect("messages");
    assert_eq!(highest.highest_modseq, max);
}

/// Keywords follow the same operations and stay sorted and unique.
pub async fn store_flags_changes_keywords(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    append_n(s, inbox.id, 1).await;
    let one = uids(&[1]);

    let changed = s
        .store_flags(
            inbox.id,
            &one,
            FlagOp::Add,
            Flags::EMPTY,
            &strings(&["Work", "$Label1"]),
        )
        .await
        .expect("add");
    assert_eq!(changed[0].keywords, strings(&["$Label1", "Work"]));
    let changed = s
        .store_flags(
            inbox.id,
            &one,
            FlagOp::Add,
            Flags::EMPTY,
            &strings(&["Home", "Work"]),
        )
        .await
        .expect("add");
    assert_eq!(changed[0].keywords, strings(&["$Label1", "Home", "Work"]));
    let changed = s
        .store_flags(
            inbox.id,
            &one,
            FlagOp::Remove,
            Flags::EMPTY,
            &strings(&["Work", "Absent"]),
        )
        .await
        .expect("remove");
    assert_eq!(changed[0].keywords, strings(&["$Label1", "Home"]));
    let changed = s
        .store_flags(
            inbox.id,
            &one,
            FlagOp::Replace,
            Flags::SEEN,
            &strings(&["Only"]),
        )
        .await
        .expect("replace");
    assert_eq!(changed[0].keywords, strings(&["Only"]));
    assert_eq!(changed[0].flags, Flags::SEEN);
    let changed = s
        .store_flags(inbox.id, &one, FlagOp::Replace, Flags::SEEN, &[])
        .await
        .expect("replace");
    assert!(changed[0].keywords.is_empty());
    assert_eq!(s.messages(inbox.id).await.expect("messages"), changed);
}

/// A message whose flags do not really change keeps its MODSEQ, is not returned, and
/// logs nothing (RFC 7162 §3.1.3).
pub async fn store_flags_leaves_unchanged_messages_alone(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    append_n(s, inbox.id, 2).await;
    s.store_flags(
        inbox.id,
        &uids(&[1]),
        FlagOp::Add,
        Flags::SEEN,
        &strings(&["Work"]),
    )
    .await
    .expect("add");
    let before = s.messages(inbox.id).await.expect("messages");
    let mailbox_before = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    let changes_before = s.changes_since(inbox.id, ModSeq(0)).await.expect("changes");

    // Message 1 has both already; message 2 gains them.
    let changed = s
        .store_flags(
            inbox.id,
            &uids(&[1, 2]),
            FlagOp::Add,
            Flags::SEEN,
            &strings(&["Work"]),
        )
        .await
        .expect("add");
    assert_eq!(
        changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        uids(&[2])
    );
    let after = s.messages(inbox.id).await.expect("messages");
    assert_eq!(
        after[0], before[0],
        "message 1 is unchanged, MODSEQ included"
    );

    // Nothing to do at all: no new MODSEQ anywhere.
    let mailbox_mid = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    for (op, flags, keywords) in [
        (FlagOp::Add, Flags::SEEN, strings(&["Work"])),
        (FlagOp::Remove, Flags::DRAFT, strings(&["Absent"])),
        (FlagOp::Replace, Flags::SEEN, strings(&["Work"])),
    ] {
        let changed = s
            .store_flags(inbox.id, &uids(&[1, 2]), op, flags, &keywords)
            .await
            .expect("store");
        assert!(changed.is_empty(), "{op:?} changed {changed:?}");
    }
    assert_eq!(s.messages(inbox.id).await.expect("messages"), after);
    let mailbox_after = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    assert_eq!(mailbox_after, mailbox_mid);
    assert!(mailbox_mid.highest_modseq > mailbox_before.highest_modseq);
    let changes = s.changes_since(inbox.id, ModSeq(0)).await.expect("changes");
    assert_eq!(
        changes.len(),
        changes_before.len() + 1,
        "only message 2's change is logged"
    );
}

/// UIDs that are not in the mailbox are skipped; duplicates and order do not matter;
/// a missing mailbox is `NotFound`.
pub async fn store_flags_skips_missing_uids(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    append_n(s, inbox.id, 3).await;
    s.expunge(inbox.id, &uids(&[2])).await.expect("expunge");

    let changed = s
        .store_flags(
            inbox.id,
            &uids(&[3, 2, 99, 1, 3]),
            FlagOp::Add,
            Flags::ANSWERED,
            &[],
        )
        .await
        .expect("store");
    assert_eq!(
        changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        uids(&[1, 3])
    );
    assert!(changed[0].modseq < changed[1].modseq);

    let none = s
        .store_flags(inbox.id, &uids(&[42]), FlagOp::Add, Flags::SEEN, &[])
        .await
        .expect("store");
    assert!(none.is_empty());
    assert_err!(
        s.store_flags(
            MailboxId(inbox.id.0 + 1000),
            &uids(&[1]),
            FlagOp::Add,
            Flags::SEEN,
            &[]
        )
        .await,
        NotFound
    );
}

/// `expunge` removes the given messages, returns the UIDs really removed (ascending),
/// logs one `Expunged` change with a new MODSEQ each, and never reuses a UID.
pub async fn expunge_removes_messages_and_logs_changes(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    append_n(s, inbox.id, 4).await;
    let before = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");

    let removed = s
        .expunge(inbox.id, &uids(&[3, 1, 9, 3]))
        .await
        .expect("expunge");
    assert_eq!(removed, uids(&[1, 3]));
    let left: Vec<_> = s
        .messages(inbox.id)
        .await
        .expect("messages")
        .into_iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(left, uids(&[2, 4]));

    let changes = s
        .changes_since(inbox.id, before.highest_modseq)
        .await
        .expect("changes");
    assert_eq!(changes.len(), 2);
    assert_eq!(
        (changes[0].uid, changes[0].kind),
        (Uid(1), ChangeKind::Expunged)
    );
    assert_eq!(
        (changes[1].uid, changes[1].kind),
        (Uid(3), ChangeKind::Expunged)
    );
    assert!(before.highest_modseq < changes[0].modseq && changes[0].modseq < changes[1].modseq);
    let after = s
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    assert_eq!(after.highest_modseq, changes[1].modseq);
    assert_eq!(after.uid_next, Uid(5), "expunge does not give UIDs back");

    // Nothing left to remove: nothing logged, no new MODSEQ.
    assert!(
        s.expunge(inbox.id, &uids(&[1, 3]))
            .await
            .expect("expunge")
            .is_empty()
    );
    assert_eq!(
        s.mailbox_by_id(inbox.id).await.expect("mailbox"),
        Some(after)
    );

    let next = s
        .append_message(inbox.id, &new_message(9, 1))
        .await
        .expect("append");
    assert_eq!(next.uid, Uid(5));
    assert_err!(
        s.expunge(MailboxId(inbox.id.0 + 1000), &uids(&[1])).await,
        NotFound
    );
}

/// `changes_since` returns the rows above the given MODSEQ, ascending, of that mailbox.
pub async fn changes_since_returns_later_changes_ascending(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let other = mailbox(s, alice.id, "Sent").await;
    let appended = append_n(s, inbox.id, 3).await;
    append_n(s, other.id, 2).await;
    let flagged = s
        .store_flags(inbox.id, &uids(&[2]), FlagOp::Add, Flags::SEEN, &[])
        .await
        .expect("store");
    s.expunge(inbox.id, &uids(&[1])).await.expect("expunge");

    let all = s.changes_since(inbox.id, ModSeq(0)).await.expect("changes");
    let kinds: Vec<_> = all.iter().map(|c| (c.uid, c.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (Uid(1), ChangeKind::Appended),
            (Uid(2), ChangeKind::Appended),
            (Uid(3), ChangeKind::Appended),
            (Uid(2), ChangeKind::Flags),
            (Uid(1), ChangeKind::Expunged),
        ]
    );
    assert!(all.windows(2).all(|w| w[0].modseq < w[1].modseq));
    assert_eq!(all[3].modseq, flagged[0].modseq);

    let later = s
        .changes_since(inbox.id, appended[2].modseq)
        .await
        .expect("changes");
    assert_eq!(later, all[3..].to_vec());
    let last = all.last().expect("changes").modseq;
    assert!(
        s.changes_since(inbox.id, last)
            .await
            .expect("changes")
            .is_empty()
    );
    assert_eq!(
        s.changes_since(other.id, ModSeq(0))
            .await
            .expect("changes")
            .len(),
        2
    );
    assert!(
        s.changes_since(MailboxId(other.id.0 + 1000), ModSeq(0))
            .await
            .expect("changes")
            .is_empty()
    );
}

/// `account_usage` sums message sizes over all of an account's mailboxes, and only its.
pub async fn account_usage_sums_message_sizes(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    assert_eq!(s.account_usage(alice.id).await.expect("usage"), 0);
    let sent = mailbox(s, alice.id, "Sent").await;
    let bob = account(s, "bob@example.org").await;
    let bob_inbox = mailbox(s, bob.id, "INBOX").await;

    s.append_message(inbox.id, &new_message(1, 1_000))
        .await
        .expect("append");
    s.append_message(inbox.id, &new_message(2, 2_500))
        .await
        .expect("append");
    s.append_message(sent.id, &new_message(3, 10_000_000_000))
        .await
        .expect("append");
    s.append_message(bob_inbox.id, &new_message(4, 7))
        .await
        .expect("append");
    assert_eq!(
        s.account_usage(alice.id).await.expect("usage"),
        10_000_003_500
    );
    assert_eq!(s.account_usage(bob.id).await.expect("usage"), 7);

    s.expunge(inbox.id, &uids(&[1])).await.expect("expunge");
    assert_eq!(
        s.account_usage(alice.id).await.expect("usage"),
        10_000_002_500
    );
}

/// 8 tasks each appending 50 messages to one mailbox at once get 400 distinct UIDs,
/// strictly ascending in each task's order of appends; nothing is lost; the MODSEQs are
/// distinct and ascend with the UIDs (design invariant 4).
pub async fn concurrent_appends_get_distinct_ascending_uids(f: &MetaFixture) {
    const TASKS: u64 = 8;
    const PER_TASK: u64 = 50;
    let (_, inbox) = inbox(&*f.store).await;

    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = f.store.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..PER_TASK {
                let n = task * 1_000 + i;
                got.push(
                    store
                        .append_message(inbox.id, &new_message(n, 10 + n))
                        .await
                        .expect("append"),
                );
            }
            got
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        let got = handle.await.expect("task");
        let task_uids: Vec<_> = got.iter().map(|m| m.uid).collect();
        assert!(
            task_uids.windows(2).all(|w| w[0] < w[1]),
            "one task's UIDs ascend: {task_uids:?}"
        );
        all.extend(got);
    }
    let total = (TASKS * PER_TASK) as usize;
    assert_eq!(all.len(), total);
    let distinct_uids: HashSet<_> = all.iter().map(|m| m.uid).collect();
    assert_eq!(distinct_uids.len(), total, "UIDs are distinct");
    let distinct_modseqs: HashSet<_> = all.iter().map(|m| m.modseq).collect();
    assert_eq!(distinct_modseqs.len(), total, "MODSEQs are distinct");

    let stored = s_messages(f, inbox.id).await;
    assert_eq!(stored.len(), total, "nothing lost");
    let stored_uids: Vec<_> = stored.iter().map(|m| m.uid).collect();
    assert_eq!(stored_uids, (1..=total as u32).map(Uid).collect::<Vec<_>>());
    assert!(
        stored.windows(2).all(|w| w[0].modseq < w[1].modseq),
        "MODSEQ ascends with UID"
    );
    let mut by_uid = all.clone();
    by_uid.sort_by_key(|m| m.uid);
    assert_eq!(stored, by_uid, "what append returned is what is stored");

    let after = f
        .store
        .mailbox_by_id(inbox.id)
        .await
        .expect("mailbox")
        .expect("exists");
    assert_eq!(after.uid_next, Uid(total as u32 + 1));
    assert_eq!(after.highest_modseq, stored[total - 1].modseq);
    let changes = f
        .store
        .changes_since(inbox.id, ModSeq(0))
        .await
        .expect("changes");
    assert_eq!(changes.len(), total);
}

async fn s_messages(f: &MetaFixture, mailbox: MailboxId) -> Vec<mailstead_store::model::Message> {
    f.store.messages(mailbox).await.expect("messages")
}

/// Concurrent appends to different mailboxes each get their own UID sequence 1..=n.
pub async fn concurrent_appends_to_different_mailboxes_stay_independent(f: &MetaFixture) {
    const PER_TASK: u64 = 30;
    let (alice, _) = inbox(&*f.store).await;
    let names = ["INBOX", "Sent", "Drafts", "Archive"];
    let mut handles = Vec::new();
    for (t, name) in names.into_iter().enumerate() {
        let store = f.store.clone();
        let target = mailbox(&*store, alice.id, name).await;
        handles.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                store
                    .append_message(target.id, &new_message(t as u64 * 1_000 + i, 1))
                    .await
                    .expect("append");
            }
            target.id
        }));
    }
    for handle in handles {
        let id = handle.await.expect("task");
        let got: Vec<_> = s_messages(f, id).await.into_iter().map(|m| m.uid).collect();
        assert_eq!(got, (1..=PER_TASK as u32).map(Uid).collect::<Vec<_>>());
    }
    assert_eq!(
        f.store.account_usage(alice.id).await.expect("usage"),
        PER_TASK * names.len() as u64
    );
}

// --- append_messages (local delivery to several recipients) ------------------------------

/// The INBOXes of `n` accounts `user<i>@example.org` (the domain is created here).
async fn inboxes(s: &dyn mailstead_store::MetaStore, n: usize) -> Vec<Mailbox> {
    super::domain(s, "example.org").await;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let user = account(s, &format!("user{i}@example.org")).await;
        out.push(mailbox(s, user.id, "INBOX").await);
    }
    out
}

/// The mailbox as stored now.
async fn reread(s: &dyn mailstead_store::MetaStore, id: MailboxId) -> Mailbox {
    s.mailbox_by_id(id)
        .await
        .expect("mailbox_by_id")
        .expect("the mailbox exists")
}

/// One missing mailbox (or one invalid message) among the targets fails the whole
/// delivery: no target mailbox gets a message, a UID, a MODSEQ or a change-log row.
pub async fn append_messages_is_atomic(f: &MetaFixture) {
    let s = &*f.store;
    let boxes = inboxes(s, 2).await;
    let (a, b) = (&boxes[0], &boxes[1]);
    s.append_message(a.id, &new_message(1, 10))
        .await
        .expect("append");
    let before = (reread(s, a.id).await, reread(s, b.id).await);
    let missing = MailboxId(b.id.0 + 1000);

    // The bad target last, in the middle and first: every good one must be undone.
    for targets in [
        vec![
            (a.id, new_message(2, 1)),
            (b.id, new_message(2, 1)),
            (missing, new_message(2, 1)),
        ],
        vec![
            (a.id, new_message(3, 1)),
            (missing, new_message(3, 1)),
            (b.id, new_message(3, 1)),
        ],
        vec![
            (missing, new_message(4, 1)),
            (a.id, new_message(4, 1)),
            (b.id, new_message(4, 1)),
        ],
    ] {
        assert_err!(s.append_messages(&targets).await, NotFound);
    }
    let bad_keyword = NewMessage {
        keywords: strings(&["two words"]),
        ..new_message(5, 1)
    };
    assert_err!(
        s.append_messages(&[(a.id, new_message(5, 1)), (b.id, bad_keyword)])
            .await,
        Invalid
    );

    assert_eq!(
        s_messages(f, a.id).await.len(),
        1,
        "only the earlier append"
    );
    assert!(s_messages(f, b.id).await.is_empty());
    let after = (reread(s, a.id).await, reread(s, b.id).await);
    assert_eq!(after, before, "UIDNEXT and HIGHESTMODSEQ unchanged");
    assert_eq!(
        s.changes_since(a.id, before.0.highest_modseq)
            .await
            .expect("changes"),
        vec![]
    );
    assert_eq!(
        s.changes_since(b.id, ModSeq(0)).await.expect("changes"),
        vec![]
    );

    // Nothing was used up: the next delivery gets the UIDs the failed ones would have had.
    let got = s
        .append_messages(&[(a.id, new_message(6, 1)), (b.id, new_message(6, 1))])
        .await
        .expect("deliver");
    assert_eq!((got[0].uid, got[1].uid), (Uid(2), Uid(1)));
}

/// Each target mailbox allocates from its own UIDNEXT and HIGHESTMODSEQ exactly as
/// `append_message` does, logs an `Appended` change, and the results come back in the
/// order of the targets.
pub async fn append_messages_to_several_mailboxes_assigns_per_mailbox_uids(f: &MetaFixture) {
    let s = &*f.store;
    let boxes = inboxes(s, 3).await;
    // Different starting points: 2 messages in the first, none in the others.
    append_n(s, boxes[0].id, 2).await;
    let before: Vec<Mailbox> = {
        let mut v = Vec::new();
        for b in &boxes {
            v.push(reread(s, b.id).await);
        }
        v
    };
    // Deliberately not in id order.
    let targets = vec![
        (boxes[2].id, new_message(10, 100)),
        (boxes[0].id, new_message(11, 200)),
        (
            boxes[1].id,
            NewMessage {
                flags: Flags::SEEN,
                keywords: strings(&["b", "a", "b"]),
                ..new_message(12, 300)
            },
        ),
    ];
    let got = s.append_messages(&targets).await.expect("deliver");
    assert_eq!(got.len(), 3);
    for (message, (mailbox, new)) in got.iter().zip(&targets) {
        assert_eq!(
            message.mailbox_id, *mailbox,
            "results in the order of targets"
        );
        assert_eq!(message.blob_id, new.blob_id);
        assert_eq!(message.size, new.size);
        assert_eq!(message.internal_date, new.internal_date);
        assert_eq!(message.flags, new.flags);
    }
    assert_eq!(got[2].keywords, strings(&["a", "b"]));
    assert_eq!(
        got.iter().map(|m| m.uid).collect::<Vec<_>>(),
        uids(&[1, 3, 1])
    );
    let distinct: HashSet<_> = got.iter().map(|m| m.id).collect();
    assert_eq!(distinct.len(), 3, "three distinct message rows");

    let index_of = [1, 2, 0]; // boxes[i] was delivered by got[index_of[i]]
    for (i, b) in boxes.iter().enumerate() {
        let message = &got[index_of[i]];
        let after = reread(s, b.id).await;
        assert!(message.modseq > before[i].highest_modseq);
        assert_eq!(after.uid_next, Uid(message.uid.0 + 1));
        assert_eq!(after.highest_modseq, message.modseq);
        assert_eq!(after.uid_validity, before[i].uid_validity);
        assert_eq!(
            s_messages(f, b.id).await.last(),
            Some(message),
            "what was returned is what is stored"
        );
        let changes = s
            .changes_since(b.id, before[i].highest_modseq)
            .await
            .expect("changes");
        let seen: Vec<_> = changes.iter().map(|c| (c.modseq, c.uid, c.kind)).collect();
        assert_eq!(
            seen,
            vec![(message.modseq, message.uid, ChangeKind::Appended)]
        );
    }
    assert_eq!(s.append_messages(&[]).await.expect("no targets"), vec![]);
}

/// A mailbox named twice gets two messages, with ascending UIDs and MODSEQs in the order
/// of the targets.
pub async fn append_messages_same_mailbox_twice(f: &MetaFixture) {
    let s = &*f.store;
    let boxes = inboxes(s, 2).await;
    let (a, b) = (&boxes[0], &boxes[1]);
    let targets = vec![
        (a.id, new_message(1, 10)),
        (b.id, new_message(2, 20)),
        (a.id, new_message(3, 30)),
    ];
    let got = s.append_messages(&targets).await.expect("deliver");
    assert_eq!(
        got.iter()
            .map(|m| (m.mailbox_id, m.uid))
            .collect::<Vec<_>>(),
        vec![(a.id, Uid(1)), (b.id, Uid(1)), (a.id, Uid(2))]
    );
    assert!(got[0].modseq < got[2].modseq);
    assert_eq!(got[0].blob_id, targets[0].1.blob_id);
    assert_eq!(got[2].blob_id, targets[2].1.blob_id);
    assert_eq!(
        s_messages(f, a.id).await,
        vec![got[0].clone(), got[2].clone()]
    );
    assert_eq!(s_messages(f, b.id).await, vec![got[1].clone()]);
    let after = reread(s, a.id).await;
    assert_eq!(
        (after.uid_next, after.highest_modseq),
        (Uid(3), got[2].modseq)
    );
    assert_eq!(
        s.changes_since(a.id, ModSeq(0))
            .await
            .expect("changes")
            .len(),
        2
    );
}

/// Many tasks deliver at once, each delivery to three of six mailboxes, the order of the
/// three reversed on every other delivery (so a backend that locks mailboxes in the order
/// given would deadlock): every delivery succeeds, and every mailbox ends with UIDs
/// 1..=n, ascending MODSEQs and one change per message.
pub async fn concurrent_append_messages_from_many_tasks(f: &MetaFixture) {
    const TASKS: usize = 16;
    const DELIVERIES: usize = 30;
    const BOXES: usize = 6;
    let boxes = inboxes(&*f.store, BOXES).await;
    let ids: Vec<MailboxId> = boxes.iter().map(|b| b.id).collect();

    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = f.store.clone();
        let ids = ids.clone();
        handles.push(tokio::spawn(async move {
            let mut delivered = Vec::new();
            for i in 0..DELIVERIES {
                let k = task + i;
                let mut picks = [k % BOXES, (k + 1) % BOXES, (k + 3) % BOXES];
                if i % 2 == 1 {
                    picks.reverse();
                }
                let n = (task * 1_000 + i) as u64;
                let targets: Vec<_> = picks
                    .iter()
                    .map(|&p| (ids[p], new_message(n, 1 + n)))
                    .collect();
                let got = store.append_messages(&targets).await.expect("deliver");
                assert_eq!(got.len(), 3);
                for (message, (mailbox, _)) in got.iter().zip(&targets) {
                    assert_eq!(message.mailbox_id, *mailbox);
                }
                delivered.extend(got);
            }
            delivered
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        let delivered = handle.await.expect("task");
        // One task's deliveries to one mailbox get ascending UIDs.
        for id in &ids {
            let mine: Vec<_> = delivered
                .iter()
                .filter(|m| m.mailbox_id == *id)
                .map(|m| m.uid)
                .collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        }
        all.extend(delivered);
    }
    assert_eq!(all.len(), TASKS * DELIVERIES * 3);
    let distinct: HashSet<_> = all.iter().map(|m| (m.mailbox_id, m.uid)).collect();
    assert_eq!(distinct.len(), all.len(), "no UID given twice in a mailbox");

    for id in &ids {
        let mut returned: Vec<_> = all
            .iter()
            .filter(|m| m.mailbox_id == *id)
            .cloned()
            .collect();
        returned.sort_by_key(|m| m.uid);
        let count = returned.len();
        assert!(count > 0);
        let stored = s_messages(f, *id).await;
        assert_eq!(
            stored.iter().map(|m| m.uid).collect::<Vec<_>>(),
            (1..=count as u32).map(Uid).collect::<Vec<_>>()
        );
        assert!(stored.windows(2).all(|w| w[0].modseq < w[1].modseq));
        assert_eq!(stored, returned, "what was returned is what is stored");
        let after = reread(&*f.store, *id).await;
        assert_eq!(after.uid_next, Uid(count as u32 + 1));
        assert_eq!(after.highest_modseq, stored[count - 1].modseq);
        let changes = f
            .store
            .changes_since(*id, ModSeq(0))
            .await
            .expect("changes");
        assert_eq!(changes.len(), count);
    }
}

/// `messages_in_range` returns the messages with `first <= UID <= last`, ascending,
/// skipping expunged UIDs; an empty or inverted range gives nothing.
pub async fn messages_in_range_returns_the_uids_between_bounds(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    let all = append_n(s, inbox.id, 5).await;
    s.expunge(inbox.id, &uids(&[3])).await.expect("expunge");

    let got = s
        .messages_in_range(inbox.id, Uid(2), Uid(4))
        .await
        .expect("range");
    assert_eq!(got, vec![all[1].clone(), all[3].clone()]);
    let got = s
        .messages_in_range(inbox.id, Uid(1), Uid(u32::MAX))
        .await
        .expect("range");
    assert_eq!(
        got.iter().map(|m| m.uid).collect::<Vec<_>>(),
        uids(&[1, 2, 4, 5])
    );
    assert_eq!(got, s_messages(f, inbox.id).await);
    let one = s
        .messages_in_range(inbox.id, Uid(5), Uid(5))
        .await
        .expect("range");
    assert_eq!(one, vec![all[4].clone()]);
    for (first, last) in [(4, 2), (6, 100), (3, 3)] {
        assert!(
            s.messages_in_range(inbox.id, Uid(first), Uid(last))
                .await
                .expect("range")
                .is_empty(),
            "{first}:{last}"
        );
    }
}

/// `mailbox_counts` counts messages, those without `\Seen`, those with `\Deleted`, and
/// sums their sizes; an empty mailbox is all zeros, a missing one `NotFound`.
pub async fn mailbox_counts_count_unseen_deleted_and_size(f: &MetaFixture) {
    use mailstead_store::model::MailboxCounts;
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    for (n, flags) in [
        Flags::EMPTY,
        Flags::SEEN,
        Flags::SEEN.union(Flags::DELETED),
        Flags::DELETED.union(Flags::FLAGGED),
        Flags::ANSWERED,
    ]
    .into_iter()
    .enumerate()
    {
        let new = NewMessage {
            flags,
            ..new_message(n as u64, 1000 + n as u64)
        };
        s.append_message(inbox.id, &new).await.expect("append");
    }
    assert_eq!(
        s.mailbox_counts(inbox.id).await.expect("counts"),
        MailboxCounts {
            messages: 5,
            unseen: 3,
            deleted: 2,
            size: 5010,
        }
    );

    s.store_flags(inbox.id, &uids(&[1, 4]), FlagOp::Add, Flags::SEEN, &[])
        .await
        .expect("store");
    s.expunge(inbox.id, &uids(&[3])).await.expect("expunge");
    assert_eq!(
        s.mailbox_counts(inbox.id).await.expect("counts"),
        MailboxCounts {
            messages: 4,
            unseen: 1,
            deleted: 1,
            size: 1000 + 1001 + 1003 + 1004,
        }
    );

    let sent = mailbox(s, alice.id, "Sent").await;
    assert_eq!(
        s.mailbox_counts(sent.id).await.expect("counts"),
        MailboxCounts::default()
    );
    assert_err!(
        s.mailbox_counts(MailboxId(inbox.id.0 + 1000)).await,
        NotFound
    );
}
