//! The session aggregate: one conversation and what it has cost so far.

use serde::{Deserialize, Serialize};

use crate::message::{Message, Role, ToolResult};
use crate::model::Usage;
use crate::provider::BoxFuture;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionId(pub String);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A conversation. Ids come from the caller (the domain has no clock or randomness).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub messages: Vec<Message>,
    pub usage: Usage,
}

impl Session {
    pub fn new(id: SessionId) -> Self {
        Self {
            id,
            messages: Vec::new(),
            usage: Usage::default(),
        }
    }

    pub fn push(&mut self, message: Message) {
        self.messages.push(message);
    }

    /// The text of the last assistant message: a headless run's result.
    pub fn last_assistant_text(&self) -> Option<String> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant)
            .map(Message::text)
    }
}

/// One message as it is stored: the message plus what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub message: Message,
    /// The model that wrote it (assistant messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Tokens of the model call that produced it (assistant messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What that call cost; `None` when the price is unknown (never a made-up zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::model::Cost>,
}

/// Why a session could not be stored or loaded. The text is for the user: it says what
/// happened and, where it can, what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RepositoryError(pub String);

/// What a new session is started with: the model it begins on (later messages record
/// their own model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    pub provider: String,
    pub model: String,
}

/// A stored session read back: where it was held and what was said.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    pub id: SessionId,
    /// The project the session was started in (a resume elsewhere says so).
    pub project_path: String,
    pub messages: Vec<Message>,
}

/// A session as a picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub id: SessionId,
    /// The start of the first user message.
    pub title: Option<String>,
    pub updated_at: String,
    pub message_count: u64,
}

/// Where conversations are kept as they happen, so a crash loses nothing already said.
///
/// The agent loop appends every message the moment it joins the session: the user's
/// before the provider is called, each answer and tool result as it completes. The
/// session service creates, finds and loads sessions through the same port, so no front
/// end touches the store directly. A repository is bound to one project: `latest` and
/// `list` answer for it, while `resolve` and `load` find any session by id.
pub trait SessionRepository: Send + Sync {
    fn append<'a>(
        &'a self,
        session: &'a SessionId,
        record: MessageRecord,
    ) -> BoxFuture<'a, Result<(), RepositoryError>>;

    /// Creates an empty session in this repository's project and returns its new id.
    fn create<'a>(
        &'a self,
        meta: &'a SessionMeta,
    ) -> BoxFuture<'a, Result<SessionId, RepositoryError>>;

    /// The session's messages in order, or `None` when there is no such session.
    fn load<'a>(
        &'a self,
        session: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, RepositoryError>>;

    /// This project's sessions, most recently active first.
    fn list(&self, limit: usize) -> BoxFuture<'_, Result<Vec<SessionSummary>, RepositoryError>>;

    /// The session whose id is `id_or_prefix`, or the only one whose id starts with it;
    /// an error names the candidates when the prefix is ambiguous.
    fn resolve<'a>(
        &'a self,
        id_or_prefix: &'a str,
    ) -> BoxFuture<'a, Result<SessionId, RepositoryError>>;

    /// This project's most recently active session.
    fn latest(&self) -> BoxFuture<'_, Result<Option<SessionId>, RepositoryError>> {
        Box::pin(async move { Ok(self.list(1).await?.into_iter().next().map(|s| s.id)) })
    }
}

/// What answers the tool calls a stored conversation left open: a run that died between
/// a tool call and its result leaves the call unanswered, and every provider refuses a
/// conversation like that. `None` when the last message needs no answer.
pub fn repair_unanswered(messages: &[Message]) -> Option<Message> {
    let last = messages.last().filter(|m| m.role == Role::Assistant)?;
    let results: Vec<ToolResult> = last
        .tool_calls()
        .map(|call| ToolResult {
            call_id: call.id.clone(),
            content: "not run: cuervo stopped before this tool call ran".into(),
            is_error: true,
        })
        .collect();
    (!results.is_empty()).then(|| Message::tool_results(results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ContentBlock, ToolCall};

    #[test]
    fn a_trailing_unanswered_call_gets_an_error_result() {
        let call = Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse(ToolCall {
                id: "c1".into(),
                name: "bash".into(),
                input: serde_json::json!({"command": "make"}),
            })],
        };
        let answer = repair_unanswered(&[Message::user("hi"), call.clone()]).expect("repaired");
        let results: Vec<_> = answer.tool_results_iter().collect();
        assert_eq!(results.len(), 1);
        assert!(results[0].is_error);
        assert!(crate::message::check_tool_pairing(&[call, answer]).is_ok());
        assert!(repair_unanswered(&[Message::user("hi")]).is_none());
    }
}
