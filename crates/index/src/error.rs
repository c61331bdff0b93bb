//! The index's errors.

use std::path::PathBuf;

/// What an embedder reports when it cannot embed: any error, boxed, so an adapter (the
/// local candle model, a provider's HTTP `embed`) can use `?` on its own error type.
pub type EmbedError = Box<dyn std::error::Error + Send + Sync>;

/// Why an index operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// Another process holds the index's write lock.
    #[error(
        "the index at {} is being written by another process (pid {pid}); wait for it to finish or stop it",
        path.display()
    )]
    Locked { path: PathBuf, pid: String },
    /// An index file cannot be used: damaged, or written by an incompatible build.
    /// [`crate::Index::open`] rebuilds what it finds so; this error reaches a caller only
    /// when even a fresh database cannot be set up, or from [`crate::FlatIndex::load`].
    #[error("the index at {} cannot be used ({reason}); run `cuervo index` to rebuild it", path.display())]
    Incompatible { path: PathBuf, reason: String },
    /// The embedder failed.
    #[error("the embedder `{model}` failed: {source}")]
    Embed {
        model: String,
        #[source]
        source: EmbedError,
    },
    /// The embedder answered with the wrong number of vectors or a wrong dimension.
    #[error("the embedder `{model}` {problem}")]
    BadEmbedding { model: String, problem: String },
    /// A query vector of the wrong dimension.
    #[error("a query vector has {got} dimensions, the index holds {expected}")]
    Dimension { expected: usize, got: usize },
    /// The project root or a file could not be read, or an index file not written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The walk of the project failed.
    #[error("walking the project failed: {0}")]
    Scan(#[from] cuervo_text::scan::ScanError),
    /// A path glob given as a filter does not parse.
    #[error("invalid path filter: {0}")]
    Filter(String),
    /// SQLite failed.
    #[error("the index database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// More files changed than [`crate::UpdateOptions::max_changed_files`] allows.
    #[error("{files} files changed since the last indexing; run `cuervo index` to include them")]
    TooManyChanges { files: usize },
    /// The vector store backend failed (LanceDB).
    #[error("the vector store at {} failed: {message}; run `cuervo index --rebuild` if it persists", path.display())]
    Backend { path: PathBuf, message: String },
    /// The run was stopped by its caller (see [`crate::UpdateOptions::stop_after_batches`]).
    #[error("indexing was stopped after {batches} batches; run it again to finish")]
    Stopped { batches: usize },
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether SQLite says the database file is damaged or not a database at all.
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            IndexError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        )
    }
}

/// The index crate's result.
pub type Result<T> = std::result::Result<T, IndexError>;
