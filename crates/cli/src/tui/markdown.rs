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

use cuervo_text::syntax::{HighlightKind, Language, highlight, language_for_fence};
use unicode_width::UnicodeWidthStr;

use super::style::{Color, Line, Style};

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
/// it. So the context restarts at a top-level boundary (see [`restarts_context`]) once
/// it is this long ...
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

// ---- blocks ----

/// An open list item.
#[derive(Debug, Clone)]
struct ListLevel {
    /// Source column of the marker: a line indented further belongs to the item.
    indent: usize,
    /// Rendered column where the item's text starts (continuation lines align there).
    col: usize,
}

#[derive(Debug, Clone)]
struct Code {
    fence: u8,
    len: usize,
    /// Source indentation of the opening fence, removed from each code line.
    indent: usize,
    quote: usize,
    col: usize,
    lang: Option<Language>,
    /// The block so far (since the last context restart), for highlighting.
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone)]
struct Table {
    quote: usize,
    col: usize,
    aligns: Vec<Align>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Column widths once the table was flushed for length; later rows render at once.
    fixed: Option<Vec<usize>>,
}

/// A line with pipes, held back until the next line says whether it heads a table.
#[derive(Debug, Clone)]
struct Candidate {
    quote: usize,
    content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Other,
    Paragraph,
    IndentedCode,
}

/// The block-level state machine, fed one complete line at a time.
#[derive(Debug, Clone)]
struct Blocks {
    width: usize,
    /// Rendering the incomplete last line for `pending`: unclosed inline markup is
    /// shown as if it closed at the end.
    preview: bool,
    /// Whether anything was emitted (blank lines before the first content are dropped).
    started: bool,
    /// A blank line owed before the next content, with the quote depth of its bars.
    blank: Option<usize>,
    /// Quote depth of the last content line.
    quote: usize,
    prev_blank: bool,
    last: Last,
    lists: Vec<ListLevel>,
    code: Option<Code>,
    table: Option<Table>,
    candidate: Option<Candidate>,
}

impl Blocks {
    fn new(width: usize) -> Blocks {
        Blocks {
            width,
            preview: false,
            started: false,
            blank: None,
            quote: 0,
            prev_blank: false,
            last: Last::Other,
            lists: Vec::new(),
            code: None,
            table: None,
            candidate: None,
        }
    }

    fn feed(&mut self, line: &str, out: &mut Vec<Line>) {
        if self.code.is_some() {
            self.code_line(line, out);
            return;
        }
        let (quote, content) = strip_quotes(line);
        if content.trim().is_empty() {
            self.close_held(out);
            if self.started {
                self.blank = Some(self.blank.map_or(quote, |b| b.min(quote)));
            }
            self.prev_blank = true;
            return;
        }
        if let Some(table) = &self.table {
            if table.quote == quote && content.contains('|') {
                self.table_row(split_cells(content), out);
                return;
            }
            self.end_table(out);
        }
        if let Some(candidate) = self.candidate.take() {
            if candidate.quote == quote
                && let Some(aligns) = delimiter_row(content)
            {
                let header = split_cells(&candidate.content);
                if header.len() == aligns.len() {
                    let (ind, _) = indentation(&candidate.content);
                    self.table = Some(Table {
                        quote,
                        col: self.peek_col(ind),
                        aligns,
                        header,
                        rows: Vec::new(),
                        fixed: None,
                    });
                    self.prev_blank = false;
                    self.last = Last::Other;
                    return;
                }
            }
            self.block(candidate.quote, &candidate.content, out);
        }
        if could_head_table(content) {
            self.candidate = Some(Candidate {
                quote,
                content: content.to_owned(),
            });
            return;
        }
        self.block(quote, content, out);
    }

    /// Renders what is held back (a table, a possible table header) as it stands.
    fn close_held(&mut self, out: &mut Vec<Line>) {
        self.end_table(out);
        if let Some(candidate) = self.candidate.take() {
            self.block(candidate.quote, &candidate.content, out);
        }
    }

    /// One line of content outside code and tables, quote markers removed.
    fn block(&mut self, quote: usize, content: &str, out: &mut Vec<Line>) {
        if quote != self.quote {
            self.lists.clear();
            self.quote = quote;
        }
        let (ind, text) = indentation(content);
        let text = text.trim_end();
        let prev_blank = std::mem::replace(&mut self.prev_blank, false);

        if self.lists.is_empty() && ind >= 4 && (prev_blank || self.last != Last::Paragraph) {
            let code = strip_columns(content, 4).trim_end();
            self.emit(quote, Line::plain(expand_tabs(code)), out);
            self.last = Last::IndentedCode;
            return;
        }
        self.last = Last::Other;

        if let Some((fence, len, info)) = fence_open(text) {
            let col = self.container_col(ind, false, prev_blank);
            let lang = language_for_fence(info);
            let mut header = indent(col);
            header.push("──", BAR);
            let label = info
                .split(|c: char| c.is_whitespace() || c == ',')
                .next()
                .unwrap_or("");
            if !label.is_empty() {
                header.push(format!(" {label}"), Style::fg(Color::Grey));
            }
            self.emit(quote, header, out);
            self.code = Some(Code {
                fence,
                len,
                indent: ind,
                quote,
                col,
                lang,
                text: String::new(),
            });
            return;
        }
        if is_rule(text) {
            let col = self.container_col(ind, false, prev_blank);
            let n = self
                .width
                .min(MAX_RULE)
                .saturating_sub(col + 2 * quote)
                .max(3);
            let mut line = indent(col);
            line.push("─".repeat(n), BAR);
            self.emit(quote, line, out);
            return;
        }
        if let Some((level, title)) = heading(text) {
            let col = self.container_col(ind, false, prev_blank);
            let style = match level {
                1 => Style::fg(Color::Magenta).bold().underline(),
                2 => Style::fg(Color::Magenta).bold(),
                3 => Style::fg(Color::Blue).bold(),
                _ => Style::PLAIN.bold(),
            };
            let mut line = indent(col);
            push_inline(&mut line, title, style, self.preview);
            self.emit(quote, line, out);
            return;
        }
        if let Some(item) = list_item(text) {
            while self.lists.last().is_some_and(|l| l.indent >= ind) {
                self.lists.pop();
            }
            let level = self.lists.len();
            let base = self.lists.last().map_or(0, |l| l.col);
            let mut line = indent(base);
            let mut used = 0;
            match item.marker {
                Marker::Bullet if item.task.is_none() => {
                    let bullet = ["•", "◦", "▪"][level % 3];
                    line.push(bullet, MARKER);
                    used += bullet.width() + 1;
                    line.push(" ", Style::PLAIN);
                }
                Marker::Bullet => {}
                Marker::Ordered(number) => {
                    used += number.width() + 1;
                    line.push(number, MARKER);
                    line.push(" ", Style::PLAIN);
                }
            }
            match item.task {
                Some(true) => {
                    line.push("✔", Style::fg(Color::Green));
                    line.push(" ", Style::PLAIN);
                    used += 2;
                }
                Some(false) => {
                    line.push("☐", Style::fg(Color::Grey));
                    line.push(" ", Style::PLAIN);
                    used += 2;
                }
                None => {}
            }
            self.lists.push(ListLevel {
                indent: ind,
                col: base + used,
            });
            push_inline(&mut line, item.text, Style::PLAIN, self.preview);
            self.emit(quote, line, out);
            self.last = Last::Paragraph;
            return;
        }
        let col = self.container_col(ind, true, prev_blank);
        let mut line = indent(col);
        push_inline(&mut line, text, Style::PLAIN, self.preview);
        self.emit(quote, line, out);
        self.last = Last::Paragraph;
    }

    /// The rendered column for a non-item line indented `ind`: inside the list item it
    /// is indented under, or out of all lists. A paragraph line right after an item's
    /// text continues it even unindented (a lazy continuation).
    fn container_col(&mut self, ind: usize, paragraph: bool, prev_blank: bool) -> usize {
        let Some(first) = self.lists.first() else {
            return 0;
        };
        if ind <= first.indent {
            if paragraph && !prev_blank && self.last == Last::Paragraph {
                return self.lists.last().map_or(0, |l| l.col);
            }
            self.lists.clear();
            return 0;
        }
        while self.lists.last().is_some_and(|l| l.indent >= ind) {
            self.lists.pop();
        }
        self.lists.last().map_or(0, |l| l.col)
    }

    /// [`Blocks::container_col`] without closing anything (for a held table).
    fn peek_col(&self, ind: usize) -> usize {
        self.lists
            .iter()
            .rev()
            .find(|l| l.indent < ind)
            .map_or(0, |l| l.col)
    }

    /// Emits a content line: the owed blank line first, then the line behind the quote
    /// bars.
    fn emit(&mut self, quote: usize, line: Line, out: &mut Vec<Line>) {
        if let Some(depth) = self.blank.take()
            && self.started
        {
            let mut blank = Line::empty();
            if depth > 0 {
                blank.push(format!("{}│", "│ ".repeat(depth - 1)), BAR);
            }
            out.push(blank);
        }
        let mut full = Line::empty();
        if quote > 0 {
            full.push("│ ".repeat(quote), BAR);
        }
        for span in line.spans {
            full.push(span.text, span.style);
        }
        out.push(full);
        self.started = true;
    }

    // ---- code ----

    fn code_line(&mut self, line: &str, out: &mut Vec<Line>) {
        let Some(code) = &mut self.code else {
            return;
        };
        let mut rest = line;
        for _ in 0..code.quote {
            match strip_one_quote(rest) {
                Some(r) => rest = r,
                None => break,
            }
        }
        let rest = strip_columns(rest, code.indent);
        if is_fence_close(rest, code.fence, code.len) {
            let (quote, footer) = (code.quote, self.code_footer());
            self.code = None;
            self.last = Last::Other;
            self.prev_blank = false;
            self.emit(quote, footer, out);
            return;
        }
        let source = expand_tabs(rest);
        let mut rendered = indent(code.col);
        match code.lang {
            Some(lang) => {
                if restarts_context(&code.text, &source) {
                    code.text.clear();
                }
                let start = code.text.len();
                code.text.push_str(&source);
                code.text.push('\n');
                let end = start + source.len();
                let mut at = start;
                for span in highlight(lang, &code.text) {
                    if span.range.end <= at {
                        continue;
                    }
                    if span.range.start >= end {
                        break;
                    }
                    let s = span.range.start.max(at);
                    let e = span.range.end.min(end);
                    // Spans are on character boundaries; `get` keeps a surprise harmless.
                    if let (Some(gap), Some(token)) = (code.text.get(at..s), code.text.get(s..e)) {
                        rendered.push(gap, Style::PLAIN);
                        rendered.push(token, kind_style(span.kind));
                        at = e;
                    }
                }
                rendered.push(code.text.get(at..end).unwrap_or_default(), Style::PLAIN);
            }
            None => rendered.push(source, Style::PLAIN),
        }
        let quote = code.quote;
        self.emit(quote, rendered, out);
    }

    fn code_footer(&self) -> Line {
        let mut footer = indent(self.code.as_ref().map_or(0, |c| c.col));
        footer.push("──", BAR);
        footer
    }

    // ---- tables ----

    fn table_row(&mut self, cells: Vec<String>, out: &mut Vec<Line>) {
        let Some(table) = &mut self.table else {
            return;
        };
        self.prev_blank = false;
        if let Some(widths) = table.fixed.clone() {
            let (quote, col) = (table.quote, table.col);
            let lines = row_lines(&cells, &widths, &table.aligns, Style::PLAIN);
            for line in lines {
                self.emit_at(quote, col, line, out);
            }
            return;
        }
        table.rows.push(cells);
        if table.rows.len() >= TABLE_FLUSH_ROWS {
            let widths = self.table_widths();
            let lines = self.table_lines(&widths, false);
            if let Some(table) = &mut self.table {
                table.rows.clear();
                table.fixed = Some(widths);
                let (quote, col) = (table.quote, table.col);
                for line in lines {
                    self.emit_at(quote, col, line, out);
                }
            }
        }
    }

    fn end_table(&mut self, out: &mut Vec<Line>) {
        let Some(table) = &self.table else {
            return;
        };
        let (quote, col) = (table.quote, table.col);
        let lines = match &table.fixed {
            Some(widths) => vec![border(widths, '└', '┴', '┘')],
            None => {
                let widths = self.table_widths();
                self.table_lines(&widths, true)
            }
        };
        self.table = None;
        self.last = Last::Other;
        for line in lines {
            self.emit_at(quote, col, line, out);
        }
    }

    fn emit_at(&mut self, quote: usize, col: usize, line: Line, out: &mut Vec<Line>) {
        let mut full = indent(col);
        for span in line.spans {
            full.push(span.text, span.style);
        }
        self.emit(quote, full, out);
    }

    /// Column widths: each column's widest cell, shrunk (widest first) until the table
    /// fits the terminal; cells then wrap inside their column.
    fn table_widths(&self) -> Vec<usize> {
        let Some(table) = &self.table else {
            return Vec::new();
        };
        let n = table.aligns.len();
        let avail = self
            .width
            .max(20)
            .saturating_sub(table.col + 2 * table.quote)
            .max(4 * n + 1);
        let mut widths = vec![1usize; n];
        for (i, cell) in table.header.iter().enumerate().take(n) {
            widths[i] = widths[i].max(inline_line(cell, Style::PLAIN.bold()).width());
        }
        for row in &table.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(inline_line(cell, Style::PLAIN).width());
            }
        }
        for w in &mut widths {
            *w = (*w).min(avail);
        }
        let mut total: usize = widths.iter().sum::<usize>() + 3 * n + 1;
        while total > avail {
            let Some((widest, &w)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else {
                break;
            };
            if w <= 3 {
                break;
            }
            // Bring the widest column down to the next widest (or just enough).
            let next = widths
                .iter()
                .filter(|x| **x < w)
                .max()
                .copied()
                .unwrap_or(3);
            let cut = (w - next.max(3)).min(total - avail).max(1);
            widths[widest] -= cut;
            total -= cut;
        }
        widths
    }

    fn table_lines(&self, widths: &[usize], bottom: bool) -> Vec<Line> {
        let Some(table) = &self.table else {
            return Vec::new();
        };
        let mut lines = vec![border(widths, '┌', '┬', '┐')];
        lines.extend(row_lines(
            &table.header,
            widths,
            &table.aligns,
            Style::PLAIN.bold(),
        ));
        lines.push(border(widths, '├', '┼', '┤'));
        for row in &table.rows {
            lines.extend(row_lines(row, widths, &table.aligns, Style::PLAIN));
        }
        if bottom {
            lines.push(border(widths, '└', '┴', '┘'));
        }
        lines
    }
}

/// Whether `line` can be highlighted without the code before it (`context`, which ends
/// with a newline): it starts a new top-level statement or definition, at column 0 after
/// a blank line or after another column-0 line that leaves nothing open. Lines that
/// continue a construct (`else`, `end`, `}`, `fi`) never restart it.
fn restarts_context(context: &str, line: &str) -> bool {
    if context.len() >= CODE_CONTEXT_HARD {
        return true;
    }
    if context.len() < CODE_CONTEXT_SOFT {
        return false;
    }
    let starts_item = line
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '#' | '@' | '/'));
    let first_word = line
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    const CONTINUATIONS: [&str; 16] = [
        "else", "elif", "elsif", "except", "finally", "end", "catch", "rescue", "ensure", "when",
        "in", "do", "done", "fi", "esac", "then",
    ];
    if !starts_item || CONTINUATIONS.contains(&first_word) {
        return false;
    }
    let body = context.strip_suffix('\n').unwrap_or(context);
    let prev = body.rsplit('\n').next().unwrap_or("");
    let prev_closed = !prev.starts_with([' ', '\t'])
        && !prev.trim_end().ends_with([
            '{', '(', '[', ',', '=', '\\', ':', '+', '-', '*', '|', '&', '<', '.',
        ]);
    prev.trim().is_empty() || prev_closed
}

fn border(widths: &[usize], left: char, mid: char, right: char) -> Line {
    let mut s = String::new();
    s.push(left);
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            s.push(mid);
        }
        s.push_str(&"─".repeat(w + 2));
    }
    s.push(right);
    Line::styled(s, BORDER)
}

/// One table row: each cell wrapped in its column, as many lines as the tallest cell.
fn row_lines(cells: &[String], widths: &[usize], aligns: &[Align], style: Style) -> Vec<Line> {
    let wrapped: Vec<Vec<Line>> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let cell = cells.get(i).map_or("", String::as_str);
            inline_line(cell, style).wrap(*w, 0)
        })
        .collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    (0..height)
        .map(|r| {
            let mut line = Line::styled("│", BORDER);
            for (i, w) in widths.iter().enumerate() {
                let cell = wrapped
                    .get(i)
                    .and_then(|rows| rows.get(r))
                    .cloned()
                    .unwrap_or_default();
                let pad = w.saturating_sub(cell.width());
                let (before, after) = match aligns.get(i).copied().unwrap_or(Align::Left) {
                    Align::Left => (0, pad),
                    Align::Right => (pad, 0),
                    Align::Center => (pad / 2, pad - pad / 2),
                };
                line.push(" ".repeat(before + 1), Style::PLAIN);
                for span in cell.spans {
                    line.push(span.text, span.style);
                }
                line.push(" ".repeat(after + 1), Style::PLAIN);
                line.push("│", BORDER);
            }
            line
        })
        .collect()
}

/// Cells of a table row: split at unescaped pipes, outer pipes optional.
fn split_cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = match t.strip_suffix('|') {
        Some(inner) if !inner.ends_with('\\') => inner,
        _ => t,
    };
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut escaped = false;
    for c in t.chars() {
        match c {
            '|' if !escaped => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            _ => cell.push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    cells.push(cell.trim().to_owned());
    cells
}

/// The alignments of a delimiter row (`|---|:--:|--:|`), or `None` if it is not one.
fn delimiter_row(line: &str) -> Option<Vec<Align>> {
    if !line.contains('|') {
        return None;
    }
    split_cells(line)
        .iter()
        .map(|cell| {
            let left = cell.starts_with(':');
            let right = cell.ends_with(':');
            let dashes = cell.trim_start_matches(':').trim_end_matches(':');
            if dashes.is_empty() || !dashes.bytes().all(|b| b == b'-') {
                return None;
            }
            Some(match (left, right) {
                (true, true) => Align::Center,
                (false, true) => Align::Right,
                _ => Align::Left,
            })
        })
        .collect()
}

fn could_head_table(content: &str) -> bool {
    let (_, text) = indentation(content);
    let text = text.trim_end();
    text.contains('|')
        && fence_open(text).is_none()
        && !is_rule(text)
        && heading(text).is_none()
        && list_item(text).is_none()
}

// ---- line classification ----

/// Removes leading `>` markers: (quote depth, the rest).
fn strip_quotes(line: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = line;
    while let Some(r) = strip_one_quote(rest) {
        depth += 1;
        rest = r;
    }
    (depth, rest)
}

fn strip_one_quote(line: &str) -> Option<&str> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let rest = trimmed.strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Leading whitespace in columns (a tab to the next multiple of 4), and the rest.
fn indentation(s: &str) -> (usize, &str) {
    let mut col = 0;
    for (i, c) in s.char_indices() {
        match c {
            ' ' => col += 1,
            '\t' => col = (col / 4 + 1) * 4,
            _ => return (col, &s[i..]),
        }
    }
    (col, "")
}

/// Removes up to `n` columns of leading whitespace.
fn strip_columns(s: &str, n: usize) -> &str {
    let mut col = 0;
    for (i, c) in s.char_indices() {
        if col >= n {
            return &s[i..];
        }
        match c {
            ' ' => col += 1,
            '\t' => col = (col / 4 + 1) * 4,
            _ => return &s[i..],
        }
    }
    ""
}

fn expand_tabs(s: &str) -> String {
    if !s.contains('\t') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut col = 0;
    for c in s.chars() {
        if c == '\t' {
            let n = 4 - col % 4;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}

fn indent(col: usize) -> Line {
    let mut line = Line::empty();
    line.push(" ".repeat(col), Style::PLAIN);
    line
}

/// An opening fence: (fence byte, its length, the info string).
fn fence_open(text: &str) -> Option<(u8, usize, &str)> {
    let fence = *text.as_bytes().first()?;
    if fence != b'`' && fence != b'~' {
        return None;
    }
    let len = text.bytes().take_while(|b| *b == fence).count();
    if len < 3 {
        return None;
    }
    let info = text[len..].trim();
    if fence == b'`' && info.contains('`') {
        return None;
    }
    Some((fence, len, info))
}

fn is_fence_close(line: &str, fence: u8, len: usize) -> bool {
    let t = line.trim();
    let n = t.bytes().take_while(|b| *b == fence).count();
    n >= len && n == t.len()
}

fn is_rule(text: &str) -> bool {
    let Some(c) = text.chars().next() else {
        return false;
    };
    if !matches!(c, '-' | '*' | '_') {
        return false;
    }
    let mut count = 0;
    for ch in text.chars() {
        if ch == c {
            count += 1;
        } else if ch != ' ' && ch != '\t' {
            return false;
        }
    }
    count >= 3
}

/// An ATX heading: (level, title without the `#`s).
fn heading(text: &str) -> Option<(usize, &str)> {
    let level = text.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &text[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut title = rest.trim();
    // An optional closing sequence: `## Title ##`.
    let stripped = title.trim_end_matches('#');
    if stripped.is_empty() {
        title = "";
    } else if stripped.ends_with([' ', '\t']) {
        title = stripped.trim_end();
    }
    Some((level, title))
}

enum Marker<'a> {
    Bullet,
    Ordered(&'a str),
}

struct Item<'a> {
    marker: Marker<'a>,
    /// `Some(checked)` for a task list item.
    task: Option<bool>,
    text: &'a str,
}

fn list_item(text: &str) -> Option<Item<'_>> {
    let bytes = text.as_bytes();
    let (marker, after) = match bytes.first()? {
        b'-' | b'*' | b'+' => (Marker::Bullet, 1),
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 9 || !matches!(bytes.get(digits), Some(b'.' | b')')) {
                return None;
            }
            (Marker::Ordered(&text[..=digits]), digits + 1)
        }
        _ => return None,
    };
    let rest = &text[after..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim_start();
    let (task, rest) = if let Some(r) = rest.strip_prefix("[ ]") {
        (Some(false), r)
    } else if let Some(r) = rest
        .strip_prefix("[x]")
        .or_else(|| rest.strip_prefix("[X]"))
    {
        (Some(true), r)
    } else {
        (None, rest)
    };
    let (task, rest) = match task {
        Some(_) if !rest.is_empty() && !rest.starts_with([' ', '\t']) => {
            (None, text[after..].trim_start())
        }
        _ => (task, rest.trim_start()),
    };
    Some(Item {
        marker,
        task,
        text: rest,
    })
}

fn kind_style(kind: HighlightKind) -> Style {
    match kind {
        HighlightKind::Keyword => Style::fg(Color::Magenta),
        HighlightKind::String => Style::fg(Color::Green),
        HighlightKind::Comment => Style::fg(Color::Grey).italic(),
        HighlightKind::Function | HighlightKind::Macro => Style::fg(Color::Blue),
        HighlightKind::Type | HighlightKind::Attribute => Style::fg(Color::Yellow),
        HighlightKind::Number | HighlightKind::Constant => Style::fg(Color::Cyan),
        _ => Style::PLAIN,
    }
}

// ---- inline ----

#[derive(Debug, Clone, Copy, Default)]
struct Marks {
    bold: bool,
    italic: bool,
    strike: bool,
}

#[derive(Debug)]
enum Node {
    Text(String),
    Code(String),
    Link {
        label: String,
        url: String,
    },
    /// A run of `*`, `_` or `~~`; what is left of `count` after matching is literal.
    Delim {
        ch: u8,
        count: usize,
        orig: usize,
        open: bool,
        close: bool,
        active: bool,
    },
}

fn inline_line(text: &str, base: Style) -> Line {
    let mut line = Line::empty();
    push_inline(&mut line, text, base, false);
    line
}

/// Renders one line's inline markup onto `line`. `optimistic` (the incomplete line in
/// the live area): an unclosed code span or emphasis applies to the end of the text,
/// and a trailing run of markup characters is hidden, so the preview doesn't flash raw
/// markup while a closing delimiter is still on its way.
fn push_inline(line: &mut Line, text: &str, base: Style, optimistic: bool) {
    let text = if optimistic {
        text.trim_end_matches(['*', '_', '~', '`']).trim_end()
    } else {
        text
    };
    let mut nodes = parse_inline(text, optimistic);
    let mut marks = vec![Marks::default(); nodes.len()];
    match_emphasis(&mut nodes, &mut marks);
    if optimistic {
        close_open_emphasis(&mut nodes, &mut marks);
    }
    for (node, m) in nodes.iter().zip(&marks) {
        let mut style = base;
        style.bold |= m.bold;
        style.italic |= m.italic;
        style.dim |= m.strike;
        match node {
            Node::Text(t) => line.push(t.as_str(), style),
            Node::Code(t) => line.push(
                t.as_str(),
                Style {
                    fg: Some(CODE),
                    ..style
                },
            ),
            Node::Link { label, url } => {
                let link = Style {
                    fg: Some(LINK),
                    ..style.underline()
                };
                let mut rendered = Line::empty();
                push_inline(&mut rendered, label, link, false);
                let shown = rendered.text();
                for span in rendered.spans {
                    line.push(span.text, span.style);
                }
                let same = shown == *url || url.strip_prefix("mailto:") == Some(shown.as_str());
                if !same && !url.is_empty() {
                    line.push(format!(" ({url})"), Style::PLAIN.dim());
                }
            }
            Node::Delim { ch, count, .. } => {
                line.push(char::from(*ch).to_string().repeat(*count), style);
            }
        }
    }
}

fn parse_inline(s: &str, optimistic: bool) -> Vec<Node> {
    let b = s.as_bytes();
    let mut nodes = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, nodes: &mut Vec<Node>| {
        if !text.is_empty() {
            nodes.push(Node::Text(std::mem::take(text)));
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => match b.get(i + 1) {
                Some(c) if c.is_ascii_punctuation() => {
                    text.push(char::from(*c));
                    i += 2;
                }
                // A backslash ending the line is a hard line break: the line ends anyway.
                None => i += 1,
                _ => {
                    text.push('\\');
                    i += 1;
                }
            },
            b'`' => {
                let n = run_len(b, i);
                match backtick_close(b, i + n, n) {
                    Some(j) => {
                        flush(&mut text, &mut nodes);
                        nodes.push(Node::Code(code_content(&s[i + n..j])));
                        i = j + n;
                    }
                    None if optimistic => {
                        flush(&mut text, &mut nodes);
                        nodes.push(Node::Code(s[i + n..].to_owned()));
                        i = b.len();
                    }
                    None => {
                        text.push_str(&s[i..i + n]);
                        i += n;
                    }
                }
            }
            c @ (b'*' | b'_' | b'~') => {
                let n = run_len(b, i);
                if c == b'~' && n != 2 {
                    text.push_str(&s[i..i + n]);
                    i += n;
                    continue;
                }
                let before = s[..i].chars().next_back();
                let after = s[i + n..].chars().next();
                let (left, right) = flanking(before, after);
                let (open, close) = if c == b'_' {
                    (
                        left && (!right || before.is_some_and(is_punct)),
                        right && (!left || after.is_some_and(is_punct)),
                    )
                } else {
                    (left, right)
                };
                flush(&mut text, &mut nodes);
                nodes.push(Node::Delim {
                    ch: c,
                    count: n,
                    orig: n,
                    open,
                    close,
                    active: true,
                });
                i += n;
            }
            c @ (b'[' | b'!') => {
                let at = if c == b'!' { i + 1 } else { i };
                let link = if b.get(at) == Some(&b'[') {
                    parse_link(s, at)
                } else {
                    None
                };
                match link {
                    Some((label, url, end)) => {
                        flush(&mut text, &mut nodes);
                        let label = if label.trim().is_empty() { url } else { label };
                        nodes.push(Node::Link {
                            label: label.to_owned(),
                            url: url.to_owned(),
                        });
                        i = end;
                    }
                    None => {
                        text.push(char::from(c));
                        i += 1;
                    }
                }
            }
            b'<' => match autolink(s, i) {
                Some((url, end)) => {
                    flush(&mut text, &mut nodes);
                    let label = url.strip_prefix("mailto:").unwrap_or(url);
                    nodes.push(Node::Link {
                        label: escape_markup(label),
                        url: url.to_owned(),
                    });
                    i = end;
                }
                None => {
                    text.push('<');
                    i += 1;
                }
            },
            b'&' => {
                let (decoded, len) = entity(&s[i..]);
                text.push(decoded);
                i += len;
            }
            _ => {
                let Some(ch) = s[i..].chars().next() else {
                    break;
                };
                text.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    flush(&mut text, &mut nodes);
    nodes
}

/// Escapes markup characters so an autolink's URL renders as is when parsed as a label.
fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn run_len(b: &[u8], i: usize) -> usize {
    let c = b[i];
    b[i..].iter().take_while(|x| **x == c).count()
}

/// The start of the next run of exactly `n` backticks at or after `from`.
fn backtick_close(b: &[u8], from: usize, n: usize) -> Option<usize> {
    let mut j = from;
    while j < b.len() {
        if b[j] == b'`' {
            let m = run_len(b, j);
            if m == n {
                return Some(j);
            }
            j += m;
        } else {
            j += 1;
        }
    }
    None
}

fn code_content(s: &str) -> String {
    if s.len() >= 2 && s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty() {
        s[1..s.len() - 1].to_owned()
    } else {
        s.to_owned()
    }
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
}

/// CommonMark's left- and right-flanking tests for a delimiter run.
fn flanking(before: Option<char>, after: Option<char>) -> (bool, bool) {
    let before_ws = before.is_none_or(char::is_whitespace);
    let after_ws = after.is_none_or(char::is_whitespace);
    let before_p = before.is_some_and(is_punct);
    let after_p = after.is_some_and(is_punct);
    let left = !after_ws && (!after_p || before_ws || before_p);
    let right = !before_ws && (!before_p || after_ws || after_p);
    (left, right)
}

/// `[label](url "title")` starting at `i` (a `[`): (label, url, end).
fn parse_link(s: &str, i: usize) -> Option<(&str, &str, usize)> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut j = i;
    let close = loop {
        match *b.get(j)? {
            b'\\' => j += 2,
            b'`' => {
                let n = run_len(b, j);
                j = backtick_close(b, j + n, n).map_or(j + n, |k| k + n);
            }
            b'[' => {
                depth += 1;
                j += 1;
            }
            b']' => {
                depth -= 1;
                if depth == 0 {
                    break j;
                }
                j += 1;
            }
            _ => j += 1,
        }
    };
    if b.get(close + 1) != Some(&b'(') {
        return None;
    }
    let mut k = close + 2;
    while b.get(k).is_some_and(|c| *c == b' ') {
        k += 1;
    }
    let url = if b.get(k) == Some(&b'<') {
        let end = k + 1 + s.get(k + 1..)?.find('>')?;
        let url = &s[k + 1..end];
        k = end + 1;
        url
    } else {
        let start = k;
        let mut parens = 0usize;
        while let Some(&c) = b.get(k) {
            match c {
                b'\\' => {
                    k += 2;
                    continue;
                }
                b'(' => parens += 1,
                b')' if parens == 0 => break,
                b')' => parens -= 1,
                c if c.is_ascii_whitespace() => break,
                _ => {}
            }
            k += 1;
        }
        k = k.min(b.len());
        s.get(start..k)?
    };
    while b.get(k).is_some_and(|c| *c == b' ') {
        k += 1;
    }
    if let Some(&q) = b.get(k)
        && matches!(q, b'"' | b'\'' | b'(')
    {
        let closing = if q == b'(' { b')' } else { q };
        let end = b[k + 1..].iter().position(|c| *c == closing)?;
        k += end + 2;
        while b.get(k).is_some_and(|c| *c == b' ') {
            k += 1;
        }
    }
    if b.get(k) != Some(&b')') {
        return None;
    }
    Some((&s[i + 1..close], url, k + 1))
}

/// `<https://…>` or `<user@example.com>` at `i`: (url, end).
fn autolink(s: &str, i: usize) -> Option<(&str, usize)> {
    let rest = s.get(i + 1..)?;
    let end = rest.find('>')?;
    let inner = &rest[..end];
    if inner.is_empty() || inner.contains(|c: char| c.is_whitespace() || c == '<') {
        return None;
    }
    let lower = inner.to_ascii_lowercase();
    let is_url = ["http://", "https://", "mailto:", "ftp://", "file://"]
        .iter()
        .any(|p| lower.starts_with(p));
    let is_email = !inner.contains(':') && inner.contains('@') && inner.contains('.');
    if !is_url && !is_email {
        return None;
    }
    Some((inner, i + 1 + end + 1))
}

/// A few common HTML entities: (character, bytes consumed). A lone `&` is itself.
fn entity(s: &str) -> (char, usize) {
    const ENTITIES: [(&str, char); 7] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#39;", '\''),
        ("&apos;", '\''),
        ("&nbsp;", ' '),
    ];
    ENTITIES
        .iter()
        .find(|(name, _)| s.starts_with(name))
        .map_or(('&', 1), |(name, c)| (*c, name.len()))
}

/// CommonMark's "process emphasis", per line: each closer takes the nearest matching
/// opener; `**` pairs make bold, `*` italic, `~~` strikethrough; delimiters in between
/// stay literal.
fn match_emphasis(nodes: &mut [Node], marks: &mut [Marks]) {
    for closer in 0..nodes.len() {
        while let Node::Delim {
            ch,
            count,
            orig,
            open: c_open,
            close: true,
            active: true,
        } = nodes[closer]
        {
            if count == 0 {
                break;
            }
            let lowest = closer.saturating_sub(OPENER_LOOKBACK);
            let opener = (lowest..closer).rev().find(|&o| match nodes[o] {
                Node::Delim {
                    ch: o_ch,
                    count: o_count,
                    orig: o_orig,
                    open: true,
                    close: o_close,
                    active: true,
                } if o_ch == ch && o_count > 0 => {
                    let both = c_open || o_close;
                    !(both && (orig + o_orig) % 3 == 0 && !(orig % 3 == 0 && o_orig % 3 == 0))
                }
                _ => false,
            });
            let Some(opener) = opener else {
                break;
            };
            let Node::Delim { count: o_count, .. } = nodes[opener] else {
                break;
            };
            let used = if ch == b'~' || (count >= 2 && o_count >= 2) {
                2
            } else {
                1
            };
            for k in opener + 1..closer {
                let m = &mut marks[k];
                match (ch, used) {
                    (b'~', _) => m.strike = true,
                    (_, 2) => m.bold = true,
                    _ => m.italic = true,
                }
                if let Node::Delim { active, .. } = &mut nodes[k] {
                    *active = false;
                }
            }
            if let Node::Delim { count, .. } = &mut nodes[opener] {
                *count -= used;
            }
            if let Node::Delim { count, .. } = &mut nodes[closer] {
                *count -= used;
            }
        }
    }
}

/// For the live preview: emphasis still open at the end of the text applies to the end.
fn close_open_emphasis(nodes: &mut [Node], marks: &mut [Marks]) {
    for o in 0..nodes.len() {
        let Node::Delim {
            ch,
            count,
            open: true,
            active: true,
            ..
        } = nodes[o]
        else {
            continue;
        };
        if count == 0 {
            continue;
        }
        for m in &mut marks[o + 1..] {
            match ch {
                b'~' => m.strike = true,
                _ if count >= 3 => {
                    m.bold = true;
                    m.italic = true;
                }
                _ if count == 2 => m.bold = true,
                _ => m.italic = true,
            }
        }
        if let Node::Delim { count, .. } = &mut nodes[o] {
            *count = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(Line::text).collect()
    }

    fn r(md: &str) -> Vec<String> {
        texts(&render(md, 60))
    }

    /// The style of the first span containing `needle`.
    fn style_of(lines: &[Line], needle: &str) -> Style {
        lines
            .iter()
            .flat_map(|l| &l.spans)
            .find(|s| s.text.contains(needle))
            .map(|s| s.style)
            .unwrap_or_else(|| panic!("{needle:?} not found in {:?}", texts(lines)))
    }

    const DOCS: [&str; 6] = [
        "# Title\n\nSome **bold** and *italic* and `code` text.\n\n## Sub\n\n- one\n- two\n  - nested *x*\n- [x] done\n- [ ] todo\n\n1. first\n2. second\n\n> quoted **text**\n> > nested\n\n---\n\n```rust\nfn main() {\n    println!(\"hi\"); // é\n}\n```\n\n| Name | Value |\n|:-----|------:|\n| a | 1 |\n| long name é | 22 |\n\nAfter table with [a link](https://example.com) and <https://x.io>.\n",
        "Intro line\n\n\n\nParagraph with snake_case_name and ~~struck~~ and __strong__ _em_.\nunclosed **bold at end",
        "```\nno lang\n\n  indented\n```\ntext after\n~~~python\ndef f():\n    return 'x'\n~~~\n* star item\n+ plus item\n\n    indented code\n\n日本語 **太字** テキスト\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\nnot a row\n| x |\nplain | pipe\n\n> quote\n>\n> more\n\n### H3 ###\n#### H4\n1) paren\n10. ten\n",
        "- item\n  ```bash\n  echo hi\n  ```\n- next\ncontinued lazily\n\nEscapes: \\*not italic\\* and \\`not code\\` and a \\\\ backslash. &amp; &lt;tag&gt;",
        "unterminated ```\n```js\nconst a = `x`;\n",
    ];

    fn stream(doc: &str, pieces: &[&str]) -> Vec<Line> {
        let mut s = MarkdownStream::new(60);
        let mut out = Vec::new();
        for piece in pieces {
            out.extend(s.push(piece));
            // Exercise the preview path too; it must not disturb the state.
            let _ = s.pending();
        }
        out.extend(s.finish());
        assert!(s.pending().is_empty(), "stream not reset for {doc:?}");
        out
    }

    #[test]
    fn streaming_matches_whole_rendering_at_every_split() {
        for doc in DOCS {
            let whole = render(doc, 60);
            let boundaries: Vec<usize> = (0..=doc.len())
                .filter(|i| doc.is_char_boundary(*i))
                .collect();
            for &at in &boundaries {
                let (a, b) = doc.split_at(at);
                assert_eq!(stream(doc, &[a, b]), whole, "split at {at} of {doc:?}");
            }
            let chars: Vec<String> = doc.chars().map(String::from).collect();
            let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
            assert_eq!(stream(doc, &pieces), whole, "char by char: {doc:?}");
        }
    }

    #[test]
    fn headings() {
        let lines = render("# One\n## Two `x`\n###### Six\n#nohash", 60);
        assert_eq!(texts(&lines), ["One", "Two x", "Six", "#nohash"]);
        let h1 = style_of(&lines, "One");
        assert!(h1.bold && h1.underline && h1.fg.is_some());
        let h2 = style_of(&lines, "Two");
        assert!(h2.bold && h2.fg.is_some());
        let code = style_of(&lines, "x");
        assert_eq!(code.fg, Some(CODE));
        assert!(code.bold);
    }

    #[test]
    fn paragraphs_and_blank_lines() {
        assert_eq!(
            r("\n\nfirst\nsecond\n\n\n\nthird\n\n"),
            ["first", "second", "", "third"]
        );
    }

    #[test]
    fn lists() {
        assert_eq!(
            r("- a\n- b\n  - c\n    - d\n  - e\n- f\n  more\n\n1. one\n2. two\n   - x"),
            [
                "• a",
                "• b",
                "  ◦ c",
                "    ▪ d",
                "  ◦ e",
                "• f",
                "  more",
                "",
                "1. one",
                "2. two",
                "   ◦ x"
            ]
        );
        assert_eq!(r("* a\n+ b"), ["• a", "• b"]);
        assert_eq!(r("- [ ] todo\n- [x] done"), ["☐ todo", "✔ done"]);
        assert_eq!(style_of(&render("- a", 60), "•"), MARKER);
        assert_eq!(
            r("- item\n\n  continued para\n\nout of list"),
            ["• item", "", "  continued para", "", "out of list"]
        );
        // Not list items.
        assert_eq!(r("-not\n2.5 apples"), ["-not", "2.5 apples"]);
    }

    #[test]
    fn quotes() {
        let lines = render("> a **b**\n>\n> > c\n\n> d", 60);
        assert_eq!(texts(&lines), ["│ a b", "│", "│ │ c", "", "│ d"]);
        assert_eq!(lines[0].spans[0].style, BAR);
        assert!(style_of(&lines, "b").bold);
        assert_eq!(
            r("> - x\n> ```\n> code\n> ```"),
            ["│ • x", "│ ──", "│ code", "│ ──"]
        );
    }

    #[test]
    fn rules() {
        let lines = render("a\n\n---\n***\n_ _ _", 200);
        assert_eq!(lines[2].text(), "─".repeat(MAX_RULE));
        assert_eq!(lines[3].text(), "─".repeat(MAX_RULE));
        assert_eq!(lines[4].text(), "─".repeat(MAX_RULE));
        assert_eq!(render("---", 30)[0].text(), "─".repeat(30));
        assert!(lines[2].spans[0].style.dim);
    }

    #[test]
    fn code_blocks() {
        let lines = render(
            "```rust,ignore\nfn main() {\n\tlet s = \"x\"; // c\n}\n```\nafter",
            60,
        );
        assert_eq!(
            texts(&lines),
            [
                "── rust",
                "fn main() {",
                "    let s = \"x\"; // c",
                "}",
                "──",
                "after"
            ]
        );
        assert_eq!(style_of(&lines, "fn").fg, Some(Color::Magenta));
        assert_eq!(style_of(&lines, "\"x\"").fg, Some(Color::Green));
        assert_eq!(style_of(&lines, "// c").fg, Some(Color::Grey));
        // Markup inside code is literal.
        assert_eq!(
            r("~~~\n**not bold** # no\n| a | b |\n|---|---|\n~~~"),
            ["──", "**not bold** # no", "| a | b |", "|---|---|", "──"]
        );
        // A longer closing fence closes; a shorter one is content.
        assert_eq!(r("````\n```\n`````"), ["──", "```", "──"]);
        // An unterminated block ends with the answer.
        assert_eq!(r("```py\nx = 1"), ["── py", "x = 1", "──"]);
        // Inline triple backticks on one line are a code span, not a fence.
        assert_eq!(r("```a```"), ["a"]);
    }

    #[test]
    fn code_lines_are_committed_as_they_complete() {
        let mut s = MarkdownStream::new(60);
        assert_eq!(
            texts(&s.push("```rust\nlet a = 1;\nlet b")),
            ["── rust", "let a = 1;"]
        );
        assert_eq!(texts(&s.pending()), ["let b"]);
        let committed = s.push(" = 2;\n");
        assert_eq!(texts(&committed), ["let b = 2;"]);
        assert_eq!(style_of(&committed, "let").fg, Some(Color::Magenta));
        assert!(s.pending().is_empty());
    }

    #[test]
    fn long_code_blocks_stay_highlighted_across_context_restarts() {
        let mut doc = String::from("```rust\n");
        for i in 0..100 {
            doc.push_str(&format!(
                "fn f{i}(x: u32) -> u32 {{\n    let s = \"{i}\"; // c\n    x\n}}\n\n"
            ));
        }
        doc.push_str("fn main() {\n");
        for i in 0..200 {
            doc.push_str(&format!("    let y{i} = \"s\"; // c\n"));
        }
        doc.push_str("}\n```\n");
        let lines = render(&doc, 80);
        for line in &lines {
            for span in &line.spans {
                let expected = match span.text.as_str() {
                    "fn" | "let" => Some(Color::Magenta),
                    "// c" => Some(Color::Grey),
                    t if t.starts_with('"') => Some(Color::Green),
                    _ => continue,
                };
                assert_eq!(
                    span.style.fg,
                    expected,
                    "{:?} in {:?}",
                    span.text,
                    line.text()
                );
            }
        }
    }

    #[test]
    fn tables() {
        let lines = render(
            "| Name | Qty |\n|:-----|----:|\n| apple | 3 |\n| **kiwi** | 12 |\n\nafter",
            60,
        );
        assert_eq!(
            texts(&lines),
            [
                "┌───────┬─────┐",
                "│ Name  │ Qty │",
                "├───────┼─────┤",
                "│ apple │   3 │",
                "│ kiwi  │  12 │",
                "└───────┴─────┘",
                "",
                "after"
            ]
        );
        assert!(style_of(&lines, "Name").bold);
        assert!(style_of(&lines, "kiwi").bold);
        assert_eq!(style_of(&lines, "┌").fg, Some(Color::Grey));
        // Wide characters are measured in columns; centred alignment; no outer pipes.
        assert_eq!(
            r("a|日本\n:-:|---\nxyz|b"),
            [
                "┌─────┬──────┐",
                "│  a  │ 日本 │",
                "├─────┼──────┤",
                "│ xyz │ b    │",
                "└─────┴──────┘"
            ]
        );
        // A pipe line without a delimiter row is a paragraph.
        assert_eq!(r("a | b\nc"), ["a | b", "c"]);
        // Escaped pipes stay in the cell.
        assert_eq!(r("|a|\n|-|\n|x \\| y|")[3], "│ x | y │");
    }

    #[test]
    fn wide_tables_wrap_cells_to_fit() {
        let doc =
            "| k | description |\n|---|---|\n| a | the quick brown fox jumps over the lazy dog |\n";
        let lines = render(doc, 30);
        for line in &lines {
            assert!(line.width() <= 30, "{:?}", line.text());
        }
        assert!(lines.len() > 5);
        let all: String = texts(&lines).join(" ");
        assert!(all.contains("lazy"));
    }

    #[test]
    fn long_tables_flush_early() {
        let mut doc = String::from("| n | sq |\n|---|---|\n");
        for i in 0..120 {
            doc.push_str(&format!("| {i} | {} |\n", i * i));
        }
        let mut s = MarkdownStream::new(80);
        let committed = s.push(&doc);
        // Flushed at 50 rows, then each row as it arrives.
        assert!(committed.len() >= 120, "{}", committed.len());
        assert!(s.pending().len() <= PENDING_MAX_LINES);
        let rest = s.finish();
        assert_eq!(texts(&rest), ["└────┴──────┘"]);
    }

    #[test]
    fn inline_styles() {
        let lines = render(
            "**b** *i* __B__ _I_ ~~s~~ `c` [t](http://u) <https://v.io> foo_bar_baz 2 * 3 * 4",
            200,
        );
        assert_eq!(
            lines[0].text(),
            "b i B I s c t (http://u) https://v.io foo_bar_baz 2 * 3 * 4"
        );
        assert!(style_of(&lines, "b").bold);
        assert!(style_of(&lines, "i").italic);
        assert!(style_of(&lines, "B").bold);
        assert!(style_of(&lines, "I").italic);
        assert!(style_of(&lines, "s").dim);
        assert_eq!(style_of(&lines, "c").fg, Some(CODE));
        assert!(style_of(&lines, "t").underline);
        assert!(style_of(&lines, " (http://u)").dim);
        assert!(style_of(&lines, "https://v.io").underline);
        assert_eq!(style_of(&lines, "foo_bar_baz"), Style::PLAIN);
        assert_eq!(r("***both***"), ["both"]);
        let both = style_of(&render("***both***", 60), "both");
        assert!(both.bold && both.italic);
        assert_eq!(r("**a *b* c**"), ["a b c"]);
        assert!(style_of(&render("**a *b* c**", 60), "b").italic);
    }

    #[test]
    fn literal_markup_survives() {
        assert_eq!(r("an **unclosed"), ["an **unclosed"]);
        assert_eq!(r("a `tick"), ["a `tick"]);
        assert_eq!(r("\\*x\\* \\# \\[y\\]"), ["*x* # [y]"]);
        assert_eq!(r("[not a link] (x)"), ["[not a link] (x)"]);
        assert_eq!(r("a < b > c & d"), ["a < b > c & d"]);
        assert_eq!(r("~approx~"), ["~approx~"]);
        assert_eq!(r("[https://a.b](https://a.b)"), ["https://a.b"]);
        assert_eq!(r("![alt](img.png)"), ["alt (img.png)"]);
        assert_eq!(r("[x](<a b> \"title\")"), ["x (a b)"]);
        assert_eq!(r("[a [b] c](u)"), ["a [b] c (u)"]);
        assert_eq!(r("`` a`b ``"), ["a`b"]);
    }

    #[test]
    fn pending_shows_the_partial_line_with_styles() {
        let mut s = MarkdownStream::new(60);
        assert!(s.push("Hello **wor").is_empty());
        let pending = s.pending();
        assert_eq!(texts(&pending), ["Hello wor"]);
        assert!(style_of(&pending, "wor").bold);
        assert!(s.push("ld** and `co").is_empty());
        let pending = s.pending();
        assert_eq!(texts(&pending), ["Hello world and co"]);
        assert!(style_of(&pending, "world").bold);
        assert_eq!(style_of(&pending, "co").fg, Some(CODE));
        // A trailing delimiter is hidden rather than flashed.
        s.push("de` **");
        assert_eq!(texts(&s.pending()), ["Hello world and code"]);
        let done = s.push("x**\n");
        assert_eq!(texts(&done), ["Hello world and code x"]);
        // A heading in progress.
        s.push("## Head");
        let pending = s.pending();
        assert_eq!(texts(&pending), ["Head"]);
        assert!(pending[0].spans[0].style.bold);
    }

    #[test]
    fn pending_shows_a_table_being_received() {
        let mut s = MarkdownStream::new(60);
        assert!(s.push("| a | b |\n").is_empty());
        assert_eq!(texts(&s.pending()), ["| a | b |"]);
        assert!(s.push("|---|---|\n| 1 | 2 |\n| 3").is_empty());
        let pending = texts(&s.pending());
        assert_eq!(pending.first().map(String::as_str), Some("┌───┬───┐"));
        assert!(pending.contains(&"│ 1 │ 2 │".to_owned()));
        assert!(pending.contains(&"│ 3 │   │".to_owned()));
        let lines = s.push("|\nafter\n");
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[6].text(), "after");
    }

    #[test]
    fn pending_is_short() {
        let mut s = MarkdownStream::new(60);
        let mut doc = String::from("| a |\n|---|\n");
        for i in 0..40 {
            doc.push_str(&format!("| {i} |\n"));
        }
        s.push(&doc);
        assert_eq!(s.pending().len(), PENDING_MAX_LINES);
    }

    #[test]
    fn utf8_is_never_split() {
        let doc = "é**ü**日本\n| ä | ö |\n|---|---|\n| 😀 | ß |\n";
        let whole = render(doc, 60);
        let mut s = MarkdownStream::new(60);
        let mut out = Vec::new();
        for c in doc.chars() {
            out.extend(s.push(&c.to_string()));
            let _ = s.pending();
        }
        out.extend(s.finish());
        assert_eq!(out, whole);
        assert_eq!(whole[0].text(), "éü日本");
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(r("# a\r\n\r\n- b\r\n"), ["a", "", "• b"]);
    }

    #[test]
    fn large_answers_stream_in_small_deltas() {
        let mut doc = String::new();
        let mut i = 0;
        while doc.len() < 200_000 {
            doc.push_str(&format!(
                "## Section {i}\n\nSome **bold** text with `code` and a [link](http://x/{i}).\n\n- item {i}\n- item *two*\n\n```rust\nfn f{i}() -> u32 {{ {i} }}\n```\n\n| a | b |\n|---|---|\n| {i} | x |\n\n"
            ));
            i += 1;
        }
        let mut s = MarkdownStream::new(80);
        let mut lines = 0;
        let bytes = doc.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let mut end = (at + 10).min(bytes.len());
            while !doc.is_char_boundary(end) {
                end += 1;
            }
            lines += s.push(&doc[at..end]).len();
            at = end;
        }
        lines += s.finish().len();
        assert!(lines > 10_000);
    }

    #[test]
    fn width_changes_apply_to_later_output() {
        let mut s = MarkdownStream::new(100);
        let first = s.push("---\n");
        s.set_width(10);
        let second = s.push("---\n");
        assert_eq!(first[0].width(), MAX_RULE);
        assert_eq!(second[0].width(), 10);
    }
}
