//! `cuervo` on a terminal: the first-run guide, and a conversation with an approval
//! prompt. A pseudo-terminal comes from util-linux's `script`.

use std::io::Write;
use std::process::{Command, Stdio};

use cuervo_testkit::{Script, Turn};
use serde_json::json;

use super::common::{Sandbox, Wire, mock};

/// Runs `cuervo` under a pseudo-terminal, typing `input`, and returns what it printed.
fn on_terminal(sandbox: &Sandbox, env: &[(String, String)], input: &str) -> (i32, String) {
    let mut child = Command::new("script")
        .args(["-qec", env!("CARGO_BIN_EXE_cuervo"), "/dev/null"])
        .current_dir(sandbox.project.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "dumb")
        .envs(sandbox.home.envs())
        .envs(env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("type");
    let out = child.wait_with_output().expect("cuervo ran");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_without_a_key_prints_the_guide() {
    let sandbox = Sandbox::new();
    let (code, screen) = on_terminal(&sandbox, &[], "");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Welcome to Cuervo"), "{screen}");
    assert!(screen.contains("export ANTHROPIC_API_KEY"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_asks_before_editing_and_keeps_the_session() {
    let sandbox = Sandbox::new();
    sandbox.write("todo.txt", "buy milk\n");
    let server = mock(Script::new(vec![
        Turn::tool_call(
            "edit",
            json!({"path": "todo.txt", "old_string": "milk", "new_string": "oat milk"}),
        ),
        Turn::text("Changed it to oat milk."),
        Turn::text("You asked about milk."),
    ]))
    .await;
    let (code, screen) = on_terminal(
        &sandbox,
        &Wire::Anthropic.env(&server),
        "switch to oat milk\ny\nwhat did I ask?\n/exit\n",
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("edit wants to run: edit todo.txt"),
        "{screen}"
    );
    assert!(
        screen.contains("-buy milk") && screen.contains("+buy oat milk"),
        "the diff is shown before approval: {screen}"
    );
    assert!(screen.contains("Changed it to oat milk."), "{screen}");
    assert_eq!(sandbox.read("todo.txt"), "buy oat milk\n");
    // The second prompt is sent with the whole first exchange.
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let texts: Vec<String> = requests[2].messages().iter().map(|m| m.text()).collect();
    assert_eq!(
        texts.first().map(String::as_str),
        Some("switch to oat milk")
    );
    assert_eq!(texts.last().map(String::as_str), Some("what did I ask?"));
    server.assert_tool_pairing();
}
