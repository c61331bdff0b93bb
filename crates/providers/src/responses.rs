//! The OpenAI Responses API adapter: domain ⇄ [`crate::wire::responses`] mapping and the
//! stream decoder. Transport, retries and error mapping live in `transport`.
//!
//! Cuervo uses the API statelessly (`store: false`): every request carries the whole
//! conversation as input items. A reasoning model's reasoning comes back as an encrypted
//! item (`include: ["reasoning.encrypted_content"]`), is kept in the conversation as a
//! thinking block's [`EncryptedReasoning`], and goes back in the next request, so the
//! model keeps its chain of thought across tool calls without OpenAI storing anything.

use std::collections::BTreeMap;

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, ContentBlock, Cost, EncryptedReasoning, ModelChunk,
    ModelError, ModelProvider, ModelRequest, Role, StopReason, Usage,
};

use crate::openai::{OpenAiEndpoint, data_url};
use crate::sse::Event;
use crate::transport::{self, Decoder, Framing};
use crate::wire::responses as wire;
use crate::{ProviderSettings, catalog, prepare, pricing};

/// What `include` asks for to get reasoning back.
pub const INCLUDE_ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

/// [`ModelProvider`] for the OpenAI Responses API.
pub struct ResponsesProvider {
    endpoint: OpenAiEndpoint,
}

impl ResponsesProvider {
    /// Validates `settings` and builds the HTTP client. As for Chat Completions, a key is
    /// required when `api_key_env` names where it should come from.
    pub fn new(settings: ProviderSettings) -> crate::Result<Self> {
        Ok(Self {
            endpoint: OpenAiEndpoint::new(settings)?,
        })
    }
}

impl ModelProvider for ResponsesProvider {
    fn name(&self) -> &str {
        self.endpoint.transport.name()
    }

    fn capabilities(&self, model: &str) -> Capabilities {
        self.endpoint
            .transport
            .cap_context(catalog::capabilities(model))
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        let request = prepare::prepare(request);
        let reasoning = is_reasoning_model(&request.model);
        let transport = &self.endpoint.transport;
        transport.post(
            transport.url("responses"),
            self.endpoint.headers(),
            &to_wire(&request, reasoning),
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
        prepare::estimate(&prepare::prepare(request.clone()))
    }

    fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        pricing::cost(model, usage)
    }
}

/// Whether the catalog knows `model` as a reasoning model: only those accept `reasoning`
/// and `include`, and they refuse `temperature`.
pub fn is_reasoning_model(model: &str) -> bool {
    catalog::lookup(model).is_some_and(|c| c.thinking)
}

/// The reasoning effort for a thinking budget: up to 4K tokens is `low`, up to 16K
/// `medium`, more is `high`; no budget leaves the model's default.
pub fn effort(thinking_budget: Option<u32>) -> Option<&'static str> {
    thinking_budget.map(|budget| match budget {
        0..=4_096 => "low",
        4_097..=16_384 => "medium",
        _ => "high",
    })
}

/// Maps a domain request to the wire body.
///
/// The system prompt is `instructions`; each message becomes input items in order: user
/// text and images as a `message` (`input_text`, `input_image` with a data URL); an
/// assistant's text as a `message` of `output_text`, its tool calls as `function_call`
/// items, and thinking that came from this API as `reasoning` items with their
/// `encrypted_content` (other providers' thinking is dropped); tool results as
/// `function_call_output` items (a failed one prefixed with `Error: `, since the format
/// has no error flag). `store` is always false. With `reasoning` (a reasoning model),
/// `reasoning` asks for a summary and the effort the thinking budget maps to, `include`
/// asks for encrypted reasoning, `max_output_tokens` grows by the budget (reasoning
/// counts against it) and `temperature` is left out.
pub fn to_wire(request: &ModelRequest, reasoning: bool) -> wire::ResponsesRequest {
    let mut items = Vec::new();
    for message in &request.messages {
        match message.role {
            Role::Assistant => assistant_items(&message.content, &mut items),
            Role::User | Role::Tool => user_items(&message.content, &mut items),
        }
    }
    wire::ResponsesRequest {
        model: request.model.clone(),
        instructions: request.system.clone().filter(|s| !s.is_empty()),
        input: wire::Input::Items(items),
        tools: request
            .tools
            .iter()
            .map(|tool| wire::Tool {
                kind: "function".to_owned(),
                name: tool.name.clone(),
                description: tool.description.clone(),
                parameters: tool.input_schema.clone(),
                strict: false,
            })
            .collect(),
        max_output_tokens: Some(if reasoning {
            prepare::output_allowance(request)
        } else {
            request.max_tokens
        }),
        temperature: request.temperature.filter(|_| !reasoning),
        reasoning: reasoning.then(|| wire::Reasoning {
            effort: effort(request.thinking_budget).map(str::to_owned),
            summary: Some("auto".to_owned()),
        }),
        include: if reasoning {
            vec![INCLUDE_ENCRYPTED_REASONING.to_owned()]
        } else {
            Vec::new()
        },
        store: false,
        stream: request.stream,
    }
}

fn user_items(blocks: &[ContentBlock], items: &mut Vec<wire::Item>) {
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text { text } if !text.is_empty() => {
                parts.push(wire::ContentPart::InputText { text: text.clone() });
            }
            ContentBlock::Image {
                media_type,
                data_base64,
            } => parts.push(wire::ContentPart::InputImage {
                image_url: Some(data_url(media_type, data_base64)),
                detail: None,
            }),
            ContentBlock::ToolResult(result) => {
                items.push(wire::Item::FunctionCallOutput {
                    call_id: result.call_id.clone(),
                    output: if result.is_error {
                        format!("Error: {}", result.content)
                    } else {
                        result.content.clone()
                    },
                });
            }
            _ => {}
        }
    }
    if !parts.is_empty() {
        items.push(wire::Item::Message {
            id: None,
            role: "user".to_owned(),
            content: wire::MessageContent::Parts(parts),
            status: None,
        });
    }
}

fn assistant_items(blocks: &[ContentBlock], items: &mut Vec<wire::Item>) {
    let mut text = Vec::new();
    let flush = |text: &mut Vec<wire::ContentPart>, items: &mut Vec<wire::Item>| {
        if !text.is_empty() {
            items.push(wire::Item::Message {
                id: None,
                role: "assistant".to_owned(),
                content: wire::MessageContent::Parts(std::mem::take(text)),
                status: None,
            });
        }
    };
    for block in blocks {
        match block {
            ContentBlock::Text { text: t } if !t.is_empty() => {
                text.push(wire::ContentPart::OutputText {
                    text: t.clone(),
                    annotations: None,
                });
            }
            ContentBlock::Thinking {
                thinking,
                encrypted: Some(encrypted),
                ..
            } if encrypted.is(EncryptedReasoning::OPENAI_RESPONSES) => {
                flush(&mut text, items);
                let summary = if thinking.is_empty() {
                    Vec::new()
                } else {
                    vec![wire::SummaryPart {
                        kind: wire::summary_text(),
                        text: thinking.clone(),
                    }]
                };
                items.push(wire::Item::Reasoning {
                    id: None,
                    summary,
                    encrypted_content: Some(encrypted.data.clone()),
                });
            }
            ContentBlock::ToolUse(call) => {
                flush(&mut text, items);
                items.push(wire::Item::FunctionCall {
                    id: None,
                    call_id: call.id.clone(),
                    name: call.name.clone(),
                    arguments: call.input.to_string(),
                    status: None,
                });
            }
            _ => {}
        }
    }
    flush(&mut text, items);
}

/// Cached input tokens are part of `input_tokens` on the wire; the domain counts them
/// apart, so they are moved out.
fn usage(wire: &wire::Usage) -> Usage {
    let cached = wire.input_tokens_details.map_or(0, |d| d.cached_tokens);
    Usage {
        input_tokens: wire.input_tokens.saturating_sub(cached),
        output_tokens: wire.output_tokens,
        cache_read_tokens: cached,
        cache_write_tokens: 0,
    }
}

fn error(provider: &str, code: Option<String>, message: String) -> ModelError {
    transport::stream_error(
        provider,
        transport::ErrorDetails {
            message,
            code,
            ..transport::ErrorDetails::default()
        },
    )
}

fn failed(provider: &str, response: wire::Response) -> ModelError {
    match response.error {
        Some(e) => error(provider, e.code, e.message),
        None => error(provider, None, "the response failed".to_owned()),
    }
}

/// The stop reason of a finished response: its `incomplete_details`, else tool use when
/// the model called tools, a refusal when it refused, the end of its turn otherwise.
fn stop_reason(response: &wire::Response, had_calls: bool, refused: bool) -> StopReason {
    let incomplete = response
        .incomplete_details
        .as_ref()
        .and_then(|d| d.reason.as_deref());
    match (response.status.as_deref(), incomplete) {
        (_, Some("max_output_tokens")) => StopReason::MaxTokens,
        (_, Some("content_filter")) => StopReason::Refusal,
        (_, Some(other)) => StopReason::Other(other.to_owned()),
        (Some("incomplete"), None) => StopReason::Other("incomplete".to_owned()),
        _ if had_calls => StopReason::ToolUse,
        _ if refused => StopReason::Refusal,
        _ => StopReason::EndTurn,
    }
}

/// The chunks an output item stands for, when it arrives whole.
fn item_chunks(item: wire::Item, out: &mut Vec<ModelChunk>, refused: &mut bool) -> bool {
    match item {
        wire::Item::Message { content, .. } => {
            let parts = match content {
                wire::MessageContent::Text(text) => vec![wire::ContentPart::OutputText {
                    text,
                    annotations: None,
                }],
                wire::MessageContent::Parts(parts) => parts,
            };
            for part in parts {
                match part {
                    wire::ContentPart::OutputText { text, .. } if !text.is_empty() => {
                        out.push(ModelChunk::Text { text });
                    }
                    wire::ContentPart::Refusal { refusal } if !refusal.is_empty() => {
                        *refused = true;
                        out.push(ModelChunk::Text { text: refusal });
                    }
                    _ => {}
                }
            }
            false
        }
        wire::Item::Reasoning {
            summary,
            encrypted_content,
            ..
        } => {
            reasoning_chunks(summary, encrypted_content, true, out);
            false
        }
        wire::Item::FunctionCall {
            call_id,
            name,
            arguments,
            ..
        } => {
            out.push(ModelChunk::ToolUseStart {
                id: call_id.clone(),
                name: name.clone(),
            });
            out.push(ModelChunk::ToolUse {
                call: transport::tool_call(call_id, name, &arguments),
            });
            true
        }
        _ => false,
    }
}

/// A reasoning item's summary (unless it was already streamed) and encrypted content.
fn reasoning_chunks(
    summary: Vec<wire::SummaryPart>,
    encrypted_content: Option<String>,
    with_summary: bool,
    out: &mut Vec<ModelChunk>,
) {
    if with_summary {
        let text: Vec<String> = summary
            .into_iter()
            .map(|s| s.text)
            .filter(|t| !t.is_empty())
            .collect();
        if !text.is_empty() {
            out.push(ModelChunk::Thinking {
                thinking: text.join("\n\n"),
            });
        }
    }
    if let Some(data) = encrypted_content.filter(|d| !d.is_empty()) {
        out.push(ModelChunk::ThinkingEncrypted {
            encrypted: EncryptedReasoning::new(EncryptedReasoning::OPENAI_RESPONSES, data),
        });
    }
}

/// Every chunk of a whole response object.
fn response_chunks(
    provider: &str,
    response: wire::Response,
    out: &mut Vec<ModelChunk>,
) -> Result<(), ModelError> {
    if response.status.as_deref() == Some("failed") {
        return Err(failed(provider, response));
    }
    let mut had_calls = false;
    let mut refused = false;
    for item in response.output.clone() {
        had_calls |= item_chunks(item, out, &mut refused);
    }
    if let Some(u) = &response.usage {
        out.push(ModelChunk::Usage { usage: usage(u) });
    }
    out.push(ModelChunk::Stop {
        reason: stop_reason(&response, had_calls, refused),
    });
    Ok(())
}

/// Decodes a non-streamed response into the chunks a stream would have produced.
fn decode_whole(provider: &str, body: &[u8]) -> Result<Vec<ModelChunk>, ModelError> {
    let text = String::from_utf8_lossy(body);
    let value: serde_json::Value = transport::parse_json(provider, "the response", &text)?;
    if value.get("object").is_none()
        && let Some(e) = value.get("error").filter(|e| !e.is_null())
    {
        let body: crate::wire::openai::ErrorBody = serde_json::from_value(e.clone())
            .map_err(|e| transport::protocol(provider, format!("unexpected error shape: {e}")))?;
        return Err(transport::stream_error(
            provider,
            transport::ErrorDetails {
                message: body.message,
                kind: body.kind,
                code: body.code.and_then(|c| c.as_str().map(str::to_owned)),
                ..transport::ErrorDetails::default()
            },
        ));
    }
    let response: wire::Response = serde_json::from_value(value)
        .map_err(|e| transport::protocol(provider, format!("unexpected response shape: {e}")))?;
    let mut out = Vec::new();
    response_chunks(provider, response, &mut out)?;
    Ok(out)
}

/// What an output item in flight is.
enum Item {
    Message {
        streamed: bool,
    },
    Reasoning {
        streamed: bool,
    },
    Call {
        call_id: String,
        name: String,
        arguments: String,
        announced: bool,
    },
    Other,
}

/// Streaming decoder: `response.created` → (`output_item.added` → deltas →
/// `output_item.done`)* → `response.completed` (or `.incomplete`, or `.failed`).
pub(crate) struct StreamDecoder {
    provider: String,
    items: BTreeMap<usize, Item>,
    emitted: bool,
    had_calls: bool,
    refused: bool,
    finished: bool,
}

impl StreamDecoder {
    pub(crate) fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            items: BTreeMap::new(),
            emitted: false,
            had_calls: false,
            refused: false,
            finished: false,
        }
    }

    fn item(&mut self, index: usize, kind: fn() -> Item) -> &mut Item {
        self.items.entry(index).or_insert_with(kind)
    }

    fn call_done(
        &mut self,
        index: usize,
        call_id: String,
        name: String,
        arguments: String,
        out: &mut Vec<ModelChunk>,
    ) -> Result<(), ModelError> {
        let (mut id, mut called, mut args, mut announced) = (call_id, name, arguments, false);
        if let Some(Item::Call {
            call_id,
            name,
            arguments,
            announced: was,
        }) = self.items.remove(&index)
        {
            if id.is_empty() {
                id = call_id;
            }
            if called.is_empty() {
                called = name;
            }
            if args.is_empty() {
                args = arguments;
            }
            announced = was;
        }
        if called.is_empty() {
            return Err(transport::protocol(
                &self.provider,
                format!("function call {index} ({id}) has no name"),
            ));
        }
        if !announced {
            out.push(ModelChunk::ToolUseStart {
                id: id.clone(),
                name: called.clone(),
            });
        }
        out.push(ModelChunk::ToolUse {
            call: transport::tool_call(id, called, &args),
        });
        self.had_calls = true;
        Ok(())
    }

    fn finish(
        &mut self,
        response: wire::Response,
        out: &mut Vec<ModelChunk>,
    ) -> Result<(), ModelError> {
        if !self.emitted {
            // A server that sent no item events: the snapshot holds the whole answer.
            self.finished = true;
            return response_chunks(&self.provider, response, out);
        }
        // Calls whose `output_item.done` never came, from their accumulated arguments.
        let pending: Vec<usize> = self
            .items
            .iter()
            .filter(|(_, item)| matches!(item, Item::Call { .. }))
            .map(|(index, _)| *index)
            .collect();
        for index in pending {
            self.call_done(index, String::new(), String::new(), String::new(), out)?;
        }
        if let Some(u) = &response.usage {
            out.push(ModelChunk::Usage { usage: usage(u) });
        }
        out.push(ModelChunk::Stop {
            reason: stop_reason(&response, self.had_calls, self.refused),
        });
        self.finished = true;
        Ok(())
    }
}

impl Decoder for StreamDecoder {
    fn event(&mut self, event: Event, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        let what = format!("a `{}` event", event.event.as_deref().unwrap_or("message"));
        let parsed: wire::StreamEvent = transport::parse_json(&self.provider, &what, &event.data)?;
        match parsed {
            wire::StreamEvent::Created { .. } | wire::StreamEvent::Other => {}
            wire::StreamEvent::OutputItemAdded { output_index, item } => {
                self.emitted = true;
                let state = match item {
                    wire::Item::Message { .. } => Item::Message { streamed: false },
                    wire::Item::Reasoning { .. } => Item::Reasoning { streamed: false },
                    wire::Item::FunctionCall {
                        call_id,
                        name,
                        arguments,
                        ..
                    } => {
                        let announced = !call_id.is_empty() && !name.is_empty();
                        if announced {
                            out.push(ModelChunk::ToolUseStart {
                                id: call_id.clone(),
                                name: name.clone(),
                            });
                        }
                        Item::Call {
                            call_id,
                            name,
                            arguments,
                            announced,
                        }
                    }
                    _ => Item::Other,
                };
                self.items.insert(output_index, state);
            }
            wire::StreamEvent::OutputTextDelta {
                output_index,
                delta,
            } => {
                self.emitted = true;
                if let Item::Message { streamed } =
                    self.item(output_index, || Item::Message { streamed: false })
                {
                    *streamed = true;
                }
                if !delta.is_empty() {
                    out.push(ModelChunk::Text { text: delta });
                }
            }
            wire::StreamEvent::RefusalDelta {
                output_index,
                delta,
            } => {
                self.emitted = true;
                self.refused = true;
                if let Item::Message { streamed } =
                    self.item(output_index, || Item::Message { streamed: false })
                {
                    *streamed = true;
                }
                if !delta.is_empty() {
                    out.push(ModelChunk::Text { text: delta });
                }
            }
            wire::StreamEvent::ReasoningSummaryPartAdded {
                output_index,
                summary_index,
            } => {
                let streamed = matches!(
                    self.items.get(&output_index),
                    Some(Item::Reasoning { streamed: true })
                );
                if summary_index > 0 && streamed {
                    out.push(ModelChunk::Thinking {
                        thinking: "\n\n".to_owned(),
                    });
                }
            }
            wire::StreamEvent::ReasoningSummaryTextDelta {
                output_index,
                delta,
            }
            | wire::StreamEvent::ReasoningTextDelta {
                output_index,
                delta,
            } => {
                self.emitted = true;
                if let Item::Reasoning { streamed } =
                    self.item(output_index, || Item::Reasoning { streamed: false })
                {
                    *streamed = true;
                }
                if !delta.is_empty() {
                    out.push(ModelChunk::Thinking { thinking: delta });
                }
            }
            wire::StreamEvent::FunctionCallArgumentsDelta {
                output_index,
                delta,
            } => {
                self.emitted = true;
                let new_call = || Item::Call {
                    call_id: String::new(),
                    name: String::new(),
                    arguments: String::new(),
                    announced: false,
                };
                if let Item::Call { arguments, .. } = self.item(output_index, new_call) {
                    arguments.push_str(&delta);
                }
            }
            wire::StreamEvent::FunctionCallArgumentsDone {
                output_index,
                arguments: done,
            } => {
                if let Some(Item::Call { arguments, .. }) = self.items.get_mut(&output_index)
                    && !done.is_empty()
                {
                    *arguments = done;
                }
            }
            wire::StreamEvent::OutputItemDone { output_index, item } => {
                self.emitted = true;
                match item {
                    wire::Item::FunctionCall {
                        call_id,
                        name,
                        arguments,
                        ..
                    } => self.call_done(output_index, call_id, name, arguments, out)?,
                    wire::Item::Reasoning {
                        summary,
                        encrypted_content,
                        ..
                    } => {
                        let streamed = matches!(
                            self.items.remove(&output_index),
                            Some(Item::Reasoning { streamed: true })
                        );
                        reasoning_chunks(summary, encrypted_content, !streamed, out);
                    }
                    message @ wire::Item::Message { .. } => {
                        let streamed = matches!(
                            self.items.remove(&output_index),
                            Some(Item::Message { streamed: true })
                        );
                        if !streamed {
                            item_chunks(message, out, &mut self.refused);
                        }
                    }
                    _ => {
                        self.items.remove(&output_index);
                    }
                }
            }
            wire::StreamEvent::Completed { response }
            | wire::StreamEvent::Incomplete { response } => self.finish(response, out)?,
            wire::StreamEvent::Failed { response } => {
                return Err(failed(&self.provider, response));
            }
            wire::StreamEvent::Error { code, message } => {
                return Err(error(&self.provider, code, message));
            }
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
                "the stream ended before response.completed",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{Message, ModelErrorKind, ToolCall, ToolResult, ToolSpec};
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use crate::sse::SseParser;

    fn conversation(model: &str) -> ModelRequest {
        ModelRequest {
            model: model.into(),
            system: Some("You are Cuervo.".into()),
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::Text {
                            text: "What is in main.rs?".into(),
                        },
                        ContentBlock::Image {
                            media_type: "image/png".into(),
                            data_base64: "iVBORw0KGgo=".into(),
                        },
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "Read it first.".into(),
                            signature: None,
                            encrypted: Some(EncryptedReasoning::new(
                                EncryptedReasoning::OPENAI_RESPONSES,
                                "gAAAAB-enc",
                            )),
                        },
                        ContentBlock::Thinking {
                            thinking: "from another provider".into(),
                            signature: Some("anthropic-sig".into()),
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
                    ],
                },
                Message::tool_results(vec![ToolResult {
                    call_id: "call_1".into(),
                    content: "no such file".into(),
                    is_error: true,
                }]),
            ],
            tools: vec![ToolSpec {
                name: "read".into(),
                description: "Reads a file.".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 1000,
            temperature: Some(0.25),
            stream: true,
            thinking_budget: Some(10_000),
        }
    }

    #[test]
    fn maps_a_conversation_to_input_items() {
        let request = conversation("gpt-5");
        let body = serde_json::to_value(to_wire(&request, is_reasoning_model(&request.model)))
            .expect("json");
        assert_eq!(
            body,
            json!({
                "model": "gpt-5",
                "instructions": "You are Cuervo.",
                "input": [
                    {"type": "message", "role": "user", "content": [
                        {"type": "input_text", "text": "What is in main.rs?"},
                        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}
                    ]},
                    {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Read it first."}],
                     "encrypted_content": "gAAAAB-enc"},
                    {"type": "message", "role": "assistant", "content": [
                        {"type": "output_text", "text": "Reading."}
                    ]},
                    {"type": "function_call", "call_id": "call_1", "name": "read",
                     "arguments": "{\"path\":\"main.rs\"}"},
                    {"type": "function_call_output", "call_id": "call_1", "output": "Error: no such file"}
                ],
                "tools": [{"type": "function", "name": "read", "description": "Reads a file.",
                           "parameters": {"type": "object"}, "strict": false}],
                "max_output_tokens": 11000,
                "reasoning": {"effort": "medium", "summary": "auto"},
                "include": ["reasoning.encrypted_content"],
                "store": false,
                "stream": true
            })
        );
    }

    #[test]
    fn non_reasoning_models_get_temperature_and_no_reasoning() {
        let request = conversation("gpt-4.1");
        let body = serde_json::to_value(to_wire(&request, is_reasoning_model(&request.model)))
            .expect("json");
        assert_eq!(body["temperature"], json!(0.25));
        assert_eq!(body.get("reasoning"), None);
        assert_eq!(body.get("include"), None);
        assert_eq!(body["store"], json!(false));
        assert_eq!(effort(None), None);
        assert_eq!(effort(Some(1_024)), Some("low"));
        assert_eq!(effort(Some(32_000)), Some("high"));
    }

    fn sse(events: &[Value]) -> String {
        events
            .iter()
            .map(|e| {
                format!(
                    "event: {}\ndata: {e}\n\n",
                    e["type"].as_str().expect("type")
                )
            })
            .collect()
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

    fn completed(usage: Value) -> Value {
        json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed",
               "output": [], "usage": usage}})
    }

    #[test]
    fn streams_reasoning_text_and_a_call_then_completes() {
        let body = sse(&[
            json!({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress", "output": [], "usage": null}}),
            json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": []}}),
            json!({"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
            json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0, "delta": "Plan."}),
            json!({"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 1, "part": {"type": "summary_text", "text": ""}}),
            json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 1, "delta": "Act."}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1",
                   "summary": [{"type": "summary_text", "text": "Plan."}, {"type": "summary_text", "text": "Act."}],
                   "encrypted_content": "gAAAA-secret"}}),
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "message", "id": "msg_1", "role": "assistant", "content": []}}),
            json!({"type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "Let me "}),
            json!({"type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "look."}),
            json!({"type": "response.output_text.done", "output_index": 1, "content_index": 0, "text": "Let me look."}),
            json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "message", "id": "msg_1", "role": "assistant",
                   "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}]}}),
            json!({"type": "response.output_item.added", "output_index": 2, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "read", "arguments": ""}}),
            json!({"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{\"path\":"}),
            json!({"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "\"a.rs\"}"}),
            json!({"type": "response.function_call_arguments.done", "output_index": 2, "arguments": "{\"path\":\"a.rs\"}"}),
            json!({"type": "response.output_item.done", "output_index": 2, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "read", "arguments": "{\"path\":\"a.rs\"}"}}),
            completed(
                json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 60},
                             "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 20}, "total_tokens": 130}),
            ),
        ]);
        let thinking = |t: &str| Ok(ModelChunk::Thinking { thinking: t.into() });
        let text = |t: &str| Ok(ModelChunk::Text { text: t.into() });
        assert_eq!(
            decode(&body),
            vec![
                thinking("Plan."),
                thinking("\n\n"),
                thinking("Act."),
                Ok(ModelChunk::ThinkingEncrypted {
                    encrypted: EncryptedReasoning::new(
                        EncryptedReasoning::OPENAI_RESPONSES,
                        "gAAAA-secret"
                    )
                }),
                text("Let me "),
                text("look."),
                Ok(ModelChunk::ToolUseStart {
                    id: "call_1".into(),
                    name: "read".into()
                }),
                Ok(ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "call_1".into(),
                        name: "read".into(),
                        input: json!({"path": "a.rs"})
                    }
                }),
                Ok(ModelChunk::Usage {
                    usage: Usage {
                        input_tokens: 40,
                        output_tokens: 30,
                        cache_read_tokens: 60,
                        cache_write_tokens: 0
                    }
                }),
                Ok(ModelChunk::Stop {
                    reason: StopReason::ToolUse
                }),
            ]
        );
    }

    #[test]
    fn incomplete_failed_error_and_cut_streams() {
        let body = sse(&[
            json!({"type": "response.output_text.delta", "output_index": 0, "delta": "Long"}),
            json!({"type": "response.incomplete", "response": {"status": "incomplete",
                   "incomplete_details": {"reason": "max_output_tokens"}, "output": [], "usage": null}}),
        ]);
        assert_eq!(
            decode(&body).pop(),
            Some(Ok(ModelChunk::Stop {
                reason: StopReason::MaxTokens
            }))
        );
        let body = sse(&[
            json!({"type": "response.failed", "response": {"status": "failed",
            "error": {"code": "rate_limit_exceeded", "message": "Slow down."}, "output": []}}),
        ]);
        let error = decode(&body)[0].clone().expect_err("failed");
        assert_eq!(
            error.kind,
            ModelErrorKind::RateLimited {
                retry_after_ms: None
            }
        );
        assert!(error.message.contains("Slow down."));
        let body = sse(&[
            json!({"type": "error", "code": "ERR_SOMETHING", "message": "Something went wrong", "param": null, "sequence_number": 1}),
        ]);
        let error = decode(&body)[0].clone().expect_err("error");
        assert_eq!(error.kind, ModelErrorKind::Server);
        let body =
            sse(&[json!({"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"})]);
        let items = decode(&body);
        assert_eq!(
            items[1].clone().expect_err("cut").kind,
            ModelErrorKind::StreamCut
        );
    }

    #[test]
    fn a_stream_of_snapshots_only_still_decodes() {
        let body = sse(&[
            json!({"type": "response.completed", "response": {"status": "completed",
            "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi"}]}],
            "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        ]);
        let items = decode(&body);
        assert_eq!(items[0], Ok(ModelChunk::Text { text: "Hi".into() }));
        assert_eq!(
            items.last(),
            Some(&Ok(ModelChunk::Stop {
                reason: StopReason::EndTurn
            }))
        );
    }

    #[test]
    fn whole_response_gives_the_same_chunks_and_errors_map() {
        let body = json!({"id": "resp_1", "object": "response", "status": "completed", "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"},
            {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "ls", "arguments": "{}"}
        ], "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}});
        let chunks = decode_whole("openai", body.to_string().as_bytes()).expect("decodes");
        assert_eq!(
            chunks[0],
            ModelChunk::ThinkingEncrypted {
                encrypted: EncryptedReasoning::new(EncryptedReasoning::OPENAI_RESPONSES, "enc")
            }
        );
        assert_eq!(
            chunks.last(),
            Some(&ModelChunk::Stop {
                reason: StopReason::ToolUse
            })
        );
        let error = decode_whole(
            "openai",
            br#"{"error": {"message": "bad", "type": "invalid_request_error", "code": null}}"#,
        )
        .expect_err("error body");
        assert_eq!(error.kind, ModelErrorKind::InvalidRequest);
    }
}
