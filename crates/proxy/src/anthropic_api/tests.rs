//! The request side and the errors; the answer side is in `tests_stream`.

use super::*;

fn parse(body: Value) -> Result<MessagesRequest, BadRequest> {
    parse_request(body.to_string().as_bytes())
}

fn request(body: Value) -> Result<ModelRequest, BadRequest> {
    to_model_request(&parse(body)?, "gpt-5")
}

/// The `param` of the 400 that `body` gets (from parsing or translating).
fn err_param(body: Value) -> Option<String> {
    match request(body) {
        Ok(r) => panic!("expected a bad request, got {r:?}"),
        Err(e) => e.param,
    }
}

/// A body with one user message and `extra` fields.
fn body_with(extra: Value) -> Value {
    let mut body = json!({"model": "smart", "max_tokens": 1000,
        "messages": [{"role": "user", "content": "hi"}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

fn thinking(
    text: &str,
    signature: Option<&str>,
    encrypted: Option<EncryptedReasoning>,
) -> ContentBlock {
    ContentBlock::Thinking {
        thinking: text.into(),
        signature: signature.map(Into::into),
        encrypted,
    }
}

fn tool_use(id: &str, name: &str, input: Value) -> ContentBlock {
    ContentBlock::ToolUse(ToolCall {
        id: id.into(),
        name: name.into(),
        input,
    })
}

fn result(id: &str, content: &str, is_error: bool) -> ContentBlock {
    ContentBlock::ToolResult(ToolResult {
        call_id: id.into(),
        content: content.into(),
        is_error,
    })
}

#[test]
fn maps_a_whole_conversation_to_the_domain() {
    // Shaped like Claude Code's requests: system blocks with cache marks, metadata,
    // reminders after tool results.
    let got = request(json!({
        "model": "smart",
        "max_tokens": 32000,
        "system": [
            {"type": "text", "text": "You are Claude Code."},
            {"type": "text", "text": "", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Let me look.", "signature": "sig-1"},
                {"type": "redacted_thinking", "data": "EncRypted=="},
                {"type": "text", "text": ""},
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "a.rs"}},
                {"type": "tool_use", "id": "toolu_2", "name": "Glob", "input": {}, "cache_control": {"type": "ephemeral"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                    {"type": "text", "text": "fn main() {}"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}},
                    {"type": "text", "text": "(end)"}
                ]},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "no match", "is_error": true},
                {"type": "text", "text": "<system-reminder>stay focused</system-reminder>"}
            ]},
            {"role": "assistant", "content": "Done."},
            {"role": "user", "content": "Thanks."}
        ],
        "tools": [
            {"name": "Read", "description": "Reads a file.",
             "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}},
            {"type": "custom", "name": "Glob", "input_schema": {"type": "object"},
             "cache_control": {"type": "ephemeral"}}
        ],
        "tool_choice": {"type": "auto"},
        "metadata": {"user_id": "someone"},
        "stop_sequences": ["\n\nHuman:"],
        "top_k": 5,
        "temperature": 1,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "stream": true
    }))
    .expect("valid");
    let expected = ModelRequest {
        model: "gpt-5".into(),
        system: Some("You are Claude Code.\n\nBe brief.".into()),
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
                    thinking(
                        "Let me look.",
                        Some("sig-1"),
                        Some(EncryptedReasoning::new(
                            EncryptedReasoning::ANTHROPIC_REDACTED,
                            "EncRypted==",
                        )),
                    ),
                    ContentBlock::Text {
                        text: "Reading.".into(),
                    },
                    tool_use("toolu_1", "Read", json!({"file_path": "a.rs"})),
                    tool_use("toolu_2", "Glob", json!({})),
                ],
            },
            Message {
                role: Role::Tool,
                content: vec![
                    result("toolu_1", "fn main() {}\n\n(end)", false),
                    result("toolu_2", "no match", true),
                    ContentBlock::Image {
                        media_type: "image/jpeg".into(),
                        data_base64: "/9j/".into(),
                    },
                ],
            },
            Message::user("<system-reminder>stay focused</system-reminder>"),
            Message::assistant_text("Done."),
            Message::user("Thanks."),
        ],
        tools: vec![
            ToolSpec {
                name: "Read".into(),
                description: "Reads a file.".into(),
                input_schema: json!({"type": "object", "properties": {"file_path": {"type": "string"}}}),
            },
            ToolSpec {
                name: "Glob".into(),
                description: String::new(),
                input_schema: json!({"type": "object"}),
            },
        ],
        max_tokens: 22000,
        temperature: Some(1.0),
        stream: true,
        thinking_budget: Some(10000),
    };
    assert_eq!(got, expected);
}

/// A conversation with every block the Anthropic adapter writes.
fn conversation() -> ModelRequest {
    ModelRequest {
        model: "upstream".into(),
        system: Some("Sys.".into()),
        messages: vec![
            Message {
                role: Role::User,
                content: vec![
                    ContentBlock::Text {
                        text: "Read it.".into(),
                    },
                    ContentBlock::Image {
                        media_type: "image/jpeg".into(),
                        data_base64: "/9j/4AAQ".into(),
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    thinking(
                        "Hmm.",
                        Some("sig-a"),
                        Some(EncryptedReasoning::new(
                            EncryptedReasoning::ANTHROPIC_REDACTED,
                            "redacted-1",
                        )),
                    ),
                    thinking(
                        "",
                        None,
                        Some(EncryptedReasoning::new(
                            EncryptedReasoning::ANTHROPIC_REDACTED,
                            "redacted-2",
                        )),
                    ),
                    ContentBlock::Text {
                        text: "Sure.".into(),
                    },
                    tool_use("c1", "read", json!({"path": "a", "n": [1, 2]})),
                    tool_use("c2", "glob", json!({})),
                ],
            },
            Message::tool_results(vec![
                ToolResult {
                    call_id: "c1".into(),
                    content: "text".into(),
                    is_error: false,
                },
                ToolResult {
                    call_id: "c2".into(),
                    content: "denied".into(),
                    is_error: true,
                },
            ]),
            Message::user("And now?"),
            Message::assistant_text("Nothing."),
            Message::user("Bye."),
        ],
        tools: vec![
            ToolSpec {
                name: "read".into(),
                description: "Reads.".into(),
                input_schema: json!({"type": "object"}),
            },
            ToolSpec {
                name: "glob".into(),
                description: "Finds.".into(),
                input_schema: json!({"type": "object", "properties": {}}),
            },
        ],
        max_tokens: 777,
        temperature: Some(0.5),
        stream: true,
        thinking_budget: None,
    }
}

#[test]
fn the_client_sides_own_request_comes_back_unchanged() {
    // Cuervo's Anthropic adapter writes a request; the proxy reads it back.
    let mut thinking_on = conversation();
    thinking_on.thinking_budget = Some(2048);
    thinking_on.temperature = None; // the adapter leaves it out with thinking
    thinking_on.stream = false;
    for original in [conversation(), thinking_on] {
        for prompt_caching in [false, true] {
            let wire_request = cuervo_providers::anthropic::to_wire(&original, prompt_caching);
            let body = serde_json::to_vec(&wire_request).expect("serialises");
            let parsed = parse_request(&body).expect("parses");
            assert_eq!(parsed.model(), "upstream");
            assert_eq!(parsed.stream(), original.stream);
            let back = to_model_request(&parsed, "upstream").expect("valid");
            assert_eq!(back, original, "prompt caching {prompt_caching}");
        }
    }
}

#[test]
fn thinking_settings_and_the_output_limit() {
    let get = |thinking: Value| {
        request(body_with(json!({"thinking": thinking}))).map(|r| (r.thinking_budget, r.max_tokens))
    };
    assert_eq!(
        request(body_with(json!({}))).map(|r| (r.thinking_budget, r.max_tokens)),
        Ok((None, 1000))
    );
    assert_eq!(
        get(json!({"type": "enabled", "budget_tokens": 400})),
        Ok((Some(400), 600))
    );
    assert_eq!(get(json!({"type": "disabled"})), Ok((Some(0), 1000)));
    assert_eq!(get(json!({"type": "adaptive"})), Ok((None, 1000)));
    assert_eq!(get(Value::Null), Ok((None, 1000)));
    let param = |thinking: Value| get(thinking).err().and_then(|e| e.param);
    assert_eq!(
        param(json!({"type": "enabled", "budget_tokens": 1000})),
        Some("thinking.budget_tokens".into())
    );
    assert_eq!(
        param(json!({"type": "enabled", "budget_tokens": 0})),
        Some("thinking.budget_tokens".into())
    );
    assert_eq!(
        param(json!({"type": "sometimes"})),
        Some("thinking.type".into())
    );
    assert_eq!(param(json!({"type": "enabled"})), Some("thinking".into()));
}

#[test]
fn parse_accepts_nulls_and_fields_it_ignores() {
    let parsed = parse(json!({
        "model": "m", "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi", "name": null}],
        "system": null, "tools": null, "stream": null, "temperature": null, "thinking": null,
        "tool_choice": {"type": "any"}, "service_tier": "auto"
    }))
    .expect("parses");
    assert!(parsed.tools.is_empty());
    assert!(!parsed.stream());
    assert_eq!(parsed.system, None);
    let got = to_model_request(&parsed, "up").expect("valid");
    assert_eq!(got.messages, vec![Message::user("hi")]);
    assert_eq!(
        (got.max_tokens, got.temperature, got.stream),
        (5, None, false)
    );
}

#[test]
fn missing_fields_are_named() {
    let missing = |body: Value| parse(body).err().map(|e| (e.param, e.message));
    assert_eq!(
        missing(json!({"model": "m", "messages": []})),
        Some((Some("max_tokens".into()), "`max_tokens` is required".into()))
    );
    assert_eq!(
        missing(json!({"max_tokens": 1, "messages": []})).and_then(|e| e.0),
        Some("model".into())
    );
    assert_eq!(
        missing(json!({"model": "m", "max_tokens": null, "messages": []})).and_then(|e| e.0),
        Some("max_tokens".into())
    );
    assert_eq!(
        parse_request(b"{not json").err().map(|e| e.param),
        Some(None)
    );
    assert_eq!(
        parse_request(b"[1]").err().map(|e| e.message),
        Some("the body must be a JSON object".into())
    );
    let (param, message) = missing(json!({"model": "m", "max_tokens": 1,
        "messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "x"}]}))
    .expect("refused");
    assert_eq!(param.as_deref(), Some("messages[1].role"));
    assert!(message.contains("unknown variant `system`"), "{message}");
    assert_eq!(
        missing(json!({"model": "m", "max_tokens": "lots", "messages": []})).and_then(|e| e.0),
        Some("max_tokens".into())
    );
}

#[test]
fn bad_requests_name_the_offending_field() {
    let user =
        |content: Value| body_with(json!({"messages": [{"role": "user", "content": content}]}));
    let after_call = |content: Value| {
        body_with(json!({"messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": content}
        ]}))
    };
    let image = |source: Value| json!([{"type": "text", "text": "see"}, {"type": "image", "source": source}]);
    let cases = [
        (body_with(json!({"messages": []})), "messages"),
        (body_with(json!({"max_tokens": 0})), "max_tokens"),
        (user(json!("")), "messages"),
        (user(json!([{"type": "text", "text": ""}])), "messages"),
        (
            user(image(
                json!({"type": "url", "url": "https://example.com/cat.png"}),
            )),
            "messages[0].content[1].source",
        ),
        (
            user(image(json!({"type": "file", "file_id": "file_1"}))),
            "messages[0].content[1].source",
        ),
        (
            user(image(json!({"type": "svg"}))),
            "messages[0].content[1].source.type",
        ),
        (
            user(image(
                json!({"type": "base64", "media_type": "text/plain", "data": "AA"}),
            )),
            "messages[0].content[1].source.media_type",
        ),
        (
            user(image(json!({"type": "base64", "media_type": "image/png"}))),
            "messages[0].content[1].source.data",
        ),
        (
            user(json!([{"type": "image"}])),
            "messages[0].content[0].source",
        ),
        (
            user(json!([{"type": "document", "source": {"type": "text", "data": "x"}}])),
            "messages[0].content[0].type",
        ),
        (
            user(json!([{"type": "text"}])),
            "messages[0].content[0].text",
        ),
        (user(json!(["just a string"])), "messages[0].content[0]"),
        (
            user(json!([{"type": "tool_use", "id": "t", "name": "f", "input": {}}])),
            "messages[0].content[0].type",
        ),
        (user(json!(42)), "messages[0].content"),
        (
            after_call(json!([{"type": "tool_result", "tool_use_id": "t1",
                "content": [{"type": "document", "source": {}}]}])),
            "messages[2].content[0].content[0].type",
        ),
        (
            after_call(json!([{"type": "tool_result", "tool_use_id": "t1", "content": 7}])),
            "messages[2].content[0].content",
        ),
        (
            after_call(json!([{"type": "tool_result", "tool_use_id": "t1", "is_error": "yes"}])),
            "messages[2].content[0].is_error",
        ),
        (
            after_call(json!([{"type": "tool_result", "content": "x"}])),
            "messages[2].content[0].tool_use_id",
        ),
        // A result that answers no call, and a call answered twice.
        (
            user(json!([{"type": "tool_result", "tool_use_id": "nobody", "content": "x"}])),
            "messages",
        ),
        (
            after_call(json!([
                {"type": "tool_result", "tool_use_id": "t1", "content": "x"},
                {"type": "tool_result", "tool_use_id": "t1", "content": "y"}
            ])),
            "messages",
        ),
        (
            body_with(json!({"messages": [{"role": "assistant", "content": [
                {"type": "tool_use", "id": "t", "name": "f", "input": "{}"}]}]})),
            "messages[0].content[0].input",
        ),
        (
            body_with(json!({"messages": [{"role": "assistant", "content": [
                {"type": "tool_result", "tool_use_id": "t", "content": "x"}]}]})),
            "messages[0].content[0].type",
        ),
        (
            body_with(json!({"messages": [{"role": "assistant", "content": [
                {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}]}]})),
            "messages[0].content[0].type",
        ),
        (
            body_with(json!({"messages": [{"role": "assistant", "content": [
                {"type": "thinking", "thinking": "x", "signature": 5}]}]})),
            "messages[0].content[0].signature",
        ),
        (
            body_with(json!({"system": [{"type": "image", "source": {}}]})),
            "system[0].type",
        ),
        (
            body_with(json!({"tools": [{"type": "web_search_20250305", "name": "web_search"}]})),
            "tools[0].type",
        ),
        (
            body_with(json!({"tools": [{"name": "f", "input_schema": {}}, {"name": "g"}]})),
            "tools[1].input_schema",
        ),
        (
            body_with(json!({"tools": [{"name": "", "input_schema": {}}]})),
            "tools[0].name",
        ),
    ];
    for (body, param) in cases {
        assert_eq!(err_param(body.clone()), Some(param.to_owned()), "{body}");
    }
    // A trailing unanswered call is fine (the client is about to answer it).
    assert!(
        request(body_with(json!({"messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]}
        ]})))
        .is_ok()
    );
    let url = request(user(image(
        json!({"type": "url", "url": "https://x/y.png"}),
    )))
    .err()
    .map(|e| e.message)
    .unwrap_or_default();
    assert!(url.contains("does not fetch"), "{url}");
}

#[test]
fn thinking_blocks_read_back_as_the_agent_loop_assembles_them() {
    let gemini = EncryptedReasoning::new(EncryptedReasoning::GEMINI, "CiQB:sig==");
    let sealed = super::reasoning::seal(&gemini);
    assert_eq!(sealed, "cuervo-reasoning:v1:gemini:CiQB:sig==");
    let got = request(body_with(json!({"messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            // Unsigned thinking (an upstream without signatures) is kept unsigned.
            {"type": "thinking", "thinking": "plain", "signature": ""},
            {"type": "thinking", "thinking": "", "signature": ""},
            {"type": "thinking", "thinking": "sealed", "signature": sealed},
            {"type": "text", "text": "Hi."},
            {"type": "redacted_thinking", "data": sealed},
            {"type": "thinking", "thinking": "no signature field"}
        ]}
    ]})))
    .expect("valid");
    assert_eq!(
        got.messages[1].content,
        vec![
            thinking("plain", None, None),
            thinking("sealed", None, Some(gemini.clone())),
            ContentBlock::Text { text: "Hi.".into() },
            thinking("", None, Some(gemini)),
            thinking("no signature field", None, None),
        ]
    );
    // Not sealed by the proxy: Anthropic's own, kept as they are.
    assert_eq!(
        super::reasoning::unseal("cuervo-reasoning:v1:nocolon"),
        None
    );
    assert_eq!(super::reasoning::unseal("cuervo-reasoning:v1::data"), None);
    assert_eq!(super::reasoning::unseal("EqQBCkYIBxgCKkB="), None);
}

fn error(kind: ModelErrorKind, message: &str) -> (u16, Option<u64>, Value) {
    error_response(&ModelError::new("openai", kind, message))
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
            json!({"type": "error", "error": {"type": "rate_limit_error",
                "message": "openai: rate limited (HTTP 429: slow down)"}})
        )
    );
    assert_eq!(
        error(
            ModelErrorKind::Overloaded {
                retry_after_ms: Some(3000)
            },
            "busy"
        ),
        (
            529,
            Some(3),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "openai: busy"}})
        )
    );
    assert_eq!(
        error(
            ModelErrorKind::ContextWindowExceeded,
            "maximum context length is 128000"
        ),
        (
            400,
            None,
            json!({"type": "error", "error": {"type": "invalid_request_error",
                "message": "prompt is too long for the upstream model: openai: maximum context length is 128000"}})
        )
    );
    let kind = |kind, message| {
        let (status, retry, body) = error(kind, message);
        (status, retry, body["error"]["type"].clone())
    };
    let cases = [
        (
            ModelErrorKind::RateLimited {
                retry_after_ms: None,
            },
            "x",
            429,
            "rate_limit_error",
        ),
        (
            ModelErrorKind::InvalidRequest,
            "x",
            400,
            "invalid_request_error",
        ),
        (ModelErrorKind::Server, "x", 502, "api_error"),
        (ModelErrorKind::Auth, "x", 502, "api_error"),
        (
            ModelErrorKind::Network,
            "the request timed out (HTTP 408)",
            504,
            "timeout_error",
        ),
        (
            ModelErrorKind::Network,
            "connection refused",
            502,
            "api_error",
        ),
        (ModelErrorKind::StreamCut, "x", 502, "api_error"),
        (ModelErrorKind::Protocol, "x", 502, "api_error"),
        (ModelErrorKind::Cancelled, "x", 503, "api_error"),
    ];
    for (k, message, status, expected) in cases {
        assert_eq!(
            kind(k.clone(), message),
            (status, None, json!(expected)),
            "{k:?}"
        );
    }
}

#[test]
fn upstream_keys_and_urls_never_reach_the_client() {
    let (status, _, body) = error(
        ModelErrorKind::Auth,
        "the API key was rejected (HTTP 401: invalid key sk-proj-abcdef1234567890); \
         check OPENAI_API_KEY",
    );
    assert_eq!(status, 502);
    let text = body.to_string();
    assert!(!text.contains("sk-proj"), "{text}");
    assert!(!text.contains("OPENAI_API_KEY"), "{text}");
    let (_, _, body) = error(
        ModelErrorKind::Network,
        "error sending request for url (http://10.0.0.7:11434/api/chat)",
    );
    assert!(!body.to_string().contains("10.0.0.7"), "{body}");
    let (_, _, body) = error(
        ModelErrorKind::InvalidRequest,
        "bad header Bearer abcdefghijklmnop",
    );
    assert_eq!(
        body["error"]["message"],
        json!("openai: bad header Bearer [redacted]")
    );
    assert_eq!(error_event(&body), ("error".to_owned(), body.clone()));
}

#[test]
fn bad_request_body_is_anthropics_shape() {
    let err = BadRequest::new("nope", "messages[0].role");
    assert_eq!(
        err.to_response(),
        json!({"type": "error", "error": {"type": "invalid_request_error",
            "message": "messages[0].role: nope"}})
    );
    assert_eq!(
        BadRequest::general("the body must be a JSON object").to_response()["error"]["message"],
        json!("the body must be a JSON object")
    );
    // What an Anthropic client (Cuervo's own DTOs) reads.
    let read: wire::ErrorResponse =
        serde_json::from_value(err.to_response()).expect("an Anthropic client parses it");
    assert_eq!(read.error.kind, "invalid_request_error");
}
