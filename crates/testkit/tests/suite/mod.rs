mod anthropic;
mod binary;
mod faults;
mod formats;
mod openai;
mod record;
mod script;

use cuervo_testkit::MockServer;
use serde_json::Value;

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A well-formed Anthropic request to the server.
pub async fn anthropic(server: &MockServer, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", server.anthropic_base_url()))
        .header("x-api-key", "test-key")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A well-formed OpenAI chat completion request to the server.
pub async fn openai(server: &MockServer, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/chat/completions", server.openai_base_url()))
        .bearer_auth("test-key")
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub fn anthropic_body(stream: bool) -> Value {
    serde_json::json!({
        "model": "claude-test",
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    })
}

pub fn openai_body(stream: bool, include_usage: bool) -> Value {
    let mut body = serde_json::json!({
        "model": "gpt-test",
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    });
    if include_usage {
        body["stream_options"] = serde_json::json!({"include_usage": true});
    }
    body
}

/// Splits an SSE body into frames (`\n\n`-terminated), failing on a partial last frame.
pub fn frames(text: &str) -> Vec<&str> {
    assert!(text.ends_with("\n\n"), "stream ends mid-frame: {text:?}");
    text.trim_end_matches('\n').split("\n\n").collect()
}

/// Anthropic frames as (event name, parsed data), checking the name matches `data.type`.
pub fn anthropic_events(text: &str) -> Vec<(String, Value)> {
    frames(text)
        .into_iter()
        .map(|frame| {
            let mut lines = frame.lines();
            let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            assert!(lines.next().is_none(), "extra lines in {frame:?}");
            let value: Value = serde_json::from_str(data).unwrap();
            assert_eq!(value["type"], name, "event name and data.type differ");
            (name.to_string(), value)
        })
        .collect()
}

/// OpenAI frames: the parsed chunks, and whether the stream ended with `[DONE]`.
pub fn openai_chunks(text: &str) -> (Vec<Value>, bool) {
    let mut chunks = Vec::new();
    let mut done = false;
    for frame in frames(text) {
        let data = frame.strip_prefix("data: ").unwrap();
        assert!(!done, "data after [DONE]");
        if data == "[DONE]" {
            done = true;
        } else {
            chunks.push(serde_json::from_str(data).unwrap());
        }
    }
    (chunks, done)
}
