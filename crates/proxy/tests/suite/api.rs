//! The proxy end to end over HTTP, with the mock server as every upstream: translation
//! between wire formats, keys, limits, budgets, fallbacks, spend and hostile requests.

use std::time::Duration;

use cuervo_proxy::{Proxy, ProxyConfig, app};
use cuervo_testkit::script::{Script, Turn};
use cuervo_testkit::server::MockServer;
use serde_json::{Value, json};

use super::common::{away_from_a_minute_boundary, create_key, looping_mock};

const ADMIN: &str = "admin-secret-for-tests";

pub(crate) struct Running {
    pub(crate) url: String,
    pub(crate) client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Starts a proxy whose upstreams are the given mock servers' Anthropic and OpenAI
/// endpoints. `models` is the YAML of the `models:` list.
pub(crate) async fn start(upstreams: &[(&str, &str, String)], models: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = format!(
        "database: {}\nmax_body_bytes: 65536\nupstreams:\n",
        dir.path().join("proxy.db").display()
    );
    for (name, kind, url) in upstreams {
        yaml.push_str(&format!(
            "  - name: {name}\n    kind: {kind}\n    base_url: {url}\n    api_key_env: CUERVO_PROXY_TEST_UPSTREAM_KEY\n"
        ));
    }
    yaml.push_str("models:\n");
    yaml.push_str(models);
    let config = ProxyConfig::parse(&yaml).unwrap();
    config.validate().unwrap();
    // The upstreams' keys (the mock accepts any; the test checks none reaches a client).
    let keys = upstreams
        .iter()
        .map(|(name, _, _)| (name.to_string(), format!("upstream-key-{name}")))
        .collect();
    let proxy = Proxy::with_keys(config, Some(ADMIN.into()), &keys).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(proxy.state.clone());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Running {
        url: format!("http://{addr}"),
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Running {
    pub(crate) async fn create_key(&self, spec: Value) -> (String, String) {
        create_key(&self.client, &self.url, ADMIN, spec).await
    }

    async fn chat(&self, key: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/chat/completions", self.url))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Say hello"}]})
}

pub(crate) const ONE_MODEL: &str = "  - name: smart\n    deployments:\n      - upstream: claude\n        model: claude-sonnet-4-5\n        input_usd_per_mtok: 3\n        output_usd_per_mtok: 15\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_client_gets_an_anthropic_model() {
    let mock = MockServer::start(Script::new(vec![Turn::text("Hello there.")]))
        .await
        .unwrap();
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        ONE_MODEL,
    )
    .await;
    let (_, key) = proxy.create_key(json!({"name": "dev"})).await;
    let r = proxy.chat(&key, hello("smart")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "smart");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello there.");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["usage"]["total_tokens"].as_u64().unwrap() > 0, "{v}");
    let sent = mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/v1/messages");
    assert_eq!(sent[0].body["model"], "claude-sonnet-4-5");
    // The client's key never reaches the upstream; the proxy's own key does.
    let headers = format!("{:?}", sent[0].headers);
    assert!(!headers.contains(&key), "{headers}");
    assert!(headers.contains("upstream-key-claude"), "{headers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_ends_with_usage_and_done() {
    let mock = MockServer::start(Script::new(vec![Turn::text("One two three.")]))
        .await
        .unwrap();
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        ONE_MODEL,
    )
    .await;
    let (_, key) = proxy.create_key(json!({})).await;
    let mut body = hello("smart");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = proxy.chat(&key, body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = r.text().await.unwrap();
    let frames: Vec<&str> = text
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .collect();
    assert_eq!(frames.last(), Some(&"[DONE]"), "{text}");
    let chunks: Vec<Value> = frames[..frames.len() - 1]
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "One two three.");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]), "{last}");
    assert!(last["usage"]["completion_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_come_back_in_openai_form() {
    let mock = MockServer::start(Script::new(vec![Turn::tool_call(
        "read_file",
        json!({"path": "src/main.rs"}),
    )]))
    .await
    .unwrap();
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        ONE_MODEL,
    )
    .await;
    let (_, key) = proxy.create_key(json!({})).await;
    let mut body = hello("smart");
    body["tools"] = json!([{"type": "function", "function": {
        "name": "read_file", "description": "Read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]);
    let v: Value = proxy.chat(&key, body).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{v}");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "read_file");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"path": "src/main.rs"}));
    assert_eq!(mock.requests()[0].body["tools"][0]["name"], "read_file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_rate_limit_stays_a_429_with_retry_after() {
    let mock = MockServer::start(Script::new(vec![Turn::rate_limited(7)]))
        .await
        .unwrap();
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        ONE_MODEL,
    )
    .await;
    let (_, key) = proxy.create_key(json!({})).await;
    let r = proxy.chat(&key, hello("smart")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_deployment_falls_back_to_the_next() {
    let down = MockServer::start(Script::new(vec![Turn::overloaded()]))
        .await
        .unwrap();
    let up = MockServer::start(Script::new(vec![Turn::text("From the second.")]))
        .await
        .unwrap();
    let models = "  - name: smart\n    deployments:\n      - upstream: first\n        model: claude-a\n      - upstream: second\n        model: gpt-b\n";
    let proxy = start(
        &[
            ("first", "anthropic", down.anthropic_base_url()),
            ("second", "openai", up.openai_base_url()),
        ],
        models,
    )
    .await;
    let (_, key) = proxy.create_key(json!({})).await;
    let v: Value = proxy.chat(&key, hello("smart")).await.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"], "From the second.",
        "{v}"
    );
    assert_eq!(up.requests()[0].body["model"], "gpt-b");
    let metrics = proxy
        .client
        .get(format!("{}/metrics", proxy.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("cuervo_proxy_fallbacks_total{model=\"smart\",from=\"first\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpm_limit_admits_exactly_its_requests_then_429_naming_it() {
    let mock = looping_mock("ok").await;
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        ONE_MODEL,
    )
    .await;
    let (_, key) = proxy.create_key(json!({"rpm": 3})).await;
    away_from_a_minute_boundary(20).await;
    for _ in 0..3 {
        assert_eq!(proxy.chat(&key, hello("smart")).await.status(), 200);
    }
    let r = proxy.chat(&key, hello("smart")).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rpm_limit_exceeded");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 requests per minute")
    );
    assert_eq!(
        mock.requests().len(),
        3,
        "the refused request never reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_gets_its_own_error_and_usage_is_recorded() {
    let mock = looping_mock("A fairly long answer to spend some budget.").await;
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        ONE_MODEL,
    )
    .await;
    // $15 per million output tokens: a few tokens cost more than this budget.
    let (id, key) = proxy
        .create_key(json!({"budget_usd": 0.000001, "budget_period": "daily"}))
        .await;
    assert_eq!(proxy.chat(&key, hello("smart")).await.status(), 200);
    let r = proxy.chat(&key, hello("smart")).await;
    assert_eq!(r.status(), 402);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "budget_exceeded");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resets at midnight UTC")
    );
    // The spend reaches the database off the request path.
    let mut rows = Value::Null;
    for _ in 0..50 {
        rows = proxy
            .client
            .get(format!("{}/v1/usage", proxy.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if rows["data"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = &rows["data"][0];
    assert_eq!(row["key_id"], id.as_str());
    assert_eq!(row["model"], "smart");
    assert!(row["requests"].as_u64().unwrap() >= 1, "{rows}");
    assert!(row["cost_usd"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callers_and_hostile_requests_get_4xx() {
    let mock = looping_mock("ok").await;
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        ONE_MODEL,
    )
    .await;
    let (id_a, key_a) = proxy.create_key(json!({"models": ["smart"]})).await;
    let (id_b, key_b) = proxy.create_key(json!({})).await;
    let url = |p: &str| format!("{}{p}", proxy.url);
    let c = &proxy.client;

    // No key, a wrong key.
    let r = c
        .post(url("/v1/chat/completions"))
        .json(&hello("smart"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        proxy.chat("sk-cuervo-nope", hello("smart")).await.status(),
        401
    );
    // A user key on the admin API; the admin key on a model route.
    let r = c
        .get(url("/admin/keys"))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(proxy.chat(ADMIN, hello("smart")).await.status(), 403);
    // Another tenant's usage.
    let r = c
        .get(url(&format!("/v1/usage?key_id={id_b}")))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A model the key may not use, a model that does not exist.
    assert_eq!(proxy.chat(&key_a, hello("nope")).await.status(), 404);
    // Oversized, malformed, not UTF-8, wrong shape.
    let big =
        json!({"model": "smart", "messages": [{"role": "user", "content": "x".repeat(70_000)}]});
    assert_eq!(proxy.chat(&key_a, big).await.status(), 413);
    for body in [
        b"{\"model\": \"smart\", \"messages\": [".to_vec(),
        vec![b'{', 0xff, 0xfe, b'}'],
        b"{\"model\": 3}".to_vec(),
        b"[]".to_vec(),
    ] {
        let r = c
            .post(url("/v1/chat/completions"))
            .bearer_auth(&key_a)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
    // Many headers: refused by the HTTP layer, not a crash.
    let mut req = c.get(url("/v1/models")).bearer_auth(&key_a);
    for i in 0..500 {
        req = req.header(format!("x-h-{i}"), "v");
    }
    let r = req.send().await;
    assert!(r.map(|r| r.status().is_client_error()).unwrap_or(true));
    // Revoked: refused at once, and still alive for the other tenant.
    let r = c
        .post(url(&format!("/admin/keys/{id_a}/revoke")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = proxy.chat(&key_a, hello("smart")).await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("revoked"));
    assert_eq!(proxy.chat(&key_b, hello("smart")).await.status(), 200);
    // The server is still up.
    assert_eq!(c.get(url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(c.get(url("/readyz")).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_lists_what_the_key_may_use_and_keys_rotate() {
    let mock = MockServer::start(Script::new(vec![Turn::text("ok")]))
        .await
        .unwrap();
    let models = format!(
        "{ONE_MODEL}  - name: cheap\n    deployments:\n      - upstream: claude\n        model: claude-haiku\n"
    );
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        &models,
    )
    .await;
    let (id, key) = proxy.create_key(json!({"models": ["cheap"]})).await;
    let v: Value = proxy
        .client
        .get(format!("{}/v1/models", proxy.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["cheap"]);
    assert_eq!(proxy.chat(&key, hello("smart")).await.status(), 403);
    let r = proxy
        .client
        .post(format!("{}/admin/keys/{id}/rotate", proxy.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let new_key = r.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(proxy.chat(&key, hello("cheap")).await.status(), 401);
    assert_eq!(proxy.chat(&new_key, hello("cheap")).await.status(), 200);
    let listed: Value = proxy
        .client
        .get(format!("{}/admin/keys", proxy.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = listed.to_string();
    assert!(
        !text.contains(&new_key) && !text.contains(&key),
        "keys are never listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_come_back_as_floats_or_base64() {
    let mock = MockServer::start(Script::new(vec![])).await.unwrap();
    let models = "  - name: embed\n    deployments:\n      - upstream: oai\n        model: text-embedding-3-small\n";
    let proxy = start(&[("oai", "openai", mock.openai_base_url())], models).await;
    let (_, key) = proxy.create_key(json!({})).await;
    let post = |body: Value| {
        proxy
            .client
            .post(format!("{}/v1/embeddings", proxy.url))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let r = post(json!({"model": "embed", "input": ["alpha", "beta"]}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "embed");
    let floats: Vec<Vec<f32>> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_value(d["embedding"].clone()).unwrap())
        .collect();
    assert_eq!(floats.len(), 2);
    assert_eq!(floats[0], cuervo_testkit::mock_embedding("alpha"));
    let sent = mock.side_requests();
    assert_eq!(sent.last().unwrap().body["model"], "text-embedding-3-small");
    let r = post(json!({"model": "embed", "input": "alpha", "encoding_format": "base64"}))
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        v["data"][0]["embedding"].as_str().unwrap(),
    )
    .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(decoded, floats[0]);
    let r = post(json!({"model": "embed", "input": [[1, 2, 3]]}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_openapi_document_is_served() {
    let mock = MockServer::start(Script::new(vec![])).await.unwrap();
    let proxy = start(
        &[("claude", "anthropic", mock.anthropic_base_url())],
        ONE_MODEL,
    )
    .await;
    let doc: Value = proxy
        .client
        .get(format!("{}/openapi.json", proxy.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    // Each documented route exists: without a key it is refused or answered, never 404
    // (the router's fallback) or 405.
    for (method, path) in cuervo_proxy::openapi::ROUTES {
        let url = format!("{}{}", proxy.url, path.replace("{id}", "key_x"));
        let r = match *method {
            "post" => proxy.client.post(&url).send().await.unwrap(),
            _ => proxy.client.get(&url).send().await.unwrap(),
        };
        let status = r.status().as_u16();
        assert!(status != 404 && status != 405, "{method} {path}: {status}");
    }
}
