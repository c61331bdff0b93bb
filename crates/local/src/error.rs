//! The crate's error type. Each variant says what happened and, where it can, what to do.

use std::path::{Path, PathBuf};

use cuervo_domain::{ModelError, ModelErrorKind};

/// What went wrong with a local model, the store or a download.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a usable GGUF file: {reason}", path.display())]
    Gguf { path: PathBuf, reason: String },
    #[error("the model's chat template failed: {0}")]
    Template(String),
    #[error("llama.cpp: {0}")]
    Engine(String),
    #[error(
        "the prompt has {prompt} tokens but the context holds {context}; shorten the conversation"
    )]
    ContextWindowExceeded { prompt: usize, context: usize },
    #[error("embedding model {}: {reason}", path.display())]
    Embedding { path: PathBuf, reason: String },
    #[error(
        "no local model `{0}`: import one with `cuervo models import PATH` or pull one with `cuervo models pull REPO[:FILE]`"
    )]
    NotFound(String),
    #[error("model store: {0}")]
    Store(String),
    #[error("{what} are not part of this build: rebuild it with the cargo feature `{feature}`")]
    NotBuilt {
        what: &'static str,
        feature: &'static str,
    },
    #[error("download {url}: {reason}")]
    Download { url: String, reason: String },
    #[error("checksum mismatch for {}: expected sha256 {expected}, got {actual}; the partial file was removed, run the pull again", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The domain error the agent loop sees for this failure.
    pub fn into_model_error(self, provider: &str) -> ModelError {
        let kind = match &self {
            Error::ContextWindowExceeded { .. } => ModelErrorKind::ContextWindowExceeded,
            Error::Download { .. } => ModelErrorKind::Network,
            _ => ModelErrorKind::InvalidRequest,
        };
        ModelError::new(provider, kind, self.to_string())
    }
}
