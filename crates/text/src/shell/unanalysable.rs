//! What makes a command unanalysable beyond what it runs: code bash would run from a
//! value (arithmetic, `${!x}`, `${x@P}`, run-time subscripts) and places where
//! tree-sitter-bash reads the text differently from bash.

use cuervo_domain::shell::short;
use tree_sitter::Node;

use super::{Walker, word};

impl Walker<'_> {
    /// Whether a `"…"` string holds a substitution the parser did not take apart: its
    /// text with the substitutions it did find blanked out.
    pub(super) fn string_hides_substitution(&self, node: Node<'_>) -> bool {
        let range = node.byte_range();
        let mut text = String::new();
        let mut pos = range.start;
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            let r = child.byte_range();
            if r.start > pos {
                text.push_str(self.src.get(pos..r.start).unwrap_or_default());
            }
            match child.kind() {
                "command_substitution"
                | "expansion"
                | "simple_expansion"
                | "arithmetic_expansion" => text.push('_'),
                _ => text.push_str(self.text(child)),
            }
            pos = pos.max(r.end);
        }
        if range.end > pos {
            text.push_str(self.src.get(pos..range.end).unwrap_or_default());
        }
        hides_substitution(&text)
    }

    /// Whether the text between two parts of a command is nothing but line
    /// continuations, which bash removes, joining the parts.
    pub(super) fn joins_words(&self, from: usize, to: usize) -> bool {
        let gap = self.src.get(from..to).unwrap_or_default();
        !gap.is_empty() && gap.replace("\\\r\n", "").replace("\\\n", "").is_empty()
    }

    /// Whether the blank text between two words of a command holds a newline no
    /// backslash escapes.
    pub(super) fn ends_a_line(&self, from: usize, to: usize) -> bool {
        let bytes = self.src.as_bytes();
        (from..to.min(bytes.len())).any(|i| bytes[i] == b'\n' && (i == 0 || bytes[i - 1] != b'\\'))
    }

    /// An unquoted heredoc's body is substituted like a double-quoted string; the parser
    /// finds `$(…)` in it but not backticks.
    pub(super) fn heredoc_body(&mut self, body: Node<'_>) {
        let range = body.byte_range();
        let mut pos = range.start;
        let mut hidden = false;
        let mut cursor = body.walk();
        for child in body.children(&mut cursor) {
            let r = child.byte_range();
            if r.start > pos {
                hidden |= hides_substitution(self.src.get(pos..r.start).unwrap_or_default());
            }
            pos = pos.max(r.end);
        }
        if range.end > pos {
            hidden |= hides_substitution(self.src.get(pos..range.end).unwrap_or_default());
        }
        if hidden {
            self.out
                .push_unanalysable("a heredoc holds a command substitution the parser did not see");
        }
    }

    /// Arithmetic evaluates variables' values as expressions, and an array subscript in
    /// them (`a[$(cmd)]`) runs commands: arithmetic on anything but literal numbers is
    /// unanalysable.
    pub(super) fn arithmetic(&mut self, node: Node<'_>) {
        if !arithmetic_is_literal(node, self.src) {
            let text = short(self.text(node));
            self.out.push_unanalysable(format!(
                "`{text}` evaluates values known only when it runs as arithmetic, which can run commands"
            ));
        }
    }

    /// `${!x}` (indirection), `${x@P}` (prompt expansion runs substitutions), `${x:off}`
    /// (arithmetic offsets) and run-time subscripts can run code hidden in a variable.
    pub(super) fn expansion(&mut self, node: Node<'_>) {
        let text = self.text(node);
        let mut risky = !text.ends_with('}') || text.starts_with("${!");
        let mut after_colon = false;
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            match child.kind() {
                "@" => risky = true,
                ":" => after_colon = true,
                "number" => {}
                _ if after_colon && child.is_named() => risky = true,
                _ => {}
            }
        }
        if risky {
            let text = short(text);
            self.out
                .push_unanalysable(format!("`{text}` can run code held in a variable"));
        }
    }

    /// `a[i]`: the index is arithmetic unless it is a literal number, `@` or `*`.
    pub(super) fn subscript(&mut self, node: Node<'_>) {
        let Some(index) = node.child_by_field_name("index") else {
            return;
        };
        let literal = match index.kind() {
            "number" => index.named_child_count() == 0,
            "word" => {
                let t = self.text(index);
                t == "@" || t == "*" || t.bytes().all(|b| b.is_ascii_digit())
            }
            _ => false,
        };
        if !literal {
            let text = short(self.text(node));
            self.out.push_unanalysable(format!(
                "the subscript in `{text}` is arithmetic on values known only when it runs, which can run commands"
            ));
        }
    }

    /// `[[ $a -eq $b ]]` evaluates both sides as arithmetic; `[[ -v a[$i] ]]` a subscript.
    pub(super) fn test(&mut self, node: Node<'_>) {
        if node.child(0).is_none_or(|c| c.kind() != "[[") {
            return;
        }
        let text = self.text(node);
        let arithmetic = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge"]
            .iter()
            .any(|op| text.contains(op));
        let subscript = text.contains("-v") && text.contains('[');
        if (arithmetic && !arithmetic_operands_literal(node, self.src)) || subscript {
            let text = short(text);
            self.out.push_unanalysable(format!(
                "`{text}` evaluates values known only when it runs as arithmetic, which can run commands"
            ));
        }
    }
}

/// Whether text bash would substitute in holds an unescaped backtick, `$(`, `${` or
/// `$[` the parser did not take apart (after line continuations are removed, as bash
/// does: `"$\\\n(cmd)"` runs `cmd`).
pub(super) fn hides_substitution(text: &str) -> bool {
    let cleaned = word::remove_continuations(text);
    let mut chars = cleaned.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '`' => return true,
            '$' if matches!(chars.peek(), Some('(' | '{' | '[')) => return true,
            _ => {}
        }
    }
    false
}

/// Whether an unquoted word holds a space, tab or newline no backslash escapes.
pub(super) fn has_unescaped_blank(text: &str) -> bool {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            ' ' | '\t' | '\n' => return true,
            _ => {}
        }
    }
    false
}

/// Whether an arithmetic expression holds nothing but literal numbers and operators.
fn arithmetic_is_literal(node: Node<'_>, src: &str) -> bool {
    let mut cursor = node.walk();
    let mut stack = vec![node];
    let mut seen = 0usize;
    while let Some(n) = stack.pop() {
        seen += 1;
        if seen > 10_000 {
            return false;
        }
        match n.kind() {
            "number" if n.named_child_count() == 0 => continue,
            "word" => {
                if src
                    .get(n.byte_range())
                    .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
                {
                    continue;
                }
                return false;
            }
            "arithmetic_expansion"
            | "compound_statement"
            | "binary_expression"
            | "unary_expression"
            | "ternary_expression"
            | "parenthesized_expression"
            | "postfix_expression" => {}
            _ if !n.is_named() => continue,
            _ => return false,
        }
        stack.extend(n.children(&mut cursor));
    }
    true
}

/// Whether every arithmetic comparison (`-eq`, `-lt`…) in a `[[ … ]]` compares literal
/// numbers.
fn arithmetic_operands_literal(node: Node<'_>, src: &str) -> bool {
    const ARITHMETIC: [&str; 6] = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];
    let literal = |n: Node<'_>| match n.kind() {
        "number" => n.named_child_count() == 0,
        "word" => src
            .get(n.byte_range())
            .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())),
        _ => false,
    };
    let mut cursor = node.walk();
    let mut stack: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
    let mut seen = 0usize;
    while let Some(n) = stack.pop() {
        seen += 1;
        if seen > 10_000 {
            return false;
        }
        if n.kind() == "binary_expression" {
            let op = n
                .child_by_field_name("operator")
                .and_then(|o| src.get(o.byte_range()))
                .unwrap_or_default();
            if ARITHMETIC.contains(&op) {
                let sides = [
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ];
                if !sides.into_iter().all(|side| side.is_some_and(literal)) {
                    return false;
                }
                continue;
            }
        }
        stack.extend(n.named_children(&mut cursor));
    }
    true
}
