//! Health: schema version and ping.

use super::MetaFixture;

/// A freshly opened store is migrated to the latest schema of its backend.
pub async fn schema_version_is_the_latest(f: &MetaFixture) {
    let version = f.store.schema_version().await.expect("schema_version");
    assert_eq!(version, f.latest_schema_version);
}

/// The readiness probe succeeds on a working store.
pub async fn ping_succeeds(f: &MetaFixture) {
    f.store.ping().await.expect("ping");
}
