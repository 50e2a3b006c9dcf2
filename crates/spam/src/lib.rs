//! Spam defence of mailstead (what Rspamd does for Mailu): a score per message from
//! rules and a Bayesian classifier of our own, and the verdict that files a message in
//! Junk or refuses it.
//!
//! # Modules
//!
//! - [`tokenize`] — the features of a message for the classifier: words of the subject,
//!   the text and HTML parts and some headers, combined as orthogonal sparse bigrams
//!   (OSB), hashed to `u64`.
//! - [`bayes`] — Robinson's per-token probabilities and Fisher's chi-square combining
//!   (Robinson-Fisher), over counts a [`bayes::TokenCounts`] source provides; an in-memory
//!   model for tests and the accuracy benchmark.
//! - [`rules`] — content rules: header anomalies, forged sender, HTML-only, suspicious
//!   URLs and attachments; each fires a [`Symbol`].
//! - [`dnsbl`] — DNS blocklists of IPs (RFC 5782) and of domains in the message.
//! - [`filter`] — what the MX runs on a message: authentication, rules, blocklists and
//!   the classifier (global and per account), giving the action and each account's copy.
//! - [`verdict`] — weights, the score, the percent of the reject score (Mailu's
//!   `spam_threshold` semantics) and the `X-Spam-*` header fields.
//!
//! # Invariants
//!
//! - No function panics on any message bytes; a message mail-parser cannot parse is
//!   scored on what could be read (and a rule says so).
//! - Symbol names are stable upper-case identifiers (`[A-Z0-9_]+`): they appear in
//!   `X-Spam-Status` and users write Sieve rules against them.
//! - The score is a sum of the weights of the symbols that fired; the same message with
//!   the same DNS answers and model gets the same score.

pub mod bayes;
pub mod dnsbl;
pub mod filter;
pub mod rules;
pub mod tokenize;
pub mod verdict;

pub use filter::{Action, Filter, FilterConfig, Judgement, OnTemporaryFailure};
pub use verdict::{Symbol, Verdict, Weights};
