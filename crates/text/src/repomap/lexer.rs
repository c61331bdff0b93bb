//! The identifiers of a source file, comments and string literals skipped, found by one
//! byte scan instead of a second tree-sitter parse (see `tags.rs`).
//!
//! Skipping comments matters: prose reuses short names (`in`, `and`, `file`, `add`), and
//! in a commented code base like Linux those words would otherwise link every file to
//! whatever defines a function of that name. The lexer knows two families of comment
//! syntax; it does not need to be exact, only to not mistake much prose for code:
//!
//! - C-like (Rust, JavaScript, TypeScript, Go, Java, C, C++, C#, PHP): `//` and `/* */`
//!   comments, `"…"`, `'…'` and `` `…` `` literals (a Rust `'a` lifetime is not a literal).
//! - Hash (Python, Ruby, Bash; PHP too): `#` comments, `"…"` and `'…'` strings, Python's
//!   triple-quoted strings.
//!
//! A one-line literal ends at its line's end even when unterminated, so a stray quote
//! cannot hide the rest of a file.

use crate::syntax::Language;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Syntax {
    slashes: bool,
    hash: bool,
    backtick: bool,
    triple_quotes: bool,
    rust_lifetimes: bool,
}

fn syntax_of(lang: Language) -> Syntax {
    let c_like = Syntax {
        slashes: true,
        hash: false,
        backtick: false,
        triple_quotes: false,
        rust_lifetimes: false,
    };
    match lang {
        Language::Rust => Syntax {
            rust_lifetimes: true,
            ..c_like
        },
        Language::JavaScript | Language::TypeScript | Language::Tsx | Language::Go => Syntax {
            backtick: true,
            ..c_like
        },
        Language::Php => Syntax {
            hash: true,
            ..c_like
        },
        Language::Python => Syntax {
            slashes: false,
            hash: true,
            triple_quotes: true,
            ..c_like
        },
        Language::Ruby | Language::Bash => Syntax {
            slashes: false,
            hash: true,
            ..c_like
        },
        Language::Java | Language::C | Language::Cpp | Language::CSharp => c_like,
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Calls `found(start, end)` for every identifier of two or more bytes that does not
/// start with a digit, in source order, outside comments and literals.
pub(crate) fn identifiers(lang: Language, source: &str, mut found: impl FnMut(usize, usize)) {
    let s = syntax_of(lang);
    let bytes = source.as_bytes();
    let n = bytes.len();
    let mut i = 0usize;
    while i < n {
        let b = bytes[i];
        if is_word_byte(b) {
            let start = i;
            while i < n && is_word_byte(bytes[i]) {
                i += 1;
            }
            if i - start >= 2 && !bytes[start].is_ascii_digit() {
                found(start, i);
            }
            continue;
        }
        let next = bytes.get(i + 1).copied();
        i = match b {
            b'/' if s.slashes && next == Some(b'/') => line_end(bytes, i),
            b'/' if s.slashes && next == Some(b'*') => find(bytes, i + 2, b"*/"),
            b'#' if s.hash => line_end(bytes, i),
            b'"' | b'\'' if s.triple_quotes && bytes[i..].starts_with(&[b; 3]) => {
                find(bytes, i + 3, &[b; 3])
            }
            b'\'' if s.rust_lifetimes && !is_char_literal(bytes, i) => i + 1,
            b'"' | b'\'' => literal_end(bytes, i, b, false),
            b'`' if s.backtick => literal_end(bytes, i, b, true),
            _ => i + 1,
        };
    }
}

/// Whether the `'` at `i` opens a Rust character literal (`'x'`, `'\n'`, `'é'`) rather
/// than a lifetime (`'a`, `'static`).
fn is_char_literal(bytes: &[u8], i: usize) -> bool {
    match bytes.get(i + 1) {
        Some(b'\\') => true,
        Some(_) => {
            // One character (up to four UTF-8 bytes) and a closing quote.
            (2..=5).any(|k| bytes.get(i + k) == Some(&b'\''))
                && !bytes[i + 1..(i + 5).min(bytes.len())]
                    .iter()
                    .take_while(|&&c| c != b'\'')
                    .any(|&c| c == b' ' || c == b'\n')
        }
        None => false,
    }
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// Just past the next `pat` at or after `from`, or the end.
fn find(bytes: &[u8], from: usize, pat: &[u8]) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.windows(pat.len()).position(|w| w == pat))
        .map_or(bytes.len(), |p| from + p + pat.len())
}

/// Just past the literal opened by `quote` at `i`: backslash escapes, ending at the
/// closing quote, or at the line's end unless the literal may span lines.
fn literal_end(bytes: &[u8], i: usize, quote: u8, multiline: bool) -> usize {
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'\n' if !multiline => return j,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(lang: Language, src: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        identifiers(lang, src, |s, e| {
            out.push(&*src[s..e].to_owned().leak());
        });
        out
    }

    #[test]
    fn comments_and_literals_are_skipped() {
        let src = "fn go<'a>(x: &'a str) -> char { // and so on\n /* in file */ call(\"the end\", 'x', '\\n') }";
        assert_eq!(
            words(Language::Rust, src),
            ["fn", "go", "str", "char", "call"]
        );
        let src = "#include <stdio.h>\nint main() { printf(\"in %s\", file); } // and\n";
        assert_eq!(
            words(Language::C, src),
            ["include", "stdio", "int", "main", "printf", "file"]
        );
        let src = "def f(a):\n    \"\"\"Doc with words\n    in it.\"\"\"\n    return g(a, 'str')  # and\n";
        assert_eq!(words(Language::Python, src), ["def", "return"]);
        let src = "const s = `multi\nline ${x}`; let t = 'unterminated\nnext_line";
        assert_eq!(
            words(Language::JavaScript, src),
            ["const", "let", "next_line"]
        );
    }
}
