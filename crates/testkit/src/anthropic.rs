//! Anthropic Messages API (`POST /v1/messages`): request checks, response bodies, SSE
//! events, error bodies, and the conversion of a request's conversation to domain types.

use axum::http::HeaderMap;
use cuervo_domain::{ContentBlock, EncryptedReasoning, Message, Role, ToolCall, ToolResult};
use serde_json::{Value, json};

use crate::script::{Reply, Step};
use crate::server::ApiError;
use crate::sse::{ReplyContext, event, split};

/// 401 without `x-api-key`, 400 without `anthropic-version`.
pub(crate) fn check_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if key.trim().is_empty() {
        return Err(ApiError::new(401, "x-api-key header is required"));
    }
    if headers.get("anthropic-version").is_none() {
        return Err(ApiError::new(400, "anthropic-version: header is required"));
    }
    Ok(())
}

/// The checks the real API makes that catch client bugs: required fields, roles, and
/// that every `tool_result` answers a `tool_use` of the message before.
pub(crate) fn validate(body: &Value) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::new(400, m));
    if !body.is_object() {
        return bad("request body must be a JSON object".into());
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return bad("model: Field required".into());
    }
    if body
        .get("max_tokens")
        .and_then(Value::as_u64)
        .is_none_or(|n| n == 0)
    {
        return bad("max_tokens: Field required (a positive integer)".into());
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("messages: Field required".into());
    };
    for (i, m) in messages.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("user") | Some("assistant") => {}
            other => {
                return bad(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant', got {other:?} \
                     (the system prompt goes in the top-level `system` field)"
                ));
            }
        }
        match m.get("content") {
            Some(Value::String(_)) => {}
            Some(Value::Array(blocks)) => {
                for (j, b) in blocks.iter().enumerate() {
                    if !b.get("type").is_some_and(Value::is_string) {
                        return bad(format!("messages.{i}.content.{j}.type: Field required"));
                    }
                }
            }
            _ => return bad(format!("messages.{i}.content: Field required")),
        }
    }
    let breakpoints = cache_blocks(body)
        .iter()
        .filter(|(_, marked)| *marked)
        .count();
    if breakpoints > 4 {
        return bad(format!(
            "A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
        ));
    }
    for (i, m) in messages.iter().enumerate() {
        for b in m
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = b.get("type").and_then(Value::as_str);
            if matches!(kind, Some("thinking" | "redacted_thinking"))
                && b.get("cache_control").is_some()
            {
                return bad(format!(
                    "messages.{i}: cache_control cannot be set on thinking blocks"
                ));
            }
        }
    }
    if let Some(thinking) = body.get("thinking")
        && thinking.get("type").and_then(Value::as_str) == Some("enabled")
    {
        let budget = thinking
            .get("budget_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let max_tokens = body.get("max_tokens").and_then(Value::as_u64).unwrap_or(0);
        if budget < 1024 {
            return bad(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                    .into(),
            );
        }
        if budget >= max_tokens {
            return bad(format!(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our \
                 documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size ({max_tokens} <= {budget})"
            ));
        }
        if body
            .get("temperature")
            .and_then(Value::as_f64)
            .is_some_and(|t| (t - 1.0).abs() > f64::EPSILON)
        {
            return bad(
                "`temperature` may only be set to 1 when thinking is enabled. Please consult our \
                 documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
                    .into(),
            );
        }
    }
    cuervo_domain::check_tool_pairing(&to_domain(body))
        .or_else(|e| bad(format!("messages: tool_use/tool_result mismatch: {e}")))
}

/// The request's cacheable prefix as blocks in cache order (tools, then system, then
/// message blocks), each with whether it carries a `cache_control` breakpoint. A block is
/// its JSON without the `cache_control` key.
pub(crate) fn cache_blocks(body: &Value) -> Vec<(String, bool)> {
    let strip = |v: &Value| {
        let mut v = v.clone();
        let marked = v
            .as_object_mut()
            .and_then(|o| o.remove("cache_control"))
            .is_some();
        (v.to_string(), marked)
    };
    let mut blocks: Vec<(String, bool)> = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(strip)
        .collect();
    match body.get("system") {
        Some(Value::Array(system)) => blocks.extend(system.iter().map(strip)),
        Some(other) if !other.is_null() => blocks.push((other.to_string(), false)),
        _ => {}
    }
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = m.get("role").cloned().unwrap_or(Value::Null);
        match m.get("content") {
            Some(Value::Array(content)) => blocks.extend(content.iter().map(|b| {
                let (json, marked) = strip(b);
                (format!("{role}:{json}"), marked)
            })),
            Some(other) => blocks.push((format!("{role}:{other}"), false)),
            None => {}
        }
    }
    blocks
}

/// Prompt caching as the API does it: the prefix up to each breakpoint is written to the
/// cache unless an earlier request wrote it, and each breakpoint looks back up to 20
/// blocks for the longest prefix an earlier request wrote, which is read from the cache.
/// Returns `(tokens read, tokens written)` (a token is four bytes of JSON) and records
/// the new prefixes in `cache`.
pub(crate) fn cache_usage(body: &Value, cache: &mut std::collections::HashSet<u64>) -> (u64, u64) {
    use std::hash::{DefaultHasher, Hash, Hasher};
    const LOOKBACK: usize = 20;
    let blocks = cache_blocks(body);
    let mut hasher = DefaultHasher::new();
    let mut length = 0usize;
    let mut prefixes = Vec::with_capacity(blocks.len());
    for (json, _) in &blocks {
        json.hash(&mut hasher);
        length += json.len();
        prefixes.push((hasher.finish(), (length / 4) as u64));
    }
    let mut read = 0u64;
    let mut written_to = 0u64;
    for (b, (_, marked)) in blocks.iter().enumerate() {
        if !marked {
            continue;
        }
        let hit = (b.saturating_sub(LOOKBACK)..=b)
            .rev()
            .find(|i| cache.contains(&prefixes[*i].0));
        if let Some(i) = hit {
            read = read.max(prefixes[i].1);
        }
        if hit != Some(b) {
            written_to = written_to.max(prefixes[b].1);
        }
    }
    for (b, (_, marked)) in blocks.iter().enumerate() {
        if *marked {
            cache.insert(prefixes[b].0);
        }
    }
    (read, written_to.saturating_sub(read))
}

/// The `error.type` Anthropic uses for an HTTP status.
pub(crate) fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

pub(crate) fn default_message(status: u16) -> &'static str {
    match status {
        401 => "invalid x-api-key",
        403 => "Your API key does not have permission to use the specified resource.",
        404 => "The requested resource could not be found.",
        413 => "Request exceeds the maximum allowed number of bytes.",
        429 => "Number of request tokens has exceeded your per-minute rate limit (mock)",
        529 => "Overloaded",
        500..=599 => "Internal server error",
        _ => "Invalid request",
    }
}

/// `{"type":"error","error":{"type":..,"message":..}}`
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    json!({"type": "error", "error": {"type": error_type(status), "message": message}})
}

fn message_start(ctx: &ReplyContext) -> String {
    event(
        "message_start",
        &json!({
            "type": "message_start",
            "message": {
                "id": ctx.id,
                "type": "message",
                "role": "assistant",
                "model": ctx.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": usage(ctx, 1),
            },
        }),
    )
}

fn usage(ctx: &ReplyContext, output_tokens: u64) -> Value {
    json!({
        "input_tokens": ctx.usage.input_tokens,
        "cache_creation_input_tokens": ctx.cache_write_tokens,
        "cache_read_input_tokens": ctx.cache_read_tokens,
        "output_tokens": output_tokens,
    })
}

fn block_start(index: usize, block: Value) -> String {
    event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": index, "content_block": block}),
    )
}

fn block_delta(index: usize, delta: Value) -> String {
    event(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

fn block_stop(index: usize) -> String {
    event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": index}),
    )
}

fn ping() -> String {
    event("ping", &json!({"type": "ping"}))
}

fn signature(ctx: &ReplyContext, index: usize) -> String {
    format!("mock_signature_{}_{index}", ctx.id)
}

/// Every SSE frame of a streamed reply, in the documented order: `message_start`, then per
/// block `content_block_start`, deltas, `content_block_stop` (a `ping` after the first
/// start), then `message_delta` and `message_stop`.
pub(crate) fn stream_frames(reply: &Reply, ctx: &ReplyContext) -> Vec<String> {
    let mut frames = vec![message_start(ctx)];
    let mut tool_ids = ctx.tool_ids.iter();
    for (index, step) in reply.steps.iter().enumerate() {
        match step {
            Step::Text(text) => {
                frames.push(block_start(index, json!({"type": "text", "text": ""})));
                for piece in split(text, 3) {
                    frames.push(block_delta(
                        index,
                        json!({"type": "text_delta", "text": piece}),
                    ));
                }
            }
            Step::Thinking(thinking) => {
                frames.push(block_start(
                    index,
                    json!({"type": "thinking", "thinking": "", "signature": ""}),
                ));
                for piece in split(thinking, 3) {
                    frames.push(block_delta(
                        index,
                        json!({"type": "thinking_delta", "thinking": piece}),
                    ));
                }
                frames.push(block_delta(
                    index,
                    json!({"type": "signature_delta", "signature": signature(ctx, index)}),
                ));
            }
            Step::ToolCall { name, input, .. } => {
                let id = tool_ids.next().cloned().unwrap_or_default();
                frames.push(block_start(
                    index,
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                ));
                let pieces = std::iter::once(String::new())
                    .chain(split(&crate::script::arguments_text(input), 3));
                for piece in pieces {
                    frames.push(block_delta(
                        index,
                        json!({"type": "input_json_delta", "partial_json": piece}),
                    ));
                }
            }
        }
        frames.push(block_stop(index));
        if index == 0 {
            frames.insert(2, ping());
        }
    }
    if reply.steps.is_empty() {
        frames.push(ping());
    }
    frames.push(event(
        "message_delta",
        &json!({
            "type": "message_delta",
            "delta": {"stop_reason": reply.anthropic_stop_reason(), "stop_sequence": null},
            "usage": {"output_tokens": ctx.usage.output_tokens},
        }),
    ));
    frames.push(event("message_stop", &json!({"type": "message_stop"})));
    frames
}

/// The non-streaming response body.
pub(crate) fn json_body(reply: &Reply, ctx: &ReplyContext) -> Value {
    let mut tool_ids = ctx.tool_ids.iter();
    let content: Vec<Value> = reply
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| match step {
            Step::Text(text) => json!({"type": "text", "text": text}),
            Step::Thinking(thinking) => json!({
                "type": "thinking",
                "thinking": thinking,
                "signature": signature(ctx, index),
            }),
            Step::ToolCall { name, input, .. } => json!({
                "type": "tool_use",
                "id": tool_ids.next().cloned().unwrap_or_default(),
                "name": name,
                "input": input,
            }),
        })
        .collect();
    json!({
        "id": ctx.id,
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": reply.anthropic_stop_reason(),
        "stop_sequence": null,
        "usage": usage(ctx, ctx.usage.output_tokens),
    })
}

/// The first `n` frames of a text answer that never ends, and the frame after them
/// (which a cut sends half of).
pub(crate) fn filler_frames(ctx: &ReplyContext, n: usize) -> (Vec<String>, String) {
    let mut frames = vec![
        message_start(ctx),
        block_start(0, json!({"type": "text", "text": ""})),
        ping(),
    ];
    while frames.len() <= n {
        frames.push(block_delta(
            0,
            json!({"type": "text_delta", "text": "This answer is interrupted. "}),
        ));
    }
    let next = frames.remove(n);
    frames.truncate(n);
    (frames, next)
}

/// A text answer that begins, then fails with an `error` event.
pub(crate) fn stream_error_frames(ctx: &ReplyContext, message: &str) -> Vec<String> {
    let (mut frames, _) = filler_frames(ctx, 4);
    frames.push(event(
        "error",
        &json!({"type": "error", "error": {"type": "api_error", "message": message}}),
    ));
    frames
}

/// An SSE stream whose data is not JSON.
pub(crate) fn malformed_frames() -> Vec<String> {
    vec!["event: message_start\ndata: {\"type\": \"message_start\", \"message\": {oops this is not json\n\n".into()]
}

/// `GET /v1/models` in Anthropic's shape.
pub(crate) fn models_body(ids: &[&str]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "type": "model",
                "id": id,
                "display_name": format!("Mock {id}"),
                "created_at": "2025-01-01T00:00:00Z",
            })
        })
        .collect();
    json!({
        "data": data,
        "has_more": false,
        "first_id": ids.first(),
        "last_id": ids.last(),
    })
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The request's conversation as domain messages. A user message's `tool_result` blocks
/// become a [`Role::Tool`] message, followed by a user message with its other blocks.
pub(crate) fn to_domain(body: &Value) -> Vec<Message> {
    let mut out = Vec::new();
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return out;
    };
    for m in messages {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("assistant") => Role::Assistant,
            _ => Role::User,
        };
        let blocks: Vec<Value> = match m.get("content") {
            Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
            Some(Value::Array(blocks)) => blocks.clone(),
            _ => Vec::new(),
        };
        let mut results = Vec::new();
        let mut content = Vec::new();
        for b in &blocks {
            let str_field = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            match b.get("type").and_then(Value::as_str) {
                Some("text") => content.push(ContentBlock::Text {
                    text: str_field("text"),
                }),
                Some("thinking") => content.push(ContentBlock::Thinking {
                    thinking: str_field("thinking"),
                    signature: b
                        .get("signature")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    encrypted: None,
                }),
                Some("redacted_thinking") => content.push(ContentBlock::Thinking {
                    thinking: String::new(),
                    signature: None,
                    encrypted: Some(EncryptedReasoning::new(
                        EncryptedReasoning::ANTHROPIC_REDACTED,
                        str_field("data"),
                    )),
                }),
                Some("image") => {
                    let source = b.get("source");
                    let field = |k: &str| {
                        source
                            .and_then(|s| s.get(k))
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    };
                    if let (Some(media_type), Some(data_base64)) =
                        (field("media_type"), field("data"))
                    {
                        content.push(ContentBlock::Image {
                            media_type,
                            data_base64,
                        });
                    }
                }
                Some("tool_use") => content.push(ContentBlock::ToolUse(ToolCall {
                    id: str_field("id"),
                    name: str_field("name"),
                    input: b.get("input").cloned().unwrap_or(Value::Null),
                })),
                Some("tool_result") => results.push(ContentBlock::ToolResult(ToolResult {
                    call_id: str_field("tool_use_id"),
                    content: b.get("content").map(text_of).unwrap_or_default(),
                    is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                })),
                // Documents and server tools: not part of the domain's view.
                _ => {}
            }
        }
        let only_results = content.is_empty() && !results.is_empty();
        if !results.is_empty() {
            out.push(Message {
                role: Role::Tool,
                content: results,
            });
        }
        if !only_results {
            out.push(Message { role, content });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::record::WireFormat;
    use pretty_assertions::assert_eq;

    fn ctx(reply: &Reply) -> ReplyContext {
        let mut n = 0;
        ReplyContext::new(reply, WireFormat::Anthropic, 7, "claude-x", 42, &mut || {
            n += 1;
            n
        })
    }

    fn names(frames: &[String]) -> Vec<String> {
        frames
            .iter()
            .map(|f| {
                f.lines()
                    .next()
                    .unwrap()
                    .trim_start_matches("event: ")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn text_stream_follows_documented_order() {
        let reply = Reply::new(vec![Step::text("Hello there, general Kenobi")]);
        let frames = stream_frames(&reply, &ctx(&reply));
        let names = names(&frames);
        assert_eq!(names[..3], ["message_start", "content_block_start", "ping"]);
        assert_eq!(
            names[names.len() - 3..],
            ["content_block_stop", "message_delta", "message_stop"]
        );
        let deltas = names.iter().filter(|n| *n == "content_block_delta").count();
        assert!(deltas >= 3);
        for f in &frames {
            let data = f.lines().nth(1).unwrap().strip_prefix("data: ").unwrap();
            let v: Value = serde_json::from_str(data).unwrap();
            assert!(f.starts_with(&format!("event: {}\n", v["type"].as_str().unwrap())));
        }
    }

    #[test]
    fn empty_reply_still_pings_and_stops() {
        let reply = Reply::new(vec![]);
        let names = names(&stream_frames(&reply, &ctx(&reply)));
        assert_eq!(
            names,
            ["message_start", "ping", "message_delta", "message_stop"]
        );
    }

    #[test]
    fn json_body_carries_thinking_signature_and_tool_ids() {
        let reply = Reply::new(vec![
            Step::thinking("hmm"),
            Step::tool_call("read", json!({"path": "a"})),
        ]);
        let body = json_body(&reply, &ctx(&reply));
        assert_eq!(
            body["content"][0]["signature"],
            "mock_signature_msg_mock_007_0"
        );
        assert_eq!(body["content"][1]["id"], "toolu_mock_001");
        assert_eq!(body["stop_reason"], "tool_use");
        assert_eq!(body["usage"]["input_tokens"], 42);
    }

    #[test]
    fn filler_frames_stop_before_the_end() {
        let reply = Reply::new(vec![]);
        let (frames, next) = filler_frames(&ctx(&reply), 5);
        assert_eq!(frames.len(), 5);
        assert!(next.contains("text_delta"));
        let (none, first) = filler_frames(&ctx(&reply), 0);
        assert!(none.is_empty());
        assert!(first.contains("message_start"));
    }

    #[test]
    fn tool_results_split_from_user_text() {
        let body = json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "ls", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "a.rs"}]},
                {"type": "text", "text": "also this"}
            ]},
        ]});
        let msgs = to_domain(&body);
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[2].role, Role::Tool);
        assert_eq!(msgs[2].tool_results_iter().next().unwrap().content, "a.rs");
        assert_eq!(msgs[3], Message::user("also this"));
        assert!(
            validate(&json!({"model": "m", "max_tokens": 5, "messages": body["messages"]})).is_ok()
        );
    }

    #[test]
    fn validation_rejects_orphan_results_and_system_role() {
        let orphan = json!({"model": "m", "max_tokens": 5, "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "zz", "content": "x"}]}
        ]});
        assert!(validate(&orphan).unwrap_err().message.contains("zz"));
        let system = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]});
        assert_eq!(validate(&system).unwrap_err().status, 400);
        assert!(validate(&json!({"model": "m", "messages": []})).is_err());
    }
}
