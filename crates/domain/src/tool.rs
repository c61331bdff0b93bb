//! The tool port, and the approval port a front end implements to answer prompts.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ToolError;
use crate::permission::PermissionLevel;
use crate::provider::BoxFuture;
use crate::shell::ShellAnalysis;

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
    /// How shell commands are contained.
    pub sandbox: SandboxSpec,
    /// Environment variables passed to shell commands even though their names look like
    /// secrets (`*_TOKEN`, `*_API_KEY`...), which are otherwise removed.
    pub env_passthrough: Vec<String>,
}

impl ToolContext {
    /// A context with the default limits and **no sandbox** (commands run as the user,
    /// with write access everywhere): what tests want. The composition root sets the
    /// real [`SandboxSpec`].
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            command_timeout: Duration::from_secs(120),
            output_limit: 30_000,
            sandbox: SandboxSpec::off(),
            env_passthrough: Vec::new(),
        }
    }
}

/// What shell commands may change. The `tools` crate enforces it with an OS sandbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    /// No sandbox: commands can do whatever the user can.
    Off,
    /// Everything is readable; only the project root and the temporary directories are
    /// writable, and `.git`, `.cuervo` and `.claude` in the root stay read-only.
    #[default]
    WorkspaceWrite,
    /// Everything is readable, nothing is writable (but `/dev/null` and the like).
    ReadOnly,
}

impl SandboxMode {
    pub const ALL: [SandboxMode; 3] = [Self::Off, Self::WorkspaceWrite, Self::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::WorkspaceWrite => "workspace-write",
            Self::ReadOnly => "read-only",
        }
    }
}

impl fmt::Display for SandboxMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SandboxMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown sandbox mode `{s}`; expected one of: off, workspace-write, read-only"
                )
            })
    }
}

/// Which mechanism contains shell commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxBackend {
    /// Bubblewrap when `bwrap` is installed and works here, else Landlock and seccomp.
    #[default]
    Auto,
    /// Namespaces and bind mounts through `bwrap`.
    Bubblewrap,
    /// The kernel's Landlock LSM for files and seccomp for the network.
    Landlock,
}

impl SandboxBackend {
    pub const ALL: [SandboxBackend; 3] = [Self::Auto, Self::Bubblewrap, Self::Landlock];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Bubblewrap => "bubblewrap",
            Self::Landlock => "landlock",
        }
    }
}

impl fmt::Display for SandboxBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SandboxBackend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown sandbox backend `{s}`; expected one of: auto, bubblewrap, landlock"
                )
            })
    }
}

/// How to start the sandbox helper: a program and the arguments that come before the
/// helper's own, e.g. the `cuervo` executable and `__sandbox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLauncher {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// The sandbox policy for shell commands, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSpec {
    pub mode: SandboxMode,
    /// Let commands reach the network (off by default: only Unix sockets work).
    pub network: bool,
    pub backend: SandboxBackend,
    /// How to start the helper that applies the sandbox. `None` with a mode other than
    /// `off` makes every command fail rather than run unconfined.
    pub launcher: Option<SandboxLauncher>,
}

impl SandboxSpec {
    /// No sandbox.
    pub fn off() -> Self {
        Self {
            mode: SandboxMode::Off,
            network: true,
            backend: SandboxBackend::Auto,
            launcher: None,
        }
    }

    /// Whether commands run confined.
    pub fn is_on(&self) -> bool {
        self.mode != SandboxMode::Off
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
    /// The call writes into a protected path (`.git/`, `.cuervo/`, `.claude/`,
    /// `.mcp.json`, the instruction files), named here relative to the root. Such writes
    /// change what runs or what the agent may do next time, so they always ask, whatever
    /// the mode; only an allow rule that names the path explicitly lets them through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<String>,
    /// For shell commands: what the command line runs and writes, parsed. Bash rules
    /// are judged on this; without it only a command of plain words is understood
    /// ([`ShellAnalysis::plain`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<ShellAnalysis>,
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
    /// The model's task list, as it stands after a `todo` call.
    TodoUpdated {
        items: Vec<TodoItem>,
    },
}

/// One item of the model's task list (the `todo` tool): what to do and how far it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoItem {
    pub content: String,
    pub status: TodoStatus,
}

/// Where a task-list item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TodoStatus {
    Pending,
    InProgress,
    Done,
}

impl TodoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TodoStatus::Pending => "pending",
            TodoStatus::InProgress => "in_progress",
            TodoStatus::Done => "done",
        }
    }
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
    /// The sub-agent that asks (`explorer`), so the person knows who wants it; `None`
    /// for the main agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
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
