//! The tool port, and the approval port a front end implements to answer prompts.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ToolError;
use crate::permission::PermissionLevel;
use crate::provider::BoxFuture;

/// Where and within which limits tools run. Built once per run by the composition root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolContext {
    /// The canonical project root. Relative paths resolve against it; anything that
    /// resolves outside it needs explicit permission.
    pub root: PathBuf,
    /// Default and maximum time a shell command may run.
    pub command_timeout: Duration,
    /// The most bytes of output a tool returns to the model; the rest is elided.
    pub output_limit: usize,
}

impl ToolContext {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            command_timeout: Duration::from_secs(120),
            output_limit: 30_000,
        }
    }
}

/// What a validated call is about to do: the input to the permission rules and to the
/// approval prompt.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ToolAction {
    /// What rules match against: a path relative to the root (absolute when outside it),
    /// or the shell command. `None` for tools with no single target.
    pub target: Option<String>,
    /// The call touches something outside the project root.
    pub outside_root: bool,
    /// One line a person can read: `edit src/main.rs`, `bash: cargo test`.
    pub summary: String,
    /// What will change, shown before approval (a diff, the full command).
    pub preview: Option<String>,
}

/// A side effect a tool reports so the loop can raise the matching domain event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    FileModified {
        path: String,
        diff: String,
    },
    CommandExecuted {
        command: String,
        exit_code: Option<i32>,
        timed_out: bool,
    },
}

/// A successful tool run: the text for the model and the side effects for the record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ToolOutput {
    pub content: String,
    /// The tool ran but the outcome is a failure the model should see as such (a shell
    /// command exiting non-zero).
    pub is_error: bool,
    pub effects: Vec<Effect>,
}

impl ToolOutput {
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            ..Self::default()
        }
    }
}

/// A capability the model can call. Implementations live in the `tools` crate (and in
/// MCP clients); the agent loop only sees this trait.
pub trait Tool: Send + Sync {
    fn name(&self) -> &str;
    fn description(&self) -> &str;
    fn permission(&self) -> PermissionLevel;
    /// JSON Schema of the input object.
    fn input_schema(&self) -> Value;

    /// Checks the input and says what the call would do, without doing it.
    fn validate(&self, input: &Value, ctx: &ToolContext) -> Result<ToolAction, ToolError>;

    /// Whether a person must approve this call in `ask` mode. Read-only tools never do.
    fn requires_confirmation(&self, input: &Value) -> bool {
        let _ = input;
        self.permission() != PermissionLevel::ReadOnly
    }

    /// Does the work. Dropping the future cancels it and must leave nothing running.
    fn execute<'a>(
        &'a self,
        input: Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// What the agent loop asks a person before a tool runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub call_id: String,
    pub tool: String,
    pub action: ToolAction,
    pub reason: String,
}

/// A person's answer to an [`ApprovalRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Approval {
    AllowOnce,
    /// Allow, and add this rule (e.g. `bash(cargo test:*)`) for the rest of the session.
    AllowAlways {
        rule: String,
    },
    Deny,
    /// Deny and tell the model why or what to do instead.
    DenyWithFeedback {
        feedback: String,
    },
}

/// Answers approval requests: an interactive prompt, or a headless policy that refuses.
pub trait Approver: Send + Sync {
    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, Approval>;
}
