//! The conversation: roles, content blocks, tool calls and their results.
//!
//! The shape is the union of what the providers accept, normalised: a message is a role
//! plus ordered blocks. Provider adapters translate to and from their wire formats; the
//! agent loop only ever sees these types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who said a message. Tool results travel in a [`Role::Tool`] message right after the
/// assistant message that asked for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    Tool,
}

/// A tool invocation the model asked for. `input` is the parsed JSON arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub input: Value,
}

/// The answer to one [`ToolCall`], paired with it by `call_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call_id: String,
    pub content: String,
    pub is_error: bool,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    /// Model reasoning. `signature` is the provider's opaque proof (Anthropic) that must
    /// be sent back unchanged with the block on the next turn.
    Thinking {
        thinking: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    ToolUse(ToolCall),
    ToolResult(ToolResult),
}

/// A message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

impl Message {
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: vec![ContentBlock::Text { text: text.into() }],
        }
    }

    pub fn assistant_text(text: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: vec![ContentBlock::Text { text: text.into() }],
        }
    }

    pub fn tool_results(results: Vec<ToolResult>) -> Self {
        Self {
            role: Role::Tool,
            content: results.into_iter().map(ContentBlock::ToolResult).collect(),
        }
    }

    /// All text blocks joined, ignoring thinking and tool blocks.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.content.iter().filter_map(|b| match b {
            ContentBlock::ToolUse(call) => Some(call),
            _ => None,
        })
    }

    pub fn tool_results_iter(&self) -> impl Iterator<Item = &ToolResult> {
        self.content.iter().filter_map(|b| match b {
            ContentBlock::ToolResult(result) => Some(result),
            _ => None,
        })
    }
}

/// Checks the invariant every provider enforces: each tool call of an assistant message is
/// answered, in the very next message, by exactly one result with its id, and no result
/// answers a call that was not made. Returns a description of the first violation.
pub fn check_tool_pairing(messages: &[Message]) -> Result<(), String> {
    for (i, message) in messages.iter().enumerate() {
        let results: Vec<&ToolResult> = message.tool_results_iter().collect();
        if !results.is_empty() {
            let calls: Vec<&ToolCall> = match i.checked_sub(1).map(|p| &messages[p]) {
                Some(prev) if prev.role == Role::Assistant => prev.tool_calls().collect(),
                _ => Vec::new(),
            };
            for result in &results {
                if !calls.iter().any(|c| c.id == result.call_id) {
                    return Err(format!(
                        "message {i}: tool result for `{}` answers no call of the previous assistant message",
                        result.call_id
                    ));
                }
            }
        }
        if message.role == Role::Assistant {
            let next_results: Vec<&ToolResult> = messages
                .get(i + 1)
                .map(|m| m.tool_results_iter().collect())
                .unwrap_or_default();
            for call in message.tool_calls() {
                let answers = next_results.iter().filter(|r| r.call_id == call.id).count();
                if answers != 1 && i + 1 < messages.len() {
                    return Err(format!(
                        "message {i}: tool call `{}` ({}) has {answers} results in the next message, expected 1",
                        call.id, call.name
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(id: &str) -> ContentBlock {
        ContentBlock::ToolUse(ToolCall {
            id: id.into(),
            name: "read".into(),
            input: json!({}),
        })
    }

    fn result(id: &str) -> ToolResult {
        ToolResult {
            call_id: id.into(),
            content: "ok".into(),
            is_error: false,
        }
    }

    #[test]
    fn paired_calls_pass() {
        let msgs = vec![
            Message::user("hi"),
            Message {
                role: Role::Assistant,
                content: vec![call("a"), call("b")],
            },
            Message::tool_results(vec![result("b"), result("a")]),
        ];
        assert_eq!(check_tool_pairing(&msgs), Ok(()));
    }

    #[test]
    fn missing_result_fails() {
        let msgs = vec![
            Message {
                role: Role::Assistant,
                content: vec![call("a"), call("b")],
            },
            Message::tool_results(vec![result("a")]),
        ];
        assert!(check_tool_pairing(&msgs).unwrap_err().contains("`b`"));
    }

    #[test]
    fn orphan_result_fails() {
        let msgs = vec![
            Message::user("hi"),
            Message::tool_results(vec![result("zzz")]),
        ];
        assert!(check_tool_pairing(&msgs).unwrap_err().contains("zzz"));
    }

    #[test]
    fn trailing_unanswered_call_is_allowed_mid_turn() {
        let msgs = vec![Message {
            role: Role::Assistant,
            content: vec![call("a")],
        }];
        assert_eq!(check_tool_pairing(&msgs), Ok(()));
    }

    #[test]
    fn text_joins_text_blocks_only() {
        let m = Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Thinking {
                    thinking: "hmm".into(),
                    signature: None,
                },
                ContentBlock::Text { text: "a".into() },
                call("x"),
                ContentBlock::Text { text: "b".into() },
            ],
        };
        assert_eq!(m.text(), "ab");
    }
}
