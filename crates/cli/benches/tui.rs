//! The interactive UI's start and idle cost, measured through a pseudo-terminal:
//! - launch to a ready prompt: from spawning `cuervo` (no arguments) to the terminal
//!   showing the input box and status line (target < 50 ms);
//! - idle RSS: resident memory of an open session waiting at the prompt (target < 30 MB);
//! - paste: from a 1 MB bracketed paste to its last line drawn in the input box.
//!
//! Run with `scripts/bench-tui` (release build). Figures are medians of 21 launches.

use std::time::{Duration, Instant};

use cuervo_testkit::env::TestHome;
use cuervo_testkit::tty::{Tty, rss_kib};
use cuervo_testkit::{MockServer, Script};
use portable_pty::CommandBuilder;

const RUNS: usize = 21;
/// The last line of the pasted megabyte.
const PASTE_END: &str = "end of the pasted megabyte";

fn median<T: Ord + Copy>(mut samples: Vec<T>) -> T {
    samples.sort();
    samples[samples.len() / 2]
}

/// One launch: time to a ready prompt, idle RSS in KiB one second later, and the time
/// from pasting 1 MB into the prompt to the pasted text's end being drawn.
fn launch(
    project: &std::path::Path,
    home: &TestHome,
    server: &MockServer,
    paste: &str,
) -> (Duration, u64, Duration) {
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
    let start = Instant::now();
    let mut tty = Tty::start(cmd, 30, 100);
    tty.wait_polling("a ready prompt", Duration::from_micros(200), |s| {
        s.contains("ctrl+d exit")
    });
    let ready = start.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let rss = rss_kib(tty.pid());
    let sent = Instant::now();
    tty.send(&format!("\u{1b}[200~{paste}\u{1b}[201~"));
    tty.wait_polling("the pasted text", Duration::from_micros(200), |s| {
        s.contains(PASTE_END)
    });
    let pasted = sent.elapsed();
    tty.kill();
    (ready, rss, pasted)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime
        .block_on(MockServer::start(Script::new(vec![])))
        .expect("mock");
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir(project.path().join(".git")).expect(".git");
    let home = TestHome::new();
    let mut paste: String = (0..)
        .map(|i| format!("pasted line {i:06}, a log or a file someone copied\n"))
        .take_while({
            let mut size = 0;
            move |line: &String| {
                size += line.len();
                size < 1_000_000
            }
        })
        .collect();
    paste.push_str(PASTE_END);
    // The first launch creates the database; the rest measure a user's usual start.
    launch(project.path(), &home, &server, &paste);
    let mut times = Vec::new();
    let mut rss = Vec::new();
    let mut pastes = Vec::new();
    for _ in 0..RUNS {
        let (ready, idle, pasted) = launch(project.path(), &home, &server, &paste);
        times.push(ready);
        rss.push(idle);
        pastes.push(pasted);
    }
    println!("| measure | median | min | max | target |");
    println!("|---|---|---|---|---|");
    let ms = |d: &Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| launch to ready prompt | {} | {} | {} | < 50 ms |",
        ms(&median(times.clone())),
        ms(times.iter().min().expect("runs")),
        ms(times.iter().max().expect("runs")),
    );
    println!(
        "| paste 1 MB into the prompt, until drawn | {} | {} | {} | no lag |",
        ms(&median(pastes.clone())),
        ms(pastes.iter().min().expect("runs")),
        ms(pastes.iter().max().expect("runs")),
    );
    let mb = |k: u64| format!("{:.1} MB", k as f64 / 1024.0);
    println!(
        "| idle RSS of an open session | {} | {} | {} | < 30 MB |",
        mb(median(rss.clone())),
        mb(*rss.iter().min().expect("runs")),
        mb(*rss.iter().max().expect("runs")),
    );
}
