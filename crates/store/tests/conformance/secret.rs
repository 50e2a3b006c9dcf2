//! Server secrets: the first value stored under a name stays, for every caller.

use std::collections::HashSet;
use std::sync::Arc;

use mailstead_store::MetaStore;

use super::{MetaFixture, assert_err};

/// The first call stores its candidate; later calls get that value back whatever they
/// offer; names are independent; any bytes round-trip.
pub async fn ensure_secret_keeps_the_first_value(f: &MetaFixture) {
    let s = &*f.store;
    let first = vec![0u8, 1, 2, 0xff, 0, 0x80];
    assert_eq!(s.ensure_secret("srs", &first).await.expect("ensure"), first);
    assert_eq!(
        s.ensure_secret("srs", b"another value")
            .await
            .expect("ensure"),
        first
    );
    assert_eq!(
        s.ensure_secret("other", b"another value")
            .await
            .expect("ensure"),
        b"another value".to_vec()
    );
    assert_eq!(s.ensure_secret("srs", &[]).await.expect("ensure"), first);
}

/// Callers racing on a new name all get the one value that won, one of theirs.
pub async fn concurrent_ensure_secret_agrees_on_one_value(f: &MetaFixture) {
    let s: Arc<dyn MetaStore> = f.store.clone();
    let start = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16u8)
        .map(|n| {
            let (s, start) = (s.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                s.ensure_secret("srs", &[n; 32]).await
            })
        })
        .collect();
    let mut values = HashSet::new();
    for task in tasks {
        values.insert(task.await.expect("task").expect("ensure"));
    }
    assert_eq!(values.len(), 1, "{values:?}");
    let value = values.into_iter().next().expect("one value");
    assert!((0..16u8).any(|n| value == [n; 32]), "{value:?}");
}

/// A name no backend can store alike (empty, or holding NUL) is `Invalid`.
pub async fn ensure_secret_refuses_unstorable_names(f: &MetaFixture) {
    let s = &*f.store;
    assert_err!(s.ensure_secret("", b"x").await, Invalid);
    assert_err!(s.ensure_secret("s\0rs", b"x").await, Invalid);
}
