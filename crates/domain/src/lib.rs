//! Cuervo's domain: the vocabulary every other crate speaks.
//!
//! This crate holds plain data (messages, requests, stream chunks, sessions), the
//! **ports** adapters implement (`ModelProvider`, `ModelResolver`, `Tool`, `Approver`,
//! `SessionRepository`), and pure rules
//! (permission checking, glob matching, token budgets). It performs no I/O: no files,
//! no clock, no network, no environment. That keeps it fast to compile, trivially
//! testable, and the one place where a change of policy happens.

pub mod cache;
pub mod calendar;
pub mod code_search;
pub mod error;
pub mod event;
pub mod glob;
pub mod message;
pub mod model;
pub mod permission;
pub mod provider;
pub mod resilience;
pub mod session;
pub mod shell;
pub mod tool;

pub use cache::{CacheError, CacheScope, CachedResponse, ResponseCache};
pub use code_search::{CodeHit, CodeQuery, CodeSearch, CodeSearchError, CodeSearchResults};
pub use error::{ModelError, ModelErrorKind, ToolError};
pub use event::{AgentEvent, AgentStatus, StopCause};
pub use message::{
    ContentBlock, EncryptedReasoning, Message, Role, ToolCall, ToolResult, check_tool_pairing,
};
pub use model::{
    Capabilities, Cost, ModelChunk, ModelRequest, Spend, StopReason, TokenBudget, ToolSpec, Usage,
};
pub use permission::{
    Decision, PermissionLevel, PermissionMode, PermissionPolicy, PermissionRule, RuleParseError,
    UnknownToolError, suggest_rule,
};
pub use provider::{BoxFuture, ChunkStream, ModelProvider, ModelResolver, ResolvedModel};
pub use resilience::RetryPolicy;
pub use session::{
    MessageRecord, RepositoryError, Session, SessionId, SessionMeta, SessionRepository,
    SessionSummary, StoredSession, repair_unanswered,
};
pub use shell::{ShellAnalysis, SimpleCommand, WriteRedirect};
/// A text filter applied before text is kept or sent: redaction of secrets and personal
/// data. Borrowed output means "unchanged". Defined here so the agent loop (core) and the
/// store take the same function without depending on each other.
pub type Redact =
    std::sync::Arc<dyn for<'a> Fn(&'a str) -> std::borrow::Cow<'a, str> + Send + Sync>;

pub use tool::{
    Approval, ApprovalRequest, Approver, Effect, TodoItem, TodoStatus, Tool, ToolAction,
    ToolContext, ToolOutput,
};
