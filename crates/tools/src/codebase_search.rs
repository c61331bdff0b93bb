//! `codebase_search`: the project's code index asked in plain language or by names —
//! the tool for "where is X handled?" when the words in the code are not known, which
//! `grep` cannot answer. Read-only; the index is behind the [`CodeSearch`] port, so this
//! crate never depends on how it is kept.

use std::fmt::Write as _;
use std::sync::Arc;

use cuervo_domain::{
    BoxFuture, CodeQuery, CodeSearch, PermissionLevel, Tool, ToolAction, ToolContext, ToolError,
    ToolOutput,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::input;

/// The tool's name, for permission rules and agent tool lists.
pub const CODEBASE_SEARCH: &str = "codebase_search";
const NAME: &str = CODEBASE_SEARCH;
/// Results when the model does not say.
const DEFAULT_K: usize = 8;
/// The most results a call may ask for.
const MAX_K: usize = 30;
/// Snippet lines shown per result.
const SNIPPET_LINES: usize = 6;

/// Semantic + keyword search over the project's index.
#[derive(Clone)]
pub struct CodebaseSearchTool {
    index: Arc<dyn CodeSearch>,
}

impl std::fmt::Debug for CodebaseSearchTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodebaseSearchTool").finish_non_exhaustive()
    }
}

impl CodebaseSearchTool {
    /// The tool over `index`.
    pub fn new(index: Arc<dyn CodeSearch>) -> Self {
        Self { index }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    query: String,
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

fn query(input: &Value) -> Result<CodeQuery, ToolError> {
    let input: Input = input::parse(NAME, input)?;
    input::non_empty(NAME, "query", &input.query)?;
    let k = input.k.unwrap_or(DEFAULT_K);
    if k == 0 || k > MAX_K {
        return Err(ToolError::InvalidInput(format!(
            "{NAME}: `k` is {k}; ask for 1 to {MAX_K} results"
        )));
    }
    let mut q = CodeQuery::new(input.query.trim(), k);
    q.paths.extend(input.path.filter(|p| !p.trim().is_empty()));
    q.languages
        .extend(input.language.filter(|l| !l.trim().is_empty()));
    Ok(q)
}

impl Tool for CodebaseSearchTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Search the project's code by meaning and by words at once (an index of every \
         function, class and file section, kept in step with the files). Ask in plain \
         language (\"where are retries of failed requests decided\") or with names you know; \
         use it before grep when you do not know what the code calls something. Returns \
         path, line range, kind and name of each match with its first lines; read the file \
         for the rest. Optional: k (results, default 8), path (a glob such as src/**), \
         language (rust, python, …)."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadOnly
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "what you are looking for, in plain language or with names from the code"},
                "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "description": "how many results (default 8)"},
                "path": {"type": "string", "description": "only files matching this glob, relative to the project root (e.g. src/**/*.rs)"},
                "language": {"type": "string", "description": "only files in this language (rust, python, typescript, go, …)"}
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, _ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let q = query(input)?;
        Ok(ToolAction {
            summary: format!("search the code index for \"{}\"", q.text),
            ..ToolAction::default()
        })
    }

    fn execute<'a>(
        &'a self,
        input: Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let q = query(&input)?;
            let results = self
                .index
                .search(q.clone())
                .await
                .map_err(|e| ToolError::Failed(format!("{NAME}: {e}")))?;
            Ok(ToolOutput::text(render(&q, &results)))
        })
    }
}

/// The results as the model reads them: a header per match, its first lines numbered.
fn render(q: &CodeQuery, results: &cuervo_domain::CodeSearchResults) -> String {
    let mut out = String::new();
    if results.hits.is_empty() {
        let _ = write!(
            out,
            "No code in the index matches \"{}\"{}. Try other words, or grep for a name.",
            q.text,
            if q.paths.is_empty() && q.languages.is_empty() {
                ""
            } else {
                " with these filters"
            }
        );
    }
    for (i, hit) in results.hits.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{}. {}:{}-{}  {} {}",
            i + 1,
            hit.path,
            hit.start_line,
            hit.end_line,
            hit.chunk_type,
            hit.chunk_name
        );
        for (n, line) in hit.snippet.lines().take(SNIPPET_LINES).enumerate() {
            let _ = writeln!(out, "{:>6}\t{line}", hit.start_line + n);
        }
    }
    if let Some(note) = &results.note {
        let _ = write!(out, "\n({note})");
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{CodeHit, CodeSearchError, CodeSearchResults};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Fake {
        asked: Mutex<Vec<CodeQuery>>,
    }

    impl CodeSearch for Fake {
        fn search(
            &self,
            query: CodeQuery,
        ) -> BoxFuture<'_, Result<CodeSearchResults, CodeSearchError>> {
            self.asked.lock().unwrap().push(query.clone());
            Box::pin(async move {
                if query.text == "fail" {
                    return Err(CodeSearchError("the index is locked".into()));
                }
                Ok(CodeSearchResults {
                    hits: vec![CodeHit {
                        path: "src/retry.rs".into(),
                        start_line: 10,
                        end_line: 30,
                        chunk_type: "function".into(),
                        chunk_name: "backoff".into(),
                        score: 0.5,
                        snippet: "fn backoff(attempt: u32) -> Duration {\n    todo\n}".into(),
                    }],
                    note: Some("2 files changed since indexing were left out".into()),
                })
            })
        }
    }

    #[tokio::test]
    async fn passes_filters_and_renders_locations_with_numbered_lines() {
        let fake = Arc::new(Fake::default());
        let tool = CodebaseSearchTool::new(fake.clone());
        let ctx = ToolContext::new(std::path::PathBuf::from("."));
        let input = json!({"query": " how long to wait between retries ", "k": 3, "path": "src/**", "language": "rust"});
        assert!(tool.validate(&input, &ctx).is_ok());
        let out = tool.execute(input, &ctx).await.unwrap();
        assert_eq!(
            out.content,
            "1. src/retry.rs:10-30  function backoff\n    10\tfn backoff(attempt: u32) -> Duration {\n    \
             11\t    todo\n    12\t}\n\n(2 files changed since indexing were left out)"
        );
        let asked = fake.asked.lock().unwrap();
        assert_eq!(asked[0].text, "how long to wait between retries");
        assert_eq!(
            (asked[0].k, &asked[0].paths[..], &asked[0].languages[..]),
            (3, &["src/**".to_owned()][..], &["rust".to_owned()][..])
        );
    }

    #[tokio::test]
    async fn bad_input_and_index_errors_reach_the_model_as_errors() {
        let tool = CodebaseSearchTool::new(Arc::new(Fake::default()));
        let ctx = ToolContext::new(std::path::PathBuf::from("."));
        for bad in [
            json!({"query": "  "}),
            json!({"query": "x", "k": 0}),
            json!({"query": "x", "k": 99}),
            json!({"q": "x"}),
        ] {
            assert!(
                matches!(tool.validate(&bad, &ctx), Err(ToolError::InvalidInput(_))),
                "{bad}"
            );
        }
        let err = tool
            .execute(json!({"query": "fail"}), &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "codebase_search: the index is locked");
        assert_eq!(tool.permission(), PermissionLevel::ReadOnly);
    }
}
