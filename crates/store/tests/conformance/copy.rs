//! COPY and MOVE (`copy_messages`): what is carried over, UID and MODSEQ allocation in the
//! target, the expunge of the sources on MOVE, atomicity, and concurrent moves.

use std::collections::HashSet;

use mailstead_store::MetaStore;
use mailstead_store::model::{ChangeKind, Flags, Mailbox, Message, NewMessage};
use mailstead_types::{MailboxId, ModSeq, Uid};

use super::{MetaFixture, assert_err, inbox, mailbox, new_message, strings};

fn uids(list: &[u32]) -> Vec<Uid> {
    list.iter().copied().map(Uid).collect()
}

fn pairs(list: &[(u32, u32)]) -> Vec<(Uid, Uid)> {
    list.iter().map(|&(a, b)| (Uid(a), Uid(b))).collect()
}

async fn reread(s: &dyn MetaStore, mailbox: MailboxId) -> Mailbox {
    s.mailbox_by_id(mailbox)
        .await
        .expect("mailbox")
        .expect("exists")
}

/// Appends three messages with distinct flags, keywords, dates and sizes.
async fn three_messages(s: &dyn MetaStore, mailbox: MailboxId) -> Vec<Message> {
    let news = [
        NewMessage {
            flags: Flags::SEEN,
            keywords: strings(&["$Forwarded"]),
            ..new_message(1, 100)
        },
        NewMessage {
            flags: Flags::EMPTY,
            ..new_message(2, 200)
        },
        NewMessage {
            flags: Flags::FLAGGED.union(Flags::ANSWERED),
            keywords: strings(&["$Junk", "work"]),
            ..new_message(3, 300)
        },
    ];
    let mut out = Vec::new();
    for new in &news {
        out.push(s.append_message(mailbox, new).await.expect("append"));
    }
    out
}

/// A copy keeps the flags, keywords, internal date, size and blob of its source, and gets
/// the target's next UIDs and MODSEQs in ascending source order (whatever order the UIDs
/// were given in), each logged as `Appended`; the source is untouched.
pub async fn copy_keeps_message_data_and_allocates_in_the_target(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let archive = mailbox(s, alice.id, "Archive").await;
    let sources = three_messages(s, inbox.id).await;
    // The target already holds a message: its copies come after it.
    s.append_message(archive.id, &new_message(9, 9))
        .await
        .expect("append");
    let target_before = reread(s, archive.id).await;
    let source_before = reread(s, inbox.id).await;

    let got = s
        .copy_messages(inbox.id, &uids(&[3, 1, 3]), archive.id, false)
        .await
        .expect("copy");
    assert_eq!(got, pairs(&[(1, 2), (3, 3)]));

    let copies = s.messages(archive.id).await.expect("messages");
    assert_eq!(copies.len(), 3);
    for (copy, source) in copies[1..].iter().zip([&sources[0], &sources[2]]) {
        assert_eq!(copy.mailbox_id, archive.id);
        assert_eq!(copy.flags, source.flags);
        assert_eq!(copy.keywords, source.keywords);
        assert_eq!(copy.internal_date, source.internal_date);
        assert_eq!(copy.size, source.size);
        assert_eq!(copy.blob_id, source.blob_id);
        assert_ne!(copy.id, source.id);
    }
    assert_eq!(
        copies.iter().map(|m| m.uid).collect::<Vec<_>>(),
        uids(&[1, 2, 3])
    );
    assert!(copies[1].modseq > target_before.highest_modseq);
    assert!(copies[1].modseq < copies[2].modseq);

    let target_after = reread(s, archive.id).await;
    assert_eq!(target_after.uid_next, Uid(4));
    assert_eq!(target_after.highest_modseq, copies[2].modseq);
    let changes = s
        .changes_since(archive.id, target_before.highest_modseq)
        .await
        .expect("changes");
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.modseq, c.uid, c.kind))
            .collect::<Vec<_>>(),
        vec![
            (copies[1].modseq, Uid(2), ChangeKind::Appended),
            (copies[2].modseq, Uid(3), ChangeKind::Appended),
        ]
    );

    assert_eq!(s.messages(inbox.id).await.expect("messages"), sources);
    assert_eq!(reread(s, inbox.id).await, source_before);
}

/// UIDs that are not in the source are skipped; with none present nothing is written.
/// Copying into the source mailbox itself (COPY, not MOVE) appends new copies there.
pub async fn copy_skips_missing_uids(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let archive = mailbox(s, alice.id, "Archive").await;
    three_messages(s, inbox.id).await;
    s.expunge(inbox.id, &uids(&[2])).await.expect("expunge");

    let got = s
        .copy_messages(inbox.id, &uids(&[2, 3, 99]), archive.id, false)
        .await
        .expect("copy");
    assert_eq!(got, pairs(&[(3, 1)]));

    let before = reread(s, archive.id).await;
    let got = s
        .copy_messages(inbox.id, &uids(&[2, 99]), archive.id, false)
        .await
        .expect("copy of nothing");
    assert!(got.is_empty());
    assert!(
        s.copy_messages(inbox.id, &[], archive.id, true)
            .await
            .expect("empty move")
            .is_empty()
    );
    assert_eq!(reread(s, archive.id).await, before, "nothing written");

    let got = s
        .copy_messages(inbox.id, &uids(&[1, 3]), inbox.id, false)
        .await
        .expect("copy into itself");
    assert_eq!(got, pairs(&[(1, 4), (3, 5)]));
    assert_eq!(s.messages(inbox.id).await.expect("messages").len(), 4);
}

/// A missing source or target is `NotFound` and a move into the source itself `Invalid`;
/// in every case nothing changes.
pub async fn copy_with_a_missing_mailbox_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let archive = mailbox(s, alice.id, "Archive").await;
    let sources = three_messages(s, inbox.id).await;
    let missing = MailboxId(inbox.id.0.max(archive.id.0) + 1000);
    let before = (reread(s, inbox.id).await, reread(s, archive.id).await);

    for remove_source in [false, true] {
        assert_err!(
            s.copy_messages(inbox.id, &uids(&[1]), missing, remove_source)
                .await,
            NotFound
        );
        assert_err!(
            s.copy_messages(missing, &uids(&[1]), archive.id, remove_source)
                .await,
            NotFound
        );
    }
    assert_err!(
        s.copy_messages(inbox.id, &uids(&[1]), inbox.id, true).await,
        Invalid
    );
    assert_eq!(s.messages(inbox.id).await.expect("messages"), sources);
    assert!(s.messages(archive.id).await.expect("messages").is_empty());
    assert_eq!(
        (reread(s, inbox.id).await, reread(s, archive.id).await),
        before
    );
}

/// MOVE (RFC 6851) copies, then expunges the sources: each gets a new source MODSEQ and an
/// `Expunged` change, ascending; the copies are in the target as with COPY.
pub async fn move_expunges_the_sources_with_change_rows(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let trash = mailbox(s, alice.id, "Trash").await;
    let sources = three_messages(s, inbox.id).await;
    let before = reread(s, inbox.id).await;

    let got = s
        .copy_messages(inbox.id, &uids(&[3, 1]), trash.id, true)
        .await
        .expect("move");
    assert_eq!(got, pairs(&[(1, 1), (3, 2)]));

    assert_eq!(
        s.messages(inbox.id).await.expect("messages"),
        vec![sources[1].clone()]
    );
    let moved = s.messages(trash.id).await.expect("messages");
    assert_eq!(
        moved.iter().map(|m| m.blob_id).collect::<Vec<_>>(),
        vec![sources[0].blob_id, sources[2].blob_id]
    );
    assert_eq!(moved[1].keywords, sources[2].keywords);

    let after = reread(s, inbox.id).await;
    assert_eq!(after.uid_next, before.uid_next, "UIDNEXT stays");
    let changes = s
        .changes_since(inbox.id, before.highest_modseq)
        .await
        .expect("changes");
    assert_eq!(changes.len(), 2);
    assert_eq!(
        changes.iter().map(|c| (c.uid, c.kind)).collect::<Vec<_>>(),
        vec![
            (Uid(1), ChangeKind::Expunged),
            (Uid(3), ChangeKind::Expunged)
        ]
    );
    assert!(changes[0].modseq > before.highest_modseq);
    assert!(changes[0].modseq < changes[1].modseq);
    assert_eq!(after.highest_modseq, changes[1].modseq);

    // Moving UIDs no longer there moves nothing and logs nothing.
    let got = s
        .copy_messages(inbox.id, &uids(&[1, 3]), trash.id, true)
        .await
        .expect("move again");
    assert!(got.is_empty());
    assert_eq!(reread(s, inbox.id).await, after);
}

/// A move that fails is undone whole: moving to a missing mailbox leaves the source with
/// its messages, MODSEQ and change log as they were.
pub async fn move_is_atomic(f: &MetaFixture) {
    let s = &*f.store;
    let (_, inbox) = inbox(s).await;
    let sources = three_messages(s, inbox.id).await;
    let before = reread(s, inbox.id).await;
    let changes = s.changes_since(inbox.id, ModSeq(0)).await.expect("changes");

    assert_err!(
        s.copy_messages(
            inbox.id,
            &uids(&[1, 2, 3]),
            MailboxId(inbox.id.0 + 1000),
            true
        )
        .await,
        NotFound
    );
    assert_eq!(s.messages(inbox.id).await.expect("messages"), sources);
    assert_eq!(reread(s, inbox.id).await, before);
    assert_eq!(
        s.changes_since(inbox.id, ModSeq(0)).await.expect("changes"),
        changes
    );
}

/// Tasks moving overlapping UID sets out of one mailbox at once: every source message
/// ends in the target exactly once (never twice, never lost), each source UID is reported
/// by one move only, and the target's UIDs and MODSEQs stay distinct and ascending.
pub async fn concurrent_moves_move_each_message_once(f: &MetaFixture) {
    const MESSAGES: u32 = 60;
    let (alice, inbox) = inbox(&*f.store).await;
    let archive = mailbox(&*f.store, alice.id, "Archive").await;
    let mut blobs = Vec::new();
    for n in 0..MESSAGES {
        let m = f
            .store
            .append_message(inbox.id, &new_message(u64::from(n), 10))
            .await
            .expect("append");
        blobs.push(m.blob_id);
    }

    // Four movers over overlapping windows, each in a few batches, so they interleave.
    let windows = [(1, 40), (21, 60), (1, 60), (11, 50)];
    let mut handles = Vec::new();
    for (first, last) in windows {
        let store = f.store.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let all: Vec<Uid> = (first..=last).map(Uid).collect();
            for batch in all.chunks(7) {
                got.extend(
                    store
                        .copy_messages(inbox.id, batch, archive.id, true)
                        .await
                        .expect("move"),
                );
            }
            got
        }));
    }
    let mut moved = Vec::new();
    for handle in handles {
        moved.extend(handle.await.expect("task"));
    }
    let sources: HashSet<Uid> = moved.iter().map(|(src, _)| *src).collect();
    assert_eq!(moved.len(), MESSAGES as usize, "each source moved once");
    assert_eq!(sources.len(), MESSAGES as usize);
    let targets: HashSet<Uid> = moved.iter().map(|(_, new)| *new).collect();
    assert_eq!(targets.len(), MESSAGES as usize, "target UIDs distinct");

    assert!(f.store.messages(inbox.id).await.expect("inbox").is_empty());
    let in_target = f.store.messages(archive.id).await.expect("archive");
    assert_eq!(
        in_target.iter().map(|m| m.uid).collect::<Vec<_>>(),
        (1..=MESSAGES).map(Uid).collect::<Vec<_>>()
    );
    assert!(in_target.windows(2).all(|w| w[0].modseq < w[1].modseq));
    let target_blobs: HashSet<_> = in_target.iter().map(|m| m.blob_id).collect();
    assert_eq!(target_blobs, blobs.into_iter().collect::<HashSet<_>>());
    // Every move's pair names the message that really is at that target UID.
    for (src, new) in moved {
        let m = &in_target[new.0 as usize - 1];
        // Source UID u holds the message appended as number u - 1 (see `new_message`).
        assert_eq!(m.internal_date, 1_700_000_000 + i64::from(src.0) - 1);
    }
    let expunged = f
        .store
        .changes_since(inbox.id, ModSeq(0))
        .await
        .expect("changes")
        .into_iter()
        .filter(|c| c.kind == ChangeKind::Expunged)
        .count();
    assert_eq!(expunged, MESSAGES as usize, "one Expunged row per message");
}
