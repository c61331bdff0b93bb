//! The agent team in the terminal UI: each sub-agent as one live line while it works,
//! folded into one line of the scrollback when it is done, and the model's task list kept
//! live above the prompt.

use std::collections::HashMap;
use std::time::Instant;

use cuervo_domain::{AgentEvent, AgentStatus, TodoItem, TodoStatus};
use cuervo_tui::format::call_summary;
use cuervo_tui::style::{Line, Style};
use cuervo_tui::team::{SubAgentView, sub_agent, todo_list};

/// Rows the task list may take in the live area; a longer list shows the items around
/// the one in progress.
const TODO_ROWS: usize = 8;

struct Member {
    view: SubAgentView,
    started: Instant,
}

/// Sub-agents at work and the task list, from the conversation's events.
#[derive(Default)]
pub struct Team {
    running: Vec<Member>,
    /// What each `task` call asked for, by call id (the sub-agent's events name the call).
    descriptions: HashMap<String, String>,
    todos: Vec<TodoItem>,
    todos_changed: bool,
}

impl Team {
    /// Takes in one event; returns what goes into the scrollback (a sub-agent that ended,
    /// folded into one line).
    pub fn on_event(&mut self, event: &AgentEvent) -> Vec<Line> {
        match event {
            AgentEvent::ToolCall { call } if call.name == cuervo_core::delegate::TASK_TOOL => {
                let description = call
                    .input
                    .get("description")
                    .and_then(|d| d.as_str())
                    .unwrap_or_default()
                    .to_owned();
                self.descriptions.insert(call.id.clone(), description);
                Vec::new()
            }
            AgentEvent::TodoUpdated { items } => {
                self.todos.clone_from(items);
                self.todos_changed = true;
                Vec::new()
            }
            AgentEvent::SubAgent {
                id,
                agent,
                call_id,
                event,
            } => self.sub_agent_event(id, agent, call_id, event),
            _ => Vec::new(),
        }
    }

    fn sub_agent_event(
        &mut self,
        id: &str,
        agent: &str,
        call_id: &str,
        event: &AgentEvent,
    ) -> Vec<Line> {
        // A sub-agent's own delegations and task list are shown like the main agent's.
        if matches!(
            event,
            AgentEvent::SubAgent { .. } | AgentEvent::TodoUpdated { .. }
        ) {
            return self.on_event(event);
        }
        if let AgentEvent::ToolCall { call } = event
            && call.name == cuervo_core::delegate::TASK_TOOL
        {
            self.on_event(event);
        }
        let index = match self.running.iter().position(|m| m.view.id == id) {
            Some(index) => index,
            None => {
                self.running.push(Member {
                    view: SubAgentView {
                        id: id.to_owned(),
                        agent: agent.to_owned(),
                        description: self.descriptions.get(call_id).cloned().unwrap_or_default(),
                        status: AgentStatus::Running,
                        activity: String::new(),
                        tool_calls: 0,
                        output_tokens: 0,
                    },
                    started: Instant::now(),
                });
                self.running.len() - 1
            }
        };
        let member = &mut self.running[index];
        match event {
            AgentEvent::ToolCall { call } => {
                member.view.tool_calls += 1;
                member.view.activity = call_summary(&call.name, &call.input);
            }
            AgentEvent::TextDelta { .. } => member.view.activity = "writing".into(),
            AgentEvent::TurnCompleted { usage, .. } => {
                member.view.output_tokens += usage.output_tokens;
            }
            _ => {}
        }
        if let Some(status) = AgentStatus::after(event) {
            member.view.status = status;
        }
        if matches!(member.view.status, AgentStatus::Running | AgentStatus::Idle) {
            return Vec::new();
        }
        let member = self.running.remove(index);
        vec![sub_agent(&member.view, member.started.elapsed())]
    }

    /// The live rows: sub-agents at work, then the task list.
    pub fn live(&self) -> Vec<Line> {
        let now = Instant::now();
        let mut rows: Vec<Line> = self
            .running
            .iter()
            .map(|m| sub_agent(&m.view, now.duration_since(m.started)))
            .collect();
        if !self.todos.is_empty() {
            let lines = todo_list(&self.todos);
            let focus = self
                .todos
                .iter()
                .position(|i| i.status == TodoStatus::InProgress)
                .unwrap_or(0);
            let start = focus
                .saturating_sub(TODO_ROWS / 2)
                .min(lines.len().saturating_sub(TODO_ROWS));
            rows.extend(lines.into_iter().skip(start).take(TODO_ROWS));
        }
        rows
    }

    /// The turn ended: anything still shown as running stops, and the task list goes into
    /// the scrollback once if it changed.
    pub fn end_turn(&mut self) -> Vec<Line> {
        let mut lines: Vec<Line> = self
            .running
            .drain(..)
            .map(|mut m| {
                m.view.status = AgentStatus::Cancelled;
                sub_agent(&m.view, m.started.elapsed())
            })
            .collect();
        self.descriptions.clear();
        if self.todos_changed && !self.todos.is_empty() {
            lines.push(Line::styled("Tasks:", Style::PLAIN.dim()));
            lines.extend(todo_list(&self.todos));
            self.todos_changed = false;
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{StopCause, ToolCall, Usage};
    use serde_json::json;

    fn wrapped(id: &str, event: AgentEvent) -> AgentEvent {
        AgentEvent::SubAgent {
            id: id.into(),
            agent: "explorer".into(),
            call_id: "t1".into(),
            event: Box::new(event),
        }
    }

    #[test]
    fn a_sub_agent_is_one_live_line_then_one_folded_line() {
        let mut team = Team::default();
        team.on_event(&AgentEvent::ToolCall {
            call: ToolCall {
                id: "t1".into(),
                name: "task".into(),
                input: json!({"agent": "explorer", "description": "find the retry code", "prompt": "…"}),
            },
        });
        let started = AgentEvent::AgentStarted {
            session_id: "explorer-1".into(),
            provider: "p".into(),
            model: "m".into(),
        };
        assert!(team.on_event(&wrapped("explorer-1", started)).is_empty());
        team.on_event(&wrapped(
            "explorer-1",
            AgentEvent::ToolCall {
                call: ToolCall {
                    id: "c1".into(),
                    name: "read".into(),
                    input: json!({"path": "src/retry.rs"}),
                },
            },
        ));
        let live: Vec<String> = team.live().iter().map(Line::text).collect();
        assert_eq!(live.len(), 1);
        assert!(
            live[0].contains("explorer-1 · find the retry code · 1 tool call"),
            "{live:?}"
        );
        assert!(live[0].contains("src/retry.rs"), "{live:?}");

        let done = team.on_event(&wrapped(
            "explorer-1",
            AgentEvent::AgentCompleted {
                cause: StopCause::Completed,
                turns: 2,
                usage: Usage::default(),
                result: "found it".into(),
            },
        ));
        assert_eq!(done.len(), 1);
        assert!(
            done[0].text().starts_with("✓ explorer-1"),
            "{}",
            done[0].text()
        );
        assert!(team.live().is_empty(), "folded away from the live area");
    }

    #[test]
    fn the_task_list_is_live_and_printed_once_when_the_turn_ends() {
        let mut team = Team::default();
        team.on_event(&AgentEvent::TodoUpdated {
            items: vec![
                TodoItem {
                    content: "read".into(),
                    status: TodoStatus::Done,
                },
                TodoItem {
                    content: "fix".into(),
                    status: TodoStatus::InProgress,
                },
            ],
        });
        let live: Vec<String> = team.live().iter().map(Line::text).collect();
        assert_eq!(live, ["  ☑ read", "  ◐ fix"]);
        let end: Vec<String> = team.end_turn().iter().map(Line::text).collect();
        assert_eq!(end, ["Tasks:", "  ☑ read", "  ◐ fix"]);
        assert!(team.end_turn().is_empty(), "printed once");
    }
}
