//! A conversation with tool calls, converted between every pair of wire formats: domain →
//! format A (the adapter's `to_wire`) → the mock's reading of A back into the domain
//! (`RecordedRequest::messages`) → format B → back again. No call, result, text or image
//! may be lost or re-paired on the way.
//!
//! What a format cannot carry is compared in a normalised form: results are matched to
//! their call by position (Ollama's calls have no ids, so the mock numbers them), and a
//! failed result is its content prefixed with `Error: ` (the OpenAI formats and Ollama
//! have no error flag). Ids are compared exactly between formats that carry them.

use std::time::Instant;

use cuervo_domain::{
    ContentBlock, Message, ModelRequest, Role, ToolCall, ToolResult, ToolSpec, check_tool_pairing,
};
use cuervo_providers::{anthropic, gemini, ollama, openai, responses};
use cuervo_testkit::{RecordedRequest, WireFormat};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::PNG;

fn conversation() -> Vec<Message> {
    let call = |id: &str, name: &str, input: Value| {
        ContentBlock::ToolUse(ToolCall {
            id: id.into(),
            name: name.into(),
            input,
        })
    };
    let result = |id: &str, content: &str, is_error: bool| ToolResult {
        call_id: id.into(),
        content: content.into(),
        is_error,
    };
    vec![
        Message {
            role: Role::User,
            content: vec![
                ContentBlock::Text {
                    text: "Read main.rs, list the files, and look at this.".into(),
                },
                ContentBlock::Image {
                    media_type: "image/png".into(),
                    data_base64: PNG.into(),
                },
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Text {
                    text: "Reading.".into(),
                },
                call("call_1", "read", json!({"path": "src/main.rs"})),
                call("call_2", "glob", json!({"pattern": "**/*.rs", "limit": 50})),
            ],
        },
        Message::tool_results(vec![
            result("call_1", "fn main() {}", false),
            result("call_2", "permission denied", true),
        ]),
        Message {
            role: Role::Assistant,
            content: vec![call("call_3", "status", json!({}))],
        },
        Message::tool_results(vec![result("call_3", "clean", false)]),
        Message::user("Thanks. Now summarise."),
    ]
}

fn request(messages: Vec<Message>, model: &str) -> ModelRequest {
    let tool = |name: &str| ToolSpec {
        name: name.into(),
        description: format!("The {name} tool."),
        input_schema: json!({"type": "object"}),
    };
    ModelRequest {
        model: model.into(),
        system: Some("You are Cuervo.".into()),
        messages,
        tools: vec![tool("read"), tool("glob"), tool("status")],
        max_tokens: 1024,
        temperature: None,
        stream: true,
        thinking_budget: None,
    }
}

/// Domain → `format` → the mock's reading of it.
fn through(format: WireFormat, messages: Vec<Message>) -> Vec<Message> {
    let (path, body) = match format {
        WireFormat::Anthropic => (
            "/v1/messages".to_string(),
            serde_json::to_value(anthropic::to_wire(&request(messages, "m"), true)),
        ),
        WireFormat::OpenAiChat => (
            "/v1/chat/completions".to_string(),
            serde_json::to_value(openai::to_wire(&request(messages, "m"), false)),
        ),
        WireFormat::OpenAiResponses => (
            "/v1/responses".to_string(),
            serde_json::to_value(responses::to_wire(&request(messages, "m"), false)),
        ),
        WireFormat::Gemini => (
            "/v1beta/models/m:streamGenerateContent".to_string(),
            serde_json::to_value(gemini::to_wire(&request(messages, "m"), false)),
        ),
        WireFormat::Ollama => (
            "/api/chat".to_string(),
            serde_json::to_value(ollama::to_wire(&request(messages, "m"), Some(8_192), false)),
        ),
    };
    let recorded = RecordedRequest {
        method: "POST".into(),
        path,
        query: String::new(),
        headers: Vec::new(),
        body: body.unwrap(),
        received_at: Instant::now(),
        format,
    };
    let messages = recorded.messages();
    if let Err(e) = check_tool_pairing(&messages) {
        panic!("{format:?}: {e}\n{}", recorded.body);
    }
    messages
}

/// One piece of a message, in a form every format can express.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Text(String),
    Image(String, String),
    Call(String, Value),
    /// The position of the answered call in the previous message, and the content.
    Result(usize, String),
}

/// Messages as roles and items: texts joined, thinking left out, results matched to
/// their call by position, failures as `Error: ` content.
fn normalise(messages: &[Message]) -> Vec<(Role, Vec<Item>)> {
    let mut out: Vec<(Role, Vec<Item>)> = Vec::new();
    let mut previous_calls: Vec<String> = Vec::new();
    for message in messages {
        let mut items = Vec::new();
        let texts: Vec<&str> = message
            .content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } if !text.is_empty() => Some(text.as_str()),
                _ => None,
            })
            .collect();
        if !texts.is_empty() {
            items.push(Item::Text(texts.join("\n\n")));
        }
        let mut calls = Vec::new();
        for block in &message.content {
            match block {
                ContentBlock::Image {
                    media_type,
                    data_base64,
                } => items.push(Item::Image(media_type.clone(), data_base64.clone())),
                ContentBlock::ToolUse(call) => {
                    calls.push(call.id.clone());
                    items.push(Item::Call(call.name.clone(), call.input.clone()));
                }
                ContentBlock::ToolResult(result) => {
                    let position = previous_calls
                        .iter()
                        .position(|id| *id == result.call_id)
                        .expect("a result answers a call of the previous message");
                    let content = if result.is_error && !result.content.starts_with("Error: ") {
                        format!("Error: {}", result.content)
                    } else {
                        result.content.clone()
                    };
                    items.push(Item::Result(position, content));
                }
                _ => {}
            }
        }
        if message.role == Role::Assistant {
            previous_calls = calls;
        }
        if !items.is_empty() {
            out.push((message.role, items));
        }
    }
    out
}

/// Every call id and every result's call id, in order.
fn ids(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::ToolUse(call) => Some(call.id.clone()),
            ContentBlock::ToolResult(result) => Some(result.call_id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_format_reads_back_what_it_was_given() {
    let original = conversation();
    for format in WireFormat::ALL {
        let back = through(format, original.clone());
        assert_eq!(normalise(&back), normalise(&original), "{format:?}");
        if format.carries_call_ids() {
            assert_eq!(ids(&back), ids(&original), "{format:?}");
        }
    }
}

#[test]
fn every_pair_of_formats_keeps_every_call_and_result() {
    let original = conversation();
    let expected = normalise(&original);
    for a in WireFormat::ALL {
        let via_a = through(a, original.clone());
        for b in WireFormat::ALL {
            if a == b {
                continue;
            }
            let via_b = through(b, via_a.clone());
            assert_eq!(normalise(&via_b), expected, "{a:?} → {b:?}");
            let calls = |m: &[Message]| m.iter().flat_map(Message::tool_calls).count();
            let results = |m: &[Message]| m.iter().flat_map(Message::tool_results_iter).count();
            assert_eq!(calls(&via_b), 3, "{a:?} → {b:?}");
            assert_eq!(results(&via_b), 3, "{a:?} → {b:?}");
            if a.carries_call_ids() && b.carries_call_ids() {
                assert_eq!(ids(&via_b), ids(&original), "{a:?} → {b:?}");
            }
        }
    }
}

#[test]
fn a_chain_through_all_formats_comes_back_whole() {
    let original = conversation();
    let mut messages = original.clone();
    for format in WireFormat::ALL.iter().chain(WireFormat::ALL.iter()) {
        messages = through(*format, messages);
    }
    assert_eq!(normalise(&messages), normalise(&original));
}
