//! Cuervo's codebase index: hybrid (vector + full-text) search over a project's chunks,
//! kept incrementally in step with the files on disk.
//!
//! # Pipeline
//!
//! [`Index::update`] walks the project with `cuervo_text::scan` (`.gitignore`, `.ignore`
//! and `.cuervoignore` honoured), skips files whose size and mtime are unchanged (and not
//! "racily" recent), hashes the rest, and re-chunks only those whose SHA-256 changed, with
//! `cuervo_text::syntax::chunk` (definitions by tree-sitter; files in no known language, or
//! whose grammar is not compiled in, by overlapping line windows). Chunks whose text and
//! name the file already had keep their vector; the others are embedded in batches through
//! the [`Embedder`] port. Each batch of files is one SQLite transaction.
//!
//! # Storage
//!
//! One directory per (embedding model, chunker version) under the directory the caller
//! passes ([`index_dir`]): `index.db` (SQLite: identity, files with content hashes, chunk
//! rows with the seed's schema and their vectors, an FTS5 table over identifier-split
//! names, paths and content, and the vector change log), `vectors.bin` (the default
//! [`VectorIndex`] backend, [`FlatIndex`], checkpointed) and `index.lock`.
//!
//! # Always consistent
//!
//! - The vector index records the change-log generation it reflects; a process replays
//!   the log (or rebuilds from SQLite) before searching, so it never searches vectors of
//!   a different state than the rows it returns.
//! - A search hashes each result's file and leaves out chunks of files that changed or
//!   vanished since they were indexed ([`SearchResults::stale_files`]).
//! - A damaged or incompatible index is detected when opened, reported
//!   ([`Index::notices`]) and rebuilt, never used.
//! - One writer at a time ([`IndexError::Locked`]); a killed writer's lock frees itself.

mod embed;
mod error;
mod index;
#[cfg(feature = "lancedb")]
mod lance;
mod lock;
mod search;
mod store;
pub mod tokenize;
mod update;
mod vector;

pub use embed::{Embedder, HashEmbedder, normalize};
pub use error::{EmbedError, IndexError, Result};
pub use index::{
    CHUNKER_VERSION, Index, IndexOptions, OpenNotice, VectorBackend, chunker_id, hash_bytes,
    index_dir,
};
#[cfg(feature = "lancedb")]
pub use lance::LanceIndex;
pub use search::{
    SearchHit, SearchMode, SearchQuery, SearchResults, dedupe_overlapping, full_text_weight,
    overlaps, rrf_fuse, weighted_rrf_fuse,
};
pub use store::{ChunkRow, SCHEMA_VERSION};
pub use update::{Pending, Progress, UpdateOptions, UpdateStats};
pub use vector::{ChunkId, FlatIndex, VectorHit, VectorIndex, VectorRow};
