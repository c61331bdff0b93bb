//! What users see when things go wrong: rate limits, bad keys, cut streams, escapes.

use std::time::Duration;

use cuervo_testkit::{Script, Step, Turn};
use serde_json::json;

use super::common::{Sandbox, Wire, last_tool_result, mock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_retried_once_after_retry_after() {
    for wire in Wire::ALL {
        let sandbox = Sandbox::new();
        let server = mock(Script::new(vec![
            Turn::rate_limited(1),
            Turn::text("after the wait"),
        ]))
        .await;
        let out = sandbox.cuervo(&wire.env(&server), &["-p", "hi"]).await;
        assert_eq!(out.code, 0, "{wire:?}: {}", out.stderr);
        assert_eq!(out.stdout, "after the wait\n");
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{wire:?}: exactly one retry");
        let gap = requests[1]
            .received_at
            .duration_since(requests[0].received_at);
        assert!(
            gap >= Duration::from_secs(1),
            "{wire:?}: retried after {gap:?}, before Retry-After"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_exits_1_naming_the_variable_to_fix() {
    for (wire, var) in [
        (Wire::Anthropic, "ANTHROPIC_API_KEY"),
        (Wire::OpenAi, "OPENAI_API_KEY"),
    ] {
        let sandbox = Sandbox::new();
        let server = mock(Script::new(vec![Turn::status(401)])).await;
        let out = sandbox.cuervo(&wire.env(&server), &["-p", "hi"]).await;
        assert_eq!(out.code, 1, "{wire:?}");
        assert!(out.stderr.contains(var), "{wire:?}: {}", out.stderr);
        assert_eq!(
            server.requests().len(),
            1,
            "{wire:?}: auth errors are not retried"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_fails_before_any_request() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("unused")])).await;
    let env = vec![("ANTHROPIC_BASE_URL".to_owned(), server.anthropic_base_url())];
    let out = sandbox.cuervo(&env, &["-p", "hi"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("ANTHROPIC_API_KEY"), "{}", out.stderr);
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_mid_edit_leaves_the_file_untouched() {
    for wire in Wire::ALL {
        let sandbox = Sandbox::new();
        sandbox.write("src/lib.rs", "pub fn answer() -> u32 { 41 }\n");
        let edit = json!({"path": "src/lib.rs", "old_string": "41", "new_string": "42"});
        let server = mock(Script::new(vec![Turn::cut_reply(
            Turn::tool_call("edit", edit),
            4,
        )]))
        .await;
        let out = sandbox
            .cuervo(
                &wire.env(&server),
                &["-p", "fix", "--permission-mode", "full-auto"],
            )
            .await;
        assert_eq!(out.code, 1, "{wire:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("cut off") || out.stderr.contains("ended before"),
            "{wire:?}: {}",
            out.stderr
        );
        assert_eq!(
            sandbox.read("src/lib.rs"),
            "pub fn answer() -> u32 { 41 }\n",
            "{wire:?}: no half-applied edit"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_cut_by_max_tokens_goes_back_to_the_model() {
    for wire in Wire::ALL {
        let sandbox = Sandbox::new();
        // The model ran out of output tokens in the middle of a large write's arguments.
        let cut = Turn::steps(vec![
            Step::text("Writing the file."),
            Step::raw_tool_call(
                "write",
                r#"{"path": "big.rs", "content": "fn main() {\n    pri"#,
            ),
        ])
        .with_stop_reason("max_tokens");
        let malformed = Turn::steps(vec![Step::raw_tool_call("write", "{path: big.rs}")]);
        let server = mock(Script::new(vec![
            cut,
            malformed,
            Turn::text("I will write it in smaller pieces."),
        ]))
        .await;
        let out = sandbox
            .cuervo(
                &wire.env(&server),
                &["-p", "write big.rs", "--permission-mode", "full-auto"],
            )
            .await;
        assert_eq!(out.code, 0, "{wire:?}: the run goes on: {}", out.stderr);
        assert!(
            out.stdout.contains("I will write it in smaller pieces."),
            "{wire:?}: {}",
            out.stdout
        );
        assert!(!sandbox.path("big.rs").exists(), "{wire:?}: nothing ran");
        let requests = server.requests();
        assert_eq!(requests.len(), 3, "{wire:?}");
        // OpenAI's wire has no error flag: the content says it instead.
        let failed = |r: &cuervo_domain::ToolResult| r.is_error || r.content.starts_with("Error:");
        let result = last_tool_result(&requests[1]);
        assert!(failed(&result), "{wire:?}: {result:?}");
        for needle in ["were cut off", "max_tokens", "smaller pieces", "`edit`"] {
            assert!(
                result.content.contains(needle),
                "{wire:?} {needle}: {}",
                result.content
            );
        }
        let result = last_tool_result(&requests[2]);
        assert!(failed(&result), "{wire:?}: {result:?}");
        assert!(
            result.content.contains("are not valid JSON"),
            "{wire:?}: {}",
            result.content
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_escaping_the_root_is_refused_and_reported() {
    let outside = tempfile::tempdir().expect("outside dir");
    std::fs::write(outside.path().join("secret.txt"), "top secret").expect("write");
    let sandbox = Sandbox::new();
    std::os::unix::fs::symlink(outside.path(), sandbox.path("link")).expect("symlink");
    let escape = format!(
        "../{}/secret.txt",
        outside.path().file_name().expect("name").to_string_lossy()
    );
    // `..` lands in the temp dir's parent, i.e. outside the project.
    let server = mock(Script::new(vec![
        Turn::tool_call("read", json!({"path": escape})),
        Turn::tool_call("read", json!({"path": "link/secret.txt"})),
        Turn::tool_call(
            "write",
            json!({"path": "link/secret.txt", "content": "owned"}),
        ),
        Turn::text("I cannot read outside the project."),
    ]))
    .await;
    let out = sandbox
        .cuervo(
            &Wire::Anthropic.env(&server),
            &["-p", "read it", "--permission-mode", "full-auto"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = server.requests();
    for (i, request) in requests.iter().enumerate().skip(1).take(3) {
        let result = last_tool_result(request);
        assert!(result.is_error, "call {i} must be refused");
        assert!(
            result.content.contains("outside the project root"),
            "call {i}: {}",
            result.content
        );
        assert!(
            !result.content.contains("top secret"),
            "call {i} leaked the file"
        );
    }
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).expect("read"),
        "top secret"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_turns_stops_and_exits_1() {
    let sandbox = Sandbox::new();
    sandbox.write("a.txt", "a");
    let server = mock(Script::new(vec![
        Turn::tool_call("read", json!({"path": "a.txt"})),
        Turn::tool_call("read", json!({"path": "a.txt"})),
        Turn::text("never reached"),
    ]))
    .await;
    let out = sandbox
        .cuervo(
            &Wire::OpenAi.env(&server),
            &["-p", "loop", "--max-turns", "2"],
        )
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--max-turns"), "{}", out.stderr);
    assert_eq!(server.requests().len(), 2);
}
