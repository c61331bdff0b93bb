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

/// The one key of a [`ToolCall::input`] that stands for arguments which did not parse as
/// JSON: cut off by the output limit, or malformed. Such a call stays in the conversation
/// (its input is still a JSON object, so every provider accepts it back) and is answered
/// with an error result; it never runs.
pub const INVALID_ARGUMENTS_KEY: &str = "__cuervo_invalid_arguments";

/// Characters of unparsable arguments kept with the call, so the model (and a person
/// reading the session) can tell which call it was without the whole text.
const INVALID_ARGUMENTS_KEPT_CHARS: usize = 200;

/// What was wrong with the arguments of a call made by [`ToolCall::with_invalid_arguments`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArguments {
    /// The parser's complaint.
    pub error: String,
    /// Bytes of argument text received.
    pub length: u64,
    /// The first characters of that text.
    pub start: String,
}

impl ToolCall {
    /// A call whose argument text `raw` is not valid JSON (`error` says why). The input
    /// records the problem under [`INVALID_ARGUMENTS_KEY`] with the start of the text.
    pub fn with_invalid_arguments(
        id: impl Into<String>,
        name: impl Into<String>,
        raw: &str,
        error: impl Into<String>,
    ) -> Self {
        let start: String = raw.chars().take(INVALID_ARGUMENTS_KEPT_CHARS).collect();
        let mut details = serde_json::Map::new();
        details.insert("error".into(), Value::String(error.into()));
        details.insert("length".into(), Value::from(raw.len() as u64));
        details.insert("start".into(), Value::String(start));
        let mut input = serde_json::Map::new();
        input.insert(INVALID_ARGUMENTS_KEY.into(), Value::Object(details));
        Self {
            id: id.into(),
            name: name.into(),
            input: Value::Object(input),
        }
    }

    /// Why this call's arguments could not be used, when they did not parse.
    pub fn invalid_arguments(&self) -> Option<InvalidArguments> {
        let details = self.input.as_object()?.get(INVALID_ARGUMENTS_KEY)?;
        let text = |key: &str| {
            details
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Some(InvalidArguments {
            error: text("error"),
            length: details.get("length").and_then(Value::as_u64).unwrap_or(0),
            start: text("start"),
        })
    }
}

/// The answer to one [`ToolCall`], paired with it by `call_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call_id: String,
    pub content: String,
    pub is_error: bool,
}

/// Reasoning a provider returns in a form only it can read (OpenAI's encrypted reasoning
/// items, Gemini's thought signatures, Anthropic's redacted thinking). It must go back
/// unchanged with the next request, and only to the protocol that produced it: `format`
/// names that protocol, and each adapter sends back its own formats and drops the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedReasoning {
    /// The wire protocol that produced `data` (adapters define the values).
    pub format: String,
    /// The opaque payload, byte for byte.
    pub data: String,
}

impl EncryptedReasoning {
    /// OpenAI Responses API reasoning items (`encrypted_content`, with `store: false`).
    pub const OPENAI_RESPONSES: &'static str = "openai-responses";
    /// Gemini thought signatures (`thoughtSignature` on a part).
    pub const GEMINI: &'static str = "gemini";
    /// Anthropic `redacted_thinking` blocks (`data`).
    pub const ANTHROPIC_REDACTED: &'static str = "anthropic-redacted";

    pub fn new(format: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            format: format.into(),
            data: data.into(),
        }
    }

    /// Whether this reasoning came from the protocol `format`.
    pub fn is(&self, format: &str) -> bool {
        self.format == format
    }
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    /// Model reasoning. `signature` is the provider's opaque proof (Anthropic) that must
    /// be sent back unchanged with the block on the next turn; `encrypted` is reasoning
    /// only the provider can read (see [`EncryptedReasoning`]). Either may come without
    /// visible `thinking` text.
    Thinking {
        thinking: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted: Option<EncryptedReasoning>,
    },
    /// An image the user attached (a file path or a pasted image), base64-encoded.
    /// Providers without vision drop it with a note in the text.
    Image {
        /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
        media_type: String,
        /// The image bytes, standard base64 without a `data:` prefix.
        data_base64: String,
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
    fn old_json_without_new_fields_still_parses() {
        let old = r#"{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"}]}"#;
        let m: Message = serde_json::from_str(old).expect("parses");
        assert_eq!(
            m.content,
            vec![ContentBlock::Thinking {
                thinking: "t".into(),
                signature: Some("s".into()),
                encrypted: None,
            }]
        );
        let image = ContentBlock::Image {
            media_type: "image/png".into(),
            data_base64: "iVBORw0KGgo=".into(),
        };
        let json = serde_json::to_value(&image).expect("serialises");
        assert_eq!(
            json,
            json!({"type": "image", "media_type": "image/png", "data_base64": "iVBORw0KGgo="})
        );
        assert_eq!(
            serde_json::from_value::<ContentBlock>(json).ok(),
            Some(image)
        );
    }

    #[test]
    fn invalid_arguments_are_kept_as_an_object_and_read_back() {
        let raw = format!("{{\"path\": \"a.rs\", \"content\": \"{}", "x".repeat(500));
        let call = ToolCall::with_invalid_arguments("c1", "write", &raw, "EOF while parsing");
        assert!(call.input.is_object(), "providers need an object back");
        let invalid = call.invalid_arguments().expect("marked");
        assert_eq!(invalid.error, "EOF while parsing");
        assert_eq!(invalid.length, raw.len() as u64);
        assert_eq!(invalid.start.chars().count(), 200);
        assert!(invalid.start.starts_with("{\"path\": \"a.rs\""));
        let round_trip: ToolCall =
            serde_json::from_str(&serde_json::to_string(&call).expect("ser")).expect("de");
        assert_eq!(round_trip.invalid_arguments(), Some(invalid));
        let valid = ToolCall {
            id: "c2".into(),
            name: "read".into(),
            input: json!({"path": "a.rs"}),
        };
        assert_eq!(valid.invalid_arguments(), None);
    }

    #[test]
    fn text_joins_text_blocks_only() {
        let m = Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Thinking {
                    thinking: "hmm".into(),
                    signature: None,
                    encrypted: None,
                },
                ContentBlock::Text { text: "a".into() },
                call("x"),
                ContentBlock::Text { text: "b".into() },
            ],
        };
        assert_eq!(m.text(), "ab");
    }
}
