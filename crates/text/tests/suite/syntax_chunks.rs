//! Chunking: budgets, collapsing, merging, fallback and hashes.

use std::path::{Path, PathBuf};

use cuervo_text::syntax::{self, Chunk, ChunkKind, ChunkOptions, Language, SymbolKind};
use pretty_assertions::assert_eq;

use super::fixture;

const FIXTURES: [&str; 13] = [
    "rust.rs",
    "python.py",
    "javascript.js",
    "typescript.ts",
    "component.tsx",
    "go.go",
    "java.java",
    "c.c",
    "cpp.cpp",
    "csharp.cs",
    "ruby.rb",
    "php.php",
    "bash.sh",
];

fn chunks_of(file: &str, options: &ChunkOptions) -> (String, Vec<Chunk>) {
    let (path, source) = fixture(file);
    let chunks = syntax::chunk(&path, &source, options);
    (source, chunks)
}

fn line_of(source: &str, byte: usize) -> usize {
    source[..byte].matches('\n').count() + 1
}

/// Plain chunks are exactly their slice of the file, with matching line numbers.
fn check_ranges(source: &str, chunks: &[Chunk]) {
    for c in chunks {
        assert!(c.start_line <= c.end_line, "{c:?}");
        if !c.collapsed {
            assert_eq!(&source[c.start_byte..c.end_byte], c.content, "{c:?}");
            assert_eq!(line_of(source, c.start_byte), c.start_line, "{}", c.content);
            assert_eq!(
                line_of(source, c.end_byte.max(c.start_byte + 1) - 1),
                c.end_line
            );
        }
    }
}

#[test]
fn every_chunk_fits_the_budget_in_every_language() {
    for budget in [200, 500, 1500] {
        let options = ChunkOptions {
            max_bytes: budget,
            ..ChunkOptions::default()
        };
        for file in FIXTURES {
            let (source, chunks) = chunks_of(file, &options);
            assert!(!chunks.is_empty(), "{file}");
            for c in &chunks {
                assert!(
                    c.content.len() <= budget,
                    "{file} @{budget}: {} bytes\n{}",
                    c.content.len(),
                    c.content
                );
                assert!(c.language.is_some(), "{file}");
            }
            check_ranges(&source, &chunks);
        }
    }
    let options = ChunkOptions {
        max_lines: Some(8),
        ..ChunkOptions::default()
    };
    for file in FIXTURES {
        let (_, chunks) = chunks_of(file, &options);
        for c in &chunks {
            assert!(c.content.lines().count() <= 8, "{file}:\n{}", c.content);
        }
    }
}

#[test]
fn every_non_blank_line_is_in_some_chunk() {
    for file in FIXTURES {
        for budget in [300, 1500] {
            let options = ChunkOptions {
                max_bytes: budget,
                ..ChunkOptions::default()
            };
            let (source, chunks) = chunks_of(file, &options);
            for (i, line) in source.lines().enumerate() {
                let n = i + 1;
                if line.trim().is_empty() {
                    continue;
                }
                assert!(
                    chunks.iter().any(|c| c.start_line <= n && n <= c.end_line),
                    "{file} @{budget}: line {n} `{line}` in no chunk"
                );
            }
        }
    }
}

#[test]
fn a_big_definition_is_collapsed_and_its_children_chunked() {
    let options = ChunkOptions {
        max_bytes: 600,
        ..ChunkOptions::default()
    };
    let (_, chunks) = chunks_of("rust.rs", &options);
    let collapsed = chunks
        .iter()
        .find(|c| c.collapsed)
        .expect("a collapsed chunk");
    assert_eq!(collapsed.name, "Limiter<C>");
    assert_eq!(collapsed.kind, ChunkKind::Class);
    assert_eq!(collapsed.symbol_kind, Some(SymbolKind::Impl));
    assert_eq!((collapsed.start_line, collapsed.end_line), (44, 69));
    assert!(
        collapsed.content.starts_with("impl<C: Clock> Limiter<C> {"),
        "{}",
        collapsed.content
    );
    assert!(
        collapsed.content.contains(
            "    /// Takes one token for `client`, or says how long to wait.\n    \
             pub fn check(&mut self, client: &str) -> Result<(), Refusal> { ... }\n"
        ),
        "{}",
        collapsed.content
    );
    assert!(
        !collapsed.content.contains("let now"),
        "{}",
        collapsed.content
    );

    // The children follow: `new` whole, `check` (too big alone) cut at lines.
    let new = chunks.iter().find(|c| c.name == "new").expect("new");
    assert_eq!(new.kind, ChunkKind::Function);
    assert_eq!(new.container.as_deref(), Some("Limiter"));
    assert!(
        new.content
            .starts_with("    /// A limiter with no clients yet.\n    pub fn new")
    );
    let check: Vec<&Chunk> = chunks.iter().filter(|c| c.name == "check").collect();
    assert!(check.len() >= 2, "{check:?}");
    assert!(check[0].content.contains("pub fn check"));
    assert!(
        check
            .iter()
            .any(|c| c.content.contains("let now = self.clock.now();"))
    );
    assert_eq!(check.last().map(|c| c.end_line), Some(68));
    assert!(
        check
            .iter()
            .all(|c| c.symbol_kind == Some(SymbolKind::Method))
    );
}

#[test]
fn collapsing_uses_each_languages_marker() {
    let options = ChunkOptions {
        max_bytes: 400,
        ..ChunkOptions::default()
    };
    let (_, chunks) = chunks_of("python.py", &options);
    let repo = chunks
        .iter()
        .find(|c| c.collapsed && c.name == "Repository")
        .expect("collapsed class");
    assert!(
        repo.content
            .contains("    def get(self, sku: str) -> Optional[Item]:\n        ..."),
        "{}",
        repo.content
    );
    assert!(
        repo.content
            .contains("    class Error(Exception):\n        ..."),
        "{}",
        repo.content
    );
    assert!(!repo.content.contains("fetchone"));

    let (_, chunks) = chunks_of(
        "go.go",
        &ChunkOptions {
            max_bytes: 200,
            ..ChunkOptions::default()
        },
    );
    assert!(
        chunks.iter().all(|c| !c.collapsed),
        "Go methods are not nested"
    );

    // Collapsed but still over the budget: cut at lines, every piece marked collapsed.
    let (_, chunks) = chunks_of("java.java", &options);
    let parts: Vec<&Chunk> = chunks
        .iter()
        .filter(|c| c.collapsed && c.name == "OrderBook")
        .collect();
    assert!(parts.len() >= 2, "{parts:?}");
    let book: String = parts
        .iter()
        .map(|c| c.content.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        book.contains("public Order place(String id, long quantity) { ... }"),
        "{book}"
    );
    assert!(book.contains("public enum State { ... }"), "{book}");
    assert!(
        book.contains("private final List<Order> orders"),
        "fields stay: {book}"
    );
    assert!(!book.contains("orders.add(order)"), "{book}");
    assert!(parts.iter().all(|c| (c.start_line, c.end_line) == (7, 70)));
}

#[test]
fn small_neighbours_merge_up_to_the_budget() {
    let source: String = (0..40)
        .map(|i| format!("fn f{i}() -> u32 {{\n    {i}\n}}\n\n"))
        .collect();
    let options = ChunkOptions::default();
    let chunks = syntax::chunk(Path::new("many.rs"), &source, &options);
    assert!(chunks.len() < 40 / 4, "{} chunks", chunks.len());
    for c in &chunks {
        assert!(c.content.len() <= options.max_bytes);
        assert_eq!(c.kind, ChunkKind::Function);
        assert_eq!(c.symbol_kind, None, "several symbols");
    }
    assert!(
        chunks[0].name.starts_with("f0, f1, f2"),
        "{}",
        chunks[0].name
    );
    let all: Vec<&str> = chunks.iter().flat_map(|c| c.name.split(", ")).collect();
    assert_eq!(all.len(), 40);

    // Merging off: one chunk per function.
    let options = ChunkOptions {
        min_bytes: 0,
        ..ChunkOptions::default()
    };
    let chunks = syntax::chunk(Path::new("many.rs"), &source, &options);
    assert_eq!(chunks.len(), 40);
    assert_eq!(chunks[7].name, "f7");
    assert_eq!((chunks[7].start_line, chunks[7].end_line), (29, 31));
}

#[test]
fn large_functions_stay_alone_and_code_between_becomes_module_chunks() {
    let body: String = (0..20)
        .map(|i| format!("    let v{i} = compute({i});\n"))
        .collect();
    let source = format!(
        "use std::io;\nuse std::fs;\n\nconst LIMIT: usize = 10;\n\nfn big_one() {{\n{body}}}\n\nfn big_two() {{\n{body}}}\n"
    );
    let options = ChunkOptions {
        min_bytes: 0,
        ..ChunkOptions::default()
    };
    let chunks = syntax::chunk(Path::new("x.rs"), &source, &options);
    let names: Vec<(&str, ChunkKind)> = chunks.iter().map(|c| (c.name.as_str(), c.kind)).collect();
    assert_eq!(
        names,
        [
            ("", ChunkKind::Module),
            ("big_one", ChunkKind::Function),
            ("big_two", ChunkKind::Function)
        ]
    );
    assert_eq!(
        chunks[0].content,
        "use std::io;\nuse std::fs;\n\nconst LIMIT: usize = 10;"
    );
    assert_eq!(chunks[0].symbol_kind, None);

    // By default the small stretch of imports joins the function after it.
    let chunks = syntax::chunk(Path::new("x.rs"), &source, &ChunkOptions::default());
    let names: Vec<(&str, ChunkKind)> = chunks.iter().map(|c| (c.name.as_str(), c.kind)).collect();
    assert_eq!(
        names,
        [
            ("big_one", ChunkKind::Function),
            ("big_two", ChunkKind::Function)
        ]
    );
    assert!(chunks[0].content.starts_with("use std::io;"));
    assert_eq!(chunks[0].symbol_kind, Some(SymbolKind::Function));
}

#[test]
fn data_and_unknown_files_fall_back_to_overlapping_lines() {
    let json: String = std::iter::once("{\n".to_owned())
        .chain(
            (0..200).map(|i| format!("  \"key{i}\": {{ \"value\": {i}, \"enabled\": true }},\n")),
        )
        .chain(std::iter::once("}\n".to_owned()))
        .collect();
    let options = ChunkOptions {
        max_bytes: 500,
        overlap_lines: 2,
        ..ChunkOptions::default()
    };
    for name in ["config.json", "notes.txt", "Makefile.unknown", "LICENSE"] {
        let chunks = syntax::chunk(Path::new(name), &json, &options);
        assert!(chunks.len() > 10, "{name}");
        for pair in chunks.windows(2) {
            assert_eq!(
                pair[1].start_line,
                pair[0].end_line - 1,
                "two lines of overlap"
            );
        }
        for c in &chunks {
            assert_eq!(c.kind, ChunkKind::Module);
            assert_eq!(c.language, None);
            assert_eq!(c.name, name);
            assert!(c.content.len() <= 500);
        }
        assert_eq!(chunks[0].start_line, 1);
        assert_eq!(chunks.last().map(|c| c.end_line), Some(202));
        check_ranges(&json, &chunks);
    }
    // A minified line is cut on character boundaries.
    let line = "ñ".repeat(1000);
    let chunks = syntax::chunk(Path::new("min.txt"), &line, &options);
    assert_eq!(chunks.len(), 4);
    assert!(
        chunks
            .iter()
            .all(|c| c.content.len() <= 500 && c.start_line == 1)
    );
    assert_eq!(
        chunks
            .iter()
            .map(|c| c.content.as_str())
            .collect::<String>(),
        line
    );
    assert!(syntax::chunk(Path::new("empty.txt"), "\n\n  \n", &options).is_empty());
}

#[test]
fn hashes_are_stable_and_follow_the_content() {
    let options = ChunkOptions {
        max_bytes: 600,
        ..ChunkOptions::default()
    };
    let (path, source) = fixture("rust.rs");
    let a = syntax::chunk(&path, &source, &options);
    let b = syntax::chunk(&path, &source, &options);
    assert_eq!(a, b);
    for c in &a {
        assert_eq!(c.hash.len(), 64);
        assert!(
            c.hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
    let mut distinct: Vec<&str> = a.iter().map(|c| c.hash.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), a.len());

    // Editing one function changes only the hashes of the chunks that hold it.
    let edited = source.replace("Ok(())", "Ok(())  // granted");
    let c = syntax::chunk(&path, &edited, &options);
    assert_eq!(a.len(), c.len());
    let changed: Vec<&str> = a
        .iter()
        .zip(&c)
        .filter(|(x, y)| x.hash != y.hash)
        .map(|(x, _)| x.name.as_str())
        .collect();
    assert_eq!(changed, ["check"]);
}

#[test]
fn unavailable_or_unparsable_languages_still_chunk() {
    let chunks = syntax::chunk_source(
        Path::new("a.rs"),
        None,
        "fn main() {}\n",
        &ChunkOptions::default(),
    );
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].kind, ChunkKind::Module);
    let chunks = syntax::chunk(
        Path::new("a.py"),
        "def (:\n  pass\n",
        &ChunkOptions::default(),
    );
    assert_eq!(chunks.len(), 1, "{chunks:?}");
    assert_eq!(chunks[0].language, Some(Language::Python));
}

#[test]
fn files_chunk_in_parallel() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syntax");
    let mut paths: Vec<PathBuf> = FIXTURES.iter().map(|f| dir.join(f)).collect();
    paths.push(dir.join("missing.rs"));
    let results = syntax::chunk_files_parallel(&paths, &ChunkOptions::default());
    assert_eq!(results.len(), 14);
    for (r, file) in results.iter().zip(FIXTURES) {
        let (path, source) = fixture(file);
        assert_eq!(r.path, path);
        assert_eq!(
            r.chunks.as_ref().unwrap(),
            &syntax::chunk(&path, &source, &ChunkOptions::default())
        );
    }
    assert!(results[13].chunks.is_err());
}
