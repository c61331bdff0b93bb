//! What the mock server saw: one [`RecordedRequest`] per model request.

use std::time::Instant;

use cuervo_domain::Message;
use serde_json::Value;

/// Which provider API a request spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// `POST /v1/messages`
    Anthropic,
    /// `POST /v1/chat/completions`
    OpenAiChat,
}

/// A model request as received: recorded before any check, so rejected requests (401,
/// 400) are here too.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body; a body that is not JSON is kept as a JSON string.
    pub body: Value,
    pub received_at: Instant,
    pub format: WireFormat,
}

impl RecordedRequest {
    /// The first header with this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The conversation of the request as domain messages, whatever the wire format.
    ///
    /// Anthropic: a user message's `tool_result` blocks become a `Role::Tool` message, and
    /// its other blocks a user message after it. OpenAI: consecutive `role: "tool"`
    /// messages become one `Role::Tool` message; `reasoning_content` becomes a thinking
    /// block; arguments are parsed from their JSON string. System prompts are left out
    /// (see [`RecordedRequest::system`]); images and other blocks are dropped.
    pub fn messages(&self) -> Vec<Message> {
        match self.format {
            WireFormat::Anthropic => crate::anthropic::to_domain(&self.body),
            WireFormat::OpenAiChat => crate::openai::to_domain(&self.body),
        }
    }

    /// The system prompt: Anthropic's top-level `system` (string or text blocks), or the
    /// OpenAI `system`/`developer` messages, joined with newlines.
    pub fn system(&self) -> Option<String> {
        let texts: Vec<String> = match self.format {
            WireFormat::Anthropic => match self.body.get("system") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(blocks)) => blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            },
            WireFormat::OpenAiChat => self
                .body
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|m| {
                    matches!(
                        m.get("role").and_then(Value::as_str),
                        Some("system" | "developer")
                    )
                })
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .map(str::to_string)
                .collect(),
        };
        (!texts.is_empty()).then(|| texts.join("\n"))
    }

    /// The `model` field of the body.
    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }

    /// Whether the request asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.body.get("stream").and_then(Value::as_bool) == Some(true)
    }

    /// The names of the tools offered to the model (either format).
    pub fn tool_names(&self) -> Vec<String> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                t.get("name")
                    .or_else(|| t.get("function").and_then(|f| f.get("name")))
                    .and_then(Value::as_str)
            })
            .map(str::to_string)
            .collect()
    }

    /// Panics with a description unless every tool result of the conversation answers a
    /// call of the assistant message before it.
    pub fn assert_tool_pairing(&self) {
        if let Err(e) = cuervo_domain::check_tool_pairing(&self.messages()) {
            panic!(
                "tool pairing violated in {} {}: {e}\nbody: {}",
                self.method, self.path, self.body
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::Role;
    use serde_json::json;

    fn request(format: WireFormat, body: Value) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/v1/x".into(),
            headers: vec![("x-api-key".into(), "k".into())],
            body,
            received_at: Instant::now(),
            format,
        }
    }

    #[test]
    fn accessors_read_both_formats() {
        let a = request(
            WireFormat::Anthropic,
            json!({"model": "claude", "stream": true, "system": [{"type": "text", "text": "sys"}],
                   "tools": [{"name": "read", "input_schema": {}}], "messages": []}),
        );
        assert_eq!(a.header("X-API-KEY"), Some("k"));
        assert_eq!(a.system().as_deref(), Some("sys"));
        assert_eq!(a.tool_names(), vec!["read"]);
        assert!(a.is_stream());
        let o = request(
            WireFormat::OpenAiChat,
            json!({"model": "gpt", "tools": [{"type": "function", "function": {"name": "bash"}}],
                   "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}),
        );
        assert_eq!(o.model(), Some("gpt"));
        assert_eq!(o.system().as_deref(), Some("s"));
        assert_eq!(o.tool_names(), vec!["bash"]);
        assert_eq!(o.messages()[0].role, Role::User);
        assert!(!o.is_stream());
    }

    #[test]
    #[should_panic(expected = "tool pairing violated")]
    fn assert_tool_pairing_panics_on_orphans() {
        request(
            WireFormat::OpenAiChat,
            json!({"messages": [{"role": "user", "content": "u"}, {"role": "tool", "tool_call_id": "x", "content": "r"}]}),
        )
        .assert_tool_pairing();
    }
}
