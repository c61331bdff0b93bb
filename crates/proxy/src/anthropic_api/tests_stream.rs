//! The answer side: whole messages, events, and their agreement.

use super::*;

fn text(t: &str) -> ModelChunk {
    ModelChunk::Text { text: t.into() }
}

fn think(t: &str) -> ModelChunk {
    ModelChunk::Thinking { thinking: t.into() }
}

fn signature(s: &str) -> ModelChunk {
    ModelChunk::ThinkingSignature {
        signature: s.into(),
    }
}

fn encrypted(format: &str, data: &str) -> ModelChunk {
    ModelChunk::ThinkingEncrypted {
        encrypted: EncryptedReasoning::new(format, data),
    }
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
    json!({"input_tokens": 100, "output_tokens": 20,
           "cache_creation_input_tokens": 5, "cache_read_input_tokens": 30})
}

fn build(chunks: Vec<ModelChunk>) -> MessageResponse {
    let mut builder = MessageBuilder::new("msg_1", "smart");
    for chunk in chunks {
        builder.push(chunk);
    }
    builder.finish()
}

fn encode(chunks: Vec<ModelChunk>) -> Vec<SseEvent> {
    let mut encoder = EventEncoder::new("msg_1", "smart");
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(encoder.push(chunk));
    }
    out.extend(encoder.finish());
    out
}

#[test]
fn builds_a_whole_message() {
    let message = build(vec![
        ModelChunk::Usage {
            usage: Usage {
                input_tokens: 100,
                cache_read_tokens: 30,
                cache_write_tokens: 5,
                ..Usage::default()
            },
        },
        think("Let me "),
        think("look."),
        signature("sig-1"),
        text("Reading "),
        text(""),
        text("both."),
        start("toolu_a", "Read"),
        call("toolu_a", "Read", json!({"file_path": "main.rs"})),
        call("toolu_b", "Glob", json!({"pattern": "*"})),
        ModelChunk::Usage {
            usage: Usage {
                output_tokens: 20,
                ..Usage::default()
            },
        },
        stop(StopReason::ToolUse),
    ]);
    let json = serde_json::to_value(&message).expect("serialises");
    assert_eq!(
        json,
        json!({
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "smart",
            "content": [
                {"type": "thinking", "thinking": "Let me look.", "signature": "sig-1"},
                {"type": "text", "text": "Reading both."},
                {"type": "tool_use", "id": "toolu_a", "name": "Read", "input": {"file_path": "main.rs"}},
                {"type": "tool_use", "id": "toolu_b", "name": "Glob", "input": {"pattern": "*"}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": usage_json()
        })
    );
    // What an Anthropic client (Cuervo's own DTOs) reads back.
    let read: wire::MessagesResponse =
        serde_json::from_value(json).expect("an Anthropic client parses it");
    assert_eq!(read.content.len(), 4);
    assert_eq!(read.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(read.usage.cache_read_input_tokens, Some(30));
}

#[test]
fn an_empty_or_cut_answer_is_still_a_message() {
    let message = build(vec![]);
    assert_eq!(message.content, vec![]);
    assert_eq!(message.stop_reason, "end_turn");
    assert_eq!(message.usage, ResponseUsage::default());
    // A call announced but never completed is left out; the text after it stays.
    let message = build(vec![start("lost", "Read"), text("partial")]);
    assert_eq!(
        message.content,
        vec![ResponseBlock::Text {
            text: "partial".into()
        }]
    );
    assert_eq!(message.stop_reason, "end_turn");
}

#[test]
fn every_stop_reason_has_anthropics_name() {
    let cases = [
        (StopReason::EndTurn, false, "end_turn"),
        (StopReason::EndTurn, true, "tool_use"),
        (StopReason::ToolUse, true, "tool_use"),
        (StopReason::ToolUse, false, "end_turn"),
        (StopReason::MaxTokens, true, "max_tokens"),
        (StopReason::StopSequence, false, "stop_sequence"),
        (StopReason::Refusal, false, "refusal"),
        (StopReason::Other("pause_turn".into()), false, "pause_turn"),
        (
            StopReason::Other("MALFORMED_FUNCTION_CALL".into()),
            false,
            "end_turn",
        ),
        (StopReason::Other("weird".into()), true, "tool_use"),
    ];
    for (reason, with_call, expected) in cases {
        let mut chunks = Vec::new();
        if with_call {
            chunks.push(call("c", "f", json!({})));
        }
        chunks.push(stop(reason.clone()));
        assert_eq!(
            build(chunks.clone()).stop_reason,
            expected,
            "{reason:?} whole"
        );
        let events = encode(chunks);
        let delta = events
            .iter()
            .find(|(name, _)| name == "message_delta")
            .map(|(_, data)| data["delta"]["stop_reason"].clone());
        assert_eq!(delta, Some(json!(expected)), "{reason:?} streamed");
    }
}

fn message_start(usage: Value) -> SseEvent {
    (
        "message_start".into(),
        json!({"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "smart",
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}}),
    )
}

fn zero_usage() -> Value {
    json!({"input_tokens": 0, "output_tokens": 0,
           "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
}

fn block_start(index: usize, block: Value) -> SseEvent {
    (
        "content_block_start".into(),
        json!({"type": "content_block_start", "index": index, "content_block": block}),
    )
}

fn block_delta(index: usize, delta: Value) -> SseEvent {
    (
        "content_block_delta".into(),
        json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

fn block_stop(index: usize) -> SseEvent {
    (
        "content_block_stop".into(),
        json!({"type": "content_block_stop", "index": index}),
    )
}

fn message_end(reason: &str, usage: Value) -> Vec<SseEvent> {
    vec![
        (
            "message_delta".into(),
            json!({"type": "message_delta",
                   "delta": {"stop_reason": reason, "stop_sequence": null}, "usage": usage}),
        ),
        ("message_stop".into(), json!({"type": "message_stop"})),
    ]
}

#[test]
fn streams_thinking_text_and_tool_calls() {
    let events = encode(vec![
        think("Hmm"),
        think("."),
        signature("sig-1"),
        think("More."),
        text("Reading."),
        start("toolu_a", "Read"),
        call("toolu_a", "Read", json!({"file_path": "a.rs"})),
        call("toolu_b", "Glob", json!({})),
        the_usage(),
        stop(StopReason::ToolUse),
    ]);
    let mut expected = vec![
        message_start(zero_usage()),
        block_start(
            0,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
        ),
        block_delta(0, json!({"type": "thinking_delta", "thinking": "Hmm"})),
        block_delta(0, json!({"type": "thinking_delta", "thinking": "."})),
        block_delta(0, json!({"type": "signature_delta", "signature": "sig-1"})),
        block_stop(0),
        block_start(
            1,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
        ),
        block_delta(1, json!({"type": "thinking_delta", "thinking": "More."})),
        block_stop(1),
        block_start(2, json!({"type": "text", "text": ""})),
        block_delta(2, json!({"type": "text_delta", "text": "Reading."})),
        block_stop(2),
        block_start(
            3,
            json!({"type": "tool_use", "id": "toolu_a", "name": "Read", "input": {}}),
        ),
        block_delta(
            3,
            json!({"type": "input_json_delta", "partial_json": "{\"file_path\":\"a.rs\"}"}),
        ),
        block_stop(3),
        // No announcement: the block opens and fills at once.
        block_start(
            4,
            json!({"type": "tool_use", "id": "toolu_b", "name": "Glob", "input": {}}),
        ),
        block_delta(4, json!({"type": "input_json_delta", "partial_json": "{}"})),
        block_stop(4),
    ];
    expected.extend(message_end("tool_use", usage_json()));
    assert_eq!(events, expected);
}

#[test]
fn calls_announced_together_stream_one_after_another() {
    // An upstream announces both calls (and says something) before completing either,
    // and completes them out of order: each block stays open until its arguments come,
    // what arrives meanwhile follows in order.
    let events = encode(vec![
        start("a", "Read"),
        start("b", "Glob"),
        text("betw"),
        text("een"),
        call("b", "Glob", json!({"pattern": "*"})),
        start("a", "Read"), // a repeat: ignored
        call("a", "Read", json!({"path": "x"})),
        stop(StopReason::ToolUse),
    ]);
    let mut expected = vec![
        message_start(zero_usage()),
        block_start(
            0,
            json!({"type": "tool_use", "id": "a", "name": "Read", "input": {}}),
        ),
        block_delta(
            0,
            json!({"type": "input_json_delta", "partial_json": "{\"path\":\"x\"}"}),
        ),
        block_stop(0),
        block_start(
            1,
            json!({"type": "tool_use", "id": "b", "name": "Glob", "input": {}}),
        ),
        block_delta(
            1,
            json!({"type": "input_json_delta", "partial_json": "{\"pattern\":\"*\"}"}),
        ),
        block_stop(1),
        block_start(2, json!({"type": "text", "text": ""})),
        block_delta(2, json!({"type": "text_delta", "text": "betw"})),
        block_delta(2, json!({"type": "text_delta", "text": "een"})),
        block_stop(2),
    ];
    expected.extend(message_end("tool_use", zero_usage()));
    assert_eq!(events, expected);
}

#[test]
fn a_cut_stream_closes_what_is_open() {
    let mut encoder = EventEncoder::new("msg_1", "smart");
    // message_start can go out before the upstream says anything, once.
    assert_eq!(encoder.start(), vec![message_start(zero_usage())]);
    assert!(encoder.start().is_empty());
    let mut events = encoder.push(start("a", "Read"));
    events.extend(encoder.push(text("waiting for a")));
    let mut expected = vec![block_start(
        0,
        json!({"type": "tool_use", "id": "a", "name": "Read", "input": {}}),
    )];
    assert_eq!(events, expected);
    // The call never completes: its block closes without arguments, the text follows.
    expected = vec![
        block_stop(0),
        block_start(1, json!({"type": "text", "text": ""})),
        block_delta(1, json!({"type": "text_delta", "text": "waiting for a"})),
        block_stop(1),
    ];
    expected.extend(message_end("tool_use", zero_usage()));
    assert_eq!(encoder.finish(), expected);
    assert!(encoder.finish().is_empty(), "finish is once");
    assert!(encoder.push(text("late")).is_empty());
}

#[test]
fn the_first_event_is_message_start_whatever_comes_first() {
    let mut encoder = EventEncoder::new("msg_1", "smart");
    // The usage known before anything else goes into message_start.
    assert_eq!(encoder.push(the_usage()), vec![message_start(usage_json())]);
    assert_eq!(encoder.usage().cache_write_tokens, 5);

    let mut expected = vec![message_start(zero_usage())];
    expected.extend(message_end("end_turn", zero_usage()));
    assert_eq!(encode(vec![]), expected);
    assert_eq!(ping_event(), ("ping".into(), json!({"type": "ping"})));
}

#[test]
fn encrypted_reasoning_travels_in_the_fields_clients_send_back() {
    let events = encode(vec![
        think("Gemini thinks."),
        encrypted(EncryptedReasoning::GEMINI, "sig=="),
        call("c1", "f", json!({})),
        encrypted(EncryptedReasoning::OPENAI_RESPONSES, "gAAA"),
        encrypted(EncryptedReasoning::ANTHROPIC_REDACTED, "EqRed=="),
        signature("orphan"), // no thinking block open: dropped
        stop(StopReason::EndTurn),
    ]);
    let mut expected = vec![
        message_start(zero_usage()),
        block_start(
            0,
            json!({"type": "thinking", "thinking": "", "signature": ""}),
        ),
        block_delta(
            0,
            json!({"type": "thinking_delta", "thinking": "Gemini thinks."}),
        ),
        block_delta(
            0,
            json!({"type": "signature_delta", "signature": "cuervo-reasoning:v1:gemini:sig=="}),
        ),
        block_stop(0),
        block_start(
            1,
            json!({"type": "tool_use", "id": "c1", "name": "f", "input": {}}),
        ),
        block_delta(1, json!({"type": "input_json_delta", "partial_json": "{}"})),
        block_stop(1),
        block_start(
            2,
            json!({"type": "redacted_thinking", "data": "cuervo-reasoning:v1:openai-responses:gAAA"}),
        ),
        block_stop(2),
        block_start(3, json!({"type": "redacted_thinking", "data": "EqRed=="})),
        block_stop(3),
    ];
    expected.extend(message_end("tool_use", zero_usage()));
    assert_eq!(events, expected);
}

/// A conversation's worth of chunks exercising every kind of block.
fn every_kind() -> Vec<ModelChunk> {
    vec![
        think("Plan."),
        signature("sig-1"),
        encrypted(EncryptedReasoning::ANTHROPIC_REDACTED, "EqRed=="),
        think("Gemini."),
        encrypted(EncryptedReasoning::GEMINI, "gsig"),
        text("Doing it."),
        start("a", "Read"),
        start("b", "Glob"),
        call("b", "Glob", json!({"pattern": "*.rs"})),
        call("a", "Read", json!({"path": "x", "n": [1, 2]})),
        encrypted(EncryptedReasoning::GEMINI, "alone"),
        call("c", "Bash", json!({"command": "ls"})),
        the_usage(),
        stop(StopReason::ToolUse),
    ]
}

/// What an Anthropic client accumulates from the events (as the SDKs do), read with
/// Cuervo's own client-side DTOs.
fn accumulate(events: &[SseEvent]) -> (Vec<ResponseBlock>, Option<String>, wire::Usage) {
    let mut blocks: Vec<ResponseBlock> = Vec::new();
    let mut json_bufs: Vec<String> = Vec::new();
    let mut stop_reason = None;
    let mut usage = wire::Usage::default();
    for (name, data) in events {
        assert_eq!(data["type"], json!(name), "the data repeats the event name");
        let event: wire::StreamEvent =
            serde_json::from_value(data.clone()).expect("an Anthropic client parses it");
        match event {
            wire::StreamEvent::MessageStart { message } => {
                assert!(message.content.is_empty());
                usage = message.usage;
            }
            wire::StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                assert_eq!(index, blocks.len(), "indexes count from 0 in order");
                blocks.push(match content_block {
                    wire::ContentBlock::Text { text, .. } => ResponseBlock::Text { text },
                    wire::ContentBlock::Thinking {
                        thinking,
                        signature,
                    } => ResponseBlock::Thinking {
                        thinking,
                        signature,
                    },
                    wire::ContentBlock::RedactedThinking { data } => {
                        ResponseBlock::RedactedThinking { data }
                    }
                    wire::ContentBlock::ToolUse {
                        id, name, input, ..
                    } => ResponseBlock::ToolUse { id, name, input },
                    other => panic!("unexpected block {other:?}"),
                });
                json_bufs.push(String::new());
            }
            wire::StreamEvent::ContentBlockDelta { index, delta } => {
                assert_eq!(index + 1, blocks.len(), "deltas go to the open block");
                match (&mut blocks[index], delta) {
                    (ResponseBlock::Text { text }, wire::Delta::TextDelta { text: more }) => {
                        text.push_str(&more)
                    }
                    (
                        ResponseBlock::Thinking { thinking, .. },
                        wire::Delta::ThinkingDelta { thinking: more },
                    ) => thinking.push_str(&more),
                    (
                        ResponseBlock::Thinking { signature, .. },
                        wire::Delta::SignatureDelta { signature: s },
                    ) => *signature = s,
                    (
                        ResponseBlock::ToolUse { .. },
                        wire::Delta::InputJsonDelta { partial_json },
                    ) => json_bufs[index].push_str(&partial_json),
                    (block, delta) => panic!("{delta:?} for {block:?}"),
                }
            }
            wire::StreamEvent::ContentBlockStop { index } => {
                if let ResponseBlock::ToolUse { input, .. } = &mut blocks[index]
                    && !json_bufs[index].is_empty()
                {
                    *input = serde_json::from_str(&json_bufs[index]).expect("arguments parse");
                }
            }
            wire::StreamEvent::MessageDelta { delta, usage: u } => {
                stop_reason = delta.stop_reason;
                usage = u;
            }
            wire::StreamEvent::MessageStop => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
    (blocks, stop_reason, usage)
}

#[test]
fn a_stream_and_a_whole_message_hold_the_same_answer() {
    let chunks = every_kind();
    let whole = build(chunks.clone());
    let (blocks, stop_reason, usage) = accumulate(&encode(chunks));
    assert_eq!(blocks, whole.content);
    assert_eq!(stop_reason.as_deref(), Some(whole.stop_reason.as_str()));
    assert_eq!(usage.input_tokens, Some(whole.usage.input_tokens));
    assert_eq!(usage.output_tokens, Some(20));
    assert_eq!(usage.cache_creation_input_tokens, Some(5));
    assert_eq!(
        serde_json::to_value(&whole.content).expect("serialises"),
        json!([
            {"type": "thinking", "thinking": "Plan.", "signature": "sig-1"},
            {"type": "redacted_thinking", "data": "EqRed=="},
            {"type": "thinking", "thinking": "Gemini.", "signature": "cuervo-reasoning:v1:gemini:gsig"},
            {"type": "text", "text": "Doing it."},
            {"type": "tool_use", "id": "a", "name": "Read", "input": {"path": "x", "n": [1, 2]}},
            {"type": "tool_use", "id": "b", "name": "Glob", "input": {"pattern": "*.rs"}},
            {"type": "redacted_thinking", "data": "cuervo-reasoning:v1:gemini:alone"},
            {"type": "tool_use", "id": "c", "name": "Bash", "input": {"command": "ls"}}
        ])
    );
}

#[test]
fn an_answer_sent_back_is_the_turn_the_agent_loop_would_keep() {
    // The client sends the answer back as the assistant turn of its next request; the
    // domain blocks are those the agent loop assembles from the same chunks (thinking,
    // then its signature or encrypted reasoning in the same block).
    let whole = build(every_kind());
    let content = serde_json::to_value(&whole.content).expect("serialises");
    let body = json!({"model": "smart", "max_tokens": 100, "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": content}
    ]});
    let request = to_model_request(
        &parse_request(body.to_string().as_bytes()).expect("parses"),
        "up",
    )
    .expect("valid");
    let gemini = |data: &str| Some(EncryptedReasoning::new(EncryptedReasoning::GEMINI, data));
    let thinking = |text: &str, signature: Option<&str>, encrypted| ContentBlock::Thinking {
        thinking: text.into(),
        signature: signature.map(Into::into),
        encrypted,
    };
    let tool = |id: &str, name: &str, input: Value| {
        ContentBlock::ToolUse(ToolCall {
            id: id.into(),
            name: name.into(),
            input,
        })
    };
    assert_eq!(
        request.messages[1].content,
        vec![
            thinking(
                "Plan.",
                Some("sig-1"),
                Some(EncryptedReasoning::new(
                    EncryptedReasoning::ANTHROPIC_REDACTED,
                    "EqRed=="
                ))
            ),
            thinking("Gemini.", None, gemini("gsig")),
            ContentBlock::Text {
                text: "Doing it.".into()
            },
            tool("a", "Read", json!({"path": "x", "n": [1, 2]})),
            tool("b", "Glob", json!({"pattern": "*.rs"})),
            thinking("", None, gemini("alone")),
            tool("c", "Bash", json!({"command": "ls"})),
        ]
    );
}
