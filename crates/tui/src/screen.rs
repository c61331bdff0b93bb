//! The inline screen: finished lines go into the terminal's scrollback exactly once, and a
//! live area under them is redrawn in place. Nothing above the live area is ever redrawn,
//! so the terminal's own scrolling, search and copy keep working, there is no flicker of
//! old output, and memory does not grow with the length of the session.
//!
//! A frame is one write: erase the live area (cursor up to its top, clear to the end of
//! the screen), print the newly finished lines (the terminal scrolls them up on its own),
//! print the live rows, put the cursor where the input is. Frames are wrapped in
//! synchronized-update markers, which terminals that know them use to show the frame at
//! once and others ignore.
//!
//! Two things a terminal does on its own make "up to the live area's top" harder than a
//! row count:
//! - on a width change most terminals (VTE, Konsole, kitty, iTerm2, Windows Terminal,
//!   tmux) reflow what they hold, so a live row wider than the new width now takes
//!   several rows; the first frame after a resize moves up by the rows the old live area
//!   takes at the new width (see [`Screen::resize`]);
//! - some (tmux) move the whole screen into the scrollback when told to clear it from
//!   the top-left corner, so the erase never clears from there: it clears the top row
//!   alone and the rest from the row below.

use std::io::{self, Write};

use crossterm::cursor::{
    Hide, MoveDown, MoveToColumn, MoveUp, RestorePosition, SavePosition, Show,
};
use crossterm::style::{
    Attribute, Color as TermColor, Print, ResetColor, SetAttribute, SetForegroundColor,
};
use crossterm::terminal::{BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate};
use crossterm::{QueueableCommand, queue};
use unicode_width::UnicodeWidthChar;

use crate::style::{Color, Line, Style};

/// Where the input cursor goes within the live rows: (column, row).
pub type Cursor = (u16, u16);

pub struct Screen<W: Write> {
    out: W,
    width: u16,
    height: u16,
    /// The cursor's row within the live area, counted from its top, and its column.
    cursor_row: u16,
    cursor_col: u16,
    color: bool,
    /// The live rows on screen now, and the width they were drawn at.
    drawn: Vec<Line>,
    drawn_width: u16,
    /// Rewrite only changed rows when possible (off: every frame is drawn whole).
    patching: bool,
}

impl<W: Write> Screen<W> {
    /// `color: false` (NO_COLOR, or a terminal without colours) keeps bold, dim and
    /// reverse but drops colours.
    pub fn new(out: W, width: u16, height: u16, color: bool) -> Self {
        Self {
            out,
            width: width.max(1),
            height: height.max(2),
            cursor_row: 0,
            cursor_col: 0,
            color,
            drawn: Vec::new(),
            drawn_width: 0,
            patching: true,
        }
    }

    pub fn width(&self) -> usize {
        usize::from(self.width)
    }

    pub fn height(&self) -> usize {
        usize::from(self.height)
    }

    /// The terminal's new size. The next frame is drawn whole: it first erases the live
    /// area as the terminal holds it now, which after a width change is the live rows
    /// reflowed to the new width (what most terminals do; one that truncates instead,
    /// like xterm, loses a few finished rows above the live area rather than keeping a
    /// stale copy of it).
    pub fn resize(&mut self, width: u16, height: u16) {
        self.width = width.max(1);
        self.height = height.max(2);
    }

    /// Prints `finished` into the scrollback, then draws `live` below it (cut to fit the
    /// screen, keeping its bottom), with the cursor at `cursor` (hidden when `None`).
    ///
    /// When nothing is finished and the live area keeps its height, only the rows that
    /// changed are rewritten (a spinner tick is one row, not the whole area): fewer bytes
    /// on slow links, and no flicker on terminals without synchronized updates.
    pub fn draw(
        &mut self,
        finished: &[Line],
        live: &[Line],
        cursor: Option<Cursor>,
    ) -> io::Result<()> {
        let (rows, cursor) = self.layout(live, cursor);
        queue!(self.out, BeginSynchronizedUpdate, Hide)?;
        let patch = self.patching
            && finished.is_empty()
            && self.drawn_width == self.width
            && self.drawn.len() == rows.len()
            && !rows.is_empty();
        if patch {
            for (i, row) in rows.iter().enumerate() {
                if self.drawn.get(i) != Some(row) {
                    self.go_to_row(i as u16)?;
                    queue!(self.out, MoveToColumn(0), Clear(ClearType::CurrentLine))?;
                    self.row(row)?;
                }
            }
        } else {
            self.erase_live()?;
            let width = self.width();
            for line in finished {
                for row in line.wrap(width, 0) {
                    self.row(&row)?;
                    self.out.queue(Print("\r\n"))?;
                }
            }
            for (i, row) in rows.iter().enumerate() {
                if i > 0 {
                    self.out.queue(Print("\r\n"))?;
                }
                self.row(row)?;
            }
            self.cursor_row = (rows.len() as u16).saturating_sub(1);
        }
        let last = (rows.len() as u16).saturating_sub(1);
        let (col, row, show) = match cursor {
            Some((col, row)) => (col.min(self.width - 1), row.min(last), true),
            None => (0, last, false),
        };
        self.go_to_row(row)?;
        self.out.queue(MoveToColumn(col))?;
        self.cursor_col = col;
        if show {
            self.out.queue(Show)?;
        }
        self.drawn = rows;
        self.drawn_width = self.width;
        queue!(self.out, EndSynchronizedUpdate)?;
        self.out.flush()
    }

    /// `live` wrapped to the width and cut to fit the screen (keeping its bottom), and
    /// the cursor moved from its line to its row.
    fn layout(&self, live: &[Line], cursor: Option<Cursor>) -> (Vec<Line>, Option<Cursor>) {
        let width = self.width();
        let mut rows: Vec<Line> = Vec::with_capacity(live.len());
        let mut cursor_row = None;
        for (i, line) in live.iter().enumerate() {
            if cursor.is_some_and(|(_, row)| usize::from(row) == i) {
                cursor_row = Some(u16::try_from(rows.len()).unwrap_or(u16::MAX));
            }
            rows.extend(line.wrap(width, 0));
        }
        let mut cursor = cursor.zip(cursor_row).map(|((col, _), row)| (col, row));
        // The live area must fit on the screen, or the frame could not be erased next time.
        let max = self.height().saturating_sub(1).max(1);
        if rows.len() > max {
            let cut = rows.len() - max;
            rows.drain(..cut);
            cursor = cursor.and_then(|(c, r)| r.checked_sub(cut as u16).map(|r| (c, r)));
        }
        (rows, cursor)
    }

    /// Moves the cursor to a row of the live area (counted from its top).
    fn go_to_row(&mut self, row: u16) -> io::Result<()> {
        if row < self.cursor_row {
            self.out.queue(MoveUp(self.cursor_row - row))?;
        } else if row > self.cursor_row {
            self.out.queue(MoveDown(row - self.cursor_row))?;
        }
        self.cursor_row = row;
        Ok(())
    }

    /// Erases the live area and leaves the cursor at its top, ready for normal output
    /// (used on exit, so the shell prompt comes right after the conversation).
    pub fn clear_live(&mut self) -> io::Result<()> {
        self.erase_live()?;
        queue!(self.out, Show)?;
        self.out.flush()
    }

    /// Clears the visible screen (the scrollback stays) and starts the live area at the top.
    pub fn clear_screen(&mut self) -> io::Result<()> {
        queue!(
            self.out,
            Clear(ClearType::All),
            crossterm::cursor::MoveTo(0, 0)
        )?;
        self.cursor_row = 0;
        self.cursor_col = 0;
        self.drawn.clear();
        self.out.flush()
    }

    fn erase_live(&mut self) -> io::Result<()> {
        let up = self.rows_above_cursor();
        self.out.queue(MoveToColumn(0))?;
        if up > 0 {
            self.out.queue(MoveUp(up))?;
        }
        // Not one clear from here down: at the screen's top-left corner, tmux would move
        // the whole screen (the live area) into the scrollback first, at every frame.
        queue!(
            self.out,
            Clear(ClearType::CurrentLine),
            SavePosition,
            MoveDown(1),
            Clear(ClearType::FromCursorDown),
            RestorePosition
        )?;
        self.cursor_row = 0;
        self.cursor_col = 0;
        self.drawn.clear();
        Ok(())
    }

    /// Rows between the live area's top and the cursor as the terminal holds them now.
    /// At the width the live rows were drawn at, that is the cursor's row; after a width
    /// change the terminal has reflowed them: each row takes as many rows as it needs at
    /// the new width (a narrower terminal splits it; a wider one does not join rows that
    /// were ended by a line break), and the cursor lands in the part of its row holding
    /// its column.
    fn rows_above_cursor(&self) -> u16 {
        if self.drawn_width == self.width || self.drawn.is_empty() {
            return self.cursor_row;
        }
        let width = self.width();
        let above: usize = self
            .drawn
            .iter()
            .take(usize::from(self.cursor_row))
            .map(|row| reflowed_rows(row, width))
            .sum();
        let rows = above + usize::from(self.cursor_col) / width;
        u16::try_from(rows).unwrap_or(u16::MAX)
    }

    fn row(&mut self, row: &Line) -> io::Result<()> {
        for span in &row.spans {
            let styled = span.style != Style::PLAIN;
            if styled {
                self.set_style(span.style)?;
            }
            self.out.queue(Print(&span.text))?;
            if styled {
                queue!(self.out, SetAttribute(Attribute::Reset), ResetColor)?;
            }
        }
        Ok(())
    }

    fn set_style(&mut self, style: Style) -> io::Result<()> {
        if let (Some(fg), true) = (style.fg, self.color) {
            self.out.queue(SetForegroundColor(term_color(fg)))?;
        }
        for (on, attribute) in [
            (style.bold, Attribute::Bold),
            (style.dim, Attribute::Dim),
            (style.italic, Attribute::Italic),
            (style.underline, Attribute::Underlined),
            (style.reverse, Attribute::Reverse),
        ] {
            if on {
                self.out.queue(SetAttribute(attribute))?;
            }
        }
        Ok(())
    }

    #[cfg(test)]
    fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
impl Screen<Vec<u8>> {
    /// What the screen wrote since the last call.
    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// The rows a terminal that reflows its lines gives `row` at `width` columns: it breaks
/// anywhere (not at spaces), and a wide character that does not fit goes to the next row.
fn reflowed_rows(row: &Line, width: usize) -> usize {
    let (mut rows, mut col) = (1, 0);
    for c in row.spans.iter().flat_map(|s| s.text.chars()) {
        let w = c.width().unwrap_or(0);
        if col + w > width && col > 0 {
            rows += 1;
            col = 0;
        }
        col += w;
    }
    rows
}

fn term_color(color: Color) -> TermColor {
    match color {
        Color::Red => TermColor::DarkRed,
        Color::Green => TermColor::DarkGreen,
        Color::Yellow => TermColor::DarkYellow,
        Color::Blue => TermColor::DarkBlue,
        Color::Magenta => TermColor::DarkMagenta,
        Color::Cyan => TermColor::DarkCyan,
        Color::Grey => TermColor::DarkGrey,
        Color::White => TermColor::White,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds frames through a real terminal emulator and returns the visible screen.
    fn emulate(
        frames: &[(Vec<Line>, Vec<Line>, Option<Cursor>)],
        color: bool,
    ) -> (String, Vec<u8>) {
        let mut screen = Screen::new(Vec::new(), 20, 6, color);
        for (finished, live, cursor) in frames {
            screen.draw(finished, live, *cursor).expect("draw");
        }
        let bytes = screen.into_inner();
        let mut parser = vt100::Parser::new(6, 20, 100);
        parser.process(&bytes);
        (parser.screen().contents(), bytes)
    }

    fn lines(texts: &[&str]) -> Vec<Line> {
        texts.iter().map(|t| Line::plain(*t)).collect()
    }

    /// A terminal as most behave where vt100 alone does not: a width change reflows the
    /// screen's lines (rows ended by a line break stay apart, wrapped rows are rewrapped),
    /// pushing what no longer fits into the scrollback with the cursor kept in view; and,
    /// as tmux does, clearing the screen from its top-left corner first moves the screen
    /// into the scrollback.
    struct Term {
        parser: vt100::Parser,
        /// Rows that left the screen before the last resize, oldest first.
        history: Vec<String>,
    }

    impl Term {
        fn new(rows: u16, cols: u16) -> Term {
            Term {
                parser: vt100::Parser::new(rows, cols, 10_000),
                history: Vec::new(),
            }
        }

        fn feed(&mut self, bytes: &[u8]) {
            const CLEAR_DOWN: &[u8] = b"\x1b[J";
            let mut rest = bytes;
            while let Some(i) = rest.windows(3).position(|w| w == CLEAR_DOWN) {
                self.parser.process(&rest[..i]);
                if self.parser.screen().cursor_position() == (0, 0) {
                    let (rows, _) = self.parser.screen().size();
                    let used = self.visible().iter().rposition(|r| !r.is_empty());
                    if let Some(used) = used {
                        let scroll = format!("\x1b[{rows};1H{}\x1b[H", "\n".repeat(used + 1));
                        self.parser.process(scroll.as_bytes());
                    }
                }
                self.parser.process(CLEAR_DOWN);
                rest = &rest[i + CLEAR_DOWN.len()..];
            }
            self.parser.process(rest);
        }

        fn visible(&self) -> Vec<String> {
            let (_, cols) = self.parser.screen().size();
            self.parser.screen().rows(0, cols).collect()
        }

        fn scrollback(&mut self) -> Vec<String> {
            let (_, cols) = self.parser.screen().size();
            self.parser.screen_mut().set_scrollback(usize::MAX);
            let n = self.parser.screen().scrollback();
            let mut rows = Vec::with_capacity(n);
            for offset in (1..=n).rev() {
                self.parser.screen_mut().set_scrollback(offset);
                rows.extend(self.parser.screen().rows(0, cols).next());
            }
            self.parser.screen_mut().set_scrollback(0);
            rows
        }

        /// Everything the terminal holds, scrollback first, trailing empty rows dropped.
        fn transcript(&mut self) -> Vec<String> {
            let mut rows = self.history.clone();
            rows.extend(self.scrollback());
            rows.extend(self.visible());
            while rows.last().is_some_and(String::is_empty) {
                rows.pop();
            }
            rows
        }

        fn resize(&mut self, rows: u16, cols: u16) {
            let scrollback = self.scrollback();
            self.history.extend(scrollback);
            let screen = self.parser.screen();
            let (old_rows, _) = screen.size();
            let (cursor_row, cursor_col) = screen.cursor_position();
            let visible = self.visible();
            let screen = self.parser.screen();
            // The screen's logical lines, and the cursor as (line, column in it).
            let (mut lines, mut current) = (Vec::new(), String::new());
            let mut cursor = (0, 0);
            for r in 0..old_rows {
                if r == cursor_row {
                    cursor = (
                        lines.len(),
                        current.chars().count() + usize::from(cursor_col),
                    );
                }
                current.push_str(&visible[usize::from(r)]);
                if !screen.row_wrapped(r) {
                    lines.push(std::mem::take(&mut current));
                }
            }
            while lines.len() > cursor.0 + 1 && lines.last().is_some_and(String::is_empty) {
                lines.pop();
            }
            let cols_n = usize::from(cols);
            let rows_of = |l: &String| l.chars().count().div_ceil(cols_n).max(1);
            let mut parser = vt100::Parser::new(rows, cols, 10_000);
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    parser.process(b"\r\n");
                }
                parser.process(line.as_bytes());
            }
            let at = lines[..cursor.0].iter().map(rows_of).sum::<usize>() + cursor.1 / cols_n;
            let top = lines
                .iter()
                .map(rows_of)
                .sum::<usize>()
                .saturating_sub(usize::from(rows));
            let row = at.saturating_sub(top);
            parser.process(format!("\x1b[{};{}H", row + 1, cursor.1 % cols_n + 1).as_bytes());
            self.parser = parser;
        }
    }

    /// The live area of a streaming turn: the answer's unfinished line, the spinner, the
    /// input box (`input` rows) and a status line as wide as the screen.
    fn streaming_live(frame: usize, width: usize, input: &[String]) -> (Vec<Line>, Cursor) {
        let mut live = vec![
            Line::plain(format!("partial answer {frame} that runs on and on")),
            Line::plain(format!("⠋ Working… {frame} · esc to interrupt")),
            Line::plain("─".repeat(width)),
        ];
        for (i, row) in input.iter().enumerate() {
            let prompt = if i == 0 { "› " } else { "  " };
            live.push(Line::plain(format!("{prompt}{row}")));
        }
        let left = "model · ask";
        let right = "ctrl+d exit";
        let gap = width.saturating_sub(left.len() + right.len()).max(1);
        live.push(Line::plain(format!("{left}{}{right}", " ".repeat(gap))));
        (live, (2, 3))
    }

    /// Streams `frames` frames (a finished line every third), resizing the terminal
    /// from `wide` to `narrow` columns after `resize_at`; returns the terminal's whole
    /// transcript after each frame.
    fn stream_with_resize(
        height: u16,
        (wide, narrow): (u16, u16),
        input: &[String],
        frames: usize,
        resize_at: usize,
    ) -> Vec<Vec<String>> {
        let mut term = Term::new(height, wide);
        let mut screen = Screen::new(Vec::new(), wide, height, false);
        let mut transcripts = Vec::new();
        for frame in 0..frames {
            if frame == resize_at {
                term.resize(height, narrow);
                screen.resize(narrow, height);
            }
            let finished = if frame % 3 == 2 {
                vec![Line::plain(format!("done {frame}"))]
            } else {
                vec![]
            };
            let (live, cursor) = streaming_live(frame, screen.width(), input);
            screen.draw(&finished, &live, Some(cursor)).expect("draw");
            term.feed(&screen.take_output());
            transcripts.push(term.transcript());
        }
        transcripts
    }

    fn count(rows: &[String], needle: &str) -> usize {
        rows.iter().filter(|r| r.contains(needle)).count()
    }

    #[test]
    fn resize_during_stream_does_not_copy_live_area_into_scrollback() {
        let input = vec!["typed".to_owned()];
        let transcripts = stream_with_resize(12, (50, 30), &input, 40, 20);
        let last = transcripts.last().expect("frames");
        // One live area, at the bottom: its old frames left nothing behind, neither the
        // ones drawn at the top of the empty screen nor those around the resize.
        assert_eq!(count(last, "Working"), 1, "{last:#?}");
        assert_eq!(count(last, "› typed"), 1, "{last:#?}");
        assert_eq!(count(last, "model · ask"), 1, "{last:#?}");
        assert_eq!(count(last, "partial answer"), 1, "{last:#?}");
        // Every finished line is there once, in order.
        let done: Vec<&String> = last.iter().filter(|r| r.starts_with("done")).collect();
        let expected: Vec<String> = (0..40)
            .filter(|f| f % 3 == 2)
            .map(|f| format!("done {f}"))
            .collect();
        assert_eq!(done, expected.iter().collect::<Vec<_>>());
    }

    #[test]
    fn resize_with_a_long_paste_leaves_no_copies_of_the_input_box() {
        // The input box fills the screen. Narrowing the terminal reflows the live area
        // past the screen's top, and the terminal keeps what that pushed out; the frames
        // after it start at the screen's top row, and must add nothing to the scrollback.
        let input: Vec<String> = (0..8)
            .map(|i| format!("pasted line {i} {}", "p".repeat(30)))
            .collect();
        let transcripts = stream_with_resize(12, (50, 30), &input, 30, 10);
        let after_resize = &transcripts[10];
        let last = transcripts.last().expect("frames");
        for needle in ["pasted line 0", "pasted line 7", "Working", "─"] {
            assert_eq!(
                count(last, needle),
                count(after_resize, needle),
                "{needle:?} was copied again: {last:#?}"
            );
        }
        assert_eq!(count(last, "model · ask"), 1, "{last:#?}");
        let done = last.iter().filter(|r| r.starts_with("done")).count();
        assert_eq!(done, 10, "{last:#?}");
    }

    #[test]
    fn the_cursor_moves_to_its_line_once_when_rows_above_wrap() {
        // The first line wraps into two rows, so the cursor's line (1) starts at row 2,
        // which is also the index of the line after it: the cursor must stay on row 2.
        assert_cursor_on_input_below(30);
    }

    #[test]
    fn finished_lines_stay_and_the_live_area_is_replaced() {
        let (screen, _) = emulate(
            &[
                (lines(&["one"]), lines(&["live a", "live b"]), None),
                (lines(&["two"]), lines(&["live c"]), Some((2, 0))),
            ],
            true,
        );
        assert_eq!(screen.trim_end(), "one\ntwo\nlive c");
    }

    #[test]
    fn long_lines_wrap_and_the_live_area_keeps_its_bottom() {
        let long = "word ".repeat(8);
        let live: Vec<Line> = (0..10).map(|i| Line::plain(format!("row {i}"))).collect();
        let (screen, _) = emulate(&[(lines(&[long.trim_end()]), live, None)], true);
        let rows: Vec<&str> = screen.lines().collect();
        // 6 rows: the screen scrolled; the live area shows its last 5 rows.
        assert_eq!(rows.last().copied(), Some("row 9"));
        assert!(rows.contains(&"row 5"), "{screen}");
        assert!(!rows.contains(&"row 4"), "{screen}");
    }

    #[test]
    fn patched_frames_look_exactly_like_whole_ones_and_cost_less() {
        // A pseudo-random session: spinner ticks, a growing answer, finished lines, an
        // input box that grows and shrinks, the cursor moving.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let mut frames = Vec::new();
        for step in 0..300 {
            let finished: Vec<Line> = if next(6) == 0 {
                vec![Line::plain(format!("done {step}"))]
            } else {
                vec![]
            };
            let input_rows = 1 + next(3) as usize;
            let mut live = vec![
                Line::plain(format!("answer so far {}", next(4))),
                Line::styled(format!("spinner {}", step % 10), Style::fg(Color::Magenta)),
            ];
            live.extend((0..input_rows).map(|i| Line::plain(format!("› input {i}"))));
            live.push(Line::plain("status"));
            let cursor =
                (next(4) != 0).then(|| (next(8) as u16, 2 + next(input_rows as u64) as u16));
            frames.push((finished, live, cursor));
        }
        let run = |patching: bool| {
            let mut screen = Screen::new(Vec::new(), 30, 10, true);
            screen.patching = patching;
            for (finished, live, cursor) in &frames {
                screen.draw(finished, live, *cursor).expect("draw");
            }
            let bytes = screen.into_inner();
            let mut parser = vt100::Parser::new(10, 30, 200);
            parser.process(&bytes);
            let screen = parser.screen();
            let cursor = screen.cursor_position();
            let hidden = screen.hide_cursor();
            parser.screen_mut().set_scrollback(200);
            let scrolled = parser.screen().contents();
            (
                parser.screen().contents(),
                scrolled,
                cursor,
                hidden,
                bytes.len(),
            )
        };
        let (patched, patched_history, patched_cursor, patched_hidden, patched_bytes) = run(true);
        let (whole, whole_history, whole_cursor, whole_hidden, whole_bytes) = run(false);
        assert_eq!(patched, whole);
        assert_eq!(patched_history, whole_history);
        assert_eq!(
            (patched_cursor, patched_hidden),
            (whole_cursor, whole_hidden)
        );
        assert!(
            patched_bytes < whole_bytes,
            "patching wrote {patched_bytes} bytes, whole frames {whole_bytes}"
        );
    }

    #[test]
    fn the_cursor_follows_its_line_below_wrapped_rows() {
        // A long streaming line above the input wraps into several rows.
        assert_cursor_on_input_below(50);
    }

    /// Draws a line of `width` x's above `› hi` on a 20-column screen and checks the
    /// cursor lands on the input line, column 4, however the long line wrapped.
    fn assert_cursor_on_input_below(width: usize) {
        let live = vec![
            Line::plain("x".repeat(width)),
            Line::plain("› hi"),
            Line::plain("status"),
        ];
        let mut screen = Screen::new(Vec::new(), 20, 6, true);
        screen.draw(&[], &live, Some((4, 1))).expect("draw");
        let bytes = screen.into_inner();
        let mut parser = vt100::Parser::new(6, 20, 0);
        parser.process(&bytes);
        let rows: Vec<String> = parser.screen().rows(0, 20).collect();
        let (row, col) = parser.screen().cursor_position();
        assert_eq!(rows[usize::from(row)], "› hi", "{rows:?}");
        assert_eq!(col, 4);
    }

    #[test]
    fn no_color_keeps_attributes_but_drops_colours() {
        let styled = vec![Line::styled("hi", Style::fg(Color::Red).bold())];
        let (_, with) = emulate(&[(styled.clone(), vec![], None)], true);
        let (_, without) = emulate(&[(styled, vec![], None)], false);
        let with = String::from_utf8_lossy(&with).into_owned();
        let without = String::from_utf8_lossy(&without).into_owned();
        assert!(with.contains("\u{1b}[38;5;1m"), "{with:?}");
        assert!(!without.contains("38;5"), "{without:?}");
        assert!(without.contains("\u{1b}[1m"), "{without:?}");
    }
}
