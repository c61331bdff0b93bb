//! The session service: one conversation that every front end drives the same way.
//!
//! In the spirit of codex-rs's submission and event queues, a [`Conversation`] runs as a
//! task of its own. A front end sends it [`Op`]s (a prompt, an interrupt, an answer to a
//! permission question, a compaction, a model switch…) and renders the
//! [`ConversationEvent`]s that come back, in the order things happened. Session lifecycle
//! (create, load, resume a prefix, repair a tool call left unanswered) goes through the
//! [`SessionRepository`] port; model names go through the [`ModelResolver`] port; every
//! model call is priced once, as it completes, and summed in a [`Spend`]. So headless mode,
//! the line-based mode and the terminal UI are renderers of the same service, and a test
//! (or a proxy, or an MCP server mode) can drive it with no terminal at all.

mod approvals;
mod service;

use std::sync::Arc;

use cuervo_domain::{
    AgentEvent, Approval, ApprovalRequest, Approver, Message, ModelError, ModelResolver,
    PermissionMode, PermissionPolicy, Redact, RepositoryError, ResolvedModel, SessionId,
    SessionRepository, Spend, ToolContext, ToolSpec,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::agent::{AgentConfig, RunOutcome};
use crate::error::AgentError;
use crate::registry::ToolRegistry;
use crate::resilience::Resilience;

/// What a front end asks of the conversation.
#[derive(Debug)]
pub enum Op {
    /// A prompt (text, mentioned files, images). Runs one turn to completion.
    UserInput {
        message: Message,
    },
    /// Stops the running turn or compaction; open permission questions are answered "no".
    Interrupt,
    /// The user's answer to [`ConversationEvent::ApprovalRequested`] with this `id`.
    Approval {
        id: u64,
        approval: Approval,
    },
    /// Replaces the conversation with a summary, in a new session that continues from it.
    Compact {
        focus: Option<String>,
    },
    /// Goes on with another model (a name as the user types it).
    SwitchModel {
        model: String,
    },
    SetPermissionMode {
        mode: PermissionMode,
    },
    /// Starts a new, empty session; the previous one stays stored.
    Clear,
    /// Continues a stored session (an id or a unique prefix).
    Resume {
        session: String,
    },
    /// Asks for a [`ConversationEvent::Described`] snapshot (for `/context`, `/cost`,
    /// `/permissions`); refused while a task runs, since the task holds the session.
    Describe,
    /// Stops what runs, waits for it, and ends with [`ConversationEvent::Closed`].
    Shutdown,
}

/// The conversation as it stands between turns.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub session: SessionId,
    pub messages: Vec<Message>,
    pub provider: String,
    pub model: String,
    pub system_prompt: Option<String>,
    /// The tool definitions sent with every request.
    pub tools: Vec<ToolSpec>,
    /// The permission policy, with the rules granted so far ("allow always").
    pub policy: PermissionPolicy,
    pub spend: Spend,
}

/// What the conversation tells its front end, in order.
#[derive(Debug)]
pub enum ConversationEvent {
    /// An event of the running turn (deltas, tool calls, results, completions).
    Agent(AgentEvent),
    /// A tool call needs the user's permission: answer with [`Op::Approval`]. While the
    /// question is open the turn waits; an interrupt answers it "no".
    ApprovalRequested {
        id: u64,
        request: ApprovalRequest,
    },
    /// What this conversation has used and cost so far, after each priced call.
    Spent {
        spend: Spend,
    },
    /// A user turn ended. On an error the user's message and every complete step before
    /// it are kept: another prompt retries.
    TurnEnded {
        result: Result<RunOutcome, AgentError>,
    },
    /// The conversation was compacted into `session`, which continues from `summary`
    /// (and, when `automatic`, the most recent turn, kept whole).
    Compacted {
        summary: String,
        replaced: usize,
        previous: SessionId,
        session: SessionId,
        /// The context was nearly full and a prompt was waiting: compacted before it ran.
        automatic: bool,
    },
    /// Compaction failed or was interrupted; the conversation is unchanged.
    CompactFailed {
        error: ModelError,
    },
    /// A new, empty session replaced the conversation (`Op::Clear`).
    Cleared {
        session: SessionId,
    },
    /// A stored session replaced the conversation (`Op::Resume`).
    Resumed {
        session: SessionId,
        messages: Vec<Message>,
        /// Said for the user: a session from another project, a repaired tool call.
        notes: Vec<String>,
    },
    /// The conversation goes on with this model.
    ModelSwitched {
        provider: String,
        model: String,
        context_window: u64,
    },
    /// The model's real context window, learned from the provider after a start or a
    /// switch (a local server knows its model's length; the static table answers first).
    ContextWindow {
        model: String,
        window: u64,
    },
    PermissionModeChanged {
        mode: PermissionMode,
    },
    /// The answer to [`Op::Describe`].
    Described(Box<Snapshot>),
    /// An operation could not be done; the conversation is unchanged. `reason` says why
    /// and what to do.
    Rejected {
        op: &'static str,
        reason: String,
    },
    /// The conversation ended (after [`Op::Shutdown`], or when every sender is gone).
    Closed {
        session: SessionId,
        spend: Spend,
    },
}

/// Which session the conversation starts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStart {
    New,
    /// The project's most recent session; a new one when there is none.
    Continue,
    /// A stored session by id or unique prefix (any project).
    Resume(String),
}

/// Who answers permission questions.
#[derive(Clone)]
pub enum Approvals {
    /// The front end, through [`ConversationEvent::ApprovalRequested`] and [`Op::Approval`].
    Ask,
    /// A fixed approver (headless runs refuse with advice for the model).
    With(Arc<dyn Approver>),
}

/// Sees every agent event of the conversation with its session, in order (the audit log).
pub trait EventObserver: Send + Sync {
    fn observe(&self, session: &SessionId, event: &AgentEvent);
}

/// Everything a conversation is built from: ports and settings, no adapters.
pub struct ConversationSetup {
    /// The model it starts with, already resolved (so a bad name fails before any I/O).
    pub model: ResolvedModel,
    /// Resolves names for [`Op::SwitchModel`].
    pub models: Arc<dyn ModelResolver>,
    pub repository: Arc<dyn SessionRepository>,
    pub tools: ToolRegistry,
    pub tool_ctx: ToolContext,
    pub policy: PermissionPolicy,
    /// Limits and prompt; `model` and `thinking_budget` come from the resolved model.
    pub config: AgentConfig,
    pub redaction: Option<Redact>,
    pub approvals: Approvals,
    pub observer: Option<Arc<dyn EventObserver>>,
    pub start: SessionStart,
    /// Breakers, retry policy and router shared by every agent of the process
    /// ([`Resilience::standalone`] for a lone conversation).
    pub resilience: Arc<Resilience>,
    /// The sub-agents the conversation's agent may delegate to (`None`: no `task` tool).
    pub delegation: Option<crate::delegate::Delegation>,
    /// Compact before a prompt when the last request filled this fraction of the model's
    /// window (0.8 is the default), keeping the latest turn whole; `None` never does.
    pub compact_at: Option<f64>,
    /// The instruction files deeper in the project (see [`crate::instructions`]).
    pub instructions: Option<Arc<dyn crate::instructions::InstructionFiles>>,
    /// The repository map and its token budget (see [`crate::context`]).
    pub repo_map: Option<(Arc<dyn crate::context::RepoMapSource>, usize)>,
    /// The code index and how many of its results each user turn's context gets (see
    /// [`crate::context`]); `None` or 0: none.
    pub code_context: Option<(Arc<dyn cuervo_domain::CodeSearch>, usize)>,
}

/// How the conversation started.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub session: SessionId,
    /// The messages of a resumed session (empty for a new one).
    pub messages: Vec<Message>,
    pub resumed: bool,
    /// Said for the user: no earlier session to continue, a session from another
    /// project, a repaired tool call.
    pub notes: Vec<String>,
    pub provider: String,
    pub model: String,
    /// The static table's answer; a [`ConversationEvent::ContextWindow`] may follow.
    pub context_window: u64,
}

/// Why a conversation could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Sends operations to a running conversation; cheap to clone (a task that answers
/// approvals can hold one).
#[derive(Debug, Clone)]
pub struct OpSender(mpsc::UnboundedSender<Op>);

impl OpSender {
    /// Queues `op`; `false` when the conversation has ended.
    pub fn submit(&self, op: Op) -> bool {
        self.0.send(op).is_ok()
    }
}

/// A running conversation: submit [`Op`]s, read [`ConversationEvent`]s.
pub struct Conversation {
    ops: OpSender,
    events: mpsc::UnboundedReceiver<ConversationEvent>,
    task: JoinHandle<()>,
}

impl Conversation {
    /// Opens (or creates) the session and starts the service. Must be called inside a
    /// tokio runtime.
    pub async fn start(setup: ConversationSetup) -> Result<(Self, Started), ConversationError> {
        let (ops_tx, ops_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (service, started) = service::Service::open(setup, events_tx).await?;
        let task = tokio::spawn(service.run(ops_rx));
        Ok((
            Self {
                ops: OpSender(ops_tx),
                events: events_rx,
                task,
            },
            started,
        ))
    }

    pub fn submit(&self, op: Op) -> bool {
        self.ops.submit(op)
    }

    /// A sender for other tasks.
    pub fn sender(&self) -> OpSender {
        self.ops.clone()
    }

    /// The next event; `None` once the conversation has closed and every event was read.
    pub async fn next_event(&mut self) -> Option<ConversationEvent> {
        self.events.recv().await
    }

    /// An event already waiting, without waiting for one.
    pub fn try_next_event(&mut self) -> Option<ConversationEvent> {
        self.events.try_recv().ok()
    }

    /// Shuts the conversation down and returns its final session and spend, dropping any
    /// event not read yet.
    pub async fn shutdown(mut self) -> Option<(SessionId, Spend)> {
        self.ops.submit(Op::Shutdown);
        let mut closed = None;
        while let Some(event) = self.events.recv().await {
            if let ConversationEvent::Closed { session, spend } = event {
                closed = Some((session, spend));
            }
        }
        let _ = self.task.await;
        closed
    }
}
