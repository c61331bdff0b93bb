//! Characters as the cursor and the screen see them: display widths (tabs included),
//! word characters, and boundaries that keep combining marks and joined emoji whole.

use unicode_width::UnicodeWidthChar;

use super::{TAB_WIDTH, ZWJ};

pub(super) fn char_width(c: char) -> usize {
    if c == '\t' {
        TAB_WIDTH
    } else {
        c.width().unwrap_or(0)
    }
}

pub(super) fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `c` is drawn on top of the character before it (combining marks, variation
/// selectors, joiners), so the cursor should never stop in front of it.
fn is_attached(c: char) -> bool {
    c != '\t' && c.width() == Some(0)
}

/// The boundary one visible character before `col`: combining marks and zero-width-joined
/// emoji go with their base.
pub(super) fn prev_boundary(line: &str, col: usize) -> usize {
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
pub(super) fn next_boundary(line: &str, col: usize) -> usize {
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
pub(super) fn col_at_width(line: &str, target: usize) -> usize {
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
