//! `grep`: search file contents with a regular expression, ripgrep-style.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cuervo_domain::{
    BoxFuture, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use cuervo_text::scan::{self, Case, FileEnd, Flow, GrepOptions, GrepSink, LineKind, LineRef};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::input;
use crate::output::cap_head;
use crate::path::{ResolvedPath, describe, resolve};
use crate::walk;

const NAME: &str = "grep";
/// Results (files, or matching lines in content mode) returned when the model does not
/// say.
pub const DEFAULT_MAX_RESULTS: usize = 1000;
/// Context beyond this many lines is more reading than searching.
const MAX_CONTEXT: usize = 50;
/// Matched lines longer than this (minified code) are cut.
const MAX_LINE_CHARS: usize = 500;

/// Searches file contents with grep-regex and grep-searcher (ripgrep's engine) over the
/// same ignore-aware walk as `glob`. Binary files are skipped. The default answer is the
/// list of matching files, the cheapest useful thing; `content` mode shows lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrepTool;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutputMode {
    Content,
    #[default]
    FilesWithMatches,
    Count,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    pattern: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    glob: Option<String>,
    #[serde(default)]
    case_insensitive: bool,
    #[serde(default)]
    fixed_strings: bool,
    #[serde(default)]
    context: Option<usize>,
    #[serde(default)]
    output_mode: OutputMode,
    #[serde(default)]
    max_results: Option<usize>,
}

struct Plan {
    pattern: String,
    options: GrepOptions,
    dir: ResolvedPath,
    mode: OutputMode,
    context: usize,
    max_results: usize,
}

fn plan(input: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
    let input: Input = input::parse(NAME, input)?;
    if input.pattern.is_empty() {
        return Err(ToolError::InvalidInput(
            "grep: `pattern` is empty; give a regular expression or, with fixed_strings, a literal"
                .into(),
        ));
    }
    if input.max_results == Some(0) {
        return Err(ToolError::InvalidInput(
            "grep: `max_results` must be at least 1; leave it out for the default of 1000".into(),
        ));
    }
    let dir = resolve(&ctx.root, input.path.as_deref().unwrap_or("."))?;
    let mut walk = walk::options(&dir.absolute);
    if let Some(g) = &input.glob {
        walk = walk.glob(g.clone());
        walk.walk_builder().map_err(|e| {
            ToolError::InvalidInput(format!(
                "grep: invalid `glob` {g:?}: {e}; use a file pattern such as `*.rs` or `src/**/*.ts`"
            ))
        })?;
    }
    let context = if input.output_mode == OutputMode::Content {
        input.context.unwrap_or(0).min(MAX_CONTEXT)
    } else {
        0
    };
    let max_results = input.max_results.unwrap_or(DEFAULT_MAX_RESULTS);
    let options = GrepOptions::new(input.pattern.clone())
        .fixed_strings(input.fixed_strings)
        .case(if input.case_insensitive {
            Case::Insensitive
        } else {
            Case::Sensitive
        })
        .context(context)
        .line_numbers(input.output_mode == OutputMode::Content)
        .max_count(match input.output_mode {
            OutputMode::FilesWithMatches => Some(1),
            // One more than allowed, to tell "exactly max" from "more than max".
            OutputMode::Content => Some(max_results as u64 + 1),
            OutputMode::Count => None,
        })
        .walk(walk);
    options.matcher().map_err(|e| {
        ToolError::InvalidInput(format!(
            "grep: invalid regular expression {:?}: {}; escape special characters such as ( [ {{ . * + ? with a backslash, or set fixed_strings to true to search for the literal text",
            input.pattern,
            match &e {
                scan::ScanError::InvalidPattern { message, .. } => message.clone(),
                other => other.to_string(),
            }
        ))
    })?;
    Ok(Plan {
        pattern: input.pattern,
        options,
        dir,
        mode: input.output_mode,
        context,
        max_results,
    })
}

/// One file's findings.
#[derive(Debug)]
struct FileHits {
    path: PathBuf,
    /// Matching lines.
    count: usize,
    /// Formatted output lines (content mode only), each flagged whether it is a match
    /// (as opposed to context or a `--` break).
    lines: Vec<(bool, String)>,
}

/// One walker thread's findings: the current file's lines, then the file's hits.
struct Collect<'a> {
    plan: &'a Plan,
    root: &'a Path,
    hits: &'a Mutex<Vec<FileHits>>,
    found: &'a AtomicUsize,
    stopped: &'a AtomicBool,
    display: Option<String>,
    lines: Vec<(bool, String)>,
}

fn line_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\n', '\r']);
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}… [line truncated]", &text[..cut]),
        None => text.to_owned(),
    }
}

impl GrepSink for Collect<'_> {
    fn line(&mut self, line: &LineRef<'_>) -> Flow {
        if self.plan.mode == OutputMode::Content {
            let display = self
                .display
                .get_or_insert_with(|| describe(self.root, line.path.to_path_buf()).display);
            let n = line.line_number.unwrap_or(0);
            let (is_match, sep) = match line.kind {
                LineKind::Match => (true, ':'),
                LineKind::Context => (false, '-'),
            };
            let text = format!("{display}{sep}{n}{sep}{}", line_text(line.bytes));
            self.lines.push((is_match, text));
        }
        Flow::Continue
    }

    fn context_break(&mut self) -> Flow {
        if self.plan.mode == OutputMode::Content {
            self.lines.push((false, "--".to_owned()));
        }
        Flow::Continue
    }

    fn file_end(&mut self, end: &FileEnd<'_>) -> Flow {
        self.display = None;
        let lines = std::mem::take(&mut self.lines);
        if end.binary || end.matched_lines == 0 {
            return Flow::Continue;
        }
        let count = usize::try_from(end.matched_lines).unwrap_or(usize::MAX);
        let weight = if self.plan.mode == OutputMode::Content {
            count
        } else {
            1
        };
        if let Ok(mut h) = self.hits.lock() {
            h.push(FileHits {
                path: end.path.to_path_buf(),
                count,
                lines,
            });
        }
        if self.found.fetch_add(weight, Ordering::SeqCst) + weight > self.plan.max_results {
            self.stopped.store(true, Ordering::SeqCst);
            return Flow::Quit;
        }
        Flow::Continue
    }
}

/// Searches every file under `dir` in parallel. Returns the hits sorted by path and
/// whether more than `max_results` results exist (the search stops as soon as it knows).
fn search(root: &Path, plan: &Plan) -> (Vec<FileHits>, bool) {
    let hits = Mutex::new(Vec::new());
    let found = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    // The pattern and glob were checked when planning; unreadable paths are skipped.
    let _ = scan::grep_with(&plan.options, || Collect {
        plan,
        root,
        hits: &hits,
        found: &found,
        stopped: &stopped,
        display: None,
        lines: Vec::new(),
    });
    let mut hits = hits.into_inner().unwrap_or_else(|p| p.into_inner());
    hits.sort_by(|a, b| a.path.cmp(&b.path));
    (hits, stopped.into_inner())
}

/// Formats the hits for the model, keeping at most `max_results` results.
fn render(root: &Path, plan: &Plan, hits: &[FileHits], stopped: bool) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut shown = 0;
    let mut capped = stopped;
    for hit in hits {
        if shown >= plan.max_results {
            capped = true;
            break;
        }
        match plan.mode {
            OutputMode::FilesWithMatches => {
                out.push(describe(root, hit.path.clone()).display);
                shown += 1;
            }
            OutputMode::Count => {
                out.push(format!(
                    "{}:{}",
                    describe(root, hit.path.clone()).display,
                    hit.count
                ));
                shown += 1;
            }
            OutputMode::Content => {
                if plan.context > 0 && !out.is_empty() {
                    out.push("--".to_owned());
                }
                for (is_match, line) in &hit.lines {
                    if *is_match {
                        if shown >= plan.max_results {
                            capped = true;
                            break;
                        }
                        shown += 1;
                    }
                    out.push(line.clone());
                }
            }
        }
    }
    if capped {
        let what = match plan.mode {
            OutputMode::Content => "matching lines",
            _ => "files",
        };
        out.push(format!(
            "… results capped at {} {what}; narrow the pattern, path or glob, or raise max_results",
            plan.max_results
        ));
    }
    out.join("\n")
}

impl Tool for GrepTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Searches file contents with a regular expression (Rust regex syntax, like ripgrep). \
         `output_mode`: `files_with_matches` (default) lists matching files; `content` shows \
         matching lines as `path:line:text` (with `context` lines around each match shown as \
         `path-line-text`); `count` shows `path:count`. Narrow the search with `path` (a \
         directory or file; default the project root) and `glob` (e.g. `*.rs`, `src/**/*.ts`). \
         Set `fixed_strings` to search literal text (no need to escape `(` or `.`), and \
         `case_insensitive` to ignore case. Ignored (.gitignore, .ignore, .cuervoignore), hidden \
         and binary files are skipped. Results are capped by `max_results` (default 1000). \
         Use this instead of running grep or rg through bash."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadOnly
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "Regular expression to search for (or literal text with fixed_strings)."},
                "path": {"type": "string", "description": "File or directory to search. Default: the project root."},
                "glob": {"type": "string", "description": "Only search files matching this glob, e.g. `*.rs` or `src/**/*.ts`; `!pattern` excludes."},
                "case_insensitive": {"type": "boolean", "default": false},
                "fixed_strings": {"type": "boolean", "default": false, "description": "Treat pattern as literal text."},
                "context": {"type": "integer", "minimum": 0, "maximum": MAX_CONTEXT, "description": "Lines of context before and after each match (content mode)."},
                "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"], "default": "files_with_matches"},
                "max_results": {"type": "integer", "minimum": 1, "description": "Most files (or matching lines in content mode) to return. Default 1000."}
            },
            "required": ["pattern"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let plan = plan(input, ctx)?;
        Ok(ToolAction {
            summary: format!("grep {:?} in {}", plan.pattern, plan.dir.display),
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
            let plan = plan(&input, ctx)?;
            if std::fs::symlink_metadata(&plan.dir.absolute).is_err() {
                return Err(ToolError::Failed(format!(
                    "{} does not exist; check `path` (glob or ls can find it)",
                    plan.dir.display
                )));
            }
            let root = std::fs::canonicalize(&ctx.root).unwrap_or_else(|_| ctx.root.clone());
            let limit = ctx.output_limit;
            tokio::task::spawn_blocking(move || {
                let (hits, stopped) = search(&root, &plan);
                if hits.is_empty() {
                    return ToolOutput::text(format!(
                        "No matches for {:?} in {} (ignored, hidden and binary files are skipped)",
                        plan.pattern, plan.dir.display
                    ));
                }
                let text = render(&root, &plan, &hits, stopped);
                ToolOutput::text(cap_head(
                    text,
                    limit,
                    "Narrow the pattern, path or glob, or use output_mode files_with_matches.",
                ))
            })
            .await
            .map_err(|e| ToolError::Failed(format!("the grep task failed: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_text_trims_terminators_and_cuts_long_lines() {
        assert_eq!(line_text(b"abc\r\n"), "abc");
        let long = "x".repeat(MAX_LINE_CHARS + 10);
        assert!(line_text(long.as_bytes()).ends_with("… [line truncated]"));
    }
}
