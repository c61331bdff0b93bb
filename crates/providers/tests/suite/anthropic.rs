//! The Anthropic adapter against the mock's `/v1/messages`.

use cuervo_domain::ModelChunk;
use cuervo_providers::WireKind;
use cuervo_testkit::{MockServer, Script, Step, Turn};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::*;

const KIND: WireKind = WireKind::Anthropic;

#[tokio::test]
async fn a_streamed_request_has_the_right_headers_and_body() {
    let (server, _) = answer(KIND, vec![Turn::text("Hi.")], request(true)).await;
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.body["stream"], json!(true));
    // Prompt caching is on by default: the system prompt is a block with a breakpoint.
    assert_eq!(
        sent.body["system"],
        json!([{"type": "text", "text": "You are a test.", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(sent.system().as_deref(), Some("You are a test."));
    assert_eq!(sent.body["tools"][0]["name"], json!("read"));
}

#[tokio::test]
async fn tool_results_go_back_paired_with_their_calls() {
    let server = MockServer::start(Script::new(vec![Turn::text("It says hello.")]))
        .await
        .unwrap();
    let chunks = chunks(collect(&*provider(KIND, &server), follow_up(true)).await);
    assert_eq!(text(&chunks), "It says hello.");
    server.assert_tool_pairing();
    let body = &server.requests()[0].body;
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "# Hello", "is_error": false,
             "cache_control": {"type": "ephemeral"}}
        ]})
    );
}

#[tokio::test]
async fn the_cached_prefix_of_one_call_is_read_by_the_next() {
    let server = MockServer::start(Script::new(vec![
        Turn::tool_call("read", json!({"path": "README.md"})),
        Turn::text("It says hello."),
    ]))
    .await
    .unwrap();
    let provider = provider(KIND, &server);
    let first = chunks(collect(&*provider, request(true)).await);
    let written = usage_of(&first);
    assert!(written.cache_write_tokens > 0, "{written:?}");
    assert_eq!(written.cache_read_tokens, 0);
    // The follow-up repeats the first call's prompt and adds a turn: the mock, like the
    // API, serves the repeated prefix from the cache.
    let second = chunks(collect(&*provider, follow_up(true)).await);
    let read = usage_of(&second);
    assert_eq!(
        read.cache_read_tokens, written.cache_write_tokens,
        "{read:?}"
    );
    assert!(
        read.cache_write_tokens > 0,
        "the new turn is written: {read:?}"
    );
    let cost = provider
        .cost("claude-sonnet-4-5", &read)
        .expect("a known price");
    let uncached = provider
        .cost(
            "claude-sonnet-4-5",
            &cuervo_domain::Usage {
                input_tokens: read.input_tokens + read.cache_read_tokens,
                ..read
            },
        )
        .expect("a known price");
    assert!(
        cost < uncached,
        "cache reads are cheaper: {cost:?} vs {uncached:?}"
    );
}

fn usage_of(chunks: &[ModelChunk]) -> cuervo_domain::Usage {
    let mut total = cuervo_domain::Usage::default();
    for c in chunks {
        if let ModelChunk::Usage { usage } = c {
            total.merge(usage);
        }
    }
    total
}

#[tokio::test]
async fn extended_thinking_requests_pass_the_api_checks() {
    let server = MockServer::start(Script::new(vec![Turn::steps(vec![
        Step::thinking("27 * 453 = 12,231."),
        Step::text("12,231"),
    ])]))
    .await
    .unwrap();
    let mut ask = request(true);
    ask.model = "claude-sonnet-4-5".into();
    ask.thinking_budget = Some(2_000);
    ask.temperature = Some(0.5);
    let reply = chunks(collect(&*provider(KIND, &server), ask).await);
    assert_eq!(thinking(&reply), "27 * 453 = 12,231.");
    let sent = &server.requests()[0].body;
    assert_eq!(
        sent["thinking"],
        json!({"type": "enabled", "budget_tokens": 2000})
    );
    assert_eq!(sent["max_tokens"], json!(256 + 2000));
    assert_eq!(sent.get("temperature"), None);

    // A model that cannot think gets no budget, whatever the request asks.
    let server = MockServer::start(Script::new(vec![Turn::text("a"), Turn::text("b")]))
        .await
        .unwrap();
    let configured = provider(KIND, &server);
    let mut ask = request(true);
    ask.thinking_budget = Some(4_096);
    ask.model = "claude-opus-4-1".into();
    chunks(collect(&*configured, ask.clone()).await);
    ask.model = "claude-3-5-haiku-latest".into();
    chunks(collect(&*configured, ask).await);
    let requests = server.requests();
    assert_eq!(requests[0].body["thinking"]["budget_tokens"], json!(4096));
    assert_eq!(requests[1].body.get("thinking"), None);
}

#[tokio::test]
async fn images_reach_the_api_as_base64_blocks() {
    let server = MockServer::start(Script::new(vec![Turn::text("A pixel.")]))
        .await
        .unwrap();
    let mut ask = request(true);
    ask.model = "claude-sonnet-4-5".into();
    ask.messages = vec![with_image("What is this?")];
    chunks(collect(&*provider(KIND, &server), ask).await);
    let sent = &server.requests()[0];
    assert_eq!(
        sent.body["messages"][0]["content"][1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": PNG})
    );
    assert_eq!(sent.messages(), vec![with_image("What is this?")]);
}
