//! Shell command analysis: what a `bash -c` command line runs and writes, from
//! tree-sitter-bash's parse tree.
//!
//! [`analyse`] walks every construct that runs a command — `;`/`&&`/`||`/`&`/newline
//! lists, pipelines, subshells, `{ }` groups, `if`/`while`/`for`/`case` bodies, function
//! bodies, `$(…)`, backticks, `<(…)`/`>(…)`, heredoc bodies — and hands each simple
//! command's words to [`cuervo_domain::shell::normalise`], which strips wrappers and
//! finds `find -exec`, `xargs` and `bash -c` scripts (parsed here in turn). Output
//! redirections are kept with the directory a preceding `cd` moved to: after
//! `cd .git/hooks && echo x > pre-commit` the write lands in `.git/hooks/pre-commit`.
//!
//! The walk is conservative where it cannot be exact: a `cd` inside a branch makes every
//! later write count for each directory it may be in, a `cd` to a directory known only
//! at run time makes later writes unanalysable, and a syntax error (which bash might
//! read differently) makes the whole command unanalysable. So does code bash would run
//! from a variable's value (arithmetic on run-time values, `${x@P}`, `${!x}`, run-time
//! subscripts) and every place tree-sitter-bash is known to read a line differently from
//! bash (line continuations joining words, "`a` `b`", words after a redirection target,
//! `>& '$(…)'`, heredocs that do not end with their delimiter…): the tests in
//! `crates/tools/tests/suite/shell_rules.rs` run allowed lines through bash itself to
//! find more. It never panics, whatever the input, and reuses one parser per thread.

mod cwd;
mod redirect;
mod unanalysable;
mod walk;
mod word;

use std::cell::RefCell;

use cuervo_domain::shell::{ShellAnalysis, short};
use tree_sitter::{Node, Parser, Tree};

use cwd::Cwd;

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// How deeply `bash -c '… bash -c "…"'` scripts may nest.
const MAX_SCRIPT_DEPTH: usize = 8;
/// How deeply the walk follows nested constructs in one script.
const MAX_NODE_DEPTH: usize = 200;

/// Analyses one command line as `bash -c` would run it.
pub fn analyse(command: &str) -> ShellAnalysis {
    let mut out = ShellAnalysis::default();
    analyse_script(command, &Cwd::start(), false, 0, 0, &mut out);
    out
}

fn parse(src: &str) -> Option<Tree> {
    PARSER
        .try_with(|cell| {
            let mut slot = cell.try_borrow_mut().ok()?;
            if slot.is_none() {
                let language = crate::syntax::Language::Bash.grammar()?;
                let mut parser = Parser::new();
                parser.set_language(&language).ok()?;
                *slot = Some(parser);
            }
            slot.as_mut()?.parse(src, None)
        })
        .ok()
        .flatten()
}

/// `depth` counts nested scripts; `node_depth` is where the walk starts counting nested
/// constructs, so a script inside a deep construct does not get a fresh budget (which
/// would let nesting exhaust the stack).
fn analyse_script(
    src: &str,
    cwd: &Cwd,
    stdin: bool,
    depth: usize,
    node_depth: usize,
    out: &mut ShellAnalysis,
) {
    if depth > MAX_SCRIPT_DEPTH {
        out.push_unanalysable("shell scripts nest `bash -c` too deeply");
        return;
    }
    // tree-sitter-bash's scanner calls `isdigit` on any character after `{`, which
    // indexes a 384-entry table and crashes on characters from U+E0000 up. Bash treats
    // every non-ASCII character as an ordinary word character, so the parser gets a copy
    // with each non-ASCII byte replaced by `a`: same byte offsets (texts are read from
    // the original), same words, and no Unicode spaces split words bash keeps whole.
    let ascii;
    let parsed = if src.is_ascii() {
        src
    } else {
        ascii = src
            .bytes()
            .map(|b| if b.is_ascii() { char::from(b) } else { 'a' })
            .collect::<String>();
        ascii.as_str()
    };
    let Some(tree) = parse(parsed) else {
        out.push_unanalysable("the shell parser is not available");
        return;
    };
    let root = tree.root_node();
    if root.has_error() {
        let near = first_error(root)
            .map(|n| short(src.get(n.byte_range()).unwrap_or_default()))
            .filter(|t| !t.is_empty())
            .map(|t| format!(" near `{t}`"))
            .unwrap_or_default();
        out.push_unanalysable(format!(
            "it does not parse as a shell command{near}, so bash may read it differently"
        ));
    }
    let mut walker = Walker {
        src,
        out,
        script_depth: depth,
    };
    walker.sequence(root, cwd, stdin, node_depth);
}

/// The first ERROR or MISSING node, depth first, without recursion.
fn first_error(root: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            return Some(node);
        }
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return None;
            }
        }
    }
}

struct Walker<'a> {
    src: &'a str,
    out: &'a mut ShellAnalysis,
    script_depth: usize,
}

impl Walker<'_> {
    fn text(&self, node: Node<'_>) -> &str {
        self.src.get(node.byte_range()).unwrap_or_default()
    }

    fn too_deep(&mut self, depth: usize) -> bool {
        if depth > MAX_NODE_DEPTH {
            self.out
                .push_unanalysable("the command nests constructs too deeply to analyse");
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests;
