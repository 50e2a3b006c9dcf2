//! `mailstead alias ...`

use std::process::ExitCode;

use mailstead_directory::Directory;
use serde_json::json;

use crate::cli::AliasCmd;
use crate::output::{self, table};

pub async fn run(dir: &Directory, cmd: AliasCmd, as_json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        AliasCmd::Add {
            alias,
            destinations,
        } => {
            let destinations: Vec<String> = destinations
                .iter()
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .collect();
            let a = dir.add_alias(&alias, &destinations).await?;
            let name = dir.alias_address(&a).await?;
            if as_json {
                output::json(
                    &json!({ "alias": name, "destinations": a.destinations, "wildcard": a.wildcard, "id": a.id }),
                )?;
            } else {
                println!("added alias {name} -> {}", a.destinations.join(", "));
            }
        }
        AliasCmd::List { domain } => {
            let aliases = dir.list_aliases(domain.as_deref()).await?;
            let mut rows = Vec::new();
            let mut items = Vec::new();
            for a in &aliases {
                let name = dir.alias_address(a).await?;
                rows.push(vec![name.clone(), a.destinations.join(", ")]);
                items.push(json!({ "alias": name, "destinations": a.destinations, "wildcard": a.wildcard, "id": a.id }));
            }
            if as_json {
                output::json(&items)?;
            } else {
                table(&["ALIAS", "DESTINATIONS"], &rows);
            }
        }
        AliasCmd::Remove { alias } => {
            dir.remove_alias(&alias).await?;
            if as_json {
                output::json(&json!({ "removed": alias }))?;
            } else {
                println!("removed alias {alias}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
