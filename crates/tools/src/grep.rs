//! `grep`: search file contents with a regular expression, ripgrep-style.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cuervo_domain::{
    BoxFuture, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use ignore::WalkState;
use ignore::overrides::{Override, OverrideBuilder};
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
    matcher: RegexMatcher,
    overrides: Option<Override>,
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
    let matcher = RegexMatcherBuilder::new()
        .case_insensitive(input.case_insensitive)
        .fixed_strings(input.fixed_strings)
        .line_terminator(Some(b'\n'))
        .build(&input.pattern)
        .map_err(|e| {
            ToolError::InvalidInput(format!(
                "grep: invalid regular expression {:?}: {e}; escape special characters such as ( [ {{ . * + ? with a backslash, or set fixed_strings to true to search for the literal text",
                input.pattern
            ))
        })?;
    let overrides = match &input.glob {
        None => None,
        Some(g) => {
            let mut b = OverrideBuilder::new(&dir.absolute);
            b.add(g).map_err(|e| {
                ToolError::InvalidInput(format!(
                    "grep: invalid `glob` {g:?}: {e}; use a file pattern such as `*.rs` or `src/**/*.ts`"
                ))
            })?;
            Some(
                b.build().map_err(|e| {
                    ToolError::InvalidInput(format!("grep: invalid `glob` {g:?}: {e}"))
                })?,
            )
        }
    };
    let context = if input.output_mode == OutputMode::Content {
        input.context.unwrap_or(0).min(MAX_CONTEXT)
    } else {
        0
    };
    Ok(Plan {
        pattern: input.pattern,
        matcher,
        overrides,
        dir,
        mode: input.output_mode,
        context,
        max_results: input.max_results.unwrap_or(DEFAULT_MAX_RESULTS),
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

/// Collects one file's matches; gives up on the file as soon as it turns out binary.
struct Collect<'a> {
    mode: OutputMode,
    display: &'a str,
    max_matches: usize,
    count: usize,
    lines: Vec<(bool, String)>,
    binary: bool,
}

fn line_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\n', '\r']);
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}… [line truncated]", &text[..cut]),
        None => text.to_owned(),
    }
}

impl Sink for Collect<'_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, io::Error> {
        self.count += 1;
        match self.mode {
            OutputMode::FilesWithMatches => Ok(false),
            OutputMode::Count => Ok(true),
            OutputMode::Content => {
                let n = m.line_number().unwrap_or(0);
                let line = format!("{}:{n}:{}", self.display, line_text(m.bytes()));
                self.lines.push((true, line));
                Ok(self.count < self.max_matches)
            }
        }
    }

    fn context(&mut self, _: &Searcher, c: &SinkContext<'_>) -> Result<bool, io::Error> {
        if self.mode == OutputMode::Content {
            let n = c.line_number().unwrap_or(0);
            let line = format!("{}-{n}-{}", self.display, line_text(c.bytes()));
            self.lines.push((false, line));
        }
        Ok(true)
    }

    fn context_break(&mut self, _: &Searcher) -> Result<bool, io::Error> {
        if self.mode == OutputMode::Content {
            self.lines.push((false, "--".to_owned()));
        }
        Ok(true)
    }

    fn binary_data(&mut self, _: &Searcher, _: u64) -> Result<bool, io::Error> {
        self.binary = true;
        Ok(false)
    }
}

/// Searches every file under `dir` in parallel. Returns the hits sorted by path and
/// whether more than `max_results` results exist (the search stops as soon as it knows).
fn search(root: &Path, plan: &Plan) -> (Vec<FileHits>, bool) {
    let mut builder = walk::builder(&plan.dir.absolute);
    if let Some(o) = &plan.overrides {
        builder.overrides(o.clone());
    }
    let hits = Mutex::new(Vec::new());
    let found = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    builder.build_parallel().run(|| {
        let mut searcher = SearcherBuilder::new()
            .line_number(true)
            .binary_detection(BinaryDetection::quit(0))
            .before_context(plan.context)
            .after_context(plan.context)
            .build();
        let matcher = plan.matcher.clone();
        let (hits, found, stopped) = (&hits, &found, &stopped);
        Box::new(move |entry| {
            let Ok(entry) = entry else {
                return WalkState::Continue;
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let display = describe(root, entry.path().to_path_buf()).display;
            let mut sink = Collect {
                mode: plan.mode,
                display: &display,
                // One more than allowed, to tell "exactly max" from "more than max".
                max_matches: plan.max_results.saturating_add(1),
                count: 0,
                lines: Vec::new(),
                binary: false,
            };
            if searcher
                .search_path(&matcher, entry.path(), &mut sink)
                .is_err()
                || sink.binary
                || sink.count == 0
            {
                return WalkState::Continue;
            }
            let weight = if plan.mode == OutputMode::Content {
                sink.count
            } else {
                1
            };
            let (count, lines) = (sink.count, sink.lines);
            if let Ok(mut h) = hits.lock() {
                h.push(FileHits {
                    path: entry.into_path(),
                    count,
                    lines,
                });
            }
            if found.fetch_add(weight, Ordering::SeqCst) + weight > plan.max_results {
                stopped.store(true, Ordering::SeqCst);
                return WalkState::Quit;
            }
            WalkState::Continue
        })
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
