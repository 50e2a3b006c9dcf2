//! The `mailstead` binary: parses the command line, finds the config, and hands over to
//! `mailstead-server` (serve) or `mailstead-directory` (admin commands). Thin on purpose.
//!
//! Config lookup, the same for every subcommand: `--config FILE`, else `$MAILSTEAD_CONFIG`,
//! else `./mailstead.toml`. Admin commands talk to the store directly, so they work
//! whether or not a server runs, and a running server sees their changes at once.
//!
//! Exit status: 0 success, 1 a refused or failed command (one line on stderr), 2 bad usage.

mod cli;
mod cmd;
mod input;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            // One line: the chain of causes joined, as an operator reads it.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
