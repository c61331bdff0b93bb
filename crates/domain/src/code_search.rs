//! The codebase-search port: what the agent's `codebase_search` tool and the context
//! builder ask of the project's index, without knowing how it is kept (the `index` crate,
//! wired by the composition root).

use serde::{Deserialize, Serialize};

use crate::provider::BoxFuture;

/// A search over the project's code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeQuery {
    /// What to look for: a question in plain language, or names from the code.
    pub text: String,
    /// How many results at most.
    pub k: usize,
    /// Path globs (relative to the project root) a result must match; empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Languages (`rust`, `python`, …) a result must be in; empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
}

impl CodeQuery {
    /// A query for `text`'s best `k` results anywhere.
    pub fn new(text: impl Into<String>, k: usize) -> Self {
        Self {
            text: text.into(),
            k,
            paths: Vec::new(),
            languages: Vec::new(),
        }
    }
}

/// One result: a chunk of a file whose lines match the file on disk now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeHit {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: usize,
    /// 1-based, inclusive.
    pub end_line: usize,
    /// `function`, `method`, `class`, `module`, `comment`, `lines`, …
    pub chunk_type: String,
    /// The definition's name (`Session::save`), or the file's name for line windows.
    pub chunk_name: String,
    /// Higher is better; comparable only within one search.
    pub score: f64,
    /// The chunk's first lines.
    pub snippet: String,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeSearchResults {
    pub hits: Vec<CodeHit>,
    /// Something the reader should know (the index was behind and files were left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a search failed, in words for the user or the model (what happened, what to do).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodeSearchError(pub String);

/// The project's code index, as the application layer sees it.
pub trait CodeSearch: Send + Sync {
    /// Searches the code; results never show lines that no longer match the file.
    fn search(&self, query: CodeQuery)
    -> BoxFuture<'_, Result<CodeSearchResults, CodeSearchError>>;
}
