//! Client compatibility: the official OpenAI Python SDK against a running proxy whose
//! upstream is the mock server speaking Anthropic's API.
//!
//! Needs `CUERVO_SDK_PYTHON` (`scripts/setup-sdk-clients` prints it; `scripts/test` sets
//! it). Without it the test fails and says so: a compatibility claim is not skipped.

use std::path::PathBuf;

use cuervo_testkit::script::{Script, Turn};
use cuervo_testkit::server::MockServer;
use serde_json::json;

use super::api::{ONE_MODEL, start};

fn sdk_python() -> PathBuf {
    match std::env::var_os("CUERVO_SDK_PYTHON").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "CUERVO_SDK_PYTHON is not set: run `export CUERVO_SDK_PYTHON=\"$(scripts/setup-sdk-clients)\"` \
             (it installs the OpenAI SDK from PyPI into a virtual environment)"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_sdk_talks_to_an_anthropic_upstream() {
    let python = sdk_python();
    let mock = MockServer::start(Script::new(vec![
        Turn::text("Hello from the SDK."),
        Turn::text("Streamed answer."),
        Turn::tool_call("get_weather", json!({"city": "Paris"})),
    ]))
    .await
    .unwrap();
    let models = format!(
        "{ONE_MODEL}  - name: embed\n    deployments:\n      - upstream: oai\n        model: text-embedding-3-small\n"
    );
    let proxy = start(
        &[
            ("claude", "anthropic", mock.anthropic_base_url()),
            ("oai", "openai", mock.openai_base_url()),
        ],
        &models,
    )
    .await;
    let (_, key) = proxy.create_key(json!({"name": "sdk"})).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/openai_client.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(format!("{}/v1", proxy.url))
        .arg(&key)
        .arg("smart")
        .arg("embed")
        .arg(serde_json::to_string(&cuervo_testkit::mock_embedding("hello world")).unwrap())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the SDK client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("openai sdk: ok"), "{stdout}");
    // What reached the upstream is Anthropic's format: the system prompt apart, the
    // tool with its schema.
    let sent = mock.requests();
    assert_eq!(
        sent.len(),
        3,
        "models.list and the refused calls never reach it"
    );
    assert_eq!(
        sent[0].body["system"]
            .as_str()
            .or(sent[0].body["system"][0]["text"].as_str()),
        Some("Be brief.")
    );
    assert_eq!(sent[2].body["tools"][0]["name"], "get_weather");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anthropic_python_sdk_talks_to_an_openai_upstream() {
    let python = sdk_python();
    let mock = MockServer::start(Script::new(vec![
        Turn::text("Hello, Anthropic client."),
        Turn::text("Streamed answer."),
        Turn::tool_call("get_weather", json!({"city": "Paris"})),
    ]))
    .await
    .unwrap();
    let models =
        "  - name: smart\n    deployments:\n      - upstream: oai\n        model: gpt-5-mini\n";
    let proxy = start(&[("oai", "openai", mock.openai_base_url())], models).await;
    let (_, key) = proxy.create_key(json!({"name": "claude-code"})).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/anthropic_client.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&proxy.url)
        .arg(&key)
        .arg("smart")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the SDK client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("anthropic sdk: ok"), "{stdout}");
    // What reached the upstream is OpenAI's format: the system prompt as a message, the
    // tool as a function.
    let sent = mock.requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].path, "/v1/chat/completions");
    assert_eq!(sent[0].body["model"], "gpt-5-mini");
    assert_eq!(sent[0].body["messages"][0]["role"], "system");
    assert_eq!(sent[2].body["tools"][0]["function"]["name"], "get_weather");
}
