//! Account (user) operations.

use mailstead_store::model::{Account, AccountUpdate, AppPassword, Mailbox, NewAccount};
use mailstead_types::{Address, Secret};
use serde::Serialize;

use crate::{Directory, DirectoryError, Result};

/// Options of a new user beyond address and password.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Human name.
    pub display_name: String,
    /// Quota in bytes (`None` unlimited).
    pub quota_bytes: Option<u64>,
    /// Make a global administrator.
    pub global_admin: bool,
}

/// An account with its mailboxes, usage and app passwords.
#[derive(Debug, Clone, Serialize)]
pub struct UserDetails {
    /// The account.
    pub account: Account,
    /// Its mailboxes.
    pub mailboxes: Vec<Mailbox>,
    /// Bytes used by its messages.
    pub usage_bytes: u64,
    /// Domains it manages.
    pub managed_domains: Vec<mailstead_types::Domain>,
    /// Its app passwords (hashes not serialised).
    pub app_passwords: Vec<AppPassword>,
}

/// Parses an address given by a person.
pub(crate) fn parse_address(address: &str) -> Result<Address> {
    address
        .parse()
        .map_err(|e: mailstead_types::AddressError| DirectoryError::Invalid(e.to_string()))
}

/// The shortest password we accept for an account; app passwords are generated.
pub const MIN_PASSWORD_CHARS: usize = 8;

fn check_password(password: &Secret<String>) -> Result<()> {
    let n = password.expose().chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(DirectoryError::Invalid(format!(
            "password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password
        .expose()
        .chars()
        .any(|c| c == '\0' || c == '\n' || c == '\r')
    {
        return Err(DirectoryError::Invalid(
            "password must not contain NUL or line breaks".into(),
        ));
    }
    Ok(())
}

/// Hashes a password on the directory's hashing pool.
pub(crate) async fn hash(dir: &Directory, password: &Secret<String>) -> Result<String> {
    let pw = password.clone();
    Ok(dir
        .blocking(move || mailstead_credentials::hash_password(pw.expose()))
        .await??)
}

impl Directory {
    /// Creates an account (and its default mailboxes). The domain must be a primary domain.
    pub async fn add_user(
        &self,
        address: &str,
        password: &Secret<String>,
        opts: &NewUser,
    ) -> Result<Account> {
        let address = parse_address(address)?;
        check_password(password)?;
        if self.meta.domain(address.domain()).await?.is_none() {
            return Err(match self.meta.resolve_domain(address.domain()).await? {
                Some(primary) => DirectoryError::Invalid(format!(
                    "{} is an alternative name of {}; create the account as {}@{}",
                    address.domain(),
                    primary.name,
                    address.local_part(),
                    primary.name
                )),
                None => DirectoryError::NotFound(format!("domain {}", address.domain())),
            });
        }
        let password_hash = hash(self, password).await?;
        Ok(self
            .meta
            .create_account(&NewAccount {
                address,
                display_name: opts.display_name.clone(),
                password_hash,
                quota_bytes: opts.quota_bytes,
                enabled: true,
                global_admin: opts.global_admin,
            })
            .await?)
    }

    /// An account by address (alternative domains resolved), or `NotFound`.
    pub async fn find_user(&self, address: &str) -> Result<Account> {
        let parsed = parse_address(address)?;
        self.lookup_account(&parsed)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("user {parsed}")))
    }

    /// The account an address names, following an alternative domain to its primary.
    pub(crate) async fn lookup_account(&self, address: &Address) -> Result<Option<Account>> {
        if let Some(a) = self.meta.account(address).await? {
            return Ok(Some(a));
        }
        let Some(primary) = self.meta.resolve_domain(address.domain()).await? else {
            return Ok(None);
        };
        if &primary.name == address.domain() {
            return Ok(None);
        }
        let canonical = Address::new(address.local_part(), primary.name)
            .map_err(|e| DirectoryError::Invalid(e.to_string()))?;
        Ok(self.meta.account(&canonical).await?)
    }

    /// Accounts, optionally of one domain.
    pub async fn list_users(&self, domain: Option<&str>) -> Result<Vec<Account>> {
        let domain_id = match domain {
            Some(d) => Some(self.find_domain(d).await?.id),
            None => None,
        };
        Ok(self.meta.list_accounts(domain_id).await?)
    }

    /// An account with mailboxes, usage, managed domains and app passwords.
    pub async fn show_user(&self, address: &str) -> Result<UserDetails> {
        let account = self.find_user(address).await?;
        let mut managed_domains = Vec::new();
        for id in self.meta.managed_domains(account.id).await? {
            if let Some(d) = self.meta.domain_by_id(id).await? {
                managed_domains.push(d.name);
            }
        }
        Ok(UserDetails {
            mailboxes: self.meta.mailboxes(account.id).await?,
            usage_bytes: self.meta.account_usage(account.id).await?,
            app_passwords: self.meta.app_passwords(account.id).await?,
            managed_domains,
            account,
        })
    }

    /// Sets a new password.
    pub async fn set_password(&self, address: &str, password: &Secret<String>) -> Result<()> {
        let account = self.find_user(address).await?;
        check_password(password)?;
        let password_hash = Some(hash(self, password).await?);
        self.meta
            .update_account(
                account.id,
                &AccountUpdate {
                    password_hash,
                    ..Default::default()
                },
            )
            .await?;
        Ok(())
    }

    /// Enables or disables an account (a disabled one can neither log in nor receive).
    pub async fn set_enabled(&self, address: &str, enabled: bool) -> Result<Account> {
        let account = self.find_user(address).await?;
        Ok(self
            .meta
            .update_account(
                account.id,
                &AccountUpdate {
                    enabled: Some(enabled),
                    ..Default::default()
                },
            )
            .await?)
    }

    /// Applies an arbitrary partial update (display name, quota, roles).
    pub async fn update_user(&self, address: &str, update: &AccountUpdate) -> Result<Account> {
        let account = self.find_user(address).await?;
        Ok(self.meta.update_account(account.id, update).await?)
    }

    /// Replaces the domains an account manages.
    pub async fn set_managed_domains(&self, address: &str, domains: &[&str]) -> Result<()> {
        let account = self.find_user(address).await?;
        let mut ids = Vec::new();
        for d in domains {
            ids.push(self.find_domain(d).await?.id);
        }
        Ok(self.meta.set_managed_domains(account.id, &ids).await?)
    }

    /// Removes an account with its mailboxes and messages.
    pub async fn remove_user(&self, address: &str) -> Result<()> {
        let account = self.find_user(address).await?;
        Ok(self.meta.delete_account(account.id).await?)
    }
}
