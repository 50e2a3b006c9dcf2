//! Alias operations: exact addresses, catch-all (`@domain`) and wildcard patterns
//! (`sales-*@domain`, `*` matching any run of characters).

use std::collections::HashSet;

use mailstead_store::model::{Alias, NewAlias};
use mailstead_types::{Address, Domain};

use crate::account::parse_address;
use crate::domain::parse_domain;
use crate::{Directory, DirectoryError, Result};

/// The left-hand side of an alias as a person writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasSpec {
    /// Normalised local part; `""` for the catch-all; may contain `*` when `wildcard`.
    pub local_part: String,
    /// The domain as written (may be an alternative name; resolved on use).
    pub domain: Domain,
    /// True for a `*` pattern.
    pub wildcard: bool,
}

impl AliasSpec {
    /// Parses `local@domain`, `@domain` (catch-all) or a pattern with `*`.
    pub fn parse(input: &str) -> Result<Self> {
        let input = input.trim();
        let Some((local, domain)) = input.rsplit_once('@') else {
            return Err(DirectoryError::Invalid(format!(
                "alias {input:?} must look like name@domain, @domain or pattern*@domain"
            )));
        };
        let domain = parse_domain(domain)?;
        if local.is_empty() {
            return Ok(AliasSpec {
                local_part: String::new(),
                domain,
                wildcard: false,
            });
        }
        if local.contains('*') {
            if local.chars().all(|c| c == '*' || c == '.') {
                return Err(DirectoryError::Invalid(format!(
                    "alias pattern {input:?} matches everything; use the catch-all @{domain}"
                )));
            }
            // Validate the rest of the pattern as a local part with `*` standing for a letter.
            let probe = local.replace('*', "x");
            Address::new(&probe, domain.clone())
                .map_err(|e| DirectoryError::Invalid(format!("alias pattern {input:?}: {e}")))?;
            return Ok(AliasSpec {
                local_part: local.to_lowercase(),
                domain,
                wildcard: true,
            });
        }
        let address = parse_address(input)?;
        Ok(AliasSpec {
            local_part: address.local_part().to_string(),
            domain,
            wildcard: false,
        })
    }
}

impl std::fmt::Display for AliasSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.local_part, self.domain)
    }
}

/// Glob match with `*` only (any run, possibly empty), on already-lower-cased text.
pub(crate) fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

impl Directory {
    /// Creates an alias after checking its destinations: every destination must be a valid
    /// address; a local one must be an existing account or alias (an external one is
    /// forwarded through the outbound queue with SRS); and following
    /// exact aliases from the destinations must never lead back to this alias.
    pub async fn add_alias(&self, alias: &str, destinations: &[String]) -> Result<Alias> {
        let spec = AliasSpec::parse(alias)?;
        let domain = self
            .meta
            .resolve_domain(&spec.domain)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("domain {}", spec.domain)))?;
        if destinations.is_empty() {
            return Err(DirectoryError::Invalid(format!(
                "alias {spec} needs at least one destination"
            )));
        }
        let mut normalised = Vec::new();
        for d in destinations {
            let dest = parse_address(d)?;
            if !normalised.contains(&dest) {
                normalised.push(dest);
            }
        }
        let self_address = if spec.wildcard || spec.local_part.is_empty() {
            None
        } else {
            Some(
                Address::new(&spec.local_part, domain.name.clone())
                    .map_err(|e| DirectoryError::Invalid(e.to_string()))?,
            )
        };
        for dest in &normalised {
            self.check_destination(dest, self_address.as_ref(), &spec)
                .await?;
        }
        Ok(self
            .meta
            .create_alias(&NewAlias {
                domain_id: domain.id,
                local_part: spec.local_part.clone(),
                wildcard: spec.wildcard,
                destinations: normalised.iter().map(|a| a.to_string()).collect(),
            })
            .await?)
    }

    /// A destination must exist if local, and must not lead back to `self_address`.
    async fn check_destination(
        &self,
        dest: &Address,
        self_address: Option<&Address>,
        spec: &AliasSpec,
    ) -> Result<()> {
        let Some(dest_domain) = self.meta.resolve_domain(dest.domain()).await? else {
            // An external destination: forwarded by the outbound queue (with SRS), and it
            // cannot lead back here, so there is nothing more to check.
            return Ok(());
        };
        let canonical = Address::new(dest.local_part(), dest_domain.name.clone())
            .map_err(|e| DirectoryError::Invalid(e.to_string()))?;
        if Some(&canonical) == self_address {
            return Err(DirectoryError::Refused(format!(
                "alias {spec} would deliver to itself"
            )));
        }
        if self.meta.account(&canonical).await?.is_some() {
            return Ok(());
        }
        if self
            .meta
            .alias(dest_domain.id, canonical.local_part())
            .await?
            .is_none()
        {
            return Err(DirectoryError::Invalid(format!(
                "destination {dest} is in a local domain but is no account or alias"
            )));
        }
        // Walk exact aliases from the destination; reaching ourselves closes a loop.
        if let Some(me) = self_address {
            let mut seen = HashSet::new();
            let mut todo = vec![canonical];
            while let Some(addr) = todo.pop() {
                if !seen.insert(addr.clone()) || seen.len() > 1000 {
                    continue;
                }
                let Some(d) = self.meta.resolve_domain(addr.domain()).await? else {
                    continue;
                };
                let Some(a) = self.meta.alias(d.id, addr.local_part()).await? else {
                    continue;
                };
                for next in &a.destinations {
                    let Ok(next) = next.parse::<Address>() else {
                        continue;
                    };
                    let next = match self.meta.resolve_domain(next.domain()).await? {
                        Some(nd) => Address::new(next.local_part(), nd.name).unwrap_or(next),
                        None => continue,
                    };
                    if &next == me {
                        return Err(DirectoryError::Refused(format!(
                            "alias {spec} would form a loop: {dest} leads back to it"
                        )));
                    }
                    todo.push(next);
                }
            }
        }
        Ok(())
    }

    /// The alias exactly as written (`x@d`, `@d`, `p*@d`), or `NotFound`.
    pub async fn find_alias(&self, alias: &str) -> Result<Alias> {
        let spec = AliasSpec::parse(alias)?;
        let domain = self
            .meta
            .resolve_domain(&spec.domain)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("domain {}", spec.domain)))?;
        self.meta
            .alias(domain.id, &spec.local_part)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("alias {spec}")))
    }

    /// Removes an alias.
    pub async fn remove_alias(&self, alias: &str) -> Result<()> {
        let a = self.find_alias(alias).await?;
        Ok(self.meta.delete_alias(a.id).await?)
    }

    /// Aliases, optionally of one domain.
    pub async fn list_aliases(&self, domain: Option<&str>) -> Result<Vec<Alias>> {
        let domain_id = match domain {
            Some(d) => Some(self.find_domain(d).await?.id),
            None => None,
        };
        Ok(self.meta.list_aliases(domain_id).await?)
    }

    /// The text form (`x@d`, `@d`, `p*@d`) of an alias row.
    pub async fn alias_address(&self, alias: &Alias) -> Result<String> {
        let d = self
            .meta
            .domain_by_id(alias.domain_id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("domain #{}", alias.domain_id)))?;
        Ok(format!("{}@{}", alias.local_part, d.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_table() {
        let table = [
            ("sales-*", "sales-eu", true),
            ("sales-*", "sales-", true),
            ("sales-*", "sale", false),
            ("*-bounces", "list-bounces", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("*", "anything", true),
        ];
        for (p, t, want) in table {
            assert_eq!(wildcard_matches(p, t), want, "{p} ~ {t}");
        }
    }

    #[test]
    fn alias_spec_forms() {
        let s = AliasSpec::parse("Sales@Example.org").unwrap();
        assert_eq!((s.local_part.as_str(), s.wildcard), ("sales", false));
        let s = AliasSpec::parse("@example.org").unwrap();
        assert_eq!((s.local_part.as_str(), s.wildcard), ("", false));
        let s = AliasSpec::parse("team-*@example.org").unwrap();
        assert_eq!((s.local_part.as_str(), s.wildcard), ("team-*", true));
        for bad in [
            "nodomain",
            "*@example.org",
            "a b@example.org",
            "x@",
            "x@bad domain",
        ] {
            assert!(AliasSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
