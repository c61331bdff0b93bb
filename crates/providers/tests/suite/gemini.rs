//! The Gemini adapter against the mock's `/v1beta/models/{model}:generateContent`.

use cuervo_domain::{
    ContentBlock, EncryptedReasoning, Message, ModelChunk, ModelErrorKind, StopReason, ToolResult,
};
use cuervo_providers::WireKind;
use cuervo_testkit::{MockServer, Script, Step, Turn, mock_embedding};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::*;

const KIND: WireKind = WireKind::Gemini;

#[tokio::test]
async fn a_streamed_request_goes_over_sse_with_the_key_header() {
    let (server, _) = answer(KIND, vec![Turn::text("Hi.")], request(true)).await;
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1beta/models/mock-model:streamGenerateContent");
    assert_eq!(sent.query, "alt=sse");
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert!(sent.is_stream());
    assert_eq!(sent.model(), Some("mock-model"));
    assert_eq!(
        sent.body,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Say hello."}]}],
            "systemInstruction": {"parts": [{"text": "You are a test."}]},
            "tools": [{"functionDeclarations": [{"name": "read", "description": "Reads a file.",
                "parametersJsonSchema": {"type": "object", "properties": {"path": {"type": "string"}}}}]}],
            "generationConfig": {"maxOutputTokens": 256}
        })
    );
    assert_eq!(sent.tool_names(), vec!["read"]);
}

#[tokio::test]
async fn non_streaming_calls_generate_content() {
    let (server, _) = answer(KIND, vec![Turn::text("Hi.")], request(false)).await;
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1beta/models/mock-model:generateContent");
    assert!(!sent.is_stream());
}

#[tokio::test]
async fn calls_get_ids_and_results_go_back_named_with_them() {
    for stream in [true, false] {
        let server = MockServer::start(Script::new(vec![
            Turn::tool_calls([
                ("read", json!({"path": "README.md"})),
                ("glob", json!({"pattern": "*"})),
            ]),
            Turn::text("Done."),
        ]))
        .await
        .unwrap();
        let provider = provider(KIND, &server);
        let reply = chunks(collect(&*provider, request(stream)).await);
        let calls = tool_calls(&reply);
        assert_eq!(calls.len(), 2, "{reply:?}");
        // The API sends no ids; the adapter makes them from the response id.
        assert_eq!(calls[0].id, "call_mock-response-001_0");
        assert_eq!(calls[1].id, "call_mock-response-001_1");
        assert_eq!(
            stop(&reply),
            StopReason::ToolUse,
            "STOP after calls is tool use"
        );

        let mut next = request(stream);
        next.messages.push(assemble(&reply));
        next.messages.push(Message::tool_results(vec![
            ToolResult {
                call_id: calls[0].id.clone(),
                content: "# Hello".into(),
                is_error: false,
            },
            ToolResult {
                call_id: calls[1].id.clone(),
                content: "permission denied".into(),
                is_error: true,
            },
        ]));
        let answer = chunks(collect(&*provider, next).await);
        assert_eq!(text(&answer), "Done.");
        server.assert_tool_pairing();
        let contents = &server.requests()[1].body["contents"];
        assert_eq!(
            contents[1]["parts"][0],
            json!({"functionCall": {"id": calls[0].id, "name": "read", "args": {"path": "README.md"}}})
        );
        assert_eq!(
            contents[2],
            json!({"role": "user", "parts": [
                {"functionResponse": {"id": calls[0].id, "name": "read", "response": {"output": "# Hello"}}},
                {"functionResponse": {"id": calls[1].id, "name": "glob", "response": {"error": "permission denied"}}}
            ]})
        );
    }
}

#[tokio::test]
async fn thinking_budget_thoughts_and_signatures() {
    let server = MockServer::start(Script::new(vec![
        Turn::steps(vec![
            Step::thinking("The user wants the README."),
            Step::tool_call("read", json!({"path": "README.md"})),
        ]),
        Turn::text("Done."),
    ]))
    .await
    .unwrap();
    let provider = provider(KIND, &server);
    let mut first = request(true);
    first.model = "gemini-2.5-flash".into();
    first.thinking_budget = Some(2_048);
    let reply = chunks(collect(&*provider, first.clone()).await);
    assert_eq!(thinking(&reply), "The user wants the README.");
    let signature = EncryptedReasoning::new(
        EncryptedReasoning::GEMINI,
        "mock_thought_signature_mock-response-001_1",
    );
    assert!(
        reply.contains(&ModelChunk::ThinkingEncrypted {
            encrypted: signature.clone()
        }),
        "{reply:?}"
    );
    assert_eq!(
        server.requests()[0].body["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 2048, "includeThoughts": true})
    );

    let calls = tool_calls(&reply);
    let mut next = first;
    next.messages.push(assemble(&reply));
    next.messages.push(Message::tool_results(vec![ToolResult {
        call_id: calls[0].id.clone(),
        content: "# Hello".into(),
        is_error: false,
    }]));
    chunks(collect(&*provider, next).await);
    let sent = &server.requests()[1];
    let part = &sent.body["contents"][1]["parts"][0];
    assert_eq!(part["thoughtSignature"], json!(signature.data), "{part}");
    assert!(part.get("functionCall").is_some());
    assert!(
        sent.body["contents"][1]["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .all(|p| p.get("thought").is_none()),
        "thought summaries are not sent back"
    );
    assert!(sent.messages()[1].content.iter().any(|b| matches!(
        b,
        ContentBlock::Thinking { encrypted: Some(e), .. } if *e == signature
    )));
}

#[tokio::test]
async fn an_anonymous_call_is_refused_as_auth() {
    let server = MockServer::start(Script::new(vec![Turn::text("no")]))
        .await
        .unwrap();
    // The adapter always sends its key; an extra header blanks it, so the call is
    // anonymous and the mock answers as Google does.
    let provider = provider_with(KIND, &server, |s| {
        s.api_key = Some("test-key".into());
        s.extra_headers.push(("x-goog-api-key".into(), " ".into()));
    });
    let error = error(collect(&*provider, request(true)).await);
    assert_eq!(error.kind, ModelErrorKind::Auth, "{error}");
    assert!(
        error.message.contains("unregistered callers"),
        "{}",
        error.message
    );
    assert_eq!(server.remaining_turns(), 1, "a refused call uses no turn");
}

#[tokio::test]
async fn embeddings_batch_and_availability() {
    let server = MockServer::start(Script::new(vec![])).await.unwrap();
    let provider = provider_with(KIND, &server, |s| {
        s.embedding_model = Some("models/embedding-mock".into());
    });
    let texts = vec!["a".to_string(), "b".to_string(), "c".to_string()];
    let vectors = provider.embed(&texts).await.unwrap();
    assert_eq!(
        vectors,
        texts.iter().map(|t| mock_embedding(t)).collect::<Vec<_>>()
    );
    let side = &server.side_requests()[0];
    assert_eq!(
        side.path,
        "/v1beta/models/embedding-mock:batchEmbedContents"
    );
    assert_eq!(
        side.body["requests"][0]["model"],
        json!("models/embedding-mock")
    );
    assert_eq!(
        side.body["requests"][2]["content"]["parts"][0]["text"],
        json!("c")
    );
    assert!(provider.is_available().await);
}
