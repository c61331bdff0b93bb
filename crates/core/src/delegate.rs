//! The orchestrator: the main agent delegates self-contained work to a sub-agent through
//! the `task` tool, as Claude Code's Task tool does.
//!
//! A sub-agent is an [`Agent`] of its own: its definition's system prompt, only its
//! definition's tools, only the brief it was given (nothing of the parent's conversation),
//! and a session that lives in memory for the length of the call. It shares what must be
//! shared: the permission policy as it stands (a sub-agent can never do more than its
//! parent; its questions reach the same person, naming the agent that asks), the
//! breakers, retry policy and router, the redaction, and the cancellation (interrupting the
//! parent interrupts every sub-agent). It runs to completion and its final answer is the
//! tool's result. Its events reach the parent's front end wrapped in
//! [`AgentEvent::SubAgent`], so a front end can show each sub-agent as one live block and
//! the spend counts every call.
//!
//! Several `task` calls in one answer run at once: delegating changes nothing by itself
//! (the tool is read-only; the sub-agent's own calls are checked one by one), so the loop
//! batches them like reads. Delegation is bounded: sub-agents deeper than
//! [`DelegationLimits::max_depth`] get no `task` tool, and one user turn may start at most
//! [`DelegationLimits::max_agents`] sub-agents in all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use cuervo_domain::{
    AgentEvent, Approval, ApprovalRequest, Approver, BoxFuture, ModelResolver, PermissionLevel,
    Session, SessionId, StopCause, Tool, ToolAction, ToolCall, ToolContext, ToolError, ToolOutput,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, AgentConfig, EventSink};
use crate::agents::{AgentCatalog, AgentDefinition};
use crate::registry::ToolRegistry;
use crate::resilience::Role;

/// The delegation tool's name.
pub const TASK_TOOL: &str = "task";

/// How far delegation may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelegationLimits {
    /// Levels of sub-agents below the main agent (1: sub-agents cannot delegate).
    pub max_depth: u32,
    /// Sub-agents one user turn may start, at every depth together.
    pub max_agents: u32,
}

impl Default for DelegationLimits {
    fn default() -> Self {
        Self {
            max_depth: 2,
            max_agents: 12,
        }
    }
}

/// What an agent needs to delegate: the agents there are, the tools they may be given,
/// how to resolve a definition's model, the limits, and where in the tree it stands.
#[derive(Clone)]
pub struct Delegation {
    catalog: Arc<AgentCatalog>,
    /// Every tool a sub-agent may be given (the parent's, the `task` tool included).
    tools: ToolRegistry,
    models: Option<Arc<dyn ModelResolver>>,
    limits: DelegationLimits,
    /// 0 for the main agent.
    depth: u32,
    /// Sub-agents started in the current user turn, shared by the whole tree.
    started: Arc<AtomicU32>,
    /// Numbers sub-agents within the session (`explorer-3`).
    next_id: Arc<AtomicU64>,
}

impl Delegation {
    /// Delegation for a main agent: `catalog`'s agents, given tools from `tools`.
    pub fn new(
        catalog: Arc<AgentCatalog>,
        tools: ToolRegistry,
        models: Option<Arc<dyn ModelResolver>>,
        limits: DelegationLimits,
    ) -> Self {
        Self {
            catalog,
            tools,
            models,
            limits,
            depth: 0,
            started: Arc::new(AtomicU32::new(0)),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The `task` tool as the model sees it: the agents it can call and when.
    pub fn tool(catalog: &AgentCatalog) -> Arc<dyn Tool> {
        Arc::new(TaskTool::new(catalog))
    }

    /// The delegation one level down, or `None` when that level may not delegate.
    fn child(&self) -> Option<Delegation> {
        let depth = self.depth + 1;
        (depth < self.limits.max_depth).then(|| Delegation {
            depth,
            ..self.clone()
        })
    }

    /// The tools of a sub-agent defined as `definition`, at the next depth.
    fn tools_for(&self, definition: &AgentDefinition, may_delegate: bool) -> ToolRegistry {
        let mut tools = self.tools.clone();
        tools.retain(|tool| {
            let name = tool.name();
            let listed = match &definition.tools {
                Some(names) => names.iter().any(|n| n == name),
                // Every tool of the parent; delegating further only when listed.
                None => name != TASK_TOOL,
            };
            listed && (name != TASK_TOOL || may_delegate)
        });
        tools
    }

    /// A new user turn: the count of sub-agents starts again.
    pub(crate) fn new_turn(&self) {
        if self.depth == 0 {
            self.started.store(0, Ordering::Relaxed);
        }
    }
}

/// What the model sends the `task` tool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskInput {
    agent: String,
    /// A few words the user sees (`find the retry code`).
    #[serde(default)]
    description: String,
    /// The whole brief: everything the sub-agent needs, since it sees nothing else.
    prompt: String,
}

impl Agent {
    /// Delegates to a sub-agent as `call` asks and returns its answer as the tool's result.
    pub(crate) fn delegate<'a>(
        &'a self,
        call: &'a ToolCall,
        events: &'a dyn EventSink,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let Some(delegation) = &self.delegation else {
                return Err(ToolError::Failed("this agent cannot delegate".into()));
            };
            let input: TaskInput = serde_json::from_value(call.input.clone())
                .map_err(|e| ToolError::InvalidInput(format!("task: {e}")))?;
            let Some(definition) = delegation.catalog.get(&input.agent) else {
                return Err(ToolError::InvalidInput(format!(
                    "there is no agent `{}`; the agents are: {}",
                    input.agent,
                    delegation.catalog.names().collect::<Vec<_>>().join(", ")
                )));
            };
            let started = delegation.started.fetch_add(1, Ordering::Relaxed);
            if started >= delegation.limits.max_agents {
                return Err(ToolError::Failed(format!(
                    "this turn already started {} sub-agents, the most allowed; do the rest \
                     yourself",
                    delegation.limits.max_agents
                )));
            }
            let child_delegation = delegation.child();
            let tools = delegation.tools_for(definition, child_delegation.is_some());
            let (primary, role) = match &definition.model {
                Some(model) => {
                    let Some(models) = &delegation.models else {
                        return Err(ToolError::Failed(format!(
                            "agent `{}` names model `{model}`, which cannot be resolved here",
                            definition.name
                        )));
                    };
                    let resolved = models.resolve(model).map_err(|e| {
                        ToolError::Failed(format!("agent `{}`: {e}", definition.name))
                    })?;
                    (resolved, Role::Main)
                }
                None => (self.primary.clone(), definition.role),
            };
            let id = format!(
                "{}-{}",
                definition.name,
                delegation.next_id.fetch_add(1, Ordering::Relaxed)
            );
            let config = AgentConfig {
                model: primary.model.clone(),
                system_prompt: Some(sub_agent_prompt(definition, &self.tool_ctx)),
                thinking_budget: primary.thinking_budget,
                ..self.config.clone()
            };
            let mut child = Agent::new(
                primary.provider.clone(),
                tools,
                self.policy(),
                Arc::new(NamedApprover {
                    inner: self.approver.clone(),
                    agent: definition.name.clone(),
                }),
                self.tool_ctx.clone(),
                config,
            )
            .with_resilience(self.resilience.clone())
            .with_role(role);
            child.primary = primary;
            child.name = Some(definition.name.clone());
            child.delegation = child_delegation;
            child.instructions = self.instructions.clone();
            if let Some(redact) = &self.redact {
                child = child.with_redaction(redact.clone());
            }
            let sink = SubAgentSink {
                parent: events,
                id: id.clone(),
                agent: definition.name.clone(),
                call_id: call.id.clone(),
            };
            let mut session = Session::new(SessionId(id));
            let brief = input.prompt;
            let run: BoxFuture<'_, _> = Box::pin(child.run(&mut session, &brief, &sink, cancel));
            match run.await {
                Ok(outcome) => {
                    let mut text = outcome.result;
                    if outcome.cause != StopCause::Completed {
                        text.push_str(&format!(
                            "\n\n[{} stopped ({}) after {} model calls: this may be partial]",
                            definition.name,
                            stop_name(outcome.cause),
                            outcome.turns
                        ));
                    }
                    if text.trim().is_empty() {
                        text = format!("[{} finished without an answer]", definition.name);
                    }
                    Ok(ToolOutput::text(text))
                }
                Err(error) => Err(ToolError::Failed(format!(
                    "{} failed: {error}",
                    definition.name
                ))),
            }
        })
    }
}

fn stop_name(cause: StopCause) -> &'static str {
    match cause {
        StopCause::Completed => "completed",
        StopCause::MaxTurns => "max_turns",
        StopCause::TokenBudget => "token budget",
        StopCause::Cancelled => "cancelled",
    }
}

/// A sub-agent's system prompt: its definition's, and where it works.
fn sub_agent_prompt(definition: &AgentDefinition, ctx: &ToolContext) -> String {
    format!(
        "{}\n\nYou are the `{}` agent, working for another agent that gave you one task. It \
         sees only your final answer: make it complete and self-contained. The project root \
         is {}.",
        definition.system_prompt.trim_end(),
        definition.name,
        ctx.root.display()
    )
}

/// Wraps a sub-agent's events for the parent's front end.
struct SubAgentSink<'a> {
    parent: &'a dyn EventSink,
    id: String,
    agent: String,
    call_id: String,
}

impl EventSink for SubAgentSink<'_> {
    fn emit(&self, event: AgentEvent) {
        self.parent.emit(AgentEvent::SubAgent {
            id: self.id.clone(),
            agent: self.agent.clone(),
            call_id: self.call_id.clone(),
            event: Box::new(event),
        });
    }
}

/// The parent's approver, with each question naming the sub-agent that asks.
struct NamedApprover {
    inner: Arc<dyn Approver>,
    agent: String,
}

impl Approver for NamedApprover {
    fn approve(&self, mut request: ApprovalRequest) -> BoxFuture<'_, Approval> {
        request.agent.get_or_insert_with(|| self.agent.clone());
        self.inner.approve(request)
    }
}

/// The `task` tool's definition. The agent loop runs the delegation itself (it needs the
/// run's events and cancellation); this is what the model sees and what is validated.
struct TaskTool {
    description: String,
    names: Vec<String>,
}

impl TaskTool {
    fn new(catalog: &AgentCatalog) -> Self {
        let mut description = String::from(
            "Delegate a self-contained piece of work to a specialised agent. It works in its \
             own context with its own tools, sees only the prompt you give it (include every \
             detail it needs: paths, names, what to return), and returns one final answer. \
             Use it to keep your own context small: searching a large codebase, reading many \
             files, planning, reviewing. Several calls in one answer run at the same time \
             (for example two explorers on different questions). Agents:\n",
        );
        for definition in catalog.list() {
            description.push_str(&format!(
                "- {}: {}\n",
                definition.name,
                definition.description.trim()
            ));
        }
        Self {
            description,
            names: catalog.names().map(str::to_owned).collect(),
        }
    }
}

impl Tool for TaskTool {
    fn name(&self) -> &str {
        TASK_TOOL
    }

    fn description(&self) -> &str {
        &self.description
    }

    /// Delegating changes nothing by itself: the sub-agent's own calls are checked one by
    /// one under the same rules. Read-only calls batch, so several delegations run at once.
    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadOnly
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "agent": {"type": "string", "enum": self.names, "description": "which agent"},
                "description": {"type": "string", "description": "3-6 words the user sees"},
                "prompt": {"type": "string", "description": "the whole task: everything the agent needs to know and what to return"}
            },
            "required": ["agent", "prompt"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, _ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let input: TaskInput = serde_json::from_value(input.clone())
            .map_err(|e| ToolError::InvalidInput(format!("task: {e}")))?;
        if !self.names.contains(&input.agent) {
            return Err(ToolError::InvalidInput(format!(
                "there is no agent `{}`; the agents are: {}",
                input.agent,
                self.names.join(", ")
            )));
        }
        if input.prompt.trim().is_empty() {
            return Err(ToolError::InvalidInput(
                "task: the prompt is empty; give the agent its whole task".into(),
            ));
        }
        let what = if input.description.trim().is_empty() {
            input.prompt.lines().next().unwrap_or_default().to_owned()
        } else {
            input.description
        };
        Ok(ToolAction {
            summary: format!("{}: {what}", input.agent),
            ..ToolAction::default()
        })
    }

    fn execute<'a>(
        &'a self,
        _input: Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async {
            Err(ToolError::Failed(
                "this agent cannot delegate (no agents are configured for it)".into(),
            ))
        })
    }
}
