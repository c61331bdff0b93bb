//! SIGTERM (`kill`, `timeout`, a CI runner cancelling a job) and SIGHUP (the terminal
//! closed) stop a turn the way Ctrl-C does, in every front end: the command a tool started
//! is killed with its process group, the session is stored, and the exit status is 143 or
//! 129.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use cuervo_domain::{Role, SessionId};
use cuervo_testkit::tty::Tty;
use cuervo_testkit::{MockServer, Script, Turn};
use portable_pty::CommandBuilder;
use serde_json::json;

use super::common::{Sandbox, Wire, mock};
use super::sessions::open_db;

/// A `sleep` argument no other process has, so the process can be found in `/proc`
/// whatever pid namespace the shell tool runs it in.
fn unique_duration() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("30.{}{n:03}", std::process::id())
}

/// A model that runs a command which outlives its shell unless its process group is
/// killed, then (never reached) answers.
async fn sleeper(duration: &str) -> MockServer {
    mock(Script::new(vec![
        Turn::tool_call(
            "bash",
            json!({"command": format!("sleep {duration} & echo started > started.txt; wait")}),
        ),
        Turn::text("never reached"),
    ]))
    .await
}

/// The pid (as this test sees it) of the background `sleep`, once the command started it.
async fn sleep_pid(sandbox: &Sandbox, duration: &str) -> u32 {
    let file = sandbox.path("started.txt");
    let cmdline = format!("sleep\0{duration}\0");
    let started = Instant::now();
    loop {
        if std::fs::read_to_string(&file).is_ok_and(|t| t.ends_with('\n')) {
            let found = std::fs::read_dir("/proc")
                .expect("/proc")
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .find(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| c == cmdline.as_bytes())
                });
            if let Some(pid) = found {
                return pid;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the command never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kill(pid: u32, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -{signal} {pid}");
}

/// Whether `pid` still runs (a zombie nobody reaped does not count).
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// Waits a little for `pid` to go: the kill of a process group is not instantaneous.
async fn assert_gone(pid: u32) {
    let started = Instant::now();
    while alive(pid) && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !alive(pid),
        "the command's process {pid} survived the signal"
    );
}

/// The one stored session holds the prompt, the call, and its "interrupted" result.
fn assert_session_stored(sandbox: &Sandbox, prompt: &str) {
    let db = open_db(sandbox);
    let sessions = db.sessions(None, 10).expect("sessions");
    assert_eq!(sessions.len(), 1);
    let id = SessionId(sessions[0].id.clone());
    let messages: Vec<_> = db
        .messages(&id)
        .expect("messages")
        .into_iter()
        .map(|m| m.record.message)
        .collect();
    let roles: Vec<Role> = messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::Tool],
        "{messages:#?}"
    );
    assert_eq!(messages[0].text(), prompt);
    assert_eq!(messages[1].tool_calls().count(), 1);
    let result = messages[2].tool_results_iter().next().expect("a result");
    assert!(result.is_error, "{result:?}");
    assert!(result.content.contains("interrupted"), "{result:?}");
}

async fn headless_run_stops_on(signal: &str, code: i32) {
    let sandbox = Sandbox::new();
    let duration = unique_duration();
    let server = sleeper(&duration).await;
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cuervo"))
        .args(["-p", "run it", "--permission-mode", "full-auto"])
        .current_dir(sandbox.project.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(sandbox.home.envs())
        .envs(Wire::Anthropic.env(&server))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cuervo starts");
    let sleep = sleep_pid(&sandbox, &duration).await;
    assert!(alive(sleep));
    kill(child.id().expect("pid"), signal);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("cuervo stops after SIG{signal}"))
        .expect("status");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains("cancelled."), "{stderr}");
    assert_gone(sleep).await;
    assert_session_stored(&sandbox, "run it");
    assert_eq!(server.requests().len(), 1, "no turn after the signal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_a_headless_run_kills_its_command_and_keeps_the_session() {
    headless_run_stops_on("INT", 130).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_headless_run_kills_its_command_and_keeps_the_session() {
    headless_run_stops_on("TERM", 143).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_stops_a_headless_run_kills_its_command_and_keeps_the_session() {
    headless_run_stops_on("HUP", 129).await;
}

/// `cuervo` on a terminal: the full UI, or the line-based one when `TERM=dumb`.
fn on_terminal(sandbox: &Sandbox, server: &MockServer, term: &str) -> Tty {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cuervo"));
    cmd.args(["--permission-mode", "full-auto"]);
    cmd.cwd(sandbox.project.path());
    cmd.env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("TERM", term);
    for (k, v) in sandbox
        .home
        .envs()
        .into_iter()
        .chain(Wire::Anthropic.env(server))
    {
        cmd.env(k, v);
    }
    Tty::start(cmd, 30, 100)
}

async fn terminal_run_stops_on(term: &str, signal: &str, code: u32) {
    let sandbox = Sandbox::new();
    let duration = unique_duration();
    let server = sleeper(&duration).await;
    let mut tty = on_terminal(&sandbox, &server, term);
    tty.wait_for("› ");
    tty.line("run it");
    let sleep = sleep_pid(&sandbox, &duration).await;
    kill(tty.pid(), signal);
    let status = tokio::task::spawn_blocking(move || {
        let code = tty.exit_code();
        (code, tty.screen())
    })
    .await
    .expect("waited");
    assert_eq!(status.0, code, "the screen:\n{}", status.1);
    assert_gone(sleep).await;
    assert_session_stored(&sandbox, "run it");
    assert_eq!(server.requests().len(), 1, "no turn after the signal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_turn_in_the_terminal_ui() {
    terminal_run_stops_on("xterm-256color", "TERM", 143).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_stops_a_turn_in_the_terminal_ui() {
    terminal_run_stops_on("xterm-256color", "HUP", 129).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_turn_in_the_line_mode() {
    terminal_run_stops_on("dumb", "TERM", 143).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_at_the_line_mode_prompt_ends_the_conversation() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("Hello.")])).await;
    let mut tty = on_terminal(&sandbox, &server, "dumb");
    tty.wait_for("› ");
    tty.line("hi");
    tty.wait_for("Hello.");
    tty.wait("the next prompt", |s| s.matches("› ").count() >= 2);
    kill(tty.pid(), "HUP");
    let code = tokio::task::spawn_blocking(move || tty.exit_code())
        .await
        .expect("waited");
    assert_eq!(code, 129);
    let db = open_db(&sandbox);
    let sessions = db.sessions(None, 10).expect("sessions");
    let id = SessionId(sessions[0].id.clone());
    assert_eq!(db.messages(&id).expect("messages").len(), 2);
}
