//! The prompt's text buffer: multi-line editing with readline-style keys, and a renderer
//! that wraps only the rows it shows, so a pasted megabyte stays responsive.
//!
//! Lines are kept apart (`Vec<String>`) so an edit touches one line, not the whole text.
//! The cursor is a (line, byte offset) pair that always sits on a character boundary.

use std::cell::Cell;
use std::collections::HashMap;
use std::ops::Range;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::style::{Color, Line, Style};

/// Columns a tab takes on screen; tabs are drawn as spaces so the layout never depends on
/// the terminal's tab stops.
const TAB_WIDTH: usize = 4;

/// Zero width joiner: the character after it belongs to the same emoji.
const ZWJ: char = '\u{200d}';

/// What a key did, so the caller knows whether to refresh completions, submit, or offer
/// the key to someone else (history, the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOutcome {
    /// Plain Enter: the text is ready to send. The editor is left as it was.
    Submit,
    /// The text changed.
    Edited,
    /// Only the cursor moved.
    Moved,
    /// The editor has no use for the key (Up on the first line, Ctrl-C, Esc…).
    Unhandled,
}

/// A multi-line text buffer with a cursor.
#[derive(Debug, Clone)]
pub struct Editor {
    lines: Vec<String>,
    row: usize,
    /// Byte offset into `lines[row]`, on a character boundary.
    col: usize,
    /// The display column Up/Down aim for, so moving through a short line does not lose
    /// the column of the long one.
    goal: Option<usize>,
    /// First row shown by the last render (line, wrapped row), so the view only scrolls
    /// when the cursor leaves it.
    scroll: Cell<(usize, usize)>,
}

impl Default for Editor {
    fn default() -> Self {
        Self::new()
    }
}

impl Editor {
    /// An empty buffer.
    pub fn new() -> Self {
        Self {
            lines: vec![String::new()],
            row: 0,
            col: 0,
            goal: None,
            scroll: Cell::new((0, 0)),
        }
    }

    /// The whole text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Replaces the text; the cursor goes to its end.
    pub fn set_text(&mut self, text: &str) {
        self.clear();
        self.insert_str(text);
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.lines = vec![String::new()];
        self.row = 0;
        self.col = 0;
        self.goal = None;
        self.scroll.set((0, 0));
    }

    /// Whether there is no text at all (whitespace counts as text).
    pub fn is_empty(&self) -> bool {
        self.lines.len() == 1 && self.lines[0].is_empty()
    }

    /// The lines of the text, without their newlines.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Number of lines (an empty buffer has one).
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The line the cursor is on.
    pub fn current_line(&self) -> &str {
        &self.lines[self.row]
    }

    /// The cursor as (line index, byte offset in that line).
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    /// Moves the cursor, clamped to the text and pulled back to a character boundary.
    pub fn set_cursor(&mut self, row: usize, col: usize) {
        self.row = row.min(self.lines.len() - 1);
        let line = &self.lines[self.row];
        let mut col = col.min(line.len());
        while !line.is_char_boundary(col) {
            col -= 1;
        }
        self.col = col;
        self.goal = None;
    }

    /// The cursor as a byte offset into [`text`](Self::text).
    pub fn cursor_offset(&self) -> usize {
        self.lines[..self.row]
            .iter()
            .map(|l| l.len() + 1)
            .sum::<usize>()
            + self.col
    }

    /// Moves the cursor to a byte offset into [`text`](Self::text) (clamped).
    pub fn set_cursor_offset(&mut self, offset: usize) {
        let mut rest = offset;
        for (i, line) in self.lines.iter().enumerate() {
            if rest <= line.len() {
                self.set_cursor(i, rest);
                return;
            }
            rest -= line.len() + 1;
        }
        let last = self.lines.len() - 1;
        self.set_cursor(last, self.lines[last].len());
    }

    /// Replaces a byte range of the cursor's line (completion acceptance) and leaves the
    /// cursor after the inserted text.
    pub fn replace_in_line(&mut self, range: Range<usize>, with: &str) {
        let line = &mut self.lines[self.row];
        let end = range.end.min(line.len());
        let start = range.start.min(end);
        if !line.is_char_boundary(start) || !line.is_char_boundary(end) {
            return;
        }
        line.replace_range(start..end, "");
        self.col = start;
        self.goal = None;
        self.insert_str(with);
    }

    /// Handles one key; see [`EditOutcome`].
    pub fn handle_key(&mut self, key: KeyEvent) -> EditOutcome {
        if key.kind == KeyEventKind::Release {
            return EditOutcome::Unhandled;
        }
        let mods = key.modifiers;
        let ctrl = mods.contains(KeyModifiers::CONTROL);
        let alt = mods.contains(KeyModifiers::ALT);
        let shift = mods.contains(KeyModifiers::SHIFT);
        let outcome = match key.code {
            // AltGr arrives as Ctrl+Alt on some systems: it types a character.
            KeyCode::Char(c) if !ctrl || alt => {
                if alt && !ctrl {
                    return self.alt_key(c);
                }
                self.insert_char(c);
                EditOutcome::Edited
            }
            KeyCode::Char(c) => return self.ctrl_key(c),
            KeyCode::Enter => {
                if shift || alt {
                    self.insert_newline();
                    EditOutcome::Edited
                } else if self.lines[self.row][..self.col].ends_with('\\') {
                    self.lines[self.row].remove(self.col - 1);
                    self.col -= 1;
                    self.insert_newline();
                    EditOutcome::Edited
                } else if ctrl {
                    EditOutcome::Unhandled
                } else {
                    EditOutcome::Submit
                }
            }
            KeyCode::Backspace if ctrl || alt => self.delete_word_back(),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete if ctrl || alt => self.delete_word_forward(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left if ctrl || alt => self.word_left(),
            KeyCode::Right if ctrl || alt => self.word_right(),
            KeyCode::Left => self.left(),
            KeyCode::Right => self.right(),
            KeyCode::Up => return self.vertical(false),
            KeyCode::Down => return self.vertical(true),
            KeyCode::Home => self.home(),
            KeyCode::End => self.end(),
            _ => EditOutcome::Unhandled,
        };
        self.goal = None;
        outcome
    }

    fn ctrl_key(&mut self, c: char) -> EditOutcome {
        let outcome = match c.to_ascii_lowercase() {
            'a' => self.home(),
            'e' => self.end(),
            'b' => self.left(),
            'f' => self.right(),
            'h' => self.backspace(),
            'j' => {
                self.insert_newline();
                EditOutcome::Edited
            }
            'w' => self.delete_whitespace_word_back(),
            'u' => self.kill_to_start(),
            'k' => self.kill_to_end(),
            _ => return EditOutcome::Unhandled,
        };
        self.goal = None;
        outcome
    }

    fn alt_key(&mut self, c: char) -> EditOutcome {
        let outcome = match c {
            'b' => self.word_left(),
            'f' => self.word_right(),
            'd' => self.delete_word_forward(),
            _ => return EditOutcome::Unhandled,
        };
        self.goal = None;
        outcome
    }

    /// Types one character; control characters other than tab and newline are dropped so
    /// they cannot reach the terminal.
    pub fn insert_char(&mut self, c: char) {
        if c == '\n' || c == '\r' {
            self.insert_newline();
        } else if c == '\t' || !c.is_control() {
            self.lines[self.row].insert(self.col, c);
            self.col += c.len_utf8();
        }
        self.goal = None;
    }

    /// Splits the line at the cursor.
    pub fn insert_newline(&mut self) {
        let tail = self.lines[self.row].split_off(self.col);
        self.lines.insert(self.row + 1, tail);
        self.row += 1;
        self.col = 0;
        self.goal = None;
    }

    /// Inserts pasted text at the cursor: `\r\n` and `\r` become `\n`, tabs stay, other
    /// control characters are dropped. Linear in the text's length: the new lines are
    /// built in one pass and spliced in at once.
    pub fn insert_str(&mut self, text: &str) {
        self.goal = None;
        let mut pieces: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    pieces.push(std::mem::take(&mut current));
                }
                '\n' => pieces.push(std::mem::take(&mut current)),
                '\t' => current.push(c),
                c if c.is_control() => {}
                c => current.push(c),
            }
        }
        if pieces.is_empty() {
            self.lines[self.row].insert_str(self.col, &current);
            self.col += current.len();
            return;
        }
        let line = &mut self.lines[self.row];
        let tail = line.split_off(self.col);
        line.push_str(&pieces[0]);
        let new_col = current.len();
        current.push_str(&tail);
        let count = pieces.len();
        let rest: Vec<String> = pieces
            .into_iter()
            .skip(1)
            .chain(std::iter::once(current))
            .collect();
        let at = self.row + 1;
        self.lines.splice(at..at, rest);
        self.row += count;
        self.col = new_col;
    }

    fn backspace(&mut self) -> EditOutcome {
        if self.col > 0 {
            let start = prev_boundary(&self.lines[self.row], self.col);
            self.lines[self.row].replace_range(start..self.col, "");
            self.col = start;
            EditOutcome::Edited
        } else if self.row > 0 {
            self.join_with_previous();
            EditOutcome::Edited
        } else {
            EditOutcome::Moved
        }
    }

    fn delete(&mut self) -> EditOutcome {
        let line = &self.lines[self.row];
        if self.col < line.len() {
            let end = next_boundary(line, self.col);
            self.lines[self.row].replace_range(self.col..end, "");
            EditOutcome::Edited
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].push_str(&next);
            EditOutcome::Edited
        } else {
            EditOutcome::Moved
        }
    }

    fn join_with_previous(&mut self) {
        let line = self.lines.remove(self.row);
        self.row -= 1;
        self.col = self.lines[self.row].len();
        self.lines[self.row].push_str(&line);
    }

    fn left(&mut self) -> EditOutcome {
        if self.col > 0 {
            self.col = prev_boundary(&self.lines[self.row], self.col);
        } else if self.row > 0 {
            self.row -= 1;
            self.col = self.lines[self.row].len();
        }
        EditOutcome::Moved
    }

    fn right(&mut self) -> EditOutcome {
        if self.col < self.lines[self.row].len() {
            self.col = next_boundary(&self.lines[self.row], self.col);
        } else if self.row + 1 < self.lines.len() {
            self.row += 1;
            self.col = 0;
        }
        EditOutcome::Moved
    }

    fn home(&mut self) -> EditOutcome {
        self.col = 0;
        EditOutcome::Moved
    }

    fn end(&mut self) -> EditOutcome {
        self.col = self.lines[self.row].len();
        EditOutcome::Moved
    }

    fn vertical(&mut self, down: bool) -> EditOutcome {
        let target = if down {
            if self.row + 1 >= self.lines.len() {
                return EditOutcome::Unhandled;
            }
            self.row + 1
        } else {
            if self.row == 0 {
                return EditOutcome::Unhandled;
            }
            self.row - 1
        };
        let goal = self
            .goal
            .unwrap_or_else(|| str_width(&self.lines[self.row][..self.col]));
        self.row = target;
        self.col = col_at_width(&self.lines[target], goal);
        self.goal = Some(goal);
        EditOutcome::Moved
    }

    /// Start of the word before the cursor (words: letters, digits, `_`).
    fn word_start_before(&self) -> usize {
        let line = &self.lines[self.row];
        let before = &line[..self.col];
        let mut idx = self.col;
        let mut seen_word = false;
        for (i, c) in before.char_indices().rev() {
            let word = is_word_char(c);
            if seen_word && !word {
                break;
            }
            seen_word |= word;
            idx = i;
        }
        idx
    }

    /// End of the word after the cursor.
    fn word_end_after(&self) -> usize {
        let line = &self.lines[self.row];
        let mut seen_word = false;
        for (i, c) in line[self.col..].char_indices() {
            let word = is_word_char(c);
            if seen_word && !word {
                return self.col + i;
            }
            seen_word |= word;
        }
        line.len()
    }

    fn word_left(&mut self) -> EditOutcome {
        if self.col == 0 {
            return self.left();
        }
        self.col = self.word_start_before();
        EditOutcome::Moved
    }

    fn word_right(&mut self) -> EditOutcome {
        if self.col == self.lines[self.row].len() {
            return self.right();
        }
        self.col = self.word_end_after();
        EditOutcome::Moved
    }

    fn delete_word_back(&mut self) -> EditOutcome {
        if self.col == 0 {
            return self.backspace();
        }
        let start = self.word_start_before();
        self.lines[self.row].replace_range(start..self.col, "");
        self.col = start;
        EditOutcome::Edited
    }

    fn delete_word_forward(&mut self) -> EditOutcome {
        if self.col == self.lines[self.row].len() {
            return self.delete();
        }
        let end = self.word_end_after();
        self.lines[self.row].replace_range(self.col..end, "");
        EditOutcome::Edited
    }

    /// Ctrl-W: like readline's `unix-word-rubout`, words end at whitespace, so a path
    /// goes in one stroke.
    fn delete_whitespace_word_back(&mut self) -> EditOutcome {
        if self.col == 0 {
            return self.backspace();
        }
        let line = &self.lines[self.row];
        let before = &line[..self.col];
        let trimmed = before.trim_end_matches(char::is_whitespace);
        let start = trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        self.lines[self.row].replace_range(start..self.col, "");
        self.col = start;
        EditOutcome::Edited
    }

    fn kill_to_start(&mut self) -> EditOutcome {
        if self.col == 0 {
            return self.backspace();
        }
        self.lines[self.row].replace_range(..self.col, "");
        self.col = 0;
        EditOutcome::Edited
    }

    fn kill_to_end(&mut self) -> EditOutcome {
        if self.col == self.lines[self.row].len() {
            return self.delete();
        }
        self.lines[self.row].truncate(self.col);
        EditOutcome::Edited
    }

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
pub(crate) fn thousands(n: usize) -> String {
    crate::render::thousands(n as u64)
}

fn to_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

fn char_width(c: char) -> usize {
    if c == '\t' {
        TAB_WIDTH
    } else {
        c.width().unwrap_or(0)
    }
}

fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `c` is drawn on top of the character before it (combining marks, variation
/// selectors, joiners), so the cursor should never stop in front of it.
fn is_attached(c: char) -> bool {
    c != '\t' && c.width() == Some(0)
}

/// The boundary one visible character before `col`: combining marks and zero-width-joined
/// emoji go with their base.
fn prev_boundary(line: &str, col: usize) -> usize {
    let mut iter = line[..col].char_indices().rev().peekable();
    let mut idx = col;
    while let Some((i, c)) = iter.next() {
        idx = i;
        if is_attached(c) {
            continue;
        }
        // A joiner before this character glues it to the one before.
        if let Some(&(_, ZWJ)) = iter.peek() {
            iter.next();
            continue;
        }
        break;
    }
    idx
}

/// The boundary one visible character after `col`.
fn next_boundary(line: &str, col: usize) -> usize {
    let mut iter = line[col..].char_indices().peekable();
    let mut end = col;
    if let Some((i, c)) = iter.next() {
        end = col + i + c.len_utf8();
    }
    while let Some(&(i, c)) = iter.peek() {
        if !is_attached(c) {
            break;
        }
        iter.next();
        end = col + i + c.len_utf8();
        if c == ZWJ
            && let Some((j, d)) = iter.next()
        {
            end = col + j + d.len_utf8();
        }
    }
    end
}

/// The byte offset in `line` nearest to display column `target` without passing it.
fn col_at_width(line: &str, target: usize) -> usize {
    let mut used = 0;
    for (i, c) in line.char_indices() {
        let w = char_width(c);
        if used + w > target && !is_attached(c) {
            return i;
        }
        used += w;
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn with(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(s: &str) -> Editor {
        let mut e = Editor::new();
        for c in s.chars() {
            assert_eq!(e.handle_key(key(KeyCode::Char(c))), EditOutcome::Edited);
        }
        e
    }

    fn texts(rows: &[Line]) -> Vec<String> {
        rows.iter().map(Line::text).collect()
    }

    #[test]
    fn typing_and_moving_over_multibyte_characters() {
        let mut e = typed("é日本🦀");
        assert_eq!(e.text(), "é日本🦀");
        assert_eq!(e.cursor(), (0, "é日本🦀".len()));
        e.handle_key(key(KeyCode::Left));
        assert_eq!(e.cursor(), (0, "é日本".len()));
        e.handle_key(key(KeyCode::Left));
        e.handle_key(key(KeyCode::Backspace));
        assert_eq!(e.text(), "é本🦀");
        e.handle_key(key(KeyCode::Home));
        e.handle_key(key(KeyCode::Delete));
        assert_eq!(e.text(), "本🦀");
        e.handle_key(key(KeyCode::Char('x')));
        assert_eq!(e.text(), "x本🦀");
        e.handle_key(key(KeyCode::End));
        assert_eq!(e.cursor(), (0, "x本🦀".len()));
    }

    #[test]
    fn combining_marks_and_joined_emoji_move_as_one() {
        let family = "👨\u{200d}👩";
        let mut e = Editor::new();
        e.insert_str(&format!("e\u{301}{family}"));
        e.handle_key(key(KeyCode::Left));
        assert_eq!(e.cursor(), (0, "e\u{301}".len()));
        e.handle_key(key(KeyCode::Left));
        assert_eq!(e.cursor(), (0, 0));
        e.handle_key(key(KeyCode::Right));
        assert_eq!(e.cursor(), (0, "e\u{301}".len()));
        e.handle_key(key(KeyCode::Delete));
        assert_eq!(e.text(), "e\u{301}");
    }

    #[test]
    fn enter_submits_but_modifiers_and_backslash_make_newlines() {
        let mut e = typed("a");
        assert_eq!(e.handle_key(key(KeyCode::Enter)), EditOutcome::Submit);
        assert_eq!(e.text(), "a");
        e.handle_key(with(KeyCode::Enter, KeyModifiers::SHIFT));
        e.handle_key(key(KeyCode::Char('b')));
        e.handle_key(with(KeyCode::Enter, KeyModifiers::ALT));
        e.handle_key(key(KeyCode::Char('c')));
        e.handle_key(key(KeyCode::Char('\\')));
        assert_eq!(e.handle_key(key(KeyCode::Enter)), EditOutcome::Edited);
        e.handle_key(ctrl('j'));
        e.handle_key(key(KeyCode::Char('d')));
        assert_eq!(e.text(), "a\nb\nc\n\nd");
        assert_eq!(e.cursor(), (4, 1));
    }

    #[test]
    fn backspace_and_delete_join_lines() {
        let mut e = Editor::new();
        e.set_text("ab\ncd");
        e.set_cursor(1, 0);
        e.handle_key(key(KeyCode::Backspace));
        assert_eq!(e.text(), "abcd");
        assert_eq!(e.cursor(), (0, 2));
        e.set_text("ab\ncd");
        e.set_cursor(0, 2);
        e.handle_key(key(KeyCode::Delete));
        assert_eq!(e.text(), "abcd");
        assert_eq!(e.cursor(), (0, 2));
        assert_eq!(
            Editor::new().handle_key(key(KeyCode::Backspace)),
            EditOutcome::Moved
        );
    }

    #[test]
    fn arrows_cross_lines_and_up_down_stop_at_the_edges() {
        let mut e = Editor::new();
        e.set_text("long line\nab\nanother");
        assert_eq!(e.handle_key(key(KeyCode::Down)), EditOutcome::Unhandled);
        e.set_cursor(0, 7);
        assert_eq!(e.handle_key(key(KeyCode::Down)), EditOutcome::Moved);
        assert_eq!(e.cursor(), (1, 2));
        e.handle_key(key(KeyCode::Down));
        assert_eq!(e.cursor(), (2, 7), "the goal column survives a short line");
        e.handle_key(key(KeyCode::Home));
        e.handle_key(key(KeyCode::Left));
        assert_eq!(e.cursor(), (1, 2));
        e.handle_key(key(KeyCode::Right));
        assert_eq!(e.cursor(), (2, 0));
        e.set_cursor(0, 3);
        assert_eq!(e.handle_key(key(KeyCode::Up)), EditOutcome::Unhandled);
        assert_eq!(e.cursor(), (0, 3));
    }

    #[test]
    fn up_down_keep_display_columns_across_wide_characters() {
        let mut e = Editor::new();
        e.set_text("日本語\nabcdef");
        e.set_cursor(1, 4);
        e.handle_key(key(KeyCode::Up));
        assert_eq!(e.cursor(), (0, "日本".len()));
        e.handle_key(key(KeyCode::Down));
        assert_eq!(e.cursor(), (1, 4));
    }

    #[test]
    fn line_start_end_and_kills() {
        let mut e = typed("hello world");
        e.handle_key(ctrl('a'));
        assert_eq!(e.cursor(), (0, 0));
        e.handle_key(ctrl('e'));
        assert_eq!(e.cursor(), (0, 11));
        e.set_cursor(0, 5);
        e.handle_key(ctrl('k'));
        assert_eq!(e.text(), "hello");
        e.handle_key(ctrl('u'));
        assert_eq!(e.text(), "");
        let mut e = Editor::new();
        e.set_text("ab\ncd");
        e.set_cursor(0, 2);
        e.handle_key(ctrl('k'));
        assert_eq!(e.text(), "abcd", "Ctrl-K at a line's end joins the next");
    }

    #[test]
    fn word_moves_and_deletes() {
        let mut e = typed("open src/main.rs now");
        e.handle_key(with(KeyCode::Left, KeyModifiers::ALT));
        assert_eq!(e.cursor(), (0, 17));
        e.handle_key(with(KeyCode::Left, KeyModifiers::CONTROL));
        assert_eq!(e.cursor(), (0, 14));
        e.handle_key(with(KeyCode::Right, KeyModifiers::CONTROL));
        assert_eq!(e.cursor(), (0, 16));
        e.handle_key(ctrl('e'));
        e.handle_key(key(KeyCode::Char(' ')));
        e.handle_key(ctrl('w'));
        assert_eq!(e.text(), "open src/main.rs ");
        e.handle_key(ctrl('w'));
        assert_eq!(e.text(), "open ");
        e.handle_key(with(KeyCode::Backspace, KeyModifiers::ALT));
        assert_eq!(e.text(), "");
        let mut e = typed("日本 語");
        e.handle_key(ctrl('w'));
        assert_eq!(e.text(), "日本 ");
    }

    #[test]
    fn unused_keys_are_unhandled() {
        let mut e = typed("x");
        for k in [
            ctrl('c'),
            ctrl('d'),
            ctrl('o'),
            key(KeyCode::Esc),
            key(KeyCode::Tab),
        ] {
            assert_eq!(e.handle_key(k), EditOutcome::Unhandled, "{k:?}");
        }
        assert_eq!(e.text(), "x");
    }

    #[test]
    fn paste_normalises_line_endings_and_keeps_tabs() {
        let mut e = typed("<>");
        e.set_cursor(0, 1);
        e.insert_str("a\r\nb\rc\n\td\u{1b}");
        assert_eq!(e.text(), "<a\nb\nc\n\td>");
        assert_eq!(e.cursor(), (3, 2));
        e.set_text("no newline");
        assert_eq!(e.cursor(), (0, 10));
    }

    #[test]
    fn megabyte_paste_builds_every_line_and_renders_a_window() {
        let line = "0123456789 abcdefghijklmnopqrstuvwxyz\n";
        let count = 1_000_000 / line.len() + 1;
        let text = line.repeat(count);
        let mut e = Editor::new();
        e.insert_str(&text);
        assert_eq!(e.line_count(), count + 1);
        assert_eq!(e.cursor(), (count, 0));
        let (rows, cursor) = e.render(80, 10, "› ");
        assert_eq!(rows.len(), 10);
        assert_eq!(
            rows[0].text(),
            format!("  … {} more lines above", thousands(count - 8))
        );
        assert_eq!(cursor, (2, 9));
        e.set_cursor(0, 0);
        let (rows, cursor) = e.render(80, 10, "› ");
        assert_eq!(rows[0].text(), format!("› {}", line.trim_end()));
        assert!(rows[9].text().contains("more lines below"));
        assert_eq!(cursor, (2, 0));
    }

    #[test]
    fn render_wraps_by_display_width_with_prompt_and_indent() {
        let mut e = Editor::new();
        e.set_text("abcdefgh\n日本語x");
        let (rows, cursor) = e.render(6, 10, "› ");
        assert_eq!(texts(&rows), ["› abcd", "  efgh", "  ", "  日本", "  語x"]);
        assert_eq!(cursor, (5, 4));
        e.set_cursor(0, 4);
        assert_eq!(e.render(6, 10, "› ").1, (2, 1));
        e.set_cursor(0, 8);
        assert_eq!(
            e.render(6, 10, "› ").1,
            (2, 2),
            "a full row pushes the cursor down"
        );
    }

    #[test]
    fn render_scrolls_only_when_the_cursor_leaves_the_view() {
        let mut e = Editor::new();
        e.set_text(
            &(0..20)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let (rows, cursor) = e.render(20, 5, "> ");
        assert_eq!(
            texts(&rows),
            ["  … 16 more lines above", "  16", "  17", "  18", "  19"]
        );
        assert_eq!(cursor, (4, 4));
        e.set_cursor(18, 0);
        let (rows, _) = e.render(20, 5, "> ");
        assert_eq!(
            texts(&rows),
            [
                "  … 16 more lines above",
                "  16",
                "  17",
                "  18",
                "  … 1 more line below"
            ],
            "the view stays put"
        );
        e.set_cursor(2, 0);
        let (rows, cursor) = e.render(20, 5, "> ");
        assert_eq!(
            texts(&rows),
            [
                "  … 2 more lines above",
                "  2",
                "  3",
                "  4",
                "  … 15 more lines below"
            ]
        );
        assert_eq!(cursor, (2, 1));
        e.set_cursor(0, 0);
        let (rows, cursor) = e.render(20, 5, "> ");
        assert_eq!(
            texts(&rows),
            ["> 0", "  1", "  2", "  3", "  … 16 more lines below"]
        );
        assert_eq!(cursor, (2, 0));
    }

    #[test]
    fn render_shows_part_of_one_huge_line() {
        let mut e = Editor::new();
        e.set_text(&"x".repeat(1000));
        let (rows, cursor) = e.render(12, 4, "› ");
        assert_eq!(rows.len(), 4);
        assert!(rows[0].text().contains("1 more line above"));
        assert_eq!(cursor.1, 3);
        let (rows, _) = e.render(12, 2, "› ");
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn tabs_render_as_spaces() {
        let mut e = Editor::new();
        e.set_text("\tx");
        let (rows, cursor) = e.render(20, 3, "› ");
        assert_eq!(texts(&rows), ["›     x"]);
        assert_eq!(cursor, (7, 0));
    }

    #[test]
    fn replace_in_line_and_offsets() {
        let mut e = Editor::new();
        e.set_text("one\nsee @sr now");
        e.set_cursor(1, 7);
        e.replace_in_line(4..7, "@src/main.rs");
        assert_eq!(e.text(), "one\nsee @src/main.rs now");
        assert_eq!(e.cursor(), (1, 16));
        assert_eq!(e.cursor_offset(), 20);
        e.set_cursor_offset(2);
        assert_eq!(e.cursor(), (0, 2));
        e.set_cursor(0, 99);
        assert_eq!(e.cursor(), (0, 3));
        assert!(!e.is_empty());
        e.clear();
        assert!(e.is_empty());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1200), "1,200");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
