//! The Anthropic Messages API adapter: domain ⇄ [`crate::wire::anthropic`] mapping and the
//! stream decoder. Transport, retries and error mapping live in `transport`.

use std::collections::HashMap;

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, ContentBlock, Cost, EncryptedReasoning, Message,
    ModelChunk, ModelError, ModelProvider, ModelRequest, Role, StopReason, ToolCall, Usage,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::sse::Event;
use crate::transport::{self, Decoder, Framing, Transport};
use crate::wire::anthropic as wire;
use crate::{ProviderSettings, catalog, prepare, pricing};

/// The API version this adapter speaks.
pub const API_VERSION: &str = "2023-06-01";

/// The smallest thinking budget the API accepts.
pub const MIN_THINKING_BUDGET: u32 = 1_024;

/// [`ModelProvider`] for the Anthropic Messages API.
pub struct AnthropicProvider {
    transport: Transport,
    prompt_caching: bool,
}

impl AnthropicProvider {
    /// Validates `settings` and builds the HTTP client. A missing key is reported by
    /// `invoke`, not here.
    pub fn new(settings: ProviderSettings) -> crate::Result<Self> {
        let prompt_caching = settings.prompt_caching;
        Ok(Self {
            transport: Transport::new(settings, true)?,
            prompt_caching,
        })
    }

    /// `{base}/v1/{path}`, tolerating a base that already ends in `/v1`.
    fn url(&self, path: &str) -> String {
        let base = self.transport.base_url();
        if base.ends_with("/v1") {
            format!("{base}/{path}")
        } else {
            format!("{base}/v1/{path}")
        }
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        let mut protocol = HeaderMap::new();
        protocol.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        self.transport
            .json_headers(HeaderName::from_static("x-api-key"), "", protocol)
    }
}

impl ModelProvider for AnthropicProvider {
    fn name(&self) -> &str {
        self.transport.name()
    }

    fn capabilities(&self, model: &str) -> Capabilities {
        self.transport.cap_context(catalog::capabilities(model))
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        let request = prepare::prepare(request);
        self.transport.post(
            self.url("messages"),
            self.headers(),
            &to_wire(&request, self.prompt_caching),
            request.stream,
            Framing::Sse,
            StreamDecoder::new,
            decode_whole,
        )
    }

    fn is_available(&self) -> BoxFuture<'_, bool> {
        match self.headers() {
            Ok(headers) => self.transport.probe(self.url("models"), headers),
            Err(_) => Box::pin(async { false }),
        }
    }

    fn estimate_cost(&self, request: &ModelRequest) -> Option<Cost> {
        let mut request = prepare::prepare(request.clone());
        if let Some(budget) = thinking_budget(&request) {
            // Thinking is billed as output, on top of the answer's own allowance.
            request.max_tokens = request.max_tokens.saturating_add(budget);
        }
        pricing::estimate(&request)
    }

    fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        pricing::cost(model, usage)
    }
}

/// The budget extended thinking gets, or `None` when thinking is off: a request's
/// `thinking_budget`, raised to the API's minimum of 1,024 tokens; zero turns it off.
fn thinking_budget(request: &ModelRequest) -> Option<u32> {
    match request.thinking_budget {
        None | Some(0) => None,
        Some(budget) => Some(budget.max(MIN_THINKING_BUDGET)),
    }
}

/// Maps a domain request to the wire body.
///
/// Tool results travel in `user` messages; thinking blocks without a signature are
/// dropped (the API rejects them), redacted thinking goes back as it came; empty text
/// blocks and messages left empty are dropped; consecutive messages of one role are
/// merged with tool results first, as the API requires.
///
/// With a thinking budget, `thinking` is enabled with it and `max_tokens` grows by it (the
/// answer keeps its own allowance, and the API wants the budget below `max_tokens`);
/// `temperature` is left out, since the API refuses it with thinking.
///
/// With `prompt_caching`, three cache breakpoints mark the stable prefix: the system
/// prompt, the last tool, and the last block of the conversation, so the next request of
/// an agent loop (the same prefix plus a turn) reads everything before it from the cache.
pub fn to_wire(request: &ModelRequest, prompt_caching: bool) -> wire::MessagesRequest {
    let mut messages: Vec<wire::Message> = Vec::new();
    for message in &request.messages {
        let mapped = message_to_wire(message);
        if mapped.content.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last.role == mapped.role => {
                last.content.extend(mapped.content);
                // A stable sort: tool results first, the rest in order.
                last.content
                    .sort_by_key(|b| !matches!(b, wire::ContentBlock::ToolResult { .. }));
            }
            _ => messages.push(mapped),
        }
    }
    let cache = || prompt_caching.then(wire::CacheControl::ephemeral);
    let system = request
        .system
        .clone()
        .filter(|s| !s.is_empty())
        .map(|text| {
            if prompt_caching {
                wire::System::Blocks(vec![wire::SystemBlock {
                    kind: "text".to_owned(),
                    text,
                    cache_control: cache(),
                }])
            } else {
                wire::System::Text(text)
            }
        });
    let mut tools: Vec<wire::Tool> = request
        .tools
        .iter()
        .map(|tool| wire::Tool {
            name: tool.name.clone(),
            description: tool.description.clone(),
            input_schema: tool.input_schema.clone(),
            cache_control: None,
        })
        .collect();
    if let Some(last) = tools.last_mut() {
        last.cache_control = cache();
    }
    if prompt_caching
        && let Some(slot) = messages.last_mut().and_then(|m| {
            m.content
                .iter_mut()
                .rev()
                .find_map(|b| b.cache_control_mut())
        })
    {
        *slot = cache();
    }
    let budget = thinking_budget(request);
    wire::MessagesRequest {
        model: request.model.clone(),
        max_tokens: match budget {
            Some(budget) => request.max_tokens.saturating_add(budget),
            None => request.max_tokens,
        },
        system,
        messages,
        tools,
        temperature: request.temperature.filter(|_| budget.is_none()),
        thinking: budget.map(|budget_tokens| wire::Thinking::Enabled { budget_tokens }),
        stream: request.stream,
    }
}

fn message_to_wire(message: &Message) -> wire::Message {
    let role = match message.role {
        Role::Assistant => wire::Role::Assistant,
        Role::User | Role::Tool => wire::Role::User,
    };
    let mut content = Vec::new();
    for block in &message.content {
        match (block, role) {
            (ContentBlock::Text { text }, _) if !text.is_empty() => {
                content.push(wire::ContentBlock::Text {
                    text: text.clone(),
                    cache_control: None,
                });
            }
            (
                ContentBlock::Image {
                    media_type,
                    data_base64,
                },
                wire::Role::User,
            ) => content.push(wire::ContentBlock::Image {
                source: wire::ImageSource::Base64 {
                    media_type: media_type.clone(),
                    data: data_base64.clone(),
                },
                cache_control: None,
            }),
            (
                ContentBlock::Thinking {
                    thinking,
                    signature,
                    encrypted,
                },
                wire::Role::Assistant,
            ) => {
                if let Some(signature) = signature.as_ref().filter(|s| !s.is_empty()) {
                    content.push(wire::ContentBlock::Thinking {
                        thinking: thinking.clone(),
                        signature: signature.clone(),
                    });
                }
                if let Some(redacted) = encrypted
                    .as_ref()
                    .filter(|e| e.is(EncryptedReasoning::ANTHROPIC_REDACTED))
                {
                    content.push(wire::ContentBlock::RedactedThinking {
                        data: redacted.data.clone(),
                    });
                }
            }
            (ContentBlock::ToolUse(call), wire::Role::Assistant) => {
                content.push(wire::ContentBlock::ToolUse {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    input: call.input.clone(),
                    cache_control: None,
                });
            }
            (ContentBlock::ToolResult(result), wire::Role::User) => {
                content.push(wire::ContentBlock::ToolResult {
                    tool_use_id: result.call_id.clone(),
                    content: result.content.clone(),
                    is_error: result.is_error,
                    cache_control: None,
                });
            }
            _ => {}
        }
    }
    wire::Message { role, content }
}

fn stop_reason(reason: Option<&str>) -> StopReason {
    match reason {
        None | Some("end_turn") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence,
        Some("refusal") => StopReason::Refusal,
        Some(other) => StopReason::Other(other.to_owned()),
    }
}

fn usage(wire: &wire::Usage) -> Usage {
    Usage {
        input_tokens: wire.input_tokens.unwrap_or(0),
        output_tokens: wire.output_tokens.unwrap_or(0),
        cache_read_tokens: wire.cache_read_input_tokens.unwrap_or(0),
        cache_write_tokens: wire.cache_creation_input_tokens.unwrap_or(0),
    }
}

fn error(provider: &str, body: wire::ErrorBody) -> ModelError {
    transport::stream_error(
        provider,
        transport::ErrorDetails {
            message: body.message,
            kind: Some(body.kind),
            ..transport::ErrorDetails::default()
        },
    )
}

/// Encrypted reasoning the API returned instead of thinking text; it goes back unchanged.
fn redacted(data: String) -> ModelChunk {
    ModelChunk::ThinkingEncrypted {
        encrypted: EncryptedReasoning::new(EncryptedReasoning::ANTHROPIC_REDACTED, data),
    }
}

/// Decodes a non-streamed response into the chunks a stream would have produced.
fn decode_whole(provider: &str, body: &[u8]) -> Result<Vec<ModelChunk>, ModelError> {
    let text = String::from_utf8_lossy(body);
    let value: serde_json::Value = transport::parse_json(provider, "the response", &text)?;
    if value.get("type").and_then(|t| t.as_str()) == Some("error") {
        let response: wire::ErrorResponse =
            transport::parse_json(provider, "the error response", &text)?;
        return Err(error(provider, response.error));
    }
    let response: wire::MessagesResponse = serde_json::from_value(value)
        .map_err(|e| transport::protocol(provider, format!("unexpected response shape: {e}")))?;
    let mut out = Vec::new();
    for block in response.content {
        match block {
            wire::ContentBlock::Text { text, .. } if !text.is_empty() => {
                out.push(ModelChunk::Text { text });
            }
            wire::ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                out.push(ModelChunk::Thinking { thinking });
                if !signature.is_empty() {
                    out.push(ModelChunk::ThinkingSignature { signature });
                }
            }
            wire::ContentBlock::RedactedThinking { data } => {
                out.push(redacted(data));
            }
            wire::ContentBlock::ToolUse {
                id, name, input, ..
            } => {
                out.push(ModelChunk::ToolUseStart {
                    id: id.clone(),
                    name: name.clone(),
                });
                out.push(ModelChunk::ToolUse {
                    call: ToolCall { id, name, input },
                });
            }
            _ => {}
        }
    }
    out.push(ModelChunk::Usage {
        usage: usage(&response.usage),
    });
    out.push(ModelChunk::Stop {
        reason: stop_reason(response.stop_reason.as_deref()),
    });
    Ok(out)
}

/// What a content block in flight is.
enum Block {
    Text,
    Thinking,
    Tool {
        id: String,
        name: String,
        json: String,
    },
    Other,
}

/// Streaming decoder: `message_start` → (`content_block_start` → deltas →
/// `content_block_stop`)* → `message_delta` → `message_stop`.
pub(crate) struct StreamDecoder {
    provider: String,
    usage: Usage,
    blocks: HashMap<usize, Block>,
    stop: Option<StopReason>,
    finished: bool,
}

impl StreamDecoder {
    pub(crate) fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            usage: Usage::default(),
            blocks: HashMap::new(),
            stop: None,
            finished: false,
        }
    }

    fn protocol(&self, message: String) -> ModelError {
        transport::protocol(&self.provider, message)
    }
}

impl Decoder for StreamDecoder {
    fn event(&mut self, event: Event, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        let what = format!("a `{}` event", event.event.as_deref().unwrap_or("message"));
        let parsed: wire::StreamEvent = transport::parse_json(&self.provider, &what, &event.data)?;
        match parsed {
            wire::StreamEvent::MessageStart { message } => {
                self.usage = usage(&message.usage);
            }
            wire::StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                let block = match content_block {
                    wire::ContentBlock::Text { text, .. } => {
                        if !text.is_empty() {
                            out.push(ModelChunk::Text { text });
                        }
                        Block::Text
                    }
                    wire::ContentBlock::Thinking {
                        thinking,
                        signature,
                    } => {
                        if !thinking.is_empty() {
                            out.push(ModelChunk::Thinking { thinking });
                        }
                        if !signature.is_empty() {
                            out.push(ModelChunk::ThinkingSignature { signature });
                        }
                        Block::Thinking
                    }
                    wire::ContentBlock::RedactedThinking { data } => {
                        out.push(redacted(data));
                        Block::Other
                    }
                    wire::ContentBlock::ToolUse {
                        id, name, input, ..
                    } => {
                        out.push(ModelChunk::ToolUseStart {
                            id: id.clone(),
                            name: name.clone(),
                        });
                        // The start carries `{}`; arguments arrive as deltas. Keep a
                        // non-empty start input in case no delta follows.
                        let json = match &input {
                            serde_json::Value::Object(map) if map.is_empty() => String::new(),
                            other => other.to_string(),
                        };
                        Block::Tool { id, name, json }
                    }
                    _ => Block::Other,
                };
                self.blocks.insert(index, block);
            }
            wire::StreamEvent::ContentBlockDelta { index, delta } => {
                let Some(block) = self.blocks.get_mut(&index) else {
                    return Err(self.protocol(format!(
                        "content_block_delta for block {index}, which never started"
                    )));
                };
                match (delta, block) {
                    (wire::Delta::TextDelta { text }, _) => {
                        if !text.is_empty() {
                            out.push(ModelChunk::Text { text });
                        }
                    }
                    (wire::Delta::ThinkingDelta { thinking }, _) => {
                        if !thinking.is_empty() {
                            out.push(ModelChunk::Thinking { thinking });
                        }
                    }
                    (wire::Delta::SignatureDelta { signature }, _) => {
                        out.push(ModelChunk::ThinkingSignature { signature });
                    }
                    (wire::Delta::InputJsonDelta { partial_json }, Block::Tool { json, .. }) => {
                        json.push_str(&partial_json);
                    }
                    (wire::Delta::InputJsonDelta { .. }, _) => {
                        return Err(self.protocol(format!(
                            "input_json_delta for block {index}, which is not a tool call"
                        )));
                    }
                    (wire::Delta::Other, _) => {}
                }
            }
            wire::StreamEvent::ContentBlockStop { index } => {
                if let Some(Block::Tool { id, name, json }) = self.blocks.remove(&index) {
                    out.push(ModelChunk::ToolUse {
                        call: transport::tool_call(id, name, &json),
                    });
                }
            }
            wire::StreamEvent::MessageDelta { delta, usage: u } => {
                self.stop = Some(stop_reason(delta.stop_reason.as_deref()));
                self.usage.merge(&usage(&u));
                out.push(ModelChunk::Usage { usage: self.usage });
            }
            wire::StreamEvent::MessageStop => {
                // An answer cut by max_tokens may leave its last tool call open: hand it
                // on (its arguments are likely cut off too) for the loop to answer.
                if self.stop == Some(StopReason::MaxTokens) {
                    let mut open: Vec<(usize, Block)> = self
                        .blocks
                        .drain()
                        .filter(|(_, block)| matches!(block, Block::Tool { .. }))
                        .collect();
                    open.sort_by_key(|(index, _)| *index);
                    for (_, block) in open {
                        if let Block::Tool { id, name, json } = block {
                            out.push(ModelChunk::ToolUse {
                                call: transport::tool_call(id, name, &json),
                            });
                        }
                    }
                }
                if let Some((index, _)) = self
                    .blocks
                    .iter()
                    .find(|(_, block)| matches!(block, Block::Tool { .. }))
                {
                    return Err(self.protocol(format!(
                        "message_stop while tool call block {index} was still open"
                    )));
                }
                out.push(ModelChunk::Stop {
                    reason: self.stop.take().unwrap_or(StopReason::EndTurn),
                });
                self.finished = true;
            }
            wire::StreamEvent::Error { error: body } => {
                return Err(error(&self.provider, body));
            }
            wire::StreamEvent::Ping | wire::StreamEvent::Unknown => {}
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.finished
    }

    fn end(&mut self, _out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        if self.finished {
            Ok(())
        } else {
            Err(transport::stream_cut(
                &self.provider,
                "the stream ended before message_stop",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{ModelErrorKind, ToolResult, ToolSpec};
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use crate::sse::SseParser;

    pub(crate) fn conversation(stream: bool) -> ModelRequest {
        ModelRequest {
            model: "claude-sonnet-4-5".into(),
            system: Some("You are Cuervo.".into()),
            messages: vec![
                Message::user("Read main.rs and list the files."),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "I should read it.".into(),
                            signature: Some("sig-1".into()),
                            encrypted: None,
                        },
                        ContentBlock::Thinking {
                            thinking: "unsigned, dropped".into(),
                            signature: None,
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

    fn wire_json(request: &ModelRequest) -> Value {
        let bytes = serde_json::to_vec(&to_wire(request, false)).expect("serialises");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn maps_a_conversation_to_the_wire() {
        assert_eq!(
            wire_json(&conversation(true)),
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 1024,
                "system": "You are Cuervo.",
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "Read main.rs and list the files."}
                    ]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "I should read it.", "signature": "sig-1"},
                        {"type": "text", "text": "Reading."},
                        {"type": "tool_use", "id": "call_1", "name": "read", "input": {"path": "main.rs"}},
                        {"type": "tool_use", "id": "call_2", "name": "glob", "input": {"pattern": "*"}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": "fn main() {}", "is_error": false},
                        {"type": "tool_result", "tool_use_id": "call_2", "content": "permission denied", "is_error": true},
                        {"type": "text", "text": "Thanks. Now summarise."}
                    ]}
                ],
                "tools": [{
                    "name": "read",
                    "description": "Reads a file.",
                    "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}
                }],
                "temperature": 0.5,
                "stream": true
            })
        );
    }

    #[test]
    fn minimal_request_omits_optional_fields() {
        let request = ModelRequest {
            model: "m".into(),
            system: None,
            messages: vec![Message::user("hi"), Message::assistant_text("")],
            tools: vec![],
            max_tokens: 10,
            temperature: None,
            stream: false,
            thinking_budget: None,
        };
        assert_eq!(
            wire_json(&request),
            json!({
                "model": "m",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                "stream": false
            })
        );
    }

    #[test]
    fn prompt_caching_marks_system_last_tool_and_conversation_end() {
        let mut request = conversation(true);
        request.tools.push(cuervo_domain::ToolSpec {
            name: "glob".into(),
            description: "Finds files.".into(),
            input_schema: json!({"type": "object"}),
        });
        let body = serde_json::to_value(to_wire(&request, true)).expect("json");
        let ephemeral = json!({"type": "ephemeral"});
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "You are Cuervo.", "cache_control": ephemeral}])
        );
        assert_eq!(body["tools"][0].get("cache_control"), None);
        assert_eq!(body["tools"][1]["cache_control"], ephemeral);
        let last = body["messages"]
            .as_array()
            .expect("messages")
            .last()
            .expect("last");
        let blocks = last["content"].as_array().expect("blocks");
        assert_eq!(blocks.last().expect("block")["cache_control"], ephemeral);
        let marked = body.to_string().matches("\"cache_control\"").count();
        assert_eq!(marked, 3, "three breakpoints (the API allows four): {body}");
    }

    #[test]
    fn thinking_budget_enables_thinking_and_drops_temperature() {
        let mut request = conversation(false);
        request.thinking_budget = Some(500);
        let body = serde_json::to_value(to_wire(&request, false)).expect("json");
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": MIN_THINKING_BUDGET}),
            "raised to the API's minimum"
        );
        assert_eq!(body["max_tokens"], json!(1024 + MIN_THINKING_BUDGET));
        assert_eq!(body.get("temperature"), None);
        request.thinking_budget = Some(0);
        let body = serde_json::to_value(to_wire(&request, false)).expect("json");
        assert_eq!(body.get("thinking"), None);
        assert_eq!(body["temperature"], json!(0.5));
    }

    #[test]
    fn images_and_redacted_thinking_go_out_in_the_wire_shape() {
        let request = ModelRequest {
            model: "claude-sonnet-4-5".into(),
            system: None,
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::Image {
                            media_type: "image/png".into(),
                            data_base64: "iVBORw0KGgo=".into(),
                        },
                        ContentBlock::Text {
                            text: "What is this?".into(),
                        },
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "hmm".into(),
                            signature: Some("sig".into()),
                            encrypted: Some(EncryptedReasoning::new(
                                EncryptedReasoning::ANTHROPIC_REDACTED,
                                "EmwKAhgBEgy3va3pzix",
                            )),
                        },
                        ContentBlock::Thinking {
                            thinking: String::new(),
                            signature: None,
                            encrypted: Some(EncryptedReasoning::new(
                                EncryptedReasoning::OPENAI_RESPONSES,
                                "gAAAA-not-for-anthropic",
                            )),
                        },
                        ContentBlock::Text {
                            text: "A logo.".into(),
                        },
                    ],
                },
            ],
            tools: vec![],
            max_tokens: 10,
            temperature: None,
            stream: false,
            thinking_budget: None,
        };
        let body = serde_json::to_value(to_wire(&request, false)).expect("json");
        assert_eq!(
            body["messages"][0]["content"][0],
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}})
        );
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                {"type": "text", "text": "A logo."}
            ])
        );
    }

    #[test]
    fn redacted_thinking_comes_back_as_encrypted_reasoning() {
        let body = sse(&[
            start(1),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "redacted_thinking", "data": "EmwKAhgB"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}),
            json!({"type": "message_stop"}),
        ]);
        assert_eq!(
            decode(&body)[0],
            Ok(ModelChunk::ThinkingEncrypted {
                encrypted: EncryptedReasoning::new(
                    EncryptedReasoning::ANTHROPIC_REDACTED,
                    "EmwKAhgB"
                )
            })
        );
    }

    fn decode(body: &str) -> Vec<Result<ModelChunk, ModelError>> {
        let mut parser = SseParser::new();
        let mut decoder = StreamDecoder::new("anthropic");
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

    fn sse(events: &[Value]) -> String {
        events
            .iter()
            .map(|e| {
                format!(
                    "event: {}\ndata: {}\n\n",
                    e["type"].as_str().expect("type"),
                    e
                )
            })
            .collect()
    }

    fn start(input_tokens: u64) -> Value {
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": 7, "cache_read_input_tokens": 30}}})
    }

    fn ok(chunks: Vec<ModelChunk>) -> Vec<Result<ModelChunk, ModelError>> {
        chunks.into_iter().map(Ok).collect()
    }

    fn text(t: &str) -> ModelChunk {
        ModelChunk::Text { text: t.into() }
    }

    #[test]
    fn decodes_text_usage_and_stop() {
        let body = sse(&[
            start(25),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "ping"}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ", world"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 12}}),
            json!({"type": "message_stop"}),
        ]);
        assert_eq!(
            decode(&body),
            ok(vec![
                text("Hello"),
                text(", world"),
                ModelChunk::Usage {
                    usage: Usage {
                        input_tokens: 25,
                        output_tokens: 12,
                        cache_read_tokens: 30,
                        cache_write_tokens: 7,
                    }
                },
                ModelChunk::Stop {
                    reason: StopReason::EndTurn
                },
            ])
        );
    }

    #[test]
    fn decodes_thinking_and_incremental_tool_arguments() {
        let body = sse(&[
            start(10),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me look."}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAh"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"sr"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "c/main.rs\"}"}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "status", "input": {}}}),
            json!({"type": "content_block_stop", "index": 2}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 40}}),
            json!({"type": "message_stop"}),
        ]);
        assert_eq!(
            decode(&body),
            ok(vec![
                ModelChunk::Thinking {
                    thinking: "Let me look.".into()
                },
                ModelChunk::ThinkingSignature {
                    signature: "EqQBCgIYAh".into()
                },
                ModelChunk::ToolUseStart {
                    id: "toolu_1".into(),
                    name: "read".into()
                },
                ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "toolu_1".into(),
                        name: "read".into(),
                        input: json!({"path": "src/main.rs"}),
                    }
                },
                ModelChunk::ToolUseStart {
                    id: "toolu_2".into(),
                    name: "status".into()
                },
                ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "toolu_2".into(),
                        name: "status".into(),
                        input: json!({}),
                    }
                },
                ModelChunk::Usage {
                    usage: Usage {
                        input_tokens: 10,
                        output_tokens: 40,
                        cache_read_tokens: 30,
                        cache_write_tokens: 7,
                    }
                },
                ModelChunk::Stop {
                    reason: StopReason::ToolUse
                },
            ])
        );
    }

    #[test]
    fn maps_every_stop_reason() {
        for (wire, domain) in [
            ("end_turn", StopReason::EndTurn),
            ("tool_use", StopReason::ToolUse),
            ("max_tokens", StopReason::MaxTokens),
            ("stop_sequence", StopReason::StopSequence),
            ("refusal", StopReason::Refusal),
            ("pause_turn", StopReason::Other("pause_turn".into())),
        ] {
            let body = sse(&[
                start(1),
                json!({"type": "message_delta", "delta": {"stop_reason": wire}, "usage": {"output_tokens": 1}}),
                json!({"type": "message_stop"}),
            ]);
            let last = decode(&body).pop().expect("items");
            assert_eq!(last, Ok(ModelChunk::Stop { reason: domain }), "{wire}");
        }
    }

    #[test]
    fn a_stream_without_message_stop_is_cut() {
        let body = sse(&[
            start(1),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
        ]);
        let items = decode(&body);
        assert_eq!(items[0], Ok(text("Hel")));
        let error = items[1].clone().expect_err("cut");
        assert_eq!(error.kind, ModelErrorKind::StreamCut);
        assert!(error.message.contains("cut off"), "{}", error.message);
        assert!(error.message.contains("nothing partial was applied"));
    }

    #[test]
    fn mid_stream_error_event_maps_its_type() {
        let body = format!(
            "{}event: error\ndata: {}\n\n",
            sse(&[start(1)]),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        );
        let items = decode(&body);
        let error = items[0].clone().expect_err("error");
        assert_eq!(
            error.kind,
            ModelErrorKind::Overloaded {
                retry_after_ms: None
            }
        );
        assert!(error.message.contains("Overloaded"));
    }

    #[test]
    fn malformed_data_is_a_protocol_error_and_bad_arguments_a_marked_call() {
        let items = decode("event: message_start\ndata: {not json\n\n");
        assert_eq!(
            items[0].clone().expect_err("bad").kind,
            ModelErrorKind::Protocol
        );
        let body = sse(&[
            start(1),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "read", "input": {}}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": "}}),
            json!({"type": "content_block_stop", "index": 0}),
        ]);
        let items = decode(&body);
        assert_eq!(
            items[0],
            Ok(ModelChunk::ToolUseStart {
                id: "t".into(),
                name: "read".into()
            })
        );
        let Ok(ModelChunk::ToolUse { call }) = &items[1] else {
            panic!("expected the call, got {:?}", items[1]);
        };
        assert_eq!((call.id.as_str(), call.name.as_str()), ("t", "read"));
        let invalid = call.invalid_arguments().expect("marked invalid");
        assert_eq!(invalid.start, "{\"path\": ");
    }

    #[test]
    fn a_tool_call_left_open_by_max_tokens_is_handed_on() {
        let body = sse(&[
            start(1),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "write", "input": {}}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"path\": \"a.rs\", \"content\": \"fn ma"}}),
            json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 9}}),
            json!({"type": "message_stop"}),
        ]);
        let items = decode(&body);
        let call = items
            .iter()
            .find_map(|item| match item {
                Ok(ModelChunk::ToolUse { call }) => Some(call.clone()),
                _ => None,
            })
            .expect("the open call is handed on");
        assert!(call.invalid_arguments().is_some(), "{call:?}");
        assert_eq!(
            items.last(),
            Some(&Ok(ModelChunk::Stop {
                reason: StopReason::MaxTokens
            }))
        );
    }

    #[test]
    fn whole_response_gives_the_same_chunks() {
        let body = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Let me read it."},
                {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 5, "output_tokens": 6}
        });
        assert_eq!(
            decode_whole("anthropic", body.to_string().as_bytes()),
            Ok(vec![
                ModelChunk::Thinking {
                    thinking: "hmm".into()
                },
                ModelChunk::ThinkingSignature {
                    signature: "sig".into()
                },
                text("Let me read it."),
                ModelChunk::ToolUseStart {
                    id: "toolu_1".into(),
                    name: "read".into()
                },
                ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "toolu_1".into(),
                        name: "read".into(),
                        input: json!({"path": "a"})
                    }
                },
                ModelChunk::Usage {
                    usage: Usage {
                        input_tokens: 5,
                        output_tokens: 6,
                        ..Usage::default()
                    }
                },
                ModelChunk::Stop {
                    reason: StopReason::ToolUse
                },
            ])
        );
        assert_eq!(
            decode_whole("anthropic", b"{oops").expect_err("bad").kind,
            ModelErrorKind::Protocol
        );
    }

    #[test]
    fn missing_key_fails_at_once_naming_the_variable() {
        let provider = AnthropicProvider::new(ProviderSettings::known("anthropic").expect("known"))
            .expect("builds");
        let items = futures::executor::block_on(futures::StreamExt::collect::<Vec<_>>(
            provider.invoke(conversation(true)),
        ));
        assert_eq!(items.len(), 1);
        let error = items[0].clone().expect_err("auth");
        assert_eq!(error.kind, ModelErrorKind::Auth);
        assert_eq!(
            error.message,
            "no API key for anthropic: set ANTHROPIC_API_KEY or providers.anthropic.api_key in ~/.config/cuervo/config.yml"
        );
    }

    #[test]
    fn url_tolerates_slashes_and_v1() {
        for base in [
            "https://api.anthropic.com",
            "https://api.anthropic.com/",
            "https://api.anthropic.com/v1/",
        ] {
            let provider = AnthropicProvider::new(ProviderSettings::new(
                "anthropic",
                crate::WireKind::Anthropic,
                base,
            ))
            .expect("builds");
            assert_eq!(
                provider.url("messages"),
                "https://api.anthropic.com/v1/messages"
            );
        }
    }
}
