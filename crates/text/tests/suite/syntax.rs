#![cfg(feature = "all-languages")]
//! `cuervo_text::syntax`: symbol outlines per language (insta snapshots of realistic
//! files under `tests/fixtures/syntax/`), chunking, and parallel parsing.

#[path = "syntax_chunks.rs"]
mod chunks;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cuervo_text::syntax::{self, Language, Symbol, SymbolKind};
use pretty_assertions::assert_eq;

pub(crate) fn fixture(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/syntax")
        .join(name);
    let source = std::fs::read_to_string(&path).expect("fixture exists");
    (path, source)
}

/// One line per symbol: indented by depth, kind, name, lines, container, first doc line.
fn outline(symbols: &[Symbol]) -> String {
    let mut out = String::new();
    for s in symbols {
        let _ = write!(
            out,
            "{:indent$}{} {}  lines {}-{}",
            "",
            s.kind,
            s.name,
            s.start_line,
            s.end_line,
            indent = s.depth * 2
        );
        if let Some(c) = &s.container {
            let _ = write!(out, "  in {c}");
        }
        if let Some(doc) = &s.doc {
            let first = doc.text.lines().next().unwrap_or("");
            let _ = write!(out, "  /// {first}");
        }
        out.push('\n');
    }
    out
}

fn outline_of(file: &str) -> (Language, String) {
    let (path, source) = fixture(file);
    let first = source.lines().next().unwrap_or("");
    let lang = syntax::detect_language(&path, first).expect("a known language");
    let symbols = syntax::symbols(lang, &source).expect("parses");
    check_invariants(&symbols, &source);
    (lang, outline(&symbols))
}

/// Parents come first and contain their children; ranges are in the source.
fn check_invariants(symbols: &[Symbol], source: &str) {
    let lines = source.lines().count();
    for (i, s) in symbols.iter().enumerate() {
        assert!(
            s.start_line >= 1 && s.start_line <= s.end_line && s.end_line <= lines,
            "{s:?}"
        );
        assert!(
            s.start_byte < s.end_byte && s.end_byte <= source.len(),
            "{s:?}"
        );
        if let Some(p) = s.parent {
            assert!(p < i, "parent before child: {s:?}");
            let parent = &symbols[p];
            assert!(
                parent.start_byte <= s.start_byte && s.end_byte <= parent.end_byte,
                "{s:?}"
            );
            assert_eq!(s.depth, parent.depth + 1);
        } else {
            assert_eq!(s.depth, 0);
        }
        if i > 0 {
            assert!(
                symbols[i - 1].start_byte <= s.start_byte,
                "source order: {s:?}"
            );
        }
    }
}

macro_rules! outline_snapshot {
    ($test:ident, $file:literal, $lang:expr) => {
        #[test]
        fn $test() {
            let (lang, outline) = outline_of($file);
            assert_eq!(lang, $lang);
            insta::assert_snapshot!(stringify!($test), outline);
        }
    };
}

outline_snapshot!(outline_rust, "rust.rs", Language::Rust);
outline_snapshot!(outline_python, "python.py", Language::Python);
outline_snapshot!(outline_javascript, "javascript.js", Language::JavaScript);
outline_snapshot!(outline_typescript, "typescript.ts", Language::TypeScript);
outline_snapshot!(outline_tsx, "component.tsx", Language::Tsx);
outline_snapshot!(outline_go, "go.go", Language::Go);
outline_snapshot!(outline_java, "java.java", Language::Java);
outline_snapshot!(outline_c, "c.c", Language::C);
outline_snapshot!(outline_cpp, "cpp.cpp", Language::Cpp);
outline_snapshot!(outline_csharp, "csharp.cs", Language::CSharp);
outline_snapshot!(outline_ruby, "ruby.rb", Language::Ruby);
outline_snapshot!(outline_php, "php.php", Language::Php);
outline_snapshot!(outline_bash, "bash.sh", Language::Bash);

fn find<'a>(symbols: &'a [Symbol], name: &str) -> &'a Symbol {
    symbols
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no symbol {name}"))
}

#[test]
fn signatures_docs_and_bodies() {
    let (_, source) = fixture("rust.rs");
    let symbols = syntax::symbols(Language::Rust, &source).unwrap();
    let check = find(&symbols, "check");
    assert_eq!(check.kind, SymbolKind::Method);
    assert_eq!(check.container.as_deref(), Some("Limiter"));
    assert_eq!(
        check.signature,
        "pub fn check(&mut self, client: &str) -> Result<(), Refusal>"
    );
    assert_eq!(
        check.doc.as_ref().unwrap().text,
        "Takes one token for `client`, or says how long to wait."
    );
    let body = check.body.clone().unwrap();
    assert!(source[body].starts_with("{\n        let now"));

    let quota = find(&symbols, "Quota");
    // The range covers the attribute; the doc comment is apart.
    assert!(source[quota.start_byte..].starts_with("#[derive(Debug, Clone, Copy, PartialEq)]"));
    assert_eq!(quota.doc.as_ref().unwrap().start_line, quota.start_line - 1);

    let display = find(&symbols, "std::fmt::Display for Refusal");
    assert_eq!(display.kind, SymbolKind::Impl);
    let fmt = &symbols[symbols.iter().position(|s| s.name == "fmt").unwrap()];
    assert_eq!(fmt.container.as_deref(), Some("Refusal"));

    let (_, source) = fixture("python.py");
    let symbols = syntax::symbols(Language::Python, &source).unwrap();
    let reserve = find(&symbols, "reserve");
    assert_eq!(
        reserve.signature,
        "def reserve(repo: Repository, sku: str, quantity: int) -> Status:"
    );
    assert_eq!(
        reserve.doc.as_ref().unwrap().text,
        "Reserves `quantity` of `sku` if there is enough stock."
    );
    let item = find(&symbols, "Item");
    assert!(source[item.start_byte..].starts_with("@dataclasses.dataclass(frozen=True)"));
}

#[test]
fn detect_language_reads_the_shebang() {
    let (_, source) = fixture("bash.sh");
    let first = source.lines().next().unwrap();
    assert_eq!(
        syntax::detect_language(Path::new("bin/deploy"), first),
        Some(Language::Bash)
    );
    assert_eq!(syntax::detect_language(Path::new("Cargo.lock"), ""), None);
}

#[test]
fn broken_source_still_yields_what_parses() {
    let source = "fn ok() {}\n\nfn broken( {\n\nstruct After { x: u32 }\n";
    let symbols = syntax::symbols(Language::Rust, source).unwrap();
    assert!(symbols.iter().any(|s| s.name == "ok"), "{symbols:?}");
}

#[test]
fn empty_and_comment_only_sources() {
    assert_eq!(syntax::symbols(Language::Go, "").unwrap(), vec![]);
    let symbols = syntax::symbols(Language::Python, "# just a note\n# on two lines\n").unwrap();
    assert_eq!(symbols.len(), 1);
    assert_eq!(symbols[0].kind, SymbolKind::Comment);
    assert_eq!(symbols[0].name, "just a note");
    assert_eq!((symbols[0].start_line, symbols[0].end_line), (1, 2));
}

#[test]
fn files_parse_in_parallel_in_the_order_given() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syntax");
    let mut paths = syntax::source_files(&[dir]).unwrap();
    paths.push(PathBuf::from("/definitely/not/here.rs"));
    let results = syntax::parse_files_parallel(&paths);
    assert_eq!(results.len(), paths.len());
    for (r, p) in results.iter().zip(&paths) {
        assert_eq!(&r.path, p);
    }
    let (ok, failed): (Vec<_>, Vec<_>) = results.iter().partition(|r| r.symbols.is_ok());
    assert_eq!(failed.len(), 1);
    assert_eq!(ok.len(), 13);
    assert!(
        ok.iter()
            .all(|r| r.language.is_some() && !r.symbols.as_ref().unwrap().is_empty())
    );
}
