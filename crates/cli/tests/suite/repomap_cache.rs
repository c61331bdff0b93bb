//! The repository map's tags in the user's database: a second session's map parses
//! nothing that has not changed. Also the timing run behind `docs/benchmarks.md`
//! ("Repository map (issue 14)"), ignored by default:
//!
//! ```sh
//! CUERVO_BENCH_REPO=$HOME/linux10k cargo test --release -p cuervo-cli --test all \
//!     repomap_cache::cache_timings -- --ignored --nocapture
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use cuervo_cli::context_sources::{CachedTags, ProjectMap};
use cuervo_cli::setup::Env;
use cuervo_core::context::{MapFocus, RepoMapSource};
use cuervo_store::Db;
use cuervo_text::repomap::{RepoMap, TagStore};

use super::common::Sandbox;
use super::sessions::open_db;

/// Files modified an hour ago: a file modified in the last seconds is not kept.
fn write_aged(sandbox: &Sandbox, files: &[(&str, &str)]) {
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for (rel, text) in files {
        sandbox.write(rel, text);
        std::fs::File::options()
            .write(true)
            .open(sandbox.path(rel))
            .and_then(|f| f.set_modified(hour_ago))
            .expect("mtime");
    }
}

fn env_of(vars: Vec<(String, String)>) -> Arc<Env> {
    Arc::new(move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

/// Starts the map and waits for its build (a few files take milliseconds).
fn built(root: &Path, env: Arc<Env>) -> ProjectMap {
    let map = ProjectMap::start(root, env);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !map.is_built() {
        assert!(Instant::now() < deadline, "the map was not built in 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    map
}

const FILES: [(&str, &str); 3] = [
    (
        "src/geometry.rs",
        "pub fn compute_area(w: f64, h: f64) -> f64 {\n    w * h\n}\n",
    ),
    (
        "src/report.rs",
        "pub fn print_report() {\n    println!(\"{}\", compute_area(2.0, 3.0));\n}\n",
    ),
    (
        "tools/stats.py",
        "def summarize_values(values):\n    return sum(values) / len(values)\n",
    ),
];

#[test]
fn a_second_session_map_parses_nothing_unchanged() {
    let sandbox = Sandbox::new();
    write_aged(&sandbox, &FILES);
    let root = sandbox.project.path();
    let focus = MapFocus {
        files: vec!["src/geometry.rs".into()],
        identifiers: Vec::new(),
    };

    let first = built(root, env_of(sandbox.home.envs()));
    let stats = first.stats().expect("a map");
    assert_eq!((stats.parses, stats.loaded), (3, 0), "{stats:?}");
    let kept = cuervo_store::cache::stats(&open_db(&sandbox), 0).expect("stats");
    assert_eq!(kept.parse_entries, 3, "{kept:?}");

    let second = built(root, env_of(sandbox.home.envs()));
    let stats = second.stats().expect("a map");
    assert_eq!((stats.parses, stats.loaded), (0, 3), "{stats:?}");
    let text = second.render(&focus, 1000).expect("a map to show");
    assert!(text.contains("compute_area"), "{text}");
    assert_eq!(first.render(&focus, 1000), Some(text));
}

#[test]
fn no_database_means_no_cache_but_still_a_map() {
    let sandbox = Sandbox::new();
    write_aged(&sandbox, &FILES);
    // Neither HOME nor XDG_DATA_HOME: nowhere to keep a database.
    let map = built(sandbox.project.path(), env_of(Vec::new()));
    let stats = map.stats().expect("a map");
    assert_eq!((stats.parses, stats.loaded), (3, 0), "{stats:?}");
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// Cold (empty cache: every file parsed and written) and warm (every file loaded) builds
/// of `$CUERVO_BENCH_REPO` against a fresh database, next to a build without a cache.
#[test]
#[ignore = "a timing run on a large tree; see the module docs"]
fn cache_timings() {
    let Some(root) = std::env::var_os("CUERVO_BENCH_REPO") else {
        eprintln!("CUERVO_BENCH_REPO is not set");
        return;
    };
    let root = Path::new(&root);
    let runs: usize = std::env::var("CUERVO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("cuervo.db");
    let db = Arc::new(Db::open(&db_path).expect("db"));
    let store = || -> Option<Arc<dyn TagStore>> { Some(Arc::new(CachedTags::new(db.clone()))) };
    eprintln!("repository: {}", root.display());
    eprintln!("threads: {}", rayon_threads());

    // Warms the page cache for the tree.
    let start = Instant::now();
    let plain = RepoMap::build(root).expect("builds");
    eprintln!(
        "build, no cache (page cache cold): {} {:?}",
        ms(start.elapsed()),
        plain.stats()
    );
    let start = Instant::now();
    let plain = RepoMap::build(root).expect("builds");
    eprintln!("build, no cache: {}", ms(start.elapsed()));

    let start = Instant::now();
    let cold = RepoMap::build_with(root, store()).expect("builds");
    let cold_time = start.elapsed();
    let kept = cuervo_store::cache::stats(&db, 0).expect("stats");
    let db_bytes = std::fs::metadata(&db_path).map_or(0, |m| m.len())
        + std::fs::metadata(dir.path().join("cuervo.db-wal")).map_or(0, |m| m.len());
    eprintln!(
        "cold build, empty cache: {} ({} parses; {} rows, {:.1} MB of tags, database {:.1} MB)",
        ms(cold_time),
        cold.stats().parses,
        kept.parse_entries,
        kept.parse_bytes as f64 / 1e6,
        db_bytes as f64 / 1e6
    );

    let mut warm = Vec::new();
    let mut parses = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let map = RepoMap::build_with(root, store()).expect("builds");
        warm.push(start.elapsed());
        // Not asserted zero: the tree may be edited by someone else during the run.
        parses += map.stats().parses;
        assert_eq!(map.stats().files, plain.stats().files);
    }
    warm.sort();
    eprintln!(
        "warm build, cache filled: {} median of {runs} (min {}, max {}; {parses} parses in all)",
        ms(warm[warm.len() / 2]),
        ms(warm[0]),
        ms(warm[warm.len() - 1])
    );

    // The database's share of a warm build: the lookup alone.
    let keys: Vec<cuervo_text::repomap::FileStamp> =
        cuervo_text::syntax::source_files(&[root.to_path_buf()])
            .expect("walks")
            .into_iter()
            .filter_map(|path| {
                let meta = std::fs::metadata(&path).ok()?;
                Some(cuervo_text::repomap::FileStamp {
                    path: std::path::absolute(&path).ok()?,
                    size: meta.len(),
                    modified: meta.modified().ok()?,
                })
            })
            .collect();
    let tags = CachedTags::new(db.clone());
    let start = Instant::now();
    let loaded = tags.load(&keys);
    eprintln!(
        "of which the database lookup: {} ({} of {} files found)",
        ms(start.elapsed()),
        loaded.iter().flatten().count(),
        keys.len()
    );
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
