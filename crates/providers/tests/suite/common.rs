//! Helpers shared by the suites: settings pointing at the mock, a sample request, and
//! ways to look at a chunk stream.

use std::sync::Arc;
use std::time::Duration;

use cuervo_domain::{
    ContentBlock, Message, ModelChunk, ModelError, ModelProvider, ModelRequest, Role, StopReason,
    ToolCall, ToolResult, ToolSpec,
};
use cuervo_providers::{ProviderSettings, RetryPolicy, WireKind, build_provider};
use cuervo_testkit::MockServer;
use futures::StreamExt;
use serde_json::json;

pub const KEY: &str = "test-key";
pub const KEY_ENV: &str = "MOCK_API_KEY";

/// Fast retries and short timeouts, so failure tests take milliseconds.
pub fn settings(kind: WireKind, server: &MockServer) -> ProviderSettings {
    let base = match kind {
        WireKind::Anthropic => server.anthropic_base_url(),
        WireKind::OpenAiChat => server.openai_base_url(),
    };
    let name = match kind {
        WireKind::Anthropic => "anthropic",
        WireKind::OpenAiChat => "openai",
    };
    let mut settings = ProviderSettings::new(name, kind, base).with_api_key(KEY);
    settings.api_key_env = Some(KEY_ENV.into());
    settings.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
    };
    settings.request_timeout = Duration::from_secs(5);
    settings.idle_timeout = Duration::from_secs(5);
    settings
}

pub fn provider(kind: WireKind, server: &MockServer) -> Arc<dyn ModelProvider> {
    build_provider(settings(kind, server)).unwrap()
}

pub fn request(stream: bool) -> ModelRequest {
    ModelRequest {
        model: "mock-model".into(),
        system: Some("You are a test.".into()),
        messages: vec![Message::user("Say hello.")],
        tools: vec![ToolSpec {
            name: "read".into(),
            description: "Reads a file.".into(),
            input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        }],
        max_tokens: 256,
        temperature: None,
        stream,
    }
}

/// A follow-up request carrying a tool call and its result, which the mock checks.
pub fn follow_up(stream: bool) -> ModelRequest {
    let mut request = request(stream);
    request.messages.push(Message {
        role: Role::Assistant,
        content: vec![
            ContentBlock::Text {
                text: "Reading.".into(),
            },
            ContentBlock::ToolUse(ToolCall {
                id: "call_1".into(),
                name: "read".into(),
                input: json!({"path": "README.md"}),
            }),
        ],
    });
    request
        .messages
        .push(Message::tool_results(vec![ToolResult {
            call_id: "call_1".into(),
            content: "# Hello".into(),
            is_error: false,
        }]));
    request
}

pub async fn collect(
    provider: &dyn ModelProvider,
    request: ModelRequest,
) -> Vec<Result<ModelChunk, ModelError>> {
    provider.invoke(request).collect().await
}

/// Every chunk, or the first error.
pub fn chunks(items: Vec<Result<ModelChunk, ModelError>>) -> Vec<ModelChunk> {
    items.into_iter().collect::<Result<Vec<_>, _>>().unwrap()
}

/// The one error a failed stream ends with (after any chunks).
pub fn error(items: Vec<Result<ModelChunk, ModelError>>) -> ModelError {
    items
        .into_iter()
        .find_map(Result::err)
        .expect("the stream should end with an error")
}

pub fn text(chunks: &[ModelChunk]) -> String {
    chunks
        .iter()
        .filter_map(|c| match c {
            ModelChunk::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

pub fn thinking(chunks: &[ModelChunk]) -> String {
    chunks
        .iter()
        .filter_map(|c| match c {
            ModelChunk::Thinking { thinking } => Some(thinking.as_str()),
            _ => None,
        })
        .collect()
}

pub fn tool_calls(chunks: &[ModelChunk]) -> Vec<ToolCall> {
    chunks
        .iter()
        .filter_map(|c| match c {
            ModelChunk::ToolUse { call } => Some(call.clone()),
            _ => None,
        })
        .collect()
}

pub fn stop(chunks: &[ModelChunk]) -> StopReason {
    match chunks.last() {
        Some(ModelChunk::Stop { reason }) => reason.clone(),
        other => panic!("the last chunk should be Stop, got {other:?}"),
    }
}

pub fn has_usage(chunks: &[ModelChunk]) -> bool {
    chunks.iter().any(|c| {
        matches!(c, ModelChunk::Usage { usage } if usage.input_tokens > 0 && usage.output_tokens > 0)
    })
}
