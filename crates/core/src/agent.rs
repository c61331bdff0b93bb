//! The agent loop: stream a turn, run the tools it asks for, feed the results back, repeat.
//!
//! Invariants the loop keeps, whatever happens:
//! - the user's message is in the session before the provider is called;
//! - every tool call in the session is answered by exactly one result in the next message
//!   (cancelled or refused calls get an error result), so the session can always be sent
//!   again;
//! - tools run only after the model's answer is complete: a stream that breaks mid-answer
//!   runs nothing, so a cut-off edit never half-applies;
//! - cancellation drops in-flight requests and tool futures, which kill what they started.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use cuervo_domain::Redact;
use cuervo_domain::message::InvalidArguments;
use cuervo_domain::{
    AgentEvent, Approval, ApprovalRequest, Approver, ContentBlock, Cost, Decision, Effect, Message,
    MessageRecord, ModelError, ModelProvider, ModelRequest, PermissionLevel, PermissionPolicy,
    PermissionRule, ResolvedModel, Role, Session, SessionRepository, StopCause, StopReason,
    TokenBudget, Tool, ToolCall, ToolContext, ToolError, ToolResult, Usage,
};
use futures::future::join_all;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::registry::ToolRegistry;
use crate::resilience::{self, Resilience};
use crate::turn::{Caller, Turn};

/// How long sub-agents get to wind down after an interrupt before they are dropped.
const SUB_AGENT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How one agent calls its model and how long it may go on.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    pub model: String,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub system_prompt: Option<String>,
    /// The most model calls one run may make.
    pub max_turns: u32,
    /// The most tokens (input + output, all turns) one run may spend.
    pub token_budget: Option<u64>,
    /// Tokens the model may spend thinking before it answers (`Some(0)` asks for none);
    /// `None` leaves it to the model. The provider drops it for a model that cannot think.
    pub thinking_budget: Option<u32>,
    pub stream: bool,
}

impl AgentConfig {
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            max_tokens: 8192,
            temperature: None,
            system_prompt: None,
            max_turns: 50,
            token_budget: None,
            thinking_budget: None,
            stream: true,
        }
    }
}

/// How a run ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub cause: StopCause,
    /// Model calls made.
    pub turns: u32,
    pub usage: Usage,
    /// The text of the model's last answer.
    pub result: String,
}

/// One model, a tool set, a permission policy and someone to ask: everything a run needs.
pub struct Agent {
    pub(crate) provider: Arc<dyn ModelProvider>,
    /// `provider` and the configured model as the router sees them.
    pub(crate) primary: ResolvedModel,
    pub(crate) role: resilience::Role,
    pub(crate) resilience: Arc<Resilience>,
    /// The fallback model answering this agent's calls, once one took over (announced
    /// once, and again when the preferred model is back).
    pub(crate) answering: Mutex<Option<String>>,
    pub(crate) tools: ToolRegistry,
    pub(crate) policy: Mutex<PermissionPolicy>,
    pub(crate) approver: Arc<dyn Approver>,
    pub(crate) tool_ctx: ToolContext,
    pub(crate) config: AgentConfig,
    pub(crate) repository: Option<Arc<dyn SessionRepository>>,
    pub(crate) redact: Option<Redact>,
    /// Sub-agents this agent may delegate to (the `task` tool), with its depth.
    pub(crate) delegation: Option<crate::delegate::Delegation>,
    /// The sub-agent's name (`explorer`); `None` for the main agent.
    pub(crate) name: Option<String>,
    /// Finds the instruction files deeper in the tree (`src/api/AGENTS.md`).
    pub(crate) instructions: Option<Arc<dyn crate::instructions::InstructionFiles>>,
    /// The repository map's source and its token budget.
    pub(crate) repo_map: Option<(Arc<dyn crate::context::RepoMapSource>, usize)>,
    /// The map of the current user turn (see [`crate::context`]).
    pub(crate) turn_map: Mutex<Option<String>>,
    /// The code index and how many of its results go into each user turn's context.
    pub(crate) code_context: Option<(Arc<dyn cuervo_domain::CodeSearch>, usize)>,
    /// The code the index found for the current user turn.
    pub(crate) turn_code: Mutex<Option<String>>,
}

/// The model call that wrote an assistant message: who answered, what it used and cost.
#[derive(Debug, Clone)]
struct Call {
    model: String,
    usage: Usage,
    cost: Option<Cost>,
}

/// A call that passed validation and permission, ready to run.
struct Approved<'a> {
    index: usize,
    call: &'a ToolCall,
    tool: &'a Arc<dyn Tool>,
}

/// Where a run's events go as they happen. A channel is one; the session service passes
/// its own, which records, prices and forwards each event in order with its other events.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: AgentEvent);
}

impl EventSink for UnboundedSender<AgentEvent> {
    fn emit(&self, event: AgentEvent) {
        // A front end that stopped listening must not stop the run.
        let _ = self.send(event);
    }
}

fn emit(events: &dyn EventSink, event: AgentEvent) {
    events.emit(event);
}

impl Agent {
    pub fn new(
        provider: Arc<dyn ModelProvider>,
        tools: ToolRegistry,
        policy: PermissionPolicy,
        approver: Arc<dyn Approver>,
        tool_ctx: ToolContext,
        config: AgentConfig,
    ) -> Self {
        let primary = ResolvedModel {
            provider_name: provider.name().to_owned(),
            model: config.model.clone(),
            provider: provider.clone(),
            thinking_budget: config.thinking_budget,
        };
        Self {
            provider,
            primary,
            role: resilience::Role::Main,
            resilience: Arc::new(Resilience::standalone()),
            answering: Mutex::new(None),
            tools,
            policy: Mutex::new(policy),
            approver,
            tool_ctx,
            config,
            repository: None,
            redact: None,
            delegation: None,
            name: None,
            instructions: None,
            repo_map: None,
            turn_map: Mutex::new(None),
            code_context: None,
            turn_code: Mutex::new(None),
        }
    }

    /// Calls models through this process's shared breakers, retry policy and router (the
    /// default is a private set with no fallbacks).
    pub fn with_resilience(mut self, resilience: Arc<Resilience>) -> Self {
        self.resilience = resilience;
        self
    }

    /// Adds the instruction files of the directories the agent works in to the results of
    /// its first read or change there (see [`crate::instructions`]).
    pub fn with_instructions(
        mut self,
        instructions: Arc<dyn crate::instructions::InstructionFiles>,
    ) -> Self {
        self.instructions = Some(instructions);
        self
    }

    /// Puts a map of the repository, focused on the conversation and at most
    /// `token_budget` tokens, in the system prompt of each user turn.
    pub fn with_repo_map(
        mut self,
        source: Arc<dyn crate::context::RepoMapSource>,
        token_budget: usize,
    ) -> Self {
        self.repo_map = Some((source, token_budget));
        self
    }

    /// Puts the locations of the `results` chunks the code index finds most relevant to
    /// each user prompt in that turn's system prompt (see [`crate::context`]).
    pub fn with_code_context(
        mut self,
        search: Arc<dyn cuervo_domain::CodeSearch>,
        results: usize,
    ) -> Self {
        self.code_context = (results > 0).then_some((search, results));
        self
    }

    /// Lets this agent delegate to sub-agents through the `task` tool.
    pub fn with_delegation(mut self, delegation: crate::delegate::Delegation) -> Self {
        self.delegation = Some(delegation);
        self
    }

    /// Routes this agent's calls for `role` (a model per role, from config).
    pub fn with_role(mut self, role: resilience::Role) -> Self {
        self.role = role;
        self
    }

    /// A caller for one model call of this agent.
    pub(crate) fn caller<'a>(
        &'a self,
        role: resilience::Role,
        turn_number: u32,
        events: &'a dyn EventSink,
        cancel: &'a CancellationToken,
    ) -> Caller<'a> {
        Caller {
            primary: &self.primary,
            role,
            resilience: &self.resilience,
            events,
            cancel,
            turn_number,
            answering: &self.answering,
        }
    }

    /// Redacts tool output and user messages before the model or the store sees them, so
    /// a key that a file or a command prints never leaves the machine.
    pub fn with_redaction(mut self, redact: Redact) -> Self {
        self.redact = Some(redact);
        self
    }

    fn redacted(&self, text: String) -> String {
        match &self.redact {
            Some(redact) => match redact(&text) {
                std::borrow::Cow::Borrowed(_) => text,
                std::borrow::Cow::Owned(changed) => changed,
            },
            None => text,
        }
    }

    /// Stores every message the moment it joins the session.
    pub fn with_repository(mut self, repository: Arc<dyn SessionRepository>) -> Self {
        self.repository = Some(repository);
        self
    }

    /// What one model call cost at this agent's model's rates: the one place a call is
    /// priced, so the stored message, the event and every total agree.
    pub fn price(&self, usage: &Usage) -> Option<cuervo_domain::Cost> {
        self.provider.cost(&self.config.model, usage)
    }

    /// Adds a message to the session and stores it. A storage failure is logged and the
    /// run goes on: the conversation in memory is still whole. `call` is the model call
    /// that wrote it (assistant messages): the model that answered and its price.
    async fn commit(&self, session: &mut Session, mut message: Message, call: Option<Call>) {
        if message.role == Role::User {
            for block in &mut message.content {
                if let ContentBlock::Text { text } = block {
                    *text = self.redacted(std::mem::take(text));
                }
            }
        }
        if let Some(repository) = &self.repository {
            let record = MessageRecord {
                message: message.clone(),
                usage: call.as_ref().map(|c| c.usage),
                cost: call.as_ref().and_then(|c| c.cost),
                model: call.map(|c| c.model),
            };
            if let Err(error) = repository.append(&session.id, record).await {
                tracing::warn!(%error, "could not store a message of session {}", session.id);
            }
        }
        session.push(message);
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The model provider this agent calls (for prices and capabilities).
    pub fn provider(&self) -> &Arc<dyn ModelProvider> {
        &self.provider
    }

    /// The tool definitions sent with every request (what `/context` counts).
    pub fn tool_specs(&self) -> Vec<cuervo_domain::ToolSpec> {
        self.tools.specs()
    }

    /// Replaces the permission policy, e.g. when the user switches mode mid-session or a
    /// new agent (another model) takes over the rules granted so far.
    pub fn set_policy(&self, policy: PermissionPolicy) {
        *self.policy.lock().unwrap_or_else(PoisonError::into_inner) = policy;
    }

    /// The policy as it stands, including rules granted with "allow always".
    pub fn policy(&self) -> PermissionPolicy {
        self.policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs one user prompt to completion, appending everything to `session`.
    ///
    /// On a model error the session keeps the user's message and every complete turn
    /// before the failure, so the conversation can be retried or continued.
    pub async fn run(
        &self,
        session: &mut Session,
        prompt: &str,
        events: &dyn EventSink,
        cancel: &CancellationToken,
    ) -> Result<RunOutcome> {
        self.run_message(session, Message::user(prompt), events, cancel)
            .await
    }

    /// Like [`Agent::run`], for a user message with more than text (attached images).
    pub async fn run_message(
        &self,
        session: &mut Session,
        message: Message,
        events: &dyn EventSink,
        cancel: &CancellationToken,
    ) -> Result<RunOutcome> {
        self.commit(session, message, None).await;
        if let Some(delegation) = &self.delegation {
            delegation.new_turn();
        }
        self.refresh_turn_context(&session.messages).await;
        emit(
            events,
            AgentEvent::AgentStarted {
                session_id: session.id.0.clone(),
                provider: self.provider.name().to_owned(),
                model: self.config.model.clone(),
            },
        );
        let mut usage = Usage::default();
        let mut budget = TokenBudget::new(self.config.token_budget);
        let mut turns = 0;
        loop {
            turns += 1;
            let turn = match self.stream_turn(session, turns, events, cancel).await {
                Ok(turn) => turn,
                Err(error) => {
                    emit(
                        events,
                        AgentEvent::ModelError {
                            error: error.clone(),
                        },
                    );
                    emit(
                        events,
                        AgentEvent::AgentFailed {
                            error: error.to_string(),
                        },
                    );
                    return Err(error.into());
                }
            };
            let mut used = turn.usage;
            used.add(&turn.unfinished);
            usage.add(&used);
            session.usage.add(&used);
            budget.spend(&used);
            let call = Call {
                model: turn
                    .model
                    .clone()
                    .unwrap_or_else(|| self.config.model.clone()),
                usage: turn.usage,
                cost: turn.cost,
            };

            if turn.cancelled {
                // Keep what the user saw, but never an unanswered tool call. Its usage was
                // reported as an unfinished call.
                let kept: Vec<ContentBlock> = turn
                    .blocks
                    .into_iter()
                    .filter(|b| matches!(b, ContentBlock::Text { .. }))
                    .collect();
                if !kept.is_empty() {
                    let message = Message {
                        role: Role::Assistant,
                        content: kept,
                    };
                    self.commit(session, message, Some(call)).await;
                }
                return Ok(self.finish(session, events, StopCause::Cancelled, turns, usage));
            }

            let stop_reason = turn.stop.unwrap_or(StopReason::EndTurn);
            let cut_off = stop_reason == StopReason::MaxTokens;
            emit(
                events,
                AgentEvent::TurnCompleted {
                    turn: turns,
                    stop_reason,
                    usage: turn.usage,
                    cost: turn.cost,
                },
            );
            let calls: Vec<ToolCall> = turn
                .blocks
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolUse(call) => Some(call.clone()),
                    _ => None,
                })
                .collect();
            if !turn.blocks.is_empty() {
                let message = Message {
                    role: Role::Assistant,
                    content: turn.blocks,
                };
                self.commit(session, message, Some(call)).await;
            }
            if calls.is_empty() {
                return Ok(self.finish(session, events, StopCause::Completed, turns, usage));
            }

            let (mut results, cancelled) = self.run_tools(&calls, cut_off, events, cancel).await;
            self.add_nested_instructions(&session.messages, &calls, &mut results);
            self.commit(session, Message::tool_results(results), None)
                .await;
            if cancelled {
                return Ok(self.finish(session, events, StopCause::Cancelled, turns, usage));
            }
            if budget.is_exhausted() {
                return Ok(self.finish(session, events, StopCause::TokenBudget, turns, usage));
            }
            if turns >= self.config.max_turns {
                return Ok(self.finish(session, events, StopCause::MaxTurns, turns, usage));
            }
        }
    }

    fn finish(
        &self,
        session: &Session,
        events: &dyn EventSink,
        cause: StopCause,
        turns: u32,
        usage: Usage,
    ) -> RunOutcome {
        let result = session.last_assistant_text().unwrap_or_default();
        emit(
            events,
            AgentEvent::AgentCompleted {
                cause,
                turns,
                usage,
                result: result.clone(),
            },
        );
        RunOutcome {
            cause,
            turns,
            usage,
            result,
        }
    }

    fn request(&self, session: &Session) -> ModelRequest {
        self.request_for(session.messages.clone())
    }

    /// A request for `messages` with this agent's model, system prompt and tools.
    pub(crate) fn request_for(&self, messages: Vec<Message>) -> ModelRequest {
        ModelRequest {
            model: self.config.model.clone(),
            system: self.system_prompt_now(),
            messages,
            tools: self.tools.specs(),
            max_tokens: self.config.max_tokens,
            temperature: self.config.temperature,
            stream: self.config.stream,
            thinking_budget: self.config.thinking_budget,
        }
    }

    /// Streams one model answer through the resilient caller (router, breakers, retries,
    /// fallbacks), forwarding deltas as events and assembling the blocks.
    async fn stream_turn(
        &self,
        session: &Session,
        turn_number: u32,
        events: &dyn EventSink,
        cancel: &CancellationToken,
    ) -> std::result::Result<Turn, ModelError> {
        self.caller(self.role, turn_number, events, cancel)
            .call(self.request(session))
            .await
    }

    /// Runs one turn's tool calls: each is validated and authorised in order; consecutive
    /// read-only calls run concurrently, anything that changes state runs alone. Returns
    /// one result per call, in call order, and whether the run was cancelled. `cut_off`:
    /// the answer stopped at `max_tokens`, so a call whose arguments did not parse was
    /// most likely cut short.
    async fn run_tools(
        &self,
        calls: &[ToolCall],
        cut_off: bool,
        events: &dyn EventSink,
        cancel: &CancellationToken,
    ) -> (Vec<ToolResult>, bool) {
        let mut results: Vec<Option<ToolResult>> = vec![None; calls.len()];
        let mut batch: Vec<Approved<'_>> = Vec::new();
        let mut cancelled = false;
        for (index, call) in calls.iter().enumerate() {
            if cancel.is_cancelled() {
                cancelled = true;
                break;
            }
            // Arguments that did not parse never run; the model is told why and retries.
            if let Some(invalid) = call.invalid_arguments() {
                let error =
                    ToolError::InvalidInput(self.invalid_arguments(call, &invalid, cut_off));
                results[index] = Some(self.record(call, Err(error), Instant::now(), events));
                continue;
            }
            // Leaving plan mode asks the person whatever the policy says: the loop does it,
            // after the calls before it.
            if call.name == crate::plan::PLAN_TOOL && self.tools.get(&call.name).is_some() {
                if !batch.is_empty() {
                    cancelled = self
                        .execute(std::mem::take(&mut batch), &mut results, events, cancel)
                        .await;
                    if cancelled {
                        break;
                    }
                }
                let started = Instant::now();
                let output = self.exit_plan(call, events).await;
                results[index] = Some(self.record(call, Ok(output), started, events));
                continue;
            }
            let approved = match self.authorise(call, events).await {
                Ok(tool) => Approved { index, call, tool },
                Err(error) => {
                    results[index] = Some(self.record(call, Err(error), Instant::now(), events));
                    continue;
                }
            };
            let read_only = approved.tool.permission() == PermissionLevel::ReadOnly;
            if !read_only && !batch.is_empty() {
                cancelled = self
                    .execute(std::mem::take(&mut batch), &mut results, events, cancel)
                    .await;
                if cancelled {
                    break;
                }
            }
            batch.push(approved);
            if !read_only {
                cancelled = self
                    .execute(std::mem::take(&mut batch), &mut results, events, cancel)
                    .await;
                if cancelled {
                    break;
                }
            }
        }
        if !cancelled && !batch.is_empty() {
            cancelled = self.execute(batch, &mut results, events, cancel).await;
        }
        let results = results
            .into_iter()
            .zip(calls)
            .map(|(result, call)| {
                result.unwrap_or_else(|| ToolResult {
                    call_id: call.id.clone(),
                    content: "cancelled by the user before it ran".into(),
                    is_error: true,
                })
            })
            .collect();
        (results, cancelled || cancel.is_cancelled())
    }

    /// Runs approved calls concurrently; returns true when cancelled mid-way.
    async fn execute(
        &self,
        batch: Vec<Approved<'_>>,
        results: &mut [Option<ToolResult>],
        events: &dyn EventSink,
        cancel: &CancellationToken,
    ) -> bool {
        let started = Instant::now();
        let runs = batch.iter().map(|a| {
            if a.call.name == crate::delegate::TASK_TOOL && self.delegation.is_some() {
                // A delegation runs a sub-agent, which needs the run's events and
                // cancellation: the loop runs it, not the tool.
                self.delegate(a.call, events, cancel)
            } else {
                a.tool.execute(a.call.input.clone(), &self.tool_ctx)
            }
        });
        let delegates = batch
            .iter()
            .any(|a| a.call.name == crate::delegate::TASK_TOOL);
        let mut joined = join_all(runs);
        let outputs = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            outputs = &mut joined => Some(outputs),
        };
        if outputs.is_none() && delegates {
            // Sub-agents see the same cancellation and end on their own, saying so
            // (`agent_completed` with `cancelled`); a moment is enough, then whatever is
            // left is dropped like any tool.
            let _ = tokio::time::timeout(SUB_AGENT_GRACE, &mut joined).await;
        }
        match outputs {
            Some(outputs) => {
                for (approved, output) in batch.iter().zip(outputs) {
                    results[approved.index] =
                        Some(self.record(approved.call, output, started, events));
                }
                false
            }
            None => {
                for approved in &batch {
                    let interrupted = Err(ToolError::Failed("interrupted by the user".into()));
                    results[approved.index] =
                        Some(self.record(approved.call, interrupted, started, events));
                }
                true
            }
        }
    }

    /// What the model is told about a call whose arguments were not a JSON object.
    fn invalid_arguments(
        &self,
        call: &ToolCall,
        invalid: &InvalidArguments,
        cut_off: bool,
    ) -> String {
        let name = &call.name;
        let length = invalid.length;
        tracing::warn!(call = %call.id, tool = %name, length, cut_off, error = %invalid.error,
            "a tool call's arguments are not valid JSON; answering it with an error");
        if cut_off {
            format!(
                "the arguments of this `{name}` call were cut off: the answer reached its output \
                 limit (max_tokens = {}) after {length} bytes of arguments, so nothing was run. \
                 Retry in smaller pieces that each fit well within the limit: for example write \
                 a large file as a short `write` followed by several `edit` calls that add the \
                 rest, or split the work into several calls.",
                self.config.max_tokens
            )
        } else {
            format!(
                "the arguments of this `{name}` call are not valid JSON ({}), so nothing was \
                 run. Send the call again with its arguments as one JSON object matching the \
                 tool's schema; if they are long, split the work into several smaller calls \
                 (for example a short `write` followed by `edit` calls).",
                invalid.error
            )
        }
    }

    /// Validates a call and asks the policy (and, if needed, a person) whether it may run.
    async fn authorise(
        &self,
        call: &ToolCall,
        events: &dyn EventSink,
    ) -> std::result::Result<&Arc<dyn Tool>, ToolError> {
        let Some(tool) = self.tools.get(&call.name) else {
            let available: Vec<&str> = self.tools.names().collect();
            return Err(ToolError::InvalidInput(format!(
                "there is no tool named `{}`; available tools: {}",
                call.name,
                available.join(", ")
            )));
        };
        let action = tool.validate(&call.input, &self.tool_ctx)?;
        let decision = self.policy().decide(
            tool.name(),
            tool.permission(),
            tool.requires_confirmation(&call.input),
            &action,
        );
        let decision = match decision {
            Decision::Ask(reason) => {
                let request = ApprovalRequest {
                    call_id: call.id.clone(),
                    tool: tool.name().to_owned(),
                    action,
                    reason: reason.clone(),
                    agent: self.name.clone(),
                };
                match self.approver.approve(request).await {
                    Approval::AllowOnce => Decision::Allow,
                    Approval::AllowAlways { rule } => {
                        if let Ok(rule) = rule.parse::<PermissionRule>() {
                            self.policy
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .allow_rule(rule);
                        }
                        Decision::Allow
                    }
                    Approval::Deny => Decision::Deny(format!("the user refused it ({reason})")),
                    Approval::DenyWithFeedback { feedback } => Decision::Deny(feedback),
                }
            }
            other => other,
        };
        emit(
            events,
            AgentEvent::PermissionDecided {
                call_id: call.id.clone(),
                tool: tool.name().to_owned(),
                decision: decision.clone(),
            },
        );
        match decision {
            Decision::Allow => Ok(tool),
            Decision::Deny(reason) | Decision::Ask(reason) => {
                Err(ToolError::PermissionDenied(reason))
            }
        }
    }

    /// Turns a tool outcome into the result the model sees, raising the matching events.
    fn record(
        &self,
        call: &ToolCall,
        outcome: std::result::Result<cuervo_domain::ToolOutput, ToolError>,
        started: Instant,
        events: &dyn EventSink,
    ) -> ToolResult {
        let (content, is_error) = match outcome {
            Ok(output) => {
                for effect in output.effects {
                    emit(events, effect_event(&call.id, effect));
                }
                (output.content, output.is_error)
            }
            Err(error) => (error.to_string(), true),
        };
        let content = self.redacted(content);
        emit(
            events,
            AgentEvent::ToolExecuted {
                call_id: call.id.clone(),
                tool: call.name.clone(),
                is_error,
                content: content.clone(),
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
        );
        ToolResult {
            call_id: call.id.clone(),
            content,
            is_error,
        }
    }
}

fn effect_event(call_id: &str, effect: Effect) -> AgentEvent {
    match effect {
        Effect::FileModified { path, diff } => AgentEvent::FileModified {
            call_id: call_id.to_owned(),
            path,
            diff,
        },
        Effect::TodoUpdated { items } => AgentEvent::TodoUpdated { items },
        Effect::CommandExecuted {
            command,
            exit_code,
            timed_out,
        } => AgentEvent::BashExecuted {
            call_id: call_id.to_owned(),
            command,
            exit_code,
            timed_out,
        },
    }
}
