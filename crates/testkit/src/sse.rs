//! Server-sent events: frame encoding, the paced (and fault-injecting) response body, and
//! the splitting of text into deltas.
//!
//! The public functions render a [`Reply`] as the exact bytes a provider would stream, for
//! unit tests of an SSE parser that need no server.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::record::WireFormat;
use crate::script::{Reply, ReplyUsage, Step};

/// `event: NAME\ndata: JSON\n\n` (Anthropic).
pub(crate) fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// `data: JSON\n\n` (OpenAI).
pub(crate) fn data(data: &Value) -> String {
    format!("data: {data}\n\n")
}

/// The sentinel closing an OpenAI stream.
pub(crate) const DONE: &str = "data: [DONE]\n\n";

/// Splits `s` into a few pieces on character boundaries: at least `min_pieces` when it has
/// that many characters, about one piece per 12 characters, at most 12 pieces.
pub(crate) fn split(s: &str, min_pieces: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let pieces = chars.len().div_ceil(12).clamp(min_pieces.max(1), 12);
    let pieces = pieces.min(chars.len());
    let size = chars.len().div_ceil(pieces);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Everything the renderers need beyond the reply itself.
#[derive(Debug, Clone)]
pub(crate) struct ReplyContext {
    /// `msg_...` (Anthropic), `chatcmpl-...` (OpenAI Chat), `resp_...` (Responses) or the
    /// `responseId` (Gemini).
    pub id: String,
    /// The message number, for ids of items inside a reply.
    pub seq: u64,
    pub model: String,
    /// Unix seconds, for OpenAI's `created`.
    pub created: u64,
    pub usage: ReplyUsage,
    /// One id per tool call of the reply, in order.
    pub tool_ids: Vec<String>,
    /// Whether each tool call's id was given by the script. Gemini and Ollama send ids
    /// only then (their real APIs send none).
    pub explicit_ids: Vec<bool>,
    /// Whether the request asked to see reasoning (Responses `reasoning.summary`, Gemini
    /// `includeThoughts`, Ollama `think`); Anthropic and OpenAI Chat always show it.
    pub show_thinking: bool,
    /// Whether the request asked for encrypted reasoning (Responses `include`).
    pub encrypted_reasoning: bool,
    /// Prompt-cache tokens (Anthropic), apart from `usage.input_tokens`.
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
}

impl ReplyContext {
    /// Resolves ids and usage. `seq` numbers the message, `next_tool` hands out tool ids.
    pub(crate) fn new(
        reply: &Reply,
        format: WireFormat,
        seq: u64,
        model: &str,
        estimated_input_tokens: u64,
        next_tool: &mut dyn FnMut() -> u64,
    ) -> ReplyContext {
        let (tool_ids, explicit_ids) = reply
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::ToolCall { id, .. } => Some(match id {
                    Some(id) => (id.clone(), true),
                    None => match format {
                        WireFormat::Anthropic => (format!("toolu_mock_{:03}", next_tool()), false),
                        _ => (format!("call_mock_{:03}", next_tool()), false),
                    },
                }),
                _ => None,
            })
            .unzip();
        let id = match format {
            WireFormat::Anthropic => format!("msg_mock_{seq:03}"),
            WireFormat::OpenAiChat => format!("chatcmpl-mock-{seq:03}"),
            WireFormat::OpenAiResponses => format!("resp_mock_{seq:03}"),
            WireFormat::Gemini => format!("mock-response-{seq:03}"),
            WireFormat::Ollama => format!("ollama-mock-{seq:03}"),
        };
        let usage = reply.usage.unwrap_or(ReplyUsage {
            input_tokens: estimated_input_tokens.max(1),
            output_tokens: reply.estimated_output_tokens(),
        });
        ReplyContext {
            id,
            seq,
            model: model.to_string(),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            usage,
            tool_ids,
            explicit_ids,
            show_thinking: true,
            encrypted_reasoning: true,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
        }
    }

    /// The id of tool call `n` when the format sends one (always, or only when scripted).
    pub(crate) fn sent_tool_id(&self, n: usize, always: bool) -> Option<String> {
        let explicit = self.explicit_ids.get(n).copied().unwrap_or(false);
        (always || explicit)
            .then(|| self.tool_ids.get(n).cloned())
            .flatten()
    }
}

/// `data: JSON\r\n\r\n` (Gemini ends its events with CRLF).
pub(crate) fn crlf_data(data: &Value) -> String {
    format!("data: {data}\r\n\r\n")
}

/// One NDJSON line (Ollama).
pub(crate) fn line(data: &Value) -> String {
    format!("{data}\n")
}

/// One step of writing a response body.
#[derive(Debug)]
pub(crate) enum Action {
    Send(Bytes),
    Sleep(Duration),
    /// Abort the connection without ending the response.
    Abort,
}

/// Frames as actions, with `delay` between consecutive frames.
pub(crate) fn paced(frames: Vec<String>, delay: Duration) -> Vec<Action> {
    let mut actions = Vec::with_capacity(frames.len() * 2);
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 && !delay.is_zero() {
            actions.push(Action::Sleep(delay));
        }
        actions.push(Action::Send(Bytes::from(frame)));
    }
    actions
}

/// A response body that performs `actions` in order. A sleep ends early, aborting the
/// connection, when the server shuts down.
pub(crate) fn body(actions: Vec<Action>, shutdown: CancellationToken) -> Body {
    let state = (VecDeque::from(actions), shutdown);
    let stream = futures::stream::unfold(state, |(mut queue, shutdown)| async move {
        loop {
            match queue.pop_front()? {
                Action::Send(bytes) => return Some((Ok(bytes), (queue, shutdown))),
                Action::Sleep(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = shutdown.cancelled() => {
                            let err = std::io::Error::other("mock server shut down");
                            return Some((Err(err), (VecDeque::new(), shutdown)));
                        }
                    }
                }
                Action::Abort => {
                    let err = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "mock fault: connection dropped mid-response",
                    );
                    return Some((Err(err), (VecDeque::new(), shutdown)));
                }
            }
        }
    });
    Body::from_stream(stream)
}

fn standalone_context(reply: &Reply, format: WireFormat) -> ReplyContext {
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    ReplyContext::new(reply, format, 1, "mock-model", 10, &mut next)
}

/// The Anthropic SSE stream (`event:`/`data:` frames) the server sends for `reply`.
/// Message id `msg_mock_001`, model `mock-model`, tool ids `toolu_mock_001`, ...
pub fn anthropic_stream(reply: &Reply) -> String {
    let ctx = standalone_context(reply, WireFormat::Anthropic);
    crate::anthropic::stream_frames(reply, &ctx).concat()
}

/// The OpenAI chat completion SSE stream (`data:` frames ending with `data: [DONE]`) the
/// server sends for `reply`. Tool ids `call_mock_001`, ...
pub fn openai_stream(reply: &Reply, include_usage: bool) -> String {
    let ctx = standalone_context(reply, WireFormat::OpenAiChat);
    crate::openai::stream_frames(reply, &ctx, include_usage).concat()
}

/// The non-streaming Anthropic response body for `reply`.
pub fn anthropic_json(reply: &Reply) -> Value {
    let ctx = standalone_context(reply, WireFormat::Anthropic);
    crate::anthropic::json_body(reply, &ctx)
}

/// The non-streaming OpenAI chat completion body for `reply`.
pub fn openai_json(reply: &Reply) -> Value {
    let ctx = standalone_context(reply, WireFormat::OpenAiChat);
    crate::openai::json_body(reply, &ctx)
}

/// The OpenAI Responses SSE stream (`event:`/`data:` frames, reasoning summaries and
/// encrypted reasoning included) for `reply`. Tool call ids `call_mock_001`, ...
pub fn responses_stream(reply: &Reply) -> String {
    let ctx = standalone_context(reply, WireFormat::OpenAiResponses);
    crate::responses::stream_frames(reply, &ctx).concat()
}

/// The non-streaming Responses API body for `reply`.
pub fn responses_json(reply: &Reply) -> Value {
    let ctx = standalone_context(reply, WireFormat::OpenAiResponses);
    crate::responses::json_body(reply, &ctx)
}

/// The Gemini `streamGenerateContent?alt=sse` stream (thought parts included) for `reply`.
pub fn gemini_stream(reply: &Reply) -> String {
    let ctx = standalone_context(reply, WireFormat::Gemini);
    crate::gemini::stream_frames(reply, &ctx).concat()
}

/// The Gemini `generateContent` body for `reply`.
pub fn gemini_json(reply: &Reply) -> Value {
    let ctx = standalone_context(reply, WireFormat::Gemini);
    crate::gemini::json_body(reply, &ctx)
}

/// The Ollama `/api/chat` NDJSON stream (thinking included) for `reply`.
pub fn ollama_stream(reply: &Reply) -> String {
    let ctx = standalone_context(reply, WireFormat::Ollama);
    crate::ollama::stream_frames(reply, &ctx).concat()
}

/// The non-streaming Ollama `/api/chat` body for `reply`.
pub fn ollama_json(reply: &Reply) -> Value {
    let ctx = standalone_context(reply, WireFormat::Ollama);
    crate::ollama::json_body(reply, &ctx)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn split_keeps_text_and_char_boundaries() {
        assert_eq!(split("", 3), Vec::<String>::new());
        assert_eq!(split("ab", 3), vec!["a", "b"]);
        let s = "héllo wörld, ñandú 🦀 crab";
        let parts = split(s, 3);
        assert!(parts.len() >= 3);
        assert_eq!(parts.concat(), s);
        let long = "x".repeat(1000);
        assert_eq!(split(&long, 3).len(), 12);
    }

    #[test]
    fn frames_have_sse_shape() {
        assert_eq!(
            event("ping", &json!({"type": "ping"})),
            "event: ping\ndata: {\"type\":\"ping\"}\n\n"
        );
        assert_eq!(data(&json!(1)), "data: 1\n\n");
    }

    #[test]
    fn paced_inserts_delays_between_frames_only() {
        let actions = paced(vec!["a".into(), "b".into()], Duration::from_millis(5));
        assert_eq!(actions.len(), 3);
        assert!(matches!(actions[1], Action::Sleep(_)));
        assert_eq!(paced(vec!["a".into()], Duration::ZERO).len(), 1);
    }

    #[test]
    fn ids_are_generated_unless_given() {
        let reply = Reply::new(vec![
            Step::tool_call("a", json!({})),
            Step::tool_call_with_id("mine", "b", json!({})),
            Step::tool_call("c", json!({})),
        ]);
        let ctx = standalone_context(&reply, WireFormat::OpenAiChat);
        assert_eq!(ctx.tool_ids, vec!["call_mock_001", "mine", "call_mock_002"]);
        assert_eq!(ctx.id, "chatcmpl-mock-001");
    }
}
