//! The one error type of the scan module.

use std::path::PathBuf;

/// What went wrong while building a walk or a search, or while reading one path.
///
/// Options errors ([`InvalidPattern`](ScanError::InvalidPattern),
/// [`InvalidGlob`](ScanError::InvalidGlob), [`UnknownType`](ScanError::UnknownType)) are
/// returned before anything is read. Errors met during a walk or search (a missing root, a
/// directory that cannot be read, a symbolic link loop, a file that cannot be opened) do
/// not stop it: they are collected in the summary's `errors`, the way ripgrep reports them
/// and carries on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The search pattern is not a valid regular expression.
    #[error(
        "invalid regular expression {pattern:?}: {message}; escape special characters with a \
         backslash, or search for the literal text (fixed strings)"
    )]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// The regex parser's explanation.
        message: String,
    },
    /// A glob does not parse.
    #[error(
        "invalid glob {glob:?}: {message}; use `*`, `**`, `?`, `[abc]`, `{{a,b}}` and a leading `!` to exclude"
    )]
    InvalidGlob {
        /// The glob as given.
        glob: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file type name that `ignore`'s type table does not know (`rust`, `py`, `ts`, …).
    #[error("unknown file type {0:?}; use a name such as rust, py, js, ts, go, java, c, cpp, md")]
    UnknownType(String),
    /// An error from the directory walk: a root that does not exist, a directory that
    /// cannot be read, a symbolic link loop, an ignore file that does not parse.
    #[error("{0}")]
    Walk(#[from] ignore::Error),
    /// An ignore file (`.gitignore`, …) with lines that do not parse. Its other lines still
    /// apply; ripgrep reports this as a warning.
    #[error("{0}")]
    IgnoreFile(ignore::Error),
    /// A file that could not be read while searching it.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl ScanError {
    /// Whether this is a problem with the options (pattern, glob, type) rather than with a
    /// path met along the way.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::InvalidPattern { .. } | Self::InvalidGlob { .. } | Self::UnknownType(_)
        )
    }

    /// Whether this is only a warning: an ignore file with a bad line.
    pub fn is_warning(&self) -> bool {
        matches!(self, Self::IgnoreFile(_))
    }

    /// Whether this error reports a symbolic link loop.
    pub fn is_loop(&self) -> bool {
        match self {
            Self::Walk(e) => is_loop(e),
            _ => false,
        }
    }
}

fn is_loop(e: &ignore::Error) -> bool {
    match e {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        ignore::Error::Partial(errs) => errs.iter().any(is_loop),
        _ => false,
    }
}

/// The scan module's result type.
pub type Result<T, E = ScanError> = std::result::Result<T, E>;
