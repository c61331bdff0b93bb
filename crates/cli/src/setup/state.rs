//! Local state for a run: the session database, the audit recorder, stored API keys, and
//! the redaction applied before anything is written.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use cuervo_domain::{AgentEvent, Decision, SessionId};
use cuervo_store::audit::NewEntry;
use cuervo_store::{AuditLog, Credentials, Db, Redact, SqliteSessionRepository};
use serde_json::{Value, json};

use crate::config::Config;
use crate::setup::{Env, Project};

/// Most characters of one string kept in an audit entry (tool output, diffs, inputs).
const AUDIT_STRING_LIMIT: usize = 4_000;

/// Where the database lives: `$XDG_DATA_HOME/cuervo/cuervo.db` (else under `$HOME`).
pub fn db_path(env: &Env) -> Result<PathBuf> {
    cuervo_store::db::default_path(env)
        .context("neither XDG_DATA_HOME nor HOME is set, so there is nowhere to keep sessions")
}

/// Opens the user's database (creating or upgrading it).
pub fn open_db(env: &Env) -> Result<Arc<Db>> {
    let path = db_path(env)?;
    Ok(Arc::new(Db::open(&path)?))
}

/// The user's config directory: `$XDG_CONFIG_HOME/cuervo`, else `$HOME/.config/cuervo`.
pub fn config_dir(env: &Env) -> Option<PathBuf> {
    crate::config::ConfigPaths::new(Path::new("."), env)
        .user
        .and_then(|p| p.parent().map(Path::to_owned))
}

/// Stored API keys. The keychain is skipped when `CUERVO_KEYRING` is `off` (or `0`,
/// `false`, `no`).
pub fn credentials(env: &Env) -> Option<Credentials> {
    let use_keychain = !env("CUERVO_KEYRING").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "0" | "false" | "no"
        )
    });
    config_dir(env).map(|dir| Credentials::new(&dir, use_keychain))
}

/// Every API key this run could know without asking the keychain: provider variables
/// and keys in config files, plus `extra` (the key in use).
pub fn known_secrets(config: &Config, env: &Env, extra: Option<String>) -> Vec<String> {
    let mut secrets: Vec<String> = config
        .providers
        .values()
        .flat_map(|p| {
            let from_env = p.api_key_env.as_deref().and_then(env);
            [from_env, p.api_key.clone()]
        })
        .flatten()
        .chain(extra)
        .filter(|k| k.trim().len() >= 8)
        .collect();
    secrets.sort();
    secrets.dedup();
    secrets
}

/// What the agent loop removes from tool output and user messages before the model or
/// the store sees them: the exact keys in use always, then what `privacy.redact` asks of
/// the scanner.
pub fn model_redaction(secrets: Vec<String>, level: crate::config::RedactLevel) -> Redact {
    use crate::config::RedactLevel;
    use cuervo_text::pii::{PiiKind, Redactor};
    let scrub = cuervo_store::scrub_secrets(secrets);
    let scanner = match level {
        RedactLevel::KeysInUse => Ok(None),
        RedactLevel::Credentials => {
            let kinds: Vec<PiiKind> = PiiKind::ALL
                .into_iter()
                .filter(|k| k.is_credential())
                .collect();
            Redactor::with_kinds(&kinds).map(Some)
        }
        RedactLevel::Pii => Redactor::new().map(Some),
    }
    .unwrap_or_else(|error| {
        tracing::error!(%error, "the secret scanner failed to build; only the keys in use are redacted");
        None
    });
    Arc::new(move |text: &str| {
        // The exact keys first: they may not look like keys to the scanner.
        let scrubbed = scrub(text);
        let Some(scanner) = &scanner else {
            return scrubbed;
        };
        let changed = match scanner.redact(&scrubbed).text {
            Cow::Owned(changed) => Some(changed),
            Cow::Borrowed(_) => None,
        };
        changed.map_or(scrubbed, Cow::Owned)
    })
}

/// PII and secret redaction for the audit log: the text layer's scanner, then the exact
/// keys in use (which may not look like keys to a scanner).
pub fn audit_redaction(secrets: Vec<String>) -> Redact {
    let scrub = cuervo_store::scrub_secrets(secrets);
    Arc::new(move |text: &str| {
        let redacted = cuervo_text::pii::redact(text).text;
        match scrub(&redacted) {
            Cow::Borrowed(_) => redacted,
            Cow::Owned(s) => Cow::Owned(s),
        }
    })
}

/// The session repository for a run, scrubbing known keys from stored messages.
pub fn repository(db: Arc<Db>, project: &Project, secrets: Vec<String>) -> SqliteSessionRepository {
    SqliteSessionRepository::new(db, project.root.display().to_string())
        .with_scrub(cuervo_store::scrub_secrets(secrets))
}

enum Job {
    Entry {
        kind: &'static str,
        session: String,
        payload: Value,
    },
}

/// Appends audit entries on a thread of its own, so rendering never waits on the disk.
/// [`AuditRecorder::finish`] waits for the entries sent so far.
pub struct AuditRecorder {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl AuditRecorder {
    pub fn new(log: AuditLog) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("cuervo-audit".into())
            .spawn(move || {
                let mut warned = false;
                // Whatever piled up while the last batch was written goes in one
                // transaction.
                while let Ok(first) = rx.recv() {
                    let batch: Vec<NewEntry> = std::iter::once(first)
                        .chain(rx.try_iter())
                        .map(
                            |Job::Entry {
                                 kind,
                                 session,
                                 payload,
                             }| NewEntry {
                                kind: kind.to_owned(),
                                session_id: Some(session),
                                payload,
                            },
                        )
                        .collect();
                    if let Err(error) = log.append_batch(batch)
                        && !warned
                    {
                        warned = true;
                        eprintln!("warning: could not write the audit log: {error}");
                    }
                }
            })
            .ok();
        Self {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(thread),
        }
    }

    /// Records `event` if it is one the audit log keeps.
    pub fn record(&self, session: &SessionId, event: &AgentEvent) {
        let Some((kind, payload)) = audit_payload(event) else {
            return;
        };
        if let Some(tx) = &*self.tx.lock().unwrap_or_else(PoisonError::into_inner) {
            let _ = tx.send(Job::Entry {
                kind,
                session: session.0.clone(),
                payload,
            });
        }
    }

    /// Waits until every entry recorded so far is written; later ones are dropped.
    pub fn finish(&self) {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl cuervo_core::EventObserver for AuditRecorder {
    fn observe(&self, session: &SessionId, event: &AgentEvent) {
        self.record(session, event);
    }
}

fn clip(s: &str) -> Value {
    match s.char_indices().nth(AUDIT_STRING_LIMIT) {
        Some((i, _)) => Value::String(format!("{}… [{} bytes in all]", &s[..i], s.len())),
        None => Value::String(s.to_owned()),
    }
}

fn clip_value(v: &Value) -> Value {
    match v {
        Value::String(s) => clip(s),
        Value::Array(items) => Value::Array(items.iter().map(clip_value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), clip_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The audit kind and payload of an event; `None` for streaming noise (text deltas).
pub fn audit_payload(event: &AgentEvent) -> Option<(&'static str, Value)> {
    Some(match event {
        AgentEvent::AgentStarted {
            provider, model, ..
        } => (
            "agent_started",
            json!({"provider": provider, "model": model}),
        ),
        AgentEvent::ModelInvoked {
            turn,
            provider,
            model,
        } => (
            "model_invoked",
            json!({"turn": turn, "provider": provider, "model": model}),
        ),
        AgentEvent::ModelFallback {
            from, to, reason, ..
        } => (
            "model_fallback",
            json!({"from": from, "to": to, "reason": clip(reason)}),
        ),
        AgentEvent::ModelRetry {
            provider,
            model,
            attempt,
            delay_ms,
            reason,
            ..
        } => (
            "model_retry",
            json!({"provider": provider, "model": model, "attempt": attempt,
                   "delay_ms": delay_ms, "reason": reason}),
        ),
        AgentEvent::CallUnfinished {
            provider,
            model,
            usage,
            cost,
        } => (
            "model_unfinished",
            json!({"provider": provider, "model": model, "usage": usage, "cost": cost}),
        ),
        AgentEvent::ModelError { error } => {
            ("model_error", json!({"error": clip(&error.to_string())}))
        }
        AgentEvent::TurnCompleted {
            turn,
            stop_reason,
            usage,
            cost,
        } => (
            "model_completed",
            json!({"turn": turn, "stop_reason": stop_reason, "usage": usage, "cost": cost}),
        ),
        AgentEvent::ToolCall { call } => (
            "tool_call",
            json!({"call_id": call.id, "tool": call.name, "input": clip_value(&call.input)}),
        ),
        AgentEvent::PermissionDecided {
            call_id,
            tool,
            decision,
        } => {
            let (verdict, reason) = match decision {
                Decision::Allow => ("allow", None),
                Decision::Deny(r) => ("deny", Some(r.as_str())),
                Decision::Ask(r) => ("ask", Some(r.as_str())),
            };
            (
                "permission_decided",
                json!({"call_id": call_id, "tool": tool, "decision": verdict, "reason": reason}),
            )
        }
        AgentEvent::ToolExecuted {
            call_id,
            tool,
            is_error,
            content,
            duration_ms,
        } => (
            "tool_executed",
            json!({"call_id": call_id, "tool": tool, "is_error": is_error,
                   "duration_ms": duration_ms, "output": clip(content)}),
        ),
        AgentEvent::FileModified {
            call_id,
            path,
            diff,
        } => (
            "file_modified",
            json!({"call_id": call_id, "path": path, "diff": clip(diff)}),
        ),
        AgentEvent::BashExecuted {
            call_id,
            command,
            exit_code,
            timed_out,
        } => (
            "bash_executed",
            json!({"call_id": call_id, "command": clip(command), "exit_code": exit_code, "timed_out": timed_out}),
        ),
        AgentEvent::AgentCompleted {
            cause,
            turns,
            usage,
            ..
        } => (
            "agent_completed",
            json!({"cause": cause, "turns": turns, "usage": usage}),
        ),
        AgentEvent::AgentFailed { error } => ("agent_failed", json!({"error": clip(error)})),
        AgentEvent::TodoUpdated { items } => ("todo_updated", json!({"items": items})),
        AgentEvent::PlanApproved { plan, mode } => (
            "plan_approved",
            json!({"plan": clip(plan), "mode": mode.as_str()}),
        ),
        // A sub-agent's action is recorded as what it is, with the agent that did it.
        AgentEvent::SubAgent {
            id, agent, event, ..
        } => {
            let (kind, mut payload) = audit_payload(event)?;
            if let Value::Object(map) = &mut payload {
                map.insert("agent_id".into(), json!(id));
                map.insert("agent".into(), json!(agent));
            }
            (kind, payload)
        }
        AgentEvent::TextDelta { .. }
        | AgentEvent::ModelWaiting { .. }
        | AgentEvent::ThinkingDelta { .. }
        | AgentEvent::ToolCallStarted { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_keeps_actions_not_deltas() {
        assert!(audit_payload(&AgentEvent::TextDelta { text: "x".into() }).is_none());
        let (kind, payload) = audit_payload(&AgentEvent::BashExecuted {
            call_id: "c".into(),
            command: "ls".into(),
            exit_code: Some(0),
            timed_out: false,
        })
        .unwrap();
        assert_eq!(kind, "bash_executed");
        assert_eq!(payload["command"], "ls");
        let long = "x".repeat(AUDIT_STRING_LIMIT + 10);
        assert!(clip(&long).as_str().unwrap().contains("bytes in all"));
    }

    #[test]
    fn audit_redaction_hides_pii_and_known_keys() {
        let redact = audit_redaction(vec!["plain-looking-key-42".into()]);
        let out = redact("mail bob@example.com with plain-looking-key-42");
        assert!(!out.contains("bob@example.com"), "{out}");
        assert!(!out.contains("plain-looking-key-42"), "{out}");
    }
}
