//! The value of one shell word: quotes and escapes removed, expansions marked dynamic.

use cuervo_domain::shell::{Word, has_brace_expansion};
use tree_sitter::Node;

/// The word a node stands for, as the program would receive it when that can be known.
pub(super) fn value(node: Node<'_>, src: &str) -> Word {
    let mut word = Word::default();
    append(node, src, &mut word, 0);
    word
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or_default()
}

/// Deeper than this the word is called dynamic rather than walked.
const MAX_DEPTH: usize = 64;

fn append(node: Node<'_>, src: &str, word: &mut Word, depth: usize) {
    let raw = text(node, src);
    if depth > MAX_DEPTH {
        word.text.push_str(raw);
        word.dynamic = true;
        return;
    }
    match node.kind() {
        "word" => unquoted(raw, word),
        "command_name" | "concatenation" => {
            let mut cursor = node.walk();
            let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
            for (i, child) in children.iter().enumerate() {
                // `$"m"` is a translated string: the `$` is not part of the value.
                if !child.is_named()
                    && child.kind() == "$"
                    && children.get(i + 1).is_some_and(|n| n.kind() == "string")
                {
                    continue;
                }
                append(*child, src, word, depth + 1);
            }
            if node.kind() == "concatenation" && has_brace_expansion(raw) {
                word.dynamic = true;
            }
        }
        "raw_string" => {
            word.text.push_str(
                raw.strip_prefix('\'')
                    .unwrap_or(raw)
                    .strip_suffix('\'')
                    .unwrap_or(raw),
            );
        }
        "string" => double_quoted(node, src, word, depth),
        "translated_string" => {
            let mut cursor = node.walk();
            let inner = node.named_children(&mut cursor).next();
            match inner {
                Some(inner) => append(inner, src, word, depth + 1),
                None => word.text.push_str(raw.trim_start_matches('$')),
            }
        }
        "ansi_c_string" => {
            let body = raw
                .strip_prefix("$'")
                .and_then(|r| r.strip_suffix('\''))
                .unwrap_or(raw);
            match ansi_c(body) {
                Some(decoded) => word.text.push_str(&decoded),
                None => {
                    word.text.push_str(raw);
                    word.dynamic = true;
                }
            }
        }
        "number" if node.named_child_count() == 0 => word.text.push_str(raw),
        // Anonymous tokens standing as words (`$`, `==`, `=~` in arguments, `{` in a
        // concatenation).
        _ if !node.is_named() => {
            word.text.push_str(raw);
            word.dynamic |= raw.contains(['`', '$']) && raw != "$";
        }
        _ => {
            // Expansions, substitutions, brace expressions, globs, arithmetic.
            word.text.push_str(raw);
            word.dynamic = true;
        }
    }
}

/// An unquoted word: backslashes escape the next character (a backslash-newline is
/// removed); unescaped glob characters, a leading `~user` and brace expansions make the
/// word dynamic.
fn unquoted(raw: &str, word: &mut Word) {
    let cleaned = remove_continuations(raw);
    let mut chars = cleaned.chars().peekable();
    let start = word.text.len();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(next) => word.text.push(next),
            },
            '*' | '?' | '[' => {
                word.dynamic = true;
                word.text.push(c);
            }
            '~' if first && start == 0 => {
                // `~` and `~/x` are the home directory (resolved later); `~user`, `~+`
                // and `~-` are other directories.
                if chars.peek().is_some_and(|n| *n != '/') {
                    word.dynamic = true;
                }
                word.text.push(c);
            }
            '$' | '`' => {
                // A lone `$` is literal, but any other expansion the parser did not
                // split out is not trusted.
                if chars.peek().is_some() {
                    word.dynamic = true;
                }
                word.text.push(c);
            }
            _ => word.text.push(c),
        }
        first = false;
    }
    if has_brace_expansion(raw) {
        word.dynamic = true;
    }
}

/// Removes line continuations (a backslash before a newline), as bash does before it
/// reads unquoted and double-quoted text; other backslash pairs stay as they are.
pub(super) fn remove_continuations(raw: &str) -> String {
    if !raw.contains("\\\n") {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\n') => {}
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A `"…"` string: `\$`, `` \` ``, `\"`, `\\` and backslash-newline are escapes;
/// expansions and substitutions inside make it dynamic.
fn double_quoted(node: Node<'_>, src: &str, word: &mut Word, depth: usize) {
    let range = node.byte_range();
    // Skip the opening and closing quotes.
    let (start, end) = (
        range.start + 1,
        range.end.saturating_sub(1).max(range.start + 1),
    );
    let mut pos = start;
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        let r = child.byte_range();
        if r.start < start || r.end > end {
            continue;
        }
        if r.start > pos {
            decode_double(src.get(pos..r.start).unwrap_or_default(), word);
        }
        match child.kind() {
            "string_content" => decode_double(text(child, src), word),
            _ => append(child, src, word, depth + 1),
        }
        pos = r.end;
    }
    if end > pos {
        decode_double(src.get(pos..end).unwrap_or_default(), word);
    }
}

fn decode_double(raw: &str, word: &mut Word) {
    let cleaned = remove_continuations(raw);
    let mut chars = cleaned.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            // Text the parser left inside a string but that looks like an expansion.
            let expands = match c {
                '`' => true,
                '$' => chars
                    .peek()
                    .is_some_and(|n| n.is_alphanumeric() || "_{([@*#?$!-".contains(*n)),
                _ => false,
            };
            word.dynamic |= expands;
            word.text.push(c);
            continue;
        }
        match chars.next() {
            Some('\n') => {}
            Some(e @ ('$' | '`' | '"' | '\\')) => word.text.push(e),
            Some(other) => {
                word.text.push('\\');
                word.text.push(other);
            }
            None => word.text.push('\\'),
        }
    }
}

/// Decodes the body of `$'…'` as bash does; `None` when it holds something this does
/// not decode exactly. Bash cuts the string at a NUL character, and so does this.
pub(super) fn ansi_c(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        let decoded = match e {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'e' | 'E' => '\u{1b}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\\' | '\'' | '"' | '?' => e,
            '0'..='7' => {
                let mut value = e.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                // Bash keeps the low byte; anything outside ASCII is not a plain char.
                let byte = value & 0xff;
                if byte >= 0x80 {
                    return None;
                }
                char::from_u32(byte)?
            }
            // Bash also reads forms like `\x{72}` leniently; not decoded here.
            'x' | 'u' | 'U' if chars.peek() == Some(&'{') => return None,
            'x' | 'u' | 'U' => {
                let max = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut value = 0u32;
                let mut digits = 0;
                while digits < max {
                    match chars.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            value = value.checked_mul(16)?.checked_add(d)?;
                            digits += 1;
                            chars.next();
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push('\\');
                    e
                } else if e == 'x' && value >= 0x80 {
                    return None;
                } else {
                    char::from_u32(value)?
                }
            }
            'c' => {
                let ctl = chars.next()?;
                char::from_u32(u32::from(ctl.to_ascii_uppercase()) & 0x1f)?
            }
            other => {
                out.push('\\');
                other
            }
        };
        if decoded == '\0' {
            break;
        }
        out.push(decoded);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_c_strings_decode_like_bash() {
        assert_eq!(ansi_c(r"\x72m").as_deref(), Some("rm"));
        assert_eq!(ansi_c(r"\162\155").as_deref(), Some("rm"));
        assert_eq!(ansi_c(r"\u0072m").as_deref(), Some("rm"));
        assert_eq!(ansi_c(r"a\nb").as_deref(), Some("a\nb"));
        assert_eq!(ansi_c(r"rm\0junk").as_deref(), Some("rm"));
        assert_eq!(ansi_c(r"\q").as_deref(), Some(r"\q"));
        assert_eq!(ansi_c(r"\xff"), None);
        assert_eq!(ansi_c(r"\cA").as_deref(), Some("\u{1}"));
        assert_eq!(ansi_c(r"\x{72m"), None);
    }

    #[test]
    fn brace_expansions_are_spotted() {
        assert!(has_brace_expansion("r{m,}"));
        assert!(has_brace_expansion("{1..3}"));
        assert!(
            has_brace_expansion("x{a}{b,c}"),
            "any group, not only the first"
        );
        assert!(!has_brace_expansion("{}"));
        assert!(!has_brace_expansion("a}b{"));
    }
}
