//! The OpenAI Responses adapter against the mock's `/v1/responses`.

use cuervo_domain::{
    ContentBlock, EncryptedReasoning, Message, ModelChunk, ModelErrorKind, StopReason, ToolResult,
};
use cuervo_providers::WireKind;
use cuervo_testkit::{MockServer, Script, Step, Turn, mock_embedding};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::*;

const KIND: WireKind = WireKind::OpenAiResponses;

#[tokio::test]
async fn streams_a_text_reply_with_the_right_request() {
    let server = MockServer::start(Script::new(vec![
        Turn::text("Hello from the mock.").with_usage(42, 7),
    ]))
    .await
    .unwrap();
    let chunks = chunks(collect(&*provider(KIND, &server), request(true)).await);
    assert_eq!(text(&chunks), "Hello from the mock.");
    assert!(
        chunks
            .iter()
            .filter(|c| matches!(c, ModelChunk::Text { .. }))
            .count()
            > 1,
        "text arrives in deltas: {chunks:?}"
    );
    assert!(chunks.iter().any(|c| matches!(
        c,
        ModelChunk::Usage { usage } if usage.input_tokens == 42 && usage.output_tokens == 7
    )));
    assert_eq!(stop(&chunks), StopReason::EndTurn);

    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.header("authorization"), Some("Bearer test-key"));
    assert_eq!(
        sent.body,
        json!({
            "model": "mock-model",
            "instructions": "You are a test.",
            "input": [{"type": "message", "role": "user",
                       "content": [{"type": "input_text", "text": "Say hello."}]}],
            "tools": [{"type": "function", "name": "read", "description": "Reads a file.",
                       "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
                       "strict": false}],
            "max_output_tokens": 256,
            "store": false,
            "stream": true
        })
    );
    assert_eq!(sent.system().as_deref(), Some("You are a test."));
}

#[tokio::test]
async fn non_streaming_gives_the_same_answer() {
    let server = MockServer::start(Script::new(vec![Turn::text("Hello from the mock.")]))
        .await
        .unwrap();
    let chunks = chunks(collect(&*provider(KIND, &server), request(false)).await);
    assert_eq!(text(&chunks), "Hello from the mock.");
    assert!(has_usage(&chunks), "{chunks:?}");
    assert_eq!(stop(&chunks), StopReason::EndTurn);
    assert_eq!(server.requests()[0].body["stream"], json!(false));
}

#[tokio::test]
async fn function_calls_stream_and_not() {
    for stream in [true, false] {
        let server = MockServer::start(Script::new(vec![Turn::steps(vec![
            Step::text("Let me read it."),
            Step::tool_call_with_id("call_a", "read", json!({"path": "README.md", "limit": 20})),
            Step::tool_call("glob", json!({})),
        ])]))
        .await
        .unwrap();
        let chunks = chunks(collect(&*provider(KIND, &server), request(stream)).await);
        let calls = tool_calls(&chunks);
        assert_eq!(calls.len(), 2, "{chunks:?}");
        assert_eq!(calls[0].id, "call_a");
        assert_eq!(calls[0].input, json!({"path": "README.md", "limit": 20}));
        assert_eq!(calls[1].name, "glob");
        assert_eq!(calls[1].input, json!({}));
        let start = chunks
            .iter()
            .position(|c| matches!(c, ModelChunk::ToolUseStart { id, .. } if id == "call_a"))
            .expect("announced");
        let done = chunks
            .iter()
            .position(|c| matches!(c, ModelChunk::ToolUse { call } if call.id == "call_a"))
            .expect("completed");
        assert!(start < done);
        assert_eq!(stop(&chunks), StopReason::ToolUse, "stream: {stream}");
    }
}

#[tokio::test]
async fn encrypted_reasoning_is_carried_to_the_next_turn() {
    let server = MockServer::start(Script::new(vec![
        Turn::steps(vec![
            Step::thinking("I should read the file first."),
            Step::tool_call_with_id("call_r", "read", json!({"path": "a.rs"})),
        ]),
        Turn::text("It is empty."),
    ]))
    .await
    .unwrap();
    let provider = provider(KIND, &server);
    let mut first = request(true);
    first.model = "o4-mini".into();
    first.thinking_budget = Some(20_000);
    first.temperature = Some(0.5);
    let reply = chunks(collect(&*provider, first.clone()).await);
    assert_eq!(thinking(&reply), "I should read the file first.");
    let encrypted = EncryptedReasoning::new(
        EncryptedReasoning::OPENAI_RESPONSES,
        "mock_encrypted_rs_mock_001_0",
    );
    assert!(
        reply.contains(&ModelChunk::ThinkingEncrypted {
            encrypted: encrypted.clone()
        }),
        "{reply:?}"
    );
    let sent = &server.requests()[0].body;
    assert_eq!(
        sent["reasoning"],
        json!({"effort": "high", "summary": "auto"})
    );
    assert_eq!(sent["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(sent.get("temperature"), None, "reasoning models refuse it");

    // The next request carries the reasoning back, before the call it led to.
    let mut next = first;
    next.messages.push(assemble(&reply));
    next.messages.push(Message::tool_results(vec![ToolResult {
        call_id: "call_r".into(),
        content: String::new(),
        is_error: false,
    }]));
    let answer = chunks(collect(&*provider, next).await);
    assert_eq!(text(&answer), "It is empty.");
    let sent = &server.requests()[1];
    let input = sent.body["input"].as_array().expect("input");
    assert_eq!(
        input[1],
        json!({"type": "reasoning",
               "summary": [{"type": "summary_text", "text": "I should read the file first."}],
               "encrypted_content": "mock_encrypted_rs_mock_001_0"})
    );
    assert_eq!(input[2]["type"], "function_call");
    assert_eq!(
        input[3],
        json!({"type": "function_call_output", "call_id": "call_r", "output": ""})
    );
    server.assert_tool_pairing();
    let assistant = &sent.messages()[1];
    assert!(assistant.content.iter().any(|b| matches!(
        b,
        ContentBlock::Thinking { encrypted: Some(e), .. } if *e == encrypted
    )));
}

#[tokio::test]
async fn incomplete_answers_and_mid_stream_failures() {
    for stream in [true, false] {
        let server = MockServer::start(Script::new(vec![
            Turn::text("A long answer").with_stop_reason("max_tokens"),
            Turn::text("A filtered answer").with_stop_reason("refusal"),
        ]))
        .await
        .unwrap();
        let provider = provider(KIND, &server);
        let long = chunks(collect(&*provider, request(stream)).await);
        assert_eq!(stop(&long), StopReason::MaxTokens);
        let filtered = chunks(collect(&*provider, request(stream)).await);
        assert_eq!(stop(&filtered), StopReason::Refusal);
    }
    let server = MockServer::start(Script::new(vec![Turn::stream_error(
        "The model failed to generate a response.",
    )]))
    .await
    .unwrap();
    let items = collect(&*provider(KIND, &server), request(true)).await;
    assert!(matches!(items[0], Ok(ModelChunk::Text { .. })), "{items:?}");
    let error = error(items);
    assert_eq!(error.kind, ModelErrorKind::Server);
    assert!(
        error.message.contains("failed to generate"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn embeddings_and_availability() {
    let server = MockServer::start(Script::new(vec![])).await.unwrap();
    let provider = provider(KIND, &server);
    let texts = vec!["fn main() {}".to_string(), "hello".to_string()];
    let vectors = provider.embed(&texts).await.unwrap();
    assert_eq!(
        vectors,
        vec![mock_embedding("fn main() {}"), mock_embedding("hello")]
    );
    let side = server.side_requests();
    assert_eq!(side[0].path, "/v1/embeddings");
    assert_eq!(side[0].body["model"], json!("text-embedding-3-small"));
    assert_eq!(side[0].header("authorization"), Some("Bearer test-key"));
    assert!(provider.embed(&[]).await.unwrap().is_empty());
    assert!(provider.is_available().await);
    assert!(server.requests().is_empty());
}
