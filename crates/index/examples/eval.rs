//! Retrieval quality of the codebase search (issue 12): a set of natural-language
//! questions about a real open-source codebase, each with the file and line range that
//! answers it, asked in every search mode and of a ripgrep-style keyword baseline.
//!
//! ```text
//! scripts/fetch-eval-corpus      # the pinned corpora (requests 2.32.3, ignore 0.4.35)
//! scripts/fetch-models           # all-MiniLM-L6-v2 (for the default embedder)
//! cargo run --release -p cuervo-index --example eval -- [OPTIONS]
//! cargo run --release -p cuervo-index --example eval -- \
//!     --corpus ~/.cache/cuervo/eval/ignore-0.4.35     # the second set
//! ```
//!
//! Two sets: `requests-2.32.3` (85 questions about the Python HTTP library, the
//! default) and `ignore-0.4.35` (54 questions about the Rust crate behind ripgrep's
//! gitignore handling and parallel directory walk), each asked the way someone who has
//! not read the code would ask, mostly without identifiers. Tune on one, check on the
//! other: a change that helps only one set is fitting that set.
//!
//! Options:
//!
//! - `--corpus DIR`: the codebase (default: `$CUERVO_EVAL_CACHE/requests-2.32.3`, where
//!   `scripts/fetch-eval-corpus` puts it; `CUERVO_EVAL_CACHE` defaults to
//!   `~/.cache/cuervo/eval`).
//! - `--queries FILE`: the query set, JSON Lines (default: `crates/index/eval/NAME.jsonl`
//!   for a corpus directory named `NAME`, e.g. `requests-2.32.3`). Each line: `{"id", "query", "path", "start_line",
//!   "end_line"}` (path relative to the corpus root, lines 1-based and inclusive), and
//!   optionally `"identifiers": true` for a query that names code identifiers and
//!   `"symbol"` (the function or class the range was taken from; not used in scoring).
//! - `--embedder minilm|hash`: the real local model (default) or the hashing test
//!   embedder (no model, no synonyms: a quick smoke run only).
//! - `--model DIR`: the MiniLM checkpoint (default: `$CUERVO_MODEL_CACHE/
//!   all-MiniLM-L6-v2`, `CUERVO_MODEL_CACHE` defaulting to `~/.cache/cuervo/models`).
//! - `--index-dir DIR`: where the index is written (default: a temporary directory); an
//!   index kept there is brought up to date rather than rebuilt.
//! - `--rrf-k N`: RRF's constant for the hybrid row (default: the search's own, 60).
//! - `--details`: print each query's first relevant rank in every row.
//! - `--show ID` (repeatable): print what every row returned for that query.
//!
//! A returned result counts as relevant when it is in the expected file and its line
//! range overlaps the expected one. Rows: `full-text`, `vector` and `hybrid` are
//! `Index::search` with `k = 10` in each `SearchMode`; `ripgrep-keywords` is a baseline
//! like an agent grepping: the query's words minus stop words, searched case-insensitively
//! in the same files (the `grep` crates, through `cuervo_text::scan`), each matching line
//! widened to a ±20-line window, windows ranked by how many distinct keywords they hold
//! (then by how many matching lines), overlapping windows of a file kept once.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use cuervo_index::{
    EmbedError, Embedder, HashEmbedder, Index, IndexOptions, SearchMode, SearchQuery,
    UpdateOptions, overlaps,
};
use cuervo_local::LocalEmbedder;
use cuervo_text::scan::{Case, GrepOptions, WalkOptions, grep_collect};

type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const K: usize = 10;
const CORPUS: &str = "requests-2.32.3";
const WINDOW: usize = 20;

const USAGE: &str = "usage: cargo run --release -p cuervo-index --example eval -- \
[--corpus DIR] [--queries FILE] [--embedder minilm|hash] [--model DIR] [--index-dir DIR] \
[--rrf-k N] [--details] [--show QUERY_ID]...";

struct Args {
    corpus: PathBuf,
    queries: PathBuf,
    embedder: String,
    model: PathBuf,
    index_dir: Option<PathBuf>,
    rrf_k: Option<f64>,
    details: bool,
    show: Vec<String>,
}

fn cache_dir(var: &str, leaf: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/cuervo")
            .join(leaf),
    }
}

fn parse_args() -> BoxResult<Args> {
    let mut args = Args {
        corpus: cache_dir("CUERVO_EVAL_CACHE", "eval").join(CORPUS),
        queries: PathBuf::new(),
        embedder: "minilm".into(),
        model: cache_dir("CUERVO_MODEL_CACHE", "models").join("all-MiniLM-L6-v2"),
        index_dir: None,
        rrf_k: None,
        details: false,
        show: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--corpus" => args.corpus = value()?.into(),
            "--queries" => args.queries = value()?.into(),
            "--embedder" => args.embedder = value()?,
            "--model" => args.model = value()?.into(),
            "--index-dir" => args.index_dir = Some(value()?.into()),
            "--rrf-k" => {
                let v = value()?;
                args.rrf_k = Some(
                    v.parse()
                        .map_err(|_| format!("--rrf-k: not a number: {v}"))?,
                );
            }
            "--details" => args.details = true,
            "--show" => args.show.push(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    if args.queries.as_os_str().is_empty() {
        // The set named after the corpus directory.
        let name = args
            .corpus
            .file_name()
            .map_or_else(|| CORPUS.into(), |n| n.to_string_lossy().into_owned());
        args.queries = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("eval")
            .join(format!("{name}.jsonl"));
    }
    if !matches!(args.embedder.as_str(), "minilm" | "hash") {
        return Err(format!(
            "--embedder must be `minilm` or `hash`, not `{}`",
            args.embedder
        )
        .into());
    }
    Ok(args)
}

/// One question of the set and where its answer is.
struct Query {
    id: String,
    text: String,
    path: String,
    lines: (usize, usize),
    identifiers: bool,
}

fn load_queries(path: &Path, corpus: &Path) -> BoxResult<Vec<Query>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the query set {}: {e}", path.display()))?;
    let mut queries = Vec::new();
    let mut line_counts: HashMap<String, usize> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{}: {e}", at()))?;
        let field = |name: &str| {
            v.get(name)
                .ok_or_else(|| format!("{}: missing `{name}`", at()))
        };
        let string = |name: &str| -> BoxResult<String> {
            Ok(field(name)?
                .as_str()
                .ok_or_else(|| format!("{}: `{name}` is not a string", at()))?
                .to_owned())
        };
        let number = |name: &str| -> BoxResult<usize> {
            Ok(field(name)?
                .as_u64()
                .ok_or_else(|| format!("{}: `{name}` is not a positive integer", at()))?
                as usize)
        };
        let q = Query {
            id: string("id")?,
            text: string("query")?,
            path: string("path")?,
            lines: (number("start_line")?, number("end_line")?),
            identifiers: v
                .get("identifiers")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        };
        // The expected range must exist in the pinned file: a corpus of another version
        // would silently score wrong.
        let count = match line_counts.get(&q.path) {
            Some(&c) => c,
            None => {
                let file = corpus.join(&q.path);
                let c = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: cannot read {}: {e}", at(), file.display()))?
                    .lines()
                    .count();
                line_counts.insert(q.path.clone(), c);
                c
            }
        };
        if q.lines.0 == 0 || q.lines.0 > q.lines.1 || q.lines.1 > count {
            return Err(format!(
                "{}: lines {}-{} are not within {} ({count} lines)",
                at(),
                q.lines.0,
                q.lines.1,
                q.path
            )
            .into());
        }
        queries.push(q);
    }
    Ok(queries)
}

/// `cuervo_index::Embedder` over the local sentence-transformers model.
struct MiniLm {
    id: String,
    model: LocalEmbedder,
}

impl Embedder for MiniLm {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimension(&self) -> usize {
        self.model.dim()
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(self.model.embed(texts)?)
    }
}

fn load_embedder(args: &Args) -> BoxResult<Box<dyn Embedder>> {
    if args.embedder == "hash" {
        return Ok(Box::new(HashEmbedder::new(384)));
    }
    if !args.model.join("model.safetensors").is_file() {
        return Err(format!(
            "no all-MiniLM-L6-v2 checkpoint at {}: run scripts/fetch-models (or pass \
             --model DIR, or --embedder hash for a quick run without a model)",
            args.model.display()
        )
        .into());
    }
    let model = LocalEmbedder::load(&args.model)
        .map_err(|e| format!("cannot load the model at {}: {e}", args.model.display()))?;
    Ok(Box::new(MiniLm {
        id: "local/all-MiniLM-L6-v2".into(),
        model,
    }))
}

/// A result's location, for scoring.
struct Found {
    path: String,
    lines: (usize, usize),
}

/// Results longer than this (or than the answer, if it is longer) do not count under the
/// strict rule: a class chunk whose range is the whole class overlaps every method in it
/// without pointing at any.
const STRICT_SPAN: usize = 100;

fn span(lines: (usize, usize)) -> usize {
    (lines.1 + 1).saturating_sub(lines.0)
}

/// The 1-based rank of the first result that answers `q`, if any: in the expected file
/// and overlapping the expected lines, and under the strict rule no longer than
/// `STRICT_SPAN` lines (or the answer's own length, if longer).
fn first_relevant(q: &Query, found: &[Found], strict: bool) -> Option<usize> {
    let longest = STRICT_SPAN.max(span(q.lines));
    found
        .iter()
        .position(|f| {
            f.path == q.path && overlaps(f.lines, q.lines) && (!strict || span(f.lines) <= longest)
        })
        .map(|i| i + 1)
}

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "an", "and", "any", "are", "as", "at", "be", "been", "before",
    "being", "by", "can", "code", "do", "does", "doing", "done", "each", "for", "from", "get",
    "gets", "happen", "happens", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "logic", "make", "me", "my", "of", "on", "one", "or", "other", "our", "out",
    "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "those", "to", "up", "us", "was", "we", "were", "what", "when",
    "where", "whether", "which", "while", "who", "why", "will", "with", "would", "you", "your",
];

/// The query's keywords, as an agent would grep them: lower-cased words of at least
/// three characters, stop words left out, each once.
fn keywords(query: &str) -> Vec<String> {
    let stop: HashSet<&str> = STOP_WORDS.iter().copied().collect();
    let mut seen = HashSet::new();
    query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !stop.contains(w.as_str()))
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

fn escape(word: &str) -> String {
    word.chars()
        .flat_map(|c| {
            let special = !(c.is_alphanumeric() || c == '_');
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// The ripgrep-keyword baseline's top `K` windows.
fn ripgrep_keywords(corpus: &Path, query: &str) -> BoxResult<Vec<Found>> {
    let words = keywords(query);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let mut opts = GrepOptions::new(escape(&words[0]))
        .case(Case::Insensitive)
        .line_numbers(true)
        .walk(WalkOptions::new(corpus).sorted(true));
    for w in &words[1..] {
        opts = opts.pattern(escape(w));
    }
    let (files, _) = grep_collect(&opts)?;
    // (distinct keywords in the window, matching lines in it, path, start, end)
    let mut windows: Vec<(usize, usize, String, usize, usize)> = Vec::new();
    for file in &files {
        let rel = file
            .path
            .strip_prefix(corpus)
            .unwrap_or(&file.path)
            .to_string_lossy()
            .replace('\\', "/");
        let hits: Vec<(usize, HashSet<usize>)> = file
            .lines
            .iter()
            .filter(|m| !m.submatches.is_empty())
            .filter_map(|m| {
                let n = m.line_number? as usize;
                let text = m.text().to_lowercase();
                let which = (0..words.len())
                    .filter(|&i| text.contains(words[i].as_str()))
                    .collect();
                Some((n, which))
            })
            .collect();
        for (n, _) in &hits {
            let (start, end) = (n.saturating_sub(WINDOW).max(1), n + WINDOW);
            let inside = hits.iter().filter(|(m, _)| (start..=end).contains(m));
            let mut distinct = HashSet::new();
            let mut lines = 0;
            for (_, which) in inside {
                distinct.extend(which.iter().copied());
                lines += 1;
            }
            windows.push((distinct.len(), lines, rel.clone(), start, end));
        }
    }
    windows.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let mut kept: Vec<Found> = Vec::new();
    for (_, _, path, start, end) in windows {
        let clash = kept
            .iter()
            .any(|k| k.path == path && overlaps(k.lines, (start, end)));
        if !clash {
            kept.push(Found {
                path,
                lines: (start, end),
            });
        }
        if kept.len() == K {
            break;
        }
    }
    Ok(kept)
}

struct Scores {
    ranks: Vec<Option<usize>>,
}

impl Scores {
    fn recall(&self, k: usize) -> f64 {
        let hits = self
            .ranks
            .iter()
            .filter(|r| r.is_some_and(|r| r <= k))
            .count();
        hits as f64 / self.ranks.len().max(1) as f64
    }

    fn mrr(&self) -> f64 {
        let sum: f64 = self
            .ranks
            .iter()
            .map(|r| r.filter(|&r| r <= K).map_or(0.0, |r| 1.0 / r as f64))
            .sum();
        sum / self.ranks.len().max(1) as f64
    }

    /// Over the queries `keep` selects.
    fn subset(&self, keep: impl Fn(usize) -> bool) -> Scores {
        Scores {
            ranks: self
                .ranks
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, r)| *r)
                .collect(),
        }
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("eval: {e}");
        std::process::exit(1);
    }
}

fn run() -> BoxResult<()> {
    let args = parse_args()?;
    if !args.corpus.is_dir() {
        return Err(format!(
            "no corpus at {}: run scripts/fetch-eval-corpus (or pass --corpus DIR)",
            args.corpus.display()
        )
        .into());
    }
    let queries = load_queries(&args.queries, &args.corpus)?;
    let embedder = load_embedder(&args)?;

    let scratch = tempfile::tempdir()?;
    let base = args
        .index_dir
        .clone()
        .unwrap_or_else(|| scratch.path().to_path_buf());
    let t = Instant::now();
    let index = Index::open(
        &args.corpus,
        &base,
        embedder.as_ref(),
        IndexOptions::default(),
    )?;
    let stats = index.update(embedder.as_ref(), &UpdateOptions::default(), &mut |_| {})?;
    let (files, chunks) = index.counts()?;
    let rows = index.chunk_rows()?;
    let mean_lines = rows
        .iter()
        .map(|r| (r.end_line + 1).saturating_sub(r.start_line) as f64)
        .sum::<f64>()
        / rows.len().max(1) as f64;
    println!("# cuervo-index retrieval quality");
    println!("corpus:   {}", args.corpus.display());
    println!(
        "queries:  {} ({} of them naming identifiers) from {}",
        queries.len(),
        queries.iter().filter(|q| q.identifiers).count(),
        args.queries.display()
    );
    println!("embedder: {}", embedder.model_id());
    println!(
        "index:    {files} files, {chunks} chunks (mean {mean_lines:.1} lines), built in {:.1} s \
         ({} embedded in {:.1} s)",
        t.elapsed().as_secs_f64(),
        stats.chunks_embedded,
        stats.embed_time.as_secs_f64()
    );

    let modes = [
        ("full-text", SearchMode::FullText),
        ("vector", SearchMode::Vector),
        ("hybrid", SearchMode::Hybrid),
    ];
    // Each row: its name and, per query, the locations it returned, best first.
    let mut rows: Vec<(&str, Vec<Vec<Found>>)> = Vec::new();
    let mut found = Vec::with_capacity(queries.len());
    for q in &queries {
        found.push(ripgrep_keywords(&args.corpus, &q.text)?);
    }
    rows.push(("ripgrep-keywords", found));
    for (name, mode) in modes {
        let mut found = Vec::with_capacity(queries.len());
        let t = Instant::now();
        for q in &queries {
            let mut sq = SearchQuery::new(q.text.clone()).k(K).mode(mode);
            if let Some(k) = args.rrf_k {
                sq.rrf_k = k;
            }
            let results = index.search(embedder.as_ref(), &sq)?;
            found.push(
                results
                    .hits
                    .into_iter()
                    .map(|h| Found {
                        path: h.path,
                        lines: (h.start_line, h.end_line),
                    })
                    .collect::<Vec<_>>(),
            );
        }
        println!(
            "{name}: {:.1} ms per query",
            t.elapsed().as_secs_f64() * 1000.0 / queries.len().max(1) as f64
        );
        rows.push((name, found));
    }
    let scores = |strict: bool| -> Vec<(&str, Scores)> {
        rows.iter()
            .map(|(name, found)| {
                let ranks = queries
                    .iter()
                    .zip(found)
                    .map(|(q, f)| first_relevant(q, f, strict))
                    .collect();
                (*name, Scores { ranks })
            })
            .collect()
    };
    let overlap = scores(false);
    let strict = scores(true);

    if args.details {
        println!(
            "\nFirst relevant rank per query (overlap rule; strict rule in brackets when it differs)\n"
        );
        print!("{:<5}", "id");
        for (name, _) in &overlap {
            print!(" {name:>16}");
        }
        println!("  query");
        for (i, q) in queries.iter().enumerate() {
            print!("{:<5}", q.id);
            for ((_, o), (_, s)) in overlap.iter().zip(&strict) {
                let show = |r: Option<usize>| r.map_or("-".to_owned(), |r| r.to_string());
                let cell = if o.ranks[i] == s.ranks[i] {
                    show(o.ranks[i])
                } else {
                    format!("{} [{}]", show(o.ranks[i]), show(s.ranks[i]))
                };
                print!(" {cell:>16}");
            }
            println!("  {}", q.text);
        }
    }

    for id in &args.show {
        let Some(i) = queries.iter().position(|q| &q.id == id) else {
            return Err(format!("--show: no query with id `{id}`").into());
        };
        let q = &queries[i];
        println!(
            "\n{id}: {}\nanswer: {}:{}-{}",
            q.text, q.path, q.lines.0, q.lines.1
        );
        for (name, found) in &rows {
            println!("  {name}:");
            for (rank, f) in found[i].iter().enumerate() {
                let mark = if f.path == q.path && overlaps(f.lines, q.lines) {
                    "*"
                } else {
                    " "
                };
                println!(
                    "    {mark}{:>2}. {}:{}-{}",
                    rank + 1,
                    f.path,
                    f.lines.0,
                    f.lines.1
                );
            }
        }
    }

    let table = |title: &str, rows: &[(&str, Scores)], keep: &dyn Fn(usize) -> bool| {
        let n = (0..queries.len()).filter(|&i| keep(i)).count();
        println!("\n{title} ({n} queries)\n");
        println!("| retriever | recall@1 | recall@5 | MRR@10 |");
        println!("|---|---|---|---|");
        for (name, scores) in rows {
            let s = scores.subset(keep);
            println!(
                "| {name} | {:.3} | {:.3} | {:.3} |",
                s.recall(1),
                s.recall(5),
                s.mrr()
            );
        }
    };
    let plain = |i: usize| !queries[i].identifiers;
    table(
        "All queries, a result overlapping the answer counts",
        &overlap,
        &|_| true,
    );
    table(
        "Plain-language queries only, overlap rule",
        &overlap,
        &plain,
    );
    table(
        &format!(
            "All queries, strict rule: the result must also span at most {STRICT_SPAN} lines \
             (or the answer's length)"
        ),
        &strict,
        &|_| true,
    );
    Ok(())
}
