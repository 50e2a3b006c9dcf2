//! Domains and alternative domain names.

use mailstead_store::model::{NewAlias, unix_now};
use mailstead_types::DomainId;

use super::{MetaFixture, account, assert_err, dn, domain, inbox, new_message, strings};

/// `create_domain` returns the row, and both lookups find it; unknown names are `None`.
pub async fn domain_is_created_and_found_by_name_and_id(f: &MetaFixture) {
    let s = &*f.store;
    let before = unix_now();
    let created = s.create_domain(&dn("example.org")).await.expect("create");
    assert_eq!(created.name, dn("example.org"));
    assert!(created.created_at >= before && created.created_at <= unix_now() + 1);

    assert_eq!(
        s.domain(&dn("example.org")).await.expect("domain"),
        Some(created.clone())
    );
    assert_eq!(
        s.domain_by_id(created.id).await.expect("by id"),
        Some(created.clone())
    );
    assert_eq!(s.domain(&dn("example.net")).await.expect("domain"), None);
    assert_eq!(
        s.domain_by_id(DomainId(created.id.0 + 1000))
            .await
            .expect("by id"),
        None
    );
}

/// The same primary name twice is a `Conflict`.
pub async fn duplicate_domain_is_a_conflict(f: &MetaFixture) {
    let s = &*f.store;
    domain(s, "example.org").await;
    assert_err!(s.create_domain(&dn("example.org")).await, Conflict);
    assert_eq!(s.list_domains().await.expect("list").len(), 1);
}

/// A name is primary or alternative, never both, and an alternative exists once.
pub async fn alternative_and_primary_names_conflict_both_ways(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let net = domain(s, "example.net").await;
    s.add_alternative_domain(org.id, &dn("example.com"))
        .await
        .expect("add alternative");

    // An existing primary cannot become an alternative (of itself or of another).
    assert_err!(
        s.add_alternative_domain(org.id, &dn("example.net")).await,
        Conflict
    );
    assert_err!(
        s.add_alternative_domain(org.id, &dn("example.org")).await,
        Conflict
    );
    // An existing alternative cannot become a primary...
    assert_err!(s.create_domain(&dn("example.com")).await, Conflict);
    // ...nor an alternative a second time, of the same or another domain.
    assert_err!(
        s.add_alternative_domain(org.id, &dn("example.com")).await,
        Conflict
    );
    assert_err!(
        s.add_alternative_domain(net.id, &dn("example.com")).await,
        Conflict
    );

    assert_eq!(
        s.alternative_domains(org.id).await.expect("alternatives"),
        vec![dn("example.com")]
    );
    assert!(
        s.alternative_domains(net.id)
            .await
            .expect("alternatives")
            .is_empty()
    );
}

/// `resolve_domain` maps primary and alternative names to the primary; `domain` only
/// finds primaries.
pub async fn resolve_finds_primary_and_alternative_names(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    s.add_alternative_domain(org.id, &dn("mail.example.org"))
        .await
        .expect("add alternative");

    assert_eq!(
        s.resolve_domain(&dn("example.org")).await.expect("resolve"),
        Some(org.clone())
    );
    assert_eq!(
        s.resolve_domain(&dn("mail.example.org"))
            .await
            .expect("resolve"),
        Some(org.clone())
    );
    assert_eq!(
        s.resolve_domain(&dn("example.net")).await.expect("resolve"),
        None
    );
    assert_eq!(
        s.domain(&dn("mail.example.org")).await.expect("domain"),
        None
    );
}

/// `list_domains` returns every primary domain sorted by name, not by creation.
pub async fn domains_are_listed_sorted_by_name(f: &MetaFixture) {
    let s = &*f.store;
    for name in ["zeta.example", "alpha.example", "mid.example"] {
        domain(s, name).await;
    }
    let alt_owner = s
        .domain(&dn("mid.example"))
        .await
        .expect("domain")
        .expect("exists");
    s.add_alternative_domain(alt_owner.id, &dn("beta.example"))
        .await
        .expect("add alternative");
    let names: Vec<String> = s
        .list_domains()
        .await
        .expect("list")
        .into_iter()
        .map(|d| d.name.to_string())
        .collect();
    assert_eq!(
        names,
        strings(&["alpha.example", "mid.example", "zeta.example"])
    );
}

/// Alternatives are listed sorted; removing one works once, then it is `NotFound`.
pub async fn alternative_domains_are_listed_sorted_and_removed(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    for name in ["c.example", "a.example", "b.example"] {
        s.add_alternative_domain(org.id, &dn(name))
            .await
            .expect("add alternative");
    }
    assert_eq!(
        s.alternative_domains(org.id).await.expect("alternatives"),
        vec![dn("a.example"), dn("b.example"), dn("c.example")]
    );

    s.remove_alternative_domain(&dn("b.example"))
        .await
        .expect("remove");
    assert_eq!(
        s.alternative_domains(org.id).await.expect("alternatives"),
        vec![dn("a.example"), dn("c.example")]
    );
    assert_eq!(
        s.resolve_domain(&dn("b.example")).await.expect("resolve"),
        None
    );
    assert_err!(
        s.remove_alternative_domain(&dn("b.example")).await,
        NotFound
    );
    // A primary name is not an alternative one.
    assert_err!(
        s.remove_alternative_domain(&dn("example.org")).await,
        NotFound
    );
    // A removed alternative name is free again, even as a primary.
    domain(s, "b.example").await;
}

/// An alternative name of a domain that does not exist is `NotFound`.
pub async fn alternative_of_a_missing_domain_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    assert_err!(
        s.add_alternative_domain(DomainId(org.id.0 + 1000), &dn("example.com"))
            .await,
        NotFound
    );
    assert_eq!(
        s.resolve_domain(&dn("example.com")).await.expect("resolve"),
        None
    );
}

/// Deleting a domain removes its alternatives, aliases, accounts with their mailboxes,
/// messages, app passwords and manager rights, and nothing of another domain.
pub async fn delete_domain_removes_everything_in_it(f: &MetaFixture) {
    let s = &*f.store;
    let (alice, inbox) = inbox(s).await;
    let org = s
        .domain(&dn("example.org"))
        .await
        .expect("domain")
        .expect("exists");
    s.add_alternative_domain(org.id, &dn("example.com"))
        .await
        .expect("add alternative");
    s.append_message(inbox.id, &new_message(1, 100))
        .await
        .expect("append");
    let app = s
        .create_app_password(alice.id, "phone", "hash")
        .await
        .expect("app password");
    let alias = s
        .create_alias(&NewAlias {
            domain_id: org.id,
            local_part: "sales".into(),
            wildcard: false,
            destinations: strings(&["alice@example.org"]),
        })
        .await
        .expect("alias");

    // A second domain whose manager is in the first, and whose account manages the first.
    let net = domain(s, "example.net").await;
    let bob = account(s, "bob@example.net").await;
    let bob_inbox = super::mailbox(s, bob.id, "INBOX").await;
    s.append_message(bob_inbox.id, &new_message(2, 50))
        .await
        .expect("append");
    s.set_managed_domains(alice.id, &[net.id])
        .await
        .expect("manage");
    s.set_managed_domains(bob.id, &[org.id, net.id])
        .await
        .expect("manage");

    s.delete_domain(org.id).await.expect("delete domain");

    assert_eq!(s.domain_by_id(org.id).await.expect("domain"), None);
    assert_eq!(
        s.resolve_domain(&dn("example.com")).await.expect("resolve"),
        None
    );
    assert!(
        s.alternative_domains(org.id)
            .await
            .expect("alternatives")
            .is_empty()
    );
    assert_eq!(s.account_by_id(alice.id).await.expect("account"), None);
    assert_eq!(s.account(&alice.address).await.expect("account"), None);
    assert!(
        s.list_accounts(Some(org.id))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(s.count_accounts(org.id).await.expect("count"), 0);
    assert!(s.mailboxes(alice.id).await.expect("mailboxes").is_empty());
    assert_eq!(s.mailbox_by_id(inbox.id).await.expect("mailbox"), None);
    assert!(s.messages(inbox.id).await.expect("messages").is_empty());
    assert!(
        s.changes_since(inbox.id, mailstead_types::ModSeq(0))
            .await
            .expect("changes")
            .is_empty()
    );
    assert_eq!(s.account_usage(alice.id).await.expect("usage"), 0);
    assert!(
        s.app_passwords(alice.id)
            .await
            .expect("app passwords")
            .is_empty()
    );
    assert_err!(s.delete_app_password(alice.id, app.id).await, NotFound);
    assert_eq!(s.alias_by_id(alias.id).await.expect("alias"), None);
    assert!(
        s.list_aliases(Some(org.id))
            .await
            .expect("aliases")
            .is_empty()
    );
    assert!(
        s.managed_domains(alice.id)
            .await
            .expect("managed")
            .is_empty()
    );

    // The other domain is intact; only its right on the deleted domain is gone.
    assert_eq!(s.list_domains().await.expect("list"), vec![net.clone()]);
    assert_eq!(
        s.account_by_id(bob.id).await.expect("account"),
        Some(bob.clone())
    );
    assert_eq!(s.messages(bob_inbox.id).await.expect("messages").len(), 1);
    assert_eq!(
        s.managed_domains(bob.id).await.expect("managed"),
        vec![net.id]
    );

    // The name is free again.
    domain(s, "example.org").await;
}

/// Deleting a domain that does not exist (or no longer) is `NotFound`.
pub async fn delete_missing_domain_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    s.delete_domain(org.id).await.expect("delete");
    assert_err!(s.delete_domain(org.id).await, NotFound);
    assert_err!(s.delete_domain(DomainId(org.id.0 + 1000)).await, NotFound);
}
