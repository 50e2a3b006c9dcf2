//! Domain operations.

use mailstead_store::model::{Account, Alias, Domain};
use serde::Serialize;

use crate::{Directory, DirectoryError, Result};

/// A domain with what hangs off it.
#[derive(Debug, Clone, Serialize)]
pub struct DomainDetails {
    /// The domain row.
    pub domain: Domain,
    /// Its alternative names.
    pub alternatives: Vec<mailstead_types::Domain>,
    /// Its accounts.
    pub accounts: Vec<Account>,
    /// Its aliases.
    pub aliases: Vec<Alias>,
}

/// Parses a domain name given by a person, with an error that names it.
pub(crate) fn parse_domain(name: &str) -> Result<mailstead_types::Domain> {
    name.parse()
        .map_err(|e: mailstead_types::DomainError| DirectoryError::Invalid(e.to_string()))
}

impl Directory {
    /// Adds a primary domain with its DKIM keys (RSA-2048 and Ed25519). If the keys
    /// cannot be made, the domain is removed again: a domain never exists without keys
    /// because of a half-finished creation.
    pub async fn add_domain(&self, name: &str) -> Result<Domain> {
        let name = parse_domain(name)?;
        let domain = self.meta.create_domain(&name).await?;
        if let Err(e) = self.generate_dkim_keys(&domain, false).await {
            if let Err(undo) = self.meta.delete_domain(domain.id).await {
                tracing::error!(domain = %domain.name, error = %undo, "cannot remove the domain after DKIM key generation failed");
            }
            return Err(e);
        }
        Ok(domain)
    }

    /// Every primary domain.
    pub async fn list_domains(&self) -> Result<Vec<Domain>> {
        Ok(self.meta.list_domains().await?)
    }

    /// A primary domain by name, or `NotFound`.
    pub async fn find_domain(&self, name: &str) -> Result<Domain> {
        let parsed = parse_domain(name)?;
        self.meta
            .domain(&parsed)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("domain {parsed}")))
    }

    /// A domain with its alternatives, accounts and aliases.
    pub async fn show_domain(&self, name: &str) -> Result<DomainDetails> {
        let domain = self.find_domain(name).await?;
        Ok(DomainDetails {
            alternatives: self.meta.alternative_domains(domain.id).await?,
            accounts: self.meta.list_accounts(Some(domain.id)).await?,
            aliases: self.meta.list_aliases(Some(domain.id)).await?,
            domain,
        })
    }

    /// Removes a domain. With accounts in it, refused unless `force` (then the accounts,
    /// their mail and the aliases go too).
    pub async fn remove_domain(&self, name: &str, force: bool) -> Result<()> {
        let domain = self.find_domain(name).await?;
        let accounts = self.meta.count_accounts(domain.id).await?;
        if accounts > 0 && !force {
            return Err(DirectoryError::Refused(format!(
                "domain {} still has {accounts} account(s); remove them first or pass --force \
                 to delete them and their mail",
                domain.name
            )));
        }
        Ok(self.meta.delete_domain(domain.id).await?)
    }

    /// Adds an alternative name to a primary domain.
    pub async fn add_alternative_domain(&self, domain: &str, alternative: &str) -> Result<()> {
        let domain = self.find_domain(domain).await?;
        let alt = parse_domain(alternative)?;
        Ok(self.meta.add_alternative_domain(domain.id, &alt).await?)
    }

    /// Removes an alternative name.
    pub async fn remove_alternative_domain(&self, alternative: &str) -> Result<()> {
        let alt = parse_domain(alternative)?;
        Ok(self.meta.remove_alternative_domain(&alt).await?)
    }
}
