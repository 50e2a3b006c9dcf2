//! DKIM keys: stored active per domain and selector, listed, (de)activated, removed, and
//! removed with their domain; what a key may not be.

use mailstead_store::model::{DkimAlgorithm, DkimKey, NewDkimKey};
use mailstead_types::{DkimKeyId, DomainId};

use super::{MetaFixture, assert_err, dn, domain};

/// A key for `domain` with distinct (fake) key material.
fn new_key(domain: DomainId, selector: &str, algorithm: DkimAlgorithm) -> NewDkimKey {
    NewDkimKey {
        domain_id: domain,
        selector: selector.to_owned(),
        algorithm,
        private_key: format!("private {selector}\0\u{ff}").into_bytes(),
        public_key: vec![0, 1, 2, 0xfe, 0xff, selector.len() as u8],
    }
}

/// What the store must give back for `new`, whatever id and time it chose.
fn stored(got: &DkimKey, new: &NewDkimKey) -> DkimKey {
    DkimKey {
        id: got.id,
        domain_id: new.domain_id,
        selector: new.selector.clone(),
        algorithm: new.algorithm,
        private_key: new.private_key.clone(),
        public_key: new.public_key.clone(),
        created_at: got.created_at,
        active: true,
    }
}

/// Keys come back field for field (binary key material included), active, listed per
/// domain ascending by id; another domain may use the same selector.
pub async fn dkim_keys_are_created_active_and_listed_by_domain(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let net = domain(s, "example.net").await;
    assert!(s.dkim_keys(org.id).await.expect("keys").is_empty());

    let new_rsa = new_key(org.id, "2026a", DkimAlgorithm::Rsa);
    let new_ed = new_key(org.id, "2026b", DkimAlgorithm::Ed25519);
    let new_net = new_key(net.id, "2026a", DkimAlgorithm::Ed25519);
    let rsa = s.create_dkim_key(&new_rsa).await.expect("create");
    let ed = s.create_dkim_key(&new_ed).await.expect("create");
    let other = s
        .create_dkim_key(&new_net)
        .await
        .expect("same selector elsewhere");
    assert_eq!(rsa, stored(&rsa, &new_rsa));
    assert_eq!(ed, stored(&ed, &new_ed));
    assert_eq!(other, stored(&other, &new_net));
    assert!(rsa.created_at > 0);
    assert!(rsa.id < ed.id);

    assert_eq!(s.dkim_keys(org.id).await.expect("keys"), vec![rsa, ed]);
    assert_eq!(s.dkim_keys(net.id).await.expect("keys"), vec![other]);
    assert!(
        s.dkim_keys(DomainId(net.id.0 + 1000))
            .await
            .expect("keys of a missing domain")
            .is_empty()
    );
}

/// A selector the domain has is a `Conflict`, a missing domain `NotFound`, an empty
/// selector or key (or a selector with NUL) `Invalid`; nothing is stored.
pub async fn dkim_key_conflicts_and_invalid_keys_are_refused(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let key = s
        .create_dkim_key(&new_key(org.id, "sel", DkimAlgorithm::Rsa))
        .await
        .expect("create");
    assert_err!(
        s.create_dkim_key(&new_key(org.id, "sel", DkimAlgorithm::Ed25519))
            .await,
        Conflict
    );
    assert_err!(
        s.create_dkim_key(&new_key(
            DomainId(org.id.0 + 1000),
            "sel",
            DkimAlgorithm::Rsa
        ))
        .await,
        NotFound
    );
    let good = new_key(org.id, "other", DkimAlgorithm::Rsa);
    for bad in [
        NewDkimKey {
            selector: String::new(),
            ..good.clone()
        },
        NewDkimKey {
            selector: "a\0b".into(),
            ..good.clone()
        },
        NewDkimKey {
            private_key: Vec::new(),
            ..good.clone()
        },
        NewDkimKey {
            public_key: Vec::new(),
            ..good.clone()
        },
    ] {
        assert_err!(s.create_dkim_key(&bad).await, Invalid);
    }
    assert_eq!(s.dkim_keys(org.id).await.expect("keys"), vec![key]);
}

/// A key is deactivated and activated again, then removed; a missing key is `NotFound`.
pub async fn dkim_key_is_deactivated_and_deleted(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let old = s
        .create_dkim_key(&new_key(org.id, "old", DkimAlgorithm::Rsa))
        .await
        .expect("create");
    let new = s
        .create_dkim_key(&new_key(org.id, "new", DkimAlgorithm::Ed25519))
        .await
        .expect("create");

    s.set_dkim_key_active(old.id, false)
        .await
        .expect("deactivate");
    let keys = s.dkim_keys(org.id).await.expect("keys");
    assert_eq!(
        keys.iter().map(|k| k.active).collect::<Vec<_>>(),
        [false, true]
    );
    s.set_dkim_key_active(old.id, true).await.expect("activate");
    assert!(s.dkim_keys(org.id).await.expect("keys")[0].active);

    s.delete_dkim_key(old.id).await.expect("delete");
    assert_eq!(s.dkim_keys(org.id).await.expect("keys"), vec![new.clone()]);
    assert_err!(s.delete_dkim_key(old.id).await, NotFound);
    assert_err!(s.set_dkim_key_active(old.id, false).await, NotFound);
    assert_err!(
        s.set_dkim_key_active(DkimKeyId(new.id.0 + 1000), true)
            .await,
        NotFound
    );
}

/// Removing a domain removes its keys and no other domain's.
pub async fn deleting_a_domain_removes_its_dkim_keys(f: &MetaFixture) {
    let s = &*f.store;
    let org = domain(s, "example.org").await;
    let net = domain(s, "example.net").await;
    let gone = s
        .create_dkim_key(&new_key(org.id, "sel", DkimAlgorithm::Rsa))
        .await
        .expect("create");
    let kept = s
        .create_dkim_key(&new_key(net.id, "sel", DkimAlgorithm::Rsa))
        .await
        .expect("create");
    s.delete_domain(org.id).await.expect("delete domain");
    assert!(s.dkim_keys(org.id).await.expect("keys").is_empty());
    assert_err!(s.delete_dkim_key(gone.id).await, NotFound);
    assert_eq!(s.dkim_keys(net.id).await.expect("keys"), vec![kept]);

    // The name can be created again, with its selectors free.
    let again = s.create_domain(&dn("example.org")).await.expect("domain");
    s.create_dkim_key(&new_key(again.id, "sel", DkimAlgorithm::Rsa))
        .await
        .expect("selector free again");
}
