//! Drawing the buffer: only the rows in view (and their neighbours) are wrapped, so a
//! pasted megabyte renders as fast as a line.

use std::collections::HashMap;
use std::ops::Range;

use unicode_width::UnicodeWidthStr;

use super::chars::{char_width, str_width};
use super::{Editor, TAB_WIDTH};
use crate::style::{Color, Line, Style};

impl Editor {
    /// Draws the buffer as terminal rows of at most `width` columns, the first row after
    /// `prompt` and the others indented to match, and returns the cursor's (column, row)
    /// within them. At most `max_rows` rows come back: a longer text shows a window around
    /// the cursor with dim "… N more lines" rows, and only the lines in or next to that
    /// window are wrapped.
    pub fn render(&self, width: usize, max_rows: usize, prompt: &str) -> (Vec<Line>, (u16, u16)) {
        let prompt_width = prompt.width();
        let text_width = width.saturating_sub(prompt_width).max(1);
        let max_rows = max_rows.max(1);
        let mut wrap = Wrapper {
            lines: &self.lines,
            width: text_width,
            cache: HashMap::new(),
        };
        let cursor = (self.row, wrap.row_of(self.row, self.col));
        let indicators = max_rows >= 3;
        let budget = if indicators { max_rows - 2 } else { max_rows };

        // Keep the previous first row unless the cursor has left the view.
        let (mut line, mut sub) = self.scroll.get();
        line = line.min(self.lines.len() - 1);
        sub = sub.min(wrap.count(line) - 1);
        let mut start = (line, sub);
        if cursor < start {
            start = cursor;
        }
        if cursor.0 > start.0 + budget {
            start = (cursor.0 - budget, 0);
        }
        let mut shown = 1;
        let mut p = start;
        while p != cursor {
            match wrap.next(p) {
                Some(n) => p = n,
                None => break,
            }
            shown += 1;
        }
        while shown > budget {
            match wrap.next(start) {
                Some(n) => start = n,
                None => break,
            }
            shown -= 1;
        }
        let mut end = cursor;
        let last = wrap.last();
        let used = |start: (usize, usize), end: (usize, usize), shown: usize| {
            shown
                + usize::from(indicators && start != (0, 0))
                + usize::from(indicators && end != last)
        };
        while used(start, end, shown) < max_rows {
            match wrap.next(end) {
                Some(n) => {
                    end = n;
                    shown += 1;
                }
                None => break,
            }
        }
        while used(start, end, shown) < max_rows {
            match wrap.prev(start) {
                Some(p) => {
                    start = p;
                    shown += 1;
                }
                None => break,
            }
        }
        self.scroll.set(start);

        let pad = " ".repeat(prompt_width);
        let mut rows = Vec::with_capacity(max_rows);
        if indicators && start != (0, 0) {
            let hidden = start.0 + usize::from(start.1 > 0);
            rows.push(indicator(&pad, hidden, "above"));
        }
        let mut cursor_pos = (0, 0);
        let mut p = start;
        loop {
            let seg = wrap.seg(p.0, p.1);
            let text = &self.lines[p.0][seg.clone()];
            let mut row = Line::empty();
            if p == (0, 0) {
                row.push(prompt, Style::fg(Color::Cyan).bold());
            } else {
                row.push(pad.clone(), Style::PLAIN);
            }
            row.push(text.replace('\t', &" ".repeat(TAB_WIDTH)), Style::PLAIN);
            if p == cursor {
                let col = prompt_width + str_width(&self.lines[p.0][seg.start..self.col]);
                cursor_pos = (to_u16(col), to_u16(rows.len()));
            }
            rows.push(row);
            if p == end {
                break;
            }
            match wrap.next(p) {
                Some(n) => p = n,
                None => break,
            }
        }
        if indicators && end != last {
            let partial = usize::from(end.1 + 1 < wrap.count(end.0));
            let hidden = self.lines.len() - 1 - end.0 + partial;
            rows.push(indicator(&pad, hidden, "below"));
        }
        (rows, cursor_pos)
    }
}

/// Wraps lines on demand and remembers the result for one render.
struct Wrapper<'a> {
    lines: &'a [String],
    width: usize,
    cache: HashMap<usize, Vec<Range<usize>>>,
}

impl Wrapper<'_> {
    fn segs(&mut self, line: usize) -> &Vec<Range<usize>> {
        let (lines, width) = (self.lines, self.width);
        self.cache
            .entry(line)
            .or_insert_with(|| wrap_line(&lines[line], width))
    }

    fn count(&mut self, line: usize) -> usize {
        self.segs(line).len()
    }

    fn seg(&mut self, line: usize, sub: usize) -> Range<usize> {
        self.segs(line)[sub].clone()
    }

    /// The wrapped row holding byte `col`: a boundary belongs to the row it starts.
    fn row_of(&mut self, line: usize, col: usize) -> usize {
        let segs = self.segs(line);
        segs.iter().rposition(|s| s.start <= col).unwrap_or(0)
    }

    fn next(&mut self, (line, sub): (usize, usize)) -> Option<(usize, usize)> {
        if sub + 1 < self.count(line) {
            Some((line, sub + 1))
        } else if line + 1 < self.lines.len() {
            Some((line + 1, 0))
        } else {
            None
        }
    }

    fn prev(&mut self, (line, sub): (usize, usize)) -> Option<(usize, usize)> {
        if sub > 0 {
            Some((line, sub - 1))
        } else if line > 0 {
            Some((line - 1, self.count(line - 1) - 1))
        } else {
            None
        }
    }

    fn last(&mut self) -> (usize, usize) {
        let line = self.lines.len() - 1;
        (line, self.count(line) - 1)
    }
}

/// Splits a line into byte ranges of at most `width` columns. A line that fills its last
/// row exactly gets an extra empty row, where the cursor sits at its end.
fn wrap_line(line: &str, width: usize) -> Vec<Range<usize>> {
    let mut segs = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, c) in line.char_indices() {
        let w = char_width(c);
        if used + w > width && used > 0 {
            segs.push(start..i);
            start = i;
            used = 0;
        }
        used += w;
    }
    segs.push(start..line.len());
    if used >= width {
        segs.push(line.len()..line.len());
    }
    segs
}

fn indicator(pad: &str, hidden: usize, place: &str) -> Line {
    let mut row = Line::plain(pad);
    let noun = if hidden == 1 { "line" } else { "lines" };
    row.push(
        format!("… {} more {noun} {place}", thousands(hidden)),
        Style::PLAIN.dim(),
    );
    row
}

/// `1200` → `1,200`.
pub(super) fn thousands(n: usize) -> String {
    crate::format::thousands(n as u64)
}

fn to_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}
