use super::errors::redact_secrets;
use super::*;

fn parse(body: Value) -> Result<wire::ChatRequest, BadRequest> {
    parse_request(body.to_string().as_bytes())
}

fn request(body: Value) -> Result<ModelRequest, BadRequest> {
    to_model_request(&parse(body)?, "claude-sonnet-4-5")
}

fn err_param(body: Value) -> Option<String> {
    match request(body) {
        Ok(r) => panic!("expected a bad request, got {r:?}"),
        Err(e) => e.param,
    }
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

#[test]
fn maps_a_whole_conversation_to_the_domain() {
    let got = request(json!({
        "model": "smart",
        "messages": [
            {"role": "system", "content": "You are Cuervo."},
            {"role": "developer", "content": [
                {"type": "text", "text": "Be brief."},
                {"type": "text", "text": "Use tools."}
            ]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/PNG;base64,iVBORw0K", "detail": "low"}}
            ]},
            {"role": "assistant", "content": "Reading.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"main.rs\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "glob", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "fn main() {}"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "a.rs"}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_3", "type": "function", "function": {"name": "status", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_3", "content": "clean"},
            {"role": "system", "content": "Late rule."},
            {"role": "user", "content": "Thanks."}
        ],
        "tools": [{"type": "function", "function": {
            "name": "read", "description": "Reads a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}
        }}, {"type": "function", "function": {"name": "status"}}],
        "max_completion_tokens": 300,
        "max_tokens": 100,
        "temperature": 0.25,
        "stream": true
    }))
    .expect("valid");
    let expected = ModelRequest {
        model: "claude-sonnet-4-5".into(),
        system: Some("You are Cuervo.\n\nBe brief.\n\nUse tools.\n\nLate rule.".into()),
        messages: vec![
            Message {
                role: Role::User,
                content: vec![
                    ContentBlock::Text {
                        text: "What is in this picture?".into(),
                    },
                    ContentBlock::Image {
                        media_type: "image/png".into(),
                        data_base64: "iVBORw0K".into(),
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Text {
                        text: "Reading.".into(),
                    },
                    ContentBlock::ToolUse(ToolCall {
                        id: "call_1".into(),
                        name: "read".into(),
                        input: json!({"path": "main.rs"}),
                    }),
                    ContentBlock::ToolUse(ToolCall {
                        id: "call_2".into(),
                        name: "glob".into(),
                        input: json!({}),
                    }),
                ],
            },
            Message::tool_results(vec![
                ToolResult {
                    call_id: "call_1".into(),
                    content: "fn main() {}".into(),
                    is_error: false,
                },
                ToolResult {
                    call_id: "call_2".into(),
                    content: "a.rs".into(),
                    is_error: false,
                },
            ]),
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse(ToolCall {
                    id: "call_3".into(),
                    name: "status".into(),
                    input: json!({}),
                })],
            },
            Message::tool_results(vec![ToolResult {
                call_id: "call_3".into(),
                content: "clean".into(),
                is_error: false,
            }]),
            Message::user("Thanks."),
        ],
        tools: vec![
            ToolSpec {
                name: "read".into(),
                description: "Reads a file.".into(),
                input_schema: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
            },
            ToolSpec {
                name: "status".into(),
                description: String::new(),
                input_schema: json!({"type": "object", "properties": {}}),
            },
        ],
        max_tokens: 300,
        temperature: Some(0.25),
        stream: true,
        thinking_budget: None,
    };
    assert_eq!(got, expected);
}

#[test]
fn the_client_sides_own_request_comes_back_unchanged() {
    // Cuervo's OpenAI adapter writes a request; the proxy reads it back.
    let original = ModelRequest {
        model: "upstream".into(),
        system: Some("Sys.".into()),
        messages: vec![
            Message::user("Read it."),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Text {
                        text: "Sure.".into(),
                    },
                    ContentBlock::ToolUse(ToolCall {
                        id: "c1".into(),
                        name: "read".into(),
                        input: json!({"path": "a", "n": [1, 2]}),
                    }),
                ],
            },
            Message::tool_results(vec![ToolResult {
                call_id: "c1".into(),
                content: "text".into(),
                is_error: false,
            }]),
            Message {
                role: Role::User,
                content: vec![
                    ContentBlock::Text {
                        text: "And this?".into(),
                    },
                    ContentBlock::Image {
                        media_type: "image/jpeg".into(),
                        data_base64: "/9j/4AAQ".into(),
                    },
                ],
            },
        ],
        tools: vec![ToolSpec {
            name: "read".into(),
            description: "Reads.".into(),
            input_schema: json!({"type": "object"}),
        }],
        max_tokens: 777,
        temperature: Some(0.5),
        stream: true,
        thinking_budget: None,
    };
    for completion_field in [false, true] {
        let wire_request = cuervo_providers::openai::to_wire(&original, completion_field);
        let body = serde_json::to_vec(&wire_request).expect("serialises");
        let parsed = parse_request(&body).expect("parses");
        assert!(wants_usage(&parsed));
        let back = to_model_request(&parsed, "upstream").expect("valid");
        assert_eq!(back, original);
    }
}

#[test]
fn max_tokens_default_and_either_field() {
    let base = |extra: Value| {
        let mut body = json!({"model": "m", "messages": [user("hi")]});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let max = |extra| request(base(extra)).map(|r| (r.max_tokens, r.stream, r.temperature));
    assert_eq!(max(json!({})), Ok((4096, false, None)));
    assert_eq!(max(json!({"max_tokens": 50})), Ok((50, false, None)));
    assert_eq!(
        max(json!({"max_completion_tokens": 60, "stream": false})),
        Ok((60, false, None))
    );
    assert_eq!(
        max(json!({"max_tokens": null, "stream": null, "temperature": 0})),
        Ok((4096, false, Some(0.0)))
    );
    assert_eq!(
        request(base(json!({"max_tokens": 0})))
            .err()
            .and_then(|e| e.param),
        Some("max_tokens".into())
    );
    assert_eq!(
        request(base(json!({"max_completion_tokens": 0})))
            .err()
            .and_then(|e| e.param),
        Some("max_completion_tokens".into())
    );
}

#[test]
fn wants_usage_only_when_asked() {
    let wants = |extra: Value| {
        let mut body = json!({"model": "m", "messages": [user("hi")], "stream": true});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        wants_usage(&parse(body).expect("parses"))
    };
    assert!(wants(json!({"stream_options": {"include_usage": true}})));
    assert!(!wants(json!({"stream_options": {"include_usage": false}})));
    assert!(!wants(json!({"stream_options": {}})));
    assert!(!wants(json!({"stream_options": null})));
    assert!(!wants(json!({})));
}

#[test]
fn parse_accepts_what_openai_accepts() {
    let parsed = parse(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi", "name": "ana"},
            {"role": "assistant", "content": "x", "tool_calls": null, "refusal": null},
            {"role": "user", "content": "again"}
        ],
        "tools": null,
        "n": 1,
        "top_p": 0.9,
        "tool_choice": "auto",
        "user": "someone"
    }))
    .expect("parses");
    assert_eq!(parsed.messages.len(), 3);
    assert!(parsed.tools.is_empty());
}

#[test]
fn bad_requests_name_the_offending_field() {
    let bad = |body: Value| parse(body).err().map(|e| (e.param, e.message));
    let (param, message) =
        bad(json!({"model": "m", "messages": [user("a"), {"role": "function", "content": "x"}]}))
            .expect("refused");
    assert_eq!(param.as_deref(), Some("messages[1].role"));
    assert!(message.contains("unknown role `function`"), "{message}");
    assert_eq!(
        bad(json!({"model": "m", "messages": [{"content": "x"}]})).map(|b| b.0),
        Some(Some("messages[0].role".into()))
    );
    assert_eq!(
        bad(json!({"model": "m", "messages": [user("a")], "n": 2})).map(|b| b.0),
        Some(Some("n".into()))
    );
    assert_eq!(
        parse_request(b"{not json").err().map(|e| e.param),
        Some(None)
    );
    assert_eq!(
        parse_request(b"[1]").err().map(|e| e.message),
        Some("the body must be a JSON object".into())
    );
    assert!(
        bad(json!({"messages": [user("a")]})).is_some(),
        "model is required"
    );

    assert_eq!(
        err_param(json!({"model": "m", "messages": []})),
        Some("messages".into())
    );
    assert_eq!(
        err_param(
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
            ]}]})
        ),
        Some("messages[0].content[1].image_url.url".into())
    );
    assert_eq!(
        err_param(
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}
            ]}]})
        ),
        Some("messages[0].content[0].image_url.url".into())
    );
    assert_eq!(
        err_param(
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}
            ]}]})
        ),
        Some("messages[0].content[0].type".into())
    );
    assert_eq!(
        err_param(
            json!({"model": "m", "messages": [{"role": "system", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
        ]}, user("a")]})
        ),
        Some("messages[0].content[0].type".into())
    );
    let call = |arguments: &str| {
        json!({"model": "m", "messages": [user("a"),
            {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
            ]}
        ]})
    };
    assert_eq!(
        err_param(call("{\"path\": ")),
        Some("messages[1].tool_calls[0].function.arguments".into())
    );
    assert_eq!(
        err_param(call("[1, 2]")),
        Some("messages[1].tool_calls[0].function.arguments".into())
    );
    // A trailing unanswered call is fine (the client is about to answer it).
    assert!(request(call("{\"a\": 1}")).is_ok());
    assert_eq!(
        err_param(json!({"model": "m", "messages": [user("a"),
            {"role": "tool", "tool_call_id": "nobody", "content": "x"}]})),
        Some("messages".into())
    );
    assert_eq!(
        err_param(json!({"model": "m", "messages": [user("a")],
            "tools": [{"type": "custom", "function": {"name": "f"}}]})),
        Some("tools[0].type".into())
    );
}

fn text(t: &str) -> ModelChunk {
    ModelChunk::Text { text: t.into() }
}

fn start(id: &str, name: &str) -> ModelChunk {
    ModelChunk::ToolUseStart {
        id: id.into(),
        name: name.into(),
    }
}

fn call(id: &str, name: &str, input: Value) -> ModelChunk {
    ModelChunk::ToolUse {
        call: ToolCall {
            id: id.into(),
            name: name.into(),
            input,
        },
    }
}

fn stop(reason: StopReason) -> ModelChunk {
    ModelChunk::Stop { reason }
}

fn the_usage() -> ModelChunk {
    ModelChunk::Usage {
        usage: Usage {
            input_tokens: 100,
            output_tokens: 20,
            cache_read_tokens: 30,
            cache_write_tokens: 5,
        },
    }
}

fn usage_json() -> Value {
    json!({"prompt_tokens": 135, "completion_tokens": 20, "total_tokens": 155,
           "prompt_tokens_details": {"cached_tokens": 30}})
}

#[test]
fn builds_a_whole_completion() {
    let mut builder = CompletionBuilder::new("chatcmpl-1", "smart", 1_700_000_000);
    for chunk in [
        ModelChunk::Usage {
            usage: Usage {
                input_tokens: 100,
                cache_read_tokens: 30,
                cache_write_tokens: 5,
                ..Usage::default()
            },
        },
        ModelChunk::Thinking {
            thinking: "Let me look".into(),
        },
        ModelChunk::ThinkingSignature {
            signature: "sig".into(),
        },
        text("Reading "),
        text("both."),
        start("call_a", "read"),
        start("call_b", "glob"),
        call("call_b", "glob", json!({"pattern": "*"})),
        call("call_a", "read", json!({"path": "main.rs"})),
        ModelChunk::Usage {
            usage: Usage {
                output_tokens: 20,
                ..Usage::default()
            },
        },
        stop(StopReason::ToolUse),
    ] {
        builder.push(chunk);
    }
    assert_eq!(
        builder.usage(),
        Usage {
            input_tokens: 100,
            output_tokens: 20,
            cache_read_tokens: 30,
            cache_write_tokens: 5
        }
    );
    let completion = builder.finish();
    assert_eq!(
        serde_json::to_value(&completion).expect("serialises"),
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000u64,
            "model": "smart",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Reading both.",
                    "reasoning_content": "Let me look",
                    "tool_calls": [
                        {"id": "call_a", "type": "function", "function": {"name": "read", "arguments": "{\"path\":\"main.rs\"}"}},
                        {"id": "call_b", "type": "function", "function": {"name": "glob", "arguments": "{\"pattern\":\"*\"}"}}
                    ]
                },
                "finish_reason": "tool_calls"
            }],
            "usage": usage_json()
        })
    );
    // What an OpenAI client (Cuervo's own DTOs) reads back.
    let read: wire::ChatCompletion =
        serde_json::from_value(serde_json::to_value(&completion).expect("serialises"))
            .expect("an OpenAI client parses it");
    assert_eq!(
        read.choices[0].message.tool_calls.as_ref().map(Vec::len),
        Some(2)
    );
    assert_eq!(read.usage.map(|u| u.prompt_tokens), Some(135));
}

#[test]
fn whole_completion_text_only_and_tool_calls_only() {
    let mut builder = CompletionBuilder::new("id", "m", 1);
    builder.push(text("Hello"));
    builder.push(stop(StopReason::EndTurn));
    assert_eq!(
        serde_json::to_value(builder.finish().choices).expect("serialises"),
        json!([{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}])
    );

    // Only a call, reported as a plain end of turn, and no ToolUseStart; a call that
    // was announced but never completed is left out.
    let mut builder = CompletionBuilder::new("id", "m", 1);
    builder.push(start("lost", "x"));
    builder.push(call("c", "f", json!({})));
    builder.push(stop(StopReason::EndTurn));
    let completion = builder.finish();
    assert_eq!(
        serde_json::to_value(&completion.choices).expect("serialises"),
        json!([{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ]}, "finish_reason": "tool_calls"}])
    );
    assert_eq!(
        serde_json::to_value(completion.usage).expect("serialises"),
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
               "prompt_tokens_details": {"cached_tokens": 0}})
    );

    // An empty answer still has string content.
    let completion = CompletionBuilder::new("id", "m", 1).finish();
    assert_eq!(completion.choices[0].message.content.as_deref(), Some(""));
    assert_eq!(completion.choices[0].finish_reason, "stop");
}

#[test]
fn every_stop_reason_has_a_finish_reason() {
    let cases = [
        (StopReason::EndTurn, false, "stop"),
        (StopReason::EndTurn, true, "tool_calls"),
        (StopReason::ToolUse, true, "tool_calls"),
        (StopReason::ToolUse, false, "stop"),
        (StopReason::MaxTokens, false, "length"),
        (StopReason::MaxTokens, true, "length"),
        (StopReason::StopSequence, false, "stop"),
        (StopReason::Refusal, false, "content_filter"),
        (
            StopReason::Other("content_filter".into()),
            false,
            "content_filter",
        ),
        (
            StopReason::Other("MALFORMED_FUNCTION_CALL".into()),
            false,
            "stop",
        ),
    ];
    for (reason, with_call, expected) in cases {
        let mut builder = CompletionBuilder::new("id", "m", 1);
        let mut encoder = ChunkEncoder::new("id", "m", 1, false);
        if with_call {
            builder.push(call("c", "f", json!({})));
            encoder.push(call("c", "f", json!({})));
        }
        builder.push(stop(reason.clone()));
        let chunks = encoder.push(stop(reason.clone()));
        assert_eq!(
            builder.finish().choices[0].finish_reason,
            expected,
            "{reason:?} whole"
        );
        assert_eq!(
            chunks[0].choices[0].finish_reason.as_deref(),
            Some(expected),
            "{reason:?} streamed"
        );
    }
}

fn to_json(chunks: &[ChatChunk]) -> Vec<Value> {
    chunks
        .iter()
        .map(|c| serde_json::to_value(c).expect("serialises"))
        .collect()
}

fn envelope(choices: Value) -> Value {
    json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 42,
           "model": "smart", "choices": choices})
}

fn delta(delta: Value) -> Value {
    envelope(json!([{"index": 0, "delta": delta, "finish_reason": null}]))
}

fn finish_chunk(reason: &str) -> Value {
    envelope(json!([{"index": 0, "delta": {}, "finish_reason": reason}]))
}

#[test]
fn streams_text_then_finish_then_usage() {
    let mut encoder = ChunkEncoder::new("chatcmpl-9", "smart", 42, true);
    let mut out = Vec::new();
    for chunk in [
        the_usage(),
        ModelChunk::Thinking {
            thinking: "hmm".into(),
        },
        ModelChunk::ThinkingEncrypted {
            encrypted: cuervo_domain::EncryptedReasoning::new("gemini", "x"),
        },
        text("Hel"),
        text(""),
        text("lo"),
        stop(StopReason::EndTurn),
        text("after the end"),
    ] {
        out.extend(encoder.push(chunk));
    }
    out.extend(encoder.finish());
    assert!(encoder.finish().is_empty(), "finish is once");
    let mut with_usage = envelope(json!([]));
    with_usage["usage"] = usage_json();
    assert_eq!(
        to_json(&out),
        vec![
            delta(json!({"role": "assistant", "reasoning_content": "hmm"})),
            delta(json!({"content": "Hel"})),
            delta(json!({"content": "lo"})),
            finish_chunk("stop"),
            with_usage,
        ]
    );
    assert_eq!(encoder.usage().output_tokens, 20);
}

#[test]
fn streams_tool_calls_by_index() {
    let mut encoder = ChunkEncoder::new("chatcmpl-9", "smart", 42, false);
    let mut out = Vec::new();
    for chunk in [
        text("Looking."),
        start("call_a", "read"),
        start("call_b", "glob"),
        call("call_a", "read", json!({"path": "a.rs"})),
        call("call_b", "glob", json!({"pattern": "*"})),
        // No announcement: header and arguments together.
        call("call_c", "status", json!({})),
        stop(StopReason::ToolUse),
    ] {
        out.extend(encoder.push(chunk));
    }
    out.extend(encoder.finish());
    assert_eq!(
        to_json(&out),
        vec![
            delta(json!({"role": "assistant", "content": "Looking."})),
            delta(
                json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                "function": {"name": "read", "arguments": ""}}]})
            ),
            delta(
                json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                "function": {"name": "glob", "arguments": ""}}]})
            ),
            delta(json!({"tool_calls": [{"index": 0,
                "function": {"arguments": "{\"path\":\"a.rs\"}"}}]})),
            delta(json!({"tool_calls": [{"index": 1,
                "function": {"arguments": "{\"pattern\":\"*\"}"}}]})),
            delta(
                json!({"tool_calls": [{"index": 2, "id": "call_c", "type": "function",
                "function": {"name": "status", "arguments": "{}"}}]})
            ),
            finish_chunk("tool_calls"),
        ]
    );

    // An OpenAI client (Cuervo's own DTOs) reassembles the calls by index.
    let mut calls: Vec<(String, String, String)> = vec![Default::default(); 3];
    for chunk in &out {
        let read: wire::ChatChunk =
            serde_json::from_value(serde_json::to_value(chunk).expect("serialises"))
                .expect("an OpenAI client parses it");
        for piece in read
            .choices
            .into_iter()
            .flat_map(|c| c.delta.tool_calls.unwrap_or_default())
        {
            let slot = &mut calls[piece.index.expect("index")];
            if let Some(id) = piece.id {
                slot.0 = id;
            }
            if let Some(function) = piece.function {
                slot.1.push_str(&function.name.unwrap_or_default());
                slot.2.push_str(&function.arguments.unwrap_or_default());
            }
        }
    }
    assert_eq!(
        calls,
        vec![
            ("call_a".into(), "read".into(), "{\"path\":\"a.rs\"}".into()),
            ("call_b".into(), "glob".into(), "{\"pattern\":\"*\"}".into()),
            ("call_c".into(), "status".into(), "{}".into()),
        ]
    );
}

#[test]
fn a_stream_without_stop_finishes_by_inference() {
    let mut encoder = ChunkEncoder::new("chatcmpl-9", "smart", 42, false);
    assert!(encoder.push(the_usage()).is_empty());
    // Nothing was sent yet, so the finish chunk names the role.
    assert_eq!(
        to_json(&encoder.finish()),
        vec![envelope(
            json!([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": "stop"}])
        )]
    );

    let mut encoder = ChunkEncoder::new("chatcmpl-9", "smart", 42, true);
    encoder.push(call("c", "f", json!({})));
    let last = to_json(&encoder.finish());
    assert_eq!(last.len(), 2);
    assert_eq!(last[0], finish_chunk("tool_calls"));
    assert_eq!(last[1]["choices"], json!([]));
    assert_eq!(last[1]["usage"]["total_tokens"], json!(0));
}

fn error(kind: ModelErrorKind, message: &str) -> (u16, Option<u64>, Value) {
    let (status, retry, body) = error_response(&ModelError::new("anthropic", kind, message));
    (
        status,
        retry,
        serde_json::to_value(body).expect("serialises"),
    )
}

#[test]
fn upstream_errors_keep_their_meaning() {
    assert_eq!(
        error(
            ModelErrorKind::RateLimited {
                retry_after_ms: Some(1500)
            },
            "rate limited (HTTP 429: slow down)"
        ),
        (
            429,
            Some(2),
            json!({"error": {"message": "anthropic: rate limited (HTTP 429: slow down)",
                "type": "rate_limit_error", "code": "rate_limit_exceeded", "param": null}})
        )
    );
    assert_eq!(
        error(ModelErrorKind::ContextWindowExceeded, "prompt is too long"),
        (
            400,
            None,
            json!({"error": {"message": "anthropic: prompt is too long",
                "type": "invalid_request_error", "code": "context_length_exceeded",
                "param": "messages"}})
        )
    );
    let status = |kind, message| {
        let (status, retry, body) = error(kind, message);
        (status, retry, body["error"]["code"].clone())
    };
    assert_eq!(
        status(
            ModelErrorKind::RateLimited {
                retry_after_ms: None
            },
            "x"
        ),
        (429, None, json!("rate_limit_exceeded"))
    );
    assert_eq!(
        status(
            ModelErrorKind::Overloaded {
                retry_after_ms: Some(3000)
            },
            "x"
        ),
        (503, Some(3), json!("upstream_overloaded"))
    );
    assert_eq!(
        status(ModelErrorKind::InvalidRequest, "x"),
        (400, None, Value::Null)
    );
    assert_eq!(
        status(ModelErrorKind::Server, "x"),
        (502, None, json!("upstream_error"))
    );
    assert_eq!(
        status(ModelErrorKind::Network, "the request timed out (HTTP 408)"),
        (504, None, json!("upstream_timeout"))
    );
    assert_eq!(
        status(ModelErrorKind::Network, "connection refused"),
        (502, None, json!("upstream_unreachable"))
    );
    assert_eq!(
        status(ModelErrorKind::StreamCut, "x"),
        (502, None, json!("upstream_stream_cut"))
    );
    assert_eq!(
        status(ModelErrorKind::Protocol, "x"),
        (502, None, json!("upstream_protocol_error"))
    );
    assert_eq!(
        status(ModelErrorKind::Cancelled, "x"),
        (503, None, json!("cancelled"))
    );
}

#[test]
fn upstream_keys_and_urls_never_reach_the_client() {
    let (status, _, body) = error(
        ModelErrorKind::Auth,
        "the API key was rejected (HTTP 401: invalid x-api-key sk-ant-api03-abcdef123456); \
         check ANTHROPIC_API_KEY",
    );
    assert_eq!(status, 502);
    let message = body["error"]["message"].as_str().expect("message");
    assert!(!message.contains("sk-ant"), "{message}");
    assert!(!message.contains("ANTHROPIC_API_KEY"), "{message}");
    assert_eq!(body["error"]["code"], json!("upstream_auth_failed"));

    let (_, _, body) = error(
        ModelErrorKind::Network,
        "error sending request for url (http://10.0.0.7:11434/api/chat)",
    );
    assert!(!body.to_string().contains("10.0.0.7"), "{body}");

    let (_, _, body) = error(
        ModelErrorKind::InvalidRequest,
        "bad header Bearer abcdefghijklmnop and key=AIzaSyA1234567890abcdef, sk-learn ok",
    );
    assert_eq!(
        body["error"]["message"],
        json!("anthropic: bad header Bearer [redacted] and key=[redacted], sk-learn ok")
    );
    assert_eq!(
        redact_secrets("task-abcdefghijklmnop sk-abcdefghijklmnop ünïcode"),
        "task-abcdefghijklmnop sk-[redacted] ünïcode"
    );
}

#[test]
fn bad_request_body_is_openais_shape() {
    let err = BadRequest::new("nope", "messages[0].role".to_owned());
    assert_eq!(
        serde_json::to_value(err.to_response()).expect("serialises"),
        json!({"error": {"message": "nope", "type": "invalid_request_error",
            "code": null, "param": "messages[0].role"}})
    );
    assert_eq!(err.to_string(), "nope (messages[0].role)");
}
