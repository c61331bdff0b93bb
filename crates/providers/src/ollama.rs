//! The Ollama adapter (native API): domain ⇄ [`crate::wire::ollama`] mapping, the NDJSON
//! stream decoder, and what the server says about each model.
//!
//! Ollama loads a model with a context window of its own choosing (small by default) and
//! silently drops the start of a prompt that does not fit, which breaks an agent in ways
//! that look like the model's fault. So before the first request for a model, the adapter
//! asks `/api/show` for the model's real context length (`model_info`'s
//! `{architecture}.context_length`, never an assumed 128K) and its capabilities, caches
//! the answer, and sends `options.num_ctx` with every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, ContentBlock, Cost, ModelChunk, ModelError,
    ModelErrorKind, ModelProvider, ModelRequest, Role, StopReason, ToolCall, Usage,
};
use futures::StreamExt;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde_json::{Value, json};

use crate::sse::Event;
use crate::transport::{self, Decoder, Framing, Transport};
use crate::wire::ollama as wire;
use crate::{ProviderSettings, embeddings, prepare};

/// The model `embed` uses unless `embedding_model` says otherwise.
pub const DEFAULT_EMBEDDING_MODEL: &str = "nomic-embed-text";

/// The context window reported for a model the server has not described yet (or that has
/// no context length in its metadata): Ollama's historical default `num_ctx`. Small on
/// purpose: an unknown window is never assumed to be large.
pub const UNKNOWN_CONTEXT_WINDOW: u64 = 2_048;

/// What the server said about a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelInfo {
    /// The window the model was trained for, from its metadata (or its Modelfile's
    /// `num_ctx` when the metadata has none).
    pub context_length: Option<u64>,
    /// The capability names the server lists; `None` from servers too old to list them.
    pub capabilities: Option<Vec<String>>,
}

impl ModelInfo {
    fn from_show(show: &wire::ShowResponse) -> Self {
        Self {
            context_length: show.context_length().or_else(|| show.num_ctx_parameter()),
            capabilities: show.capabilities.clone(),
        }
    }

    fn has(&self, capability: &str) -> Option<bool> {
        self.capabilities
            .as_ref()
            .map(|caps| caps.iter().any(|c| c == capability))
    }

    /// The `num_ctx` to ask for: the model's window, capped by the configured limit.
    pub fn num_ctx(&self, limit: Option<u64>) -> Option<u64> {
        match (self.context_length, limit) {
            (Some(length), Some(limit)) => Some(length.min(limit)),
            (Some(length), None) => Some(length),
            (None, limit) => limit,
        }
    }

    /// The capabilities this model has on this server.
    pub fn capabilities(&self, limit: Option<u64>) -> Capabilities {
        let context_window = self.num_ctx(limit).unwrap_or(UNKNOWN_CONTEXT_WINDOW);
        Capabilities {
            context_window,
            // Generation may fill whatever the prompt leaves of the window.
            max_output_tokens: u32::try_from(context_window).unwrap_or(u32::MAX),
            tools: self.has("tools").unwrap_or(true),
            vision: self.has("vision").unwrap_or(false),
            thinking: self.has("thinking").unwrap_or(false),
            // Ollama reuses the previous prompt's cache, but nothing is billed either way.
            prompt_caching: false,
        }
    }
}

/// [`ModelProvider`] for Ollama's native API.
pub struct OllamaProvider {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    embedding_model: String,
    local: bool,
    models: Mutex<HashMap<String, ModelInfo>>,
}

impl OllamaProvider {
    /// Validates `settings` and builds the HTTP client. Ollama needs no key; one that is
    /// configured (a remote server behind a proxy) goes out as a bearer token.
    pub fn new(settings: ProviderSettings) -> crate::Result<Self> {
        let embedding_model = settings
            .embedding_model
            .clone()
            .unwrap_or_else(|| DEFAULT_EMBEDDING_MODEL.to_owned());
        let local = is_loopback(&settings.base_url);
        Ok(Self {
            inner: Arc::new(Inner {
                transport: Transport::new(settings, false)?,
                embedding_model,
                local,
                models: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// What the server says about `model` (`/api/show`), asked once and cached.
    pub async fn model_info(&self, model: &str) -> Result<ModelInfo, ModelError> {
        self.inner.model_info(model).await
    }
}

/// Whether `base_url` points at this machine.
fn is_loopback(base_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(base_url.trim()) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Inner {
    fn url(&self, path: &str) -> String {
        let base = self.transport.base_url();
        let base = base.strip_suffix("/api").unwrap_or(base);
        format!("{base}/api/{path}")
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        self.transport
            .json_headers(AUTHORIZATION, "Bearer ", HeaderMap::new())
    }

    fn cached(&self, model: &str) -> Option<ModelInfo> {
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(model)
            .cloned()
    }

    async fn model_info(&self, model: &str) -> Result<ModelInfo, ModelError> {
        if let Some(info) = self.cached(model) {
            return Ok(info);
        }
        let body = transport::body(
            self.transport.name(),
            &wire::ShowRequest {
                model: model.to_owned(),
            },
        )?;
        let reply = self
            .transport
            .json(self.url("show"), self.headers()?, Some(body))
            .await?;
        let text = String::from_utf8_lossy(&reply);
        let show: wire::ShowResponse =
            transport::parse_json(self.transport.name(), "the /api/show response", &text)?;
        let info = ModelInfo::from_show(&show);
        tracing::debug!(
            provider = %self.transport.name(),
            model,
            context_length = ?info.context_length,
            capabilities = ?info.capabilities,
            "ollama model described"
        );
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(model.to_owned(), info.clone());
        Ok(info)
    }

    /// Describes the model, then sends the chat request with `num_ctx` from it.
    async fn invoke(self: Arc<Self>, request: ModelRequest) -> ChunkStream {
        let headers = match self.headers() {
            Ok(headers) => headers,
            Err(error) => return transport::fail(error),
        };
        let info = match self.model_info(&request.model).await {
            Ok(info) => info,
            Err(error) => return transport::fail(error),
        };
        let limit = self.transport.context_limit();
        let capabilities = info.capabilities(limit);
        let known = info.capabilities.is_some().then_some(&capabilities);
        let request = prepare::prepare_with(request, known);
        self.transport.post(
            self.url("chat"),
            Ok(headers),
            &to_wire(&request, info.num_ctx(limit), capabilities.thinking),
            request.stream,
            Framing::Ndjson,
            StreamDecoder::new,
            decode_whole,
        )
    }
}

impl ModelProvider for OllamaProvider {
    fn name(&self) -> &str {
        self.inner.transport.name()
    }

    /// From the cached `/api/show` answer; before the model was described, a small
    /// window ([`UNKNOWN_CONTEXT_WINDOW`]) rather than a guess.
    fn capabilities(&self, model: &str) -> Capabilities {
        let limit = self.inner.transport.context_limit();
        self.inner
            .cached(model)
            .unwrap_or_default()
            .capabilities(limit)
    }

    fn probe_capabilities<'a>(&'a self, model: &'a str) -> BoxFuture<'a, Capabilities> {
        Box::pin(async move {
            let limit = self.inner.transport.context_limit();
            match self.inner.model_info(model).await {
                Ok(info) => info.capabilities(limit),
                Err(_) => ModelInfo::default().capabilities(limit),
            }
        })
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        let inner = self.inner.clone();
        // Nothing runs until the stream is polled; dropping it drops the request.
        Box::pin(futures::stream::once(inner.invoke(request)).flatten())
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ModelError>> {
        Box::pin(async move {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            let inner = &self.inner;
            let body = transport::body(
                inner.transport.name(),
                &wire::EmbedRequest {
                    model: inner.embedding_model.clone(),
                    input: texts.to_vec(),
                },
            )?;
            let reply = inner
                .transport
                .json(inner.url("embed"), inner.headers()?, Some(body))
                .await?;
            let text = String::from_utf8_lossy(&reply);
            let response: wire::EmbedResponse =
                transport::parse_json(inner.transport.name(), "the embeddings response", &text)?;
            embeddings::check_count(inner.transport.name(), texts.len(), response.embeddings)
        })
    }

    /// `GET /api/tags` answers quickly when the server is up.
    fn is_available(&self) -> BoxFuture<'_, bool> {
        match self.inner.headers() {
            Ok(headers) => self.inner.transport.probe(self.inner.url("tags"), headers),
            Err(_) => Box::pin(async { false }),
        }
    }

    fn estimate_cost(&self, request: &ModelRequest) -> Option<Cost> {
        self.cost(&request.model, &Usage::default())
    }

    /// Zero on a server on this machine, because it is local: nothing is billed per
    /// token (a known price, not a guess). A remote server's price is unknown.
    fn cost(&self, _model: &str, _usage: &Usage) -> Option<Cost> {
        self.inner.local.then(Cost::default)
    }
}

/// Maps a domain request to the wire body.
///
/// The system prompt is the first message; images ride in a user message's `images`;
/// an assistant's tool calls carry their arguments as an object; each tool result is a
/// `tool` message naming its function (a failed one prefixed with `Error: `), in call
/// order, since Ollama pairs results with calls by position. Thinking is not sent back.
/// `num_ctx` goes in `options` with `num_predict` (the answer's limit) and `temperature`;
/// a thinking model gets `think: true`, or `false` for a zero thinking budget.
pub fn to_wire(
    request: &ModelRequest,
    num_ctx: Option<u64>,
    thinking_model: bool,
) -> wire::ChatRequest {
    let mut messages = Vec::new();
    if let Some(system) = request.system.as_ref().filter(|s| !s.is_empty()) {
        messages.push(wire::Message {
            role: "system".to_owned(),
            content: system.clone(),
            ..wire::Message::default()
        });
    }
    let mut names: HashMap<&str, &str> = HashMap::new();
    for message in &request.messages {
        let mut texts = Vec::new();
        let mut images = Vec::new();
        let mut calls = Vec::new();
        for block in &message.content {
            match block {
                ContentBlock::Text { text } if !text.is_empty() => texts.push(text.as_str()),
                ContentBlock::Image { data_base64, .. } if message.role != Role::Assistant => {
                    images.push(data_base64.clone());
                }
                ContentBlock::ToolUse(call) if message.role == Role::Assistant => {
                    names.insert(call.id.as_str(), call.name.as_str());
                    calls.push(wire::ToolCall {
                        id: None,
                        function: wire::FunctionCall {
                            index: None,
                            name: call.name.clone(),
                            arguments: match &call.input {
                                Value::Object(_) => call.input.clone(),
                                Value::Null => json!({}),
                                other => json!({"value": other}),
                            },
                        },
                    });
                }
                ContentBlock::ToolResult(result) if message.role != Role::Assistant => {
                    messages.push(wire::Message {
                        role: "tool".to_owned(),
                        content: if result.is_error {
                            format!("Error: {}", result.content)
                        } else {
                            result.content.clone()
                        },
                        tool_name: names.get(result.call_id.as_str()).map(|n| (*n).to_owned()),
                        ..wire::Message::default()
                    });
                }
                _ => {}
            }
        }
        let content = texts.join("\n\n");
        let role = match message.role {
            Role::Assistant => "assistant",
            Role::User | Role::Tool => "user",
        };
        if !content.is_empty() || !images.is_empty() || !calls.is_empty() {
            messages.push(wire::Message {
                role: role.to_owned(),
                content,
                images,
                tool_calls: calls,
                ..wire::Message::default()
            });
        }
    }
    wire::ChatRequest {
        model: request.model.clone(),
        messages,
        tools: request
            .tools
            .iter()
            .map(|tool| wire::Tool {
                kind: "function".to_owned(),
                function: wire::FunctionDef {
                    name: tool.name.clone(),
                    description: tool.description.clone(),
                    parameters: tool.input_schema.clone(),
                },
            })
            .collect(),
        stream: request.stream,
        think: thinking_model.then(|| request.thinking_budget != Some(0)),
        options: Some(wire::Options {
            num_ctx,
            num_predict: Some(request.max_tokens),
            temperature: request.temperature,
        }),
    }
}

fn stop_reason(reason: Option<&str>, had_calls: bool) -> StopReason {
    match reason {
        None | Some("stop") if had_calls => StopReason::ToolUse,
        None | Some("stop") => StopReason::EndTurn,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
    }
}

/// Streaming decoder: message pieces until a line with `done: true`.
pub(crate) struct StreamDecoder {
    provider: String,
    prefix: String,
    calls: usize,
    done: bool,
}

impl StreamDecoder {
    pub(crate) fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            // Ollama's calls have no ids: these must not repeat across the conversation.
            prefix: format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
            calls: 0,
            done: false,
        }
    }

    fn line(
        &mut self,
        response: wire::ChatResponse,
        out: &mut Vec<ModelChunk>,
    ) -> Result<(), ModelError> {
        if let Some(message) = response.error {
            return Err(transport::stream_error(
                &self.provider,
                transport::ErrorDetails {
                    message,
                    ..transport::ErrorDetails::default()
                },
            ));
        }
        if let Some(message) = response.message {
            if let Some(thinking) = message.thinking.filter(|t| !t.is_empty()) {
                out.push(ModelChunk::Thinking { thinking });
            }
            if !message.content.is_empty() {
                out.push(ModelChunk::Text {
                    text: message.content,
                });
            }
            for call in message.tool_calls {
                let id = call
                    .id
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| format!("call_{}_{}", self.prefix, self.calls));
                self.calls += 1;
                let name = call.function.name;
                out.push(ModelChunk::ToolUseStart {
                    id: id.clone(),
                    name: name.clone(),
                });
                let call = match call.function.arguments {
                    Value::Null => ToolCall {
                        id,
                        name,
                        input: json!({}),
                    },
                    input @ Value::Object(_) => ToolCall { id, name, input },
                    // Some servers send the arguments as a JSON string.
                    Value::String(json) => transport::tool_call(id, name, &json),
                    other => transport::tool_call(id, name, &other.to_string()),
                };
                out.push(ModelChunk::ToolUse { call });
            }
        }
        if response.done {
            out.push(ModelChunk::Usage {
                usage: Usage {
                    input_tokens: response.prompt_eval_count,
                    output_tokens: response.eval_count,
                    ..Usage::default()
                },
            });
            out.push(ModelChunk::Stop {
                reason: stop_reason(response.done_reason.as_deref(), self.calls > 0),
            });
            self.done = true;
        }
        Ok(())
    }
}

impl Decoder for StreamDecoder {
    fn event(&mut self, event: Event, out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        let response: wire::ChatResponse =
            transport::parse_json(&self.provider, "a stream line", &event.data)?;
        self.line(response, out)
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn end(&mut self, _out: &mut Vec<ModelChunk>) -> Result<(), ModelError> {
        if self.done {
            Ok(())
        } else {
            Err(transport::stream_cut(
                &self.provider,
                "the stream ended before a line with done: true",
            ))
        }
    }
}

/// Decodes a non-streamed response into the chunks a stream would have produced.
fn decode_whole(provider: &str, body: &[u8]) -> Result<Vec<ModelChunk>, ModelError> {
    let text = String::from_utf8_lossy(body);
    let response: wire::ChatResponse = transport::parse_json(provider, "the response", &text)?;
    let mut decoder = StreamDecoder::new(provider);
    let mut out = Vec::new();
    decoder.line(response, &mut out)?;
    if !decoder.done {
        return Err(ModelError::new(
            provider,
            ModelErrorKind::Protocol,
            "the response is not done (`done: false`) although it was not streamed",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{Message, ToolResult, ToolSpec};
    use pretty_assertions::assert_eq;

    use crate::ndjson::NdjsonParser;

    fn conversation() -> ModelRequest {
        ModelRequest {
            model: "qwen3:8b".into(),
            system: Some("You are Cuervo.".into()),
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        ContentBlock::Text {
                            text: "What is this?".into(),
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
                            thinking: "not sent".into(),
                            signature: None,
                            encrypted: None,
                        },
                        ContentBlock::ToolUse(ToolCall {
                            id: "call_1".into(),
                            name: "read".into(),
                            input: json!({"path": "a.rs"}),
                        }),
                    ],
                },
                Message::tool_results(vec![ToolResult {
                    call_id: "call_1".into(),
                    content: "missing".into(),
                    is_error: true,
                }]),
            ],
            tools: vec![ToolSpec {
                name: "read".into(),
                description: "Reads a file.".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 512,
            temperature: Some(0.25),
            stream: true,
            thinking_budget: None,
        }
    }

    #[test]
    fn maps_a_conversation_with_num_ctx() {
        let body =
            serde_json::to_value(to_wire(&conversation(), Some(40_960), true)).expect("json");
        assert_eq!(
            body,
            json!({
                "model": "qwen3:8b",
                "messages": [
                    {"role": "system", "content": "You are Cuervo."},
                    {"role": "user", "content": "What is this?", "images": ["iVBORw0KGgo="]},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"function": {"name": "read", "arguments": {"path": "a.rs"}}}
                    ]},
                    {"role": "tool", "content": "Error: missing", "tool_name": "read"}
                ],
                "tools": [{"type": "function", "function": {"name": "read", "description": "Reads a file.",
                                                            "parameters": {"type": "object"}}}],
                "stream": true,
                "think": true,
                "options": {"num_ctx": 40960, "num_predict": 512, "temperature": 0.25}
            })
        );
        let mut no_thinking = conversation();
        no_thinking.thinking_budget = Some(0);
        assert_eq!(
            serde_json::to_value(to_wire(&no_thinking, None, true)).expect("json")["think"],
            json!(false)
        );
        assert_eq!(
            serde_json::to_value(to_wire(&conversation(), None, false))
                .expect("json")
                .get("think"),
            None
        );
    }

    #[test]
    fn model_info_reads_the_architecture_context_length() {
        let show: wire::ShowResponse = serde_json::from_value(json!({
            "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960,
                           "qwen3.embedding_length": 4096},
            "capabilities": ["completion", "tools", "thinking"],
            "parameters": "temperature 0.6\nnum_ctx 8192"
        }))
        .expect("parses");
        let info = ModelInfo::from_show(&show);
        assert_eq!(info.context_length, Some(40_960));
        assert_eq!(info.num_ctx(None), Some(40_960));
        assert_eq!(info.num_ctx(Some(16_384)), Some(16_384));
        let caps = info.capabilities(None);
        assert_eq!(caps.context_window, 40_960);
        assert!(caps.tools && caps.thinking && !caps.vision);
        let only_parameters: wire::ShowResponse =
            serde_json::from_value(json!({"parameters": "num_ctx 8192\nstop \"<|im_end|>\""}))
                .expect("parses");
        assert_eq!(
            ModelInfo::from_show(&only_parameters).context_length,
            Some(8_192)
        );
        let unknown = ModelInfo::default();
        assert_eq!(unknown.num_ctx(None), None);
        assert_eq!(
            unknown.capabilities(None).context_window,
            UNKNOWN_CONTEXT_WINDOW
        );
    }

    fn decode(body: &str) -> Vec<Result<ModelChunk, ModelError>> {
        let mut parser = NdjsonParser::new();
        let mut decoder = StreamDecoder::new("ollama");
        let mut items = Vec::new();
        for line in parser.feed(body.as_bytes()) {
            let mut out = Vec::new();
            let result = decoder.event(
                Event {
                    event: None,
                    data: line,
                },
                &mut out,
            );
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
        if let Err(e) = decoder.end(&mut out) {
            items.push(Err(e));
        }
        items
    }

    #[test]
    fn streams_thinking_text_calls_and_the_done_line() {
        let lines = [
            json!({"model": "qwen3", "created_at": "t", "message": {"role": "assistant", "content": "", "thinking": "Hmm"}, "done": false}),
            json!({"model": "qwen3", "created_at": "t", "message": {"role": "assistant", "content": "Sure. "}, "done": false}),
            json!({"model": "qwen3", "created_at": "t", "message": {"role": "assistant", "content": "",
                   "tool_calls": [{"function": {"name": "read", "arguments": {"path": "a.rs"}}},
                                  {"function": {"name": "ls", "arguments": "{\"dir\":\".\"}"}}]}, "done": false}),
            json!({"model": "qwen3", "created_at": "t", "message": {"role": "assistant", "content": ""},
                   "done_reason": "stop", "done": true, "prompt_eval_count": 26, "eval_count": 12}),
        ];
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let items: Vec<ModelChunk> = decode(&body).into_iter().map(|i| i.expect("ok")).collect();
        assert_eq!(
            items[0],
            ModelChunk::Thinking {
                thinking: "Hmm".into()
            }
        );
        assert_eq!(
            items[1],
            ModelChunk::Text {
                text: "Sure. ".into()
            }
        );
        let calls: Vec<&ToolCall> = items
            .iter()
            .filter_map(|c| match c {
                ModelChunk::ToolUse { call } => Some(call),
                _ => None,
            })
            .collect();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].input, json!({"dir": "."}));
        assert_ne!(calls[0].id, calls[1].id);
        assert_eq!(
            items[items.len() - 2],
            ModelChunk::Usage {
                usage: Usage {
                    input_tokens: 26,
                    output_tokens: 12,
                    ..Usage::default()
                }
            }
        );
        assert_eq!(
            items.last(),
            Some(&ModelChunk::Stop {
                reason: StopReason::ToolUse
            })
        );
        let cut =
            decode("{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n");
        assert_eq!(
            cut[1].clone().expect_err("cut").kind,
            ModelErrorKind::StreamCut
        );
        let failed = decode("{\"error\":\"model runner has unexpectedly stopped\"}\n");
        assert_eq!(
            failed[0].clone().expect_err("error").kind,
            ModelErrorKind::Server
        );
        let long = decode(
            "{\"message\":{\"role\":\"assistant\",\"content\":\"x\"},\"done\":true,\"done_reason\":\"length\"}\n",
        );
        assert_eq!(
            long.last(),
            Some(&Ok(ModelChunk::Stop {
                reason: StopReason::MaxTokens
            }))
        );
    }

    #[test]
    fn only_a_server_on_this_machine_is_free() {
        for (base, local) in [
            ("http://localhost:11434", true),
            ("http://127.0.0.1:11434", true),
            ("http://[::1]:11434", true),
            ("http://gpu-box.lan:11434", false),
            ("https://ollama.com", false),
        ] {
            assert_eq!(is_loopback(base), local, "{base}");
        }
    }
}
