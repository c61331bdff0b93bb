//! The OpenAI-compatible adapter against the mock's `/v1/chat/completions`.

use cuervo_providers::WireKind;
use cuervo_testkit::{MockServer, Script, Turn};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::*;

const KIND: WireKind = WireKind::OpenAiChat;

#[tokio::test]
async fn a_streamed_request_has_the_right_headers_and_body() {
    let (server, _) = answer(KIND, vec![Turn::text("Hi.")], request(true)).await;
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer test-key"));
    assert_eq!(sent.header("x-api-key"), None);
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.body["stream"], json!(true));
    assert_eq!(sent.body["stream_options"], json!({"include_usage": true}));
    assert_eq!(sent.body["max_tokens"], json!(256));
    assert_eq!(
        sent.body["messages"][0],
        json!({"role": "system", "content": "You are a test."})
    );
    assert_eq!(sent.body["tools"][0]["function"]["name"], json!("read"));
}

#[tokio::test]
async fn a_non_streaming_request_asks_for_no_stream_options() {
    let (server, _) = answer(KIND, vec![Turn::text("Hi.")], request(false)).await;
    let sent = &server.requests()[0].body;
    assert_eq!(sent.get("stream_options"), None);
}

#[tokio::test]
async fn tool_results_go_back_as_tool_messages() {
    let server = MockServer::start(Script::new(vec![Turn::text("It says hello.")]))
        .await
        .unwrap();
    let chunks = chunks(collect(&*provider(KIND, &server), follow_up(true)).await);
    assert_eq!(text(&chunks), "It says hello.");
    server.assert_tool_pairing();
    let body = &server.requests()[0].body;
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "# Hello"})
    );
}

#[tokio::test]
async fn images_go_as_data_urls_and_blind_models_get_a_note() {
    let server = MockServer::start(Script::new(vec![Turn::text("A pixel."), Turn::text("?")]))
        .await
        .unwrap();
    let provider = provider(KIND, &server);
    let mut ask = request(true);
    ask.model = "gpt-4.1".into();
    ask.messages = vec![with_image("What is this?")];
    chunks(collect(&*provider, ask.clone()).await);
    let sent = &server.requests()[0];
    assert_eq!(
        sent.body["messages"][1]["content"],
        json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}}
        ])
    );
    assert_eq!(sent.messages(), vec![with_image("What is this?")]);
    ask.model = "deepseek-chat".into();
    chunks(collect(&*provider, ask).await);
    assert_eq!(
        server.requests()[1].body["messages"][1]["content"],
        json!("What is this?\n\n[image omitted: deepseek-chat does not accept images]")
    );
}

#[tokio::test]
async fn embeddings_come_from_v1_embeddings() {
    let server = MockServer::start(Script::new(vec![])).await.unwrap();
    let provider = provider_with(KIND, &server, |s| {
        s.embedding_model = Some("text-embedding-3-large".into());
    });
    let vectors = provider.embed(&["x".to_string()]).await.unwrap();
    assert_eq!(vectors, vec![cuervo_testkit::mock_embedding("x")]);
    let side = &server.side_requests()[0];
    assert_eq!(side.path, "/v1/embeddings");
    assert_eq!(
        side.body,
        json!({"model": "text-embedding-3-large", "input": ["x"], "encoding_format": "float"})
    );
}
