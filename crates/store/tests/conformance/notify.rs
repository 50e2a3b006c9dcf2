//! Change notification: every committed change to a mailbox is announced on the store's
//! notifier by the time the call that made it returns; no-ops and failures are not.

use mailstead_store::MetaStore;
use mailstead_store::model::{FlagOp, Flags};
use mailstead_types::{MailboxId, Uid};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;

use super::{MetaFixture, inbox, mailbox, new_message};

/// Every announcement waiting in `rx`, in order.
fn drain(rx: &mut Receiver<MailboxId>) -> Vec<MailboxId> {
    let mut out = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(mailbox) => out.push(mailbox),
            Err(TryRecvError::Empty) => return out,
            Err(e) => panic!("notification receiver: {e:?}"),
        }
    }
}

/// The same, sorted, for changes that announce several mailboxes in no given order.
fn drain_sorted(rx: &mut Receiver<MailboxId>) -> Vec<MailboxId> {
    let mut out = drain(rx);
    out.sort_by_key(|m| m.0);
    out
}

fn sorted(mut list: Vec<MailboxId>) -> Vec<MailboxId> {
    list.sort_by_key(|m| m.0);
    list
}

/// Append, delivery (each distinct target once), a flag change, expunge, copy (target),
/// move (target and source), rename and delete are each announced once, for the
/// mailboxes they changed, before the call returns.
pub async fn notifier_announces_every_committed_change(f: &MetaFixture) {
    let s: &dyn MetaStore = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let archive = mailbox(s, alice.id, "Archive").await;
    let trash = mailbox(s, alice.id, "Trash").await;
    let mut rx = s.notifier().subscribe();

    s.append_message(inbox.id, &new_message(1, 10))
        .await
        .expect("append");
    assert_eq!(drain(&mut rx), [inbox.id], "append");

    s.append_messages(&[
        (inbox.id, new_message(2, 10)),
        (archive.id, new_message(2, 10)),
        (inbox.id, new_message(3, 10)),
    ])
    .await
    .expect("deliver");
    assert_eq!(
        drain_sorted(&mut rx),
        sorted(vec![inbox.id, archive.id]),
        "deliver: each target once"
    );

    s.store_flags(inbox.id, &[Uid(1), Uid(2)], FlagOp::Add, Flags::SEEN, &[])
        .await
        .expect("store");
    assert_eq!(drain(&mut rx), [inbox.id], "store_flags");

    s.expunge(inbox.id, &[Uid(2)]).await.expect("expunge");
    assert_eq!(drain(&mut rx), [inbox.id], "expunge");

    s.copy_messages(inbox.id, &[Uid(1)], trash.id, false)
        .await
        .expect("copy");
    assert_eq!(drain(&mut rx), [trash.id], "copy: target only");

    s.copy_messages(inbox.id, &[Uid(1), Uid(3)], archive.id, true)
        .await
        .expect("move");
    assert_eq!(
        drain_sorted(&mut rx),
        sorted(vec![inbox.id, archive.id]),
        "move: target and source"
    );

    s.rename_mailbox(trash.id, "Bin").await.expect("rename");
    assert_eq!(drain(&mut rx), [trash.id], "rename");

    s.delete_mailbox(trash.id).await.expect("delete");
    assert_eq!(drain(&mut rx), [trash.id], "delete");
}

/// Calls that change nothing (a flag change to the flags a message has, an expunge or a
/// copy of missing UIDs) or fail (append to a missing mailbox, rename to a taken name)
/// announce nothing.
pub async fn notifier_is_silent_for_no_ops_and_failures(f: &MetaFixture) {
    let s: &dyn MetaStore = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let archive = mailbox(s, alice.id, "Archive").await;
    s.append_message(inbox.id, &new_message(1, 10))
        .await
        .expect("append");
    s.store_flags(inbox.id, &[Uid(1)], FlagOp::Add, Flags::SEEN, &[])
        .await
        .expect("store");
    let mut rx = s.notifier().subscribe();

    let changed = s
        .store_flags(inbox.id, &[Uid(1)], FlagOp::Add, Flags::SEEN, &[])
        .await
        .expect("no-op store");
    assert!(changed.is_empty());
    s.store_flags(inbox.id, &[Uid(9)], FlagOp::Add, Flags::SEEN, &[])
        .await
        .expect("store of a missing UID");
    s.expunge(inbox.id, &[Uid(9)]).await.expect("expunge");
    s.copy_messages(inbox.id, &[Uid(9)], archive.id, true)
        .await
        .expect("move of a missing UID");
    assert!(
        s.append_message(MailboxId(inbox.id.0 + 1000), &new_message(2, 10))
            .await
            .is_err()
    );
    assert!(s.rename_mailbox(archive.id, "INBOX").await.is_err());
    assert!(
        s.copy_messages(inbox.id, &[Uid(1)], MailboxId(inbox.id.0 + 1000), true)
            .await
            .is_err()
    );
    s.set_subscribed(archive.id, false)
        .await
        .expect("subscription is no mailbox change");
    assert_eq!(drain(&mut rx), Vec::<MailboxId>::new());
}
