//! What can go wrong with local state, said so a user knows what to do next.

use std::path::PathBuf;

/// Errors of the store. Messages name the file and the way out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database was written by a newer Cuervo. It is left untouched.
    #[error(
        "{path} has schema version {found}, newer than this cuervo understands (up to {supported}); \
         it was left untouched. Upgrade cuervo, or point XDG_DATA_HOME elsewhere to start a new database"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// Another process held the write lock for longer than the retries allow.
    #[error(
        "the session database {path} stayed busy for {waited_ms} ms (another cuervo is writing); try again"
    )]
    Busy { path: PathBuf, waited_ms: u64 },
    /// No session has this id or id prefix.
    #[error("no session matches `{0}`; `cuervo sessions list` shows the ids")]
    SessionNotFound(String),
    /// An id prefix matches several sessions.
    #[error("`{prefix}` matches {} sessions ({}); give more characters", .matches.len(), .matches.join(", "))]
    AmbiguousSession {
        prefix: String,
        matches: Vec<String>,
    },
    /// A stored value could not be read back (hand-edited or damaged).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The file cache was given a relative path; it keys files by absolute path.
    #[error("the file cache keys files by absolute path, got `{}`; canonicalise it first", .0.display())]
    RelativeCachePath(PathBuf),
    #[error("cannot create or open {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials: {0}")]
    Credentials(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
