//! Leaving plan mode: the plan is shown for approval before anything changes.
//!
//! In plan mode the policy allows read-only tools only, so the model explores and writes
//! a plan. It then calls `exit_plan_mode` with the plan; the loop (not the tool) asks the
//! person, whatever the policy says, showing the whole plan. Approved once, the agent goes
//! on in `ask` mode; approved "always", in `auto-edit` (edits no longer ask, commands
//! still do) — the choice Claude Code's plan mode offers. Refused, the agent stays in plan
//! mode with the person's feedback. Headless runs refuse, so `cuervo -p --permission-mode
//! plan` ends with the plan and nothing changed.

use std::sync::PoisonError;

use cuervo_domain::{
    AgentEvent, Approval, ApprovalRequest, BoxFuture, PermissionLevel, PermissionMode, Tool,
    ToolAction, ToolCall, ToolContext, ToolError, ToolOutput,
};
use serde_json::{Value, json};

use crate::agent::{Agent, EventSink};

/// The tool's name.
pub const PLAN_TOOL: &str = "exit_plan_mode";

/// The tool as the model sees it. The agent loop handles its calls.
pub struct ExitPlanMode;

impl Tool for ExitPlanMode {
    fn name(&self) -> &str {
        PLAN_TOOL
    }

    fn description(&self) -> &str {
        "Only in plan mode: when your plan is ready, call this with the whole plan (markdown: \
         numbered steps, the files each touches, how it will be verified). The user approves \
         it or tells you what to change. Do not call it to ask questions, and not before \
         you have read enough to plan."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadOnly
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {"plan": {"type": "string", "description": "the plan, in markdown"}},
            "required": ["plan"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, _ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let plan = plan_of(input)?;
        Ok(ToolAction {
            summary: "leave plan mode and carry out this plan".into(),
            preview: Some(plan.to_owned()),
            ..ToolAction::default()
        })
    }

    fn execute<'a>(
        &'a self,
        _input: Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async { Err(ToolError::Failed("handled by the agent loop".into())) })
    }
}

fn plan_of(input: &Value) -> Result<&str, ToolError> {
    input
        .get("plan")
        .and_then(Value::as_str)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| ToolError::InvalidInput("exit_plan_mode: `plan` is missing or empty".into()))
}

impl Agent {
    /// Shows the plan of `call` for approval and switches the mode when it is approved.
    pub(crate) async fn exit_plan(&self, call: &ToolCall, events: &dyn EventSink) -> ToolOutput {
        let answer = |content: String, is_error: bool| ToolOutput {
            content,
            is_error,
            effects: Vec::new(),
        };
        let plan = match plan_of(&call.input) {
            Ok(plan) => plan.to_owned(),
            Err(error) => return answer(error.to_string(), true),
        };
        if self.policy().mode != PermissionMode::Plan {
            return answer(
                "Not in plan mode: there is nothing to leave. Go on with the work.".into(),
                false,
            );
        }
        let request = ApprovalRequest {
            call_id: call.id.clone(),
            tool: PLAN_TOOL.into(),
            action: ToolAction {
                summary: "leave plan mode and carry out this plan".into(),
                preview: Some(plan.clone()),
                ..ToolAction::default()
            },
            reason: "the plan is ready: approve it to let the agent make changes".into(),
            agent: self.name.clone(),
        };
        let mode = match self.approver.approve(request).await {
            Approval::AllowOnce => PermissionMode::Ask,
            Approval::AllowAlways { .. } => PermissionMode::AutoEdit,
            Approval::Deny => {
                return answer(
                    "The user did not approve the plan. Stay in plan mode: ask what to change, \
                     or revise the plan and present it again."
                        .into(),
                    true,
                );
            }
            Approval::DenyWithFeedback { feedback } => {
                return answer(
                    format!(
                        "The user did not approve the plan: {feedback}\nStay in plan mode, \
                         revise the plan and present it again."
                    ),
                    true,
                );
            }
        };
        self.policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .mode = mode;
        events.emit(AgentEvent::PlanApproved { plan, mode });
        answer(
            format!(
                "The user approved the plan. Permission mode is now `{}`. Carry it out step by \
                 step, keeping the todo list current, and verify the result.",
                mode.as_str()
            ),
            false,
        )
    }
}
