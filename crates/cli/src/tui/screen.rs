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

use std::io::{self, Write};

use crossterm::cursor::{Hide, MoveDown, MoveToColumn, MoveUp, Show};
use crossterm::style::{
    Attribute, Color as TermColor, Print, ResetColor, SetAttribute, SetForegroundColor,
};
use crossterm::terminal::{BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate};
use crossterm::{QueueableCommand, queue};

use super::style::{Color, Line, Style};

/// Where the input cursor goes within the live rows: (column, row).
pub type Cursor = (u16, u16);

pub struct Screen<W: Write> {
    out: W,
    width: u16,
    height: u16,
    /// The cursor's row within the live area, counted from its top.
    cursor_row: u16,
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
        match cursor {
            Some((col, row)) => {
                self.go_to_row(row.min(last))?;
                queue!(self.out, MoveToColumn(col.min(self.width - 1)), Show)?;
            }
            None => self.go_to_row(last)?,
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
        let mut cursor = cursor;
        for (i, line) in live.iter().enumerate() {
            if let Some((col, _)) = cursor.filter(|(_, row)| usize::from(*row) == i) {
                cursor = Some((col, u16::try_from(rows.len()).unwrap_or(u16::MAX)));
            }
            rows.extend(line.wrap(width, 0));
        }
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
        self.drawn.clear();
        self.out.flush()
    }

    fn erase_live(&mut self) -> io::Result<()> {
        self.out.queue(MoveToColumn(0))?;
        if self.cursor_row > 0 {
            self.out.queue(MoveUp(self.cursor_row))?;
        }
        self.out.queue(Clear(ClearType::FromCursorDown))?;
        self.cursor_row = 0;
        self.drawn.clear();
        Ok(())
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
        let long = Line::plain("x".repeat(50));
        let live = vec![long, Line::plain("› hi"), Line::plain("status")];
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
