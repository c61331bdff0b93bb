//! Styled text, independent of the terminal: every renderer (markdown, diffs, the input
//! box, pickers) produces [`Line`]s, and only the screen turns them into escape codes.
//! Keeping styles as data lets tests compare rendered output without a terminal.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The few colours the UI uses; the terminal's palette decides the exact shade, so the
/// UI follows the user's theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Grey,
    White,
}

/// How a run of text looks. `Style::default()` is the terminal's plain text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub fg: Option<Color>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub reverse: bool,
}

impl Style {
    pub const PLAIN: Style = Style {
        fg: None,
        bold: false,
        dim: false,
        italic: false,
        underline: false,
        reverse: false,
    };

    pub const fn fg(color: Color) -> Style {
        Style {
            fg: Some(color),
            ..Style::PLAIN
        }
    }

    pub const fn bold(mut self) -> Style {
        self.bold = true;
        self
    }

    pub const fn dim(mut self) -> Style {
        self.dim = true;
        self
    }

    pub const fn italic(mut self) -> Style {
        self.italic = true;
        self
    }

    pub const fn underline(mut self) -> Style {
        self.underline = true;
        self
    }

    pub const fn reverse(mut self) -> Style {
        self.reverse = true;
        self
    }
}

/// A run of text in one style. Never contains a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

impl Span {
    pub fn new(text: impl Into<String>, style: Style) -> Span {
        Span {
            text: text.into(),
            style,
        }
    }

    pub fn plain(text: impl Into<String>) -> Span {
        Span::new(text, Style::PLAIN)
    }
}

/// One logical line of output. The screen wraps it to the terminal's width.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    pub spans: Vec<Span>,
}

impl Line {
    pub fn new(spans: Vec<Span>) -> Line {
        Line { spans }
    }

    pub fn plain(text: impl Into<String>) -> Line {
        Line::styled(text, Style::PLAIN)
    }

    pub fn styled(text: impl Into<String>, style: Style) -> Line {
        Line {
            spans: vec![Span::new(text, style)],
        }
    }

    pub fn empty() -> Line {
        Line::default()
    }

    pub fn push(&mut self, text: impl Into<String>, style: Style) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        match self.spans.last_mut() {
            Some(last) if last.style == style => last.text.push_str(&text),
            _ => self.spans.push(Span::new(text, style)),
        }
    }

    /// The text without styles (what tests and plain-text output see).
    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Columns the line takes on a terminal (wide characters count two).
    pub fn width(&self) -> usize {
        self.spans.iter().map(|s| s.text.width()).sum()
    }

    /// Splits the line into rows of at most `width` columns, breaking at spaces where it
    /// can and inside a word only when the word is longer than a row. An empty line is one
    /// empty row. Rows after the first start with `indent` spaces when `indent < width`.
    pub fn wrap(&self, width: usize, indent: usize) -> Vec<Line> {
        let width = width.max(1);
        if self.width() <= width {
            return vec![self.clone()];
        }
        let indent = if indent < width / 2 { indent } else { 0 };
        // Cells: (char, style); break opportunities after spaces.
        let cells: Vec<(char, Style)> = self
            .spans
            .iter()
            .flat_map(|s| s.text.chars().map(move |c| (c, s.style)))
            .collect();
        let mut rows = Vec::new();
        let mut start = 0;
        let mut first = true;
        while start < cells.len() {
            let avail = if first { width } else { width - indent };
            let mut used = 0;
            let mut end = start;
            let mut last_break = None;
            while end < cells.len() {
                let w = cells[end].0.width().unwrap_or(0);
                if used + w > avail {
                    break;
                }
                used += w;
                if cells[end].0 == ' ' {
                    last_break = Some(end + 1);
                }
                end += 1;
            }
            if end < cells.len() {
                if let Some(b) = last_break.filter(|b| *b > start) {
                    end = b;
                }
                if end == start {
                    // A character wider than the row: put it alone on a row.
                    end = start + 1;
                }
            }
            let mut row = Line::empty();
            if !first {
                row.push(" ".repeat(indent), Style::PLAIN);
            }
            for (c, style) in &cells[start..end] {
                row.push(c.to_string(), *style);
            }
            // Trailing spaces at a soft break only push the cursor around.
            if end < cells.len() {
                trim_end(&mut row);
            }
            rows.push(row);
            start = end;
            // Spaces that start a continuation row are swallowed.
            while start < cells.len() && cells[start].0 == ' ' && end != 0 {
                start += 1;
            }
            first = false;
        }
        if rows.is_empty() {
            rows.push(Line::empty());
        }
        rows
    }

    /// Cuts the line to `width` columns, ending with `…` when something was cut.
    pub fn truncate(&self, width: usize) -> Line {
        if self.width() <= width {
            return self.clone();
        }
        let mut out = Line::empty();
        let mut used = 0;
        let budget = width.saturating_sub(1);
        'spans: for span in &self.spans {
            for c in span.text.chars() {
                let w = c.width().unwrap_or(0);
                if used + w > budget {
                    break 'spans;
                }
                used += w;
                out.push(c.to_string(), span.style);
            }
        }
        if width > 0 {
            out.push("…", Style::PLAIN.dim());
        }
        out
    }
}

fn trim_end(line: &mut Line) {
    while let Some(last) = line.spans.last_mut() {
        let trimmed = last.text.trim_end_matches(' ').len();
        last.text.truncate(trimmed);
        if last.text.is_empty() {
            line.spans.pop();
        } else {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(Line::text).collect()
    }

    #[test]
    fn wraps_at_spaces_and_keeps_styles() {
        let mut line = Line::plain("the quick ");
        line.push("brown", Style::PLAIN.bold());
        line.push(" fox jumps", Style::PLAIN);
        let rows = line.wrap(10, 0);
        assert_eq!(texts(&rows), ["the quick", "brown fox", "jumps"]);
        assert_eq!(rows[1].spans[0].style, Style::PLAIN.bold());
    }

    #[test]
    fn breaks_long_words_and_indents_continuations() {
        let rows = Line::plain("abcdefghijkl").wrap(5, 0);
        assert_eq!(texts(&rows), ["abcde", "fghij", "kl"]);
        let rows = Line::plain("- one two three").wrap(8, 2);
        assert_eq!(texts(&rows), ["- one", "  two", "  three"]);
    }

    #[test]
    fn wide_characters_count_two_columns() {
        let line = Line::plain("日本語テキスト");
        assert_eq!(line.width(), 14);
        assert_eq!(texts(&line.wrap(6, 0)), ["日本語", "テキス", "ト"]);
        assert_eq!(line.truncate(5).text(), "日本…");
    }

    #[test]
    fn empty_line_is_one_row() {
        assert_eq!(Line::empty().wrap(10, 0), vec![Line::empty()]);
    }
}
