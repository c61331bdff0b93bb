//! `cuervo audit`: check the hash chain, read the latest entries.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use cuervo_store::AuditLog;
use cuervo_store::audit::no_redaction;
use serde_json::Value;

use crate::setup::{Env, state};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: AuditAction,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the whole chain; exit 1 naming the first entry that was edited, deleted,
    /// reordered or cut off.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Print the latest entries, oldest first.
    Tail {
        /// How many entries.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// One JSON object per line (the stored entry, hashes included).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &AuditArgs, env: &Env) -> Result<ExitCode> {
    let db = state::open_db(env)?;
    // Entries were redacted when written; reading needs no redaction.
    let log = AuditLog::new(db, no_redaction());
    match &args.action {
        AuditAction::Verify { json } => {
            let v = log.verify()?;
            if *json {
                println!("{}", serde_json::to_string(&v)?);
            } else if let Some(breach) = &v.breach {
                eprintln!("audit log BROKEN at {breach}");
                eprintln!(
                    "  {} entries before it verified; the log at {} has been tampered with or damaged.",
                    v.entries,
                    log.checkpoint_path()
                        .and_then(|p| p.parent())
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
            } else {
                let head = v
                    .head
                    .as_ref()
                    .map(|(id, hash)| format!(", head entry {id} {}", &hash[..hash.len().min(16)]))
                    .unwrap_or_default();
                println!(
                    "audit log intact: {} entries{head}{}",
                    v.entries,
                    if v.checkpointed {
                        " (matches its checkpoint)"
                    } else {
                        ""
                    }
                );
            }
            Ok(if v.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        AuditAction::Tail { lines, json } => {
            for entry in log.tail(*lines)? {
                if *json {
                    println!("{}", serde_json::to_string(&entry)?);
                } else {
                    println!(
                        "{:>6}  {}  {:<18}  {}  {}",
                        entry.id,
                        entry.ts,
                        entry.kind,
                        entry.session_id.as_deref().unwrap_or("-"),
                        summary(&entry.payload)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `key=value` pairs of a payload on one line, long values shortened.
fn summary(payload: &Value) -> String {
    let Value::Object(map) = payload else {
        return payload.to_string();
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
                other => other.to_string(),
            };
            let v = match v.char_indices().nth(60) {
                Some((i, _)) => format!("{}…", &v[..i]),
                None => v,
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_is_one_short_line() {
        let s = summary(&json!({"command": "cargo\ntest", "exit_code": 0, "out": "x".repeat(100)}));
        assert!(
            s.starts_with("command=cargo test exit_code=0 out=xxx"),
            "{s}"
        );
        assert!(s.ends_with('…'));
    }
}
