//! Markdown for the terminal, rendered while the answer streams in.
//!
//! The answer arrives as small deltas split anywhere (inside a word, inside `**`, inside
//! a UTF-8 sequence's neighbourhood but never inside a character). Finished output goes
//! into the terminal's scrollback and can never be redrawn, so the renderer works one
//! *complete* source line at a time: a line's rendering depends only on the lines before
//! it (a table header on the line after it, so a line with pipes is held back one line;
//! a table until it ends). That makes streaming output identical to rendering the whole
//! document at once, however it was split, and keeps the work linear in the input. What
//! is not final yet (the incomplete last line, a table still being received) is rendered
//! on demand by [`MarkdownStream::pending`] from a copy of the state.
//!
//! Inline markup is parsed per line with CommonMark's delimiter-run rules (so
//! `snake_case_names` stay plain and an unclosed `**` stays literal); emphasis spanning
//! several source lines is not supported, which answers practically never need.

mod blocks;
mod inline;
mod lines;
mod table;
#[cfg(test)]
mod tests;

use crate::style::{Color, Line, Style};
use blocks::Blocks;

/// Rules never grow past this, however wide the terminal: a long line of `─` reads as
/// noise on a wide screen.
const MAX_RULE: usize = 80;
/// A table this long is flushed with the column widths it has so far, so the live area
/// never holds an unbounded amount of text.
const TABLE_FLUSH_ROWS: usize = 50;
/// What `pending` returns at most: the live area is a few rows at the bottom.
const PENDING_MAX_LINES: usize = 12;
/// An incomplete line longer than this is previewed by its tail only, so redrawing the
/// live area stays cheap even for a pathological answer without newlines.
const PREVIEW_MAX_BYTES: usize = 4096;
/// Code is highlighted with the block so far as context (a line's colours depend on the
/// lines before it), and re-highlighting it for every line costs time proportional to
/// it. So the context restarts at a top-level boundary (see `blocks::restarts_context`)
/// once it is this long ...
const CODE_CONTEXT_SOFT: usize = 128;
/// ... and at any line at this length, which bounds the work per code line.
const CODE_CONTEXT_HARD: usize = 2048;
/// How far back the emphasis matcher looks for an opener, which keeps a pathological
/// line full of unmatched delimiters from going quadratic.
const OPENER_LOOKBACK: usize = 512;

const BORDER: Style = Style::fg(Color::Grey);
const BAR: Style = Style::fg(Color::Grey).dim();
const MARKER: Style = Style::fg(Color::Yellow);
const CODE: Color = Color::Cyan;
const LINK: Color = Color::Blue;

/// Turns an answer's text deltas into styled lines: final lines as soon as they are
/// known, and a short preview of the rest.
#[derive(Debug, Clone)]
pub struct MarkdownStream {
    /// The incomplete last line (no `\n` in it).
    buf: String,
    blocks: Blocks,
}

impl MarkdownStream {
    /// `width`: terminal columns, used for tables and rules (the screen wraps long lines
    /// itself).
    pub fn new(width: usize) -> Self {
        MarkdownStream {
            buf: String::new(),
            blocks: Blocks::new(width),
        }
    }

    /// Takes effect for what is rendered from now on; committed lines stay as they were.
    pub fn set_width(&mut self, width: usize) {
        self.blocks.width = width;
    }

    /// Feeds a delta; returns lines that are now final (commit them to scrollback).
    pub fn push(&mut self, delta: &str) -> Vec<Line> {
        let mut out = Vec::new();
        // Only the delta can hold a new newline: the buffer before it had none.
        let Some(last_newline) = delta.rfind('\n') else {
            self.buf.push_str(delta);
            return out;
        };
        let (complete, rest) = delta.split_at(last_newline + 1);
        let mut lines = complete.split_inclusive('\n');
        if let Some(first) = lines.next() {
            self.buf.push_str(first);
            let line = std::mem::take(&mut self.buf);
            self.blocks.feed(trim_newline(&line), &mut out);
        }
        for line in lines {
            self.blocks.feed(trim_newline(line), &mut out);
        }
        self.buf.push_str(rest);
        out
    }

    /// A rendering of what is not final yet (the incomplete last line, a table still
    /// being received), for the live area: at most a dozen lines, the latest ones.
    pub fn pending(&self) -> Vec<Line> {
        let mut blocks = self.blocks.clone();
        let mut out = Vec::new();
        let partial = tail(&self.buf, PREVIEW_MAX_BYTES);
        if !partial.trim().is_empty() {
            blocks.preview = true;
            blocks.feed(partial.strip_suffix('\r').unwrap_or(partial), &mut out);
            blocks.preview = false;
        }
        blocks.close_held(&mut out);
        if out.len() > PENDING_MAX_LINES {
            out.drain(..out.len() - PENDING_MAX_LINES);
        }
        out
    }

    /// End of the answer: everything left, rendered as final. The stream is then empty
    /// and can take another answer.
    pub fn finish(&mut self) -> Vec<Line> {
        let mut out = Vec::new();
        let line = std::mem::take(&mut self.buf);
        if !line.is_empty() {
            self.blocks
                .feed(line.strip_suffix('\r').unwrap_or(&line), &mut out);
        }
        self.blocks.close_held(&mut out);
        if let Some(code) = &self.blocks.code {
            // An unterminated code block ends with the answer.
            let quote = code.quote;
            let footer = self.blocks.code_footer();
            self.blocks.code = None;
            self.blocks.emit(quote, footer, &mut out);
        }
        self.blocks = Blocks::new(self.blocks.width);
        out
    }
}

/// Convenience: render a whole document at once (used for /help text etc.).
pub fn render(markdown: &str, width: usize) -> Vec<Line> {
    let mut stream = MarkdownStream::new(width);
    let mut out = stream.push(markdown);
    out.extend(stream.finish());
    out
}

fn trim_newline(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The last `max` bytes of `s` or a little less, starting on a character boundary.
fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
