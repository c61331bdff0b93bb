//! The session aggregate: one conversation and what it has cost so far.

use serde::{Deserialize, Serialize};

use crate::message::Message;
use crate::model::Usage;

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
            .find(|m| m.role == crate::message::Role::Assistant)
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

/// Why a session could not be stored or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session storage: {0}")]
pub struct RepositoryError(pub String);

/// Where conversations are kept as they happen, so a crash loses nothing already said.
/// The agent loop appends every message the moment it joins the session: the user's
/// before the provider is called, each answer and tool result as it completes.
pub trait SessionRepository: Send + Sync {
    fn append<'a>(
        &'a self,
        session: &'a SessionId,
        record: MessageRecord,
    ) -> crate::provider::BoxFuture<'a, Result<(), RepositoryError>>;
}
