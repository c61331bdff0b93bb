//! `read`: a file's text with line numbers, a window at a time.

use std::fmt::Write as _;

use cuervo_domain::{
    BoxFuture, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

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
            ..ToolAction::default()
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
            let opening = |e: std::io::Error| match e.kind() {
                std::io::ErrorKind::NotFound => ToolError::Failed(format!(
                    "{shown} does not exist; check the path, or use glob or ls to find the file"
                )),
                std::io::ErrorKind::IsADirectory => ToolError::Failed(format!(
                    "{shown} is a directory; use ls to list it, or read a file inside it"
                )),
                _ => ToolError::Failed(format!("cannot read {shown}: {e}")),
            };
            let meta = tokio::fs::metadata(&resolved.absolute)
                .await
                .map_err(opening)?;
            if meta.is_dir() {
                return Err(opening(std::io::ErrorKind::IsADirectory.into()));
            }
            // Only regular files: reading a FIFO or a device could block or never end.
            if !meta.is_file() {
                return Err(ToolError::Failed(format!(
                    "{shown} is not a regular file (a device, socket or pipe); read only reads files"
                )));
            }
            let mut file = tokio::fs::File::open(&resolved.absolute)
                .await
                .map_err(opening)?;
            let reading =
                |e: std::io::Error| ToolError::Failed(format!("cannot read {shown}: {e}"));

            // Sniff the start for NUL bytes before reading any further.
            let mut buf = vec![0u8; CHUNK_BYTES];
            let mut sniffed = 0;
            while sniffed < BINARY_SNIFF_BYTES {
                let n = file.read(&mut buf[sniffed..]).await.map_err(reading)?;
                if n == 0 {
                    break;
                }
                sniffed += n;
            }
            if buf[..sniffed.min(BINARY_SNIFF_BYTES)].contains(&0) {
                return Err(ToolError::Failed(format!(
                    "{shown} is a binary file ({} bytes); read shows text only. Use bash (e.g. `file` or `xxd | head`) to inspect it",
                    meta.len()
                )));
            }

            let offset = input.offset.unwrap_or(1).max(1);
            let limit = input.limit.unwrap_or(DEFAULT_LINE_LIMIT);
            let mut window = Window::new(offset, limit, ctx.output_limit);
            let mut filled = sniffed;
            while filled > 0 && window.feed(&buf[..filled]) {
                filled = file.read(&mut buf).await.map_err(reading)?;
            }
            let content = window.finish(shown, meta.len())?;
            Ok(ToolOutput::text(content))
        })
    }
}

/// Bytes read from the file at a time: all the memory a read needs besides its output.
const CHUNK_BYTES: usize = 64 * 1024;
/// Bytes of one line kept: room for `MAX_LINE_CHARS` characters of any UTF-8. The rest
/// of a longer line is only counted.
const MAX_LINE_BYTES: usize = MAX_LINE_CHARS * 4;
/// How far past the window lines are counted for the "N more lines" note; past that the
/// note says only that more lines follow.
const COUNT_AHEAD_BYTES: u64 = 64 * 1024 * 1024;

/// What the window is doing with the bytes it is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before `offset`: lines are only counted.
    Skipping,
    /// Inside the window: lines are kept (each up to `MAX_LINE_BYTES`) and numbered.
    Showing,
    /// After the window: lines are counted for the closing note, up to a byte budget.
    Counting,
    /// The count gave up: more lines follow, how many is unknown.
    GaveUp,
}

/// Numbers lines `offset..offset+limit` of a file fed chunk by chunk, stopping early
/// (with a note giving the next offset) when `output_limit` bytes would be exceeded.
/// Memory is bounded by the output, whatever the size of the file or of one line.
struct Window {
    offset: usize,
    wanted_end: usize,
    output_limit: usize,
    /// Room for lines, keeping space for the closing note.
    budget: usize,
    phase: Phase,
    /// Line ends seen so far.
    newlines: usize,
    /// Whether bytes follow the last line end (an unterminated last line).
    tail: bool,
    /// Whether any byte was fed at all.
    any: bool,
    /// The start of the line being shown, at most `MAX_LINE_BYTES`.
    line: Vec<u8>,
    /// Characters of that line beyond `line`.
    dropped_chars: u64,
    /// Whether the last dropped byte was `\r` (not counted: it ends a CRLF line).
    dropped_cr: bool,
    /// Bytes counted since the window closed.
    counted: u64,
    out: String,
    last_shown: usize,
    stopped_by_size: bool,
}

impl Window {
    fn new(offset: usize, limit: usize, output_limit: usize) -> Self {
        let offset = offset.max(1);
        Self {
            offset,
            wanted_end: offset.saturating_add(limit.max(1) - 1),
            output_limit,
            budget: output_limit.saturating_sub(160),
            phase: if offset == 1 {
                Phase::Showing
            } else {
                Phase::Skipping
            },
            newlines: 0,
            tail: false,
            any: false,
            line: Vec::new(),
            dropped_chars: 0,
            dropped_cr: false,
            counted: 0,
            out: String::new(),
            last_shown: offset - 1,
            stopped_by_size: false,
        }
    }

    /// Takes the next bytes of the file; returns false once nothing more is needed.
    fn feed(&mut self, mut bytes: &[u8]) -> bool {
        self.any |= !bytes.is_empty();
        while !bytes.is_empty() {
            match self.phase {
                Phase::GaveUp => return false,
                Phase::Skipping => match bytes.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        self.newlines += 1;
                        self.tail = false;
                        bytes = &bytes[end + 1..];
                        if self.newlines + 1 >= self.offset {
                            self.phase = Phase::Showing;
                        }
                    }
                    None => {
                        self.tail = true;
                        bytes = &[];
                    }
                },
                Phase::Showing => {
                    let end = bytes.iter().position(|&b| b == b'\n');
                    let part = &bytes[..end.unwrap_or(bytes.len())];
                    self.keep(part);
                    self.tail = !part.is_empty() || self.tail;
                    match end {
                        Some(end) => {
                            self.newlines += 1;
                            self.tail = false;
                            bytes = &bytes[end + 1..];
                            self.show_line();
                        }
                        None => bytes = &[],
                    }
                }
                Phase::Counting => {
                    let room =
                        usize::try_from(COUNT_AHEAD_BYTES - self.counted).unwrap_or(usize::MAX);
                    let take = bytes.len().min(room);
                    let (counted, rest) = bytes.split_at(take);
                    self.newlines += counted.iter().filter(|&&b| b == b'\n').count();
                    if let Some(&last) = counted.last() {
                        self.tail = last != b'\n';
                    }
                    self.counted += take as u64;
                    bytes = rest;
                    if !bytes.is_empty() {
                        self.phase = Phase::GaveUp;
                    }
                }
            }
        }
        self.phase != Phase::GaveUp
    }

    /// Adds part of the current line: kept while there is room, else only counted.
    fn keep(&mut self, part: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.line.len());
        let (kept, dropped) = part.split_at(part.len().min(room));
        self.line.extend_from_slice(kept);
        if let Some(&last) = dropped.last() {
            // Characters, not bytes: count every byte that starts one.
            self.dropped_chars += dropped.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
            self.dropped_cr = last == b'\r';
        }
    }

    /// The line just ended (or the file did): number it and add it to the output.
    fn show_line(&mut self) {
        let number = self.newlines.max(1);
        let line = std::mem::take(&mut self.line);
        let mut rest = std::mem::take(&mut self.dropped_chars);
        let mut text = String::from_utf8_lossy(&line).into_owned();
        if rest == 0 {
            if text.ends_with('\r') {
                text.pop();
            }
        } else if std::mem::take(&mut self.dropped_cr) {
            rest -= 1;
        }
        let mut entry = String::new();
        match text.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => {
                rest += text[cut..].chars().count() as u64;
                let _ = writeln!(
                    entry,
                    "{number:>6}\t{}… [line truncated, {rest} more characters]",
                    &text[..cut]
                );
            }
            None if rest > 0 => {
                let _ = writeln!(
                    entry,
                    "{number:>6}\t{text}… [line truncated, {rest} more characters]"
                );
            }
            None => {
                let _ = writeln!(entry, "{number:>6}\t{text}");
            }
        }
        if self.out.len() + entry.len() > self.budget {
            if self.out.is_empty() {
                // Always make progress: show what fits of the first line.
                self.out.push_str(truncate_str(&entry, self.budget));
                self.out.push('\n');
                self.last_shown = number;
            }
            self.stopped_by_size = true;
            self.phase = Phase::Counting;
            return;
        }
        self.out.push_str(&entry);
        self.last_shown = number;
        if number >= self.wanted_end {
            self.phase = Phase::Counting;
        }
    }

    /// The end of the file: the output with its closing note. `size` is the file's
    /// length in bytes, for the note when lines were not all counted.
    fn finish(mut self, shown: &str, size: u64) -> Result<String, ToolError> {
        if !self.any {
            return Ok(format!("({shown} is empty)"));
        }
        // An unterminated last line is still a line.
        if self.tail && self.phase == Phase::Showing {
            self.newlines += 1;
            self.tail = false;
            self.show_line();
        }
        let total = self.newlines + usize::from(self.tail);
        if self.offset > total && self.phase != Phase::GaveUp {
            return Err(ToolError::Failed(format!(
                "offset {} is past the end of {shown}, which has {total} lines; use an offset from 1 to {total}",
                self.offset
            )));
        }
        let why = if self.stopped_by_size {
            " (output size limit reached)"
        } else {
            ""
        };
        let next = self.last_shown + 1;
        let mut out = self.out;
        if self.phase == Phase::GaveUp {
            let _ = write!(
                out,
                "… more lines follow{why} ({shown} is {size} bytes); read with offset={next} to continue"
            );
        } else if self.last_shown < total {
            let remaining = total - self.last_shown;
            let _ = write!(
                out,
                "… {remaining} more lines{why}; read with offset={next} to continue"
            );
        } else if out.ends_with('\n') {
            out.pop();
        }
        Ok(cap_head(
            out,
            self.output_limit,
            "Read a smaller range with offset and limit.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole text fed in small pieces, as a file would be.
    fn render(
        shown: &str,
        text: &str,
        offset: usize,
        limit: usize,
        output_limit: usize,
    ) -> Result<String, ToolError> {
        let mut window = Window::new(offset, limit, output_limit);
        for piece in text.as_bytes().chunks(7) {
            if !window.feed(piece) {
                break;
            }
        }
        window.finish(shown, text.len() as u64)
    }

    #[test]
    fn numbers_lines_like_cat_n() {
        let out = render("f", "a\nb\n", 1, 2000, 30_000).expect("render");
        assert_eq!(out, "     1\ta\n     2\tb");
        let out = render("f", "a\n\nb", 1, 2000, 30_000).expect("render");
        assert_eq!(out, "     1\ta\n     2\t\n     3\tb");
        let out = render("f", "\n", 1, 2000, 30_000).expect("render");
        assert_eq!(out, "     1\t");
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
        let out = render("f", &text, 10, 1, 30_000).expect("render");
        assert_eq!(out, "    10\tl10");
        let e = render("f", &text, 11, 5, 30_000).expect_err("past end");
        assert!(matches!(e, ToolError::Failed(m) if m.contains("has 10 lines")));
        let e = render("f", "a\nb", 3, 5, 30_000).expect_err("past end");
        assert!(matches!(e, ToolError::Failed(m) if m.contains("has 2 lines")));
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
        // Past the bytes kept: the rest is counted, not held.
        let long = "🦀".repeat(MAX_LINE_BYTES);
        let out = render("f", &format!("{long}\r\nx"), 1, 10, 100_000).expect("render");
        let more = MAX_LINE_BYTES - MAX_LINE_CHARS;
        assert!(
            out.contains(&format!("[line truncated, {more} more characters]")),
            "{}",
            &out[out.len() - 80..]
        );
        assert!(out.ends_with("     2\tx"));
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
    fn counting_past_the_window_gives_up_on_huge_files() {
        let mut window = Window::new(1, 1, 30_000);
        assert!(window.feed(b"first\nsecond\n"));
        let chunk = vec![b'y'; CHUNK_BYTES];
        let mut fed = 0u64;
        while window.feed(&chunk) {
            fed += CHUNK_BYTES as u64;
            assert!(
                fed <= COUNT_AHEAD_BYTES + CHUNK_BYTES as u64,
                "never gave up"
            );
        }
        let out = window.finish("f", 1 << 40).expect("render");
        assert_eq!(
            out,
            "     1\tfirst\n… more lines follow (f is 1099511627776 bytes); read with offset=2 to continue"
        );
    }

    #[test]
    fn empty_files_say_so() {
        assert_eq!(render("f", "", 1, 10, 100).expect("render"), "(f is empty)");
    }
}
