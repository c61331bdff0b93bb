//! OpenAI Chat Completions API (`POST /v1/chat/completions`): request checks, response
//! bodies, SSE chunks, error bodies, and the conversion of a request's conversation to
//! domain types. Reasoning travels as DeepSeek-style `reasoning_content`.

use axum::http::HeaderMap;
use cuervo_domain::{ContentBlock, Message, Role, ToolCall, ToolResult};
use serde_json::{Value, json};

use crate::script::{Reply, Step};
use crate::server::ApiError;
use crate::sse::{DONE, ReplyContext, data, split};

/// 401 without `Authorization: Bearer <key>`.
pub(crate) fn check_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match auth.strip_prefix("Bearer ") {
        Some(key) if !key.trim().is_empty() => Ok(()),
        _ => Err(ApiError::new(
            401,
            "You didn't provide an API key. You need to provide your API key in an \
             Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )),
    }
}

/// Required fields, known roles, and tool pairing (each `tool` message answers a
/// `tool_calls` entry of the assistant message before).
pub(crate) fn validate(body: &Value) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::new(400, m));
    if !body.is_object() {
        return bad("request body must be a JSON object".into());
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return bad("you must provide a model parameter".into());
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return bad("Missing required parameter: 'messages'.".into());
    };
    if messages.is_empty() {
        return bad("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.".into());
    }
    for (i, m) in messages.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("system" | "developer" | "user" | "assistant") => {}
            Some("tool") => {
                if !m.get("tool_call_id").is_some_and(Value::is_string) {
                    return bad(format!(
                        "Missing parameter 'tool_call_id': messages[{i}] has role 'tool'"
                    ));
                }
            }
            other => {
                return bad(format!(
                    "Invalid value for 'messages[{i}].role': {other:?}. Supported values are: \
                     'system', 'developer', 'user', 'assistant' and 'tool'."
                ));
            }
        }
    }
    cuervo_domain::check_tool_pairing(&to_domain(body)).or_else(|e| {
        bad(format!(
            "An assistant message with 'tool_calls' must be followed by tool messages \
             responding to each 'tool_call_id': {e}"
        ))
    })
}

/// OpenAI's `(type, code)` for an HTTP status.
pub(crate) fn error_kind(status: u16) -> (&'static str, Option<&'static str>) {
    match status {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        404 => ("invalid_request_error", Some("model_not_found")),
        429 => ("requests", Some("rate_limit_exceeded")),
        500..=599 => ("server_error", None),
        _ => ("invalid_request_error", None),
    }
}

pub(crate) fn default_message(status: u16) -> &'static str {
    match status {
        401 => "Incorrect API key provided.",
        403 => "You are not allowed to access this resource.",
        404 => "The model does not exist or you do not have access to it.",
        429 => "Rate limit reached for requests (mock). Please try again later.",
        503 => "The server is overloaded or not ready yet.",
        500..=599 => "The server had an error while processing your request. Sorry about that!",
        _ => "Invalid request",
    }
}

/// `{"error":{"message","type","param":null,"code"}}`
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let (kind, code) = error_kind(status);
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn chunk(ctx: &ReplyContext, delta: Value, finish: Option<&str>, include_usage: bool) -> String {
    let mut v = json!({
        "id": ctx.id,
        "object": "chat.completion.chunk",
        "created": ctx.created,
        "model": ctx.model,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    });
    if include_usage {
        v["usage"] = Value::Null;
    }
    data(&v)
}

fn usage(ctx: &ReplyContext) -> Value {
    json!({
        "prompt_tokens": ctx.usage.input_tokens,
        "completion_tokens": ctx.usage.output_tokens,
        "total_tokens": ctx.usage.input_tokens + ctx.usage.output_tokens,
    })
}

/// Every SSE frame of a streamed reply: a role chunk, content / reasoning / tool call
/// chunks (arguments in several fragments), a chunk with `finish_reason`, the usage chunk
/// (`choices: []`) when `include_usage`, then `data: [DONE]`.
pub(crate) fn stream_frames(reply: &Reply, ctx: &ReplyContext, include_usage: bool) -> Vec<String> {
    let u = include_usage;
    let mut frames = vec![chunk(
        ctx,
        json!({"role": "assistant", "content": ""}),
        None,
        u,
    )];
    let mut tool_index = 0;
    for step in &reply.steps {
        match step {
            Step::Text(text) => {
                for piece in split(text, 3) {
                    frames.push(chunk(ctx, json!({"content": piece}), None, u));
                }
            }
            Step::Thinking(thinking) => {
                for piece in split(thinking, 3) {
                    frames.push(chunk(ctx, json!({"reasoning_content": piece}), None, u));
                }
            }
            Step::ToolCall { name, input, .. } => {
                let id = ctx.tool_ids.get(tool_index).cloned().unwrap_or_default();
                frames.push(chunk(
                    ctx,
                    json!({"tool_calls": [{
                        "index": tool_index,
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }]}),
                    None,
                    u,
                ));
                for piece in split(&crate::script::arguments_text(input), 3) {
                    frames.push(chunk(
                        ctx,
                        json!({"tool_calls": [{"index": tool_index, "function": {"arguments": piece}}]}),
                        None,
                        u,
                    ));
                }
                tool_index += 1;
            }
        }
    }
    frames.push(chunk(
        ctx,
        json!({}),
        Some(&reply.openai_finish_reason()),
        u,
    ));
    if include_usage {
        frames.push(data(&json!({
            "id": ctx.id,
            "object": "chat.completion.chunk",
            "created": ctx.created,
            "model": ctx.model,
            "choices": [],
            "usage": usage(ctx),
        })));
    }
    frames.push(DONE.to_string());
    frames
}

/// The non-streaming response body.
pub(crate) fn json_body(reply: &Reply, ctx: &ReplyContext) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for step in &reply.steps {
        match step {
            Step::Text(t) => text.push_str(t),
            Step::Thinking(t) => reasoning.push_str(t),
            Step::ToolCall { name, input, .. } => tool_calls.push(json!({
                "id": ctx.tool_ids.get(tool_calls.len()).cloned().unwrap_or_default(),
                "type": "function",
                "function": {"name": name, "arguments": crate::script::arguments_text(input)},
            })),
        }
    }
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { Value::String(text) },
    });
    if !reasoning.is_empty() {
        message["reasoning_content"] = Value::String(reasoning);
    }
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    json!({
        "id": ctx.id,
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": reply.openai_finish_reason(),
        }],
        "usage": usage(ctx),
    })
}

/// The first `n` frames of a text answer that never ends, and the frame after them.
pub(crate) fn filler_frames(ctx: &ReplyContext, n: usize) -> (Vec<String>, String) {
    let mut frames = vec![chunk(
        ctx,
        json!({"role": "assistant", "content": ""}),
        None,
        false,
    )];
    while frames.len() <= n {
        frames.push(chunk(
            ctx,
            json!({"content": "This answer is interrupted. "}),
            None,
            false,
        ));
    }
    let next = frames.remove(n);
    frames.truncate(n);
    (frames, next)
}

/// A text answer that begins, then fails with a chunk carrying `error`.
pub(crate) fn stream_error_frames(ctx: &ReplyContext, message: &str) -> Vec<String> {
    let (mut frames, _) = filler_frames(ctx, 3);
    frames.push(data(&json!({"error": {
        "message": message, "type": "server_error", "param": null, "code": null,
    }})));
    frames
}

/// An SSE stream whose data is not JSON.
pub(crate) fn malformed_frames() -> Vec<String> {
    vec!["data: {\"id\": \"chatcmpl-mock\", \"choices\": [{oops this is not json\n\n".into()]
}

/// `GET /v1/models` in OpenAI's shape.
pub(crate) fn models_body(ids: &[&str]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_735_689_600, "owned_by": "cuervo-mock"}))
        .collect();
    json!({"object": "list", "data": data})
}

fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The request's conversation as domain messages. System and developer messages are
/// left out; consecutive `tool` messages become one [`Role::Tool`] message; tool call
/// arguments are parsed (kept as a JSON string when they do not parse).
/// Adds a tool result to the conversation read back, joining consecutive `tool`
/// messages into one (the domain keeps one results message per turn).
pub(crate) fn push_tool_result(out: &mut Vec<Message>, result: ContentBlock) {
    match out.last_mut() {
        Some(last) if last.role == Role::Tool => last.content.push(result),
        _ => out.push(Message {
            role: Role::Tool,
            content: vec![result],
        }),
    }
}

pub(crate) fn to_domain(body: &Value) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return out;
    };
    for m in messages {
        match m.get("role").and_then(Value::as_str) {
            Some("user") => {
                let mut content = Vec::new();
                let text = text_of(m.get("content"));
                if !text.is_empty() {
                    content.push(ContentBlock::Text { text });
                }
                for part in m
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some((media_type, data_base64)) = part
                        .pointer("/image_url/url")
                        .and_then(Value::as_str)
                        .and_then(crate::media::parse_data_url)
                    {
                        content.push(ContentBlock::Image {
                            media_type,
                            data_base64,
                        });
                    }
                }
                out.push(Message {
                    role: Role::User,
                    content,
                });
            }
            Some("assistant") => {
                let mut content = Vec::new();
                if let Some(r) = m.get("reasoning_content").and_then(Value::as_str) {
                    content.push(ContentBlock::Thinking {
                        thinking: r.to_string(),
                        signature: None,
                        encrypted: None,
                    });
                }
                let text = text_of(m.get("content"));
                if !text.is_empty() {
                    content.push(ContentBlock::Text { text });
                }
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let function = call.get("function");
                    let field = |k: &str| {
                        function
                            .and_then(|f| f.get(k))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    let arguments = field("arguments");
                    content.push(ContentBlock::ToolUse(ToolCall {
                        id: call
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        name: field("name"),
                        input: serde_json::from_str(&arguments).unwrap_or(Value::String(arguments)),
                    }));
                }
                out.push(Message {
                    role: Role::Assistant,
                    content,
                });
            }
            Some("tool") => {
                let result = ContentBlock::ToolResult(ToolResult {
                    call_id: m
                        .get("tool_call_id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    content: text_of(m.get("content")),
                    is_error: false,
                });
                push_tool_result(&mut out, result);
            }
            _ => {}
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
        ReplyContext::new(reply, WireFormat::OpenAiChat, 1, "gpt-x", 30, &mut || {
            n += 1;
            n
        })
    }

    fn parse(frames: &[String]) -> Vec<Value> {
        frames
            .iter()
            .filter(|f| f.as_str() != DONE)
            .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap().trim()).unwrap())
            .collect()
    }

    #[test]
    fn tool_call_arguments_arrive_in_fragments() {
        let input = json!({"path": "src/main.rs", "old_string": "a", "new_string": "b"});
        let reply = Reply::new(vec![Step::tool_call("edit", input.clone())]);
        let frames = stream_frames(&reply, &ctx(&reply), true);
        assert_eq!(frames.last().unwrap(), DONE);
        let chunks = parse(&frames);
        let args: Vec<&str> = chunks
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .filter(|a| !a.is_empty())
            .collect();
        assert!(args.len() >= 3, "{args:?}");
        assert_eq!(
            serde_json::from_str::<Value>(&args.concat()).unwrap(),
            input
        );
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"], json!([]));
        assert_eq!(
            last["usage"]["total_tokens"],
            json!(30 + reply.estimated_output_tokens())
        );
        assert_eq!(
            chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
            "tool_calls"
        );
        assert!(chunks[0]["usage"].is_null() && chunks[0].get("usage").is_some());
    }

    #[test]
    fn without_include_usage_there_is_no_usage_chunk() {
        let reply = Reply::new(vec![Step::text("hello")]);
        let chunks = parse(&stream_frames(&reply, &ctx(&reply), false));
        assert!(chunks.iter().all(|c| c.get("usage").is_none()));
        assert_eq!(
            chunks.last().unwrap()["choices"][0]["finish_reason"],
            "stop"
        );
    }

    #[test]
    fn json_body_has_null_content_for_tool_only_replies() {
        let reply = Reply::new(vec![Step::thinking("r"), Step::tool_call("ls", json!({}))]);
        let body = json_body(&reply, &ctx(&reply));
        let message = &body["choices"][0]["message"];
        assert!(message["content"].is_null());
        assert_eq!(message["reasoning_content"], "r");
        assert_eq!(message["tool_calls"][0]["function"]["arguments"], "{}");
        assert_eq!(message["tool_calls"][0]["id"], "call_mock_001");
    }

    #[test]
    fn consecutive_tool_messages_merge() {
        let body = json!({"model": "m", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "go"}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"a\"}"}},
                {"id": "c2", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "c2", "content": "x"},
            {"role": "tool", "tool_call_id": "c1", "content": "y"},
        ]});
        let msgs = to_domain(&body);
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0], Message::user("go"));
        assert_eq!(
            msgs[1].tool_calls().next().unwrap().input,
            json!({"path": "a"})
        );
        assert_eq!(msgs[2].tool_results_iter().count(), 2);
        assert!(validate(&body).is_ok());
        let mut broken = body.clone();
        broken["messages"].as_array_mut().unwrap().pop();
        broken["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "user", "content": "x"}));
        assert!(validate(&broken).unwrap_err().message.contains("c1"));
    }
}
