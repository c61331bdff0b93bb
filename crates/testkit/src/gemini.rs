//! Gemini API (`POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
//! `:embedContent`, `:batchEmbedContents`): request checks, responses (SSE chunks with
//! `alt=sse`, a JSON array without), Google error bodies, and the conversion of a
//! request's contents to domain types.
//!
//! Like the real API, the mock sends no function call ids (unless a script gives one)
//! and puts a thought signature on the first function call of a reply that thought.

use axum::http::{HeaderMap, Uri};
use cuervo_domain::{ContentBlock, EncryptedReasoning, Message, Role, ToolCall, ToolResult};
use serde_json::{Value, json};

use crate::script::{Reply, Step};
use crate::server::ApiError;
use crate::sse::{ReplyContext, crlf_data, split};

/// `models/{model}:{method}` from a request path, e.g. `("gemini-2.5-flash",
/// "streamGenerateContent")`.
pub(crate) fn path_model(path: &str) -> Option<(&str, &str)> {
    let rest = path.rsplit_once("/models/")?.1;
    rest.rsplit_once(':')
}

/// 403 without a key (`x-goog-api-key` header or `key` query parameter), as Google
/// answers an anonymous call.
pub(crate) fn check_headers(headers: &HeaderMap, uri: &Uri) -> Result<(), ApiError> {
    let header = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| !k.trim().is_empty());
    let query = uri
        .query()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair.strip_prefix("key=").is_some_and(|k| !k.is_empty()));
    if header || query {
        Ok(())
    } else {
        Err(ApiError::new(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). \
             Please use API Key or other form of API consumer identity to call this API.",
        ))
    }
}

fn field<'a>(value: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    value.get(camel).or_else(|| value.get(snake))
}

/// The checks the real API makes that catch client bugs: contents present, roles `user`
/// or `model`, no empty turn, and as many function responses as the calls they answer.
pub(crate) fn validate(body: &Value) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::new(400, m));
    let Some(contents) = body.get("contents").and_then(Value::as_array) else {
        return bad("* GenerateContentRequest.contents: contents is not specified".into());
    };
    if contents.is_empty() {
        return bad("* GenerateContentRequest.contents: contents is not specified".into());
    }
    let mut calls_before = 0;
    for (i, content) in contents.iter().enumerate() {
        let role = content
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user");
        if !matches!(role, "user" | "model") {
            return bad(format!(
                "Please use a valid role: user, model. (contents[{i}].role: {role:?})"
            ));
        }
        let parts = content
            .get("parts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if parts.is_empty() {
            return bad(format!(
                "* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            ));
        }
        let calls = parts
            .iter()
            .filter(|p| field(p, "functionCall", "function_call").is_some())
            .count();
        let responses = parts
            .iter()
            .filter(|p| field(p, "functionResponse", "function_response").is_some())
            .count();
        if responses > 0 && responses != calls_before {
            return bad(
                "Please ensure that the number of function response parts is equal to the \
                 number of function call parts of the function call turn."
                    .into(),
            );
        }
        calls_before = calls;
    }
    cuervo_domain::check_tool_pairing(&to_domain(body))
        .or_else(|e| bad(format!("function responses do not answer the calls: {e}")))
}

/// Google's canonical status name for an HTTP status.
pub(crate) fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "NOT_IMPLEMENTED",
        503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ if status < 500 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

pub(crate) fn default_message(status: u16) -> &'static str {
    match status {
        400 => "Request contains an invalid argument.",
        401 => "Request had invalid authentication credentials.",
        403 => "The caller does not have permission",
        404 => "Requested entity was not found.",
        429 => "Resource has been exhausted (e.g. check quota).",
        503 | 529 => "The model is overloaded. Please try again later.",
        504 => "Deadline expired before operation could complete.",
        _ => {
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        }
    }
}

/// `{"error": {"code", "message", "status"}}`; a 429 with a wait carries it the way
/// Google does, as `RetryInfo` in `details` (Google sends no `Retry-After` header).
pub(crate) fn error_body(status: u16, message: &str, retry_after: Option<&str>) -> Value {
    let mut error = json!({"code": status, "message": message, "status": status_name(status)});
    if let Some(seconds) = retry_after {
        error["details"] = json!([{
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": format!("{seconds}s"),
        }]);
    }
    json!({ "error": error })
}

fn usage(ctx: &ReplyContext) -> Value {
    json!({
        "promptTokenCount": ctx.usage.input_tokens,
        "candidatesTokenCount": ctx.usage.output_tokens,
        "totalTokenCount": ctx.usage.input_tokens + ctx.usage.output_tokens,
    })
}

fn chunk(ctx: &ReplyContext, parts: Vec<Value>, finish: Option<&str>, with_usage: bool) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(reason) = finish {
        candidate["finishReason"] = json!(reason);
    }
    let mut v = json!({
        "candidates": [candidate],
        "modelVersion": ctx.model,
        "responseId": ctx.id,
    });
    if with_usage {
        v["usageMetadata"] = usage(ctx);
    }
    v
}

/// The parts of a reply, one list per SSE chunk (`whole`: one list with everything).
fn part_groups(reply: &Reply, ctx: &ReplyContext, whole: bool) -> Vec<Vec<Value>> {
    let thought = reply.steps.iter().any(|s| matches!(s, Step::Thinking(_)));
    let mut groups: Vec<Vec<Value>> = Vec::new();
    let mut calls = 0;
    for (i, step) in reply.steps.iter().enumerate() {
        match step {
            Step::Text(text) => {
                let pieces = if whole {
                    vec![text.clone()]
                } else {
                    split(text, 3)
                };
                groups.extend(pieces.into_iter().map(|p| vec![json!({"text": p})]));
            }
            Step::Thinking(thinking) if ctx.show_thinking => {
                let pieces = if whole {
                    vec![thinking.clone()]
                } else {
                    split(thinking, 3)
                };
                groups.extend(
                    pieces
                        .into_iter()
                        .map(|p| vec![json!({"text": p, "thought": true})]),
                );
            }
            Step::Thinking(_) => {}
            Step::ToolCall { name, input, .. } => {
                let mut call = json!({"name": name, "args": input});
                if let Some(id) = ctx.sent_tool_id(calls, false) {
                    call["id"] = json!(id);
                }
                let mut part = json!({ "functionCall": call });
                if thought && calls == 0 {
                    part["thoughtSignature"] =
                        json!(format!("mock_thought_signature_{}_{i}", ctx.id));
                }
                calls += 1;
                groups.push(vec![part]);
            }
        }
    }
    if whole { vec![groups.concat()] } else { groups }
}

/// The chunks of a streamed reply: one per text piece, thought piece or function call,
/// then a last chunk with `finishReason` and the usage.
fn chunks(reply: &Reply, ctx: &ReplyContext) -> Vec<Value> {
    let mut out: Vec<Value> = part_groups(reply, ctx, false)
        .into_iter()
        .map(|parts| chunk(ctx, parts, None, false))
        .collect();
    out.push(chunk(
        ctx,
        vec![json!({"text": ""})],
        Some(&reply.gemini_finish_reason()),
        true,
    ));
    out
}

/// Every SSE frame of a streamed reply (`streamGenerateContent?alt=sse`).
pub(crate) fn stream_frames(reply: &Reply, ctx: &ReplyContext) -> Vec<String> {
    chunks(reply, ctx).iter().map(crlf_data).collect()
}

/// `streamGenerateContent` without `alt=sse`: the chunks as one JSON array.
pub(crate) fn stream_array(reply: &Reply, ctx: &ReplyContext) -> Value {
    Value::Array(chunks(reply, ctx))
}

/// The `generateContent` body.
pub(crate) fn json_body(reply: &Reply, ctx: &ReplyContext) -> Value {
    let parts = part_groups(reply, ctx, true).concat();
    let parts = if parts.is_empty() {
        vec![json!({"text": ""})]
    } else {
        parts
    };
    chunk(ctx, parts, Some(&reply.gemini_finish_reason()), true)
}

/// The first `n` frames of a text answer that never ends, and the frame after them.
pub(crate) fn filler_frames(ctx: &ReplyContext, n: usize) -> (Vec<String>, String) {
    let mut frames = Vec::new();
    while frames.len() <= n {
        frames.push(crlf_data(&chunk(
            ctx,
            vec![json!({"text": "This answer is interrupted. "})],
            None,
            false,
        )));
    }
    let next = frames.remove(n);
    frames.truncate(n);
    (frames, next)
}

/// A text answer that begins, then fails with a chunk carrying `error`.
pub(crate) fn stream_error_frames(ctx: &ReplyContext, message: &str) -> Vec<String> {
    let (mut frames, _) = filler_frames(ctx, 2);
    frames.push(crlf_data(&error_body(500, message, None)));
    frames
}

/// An SSE stream whose data is not JSON.
pub(crate) fn malformed_frames() -> Vec<String> {
    vec!["data: {\"candidates\": [{\"content\": {oops this is not json\r\n\r\n".into()]
}

/// `GET /v1beta/models` in Google's shape.
pub(crate) fn models_body(ids: &[&str]) -> Value {
    let models: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "name": format!("models/{id}"),
                "displayName": format!("Mock {id}"),
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            })
        })
        .collect();
    json!({ "models": models })
}

/// The texts an embedding request asks for: `content.parts[].text` of one request, or of
/// each entry of a batch.
pub(crate) fn embed_texts(body: &Value) -> Vec<String> {
    let text = |content: Option<&Value>| -> String {
        content
            .and_then(|c| c.get("parts"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match body.get("requests").and_then(Value::as_array) {
        Some(requests) => requests.iter().map(|r| text(r.get("content"))).collect(),
        None => vec![text(body.get("content"))],
    }
}

/// The request's `systemInstruction` texts.
pub(crate) fn system(body: &Value) -> Vec<String> {
    field(body, "systemInstruction", "system_instruction")
        .and_then(|s| s.get("parts"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// The request's contents as domain messages (see [`crate::RecordedRequest::messages`]).
pub(crate) fn to_domain(body: &Value) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let Some(contents) = body.get("contents").and_then(Value::as_array) else {
        return out;
    };
    // The calls of the last model turn, by position, and whether each is answered.
    let mut open_calls: Vec<(String, String, bool)> = Vec::new();
    for (ci, content) in contents.iter().enumerate() {
        let model = content.get("role").and_then(Value::as_str) == Some("model");
        let parts = content
            .get("parts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut blocks = Vec::new();
        let mut results = Vec::new();
        if model {
            open_calls.clear();
        }
        for (pi, part) in parts.iter().enumerate() {
            if model
                && let Some(signature) =
                    field(part, "thoughtSignature", "thought_signature").and_then(Value::as_str)
            {
                blocks.push(ContentBlock::Thinking {
                    thinking: String::new(),
                    signature: None,
                    encrypted: Some(EncryptedReasoning::new(
                        EncryptedReasoning::GEMINI,
                        signature,
                    )),
                });
            }
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                if part.get("thought").and_then(Value::as_bool) == Some(true) {
                    blocks.push(ContentBlock::Thinking {
                        thinking: text.to_string(),
                        signature: None,
                        encrypted: None,
                    });
                } else {
                    blocks.push(ContentBlock::Text {
                        text: text.to_string(),
                    });
                }
            } else if let Some(blob) = field(part, "inlineData", "inline_data") {
                let get = |camel: &str, snake: &str| {
                    field(blob, camel, snake)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                blocks.push(ContentBlock::Image {
                    media_type: get("mimeType", "mime_type"),
                    data_base64: get("data", "data"),
                });
            } else if let Some(call) = field(part, "functionCall", "function_call") {
                let name = call.get("name").and_then(Value::as_str).unwrap_or("");
                let id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("gemini_call_{ci}_{pi}"), str::to_string);
                open_calls.push((id.clone(), name.to_string(), false));
                blocks.push(ContentBlock::ToolUse(ToolCall {
                    id,
                    name: name.to_string(),
                    input: call.get("args").cloned().unwrap_or_else(|| json!({})),
                }));
            } else if let Some(response) = field(part, "functionResponse", "function_response") {
                let name = response.get("name").and_then(Value::as_str).unwrap_or("");
                let id = match response.get("id").and_then(Value::as_str) {
                    Some(id) => {
                        if let Some(call) = open_calls.iter_mut().find(|c| c.0 == id) {
                            call.2 = true;
                        }
                        id.to_string()
                    }
                    None => match open_calls.iter_mut().find(|c| !c.2 && c.1 == name) {
                        Some(call) => {
                            call.2 = true;
                            call.0.clone()
                        }
                        None => String::new(),
                    },
                };
                let payload = response.get("response").cloned().unwrap_or(Value::Null);
                let (content, is_error) = match (payload.get("output"), payload.get("error")) {
                    (_, Some(error)) => (as_text(error), true),
                    (Some(output), None) => (as_text(output), false),
                    (None, None) => (payload.to_string(), false),
                };
                results.push(ContentBlock::ToolResult(ToolResult {
                    call_id: id,
                    content,
                    is_error,
                }));
            }
        }
        if !results.is_empty() {
            out.push(Message {
                role: Role::Tool,
                content: results,
            });
        }
        if !blocks.is_empty() {
            out.push(Message {
                role: if model { Role::Assistant } else { Role::User },
                content: blocks,
            });
        }
    }
    out
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::record::WireFormat;
    use pretty_assertions::assert_eq;

    fn ctx(reply: &Reply) -> ReplyContext {
        let mut n = 0;
        ReplyContext::new(reply, WireFormat::Gemini, 2, "gemini-mock", 12, &mut || {
            n += 1;
            n
        })
    }

    #[test]
    fn paths_and_keys() {
        assert_eq!(
            path_model("/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
            Some(("gemini-2.5-flash", "streamGenerateContent"))
        );
        let uri: Uri = "/v1beta/models/m:generateContent?key=abc".parse().unwrap();
        assert!(check_headers(&HeaderMap::new(), &uri).is_ok());
        let bare: Uri = "/v1beta/models/m:generateContent".parse().unwrap();
        assert_eq!(
            check_headers(&HeaderMap::new(), &bare).unwrap_err().status,
            403
        );
    }

    #[test]
    fn stream_ends_with_finish_reason_and_usage_and_signs_the_first_call() {
        let reply = Reply::new(vec![
            Step::thinking("Think."),
            Step::tool_call("read", json!({"path": "a"})),
            Step::tool_call_with_id("mine", "ls", json!({})),
        ]);
        let frames = stream_frames(&reply, &ctx(&reply));
        assert!(frames.iter().all(|f| f.ends_with("\r\n\r\n")));
        let chunks: Vec<Value> = frames
            .iter()
            .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap().trim()).unwrap())
            .collect();
        let last = chunks.last().unwrap();
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["promptTokenCount"], 12);
        let calls: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0].get("functionCall"))
            .collect();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].get("id"), None, "the real API sends no ids");
        assert_eq!(calls[1]["id"], "mine", "a scripted id is sent");
        let signed = chunks
            .iter()
            .filter(|c| {
                c["candidates"][0]["content"]["parts"][0]
                    .get("thoughtSignature")
                    .is_some()
            })
            .count();
        assert_eq!(signed, 1);
    }

    #[test]
    fn contents_convert_pairing_responses_by_id_or_name() {
        let body = json!({"contents": [
            {"role": "user", "parts": [{"text": "go"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "read", "args": {"path": "a"}}, "thoughtSignature": "sig"},
                {"functionCall": {"id": "x2", "name": "ls", "args": {}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "read", "response": {"output": "fn a()"}}},
                {"functionResponse": {"id": "x2", "name": "ls", "response": {"error": "denied"}}},
                {"text": "and?"}
            ]}
        ]});
        let msgs = to_domain(&body);
        assert_eq!(msgs.len(), 4);
        let calls: Vec<&ToolCall> = msgs[1].tool_calls().collect();
        assert_eq!(calls[0].id, "gemini_call_1_0");
        let results: Vec<&ToolResult> = msgs[2].tool_results_iter().collect();
        assert_eq!(results[0].call_id, "gemini_call_1_0");
        assert!(results[1].is_error);
        assert_eq!(msgs[3], Message::user("and?"));
        assert!(validate(&body).is_ok());
        let mut short = body.clone();
        short["contents"][2]["parts"]
            .as_array_mut()
            .unwrap()
            .remove(1);
        assert_eq!(validate(&short).unwrap_err().status, 400);
    }
}
