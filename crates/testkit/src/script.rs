//! Scripts: the turns the mock server plays back, one per model request.
//!
//! A script is plain data, built in Rust with the [`Turn`] builders or loaded from YAML.
//! In YAML every turn is a map whose keys say what it is:
//!
//! ```yaml
//! turns:
//!   # A reply. Shorthand keys, rendered in this order: thinking, text, tool_call, tool_calls.
//!   - text: "Let me look at the file."
//!     tool_call: { name: read, input: { path: src/main.rs } }
//!   # The same with explicit steps, in any order, plus the optional modifiers.
//!   - steps:
//!       - thinking: "The user wants a fix."
//!       - text: "Fixing it."
//!       - tool_call: { id: toolu_custom_1, name: edit, input: { path: a.rs, old_string: x, new_string: y } }
//!     stop_reason: tool_use          # default: tool_use / tool_calls when there are tool calls, else end_turn / stop
//!     usage: { input_tokens: 120, output_tokens: 40 }   # default: estimated from sizes
//!     delay_ms: 20                   # pause between SSE frames, default 0
//!   # Faults.
//!   - status: 429                    # provider-shaped error body for the endpoint hit
//!     retry_after: 2                 # optional Retry-After header (number or string)
//!     message: "slow down"           # optional error message
//!   - stall: { after_frames: 3, seconds: 30 }
//!   - cut: { after_frames: 4 }
//!   # A real reply cut after 4 frames (here: in the middle of the tool call's arguments).
//!   - tool_call: { name: edit, input: { path: a.rs, old_string: x, new_string: y } }
//!     cut: { after_frames: 4 }
//!   # A string `input` is the raw argument text: here a write cut off by max_tokens.
//!   - tool_call: { name: write, input: "{\"path\": \"a.rs\", \"content\": \"fn ma" }
//!     stop_reason: max_tokens
//!   - malformed: true
//!   # A stream that begins, then fails with the provider's own mid-stream error.
//!   - stream_error: "The model failed to generate a response."
//!   # A body served verbatim (a documented example payload, say), whatever the endpoint.
//!   - raw: { content_type: text/event-stream, body: "data: ...\n\n" }
//! ```
//!
//! A document that is a bare list of turns (no `turns:` key) is accepted too.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// The turns to serve, in order, one per model request (whichever endpoint is hit).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub turns: Vec<Turn>,
}

/// One answer of the mock: a reply, a fault, or a body served verbatim.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(try_from = "RawTurn", into = "RawTurn")]
pub enum Turn {
    Reply(Reply),
    Fault(Fault),
    /// Served byte for byte, whatever format the endpoint speaks: for replaying example
    /// payloads from a provider's documentation through a real client.
    Raw(RawBody),
}

/// A response served verbatim by [`Turn::Raw`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RawBody {
    #[serde(default = "ok_status")]
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

fn ok_status() -> u16 {
    200
}

/// A successful model answer, rendered in the wire format of the endpoint hit.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct Reply {
    pub steps: Vec<Step>,
    /// Either vocabulary works (`end_turn`/`stop`, `tool_use`/`tool_calls`,
    /// `max_tokens`/`length`); it is translated for the endpoint hit. `None` picks
    /// `tool_use`/`tool_calls` when the reply has tool calls, else `end_turn`/`stop`.
    pub stop_reason: Option<String>,
    /// `None` estimates both counts from the sizes of the request and the reply.
    pub usage: Option<ReplyUsage>,
    /// Pause between SSE frames, in milliseconds.
    pub delay_ms: u64,
}

/// Token counts a reply reports.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct ReplyUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// One content block of a reply.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(try_from = "RawStep", into = "RawStep")]
pub enum Step {
    Text(String),
    /// Reasoning: an Anthropic `thinking` block (with a generated signature) or an
    /// OpenAI-compatible `reasoning_content` delta (DeepSeek style).
    Thinking(String),
    /// `id: None` generates a deterministic id: `toolu_mock_NNN` / `call_mock_NNN`.
    ToolCall {
        id: Option<String>,
        name: String,
        input: Value,
    },
}

/// A failure the mock injects instead of a reply.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// An HTTP error with the provider's error body; `Retry-After` when given.
    Status {
        status: u16,
        retry_after: Option<String>,
        message: Option<String>,
    },
    /// Sends the response head and `after_frames` SSE frames of a filler answer, then goes
    /// silent with the connection open for `seconds`, then drops the connection.
    /// (Non-streaming requests: the head, then silence, then the drop.)
    Stall { after_frames: usize, seconds: u64 },
    /// Sends `after_frames` SSE frames, then half a frame, then drops the connection
    /// without ending the response. (Non-streaming: half of the JSON body.)
    Cut { after_frames: usize },
    /// Streams this reply's first `after_frames` SSE frames, then half of the next one,
    /// then drops the connection: a real answer cut mid-way (mid tool-call arguments, say).
    /// `after_frames` is capped so that at least the last frame is cut. (Non-streaming:
    /// half of the reply's JSON body.)
    CutReply { reply: Reply, after_frames: usize },
    /// A 200 whose SSE data is not JSON (non-streaming: a body that is not JSON).
    Malformed,
    /// A streamed answer that begins (a few text frames), then fails with the provider's
    /// mid-stream error: Anthropic `event: error`, an OpenAI chunk with `error`, Responses
    /// `response.failed`, a Gemini chunk with `error`, an Ollama line with `error`.
    /// (Non-streaming: HTTP 500 with `message`.)
    StreamError { message: String },
}

impl Step {
    pub fn text(text: impl Into<String>) -> Step {
        Step::Text(text.into())
    }

    pub fn thinking(thinking: impl Into<String>) -> Step {
        Step::Thinking(thinking.into())
    }

    pub fn tool_call(name: impl Into<String>, input: Value) -> Step {
        Step::ToolCall {
            id: None,
            name: name.into(),
            input,
        }
    }

    /// A tool call whose argument text is `arguments`, verbatim: arguments cut off by
    /// `max_tokens` (pair it with `with_stop_reason("max_tokens")`) or malformed. Played
    /// as text by the formats that carry arguments as text (Anthropic's
    /// `input_json_delta`, OpenAI Chat and Responses `arguments`); formats that carry a
    /// JSON object (Gemini, Ollama) send it as a JSON string.
    pub fn raw_tool_call(name: impl Into<String>, arguments: impl Into<String>) -> Step {
        Step::tool_call(name, Value::String(arguments.into()))
    }

    pub fn tool_call_with_id(id: impl Into<String>, name: impl Into<String>, input: Value) -> Step {
        Step::ToolCall {
            id: Some(id.into()),
            name: name.into(),
            input,
        }
    }
}

impl Reply {
    pub fn new(steps: Vec<Step>) -> Reply {
        Reply {
            steps,
            ..Reply::default()
        }
    }

    pub fn has_tool_calls(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::ToolCall { .. }))
    }

    pub fn tool_call_count(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s, Step::ToolCall { .. }))
            .count()
    }

    /// The stop reason in Anthropic's vocabulary.
    pub(crate) fn anthropic_stop_reason(&self) -> String {
        match self.stop_reason.as_deref() {
            Some("stop") => "end_turn".into(),
            Some("tool_calls") => "tool_use".into(),
            Some("length") => "max_tokens".into(),
            Some("content_filter") => "refusal".into(),
            Some(other) => other.into(),
            None if self.has_tool_calls() => "tool_use".into(),
            None => "end_turn".into(),
        }
    }

    /// The finish reason in OpenAI's vocabulary.
    pub(crate) fn openai_finish_reason(&self) -> String {
        match self.stop_reason.as_deref() {
            Some("end_turn") | Some("stop_sequence") => "stop".into(),
            Some("tool_use") => "tool_calls".into(),
            Some("max_tokens") => "length".into(),
            Some("refusal") => "content_filter".into(),
            Some(other) => other.into(),
            None if self.has_tool_calls() => "tool_calls".into(),
            None => "stop".into(),
        }
    }

    /// The finish reason in Gemini's vocabulary.
    pub(crate) fn gemini_finish_reason(&self) -> String {
        match self.stop_reason.as_deref() {
            None | Some("end_turn" | "stop" | "stop_sequence" | "tool_use" | "tool_calls") => {
                "STOP".into()
            }
            Some("max_tokens" | "length") => "MAX_TOKENS".into(),
            Some("refusal" | "content_filter") => "SAFETY".into(),
            Some(other) => other.to_ascii_uppercase(),
        }
    }

    /// The `done_reason` in Ollama's vocabulary (`stop` also after tool calls).
    pub(crate) fn ollama_done_reason(&self) -> String {
        match self.stop_reason.as_deref() {
            None | Some("end_turn" | "stop" | "stop_sequence" | "tool_use" | "tool_calls") => {
                "stop".into()
            }
            Some("max_tokens" | "length") => "length".into(),
            Some(other) => other.into(),
        }
    }

    /// Why a Responses API answer is incomplete, if it is.
    pub(crate) fn responses_incomplete_reason(&self) -> Option<&'static str> {
        match self.stop_reason.as_deref() {
            Some("max_tokens" | "length") => Some("max_output_tokens"),
            Some("refusal" | "content_filter") => Some("content_filter"),
            _ => None,
        }
    }

    /// A rough output token count: a quarter of the characters produced, at least 1.
    pub(crate) fn estimated_output_tokens(&self) -> u64 {
        let chars: usize = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Text(t) | Step::Thinking(t) => t.chars().count(),
                Step::ToolCall { name, input, .. } => name.len() + input.to_string().len(),
            })
            .sum();
        (chars as u64 / 4).max(1)
    }
}

/// The argument text a tool call streams: the input's JSON, or a string input verbatim
/// (see [`Step::raw_tool_call`]).
pub(crate) fn arguments_text(input: &Value) -> String {
    match input {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

impl From<Reply> for Turn {
    fn from(reply: Reply) -> Turn {
        Turn::Reply(reply)
    }
}

impl From<Fault> for Turn {
    fn from(fault: Fault) -> Turn {
        Turn::Fault(fault)
    }
}

impl Turn {
    /// A reply with one text block.
    pub fn text(text: impl Into<String>) -> Turn {
        Turn::steps(vec![Step::text(text)])
    }

    /// A reply with one tool call (generated id).
    pub fn tool_call(name: impl Into<String>, input: Value) -> Turn {
        Turn::steps(vec![Step::tool_call(name, input)])
    }

    /// A reply with several parallel tool calls (generated ids).
    pub fn tool_calls<N: Into<String>>(calls: impl IntoIterator<Item = (N, Value)>) -> Turn {
        Turn::steps(
            calls
                .into_iter()
                .map(|(name, input)| Step::tool_call(name, input))
                .collect(),
        )
    }

    /// A reply made of these steps, in order.
    pub fn steps(steps: Vec<Step>) -> Turn {
        Turn::Reply(Reply::new(steps))
    }

    /// An HTTP error with the provider's default message for the status.
    pub fn status(status: u16) -> Turn {
        Turn::Fault(Fault::Status {
            status,
            retry_after: None,
            message: None,
        })
    }

    /// An HTTP error with a custom message.
    pub fn status_with_message(status: u16, message: impl Into<String>) -> Turn {
        Turn::Fault(Fault::Status {
            status,
            retry_after: None,
            message: Some(message.into()),
        })
    }

    /// 429 with `Retry-After: <secs>`.
    pub fn rate_limited(retry_after_secs: u64) -> Turn {
        Turn::Fault(Fault::Status {
            status: 429,
            retry_after: Some(retry_after_secs.to_string()),
            message: None,
        })
    }

    /// 529, Anthropic's "overloaded" (an `overloaded_error` body).
    pub fn overloaded() -> Turn {
        Turn::status(529)
    }

    pub fn stall(after_frames: usize, seconds: u64) -> Turn {
        Turn::Fault(Fault::Stall {
            after_frames,
            seconds,
        })
    }

    pub fn cut(after_frames: usize) -> Turn {
        Turn::Fault(Fault::Cut { after_frames })
    }

    pub fn malformed() -> Turn {
        Turn::Fault(Fault::Malformed)
    }

    /// A stream that fails mid-way with the provider's own error event.
    pub fn stream_error(message: impl Into<String>) -> Turn {
        Turn::Fault(Fault::StreamError {
            message: message.into(),
        })
    }

    /// A body served verbatim with status 200.
    pub fn raw(content_type: impl Into<String>, body: impl Into<String>) -> Turn {
        Turn::Raw(RawBody {
            status: 200,
            content_type: content_type.into(),
            body: body.into(),
        })
    }

    /// This reply, cut after `after_frames` SSE frames (see [`Fault::CutReply`]). A fault
    /// is returned unchanged.
    pub fn cut_reply(turn: Turn, after_frames: usize) -> Turn {
        match turn {
            Turn::Reply(reply) => Turn::Fault(Fault::CutReply {
                reply,
                after_frames,
            }),
            fault => fault,
        }
    }

    /// Sets the stop reason of a reply (no effect on a fault).
    pub fn with_stop_reason(mut self, reason: impl Into<String>) -> Turn {
        if let Turn::Reply(r) = &mut self {
            r.stop_reason = Some(reason.into());
        }
        self
    }

    /// Sets the usage a reply reports (no effect on a fault).
    pub fn with_usage(mut self, input_tokens: u64, output_tokens: u64) -> Turn {
        if let Turn::Reply(r) = &mut self {
            r.usage = Some(ReplyUsage {
                input_tokens,
                output_tokens,
            });
        }
        self
    }

    /// Sets the pause between SSE frames of a reply (no effect on a fault).
    pub fn with_delay_ms(mut self, delay_ms: u64) -> Turn {
        if let Turn::Reply(r) = &mut self {
            r.delay_ms = delay_ms;
        }
        self
    }

    /// A one-word description for logs: `reply`, `status 429`, `stall`, ...
    pub fn describe(&self) -> String {
        match self {
            Turn::Reply(r) => format!("reply ({} steps)", r.steps.len()),
            Turn::Fault(Fault::Status { status, .. }) => format!("status {status}"),
            Turn::Fault(Fault::Stall { .. }) => "stall".into(),
            Turn::Fault(Fault::Cut { .. }) => "cut".into(),
            Turn::Fault(Fault::CutReply { reply, .. }) => {
                format!("reply ({} steps) cut mid-stream", reply.steps.len())
            }
            Turn::Fault(Fault::Malformed) => "malformed".into(),
            Turn::Fault(Fault::StreamError { .. }) => "stream error".into(),
            Turn::Raw(raw) => format!("raw {} ({})", raw.status, raw.content_type),
        }
    }
}

impl Script {
    pub fn new(turns: Vec<Turn>) -> Script {
        Script { turns }
    }

    /// Parses a YAML script: a map with `turns:`, or a bare list of turns.
    pub fn from_yaml(yaml: &str) -> Result<Script> {
        let doc: serde_norway::Value = serde_norway::from_str(yaml)?;
        if doc.is_sequence() {
            Ok(Script {
                turns: serde_norway::from_str(yaml)?,
            })
        } else {
            Ok(serde_norway::from_str(yaml)?)
        }
    }

    pub fn from_path(path: impl AsRef<Path>) -> Result<Script> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Script::from_yaml(&text).map_err(|e| match e {
            Error::Yaml(e) => Error::Invalid(format!("{}: {e}", path.display())),
            other => other,
        })
    }

    pub fn to_yaml(&self) -> Result<String> {
        Ok(serde_norway::to_string(self)?)
    }

    /// The script `cuervo-mock` serves without `--script`.
    pub fn demo() -> Script {
        Script::new(vec![Turn::text(
            "Hello from cuervo-mock! I am the mock model server of Cuervo's test kit, not a \
             real model. Start me with `--script FILE.yml` to replay scripted turns.",
        )])
    }
}

/// A string or a number in YAML (`retry_after: 2` or `retry_after: "2"`).
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Number(u64),
}

impl StringOrNumber {
    fn into_string(self) -> String {
        match self {
            StringOrNumber::String(s) => s,
            StringOrNumber::Number(n) => n.to_string(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct RawToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    name: String,
    #[serde(default = "empty_object")]
    input: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl From<RawToolCall> for Step {
    fn from(c: RawToolCall) -> Step {
        Step::ToolCall {
            id: c.id,
            name: c.name,
            input: c.input,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thinking: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tool_call: Option<RawToolCall>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> std::result::Result<Step, String> {
        match (raw.text, raw.thinking, raw.tool_call) {
            (Some(t), None, None) => Ok(Step::Text(t)),
            (None, Some(t), None) => Ok(Step::Thinking(t)),
            (None, None, Some(c)) => Ok(c.into()),
            _ => Err("a step has exactly one of the keys `text`, `thinking`, `tool_call`".into()),
        }
    }
}

impl From<Step> for RawStep {
    fn from(step: Step) -> RawStep {
        match step {
            Step::Text(t) => RawStep {
                text: Some(t),
                ..RawStep::default()
            },
            Step::Thinking(t) => RawStep {
                thinking: Some(t),
                ..RawStep::default()
            },
            Step::ToolCall { id, name, input } => RawStep {
                tool_call: Some(RawToolCall { id, name, input }),
                ..RawStep::default()
            },
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct StallSpec {
    #[serde(default)]
    after_frames: usize,
    seconds: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct CutSpec {
    #[serde(default)]
    after_frames: usize,
}

/// The YAML shape of a turn: one map, the keys present say what it is.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawTurn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thinking: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tool_call: Option<RawToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<RawToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    steps: Option<Vec<Step>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stop_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage: Option<ReplyUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<StringOrNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stall: Option<StallSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cut: Option<CutSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    malformed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw: Option<RawBody>,
}

const TURN_KEYS: &str = "a turn needs a reply key (`text`, `thinking`, `tool_call`, `tool_calls`, \
                         `steps`), a fault key (`status`, `stall`, `cut`, `malformed: true`, \
                         `stream_error`) or `raw`";

impl TryFrom<RawTurn> for Turn {
    type Error = String;

    fn try_from(raw: RawTurn) -> std::result::Result<Turn, String> {
        let shorthand = raw.thinking.is_some()
            || raw.text.is_some()
            || raw.tool_call.is_some()
            || raw.tool_calls.is_some();
        let is_reply = shorthand || raw.steps.is_some();
        if let Some(body) = raw.raw {
            let others = [
                raw.thinking.is_some(),
                raw.text.is_some(),
                raw.tool_call.is_some(),
                raw.tool_calls.is_some(),
                raw.steps.is_some(),
                raw.stop_reason.is_some(),
                raw.usage.is_some(),
                raw.delay_ms.is_some(),
                raw.status.is_some(),
                raw.retry_after.is_some(),
                raw.message.is_some(),
                raw.stall.is_some(),
                raw.cut.is_some(),
                raw.malformed.is_some(),
                raw.stream_error.is_some(),
            ];
            if others.iter().any(|set| *set) {
                return Err("`raw` stands alone in its turn".into());
            }
            return Ok(Turn::Raw(body));
        }
        let faults = [
            raw.status.is_some(),
            raw.stall.is_some(),
            raw.cut.is_some(),
            raw.malformed == Some(true),
            raw.stream_error.is_some(),
        ]
        .iter()
        .filter(|f| **f)
        .count();
        let cut_reply = is_reply && faults == 1 && raw.cut.is_some();
        if is_reply && faults > 0 && !cut_reply {
            return Err(
                "a turn is a reply or a fault, not both (only `cut` combines with a reply)".into(),
            );
        }
        if faults > 1 {
            return Err(
                "a turn has at most one of `status`, `stall`, `cut`, `malformed`, `stream_error`"
                    .into(),
            );
        }
        if raw.status.is_none() && (raw.retry_after.is_some() || raw.message.is_some()) {
            return Err("`retry_after` and `message` go with `status`".into());
        }
        if is_reply {
            if shorthand && raw.steps.is_some() {
                return Err(
                    "use either `steps` or the shorthand keys (`thinking`, `text`, `tool_call`, \
                     `tool_calls`), not both"
                        .into(),
                );
            }
            let steps = match raw.steps {
                Some(steps) => steps,
                None => {
                    let mut steps = Vec::new();
                    steps.extend(raw.thinking.map(Step::Thinking));
                    steps.extend(raw.text.map(Step::Text));
                    steps.extend(raw.tool_call.map(Step::from));
                    steps.extend(raw.tool_calls.into_iter().flatten().map(Step::from));
                    steps
                }
            };
            let reply = Turn::Reply(Reply {
                steps,
                stop_reason: raw.stop_reason,
                usage: raw.usage,
                delay_ms: raw.delay_ms.unwrap_or(0),
            });
            return Ok(match raw.cut {
                Some(c) => Turn::cut_reply(reply, c.after_frames),
                None => reply,
            });
        }
        if raw.stop_reason.is_some() || raw.usage.is_some() || raw.delay_ms.is_some() {
            return Err("`stop_reason`, `usage` and `delay_ms` go with a reply".into());
        }
        if let Some(status) = raw.status {
            return Ok(Turn::Fault(Fault::Status {
                status,
                retry_after: raw.retry_after.map(StringOrNumber::into_string),
                message: raw.message,
            }));
        }
        if let Some(s) = raw.stall {
            return Ok(Turn::stall(s.after_frames, s.seconds));
        }
        if let Some(c) = raw.cut {
            return Ok(Turn::cut(c.after_frames));
        }
        if raw.malformed == Some(true) {
            return Ok(Turn::malformed());
        }
        if let Some(message) = raw.stream_error {
            return Ok(Turn::stream_error(message));
        }
        Err(TURN_KEYS.into())
    }
}

impl From<Turn> for RawTurn {
    fn from(turn: Turn) -> RawTurn {
        match turn {
            Turn::Reply(r) => RawTurn {
                steps: Some(r.steps),
                stop_reason: r.stop_reason,
                usage: r.usage,
                delay_ms: (r.delay_ms != 0).then_some(r.delay_ms),
                ..RawTurn::default()
            },
            Turn::Fault(Fault::Status {
                status,
                retry_after,
                message,
            }) => RawTurn {
                status: Some(status),
                retry_after: retry_after.map(StringOrNumber::String),
                message,
                ..RawTurn::default()
            },
            Turn::Fault(Fault::Stall {
                after_frames,
                seconds,
            }) => RawTurn {
                stall: Some(StallSpec {
                    after_frames,
                    seconds,
                }),
                ..RawTurn::default()
            },
            Turn::Fault(Fault::Cut { after_frames }) => RawTurn {
                cut: Some(CutSpec { after_frames }),
                ..RawTurn::default()
            },
            Turn::Fault(Fault::Malformed) => RawTurn {
                malformed: Some(true),
                ..RawTurn::default()
            },
            Turn::Fault(Fault::StreamError { message }) => RawTurn {
                stream_error: Some(message),
                ..RawTurn::default()
            },
            Turn::Raw(body) => RawTurn {
                raw: Some(body),
                ..RawTurn::default()
            },
            Turn::Fault(Fault::CutReply {
                reply,
                after_frames,
            }) => RawTurn {
                cut: Some(CutSpec { after_frames }),
                ..RawTurn::from(Turn::Reply(reply))
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn shorthand_reply_keeps_fixed_order() {
        let s = Script::from_yaml(
            "turns:\n  - tool_call: {name: read, input: {path: a}}\n    text: hi\n    thinking: hmm\n",
        )
        .unwrap();
        assert_eq!(
            s.turns,
            vec![Turn::steps(vec![
                Step::thinking("hmm"),
                Step::text("hi"),
                Step::tool_call("read", json!({"path": "a"})),
            ])]
        );
    }

    #[test]
    fn bare_list_and_faults_parse() {
        let s = Script::from_yaml(
            "- status: 429\n  retry_after: 3\n- stall: {after_frames: 2, seconds: 9}\n- cut: {after_frames: 1}\n- malformed: true\n",
        )
        .unwrap();
        assert_eq!(
            s.turns,
            vec![
                Turn::rate_limited(3),
                Turn::stall(2, 9),
                Turn::cut(1),
                Turn::malformed()
            ]
        );
    }

    #[test]
    fn invalid_turns_are_explained() {
        let both = Script::from_yaml("- text: hi\n  status: 500\n").unwrap_err();
        assert_eq!(
            Script::from_yaml("- text: hi\n  cut: {after_frames: 2}\n")
                .unwrap()
                .turns,
            vec![Turn::cut_reply(Turn::text("hi"), 2)]
        );
        assert!(both.to_string().contains("not both"), "{both}");
        let empty = Script::from_yaml("- {}\n").unwrap_err();
        assert!(empty.to_string().contains("reply key"), "{empty}");
        let typo = Script::from_yaml("- txt: hi\n").unwrap_err();
        assert!(typo.to_string().contains("txt"), "{typo}");
        let mixed = Script::from_yaml("- text: a\n  steps: [{text: b}]\n").unwrap_err();
        assert!(mixed.to_string().contains("either"), "{mixed}");
    }

    #[test]
    fn yaml_round_trips() {
        let script = Script::new(vec![
            Turn::steps(vec![
                Step::thinking("t"),
                Step::text("x"),
                Step::tool_call_with_id("id1", "bash", json!({"command": "ls"})),
            ])
            .with_usage(5, 6)
            .with_delay_ms(3)
            .with_stop_reason("tool_use"),
            Turn::rate_limited(1),
            Turn::status_with_message(500, "boom"),
            Turn::stall(1, 2),
            Turn::cut(0),
            Turn::malformed(),
            Turn::cut_reply(Turn::text("half").with_delay_ms(2), 3),
            Turn::stream_error("boom"),
            Turn::raw("application/json", "{}"),
        ]);
        let yaml = script.to_yaml().unwrap();
        assert_eq!(Script::from_yaml(&yaml).unwrap(), script, "{yaml}");
    }

    #[test]
    fn stop_reasons_translate_between_vocabularies() {
        let plain = Reply::new(vec![Step::text("a")]);
        assert_eq!(plain.anthropic_stop_reason(), "end_turn");
        assert_eq!(plain.openai_finish_reason(), "stop");
        let tools = Reply::new(vec![Step::tool_call("ls", json!({}))]);
        assert_eq!(tools.anthropic_stop_reason(), "tool_use");
        assert_eq!(tools.openai_finish_reason(), "tool_calls");
        let long = Reply {
            stop_reason: Some("length".into()),
            ..plain
        };
        assert_eq!(long.anthropic_stop_reason(), "max_tokens");
        assert_eq!(long.openai_finish_reason(), "length");
    }
}
