//! Directory rules against a real SQLite store in a temp dir.

use std::sync::Arc;

use mailstead_directory::{Directory, DirectoryError, LoginMethod, NewUser};
use mailstead_store::model::AccountUpdate;
use mailstead_store::sqlite::SqliteStore;
use mailstead_types::{Address, Secret};

struct Fixture {
    _dir: tempfile::TempDir,
    dir: Directory,
}

async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&tmp.path().join("db.sqlite3"), 2)
        .await
        .expect("open sqlite");
    let dir = Directory::new(Arc::new(store));
    dir.add_domain("example.org").await.expect("domain");
    Fixture { _dir: tmp, dir }
}

fn pw(s: &str) -> Secret<String> {
    Secret::new(s.to_string())
}

fn addr(s: &str) -> Address {
    s.parse().expect("address")
}

async fn user(d: &Directory, a: &str) {
    d.add_user(a, &pw("correct horse battery"), &NewUser::default())
        .await
        .expect("add user");
}

#[tokio::test]
async fn resolution_follows_account_alias_wildcard_catch_all_in_that_order() {
    let f = fixture().await;
    let d = &f.dir;
    user(d, "alice@example.org").await;
    user(d, "bob@example.org").await;
    user(d, "carol@example.org").await;
    d.add_alias(
        "sales@example.org",
        &["alice@example.org".into(), "bob@example.org".into()],
    )
    .await
    .expect("exact alias");
    d.add_alias("team-*@example.org", &["carol@example.org".into()])
        .await
        .expect("wildcard");
    d.add_alias("team-eu-*@example.org", &["bob@example.org".into()])
        .await
        .expect("more specific wildcard");
    d.add_alias("@example.org", &["alice@example.org".into()])
        .await
        .expect("catch-all");
    // External destinations are accepted: the outbound queue forwards to them.
    d.add_alias("ext@example.org", &["someone@elsewhere.example".into()])
        .await
        .expect("alias to an external address");

    let who = |r: &mailstead_directory::Resolution| {
        r.accounts
            .iter()
            .map(|a| a.address.to_string())
            .collect::<Vec<_>>()
    };
    let r = d
        .resolve_recipient(&addr("Bob@Example.org"))
        .await
        .expect("resolve");
    assert_eq!(who(&r), ["bob@example.org"]);
    let r = d
        .resolve_recipient(&addr("sales@example.org"))
        .await
        .expect("resolve");
    assert_eq!(who(&r), ["alice@example.org", "bob@example.org"]);
    let r = d
        .resolve_recipient(&addr("team-us@example.org"))
        .await
        .expect("resolve");
    assert_eq!(who(&r), ["carol@example.org"]);
    let r = d
        .resolve_recipient(&addr("team-eu-paris@example.org"))
        .await
        .expect("resolve");
    assert_eq!(who(&r), ["bob@example.org"], "longest pattern wins");
    let r = d
        .resolve_recipient(&addr("whoever@example.org"))
        .await
        .expect("resolve");
    assert_eq!(who(&r), ["alice@example.org"], "catch-all");
    let r = d
        .resolve_recipient(&addr("ext@example.org"))
        .await
        .expect("resolve");
    assert!(r.accounts.is_empty());
    assert_eq!(r.external, [addr("someone@elsewhere.example")]);
}

#[tokio::test]
async fn unknown_local_address_without_catch_all_resolves_to_nothing() {
    let f = fixture().await;
    let r = f
        .dir
        .resolve_recipient(&addr("nobody@example.org"))
        .await
        .expect("resolve");
    assert!(r.is_empty());
}

#[tokio::test]
async fn alternative_domain_maps_to_the_primary() {
    let f = fixture().await;
    let d = &f.dir;
    user(d, "alice@example.org").await;
    d.add_alternative_domain("example.org", "example.net")
        .await
        .expect("alt");
    let r = d
        .resolve_recipient(&addr("alice@example.net"))
        .await
        .expect("resolve");
    assert_eq!(r.accounts.len(), 1);
    assert_eq!(r.accounts[0].address, addr("alice@example.org"));
    let err = d
        .add_user(
            "bob@example.net",
            &pw("correct horse battery"),
            &NewUser::default(),
        )
        .await
        .expect_err("account on an alternative name");
    assert!(err.to_string().contains("alternative name"), "{err}");
    let auth = d
        .authenticate("alice@example.net", &pw("correct horse battery"))
        .await
        .expect("auth");
    assert!(auth.is_some(), "login with the alternative domain");
}

#[tokio::test]
async fn loops_that_bypassed_the_creation_check_are_cut_at_resolution() {
    // The directory refuses loops, but rows can come from elsewhere (an import writes the
    // store directly): x → y, y → x and alice, written straight into the store.
    let f = fixture().await;
    let d = &f.dir;
    user(d, "alice@example.org").await;
    let domain = d.find_domain("example.org").await.expect("domain");
    for (local, dests) in [
        ("x", vec!["y@example.org".to_string()]),
        (
            "y",
            vec!["x@example.org".to_string(), "alice@example.org".to_string()],
        ),
    ] {
        d.store()
            .create_alias(&mailstead_store::model::NewAlias {
                domain_id: domain.id,
                local_part: local.into(),
                wildcard: false,
                destinations: dests,
            })
            .await
            .expect("raw alias");
    }
    let r = d
        .resolve_recipient(&addr("x@example.org"))
        .await
        .expect("resolve");
    assert_eq!(r.accounts.len(), 1);
    assert_eq!(r.accounts[0].address, addr("alice@example.org"));
}

#[tokio::test]
async fn disabled_account_cannot_log_in_and_is_reported_by_resolution() {
    let f = fixture().await;
    let d = &f.dir;
    user(d, "alice@example.org").await;
    d.set_enabled("alice@example.org", false)
        .await
        .expect("disable");
    assert!(
        d.authenticate("alice@example.org", &pw("correct horse battery"))
            .await
            .expect("auth")
            .is_none()
    );
    let r = d
        .resolve_recipient(&addr("alice@example.org"))
        .await
        .expect("resolve");
    assert!(r.accounts.is_empty());
    assert_eq!(r.disabled, [addr("alice@example.org")]);
    d.set_enabled("alice@example.org", true)
        .await
        .expect("enable");
    assert!(
        d.authenticate("alice@example.org", &pw("correct horse battery"))
            .await
            .expect("auth")
            .is_some()
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_both_fail_alike() {
    let f = fixture().await;
    user(&f.dir, "alice@example.org").await;
    for (login, p) in [
        ("alice@example.org", "wrong password!"),
        ("nobody@example.org", "correct horse battery"),
        ("not an address", "correct horse battery"),
    ] {
        assert!(
            f.dir
                .authenticate(login, &pw(p))
                .await
                .expect("auth")
                .is_none(),
            "{login}"
        );
    }
}

#[tokio::test]
async fn legacy_hash_logs_in_and_is_rehashed_to_argon2id() {
    let f = fixture().await;
    let d = &f.dir;
    user(d, "alice@example.org").await;
    // {SSHA} of "secret-legacy" with salt "salt1234", as Dovecot / OpenLDAP store it.
    let legacy = ssha("secret-legacy", b"salt1234");
    d.update_user(
        "alice@example.org",
        &AccountUpdate {
            password_hash: Some(legacy.clone()),
            ..Default::default()
        },
    )
    .await
    .expect("set legacy hash");
    let ok = d
        .authenticate("alice@example.org", &pw("secret-legacy"))
        .await
        .expect("auth")
        .expect("legacy login works");
    assert_eq!(ok.method, LoginMethod::Password);
    let after = d.find_user("alice@example.org").await.expect("user");
    assert!(
        after.password_hash.starts_with("$argon2id$"),
        "{}",
        after.password_hash
    );
    assert!(
        d.authenticate("alice@example.org", &pw("secret-legacy"))
            .await
            .expect("auth")
            .is_some()
    );
}

/// `{SSHA}` as RFC 2307-style stores write it: base64(SHA1(password + salt) + salt).
fn ssha(password: &str, salt: &[u8]) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(password.as_bytes());
    h.update(salt);
    let mut raw = h.finalize().to_vec();
    raw.extend_from_slice(salt);
    format!(
        "{{SSHA}}{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[tokio::test]
async fn app_password_logs_in_and_revocation_stops_it() {
    let f = fixture().await;
    let d = &f.dir;
    user(d, "alice@example.org").await;
    let (row, token) = d
        .add_token("alice@example.org", "phone")
        .await
        .expect("token");
    let ok = d
        .authenticate("alice@example.org", &token)
        .await
        .expect("auth")
        .expect("token login");
    assert_eq!(ok.method, LoginMethod::AppPassword(row.id));
    let listed = d.list_tokens("alice@example.org").await.expect("list");
    assert!(listed[0].last_used_at.is_some(), "login recorded");
    d.revoke_token("alice@example.org", row.id)
        .await
        .expect("revoke");
    assert!(
        d.authenticate("alice@example.org", &token)
            .await
            .expect("auth")
            .is_none()
    );
}

#[tokio::test]
async fn domain_with_accounts_needs_force() {
    let f = fixture().await;
    let d = &f.dir;
    user(d, "alice@example.org").await;
    let err = d
        .remove_domain("example.org", false)
        .await
        .expect_err("refused");
    assert!(matches!(err, DirectoryError::Refused(_)), "{err:?}");
    assert!(
        d.find_user("alice@example.org").await.is_ok(),
        "nothing removed"
    );
    d.remove_domain("example.org", true).await.expect("forced");
    assert!(d.list_users(None).await.expect("list").is_empty());
}

#[tokio::test]
async fn alias_rules() {
    let f = fixture().await;
    let d = &f.dir;
    user(d, "alice@example.org").await;
    assert!(matches!(
        d.add_alias("a@example.org", &[]).await,
        Err(DirectoryError::Invalid(_))
    ));
    assert!(matches!(
        d.add_alias("a@example.org", &["ghost@example.org".into()])
            .await,
        Err(DirectoryError::Invalid(_))
    ));
    user(d, "bob@example.org").await;
    assert!(matches!(
        d.add_alias("alice@example.org", &["bob@example.org".into()])
            .await,
        Err(DirectoryError::Conflict(_))
    ));
    let fwd = d
        .add_alias("fwd@example.org", &["X@Elsewhere.example".into()])
        .await
        .expect("external destination");
    assert_eq!(fwd.destinations, ["x@elsewhere.example"]);
    assert!(matches!(
        d.add_alias("a@nowhere.example", &["alice@example.org".into()])
            .await,
        Err(DirectoryError::NotFound(_))
    ));
    let a = d
        .add_alias(
            "a@example.org",
            &["Alice@Example.org".into(), "alice@example.org".into()],
        )
        .await
        .expect("alias");
    assert_eq!(
        a.destinations,
        ["alice@example.org"],
        "normalised and deduplicated"
    );
    assert!(matches!(
        d.add_alias("b@example.org", &["b@example.org".into()])
            .await,
        Err(DirectoryError::Refused(_))
    ));
    d.add_alias("b@example.org", &["a@example.org".into()])
        .await
        .expect("b → a");
    d.remove_alias("a@example.org").await.expect("remove a");
    assert!(matches!(
        d.add_alias("a@example.org", &["b@example.org".into()])
            .await,
        Err(DirectoryError::Refused(_))
    ));
    // Account creation over an existing alias is a conflict too.
    assert!(matches!(
        d.add_user(
            "b@example.org",
            &pw("correct horse battery"),
            &NewUser::default()
        )
        .await,
        Err(DirectoryError::Conflict(_))
    ));
}

#[tokio::test]
async fn passwords_are_checked_and_hashed_with_argon2id() {
    let f = fixture().await;
    let d = &f.dir;
    assert!(matches!(
        d.add_user("a@example.org", &pw("short"), &NewUser::default())
            .await,
        Err(DirectoryError::Invalid(_))
    ));
    assert!(matches!(
        d.add_user(
            "a@example.org",
            &pw("line\nbreak password"),
            &NewUser::default()
        )
        .await,
        Err(DirectoryError::Invalid(_))
    ));
    user(d, "a@example.org").await;
    let a = d.find_user("a@example.org").await.expect("user");
    assert!(a.password_hash.starts_with("$argon2id$"));
    d.set_password("a@example.org", &pw("another good one"))
        .await
        .expect("passwd");
    assert!(
        d.authenticate("a@example.org", &pw("correct horse battery"))
            .await
            .expect("auth")
            .is_none()
    );
    assert!(
        d.authenticate("a@example.org", &pw("another good one"))
            .await
            .expect("auth")
            .is_some()
    );
}
