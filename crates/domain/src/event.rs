//! What happens during a run, as a stream of events.
//!
//! Front ends render these (the REPL), print them (`--output-format stream-json`, where
//! this enum's serde form *is* the documented schema), or record them (the audit log).
//! The seed's domain events (AgentStarted/Completed/Failed, ModelInvoked/Fallback/Error,
//! ToolExecuted/FileModified/BashExecuted) are variants here.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::message::ToolCall;
use crate::model::{Cost, StopReason, Usage};
use crate::permission::Decision;
use crate::tool::TodoItem;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// The model answered without asking for more tools.
    Completed,
    /// `max_turns` model calls were made and the model still wanted tools.
    MaxTurns,
    /// The run's token budget is spent.
    TokenBudget,
    /// The user cancelled.
    Cancelled,
}

/// One event of a run. Serialised with a `type` tag in snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    AgentStarted {
        session_id: String,
        provider: String,
        model: String,
    },
    /// A request is being sent to the model (`turn` counts from 1).
    ModelInvoked {
        turn: u32,
        provider: String,
        model: String,
    },
    /// A model call failed in a way that may pass; it is sent again after `delay_ms`.
    /// `attempt` counts the retries of this call from 1, up to `max_retries`.
    ModelRetry {
        provider: String,
        model: String,
        attempt: u32,
        max_retries: u32,
        delay_ms: u64,
        reason: String,
    },
    /// A model call has sent nothing back for `waited_ms`; it is still waited for (until
    /// the provider's request timeout, then retried).
    ModelWaiting {
        provider: String,
        model: String,
        waited_ms: u64,
    },
    /// The turn goes on with another model because `from` failed or is unavailable
    /// (`provider/model` each). `note` warns when the new model is weaker.
    ModelFallback {
        from: String,
        to: String,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A model call that did not finish (cut, failed or interrupted) had already used
    /// tokens, which the provider bills: they count in usage and cost like any call's.
    CallUnfinished {
        provider: String,
        model: String,
        usage: Usage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost: Option<Cost>,
    },
    ModelError {
        error: ModelError,
    },
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    /// The model started a tool call; its arguments are still streaming.
    ToolCallStarted {
        id: String,
        name: String,
    },
    /// The model's complete tool call.
    ToolCall {
        call: ToolCall,
    },
    /// The permission verdict for a call (after any prompt).
    PermissionDecided {
        call_id: String,
        tool: String,
        decision: Decision,
    },
    ToolExecuted {
        call_id: String,
        tool: String,
        is_error: bool,
        content: String,
        duration_ms: u64,
    },
    FileModified {
        call_id: String,
        path: String,
        diff: String,
    },
    BashExecuted {
        call_id: String,
        command: String,
        exit_code: Option<i32>,
        timed_out: bool,
    },
    /// One model call finished.
    TurnCompleted {
        turn: u32,
        stop_reason: StopReason,
        usage: Usage,
        /// What this call cost at its model's rates; absent when the price is unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost: Option<Cost>,
    },
    AgentCompleted {
        cause: StopCause,
        turns: u32,
        usage: Usage,
        result: String,
    },
    AgentFailed {
        error: String,
    },
    /// The model's task list changed (a `todo` call): the whole list as it stands.
    TodoUpdated {
        items: Vec<TodoItem>,
    },
    /// The plan was approved: plan mode ends and the agent goes on in `mode` (after an
    /// `exit_plan_mode` call the user accepted).
    PlanApproved {
        plan: String,
        mode: crate::permission::PermissionMode,
    },
    /// An event of a sub-agent the run delegated to (`task` tool call `call_id`): its own
    /// `agent_started`, deltas, tool calls, completions, each wrapped with which agent it
    /// is. `id` is unique within the session.
    SubAgent {
        id: String,
        agent: String,
        call_id: String,
        event: Box<AgentEvent>,
    },
}

/// Where an agent stands (the seed's statuses), as front ends derive it from its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Idle,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl AgentStatus {
    /// The status an agent is in after `event`, when the event changes it.
    pub fn after(event: &AgentEvent) -> Option<AgentStatus> {
        match event {
            AgentEvent::AgentStarted { .. } => Some(AgentStatus::Running),
            AgentEvent::AgentCompleted {
                cause: StopCause::Cancelled,
                ..
            } => Some(AgentStatus::Cancelled),
            AgentEvent::AgentCompleted { .. } => Some(AgentStatus::Completed),
            AgentEvent::AgentFailed { .. } => Some(AgentStatus::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Idle => "idle",
            AgentStatus::Running => "running",
            AgentStatus::Completed => "completed",
            AgentStatus::Failed => "failed",
            AgentStatus::Cancelled => "cancelled",
        }
    }
}

impl AgentEvent {
    /// The event itself, or for a sub-agent's event the innermost one: what it is,
    /// whichever agent raised it (pricing and recording look through the wrapper).
    pub fn innermost(&self) -> &AgentEvent {
        match self {
            AgentEvent::SubAgent { event, .. } => event.innermost(),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_is_tagged_snake_case() {
        let e = AgentEvent::TextDelta { text: "hi".into() };
        assert_eq!(
            serde_json::to_value(&e).ok(),
            Some(json!({"type": "text_delta", "text": "hi"}))
        );
        let e = AgentEvent::PermissionDecided {
            call_id: "c1".into(),
            tool: "bash".into(),
            decision: Decision::Deny("no".into()),
        };
        assert_eq!(
            serde_json::to_value(&e).ok(),
            Some(
                json!({"type": "permission_decided", "call_id": "c1", "tool": "bash",
                        "decision": {"decision": "deny", "reason": "no"}})
            )
        );
    }
}
