use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Kills the child even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_cuervo-mock"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("cuervo-mock listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, url)
}

#[tokio::test]
async fn cuervo_mock_serves_a_yaml_script() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo.yml");
    let (_child, url) = spawn(&["--script", script, "--loop"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let client = super::client();
    for _ in 0..4 {
        let response = client
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth("k")
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "--loop never runs out");
    }
}

#[tokio::test]
async fn cuervo_mock_without_script_serves_the_demo_text() {
    let (_child, url) = spawn(&[]);
    let body: Value = super::client()
        .post(format!("{url}/v1/messages"))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("mock")
    );
}
