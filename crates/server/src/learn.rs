//! The bridge from IMAP to the classifier: a message a user files into Junk is learned as
//! spam, one moved out of it as ham, in the account's model and the global one
//! ([`mailstead_spam::Filter::learn`]). The blob id keys the learning, so filing the same
//! message twice counts once and changing one's mind moves the counts over.

use std::sync::Arc;

use mailstead_spam::Filter;
use mailstead_store::BlobStore;
use mailstead_store::model::BayesClass;
use mailstead_types::{AccountId, BlobId};

/// [`mailstead_imap::JunkLearner`] over the MX's filter and the blob store.
pub struct ImapLearner {
    filter: Arc<Filter>,
    blobs: Arc<dyn BlobStore>,
}

impl ImapLearner {
    /// A learner training `filter`'s models with blobs read from `blobs`.
    pub fn new(filter: Arc<Filter>, blobs: Arc<dyn BlobStore>) -> Self {
        Self { filter, blobs }
    }
}

#[async_trait::async_trait]
impl mailstead_imap::JunkLearner for ImapLearner {
    async fn learn(&self, account: AccountId, blob: BlobId, spam: bool) {
        let message = match self.blobs.get(&blob).await {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a message to learn from");
                return;
            }
        };
        let class = if spam {
            BayesClass::Spam
        } else {
            BayesClass::Ham
        };
        match self
            .filter
            .learn(Some(account), &blob.to_string(), &message, class)
            .await
        {
            Ok(outcome) => tracing::info!(account = %account, ?class, ?outcome, "learned"),
            Err(e) => tracing::warn!(error = %e, "learning failed"),
        }
    }
}
