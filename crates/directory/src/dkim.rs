//! DKIM keys of domains: generated when a domain is created (an RSA-2048 and an Ed25519
//! key, RFC 6376 / RFC 8463), rotated by adding new selectors, removed by selector.
//!
//! Keys live in the store, so they are in backups and shared by every node. Generation
//! (RSA is costly) runs on the directory's blocking pool.

use mailstead_mailauth::KeyType;
use mailstead_store::model::{DkimAlgorithm, DkimKey, Domain, NewDkimKey, unix_now};

use crate::{Directory, DirectoryError, Result};

/// Prefix of generated selectors (`ms20261123r`, `ms20261123e`).
const SELECTOR_PREFIX: &str = "ms";

/// A key with the TXT record to publish for it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DkimRecord {
    /// The key (without its private half).
    pub key: DkimKey,
    /// Where to publish: `<selector>._domainkey.<domain>`.
    pub name: String,
    /// What to publish (a TXT record).
    pub value: String,
}

fn key_type(a: DkimAlgorithm) -> KeyType {
    match a {
        DkimAlgorithm::Rsa => KeyType::Rsa,
        DkimAlgorithm::Ed25519 => KeyType::Ed25519,
    }
}

fn today() -> (i32, u8, u8) {
    let now = time::OffsetDateTime::from_unix_timestamp(unix_now())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (now.year(), u8::from(now.month()), now.day())
}

impl Directory {
    /// Generates a new RSA and Ed25519 key for `domain` under fresh selectors and stores
    /// them active; with `retire_old`, the keys it had are deactivated (they stay, and
    /// stay published, until removed).
    pub(crate) async fn generate_dkim_keys(
        &self,
        domain: &Domain,
        retire_old: bool,
    ) -> Result<Vec<DkimKey>> {
        let old = self.meta.dkim_keys(domain.id).await?;
        let mut created = Vec::new();
        for algorithm in [DkimAlgorithm::Rsa, DkimAlgorithm::Ed25519] {
            let kt = key_type(algorithm);
            let generated = self
                .blocking(move || mailstead_mailauth::generate_key(kt))
                .await?
                .map_err(|e| DirectoryError::Invalid(format!("DKIM key generation failed: {e}")))?;
            let base = mailstead_mailauth::selector_for(SELECTOR_PREFIX, kt, today());
            let mut selector = base.clone();
            let mut n = 2;
            while old
                .iter()
                .chain(created.iter())
                .any(|k: &DkimKey| k.selector == selector)
            {
                selector = format!("{base}{n}");
                n += 1;
            }
            let key = self
                .meta
                .create_dkim_key(&NewDkimKey {
                    domain_id: domain.id,
                    selector,
                    algorithm,
                    private_key: generated.private_pkcs8,
                    public_key: generated.public_key,
                })
                .await?;
            created.push(key);
        }
        if retire_old {
            for k in old.iter().filter(|k| k.active) {
                self.meta.set_dkim_key_active(k.id, false).await?;
            }
        }
        Ok(created)
    }

    /// Adds new DKIM keys to a domain and retires the old ones from signing (they stay
    /// published until removed, so mail already sent still verifies).
    pub async fn rotate_dkim(&self, domain: &str) -> Result<Vec<DkimRecord>> {
        let domain = self.find_domain(domain).await?;
        let keys = self.generate_dkim_keys(&domain, true).await?;
        Ok(keys.into_iter().map(|k| record(&domain, k)).collect())
    }

    /// The DKIM keys of a domain with their TXT records.
    pub async fn dkim_records(&self, domain: &str) -> Result<Vec<DkimRecord>> {
        let domain = self.find_domain(domain).await?;
        Ok(self
            .meta
            .dkim_keys(domain.id)
            .await?
            .into_iter()
            .map(|k| record(&domain, k))
            .collect())
    }

    /// Removes the key with `selector` from a domain.
    pub async fn remove_dkim(&self, domain: &str, selector: &str) -> Result<()> {
        let d = self.find_domain(domain).await?;
        let key = self
            .meta
            .dkim_keys(d.id)
            .await?
            .into_iter()
            .find(|k| k.selector == selector)
            .ok_or_else(|| {
                DirectoryError::NotFound(format!("DKIM selector {selector} of {}", d.name))
            })?;
        Ok(self.meta.delete_dkim_key(key.id).await?)
    }
}

fn record(domain: &Domain, key: DkimKey) -> DkimRecord {
    DkimRecord {
        name: format!("{}._domainkey.{}", key.selector, domain.name),
        value: mailstead_mailauth::dns_record(key_type(key.algorithm), &key.public_key),
        key,
    }
}
