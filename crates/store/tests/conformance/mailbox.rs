//! Mailboxes: create, rename, delete, subscription, UIDVALIDITY.

use mailstead_store::model::SpecialUse;
use mailstead_types::{AccountId, MailboxId, ModSeq, Uid};

use super::{MetaFixture, account, assert_err, inbox, mailbox, new_message};

/// A new mailbox is empty (UIDNEXT 1, HIGHESTMODSEQ 1) and found by name and id.
pub async fn mailbox_is_created_empty_and_found(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    let created = s
        .create_mailbox(alice.id, "Archive/2026", Some(SpecialUse::Archive))
        .await
        .expect("create");
    assert_eq!(created.account_id, alice.id);
    assert_eq!(created.name, "Archive/2026");
    assert_eq!(created.uid_next, Uid(1));
    assert_eq!(created.highest_modseq, ModSeq(1));
    assert_eq!(created.special_use, Some(SpecialUse::Archive));
    assert!(created.uid_validity.0 > 0);
    // IMAP CREATE does not subscribe (RFC 9051 §6.3.4); only the default mailboxes are.
    assert!(!created.subscribed);

    assert_eq!(
        s.mailbox(alice.id, "Archive/2026").await.expect("mailbox"),
        Some(created.clone())
    );
    assert_eq!(
        s.mailbox_by_id(created.id).await.expect("by id"),
        Some(created.clone())
    );
    assert!(s.messages(created.id).await.expect("messages").is_empty());

    let plain = s
        .create_mailbox(alice.id, "Lists", None)
        .await
        .expect("create");
    assert_eq!(plain.special_use, None);
    assert_eq!(
        s.mailbox(alice.id, "lists").await.expect("mailbox"),
        None,
        "names are exact"
    );
    assert_eq!(s.mailbox(alice.id, "Nope").await.expect("mailbox"), None);
    assert_eq!(
        s.mailbox_by_id(MailboxId(plain.id.0 + 1000))
            .await
            .expect("by id"),
        None
    );
}

/// A mailbox of an account that does not exist is `NotFound`.
pub async fn mailbox_of_a_missing_account_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    assert_err!(
        s.create_mailbox(AccountId(alice.id.0 + 1000), "Lists", None)
            .await,
        NotFound
    );
}

/// A name an account already has is a `Conflict`; another account may have it.
pub async fn duplicate_mailbox_name_is_a_conflict(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    let bob = account(s, "bob@example.org").await;
    s.create_mailbox(alice.id, "Lists", None)
        .await
        .expect("create");
    assert_err!(s.create_mailbox(alice.id, "Lists", None).await, Conflict);
    assert_err!(s.create_mailbox(alice.id, "INBOX", None).await, Conflict);
    s.create_mailbox(bob.id, "Lists", None)
        .await
        .expect("same name, other account");
}

/// Renaming keeps the id, UIDVALIDITY, counters and messages, and frees the old name.
pub async fn rename_mailbox_keeps_uid_validity_and_messages(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    let lists = s
        .create_mailbox(alice.id, "Lists", None)
        .await
        .expect("create");
    s.append_message(lists.id, &new_message(1, 10))
        .await
        .expect("append");
    let before = s
        .mailbox_by_id(lists.id)
        .await
        .expect("by id")
        .expect("exists");

    let renamed = s
        .rename_mailbox(lists.id, "Archive/Lists")
        .await
        .expect("rename");
    assert_eq!(renamed.id, lists.id);
    assert_eq!(renamed.name, "Archive/Lists");
    assert_eq!(renamed.uid_validity, before.uid_validity);
    assert_eq!(renamed.uid_next, before.uid_next);
    assert_eq!(renamed.highest_modseq, before.highest_modseq);
    assert_eq!(
        s.mailbox(alice.id, "Archive/Lists").await.expect("mailbox"),
        Some(renamed)
    );
    assert_eq!(s.mailbox(alice.id, "Lists").await.expect("mailbox"), None);
    assert_eq!(s.messages(lists.id).await.expect("messages").len(), 1);

    s.create_mailbox(alice.id, "Lists", None)
        .await
        .expect("old name is free");
    assert_err!(
        s.rename_mailbox(MailboxId(lists.id.0 + 1000), "Other")
            .await,
        NotFound
    );
}

/// Renaming onto a name the account has is a `Conflict` and changes nothing.
pub async fn rename_to_a_taken_name_is_a_conflict(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    let lists = s
        .create_mailbox(alice.id, "Lists", None)
        .await
        .expect("create");
    assert_err!(s.rename_mailbox(lists.id, "Sent").await, Conflict);
    assert_eq!(s.mailbox_by_id(lists.id).await.expect("by id"), Some(lists));
}

/// Deleting a mailbox removes its messages and change log; a second delete is `NotFound`.
pub async fn delete_mailbox_removes_its_messages(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let lists = s
        .create_mailbox(alice.id, "Lists", None)
        .await
        .expect("create");
    s.append_message(lists.id, &new_message(1, 10))
        .await
        .expect("append");
    s.append_message(inbox.id, &new_message(2, 20))
        .await
        .expect("append");

    s.delete_mailbox(lists.id).await.expect("delete");
    assert_eq!(s.mailbox_by_id(lists.id).await.expect("by id"), None);
    assert_eq!(s.mailbox(alice.id, "Lists").await.expect("mailbox"), None);
    assert!(s.messages(lists.id).await.expect("messages").is_empty());
    assert!(
        s.changes_since(lists.id, ModSeq(0))
            .await
            .expect("changes")
            .is_empty()
    );
    assert_eq!(s.account_usage(alice.id).await.expect("usage"), 20);
    assert_eq!(s.messages(inbox.id).await.expect("messages").len(), 1);
    assert_err!(s.delete_mailbox(lists.id).await, NotFound);
}

/// `set_subscribed` sets and clears the flag; a missing mailbox is `NotFound`.
pub async fn subscription_is_set_and_cleared(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    let lists = s
        .create_mailbox(alice.id, "Lists", None)
        .await
        .expect("create");

    s.set_subscribed(lists.id, true).await.expect("subscribe");
    assert!(mailbox(s, alice.id, "Lists").await.subscribed);
    s.set_subscribed(lists.id, true)
        .await
        .expect("subscribe twice");
    assert!(mailbox(s, alice.id, "Lists").await.subscribed);
    s.set_subscribed(lists.id, false)
        .await
        .expect("unsubscribe");
    assert!(!mailbox(s, alice.id, "Lists").await.subscribed);
    // Only that mailbox changed.
    assert!(mailbox(s, alice.id, "INBOX").await.subscribed);

    assert_err!(
        s.set_subscribed(MailboxId(lists.id.0 + 1000), true).await,
        NotFound
    );
}

/// A mailbox deleted and created again under the same name gets a new, larger
/// UIDVALIDITY, so clients drop the UIDs they cached (RFC 9051 §2.3.1.1).
pub async fn recreated_mailbox_gets_a_larger_uid_validity(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    let mut last = s
        .create_mailbox(alice.id, "Lists", None)
        .await
        .expect("create");
    // Several times within the same second: the clock alone would repeat itself.
    for _ in 0..3 {
        s.delete_mailbox(last.id).await.expect("delete");
        let again = s
            .create_mailbox(alice.id, "Lists", None)
            .await
            .expect("create");
        assert_ne!(again.id, last.id);
        assert!(
            again.uid_validity > last.uid_validity,
            "{:?} after {:?}",
            again.uid_validity,
            last.uid_validity
        );
        assert_eq!(again.uid_next, Uid(1));
        last = again;
    }

    // Also when the whole account is deleted and created again.
    let old_inbox = mailbox(s, alice.id, "INBOX").await;
    s.delete_account(alice.id).await.expect("delete account");
    let alice = account(s, "alice@example.org").await;
    let new_inbox = mailbox(s, alice.id, "INBOX").await;
    assert!(new_inbox.uid_validity > old_inbox.uid_validity);
}

/// `mailboxes` lists an account's mailboxes sorted by name, and only its own.
pub async fn mailboxes_are_listed_sorted_by_name(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    let bob = account(s, "bob@example.org").await;
    for name in ["Lists/rust", "Lists", "Work", "Archive/2025"] {
        s.create_mailbox(alice.id, name, None)
            .await
            .expect("create");
    }
    s.create_mailbox(bob.id, "Bobs", None)
        .await
        .expect("create");
    let names: Vec<String> = s
        .mailboxes(alice.id)
        .await
        .expect("mailboxes")
        .into_iter()
        .map(|m| m.name)
        .collect();
    let mut expected: Vec<String> = [
        "INBOX",
        "Drafts",
        "Sent",
        "Trash",
        "Junk",
        "Archive",
        "Lists/rust",
        "Lists",
        "Work",
        "Archive/2025",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(
        s.mailboxes(AccountId(bob.id.0 + 1000))
            .await
            .expect("mailboxes")
            .is_empty()
    );
}

/// `set_special_use` sets, replaces and clears the RFC 6154 role; a missing mailbox is
/// `NotFound`.
pub async fn special_use_is_set_replaced_and_cleared(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, _) = inbox(s).await;
    let lists = s
        .create_mailbox(alice.id, "Lists", None)
        .await
        .expect("create");
    let role = |id| async move {
        s.mailbox_by_id(id)
            .await
            .expect("by id")
            .expect("exists")
            .special_use
    };

    s.set_special_use(lists.id, Some(SpecialUse::All))
        .await
        .expect("set");
    assert_eq!(role(lists.id).await, Some(SpecialUse::All));
    s.set_special_use(lists.id, Some(SpecialUse::Flagged))
        .await
        .expect("replace");
    assert_eq!(role(lists.id).await, Some(SpecialUse::Flagged));
    s.set_special_use(lists.id, None).await.expect("clear");
    assert_eq!(role(lists.id).await, None);

    let sent = mailbox(s, alice.id, "Sent").await;
    s.set_special_use(sent.id, None).await.expect("clear sent");
    assert_eq!(role(sent.id).await, None);
    assert_err!(
        s.set_special_use(MailboxId(lists.id.0 + 1000), Some(SpecialUse::Junk))
            .await,
        NotFound
    );
}
