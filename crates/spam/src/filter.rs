//! The filter the MX runs on each message: authentication ([`mailstead_mailauth::Verifier`]),
//! content rules, DNS blocklists and the classifier, giving one [`Judgement`] for the
//! message and, per recipient account, the copy to store ([`Filter::copy_for`]).
//!
//! Per-account Bayes: an account's own model decides once it has learned
//! [`bayes::MIN_LEARNS`] of each class, else the global model does. Every other symbol is
//! the same for all recipients, so the verdicts of two accounts differ only by the
//! classifier.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use mailstead_dns::Resolver;
use mailstead_mailauth::{AuthOutcome, AuthResult, DmarcPolicy, Verifier, VerifyInput};
use mailstead_store::MetaStore;
use mailstead_store::model::{BayesClass, BayesModel, LearnOutcome, SpamSettings};
use mailstead_types::AccountId;

use crate::bayes::{self, Counts, Totals};
use crate::dnsbl::{self, DnsblConfig};
use crate::rules::{self, MessageFacts};
use crate::verdict::{Hit, Verdict, Weights};

/// What to do when a check could not be completed because DNS failed temporarily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTemporaryFailure {
    /// Answer `451 4.7.x`: the sender retries later.
    Defer,
    /// Accept and judge on what is known (never a permanent rejection).
    Accept,
}

/// How the MX judges incoming mail.
#[derive(Debug, Clone)]
pub struct FilterConfig {
    /// Run the spam scoring (rules, blocklists, classifier); authentication always runs.
    pub spam_enabled: bool,
    /// Symbol weights and the reject score.
    pub weights: Weights,
    /// Refuse at end of DATA when the score reaches the reject score.
    pub reject_enabled: bool,
    /// DMARC `p=reject` (after `pct=`) → `550 5.7.1`; otherwise such mail goes to Junk.
    pub dmarc_reject: bool,
    /// Temporary DNS failures.
    pub on_temporary_failure: OnTemporaryFailure,
    /// Blocklists.
    pub dnsbl: DnsblConfig,
}

impl Default for FilterConfig {
    /// Everything on, default weights, no blocklists, temporary failures accepted.
    fn default() -> Self {
        Self {
            spam_enabled: true,
            weights: Weights::default(),
            reject_enabled: true,
            dmarc_reject: true,
            on_temporary_failure: OnTemporaryFailure::Accept,
            dnsbl: DnsblConfig::default(),
        }
    }
}

/// What the session does with the message as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Accept (each account's copy as [`Filter::copy_for`] says).
    Accept,
    /// Refuse permanently: `550` with this enhanced code and text.
    Reject {
        /// Enhanced status code (RFC 3463), e.g. `(5, 7, 1)`.
        status: (u8, u16, u16),
        /// Text for the reply.
        text: String,
    },
    /// Refuse for now: `451` with this enhanced code and text.
    Defer {
        /// Enhanced status code (RFC 3463), e.g. `(4, 7, 5)`.
        status: (u8, u16, u16),
        /// Text for the reply.
        text: String,
    },
}

/// The judgement of one message, before the per-account part.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// Authentication results.
    pub auth: AuthOutcome,
    /// The hits every recipient shares (auth, rules, blocklists).
    pub hits: Vec<Hit>,
    /// The classifier's features.
    pub features: Vec<u64>,
    /// The global model's probability (`None`: too little training).
    pub global_probability: Option<f64>,
    /// DMARC asks for quarantine (or for reject that we do not enforce by refusing).
    pub quarantine: bool,
    /// What to do with the message.
    pub action: Action,
    /// The verdict with the global model (for logs and the reject decision).
    pub verdict: Option<Verdict>,
}

/// How one account's copy is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copy {
    /// `X-Spam-*` fields (CRLF-terminated) for this account.
    pub headers: String,
    /// File in Junk.
    pub junk: bool,
    /// Mark read.
    pub seen: bool,
}

/// The message and session facts the filter needs.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The message as received (with no trace fields of ours; own-id
    /// `Authentication-Results` already removed).
    pub message: &'a [u8],
    /// Client address.
    pub remote_ip: IpAddr,
    /// HELO/EHLO name.
    pub helo: &'a str,
    /// MAIL FROM, `""` for null.
    pub mail_from: &'a str,
    /// Our host name (authserv-id).
    pub hostname: &'a str,
}

/// Errors of learning.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mailstead_store::StoreError),
}

/// The MX's filter; one per server.
pub struct Filter {
    config: FilterConfig,
    verifier: Verifier,
    resolver: Arc<dyn Resolver>,
    meta: Arc<dyn MetaStore>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Filter {
    /// A filter whose DNS goes through `resolver` and whose models are in `meta`.
    pub fn new(
        config: FilterConfig,
        resolver: Arc<dyn Resolver>,
        meta: Arc<dyn MetaStore>,
    ) -> Self {
        Self {
            verifier: Verifier::new(resolver.clone()),
            config,
            resolver,
            meta,
        }
    }

    /// The settings.
    pub fn config(&self) -> &FilterConfig {
        &self.config
    }

    /// Judges a message: authentication, then (when enabled) rules, blocklists and the
    /// global classifier, then the action.
    pub async fn judge(&self, input: &Input<'_>) -> Judgement {
        let auth = self
            .verifier
            .verify(&VerifyInput {
                message: input.message,
                remote_ip: input.remote_ip,
                helo: input.helo,
                mail_from: input.mail_from,
                hostname: input.hostname,
            })
            .await;
        let temporary = auth.any_temporary();
        let dmarc_applied = auth
            .dmarc
            .as_ref()
            .filter(|d| d.result == AuthResult::Fail)
            .and_then(|d| d.applied);
        let mut quarantine = matches!(dmarc_applied, Some(DmarcPolicy::Quarantine));
        let mut action = Action::Accept;
        if dmarc_applied == Some(DmarcPolicy::Reject) {
            let from = auth
                .dmarc
                .as_ref()
                .map(|d| d.from_domain.clone())
                .unwrap_or_default();
            if !self.config.dmarc_reject {
                quarantine = true;
            } else if temporary {
                // A check that failed for a DNS reason might have passed: never a
                // permanent refusal on it.
                quarantine = true;
                if self.config.on_temporary_failure == OnTemporaryFailure::Defer {
                    action = Action::Defer {
                        status: (4, 7, 5),
                        text: "authentication could not be completed, try again later".into(),
                    };
                }
            } else {
                action = Action::Reject {
                    status: (5, 7, 1),
                    text: format!("rejected by the DMARC policy of {from}"),
                };
            }
        }
        let dmarc_temporary = auth
            .dmarc
            .as_ref()
            .is_some_and(|d| d.result == AuthResult::TempError);
        if action == Action::Accept
            && dmarc_temporary
            && self.config.on_temporary_failure == OnTemporaryFailure::Defer
        {
            action = Action::Defer {
                status: (4, 7, 5),
                text: "DMARC evaluation failed temporarily, try again later".into(),
            };
        }

        let mut judgement = Judgement {
            auth,
            hits: Vec::new(),
            features: Vec::new(),
            global_probability: None,
            quarantine,
            action,
            verdict: None,
        };
        if !self.config.spam_enabled {
            return judgement;
        }
        let mut hits = rules::auth_hits(&judgement.auth);
        // Domains we receive for: a `From:` in one of them from outside is forged. Read
        // per message, since domains are added at run time.
        let local_domains: Vec<String> = match self.meta.list_domains().await {
            Ok(d) => d.into_iter().map(|d| d.name.to_string()).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list local domains");
                Vec::new()
            }
        };
        let facts = MessageFacts {
            message: input.message,
            mail_from: input.mail_from,
            helo: input.helo,
            remote_ip: input.remote_ip,
            local_domains: &local_domains,
        };
        hits.extend(rules::content_hits(&facts));
        let domains = rules::domains_in(input.message, self.config.dnsbl.max_domains);
        let listed = dnsbl::check(
            self.resolver.as_ref(),
            &self.config.dnsbl,
            input.remote_ip,
            &domains,
        )
        .await;
        hits.extend(listed.hits);
        let message = input.message.to_vec();
        let features = tokio::task::spawn_blocking(move || crate::tokenize::features(&message))
            .await
            .unwrap_or_default();
        let global = match self.probability(BayesModel::Global, &features).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "classifier unavailable");
                None
            }
        };
        let mut all = hits.clone();
        all.extend(global.and_then(bayes::hit));
        let verdict = Verdict::new(&all, &self.config.weights);
        if judgement.action == Action::Accept && self.config.reject_enabled && verdict.rejected() {
            judgement.action = if temporary {
                match self.config.on_temporary_failure {
                    OnTemporaryFailure::Defer => Action::Defer {
                        status: (4, 7, 1),
                        text:
                            "message looks like spam and checks failed temporarily, try again later"
                                .into(),
                    },
                    OnTemporaryFailure::Accept => Action::Accept,
                }
            } else {
                Action::Reject {
                    status: (5, 7, 1),
                    text: format!("message refused as spam (score {:.1})", verdict.score),
                }
            };
        }
        judgement.hits = hits;
        judgement.features = features;
        judgement.global_probability = global;
        judgement.verdict = Some(verdict);
        judgement
    }

    /// The classifier's probability with one model (`None`: not trained enough).
    async fn probability(
        &self,
        model: BayesModel,
        features: &[u64],
    ) -> Result<Option<f64>, FilterError> {
        if features.is_empty() {
            return Ok(None);
        }
        Ok(classify(self.meta.as_ref(), model, features).await?.0)
    }

    /// How `account`'s copy is stored: its threshold, its model when trained enough.
    pub async fn copy_for(&self, judgement: &Judgement, account: AccountId) -> Copy {
        let settings = match self.meta.spam_settings(account).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, account = %account, "spam settings unavailable");
                SpamSettings::default()
            }
        };
        let Some(global_verdict) = &judgement.verdict else {
            // Scoring off: DMARC quarantine still files in Junk.
            let junk = settings.enabled && judgement.quarantine;
            return Copy {
                headers: String::new(),
                junk,
                seen: junk && settings.mark_as_read,
            };
        };
        let own = match self
            .probability(BayesModel::Account(account), &judgement.features)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "account classifier unavailable");
                None
            }
        };
        let verdict = match own {
            Some(p) => {
                let mut all = judgement.hits.clone();
                all.extend(bayes::hit(p));
                Verdict::new(&all, &self.config.weights)
            }
            None => global_verdict.clone(),
        };
        let junk =
            settings.enabled && (verdict.is_spam(settings.threshold) || judgement.quarantine);
        Copy {
            headers: verdict.headers(settings.threshold),
            junk,
            seen: junk && settings.mark_as_read,
        }
    }

    /// Trains the account's model and the global one with a message (moved into Junk:
    /// spam; out of it: ham). `message_key` makes it idempotent (the blob id).
    pub async fn learn(
        &self,
        account: Option<AccountId>,
        message_key: &str,
        message: &[u8],
        class: BayesClass,
    ) -> Result<LearnOutcome, FilterError> {
        let owned = message.to_vec();
        let features = tokio::task::spawn_blocking(move || crate::tokenize::features(&owned))
            .await
            .unwrap_or_default();
        learn_features(self.meta.as_ref(), account, message_key, &features, class).await
    }
}

/// The classifier's probability for `features` with one model of the store (`None`: not
/// trained enough), and the model's totals.
pub async fn classify(
    meta: &dyn MetaStore,
    model: BayesModel,
    features: &[u64],
) -> Result<(Option<f64>, Totals), FilterError> {
    let (rows, totals) = meta.bayes_counts(model, features).await?;
    let counts: HashMap<u64, Counts> = rows
        .into_iter()
        .map(|(f, c)| {
            (
                f,
                Counts {
                    spam: c.spam,
                    ham: c.ham,
                },
            )
        })
        .collect();
    let totals = Totals {
        spam: totals.spam,
        ham: totals.ham,
    };
    Ok((bayes::probability(features, &counts, totals), totals))
}

/// Trains the global model (and the account's, if given) with already computed
/// features; the outcome is the global model's.
pub async fn learn_features(
    meta: &dyn MetaStore,
    account: Option<AccountId>,
    message_key: &str,
    features: &[u64],
    class: BayesClass,
) -> Result<LearnOutcome, FilterError> {
    if let Some(account) = account {
        meta.bayes_learn(BayesModel::Account(account), message_key, features, class)
            .await?;
    }
    Ok(meta
        .bayes_learn(BayesModel::Global, message_key, features, class)
        .await?)
}
