//! The shell tool: exit codes, output, and above all that timeouts and cancellation
//! leave no process behind.

use std::path::Path;
use std::time::{Duration, Instant};

use cuervo_domain::Effect;
use serde_json::json;

use super::{Project, invalid};

/// Whether `pid` is a live process. A zombie (dead, not yet reaped by a parent that may
/// never reap it, such as a container's init) counts as dead.
fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// Waits up to five seconds for `pid` to die.
async fn gone(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Reads a pid a command wrote, waiting a little for it to appear.
async fn pid_from(path: &Path) -> i32 {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(s) = std::fs::read_to_string(path)
            && let Ok(pid) = s.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < until, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn success_captures_stdout_and_stderr() {
    let p = Project::new();
    let out = p
        .run(
            "bash",
            json!({"command": "echo out; echo err >&2", "description": "say hi"}),
        )
        .await
        .expect("bash");
    assert!(!out.is_error);
    assert!(
        out.content.contains("out") && out.content.contains("err"),
        "{}",
        out.content
    );
    assert!(!out.content.contains("exit code"));
    assert_eq!(
        out.effects,
        [Effect::CommandExecuted {
            command: "echo out; echo err >&2".into(),
            exit_code: Some(0),
            timed_out: false
        }]
    );
}

#[tokio::test]
async fn non_zero_exit_is_an_error_result_with_the_code() {
    let p = Project::new();
    let out = p
        .run("bash", json!({"command": "echo failing; exit 3"}))
        .await
        .expect("bash");
    assert!(out.is_error);
    assert!(
        out.content.contains("failing") && out.content.contains("[exit code: 3]"),
        "{}",
        out.content
    );
    assert!(matches!(
        out.effects.as_slice(),
        [Effect::CommandExecuted {
            exit_code: Some(3),
            timed_out: false,
            ..
        }]
    ));
}

#[tokio::test]
async fn runs_in_the_project_root_with_no_stdin() {
    let p = Project::new();
    let out = p
        .ok("bash", json!({"command": "pwd; cat; echo done"}))
        .await;
    assert_eq!(out, format!("{}\ndone", p.root.display()));
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let p = Project::new();
    let start = Instant::now();
    let out = p
        .run(
            "bash",
            json!({"command": "sleep 30 & echo $! > grandchild.pid; echo started; wait", "timeout_ms": 500}),
        )
        .await
        .expect("bash");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(out.is_error);
    assert!(
        out.content.contains("started") && out.content.contains("timed out"),
        "{}",
        out.content
    );
    assert!(matches!(
        out.effects.as_slice(),
        [Effect::CommandExecuted {
            exit_code: None,
            timed_out: true,
            ..
        }]
    ));
    let pid = pid_from(&p.root.join("grandchild.pid")).await;
    assert!(gone(pid).await, "grandchild {pid} survived the timeout");
}

#[tokio::test]
async fn context_timeout_caps_the_requested_timeout() {
    let p = Project::new();
    let mut ctx = p.ctx.clone();
    ctx.command_timeout = Duration::from_millis(300);
    let start = Instant::now();
    let out = p
        .tool("bash")
        .execute(json!({"command": "sleep 30", "timeout_ms": 60_000}), &ctx)
        .await
        .expect("bash");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        out.content.contains("timed out after 0.3 s"),
        "{}",
        out.content
    );
}

#[tokio::test]
async fn dropping_the_future_kills_the_whole_process_group() {
    let p = Project::new();
    let command = "echo $$ > shell.pid; sleep 30 & echo $! > grandchild.pid; wait";
    let tool = p.tool("bash");
    let run = tool.execute(json!({ "command": command }), &p.ctx);
    let res = tokio::time::timeout(Duration::from_millis(1_000), run).await;
    assert!(res.is_err(), "the command should still have been running");
    let shell = pid_from(&p.root.join("shell.pid")).await;
    let grandchild = pid_from(&p.root.join("grandchild.pid")).await;
    assert!(
        gone(grandchild).await,
        "grandchild {grandchild} survived cancellation"
    );
    assert!(gone(shell).await, "shell {shell} survived cancellation");
}

#[tokio::test]
async fn background_jobs_end_with_the_command_and_do_not_block_it() {
    let p = Project::new();
    let start = Instant::now();
    let out = p
        .run(
            "bash",
            json!({"command": "sleep 30 & echo $! > bg.pid; echo quick"}),
        )
        .await
        .expect("bash");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "waited for the background job"
    );
    assert_eq!(out.content, "quick");
    let pid = pid_from(&p.root.join("bg.pid")).await;
    assert!(gone(pid).await, "background job {pid} outlived the command");
}

#[tokio::test]
async fn long_output_is_elided_in_the_middle() {
    let p = Project::new();
    let mut ctx = p.ctx.clone();
    ctx.output_limit = 1_000;
    let out = p
        .tool("bash")
        .execute(json!({"command": "seq 1 100000"}), &ctx)
        .await
        .expect("bash");
    assert!(out.content.len() <= 1_000, "{}", out.content.len());
    assert!(
        out.content.starts_with("1\n2\n3\n"),
        "{}",
        &out.content[..20]
    );
    assert!(out.content.ends_with("99999\n100000"), "{}", out.content);
    assert!(out.content.contains("bytes elided"));
}

#[test]
fn validation_targets_the_command_and_always_asks() {
    let p = Project::new();
    let input = json!({"command": "cargo test --all", "description": "run tests"});
    let action = p.validate("bash", input.clone()).expect("validate");
    assert_eq!(action.target.as_deref(), Some("cargo test --all"));
    assert!(!action.outside_root);
    assert_eq!(action.summary, "bash: cargo test --all");
    assert_eq!(
        action.preview.as_deref(),
        Some("# run tests\ncargo test --all")
    );
    assert!(p.tool("bash").requires_confirmation(&input));
    let msg = invalid(
        p.validate("bash", json!({"command": "  "}))
            .expect_err("empty"),
    );
    assert!(msg.contains("empty"), "{msg}");
    let msg = invalid(
        p.validate("bash", json!({"command": "ls", "timeout_ms": 0}))
            .expect_err("zero"),
    );
    assert!(msg.contains("timeout_ms"), "{msg}");
}
