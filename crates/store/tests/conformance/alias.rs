//! Aliases: plain, catch-all (`""`) and wildcard, with ordered destinations.

use mailstead_store::model::{NewAlias, unix_now};
use mailstead_types::{AliasId, DomainId};

use super::{MetaFixture, assert_err, domain, strings};

fn new_alias(domain_id: DomainId, local_part: &str, destinations: &[&str]) -> NewAlias {
    NewAlias {
        domain_id,
        local_part: local_part.into(),
        wildcard: local_part.contains('*'),
        destinations: strings(destinations),
    }
}

/// `create_alias` returns the row; both lookups find it with the destinations in the
/// order given (not sorted).
pub async fn alias_is_created_and_found_with_ordered_destinations(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let before = unix_now();
    let destinations = ["zed@example.net", "alice@example.org", "bob@example.org"];
    let sales = s
        .create_alias(&new_alias(org.id, "sales", &destinations))
        .await
        .expect("create");
    assert_eq!(sales.domain_id, org.id);
    assert_eq!(sales.local_part, "sales");
    assert!(!sales.wildcard);
    assert_eq!(sales.destinations, strings(&destinations));
    assert!(sales.created_at >= before);

    assert_eq!(
        s.alias(org.id, "sales").await.expect("alias"),
        Some(sales.clone())
    );
    assert_eq!(
        s.alias_by_id(sales.id).await.expect("by id"),
        Some(sales.clone())
    );
    assert_eq!(s.alias(org.id, "support").await.expect("alias"), None);
    assert_eq!(
        s.alias_by_id(AliasId(sales.id.0 + 1000))
            .await
            .expect("by id"),
        None
    );
}

/// The catch-all (`""`) and wildcard patterns are stored and found by their exact text.
pub async fn catch_all_and_wildcard_aliases_are_stored(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let catch_all = s
        .create_alias(&new_alias(org.id, "", &["postmaster@example.org"]))
        .await
        .expect("catch-all");
    let pattern = s
        .create_alias(&new_alias(org.id, "sales-*", &["sales@example.net"]))
        .await
        .expect("wildcard");
    assert_eq!(catch_all.local_part, "");
    assert!(!catch_all.wildcard);
    assert!(pattern.wildcard);

    assert_eq!(s.alias(org.id, "").await.expect("alias"), Some(catch_all));
    assert_eq!(
        s.alias(org.id, "sales-*").await.expect("alias"),
        Some(pattern)
    );
    // Lookup is by the pattern as written, not by matching.
    assert_eq!(s.alias(org.id, "sales-eu").await.expect("alias"), None);
}

/// An alias needs at least one destination, at creation and at update.
pub async fn alias_without_destination_is_invalid(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    assert_err!(
        s.create_alias(&new_alias(org.id, "sales", &[])).await,
        Invalid
    );
    assert_eq!(s.alias(org.id, "sales").await.expect("alias"), None);

    let sales = s
        .create_alias(&new_alias(org.id, "sales", &["alice@example.org"]))
        .await
        .expect("create");
    assert_err!(s.update_alias(sales.id, &[]).await, Invalid);
    assert_eq!(s.alias_by_id(sales.id).await.expect("by id"), Some(sales));
}

/// The same (domain, local part) twice is a `Conflict`, wildcard or not.
pub async fn duplicate_alias_is_a_conflict(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let net = domain(s, "example.net").await;
    for local in ["sales", "", "team-*"] {
        s.create_alias(&new_alias(org.id, local, &["a@example.org"]))
            .await
            .expect("create");
        assert_err!(
            s.create_alias(&new_alias(org.id, local, &["b@example.org"]))
                .await,
            Conflict
        );
        // Another domain is another address.
        s.create_alias(&new_alias(net.id, local, &["a@example.org"]))
            .await
            .expect("create in another domain");
    }
    assert_eq!(
        s.alias(org.id, "sales")
            .await
            .expect("alias")
            .map(|a| a.destinations),
        Some(strings(&["a@example.org"]))
    );
}

/// An alias in a domain that does not exist is `NotFound`.
pub async fn alias_in_an_unknown_domain_is_not_found(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    assert_err!(
        s.create_alias(&new_alias(
            DomainId(org.id.0 + 1000),
            "sales",
            &["a@example.org"]
        ))
        .await,
        NotFound
    );
    assert!(s.list_aliases(None).await.expect("list").is_empty());
}

/// `update_alias` replaces the destinations (order kept) and returns the new row;
/// a missing alias is `NotFound`.
pub async fn update_alias_replaces_destinations(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let sales = s
        .create_alias(&new_alias(
            org.id,
            "sales",
            &["a@example.org", "b@example.org"],
        ))
        .await
        .expect("create");

    let updated = s
        .update_alias(
            sales.id,
            &strings(&["c@example.org", "a@example.org", "d@example.net"]),
        )
        .await
        .expect("update");
    assert_eq!(updated.id, sales.id);
    assert_eq!(updated.local_part, "sales");
    assert_eq!(updated.created_at, sales.created_at);
    assert_eq!(
        updated.destinations,
        strings(&["c@example.org", "a@example.org", "d@example.net"])
    );
    assert_eq!(s.alias_by_id(sales.id).await.expect("by id"), Some(updated));

    let shorter = s
        .update_alias(sales.id, &strings(&["e@example.org"]))
        .await
        .expect("update");
    assert_eq!(shorter.destinations, strings(&["e@example.org"]));
    assert_eq!(
        s.alias(org.id, "sales").await.expect("alias"),
        Some(shorter)
    );

    assert_err!(
        s.update_alias(AliasId(sales.id.0 + 1000), &strings(&["x@example.org"]))
            .await,
        NotFound
    );
}

/// `delete_alias` removes it (and frees the address); a second delete is `NotFound`.
pub async fn delete_alias_removes_it(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let sales = s
        .create_alias(&new_alias(org.id, "sales", &["a@example.org"]))
        .await
        .expect("create");
    s.delete_alias(sales.id).await.expect("delete");
    assert_eq!(s.alias_by_id(sales.id).await.expect("by id"), None);
    assert_eq!(s.alias(org.id, "sales").await.expect("alias"), None);
    assert_err!(s.delete_alias(sales.id).await, NotFound);

    // The address can now be an account's.
    super::account(s, "sales@example.org").await;
}

/// Lists are sorted by (domain name, local part) and can be limited to one domain.
pub async fn aliases_are_listed_sorted_and_filtered(f: &MetaFixture) {
    let s = &*f.store;
    // Created out of name order: the list follows the names, not the ids.
    let b = domain(s, "b.example").await;
    let a = domain(s, "a.example").await;
    for (domain_id, local) in [(b.id, "zed"), (a.id, "sales"), (b.id, ""), (a.id, "info")] {
        s.create_alias(&new_alias(domain_id, local, &["x@example.net"]))
            .await
            .expect("create");
    }
    let keys = |aliases: Vec<mailstead_store::model::Alias>| {
        aliases
            .into_iter()
            .map(|a| (a.domain_id, a.local_part, a.destinations.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(s.list_aliases(None).await.expect("list")),
        vec![
            (a.id, "info".to_owned(), 1),
            (a.id, "sales".to_owned(), 1),
            (b.id, "".to_owned(), 1),
            (b.id, "zed".to_owned(), 1),
        ]
    );
    assert_eq!(
        keys(s.list_aliases(Some(b.id)).await.expect("list")),
        vec![(b.id, "".to_owned(), 1), (b.id, "zed".to_owned(), 1)]
    );
    assert!(
        s.list_aliases(Some(DomainId(b.id.0 + 1000)))
            .await
            .expect("list")
            .is_empty()
    );
}
