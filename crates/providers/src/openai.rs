//! The OpenAI Chat Completions adapter, also used for DeepSeek and any OpenAI-compatible
//! endpoint: domain ⇄ [`crate::wire::openai`] mapping and the stream decoder. Transport,
//! retries and error mapping live in `transport`.

use std::collections::BTreeMap;

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, ContentBlock, Cost, ModelChunk, ModelError,
    ModelProvider, ModelRequest, Role, StopReason, Usage,
};
use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde_json::json;

use crate::sse::Event;
use crate::transport::{self, Decoder, Framing, Transport};
use crate::wire::openai as wire;
use crate::{ProviderSettings, catalog, embeddings, prepare, pricing};

/// What the Chat Completions and Responses adapters share: the endpoint with bearer
/// auth, `/embeddings` and the `/models` probe.
pub(crate) struct OpenAiEndpoint {
    pub(crate) transport: Transport,
    embedding_model: String,
}

impl OpenAiEndpoint {
    /// Validates `settings` and builds the HTTP client. A key is required when
    /// `api_key_env` names where it should come from; otherwise (a local server) requests
    /// go out without `Authorization`.
    pub(crate) fn new(settings: ProviderSettings) -> crate::Result<Self> {
        let embedding_model = settings
            .embedding_model
            .clone()
            .unwrap_or_else(|| embeddings::OPENAI_DEFAULT_MODEL.to_owned());
        Ok(Self {
            transport: Transport::new(settings, false)?,
            embedding_model,
        })
    }

    pub(crate) fn headers(&self) -> Result<HeaderMap, ModelError> {
        self.transport
            .json_headers(AUTHORIZATION, "Bearer ", HeaderMap::new())
    }

    pub(crate) fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ModelError>> {
        embeddings::openai(
            &self.transport,
            self.transport.url("embeddings"),
            self.headers(),
            &self.embedding_model,
            texts,
        )
    }

    pub(crate) fn is_available(&self) -> BoxFuture<'_, bool> {
        match self.headers() {
            Ok(headers) => self.transport.probe(self.transport.url("models"), headers),
            Err(_) => Box::pin(async { false }),
        }
    }
}

/// [`ModelProvider`] for the OpenAI Chat Completions API and compatible servers.
pub struct OpenAiProvider {
    endpoint: OpenAiEndpoint,
    /// OpenAI itself wants `max_completion_tokens` (its reasoning models reject
    /// `max_tokens`); compatible servers only know `max_tokens`.
    completion_tokens_field: bool,
}

impl OpenAiProvider {
    /// See [`OpenAiEndpoint::new`].
    pub fn new(settings: ProviderSettings) -> crate::Result<Self> {
        Ok(Self {
            completion_tokens_field: settings.base_url.contains("api.openai.com"),
            endpoint: OpenAiEndpoint::new(settings)?,
        })
    }
}

impl ModelProvider for OpenAiProvider {
    fn name(&self) -> &str {
        self.endpoint.transport.name()
    }

    fn capabilities(&self, model: &str) -> Capabilities {
        self.endpoint
            .transport
            .cap_context(catalog::capabilities(model))
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        // Chat Completions has no thinking budget to send (reasoning models think anyway);
        // preparing still replaces images for models known to be blind.
        let request = prepare::prepare(request);
        let transport = &self.endpoint.transport;
        transport.post(
            transport.url("chat/completions"),
            self.endpoint.headers(),
            &to_wire(&request, self.completion_tokens_field),
            request.stream,
            Framing::Sse,
            StreamDecoder::new,
            decode_whole,
        )
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ModelError>> {
        self.endpoint.embed(texts)
    }

    fn is_available(&self) -> BoxFuture<'_, bool> {
        self.endpoint.is_available()
    }

    fn estimate_cost(&self, request: &ModelRequest) -> Option<Cost> {
        pricing::estimate(request)
    }

    fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        pricing::cost(model, usage)
    }
}

/// Maps a domain request to the wire body.
///
/// The system prompt is the first message; each tool result becomes its own `tool`
/// message (a failed one prefixed with `Error: `, since the format has no error flag);
/// thinking is never sent back (DeepSeek rejects `reasoning_content` in input); images go
/// in a user message's content parts as `image_url` data URLs. With
/// `completion_tokens_field` the limit goes in `max_completion_tokens` (api.openai.com),
/// else in `max_tokens`.
pub fn to_wire(request: &ModelRequest, completion_tokens_field: bool) -> wire::ChatRequest {
    let mut messages = Vec::new();
    if let Some(system) = request.system.as_ref().filter(|s| !s.is_empty()) {
        messages.push(wire::ChatMessage::System {
            content: wire::MessageContent::Text(system.clone()),
        });
    }
    for message in &request.messages {
        let mut texts = Vec::new();
        let mut images = Vec::new();
        let mut calls = Vec::new();
        for block in &message.content {
            match block {
                ContentBlock::Text { text } if !text.is_empty() => texts.push(text.as_str()),
                ContentBlock::Image {
                    media_type,
                    data_base64,
                } if message.role != Role::Assistant => {
                    images.push(json!({
                        "type": "image_url",
                        "image_url": {"url": data_url(media_type, data_base64)},
                    }));
                }
                ContentBlock::ToolUse(call) if message.role == Role::Assistant => {
                    calls.push(wire::ToolCall {
                        id: call.id.clone(),
                        kind: wire::function_type(),
                        function: wire::FunctionCall {
                            name: call.name.clone(),
                            arguments: call.input.to_string(),
                        },
                    });
                }
                ContentBlock::ToolResult(result) if message.role != Role::Assistant => {
                    let content = if result.is_error {
                        format!("Error: {}", result.content)
                    } else {
                        result.content.clone()
                    };
                    messages.push(wire::ChatMessage::Tool {
                        tool_call_id: result.call_id.clone(),
                        content: wire::MessageContent::Text(content),
                    });
                }
                _ => {}
            }
        }
        let text = texts.join("\n\n");
        match message.role {
            Role::Assistant => {
                if !text.is_empty() || !calls.is_empty() {
                    messages.push(wire::ChatMessage::Assistant {
                        content: (!text.is_empty()).then_some(wire::MessageContent::Text(text)),
                        tool_calls: calls,
                        reasoning_content: None,
                    });
                }
            }
            Role::User | Role::Tool => {
                if !images.is_empty() {
                    let mut parts = Vec::new();
                    if !text.is_empty() {
                        parts.push(json!({"type": "text", "text": text}));
                    }
                    parts.extend(images);
                    messages.push(wire::ChatMessage::User {
                        content: wire::MessageContent::Parts(parts),
                    });
                } else if !text.is_empty() {
                    messages.push(wire::ChatMessage::User {
                        content: wire::MessageContent::Text(text),
                    });
                }
            }
        }
    }
    let (max_tokens, max_completion_tokens) = if completion_tokens_field {
        (None, Some(request.max_tokens))
    } else {
        (Some(request.max_tokens), None)
    };
    wire::ChatRequest {
        model: request.model.clone(),
        messages,
        tools: request
            .tools
            .iter()
            .map(|tool| wire::Tool {
                kind: wire::function_type(),
                function: wire::FunctionDef {
                    name: tool.name.clone(),
                    description: tool.description.clone(),
                    parameters: tool.input_schema.clone(),
                },
            })
            .collect(),
        max_tokens,
        max_completion_tokens,
        temperature: request.temperature,
        stream: request.stream,
        stream_options: request.stream.then_some(wire::StreamOptions {
            include_usage: true,
        }),
    }
}

/// An image as a `data:` URL, the form every OpenAI-compatible image input accepts.
pub(crate) fn data_url(media_type: &str, data_base64: &str) -> String {
    format!("data:{media_type};base64,{data_base64}")
}

fn stop_reason(reason: &str) -> StopReason {
    match reason {
        "stop" => StopReason::EndTurn,
        "tool_calls" | "function_call" => StopReason::ToolUse,
        "length" => StopReason::MaxTokens,
        "content_filter" => StopReason::Refusal,
        other => StopReason::Other(other.to_owned()),
    }
}

/// Cached prompt tokens are part of `prompt_tokens` on the wire; the domain counts them
/// apart (as Anthropic does), so they are moved out of `input_tokens`.
fn usage(wire: &wire::ChatUsage) -> Usage {
    let cached = wire
        .prompt_tokens_details
        .and_then(|d| d.cached_tokens)
        .or(wire.prompt_cache_hit_tokens)
        .unwrap_or(0);
    Usage {
        input_tokens: wire.prompt_tokens.saturating_sub(cached),
        output_tokens: wire.completion_tokens,
        cache_read_tokens: cached,
        cache_write_tokens: 0,
    }
}

fn error(provider: &str, body: wire::ErrorBody) -> ModelError {
    transport::stream_error(
        provider,
        transport::ErrorDetails {
            message: body.message,
            kind: body.kind,
            code: body.code.map(|c| match c {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            ..transport::ErrorDetails::default()
        },
    )
}

/// Decodes a non-streamed response into the chunks a stream would have produced.
fn decode_whole(provider: &str, body: &[u8]) -> Result<Vec<ModelChunk>, ModelError> {
    let text = String::from_utf8_lossy(body);
    let value: serde_json::Value = transport::parse_json(provider, "the response", &text)?;
    if value.get("error").is_some_and(|e| !e.is_null()) {
        let response: wire::ErrorResponse =
            transport::parse_json(provider, "the error response", &text)?;
        return Err(error(provider, response.error));
    }
    let response: wire::ChatCompletion = serde_json::from_value(value)
        .map_err(|e| transport::protocol(provider, format!("unexpected response shape: {e}")))?;
    let Some(choice) = response.choices.into_iter().next() else {
        return Err(transport::protocol(
            provider,
            "the response has no choices".to_owned(),
        ));
    };
    let mut out = Vec::new();
    let message = choice.message;
    if let Some(thinking) = message.reasoning_content.filter(|t| !t.is_empty()) {
        out.push(ModelChunk::Thinking { thinking });
    }
    if let Some(text) = message.content.filter(|t| !t.is_empty()) {
        out.push(ModelChunk::Text { text });
    }
    let refused = message.refusal.as_ref().is_some_and(|r| !r.is_empty());
    if let Some(text) = message.refusal.filter(|t| !t.is_empty()) {
        out.push(ModelChunk::Text { text });
    }
    let calls = message.tool_calls.unwrap_or_default();
    let has_calls = !calls.is_empty();
    for call in calls {
        out.push(ModelChunk::ToolUseStart {
            id: call.id.clone(),
            name: call.function.name.clone(),
        });
        out.push(ModelChunk::ToolUse {
            call: transport::tool_call(call.id, call.function.name, &call.function.arguments),
        });
    }
    if let Some(u) = &response.usage {
        out.push(ModelChunk::Usage { usage: usage(u) });
    }
    out.push(ModelChunk::Stop {
        reason: final_reason(choice.finish_reason.as_deref(), has_calls, refused),
    });
    Ok(out)
}

/// The stop reason, corrected for servers that report `stop` after tool calls (the
/// calls are what the agent must act on) and for refusals reported as `stop`.
fn final_reason(finish: Option<&str>, has_calls: bool, refused: bool) -> StopReason {
    match finish.map(stop_reason) {
        Some(StopReason::EndTurn) | None if has_calls => StopReason::ToolUse,
        Some(StopReason::EndTurn) | None if refused => StopReason::Refusal,
        Some(reason) => reason,
        None => StopReason::EndTurn,
    }
}

/// A tool call being assembled from fragments.
#[derive(Default)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
    announced: bool,
}

/// Streaming decoder: deltas until a `finish_reason`, then (with `include_usage`) a chunk
/// with the usage and no choices, then `[DONE]`.
pub(crate) struct StreamDecoder {
    provider: String,
    calls: BTreeMap<usize, PendingCall>,
    finish: Option<String>,
    had_calls: bool,
    refused: bool,
    done: bool,
}

impl StreamDecoder {
    pub(crate) fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            calls: BTreeMap::new(),
            finish: None,
            had_calls: false,
            refused: false,
            done: false,
        }
    }

    fn tool_delta(&mut self, delta: wire::ToolCallDelta, out: &mut Vec<ModelChunk>) {
        // Some servers omit `index`: a new id starts a new call, else it continues the last.
        let index = delta.index.unwrap_or_else(|| {
            let last = self.calls.keys().next_back().copied();
            match (&delta.id, last) {
                (Some(id), Some(last)) if self.calls[&last].id != *id => last + 1,
                (_, Some(last)) => last,
                (_, None) => 0,
            }
        });
        let call = self.calls.entry(index).or_default();
        if let Some(id) = delta.id.filter(|id| !id.is_empty())
            && call.id.is_empty()
        {
            call.id = id;
        }
        if let Some(function) = delta.function {
            if let Some(name) = function.name.filter(|n| !n.is_empty())
                && call.name.is_empty()
            {
                call.name = name;
            }
            if let Some(arguments) = function.arguments {
                call.arguments.push_str(&arguments);
            }
        }
        if !call.announced && !call.id.is_empty() && !call.name.is_empty() {
            call.announced = true;
            out.push(ModelChunk::ToolUseStart {
                id: call.id.clone(),
                name: call.name.clone(),
            });
        }
    }

    /// Emits every assembled tool call, in index order.
    fn flush_calls(&mut self, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        for (index, call) in std::mem::take(&mut self.calls) {
            self.had_calls = true;
            let id = if call.id.is_empty() {
                format!("call_{index}")
            } else {
                call.id
            };
            if call.name.is_empty() {
                return Err(transport::protocol(
                    &self.provider,
                    format!("tool call {index} ({id}) has no function name"),
                ));
            }
            if !call.announced {
                out.push(ModelChunk::ToolUseStart {
                    id: id.clone(),
                    name: call.name.clone(),
                });
            }
            out.push(ModelChunk::ToolUse {
                call: transport::tool_call(id, call.name, &call.arguments),
            });
        }
        Ok(())
    }

    fn stop(&mut self, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        self.flush_calls(out)?;
        out.push(ModelChunk::Stop {
            reason: final_reason(self.finish.as_deref(), self.had_calls, self.refused),
        });
        self.done = true;
        Ok(())
    }
}

impl Decoder for StreamDecoder {
    fn event(&mut self, event: Event, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            return self.stop(out);
        }
        let chunk: wire::ChatChunk = transport::parse_json(&self.provider, "a stream chunk", data)?;
        if let Some(body) = chunk.error {
            return Err(error(&self.provider, body));
        }
        // `n` is never set, so only the first choice exists.
        if let Some(choice) = chunk.choices.into_iter().find(|c| c.index == 0) {
            let delta = choice.delta;
            if let Some(thinking) = delta.reasoning_content.filter(|t| !t.is_empty()) {
                out.push(ModelChunk::Thinking { thinking });
            }
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                out.push(ModelChunk::Text { text });
            }
            if let Some(text) = delta.refusal.filter(|t| !t.is_empty()) {
                self.refused = true;
                out.push(ModelChunk::Text { text });
            }
            for call in delta.tool_calls.unwrap_or_default() {
                self.tool_delta(call, out);
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish = Some(reason);
                self.flush_calls(out)?;
            }
        }
        if let Some(u) = &chunk.usage {
            out.push(ModelChunk::Usage { usage: usage(u) });
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn end(&mut self, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        if self.done {
            Ok(())
        } else if self.finish.is_some() {
            // A finish_reason is the model's own end; some servers omit `[DONE]`.
            self.stop(out)
        } else {
            Err(transport::stream_cut(
                &self.provider,
                "the stream ended before a finish_reason or [DONE]",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{Message, ModelErrorKind, ToolCall, ToolResult, ToolSpec};
    use pretty_assertions::assert_eq;
    use serde_json::Value;

    use crate::sse::SseParser;

    fn conversation(stream: bool) -> ModelRequest {
        ModelRequest {
            model: "gpt-4.1".into(),
            system: Some("You are Cuervo.".into()),
            messages: vec![
                Message::user("Read main.rs and list the files."),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "never sent back".into(),
                            signature: Some("sig".into()),
                            encrypted: None,
                        },
                        ContentBlock::Text {
                            text: "Reading.".into(),
                        },
                        ContentBlock::ToolUse(ToolCall {
                            id: "call_1".into(),
                            name: "read".into(),
                            input: json!({"path": "main.rs"}),
                        }),
                        ContentBlock::ToolUse(ToolCall {
                            id: "call_2".into(),
                            name: "glob".into(),
                            input: json!({"pattern": "*"}),
                        }),
                    ],
                },
                Message::tool_results(vec![
                    ToolResult {
                        call_id: "call_1".into(),
                        content: "fn main() {}".into(),
                        is_error: false,
                    },
                    ToolResult {
                        call_id: "call_2".into(),
                        content: "permission denied".into(),
                        is_error: true,
                    },
                ]),
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse(ToolCall {
                        id: "call_3".into(),
                        name: "status".into(),
                        input: json!({}),
                    })],
                },
                Message::tool_results(vec![ToolResult {
                    call_id: "call_3".into(),
                    content: "clean".into(),
                    is_error: false,
                }]),
                Message::user("Thanks. Now summarise."),
            ],
            tools: vec![ToolSpec {
                name: "read".into(),
                description: "Reads a file.".into(),
                input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
            }],
            max_tokens: 1024,
            temperature: Some(0.5),
            stream,
            thinking_budget: None,
        }
    }

    fn wire_json(request: &ModelRequest, completion_tokens_field: bool) -> Value {
        let bytes =
            serde_json::to_vec(&to_wire(request, completion_tokens_field)).expect("serialises");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn maps_a_conversation_to_the_wire() {
        assert_eq!(
            wire_json(&conversation(true), false),
            json!({
                "model": "gpt-4.1",
                "messages": [
                    {"role": "system", "content": "You are Cuervo."},
                    {"role": "user", "content": "Read main.rs and list the files."},
                    {"role": "assistant", "content": "Reading.", "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"main.rs\"}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "glob", "arguments": "{\"pattern\":\"*\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "fn main() {}"},
                    {"role": "tool", "tool_call_id": "call_2", "content": "Error: permission denied"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_3", "type": "function", "function": {"name": "status", "arguments": "{}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_3", "content": "clean"},
                    {"role": "user", "content": "Thanks. Now summarise."}
                ],
                "tools": [{"type": "function", "function": {
                    "name": "read",
                    "description": "Reads a file.",
                    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}
                }}],
                "max_tokens": 1024,
                "temperature": 0.5,
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );
    }

    #[test]
    fn openai_itself_gets_max_completion_tokens_and_no_stream_options_when_whole() {
        let request = ModelRequest {
            model: "o3".into(),
            system: None,
            messages: vec![Message::user("hi")],
            tools: vec![],
            max_tokens: 50,
            temperature: None,
            stream: false,
            thinking_budget: None,
        };
        assert_eq!(
            wire_json(&request, true),
            json!({
                "model": "o3",
                "messages": [{"role": "user", "content": "hi"}],
                "max_completion_tokens": 50,
                "stream": false
            })
        );
        let provider =
            OpenAiProvider::new(ProviderSettings::known("openai").expect("known")).expect("builds");
        assert!(provider.completion_tokens_field);
        let provider = OpenAiProvider::new(ProviderSettings::known("deepseek").expect("known"))
            .expect("builds");
        assert!(!provider.completion_tokens_field);
    }

    fn decode(body: &str) -> Vec<Result<ModelChunk, ModelError>> {
        let mut parser = SseParser::new();
        let mut decoder = StreamDecoder::new("openai");
        let mut items = Vec::new();
        for event in parser.feed(body.as_bytes()) {
            let mut out = Vec::new();
            let result = decoder.event(event, &mut out);
            items.extend(out.into_iter().map(Ok));
            if let Err(e) = result {
                items.push(Err(e));
                return items;
            }
            if decoder.finished() {
                return items;
            }
        }
        let mut out = Vec::new();
        let result = decoder.end(&mut out);
        items.extend(out.into_iter().map(Ok));
        if let Err(e) = result {
            items.push(Err(e));
        }
        items
    }

    fn sse(chunks: &[Value], done: bool) -> String {
        let mut body: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
        if done {
            body.push_str("data: [DONE]\n\n");
        }
        body
    }

    fn delta(delta: Value) -> Value {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4.1",
               "choices": [{"index": 0, "delta": delta, "finish_reason": null}]})
    }

    fn finish(reason: &str) -> Value {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4.1",
               "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
    }

    fn usage_chunk() -> Value {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
               "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                         "prompt_tokens_details": {"cached_tokens": 64}}})
    }

    fn ok(chunks: Vec<ModelChunk>) -> Vec<Result<ModelChunk, ModelError>> {
        chunks.into_iter().map(Ok).collect()
    }

    fn text(t: &str) -> ModelChunk {
        ModelChunk::Text { text: t.into() }
    }

    fn the_usage() -> ModelChunk {
        ModelChunk::Usage {
            usage: Usage {
                input_tokens: 36,
                output_tokens: 20,
                cache_read_tokens: 64,
                cache_write_tokens: 0,
            },
        }
    }

    #[test]
    fn decodes_text_usage_and_stop() {
        let body = sse(
            &[
                delta(json!({"role": "assistant", "content": ""})),
                delta(json!({"content": "Hello"})),
                delta(json!({"content": ", world"})),
                finish("stop"),
                usage_chunk(),
            ],
            true,
        );
        assert_eq!(
            decode(&body),
            ok(vec![
                text("Hello"),
                text(", world"),
                the_usage(),
                ModelChunk::Stop {
                    reason: StopReason::EndTurn
                },
            ])
        );
    }

    #[test]
    fn decodes_parallel_tool_calls_keyed_by_index() {
        let body = sse(
            &[
                delta(json!({"role": "assistant", "content": null, "tool_calls": [
                    {"index": 0, "id": "call_a", "type": "function", "function": {"name": "read", "arguments": ""}}]})),
                delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"pa"}}]})),
                delta(
                    json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "status", "arguments": ""}}]}),
                ),
                delta(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "th\": \"a.rs\"}"}}]}),
                ),
                finish("tool_calls"),
                usage_chunk(),
            ],
            true,
        );
        assert_eq!(
            decode(&body),
            ok(vec![
                ModelChunk::ToolUseStart {
                    id: "call_a".into(),
                    name: "read".into()
                },
                ModelChunk::ToolUseStart {
                    id: "call_b".into(),
                    name: "status".into()
                },
                ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "call_a".into(),
                        name: "read".into(),
                        input: json!({"path": "a.rs"})
                    }
                },
                ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "call_b".into(),
                        name: "status".into(),
                        input: json!({})
                    }
                },
                the_usage(),
                ModelChunk::Stop {
                    reason: StopReason::ToolUse
                },
            ])
        );
    }

    #[test]
    fn decodes_deepseek_reasoning_content() {
        let body = sse(
            &[
                delta(json!({"role": "assistant", "content": null, "reasoning_content": "Think"})),
                delta(json!({"content": null, "reasoning_content": "ing."})),
                delta(json!({"content": "Answer", "reasoning_content": null})),
                finish("stop"),
                json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                    "prompt_cache_hit_tokens": 4, "prompt_cache_miss_tokens": 6}}),
            ],
            true,
        );
        assert_eq!(
            decode(&body),
            ok(vec![
                ModelChunk::Thinking {
                    thinking: "Think".into()
                },
                ModelChunk::Thinking {
                    thinking: "ing.".into()
                },
                text("Answer"),
                ModelChunk::Usage {
                    usage: Usage {
                        input_tokens: 6,
                        output_tokens: 5,
                        cache_read_tokens: 4,
                        cache_write_tokens: 0
                    }
                },
                ModelChunk::Stop {
                    reason: StopReason::EndTurn
                },
            ])
        );
    }

    #[test]
    fn maps_every_finish_reason() {
        for (wire, domain) in [
            ("stop", StopReason::EndTurn),
            ("tool_calls", StopReason::ToolUse),
            ("length", StopReason::MaxTokens),
            ("content_filter", StopReason::Refusal),
            ("weird", StopReason::Other("weird".into())),
        ] {
            let last = decode(&sse(&[finish(wire)], true)).pop().expect("items");
            assert_eq!(last, Ok(ModelChunk::Stop { reason: domain }), "{wire}");
        }
        // A server reporting `stop` after tool calls still means "run the tools".
        let body = sse(
            &[
                delta(
                    json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "t", "arguments": "{}"}}]}),
                ),
                finish("stop"),
            ],
            true,
        );
        assert_eq!(
            decode(&body).pop().expect("items"),
            Ok(ModelChunk::Stop {
                reason: StopReason::ToolUse
            })
        );
    }

    #[test]
    fn finish_without_done_completes_but_no_finish_is_cut() {
        let items = decode(&sse(
            &[delta(json!({"content": "Hi"})), finish("stop")],
            false,
        ));
        assert_eq!(
            items,
            ok(vec![
                text("Hi"),
                ModelChunk::Stop {
                    reason: StopReason::EndTurn
                }
            ])
        );
        let items = decode(&sse(&[delta(json!({"content": "Hi"}))], false));
        assert_eq!(items[0], Ok(text("Hi")));
        let error = items[1].clone().expect_err("cut");
        assert_eq!(error.kind, ModelErrorKind::StreamCut);
        assert!(error.message.contains("nothing partial was applied"));
    }

    #[test]
    fn malformed_chunks_are_protocol_errors_and_bad_arguments_marked_calls() {
        let items = decode("data: {\"choices\": [\n\n");
        assert_eq!(
            items[0].clone().expect_err("bad").kind,
            ModelErrorKind::Protocol
        );
        let body = sse(
            &[
                delta(
                    json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "read", "arguments": "{\"path\""}}]}),
                ),
                finish("length"),
            ],
            true,
        );
        let items = decode(&body);
        let call = items
            .iter()
            .find_map(|item| match item {
                Ok(ModelChunk::ToolUse { call }) => Some(call.clone()),
                _ => None,
            })
            .expect("the cut call is handed on");
        assert_eq!(call.id, "c");
        assert_eq!(
            call.invalid_arguments().map(|i| i.start),
            Some("{\"path\"".to_owned())
        );
        assert_eq!(
            items.last(),
            Some(&Ok(ModelChunk::Stop {
                reason: StopReason::MaxTokens
            }))
        );
    }

    #[test]
    fn mid_stream_error_chunk_maps_its_type() {
        let body = sse(
            &[
                json!({"error": {"message": "The server is overloaded", "type": "server_error", "code": null}}),
            ],
            false,
        );
        let error = decode(&body)[0].clone().expect_err("error");
        assert_eq!(error.kind, ModelErrorKind::Server);
        assert!(error.message.contains("overloaded"));
    }

    #[test]
    fn whole_response_gives_the_same_chunks() {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "deepseek-reasoner",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Reading.", "reasoning_content": "hmm",
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "read", "arguments": "{\"path\":\"a\"}"}}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                      "prompt_tokens_details": {"cached_tokens": 64}}
        });
        assert_eq!(
            decode_whole("deepseek", body.to_string().as_bytes()),
            Ok(vec![
                ModelChunk::Thinking {
                    thinking: "hmm".into()
                },
                text("Reading."),
                ModelChunk::ToolUseStart {
                    id: "call_1".into(),
                    name: "read".into()
                },
                ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "call_1".into(),
                        name: "read".into(),
                        input: json!({"path": "a"})
                    }
                },
                the_usage(),
                ModelChunk::Stop {
                    reason: StopReason::ToolUse
                },
            ])
        );
        assert_eq!(
            decode_whole("openai", br#"{"choices": []}"#)
                .expect_err("no choices")
                .kind,
            ModelErrorKind::Protocol
        );
    }

    #[test]
    fn keys_are_optional_only_for_unnamed_local_endpoints() {
        let local = OpenAiProvider::new(ProviderSettings::new(
            "local",
            crate::WireKind::OpenAiChat,
            "http://127.0.0.1:8080/v1/",
        ))
        .expect("builds");
        let headers = local.endpoint.headers().expect("no key needed");
        assert!(headers.get(AUTHORIZATION).is_none());
        assert_eq!(
            local.endpoint.transport.url("chat/completions"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );

        let deepseek = OpenAiProvider::new(ProviderSettings::known("deepseek").expect("known"))
            .expect("builds");
        let error = deepseek.endpoint.headers().expect_err("key needed");
        assert_eq!(error.kind, ModelErrorKind::Auth);
        assert!(
            error.message.contains("DEEPSEEK_API_KEY"),
            "{}",
            error.message
        );

        let keyed = OpenAiProvider::new(
            ProviderSettings::known("openai")
                .expect("known")
                .with_api_key("sk-test"),
        )
        .expect("builds");
        assert_eq!(
            keyed
                .endpoint
                .headers()
                .expect("key")
                .get(AUTHORIZATION)
                .expect("auth"),
            "Bearer sk-test"
        );
    }
}
