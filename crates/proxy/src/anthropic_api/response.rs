//! The answer: the server-side response types and events, built from the upstream's
//! chunks.
//!
//! One assembler turns the chunks into content-block steps (start, delta, stop, by index);
//! the [`EventEncoder`] sends them as events and the [`MessageBuilder`] applies them to a
//! whole message, so a streamed answer and a whole one always hold the same blocks.

use super::reasoning::seal;
use super::*;

/// One server-sent event: its name (the SSE `event:` line) and its `data` payload (whose
/// `type` repeats the name, as Anthropic sends it).
pub type SseEvent = (String, Value);

/// A content block of the answer, as Anthropic sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseBlock {
    Text {
        text: String,
    },
    /// Visible reasoning. `signature` is Anthropic's proof for the block (empty when the
    /// upstream gave none), or another upstream's sealed reasoning.
    Thinking {
        thinking: String,
        signature: String,
    },
    /// Reasoning only the upstream can read: Anthropic's redacted thinking, or another
    /// upstream's sealed reasoning that came without visible thinking.
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

impl ResponseBlock {
    /// The block as JSON (what serde would write, without its fallible path).
    fn to_json(&self) -> Value {
        match self {
            Self::Text { text } => json!({"type": "text", "text": text}),
            Self::Thinking {
                thinking,
                signature,
            } => json!({"type": "thinking", "thinking": thinking, "signature": signature}),
            Self::RedactedThinking { data } => json!({"type": "redacted_thinking", "data": data}),
            Self::ToolUse { id, name, input } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
        }
    }
}

/// A whole answer, as Anthropic sends it for `stream: false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageResponse {
    pub id: String,
    /// Always `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always `assistant`.
    pub role: String,
    /// The proxy's public model name, as the client asked for it.
    pub model: String,
    pub content: Vec<ResponseBlock>,
    pub stop_reason: String,
    /// Always `null`: the domain does not say which stop sequence matched.
    pub stop_sequence: Option<String>,
    pub usage: ResponseUsage,
}

/// Token counts as Anthropic reports them. Anthropic counts cache reads and writes apart
/// from `input_tokens`, as the domain does, so the numbers pass through unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

impl From<Usage> for ResponseUsage {
    fn from(usage: Usage) -> Self {
        Self {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_creation_input_tokens: usage.cache_write_tokens,
            cache_read_input_tokens: usage.cache_read_tokens,
        }
    }
}

impl ResponseUsage {
    fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        })
    }
}

const MESSAGE: &str = "message";
const ASSISTANT: &str = "assistant";

/// The stop reasons of Anthropic's format, passed on verbatim when an upstream names one
/// the domain has no variant for (`pause_turn`, `model_context_window_exceeded`).
const ANTHROPIC_STOP_REASONS: [&str; 7] = [
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
];

/// Anthropic's `stop_reason` for the way the model stopped. `stop` is `None` when the
/// model's stream ended without saying. An end of turn with tool calls is `tool_use`
/// (some upstreams report a plain stop after calls, and clients look for `tool_use` to
/// run them); the reverse, a tool-use stop without calls, is `end_turn`.
fn stop_reason(stop: Option<&StopReason>, has_calls: bool) -> String {
    let by_calls = if has_calls { "tool_use" } else { "end_turn" };
    let reason = match stop {
        Some(StopReason::MaxTokens) => "max_tokens",
        Some(StopReason::StopSequence) => "stop_sequence",
        Some(StopReason::Refusal) => "refusal",
        Some(StopReason::Other(other)) if ANTHROPIC_STOP_REASONS.contains(&other.as_str()) => {
            other.as_str()
        }
        Some(StopReason::EndTurn | StopReason::ToolUse | StopReason::Other(_)) | None => by_calls,
    };
    reason.to_owned()
}

/// What a content block receives after its start.
#[derive(Debug, Clone, PartialEq)]
enum BlockDelta {
    Text(String),
    Thinking(String),
    Signature(String),
    /// A tool call's whole arguments.
    Input(Value),
}

/// One step of the answer's content, as Anthropic streams it.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Start { index: usize, block: ResponseBlock },
    Delta { index: usize, delta: BlockDelta },
    Stop { index: usize },
}

/// The kind of the block in progress.
#[derive(Debug, Clone, PartialEq)]
enum Open {
    Text,
    Thinking,
    /// A tool call announced and waiting for its arguments.
    Tool {
        id: String,
    },
}

/// Turns the model's chunks into content-block steps.
///
/// Anthropic's blocks are sequential: one is open at a time and a delta cannot reach a
/// closed one. The domain announces a tool call (`ToolUseStart`) and gives it whole later
/// (`ToolUse`), and an upstream may announce several calls before completing any. So an
/// announced call's block stays open until its arguments come, and whatever arrives
/// meanwhile (text, thinking, other calls) waits, in order, until they do. A call never
/// announced opens and fills its block at once.
///
/// Switching kinds closes the open block. A thinking block closes on its signature, or on
/// another upstream's encrypted reasoning, sealed into the signature. Anthropic's redacted
/// thinking is a block of its own; a signature with no thinking block open is dropped
/// (only Anthropic signs thinking, and it signs within the block).
#[derive(Debug, Default)]
struct Assembler {
    /// The index and kind of the block in progress.
    open: Option<(usize, Open)>,
    /// Blocks started so far; the next block's index.
    started: usize,
    /// `tool_use` blocks started.
    calls: usize,
    /// The ids of the calls whose blocks were started, so a repeat is ignored.
    announced: Vec<String>,
    /// Chunks waiting for the open call's arguments.
    deferred: VecDeque<ModelChunk>,
    usage: Usage,
    stop: Option<StopReason>,
}

impl Assembler {
    /// The id of the call whose block is open, waiting for its arguments.
    fn awaiting(&self) -> Option<&str> {
        match &self.open {
            Some((_, Open::Tool { id })) => Some(id.as_str()),
            _ => None,
        }
    }

    fn is_open(&self, kind: &Open) -> bool {
        self.open.as_ref().is_some_and(|(_, open)| open == kind)
    }

    fn push(&mut self, chunk: ModelChunk, out: &mut Vec<Step>) {
        match chunk {
            ModelChunk::Usage { usage } => self.usage.merge(&usage),
            ModelChunk::Stop { reason } => self.stop = Some(reason),
            chunk if self.awaiting().is_some() => match chunk {
                ModelChunk::ToolUse { call } if self.awaiting() == Some(call.id.as_str()) => {
                    self.fill(call.input, out);
                    self.drain(out);
                }
                other => self.deferred.push_back(other),
            },
            ModelChunk::Text { text } => {
                if !text.is_empty() {
                    if !self.is_open(&Open::Text) {
                        let block = ResponseBlock::Text {
                            text: String::new(),
                        };
                        self.start(block, Some(Open::Text), out);
                    }
                    self.delta(BlockDelta::Text(text), out);
                }
            }
            ModelChunk::Thinking { thinking } => {
                if !thinking.is_empty() {
                    if !self.is_open(&Open::Thinking) {
                        let block = ResponseBlock::Thinking {
                            thinking: String::new(),
                            signature: String::new(),
                        };
                        self.start(block, Some(Open::Thinking), out);
                    }
                    self.delta(BlockDelta::Thinking(thinking), out);
                }
            }
            ModelChunk::ThinkingSignature { signature } => {
                if self.is_open(&Open::Thinking) {
                    self.delta(BlockDelta::Signature(signature), out);
                    self.close(out);
                }
            }
            ModelChunk::ThinkingEncrypted { encrypted } => {
                if encrypted.is(EncryptedReasoning::ANTHROPIC_REDACTED) {
                    let block = ResponseBlock::RedactedThinking {
                        data: encrypted.data,
                    };
                    self.start(block, None, out);
                } else if self.is_open(&Open::Thinking) {
                    self.delta(BlockDelta::Signature(seal(&encrypted)), out);
                    self.close(out);
                } else {
                    let block = ResponseBlock::RedactedThinking {
                        data: seal(&encrypted),
                    };
                    self.start(block, None, out);
                }
            }
            ModelChunk::ToolUseStart { id, name } => {
                if !self.announced.contains(&id) {
                    self.announced.push(id.clone());
                    let block = ResponseBlock::ToolUse {
                        id: id.clone(),
                        name,
                        input: json!({}),
                    };
                    self.start(block, Some(Open::Tool { id }), out);
                }
            }
            ModelChunk::ToolUse { call } => {
                // An announced call that is not open was completed already: a repeat.
                if !self.announced.contains(&call.id) {
                    self.announced.push(call.id.clone());
                    let block = ResponseBlock::ToolUse {
                        id: call.id.clone(),
                        name: call.name,
                        input: json!({}),
                    };
                    self.start(block, Some(Open::Tool { id: call.id }), out);
                    self.fill(call.input, out);
                }
            }
        }
    }

    /// Closes the open block and starts `block`; with `open` `None` the block is complete
    /// as it starts and closes at once.
    fn start(&mut self, block: ResponseBlock, open: Option<Open>, out: &mut Vec<Step>) {
        self.close(out);
        let index = self.started;
        self.started += 1;
        if matches!(block, ResponseBlock::ToolUse { .. }) {
            self.calls += 1;
        }
        out.push(Step::Start { index, block });
        match open {
            Some(kind) => self.open = Some((index, kind)),
            None => out.push(Step::Stop { index }),
        }
    }

    /// A delta for the open block.
    fn delta(&mut self, delta: BlockDelta, out: &mut Vec<Step>) {
        if let Some((index, _)) = &self.open {
            out.push(Step::Delta {
                index: *index,
                delta,
            });
        }
    }

    fn close(&mut self, out: &mut Vec<Step>) {
        if let Some((index, _)) = self.open.take() {
            out.push(Step::Stop { index });
        }
    }

    /// The open call's arguments, which complete its block.
    fn fill(&mut self, input: Value, out: &mut Vec<Step>) {
        self.delta(BlockDelta::Input(input), out);
        self.close(out);
    }

    /// Replays the chunks that waited for a call's arguments (some may wait again, for
    /// the next announced call).
    fn drain(&mut self, out: &mut Vec<Step>) {
        let waiting = std::mem::take(&mut self.deferred);
        for chunk in waiting {
            self.push(chunk, out);
        }
    }

    /// After the model's stream ended: a call still waiting for its arguments (a cut
    /// answer) closes as it is, what waited for it follows, and the last block closes.
    fn finish(&mut self, out: &mut Vec<Step>) {
        while self.awaiting().is_some() {
            self.close(out);
            self.drain(out);
        }
        self.close(out);
    }

    fn stop_reason(&self, has_calls: bool) -> String {
        stop_reason(self.stop.as_ref(), has_calls)
    }
}

/// Collects a model's chunks into one non-streamed message, with the same blocks a stream
/// of the same chunks would carry. A call announced but never completed (a cut answer) is
/// left out.
#[derive(Debug)]
pub struct MessageBuilder {
    id: String,
    model: String,
    assembler: Assembler,
    /// The blocks so far, each with whether it is complete (a call has its arguments).
    blocks: Vec<(ResponseBlock, bool)>,
}

impl MessageBuilder {
    /// A builder for the message `id` (`msg_...`) of the public `model`.
    pub fn new(id: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            model: model.into(),
            assembler: Assembler::default(),
            blocks: Vec::new(),
        }
    }

    /// Takes the model's next chunk.
    pub fn push(&mut self, chunk: ModelChunk) {
        let mut steps = Vec::new();
        self.assembler.push(chunk, &mut steps);
        self.apply(steps);
    }

    /// The usage reported so far (for metering, whether or not the answer completes).
    pub fn usage(&self) -> Usage {
        self.assembler.usage
    }

    /// The message.
    pub fn finish(mut self) -> MessageResponse {
        let mut steps = Vec::new();
        self.assembler.finish(&mut steps);
        self.apply(steps);
        let content: Vec<ResponseBlock> = self
            .blocks
            .into_iter()
            .filter_map(|(block, complete)| complete.then_some(block))
            .collect();
        let has_calls = content
            .iter()
            .any(|b| matches!(b, ResponseBlock::ToolUse { .. }));
        MessageResponse {
            id: self.id,
            kind: MESSAGE.to_owned(),
            role: ASSISTANT.to_owned(),
            model: self.model,
            content,
            stop_reason: self.assembler.stop_reason(has_calls),
            stop_sequence: None,
            usage: self.assembler.usage.into(),
        }
    }

    fn apply(&mut self, steps: Vec<Step>) {
        for step in steps {
            match step {
                Step::Start { block, .. } => {
                    let complete = !matches!(block, ResponseBlock::ToolUse { .. });
                    self.blocks.push((block, complete));
                }
                Step::Delta { index, delta } => {
                    let Some((block, complete)) = self.blocks.get_mut(index) else {
                        continue;
                    };
                    match (block, delta) {
                        (ResponseBlock::Text { text }, BlockDelta::Text(more)) => {
                            text.push_str(&more);
                        }
                        (ResponseBlock::Thinking { thinking, .. }, BlockDelta::Thinking(more)) => {
                            thinking.push_str(&more);
                        }
                        (ResponseBlock::Thinking { signature, .. }, BlockDelta::Signature(s)) => {
                            *signature = s;
                        }
                        (ResponseBlock::ToolUse { input, .. }, BlockDelta::Input(value)) => {
                            *input = value;
                            *complete = true;
                        }
                        _ => {}
                    }
                }
                Step::Stop { .. } => {}
            }
        }
    }
}

/// Turns a model's chunks into the Messages API's server-sent events.
///
/// `message_start` comes first (from [`EventEncoder::start`], or with the first events of
/// [`EventEncoder::push`] or [`EventEncoder::finish`]); then each block's
/// `content_block_start`, deltas (`text_delta`, `thinking_delta`, `signature_delta`, one
/// `input_json_delta` with a call's whole arguments) and `content_block_stop`, indexes
/// counting from 0; [`EventEncoder::finish`] closes the open block and sends
/// `message_delta` (the stop reason and the usage) and `message_stop`.
///
/// Usage: the domain reports it at the end of the answer, so `message_start` carries what
/// is known then (usually zeros) and `message_delta` carries all four counts. Anthropic
/// documents `message_delta`'s counts as cumulative, and the SDKs (Python and TypeScript
/// since 2025) take `input_tokens` and the cache counts from it when present; older SDKs
/// read only its `output_tokens` and keep `message_start`'s input count.
#[derive(Debug)]
pub struct EventEncoder {
    id: String,
    model: String,
    assembler: Assembler,
    started: bool,
    finished: bool,
}

impl EventEncoder {
    /// An encoder for the message `id` (`msg_...`) of the public `model`.
    pub fn new(id: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            model: model.into(),
            assembler: Assembler::default(),
            started: false,
            finished: false,
        }
    }

    /// `message_start`, the first time it is called (later calls, and the other methods
    /// once it was sent, return nothing more for it). Sending it before the upstream's
    /// first chunk shows the client the answer has begun.
    pub fn start(&mut self) -> Vec<SseEvent> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        let usage = ResponseUsage::from(self.assembler.usage).to_json();
        vec![event(
            "message_start",
            json!({
                "type": "message_start",
                "message": {
                    "id": self.id,
                    "type": MESSAGE,
                    "role": ASSISTANT,
                    "model": self.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": usage,
                },
            }),
        )]
    }

    /// The events to send for the model's next chunk (often none). Nothing after
    /// [`EventEncoder::finish`].
    pub fn push(&mut self, chunk: ModelChunk) -> Vec<SseEvent> {
        if self.finished {
            return Vec::new();
        }
        let mut steps = Vec::new();
        self.assembler.push(chunk, &mut steps);
        let mut out = self.start();
        out.extend(steps.into_iter().map(step_event));
        out
    }

    /// After the model's stream ended: the open blocks closed, `message_delta` and
    /// `message_stop`. Later calls return nothing.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut steps = Vec::new();
        self.assembler.finish(&mut steps);
        let mut out = self.start();
        out.extend(steps.into_iter().map(step_event));
        let reason = self.assembler.stop_reason(self.assembler.calls > 0);
        out.push(event(
            "message_delta",
            json!({
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": null},
                "usage": ResponseUsage::from(self.assembler.usage).to_json(),
            }),
        ));
        out.push(event("message_stop", json!({"type": "message_stop"})));
        out
    }

    /// The usage reported so far (for metering, whether or not the answer completes).
    pub fn usage(&self) -> Usage {
        self.assembler.usage
    }
}

/// A `ping` event, which Anthropic sends to keep a quiet stream alive (while an upstream
/// thinks before its first token); clients ignore it.
pub fn ping_event() -> SseEvent {
    event("ping", json!({"type": "ping"}))
}

fn event(name: &str, data: Value) -> SseEvent {
    (name.to_owned(), data)
}

/// The event for one content step.
fn step_event(step: Step) -> SseEvent {
    match step {
        Step::Start { index, block } => event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block.to_json()}),
        ),
        Step::Delta { index, delta } => {
            let delta = match delta {
                BlockDelta::Text(text) => json!({"type": "text_delta", "text": text}),
                BlockDelta::Thinking(thinking) => {
                    json!({"type": "thinking_delta", "thinking": thinking})
                }
                BlockDelta::Signature(signature) => {
                    json!({"type": "signature_delta", "signature": signature})
                }
                BlockDelta::Input(input) => {
                    json!({"type": "input_json_delta", "partial_json": input.to_string()})
                }
            };
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            )
        }
        Step::Stop { index } => event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ),
    }
}
