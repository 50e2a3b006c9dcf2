//! Login: password or app password, with legacy hashes upgraded on success.

use mailstead_credentials::Verification;
use mailstead_store::model::{Account, AccountUpdate, unix_now};
use mailstead_types::{Address, AppPasswordId, Secret};

use crate::{Directory, Result};

/// How a login was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// The account password.
    Password,
    /// One of the account's app passwords.
    AppPassword(AppPasswordId),
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The account logged in to.
    pub account: Account,
    /// How.
    pub method: LoginMethod,
}

/// A valid argon2id hash of a random string, verified against when the login names no
/// account, so that "no such user" takes as long as "wrong password".
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Xv2bHYPGtTvb6tS0mDjRNPC8Htb8X5yK3IV9jX9GXM";

async fn verify(dir: &Directory, password: &Secret<String>, stored: &str) -> Result<Verification> {
    let pw = password.clone();
    let stored = stored.to_string();
    let outcome = dir
        .blocking(move || mailstead_credentials::verify_password(pw.expose(), &stored))
        .await?;
    // A stored hash we cannot read is a failed login, not an error the client should see;
    // it is logged so the operator can fix the row.
    Ok(outcome.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "stored password hash cannot be verified");
        Verification::Mismatch
    }))
}

impl Directory {
    /// Checks a login. `Ok(None)` for any failure (unknown user, wrong password, disabled
    /// account) so that callers cannot tell them apart to the client.
    pub async fn authenticate(
        &self,
        login: &str,
        password: &Secret<String>,
    ) -> Result<Option<Authenticated>> {
        let account = match login.parse::<Address>() {
            Ok(addr) => self.lookup_account(&addr).await?,
            Err(_) => None,
        };
        let Some(account) = account else {
            let _ = verify(self, password, DUMMY_HASH).await?;
            return Ok(None);
        };
        if !account.enabled {
            let _ = verify(self, password, DUMMY_HASH).await?;
            return Ok(None);
        }
        if let Verification::Match { needs_rehash } =
            verify(self, password, &account.password_hash).await?
        {
            if needs_rehash {
                self.rehash(&account, password).await;
            }
            return Ok(Some(Authenticated {
                account,
                method: LoginMethod::Password,
            }));
        }
        for token in self.meta.app_passwords(account.id).await? {
            if let Verification::Match { .. } = verify(self, password, &token.hash).await? {
                self.meta.touch_app_password(token.id, unix_now()).await?;
                return Ok(Some(Authenticated {
                    account,
                    method: LoginMethod::AppPassword(token.id),
                }));
            }
        }
        Ok(None)
    }

    /// Replaces a legacy hash by argon2id. Failure is logged, never fatal to the login.
    async fn rehash(&self, account: &Account, password: &Secret<String>) {
        let result = async {
            let password_hash = Some(crate::account::hash(self, password).await?);
            self.meta
                .update_account(
                    account.id,
                    &AccountUpdate {
                        password_hash,
                        ..Default::default()
                    },
                )
                .await?;
            Ok::<_, crate::DirectoryError>(())
        }
        .await;
        match result {
            Ok(()) => tracing::info!(account = %account.address, "password rehashed to argon2id"),
            Err(e) => tracing::warn!(account = %account.address, error = %e, "rehash failed"),
        }
    }
}
