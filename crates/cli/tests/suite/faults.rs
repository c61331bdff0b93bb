//! What users see when things go wrong: rate limits, bad keys, cut streams, escapes.

use std::time::Duration;

use cuervo_testkit::{Script, Turn};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_the_turn_and_leaves_no_process_behind() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::tool_call(
        "bash",
        json!({"command": "sleep 300 & echo $! > child.pid; echo $$ > shell.pid; wait"}),
    )]))
    .await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cuervo"))
        .args(["-p", "run it", "--permission-mode", "full-auto"])
        .current_dir(sandbox.project.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(sandbox.home.envs())
        .envs(Wire::Anthropic.env(&server))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cuervo starts");
    let pids = ["child.pid", "shell.pid"].map(|f| sandbox.path(f));
    for _ in 0..200 {
        if pids
            .iter()
            .all(|p| std::fs::read_to_string(p).is_ok_and(|s| s.ends_with('\n')))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pids: Vec<String> = pids
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .expect("pid file")
                .trim()
                .to_owned()
        })
        .collect();
    let pid = child.id().expect("pid").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("cuervo stops after Ctrl-C")
        .expect("status");
    assert_eq!(status.code(), Some(130));
    for pid in pids {
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "));
        assert!(!alive, "process {pid} survived the cancelled run");
    }
}
