//! Source code structure: tree-sitter parsing, symbol outlines and chunks for the index.
//!
//! # Languages
//!
//! Rust, Python, JavaScript (and JSX), TypeScript, TSX, Go, Java, C, C++, C#, Ruby, PHP
//! and Bash, each grammar behind a cargo feature (`lang-rust`, `lang-python`,
//! `lang-javascript`, `lang-typescript` for both TypeScript and TSX, `lang-go`,
//! `lang-java`, `lang-c`, `lang-cpp`, `lang-csharp`, `lang-ruby`, `lang-php`, `lang-bash`),
//! all on by default through `all-languages`. [`detect_language`] picks the language from
//! the file extension, a few well-known file names, and the `#!` line.
//!
//! # Symbols
//!
//! [`symbols`] runs one tree-sitter query per language (`queries/*.scm`, in the style of
//! the grammars' own `tags.scm`) that marks definitions and their names; plain code then
//! nests them by range (a `def` inside a `class` becomes a method of it, a method in
//! `impl Display for Foo` has container `Foo`), attaches the comment block right above
//! each definition as its [`Doc`] (Python: the docstring), and reports the top-level
//! comment blocks that document nothing as [`SymbolKind::Comment`] (Rust `//!` and a
//! Python module docstring as [`SymbolKind::DocComment`]).
//!
//! # Chunks
//!
//! [`chunk`] cuts a file into pieces for embedding and search, after the seed's §3.2:
//! one chunk per function or method, class or interface (and struct, enum, trait, impl),
//! module, and comment block; code between definitions (imports, constants, statements)
//! becomes module chunks. A definition larger than the budget
//! ([`ChunkOptions::max_bytes`], 1,500 bytes by default: about 400 tokens of code, which
//! leaves room for a header within a 512-token embedding window) is emitted *collapsed*
//! — its own text with each child's body replaced by `{ ... }` (Python `...`, Ruby
//! `# ...`), so signatures stay — and its children are chunked in turn; a definition with
//! no children that is still too large is cut at line boundaries. Neighbouring chunks
//! smaller than [`ChunkOptions::min_bytes`] merge while the result fits the budget.
//! Files in no known language (data, prose, configuration) are cut into overlapping
//! windows of lines. Every chunk carries its path, language, kind, name, line and byte
//! range, text and a SHA-256 of that text.
//!
//! # Parallelism
//!
//! Each thread keeps its own parser and query cursor (a thread local), and compiled
//! queries are shared, so [`parse_files_parallel`] and [`chunk_files_parallel`] just run
//! files on rayon's pool.

mod chunk;
pub mod highlight;
mod language;
mod parallel;
mod symbols;

use std::path::PathBuf;

pub use chunk::{Chunk, ChunkKind, ChunkOptions, chunk, chunk_source};
pub use highlight::{HighlightKind, HighlightSpan, highlight, language_for_fence};
pub use language::{Language, detect_language};
pub use parallel::{
    FileChunks, FileSymbols, chunk_files_parallel, parse_files_parallel, read_source, source_files,
};
pub use symbols::{Doc, SIGNATURE_MAX, Symbol, SymbolKind, parse, symbols};

/// Why parsing or reading failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxError {
    /// The language's grammar is not in this build.
    #[error("no {0} grammar in this build; enable the cargo feature `lang-{feature}`", feature = feature_name(*.0))]
    LanguageUnavailable(Language),
    /// The grammar could not be loaded (an ABI mismatch between tree-sitter and grammar).
    #[error("the {language} grammar does not load: {message}")]
    Grammar { language: Language, message: String },
    /// A symbol query does not compile: a bug in Cuervo.
    #[error("the {language} symbol query is invalid: {message}")]
    Query { language: Language, message: String },
    /// tree-sitter gave up on the source.
    #[error("tree-sitter could not parse this {0} source")]
    Parse(Language),
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file holds binary data (a NUL byte).
    #[error("{}: binary file", .0.display())]
    Binary(PathBuf),
}

/// The syntax module's result.
pub type Result<T> = std::result::Result<T, SyntaxError>;

fn feature_name(lang: Language) -> &'static str {
    match lang {
        Language::Tsx => "typescript",
        other => other.name(),
    }
}
