//! Measurements for docs/adr/0002-codebase-index.md.
//!
//! `cargo run --release -p cuervo-index --example index_bench -- [TREE] [WORK_DIR]`
//!
//! 1. The default vector backend alone: 100,000 random 384-dimensional unit vectors,
//!    search p50/p95 and recall@10 against exact search, persist and load times, RSS.
//! 2. A real tree (default `~/linux10k`) indexed with the hashing embedder (384
//!    dimensions): files/s and chunks/s with embedding time apart; hybrid search p50/p95
//!    including the query's embedding; recall@10 of the backend's search against exact
//!    search on that index; re-index time after editing one file; reopen time and RSS.
//!
//! The index is written under WORK_DIR (default: a temporary directory, removed at the
//! end).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cuervo_index::{
    FlatIndex, HashEmbedder, Index, IndexOptions, SearchMode, SearchQuery, UpdateOptions,
    VectorIndex, VectorRow, normalize,
};

type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const DIM: usize = 384;

fn main() -> BoxResult<()> {
    let mut args = std::env::args().skip(1);
    let home = std::env::var("HOME").unwrap_or_default();
    let tree = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(&home).join("linux10k"));
    let scratch = tempfile::tempdir()?;
    let work = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch.path().to_path_buf());
    println!(
        "# cuervo-index bench ({} cores)",
        std::thread::available_parallelism()?.get()
    );
    if std::env::var_os("BENCH_SKIP_VECTORS").is_none() {
        vectors_alone(&work)?;
    }
    real_tree(&tree, &work)?;
    Ok(())
}

fn vectors_alone(work: &std::path::Path) -> BoxResult<()> {
    let n = 100_000;
    println!("\n## FlatIndex, {n} random {DIM}-d unit vectors");
    let rss0 = rss_mb();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rows: Vec<VectorRow> = (0..n)
        .map(|i| VectorRow {
            id: i as i64 + 1,
            file: String::new(),
            vector: rng.unit(DIM),
        })
        .collect();
    let path = work.join("bench-vectors.bin");
    let mut index = FlatIndex::new(&path, DIM);
    let t = Instant::now();
    index.apply(&[], &rows)?;
    println!("insert: {:.2} s", t.elapsed().as_secs_f64());
    drop(rows);
    println!("RSS: {:.0} MB (+{:.0} MB)", rss_mb(), rss_mb() - rss0);
    let queries: Vec<Vec<f32>> = (0..200).map(|_| rng.unit(DIM)).collect();
    let (lat, recall) = latency_and_recall(&index, &queries)?;
    println!(
        "search top-10: p50 {:.2} ms, p95 {:.2} ms; recall@10 vs exact {recall:.4}",
        lat.0, lat.1
    );
    let t = Instant::now();
    let mut exact = Vec::new();
    for q in queries.iter().take(50) {
        let s = Instant::now();
        index.search_exact(q, 10)?;
        exact.push(s.elapsed());
    }
    let _ = t;
    println!("exact f32 top-10: p50 {:.2} ms", pct(&mut exact, 0.5));
    let t = Instant::now();
    index.persist()?;
    let size = std::fs::metadata(&path)?.len();
    println!(
        "persist: {:.2} s, {:.0} MB",
        t.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    drop(index);
    let t = Instant::now();
    let back = FlatIndex::load(&path, DIM)?;
    println!(
        "load (with CRC check): {:.2} s, {} vectors",
        t.elapsed().as_secs_f64(),
        back.len()
    );
    drop(back);
    std::fs::remove_file(&path)?;
    Ok(())
}

fn latency_and_recall(index: &FlatIndex, queries: &[Vec<f32>]) -> BoxResult<((f64, f64), f64)> {
    let mut lat = Vec::new();
    let (mut hit, mut total) = (0, 0);
    for q in queries {
        let t = Instant::now();
        let got = index.search(q, 10)?;
        lat.push(t.elapsed());
        let want = index.search_exact(q, 10)?;
        total += want.len();
        hit += want
            .iter()
            .filter(|w| got.iter().any(|g| g.id == w.id))
            .count();
    }
    Ok((
        (pct(&mut lat, 0.5), pct(&mut lat, 0.95)),
        hit as f64 / total.max(1) as f64,
    ))
}

fn real_tree(tree: &std::path::Path, work: &std::path::Path) -> BoxResult<()> {
    println!(
        "\n## {} with the hashing embedder ({DIM} d)",
        tree.display()
    );
    let embedder = HashEmbedder::new(DIM);
    let base = work.join("bench-index");
    let rss0 = rss_mb();
    let index = Index::open(tree, &base, &embedder, IndexOptions::default())?;
    let options = UpdateOptions::default();
    let stats = index.update(&embedder, &options, &mut |_| {})?;
    let (files, chunks) = index.counts()?;
    let total = stats.total_time.as_secs_f64();
    let without_embed = (stats.total_time - stats.embed_time).as_secs_f64();
    println!(
        "full index: {files} files, {chunks} chunks in {total:.1} s (walk {:.2} s, read+chunk {:.1} s, embed {:.1} s, SQLite+vectors {:.1} s)",
        stats.walk_time.as_secs_f64(),
        stats.chunk_time.as_secs_f64(),
        stats.embed_time.as_secs_f64(),
        stats.write_time.as_secs_f64()
    );
    println!(
        "throughput without embedding: {:.0} files/s, {:.0} chunks/s; with the hashing embedder: {:.0} files/s, {:.0} chunks/s",
        files as f64 / without_embed,
        chunks as f64 / without_embed,
        files as f64 / total,
        chunks as f64 / total
    );
    println!(
        "RSS after indexing: {:.0} MB (+{:.0} MB)",
        rss_mb(),
        rss_mb() - rss0
    );
    let db = std::fs::metadata(index.dir().join("index.db"))?.len();
    let vf = std::fs::metadata(index.dir().join("vectors.bin"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "on disk: index.db {:.0} MB, vectors.bin {:.0} MB",
        db as f64 / 1e6,
        vf as f64 / 1e6
    );
    drop(index);

    let rss1 = rss_mb();
    let t = Instant::now();
    let index = Index::open(tree, &base, &embedder, IndexOptions::default())?;
    println!(
        "reopen: {:.2} s, RSS +{:.0} MB",
        t.elapsed().as_secs_f64(),
        rss_mb() - rss1
    );

    let phrases = [
        "allocate memory for a network buffer",
        "spin lock irq save",
        "parse mount options",
        "register a platform driver",
        "free the inode cache",
        "read the device tree property",
        "timer interrupt handler",
        "copy data to user space",
        "checksum of the packet header",
        "power management suspend resume",
        "dma mapping error",
        "mutex lock unlock",
        "wake up the waiting process",
        "schedule work on a workqueue",
        "sound card pcm open",
        "file system superblock write",
        "ext4 journal commit",
        "tcp congestion window",
        "kobject sysfs attribute show",
        "module init exit",
    ];
    for mode in [SearchMode::FullText, SearchMode::Vector, SearchMode::Hybrid] {
        let mut lat = Vec::new();
        let mut hits = 0;
        for round in 0..10 {
            for p in phrases {
                let text = if round == 0 {
                    p.to_owned()
                } else {
                    format!("{p} {round}")
                };
                let t = Instant::now();
                let r = index.search(&embedder, &SearchQuery::new(text).mode(mode))?;
                lat.push(t.elapsed());
                hits += r.hits.len();
            }
        }
        println!(
            "{mode:?} search top-10 (query embedding included), {} queries: p50 {:.2} ms, p95 {:.2} ms ({} hits)",
            lat.len(),
            pct(&mut lat, 0.5),
            pct(&mut lat, 0.95),
            hits
        );
    }
    let mut vlat = Vec::new();
    let (mut hit, mut total) = (0, 0);
    for p in phrases {
        let q = embedder.vector(p);
        let t = Instant::now();
        let got = index.vector_search(&q, 10)?;
        vlat.push(t.elapsed());
        let want = index.vector_search_exact(&q, 10)?;
        total += want.len();
        hit += want
            .iter()
            .filter(|w| got.iter().any(|g| g.0 == w.0))
            .count();
    }
    println!(
        "vector top-10 on this index: p50 {:.2} ms; recall@10 vs exact {:.4}",
        pct(&mut vlat, 0.5),
        hit as f64 / total.max(1) as f64
    );
    let mut rng = Rng(42);
    let mut rlat = Vec::new();
    let (mut hit, mut total) = (0, 0);
    for _ in 0..50 {
        let mut q = rng.unit(DIM);
        normalize(&mut q);
        let t = Instant::now();
        let got = index.vector_search(&q, 10)?;
        rlat.push(t.elapsed());
        let want = index.vector_search_exact(&q, 10)?;
        total += want.len();
        hit += want
            .iter()
            .filter(|w| got.iter().any(|g| g.0 == w.0))
            .count();
    }
    println!(
        "vector top-10, random query vectors: p50 {:.2} ms; recall@10 vs exact {:.4}",
        pct(&mut rlat, 0.5),
        hit as f64 / total.max(1) as f64
    );

    // One file edited in the tree: the whole update (walk, stat, hash, chunk, embed, write).
    let victim = pick_file(tree)?;
    let original = std::fs::read(&victim)?;
    let mut edited = original.clone();
    edited.extend_from_slice(b"\n/* edited by the cuervo-index bench */\n");
    let mut times = Vec::new();
    for i in 0..5 {
        std::fs::write(&victim, if i % 2 == 0 { &edited } else { &original })?;
        let t = Instant::now();
        let s = index.update(&embedder, &options, &mut |_| {})?;
        times.push(t.elapsed());
        assert_eq!(s.files_indexed, 1);
    }
    std::fs::write(&victim, &original)?;
    index.update(&embedder, &options, &mut |_| {})?;
    println!(
        "one-file re-index ({}), {} runs: p50 {:.1} ms, max {:.1} ms",
        victim.strip_prefix(tree).unwrap_or(&victim).display(),
        times.len(),
        pct(&mut times, 0.5),
        times.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    println!("peak RSS: {:.0} MB", peak_rss_mb());
    drop(index);
    if std::env::var_os("BENCH_KEEP").is_none() {
        std::fs::remove_dir_all(&base)?;
    }
    Ok(())
}

/// A C file of a few kilobytes in the tree.
fn pick_file(tree: &std::path::Path) -> BoxResult<PathBuf> {
    let (files, _) =
        cuervo_text::scan::files(&cuervo_text::scan::WalkOptions::new(tree).sorted(true))?;
    files
        .into_iter()
        .find(|f| {
            f.extension().is_some_and(|e| e == "c")
                && std::fs::metadata(f).is_ok_and(|m| (4_000..20_000).contains(&m.len()))
        })
        .ok_or_else(|| "no C file of 4-20 KB in the tree".into())
}

fn pct(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    fn unit(&mut self, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| self.next()).collect();
        normalize(&mut v);
        v
    }
}
