//! Measurements for docs/adr/0002-codebase-index.md and docs/benchmarks.md; run through
//! `scripts/bench-index`.
//!
//! `cargo run --release -p cuervo-index --example index_bench -- [TREE] [WORK_DIR]`
//!
//! Environment: `BENCH_BACKEND` (`flat`, the default, or `lancedb` in a build with
//! `--features lancedb`), `BENCH_MODEL` (an all-MiniLM-L6-v2 directory: adds the real
//! model's embedding throughput and search latency with the query embedded by it),
//! `BENCH_SKIP_VECTORS` (skip part 1), `BENCH_KEEP` (keep the index).
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
    Embedder, FlatIndex, HashEmbedder, Index, IndexOptions, SearchMode, SearchQuery, UpdateOptions,
    VectorBackend, VectorIndex, VectorRow, normalize,
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
    let mut table = Vec::new();
    if std::env::var_os("BENCH_SKIP_VECTORS").is_none() {
        vectors_alone(&work, &mut table)?;
    }
    real_tree(&tree, &work, &mut table)?;
    println!("\n## Summary ({} backend)\n", backend().name());
    println!("| measure | measured | target |\n|---|---|---|");
    for row in &table {
        println!("| {} | {} | {} |", row.what, row.measured, row.target);
    }
    Ok(())
}

fn vectors_alone(work: &std::path::Path, table: &mut Vec<Row>) -> BoxResult<()> {
    let n = 100_000;
    let name = backend().name();
    println!("\n## {name} backend, {n} random {DIM}-d unit vectors");
    let rss0 = rss_mb();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rows: Vec<VectorRow> = (0..n)
        .map(|i| VectorRow {
            id: i as i64 + 1,
            file: String::new(),
            vector: rng.unit(DIM),
        })
        .collect();
    let mut index = new_vectors(work)?;
    let t = Instant::now();
    index.apply(&[], &rows)?;
    let insert = t.elapsed().as_secs_f64();
    println!("insert (and ANN build, if any): {insert:.2} s");
    drop(rows);
    let rss = rss_mb() - rss0;
    println!("RSS: {:.0} MB (+{rss:.0} MB)", rss_mb());
    let queries: Vec<Vec<f32>> = (0..200).map(|_| rng.unit(DIM)).collect();
    let (lat, recall) = latency_and_recall(index.as_ref(), &queries)?;
    println!(
        "search top-10: p50 {:.2} ms, p95 {:.2} ms; recall@10 vs exact {recall:.4}",
        lat.0, lat.1
    );
    let mut exact = Vec::new();
    for q in queries.iter().take(50) {
        let s = Instant::now();
        index.search_exact(q, 10)?;
        exact.push(s.elapsed());
    }
    println!("exact f32 top-10: p50 {:.2} ms", pct(&mut exact, 0.5));
    let t = Instant::now();
    index.persist()?;
    println!("persist: {:.2} s", t.elapsed().as_secs_f64());
    drop(index);
    let t = Instant::now();
    let back = load_vectors(work)?;
    println!(
        "load: {:.2} s, {} vectors, {:.0} MB on disk",
        t.elapsed().as_secs_f64(),
        back.len(),
        (dir_bytes(&work.join("bench-lance")) + dir_bytes(&work.join("bench-vectors.bin"))) as f64
            / 1e6
    );
    drop(back);
    let _ = std::fs::remove_file(work.join("bench-vectors.bin"));
    let _ = std::fs::remove_dir_all(work.join("bench-lance"));
    table.push(Row::new(
        format!("vector top-10, 100K random vectors ({name})"),
        format!("p50 {:.2} ms, p95 {:.2} ms", lat.0, lat.1),
        "—",
    ));
    table.push(Row::new(
        format!("ANN recall@10 vs exact, 100K random vectors ({name})"),
        format!("{recall:.3}"),
        "≥ 0.95",
    ));
    table.push(Row::new(
        format!("vector store RSS, 100K × 384 ({name})"),
        format!("+{rss:.0} MB"),
        "—",
    ));
    Ok(())
}

fn latency_and_recall(
    index: &dyn VectorIndex,
    queries: &[Vec<f32>],
) -> BoxResult<((f64, f64), f64)> {
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

/// One line of the closing table.
struct Row {
    what: String,
    measured: String,
    target: &'static str,
}

impl Row {
    fn new(what: String, measured: String, target: &'static str) -> Self {
        Self {
            what,
            measured,
            target,
        }
    }
}

fn real_tree(
    tree: &std::path::Path,
    work: &std::path::Path,
    table: &mut Vec<Row>,
) -> BoxResult<()> {
    println!(
        "\n## {} with the hashing embedder ({DIM} d)",
        tree.display()
    );
    let embedder = HashEmbedder::new(DIM);
    let base = work.join("bench-index");
    let rss0 = rss_mb();
    let index = Index::open(
        tree,
        &base,
        &embedder,
        IndexOptions {
            backend: backend(),
            ..IndexOptions::default()
        },
    )?;
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
    table.push(Row::new(
        format!("indexing {files} files / {chunks} chunks, embedding apart"),
        format!(
            "{:.0} files/s, {:.0} chunks/s ({without_embed:.1} s)",
            files as f64 / without_embed,
            chunks as f64 / without_embed
        ),
        "—",
    ));
    println!(
        "RSS after indexing: {:.0} MB (+{:.0} MB)",
        rss_mb(),
        rss_mb() - rss0
    );
    let db = std::fs::metadata(index.dir().join("index.db"))?.len();
    let vf = dir_bytes(&index.dir().join("vectors.bin")) + dir_bytes(&index.dir().join("lance"));
    println!(
        "on disk: index.db {:.0} MB, vectors {:.0} MB",
        db as f64 / 1e6,
        vf as f64 / 1e6
    );
    drop(index);

    let rss1 = rss_mb();
    let t = Instant::now();
    let index = Index::open(
        tree,
        &base,
        &embedder,
        IndexOptions {
            backend: backend(),
            ..IndexOptions::default()
        },
    )?;
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
        let (p50, p95) = (pct(&mut lat, 0.5), pct(&mut lat, 0.95));
        println!(
            "{mode:?} search top-10 (hashing query embedding included), {} queries: p50 {p50:.2} ms, p95 {p95:.2} ms ({hits} hits)",
            lat.len(),
        );
        table.push(Row::new(
            format!("{mode:?} search top-10, {chunks} chunks (hashing query embedding)"),
            format!("p50 {p50:.2} ms, p95 {p95:.2} ms"),
            if mode == SearchMode::Hybrid {
                "p50 < 10 ms"
            } else {
                "—"
            },
        ));
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
    let recall = hit as f64 / total.max(1) as f64;
    println!(
        "vector top-10 on this index: p50 {:.2} ms; recall@10 vs exact {recall:.4}",
        pct(&mut vlat, 0.5),
    );
    table.push(Row::new(
        format!("ANN recall@10 vs exact, {chunks}-chunk index"),
        format!("{recall:.3}"),
        "≥ 0.95",
    ));
    if let Ok(model) = std::env::var("BENCH_MODEL") {
        real_model(
            &index,
            std::path::Path::new(&model),
            &phrases,
            chunks,
            table,
        )?;
    }
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
    let p50 = pct(&mut times, 0.5);
    println!(
        "one-file re-index ({}), {} runs: p50 {p50:.1} ms, max {:.1} ms",
        victim.strip_prefix(tree).unwrap_or(&victim).display(),
        times.len(),
        times.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    table.push(Row::new(
        format!("re-index after editing one file, {files}-file tree"),
        format!("p50 {p50:.0} ms"),
        "< 200 ms",
    ));
    println!("peak RSS: {:.0} MB", peak_rss_mb());
    drop(index);
    if std::env::var_os("BENCH_KEEP").is_none() {
        std::fs::remove_dir_all(&base)?;
    }
    Ok(())
}

fn backend() -> VectorBackend {
    let name = std::env::var("BENCH_BACKEND").unwrap_or_else(|_| "flat".to_owned());
    VectorBackend::from_name(&name).unwrap_or_else(|| {
        panic!(
            "BENCH_BACKEND={name} is not in this build (it has {:?}; LanceDB needs --features lancedb)",
            VectorBackend::available()
        )
    })
}

/// An empty vector store of the benched backend under `work`, and how to reload it.
fn new_vectors(work: &std::path::Path) -> BoxResult<Box<dyn VectorIndex>> {
    Ok(match backend() {
        #[cfg(feature = "lancedb")]
        VectorBackend::LanceDb => Box::new(cuervo_index::LanceIndex::create(
            &work.join("bench-lance"),
            DIM,
        )?),
        _ => Box::new(FlatIndex::new(work.join("bench-vectors.bin"), DIM)),
    })
}

fn load_vectors(work: &std::path::Path) -> BoxResult<Box<dyn VectorIndex>> {
    Ok(match backend() {
        #[cfg(feature = "lancedb")]
        VectorBackend::LanceDb => Box::new(cuervo_index::LanceIndex::load(
            &work.join("bench-lance"),
            DIM,
        )?),
        _ => Box::new(FlatIndex::load(&work.join("bench-vectors.bin"), DIM)?),
    })
}

fn dir_bytes(path: &std::path::Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|d| d.flatten().map(|e| dir_bytes(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// The real embedding model: chunk embedding throughput, query embedding latency, and
/// search latency with the query embedded by it (the index's vectors are the hashing
/// embedder's: the latency is the same, the ranking is not the point here).
fn real_model(
    index: &Index,
    model: &std::path::Path,
    phrases: &[&str],
    chunks: u64,
    table: &mut Vec<Row>,
) -> BoxResult<()> {
    let minilm = cuervo_local::LocalEmbedder::load(model)?;
    println!("\n### all-MiniLM-L6-v2 ({})", model.display());
    let texts: Vec<String> = index
        .chunk_rows()?
        .into_iter()
        .step_by(97)
        .take(512)
        .map(|r| format!("{}\n{}\n{}", r.file_path, r.chunk_name, r.content_text))
        .collect();
    let t = Instant::now();
    for batch in texts.chunks(32) {
        minilm.embed(batch)?;
    }
    let rate = texts.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "chunk embedding: {rate:.0} chunks/s ({} chunks)",
        texts.len()
    );
    table.push(Row::new(
        "chunk embedding with all-MiniLM-L6-v2 (CPU)".to_owned(),
        format!("{rate:.0} chunks/s"),
        "—",
    ));
    // Searched through `Index::search`, which embeds the query beside the full-text
    // search, as `cuervo search` and the agent's tool do.
    let as_index = MiniLmAs {
        model: &minilm,
        id: HashEmbedder::new(DIM).model_id().to_owned(),
    };
    let mut embed = Vec::new();
    let mut search = Vec::new();
    for round in 0..5 {
        for p in phrases {
            let text = format!("{p} {round}");
            let t = Instant::now();
            minilm.embed(std::slice::from_ref(&text))?;
            embed.push(t.elapsed());
            let t = Instant::now();
            index.search(&as_index, &SearchQuery::new(text))?;
            search.push(t.elapsed());
        }
    }
    let (e50, s50, s95) = (
        pct(&mut embed, 0.5),
        pct(&mut search, 0.5),
        pct(&mut search, 0.95),
    );
    println!(
        "query embedding p50 {e50:.2} ms; hybrid search with it p50 {s50:.2} ms, p95 {s95:.2} ms"
    );
    table.push(Row::new(
        format!("hybrid search top-10, {chunks} chunks, query embedded by all-MiniLM-L6-v2"),
        format!("p50 {s50:.2} ms, p95 {s95:.2} ms (embedding p50 {e50:.2} ms)"),
        "p50 < 10 ms",
    ));
    Ok(())
}

/// all-MiniLM-L6-v2 under the hashing embedder's id, so that it can query the index
/// built with that embedder: both have 384 dimensions, and the time a search takes does
/// not depend on which model wrote the vectors.
struct MiniLmAs<'a> {
    model: &'a cuervo_local::LocalEmbedder,
    id: String,
}

impl Embedder for MiniLmAs<'_> {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dimension(&self) -> usize {
        self.model.dim()
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, cuervo_index::EmbedError> {
        self.model
            .embed(texts)
            .map_err(cuervo_index::EmbedError::from)
    }
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
