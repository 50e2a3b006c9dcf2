//! First run: everything `mailstead serve` creates when it finds nothing.
//!
//! 1. [`ensure_config_file`]: no config file → write the commented default.
//! 2. [`ensure_data_dir`] and [`ensure_certificate`]: data directory, self-signed
//!    certificate for the hostname when no certificate is configured on disk.
//! 3. [`ensure_admin`]: an empty store (no domain, no account) gets the primary domain
//!    derived from the hostname and `admin@<domain>`, a global admin with a random
//!    password that is returned to be printed once and is never stored in clear.

use std::path::Path;

use anyhow::Context;
use mailstead_config::Config;
use mailstead_directory::{Directory, NewUser};
use mailstead_types::{Address, Domain, Secret};

/// Writes the default config to `path` if no file is there. Returns true if it wrote one.
pub fn ensure_config_file(path: &Path, hostname: &str) -> anyhow::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = mailstead_config::default_toml(hostname);
    // create_new: never clobber a file that appeared meanwhile.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

/// Creates the data directory (mode 0700: it holds keys and mail).
pub fn ensure_data_dir(config: &Config) -> anyhow::Result<()> {
    let dir = config.data_dir();
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot set permissions of {}", dir.display()))?;
    }
    Ok(())
}

/// Generates a self-signed certificate when neither certificate nor key exists; returns
/// true if it did. A half-present pair is left alone (loading it reports the problem).
pub fn ensure_certificate(config: &Config) -> anyhow::Result<bool> {
    let (cert, key) = (config.cert_path(), config.key_path());
    if cert.exists() || key.exists() {
        return Ok(false);
    }
    let mut names = vec![config.server.hostname.clone()];
    if config.server.hostname != "localhost" {
        names.push("localhost".into());
    }
    crate::tls::generate_self_signed(&names, &cert, &key)?;
    Ok(true)
}

/// The mail domain a host name serves: `mail.example.org` → `example.org`; names of one
/// or two labels stay as they are.
pub fn primary_domain_for(hostname: &str) -> anyhow::Result<Domain> {
    let host: Domain = hostname
        .parse()
        .with_context(|| format!("server.hostname {hostname:?} is not a valid domain"))?;
    let labels: Vec<&str> = host.as_str().split('.').collect();
    if labels.len() >= 3 {
        return labels[1..]
            .join(".")
            .parse()
            .with_context(|| format!("cannot derive a mail domain from {hostname:?}"));
    }
    Ok(host)
}

/// The initial admin created on an empty store.
#[derive(Debug)]
pub struct InitialAdmin {
    /// Its address (login).
    pub address: Address,
    /// Its generated password, to be shown once.
    pub password: Secret<String>,
}

/// On an empty store (no domain and no account), creates the primary domain and a global
/// admin with a random password. Does nothing otherwise.
pub async fn ensure_admin(
    directory: &Directory,
    hostname: &str,
) -> anyhow::Result<Option<InitialAdmin>> {
    let store = directory.store();
    if !store.list_domains().await?.is_empty() || !store.list_accounts(None).await?.is_empty() {
        return Ok(None);
    }
    let domain = primary_domain_for(hostname)?;
    directory
        .add_domain(domain.as_str())
        .await
        .with_context(|| format!("cannot create domain {domain}"))?;
    let address = Address::new("admin", domain).context("admin address")?;
    let password = Secret::new(mailstead_credentials::generate_password());
    directory
        .add_user(
            &address.to_string(),
            &password,
            &NewUser {
                display_name: "Administrator".into(),
                quota_bytes: None,
                global_admin: true,
            },
        )
        .await
        .with_context(|| format!("cannot create {address}"))?;
    Ok(Some(InitialAdmin { address, password }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_domain_table() {
        for (host, want) in [
            ("mail.example.org", "example.org"),
            ("mx1.mail.example.co.uk", "mail.example.co.uk"),
            ("example.org", "example.org"),
            ("localhost", "localhost"),
            ("MAIL.Example.ORG", "example.org"),
        ] {
            assert_eq!(primary_domain_for(host).unwrap().as_str(), want, "{host}");
        }
        assert!(primary_domain_for("bad host").is_err());
    }

    #[test]
    fn config_file_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/mailstead.toml");
        assert!(ensure_config_file(&path, "mail.example.org").unwrap());
        std::fs::write(&path, "# mine\n").unwrap();
        assert!(!ensure_config_file(&path, "mail.example.org").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    }
}
