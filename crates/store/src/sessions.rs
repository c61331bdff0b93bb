//! Sessions and their messages, with tokens and cost, keyed by project path.

use std::borrow::Cow;
use std::sync::Arc;

use cuervo_domain::{
    BoxFuture, ContentBlock, Cost, Message, MessageRecord, RepositoryError, Role, SessionId,
    SessionMeta, SessionRepository, SessionSummary, StoredSession, Usage,
};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde_json::Value;

use crate::db::Db;
use crate::error::{Error, Result};

/// Characters of the first user message kept as a session's title.
const TITLE_CHARS: usize = 200;

/// What a session cost: the sum over priced messages, and how many model calls had no
/// known price. `unpriced > 0` means the total is a lower bound, never a made-up zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CostTotal {
    pub known: Cost,
    /// Messages with usage but no price (unknown models).
    pub unpriced: u64,
    /// Messages with usage (model calls).
    pub priced: u64,
}

impl CostTotal {
    /// The total when every call had a price; `None` when any did not.
    pub fn exact(&self) -> Option<Cost> {
        (self.unpriced == 0).then_some(self.known)
    }
}

/// A session as listed: who, where, when, how long, how much.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub project_path: String,
    pub created_at: String,
    pub updated_at: String,
    /// The start of the first user message.
    pub title: Option<String>,
    pub metadata: Value,
    pub message_count: u64,
    pub usage: Usage,
    pub cost: CostTotal,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Position in the session, from 1.
    pub seq: u64,
    pub created_at: String,
    pub record: MessageRecord,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn role_from(name: &str) -> Result<Role> {
    match name {
        "user" => Ok(Role::User),
        "assistant" => Ok(Role::Assistant),
        "tool" => Ok(Role::Tool),
        // The seed allows `system` rows; the conversation model keeps the system prompt
        // apart, so one is read back as a user message rather than dropped.
        "system" => Ok(Role::User),
        other => Err(Error::Corrupt(format!("unknown message role `{other}`"))),
    }
}

/// The start of a user message, as a session title.
fn title_of(record: &MessageRecord) -> Option<String> {
    (record.message.role == Role::User)
        .then(|| record.message.text())
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().chars().take(TITLE_CHARS).collect())
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: Option<i64>) -> u64 {
    n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

const INFO_SELECT: &str = "
SELECT s.id, s.project_path, s.created_at, s.updated_at, s.title, s.metadata,
       COUNT(m.id),
       SUM(m.tokens_input), SUM(m.tokens_output), SUM(m.tokens_cache_read), SUM(m.tokens_cache_write),
       SUM(m.cost_micro_usd),
       SUM(CASE WHEN m.tokens_used IS NOT NULL AND m.cost_micro_usd IS NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN m.cost_micro_usd IS NOT NULL THEN 1 ELSE 0 END)
FROM sessions s LEFT JOIN messages m ON m.session_id = s.id";

fn info_from_row(row: &Row<'_>) -> rusqlite::Result<SessionInfo> {
    let metadata: Option<String> = row.get(5)?;
    Ok(SessionInfo {
        id: row.get(0)?,
        project_path: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        title: row.get(4)?,
        metadata: metadata
            .and_then(|m| serde_json::from_str(&m).ok())
            .unwrap_or(Value::Null),
        message_count: to_u64(row.get(6)?),
        usage: Usage {
            input_tokens: to_u64(row.get(7)?),
            output_tokens: to_u64(row.get(8)?),
            cache_read_tokens: to_u64(row.get(9)?),
            cache_write_tokens: to_u64(row.get(10)?),
        },
        cost: CostTotal {
            known: Cost {
                micro_usd: to_u64(row.get(11)?),
            },
            unpriced: to_u64(row.get(12)?),
            priced: to_u64(row.get(13)?),
        },
    })
}

impl Db {
    /// Creates a session for a project (a no-op when it exists).
    pub fn create_session(
        &self,
        id: &SessionId,
        project_path: &str,
        metadata: &Value,
    ) -> Result<()> {
        let metadata = serde_json::to_string(metadata)?;
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO sessions (id, project_path, metadata) VALUES (?1, ?2, ?3)",
                params![id.0, project_path, metadata],
            )?;
            Ok(())
        })
    }

    /// Appends a message at the end of a session; returns its position (from 1). The
    /// session row is created if missing, with `project_path`.
    pub fn append_message(
        &self,
        id: &SessionId,
        project_path: &str,
        record: &MessageRecord,
    ) -> Result<u64> {
        let content = serde_json::to_string(&record.message.content)?;
        self.append_raw(id, project_path, record, &content, title_of(record))
    }

    fn append_raw(
        &self,
        id: &SessionId,
        project_path: &str,
        record: &MessageRecord,
        content: &str,
        title: Option<String>,
    ) -> Result<u64> {
        let role = role_name(record.message.role);
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO sessions (id, project_path) VALUES (?1, ?2)",
                params![id.0, project_path],
            )?;
            let seq: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE session_id = ?1",
                [&id.0],
                |r| r.get(0),
            )?;
            let usage = record.usage.as_ref();
            tx.execute(
                "INSERT INTO messages (id, session_id, seq, role, content, model_id, tokens_used,
                    tokens_input, tokens_output, tokens_cache_read, tokens_cache_write, cost_micro_usd)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    format!("{}:{seq}", id.0),
                    id.0,
                    seq,
                    role,
                    content,
                    record.model,
                    usage.map(|u| to_i64(u.total())),
                    usage.map(|u| to_i64(u.input_tokens)),
                    usage.map(|u| to_i64(u.output_tokens)),
                    usage.map(|u| to_i64(u.cache_read_tokens)),
                    usage.map(|u| to_i64(u.cache_write_tokens)),
                    record.cost.map(|c| to_i64(c.micro_usd)),
                ],
            )?;
            tx.execute(
                "UPDATE sessions SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                    title = COALESCE(title, ?2)
                 WHERE id = ?1",
                params![id.0, title],
            )?;
            Ok(u64::try_from(seq).unwrap_or(0))
        })
    }

    /// Every message of a session, in order.
    pub fn messages(&self, id: &SessionId) -> Result<Vec<StoredMessage>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, created_at, role, content, model_id, tokens_used, tokens_input,
                        tokens_output, tokens_cache_read, tokens_cache_write, cost_micro_usd
                 FROM messages WHERE session_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([&id.0], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Option<i64>>(5)?,
                    [
                        row.get::<_, Option<i64>>(6)?,
                        row.get::<_, Option<i64>>(7)?,
                        row.get::<_, Option<i64>>(8)?,
                        row.get::<_, Option<i64>>(9)?,
                    ],
                    row.get::<_, Option<i64>>(10)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, created_at, role, content, model, used, tokens, cost) = row?;
                let content: Vec<ContentBlock> = serde_json::from_str(&content)
                    .map_err(|e| Error::Corrupt(format!("message {seq} of session {id}: {e}")))?;
                let usage = used.map(|_| Usage {
                    input_tokens: to_u64(tokens[0]),
                    output_tokens: to_u64(tokens[1]),
                    cache_read_tokens: to_u64(tokens[2]),
                    cache_write_tokens: to_u64(tokens[3]),
                });
                out.push(StoredMessage {
                    seq: u64::try_from(seq).unwrap_or(0),
                    created_at,
                    record: MessageRecord {
                        message: Message {
                            role: role_from(&role)?,
                            content,
                        },
                        model,
                        usage,
                        cost: cost.map(|c| Cost {
                            micro_usd: u64::try_from(c).unwrap_or(0),
                        }),
                    },
                });
            }
            Ok(out)
        })
    }

    /// One session's summary, or `None`.
    pub fn session(&self, id: &SessionId) -> Result<Option<SessionInfo>> {
        self.read(|c| {
            let sql = format!("{INFO_SELECT} WHERE s.id = ?1 GROUP BY s.id");
            Ok(c.query_row(&sql, [&id.0], info_from_row).optional()?)
        })
    }

    /// Sessions, most recently active first; only `project`'s when given.
    pub fn sessions(&self, project: Option<&str>, limit: usize) -> Result<Vec<SessionInfo>> {
        self.read(|c| {
            let sql = format!(
                "{INFO_SELECT} WHERE (?1 IS NULL OR s.project_path = ?1)
                 GROUP BY s.id ORDER BY s.updated_at DESC, MAX(m.rowid) DESC, s.rowid DESC LIMIT ?2"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params![project, to_i64(limit as u64)], info_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The most recently active session of a project.
    pub fn latest_session(&self, project: &str) -> Result<Option<SessionInfo>> {
        Ok(self.sessions(Some(project), 1)?.into_iter().next())
    }

    /// The session whose id is `id_or_prefix`, or the only one starting with it.
    pub fn resolve_session(&self, id_or_prefix: &str) -> Result<SessionId> {
        let needle = id_or_prefix.trim();
        if needle.is_empty() {
            return Err(Error::SessionNotFound(id_or_prefix.to_owned()));
        }
        let matches: Vec<String> = self.read(|c| {
            let exact: Option<String> = c
                .query_row("SELECT id FROM sessions WHERE id = ?1", [needle], |r| r.get(0))
                .optional()?;
            if let Some(id) = exact {
                return Ok(vec![id]);
            }
            // `substr` rather than LIKE: ids may contain `%` or `_`.
            let mut stmt = c.prepare(
                "SELECT id FROM sessions WHERE substr(id, 1, length(?1)) = ?1 ORDER BY updated_at DESC LIMIT 10",
            )?;
            let rows = stmt.query_map([needle], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })?;
        match matches.len() {
            0 => Err(Error::SessionNotFound(needle.to_owned())),
            1 => Ok(SessionId(matches.into_iter().next().unwrap_or_default())),
            _ => Err(Error::AmbiguousSession {
                prefix: needle.to_owned(),
                matches,
            }),
        }
    }

    /// Deletes a session and its messages; returns whether it existed. The audit log
    /// keeps its entries (they are the record of what happened).
    pub fn delete_session(&self, id: &SessionId) -> Result<bool> {
        self.write(|tx: &Transaction<'_>| {
            Ok(tx.execute("DELETE FROM sessions WHERE id = ?1", [&id.0])? > 0)
        })
    }

    /// How many messages a session has (cheap; for tests and checks).
    pub fn message_count(&self, id: &SessionId) -> Result<u64> {
        self.read(|c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM messages WHERE session_id = ?1",
                [&id.0],
                |r| r.get(0),
            )?;
            Ok(to_u64(Some(n)))
        })
    }
}

use crate::Redact as Scrub;

/// Replaces each of `secrets` with `[REDACTED]`. Secrets shorter than 8 characters are
/// ignored (they would redact ordinary words).
pub fn scrub_secrets(secrets: Vec<String>) -> Scrub {
    let secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 8).collect();
    Arc::new(move |text: &str| {
        let mut out = Cow::Borrowed(text);
        for secret in &secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), "[REDACTED]"));
            }
        }
        out
    })
}

/// The [`SessionRepository`] port over the database: every message is committed the
/// moment the agent loop hands it over, on a blocking thread so the loop never waits on
/// the disk inside the async runtime.
#[derive(Clone)]
pub struct SqliteSessionRepository {
    db: Arc<Db>,
    project_path: String,
    scrub: Option<Scrub>,
}

impl SqliteSessionRepository {
    pub fn new(db: Arc<Db>, project_path: impl Into<String>) -> Self {
        Self {
            db,
            project_path: project_path.into(),
            scrub: None,
        }
    }

    /// Removes known secrets (the API keys in use) from messages before they are stored.
    pub fn with_scrub(mut self, scrub: Scrub) -> Self {
        self.scrub = Some(scrub);
        self
    }

    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }

    fn store(&self, session: &SessionId, record: &MessageRecord) -> Result<u64> {
        let content = serde_json::to_string(&record.message.content)?;
        let title = title_of(record);
        let (content, title) = match &self.scrub {
            Some(scrub) => (
                scrub(&content).into_owned(),
                title.map(|t| scrub(&t).into_owned()),
            ),
            None => (content, title),
        };
        self.db
            .append_raw(session, &self.project_path, record, &content, title)
    }
}

impl SqliteSessionRepository {
    /// Runs a database call on a blocking thread, so the async loop never waits on disk.
    fn blocking<'a, T: Send + 'static>(
        &'a self,
        call: impl FnOnce(&Self) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'a, Result<T, RepositoryError>> {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || call(&this))
                .await
                .map_err(|e| RepositoryError(format!("the storage thread failed: {e}")))?
                .map_err(|e| RepositoryError(e.to_string()))
        })
    }
}

/// A random id for a new session: 16 hex digits.
pub fn new_session_id() -> SessionId {
    SessionId(format!("{:016x}", rand::random::<u64>()))
}

impl SessionRepository for SqliteSessionRepository {
    fn append<'a>(
        &'a self,
        session: &'a SessionId,
        record: MessageRecord,
    ) -> BoxFuture<'a, Result<(), RepositoryError>> {
        let session = session.clone();
        self.blocking(move |this| this.store(&session, &record).map(|_| ()))
    }

    fn create<'a>(
        &'a self,
        meta: &'a SessionMeta,
    ) -> BoxFuture<'a, Result<SessionId, RepositoryError>> {
        let metadata = serde_json::json!({
            "provider": meta.provider,
            "model": meta.model,
            "cuervo": env!("CARGO_PKG_VERSION"),
        });
        self.blocking(move |this| {
            let id = new_session_id();
            this.db.create_session(&id, &this.project_path, &metadata)?;
            Ok(id)
        })
    }

    fn load<'a>(
        &'a self,
        session: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, RepositoryError>> {
        let id = session.clone();
        self.blocking(move |this| {
            let Some(info) = this.db.session(&id)? else {
                return Ok(None);
            };
            let messages = this
                .db
                .messages(&id)?
                .into_iter()
                .map(|m| m.record.message)
                .collect();
            Ok(Some(StoredSession {
                id,
                project_path: info.project_path,
                messages,
            }))
        })
    }

    fn list(&self, limit: usize) -> BoxFuture<'_, Result<Vec<SessionSummary>, RepositoryError>> {
        self.blocking(move |this| {
            Ok(this
                .db
                .sessions(Some(&this.project_path), limit)?
                .into_iter()
                .map(|info| SessionSummary {
                    id: SessionId(info.id),
                    title: info.title,
                    updated_at: info.updated_at,
                    message_count: info.message_count,
                })
                .collect())
        })
    }

    fn resolve<'a>(
        &'a self,
        id_or_prefix: &'a str,
    ) -> BoxFuture<'a, Result<SessionId, RepositoryError>> {
        let needle = id_or_prefix.to_owned();
        self.blocking(move |this| this.db.resolve_session(&needle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::ToolCall;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn sid(s: &str) -> SessionId {
        SessionId(s.into())
    }

    fn assistant(text: &str, cost: Option<u64>) -> MessageRecord {
        MessageRecord {
            message: Message::assistant_text(text),
            model: Some("m".into()),
            usage: Some(Usage {
                input_tokens: 100,
                output_tokens: 10,
                ..Usage::default()
            }),
            cost: cost.map(|micro_usd| Cost { micro_usd }),
        }
    }

    fn user(text: &str) -> MessageRecord {
        MessageRecord {
            message: Message::user(text),
            model: None,
            usage: None,
            cost: None,
        }
    }

    #[test]
    fn messages_round_trip_with_tokens_and_cost() {
        let db = Db::open_in_memory().unwrap();
        let s = sid("abc");
        db.create_session(&s, "/p", &json!({"model": "m"})).unwrap();
        let call = MessageRecord {
            message: Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse(ToolCall {
                    id: "c1".into(),
                    name: "read".into(),
                    input: json!({"path": "a"}),
                })],
            },
            ..assistant("", Some(7))
        };
        let records = vec![
            user("hello there"),
            call,
            MessageRecord {
                message: Message::tool_results(vec![cuervo_domain::ToolResult {
                    call_id: "c1".into(),
                    content: "x".into(),
                    is_error: false,
                }]),
                ..user("")
            },
            assistant("done", None),
        ];
        for (i, r) in records.iter().enumerate() {
            assert_eq!(db.append_message(&s, "/p", r).unwrap(), i as u64 + 1);
        }
        let back: Vec<MessageRecord> = db
            .messages(&s)
            .unwrap()
            .into_iter()
            .map(|m| m.record)
            .collect();
        assert_eq!(back, records);
        let info = db.session(&s).unwrap().unwrap();
        assert_eq!(info.message_count, 4);
        assert_eq!(info.title.as_deref(), Some("hello there"));
        assert_eq!(info.usage.input_tokens, 200);
        assert_eq!(
            info.cost,
            CostTotal {
                known: Cost { micro_usd: 7 },
                unpriced: 1,
                priced: 1
            }
        );
        assert_eq!(info.cost.exact(), None, "one call had no price");
        assert_eq!(info.metadata, json!({"model": "m"}));
    }

    #[test]
    fn latest_and_prefixes() {
        let db = Db::open_in_memory().unwrap();
        for id in ["aa11", "aa22", "bb33"] {
            db.append_message(&sid(id), "/p", &user(id)).unwrap();
        }
        db.append_message(&sid("cc44"), "/other", &user("x"))
            .unwrap();
        assert_eq!(db.latest_session("/p").unwrap().unwrap().id, "bb33");
        db.append_message(&sid("aa11"), "/p", &user("again"))
            .unwrap();
        assert_eq!(db.latest_session("/p").unwrap().unwrap().id, "aa11");
        assert_eq!(db.resolve_session("bb").unwrap(), sid("bb33"));
        assert_eq!(db.resolve_session("aa22").unwrap(), sid("aa22"));
        assert!(matches!(
            db.resolve_session("aa"),
            Err(Error::AmbiguousSession { .. })
        ));
        assert!(matches!(
            db.resolve_session("zz"),
            Err(Error::SessionNotFound(_))
        ));
        assert_eq!(db.sessions(Some("/p"), 10).unwrap().len(), 3);
        assert_eq!(db.sessions(None, 10).unwrap().len(), 4);
        assert!(db.delete_session(&sid("aa11")).unwrap());
        assert!(!db.delete_session(&sid("aa11")).unwrap());
        assert_eq!(
            db.message_count(&sid("aa11")).unwrap(),
            0,
            "messages cascade"
        );
    }

    #[test]
    fn scrub_replaces_known_secrets_only() {
        let scrub = scrub_secrets(vec!["sk-secret-123456".into(), "short".into()]);
        assert_eq!(scrub("key=sk-secret-123456!"), "key=[REDACTED]!");
        assert_eq!(scrub("a short word"), "a short word");
        assert!(matches!(scrub("clean"), Cow::Borrowed(_)));
    }

    #[tokio::test]
    async fn the_repository_port_stores_scrubbed_messages() {
        let db = Arc::new(Db::open_in_memory().unwrap());
        let repo = SqliteSessionRepository::new(db.clone(), "/p")
            .with_scrub(scrub_secrets(vec!["sk-live-0123456789".into()]));
        repo.append(&sid("s"), user("my key is sk-live-0123456789"))
            .await
            .unwrap();
        let back = db.messages(&sid("s")).unwrap();
        assert_eq!(back[0].record.message.text(), "my key is [REDACTED]");
    }
}
