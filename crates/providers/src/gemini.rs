//! The Gemini API adapter: domain ⇄ [`crate::wire::gemini`] mapping and the stream
//! decoder. Transport, retries and error mapping live in `transport`.
//!
//! Gemini differs from the OpenAI-shaped APIs in ways this module absorbs:
//! - function calls usually come without ids; the decoder gives each one an id, and the
//!   ids Cuervo sends back ride in `functionCall.id` / `functionResponse.id`;
//! - a function response names its function, so results are matched to their call's name;
//! - a stream has no end marker: the last chunk carries `finishReason` and the body ends
//!   (chunks of older models repeat `finishReason: STOP` on every chunk, so only the last
//!   one counts);
//! - thought signatures (encrypted thinking context) ride on parts and must go back on the
//!   same part: they are kept as [`EncryptedReasoning`] in a thinking block placed just
//!   before the block of the part that carried them.

use std::collections::HashMap;

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, ContentBlock, Cost, EncryptedReasoning, ModelChunk,
    ModelError, ModelErrorKind, ModelProvider, ModelRequest, Role, StopReason, ToolCall, Usage,
};
use reqwest::header::{HeaderMap, HeaderName};
use serde_json::{Value, json};

use crate::sse::Event;
use crate::transport::{self, Decoder, Framing, Transport};
use crate::wire::gemini as wire;
use crate::{ProviderSettings, catalog, embeddings, prepare, pricing};

/// The model `embed` uses unless `embedding_model` says otherwise.
pub const DEFAULT_EMBEDDING_MODEL: &str = "gemini-embedding-001";

/// [`ModelProvider`] for the Gemini API.
pub struct GeminiProvider {
    transport: Transport,
    embedding_model: String,
}

impl GeminiProvider {
    /// Validates `settings` and builds the HTTP client. A missing key is reported by
    /// `invoke`, not here.
    pub fn new(settings: ProviderSettings) -> crate::Result<Self> {
        let embedding_model = settings
            .embedding_model
            .clone()
            .unwrap_or_else(|| DEFAULT_EMBEDDING_MODEL.to_owned());
        Ok(Self {
            transport: Transport::new(settings, true)?,
            embedding_model,
        })
    }

    /// `{base}/v1beta`, tolerating a base that already names the version.
    fn root(&self) -> String {
        let base = self.transport.base_url();
        if base.ends_with("/v1beta") || base.ends_with("/v1") {
            base.to_owned()
        } else {
            format!("{base}/v1beta")
        }
    }

    /// `{root}/models/{model}:{method}`; a `models/` prefix on the id is tolerated.
    fn url(&self, model: &str, method: &str) -> String {
        format!("{}/models/{}:{method}", self.root(), model_id(model))
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        self.transport.json_headers(
            HeaderName::from_static("x-goog-api-key"),
            "",
            HeaderMap::new(),
        )
    }
}

/// A model id without the `models/` prefix the API uses in resource names.
fn model_id(model: &str) -> &str {
    let model = model.trim();
    model.strip_prefix("models/").unwrap_or(model)
}

impl ModelProvider for GeminiProvider {
    fn name(&self) -> &str {
        self.transport.name()
    }

    fn capabilities(&self, model: &str) -> Capabilities {
        self.transport.cap_context(catalog::capabilities(model))
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        let request = prepare::prepare(request);
        let thinking = catalog::lookup(&request.model).is_some_and(|c| c.thinking);
        let url = if request.stream {
            format!(
                "{}?alt=sse",
                self.url(&request.model, "streamGenerateContent")
            )
        } else {
            self.url(&request.model, "generateContent")
        };
        self.transport.post(
            url,
            self.headers(),
            &to_wire(&request, thinking),
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
        Box::pin(async move {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            let model = model_id(&self.embedding_model);
            let request = wire::BatchEmbedContentsRequest {
                requests: texts
                    .iter()
                    .map(|text| wire::EmbedContentRequest {
                        model: Some(format!("models/{model}")),
                        content: wire::Content {
                            role: None,
                            parts: vec![text_part(text.clone())],
                        },
                    })
                    .collect(),
            };
            let body = transport::body(self.name(), &request)?;
            let reply = self
                .transport
                .json(
                    self.url(model, "batchEmbedContents"),
                    self.headers()?,
                    Some(body),
                )
                .await?;
            let text = String::from_utf8_lossy(&reply);
            let response: wire::BatchEmbedContentsResponse =
                transport::parse_json(self.name(), "the embeddings response", &text)?;
            let vectors = response.embeddings.into_iter().map(|e| e.values).collect();
            embeddings::check_count(self.name(), texts.len(), vectors)
        })
    }

    fn is_available(&self) -> BoxFuture<'_, bool> {
        match self.headers() {
            Ok(headers) => self
                .transport
                .probe(format!("{}/models", self.root()), headers),
            Err(_) => Box::pin(async { false }),
        }
    }

    fn estimate_cost(&self, request: &ModelRequest) -> Option<Cost> {
        prepare::estimate(&prepare::prepare(request.clone()))
    }

    fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        pricing::cost(model, usage)
    }
}

fn text_part(text: String) -> wire::Part {
    wire::Part {
        text: Some(text),
        ..wire::Part::default()
    }
}

/// The thinking budget to send: Gemini 2.5 Pro cannot stop thinking (its minimum is 128
/// tokens); the Pro maximum is 32,768 tokens and the Flash models' 24,576.
pub fn thinking_budget(model: &str, budget: u32) -> i64 {
    let model = model_id(model).to_ascii_lowercase();
    let budget = i64::from(budget);
    if model.starts_with("gemini-2.5-pro") {
        budget.clamp(128, 32_768)
    } else if model.starts_with("gemini-2.5-flash") {
        budget.min(24_576)
    } else {
        budget
    }
}

/// Maps a domain request to the wire body.
///
/// The system prompt is `systemInstruction`; user and tool messages are `user` turns,
/// assistant messages `model` turns, consecutive turns of one role merged. Images are
/// `inlineData`; tool calls are `functionCall` parts with their ids; tool results are
/// `functionResponse` parts naming the function they answer, with `{"output": ...}` or,
/// for a failure, `{"error": ...}`. Thinking text is not sent back (the API does not want
/// it), but a thought signature goes back on the part after its thinking block (or the
/// part before, when none follows). With `thinking` (a model that thinks), thought
/// summaries are asked for and the thinking budget is passed on, `maxOutputTokens`
/// growing by it (thoughts count against it).
pub fn to_wire(request: &ModelRequest, thinking: bool) -> wire::GenerateContentRequest {
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut contents: Vec<wire::Content> = Vec::new();
    for message in &request.messages {
        let role = match message.role {
            Role::Assistant => "model",
            Role::User | Role::Tool => "user",
        };
        let mut responses = Vec::new();
        let mut parts = Vec::new();
        let mut signature: Option<String> = None;
        for block in &message.content {
            let part = match block {
                ContentBlock::Text { text } if !text.is_empty() => text_part(text.clone()),
                ContentBlock::Image {
                    media_type,
                    data_base64,
                } if role == "user" => wire::Part {
                    inline_data: Some(wire::Blob {
                        mime_type: media_type.clone(),
                        data: data_base64.clone(),
                    }),
                    ..wire::Part::default()
                },
                ContentBlock::Thinking {
                    encrypted: Some(encrypted),
                    ..
                } if role == "model" && encrypted.is(EncryptedReasoning::GEMINI) => {
                    signature = Some(encrypted.data.clone());
                    continue;
                }
                ContentBlock::ToolUse(call) if role == "model" => {
                    names.insert(call.id.as_str(), call.name.as_str());
                    wire::Part {
                        function_call: Some(wire::FunctionCall {
                            id: Some(call.id.clone()),
                            name: call.name.clone(),
                            args: match &call.input {
                                Value::Object(_) => call.input.clone(),
                                Value::Null => json!({}),
                                other => json!({"value": other}),
                            },
                        }),
                        ..wire::Part::default()
                    }
                }
                ContentBlock::ToolResult(result) if role == "user" => {
                    let key = if result.is_error { "error" } else { "output" };
                    responses.push(wire::Part {
                        function_response: Some(wire::FunctionResponse {
                            id: Some(result.call_id.clone()),
                            name: names
                                .get(result.call_id.as_str())
                                .map_or_else(|| result.call_id.clone(), |n| (*n).to_owned()),
                            response: json!({ key: result.content }),
                        }),
                        ..wire::Part::default()
                    });
                    continue;
                }
                _ => continue,
            };
            let mut part = part;
            part.thought_signature = signature.take();
            parts.push(part);
        }
        if let Some(signature) = signature
            && let Some(last) = parts.last_mut()
            && last.thought_signature.is_none()
        {
            last.thought_signature = Some(signature);
        }
        // Function responses first, as the API wants them right after the calls.
        responses.extend(parts);
        if responses.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(responses),
            _ => contents.push(wire::Content {
                role: Some(role.to_owned()),
                parts: responses,
            }),
        }
    }
    let budget = request
        .thinking_budget
        .map(|b| thinking_budget(&request.model, b));
    let declarations: Vec<wire::FunctionDeclaration> = request
        .tools
        .iter()
        .map(|tool| wire::FunctionDeclaration {
            name: tool.name.clone(),
            description: tool.description.clone(),
            parameters_json_schema: Some(tool.input_schema.clone()),
            parameters: None,
        })
        .collect();
    wire::GenerateContentRequest {
        contents,
        system_instruction: request
            .system
            .clone()
            .filter(|s| !s.is_empty())
            .map(|text| wire::Content {
                role: None,
                parts: vec![text_part(text)],
            }),
        tools: if declarations.is_empty() {
            Vec::new()
        } else {
            vec![wire::Tool {
                function_declarations: declarations,
            }]
        },
        generation_config: Some(wire::GenerationConfig {
            // Thoughts count against `maxOutputTokens`: the budget comes on top.
            max_output_tokens: Some(match (thinking, budget) {
                (true, Some(budget)) => request
                    .max_tokens
                    .saturating_add(u32::try_from(budget).unwrap_or(0)),
                _ => request.max_tokens,
            }),
            temperature: request.temperature,
            thinking_config: thinking.then_some(wire::ThinkingConfig {
                thinking_budget: budget,
                include_thoughts: Some(true),
            }),
        }),
    }
}

fn stop_reason(reason: &str, had_calls: bool) -> StopReason {
    match reason {
        "STOP" if had_calls => StopReason::ToolUse,
        "STOP" => StopReason::EndTurn,
        "MAX_TOKENS" => StopReason::MaxTokens,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            StopReason::Refusal
        }
        other => StopReason::Other(other.to_ascii_lowercase()),
    }
}

/// Cached tokens are part of `promptTokenCount`; thinking tokens are output.
fn usage(wire: &wire::UsageMetadata) -> Usage {
    let cached = wire.cached_content_token_count;
    Usage {
        input_tokens: (wire.prompt_token_count + wire.tool_use_prompt_token_count)
            .saturating_sub(cached),
        output_tokens: wire.candidates_token_count + wire.thoughts_token_count,
        cache_read_tokens: cached,
        cache_write_tokens: 0,
    }
}

fn error(provider: &str, body: wire::ErrorBody) -> ModelError {
    transport::stream_error(
        provider,
        transport::ErrorDetails {
            message: body.message,
            kind: body.status,
            code: body.code.map(|c| c.to_string()),
            ..transport::ErrorDetails::default()
        },
    )
}

/// Accumulates chunks of a response (or one whole response) into model chunks.
pub(crate) struct StreamDecoder {
    provider: String,
    calls: usize,
    had_calls: bool,
    finish: Option<String>,
    blocked: Option<String>,
    usage: Option<Usage>,
}

impl StreamDecoder {
    pub(crate) fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            calls: 0,
            had_calls: false,
            finish: None,
            blocked: None,
            usage: None,
        }
    }

    /// Takes one response (a stream chunk or a whole body).
    fn response(
        &mut self,
        response: wire::GenerateContentResponse,
        out: &mut Vec<ModelChunk>,
    ) -> Result<(), ModelError> {
        if let Some(body) = response.error {
            return Err(error(&self.provider, body));
        }
        if let Some(reason) = response.prompt_feedback.and_then(|f| f.block_reason) {
            self.blocked = Some(reason);
        }
        if let Some(u) = &response.usage_metadata {
            self.usage = Some(usage(u));
        }
        let Some(candidate) = response.candidates.into_iter().next() else {
            return Ok(());
        };
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(data) = part.thought_signature.filter(|s| !s.is_empty()) {
                out.push(ModelChunk::ThinkingEncrypted {
                    encrypted: EncryptedReasoning::new(EncryptedReasoning::GEMINI, data),
                });
            }
            if let Some(call) = part.function_call {
                let id = call.id.filter(|id| !id.is_empty()).unwrap_or_else(|| {
                    let prefix = response
                        .response_id
                        .as_deref()
                        .filter(|r| !r.is_empty())
                        .map_or_else(|| format!("{:012x}", rand::random::<u64>()), str::to_owned);
                    format!("call_{prefix}_{}", self.calls)
                });
                self.calls += 1;
                self.had_calls = true;
                let input = match call.args {
                    Value::Null => json!({}),
                    args => args,
                };
                out.push(ModelChunk::ToolUseStart {
                    id: id.clone(),
                    name: call.name.clone(),
                });
                out.push(ModelChunk::ToolUse {
                    call: ToolCall {
                        id,
                        name: call.name,
                        input,
                    },
                });
            } else if let Some(text) = part.text.filter(|t| !t.is_empty()) {
                if part.thought == Some(true) {
                    out.push(ModelChunk::Thinking { thinking: text });
                } else {
                    out.push(ModelChunk::Text { text });
                }
            }
        }
        if let Some(reason) = candidate.finish_reason.filter(|r| !r.is_empty()) {
            self.finish = Some(reason);
        }
        Ok(())
    }

    /// The end of the answer: usage and the stop reason, or `StreamCut` when the model
    /// never said it finished.
    fn complete(&mut self, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        let reason = match (&self.finish, &self.blocked) {
            (Some(finish), _) => stop_reason(finish, self.had_calls),
            (None, Some(_)) => StopReason::Refusal,
            (None, None) => {
                return Err(transport::stream_cut(
                    &self.provider,
                    "the stream ended before a finishReason",
                ));
            }
        };
        if let Some(usage) = self.usage.take() {
            out.push(ModelChunk::Usage { usage });
        }
        out.push(ModelChunk::Stop { reason });
        Ok(())
    }
}

impl Decoder for StreamDecoder {
    fn event(&mut self, event: Event, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let response: wire::GenerateContentResponse =
            transport::parse_json(&self.provider, "a stream chunk", data)?;
        self.response(response, out)
    }

    fn finished(&self) -> bool {
        // Gemini streams have no end marker: the body ends.
        false
    }

    fn end(&mut self, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        self.complete(out)
    }
}

/// Decodes a non-streamed response (an object, or the JSON array a stream without
/// `alt=sse` answers with) into the chunks a stream would have produced.
fn decode_whole(provider: &str, body: &[u8]) -> Result<Vec<ModelChunk>, ModelError> {
    let text = String::from_utf8_lossy(body);
    let value: Value = transport::parse_json(provider, "the response", &text)?;
    let responses = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut decoder = StreamDecoder::new(provider);
    let mut out = Vec::new();
    for value in responses {
        let response: wire::GenerateContentResponse =
            serde_json::from_value(value).map_err(|e| {
                transport::protocol(provider, format!("unexpected response shape: {e}"))
            })?;
        decoder.response(response, &mut out)?;
    }
    decoder.complete(&mut out).map_err(|e| {
        // A whole body without a finishReason is malformed, not cut.
        ModelError::new(provider, ModelErrorKind::Protocol, e.message)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{Message, ToolResult, ToolSpec};
    use pretty_assertions::assert_eq;

    use crate::sse::SseParser;

    fn conversation() -> ModelRequest {
        ModelRequest {
            model: "gemini-2.5-flash".into(),
            system: Some("You are Cuervo.".into()),
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::Text {
                            text: "Describe and read.".into(),
                        },
                        ContentBlock::Image {
                            media_type: "image/jpeg".into(),
                            data_base64: "/9j/4AAQ".into(),
                        },
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::Thinking {
                            thinking: "summary, not sent".into(),
                            signature: None,
                            encrypted: Some(EncryptedReasoning::new(
                                EncryptedReasoning::GEMINI,
                                "CiQB-sig",
                            )),
                        },
                        ContentBlock::ToolUse(ToolCall {
                            id: "call_a".into(),
                            name: "read".into(),
                            input: json!({"path": "a.rs"}),
                        }),
                        ContentBlock::ToolUse(ToolCall {
                            id: "call_b".into(),
                            name: "ls".into(),
                            input: json!({}),
                        }),
                    ],
                },
                Message::tool_results(vec![
                    ToolResult {
                        call_id: "call_a".into(),
                        content: "fn a() {}".into(),
                        is_error: false,
                    },
                    ToolResult {
                        call_id: "call_b".into(),
                        content: "denied".into(),
                        is_error: true,
                    },
                ]),
                Message::user("And now?"),
            ],
            tools: vec![ToolSpec {
                name: "read".into(),
                description: "Reads a file.".into(),
                input_schema: json!({"type": "object", "additionalProperties": false}),
            }],
            max_tokens: 2048,
            temperature: Some(0.25),
            stream: true,
            thinking_budget: Some(100_000),
        }
    }

    #[test]
    fn maps_a_conversation_to_contents() {
        let body = serde_json::to_value(to_wire(&conversation(), true)).expect("json");
        assert_eq!(
            body,
            json!({
                "contents": [
                    {"role": "user", "parts": [
                        {"text": "Describe and read."},
                        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}
                    ]},
                    {"role": "model", "parts": [
                        {"thoughtSignature": "CiQB-sig",
                         "functionCall": {"id": "call_a", "name": "read", "args": {"path": "a.rs"}}},
                        {"functionCall": {"id": "call_b", "name": "ls", "args": {}}}
                    ]},
                    {"role": "user", "parts": [
                        {"functionResponse": {"id": "call_a", "name": "read", "response": {"output": "fn a() {}"}}},
                        {"functionResponse": {"id": "call_b", "name": "ls", "response": {"error": "denied"}}},
                        {"text": "And now?"}
                    ]}
                ],
                "systemInstruction": {"parts": [{"text": "You are Cuervo."}]},
                "tools": [{"functionDeclarations": [{"name": "read", "description": "Reads a file.",
                    "parametersJsonSchema": {"type": "object", "additionalProperties": false}}]}],
                "generationConfig": {"maxOutputTokens": 26624, "temperature": 0.25,
                    "thinkingConfig": {"thinkingBudget": 24576, "includeThoughts": true}}
            })
        );
        let plain = serde_json::to_value(to_wire(&conversation(), false)).expect("json");
        assert_eq!(plain["generationConfig"].get("thinkingConfig"), None);
        assert_eq!(thinking_budget("gemini-2.5-pro", 0), 128);
        assert_eq!(thinking_budget("models/gemini-2.5-flash-lite", 0), 0);
    }

    fn decode(body: &str) -> Vec<Result<ModelChunk, ModelError>> {
        let mut parser = SseParser::new();
        let mut decoder = StreamDecoder::new("gemini");
        let mut items = Vec::new();
        for event in parser.feed(body.as_bytes()) {
            let mut out = Vec::new();
            let result = decoder.event(event, &mut out);
            items.extend(out.into_iter().map(Ok));
            if let Err(e) = result {
                items.push(Err(e));
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

    fn sse(chunks: &[Value]) -> String {
        chunks
            .iter()
            .map(|c| format!("data: {c}\r\n\r\n"))
            .collect()
    }

    #[test]
    fn streams_thoughts_text_calls_and_usage() {
        let body = sse(&[
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hmm.", "thought": true}]}, "index": 0}],
                   "responseId": "r1"}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Reading "}]}, "index": 0}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [
                       {"functionCall": {"name": "read", "args": {"path": "a.rs"}}, "thoughtSignature": "sig=="}]},
                   "finishReason": "STOP", "index": 0}],
                   "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 10,
                                     "thoughtsTokenCount": 5, "cachedContentTokenCount": 40, "totalTokenCount": 115},
                   "responseId": "r1"}),
        ]);
        assert_eq!(
            decode(&body),
            vec![
                Ok(ModelChunk::Thinking {
                    thinking: "Hmm.".into()
                }),
                Ok(ModelChunk::Text {
                    text: "Reading ".into()
                }),
                Ok(ModelChunk::ThinkingEncrypted {
                    encrypted: EncryptedReasoning::new(EncryptedReasoning::GEMINI, "sig==")
                }),
                Ok(ModelChunk::ToolUseStart {
                    id: "call_r1_0".into(),
                    name: "read".into()
                }),
                Ok(ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "call_r1_0".into(),
                        name: "read".into(),
                        input: json!({"path": "a.rs"})
                    }
                }),
                Ok(ModelChunk::Usage {
                    usage: Usage {
                        input_tokens: 60,
                        output_tokens: 15,
                        cache_read_tokens: 40,
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
    fn finish_reasons_blocks_errors_and_cuts() {
        for (wire, domain) in [
            ("STOP", StopReason::EndTurn),
            ("MAX_TOKENS", StopReason::MaxTokens),
            ("SAFETY", StopReason::Refusal),
            ("RECITATION", StopReason::Refusal),
            (
                "MALFORMED_FUNCTION_CALL",
                StopReason::Other("malformed_function_call".into()),
            ),
        ] {
            let body = sse(&[
                json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": wire}]}),
            ]);
            assert_eq!(
                decode(&body).pop(),
                Some(Ok(ModelChunk::Stop { reason: domain })),
                "{wire}"
            );
        }
        let blocked = sse(&[json!({"promptFeedback": {"blockReason": "SAFETY"}})]);
        assert_eq!(
            decode(&blocked).pop(),
            Some(Ok(ModelChunk::Stop {
                reason: StopReason::Refusal
            }))
        );
        let failed = sse(&[
            json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}),
        ]);
        assert_eq!(
            decode(&failed)[0].clone().expect_err("error").kind,
            ModelErrorKind::Overloaded {
                retry_after_ms: None
            }
        );
        let cut = sse(&[json!({"candidates": [{"content": {"parts": [{"text": "Hal"}]}}]})]);
        assert_eq!(
            decode(&cut)[1].clone().expect_err("cut").kind,
            ModelErrorKind::StreamCut
        );
    }

    #[test]
    fn whole_bodies_objects_and_arrays() {
        let one = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}, "finishReason": "STOP"}],
                         "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 1, "totalTokenCount": 3}});
        let chunks = decode_whole("gemini", one.to_string().as_bytes()).expect("decodes");
        assert_eq!(chunks[0], ModelChunk::Text { text: "Hi".into() });
        let array = json!([
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]},
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "finishReason": "STOP"}]}
        ]);
        let chunks = decode_whole("gemini", array.to_string().as_bytes()).expect("decodes");
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            decode_whole("gemini", b"{}").expect_err("no finish").kind,
            ModelErrorKind::Protocol
        );
    }
}
