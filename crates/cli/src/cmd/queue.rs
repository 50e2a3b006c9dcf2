//! `mailstead queue ...`: the outbound queue as the store holds it (works while the server
//! runs; the worker sees retries and deletions at its next pass).

use std::process::ExitCode;

use anyhow::bail;
use mailstead_directory::Directory;
use mailstead_store::StoreError;
use mailstead_store::model::{QueuedMessage, RecipientStatus, unix_now};
use mailstead_types::QueueId;
use serde_json::json;

use crate::cli::QueueCmd;
use crate::output::{self, size, table, time};

fn sender(m: &QueuedMessage) -> String {
    if m.mail_from.is_empty() {
        "<>".into()
    } else {
        m.mail_from.clone()
    }
}

pub async fn run(dir: &Directory, cmd: QueueCmd, as_json: bool) -> anyhow::Result<ExitCode> {
    let meta = dir.store();
    match cmd {
        QueueCmd::List => {
            let messages = meta.queue_list().await?;
            if as_json {
                output::json(&messages)?;
            } else if messages.is_empty() {
                println!("queue is empty");
            } else {
                let mut rows = Vec::new();
                for m in &messages {
                    let pending: Vec<_> = m
                        .recipients
                        .iter()
                        .filter(|r| r.status == RecipientStatus::Pending)
                        .collect();
                    let next = pending.iter().map(|r| r.next_attempt).min();
                    let last_error = pending
                        .iter()
                        .filter_map(|r| r.last_error.clone())
                        .next()
                        .unwrap_or_default();
                    rows.push(vec![
                        m.id.to_string(),
                        sender(m),
                        format!("{}/{}", pending.len(), m.recipients.len()),
                        size(m.size),
                        time(m.created_at),
                        next.map(time).unwrap_or_else(|| "-".into()),
                        last_error.chars().take(60).collect(),
                    ]);
                }
                table(
                    &[
                        "ID",
                        "FROM",
                        "PENDING",
                        "SIZE",
                        "QUEUED",
                        "NEXT TRY",
                        "LAST ERROR",
                    ],
                    &rows,
                );
            }
        }
        QueueCmd::Show { id } => {
            let Some(m) = meta.queue_message(QueueId(id)).await? else {
                bail!("no queued message {id}");
            };
            if as_json {
                output::json(&m)?;
            } else {
                println!("id:        {}", m.id);
                println!("from:      {}", sender(&m));
                println!("size:      {}", size(m.size));
                println!("queued:    {}", time(m.created_at));
                println!("blob:      {}", m.blob_id);
                if let Some(e) = &m.envid {
                    println!("envid:     {e}");
                }
                if m.requiretls {
                    println!("requiretls: yes");
                }
                println!("recipients:");
                for r in &m.recipients {
                    println!(
                        "  {} {} attempts={} next={} {}",
                        r.address,
                        r.status.as_str(),
                        r.attempts,
                        if r.status == RecipientStatus::Pending {
                            time(r.next_attempt)
                        } else {
                            "-".into()
                        },
                        r.last_error.as_deref().unwrap_or("")
                    );
                }
            }
        }
        QueueCmd::Retry { id, all } => {
            let target = if all { None } else { id.map(QueueId) };
            let n = match meta.queue_retry(target, unix_now()).await {
                Ok(n) => n,
                Err(StoreError::NotFound(_)) => bail!("no queued message {}", id.unwrap_or(0)),
                Err(e) => return Err(e.into()),
            };
            if as_json {
                output::json(&json!({ "recipients_due_now": n }))?;
            } else {
                println!("{n} recipient(s) due now");
            }
        }
        QueueCmd::Delete { id } => {
            match meta.queue_delete(QueueId(id)).await {
                Ok(()) => {}
                Err(StoreError::NotFound(_)) => bail!("no queued message {id}"),
                Err(e) => return Err(e.into()),
            }
            if as_json {
                output::json(&json!({ "deleted": id }))?;
            } else {
                println!("deleted queued message {id}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
