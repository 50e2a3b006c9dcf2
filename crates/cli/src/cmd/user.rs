//! `mailstead user ...`

use std::process::ExitCode;

use mailstead_directory::{Directory, NewUser};
use serde_json::json;

use crate::cli::UserCmd;
use crate::input::read_password;
use crate::output::{self, size, table, time};

pub async fn run(dir: &Directory, cmd: UserCmd, as_json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCmd::Add {
            address,
            name,
            quota,
            admin,
            password,
        } => {
            let pw = read_password(&password, &format!("password for {address}"))?;
            let opts = NewUser {
                display_name: name,
                quota_bytes: quota,
                global_admin: admin,
            };
            let a = dir.add_user(&address, &pw, &opts).await?;
            if as_json {
                output::json(&a)?;
            } else {
                println!("added user {}", a.address);
            }
        }
        UserCmd::List { domain } => {
            let users = dir.list_users(domain.as_deref()).await?;
            if as_json {
                output::json(&users)?;
            } else {
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|a| {
                        vec![
                            a.address.to_string(),
                            a.display_name.clone(),
                            if a.enabled { "enabled" } else { "disabled" }.into(),
                            if a.global_admin { "admin" } else { "-" }.into(),
                            a.quota_bytes
                                .map(size)
                                .unwrap_or_else(|| "unlimited".into()),
                        ]
                    })
                    .collect();
                table(&["ADDRESS", "NAME", "STATE", "ROLE", "QUOTA"], &rows);
            }
        }
        UserCmd::Show { address } => {
            let u = dir.show_user(&address).await?;
            if as_json {
                output::json(&u)?;
            } else {
                let a = &u.account;
                println!("address:   {}", a.address);
                println!("name:      {}", a.display_name);
                println!(
                    "state:     {}",
                    if a.enabled { "enabled" } else { "disabled" }
                );
                println!(
                    "admin:     {}",
                    if a.global_admin { "global" } else { "no" }
                );
                let managed: Vec<String> =
                    u.managed_domains.iter().map(|d| d.to_string()).collect();
                println!(
                    "manages:   {}",
                    if managed.is_empty() {
                        "-".into()
                    } else {
                        managed.join(", ")
                    }
                );
                let quota = a
                    .quota_bytes
                    .map(size)
                    .unwrap_or_else(|| "unlimited".into());
                println!("usage:     {} of {}", size(u.usage_bytes), quota);
                println!("created:   {}", time(a.created_at));
                println!("mailboxes:");
                for m in &u.mailboxes {
                    let su = m.special_use.map(|s| s.as_str()).unwrap_or("");
                    println!("  {:<12} {su}", m.name);
                }
                println!("app passwords: {}", u.app_passwords.len());
            }
        }
        UserCmd::Passwd { address, password } => {
            // Check the user exists before asking for a password.
            dir.find_user(&address).await?;
            let pw = read_password(&password, &format!("new password for {address}"))?;
            dir.set_password(&address, &pw).await?;
            if as_json {
                output::json(&json!({ "password_changed": address }))?;
            } else {
                println!("password of {address} changed");
            }
        }
        UserCmd::Quota { address, quota } => {
            let bytes = match quota {
                crate::cli::Quota::Bytes(b) => Some(b),
                crate::cli::Quota::Unlimited => None,
            };
            let a = dir
                .update_user(
                    &address,
                    &mailstead_store::model::AccountUpdate {
                        quota_bytes: Some(bytes),
                        ..Default::default()
                    },
                )
                .await?;
            if as_json {
                output::json(&a)?;
            } else {
                match a.quota_bytes {
                    Some(q) => println!("quota of {} set to {}", a.address, size(q)),
                    None => println!("{} has no quota", a.address),
                }
            }
        }
        UserCmd::Disable { address } => set_enabled(dir, &address, false, as_json).await?,
        UserCmd::Enable { address } => set_enabled(dir, &address, true, as_json).await?,
        UserCmd::Remove { address } => {
            dir.remove_user(&address).await?;
            if as_json {
                output::json(&json!({ "removed": address }))?;
            } else {
                println!("removed user {address} and their mail");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_enabled(
    dir: &Directory,
    address: &str,
    enabled: bool,
    as_json: bool,
) -> anyhow::Result<()> {
    let a = dir.set_enabled(address, enabled).await?;
    if as_json {
        output::json(&a)?;
    } else {
        println!(
            "{} {}",
            if enabled { "enabled" } else { "disabled" },
            a.address
        );
    }
    Ok(())
}
