//! Cuervo's application layer.
//!
//! The agent loop lives here: it sends the conversation to a [`ModelProvider`], streams
//! the answer out as [`AgentEvent`]s, runs the tool calls the model asks for under the
//! [`PermissionPolicy`], feeds the results back, and repeats until the model is done.
//! Everything arrives through ports (`Arc<dyn ...>`), so this crate never knows which
//! provider, tools or front end it is talking to, and never prints.
//!
//! [`ModelProvider`]: cuervo_domain::ModelProvider
//! [`AgentEvent`]: cuervo_domain::AgentEvent
//! [`PermissionPolicy`]: cuervo_domain::PermissionPolicy
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod agent;
pub mod agents;
pub mod approval;
pub mod cache;
pub mod compact;
pub mod context;
pub mod conversation;
pub mod delegate;
pub mod error;
pub mod instructions;
pub mod plan;
pub mod prompt;
pub mod registry;
pub mod resilience;
mod turn;

pub use agent::{Agent, AgentConfig, EventSink, RunOutcome};
pub use approval::HeadlessApprover;
pub use compact::{Compaction, compacted_messages};
pub use conversation::{
    Approvals, Conversation, ConversationError, ConversationEvent, ConversationSetup,
    EventObserver, Op, OpSender, SessionStart, Snapshot, Started,
};
pub use error::{AgentError, Result};
pub use prompt::{SystemPromptInputs, build_system_prompt};
pub use registry::ToolRegistry;
pub use resilience::{Resilience, Role as AgentRole, Router};
pub use tokio_util::sync::CancellationToken;
