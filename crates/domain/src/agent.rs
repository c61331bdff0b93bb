//! Agents and the tasks they run.

use serde::{Deserialize, Serialize};

/// The seed's agent roles. Each gets its own tool set and system prompt.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentType {
    /// Reads and searches only.
    Explorer,
    /// Reads, then proposes a plan; changes nothing.
    Planner,
    /// Reads, edits and runs commands.
    Executor,
    /// Reads changes and comments on them.
    Reviewer,
    Custom(String),
}

/// Where an agent's run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Idle,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl AgentStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskId(pub String);

/// One piece of work given to an agent: a prompt and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub agent: AgentType,
    pub prompt: String,
    pub status: AgentStatus,
}
