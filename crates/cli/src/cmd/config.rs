//! `mailstead config check`.

use std::path::Path;
use std::process::ExitCode;

use mailstead_config::Config;
use serde_json::json;

use crate::cli::ConfigCmd;

pub fn run(path: &Path, cmd: ConfigCmd, as_json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCmd::Check => {
            if !path.exists() {
                anyhow::bail!("no config file at {}", path.display());
            }
            match Config::load(path) {
                Ok(_) => {
                    if as_json {
                        crate::output::json(&json!({ "file": path, "ok": true, "problems": [] }))?;
                    } else {
                        println!("{}: ok", path.display());
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(errs) => {
                    if as_json {
                        let problems: Vec<_> = errs
                            .0
                            .iter()
                            .map(|i| json!({ "path": i.path, "message": i.message }))
                            .collect();
                        crate::output::json(
                            &json!({ "file": path, "ok": false, "problems": problems }),
                        )?;
                    } else {
                        println!("{}: {} problem(s)", path.display(), errs.0.len());
                        for issue in &errs.0 {
                            println!("  {}: {}", issue.path, issue.message);
                        }
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
