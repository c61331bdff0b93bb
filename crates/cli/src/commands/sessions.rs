//! `cuervo sessions`: list, show, export and delete stored conversations.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use cuervo_domain::{ContentBlock, Role, SessionId};
use cuervo_store::{Db, SessionInfo, StoredMessage};
use serde_json::{Value, json};

use crate::render::{format_cost, plural, thousands};
use crate::setup::{Env, Project, state};

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub action: SessionsAction,
}

#[derive(Debug, Subcommand)]
pub enum SessionsAction {
    /// Sessions of this project, most recent first.
    List {
        /// Sessions of every project.
        #[arg(long)]
        all: bool,
        /// Most sessions to list.
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Every message of a session with its tokens and cost, and the totals.
    Show {
        /// Session id or a unique prefix of it.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Write a session as Markdown or JSON.
    Export {
        /// Session id or a unique prefix of it.
        id: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
    },
    /// Delete a session and its messages (the audit log keeps its entries).
    Delete {
        /// Session id or a unique prefix of it.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
}

pub fn run(args: &SessionsArgs, project: &Project, env: &Env) -> Result<ExitCode> {
    let db = state::open_db(env)?;
    match &args.action {
        SessionsAction::List { all, limit, json } => {
            let project_path = project.root.display().to_string();
            let sessions = db.sessions((!all).then_some(project_path.as_str()), *limit)?;
            if *json {
                for s in &sessions {
                    println!("{}", serde_json::to_string(&info_json(s))?);
                }
            } else if sessions.is_empty() {
                eprintln!(
                    "No sessions {}yet. Run `cuervo` or `cuervo -p \"...\"` to start one.",
                    if *all { "" } else { "in this project " }
                );
            } else {
                print!("{}", list_table(&sessions, *all));
            }
        }
        SessionsAction::Show { id, json } => {
            let (info, messages) = load(&db, id)?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&export_json(&info, &messages))?
                );
            } else {
                print!("{}", show_text(&info, &messages));
            }
        }
        SessionsAction::Export { id, format, output } => {
            let (info, messages) = load(&db, id)?;
            let text = match format {
                ExportFormat::Md => export_markdown(&info, &messages),
                ExportFormat::Json => {
                    let mut s = serde_json::to_string_pretty(&export_json(&info, &messages))?;
                    s.push('\n');
                    s
                }
            };
            match output {
                Some(path) => {
                    std::fs::write(path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("Wrote session {} to {}.", info.id, path.display());
                }
                None => print!("{text}"),
            }
        }
        SessionsAction::Delete { id } => {
            let id = db.resolve_session(id)?;
            let count = db.message_count(&id)?;
            db.delete_session(&id)?;
            println!("Deleted session {id} ({}).", plural(count, "message"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn load(db: &Db, id: &str) -> Result<(SessionInfo, Vec<StoredMessage>)> {
    let id: SessionId = db.resolve_session(id)?;
    let info = db
        .session(&id)?
        .ok_or_else(|| cuervo_store::Error::SessionNotFound(id.0.clone()))?;
    let messages = db.messages(&id)?;
    Ok((info, messages))
}

fn session_cost(info: &SessionInfo) -> String {
    match (info.cost.exact(), info.cost.priced) {
        (Some(c), _) => format_cost(Some(c)),
        (None, 0) => "unknown".into(),
        (None, _) => format!(
            "{} + unknown ({} without a price)",
            format_cost(Some(info.cost.known)),
            plural(info.cost.unpriced, "call")
        ),
    }
}

/// `2026-04-13T10:22:03.123Z` → `2026-04-13 10:22`.
fn short_time(ts: &str) -> String {
    ts.get(..16).unwrap_or(ts).replace('T', " ")
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

fn list_table(sessions: &[SessionInfo], all: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16}  {:<16}  {:>5}  {:>10}  {:>9}  TITLE",
        "ID", "UPDATED", "MSGS", "TOKENS", "COST"
    );
    for s in sessions {
        let title = one_line(s.title.as_deref().unwrap_or(""), 50);
        let title = if all {
            format!("{title}  ({})", s.project_path)
        } else {
            title
        };
        let cost = match s.cost.exact() {
            Some(c) => format_cost(Some(c)),
            None if s.cost.priced == 0 && s.cost.unpriced == 0 => "-".into(),
            None => "unknown".into(),
        };
        let _ = writeln!(
            out,
            "{:<16}  {:<16}  {:>5}  {:>10}  {:>9}  {}",
            s.id,
            short_time(&s.updated_at),
            s.message_count,
            thousands(s.usage.input_tokens + s.usage.output_tokens),
            cost,
            title
        );
    }
    out
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// A one-line description of a message: its text, or what tools it called or answered.
fn message_summary(m: &StoredMessage) -> String {
    let parts: Vec<String> = m
        .record
        .message
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text { text } if !text.trim().is_empty() => Some(one_line(text, 70)),
            ContentBlock::ToolUse(call) => Some(format!(
                "→ {}",
                crate::render::call_summary(&call.name, &call.input)
            )),
            ContentBlock::ToolResult(r) => Some(format!(
                "← {}{}",
                if r.is_error { "error: " } else { "" },
                one_line(&r.content, 60)
            )),
            _ => None,
        })
        .collect();
    parts.join("  ")
}

fn show_text(info: &SessionInfo, messages: &[StoredMessage]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "session  {}", info.id);
    let _ = writeln!(out, "project  {}", info.project_path);
    if let Some(model) = info.metadata.get("model").and_then(Value::as_str) {
        let provider = info
            .metadata
            .get("provider")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let _ = writeln!(out, "model    {provider}/{model}");
    }
    let _ = writeln!(
        out,
        "started  {}   last active {}",
        short_time(&info.created_at),
        short_time(&info.updated_at)
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>4}  {:<9}  {:>9}  {:>7}  {:>9}  MESSAGE",
        "#", "ROLE", "IN", "OUT", "COST"
    );
    for m in messages {
        let (input, output, cost) = match &m.record.usage {
            Some(u) => (
                thousands(u.input_tokens),
                thousands(u.output_tokens),
                format_cost(m.record.cost),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "{:>4}  {:<9}  {:>9}  {:>7}  {:>9}  {}",
            m.seq,
            role_label(m.record.message.role),
            input,
            output,
            cost,
            message_summary(m)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "total: {} · {} · tokens: {} in · {} out · cost {}",
        plural(info.message_count, "message"),
        plural(info.cost.priced + info.cost.unpriced, "model call"),
        thousands(info.usage.input_tokens),
        thousands(info.usage.output_tokens),
        session_cost(info)
    );
    out
}

fn info_json(info: &SessionInfo) -> Value {
    json!({
        "id": info.id,
        "project_path": info.project_path,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
        "title": info.title,
        "metadata": info.metadata,
        "message_count": info.message_count,
        "usage": info.usage,
        "cost_usd": info.cost.exact().map(|c| c.usd()),
        "known_cost_usd": info.cost.known.usd(),
        "unpriced_calls": info.cost.unpriced,
    })
}

fn export_json(info: &SessionInfo, messages: &[StoredMessage]) -> Value {
    json!({
        "session": info_json(info),
        "messages": messages.iter().map(|m| json!({
            "seq": m.seq,
            "created_at": m.created_at,
            "role": m.record.message.role,
            "content": m.record.message.content,
            "model": m.record.model,
            "usage": m.record.usage,
            "cost_usd": m.record.cost.map(|c| c.usd()),
        })).collect::<Vec<_>>(),
    })
}

fn export_markdown(info: &SessionInfo, messages: &[StoredMessage]) -> String {
    let mut out = String::new();
    let title = info.title.as_deref().map(|t| one_line(t, 80));
    let _ = writeln!(
        out,
        "# Cuervo session {}{}\n",
        info.id,
        title.map(|t| format!(": {t}")).unwrap_or_default()
    );
    let _ = writeln!(out, "- Project: `{}`", info.project_path);
    let _ = writeln!(out, "- Started: {}", info.created_at);
    let _ = writeln!(
        out,
        "- Tokens: {} in · {} out",
        thousands(info.usage.input_tokens),
        thousands(info.usage.output_tokens)
    );
    let _ = writeln!(out, "- Cost: {}\n", session_cost(info));
    for m in messages {
        let heading = match m.record.message.role {
            Role::User => "User".to_owned(),
            Role::Assistant => match &m.record.model {
                Some(model) => format!("Assistant ({model})"),
                None => "Assistant".to_owned(),
            },
            Role::Tool => "Tool results".to_owned(),
        };
        let _ = writeln!(out, "## {heading}\n");
        for block in &m.record.message.content {
            match block {
                ContentBlock::Text { text } => {
                    let _ = writeln!(out, "{}\n", text.trim_end());
                }
                ContentBlock::Thinking { thinking, .. } if !thinking.is_empty() => {
                    let quoted: Vec<String> = thinking.lines().map(|l| format!("> {l}")).collect();
                    let _ = writeln!(out, "{}\n", quoted.join("\n"));
                }
                ContentBlock::ToolUse(call) => {
                    let input = serde_json::to_string_pretty(&call.input).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "**Tool call** `{}` (`{}`)\n\n```json\n{input}\n```\n",
                        call.name, call.id
                    );
                }
                ContentBlock::ToolResult(r) => {
                    let fence = if r.content.contains("```") {
                        "~~~~"
                    } else {
                        "```"
                    };
                    let _ = writeln!(
                        out,
                        "**Result** of `{}`{}\n\n{fence}\n{}\n{fence}\n",
                        r.call_id,
                        if r.is_error { " (error)" } else { "" },
                        r.content.trim_end()
                    );
                }
                _ => {}
            }
        }
        if let Some(u) = &m.record.usage {
            let _ = writeln!(
                out,
                "*{} in · {} out · {}*\n",
                thousands(u.input_tokens),
                thousands(u.output_tokens),
                format_cost(m.record.cost)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{Cost, Message, MessageRecord, Usage};

    fn sample() -> (SessionInfo, Vec<StoredMessage>) {
        let db = Db::open_in_memory().unwrap();
        let id = SessionId("0123456789abcdef".into());
        let records = [
            MessageRecord {
                message: Message::user("Fix the typo\nin greeting.txt"),
                model: None,
                usage: None,
                cost: None,
            },
            MessageRecord {
                message: Message::assistant_text("Done."),
                model: Some("claude-sonnet-4-5".into()),
                usage: Some(Usage {
                    input_tokens: 1200,
                    output_tokens: 34,
                    ..Usage::default()
                }),
                cost: Some(Cost { micro_usd: 4_110 }),
            },
        ];
        for r in &records {
            db.append_message(&id, "/p", r).unwrap();
        }
        (db.session(&id).unwrap().unwrap(), db.messages(&id).unwrap())
    }

    #[test]
    fn show_lists_tokens_cost_and_totals() {
        let (info, messages) = sample();
        let text = show_text(&info, &messages);
        assert!(text.contains("user"), "{text}");
        assert!(text.contains("1,200") && text.contains("$0.0041"), "{text}");
        assert!(
            text.contains(
                "total: 2 messages · 1 model call · tokens: 1,200 in · 34 out · cost $0.0041"
            ),
            "{text}"
        );
    }

    #[test]
    fn markdown_export_has_each_message_and_the_cost() {
        let (info, messages) = sample();
        let md = export_markdown(&info, &messages);
        assert!(md.starts_with("# Cuervo session 0123456789abcdef: Fix the typo in greeting.txt"));
        assert!(md.contains("## User\n\nFix the typo\nin greeting.txt\n"));
        assert!(md.contains("## Assistant (claude-sonnet-4-5)\n\nDone.\n"));
        assert!(md.contains("- Cost: $0.0041"));
        let v = export_json(&info, &messages);
        assert_eq!(v["messages"][1]["cost_usd"], 0.00411);
        assert_eq!(v["messages"][0]["cost_usd"], Value::Null);
    }
}
