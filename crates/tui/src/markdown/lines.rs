//! Line classification: what a source line is (quote markers, indentation, fences,
//! rules, headings, list items), before the block state machine acts on it.

use crate::style::{Line, Style};

/// Removes leading `>` markers: (quote depth, the rest).
pub(super) fn strip_quotes(line: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = line;
    while let Some(r) = strip_one_quote(rest) {
        depth += 1;
        rest = r;
    }
    (depth, rest)
}

pub(super) fn strip_one_quote(line: &str) -> Option<&str> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let rest = trimmed.strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Leading whitespace in columns (a tab to the next multiple of 4), and the rest.
pub(super) fn indentation(s: &str) -> (usize, &str) {
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
pub(super) fn strip_columns(s: &str, n: usize) -> &str {
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

pub(super) fn expand_tabs(s: &str) -> String {
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

pub(super) fn indent(col: usize) -> Line {
    let mut line = Line::empty();
    line.push(" ".repeat(col), Style::PLAIN);
    line
}

/// An opening fence: (fence byte, its length, the info string).
pub(super) fn fence_open(text: &str) -> Option<(u8, usize, &str)> {
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

pub(super) fn is_fence_close(line: &str, fence: u8, len: usize) -> bool {
    let t = line.trim();
    let n = t.bytes().take_while(|b| *b == fence).count();
    n >= len && n == t.len()
}

pub(super) fn is_rule(text: &str) -> bool {
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
pub(super) fn heading(text: &str) -> Option<(usize, &str)> {
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

pub(super) enum Marker<'a> {
    Bullet,
    Ordered(&'a str),
}

pub(super) struct Item<'a> {
    pub(super) marker: Marker<'a>,
    /// `Some(checked)` for a task list item.
    pub(super) task: Option<bool>,
    pub(super) text: &'a str,
}

pub(super) fn list_item(text: &str) -> Option<Item<'_>> {
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
