//! Sender ownership (design invariant 3): which addresses an authenticated account may
//! use as envelope sender (`MAIL FROM`) and in `From:`.
//!
//! An account may send as:
//! - its own address, also written with an alternative domain of its domain;
//! - any local address whose delivery reaches it: an exact alias, a wildcard alias or the
//!   catch-all, followed as [`Directory::resolve_recipient`] follows them, so the rule is
//!   "you may send as what you receive";
//! - anything at all when the account has `allow_spoofing` (a list manager, say).
//!
//! An address of another account is never usable (an account takes precedence over every
//! alias in resolution), nor is any address in a domain that is not local.

use mailstead_store::model::Account;
use mailstead_types::Address;

use crate::{Directory, Result};

impl Directory {
    /// Whether `account` may use `address` as its sender.
    pub async fn may_send_as(&self, account: &Account, address: &Address) -> Result<bool> {
        if account.allow_spoofing {
            return Ok(true);
        }
        let Some(domain) = self.meta.resolve_domain(address.domain()).await? else {
            return Ok(false);
        };
        let Ok(canonical) = Address::new(address.local_part(), domain.name) else {
            return Ok(false);
        };
        if canonical == account.address {
            return Ok(true);
        }
        let resolution = self.resolve_recipient(&canonical).await?;
        Ok(resolution.accounts.iter().any(|a| a.id == account.id))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mailstead_store::model::{AccountUpdate, NewAlias};
    use mailstead_store::sqlite::SqliteStore;
    use mailstead_types::Secret;

    use crate::{Directory, NewUser};

    async fn fixture() -> (tempfile::TempDir, Directory) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&tmp.path().join("db.sqlite3"), 2)
            .await
            .expect("open sqlite");
        let dir = Directory::new(Arc::new(store));
        dir.add_domain("example.org").await.expect("domain");
        dir.add_domain("other.org").await.expect("domain");
        dir.add_alternative_domain("example.org", "example.net")
            .await
            .expect("alternative domain");
        for user in ["alice@example.org", "bob@example.org", "carol@other.org"] {
            dir.add_user(
                user,
                &Secret::new("correct horse battery".into()),
                &NewUser::default(),
            )
            .await
            .expect("user");
        }
        (tmp, dir)
    }

    async fn may(dir: &Directory, login: &str, sender: &str) -> bool {
        let account = dir.find_user(login).await.expect("account");
        dir.may_send_as(&account, &sender.parse().expect("address"))
            .await
            .expect("may_send_as")
    }

    #[tokio::test]
    async fn own_address_and_alternative_domain_are_allowed() {
        let (_tmp, dir) = fixture().await;
        assert!(may(&dir, "alice@example.org", "alice@example.org").await);
        assert!(may(&dir, "alice@example.org", "Alice@Example.ORG").await);
        assert!(may(&dir, "alice@example.org", "alice@example.net").await);
    }

    #[tokio::test]
    async fn other_accounts_unknown_and_foreign_addresses_are_refused() {
        let (_tmp, dir) = fixture().await;
        assert!(!may(&dir, "alice@example.org", "bob@example.org").await);
        assert!(!may(&dir, "alice@example.org", "bob@example.net").await);
        assert!(!may(&dir, "alice@example.org", "nobody@example.org").await);
        assert!(!may(&dir, "alice@example.org", "alice@other.org").await);
        assert!(!may(&dir, "alice@example.org", "alice@gmail.example").await);
    }

    #[tokio::test]
    async fn aliases_reaching_the_account_are_allowed_and_others_not() {
        let (_tmp, dir) = fixture().await;
        dir.add_alias(
            "team@example.org",
            &["alice@example.org".into(), "bob@example.org".into()],
        )
        .await
        .expect("alias");
        dir.add_alias("sales-*@example.org", &["alice@example.org".into()])
            .await
            .expect("wildcard");
        dir.add_alias("billing@example.org", &["bob@example.org".into()])
            .await
            .expect("alias");
        dir.add_alias("chain@example.org", &["team@example.org".into()])
            .await
            .expect("alias of an alias");
        assert!(may(&dir, "alice@example.org", "team@example.org").await);
        assert!(may(&dir, "bob@example.org", "team@example.net").await);
        assert!(may(&dir, "alice@example.org", "sales-eu@example.org").await);
        assert!(may(&dir, "alice@example.org", "chain@example.org").await);
        assert!(!may(&dir, "bob@example.org", "sales-eu@example.org").await);
        assert!(!may(&dir, "alice@example.org", "billing@example.org").await);
    }

    #[tokio::test]
    async fn catch_all_covers_unassigned_addresses_but_not_other_accounts() {
        let (_tmp, dir) = fixture().await;
        dir.add_alias("@example.org", &["alice@example.org".into()])
            .await
            .expect("catch-all");
        assert!(may(&dir, "alice@example.org", "anything@example.org").await);
        assert!(!may(&dir, "alice@example.org", "bob@example.org").await);
        assert!(!may(&dir, "bob@example.org", "anything@example.org").await);
    }

    #[tokio::test]
    async fn allow_spoofing_allows_any_address() {
        let (_tmp, dir) = fixture().await;
        dir.update_user(
            "alice@example.org",
            &AccountUpdate {
                allow_spoofing: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("update");
        assert!(may(&dir, "alice@example.org", "bob@example.org").await);
        assert!(may(&dir, "alice@example.org", "ceo@elsewhere.example").await);
    }

    #[tokio::test]
    async fn alias_with_an_external_destination_still_counts_for_the_local_one() {
        let (_tmp, dir) = fixture().await;
        // Written past the directory's checks, as an import could.
        let domain = dir.find_domain("example.org").await.expect("domain");
        dir.store()
            .create_alias(&NewAlias {
                domain_id: domain.id,
                local_part: "fwd".into(),
                wildcard: false,
                destinations: vec!["alice@example.org".into(), "x@elsewhere.example".into()],
            })
            .await
            .expect("alias");
        assert!(may(&dir, "alice@example.org", "fwd@example.org").await);
        assert!(!may(&dir, "bob@example.org", "fwd@example.org").await);
    }
}
