//! Repository map: build, one-edit update, refresh and render times on a real tree.
//!
//! ```sh
//! CUERVO_BENCH_REPO=$HOME/linux-src/linux-source-6.1 \
//!     cargo bench -p cuervo-text --bench repomap
//! ```
//!
//! - `CUERVO_BENCH_REPO`: the directory to map (default: this crate's `src`).
//! - `CUERVO_BENCH_EDIT`: the file to edit, relative to the repository (default: the
//!   file with the most definitions among the 100 best-ranked). A comment naming a
//!   defined function is appended to it, the map updated, the file restored and the map
//!   updated again; an interrupted run can leave the comment in place, so point it at a
//!   tree you do not mind touching.
//! - `CUERVO_BENCH_RUNS`: repetitions of the fast steps, median reported (default 5).
//!
//! A plain timer rather than criterion: one build of a kernel-sized tree takes longer
//! than criterion's minimum of ten samples allows. Files are read once before timing, so
//! the build is measured with a warm page cache; what is measured is parsing, tagging and
//! linking.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cuervo_text::repomap::{Focus, RepoMap};
use cuervo_text::syntax;
use cuervo_text::tokens::Encoding;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let root = env("CUERVO_BENCH_REPO").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        PathBuf::from,
    );
    let runs: usize = env("CUERVO_BENCH_RUNS").map_or(5, |v| v.parse().expect("a number"));
    eprintln!("repository: {}", root.display());
    eprintln!("threads: {}", rayon::current_num_threads());

    // Warm the page cache and the tokenizer.
    let start = Instant::now();
    let files = syntax::source_files(std::slice::from_ref(&root)).expect("the repository exists");
    let bytes: usize = files
        .iter()
        .map(|p| std::fs::read(p).map_or(0, |b| b.len()))
        .sum();
    eprintln!(
        "walk + read: {} files, {:.1} MB in {}",
        files.len(),
        bytes as f64 / 1e6,
        ms(start.elapsed())
    );
    Encoding::Cl100kBase.warm_up();

    let start = Instant::now();
    let mut map = RepoMap::build(&root).expect("builds");
    let build = start.elapsed();
    let stats = map.stats();
    eprintln!("build: {} ({stats:?})", ms(build));

    let start = Instant::now();
    let refreshed = map.refresh().expect("refreshes");
    eprintln!(
        "refresh, nothing changed: {} ({refreshed:?})",
        ms(start.elapsed())
    );

    let unfocused = Focus::default();
    let ranked = map.ranked_files(&unfocused);
    let all_defs = map.ranked(&unfocused);
    let edit: PathBuf = env("CUERVO_BENCH_EDIT").map_or_else(
        || {
            ranked
                .iter()
                .take(100)
                .max_by_key(|f| all_defs.iter().filter(|d| d.path == f.path).count())
                .map(|f| f.path.clone())
                .expect("the repository has ranked files")
        },
        PathBuf::from,
    );
    let focus = Focus::files([edit.clone()]);
    let callee = all_defs
        .into_iter()
        .find(|d| d.path != edit && d.name.len() > 6)
        .map_or_else(|| "main".to_owned(), |d| d.name);
    eprintln!("edit: {} (adds a use of `{callee}`)", edit.display());

    for budget in [1024usize, 4096] {
        let mut times = Vec::new();
        let mut text = String::new();
        for _ in 0..runs {
            let start = Instant::now();
            text = map.render(&focus, budget);
            times.push(start.elapsed());
        }
        let tokens = Encoding::Cl100kBase.count(&text);
        eprintln!(
            "render {budget} tokens (focus on the edited file): {} median of {runs}; {tokens} tokens, {} lines",
            ms(median(times)),
            text.lines().count()
        );
        if budget == 1024 {
            eprintln!(
                "---\n{}---",
                text.lines().take(24).collect::<Vec<_>>().join("\n")
            );
        }
    }
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(map.ranked(&focus));
        times.push(start.elapsed());
    }
    eprintln!("rank only (all definitions): {}", ms(median(times)));

    let path = root.join(&edit);
    let original = std::fs::read(&path).expect("the edited file reads");
    let mut edited = original.clone();
    edited.extend_from_slice(format!("\n/* bench edit: {callee}() */\n").as_bytes());
    let (mut update, mut restore) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..runs {
        std::fs::write(&path, &edited).expect("writes the edit");
        let start = Instant::now();
        let s = map.update(std::slice::from_ref(&edit));
        update.push(start.elapsed());
        last = Some(s);
        std::fs::write(&path, &original).expect("restores the file");
        let start = Instant::now();
        map.update(std::slice::from_ref(&edit));
        restore.push(start.elapsed());
    }
    eprintln!(
        "update after one edit: {} median of {runs} ({last:?}); restoring: {}",
        ms(median(update)),
        ms(median(restore))
    );
    let mut times = Vec::new();
    for _ in 0..runs {
        std::fs::write(&path, &edited).expect("writes the edit");
        let start = Instant::now();
        map.refresh().expect("refreshes");
        times.push(start.elapsed());
        std::fs::write(&path, &original).expect("restores the file");
        map.update(std::slice::from_ref(&edit));
    }
    eprintln!(
        "refresh after one edit: {} median of {runs}",
        ms(median(times))
    );
}
