//! Widgets of the agent team: a sub-agent as one folded, live-updating line, and the
//! model's task list.

use std::time::Duration;

use cuervo_domain::{AgentStatus, TodoItem, TodoStatus};

use crate::format::thousands;
use crate::style::{Color, Line, Style};

/// What a front end knows of one sub-agent while it works and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAgentView {
    /// `explorer-2`.
    pub id: String,
    /// `explorer`.
    pub agent: String,
    /// The few words the delegating model gave (`find the retry code`).
    pub description: String,
    pub status: AgentStatus,
    /// What it is doing now (`read src/retry.rs`), or its last action.
    pub activity: String,
    pub tool_calls: u32,
    pub output_tokens: u64,
}

/// `⏺ explorer-2 · find the retry code · 3 tool calls · read src/retry.rs` — one line that
/// changes in place while the sub-agent works, and stays folded once it is done.
pub fn sub_agent(view: &SubAgentView, elapsed: Duration) -> Line {
    let (mark, style) = match view.status {
        AgentStatus::Running | AgentStatus::Idle => ("⏺ ", Style::fg(Color::Cyan)),
        AgentStatus::Completed => ("✓ ", Style::fg(Color::Green)),
        AgentStatus::Failed => ("✗ ", Style::fg(Color::Red)),
        AgentStatus::Cancelled => ("■ ", Style::PLAIN.dim()),
    };
    let mut line = Line::styled(mark, style);
    line.push(view.id.clone(), Style::PLAIN.bold());
    if !view.description.is_empty() {
        line.push(format!(" · {}", view.description), Style::PLAIN);
    }
    let mut detail = format!(
        " · {} tool call{}",
        view.tool_calls,
        if view.tool_calls == 1 { "" } else { "s" }
    );
    if view.output_tokens > 0 {
        detail.push_str(&format!(" · ↓ {} tokens", thousands(view.output_tokens)));
    }
    detail.push_str(&format!(" · {:.1} s", elapsed.as_secs_f64()));
    match view.status {
        AgentStatus::Running | AgentStatus::Idle if !view.activity.is_empty() => {
            detail.push_str(&format!(" · {}", view.activity));
        }
        AgentStatus::Running | AgentStatus::Idle | AgentStatus::Completed => {}
        other => detail.push_str(&format!(" · {}", other.as_str())),
    }
    line.push(detail, Style::PLAIN.dim());
    line
}

/// The task list: `☐` pending, `◐` in progress (bold), `☑` done (dim).
pub fn todo_list(items: &[TodoItem]) -> Vec<Line> {
    items
        .iter()
        .map(|item| match item.status {
            TodoStatus::Pending => Line::plain(format!("  ☐ {}", item.content)),
            TodoStatus::InProgress => {
                Line::styled(format!("  ◐ {}", item.content), Style::PLAIN.bold())
            }
            TodoStatus::Done => Line::styled(format!("  ☑ {}", item.content), Style::PLAIN.dim()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(status: AgentStatus) -> SubAgentView {
        SubAgentView {
            id: "explorer-2".into(),
            agent: "explorer".into(),
            description: "find the retry code".into(),
            status,
            activity: "read src/retry.rs".into(),
            tool_calls: 3,
            output_tokens: 1234,
        }
    }

    #[test]
    fn a_running_sub_agent_shows_what_it_does_and_a_finished_one_folds() {
        let running = sub_agent(&view(AgentStatus::Running), Duration::from_millis(3200));
        assert_eq!(
            running.text(),
            "⏺ explorer-2 · find the retry code · 3 tool calls · ↓ 1,234 tokens · 3.2 s · read src/retry.rs"
        );
        let done = sub_agent(&view(AgentStatus::Completed), Duration::from_secs(5));
        assert!(done.text().starts_with("✓ explorer-2"), "{}", done.text());
        assert!(!done.text().contains("read src/retry.rs"));
        let failed = sub_agent(&view(AgentStatus::Failed), Duration::from_secs(5));
        assert!(failed.text().ends_with("· failed"), "{}", failed.text());
    }

    #[test]
    fn the_task_list_marks_each_state() {
        let items = [
            TodoItem {
                content: "read".into(),
                status: TodoStatus::Done,
            },
            TodoItem {
                content: "change".into(),
                status: TodoStatus::InProgress,
            },
            TodoItem {
                content: "test".into(),
                status: TodoStatus::Pending,
            },
        ];
        let text: Vec<String> = todo_list(&items).iter().map(Line::text).collect();
        assert_eq!(text, ["  ☑ read", "  ◐ change", "  ☐ test"]);
    }
}
