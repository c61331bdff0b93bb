//! `read`: a file's text with line numbers, a window at a time.

use std::fmt::Write as _;

use cuervo_domain::{
    BoxFuture, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::input;
use crate::output::{cap_head, truncate_str};
use crate::path::{ResolvedPath, resolve};

const NAME: &str = "read";
/// Lines returned when the model does not say; enough for most source files.
pub const DEFAULT_LINE_LIMIT: usize = 2000;
/// Longer lines (minified code, data) are cut so one line cannot eat the budget.
pub const MAX_LINE_CHARS: usize = 2000;
/// How much of the start of a file is checked for NUL bytes to call it binary.
const BINARY_SNIFF_BYTES: usize = 8192;

/// Reads a text file and returns it numbered like `cat -n`, so the model can cite and
/// edit exact lines. Large files are read in windows (`offset`, `limit`); the output
/// says how to continue.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadTool;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    path: String,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    limit: Option<usize>,
}

impl ReadTool {
    fn prepare(input: &Value, ctx: &ToolContext) -> Result<(Input, ResolvedPath), ToolError> {
        let input: Input = input::parse(NAME, input)?;
        input::non_empty(NAME, "path", &input.path)?;
        if input.limit == Some(0) {
            return Err(ToolError::InvalidInput(
                "read: `limit` must be at least 1 line; leave it out to read up to 2000 lines"
                    .into(),
            ));
        }
        let resolved = resolve(&ctx.root, &input.path)?;
        Ok((input, resolved))
    }
}

impl Tool for ReadTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Reads a text file and returns its lines numbered like `cat -n` (line number, tab, \
         line). `path` is relative to the project root (absolute paths work too). By default \
         returns up to 2000 lines from the start; for longer files pass `offset` (1-based line \
         to start at) and `limit` (number of lines). Lines longer than 2000 characters are cut. \
         When lines remain, the output ends with a note giving the offset to continue from. \
         Binary files are refused. Read a file before editing it: `edit` needs its exact text \
         (without the line-number prefix)."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadOnly
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File to read, relative to the project root or absolute."},
                "offset": {"type": "integer", "minimum": 1, "description": "1-based line number to start at. Default 1."},
                "limit": {"type": "integer", "minimum": 1, "description": "Maximum number of lines to return. Default 2000."}
            },
            "required": ["path"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let (_, resolved) = Self::prepare(input, ctx)?;
        Ok(ToolAction {
            summary: format!("read {}", resolved.display),
            target: Some(resolved.display),
            outside_root: resolved.outside_root,
            preview: None,
        })
    }

    fn execute<'a>(
        &'a self,
        input: Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let (input, resolved) = Self::prepare(&input, ctx)?;
            let shown = &resolved.display;
            // Only regular files: reading a FIFO or a device could block or never end.
            if let Ok(meta) = tokio::fs::metadata(&resolved.absolute).await
                && !meta.is_file()
                && !meta.is_dir()
            {
                return Err(ToolError::Failed(format!(
                    "{shown} is not a regular file (a device, socket or pipe); read only reads files"
                )));
            }
            let bytes = tokio::fs::read(&resolved.absolute)
                .await
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => ToolError::Failed(format!(
                        "{shown} does not exist; check the path, or use glob or ls to find the file"
                    )),
                    std::io::ErrorKind::IsADirectory => ToolError::Failed(format!(
                        "{shown} is a directory; use ls to list it, or read a file inside it"
                    )),
                    _ => ToolError::Failed(format!("cannot read {shown}: {e}")),
                })?;
            let sniff = &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)];
            if sniff.contains(&0) {
                return Err(ToolError::Failed(format!(
                    "{shown} is a binary file ({} bytes); read shows text only. Use bash (e.g. `file` or `xxd | head`) to inspect it",
                    bytes.len()
                )));
            }
            let text = String::from_utf8_lossy(&bytes);
            let offset = input.offset.unwrap_or(1).max(1);
            let limit = input.limit.unwrap_or(DEFAULT_LINE_LIMIT);
            let content = render(shown, &text, offset, limit, ctx.output_limit)?;
            Ok(ToolOutput::text(content))
        })
    }
}

/// Numbers lines `offset..offset+limit` of `text` and appends a note when lines remain,
/// stopping early (with a note giving the next offset) when `output_limit` bytes would be
/// exceeded.
fn render(
    shown: &str,
    text: &str,
    offset: usize,
    limit: usize,
    output_limit: usize,
) -> Result<String, ToolError> {
    if text.is_empty() {
        return Ok(format!("({shown} is empty)"));
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    let total = body.split('\n').count();
    if offset > total {
        return Err(ToolError::Failed(format!(
            "offset {offset} is past the end of {shown}, which has {total} lines; use an offset from 1 to {total}"
        )));
    }
    // Room kept for the closing note.
    let budget = output_limit.saturating_sub(160);
    let wanted_end = offset.saturating_add(limit - 1).min(total);
    let mut out = String::new();
    let mut last_shown = offset - 1;
    let mut stopped_by_size = false;
    for (i, raw) in body.split('\n').enumerate().skip(offset - 1) {
        let number = i + 1;
        if number > wanted_end {
            break;
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let mut entry = String::new();
        match line.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => {
                let rest = line[cut..].chars().count();
                let _ = writeln!(
                    entry,
                    "{number:>6}\t{}… [line truncated, {rest} more characters]",
                    &line[..cut]
                );
            }
            None => {
                let _ = writeln!(entry, "{number:>6}\t{line}");
            }
        }
        if out.len() + entry.len() > budget {
            if out.is_empty() {
                // Always make progress: show what fits of the first line.
                out.push_str(truncate_str(&entry, budget));
                out.push('\n');
                last_shown = number;
            }
            stopped_by_size = true;
            break;
        }
        out.push_str(&entry);
        last_shown = number;
    }
    if last_shown < total {
        let remaining = total - last_shown;
        let why = if stopped_by_size {
            " (output size limit reached)"
        } else {
            ""
        };
        let _ = write!(
            out,
            "… {remaining} more lines{why}; read with offset={} to continue",
            last_shown + 1
        );
    } else if out.ends_with('\n') {
        out.pop();
    }
    Ok(cap_head(
        out,
        output_limit,
        "Read a smaller range with offset and limit.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lines_like_cat_n() {
        let out = render("f", "a\nb\n", 1, 2000, 30_000).expect("render");
        assert_eq!(out, "     1\ta\n     2\tb");
    }

    #[test]
    fn windows_and_continuation_note() {
        let text: String = (1..=10).map(|i| format!("l{i}\n")).collect();
        let out = render("f", &text, 3, 2, 30_000).expect("render");
        assert_eq!(
            out,
            "     3\tl3\n     4\tl4\n… 6 more lines; read with offset=5 to continue"
        );
        let out = render("f", &text, 9, 5, 30_000).expect("render");
        assert_eq!(out, "     9\tl9\n    10\tl10");
        let e = render("f", &text, 11, 5, 30_000).expect_err("past end");
        assert!(matches!(e, ToolError::Failed(m) if m.contains("has 10 lines")));
    }

    #[test]
    fn long_lines_are_cut_and_crlf_is_hidden() {
        let long = "é".repeat(MAX_LINE_CHARS + 5);
        let out = render("f", &format!("{long}\r\nx\r\n"), 1, 10, 100_000).expect("render");
        assert!(
            out.contains("[line truncated, 5 more characters]"),
            "{}",
            &out[out.len() - 80..]
        );
        assert!(out.ends_with("     2\tx"));
        assert!(!out.contains('\r'));
    }

    #[test]
    fn output_limit_stops_at_a_line_and_says_where_to_continue() {
        let text: String = (1..=1000).map(|i| format!("line number {i} ü\n")).collect();
        let out = render("f", &text, 1, 2000, 1000).expect("render");
        assert!(out.len() <= 1000, "{}", out.len());
        assert!(out.contains("output size limit reached"));
        let next: usize = out
            .rsplit("offset=")
            .next()
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .expect("offset in note");
        assert!(out.contains(&format!("{:>6}\tline number {} ü\n", next - 1, next - 1)));
        assert!(!out.contains(&format!("\tline number {next} ")));
    }

    #[test]
    fn empty_files_say_so() {
        assert_eq!(render("f", "", 1, 10, 100).expect("render"), "(f is empty)");
    }
}
