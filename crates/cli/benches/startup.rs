//! Start-up and per-turn overhead of the `cuervo` binary, against the in-process mock.
//!
//! Prints one table:
//! - `cuervo --version`: process start to exit (the floor of any command);
//! - start to first request: from spawning `cuervo -p` to the mock receiving the model
//!   request (config, tools, prompt assembly, TLS-free connect);
//! - overhead per turn: the extra wall time of each additional tool-using turn, minus
//!   the mock's own latency for one streamed reply measured by a bare HTTP client.
//!
//! Run with `scripts/bench-startup` (release build). Figures are medians.

use std::process::Stdio;
use std::time::{Duration, Instant};

use cuervo_testkit::env::TestHome;
use cuervo_testkit::{MockServer, Script, Turn};
use serde_json::json;

const RUNS: usize = 21;
const TURNS: usize = 10;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Project {
    dir: tempfile::TempDir,
    home: TestHome,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join(".git")).expect(".git");
        std::fs::write(dir.path().join("notes.txt"), "a small file\n").expect("write");
        Self {
            dir,
            home: TestHome::new(),
        }
    }

    fn command(&self, server: Option<&MockServer>, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cuervo"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.home.envs())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(server) = server {
            cmd.env("ANTHROPIC_BASE_URL", server.anthropic_base_url())
                .env("ANTHROPIC_API_KEY", "bench");
        }
        cmd
    }
}

fn version(project: &Project) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let status = project.command(None, &["--version"]).status().expect("run");
                assert!(status.success());
                start.elapsed()
            })
            .collect(),
    )
}

fn start_to_first_request(project: &Project) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let server = start(Script::new(vec![Turn::text("ok")]));
                let start = Instant::now();
                let status = project
                    .command(Some(&server), &["-p", "hi"])
                    .status()
                    .expect("run");
                assert!(status.success());
                let first = server.requests()[0].received_at;
                first.duration_since(start)
            })
            .collect(),
    )
}

fn run_turns(project: &Project, tool_turns: usize) -> Duration {
    let mut turns: Vec<Turn> = (0..tool_turns)
        .map(|_| Turn::tool_call("read", json!({"path": "notes.txt"})))
        .collect();
    turns.push(Turn::text("done"));
    let server = start(Script::new(turns));
    let start = Instant::now();
    let status = project
        .command(Some(&server), &["-p", "read notes.txt"])
        .status()
        .expect("run");
    assert!(status.success());
    start.elapsed()
}

/// The mock's own time for one streamed tool-call reply, seen by a bare client.
fn mock_latency() -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let turns = (0..RUNS)
        .map(|_| Turn::tool_call("read", json!({"path": "notes.txt"})))
        .collect();
    let server = start(Script::new(turns));
    let client = reqwest::Client::new();
    let body = json!({
        "model": "m", "max_tokens": 100, "stream": true,
        "messages": [{"role": "user", "content": "read notes.txt"}],
    });
    median(
        (0..RUNS)
            .map(|_| {
                runtime.block_on(async {
                    let start = Instant::now();
                    let response = client
                        .post(format!("{}/v1/messages", server.anthropic_base_url()))
                        .header("x-api-key", "bench")
                        .header("anthropic-version", "2023-06-01")
                        .json(&body)
                        .send()
                        .await
                        .expect("send");
                    response.bytes().await.expect("body");
                    start.elapsed()
                })
            })
            .collect(),
    )
}

fn start(script: Script) -> MockServer {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(MockServer::start(script))
        .expect("mock starts")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let project = Project::new();
    let version = version(&project);
    let first_request = start_to_first_request(&project);
    let one = median((0..7).map(|_| run_turns(&project, 1)).collect());
    let many = median((0..7).map(|_| run_turns(&project, TURNS)).collect());
    let latency = mock_latency();
    let per_turn = (many.saturating_sub(one)) / u32::try_from(TURNS - 1).expect("small");
    let overhead = per_turn.saturating_sub(latency);
    println!("| measure | median | target |");
    println!("|---|---|---|");
    println!(
        "| `cuervo --version` | {} | < 50 ms to ready |",
        ms(version)
    );
    println!(
        "| start to first request at the mock | {} | < 50 ms |",
        ms(first_request)
    );
    println!(
        "| one-turn run, {TURNS}-turn run (wall) | {}, {} | — |",
        ms(one),
        ms(many)
    );
    println!("| wall time per extra tool turn | {} | — |", ms(per_turn));
    println!("| mock latency per streamed reply | {} | — |", ms(latency));
    println!(
        "| our overhead per turn (mock latency subtracted) | {} | < 5 ms |",
        ms(overhead)
    );
}
