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
    /// `POST /v1/responses`
    OpenAiResponses,
    /// `POST /v1beta/models/{model}:generateContent` (and `:streamGenerateContent`)
    Gemini,
    /// `POST /api/chat`
    Ollama,
}

impl WireFormat {
    /// Every format the mock speaks.
    pub const ALL: [WireFormat; 5] = [
        WireFormat::Anthropic,
        WireFormat::OpenAiChat,
        WireFormat::OpenAiResponses,
        WireFormat::Gemini,
        WireFormat::Ollama,
    ];

    /// Whether tool calls in this format carry ids from the client. Ollama's do not:
    /// results answer calls by position, and [`RecordedRequest::messages`] numbers them.
    pub fn carries_call_ids(self) -> bool {
        !matches!(self, WireFormat::Ollama)
    }
}

/// A model request as received: recorded before any check, so rejected requests (401,
/// 400) are here too.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The query string without `?` (Gemini's `alt=sse`), empty when there is none.
    pub query: String,
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
    /// its other blocks a user message after it. OpenAI Chat: consecutive `role: "tool"`
    /// messages become one `Role::Tool` message; `reasoning_content` becomes a thinking
    /// block; arguments are parsed from their JSON string. Responses: consecutive
    /// assistant items (messages, `reasoning`, `function_call`) make one assistant message,
    /// consecutive `function_call_output` items one `Role::Tool` message. Gemini: a user
    /// turn's `functionResponse` parts become a `Role::Tool` message (`{"error": ...}`
    /// marks a failure), matched to calls by id, else by name and order. Ollama: calls get
    /// ids `ollama_call_{message}_{n}` and `tool` messages answer them in order.
    /// Images (base64) become image blocks; encrypted reasoning (Responses reasoning items,
    /// Gemini thought signatures, Anthropic redacted thinking) becomes thinking blocks.
    /// System prompts are left out (see [`RecordedRequest::system`]).
    pub fn messages(&self) -> Vec<Message> {
        match self.format {
            WireFormat::Anthropic => crate::anthropic::to_domain(&self.body),
            WireFormat::OpenAiChat => crate::openai::to_domain(&self.body),
            WireFormat::OpenAiResponses => crate::responses::to_domain(&self.body),
            WireFormat::Gemini => crate::gemini::to_domain(&self.body),
            WireFormat::Ollama => crate::ollama::to_domain(&self.body),
        }
    }

    /// The system prompt: Anthropic's top-level `system` (string or text blocks), the
    /// OpenAI `system`/`developer` messages, Responses `instructions`, Gemini's
    /// `systemInstruction` or Ollama's `system` messages, joined with newlines.
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
            WireFormat::OpenAiResponses => crate::responses::system(&self.body),
            WireFormat::Gemini => crate::gemini::system(&self.body),
            WireFormat::OpenAiChat | WireFormat::Ollama => self
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

    /// The model: the body's `model` field, or for Gemini the one in the path
    /// (`/v1beta/models/{model}:generateContent`).
    pub fn model(&self) -> Option<&str> {
        match self.format {
            WireFormat::Gemini => crate::gemini::path_model(&self.path).map(|(model, _)| model),
            _ => self.body.get("model").and_then(Value::as_str),
        }
    }

    /// Whether the request asked for a stream: `stream: true`; Gemini by calling
    /// `:streamGenerateContent`; Ollama unless `stream: false` (its default is to stream).
    pub fn is_stream(&self) -> bool {
        let flag = self.body.get("stream").and_then(Value::as_bool);
        match self.format {
            WireFormat::Gemini => self.path.ends_with(":streamGenerateContent"),
            WireFormat::Ollama => flag != Some(false),
            _ => flag == Some(true),
        }
    }

    /// The names of the tools offered to the model (any format).
    pub fn tool_names(&self) -> Vec<String> {
        let tools = self
            .body
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        if self.format == WireFormat::Gemini {
            return tools
                .flat_map(|t| {
                    t.get("functionDeclarations")
                        .or_else(|| t.get("function_declarations"))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .filter_map(|d| d.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
        }
        tools
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
            query: String::new(),
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
