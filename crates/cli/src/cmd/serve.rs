//! `mailstead serve`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use mailstead_directory::Directory;
use mailstead_server::{Listeners, bootstrap};
use mailstead_types::Domain;

/// The host name written into a first-run config: the machine's, when it is a valid
/// domain, else `localhost`.
fn first_run_hostname() -> String {
    let h = mailstead_config::Config::default().server.hostname;
    if h.parse::<Domain>().is_ok() {
        h
    } else {
        "localhost".into()
    }
}

pub async fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let wrote_config = bootstrap::ensure_config_file(path, &first_run_hostname())?;
    let config = super::load_config(path)?;
    super::init_tracing(&config, false);

    bootstrap::ensure_data_dir(&config)?;
    let new_cert = bootstrap::ensure_certificate(&config)?;
    // Load it now so a bad certificate stops start-up with the file named.
    let tls = mailstead_server::tls::load_server_config(&config.cert_path(), &config.key_path())?;

    // Bind first: a second server on the same config fails here, before it opens the blob
    // store (which clears half-written blobs of the running one).
    let listeners = Listeners::bind(&config).await?;
    let stores = mailstead_server::open_stores(&config).await?;
    let directory = Directory::new(stores.meta.clone());
    let admin = bootstrap::ensure_admin(&directory, &config.server.hostname).await?;

    // The banner goes to stdout (logs go to stderr) so it can be captured on its own.
    let mut out = std::io::stdout().lock();
    if wrote_config {
        writeln!(out, "mailstead: first run, wrote {}", path.display())?;
    }
    writeln!(out, "mailstead: data in {}", config.data_dir().display())?;
    if new_cert {
        writeln!(
            out,
            "mailstead: generated a self-signed certificate {} (replace it with a real one)",
            config.cert_path().display()
        )?;
    }
    if let Some(admin) = &admin {
        writeln!(out, "mailstead: created admin account {}", admin.address)?;
        writeln!(
            out,
            "mailstead: admin password: {}",
            admin.password.expose()
        )?;
        writeln!(
            out,
            "mailstead: this password is shown once; change it with `mailstead user passwd {}`",
            admin.address
        )?;
    }
    for (proto, addr) in listeners.describe() {
        writeln!(out, "mailstead: listening {proto} {addr}")?;
    }
    writeln!(out, "mailstead: ready")?;
    out.flush()?;
    drop(out);

    mailstead_server::run(
        config,
        stores,
        listeners,
        Some(tls),
        mailstead_server::shutdown_signal(),
    )
    .await
    .context("server failed")?;
    Ok(ExitCode::SUCCESS)
}
