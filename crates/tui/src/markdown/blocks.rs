//! The block-level state machine: paragraphs, headings, lists, quotes, rules, code
//! blocks and tables, fed one complete source line at a time.

use cuervo_text::syntax::{HighlightKind, Language, highlight, language_for_fence};
use unicode_width::UnicodeWidthStr;

use super::inline::{inline_line, push_inline};
use super::lines::{
    Marker, expand_tabs, fence_open, heading, indent, indentation, is_fence_close, is_rule,
    list_item, strip_columns, strip_one_quote, strip_quotes,
};
use super::table::{
    Candidate, Table, border, could_head_table, delimiter_row, row_lines, split_cells,
};
use super::{BAR, CODE_CONTEXT_HARD, CODE_CONTEXT_SOFT, MARKER, MAX_RULE, TABLE_FLUSH_ROWS};
use crate::style::{Color, Line, Style};

/// An open list item.
#[derive(Debug, Clone)]
pub(super) struct ListLevel {
    /// Source column of the marker: a line indented further belongs to the item.
    indent: usize,
    /// Rendered column where the item's text starts (continuation lines align there).
    col: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Code {
    fence: u8,
    len: usize,
    /// Source indentation of the opening fence, removed from each code line.
    indent: usize,
    pub(super) quote: usize,
    col: usize,
    lang: Option<Language>,
    /// The block so far (since the last context restart), for highlighting.
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Last {
    Other,
    Paragraph,
    IndentedCode,
}

/// The block-level state machine, fed one complete line at a time.
#[derive(Debug, Clone)]
pub(super) struct Blocks {
    pub(super) width: usize,
    /// Rendering the incomplete last line for `pending`: unclosed inline markup is
    /// shown as if it closed at the end.
    pub(super) preview: bool,
    /// Whether anything was emitted (blank lines before the first content are dropped).
    started: bool,
    /// A blank line owed before the next content, with the quote depth of its bars.
    blank: Option<usize>,
    /// Quote depth of the last content line.
    quote: usize,
    prev_blank: bool,
    last: Last,
    lists: Vec<ListLevel>,
    pub(super) code: Option<Code>,
    table: Option<Table>,
    candidate: Option<Candidate>,
}

impl Blocks {
    pub(super) fn new(width: usize) -> Blocks {
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

    pub(super) fn feed(&mut self, line: &str, out: &mut Vec<Line>) {
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
    pub(super) fn close_held(&mut self, out: &mut Vec<Line>) {
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
    pub(super) fn emit(&mut self, quote: usize, line: Line, out: &mut Vec<Line>) {
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

    pub(super) fn code_footer(&self) -> Line {
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
