//! Tables: the state of one being received, and how its rows are split and drawn.

use super::BORDER;
use super::inline::inline_line;
use super::lines::{fence_open, heading, indentation, is_rule, list_item};
use crate::style::{Line, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) quote: usize,
    pub(super) col: usize,
    pub(super) aligns: Vec<Align>,
    pub(super) header: Vec<String>,
    pub(super) rows: Vec<Vec<String>>,
    /// Column widths once the table was flushed for length; later rows render at once.
    pub(super) fixed: Option<Vec<usize>>,
}

/// A line with pipes, held back until the next line says whether it heads a table.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) quote: usize,
    pub(super) content: String,
}

pub(super) fn border(widths: &[usize], left: char, mid: char, right: char) -> Line {
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
pub(super) fn row_lines(
    cells: &[String],
    widths: &[usize],
    aligns: &[Align],
    style: Style,
) -> Vec<Line> {
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
pub(super) fn split_cells(line: &str) -> Vec<String> {
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
pub(super) fn delimiter_row(line: &str) -> Option<Vec<Align>> {
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

pub(super) fn could_head_table(content: &str) -> bool {
    let (_, text) = indentation(content);
    let text = text.trim_end();
    text.contains('|')
        && fence_open(text).is_none()
        && !is_rule(text)
        && heading(text).is_none()
        && list_item(text).is_none()
}
