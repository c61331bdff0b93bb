use cuervo_testkit::{MockServer, Script, Step, Turn};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{openai, openai_body, openai_chunks};

#[derive(Debug, Default)]
struct Accumulated {
    content: String,
    reasoning: String,
    /// (id, name, arguments, number of non-empty argument fragments)
    calls: Vec<(String, String, String, usize)>,
    finish_reason: Value,
    usage: Value,
}

fn accumulate(chunks: &[Value]) -> Accumulated {
    let mut acc = Accumulated::default();
    let first = &chunks[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    let id = first["id"].clone();
    for chunk in chunks {
        assert_eq!(chunk["id"], id, "every chunk has the same id");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        let choices = chunk["choices"].as_array().unwrap();
        if choices.is_empty() {
            assert!(acc.usage.is_null(), "one usage chunk");
            acc.usage = chunk["usage"].clone();
            continue;
        }
        assert!(acc.finish_reason.is_null(), "no choice after finish_reason");
        let choice = &choices[0];
        assert_eq!(choice["index"], 0);
        let delta = &choice["delta"];
        if let Some(t) = delta["content"].as_str() {
            acc.content.push_str(t);
        }
        if let Some(t) = delta["reasoning_content"].as_str() {
            acc.reasoning.push_str(t);
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap() as usize;
            if index == acc.calls.len() {
                assert_eq!(call["type"], "function");
                acc.calls.push((
                    call["id"].as_str().unwrap().into(),
                    call["function"]["name"].as_str().unwrap().into(),
                    String::new(),
                    0,
                ));
            } else {
                assert!(call.get("id").is_none(), "id only in the first fragment");
            }
            let piece = call["function"]["arguments"].as_str().unwrap();
            if !piece.is_empty() {
                acc.calls[index].3 += 1;
            }
            acc.calls[index].2.push_str(piece);
        }
        if !choice["finish_reason"].is_null() {
            acc.finish_reason = choice["finish_reason"].clone();
        }
    }
    acc
}

#[tokio::test]
async fn stream_ends_with_usage_then_done() {
    let input = json!({"command": "cargo test --workspace", "timeout": 120});
    let server = MockServer::start(Script::new(vec![
        Turn::steps(vec![
            Step::thinking("Need to run the tests."),
            Step::text("Running the tests now."),
            Step::tool_call("bash", input.clone()),
            Step::tool_call("ls", json!({"path": "."})),
        ])
        .with_usage(100, 7),
    ]))
    .await
    .unwrap();
    let response = openai(&server, openai_body(true, true)).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let (chunks, done) = openai_chunks(&response.text().await.unwrap());
    assert!(done, "stream ends with [DONE]");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(
        last["usage"],
        json!({"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107})
    );
    for chunk in &chunks[..chunks.len() - 1] {
        assert!(chunk["usage"].is_null() && chunk.get("usage").is_some());
    }
    let acc = accumulate(&chunks);
    assert_eq!(acc.reasoning, "Need to run the tests.");
    assert_eq!(acc.content, "Running the tests now.");
    assert_eq!(acc.finish_reason, "tool_calls");
    assert_eq!(acc.calls.len(), 2);
    assert_eq!(acc.calls[0].0, "call_mock_001");
    assert_eq!(acc.calls[0].1, "bash");
    assert!(
        acc.calls[0].3 >= 3,
        "arguments in {} fragments",
        acc.calls[0].3
    );
    assert_eq!(
        serde_json::from_str::<Value>(&acc.calls[0].2).unwrap(),
        input
    );
    assert_eq!(acc.calls[1].0, "call_mock_002");
    assert_eq!(
        serde_json::from_str::<Value>(&acc.calls[1].2).unwrap(),
        json!({"path": "."})
    );
    assert_eq!(chunks[0]["model"], "gpt-test");
}

#[tokio::test]
async fn stream_without_include_usage_has_no_usage_chunk() {
    let server = MockServer::start(Script::new(vec![Turn::text("Hello, world!")]))
        .await
        .unwrap();
    let text = openai(&server, openai_body(true, false))
        .await
        .text()
        .await
        .unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let (chunks, done) = openai_chunks(&text);
    assert!(done);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    let acc = accumulate(&chunks);
    assert_eq!(acc.content, "Hello, world!");
    assert_eq!(acc.finish_reason, "stop");
    assert!(acc.usage.is_null());
}

#[tokio::test]
async fn stop_reason_is_translated() {
    let server = MockServer::start(Script::new(vec![
        Turn::text("truncat").with_stop_reason("max_tokens"),
    ]))
    .await
    .unwrap();
    let body: Value = openai(&server, openai_body(false, false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
async fn non_streaming_reply_has_completion_shape() {
    let server = MockServer::start(Script::new(vec![
        Turn::steps(vec![
            Step::thinking("think"),
            Step::tool_call("read", json!({"path": "a.txt"})),
        ])
        .with_usage(11, 22),
        Turn::text("plain"),
    ]))
    .await
    .unwrap();
    let response = openai(&server, openai_body(false, false)).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let mut body: Value = response.json().await.unwrap();
    assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
    body["created"] = json!(0);
    assert_eq!(
        body,
        json!({
            "id": "chatcmpl-mock-001",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-test",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "reasoning_content": "think",
                    "tool_calls": [{
                        "id": "call_mock_001",
                        "type": "function",
                        "function": {"name": "read", "arguments": "{\"path\":\"a.txt\"}"},
                    }],
                },
                "logprobs": null,
                "finish_reason": "tool_calls",
            }],
            "usage": {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33},
        })
    );
    let body: Value = openai(&server, openai_body(false, false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "plain");
    assert!(body["choices"][0]["message"].get("tool_calls").is_none());
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn missing_bearer_is_401() {
    let server = MockServer::start(Script::new(vec![Turn::text("hi")]))
        .await
        .unwrap();
    let response = super::client()
        .post(format!("{}/chat/completions", server.openai_base_url()))
        .header("x-api-key", "not-how-openai-works")
        .json(&openai_body(false, false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["param"].is_null());
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("API key")
    );
    assert_eq!(server.remaining_turns(), 1);
}
