//! Recipient resolution: what an address delivers to.
//!
//! Order per local address: an account; an exact alias; the most specific matching wildcard
//! alias (longest pattern); the catch-all of the domain. Alternative domains map to their
//! primary. Alias destinations are expanded recursively; an address seen twice is expanded
//! once, which cuts loops, and expansion stops after [`MAX_EXPANSIONS`] steps.

use std::collections::HashSet;

use mailstead_store::model::{Account, Alias};
use mailstead_types::Address;

use crate::alias::wildcard_matches;
use crate::{Directory, Result};

/// Upper bound of addresses visited for one recipient.
pub const MAX_EXPANSIONS: usize = 1000;

/// What one recipient address resolves to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Local accounts that receive a copy (distinct, in discovery order).
    pub accounts: Vec<Account>,
    /// External addresses to forward to (distinct).
    pub external: Vec<Address>,
    /// Local accounts reached but disabled (they receive nothing).
    pub disabled: Vec<Address>,
}

impl Resolution {
    /// True when the address delivers nowhere (unknown local address).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.external.is_empty() && self.disabled.is_empty()
    }
}

impl Directory {
    /// Expands a recipient address. Unknown local addresses give an empty [`Resolution`];
    /// an address in a domain that is not local resolves to itself as external.
    pub async fn resolve_recipient(&self, rcpt: &Address) -> Result<Resolution> {
        let mut out = Resolution::default();
        let mut seen = HashSet::new();
        let mut todo = vec![rcpt.clone()];
        while let Some(addr) = todo.pop() {
            if seen.len() >= MAX_EXPANSIONS {
                tracing::warn!(rcpt = %rcpt, "alias expansion stopped at the limit");
                break;
            }
            let Some(domain) = self.meta.resolve_domain(addr.domain()).await? else {
                if !out.external.contains(&addr) {
                    out.external.push(addr);
                }
                continue;
            };
            let Ok(canonical) = Address::new(addr.local_part(), domain.name.clone()) else {
                continue;
            };
            if !seen.insert(canonical.clone()) {
                continue;
            }
            if let Some(account) = self.meta.account(&canonical).await? {
                if !account.enabled {
                    out.disabled.push(canonical);
                } else if !out.accounts.iter().any(|a| a.id == account.id) {
                    out.accounts.push(account);
                }
                continue;
            }
            let alias = match self.meta.alias(domain.id, canonical.local_part()).await? {
                Some(a) => Some(a),
                None => {
                    self.fallback_alias(domain.id, canonical.local_part())
                        .await?
                }
            };
            if let Some(alias) = alias {
                // Reverse so that popping from the stack visits destinations in order.
                for d in alias.destinations.iter().rev() {
                    if let Ok(a) = d.parse::<Address>() {
                        todo.push(a);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The most specific wildcard alias matching `local`, else the catch-all.
    async fn fallback_alias(
        &self,
        domain: mailstead_types::DomainId,
        local: &str,
    ) -> Result<Option<Alias>> {
        let aliases = self.meta.list_aliases(Some(domain)).await?;
        let best = aliases
            .iter()
            .filter(|a| a.wildcard && wildcard_matches(&a.local_part, local))
            .max_by_key(|a| a.local_part.chars().filter(|&c| c != '*').count())
            .cloned();
        if best.is_some() {
            return Ok(best);
        }
        Ok(aliases
            .into_iter()
            .find(|a| !a.wildcard && a.local_part.is_empty()))
    }
}
