//! `glob`: find files by name pattern, newest first.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use cuervo_domain::{
    BoxFuture, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use cuervo_text::scan::{self, Flow, Globs, ScanError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::input;
use crate::output::cap_head;
use crate::path::{ResolvedPath, absolute_display, describe, resolve};
use crate::walk;

const NAME: &str = "glob";
/// At most this many paths are returned; more is noise to the model.
pub const MAX_GLOB_RESULTS: usize = 1000;

/// Finds files whose path (relative to the search directory) matches a glob. Results
/// are sorted newest first, since recently changed files are usually the relevant ones.
/// The walk honours the project's ignore files, so build output and dependencies do not
/// drown the answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlobTool;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    pattern: String,
    #[serde(default)]
    path: Option<String>,
}

struct Plan {
    pattern: String,
    matcher: Globs,
    dir: ResolvedPath,
}

fn plan(input: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
    let input: Input = input::parse(NAME, input)?;
    input::non_empty(NAME, "pattern", &input.pattern)?;
    let dir = resolve(&ctx.root, input.path.as_deref().unwrap_or("."))?;
    let mut pattern = input.pattern.trim();
    if Path::new(pattern).is_absolute() {
        let prefix = format!("{}/", absolute_display(&dir.absolute).trim_end_matches('/'));
        pattern = pattern.strip_prefix(&prefix).ok_or_else(|| {
            ToolError::InvalidInput(format!(
                "glob: the pattern {pattern} is absolute and not under the search directory {}; \
                 give a pattern relative to `path` (e.g. `**/*.rs`) and set `path` to the directory to search",
                dir.display
            ))
        })?;
    }
    while let Some(rest) = pattern.strip_prefix("./") {
        pattern = rest;
    }
    let matcher = Globs::new([pattern]).map_err(|e| {
        let detail = match &e {
            ScanError::InvalidGlob { message, .. } => message.clone(),
            other => other.to_string(),
        };
        ToolError::InvalidInput(format!(
            "glob: invalid pattern {pattern:?}: {detail}; use `*`, `**`, `?`, `[abc]` and `{{a,b}}`"
        ))
    })?;
    Ok(Plan {
        pattern: pattern.to_owned(),
        matcher,
        dir,
    })
}

/// Walks `dir` in parallel and returns the files matching `matcher`, newest first (ties
/// by path, so the order is stable).
fn find(dir: &Path, matcher: Globs) -> Vec<(PathBuf, SystemTime)> {
    let found = Mutex::new(Vec::new());
    // The options carry no file types or ripgrep-style globs, so the walk cannot fail to
    // start; paths it cannot read are skipped.
    let _ = scan::walk(&walk::options(dir).match_paths(matcher), |entry| {
        let mtime = std::fs::metadata(&entry.path)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        if let Ok(mut f) = found.lock() {
            f.push((entry.into_path(), mtime));
        }
        Flow::Continue
    });
    let mut found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    found
}

impl Tool for GlobTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Finds files by path pattern, e.g. `**/*.rs`, `src/**/*.{ts,tsx}`, `*.md` (top level \
         only: `*` does not cross `/`, `**` does). The pattern is matched against paths \
         relative to `path` (default: the project root). Returns matching file paths relative \
         to the project root, most recently modified first, at most 1000. Files ignored by \
         .gitignore, .ignore or .cuervoignore and hidden files are skipped. Use grep to search \
         file contents."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadOnly
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "Glob matched against paths relative to `path`, e.g. `**/*.rs`."},
                "path": {"type": "string", "description": "Directory to search in. Default: the project root."}
            },
            "required": ["pattern"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let plan = plan(input, ctx)?;
        Ok(ToolAction {
            summary: format!("glob {} in {}", plan.pattern, plan.dir.display),
            target: Some(plan.dir.display),
            outside_root: plan.dir.outside_root,
            preview: None,
            ..ToolAction::default()
        })
    }

    fn execute<'a>(
        &'a self,
        input: Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let Plan {
                pattern,
                matcher,
                dir,
            } = plan(&input, ctx)?;
            match std::fs::metadata(&dir.absolute) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(ToolError::Failed(format!(
                        "{} is a file, not a directory; set `path` to a directory",
                        dir.display
                    )));
                }
                Err(_) => {
                    return Err(ToolError::Failed(format!(
                        "the directory {} does not exist; check `path` (ls lists a directory)",
                        dir.display
                    )));
                }
            }
            let search = dir.absolute.clone();
            let found = tokio::task::spawn_blocking(move || find(&search, matcher))
                .await
                .map_err(|e| ToolError::Failed(format!("the glob task failed: {e}")))?;
            if found.is_empty() {
                return Ok(ToolOutput::text(format!(
                    "No files match {pattern} in {} (ignored and hidden files are skipped)",
                    dir.display
                )));
            }
            let root = std::fs::canonicalize(&ctx.root).unwrap_or_else(|_| ctx.root.clone());
            let total = found.len();
            let mut out: Vec<String> = found
                .into_iter()
                .take(MAX_GLOB_RESULTS)
                .map(|(p, _)| describe(&root, p).display)
                .collect();
            if total > MAX_GLOB_RESULTS {
                out.push(format!(
                    "… {} more files not shown (showing the {MAX_GLOB_RESULTS} most recently modified); use a narrower pattern or path",
                    total - MAX_GLOB_RESULTS
                ));
            }
            Ok(ToolOutput::text(cap_head(
                out.join("\n"),
                ctx.output_limit,
                "Use a narrower pattern or path.",
            )))
        })
    }
}
