//! The Responses, Gemini and Ollama formats over a real socket, hit with reqwest as a
//! provider client would: the shapes the providers document, their error bodies, their
//! side endpoints, and the request record.

use cuervo_domain::{ContentBlock, Role};
use cuervo_testkit::{LocalModel, MockServer, Script, Step, Turn, WireFormat, mock_embedding};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{client, frames};

fn reply() -> Turn {
    Turn::steps(vec![
        Step::thinking("Plan the read."),
        Step::text("Reading the file."),
        Step::tool_call("read", json!({"path": "src/main.rs"})),
    ])
    .with_usage(30, 12)
}

async fn responses(server: &MockServer, body: Value, key: bool) -> reqwest::Response {
    let mut request = client()
        .post(format!("{}/responses", server.openai_base_url()))
        .json(&body);
    if key {
        request = request.bearer_auth("test-key");
    }
    request.send().await.unwrap()
}

/// Responses events as (event name, data), checking the name matches `data.type` and
/// the sequence numbers count up from 0.
fn responses_events(text: &str) -> Vec<(String, Value)> {
    let events: Vec<(String, Value)> = frames(text)
        .into_iter()
        .map(|frame| {
            let mut lines = frame.lines();
            let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
            let data: Value =
                serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap())
                    .unwrap();
            assert_eq!(data["type"], name);
            (name.to_string(), data)
        })
        .collect();
    for (i, (_, data)) in events.iter().enumerate() {
        assert_eq!(data["sequence_number"], json!(i));
    }
    events
}

#[tokio::test]
async fn responses_stream_items_with_reasoning_when_asked() {
    let server = MockServer::start(Script::new(vec![reply(), reply()]))
        .await
        .unwrap();
    let body = json!({"model": "o4-mini", "input": "read main.rs", "stream": true,
                      "reasoning": {"summary": "auto"}, "include": ["reasoning.encrypted_content"]});
    let response = responses(&server, body, true).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = responses_events(&response.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names[..3],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added"
        ]
    );
    assert_eq!(names.last(), Some(&"response.completed"));
    let collect = |name: &str| -> String {
        events
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, d)| d["delta"].as_str().unwrap())
            .collect()
    };
    assert_eq!(
        collect("response.reasoning_summary_text.delta"),
        "Plan the read."
    );
    assert_eq!(collect("response.output_text.delta"), "Reading the file.");
    assert_eq!(
        serde_json::from_str::<Value>(&collect("response.function_call_arguments.delta")).unwrap(),
        json!({"path": "src/main.rs"})
    );
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["usage"]["input_tokens"], 30);
    assert_eq!(done["usage"]["output_tokens"], 12);
    assert_eq!(done["output"][0]["type"], "reasoning");
    assert!(done["output"][0]["encrypted_content"].is_string());
    assert_eq!(done["output"][2]["call_id"], "call_mock_001");

    // Not asked: no summary, nothing encrypted.
    let plain = json!({"model": "gpt-mock", "input": "again", "stream": false});
    let body: Value = responses(&server, plain, true).await.json().await.unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["output"][0]["summary"], json!([]));
    assert_eq!(body["output"][0].get("encrypted_content"), None);
}

#[tokio::test]
async fn responses_refuse_bad_requests_without_using_a_turn() {
    let server = MockServer::start(Script::new(vec![Turn::text("ok")]))
        .await
        .unwrap();
    let unauthorized = responses(&server, json!({"model": "m", "input": "hi"}), false).await;
    assert_eq!(unauthorized.status(), 401);
    let orphan = json!({"model": "m", "input": [
        {"role": "user", "content": "hi"},
        {"type": "function_call_output", "call_id": "call_zz", "output": "x"}
    ]});
    let response = responses(&server, orphan, true).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("call_zz")
    );
    assert_eq!(server.remaining_turns(), 1);
    assert_eq!(server.requests().len(), 2, "rejected requests are recorded");
    assert_eq!(server.requests()[0].format, WireFormat::OpenAiResponses);
}

async fn gemini(server: &MockServer, call: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1beta/models/{call}", server.gemini_base_url()))
        .header("x-goog-api-key", "test-key")
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn gemini_body(include_thoughts: bool) -> Value {
    json!({
        "contents": [{"role": "user", "parts": [{"text": "read main.rs"}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": include_thoughts}}
    })
}

#[tokio::test]
async fn gemini_streams_sse_chunks_arrays_and_whole_bodies() {
    let server = MockServer::start(Script::new(vec![reply(), reply(), reply()]))
        .await
        .unwrap();
    let response = gemini(
        &server,
        "gemini-mock:streamGenerateContent?alt=sse",
        gemini_body(true),
    )
    .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.ends_with("\r\n\r\n"), "Gemini ends events with CRLF");
    let chunks: Vec<Value> = text
        .split("\r\n\r\n")
        .filter(|f| !f.is_empty())
        .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let parts: Vec<&Value> = chunks
        .iter()
        .flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().unwrap())
        .collect();
    let thought: String = parts
        .iter()
        .filter(|p| p["thought"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(thought, "Plan the read.");
    let call = parts
        .iter()
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(
        call["functionCall"],
        json!({"name": "read", "args": {"path": "src/main.rs"}})
    );
    assert!(call["thoughtSignature"].is_string());
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["promptTokenCount"], 30);
    assert_eq!(last["responseId"], "mock-response-001");

    // Without alt=sse, the chunks as one JSON array; thoughts only when asked for.
    let array: Value = gemini(
        &server,
        "gemini-mock:streamGenerateContent",
        gemini_body(false),
    )
    .await
    .json()
    .await
    .unwrap();
    let array = array.as_array().unwrap();
    assert!(array.len() > 2);
    assert!(
        array
            .iter()
            .all(|c| c["candidates"][0]["content"]["parts"][0]["thought"].is_null())
    );
    let whole: Value = gemini(&server, "gemini-mock:generateContent", gemini_body(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        whole["candidates"][0]["content"]["parts"][0]["text"],
        "Reading the file."
    );
    assert_eq!(server.requests()[2].model(), Some("gemini-mock"));
}

#[tokio::test]
async fn gemini_errors_have_google_bodies() {
    let server = MockServer::start(Script::new(vec![Turn::rate_limited(2), Turn::text("ok")]))
        .await
        .unwrap();
    let anonymous = client()
        .post(format!(
            "{}/v1beta/models/m:generateContent",
            server.gemini_base_url()
        ))
        .json(&gemini_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 403);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");

    let limited = gemini(&server, "m:generateContent", gemini_body(false)).await;
    assert_eq!(limited.status(), 429);
    assert!(
        limited.headers().get("retry-after").is_none(),
        "Google sends no header"
    );
    let body: Value = limited.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                         "status": "RESOURCE_EXHAUSTED",
                         "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]}})
    );
    // The key may also come as a query parameter.
    let keyed = client()
        .post(format!(
            "{}/v1beta/models/m:generateContent?key=abc",
            server.gemini_base_url()
        ))
        .json(&gemini_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 200);
    let mismatched = json!({"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}}},
                                    {"functionCall": {"name": "b", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "a", "response": {"output": 1}}}]}
    ]});
    let response = gemini(&server, "m:generateContent", mismatched).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn gemini_models_and_embeddings() {
    let server = MockServer::start(Script::new(vec![])).await.unwrap();
    let models: Value = client()
        .get(format!("{}/v1beta/models", server.gemini_base_url()))
        .header("x-goog-api-key", "k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        models["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "models/gemini-mock")
    );
    let one: Value = gemini(
        &server,
        "embed-mock:embedContent",
        json!({"content": {"parts": [{"text": "hello"}]}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(floats(&one["embedding"]["values"]), mock_embedding("hello"));
    let batch: Value = gemini(
        &server,
        "embed-mock:batchEmbedContents",
        json!({"requests": [
            {"model": "models/embed-mock", "content": {"parts": [{"text": "a"}]}},
            {"model": "models/embed-mock", "content": {"parts": [{"text": "b"}]}}
        ]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        floats(&batch["embeddings"][1]["values"]),
        mock_embedding("b")
    );
    assert_eq!(server.side_requests().len(), 2);
    assert!(
        server.requests().is_empty(),
        "embeddings are not model requests"
    );
}

/// A JSON array of numbers as the `f32`s it was written from.
fn floats(value: &Value) -> Vec<f32> {
    serde_json::from_value(value.clone()).unwrap()
}

async fn ollama(server: &MockServer, path: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", server.ollama_base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn ollama_streams_ndjson_by_default() {
    let server = MockServer::start(Script::new(vec![reply(), reply()]))
        .await
        .unwrap();
    let response = ollama(
        &server,
        "/api/chat",
        json!({"model": "mock-model", "think": true,
               "messages": [{"role": "user", "content": "read main.rs"}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let thinking: String = lines
        .iter()
        .filter_map(|l| l["message"]["thinking"].as_str())
        .collect();
    assert_eq!(thinking, "Plan the read.");
    let last = lines.last().unwrap();
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "stop");
    assert_eq!(last["prompt_eval_count"], 30);
    assert_eq!(last["eval_count"], 12);
    assert!(lines[..lines.len() - 1].iter().all(|l| l["done"] == false));
    assert!(
        server.requests()[0].is_stream(),
        "Ollama streams unless told not to"
    );

    let whole: Value = ollama(
        &server,
        "/api/chat",
        json!({"model": "mock-model:latest", "stream": false,
               "messages": [{"role": "user", "content": "again"}]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(whole["message"]["content"], "Reading the file.");
    assert_eq!(whole["message"].get("thinking"), None, "not asked to think");
    assert_eq!(
        whole["message"]["tool_calls"],
        json!([{"function": {"name": "read", "arguments": {"path": "src/main.rs"}}}])
    );
}

#[tokio::test]
async fn ollama_models_show_embed_and_errors() {
    let server = MockServer::start(Script::new(vec![Turn::status(500), Turn::text("ok")]))
        .await
        .unwrap();
    server.add_local_model(LocalModel::new(
        "qwen3:8b",
        "qwen3",
        Some(40_960),
        &["completion", "tools"],
    ));
    let tags: Value = client()
        .get(format!("{}/api/tags", server.ollama_base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["mock-model:latest", "mock-embed:latest", "qwen3:8b"]
    );
    let show: Value = ollama(&server, "/api/show", json!({"model": "qwen3:8b"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(show["model_info"]["qwen3.context_length"], 40_960);
    let missing = ollama(&server, "/api/show", json!({"model": "llama9"})).await;
    assert_eq!(missing.status(), 404);
    let unknown_chat = ollama(
        &server,
        "/api/chat",
        json!({"model": "llama9", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(unknown_chat.status(), 404);
    let body: Value = unknown_chat.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("try pulling it first")
    );
    assert_eq!(server.remaining_turns(), 2, "an unknown model uses no turn");
    let failed = ollama(
        &server,
        "/api/chat",
        json!({"model": "mock-model", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(failed.status(), 500);
    let body: Value = failed.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "an error was encountered while running the model"})
    );
    let embed: Value = ollama(
        &server,
        "/api/embed",
        json!({"model": "mock-embed", "input": "x"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(floats(&embed["embeddings"][0]), mock_embedding("x"));
}

#[tokio::test]
async fn requests_of_every_format_read_back_as_domain_messages() {
    let server = MockServer::start(Script::new(vec![
        Turn::text("a"),
        Turn::text("b"),
        Turn::text("c"),
    ]))
    .await
    .unwrap();
    responses(
        &server,
        json!({"model": "m", "instructions": "Be brief.", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "go"},
                                          {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}]},
            {"type": "function_call", "call_id": "c1", "name": "ls", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "a.rs"}
        ]}),
        true,
    )
    .await;
    gemini(
        &server,
        "m:generateContent",
        json!({"systemInstruction": {"parts": [{"text": "Be brief."}]}, "contents": [
            {"role": "user", "parts": [{"text": "go"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "ls", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "ls", "response": {"output": "a.rs"}}}]}
        ]}),
    )
    .await;
    ollama(
        &server,
        "/api/chat",
        json!({"model": "mock-model", "stream": false, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "go", "images": ["iVBORw0KGgo="]},
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "ls", "arguments": {}}}]},
            {"role": "tool", "content": "a.rs", "tool_name": "ls"}
        ]}),
    )
    .await;
    let requests = server.requests();
    assert_eq!(
        requests.iter().map(|r| r.format).collect::<Vec<_>>(),
        [
            WireFormat::OpenAiResponses,
            WireFormat::Gemini,
            WireFormat::Ollama
        ]
    );
    for request in &requests {
        assert_eq!(
            request.system().as_deref(),
            Some("Be brief."),
            "{:?}",
            request.format
        );
        let messages = request.messages();
        assert_eq!(messages.len(), 3, "{:?}: {messages:?}", request.format);
        assert_eq!(
            messages[0].content[1],
            ContentBlock::Image {
                media_type: "image/png".into(),
                data_base64: "iVBORw0KGgo=".into()
            },
            "{:?}",
            request.format
        );
        assert_eq!(messages[1].role, Role::Assistant);
        assert_eq!(messages[1].tool_calls().next().unwrap().name, "ls");
        assert_eq!(
            messages[2].tool_results_iter().next().unwrap().content,
            "a.rs"
        );
    }
    server.assert_tool_pairing();
}

#[tokio::test]
async fn mid_stream_errors_in_every_format() {
    let turns = (0..5).map(|_| Turn::stream_error("boom")).collect();
    let server = MockServer::start(Script::new(turns)).await.unwrap();
    let anthropic = super::anthropic(&server, super::anthropic_body(true))
        .await
        .text()
        .await
        .unwrap();
    assert!(anthropic.contains("event: error\ndata: {\"error\":{\"message\":\"boom\",\"type\":\"api_error\"},\"type\":\"error\"}"), "{anthropic}");
    let chat = super::openai(&server, super::openai_body(true, false))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        chat.contains("\"error\":{\"code\":null,\"message\":\"boom\""),
        "{chat}"
    );
    let failed = responses(
        &server,
        json!({"model": "m", "input": "hi", "stream": true}),
        true,
    )
    .await
    .text()
    .await
    .unwrap();
    let last = responses_events(&failed).pop().unwrap();
    assert_eq!(last.0, "response.failed");
    assert_eq!(
        last.1["response"]["error"],
        json!({"code": "server_error", "message": "boom"})
    );
    let google = gemini(
        &server,
        "m:streamGenerateContent?alt=sse",
        gemini_body(false),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(google.contains("\"status\":\"INTERNAL\""), "{google}");
    let local = ollama(
        &server,
        "/api/chat",
        json!({"model": "mock-model", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(local.lines().last(), Some("{\"error\":\"boom\"}"));
}
