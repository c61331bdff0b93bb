//! Parse + symbols and chunking throughput on a real corpus.
//!
//! ```sh
//! CUERVO_BENCH_CORPUS=~/.cargo/registry/src CUERVO_BENCH_LANGS=rust \
//!     cargo bench -p cuervo-text --bench syntax
//! ```
//!
//! - `CUERVO_BENCH_CORPUS`: directories to walk, separated by `:` (default: the test
//!   fixtures).
//! - `CUERVO_BENCH_LANGS`: languages to keep, comma-separated (default: all).
//! - `CUERVO_BENCH_MAX_MB`: at most this many MB of source (default 24), split evenly among
//!   the languages found, files drawn in a fixed pseudo-random order so the sample spreads
//!   over the whole corpus.
//! - `CUERVO_BENCH_NAME`: the benchmark group (default `corpus`).
//!
//! The corpus is read into memory first: what is measured is parsing, symbol extraction
//! and chunking, not the disk. Throughput counts source bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cuervo_text::syntax::{self, ChunkOptions, Language};
use rayon::prelude::*;

struct Corpus {
    files: Vec<(PathBuf, Language, String)>,
    bytes: usize,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn load() -> Corpus {
    let roots: Vec<PathBuf> = match env("CUERVO_BENCH_CORPUS") {
        Some(dirs) => dirs.split(':').map(PathBuf::from).collect(),
        None => vec![PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/syntax"
        ))],
    };
    let langs: Option<Vec<Language>> = env("CUERVO_BENCH_LANGS").map(|l| {
        l.split(',')
            .map(|n| n.trim().parse().expect("a language name"))
            .collect()
    });
    let max_bytes = env("CUERVO_BENCH_MAX_MB")
        .map_or(24.0, |v| v.parse::<f64>().expect("a number of MB"))
        * 1e6;

    let mut paths = syntax::source_files(&roots).expect("corpus directories exist");
    // A fixed shuffle (xorshift), so a capped sample spreads over the whole corpus.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..paths.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        paths.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut by_lang: BTreeMap<Language, Vec<PathBuf>> = BTreeMap::new();
    let mut available: BTreeMap<Language, (usize, usize)> = BTreeMap::new();
    for p in paths {
        let Some(lang) = syntax::detect_language(&p, "") else {
            continue;
        };
        if langs.as_ref().is_some_and(|l| !l.contains(&lang)) {
            continue;
        }
        let size = std::fs::metadata(&p).map(|m| m.len() as usize).unwrap_or(0);
        let entry = available.entry(lang).or_default();
        entry.0 += 1;
        entry.1 += size;
        by_lang.entry(lang).or_default().push(p);
    }
    let share = max_bytes / by_lang.len().max(1) as f64;
    let mut files = Vec::new();
    let mut bytes = 0;
    for (lang, paths) in by_lang {
        let mut taken = 0usize;
        for p in paths {
            if taken as f64 >= share {
                break;
            }
            if let Ok(source) = syntax::read_source(&p) {
                taken += source.len();
                files.push((p, lang, source));
            }
        }
        bytes += taken;
        let (n, total) = available[&lang];
        let used = files.iter().filter(|f| f.1 == lang).count();
        eprintln!(
            "corpus {lang}: {used} of {n} files, {:.1} of {:.1} MB",
            taken as f64 / 1e6,
            total as f64 / 1e6
        );
    }
    eprintln!(
        "corpus total: {} files, {:.1} MB",
        files.len(),
        bytes as f64 / 1e6
    );
    Corpus { files, bytes }
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), so a figure survives
/// other processes competing for the cores; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// One pass per language outside criterion, for a per-language breakdown (after a first
/// call per language, which compiles its query), timed both by the wall clock and by the
/// thread's CPU time.
fn per_language(corpus: &Corpus) {
    for lang in Language::ALL {
        std::hint::black_box(syntax::symbols(lang, "").expect("parses"));
    }
    let mut by: BTreeMap<Language, (usize, Duration)> = BTreeMap::new();
    let cpu_start = thread_cpu_ns();
    let wall_start = Instant::now();
    for (_, lang, source) in &corpus.files {
        let start = Instant::now();
        let symbols = syntax::symbols(*lang, source).expect("parses");
        std::hint::black_box(symbols);
        let e = by.entry(*lang).or_default();
        e.0 += source.len();
        e.1 += start.elapsed();
    }
    let wall = wall_start.elapsed().as_secs_f64();
    let mb = corpus.bytes as f64 / 1e6;
    for (lang, (bytes, time)) in by {
        eprintln!(
            "per-language {lang}: {:.1} MB/s (1 thread, {:.1} MB)",
            bytes as f64 / 1e6 / time.as_secs_f64(),
            bytes as f64 / 1e6
        );
    }
    eprintln!("single pass wall: {:.2} MB/s", mb / wall);
    if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
        eprintln!("single pass cpu: {:.2} MB/s", mb / ((b - a) as f64 / 1e9));
    }
}

fn bench(c: &mut Criterion) {
    let corpus = load();
    per_language(&corpus);
    let name = env("CUERVO_BENCH_NAME").unwrap_or_else(|| "corpus".to_owned());
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(corpus.bytes as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));

    group.bench_function("symbols-1-thread", |b| {
        b.iter(|| {
            for (_, lang, source) in &corpus.files {
                std::hint::black_box(syntax::symbols(*lang, source).expect("parses"));
            }
        });
    });
    group.bench_function("symbols-parallel", |b| {
        b.iter(|| {
            corpus.files.par_iter().for_each(|(_, lang, source)| {
                std::hint::black_box(syntax::symbols(*lang, source).expect("parses"));
            });
        });
    });
    let options = ChunkOptions::default();
    group.bench_function("chunks-parallel", |b| {
        b.iter(|| {
            corpus.files.par_iter().for_each(|(path, lang, source)| {
                std::hint::black_box(syntax::chunk_source(path, Some(*lang), source, &options));
            });
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
