//! The interactive UI's start and idle cost, measured through a pseudo-terminal:
//! - launch to a ready prompt: from spawning `cuervo` (no arguments) to the terminal
//!   showing the input box and status line (target < 50 ms);
//! - idle RSS: resident memory of an open session waiting at the prompt (target < 30 MB).
//!
//! Run with `scripts/bench-tui` (release build). Figures are medians of 21 launches.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cuervo_testkit::env::TestHome;
use cuervo_testkit::{MockServer, Script};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const RUNS: usize = 21;

fn median<T: Ord + Copy>(mut samples: Vec<T>) -> T {
    samples.sort();
    samples[samples.len() / 2]
}

/// One launch: (time to a ready prompt, idle RSS in KiB one second later).
fn launch(project: &std::path::Path, home: &TestHome, server: &MockServer) -> (Duration, u64) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cuervo"));
    cmd.cwd(project);
    cmd.env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("TERM", "xterm-256color");
    for (k, v) in home.envs() {
        cmd.env(k, v);
    }
    cmd.env("ANTHROPIC_BASE_URL", server.anthropic_base_url());
    cmd.env("ANTHROPIC_API_KEY", "bench");
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(30, 100, 0)));
    let sink = parser.clone();
    let start = Instant::now();
    let mut child = pty.slave.spawn_command(cmd).expect("spawn");
    let pid = child.process_id().expect("pid");
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().expect("parser").process(&buf[..n]);
        }
    });
    let ready = loop {
        if parser
            .lock()
            .expect("parser")
            .screen()
            .contents()
            .contains("ctrl+d exit")
        {
            break start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no prompt");
        std::thread::sleep(Duration::from_micros(200));
    };
    std::thread::sleep(Duration::from_secs(1));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    let _ = child.kill();
    let _ = child.wait();
    (ready, rss)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime
        .block_on(MockServer::start(Script::new(vec![])))
        .expect("mock");
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir(project.path().join(".git")).expect(".git");
    let home = TestHome::new();
    // The first launch creates the database; the rest measure a user's usual start.
    launch(project.path(), &home, &server);
    let (times, rss): (Vec<Duration>, Vec<u64>) = (0..RUNS)
        .map(|_| launch(project.path(), &home, &server))
        .unzip();
    println!("| measure | median | min | max | target |");
    println!("|---|---|---|---|---|");
    let ms = |d: &Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| launch to ready prompt | {} | {} | {} | < 50 ms |",
        ms(&median(times.clone())),
        ms(times.iter().min().expect("runs")),
        ms(times.iter().max().expect("runs")),
    );
    let mb = |k: u64| format!("{:.1} MB", k as f64 / 1024.0);
    println!(
        "| idle RSS of an open session | {} | {} | {} | < 30 MB |",
        mb(median(rss.clone())),
        mb(*rss.iter().min().expect("runs")),
        mb(*rss.iter().max().expect("runs")),
    );
}
