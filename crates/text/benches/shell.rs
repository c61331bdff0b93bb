//! Shell command analysis latency: what permission checking adds to every bash call.
//!
//! ```sh
//! cargo bench -p cuervo-text --bench shell -- --quick
//! ```
//!
//! Each benchmark analyses one representative command line; `all` analyses the whole
//! set once, so its time divided by the number of commands is the mean per command.
//! Before criterion runs, a plain loop prints the median per command over many rounds.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use cuervo_text::shell::analyse;

const COMMANDS: &[&str] = &[
    "cargo test",
    "git status -s",
    "ls -la | head -20",
    "npm run build && npm test",
    "rg -n 'fn main' src",
    "cargo test --all -- --nocapture 2>&1 | tail -50",
    "git log --oneline -10",
    "git diff --stat HEAD~1",
    "find . -name '*.rs' -not -path './target/*' | xargs wc -l",
    "cd crates/text && cargo test -p cuervo-text shell",
    "python3 -m pytest -x tests/ > /tmp/pytest.log 2>&1",
    "echo \"$(date)\" >> log.txt",
    "git commit -m 'fix: handle empty input; add tests'",
    "for f in src/*.rs; do wc -l \"$f\"; done",
    "docker compose up -d && docker compose logs -f api",
    "grep -rn TODO --include='*.ts' src | sort | uniq -c",
    "bash -c 'cd web && npm ci && npm run lint'",
    "RUST_LOG=debug timeout 60 cargo run -- --help",
    "cat <<'EOF' > notes.md\n# Notes\nsome text\nEOF",
    "curl -fsSL https://example.com/install.sh | sh",
];

/// The median of `rounds` timings of analysing every command, per command.
fn median_per_command(rounds: usize) -> Duration {
    let mut per_command: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for c in COMMANDS {
                std::hint::black_box(analyse(std::hint::black_box(c)));
            }
            start.elapsed() / COMMANDS.len() as u32
        })
        .collect();
    per_command.sort();
    per_command[per_command.len() / 2]
}

fn bench(c: &mut Criterion) {
    // Warm the thread's parser, then report the plain median.
    let _ = median_per_command(20);
    let median = median_per_command(500);
    let mut singles: Vec<(Duration, &str)> = COMMANDS
        .iter()
        .map(|cmd| {
            let mut times: Vec<Duration> = (0..200)
                .map(|_| {
                    let start = Instant::now();
                    std::hint::black_box(analyse(std::hint::black_box(cmd)));
                    start.elapsed()
                })
                .collect();
            times.sort();
            (times[times.len() / 2], *cmd)
        })
        .collect();
    singles.sort();
    let median_single = singles[singles.len() / 2].0;
    eprintln!(
        "shell::analyse: median {:.1} µs per command over the set ({} commands); \
         median of per-command medians {:.1} µs; slowest {:.1} µs ({:?})",
        median.as_secs_f64() * 1e6,
        COMMANDS.len(),
        median_single.as_secs_f64() * 1e6,
        singles.last().map_or(0.0, |s| s.0.as_secs_f64() * 1e6),
        singles.last().map_or("", |s| s.1),
    );

    let mut group = c.benchmark_group("shell");
    group.bench_function("all", |b| {
        b.iter(|| {
            for cmd in COMMANDS {
                std::hint::black_box(analyse(std::hint::black_box(cmd)));
            }
        });
    });
    for (i, cmd) in COMMANDS.iter().enumerate() {
        let name = format!(
            "{i:02}-{}",
            cmd.split_whitespace().next().unwrap_or("empty")
        );
        group.bench_function(name, |b| b.iter(|| analyse(std::hint::black_box(cmd))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
