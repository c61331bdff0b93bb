use cuervo_testkit::{Fault, MockServer, Script, Step, Turn};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::anthropic;

fn demo_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.yml")
}

#[test]
fn yaml_script_parses_every_kind_of_turn() {
    let script = Script::from_yaml(
        r#"
turns:
  - text: "Let me look."
    tool_call: { name: read, input: { path: src/main.rs } }
  - steps:
      - thinking: "hmm"
      - tool_call: { id: toolu_fixed, name: bash, input: { command: "cargo test" } }
      - text: "running"
    stop_reason: tool_use
    usage: { input_tokens: 120, output_tokens: 40 }
    delay_ms: 5
  - tool_calls:
      - { name: glob, input: { pattern: "**/*.rs" } }
      - { name: grep, input: { pattern: "fn main" } }
  - status: 429
    retry_after: "2"
    message: slow down
  - status: 529
  - stall: { after_frames: 3, seconds: 30 }
  - cut: { after_frames: 4 }
  - malformed: true
"#,
    )
    .unwrap();
    assert_eq!(
        script.turns,
        vec![
            Turn::steps(vec![
                Step::text("Let me look."),
                Step::tool_call("read", json!({"path": "src/main.rs"})),
            ]),
            Turn::steps(vec![
                Step::thinking("hmm"),
                Step::tool_call_with_id("toolu_fixed", "bash", json!({"command": "cargo test"})),
                Step::text("running"),
            ])
            .with_stop_reason("tool_use")
            .with_usage(120, 40)
            .with_delay_ms(5),
            Turn::tool_calls([
                ("glob", json!({"pattern": "**/*.rs"})),
                ("grep", json!({"pattern": "fn main"})),
            ]),
            Turn::Fault(Fault::Status {
                status: 429,
                retry_after: Some("2".into()),
                message: Some("slow down".into()),
            }),
            Turn::overloaded(),
            Turn::stall(3, 30),
            Turn::cut(4),
            Turn::malformed(),
        ]
    );
}

#[test]
fn from_path_reports_missing_files_and_bad_yaml() {
    let missing = Script::from_path("/nonexistent/script.yml").unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/script.yml"),
        "{missing}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(&path, "turns:\n  - status: 500\n    text: both\n").unwrap();
    let bad = Script::from_path(&path).unwrap_err().to_string();
    assert!(bad.contains("bad.yml") && bad.contains("not both"), "{bad}");
}

/// The demo script drives a whole read → edit → answer conversation, with the client
/// sending each tool result back as a real agent would.
#[tokio::test]
async fn demo_script_plays_a_read_edit_answer_conversation() {
    let script = Script::from_path(demo_path()).unwrap();
    assert_eq!(script.turns.len(), 3);
    let server = MockServer::start(script).await.unwrap();
    let mut messages = vec![json!({"role": "user", "content": "fix the greeting in hello.txt"})];
    let mut tools_used = Vec::new();
    loop {
        let body: Value = anthropic(
            &server,
            json!({"model": "claude-test", "max_tokens": 100, "messages": messages}),
        )
        .await
        .json()
        .await
        .unwrap();
        messages.push(json!({"role": "assistant", "content": body["content"]}));
        if body["stop_reason"] != "tool_use" {
            break;
        }
        let results: Vec<Value> = body["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "tool_use")
            .map(|b| {
                tools_used.push(b["name"].as_str().unwrap().to_string());
                json!({"type": "tool_result", "tool_use_id": b["id"], "content": "ok"})
            })
            .collect();
        messages.push(json!({"role": "user", "content": results}));
    }
    assert_eq!(tools_used, ["read", "edit"]);
    let last = messages.last().unwrap();
    assert!(
        last["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Fixed")
    );
    assert_eq!(server.requests().len(), 3);
    server.assert_tool_pairing();
    server.assert_all_turns_served();
}
