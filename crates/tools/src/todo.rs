//! `todo`: the task list the model keeps its plan in.
//!
//! Each call sends the whole list (as Claude Code's TodoWrite does), so the list can never
//! drift from what the model believes: no ids, no partial updates. The tool keeps no state;
//! it checks the list and reports it as an effect, which the agent loop turns into a
//! `todo_updated` event for the front ends (a live list in the terminal UI, a line in
//! stream-json).

use cuervo_domain::{
    BoxFuture, Effect, PermissionLevel, TodoItem, TodoStatus, Tool, ToolAction, ToolContext,
    ToolError, ToolOutput,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::input;

const NAME: &str = "todo";
/// Items a list may hold: a plan longer than this wants splitting into phases.
pub const MAX_TODO_ITEMS: usize = 50;
/// Characters an item may hold.
const MAX_ITEM_CHARS: usize = 500;

/// The model's task list.
#[derive(Debug, Clone, Copy, Default)]
pub struct TodoTool;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    todos: Vec<Item>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    content: String,
    status: TodoStatus,
}

fn items(input: &Value) -> Result<Vec<TodoItem>, ToolError> {
    let input: Input = input::parse(NAME, input)?;
    if input.todos.len() > MAX_TODO_ITEMS {
        return Err(ToolError::InvalidInput(format!(
            "todo: {} items; keep the list to {MAX_TODO_ITEMS} or fewer (group small steps)",
            input.todos.len()
        )));
    }
    input
        .todos
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let content = item.content.trim();
            if content.is_empty() {
                return Err(ToolError::InvalidInput(format!(
                    "todo: item {} is empty; every item needs a description",
                    i + 1
                )));
            }
            Ok(TodoItem {
                content: content.chars().take(MAX_ITEM_CHARS).collect(),
                status: item.status,
            })
        })
        .collect()
}

impl Tool for TodoTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Keep your task list for multi-step work: send the whole list every time, each item \
         with status pending, in_progress or done. Write it when a task needs three or more \
         steps; mark an item in_progress before starting it (one at a time) and done as soon \
         as it is finished and verified; add items you discover. The user sees the list live."
    }

    /// Keeping a list changes nothing outside the conversation.
    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadOnly
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "todos": {
                    "type": "array",
                    "description": "the whole list, in order",
                    "items": {
                        "type": "object",
                        "properties": {
                            "content": {"type": "string", "description": "what to do, imperative"},
                            "status": {"type": "string", "enum": ["pending", "in_progress", "done"]}
                        },
                        "required": ["content", "status"],
                        "additionalProperties": false
                    }
                }
            },
            "required": ["todos"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, _ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let items = items(input)?;
        Ok(ToolAction {
            summary: format!("update the task list ({})", counts(&items)),
            ..ToolAction::default()
        })
    }

    fn execute<'a>(
        &'a self,
        input: Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let items = items(&input)?;
            let mut content = format!("Task list updated: {}.", counts(&items));
            if let Some(next) = items.iter().find(|i| i.status == TodoStatus::InProgress) {
                content.push_str(&format!(" In progress: {}.", next.content));
            }
            Ok(ToolOutput {
                content,
                is_error: false,
                effects: vec![Effect::TodoUpdated { items }],
            })
        })
    }
}

/// `2 done, 1 in progress, 3 pending`.
fn counts(items: &[TodoItem]) -> String {
    let count = |status| items.iter().filter(|i| i.status == status).count();
    format!(
        "{} done, {} in progress, {} pending",
        count(TodoStatus::Done),
        count(TodoStatus::InProgress),
        count(TodoStatus::Pending)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_whole_list_comes_back_as_an_effect() {
        let input = json!({"todos": [
            {"content": "read the retry code", "status": "done"},
            {"content": "add the breaker", "status": "in_progress"},
            {"content": "  write tests ", "status": "pending"}
        ]});
        let ctx = ToolContext::new(std::env::temp_dir());
        let action = TodoTool.validate(&input, &ctx).expect("valid");
        assert_eq!(
            action.summary,
            "update the task list (1 done, 1 in progress, 1 pending)"
        );
        let out = TodoTool.execute(input, &ctx).await.expect("runs");
        assert!(
            out.content.contains("In progress: add the breaker."),
            "{}",
            out.content
        );
        let Some(Effect::TodoUpdated { items }) = out.effects.first() else {
            panic!("a todo effect: {:?}", out.effects);
        };
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].content, "write tests");
        assert_eq!(items[1].status, TodoStatus::InProgress);
    }

    #[test]
    fn bad_lists_are_refused_with_what_to_fix() {
        let ctx = ToolContext::new(std::env::temp_dir());
        for (input, want) in [
            (
                json!({"todos": [{"content": " ", "status": "pending"}]}),
                "item 1 is empty",
            ),
            (
                json!({"todos": [{"content": "x", "status": "later"}]}),
                "unknown variant",
            ),
            (json!({"items": []}), "unknown field"),
        ] {
            let error = TodoTool.validate(&input, &ctx).expect_err("refused");
            assert!(error.to_string().contains(want), "{want}: {error}");
        }
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"content": format!("step {i}"), "status": "pending"}))
            .collect();
        let error = TodoTool
            .validate(&json!({"todos": many}), &ctx)
            .expect_err("too long");
        assert!(error.to_string().contains("50 or fewer"), "{error}");
    }
}
