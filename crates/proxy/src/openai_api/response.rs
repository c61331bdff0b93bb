//! The answer: the server-side response types, built from the upstream's chunks.

use super::*;

/// `"chat.completion"`.
const COMPLETION_OBJECT: &str = "chat.completion";
/// `"chat.completion.chunk"`.
const CHUNK_OBJECT: &str = "chat.completion.chunk";
const ASSISTANT: &str = "assistant";
const FUNCTION: &str = "function";

/// A whole answer, as OpenAI sends it for `stream: false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    pub model: String,
    pub choices: Vec<CompletionChoice>,
    pub usage: wire::ChatUsage,
}

/// The one choice of a whole answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionChoice {
    pub index: u32,
    pub message: CompletionMessage,
    pub finish_reason: String,
}

/// The assistant's message of a whole answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionMessage {
    /// Always `assistant`.
    pub role: String,
    /// `null` when the answer is only tool calls, as OpenAI sends it.
    pub content: Option<String>,
    /// The model's visible reasoning (DeepSeek's field, read by most OpenAI-compatible
    /// clients and ignored by the rest); absent when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<wire::ToolCall>,
}

/// One streamed chunk, a `data:` payload of the event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    pub created: u64,
    pub model: String,
    /// One choice, or none in the usage-only last chunk.
    pub choices: Vec<ChunkChoice>,
    /// Only in the usage-only last chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<wire::ChatUsage>,
}

/// The one choice of a chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: ChunkDelta,
    /// `null` until the last chunk of the choice, as OpenAI sends it.
    pub finish_reason: Option<String>,
}

/// What a chunk adds; absent fields are left out (the finish chunk's delta is `{}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkDelta {
    /// `assistant` in the first chunk only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Visible reasoning, as in [`CompletionMessage::reasoning_content`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// A piece of a streamed tool call: `id`, `type` and `function.name` on its first piece,
/// arguments after, all keyed by `index`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function`, on the first piece.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDelta>,
}

/// A piece of a function call: its name once, then arguments text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// The usage as OpenAI counts it: its `prompt_tokens` include cached tokens (read and
/// written), which the domain counts apart as Anthropic does; the cache reads show in
/// `prompt_tokens_details.cached_tokens`.
fn wire_usage(usage: &Usage) -> wire::ChatUsage {
    let prompt = usage
        .input_tokens
        .saturating_add(usage.cache_read_tokens)
        .saturating_add(usage.cache_write_tokens);
    wire::ChatUsage {
        prompt_tokens: prompt,
        completion_tokens: usage.output_tokens,
        total_tokens: prompt.saturating_add(usage.output_tokens),
        prompt_tokens_details: Some(wire::PromptTokensDetails {
            cached_tokens: Some(usage.cache_read_tokens),
        }),
        prompt_cache_hit_tokens: None,
        prompt_cache_miss_tokens: None,
    }
}

/// OpenAI's `finish_reason` for the way the model stopped. `stop` is `None` when the
/// model's stream ended without saying. An end of turn with tool calls is `tool_calls`
/// (some upstreams report a plain stop after calls, and OpenAI clients look for
/// `tool_calls` to run them); the reverse, a tool-use stop without calls, is `stop`.
fn finish_reason(stop: Option<&StopReason>, has_calls: bool) -> String {
    let reason = match stop {
        Some(StopReason::MaxTokens) => "length",
        Some(StopReason::Refusal) => "content_filter",
        Some(StopReason::StopSequence) => "stop",
        Some(StopReason::Other(other))
            if matches!(
                other.as_str(),
                "stop" | "length" | "tool_calls" | "content_filter" | "function_call"
            ) =>
        {
            other.as_str()
        }
        Some(StopReason::EndTurn | StopReason::ToolUse | StopReason::Other(_)) | None => {
            if has_calls {
                "tool_calls"
            } else {
                "stop"
            }
        }
    };
    reason.to_owned()
}

/// A tool call's arguments as the JSON string OpenAI sends.
fn arguments(call: &ToolCall) -> String {
    call.input.to_string()
}

/// A tool call collected for a whole answer; `arguments` arrive with its `ToolUse`.
#[derive(Debug)]
struct CollectedCall {
    id: String,
    name: String,
    arguments: Option<String>,
}

/// Collects a model's chunks into one non-streamed completion.
///
/// Text concatenates into `content`; visible thinking into `reasoning_content`; thinking
/// signatures and encrypted reasoning are dropped (OpenAI's format cannot carry them
/// back). Tool calls keep the order they were announced in, so the whole answer lists
/// them as a stream would index them; a call announced but never completed (a cut
/// stream) is left out.
#[derive(Debug)]
pub struct CompletionBuilder {
    id: String,
    model: String,
    created: u64,
    text: String,
    reasoning: String,
    calls: Vec<CollectedCall>,
    usage: Usage,
    stop: Option<StopReason>,
}

impl CompletionBuilder {
    /// A builder for the completion `id` of the public `model`, made at `created` (Unix
    /// seconds).
    pub fn new(id: impl Into<String>, model: impl Into<String>, created: u64) -> Self {
        Self {
            id: id.into(),
            model: model.into(),
            created,
            text: String::new(),
            reasoning: String::new(),
            calls: Vec::new(),
            usage: Usage::default(),
            stop: None,
        }
    }

    /// Takes the model's next chunk.
    pub fn push(&mut self, chunk: ModelChunk) {
        match chunk {
            ModelChunk::Text { text } => self.text.push_str(&text),
            ModelChunk::Thinking { thinking } => self.reasoning.push_str(&thinking),
            ModelChunk::ThinkingSignature { .. } | ModelChunk::ThinkingEncrypted { .. } => {}
            ModelChunk::ToolUseStart { id, name } => {
                if !self.calls.iter().any(|c| c.id == id) {
                    self.calls.push(CollectedCall {
                        id,
                        name,
                        arguments: None,
                    });
                }
            }
            ModelChunk::ToolUse { call } => {
                let args = arguments(&call);
                match self
                    .calls
                    .iter_mut()
                    .find(|c| c.id == call.id && c.arguments.is_none())
                {
                    Some(collected) => {
                        collected.name = call.name;
                        collected.arguments = Some(args);
                    }
                    None => self.calls.push(CollectedCall {
                        id: call.id,
                        name: call.name,
                        arguments: Some(args),
                    }),
                }
            }
            ModelChunk::Usage { usage } => self.usage.merge(&usage),
            ModelChunk::Stop { reason } => self.stop = Some(reason),
        }
    }

    /// The usage reported so far (for metering, whether or not the answer completes).
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The completion.
    pub fn finish(self) -> ChatCompletion {
        let tool_calls: Vec<wire::ToolCall> = self
            .calls
            .into_iter()
            .filter_map(|c| {
                c.arguments.map(|arguments| wire::ToolCall {
                    id: c.id,
                    kind: FUNCTION.to_owned(),
                    function: wire::FunctionCall {
                        name: c.name,
                        arguments,
                    },
                })
            })
            .collect();
        let finish_reason = finish_reason(self.stop.as_ref(), !tool_calls.is_empty());
        let content = (!self.text.is_empty() || tool_calls.is_empty()).then_some(self.text);
        ChatCompletion {
            id: self.id,
            object: COMPLETION_OBJECT.to_owned(),
            created: self.created,
            model: self.model,
            choices: vec![CompletionChoice {
                index: 0,
                message: CompletionMessage {
                    role: ASSISTANT.to_owned(),
                    content,
                    reasoning_content: (!self.reasoning.is_empty()).then_some(self.reasoning),
                    tool_calls,
                },
                finish_reason,
            }],
            usage: wire_usage(&self.usage),
        }
    }
}

/// A tool call being streamed: its id, and whether its arguments went out.
#[derive(Debug)]
struct StreamedCall {
    id: String,
    done: bool,
}

/// Turns a model's chunks into Chat Completions stream chunks (the `data:` payloads).
///
/// The domain announces a tool call (`ToolUseStart`) and later gives it whole
/// (`ToolUse`); the encoder sends the header (`index`, `id`, `type`, `function.name`,
/// empty arguments) at the announcement and the arguments as one piece at the end, the
/// two together when no announcement came. Indexes count calls in announcement order.
/// Usage is kept for the last chunk; nothing but usage is sent after the finish chunk.
#[derive(Debug)]
pub struct ChunkEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    role_sent: bool,
    calls: Vec<StreamedCall>,
    usage: Usage,
    finish_sent: bool,
    finished: bool,
}

impl ChunkEncoder {
    /// An encoder for the completion `id` of the public `model`, made at `created` (Unix
    /// seconds); `include_usage` as from [`wants_usage`].
    pub fn new(
        id: impl Into<String>,
        model: impl Into<String>,
        created: u64,
        include_usage: bool,
    ) -> Self {
        Self {
            id: id.into(),
            model: model.into(),
            created,
            include_usage,
            role_sent: false,
            calls: Vec::new(),
            usage: Usage::default(),
            finish_sent: false,
            finished: false,
        }
    }

    /// The chunks to send for the model's next chunk (often none).
    pub fn push(&mut self, chunk: ModelChunk) -> Vec<ChatChunk> {
        if let ModelChunk::Usage { usage } = &chunk {
            self.usage.merge(usage);
            return Vec::new();
        }
        if self.finish_sent {
            return Vec::new();
        }
        let delta = match chunk {
            ModelChunk::Text { text } if !text.is_empty() => ChunkDelta {
                content: Some(text),
                ..ChunkDelta::default()
            },
            ModelChunk::Thinking { thinking } if !thinking.is_empty() => ChunkDelta {
                reasoning_content: Some(thinking),
                ..ChunkDelta::default()
            },
            ModelChunk::ToolUseStart { id, name } => {
                if self.calls.iter().any(|c| c.id == id) {
                    return Vec::new();
                }
                let index = self.calls.len();
                self.calls.push(StreamedCall {
                    id: id.clone(),
                    done: false,
                });
                tool_delta(index, Some((id, name)), String::new())
            }
            ModelChunk::ToolUse { call } => {
                let args = arguments(&call);
                match self
                    .calls
                    .iter_mut()
                    .position(|c| c.id == call.id && !c.done)
                {
                    Some(index) => {
                        if let Some(streamed) = self.calls.get_mut(index) {
                            streamed.done = true;
                        }
                        tool_delta(index, None, args)
                    }
                    None => {
                        let index = self.calls.len();
                        self.calls.push(StreamedCall {
                            id: call.id.clone(),
                            done: true,
                        });
                        tool_delta(index, Some((call.id, call.name)), args)
                    }
                }
            }
            ModelChunk::Stop { reason } => {
                self.finish_sent = true;
                let reason = finish_reason(Some(&reason), !self.calls.is_empty());
                return vec![self.chunk(ChunkDelta::default(), Some(reason))];
            }
            ModelChunk::Text { .. }
            | ModelChunk::Thinking { .. }
            | ModelChunk::ThinkingSignature { .. }
            | ModelChunk::ThinkingEncrypted { .. }
            | ModelChunk::Usage { .. } => return Vec::new(),
        };
        vec![self.chunk(delta, None)]
    }

    /// After the model's stream ended: the final chunk(s) (finish_reason if not yet sent;
    /// the usage-only chunk with empty `choices` when include_usage was asked). Later
    /// calls return nothing.
    pub fn finish(&mut self) -> Vec<ChatChunk> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut out = Vec::new();
        if !self.finish_sent {
            self.finish_sent = true;
            let reason = finish_reason(None, !self.calls.is_empty());
            out.push(self.chunk(ChunkDelta::default(), Some(reason)));
        }
        if self.include_usage {
            out.push(ChatChunk {
                id: self.id.clone(),
                object: CHUNK_OBJECT.to_owned(),
                created: self.created,
                model: self.model.clone(),
                choices: Vec::new(),
                usage: Some(wire_usage(&self.usage)),
            });
        }
        out
    }

    /// The usage reported so far (for metering, whether or not the answer completes).
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// A chunk of the one choice; the first one sent names the role.
    fn chunk(&mut self, mut delta: ChunkDelta, finish_reason: Option<String>) -> ChatChunk {
        if !self.role_sent {
            self.role_sent = true;
            delta.role = Some(ASSISTANT.to_owned());
        }
        ChatChunk {
            id: self.id.clone(),
            object: CHUNK_OBJECT.to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason,
            }],
            usage: None,
        }
    }
}

/// A delta for the tool call `index`: its header (`id`, `name`) when given, and
/// `arguments` (empty in a header-only piece, as OpenAI sends it).
fn tool_delta(index: usize, header: Option<(String, String)>, arguments: String) -> ChunkDelta {
    let (id, kind, name) = match header {
        Some((id, name)) => (Some(id), Some(FUNCTION.to_owned()), Some(name)),
        None => (None, None, None),
    };
    ChunkDelta {
        tool_calls: Some(vec![ToolCallDelta {
            index,
            id,
            kind,
            function: Some(FunctionDelta {
                name,
                arguments: Some(arguments),
            }),
        }]),
        ..ChunkDelta::default()
    }
}
