//! Crash safety and concurrency: a `cuervo` killed mid-stream leaves a healthy database
//! with the user's message in it, and `--continue` carries on; two `cuervo`s writing at
//! once lose nothing and never show a lock error.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cuervo_domain::{ContentBlock, Role, SessionId};
use cuervo_testkit::{MockServer, Script, ServerOptions, Turn};
use pretty_assertions::assert_eq;

use super::common::{Sandbox, Wire, mock};
use super::sessions::open_db;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_said_and_continue_completes() {
    let sandbox = Sandbox::new();
    // The answer starts streaming, then the provider goes silent.
    let stalled = mock(Script::new(vec![Turn::stall(3, 60)])).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cuervo"))
        .args(["-p", "remember the number 7731"])
        .current_dir(sandbox.project.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(sandbox.home.envs())
        .envs(Wire::Anthropic.env(&stalled))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("cuervo starts");
    let started = Instant::now();
    while stalled.requests().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "cuervo never called the model"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the first frames arrive, so the kill lands mid-stream.
    tokio::time::sleep(Duration::from_millis(200)).await;
    child.kill().await.expect("SIGKILL");
    let status = child.wait().await.expect("status");
    assert_eq!(status.code(), None, "killed by a signal, not exited");

    let db = open_db(&sandbox);
    assert_eq!(db.integrity_check().expect("integrity_check"), "ok");
    let sessions = db.sessions(None, 10).expect("sessions");
    assert_eq!(sessions.len(), 1);
    let id = SessionId(sessions[0].id.clone());
    let messages = db.messages(&id).expect("messages");
    assert_eq!(messages.len(), 1, "only the user's message was complete");
    assert_eq!(messages[0].record.message.role, Role::User);
    assert_eq!(
        messages[0].record.message.text(),
        "remember the number 7731"
    );
    drop(db);

    // A healthy provider now: --continue resumes the killed session and completes it.
    let healthy = mock(Script::new(vec![Turn::text("The number was 7731.")])).await;
    let out = sandbox
        .cuervo(
            &Wire::Anthropic.env(&healthy),
            &["--continue", "-p", "what was the number?"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "The number was 7731.\n");
    // Both prompts, in order (the adapter may merge the two user turns into one message).
    let sent: Vec<String> = healthy.requests()[0]
        .messages()
        .iter()
        .flat_map(|m| m.content.clone())
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(sent, ["remember the number 7731", "what was the number?"]);
    let db = open_db(&sandbox);
    assert_eq!(db.message_count(&id).expect("count"), 3);
    // The audit log survived the kill too.
    let verify = sandbox
        .cuervo(&Wire::Anthropic.env(&healthy), &["audit", "verify"])
        .await;
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_writing_for_ten_seconds_lose_nothing() {
    let sandbox = Arc::new(Sandbox::new());
    let server = MockServer::start_with(
        Script::new(vec![Turn::text("ok").with_usage(50, 2)]),
        ServerOptions {
            looping: true,
            ..ServerOptions::default()
        },
    )
    .await
    .expect("mock starts");
    let env = Arc::new(Wire::OpenAi.env(&server));
    let deadline = Instant::now() + Duration::from_secs(10);
    let writers = (0..2).map(|w| {
        let sandbox = sandbox.clone();
        let env = env.clone();
        tokio::spawn(async move {
            let mut runs = 0u64;
            let mut failures = Vec::new();
            while Instant::now() < deadline {
                let prompt = format!("writer {w} run {runs}");
                let out = sandbox.cuervo(&env, &["-p", &prompt]).await;
                let stderr = out.stderr.to_lowercase();
                if out.code != 0 || stderr.contains("locked") || stderr.contains("busy") {
                    failures.push(format!("exit {}: {}", out.code, out.stderr));
                }
                runs += 1;
            }
            (runs, failures)
        })
    });
    let mut total = 0;
    for writer in writers.collect::<Vec<_>>() {
        let (runs, failures) = writer.await.expect("writer task");
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(runs >= 3, "each writer ran several times ({runs})");
        total += runs;
    }
    eprintln!("{total} runs by two concurrent writers");
    let db = open_db(&sandbox);
    assert_eq!(db.integrity_check().expect("integrity_check"), "ok");
    let sessions = db.sessions(None, 100_000).expect("sessions");
    assert_eq!(sessions.len() as u64, total, "one session per run");
    let messages: u64 = sessions.iter().map(|s| s.message_count).sum();
    assert_eq!(messages, 2 * total, "a prompt and an answer per run");
    let verify = sandbox.cuervo(&env, &["audit", "verify"]).await;
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}
