//! DKIM signing of outgoing mail with the domain's active keys from the store.
//!
//! Parsed keys are cached per domain and keyed by the ids of the active keys, so a
//! rotation (new ids) is picked up at the next message without any restart, and an RSA
//! key is not parsed again for every message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mailstead_mailauth::{KeyType, Signer, SigningKey};
use mailstead_store::model::DkimAlgorithm;
use mailstead_types::DkimKeyId;

use crate::{Queue, QueueError};

/// The signer of one domain, with the ids of the keys it was built from.
type CachedSigner = (Vec<DkimKeyId>, Arc<Signer>);

/// Parsed signers per signing domain.
#[derive(Default)]
pub(crate) struct SignerCache {
    by_domain: Mutex<HashMap<String, CachedSigner>>,
}

pub(crate) async fn sign(
    queue: &Queue,
    domain: &str,
    message: &[u8],
) -> Result<Vec<u8>, QueueError> {
    let Ok(name) = domain.parse::<mailstead_types::Domain>() else {
        return Ok(Vec::new());
    };
    let meta = &queue.stores.meta;
    let Some(primary) = meta.resolve_domain(&name).await? else {
        return Ok(Vec::new());
    };
    let keys: Vec<_> = meta
        .dkim_keys(primary.id)
        .await?
        .into_iter()
        .filter(|k| k.active)
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let d = name.to_string();
    let ids: Vec<DkimKeyId> = keys.iter().map(|k| k.id).collect();
    let cached = queue
        .signers
        .by_domain
        .lock()
        .ok()
        .and_then(|m| m.get(&d).filter(|(k, _)| *k == ids).map(|(_, s)| s.clone()));
    let signer = match cached {
        Some(s) => s,
        None => {
            let signing: Vec<SigningKey> = keys
                .iter()
                .map(|k| SigningKey {
                    domain: d.clone(),
                    selector: k.selector.clone(),
                    key_type: match k.algorithm {
                        DkimAlgorithm::Rsa => KeyType::Rsa,
                        DkimAlgorithm::Ed25519 => KeyType::Ed25519,
                    },
                    private_pkcs8: k.private_key.clone(),
                })
                .collect();
            let signer = tokio::task::spawn_blocking(move || Signer::new(&signing))
                .await
                .map_err(|e| QueueError::Internal(e.to_string()))??;
            let signer = Arc::new(signer);
            if let Ok(mut m) = queue.signers.by_domain.lock() {
                m.insert(d.clone(), (ids, signer.clone()));
            }
            signer
        }
    };
    let message = message.to_vec();
    tokio::task::spawn_blocking(move || signer.sign(&message))
        .await
        .map_err(|e| QueueError::Internal(e.to_string()))?
        .map_err(QueueError::from)
}
