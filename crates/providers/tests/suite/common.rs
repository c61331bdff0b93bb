//! Helpers shared by the suites: settings pointing at the mock, a sample request, and
//! ways to look at a chunk stream.

use std::sync::Arc;
use std::time::Duration;

use cuervo_domain::{
    ContentBlock, Message, ModelChunk, ModelError, ModelProvider, ModelRequest, Role, StopReason,
    ToolCall, ToolResult, ToolSpec,
};
use cuervo_providers::{ProviderSettings, RetryPolicy, WireKind, build_provider};
use cuervo_testkit::{MockServer, Script, Turn};
use futures::StreamExt;
use serde_json::json;

pub const KEY: &str = "test-key";
pub const KEY_ENV: &str = "MOCK_API_KEY";

/// Every wire protocol, for tests that hold for all of them.
pub const ALL_KINDS: [WireKind; 5] = [
    WireKind::Anthropic,
    WireKind::OpenAiChat,
    WireKind::OpenAiResponses,
    WireKind::Gemini,
    WireKind::Ollama,
];

/// Fast retries and short timeouts, so failure tests take milliseconds.
pub fn settings(kind: WireKind, server: &MockServer) -> ProviderSettings {
    let base = match kind {
        WireKind::Anthropic => server.anthropic_base_url(),
        WireKind::OpenAiChat | WireKind::OpenAiResponses => server.openai_base_url(),
        WireKind::Gemini => server.gemini_base_url(),
        WireKind::Ollama => server.ollama_base_url(),
    };
    let name = match kind {
        WireKind::Anthropic => "anthropic",
        WireKind::OpenAiChat | WireKind::OpenAiResponses => "openai",
        WireKind::Gemini => "gemini",
        WireKind::Ollama => "ollama",
    };
    let mut settings = ProviderSettings::new(name, kind, base).with_api_key(KEY);
    settings.api_key_env = Some(KEY_ENV.into());
    settings.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        deadline: None,
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
        thinking_budget: None,
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

/// One call to a `kind` provider against a mock playing `turns`: the mock (to look at
/// what was sent) and every chunk of the reply.
pub async fn answer(
    kind: WireKind,
    turns: Vec<Turn>,
    request: ModelRequest,
) -> (MockServer, Vec<ModelChunk>) {
    let server = MockServer::start(Script::new(turns)).await.unwrap();
    let reply = chunks(collect(&*provider(kind, &server), request).await);
    (server, reply)
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

/// The assistant message a stream of chunks stands for, assembled the way the agent loop
/// does: text and thinking deltas merged, signatures and encrypted reasoning closing the
/// thinking block they follow (or standing alone), tool calls in order.
pub fn assemble(chunks: &[ModelChunk]) -> Message {
    let mut content: Vec<ContentBlock> = Vec::new();
    for chunk in chunks {
        match chunk.clone() {
            ModelChunk::Text { text } => match content.last_mut() {
                Some(ContentBlock::Text { text: last }) => last.push_str(&text),
                _ => content.push(ContentBlock::Text { text }),
            },
            ModelChunk::Thinking { thinking } => match content.last_mut() {
                Some(ContentBlock::Thinking {
                    thinking: last,
                    signature: None,
                    encrypted: None,
                }) => last.push_str(&thinking),
                _ => content.push(ContentBlock::Thinking {
                    thinking,
                    signature: None,
                    encrypted: None,
                }),
            },
            ModelChunk::ThinkingSignature { signature } => {
                if let Some(ContentBlock::Thinking {
                    signature: slot, ..
                }) = content.last_mut()
                {
                    *slot = Some(signature);
                }
            }
            ModelChunk::ThinkingEncrypted { encrypted } => match content.last_mut() {
                Some(ContentBlock::Thinking {
                    encrypted: slot @ None,
                    ..
                }) => *slot = Some(encrypted),
                _ => content.push(ContentBlock::Thinking {
                    thinking: String::new(),
                    signature: None,
                    encrypted: Some(encrypted),
                }),
            },
            ModelChunk::ToolUse { call } => content.push(ContentBlock::ToolUse(call)),
            _ => {}
        }
    }
    Message {
        role: Role::Assistant,
        content,
    }
}

/// A provider built from `settings` changed by `change`.
pub fn provider_with(
    kind: WireKind,
    server: &MockServer,
    change: impl FnOnce(&mut ProviderSettings),
) -> Arc<dyn ModelProvider> {
    let mut settings = settings(kind, server);
    change(&mut settings);
    build_provider(settings).unwrap()
}

/// A one-pixel PNG, base64.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// A user message with text and an image.
pub fn with_image(text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![
            ContentBlock::Text { text: text.into() },
            ContentBlock::Image {
                media_type: "image/png".into(),
                data_base64: PNG.into(),
            },
        ],
    }
}
