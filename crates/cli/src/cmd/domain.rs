//! `mailstead domain ...`

use std::process::ExitCode;

use mailstead_directory::Directory;
use serde_json::json;

use crate::cli::{DkimCmd, DomainCmd};
use crate::output::{self, table, time};

pub async fn run(dir: &Directory, cmd: DomainCmd, as_json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        DomainCmd::Add { name } => {
            let d = dir.add_domain(&name).await?;
            if as_json {
                output::json(&d)?;
            } else {
                println!("added domain {}; its DKIM records:", d.name);
                print_records(&dir.dkim_records(d.name.as_str()).await?);
            }
        }
        DomainCmd::List => {
            let domains = dir.list_domains().await?;
            if as_json {
                output::json(&domains)?;
            } else {
                let mut rows = Vec::new();
                for d in &domains {
                    let n = dir.store().count_accounts(d.id).await?;
                    rows.push(vec![
                        d.name.to_string(),
                        d.name.to_unicode(),
                        n.to_string(),
                        time(d.created_at),
                    ]);
                }
                table(&["DOMAIN", "UNICODE", "ACCOUNTS", "CREATED"], &rows);
            }
        }
        DomainCmd::Show { name } => {
            let details = dir.show_domain(&name).await?;
            if as_json {
                output::json(&details)?;
            } else {
                let d = &details.domain;
                println!("domain:       {} ({})", d.name, d.name.to_unicode());
                println!("created:      {}", time(d.created_at));
                let alts: Vec<String> =
                    details.alternatives.iter().map(|a| a.to_string()).collect();
                println!(
                    "alternatives: {}",
                    if alts.is_empty() {
                        "-".into()
                    } else {
                        alts.join(", ")
                    }
                );
                println!("accounts:     {}", details.accounts.len());
                for a in &details.accounts {
                    println!(
                        "  {}{}",
                        a.address,
                        if a.enabled { "" } else { " (disabled)" }
                    );
                }
                println!("aliases:      {}", details.aliases.len());
                for a in &details.aliases {
                    println!(
                        "  {}@{} -> {}",
                        a.local_part,
                        d.name,
                        a.destinations.join(", ")
                    );
                }
            }
        }
        DomainCmd::Remove { name, force } => {
            dir.remove_domain(&name, force).await?;
            if as_json {
                output::json(&json!({ "removed": name }))?;
            } else {
                println!("removed domain {name}");
            }
        }
        DomainCmd::AddAlternative {
            domain,
            alternative,
        } => {
            dir.add_alternative_domain(&domain, &alternative).await?;
            if as_json {
                output::json(&json!({ "domain": domain, "alternative": alternative }))?;
            } else {
                println!("added alternative {alternative} of {domain}");
            }
        }
        DomainCmd::RemoveAlternative { alternative } => {
            dir.remove_alternative_domain(&alternative).await?;
            if as_json {
                output::json(&json!({ "removed": alternative }))?;
            } else {
                println!("removed alternative {alternative}");
            }
        }
        DomainCmd::Dkim(cmd) => dkim(dir, cmd, as_json).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn print_records(records: &[mailstead_directory::DkimRecord]) {
    for r in records {
        println!(
            "{} {} {}{}",
            r.key.selector,
            r.key.algorithm.as_str(),
            time(r.key.created_at),
            if r.key.active {
                " (signing)"
            } else {
                " (retired)"
            }
        );
        println!("  {} TXT \"{}\"", r.name, r.value);
    }
}

async fn dkim(dir: &Directory, cmd: DkimCmd, as_json: bool) -> anyhow::Result<()> {
    match cmd {
        DkimCmd::List { domain } => {
            let records = dir.dkim_records(&domain).await?;
            if as_json {
                output::json(&records)?;
            } else if records.is_empty() {
                println!(
                    "{domain} has no DKIM keys; `mailstead domain dkim rotate {domain}` makes some"
                );
            } else {
                print_records(&records);
            }
        }
        DkimCmd::Rotate { domain } => {
            let records = dir.rotate_dkim(&domain).await?;
            if as_json {
                output::json(&records)?;
            } else {
                println!("new keys for {domain}; publish these records now:");
                print_records(&records);
            }
        }
        DkimCmd::Remove { domain, selector } => {
            dir.remove_dkim(&domain, &selector).await?;
            if as_json {
                output::json(&json!({ "removed": selector }))?;
            } else {
                println!("removed DKIM selector {selector} of {domain}");
            }
        }
    }
    Ok(())
}
