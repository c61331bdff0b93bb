//! OpenAI Responses API (`POST /v1/responses`): request checks, response objects, SSE
//! events, and the conversion of a request's input items to domain types. Errors use the
//! OpenAI error body (see [`crate::openai`]).

use cuervo_domain::{ContentBlock, EncryptedReasoning, Message, Role, ToolCall, ToolResult};
use serde_json::{Value, json};

use crate::script::{Reply, Step};
use crate::server::ApiError;
use crate::sse::{ReplyContext, event, split};

/// The checks the real API makes that catch client bugs: `model`, `input`, known item
/// types and roles, and that every `function_call_output` answers a `function_call`
/// before it (and every call is answered before the conversation goes on).
pub(crate) fn validate(body: &Value) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::new(400, m));
    if !body.is_object() {
        return bad("request body must be a JSON object".into());
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return bad("Missing required parameter: 'model'.".into());
    }
    let items = match body.get("input") {
        Some(Value::String(_)) => return Ok(()),
        Some(Value::Array(items)) => items,
        _ => return bad("Missing required parameter: 'input'.".into()),
    };
    for (i, item) in items.iter().enumerate() {
        match item_type(item) {
            Some("message") => match item.get("role").and_then(Value::as_str) {
                Some("user" | "assistant" | "system" | "developer") => {}
                other => {
                    return bad(format!(
                        "Invalid value: {other:?}. Supported values are: 'assistant', 'system', \
                         'developer', and 'user'. (input[{i}].role)"
                    ));
                }
            },
            Some("function_call") => {
                for field in ["call_id", "name", "arguments"] {
                    if !item.get(field).is_some_and(Value::is_string) {
                        return bad(format!("Missing required parameter: 'input[{i}].{field}'."));
                    }
                }
            }
            Some("function_call_output") => {
                if !item.get("call_id").is_some_and(Value::is_string) {
                    return bad(format!("Missing required parameter: 'input[{i}].call_id'."));
                }
            }
            Some("reasoning") => {}
            other => {
                return bad(format!("Invalid value: {other:?} (input[{i}].type)."));
            }
        }
    }
    cuervo_domain::check_tool_pairing(&to_domain(body))
        .or_else(|e| bad(format!("No tool output found for function call: {e}")))
}

/// An item's `type`; an item with a `role` and no `type` is a message.
fn item_type(item: &Value) -> Option<&str> {
    item.get("type")
        .and_then(Value::as_str)
        .or_else(|| item.get("role").map(|_| "message"))
}

/// The request's `instructions` and system/developer message texts.
pub(crate) fn system(body: &Value) -> Vec<String> {
    let mut texts: Vec<String> = body
        .get("instructions")
        .and_then(Value::as_str)
        .map(str::to_string)
        .into_iter()
        .collect();
    for item in body
        .get("input")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if matches!(
            item.get("role").and_then(Value::as_str),
            Some("system" | "developer")
        ) {
            texts.push(text_of(item.get("content")));
        }
    }
    texts
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

fn seq_event(name: &str, seq: &mut u64, mut data: Value) -> String {
    data["type"] = json!(name);
    data["sequence_number"] = json!(*seq);
    *seq += 1;
    event(name, &data)
}

fn usage(ctx: &ReplyContext, reasoning_tokens: u64) -> Value {
    json!({
        "input_tokens": ctx.usage.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": ctx.usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": ctx.usage.input_tokens + ctx.usage.output_tokens,
    })
}

fn response(ctx: &ReplyContext, status: &str, output: Vec<Value>, usage: Value) -> Value {
    json!({
        "id": ctx.id,
        "object": "response",
        "created_at": ctx.created,
        "status": status,
        "error": null,
        "incomplete_details": null,
        "model": ctx.model,
        "output": output,
        "parallel_tool_calls": true,
        "store": false,
        "usage": usage,
    })
}

/// The output items of a reply, whole, in step order.
fn output_items(reply: &Reply, ctx: &ReplyContext) -> Vec<Value> {
    let mut calls = 0;
    reply
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| match step {
            Step::Text(text) => json!({
                "type": "message",
                "id": format!("msg_mock_{:03}_{i}", ctx.seq),
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }),
            Step::Thinking(thinking) => {
                let id = format!("rs_mock_{:03}_{i}", ctx.seq);
                let mut item = json!({"type": "reasoning", "id": id, "summary": []});
                if ctx.show_thinking {
                    item["summary"] = json!([{"type": "summary_text", "text": thinking}]);
                }
                if ctx.encrypted_reasoning {
                    item["encrypted_content"] = json!(format!("mock_encrypted_{id}"));
                }
                item
            }
            Step::ToolCall { name, input, .. } => {
                let call_id = ctx.tool_ids.get(calls).cloned().unwrap_or_default();
                calls += 1;
                json!({
                    "type": "function_call",
                    "id": format!("fc_mock_{:03}_{i}", ctx.seq),
                    "call_id": call_id,
                    "name": name,
                    "arguments": crate::script::arguments_text(input),
                    "status": "completed",
                })
            }
        })
        .collect()
}

fn reasoning_tokens(reply: &Reply) -> u64 {
    let chars: usize = reply
        .steps
        .iter()
        .map(|s| match s {
            Step::Thinking(t) => t.chars().count(),
            _ => 0,
        })
        .sum();
    chars as u64 / 4
}

/// The final response object: `completed`, or `incomplete` with its reason.
fn final_response(reply: &Reply, ctx: &ReplyContext) -> Value {
    let output = output_items(reply, ctx);
    let usage = usage(ctx, reasoning_tokens(reply));
    match reply.responses_incomplete_reason() {
        Some(reason) => {
            let mut r = response(ctx, "incomplete", output, usage);
            r["incomplete_details"] = json!({"reason": reason});
            r
        }
        None => response(ctx, "completed", output, usage),
    }
}

/// Every SSE frame of a streamed reply, in the documented order: `response.created`,
/// `response.in_progress`, then per output item `output_item.added`, its deltas
/// (`output_text.delta`, `reasoning_summary_text.delta`,
/// `function_call_arguments.delta`) and their `.done` events, `output_item.done`; then
/// `response.completed` (or `response.incomplete`) with the usage. Every event carries a
/// `sequence_number`.
pub(crate) fn stream_frames(reply: &Reply, ctx: &ReplyContext) -> Vec<String> {
    let mut seq = 0;
    let in_progress = response(ctx, "in_progress", vec![], Value::Null);
    let mut frames = vec![
        seq_event(
            "response.created",
            &mut seq,
            json!({"response": in_progress}),
        ),
        seq_event(
            "response.in_progress",
            &mut seq,
            json!({"response": in_progress}),
        ),
    ];
    let items = output_items(reply, ctx);
    for (index, (step, done)) in reply.steps.iter().zip(items).enumerate() {
        let id = done["id"].clone();
        match step {
            Step::Text(text) => {
                let added = json!({"type": "message", "id": id, "status": "in_progress",
                                   "role": "assistant", "content": []});
                frames.push(seq_event(
                    "response.output_item.added",
                    &mut seq,
                    json!({"output_index": index, "item": added}),
                ));
                let part =
                    |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
                frames.push(seq_event(
                    "response.content_part.added",
                    &mut seq,
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": part("")}),
                ));
                for piece in split(text, 3) {
                    frames.push(seq_event(
                        "response.output_text.delta",
                        &mut seq,
                        json!({"item_id": id, "output_index": index, "content_index": 0, "delta": piece}),
                    ));
                }
                frames.push(seq_event(
                    "response.output_text.done",
                    &mut seq,
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text}),
                ));
                frames.push(seq_event(
                    "response.content_part.done",
                    &mut seq,
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": part(text)}),
                ));
            }
            Step::Thinking(thinking) => {
                frames.push(seq_event(
                    "response.output_item.added",
                    &mut seq,
                    json!({"output_index": index, "item": {"type": "reasoning", "id": id, "summary": []}}),
                ));
                if ctx.show_thinking {
                    let part = |text: &str| json!({"type": "summary_text", "text": text});
                    frames.push(seq_event(
                        "response.reasoning_summary_part.added",
                        &mut seq,
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part("")}),
                    ));
                    for piece in split(thinking, 3) {
                        frames.push(seq_event(
                            "response.reasoning_summary_text.delta",
                            &mut seq,
                            json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": piece}),
                        ));
                    }
                    frames.push(seq_event(
                        "response.reasoning_summary_text.done",
                        &mut seq,
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "text": thinking}),
                    ));
                    frames.push(seq_event(
                        "response.reasoning_summary_part.done",
                        &mut seq,
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "part": part(thinking)}),
                    ));
                }
            }
            Step::ToolCall { input, .. } => {
                let mut added = done.clone();
                added["arguments"] = json!("");
                added["status"] = json!("in_progress");
                frames.push(seq_event(
                    "response.output_item.added",
                    &mut seq,
                    json!({"output_index": index, "item": added}),
                ));
                let arguments = crate::script::arguments_text(input);
                for piece in split(&arguments, 3) {
                    frames.push(seq_event(
                        "response.function_call_arguments.delta",
                        &mut seq,
                        json!({"item_id": id, "output_index": index, "delta": piece}),
                    ));
                }
                frames.push(seq_event(
                    "response.function_call_arguments.done",
                    &mut seq,
                    json!({"item_id": id, "output_index": index, "arguments": arguments}),
                ));
            }
        }
        frames.push(seq_event(
            "response.output_item.done",
            &mut seq,
            json!({"output_index": index, "item": done}),
        ));
    }
    let last = final_response(reply, ctx);
    let name = if last["status"] == "incomplete" {
        "response.incomplete"
    } else {
        "response.completed"
    };
    frames.push(seq_event(name, &mut seq, json!({"response": last})));
    frames
}

/// The non-streaming response body.
pub(crate) fn json_body(reply: &Reply, ctx: &ReplyContext) -> Value {
    final_response(reply, ctx)
}

/// The first `n` frames of a text answer that never ends, and the frame after them.
pub(crate) fn filler_frames(ctx: &ReplyContext, n: usize) -> (Vec<String>, String) {
    let mut seq = 0;
    let id = format!("msg_mock_{:03}_0", ctx.seq);
    let mut frames = vec![
        seq_event(
            "response.created",
            &mut seq,
            json!({"response": response(ctx, "in_progress", vec![], Value::Null)}),
        ),
        seq_event(
            "response.output_item.added",
            &mut seq,
            json!({"output_index": 0, "item": {"type": "message", "id": id, "status": "in_progress",
                                                "role": "assistant", "content": []}}),
        ),
        seq_event(
            "response.content_part.added",
            &mut seq,
            json!({"item_id": id, "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": []}}),
        ),
    ];
    while frames.len() <= n {
        frames.push(seq_event(
            "response.output_text.delta",
            &mut seq,
            json!({"item_id": id, "output_index": 0, "content_index": 0,
                   "delta": "This answer is interrupted. "}),
        ));
    }
    let next = frames.remove(n);
    frames.truncate(n);
    (frames, next)
}

/// A text answer that begins, then fails with `response.failed`.
pub(crate) fn stream_error_frames(ctx: &ReplyContext, message: &str) -> Vec<String> {
    let (mut frames, _) = filler_frames(ctx, 4);
    let mut failed = response(ctx, "failed", vec![], Value::Null);
    failed["error"] = json!({"code": "server_error", "message": message});
    let mut seq = frames.len() as u64;
    frames.push(seq_event(
        "response.failed",
        &mut seq,
        json!({"response": failed}),
    ));
    frames
}

/// An SSE stream whose data is not JSON.
pub(crate) fn malformed_frames() -> Vec<String> {
    vec!["event: response.created\ndata: {\"type\": \"response.created\", \"response\": {oops this is not json\n\n".into()]
}

/// The request's input items as domain messages (see [`crate::RecordedRequest::messages`]).
pub(crate) fn to_domain(body: &Value) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let items = match body.get("input") {
        Some(Value::String(text)) => return vec![Message::user(text.clone())],
        Some(Value::Array(items)) => items,
        _ => return out,
    };
    let push = |out: &mut Vec<Message>, role: Role, block: ContentBlock| match out.last_mut() {
        Some(last) if last.role == role => last.content.push(block),
        _ => out.push(Message {
            role,
            content: vec![block],
        }),
    };
    for item in items {
        let str_field = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match item_type(item) {
            Some("message") => {
                let role = match item.get("role").and_then(Value::as_str) {
                    Some("user") => Role::User,
                    Some("assistant") => Role::Assistant,
                    _ => continue,
                };
                let mut blocks = Vec::new();
                match item.get("content") {
                    Some(Value::String(text)) => {
                        blocks.push(ContentBlock::Text { text: text.clone() })
                    }
                    Some(Value::Array(parts)) => {
                        for part in parts {
                            match part.get("type").and_then(Value::as_str) {
                                Some("input_text" | "output_text" | "text") => {
                                    blocks.push(ContentBlock::Text {
                                        text: part
                                            .get("text")
                                            .and_then(Value::as_str)
                                            .unwrap_or("")
                                            .to_string(),
                                    });
                                }
                                Some("input_image") => {
                                    if let Some((media_type, data_base64)) = part
                                        .get("image_url")
                                        .and_then(Value::as_str)
                                        .and_then(crate::media::parse_data_url)
                                    {
                                        blocks.push(ContentBlock::Image {
                                            media_type,
                                            data_base64,
                                        });
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                if role == Role::User {
                    // Each user message item is a message of its own.
                    out.push(Message {
                        role,
                        content: blocks,
                    });
                } else {
                    for block in blocks {
                        push(&mut out, role, block);
                    }
                }
            }
            Some("function_call") => {
                let arguments = str_field("arguments");
                push(
                    &mut out,
                    Role::Assistant,
                    ContentBlock::ToolUse(ToolCall {
                        id: str_field("call_id"),
                        name: str_field("name"),
                        input: serde_json::from_str(&arguments).unwrap_or(Value::String(arguments)),
                    }),
                );
            }
            Some("reasoning") => {
                let summary: Vec<&str> = item
                    .get("summary")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.get("text").and_then(Value::as_str))
                    .collect();
                push(
                    &mut out,
                    Role::Assistant,
                    ContentBlock::Thinking {
                        thinking: summary.join("\n\n"),
                        signature: None,
                        encrypted: item.get("encrypted_content").and_then(Value::as_str).map(
                            |data| {
                                EncryptedReasoning::new(EncryptedReasoning::OPENAI_RESPONSES, data)
                            },
                        ),
                    },
                );
            }
            Some("function_call_output") => {
                let output = match item.get("output") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => text_of(Some(other)),
                    None => String::new(),
                };
                push(
                    &mut out,
                    Role::Tool,
                    ContentBlock::ToolResult(ToolResult {
                        call_id: str_field("call_id"),
                        content: output,
                        is_error: false,
                    }),
                );
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
        ReplyContext::new(
            reply,
            WireFormat::OpenAiResponses,
            3,
            "gpt-x",
            20,
            &mut || {
                n += 1;
                n
            },
        )
    }

    fn events(frames: &[String]) -> Vec<Value> {
        frames
            .iter()
            .map(|f| {
                let data = f.lines().nth(1).unwrap().strip_prefix("data: ").unwrap();
                serde_json::from_str(data).unwrap()
            })
            .collect()
    }

    #[test]
    fn stream_order_sequence_numbers_and_final_output() {
        let reply = Reply::new(vec![
            Step::thinking("Plan it."),
            Step::text("Reading the file now."),
            Step::tool_call("read", json!({"path": "a.rs"})),
        ]);
        let events = events(&stream_frames(&reply, &ctx(&reply)));
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types[..2], ["response.created", "response.in_progress"]);
        assert_eq!(types.last(), Some(&"response.completed"));
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e["sequence_number"], json!(i));
        }
        let last = events.last().unwrap();
        assert_eq!(last["response"]["output"].as_array().unwrap().len(), 3);
        assert_eq!(last["response"]["output"][2]["call_id"], "call_mock_001");
        assert_eq!(
            last["response"]["output"][0]["encrypted_content"],
            "mock_encrypted_rs_mock_003_0"
        );
        let args: String = events
            .iter()
            .filter(|e| e["type"] == "response.function_call_arguments.delta")
            .map(|e| e["delta"].as_str().unwrap())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap(),
            json!({"path": "a.rs"})
        );
    }

    #[test]
    fn max_tokens_is_an_incomplete_response() {
        let reply = Reply {
            stop_reason: Some("max_tokens".into()),
            ..Reply::new(vec![Step::text("cut")])
        };
        let body = json_body(&reply, &ctx(&reply));
        assert_eq!(body["status"], "incomplete");
        assert_eq!(body["incomplete_details"]["reason"], "max_output_tokens");
    }

    #[test]
    fn input_items_convert_and_pair() {
        let body = json!({"model": "m", "input": [
            {"role": "user", "content": "fix it"},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "look"}], "encrypted_content": "enc"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Reading."}]},
            {"type": "function_call", "call_id": "c1", "name": "read", "arguments": "{\"path\":\"a\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": "x"},
        ]});
        let msgs = to_domain(&body);
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1].content.len(), 3);
        assert_eq!(msgs[2].tool_results_iter().next().unwrap().call_id, "c1");
        assert!(validate(&body).is_ok());
        let mut orphan = body.clone();
        orphan["input"][4]["call_id"] = json!("zz");
        let error = validate(&orphan).unwrap_err();
        assert_eq!(error.status, 400);
        assert!(error.message.contains("c1"), "{}", error.message);
    }
}
