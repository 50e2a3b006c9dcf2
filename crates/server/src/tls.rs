//! TLS material: a self-signed certificate for the first run, and loading PEM files into
//! a rustls server configuration (aws-lc-rs provider, TLS 1.2 and 1.3).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Writes a self-signed certificate for `names` (first one is the subject) to `cert_path`
/// and its key to `key_path` (mode 0600), creating parent directories.
pub fn generate_self_signed(
    names: &[String],
    cert_path: &Path,
    key_path: &Path,
) -> anyhow::Result<()> {
    let certified = rcgen::generate_simple_self_signed(names.to_vec())
        .context("cannot generate a self-signed certificate")?;
    for p in [cert_path, key_path] {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    write_private(key_path, certified.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, certified.cert.pem())
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Loads a PEM certificate chain and private key into a rustls server configuration,
/// failing with the file name when either is missing, empty or does not match.
pub fn load_server_config(cert_path: &Path, key_path: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("cannot read certificate {}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("bad PEM in {}", cert_path.display()))?;
    if certs.is_empty() {
        bail!("no certificate in {}", cert_path.display());
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("cannot read private key {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "certificate {} and key {} do not form a usable pair",
                cert_path.display(),
                key_path.display()
            )
        })?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (
            dir.path().join("tls/cert.pem"),
            dir.path().join("tls/key.pem"),
        );
        generate_self_signed(&["mail.example.org".into(), "localhost".into()], &c, &k).unwrap();
        load_server_config(&c, &k).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn mismatched_key_is_refused_with_file_names() {
        let dir = tempfile::tempdir().unwrap();
        let (c1, k1) = (dir.path().join("a.pem"), dir.path().join("a.key"));
        let (c2, k2) = (dir.path().join("b.pem"), dir.path().join("b.key"));
        generate_self_signed(&["a.example".into()], &c1, &k1).unwrap();
        generate_self_signed(&["b.example".into()], &c2, &k2).unwrap();
        let err = load_server_config(&c1, &k2).unwrap_err();
        assert!(
            format!("{err:#}").contains("do not form a usable pair"),
            "{err:#}"
        );
        let err = load_server_config(&dir.path().join("missing.pem"), &k1).unwrap_err();
        assert!(format!("{err:#}").contains("missing.pem"), "{err:#}");
    }
}
