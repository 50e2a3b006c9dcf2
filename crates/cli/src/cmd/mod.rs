//! One module per command family.

mod alias;
mod config;
mod domain;
mod queue;
mod serve;
mod spam;
mod token;
mod user;

use std::process::ExitCode;

use anyhow::{Context, bail};
use mailstead_config::Config;
use mailstead_directory::Directory;

use crate::cli::{Cli, Command};

/// Runs the parsed command.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = mailstead_config::locate(cli.config.as_deref());
    match cli.command {
        Command::Serve => serve::run(&path).await,
        Command::Config(c) => config::run(&path, c, cli.json),
        Command::Domain(c) => domain::run(&open_directory(&path).await?, c, cli.json).await,
        Command::User(c) => user::run(&open_directory(&path).await?, c, cli.json).await,
        Command::Alias(c) => alias::run(&open_directory(&path).await?, c, cli.json).await,
        Command::Token(c) => token::run(&open_directory(&path).await?, c, cli.json).await,
        Command::Queue(c) => queue::run(&open_directory(&path).await?, c, cli.json).await,
        Command::Spam(c) => spam::run(&path, c, cli.json).await,
    }
}

/// Loads the config (every problem reported) for an admin command.
pub fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    if !path.exists() {
        bail!(
            "no config file at {}; run `mailstead serve` once to create one, or pass --config",
            path.display()
        );
    }
    Config::load(path).map_err(|errs| {
        // One line, as every command error: the problems joined, then where to see them.
        let list: Vec<String> = errs.0.iter().map(|i| i.to_string()).collect();
        anyhow::anyhow!(
            "{}: {} (run `mailstead config check` for the list)",
            path.display(),
            list.join("; ")
        )
    })
}

/// Opens the store named by the config, for an admin command.
async fn open_directory(path: &std::path::Path) -> anyhow::Result<Directory> {
    let config = load_config(path)?;
    init_tracing(&config, true);
    let meta = mailstead_server::open_meta_store(&config)
        .await
        .with_context(|| format!("config {}", path.display()))?;
    Ok(Directory::new(meta))
}

/// Logs to stderr; admin commands show only warnings unless `RUST_LOG` says otherwise.
pub fn init_tracing(config: &Config, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet {
        "warn"
    } else {
        config.log.level.as_str()
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        mailstead_config::LogFormat::Json => builder.json().try_init(),
        mailstead_config::LogFormat::Text => builder.try_init(),
    };
}
