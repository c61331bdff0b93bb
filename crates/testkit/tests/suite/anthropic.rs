use cuervo_testkit::{MockServer, Script, Step, Turn};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{anthropic, anthropic_body, anthropic_events};

/// What a client rebuilds from the stream, checking the documented order as it goes.
#[derive(Debug, Default)]
struct Accumulated {
    blocks: Vec<Value>,
    json_fragments: Vec<usize>,
    text_deltas: usize,
    stop_reason: Value,
    input_tokens: Value,
    output_tokens: Value,
}

fn accumulate(events: &[(String, Value)]) -> Accumulated {
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "message_start");
    assert_eq!(names[names.len() - 2..], ["message_delta", "message_stop"]);
    let mut acc = Accumulated::default();
    let start = &events[0].1["message"];
    assert_eq!(start["role"], "assistant");
    assert_eq!(start["content"], json!([]));
    assert!(start["stop_reason"].is_null());
    acc.input_tokens = start["usage"]["input_tokens"].clone();
    let mut open: Option<usize> = None;
    let mut partial = String::new();
    for (name, v) in &events[1..events.len() - 2] {
        match name.as_str() {
            "ping" => {}
            "content_block_start" => {
                assert_eq!(open, None, "block started inside another");
                let index = v["index"].as_u64().unwrap() as usize;
                assert_eq!(index, acc.blocks.len());
                acc.blocks.push(v["content_block"].clone());
                acc.json_fragments.push(0);
                partial.clear();
                open = Some(index);
            }
            "content_block_delta" => {
                let index = v["index"].as_u64().unwrap() as usize;
                assert_eq!(open, Some(index), "delta outside its block");
                let block = &mut acc.blocks[index];
                let delta = &v["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => {
                        assert_eq!(block["type"], "text");
                        let text = block["text"].as_str().unwrap().to_string();
                        block["text"] = json!(text + delta["text"].as_str().unwrap());
                        acc.text_deltas += 1;
                    }
                    "thinking_delta" => {
                        assert_eq!(block["type"], "thinking");
                        let t = block["thinking"].as_str().unwrap().to_string();
                        block["thinking"] = json!(t + delta["thinking"].as_str().unwrap());
                    }
                    "signature_delta" => {
                        assert_eq!(block["type"], "thinking");
                        block["signature"] = delta["signature"].clone();
                    }
                    "input_json_delta" => {
                        assert_eq!(block["type"], "tool_use");
                        let piece = delta["partial_json"].as_str().unwrap();
                        if !piece.is_empty() {
                            acc.json_fragments[index] += 1;
                        }
                        partial.push_str(piece);
                    }
                    other => panic!("unknown delta {other}"),
                }
            }
            "content_block_stop" => {
                let index = v["index"].as_u64().unwrap() as usize;
                assert_eq!(open, Some(index));
                if acc.blocks[index]["type"] == "tool_use" {
                    acc.blocks[index]["input"] = serde_json::from_str(&partial).unwrap();
                }
                open = None;
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(open, None, "a block was never stopped");
    let delta = &events[events.len() - 2].1;
    acc.stop_reason = delta["delta"]["stop_reason"].clone();
    assert!(delta["delta"]["stop_sequence"].is_null());
    acc.output_tokens = delta["usage"]["output_tokens"].clone();
    acc
}

#[tokio::test]
async fn streams_text_and_tool_call_in_documented_order() {
    let input = json!({"path": "src/lib.rs", "old_string": "foo()", "new_string": "bar()"});
    let server = MockServer::start(Script::new(vec![
        Turn::steps(vec![
            Step::text("I will edit the file now, carefully."),
            Step::tool_call("edit", input.clone()),
        ])
        .with_usage(321, 45),
    ]))
    .await
    .unwrap();
    let response = anthropic(&server, anthropic_body(true)).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    assert!(response.headers().contains_key("request-id"));
    let events = anthropic_events(&response.text().await.unwrap());
    assert_eq!(
        events[2].0, "ping",
        "ping follows the first content_block_start"
    );
    let acc = accumulate(&events);
    assert_eq!(
        acc.blocks,
        vec![
            json!({"type": "text", "text": "I will edit the file now, carefully."}),
            json!({"type": "tool_use", "id": "toolu_mock_001", "name": "edit", "input": input}),
        ]
    );
    assert!(
        acc.text_deltas >= 3,
        "text split into {} deltas",
        acc.text_deltas
    );
    assert!(
        acc.json_fragments[1] >= 3,
        "json in {} fragments",
        acc.json_fragments[1]
    );
    assert_eq!(acc.stop_reason, "tool_use");
    assert_eq!(acc.input_tokens, 321);
    assert_eq!(acc.output_tokens, 45);
    assert_eq!(events[0].1["message"]["model"], "claude-test");
}

#[tokio::test]
async fn streams_thinking_with_signature_and_end_turn() {
    let server = MockServer::start(Script::new(vec![Turn::steps(vec![
        Step::thinking("Let me think about this problem."),
        Step::text("Done."),
    ])]))
    .await
    .unwrap();
    let events = anthropic_events(
        &anthropic(&server, anthropic_body(true))
            .await
            .text()
            .await
            .unwrap(),
    );
    let acc = accumulate(&events);
    assert_eq!(acc.blocks[0]["type"], "thinking");
    assert_eq!(
        acc.blocks[0]["thinking"],
        "Let me think about this problem."
    );
    assert!(!acc.blocks[0]["signature"].as_str().unwrap().is_empty());
    assert_eq!(acc.blocks[1]["text"], "Done.");
    assert_eq!(acc.stop_reason, "end_turn");
    // The signature closes the thinking block.
    let stop = events
        .iter()
        .position(|(n, v)| n == "content_block_stop" && v["index"] == 0)
        .unwrap();
    assert_eq!(events[stop - 1].1["delta"]["type"], "signature_delta");
}

#[tokio::test]
async fn non_streaming_reply_has_message_shape() {
    let server = MockServer::start(Script::new(vec![
        Turn::steps(vec![
            Step::thinking("hmm"),
            Step::text("Reading."),
            Step::tool_call_with_id("toolu_given", "read", json!({"path": "a.txt"})),
            Step::tool_call("ls", json!({})),
        ])
        .with_usage(10, 20),
    ]))
    .await
    .unwrap();
    let response = anthropic(&server, anthropic_body(false)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": "msg_mock_001",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "mock_signature_msg_mock_001_0"},
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_given", "name": "read", "input": {"path": "a.txt"}},
                {"type": "tool_use", "id": "toolu_mock_001", "name": "ls", "input": {}},
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 20},
        })
    );
}

#[tokio::test]
async fn generated_ids_are_unique_across_turns() {
    let server = MockServer::start(Script::new(vec![
        Turn::tool_call("ls", json!({})),
        Turn::tool_call("ls", json!({})),
    ]))
    .await
    .unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let body: Value = anthropic(&server, anthropic_body(false))
            .await
            .json()
            .await
            .unwrap();
        ids.push(body["content"][0]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids, vec!["toolu_mock_001", "toolu_mock_002"]);
}

#[tokio::test]
async fn missing_api_key_is_401_and_uses_no_turn() {
    let server = MockServer::start(Script::new(vec![Turn::text("hi")]))
        .await
        .unwrap();
    let url = format!("{}/v1/messages", server.anthropic_base_url());
    let response = super::client()
        .post(&url)
        .header("anthropic-version", "2023-06-01")
        .json(&anthropic_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    let response = super::client()
        .post(&url)
        .header("x-api-key", "k")
        .json(&anthropic_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("anthropic-version")
    );

    assert_eq!(server.remaining_turns(), 1);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        anthropic(&server, anthropic_body(false)).await.status(),
        200
    );
    assert_eq!(server.remaining_turns(), 0);
}

#[tokio::test]
async fn invalid_requests_are_400_like_the_real_api() {
    let server = MockServer::start(Script::new(vec![Turn::text("hi")]))
        .await
        .unwrap();
    let orphan = json!({
        "model": "m", "max_tokens": 10,
        "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "r"}]}],
    });
    let no_max = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    for body in [orphan, no_max] {
        let response = anthropic(&server, body).await;
        assert_eq!(response.status(), 400);
        let err: Value = response.json().await.unwrap();
        assert_eq!(err["error"]["type"], "invalid_request_error");
    }
    let response = super::client()
        .post(format!("{}/v1/messages", server.url()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(server.requests()[2].body, json!("{not json"));
    assert_eq!(server.remaining_turns(), 1);
}

#[tokio::test]
async fn models_health_and_unknown_routes() {
    let server = MockServer::start(Script::new(vec![Turn::text("x")]))
        .await
        .unwrap();
    let client = super::client();
    let anthropic: Value = client
        .get(format!("{}/v1/models", server.url()))
        .header("anthropic-version", "2023-06-01")
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anthropic["data"][0]["type"], "model");
    assert_eq!(anthropic["has_more"], false);
    let openai: Value = client
        .get(format!("{}/models", server.openai_base_url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(openai["object"], "list");
    assert_eq!(openai["data"][0]["object"], "model");
    let health: Value = client
        .get(format!("{}/health", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok", "remaining_turns": 1}));
    let missing = client
        .post(format!("{}/v1/v1/messages", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("no route"));
    assert!(
        server.requests().is_empty(),
        "only model requests are recorded"
    );
}
