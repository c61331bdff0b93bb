//! Inline markup within one line: code spans, emphasis by CommonMark's delimiter-run
//! rules, links, autolinks, escapes and entities.

use super::{CODE, LINK, OPENER_LOOKBACK};
use crate::style::{Line, Style};

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Marks {
    bold: bool,
    italic: bool,
    strike: bool,
}

#[derive(Debug)]
pub(super) enum Node {
    Text(String),
    Code(String),
    Link {
        label: String,
        url: String,
    },
    /// A run of `*`, `_` or `~~`; what is left of `count` after matching is literal.
    Delim {
        ch: u8,
        count: usize,
        orig: usize,
        open: bool,
        close: bool,
        active: bool,
    },
}

pub(super) fn inline_line(text: &str, base: Style) -> Line {
    let mut line = Line::empty();
    push_inline(&mut line, text, base, false);
    line
}

/// Renders one line's inline markup onto `line`. `optimistic` (the incomplete line in
/// the live area): an unclosed code span or emphasis applies to the end of the text,
/// and a trailing run of markup characters is hidden, so the preview doesn't flash raw
/// markup while a closing delimiter is still on its way.
pub(super) fn push_inline(line: &mut Line, text: &str, base: Style, optimistic: bool) {
    let text = if optimistic {
        text.trim_end_matches(['*', '_', '~', '`']).trim_end()
    } else {
        text
    };
    let mut nodes = parse_inline(text, optimistic);
    let mut marks = vec![Marks::default(); nodes.len()];
    match_emphasis(&mut nodes, &mut marks);
    if optimistic {
        close_open_emphasis(&mut nodes, &mut marks);
    }
    for (node, m) in nodes.iter().zip(&marks) {
        let mut style = base;
        style.bold |= m.bold;
        style.italic |= m.italic;
        style.dim |= m.strike;
        match node {
            Node::Text(t) => line.push(t.as_str(), style),
            Node::Code(t) => line.push(
                t.as_str(),
                Style {
                    fg: Some(CODE),
                    ..style
                },
            ),
            Node::Link { label, url } => {
                let link = Style {
                    fg: Some(LINK),
                    ..style.underline()
                };
                let mut rendered = Line::empty();
                push_inline(&mut rendered, label, link, false);
                let shown = rendered.text();
                for span in rendered.spans {
                    line.push(span.text, span.style);
                }
                let same = shown == *url || url.strip_prefix("mailto:") == Some(shown.as_str());
                if !same && !url.is_empty() {
                    line.push(format!(" ({url})"), Style::PLAIN.dim());
                }
            }
            Node::Delim { ch, count, .. } => {
                line.push(char::from(*ch).to_string().repeat(*count), style);
            }
        }
    }
}

fn parse_inline(s: &str, optimistic: bool) -> Vec<Node> {
    let b = s.as_bytes();
    let mut nodes = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, nodes: &mut Vec<Node>| {
        if !text.is_empty() {
            nodes.push(Node::Text(std::mem::take(text)));
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => match b.get(i + 1) {
                Some(c) if c.is_ascii_punctuation() => {
                    text.push(char::from(*c));
                    i += 2;
                }
                // A backslash ending the line is a hard line break: the line ends anyway.
                None => i += 1,
                _ => {
                    text.push('\\');
                    i += 1;
                }
            },
            b'`' => {
                let n = run_len(b, i);
                match backtick_close(b, i + n, n) {
                    Some(j) => {
                        flush(&mut text, &mut nodes);
                        nodes.push(Node::Code(code_content(&s[i + n..j])));
                        i = j + n;
                    }
                    None if optimistic => {
                        flush(&mut text, &mut nodes);
                        nodes.push(Node::Code(s[i + n..].to_owned()));
                        i = b.len();
                    }
                    None => {
                        text.push_str(&s[i..i + n]);
                        i += n;
                    }
                }
            }
            c @ (b'*' | b'_' | b'~') => {
                let n = run_len(b, i);
                if c == b'~' && n != 2 {
                    text.push_str(&s[i..i + n]);
                    i += n;
                    continue;
                }
                let before = s[..i].chars().next_back();
                let after = s[i + n..].chars().next();
                let (left, right) = flanking(before, after);
                let (open, close) = if c == b'_' {
                    (
                        left && (!right || before.is_some_and(is_punct)),
                        right && (!left || after.is_some_and(is_punct)),
                    )
                } else {
                    (left, right)
                };
                flush(&mut text, &mut nodes);
                nodes.push(Node::Delim {
                    ch: c,
                    count: n,
                    orig: n,
                    open,
                    close,
                    active: true,
                });
                i += n;
            }
            c @ (b'[' | b'!') => {
                let at = if c == b'!' { i + 1 } else { i };
                let link = if b.get(at) == Some(&b'[') {
                    parse_link(s, at)
                } else {
                    None
                };
                match link {
                    Some((label, url, end)) => {
                        flush(&mut text, &mut nodes);
                        let label = if label.trim().is_empty() { url } else { label };
                        nodes.push(Node::Link {
                            label: label.to_owned(),
                            url: url.to_owned(),
                        });
                        i = end;
                    }
                    None => {
                        text.push(char::from(c));
                        i += 1;
                    }
                }
            }
            b'<' => match autolink(s, i) {
                Some((url, end)) => {
                    flush(&mut text, &mut nodes);
                    let label = url.strip_prefix("mailto:").unwrap_or(url);
                    nodes.push(Node::Link {
                        label: escape_markup(label),
                        url: url.to_owned(),
                    });
                    i = end;
                }
                None => {
                    text.push('<');
                    i += 1;
                }
            },
            b'&' => {
                let (decoded, len) = entity(&s[i..]);
                text.push(decoded);
                i += len;
            }
            _ => {
                let Some(ch) = s[i..].chars().next() else {
                    break;
                };
                text.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    flush(&mut text, &mut nodes);
    nodes
}

/// Escapes markup characters so an autolink's URL renders as is when parsed as a label.
fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn run_len(b: &[u8], i: usize) -> usize {
    let c = b[i];
    b[i..].iter().take_while(|x| **x == c).count()
}

/// The start of the next run of exactly `n` backticks at or after `from`.
fn backtick_close(b: &[u8], from: usize, n: usize) -> Option<usize> {
    let mut j = from;
    while j < b.len() {
        if b[j] == b'`' {
            let m = run_len(b, j);
            if m == n {
                return Some(j);
            }
            j += m;
        } else {
            j += 1;
        }
    }
    None
}

fn code_content(s: &str) -> String {
    if s.len() >= 2 && s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty() {
        s[1..s.len() - 1].to_owned()
    } else {
        s.to_owned()
    }
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
}

/// CommonMark's left- and right-flanking tests for a delimiter run.
fn flanking(before: Option<char>, after: Option<char>) -> (bool, bool) {
    let before_ws = before.is_none_or(char::is_whitespace);
    let after_ws = after.is_none_or(char::is_whitespace);
    let before_p = before.is_some_and(is_punct);
    let after_p = after.is_some_and(is_punct);
    let left = !after_ws && (!after_p || before_ws || before_p);
    let right = !before_ws && (!before_p || after_ws || after_p);
    (left, right)
}

/// `[label](url "title")` starting at `i` (a `[`): (label, url, end).
fn parse_link(s: &str, i: usize) -> Option<(&str, &str, usize)> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut j = i;
    let close = loop {
        match *b.get(j)? {
            b'\\' => j += 2,
            b'`' => {
                let n = run_len(b, j);
                j = backtick_close(b, j + n, n).map_or(j + n, |k| k + n);
            }
            b'[' => {
                depth += 1;
                j += 1;
            }
            b']' => {
                depth -= 1;
                if depth == 0 {
                    break j;
                }
                j += 1;
            }
            _ => j += 1,
        }
    };
    if b.get(close + 1) != Some(&b'(') {
        return None;
    }
    let mut k = close + 2;
    while b.get(k).is_some_and(|c| *c == b' ') {
        k += 1;
    }
    let url = if b.get(k) == Some(&b'<') {
        let end = k + 1 + s.get(k + 1..)?.find('>')?;
        let url = &s[k + 1..end];
        k = end + 1;
        url
    } else {
        let start = k;
        let mut parens = 0usize;
        while let Some(&c) = b.get(k) {
            match c {
                b'\\' => {
                    k += 2;
                    continue;
                }
                b'(' => parens += 1,
                b')' if parens == 0 => break,
                b')' => parens -= 1,
                c if c.is_ascii_whitespace() => break,
                _ => {}
            }
            k += 1;
        }
        k = k.min(b.len());
        s.get(start..k)?
    };
    while b.get(k).is_some_and(|c| *c == b' ') {
        k += 1;
    }
    if let Some(&q) = b.get(k)
        && matches!(q, b'"' | b'\'' | b'(')
    {
        let closing = if q == b'(' { b')' } else { q };
        let end = b[k + 1..].iter().position(|c| *c == closing)?;
        k += end + 2;
        while b.get(k).is_some_and(|c| *c == b' ') {
            k += 1;
        }
    }
    if b.get(k) != Some(&b')') {
        return None;
    }
    Some((&s[i + 1..close], url, k + 1))
}

/// `<https://…>` or `<user@example.com>` at `i`: (url, end).
fn autolink(s: &str, i: usize) -> Option<(&str, usize)> {
    let rest = s.get(i + 1..)?;
    let end = rest.find('>')?;
    let inner = &rest[..end];
    if inner.is_empty() || inner.contains(|c: char| c.is_whitespace() || c == '<') {
        return None;
    }
    let lower = inner.to_ascii_lowercase();
    let is_url = ["http://", "https://", "mailto:", "ftp://", "file://"]
        .iter()
        .any(|p| lower.starts_with(p));
    let is_email = !inner.contains(':') && inner.contains('@') && inner.contains('.');
    if !is_url && !is_email {
        return None;
    }
    Some((inner, i + 1 + end + 1))
}

/// A few common HTML entities: (character, bytes consumed). A lone `&` is itself.
fn entity(s: &str) -> (char, usize) {
    const ENTITIES: [(&str, char); 7] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#39;", '\''),
        ("&apos;", '\''),
        ("&nbsp;", ' '),
    ];
    ENTITIES
        .iter()
        .find(|(name, _)| s.starts_with(name))
        .map_or(('&', 1), |(name, c)| (*c, name.len()))
}

/// CommonMark's "process emphasis", per line: each closer takes the nearest matching
/// opener; `**` pairs make bold, `*` italic, `~~` strikethrough; delimiters in between
/// stay literal.
fn match_emphasis(nodes: &mut [Node], marks: &mut [Marks]) {
    for closer in 0..nodes.len() {
        while let Node::Delim {
            ch,
            count,
            orig,
            open: c_open,
            close: true,
            active: true,
        } = nodes[closer]
        {
            if count == 0 {
                break;
            }
            let lowest = closer.saturating_sub(OPENER_LOOKBACK);
            let opener = (lowest..closer).rev().find(|&o| match nodes[o] {
                Node::Delim {
                    ch: o_ch,
                    count: o_count,
                    orig: o_orig,
                    open: true,
                    close: o_close,
                    active: true,
                } if o_ch == ch && o_count > 0 => {
                    let both = c_open || o_close;
                    !(both && (orig + o_orig) % 3 == 0 && !(orig % 3 == 0 && o_orig % 3 == 0))
                }
                _ => false,
            });
            let Some(opener) = opener else {
                break;
            };
            let Node::Delim { count: o_count, .. } = nodes[opener] else {
                break;
            };
            let used = if ch == b'~' || (count >= 2 && o_count >= 2) {
                2
            } else {
                1
            };
            for k in opener + 1..closer {
                let m = &mut marks[k];
                match (ch, used) {
                    (b'~', _) => m.strike = true,
                    (_, 2) => m.bold = true,
                    _ => m.italic = true,
                }
                if let Node::Delim { active, .. } = &mut nodes[k] {
                    *active = false;
                }
            }
            if let Node::Delim { count, .. } = &mut nodes[opener] {
                *count -= used;
            }
            if let Node::Delim { count, .. } = &mut nodes[closer] {
                *count -= used;
            }
        }
    }
}

/// For the live preview: emphasis still open at the end of the text applies to the end.
fn close_open_emphasis(nodes: &mut [Node], marks: &mut [Marks]) {
    for o in 0..nodes.len() {
        let Node::Delim {
            ch,
            count,
            open: true,
            active: true,
            ..
        } = nodes[o]
        else {
            continue;
        };
        if count == 0 {
            continue;
        }
        for m in &mut marks[o + 1..] {
            match ch {
                b'~' => m.strike = true,
                _ if count >= 3 => {
                    m.bold = true;
                    m.italic = true;
                }
                _ if count == 2 => m.bold = true,
                _ => m.italic = true,
            }
        }
        if let Node::Delim { count, .. } = &mut nodes[o] {
            *count = 0;
        }
    }
}
