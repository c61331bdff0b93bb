//! The fast layer: the primitives every search, index and context decision rests on.
//!
//! Synchronous and CPU-bound by design (rayon where it pays); callers in async code run
//! them on a blocking thread. No networking, no SQL, no async runtime.
//!
//! - [`scan`]: parallel gitignore-aware walk, glob matching and grep on ripgrep's crates.
//! - [`syntax`]: tree-sitter parsing, symbol extraction and chunking.
//! - [`tokens`]: tiktoken-compatible counting and truncation.
//! - [`pii`]: scanning and redacting personal data and secrets.
//! - [`repomap`]: a repository map, definitions ranked by PageRank over the reference
//!   graph and fitted to a token budget.
//! - [`shell`]: what a shell command line runs and writes, for permission rules
//!   (feature `lang-bash`).

pub mod pii;
pub mod repomap;
pub mod scan;
#[cfg(feature = "lang-bash")]
pub mod shell;
pub mod syntax;
pub mod tokens;
