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
//!
//! The builds with a `TagStore` use one in memory, so they measure the map's side of a
//! cached build (stat, decode, link); the CLI's SQLite-backed store is timed by the
//! ignored test `cache_timings` in `crates/cli/tests/suite/repomap_cache.rs`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cuervo_text::repomap::{FileStamp, Focus, RepoMap, StoredFile, TagStore};
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

/// A file's size, mtime and tags.
type Row = (u64, SystemTime, Vec<u8>);

/// Tags kept in memory by path, size and mtime.
#[derive(Default)]
struct MemoryTags(Mutex<HashMap<PathBuf, Row>>);

impl TagStore for MemoryTags {
    fn load(&self, files: &[FileStamp]) -> Vec<Option<Vec<u8>>> {
        let rows = self.0.lock().expect("lock");
        files
            .iter()
            .map(|f| {
                rows.get(&f.path)
                    .filter(|r| (r.0, r.1) == (f.size, f.modified))
                    .map(|r| r.2.clone())
            })
            .collect()
    }

    fn content_hash(&self, content: &[u8]) -> String {
        content.len().to_string()
    }

    fn save(&self, files: Vec<StoredFile>) {
        let mut rows = self.0.lock().expect("lock");
        for f in files {
            rows.insert(f.stamp.path, (f.stamp.size, f.stamp.modified, f.bytes));
        }
    }
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

    let store = Arc::new(MemoryTags::default());
    let start = Instant::now();
    RepoMap::build_with(&root, Some(store.clone())).expect("builds");
    let cold = start.elapsed();
    let kept: usize = store
        .0
        .lock()
        .expect("lock")
        .values()
        .map(|r| r.2.len())
        .sum();
    let start = Instant::now();
    let warm = RepoMap::build_with(&root, Some(store)).expect("builds");
    eprintln!(
        "build with an in-memory tag store: cold {}, warm {} ({} parses; {:.1} MB of tags)",
        ms(cold),
        ms(start.elapsed()),
        warm.stats().parses,
        kept as f64 / 1e6
    );

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
