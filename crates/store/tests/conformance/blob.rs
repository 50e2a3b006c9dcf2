//! Blob stores: content addressing, idempotent put, hash check on read.

use std::collections::BTreeSet;

use mailstead_store::fs::blob_id_of;

use super::{BlobFixture, assert_err};

const MESSAGE: &[u8] = b"From: alice@example.org\r\nSubject: hi\r\n\r\nhello\r\n";

/// `put` returns the SHA-256 of the content, and `get` returns the same bytes.
pub async fn put_then_get_round_trips(f: &BlobFixture) {
    let s = &*f.store;
    let id = s.put(MESSAGE).await.expect("put");
    assert_eq!(id, blob_id_of(MESSAGE));
    assert_eq!(s.get(&id).await.expect("get").as_deref(), Some(MESSAGE));

    // The empty message is content like any other.
    let empty = s.put(b"").await.expect("put empty");
    assert_eq!(empty, blob_id_of(b""));
    assert_eq!(s.get(&empty).await.expect("get").as_deref(), Some(&b""[..]));
}

/// The same content twice gives the same id and is stored once.
pub async fn same_content_is_stored_once(f: &BlobFixture) {
    let s = &*f.store;
    let first = s.put(MESSAGE).await.expect("put");
    let second = s.put(MESSAGE).await.expect("put again");
    assert_eq!(first, second);
    assert_eq!(s.list().await.expect("list"), vec![first]);
    assert_eq!(s.get(&first).await.expect("get").as_deref(), Some(MESSAGE));
}

/// A blob that was never stored is `None`, not an error.
pub async fn get_of_a_missing_blob_is_none(f: &BlobFixture) {
    let s = &*f.store;
    s.put(MESSAGE).await.expect("put");
    assert_eq!(
        s.get(&blob_id_of(b"never stored")).await.expect("get"),
        None
    );
}

/// `exists` follows `put` and `delete`; deleting a missing blob is a no-op.
pub async fn exists_and_delete(f: &BlobFixture) {
    let s = &*f.store;
    let id = s.put(MESSAGE).await.expect("put");
    let other = s.put(b"other").await.expect("put");
    assert!(s.exists(&id).await.expect("exists"));
    assert!(
        !s.exists(&blob_id_of(b"never stored"))
            .await
            .expect("exists")
    );

    s.delete(&id).await.expect("delete");
    assert!(!s.exists(&id).await.expect("exists"));
    assert_eq!(s.get(&id).await.expect("get"), None);
    assert!(
        s.exists(&other).await.expect("exists"),
        "only that blob went"
    );
    s.delete(&id).await.expect("delete again is a no-op");
    s.delete(&blob_id_of(b"never stored"))
        .await
        .expect("delete missing");

    // Stored again after a delete, it is back.
    assert_eq!(s.put(MESSAGE).await.expect("put"), id);
    assert_eq!(s.get(&id).await.expect("get").as_deref(), Some(MESSAGE));
}

/// `list` returns every stored id once, and no deleted one.
pub async fn list_returns_every_stored_id(f: &BlobFixture) {
    let s = &*f.store;
    assert!(s.list().await.expect("list").is_empty());
    let mut ids = BTreeSet::new();
    for i in 0..20 {
        ids.insert(s.put(format!("message {i}").as_bytes()).await.expect("put"));
    }
    let listed = s.list().await.expect("list");
    assert_eq!(listed.len(), ids.len(), "each id once");
    assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), ids);

    let gone = *ids.iter().next().expect("ids");
    s.delete(&gone).await.expect("delete");
    ids.remove(&gone);
    assert_eq!(
        s.list()
            .await
            .expect("list")
            .into_iter()
            .collect::<BTreeSet<_>>(),
        ids
    );
}

/// Content damaged behind the store's back is reported as `Corrupt`, never returned.
pub async fn corrupted_content_is_detected(f: &BlobFixture) {
    let Some(corrupt) = &f.corrupt else {
        eprintln!("skipped: this backend's fixture cannot corrupt a blob");
        return;
    };
    let s = &*f.store;
    let id = s.put(MESSAGE).await.expect("put");
    let intact = s.put(b"intact").await.expect("put");
    corrupt(id).await;
    assert_err!(s.get(&id).await, Corrupt);
    assert_err!(s.get_many(&[intact, id]).await, Corrupt);
    assert_eq!(
        s.get(&intact).await.expect("get").as_deref(),
        Some(&b"intact"[..])
    );
}

/// A 10 MiB blob (a large attachment) round-trips byte for byte.
pub async fn large_blob_round_trips(f: &BlobFixture) {
    let s = &*f.store;
    let data: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let id = s.put(&data).await.expect("put");
    assert_eq!(id, blob_id_of(&data));
    let back = s.get(&id).await.expect("get").expect("present");
    assert_eq!(back.len(), data.len());
    assert!(back == data, "content differs");
}

/// `get_many` answers in the order asked, `None` for what is absent, repeats included.
pub async fn get_many_answers_in_order(f: &BlobFixture) {
    let s = &*f.store;
    let a = s.put(MESSAGE).await.expect("put");
    let b = s.put(b"second").await.expect("put");
    let missing = blob_id_of(b"never stored");
    let got = s.get_many(&[b, missing, a, b]).await.expect("get_many");
    assert_eq!(
        got,
        vec![
            Some(b"second".to_vec()),
            None,
            Some(MESSAGE.to_vec()),
            Some(b"second".to_vec())
        ]
    );
    assert!(s.get_many(&[]).await.expect("empty").is_empty());
}
