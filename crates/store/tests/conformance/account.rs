//! Accounts, domain-manager rights and app passwords.

use std::collections::HashSet;

use mailstead_store::model::{AccountUpdate, DEFAULT_MAILBOXES, NewAlias, SpecialUse};
use mailstead_types::{AccountId, AppPasswordId, DomainId, ModSeq, Uid};

use super::{
    MetaFixture, account, addr, assert_err, domain, inbox, new_account, new_message, strings,
};

/// A new account gets the six default mailboxes with their special use, subscribed,
/// empty, each with its own UIDVALIDITY.
pub async fn create_account_makes_the_default_mailboxes(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let new = new_account("alice@example.org");
    let alice = s.create_account(&new).await.expect("create_account");
    assert_eq!(alice.address, addr("alice@example.org"));
    assert_eq!(alice.domain_id, org.id);
    assert_eq!(alice.display_name, new.display_name);
    assert_eq!(alice.password_hash, new.password_hash);
    assert_eq!(alice.quota_bytes, new.quota_bytes);
    assert!(alice.enabled);
    assert!(!alice.global_admin);
    assert!(!alice.allow_spoofing);

    let mailboxes = s.mailboxes(alice.id).await.expect("mailboxes");
    assert_eq!(mailboxes.len(), DEFAULT_MAILBOXES.len());
    for (name, special_use) in DEFAULT_MAILBOXES {
        let m = mailboxes
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("default mailbox {name}"));
        assert_eq!(m.special_use, special_use, "{name}");
        assert!(m.subscribed, "{name} is subscribed");
        assert_eq!(m.account_id, alice.id);
        assert_eq!(m.uid_next, Uid(1), "{name}");
        assert_eq!(m.highest_modseq, ModSeq(1), "{name}");
    }
    let sent = mailboxes.iter().find(|m| m.name == "Sent").expect("Sent");
    assert_eq!(sent.special_use, Some(SpecialUse::Sent));
    let validities: HashSet<_> = mailboxes.iter().map(|m| m.uid_validity).collect();
    assert_eq!(
        validities.len(),
        mailboxes.len(),
        "UIDVALIDITY values are distinct"
    );
}

/// An address whose domain is not a primary domain is `NotFound`, and nothing is created.
pub async fn account_in_an_unknown_domain_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    s.add_alternative_domain(org.id, &super::dn("example.com"))
        .await
        .expect("alternative");
    assert_err!(
        s.create_account(&new_account("alice@example.net")).await,
        NotFound
    );
    // An alternative name is not a home for accounts either.
    assert_err!(
        s.create_account(&new_account("alice@example.com")).await,
        NotFound
    );
    assert!(s.list_accounts(None).await.expect("list").is_empty());
}

/// The same address twice is a `Conflict`, and the first account is untouched.
pub async fn duplicate_address_is_a_conflict(f: &MetaFixture) {
    let s = &*f.store;
    domain(s, "example.org").await;
    let alice = account(s, "alice@example.org").await;
    let mut again = new_account("alice@example.org");
    again.display_name = "Other".into();
    assert_err!(s.create_account(&again).await, Conflict);
    assert_eq!(
        s.list_accounts(None).await.expect("list"),
        vec![alice.clone()]
    );
    assert_eq!(
        s.mailboxes(alice.id).await.expect("mailboxes").len(),
        DEFAULT_MAILBOXES.len()
    );
}

/// An address is an account's or a (non-wildcard) alias's, never both.
pub async fn account_and_alias_addresses_conflict_both_ways(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    domain(s, "example.net").await;
    account(s, "alice@example.org").await;
    s.create_alias(&NewAlias {
        domain_id: org.id,
        local_part: "sales".into(),
        wildcard: false,
        destinations: strings(&["alice@example.org"]),
    })
    .await
    .expect("alias");

    // Account where an alias is.
    assert_err!(
        s.create_account(&new_account("sales@example.org")).await,
        Conflict
    );
    // Alias where an account is.
    assert_err!(
        s.create_alias(&NewAlias {
            domain_id: org.id,
            local_part: "alice".into(),
            wildcard: false,
            destinations: strings(&["bob@example.net"]),
        })
        .await,
        Conflict
    );
    // The same local part in another domain is another address.
    account(s, "sales@example.net").await;
    assert_eq!(s.list_accounts(Some(org.id)).await.expect("list").len(), 1);
    assert_eq!(
        s.list_aliases(Some(org.id)).await.expect("aliases").len(),
        1
    );
}

/// A wildcard pattern may overlap an account's address (the account wins at delivery).
pub async fn wildcard_alias_does_not_conflict_with_an_account(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    s.create_alias(&NewAlias {
        domain_id: org.id,
        local_part: "*".into(),
        wildcard: true,
        destinations: strings(&["postmaster@example.org"]),
    })
    .await
    .expect("wildcard alias");
    let alice = account(s, "alice@example.org").await;
    assert_eq!(alice.address, addr("alice@example.org"));
    assert_eq!(
        s.list_aliases(Some(org.id)).await.expect("aliases").len(),
        1
    );
}

/// Lookups by address and id, lists sorted by address (optionally one domain), counts.
pub async fn accounts_are_found_listed_sorted_and_counted(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let net = domain(s, "example.net").await;
    let carol = account(s, "carol@example.org").await;
    let alice = account(s, "alice@example.org").await;
    let bob = account(s, "bob@example.net").await;

    assert_eq!(
        s.account(&addr("alice@example.org"))
            .await
            .expect("account"),
        Some(alice.clone())
    );
    assert_eq!(
        s.account_by_id(bob.id).await.expect("by id"),
        Some(bob.clone())
    );
    assert_eq!(
        s.account(&addr("dave@example.org")).await.expect("account"),
        None
    );
    assert_eq!(
        s.account(&addr("alice@example.net"))
            .await
            .expect("account"),
        None
    );
    assert_eq!(
        s.account_by_id(AccountId(carol.id.0 + 1000))
            .await
            .expect("by id"),
        None
    );

    assert_eq!(
        s.list_accounts(None).await.expect("list"),
        vec![alice.clone(), bob.clone(), carol.clone()]
    );
    assert_eq!(
        s.list_accounts(Some(org.id)).await.expect("list"),
        vec![alice, carol]
    );
    assert_eq!(
        s.list_accounts(Some(net.id)).await.expect("list"),
        vec![bob]
    );
    assert_eq!(s.count_accounts(org.id).await.expect("count"), 2);
    assert_eq!(s.count_accounts(net.id).await.expect("count"), 1);
    assert_eq!(
        s.count_accounts(DomainId(net.id.0 + 1000))
            .await
            .expect("count"),
        0
    );
}

/// `update_account` changes exactly the fields given and returns the stored row.
pub async fn update_account_changes_only_the_given_fields(f: &MetaFixture) {
    let s = &*f.store;
    domain(s, "example.org").await;
    let alice = account(s, "alice@example.org").await;

    let updated = s
        .update_account(
            alice.id,
            &AccountUpdate {
                display_name: Some("Alice Liddell".into()),
                allow_spoofing: Some(true),
                ..AccountUpdate::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.display_name, "Alice Liddell");
    assert!(updated.allow_spoofing);
    assert_eq!(updated.password_hash, alice.password_hash);
    assert_eq!(updated.quota_bytes, alice.quota_bytes);
    assert_eq!(updated.enabled, alice.enabled);
    assert_eq!(updated.global_admin, alice.global_admin);
    assert_eq!(updated.created_at, alice.created_at);
    assert_eq!(
        s.account_by_id(alice.id).await.expect("by id"),
        Some(updated.clone())
    );

    let updated = s
        .update_account(
            alice.id,
            &AccountUpdate {
                password_hash: Some("new-hash".into()),
                quota_bytes: Some(None),
                enabled: Some(false),
                global_admin: Some(true),
                ..AccountUpdate::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.display_name, "Alice Liddell");
    assert_eq!(updated.password_hash, "new-hash");
    assert_eq!(updated.quota_bytes, None);
    assert!(!updated.enabled);
    assert!(updated.global_admin);
    assert!(updated.allow_spoofing);
    assert_eq!(
        s.account(&alice.address).await.expect("account"),
        Some(updated.clone())
    );

    // An empty update changes nothing.
    let same = s
        .update_account(alice.id, &AccountUpdate::default())
        .await
        .expect("update");
    assert_eq!(same, updated);

    let updated = s
        .update_account(
            alice.id,
            &AccountUpdate {
                quota_bytes: Some(Some(5_000)),
                ..AccountUpdate::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.quota_bytes, Some(5_000));
}

/// Updating an account that does not exist is `NotFound`.
pub async fn update_missing_account_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    assert_err!(
        s.update_account(AccountId(4242), &AccountUpdate::default())
            .await,
        NotFound
    );
}

/// Deleting an account removes its mailboxes, messages, app passwords and rights; the
/// address is free again; a second delete is `NotFound`.
pub async fn delete_account_removes_its_mailboxes_and_messages(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let org = s
        .domain(&super::dn("example.org"))
        .await
        .expect("domain")
        .expect("exists");
    s.append_message(inbox.id, &new_message(1, 10))
        .await
        .expect("append");
    s.create_app_password(alice.id, "phone", "hash")
        .await
        .expect("app password");
    s.set_managed_domains(alice.id, &[org.id])
        .await
        .expect("manage");
    let bob = account(s, "bob@example.org").await;

    s.delete_account(alice.id).await.expect("delete");
    assert_eq!(s.account_by_id(alice.id).await.expect("by id"), None);
    assert!(s.mailboxes(alice.id).await.expect("mailboxes").is_empty());
    assert_eq!(s.mailbox_by_id(inbox.id).await.expect("mailbox"), None);
    assert!(s.messages(inbox.id).await.expect("messages").is_empty());
    assert!(
        s.app_passwords(alice.id)
            .await
            .expect("app passwords")
            .is_empty()
    );
    assert!(
        s.managed_domains(alice.id)
            .await
            .expect("managed")
            .is_empty()
    );
    assert_eq!(s.account_usage(alice.id).await.expect("usage"), 0);
    assert_err!(s.delete_account(alice.id).await, NotFound);

    assert_eq!(s.list_accounts(None).await.expect("list"), vec![bob]);
    let again = account(s, "alice@example.org").await;
    assert_ne!(again.id, alice.id, "ids are not reused");
}

/// `set_managed_domains` replaces the whole set; `managed_domains` is sorted by id.
pub async fn managed_domains_are_replaced_and_sorted(f: &MetaFixture) {
    let s = &*f.store;
    let a = domain(s, "a.example").await;
    let b = domain(s, "b.example").await;
    let c = domain(s, "c.example").await;
    let alice = account(s, "alice@a.example").await;
    assert!(
        s.managed_domains(alice.id)
            .await
            .expect("managed")
            .is_empty()
    );

    s.set_managed_domains(alice.id, &[c.id, a.id])
        .await
        .expect("set");
    let mut expected = vec![a.id, c.id];
    expected.sort();
    assert_eq!(
        s.managed_domains(alice.id).await.expect("managed"),
        expected
    );

    s.set_managed_domains(alice.id, &[b.id]).await.expect("set");
    assert_eq!(
        s.managed_domains(alice.id).await.expect("managed"),
        vec![b.id]
    );

    s.set_managed_domains(alice.id, &[]).await.expect("set");
    assert!(
        s.managed_domains(alice.id)
            .await
            .expect("managed")
            .is_empty()
    );
}

/// Rights for a missing account or on a missing domain are `NotFound`, and a failed call
/// changes nothing.
pub async fn managed_domains_refuse_missing_account_or_domain(f: &MetaFixture) {
    let s = &*f.store;
    let a = domain(s, "a.example").await;
    let alice = account(s, "alice@a.example").await;
    s.set_managed_domains(alice.id, &[a.id]).await.expect("set");

    assert_err!(
        s.set_managed_domains(AccountId(alice.id.0 + 1000), &[a.id])
            .await,
        NotFound
    );
    assert_err!(
        s.set_managed_domains(alice.id, &[DomainId(a.id.0 + 1000)])
            .await,
        NotFound
    );
    assert_eq!(
        s.managed_domains(alice.id).await.expect("managed"),
        vec![a.id]
    );
}

/// App passwords are created (with no last use), listed by id, revoked once.
pub async fn app_passwords_are_created_listed_and_revoked(f: &MetaFixture) {
    let s = &*f.store;
    domain(s, "example.org").await;
    let alice = account(s, "alice@example.org").await;
    let bob = account(s, "bob@example.org").await;

    let phone = s
        .create_app_password(alice.id, "phone", "hash-1")
        .await
        .expect("create");
    let laptop = s
        .create_app_password(alice.id, "laptop mutt", "hash-2")
        .await
        .expect("create");
    s.create_app_password(bob.id, "tablet", "hash-3")
        .await
        .expect("create");
    assert_eq!(phone.account_id, alice.id);
    assert_eq!(phone.name, "phone");
    assert_eq!(phone.hash, "hash-1");
    assert_eq!(phone.last_used_at, None);
    assert_ne!(phone.id, laptop.id);

    let mut expected = vec![phone.clone(), laptop.clone()];
    expected.sort_by_key(|p| p.id);
    assert_eq!(s.app_passwords(alice.id).await.expect("list"), expected);

    s.delete_app_password(alice.id, phone.id)
        .await
        .expect("revoke");
    assert_eq!(s.app_passwords(alice.id).await.expect("list"), vec![laptop]);
    assert_err!(s.delete_app_password(alice.id, phone.id).await, NotFound);
    assert_eq!(s.app_passwords(bob.id).await.expect("list").len(), 1);

    assert_err!(
        s.create_app_password(AccountId(bob.id.0 + 1000), "x", "hash")
            .await,
        NotFound
    );
}

/// Revoking another account's app password is `NotFound` and leaves it in place.
pub async fn app_password_of_another_account_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    domain(s, "example.org").await;
    let alice = account(s, "alice@example.org").await;
    let bob = account(s, "bob@example.org").await;
    let phone = s
        .create_app_password(alice.id, "phone", "hash")
        .await
        .expect("create");

    assert_err!(s.delete_app_password(bob.id, phone.id).await, NotFound);
    assert_eq!(s.app_passwords(alice.id).await.expect("list"), vec![phone]);
}

/// `touch_app_password` records the time of the last use; a missing one is `NotFound`.
pub async fn touch_app_password_records_the_last_use(f: &MetaFixture) {
    let s = &*f.store;
    domain(s, "example.org").await;
    let alice = account(s, "alice@example.org").await;
    let phone = s
        .create_app_password(alice.id, "phone", "hash")
        .await
        .expect("create");

    s.touch_app_password(phone.id, 1_800_000_000)
        .await
        .expect("touch");
    let listed = s.app_passwords(alice.id).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(1_800_000_000));
    assert_eq!(listed[0].created_at, phone.created_at);

    s.touch_app_password(phone.id, 1_800_000_100)
        .await
        .expect("touch");
    let listed = s.app_passwords(alice.id).await.expect("list");
    assert_eq!(listed[0].last_used_at, Some(1_800_000_100));

    assert_err!(
        s.touch_app_password(AppPasswordId(phone.id.0 + 1000), 1)
            .await,
        NotFound
    );
}
