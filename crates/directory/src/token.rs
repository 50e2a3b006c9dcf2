//! App passwords: generated per-device secrets, shown once, stored hashed.

use mailstead_store::model::AppPassword;
use mailstead_types::{AppPasswordId, Secret};

use crate::{Directory, DirectoryError, Result};

impl Directory {
    /// Creates an app password for a user and returns it with the token in clear — the
    /// only time the token is ever available.
    pub async fn add_token(&self, user: &str, name: &str) -> Result<(AppPassword, Secret<String>)> {
        let account = self.find_user(user).await?;
        let name = name.trim();
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(DirectoryError::Invalid(
                "token name must be 1-100 printable characters".into(),
            ));
        }
        let token = Secret::new(mailstead_credentials::generate_token());
        let hash = crate::account::hash(self, &token).await?;
        let row = self
            .meta
            .create_app_password(account.id, name, &hash)
            .await?;
        Ok((row, token))
    }

    /// The app passwords of a user.
    pub async fn list_tokens(&self, user: &str) -> Result<Vec<AppPassword>> {
        let account = self.find_user(user).await?;
        Ok(self.meta.app_passwords(account.id).await?)
    }

    /// Revokes one app password of a user.
    pub async fn revoke_token(&self, user: &str, id: AppPasswordId) -> Result<()> {
        let account = self.find_user(user).await?;
        self.meta
            .delete_app_password(account.id, id)
            .await
            .map_err(|e| match e {
                mailstead_store::StoreError::NotFound(_) => {
                    DirectoryError::NotFound(format!("token {id} of {}", account.address))
                }
                other => other.into(),
            })
    }
}
