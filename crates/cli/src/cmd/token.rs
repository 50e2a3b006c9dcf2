//! `mailstead token ...`

use std::process::ExitCode;

use mailstead_directory::Directory;
use mailstead_types::AppPasswordId;
use serde_json::json;

use crate::cli::TokenCmd;
use crate::output::{self, table, time};

pub async fn run(dir: &Directory, cmd: TokenCmd, as_json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCmd::Add { address, name } => {
            let (row, token) = dir.add_token(&address, &name).await?;
            if as_json {
                output::json(&json!({ "id": row.id, "name": row.name, "token": token.expose() }))?;
            } else {
                println!("app password {} ({}) for {address}:", row.id, row.name);
                println!("{}", token.expose());
                println!(
                    "it is shown once; use it instead of the account password in a mail client"
                );
            }
        }
        TokenCmd::List { address } => {
            let tokens = dir.list_tokens(&address).await?;
            if as_json {
                output::json(&tokens)?;
            } else {
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.name.clone(),
                            time(t.created_at),
                            t.last_used_at.map(time).unwrap_or_else(|| "never".into()),
                        ]
                    })
                    .collect();
                table(&["ID", "NAME", "CREATED", "LAST USED"], &rows);
            }
        }
        TokenCmd::Revoke { address, id } => {
            dir.revoke_token(&address, AppPasswordId(id)).await?;
            if as_json {
                output::json(&json!({ "revoked": id }))?;
            } else {
                println!("revoked app password {id} of {address}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
