//! Hybrid search: vector and full-text candidates fused with Reciprocal Rank Fusion,
//! weighted by a mild prior for source code over tests, docs and examples the query does
//! not ask about ([`role_weight`]), filtered by path glob and language, checked against
//! the files on disk, and de-duplicated by overlapping line ranges.

use std::collections::HashMap;

use crate::vector::ChunkId;

/// Which retrievers a search uses (the single ones exist to measure the hybrid against).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    /// Vectors and full text, fused with RRF, source code before tests and docs the query
    /// does not ask about.
    #[default]
    Hybrid,
    /// Vectors only.
    Vector,
    /// Full text (BM25) only.
    FullText,
}

/// A search request.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub text: String,
    /// Results wanted. Default 10.
    pub k: usize,
    /// Path globs relative to the root (`src/**/*.rs`, `!**/tests/**`); empty: all files.
    pub paths: Vec<String>,
    /// Language names (`rust`, `python`, … as `cuervo_text::syntax::Language::name`, or
    /// `text` for files chunked by lines); empty: all.
    pub languages: Vec<String>,
    /// RRF's constant: a hit at rank `r` of a list adds `1 / (rrf_k + r)`. Default 60.
    pub rrf_k: f64,
    pub mode: SearchMode,
}

impl SearchQuery {
    /// A hybrid query for the 10 best chunks with the default RRF constant.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            k: 10,
            paths: Vec::new(),
            languages: Vec::new(),
            rrf_k: 60.0,
            mode: SearchMode::Hybrid,
        }
    }

    /// Sets how many results to return.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Adds a path glob filter.
    pub fn path(mut self, glob: impl Into<String>) -> Self {
        self.paths.push(glob.into());
        self
    }

    /// Adds a language filter.
    pub fn language(mut self, name: impl Into<String>) -> Self {
        self.languages.push(name.into());
        self
    }

    /// Sets the retrievers.
    pub fn mode(mut self, mode: SearchMode) -> Self {
        self.mode = mode;
        self
    }
}

/// One result, with the fields `cuervo search --json` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// Relative to the project root, with `/` separators.
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: usize,
    pub end_line: usize,
    /// `function`, `class`, `module` or `comment`.
    pub chunk_type: String,
    pub chunk_name: String,
    /// The fused RRF score times [`role_weight`] (or the single retriever's score in a
    /// single mode).
    pub score: f64,
    /// The chunk's first lines.
    pub snippet: String,
    pub language: Option<String>,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Files whose indexed chunks no longer match the disk (edited or deleted since the
    /// last update): their chunks were left out. Re-index to search them again.
    pub stale_files: Vec<String>,
}

/// Reciprocal Rank Fusion of ranked lists (best first): each id scores
/// `Σ 1 / (k + rank)` over the lists it appears in, ranks from 1. Best first; ties
/// keep the order in which ids were first seen, list by list.
pub fn rrf_fuse(lists: &[Vec<ChunkId>], k: f64) -> Vec<(ChunkId, f64)> {
    let weighted: Vec<(&[ChunkId], f64)> = lists.iter().map(|l| (l.as_slice(), 1.0)).collect();
    weighted_rrf_fuse(&weighted, k)
}

/// [`rrf_fuse`] with a weight per list: `Σ w / (k + rank)`.
pub fn weighted_rrf_fuse(lists: &[(&[ChunkId], f64)], k: f64) -> Vec<(ChunkId, f64)> {
    let mut scores: HashMap<ChunkId, (f64, usize)> = HashMap::new();
    let mut order = 0;
    for (list, weight) in lists {
        for (rank, &id) in list.iter().enumerate() {
            let entry = scores.entry(id).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            entry.0 += weight / (k + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(ChunkId, f64, usize)> =
        scores.into_iter().map(|(id, (s, o))| (id, s, o)).collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused.into_iter().map(|(id, s, _)| (id, s)).collect()
}

/// How much the full-text list counts against the vector list for `query`: as much when
/// the query names code (an identifier in `snake_case` or `CamelCase`, a path, a call),
/// half as much when it is plain language, where word matches are weak evidence and
/// meaning is what the embedding captures.
pub fn full_text_weight(query: &str) -> f64 {
    let names_code = query.split_whitespace().any(|word| {
        let word = word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
        let inner_capital =
            word.chars().skip(1).any(char::is_uppercase) && word.chars().any(char::is_lowercase);
        (word.contains('_') && word.len() > 2)
            || inner_capital
            || query.contains("::")
            || query.contains("()")
            || query.contains('`')
    });
    if names_code { 1.0 } else { 0.5 }
}

/// What part of a project a chunk belongs to, for [`role_weight`]: most questions are
/// about the code itself, and tests, documentation and examples that mention the same
/// words (a test named after the function it tests, a changelog entry) crowd it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkRole {
    /// The project's own code (and anything not recognised as one of the others).
    Source,
    /// Tests: under a `test`/`tests`/`spec`/… directory, a `test_*`/`*_test`/`*.spec`
    /// file, a `tests` module, or code marked `#[test]`/`#[cfg(test)]`.
    Test,
    /// Prose: Markdown, reStructuredText, AsciiDoc, Org, or anything under `docs/`.
    Docs,
    /// Examples and benchmarks.
    Auxiliary,
}

/// Directory names whose files are tests.
const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "spec",
    "specs",
    "__tests__",
    "testdata",
    "fixtures",
    "e2e",
];
/// File extensions of prose.
/// (Not `txt`: `requirements.txt`, `CMakeLists.txt` are configuration.)
const DOC_EXTENSIONS: &[&str] = &["md", "markdown", "rst", "adoc", "org"];
/// Directory names whose files are documentation.
const DOC_DIRS: &[&str] = &["doc", "docs"];
/// Directory names whose files are examples or benchmarks.
const AUX_DIRS: &[&str] = &["example", "examples", "bench", "benches", "benchmarks"];

/// Classifies a chunk by its path, name and text (see [`ChunkRole`]).
pub fn chunk_role(path: &str, chunk_type: &str, chunk_name: &str, content: &str) -> ChunkRole {
    let lower = path.to_lowercase();
    let mut parts: Vec<&str> = lower.split('/').collect();
    let file = parts.pop().unwrap_or_default();
    let (stem, ext) = match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, ext),
        _ => (file, ""),
    };
    let in_dir = |names: &[&str]| parts.iter().any(|p| names.contains(p));
    let first_name = chunk_name.split(',').next().unwrap_or_default().trim();
    let test_file = in_dir(TEST_DIRS)
        || stem.starts_with("test_")
        || ["_test", "_tests", ".test", ".spec", "_spec"]
            .iter()
            .any(|s| stem.ends_with(s))
        || matches!(stem, "test" | "tests" | "conftest");
    let test_code = (chunk_type == "module" && matches!(chunk_name, "test" | "tests"))
        || first_name.starts_with("test_")
        || content.contains("#[test]")
        || content.contains("#[cfg(test)]")
        || content.contains("::test]");
    if test_file || test_code {
        ChunkRole::Test
    } else if DOC_EXTENSIONS.contains(&ext) || in_dir(DOC_DIRS) {
        ChunkRole::Docs
    } else if in_dir(AUX_DIRS) {
        ChunkRole::Auxiliary
    } else {
        ChunkRole::Source
    }
}

/// Words that show a query is about tests, documentation, or examples.
const TEST_WORDS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "tested",
    "fixture",
    "fixtures",
    "mock",
    "mocks",
    "pytest",
    "unittest",
    "spec",
    "specs",
    "assert",
    "assertion",
    "assertions",
];
// Not "history" or "release": code has those too (a redirect history, releasing a lock).
const DOC_WORDS: &[&str] = &[
    "doc",
    "docs",
    "documentation",
    "documented",
    "readme",
    "changelog",
    "notes",
    "guide",
    "tutorial",
];
const AUX_WORDS: &[&str] = &[
    "example",
    "examples",
    "benchmark",
    "benchmarks",
    "bench",
    "demo",
];

/// Which kinds of chunk a query asks for beyond the code itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryIntent {
    pub tests: bool,
    pub docs: bool,
    pub examples: bool,
}

impl QueryIntent {
    /// Reads the intent from the query's words (case-insensitive).
    pub fn of(query: &str) -> Self {
        let mut intent = Self::default();
        for word in query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word = word.to_lowercase();
            let word = word.as_str();
            intent.tests |= TEST_WORDS.contains(&word);
            intent.docs |= DOC_WORDS.contains(&word);
            intent.examples |= AUX_WORDS.contains(&word) || DOC_WORDS.contains(&word);
        }
        intent
    }
}

/// How much a chunk's fused score counts: 1 for source code and for whatever the query
/// asks about, less for tests, docs and examples the query does not mention. A mild
/// prior: it reorders near-ties (a test and the function it tests, found by the same
/// words) and leaves strong matches where they are.
pub fn role_weight(role: ChunkRole, intent: QueryIntent) -> f64 {
    match role {
        ChunkRole::Source => 1.0,
        ChunkRole::Test if !intent.tests => 0.7,
        ChunkRole::Docs if !intent.docs => 0.8,
        ChunkRole::Auxiliary if !intent.examples => 0.8,
        _ => 1.0,
    }
}

/// Whether two 1-based inclusive line ranges share a line.
pub fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// Keeps, in order, each hit that overlaps no earlier kept hit of the same file — except
/// that a range nested in a much larger one (a method inside its class's outline) is not
/// the same result: they answer at different granularity, and dropping every method once
/// the class is shown would hide the code the question was about.
pub fn dedupe_overlapping(hits: Vec<SearchHit>) -> Vec<SearchHit> {
    let mut kept: Vec<SearchHit> = Vec::with_capacity(hits.len());
    for hit in hits {
        let range = (hit.start_line, hit.end_line);
        let clash = kept.iter().any(|k| {
            let other = (k.start_line, k.end_line);
            k.path == hit.path && overlaps(other, range) && !nested_apart(other, range)
        });
        if !clash {
            kept.push(hit);
        }
    }
    kept
}

/// How many times longer a container must be than a range inside it for the two to count
/// as different results.
const NESTED_RATIO: usize = 3;

/// Whether one range lies inside the other and the outer one is at least
/// [`NESTED_RATIO`] times as long.
fn nested_apart(a: (usize, usize), b: (usize, usize)) -> bool {
    let len = |r: (usize, usize)| r.1.saturating_sub(r.0) + 1;
    let inside = |inner: (usize, usize), outer: (usize, usize)| {
        outer.0 <= inner.0 && inner.1 <= outer.1 && len(outer) >= NESTED_RATIO * len(inner)
    };
    inside(a, b) || inside(b, a)
}

/// The first lines of a chunk, at most `SNIPPET_LINES` lines and about `SNIPPET_BYTES`.
pub(crate) fn snippet(content: &str) -> String {
    const SNIPPET_LINES: usize = 12;
    const SNIPPET_BYTES: usize = 800;
    let mut out = String::new();
    for line in content.lines().take(SNIPPET_LINES) {
        if out.len() + line.len() > SNIPPET_BYTES {
            let room = SNIPPET_BYTES.saturating_sub(out.len());
            let mut end = room.min(line.len());
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&line[..end]);
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_from_paths_names_and_markers() {
        let role =
            |path: &str, name: &str, content: &str| chunk_role(path, "function", name, content);
        assert_eq!(
            role("src/requests/models.py", "send", ""),
            ChunkRole::Source
        );
        assert_eq!(role("tests/test_models.py", "send", ""), ChunkRole::Test);
        assert_eq!(role("pkg/server_test.go", "TestServe", ""), ChunkRole::Test);
        assert_eq!(role("web/app.spec.ts", "renders", ""), ChunkRole::Test);
        assert_eq!(
            role("src/lib.py", "test_parse, helper", ""),
            ChunkRole::Test
        );
        assert_eq!(
            role("src/walk.rs", "walks", "    #[test]\n    fn walks() {}"),
            ChunkRole::Test
        );
        assert_eq!(
            chunk_role("src/walk.rs", "module", "tests", ""),
            ChunkRole::Test
        );
        assert_eq!(role("HISTORY.md", "", ""), ChunkRole::Docs);
        assert_eq!(role("docs/conf.py", "setup", ""), ChunkRole::Docs);
        assert_eq!(role("examples/walk.rs", "main", ""), ChunkRole::Auxiliary);
        assert_eq!(role("src/latest.rs", "contest", ""), ChunkRole::Source);
    }

    #[test]
    fn the_prior_spares_what_the_query_asks_for() {
        let plain = QueryIntent::of("where are redirects followed");
        assert_eq!(plain, QueryIntent::default());
        assert!(role_weight(ChunkRole::Test, plain) < 1.0);
        assert!(role_weight(ChunkRole::Docs, plain) < 1.0);
        assert_eq!(role_weight(ChunkRole::Source, plain), 1.0);
        let tests = QueryIntent::of("the server the Tests use");
        assert!(tests.tests && !tests.docs);
        assert_eq!(role_weight(ChunkRole::Test, tests), 1.0);
        let docs = QueryIntent::of("documentation of the changelog");
        assert_eq!(role_weight(ChunkRole::Docs, docs), 1.0);
        assert_eq!(role_weight(ChunkRole::Auxiliary, docs), 1.0);
    }

    #[test]
    fn snippet_is_bounded() {
        let text = (0..40)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(snippet(&text).lines().count(), 12);
        assert!(snippet(&"é".repeat(2000)).len() <= 800);
    }
}
