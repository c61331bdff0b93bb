//! The Ollama adapter against the mock's `/api/chat`, `/api/show`, `/api/embed`.

use cuervo_domain::{ContentBlock, ModelErrorKind, StopReason};
use cuervo_providers::{WireKind, ollama::UNKNOWN_CONTEXT_WINDOW};
use cuervo_testkit::{LocalModel, MockServer, Script, Step, Turn, mock_embedding};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::*;

const KIND: WireKind = WireKind::Ollama;

fn qwen() -> LocalModel {
    LocalModel::new(
        "qwen3:8b",
        "qwen3",
        Some(40_960),
        &["completion", "tools", "thinking"],
    )
}

#[tokio::test]
async fn num_ctx_is_the_context_length_api_show_reports() {
    let server = MockServer::start(Script::new(vec![Turn::text("Hi."), Turn::text("Again.")]))
        .await
        .unwrap();
    server.add_local_model(qwen());
    let provider = provider(KIND, &server);
    let mut ask = request(true);
    ask.model = "qwen3:8b".into();
    assert_eq!(
        provider.capabilities("qwen3:8b").context_window,
        UNKNOWN_CONTEXT_WINDOW,
        "before the server described the model, a small window, never a guess"
    );
    let reply = chunks(collect(&*provider, ask.clone()).await);
    assert_eq!(text(&reply), "Hi.");

    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/api/chat");
    assert_eq!(sent.body["options"]["num_ctx"], json!(40_960));
    assert_eq!(sent.body["options"]["num_predict"], json!(256));
    assert_eq!(sent.body["stream"], json!(true));
    assert_eq!(
        sent.body["think"],
        json!(true),
        "a thinking model is asked to think"
    );
    let shows = server.side_requests();
    assert_eq!(shows.len(), 1);
    assert_eq!(shows[0].path, "/api/show");
    assert_eq!(shows[0].body, json!({"model": "qwen3:8b"}));

    // Described once, then cached.
    chunks(collect(&*provider, ask).await);
    assert_eq!(server.side_requests().len(), 1);
    assert_eq!(
        server.requests()[1].body["options"]["num_ctx"],
        json!(40_960)
    );
    let caps = provider.capabilities("qwen3:8b");
    assert_eq!(caps.context_window, 40_960);
    assert!(caps.tools && caps.thinking && !caps.vision);
}

#[tokio::test]
async fn the_context_window_setting_caps_num_ctx_and_unknown_lengths_are_not_sent() {
    let server = MockServer::start(Script::new(vec![Turn::text("a"), Turn::text("b")]))
        .await
        .unwrap();
    server.add_local_model(qwen());
    server.add_local_model(LocalModel::new("mystery", "llama", None, &["completion"]));
    let capped = provider_with(KIND, &server, |s| s.context_window = Some(16_384));
    let mut ask = request(false);
    ask.model = "qwen3:8b".into();
    chunks(collect(&*capped, ask).await);
    assert_eq!(
        server.requests()[0].body["options"]["num_ctx"],
        json!(16_384)
    );
    assert_eq!(capped.capabilities("qwen3:8b").context_window, 16_384);

    let provider = provider(KIND, &server);
    let mut ask = request(false);
    ask.model = "mystery".into();
    chunks(collect(&*provider, ask).await);
    assert_eq!(server.requests()[1].body["options"].get("num_ctx"), None);
    assert_eq!(
        provider.probe_capabilities("mystery").await.context_window,
        UNKNOWN_CONTEXT_WINDOW
    );
}

#[tokio::test]
async fn probe_capabilities_asks_the_server() {
    let server = MockServer::start(Script::new(vec![])).await.unwrap();
    let provider = provider(KIND, &server);
    let caps = provider.probe_capabilities("mock-model").await;
    assert_eq!(caps.context_window, 8_192);
    assert!(caps.vision && caps.tools && caps.thinking);
    assert!(!caps.prompt_caching);
}

#[tokio::test]
async fn streams_and_not_with_tool_calls_and_thinking() {
    for stream in [true, false] {
        let server = MockServer::start(Script::new(vec![Turn::steps(vec![
            Step::thinking("Look first."),
            Step::text("Reading."),
            Step::tool_call("read", json!({"path": "README.md"})),
            Step::tool_call("glob", json!({"pattern": "*"})),
        ])]))
        .await
        .unwrap();
        let reply = chunks(collect(&*provider(KIND, &server), request(stream)).await);
        assert_eq!(thinking(&reply), "Look first.");
        assert_eq!(text(&reply), "Reading.");
        let calls = tool_calls(&reply);
        assert_eq!(calls.len(), 2, "{reply:?}");
        assert_eq!(calls[0].name, "read");
        assert_eq!(calls[1].input, json!({"pattern": "*"}));
        assert_ne!(calls[0].id, calls[1].id);
        assert!(has_usage(&reply));
        assert_eq!(stop(&reply), StopReason::ToolUse, "stream: {stream}");
        assert_eq!(server.requests()[0].body["stream"], json!(stream));
    }
}

#[tokio::test]
async fn tool_results_go_back_named_in_call_order() {
    let server = MockServer::start(Script::new(vec![Turn::text("It says hello.")]))
        .await
        .unwrap();
    let reply = chunks(collect(&*provider(KIND, &server), follow_up(true)).await);
    assert_eq!(text(&reply), "It says hello.");
    server.assert_tool_pairing();
    let messages = &server.requests()[0].body["messages"];
    assert_eq!(
        messages[2],
        json!({"role": "assistant", "content": "Reading.", "tool_calls": [
            {"function": {"name": "read", "arguments": {"path": "README.md"}}}
        ]})
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "content": "# Hello", "tool_name": "read"})
    );
}

#[tokio::test]
async fn images_go_to_models_that_see_and_a_note_to_those_that_do_not() {
    let server = MockServer::start(Script::new(vec![Turn::text("A pixel."), Turn::text("?")]))
        .await
        .unwrap();
    server.add_local_model(qwen());
    let provider = provider(KIND, &server);
    let mut ask = request(true);
    ask.messages = vec![with_image("What is this?")];
    chunks(collect(&*provider, ask.clone()).await);
    assert_eq!(
        server.requests()[0].body["messages"][1]["images"],
        json!([PNG])
    );
    assert_eq!(
        server.requests()[0].messages()[0].content[1],
        ContentBlock::Image {
            media_type: "image/png".into(),
            data_base64: PNG.into()
        }
    );
    ask.model = "qwen3:8b".into();
    chunks(collect(&*provider, ask).await);
    let sent = &server.requests()[1].body["messages"][1];
    assert_eq!(sent.get("images"), None);
    assert!(
        sent["content"]
            .as_str()
            .expect("content")
            .contains("[image omitted: qwen3:8b does not accept images]"),
        "{sent}"
    );
}

#[tokio::test]
async fn an_unknown_model_fails_before_any_chat() {
    let server = MockServer::start(Script::new(vec![Turn::text("no")]))
        .await
        .unwrap();
    let mut ask = request(true);
    ask.model = "llama9".into();
    let error = error(collect(&*provider(KIND, &server), ask).await);
    assert_eq!(error.kind, ModelErrorKind::InvalidRequest);
    assert!(error.message.contains("not found"), "{}", error.message);
    assert!(server.requests().is_empty());
    assert_eq!(server.remaining_turns(), 1);
}

#[tokio::test]
async fn embeddings_availability_and_cost() {
    let server = MockServer::start(Script::new(vec![])).await.unwrap();
    let provider = provider_with(KIND, &server, |s| {
        s.embedding_model = Some("mock-embed".into());
    });
    let texts = vec!["one".to_string(), "two".to_string()];
    assert_eq!(
        provider.embed(&texts).await.unwrap(),
        vec![mock_embedding("one"), mock_embedding("two")]
    );
    let side = &server.side_requests()[0];
    assert_eq!(side.path, "/api/embed");
    assert_eq!(
        side.body,
        json!({"model": "mock-embed", "input": ["one", "two"]})
    );
    let missing = provider_with(KIND, &server, |s| s.embedding_model = Some("nope".into()));
    assert_eq!(
        missing.embed(&texts).await.unwrap_err().kind,
        ModelErrorKind::InvalidRequest
    );
    assert!(provider.is_available().await);
    // A server on this machine bills nothing.
    let usage = cuervo_domain::Usage {
        input_tokens: 1_000_000,
        output_tokens: 1_000_000,
        ..Default::default()
    };
    assert_eq!(
        provider.cost("mock-model", &usage).map(|c| c.micro_usd),
        Some(0)
    );
    assert_eq!(
        provider.estimate_cost(&request(true)).map(|c| c.micro_usd),
        Some(0)
    );
}
