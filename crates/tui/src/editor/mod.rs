//! The prompt's text buffer: multi-line editing with readline-style keys, and a renderer
//! that wraps only the rows it shows, so a pasted megabyte stays responsive.
//!
//! Lines are kept apart (`Vec<String>`) so an edit touches one line, not the whole text.
//! The cursor is a (line, byte offset) pair that always sits on a character boundary.

mod chars;
mod render;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::ops::Range;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use chars::{col_at_width, is_word_char, next_boundary, prev_boundary, str_width};

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
}
