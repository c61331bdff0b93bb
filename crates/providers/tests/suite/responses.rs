//! The OpenAI Responses adapter against the mock's `/v1/responses`.

use cuervo_domain::{ContentBlock, EncryptedReasoning, Message, ModelChunk, ToolResult};
use cuervo_providers::WireKind;
use cuervo_testkit::{MockServer, Script, Step, Turn, mock_embedding};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::*;

const KIND: WireKind = WireKind::OpenAiResponses;

#[tokio::test]
async fn a_streamed_request_has_the_right_body() {
    let (server, _) = answer(KIND, vec![Turn::text("Hi.")], request(true)).await;
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
