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

mod word;

use std::cell::RefCell;

use cuervo_domain::shell::{ShellAnalysis, SimpleCommand, Word, WriteRedirect, normalise, short};
use tree_sitter::{Node, Parser, Tree};

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// How deeply `bash -c '… bash -c "…"'` scripts may nest.
const MAX_SCRIPT_DEPTH: usize = 8;
/// How deeply the walk follows nested constructs in one script.
const MAX_NODE_DEPTH: usize = 200;
/// How many directories a write is tracked in before the directory counts as unknown.
const MAX_DIRS: usize = 8;

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

/// The directories the shell may be in: each entry is `None` for the start directory
/// or a path as written (relative to the start, or absolute).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cwd {
    Known(Vec<Option<String>>),
    Unknown,
}

impl Cwd {
    fn start() -> Self {
        Cwd::Known(vec![None])
    }

    fn union(&self, other: &Cwd) -> Cwd {
        match (self, other) {
            (Cwd::Known(a), Cwd::Known(b)) => {
                let mut all = a.clone();
                for d in b {
                    if !all.contains(d) {
                        all.push(d.clone());
                    }
                }
                if all.len() > MAX_DIRS {
                    Cwd::Unknown
                } else {
                    Cwd::Known(all)
                }
            }
            _ => Cwd::Unknown,
        }
    }

    /// After `cd dir`.
    fn enter(&self, dir: &str) -> Cwd {
        match self {
            Cwd::Unknown => Cwd::Unknown,
            Cwd::Known(dirs) => {
                let mut next: Vec<Option<String>> = Vec::new();
                for d in dirs {
                    let joined = join(d.as_deref(), dir);
                    if !next.contains(&joined) {
                        next.push(joined);
                    }
                }
                Cwd::Known(next)
            }
        }
    }
}

fn join(base: Option<&str>, path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('~') {
        return Some(path.to_owned());
    }
    match base {
        None => Some(path.to_owned()),
        Some(base) => Some(format!("{}/{path}", base.trim_end_matches('/'))),
    }
}

/// Where the shell may be after a statement that succeeded or failed.
#[derive(Debug, Clone)]
struct Flow {
    ok: Cwd,
    fail: Cwd,
}

impl Flow {
    fn same(cwd: &Cwd) -> Flow {
        Flow {
            ok: cwd.clone(),
            fail: cwd.clone(),
        }
    }

    fn any(&self) -> Cwd {
        self.ok.union(&self.fail)
    }
}

fn is_statement(kind: &str) -> bool {
    matches!(
        kind,
        "c_style_for_statement"
            | "case_statement"
            | "command"
            | "compound_statement"
            | "declaration_command"
            | "for_statement"
            | "function_definition"
            | "if_statement"
            | "list"
            | "negated_command"
            | "pipeline"
            | "redirected_statement"
            | "subshell"
            | "test_command"
            | "unset_command"
            | "variable_assignment"
            | "variable_assignments"
            | "while_statement"
            | "ERROR"
    )
}

/// Files that writing to changes nothing.
fn is_harmless_device(target: &str) -> bool {
    matches!(
        target,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "/dev/fd/1" | "/dev/fd/2"
    )
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

    /// Statements one after another (a script, a group, a substitution's body).
    fn sequence(&mut self, node: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) -> Flow {
        let mut current = Flow::same(cwd);
        if self.too_deep(depth) {
            return current;
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        for (i, child) in children.iter().enumerate() {
            if !child.is_named() {
                continue;
            }
            let start = current.any();
            if is_statement(child.kind()) {
                let background = children.get(i + 1).is_some_and(|n| n.kind() == "&");
                let flow = self.statement(*child, &start, stdin, depth + 1);
                current = if background { Flow::same(&start) } else { flow };
            } else {
                self.expr(*child, &start, stdin, depth + 1);
            }
        }
        current
    }

    fn statement(&mut self, node: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) -> Flow {
        self.statement_with(node, cwd, stdin, depth, &[])
    }

    /// A statement followed by redirections that bash applies to its last simple
    /// command: tree-sitter-bash hangs `a && b > f` and `a | b > f` on the whole list.
    fn statement_with(
        &mut self,
        node: Node<'_>,
        cwd: &Cwd,
        stdin: bool,
        depth: usize,
        trailing: &[Node<'_>],
    ) -> Flow {
        if self.too_deep(depth) {
            return Flow::same(cwd);
        }
        match node.kind() {
            "redirected_statement" => self.redirected(node, cwd, stdin, depth, trailing),
            "list" => self.list(node, cwd, stdin, depth, trailing),
            "pipeline" => {
                let mut cursor = node.walk();
                let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
                let last = children.iter().rposition(|c| is_statement(c.kind()));
                let mut first = true;
                for (i, child) in children.iter().enumerate() {
                    if is_statement(child.kind()) {
                        let tail = if Some(i) == last { trailing } else { &[] };
                        self.statement_with(*child, cwd, stdin || !first, depth + 1, tail);
                        first = false;
                    } else {
                        self.expr(*child, cwd, stdin, depth + 1);
                    }
                }
                Flow::same(cwd)
            }
            _ if !trailing.is_empty() => self.apply(Some(node), trailing, cwd, stdin, depth),
            "command" => self.command(node, cwd, stdin, depth),
            "subshell" => {
                self.sequence(node, cwd, stdin, depth + 1);
                Flow::same(cwd)
            }
            "negated_command" => {
                let flow = self.sequence(node, cwd, stdin, depth + 1);
                Flow {
                    ok: flow.fail,
                    fail: flow.ok,
                }
            }
            "if_statement" | "while_statement" | "for_statement" | "case_statement" => {
                let all = self.branches(node, cwd, stdin, depth + 1);
                Flow::same(&all)
            }
            "function_definition" => {
                let mut changed = false;
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    if is_statement(child.kind()) {
                        let flow = self.statement(child, cwd, stdin, depth + 1);
                        changed |= flow.any() != *cwd;
                    } else {
                        self.expr(child, cwd, stdin, depth + 1);
                    }
                }
                // A function that changes directory may be called anywhere later.
                if changed {
                    Flow::same(&Cwd::Unknown)
                } else {
                    Flow::same(cwd)
                }
            }
            "variable_assignment" => {
                self.assignment(node, cwd, stdin, depth + 1);
                Flow::same(cwd)
            }
            "variable_assignments" | "declaration_command" | "unset_command" => {
                let mut integer = false;
                let mut dynamic_value = false;
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    let text = self.text(child);
                    if child.kind() == "word" && text.starts_with('-') && text.contains('i') {
                        integer = true;
                    }
                    if child.kind() == "variable_assignment" {
                        dynamic_value |= child
                            .child_by_field_name("value")
                            .is_some_and(|v| word::value(v, self.src).dynamic);
                        self.assignment(child, cwd, stdin, depth + 1);
                    } else {
                        // A name with a subscript (`unset 'a[$(cmd)]'`) is arithmetic.
                        let name = word::value(child, self.src);
                        if name.text.contains('[')
                            && (name.dynamic || name.text.contains('$') || name.text.contains('`'))
                        {
                            self.out.push_unanalysable(format!(
                                "`{}` names a variable by a subscript known only when it runs",
                                short(self.text(node))
                            ));
                        }
                        self.expr(child, cwd, stdin, depth + 1);
                    }
                }
                if integer && dynamic_value {
                    self.out.push_unanalysable(format!(
                        "`{}` evaluates values known only when it runs as arithmetic, which can run commands",
                        short(self.text(node))
                    ));
                }
                Flow::same(cwd)
            }
            "compound_statement" if self.text(node).starts_with("((") => {
                self.arithmetic(node);
                self.expr(node, cwd, stdin, depth + 1);
                Flow::same(cwd)
            }
            "c_style_for_statement" => {
                self.out.push_unanalysable(
                    "an arithmetic `for ((…))` loop evaluates values known only when it runs",
                );
                let all = self.branches(node, cwd, stdin, depth + 1);
                Flow::same(&all)
            }
            "compound_statement" | "do_group" | "ERROR" => {
                self.sequence(node, cwd, stdin, depth + 1)
            }
            _ => {
                self.expr(node, cwd, stdin, depth + 1);
                Flow::same(cwd)
            }
        }
    }

    /// `a && b`, `a || b` (binary, left-nested).
    fn list(
        &mut self,
        node: Node<'_>,
        cwd: &Cwd,
        stdin: bool,
        depth: usize,
        trailing: &[Node<'_>],
    ) -> Flow {
        let mut flow: Option<Flow> = None;
        let mut op: Option<&str> = None;
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        let last = children
            .iter()
            .rposition(|c| c.is_named() && is_statement(c.kind()));
        for (i, child) in children.into_iter().enumerate() {
            let tail = if Some(i) == last { trailing } else { &[] };
            if !child.is_named() {
                if matches!(child.kind(), "&&" | "||") {
                    op = Some(child.kind());
                }
                continue;
            }
            if !is_statement(child.kind()) {
                let at = flow.as_ref().map_or_else(|| cwd.clone(), Flow::any);
                self.expr(child, &at, stdin, depth + 1);
                continue;
            }
            flow = Some(match (flow, op) {
                (None, _) => self.statement_with(child, cwd, stdin, depth + 1, tail),
                (Some(prev), Some("&&")) => {
                    let next = self.statement_with(child, &prev.ok, stdin, depth + 1, tail);
                    Flow {
                        ok: next.ok,
                        fail: prev.fail.union(&next.fail),
                    }
                }
                (Some(prev), Some("||")) => {
                    let next = self.statement_with(child, &prev.fail, stdin, depth + 1, tail);
                    Flow {
                        ok: prev.ok.union(&next.ok),
                        fail: next.fail,
                    }
                }
                (Some(prev), _) => self.statement_with(child, &prev.any(), stdin, depth + 1, tail),
            });
            op = None;
        }
        flow.unwrap_or_else(|| Flow::same(cwd))
    }

    /// The bodies of `if`, loops and `case`: each may run or not, so every directory a
    /// `cd` in them reaches is possible afterwards.
    fn branches(&mut self, node: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) -> Cwd {
        let mut all = cwd.clone();
        if self.too_deep(depth) {
            return all;
        }
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if is_statement(child.kind()) {
                let flow = self.statement(child, &all, stdin, depth + 1);
                all = all.union(&flow.any());
            } else if matches!(
                child.kind(),
                "do_group" | "elif_clause" | "else_clause" | "case_item"
            ) {
                let inner = self.branches(child, &all, stdin, depth + 1);
                all = all.union(&inner);
            } else {
                self.expr(child, &all, stdin, depth + 1);
            }
        }
        all
    }

    /// A statement with redirections: `cmd > out`, `cat <<EOF | sh`.
    fn redirected(
        &mut self,
        node: Node<'_>,
        cwd: &Cwd,
        stdin: bool,
        depth: usize,
        trailing: &[Node<'_>],
    ) -> Flow {
        let mut redirects = Vec::new();
        let mut body = None;
        let mut cursor = node.walk();
        for (i, child) in node.children(&mut cursor).enumerate() {
            let field = u32::try_from(i)
                .ok()
                .and_then(|i| node.field_name_for_child(i));
            match field {
                Some("body") => body = Some(child),
                _ if child.is_named() => redirects.push(child),
                _ => {}
            }
        }
        redirects.extend_from_slice(trailing);
        match body {
            // Bash applies them to the last command of a list or pipeline.
            Some(b) if matches!(b.kind(), "list" | "pipeline" | "redirected_statement") => {
                self.statement_with(b, cwd, stdin, depth + 1, &redirects)
            }
            _ => self.apply(body, &redirects, cwd, stdin, depth),
        }
    }

    /// Runs `body` with `redirects` applied to it.
    fn apply(
        &mut self,
        body: Option<Node<'_>>,
        redirects: &[Node<'_>],
        cwd: &Cwd,
        stdin: bool,
        depth: usize,
    ) -> Flow {
        let feeds = redirects.iter().any(|r| self.feeds_stdin(*r));
        for r in redirects {
            self.redirect(*r, cwd, stdin, depth + 1);
        }
        let mut flow = match body {
            Some(b) => self.statement(b, cwd, stdin || feeds, depth + 1),
            None => Flow::same(cwd),
        };
        for r in redirects.iter().filter(|r| r.kind() == "heredoc_redirect") {
            let mut cursor = r.walk();
            for child in r.named_children(&mut cursor) {
                if child.kind() == "pipeline" {
                    // `cat <<EOF | sh`: what the body prints feeds the pipeline.
                    let mut inner = child.walk();
                    for st in child.named_children(&mut inner) {
                        if is_statement(st.kind()) {
                            self.statement(st, cwd, true, depth + 1);
                        } else {
                            self.expr(st, cwd, true, depth + 1);
                        }
                    }
                }
            }
            if let Some(right) = r.child_by_field_name("right") {
                let op = r.child_by_field_name("operator").map(|o| o.kind());
                flow = match op {
                    Some("&&") => {
                        let next = self.statement(right, &flow.ok, stdin, depth + 1);
                        Flow {
                            ok: next.ok,
                            fail: flow.fail.union(&next.fail),
                        }
                    }
                    Some("||") => {
                        let next = self.statement(right, &flow.fail, stdin, depth + 1);
                        Flow {
                            ok: flow.ok.union(&next.ok),
                            fail: next.fail,
                        }
                    }
                    _ => self.statement(right, &flow.any(), stdin, depth + 1),
                };
            }
        }
        flow
    }

    /// Whether a redirection puts data on standard input (`<`, `<<`, `<<<`).
    fn feeds_stdin(&self, r: Node<'_>) -> bool {
        match r.kind() {
            "heredoc_redirect" | "herestring_redirect" => true,
            "file_redirect" => {
                let (op, descriptor, _) = self.redirect_parts(r);
                matches!(op, Some("<" | "<&")) && descriptor.is_none_or(|d| d == "0")
            }
            _ => false,
        }
    }

    /// A redirection's operator, file descriptor and destination nodes.
    fn redirect_parts<'t>(&self, r: Node<'t>) -> (Option<&'t str>, Option<String>, Vec<Node<'t>>) {
        let mut op = None;
        let mut descriptor = None;
        let mut destinations = Vec::new();
        let mut cursor = r.walk();
        for (i, child) in r.children(&mut cursor).enumerate() {
            let field = u32::try_from(i)
                .ok()
                .and_then(|i| r.field_name_for_child(i));
            match field {
                Some("descriptor") => descriptor = Some(self.text(child).to_owned()),
                Some("destination") => destinations.push(child),
                _ if !child.is_named() && op.is_none() => op = Some(child.kind()),
                _ => {}
            }
        }
        (op, descriptor, destinations)
    }

    fn redirect(&mut self, r: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) {
        if self.too_deep(depth) {
            return;
        }
        match r.kind() {
            "file_redirect" => self.file_redirect(r, cwd, stdin, depth),
            "heredoc_redirect" => {
                // `<<'EOF'`, `<<"EOF"` and `<<\EOF` keep the body literal.
                let start = r
                    .named_children(&mut r.walk())
                    .find(|c| c.kind() == "heredoc_start")
                    .map(|start| self.text(start).to_owned())
                    .unwrap_or_default();
                let quoted = start.contains(['\'', '"', '\\']);
                let delimiter = start.replace(['\'', '"', '\\'], "");
                let end = r
                    .named_children(&mut r.walk())
                    .find(|c| c.kind() == "heredoc_end")
                    .map(|end| self.text(end).to_owned());
                let ends_right = end.is_some_and(|end| {
                    end.trim_start_matches('\t').trim_end_matches(['\n', '\r']) == delimiter
                });
                if !ends_right {
                    // A heredoc that runs to the end of the command, or one the parser
                    // ended elsewhere than bash would.
                    self.out.push_unanalysable(format!(
                        "the heredoc `{}` does not end with its delimiter line",
                        short(&start)
                    ));
                }
                let mut cursor = r.walk();
                for child in r.named_children(&mut cursor) {
                    match child.kind() {
                        "heredoc_body" if quoted => {}
                        "heredoc_body" => {
                            self.heredoc_body(child);
                            self.expr(child, cwd, stdin, depth + 1);
                        }
                        "file_redirect" | "herestring_redirect" => {
                            self.redirect(child, cwd, stdin, depth + 1);
                        }
                        // Handled by `redirected`, which knows what they follow.
                        "pipeline" => {}
                        _ if r
                            .child_by_field_name("right")
                            .is_some_and(|right| right.id() == child.id()) => {}
                        _ => self.expr(child, cwd, stdin, depth + 1),
                    }
                }
            }
            _ => self.expr(r, cwd, stdin, depth + 1),
        }
    }

    fn file_redirect(&mut self, r: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) {
        let (op, _, destinations) = self.redirect_parts(r);
        let mut cursor = r.walk();
        let mut previous_end = None;
        for child in r.children(&mut cursor) {
            if let Some(end) = previous_end
                && self.ends_a_line(end, child.start_byte())
            {
                // The parser carried the redirection over a newline, which ends it.
                self.out.push_unanalysable(format!(
                    "the parser read `{}` across a line end",
                    short(self.text(r))
                ));
            }
            previous_end = Some(child.end_byte());
        }
        for d in &destinations {
            self.expr(*d, cwd, stdin, depth + 1);
        }
        if destinations.len() > 1 {
            // tree-sitter-bash gives `echo > f rm x` the target `f rm x`; bash writes to
            // `f` and passes `rm x` on as words of the command (`x=1 >f rm` runs `rm`).
            self.out.push_unanalysable(format!(
                "the parser read the words after `{}` as its target, which bash would not",
                short(self.text(r))
            ));
        }
        let Some(op) = op else { return };
        if matches!(op, ">&" | "<&")
            && destinations
                .iter()
                .any(|d| self.text(*d).contains(['$', '`']))
        {
            // Bash expands the target of `>&` a second time when it is not a number:
            // `echo >& '$(cmd)'` runs `cmd`, single quotes or not.
            self.out.push_unanalysable(format!(
                "bash expands the target of `{}` twice",
                short(self.text(r))
            ));
        }
        if !op.contains('>') || destinations.is_empty() {
            return;
        }
        if destinations
            .iter()
            .any(|d| d.kind() == "process_substitution")
        {
            // `> >(cmd)`: a pipe, not a file; the command was walked above.
            return;
        }
        let Some(first) = destinations.first() else {
            return;
        };
        let target = word::value(*first, self.src);
        if op == ">&"
            && !target.dynamic
            && (target.text == "-" || target.text.bytes().all(|b| b.is_ascii_digit()))
        {
            // `>&2`, `1>&-`: duplicating or closing a descriptor.
            return;
        }
        let raw = self.text(r).to_owned();
        self.push_write(target, &raw, cwd);
    }

    fn push_write(&mut self, target: Word, raw: &str, cwd: &Cwd) {
        if !target.dynamic && is_harmless_device(&target.text) {
            return;
        }
        fn add(w: WriteRedirect, out: &mut ShellAnalysis) {
            if !out.writes.contains(&w) {
                out.writes.push(w);
            }
        }
        if target.dynamic {
            self.out.push_unanalysable(format!(
                "it writes to `{}`, a path known only when it runs",
                short(raw)
            ));
            add(
                WriteRedirect {
                    target: target.text,
                    dir: None,
                    dynamic: true,
                    raw: raw.to_owned(),
                },
                self.out,
            );
            return;
        }
        let absolute = target.text.starts_with('/') || target.text.starts_with('~');
        match cwd {
            Cwd::Unknown => {
                self.out.push_unanalysable(format!(
                    "it writes to `{}` after changing to a directory known only when it runs",
                    short(raw)
                ));
                add(
                    WriteRedirect {
                        target: target.text,
                        dir: None,
                        dynamic: !absolute,
                        raw: raw.to_owned(),
                    },
                    self.out,
                );
            }
            Cwd::Known(dirs) => {
                for dir in dirs {
                    add(
                        WriteRedirect {
                            target: target.text.clone(),
                            dir: if absolute { None } else { dir.clone() },
                            dynamic: false,
                            raw: raw.to_owned(),
                        },
                        self.out,
                    );
                }
            }
        }
    }

    /// `NAME=value`: a variable that changes what runs is unanalysable; the value may
    /// hold substitutions.
    fn assignment(&mut self, node: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) {
        if let Some(name_node) = node.child_by_field_name("name") {
            let name = self.text(name_node).to_owned();
            let base = name.split('[').next().unwrap_or_default();
            if cuervo_domain::shell::is_dangerous_variable(base) {
                self.out.push_unanalysable(format!(
                    "it sets `{base}`, which changes what programs run"
                ));
            }
            if name_node.kind() == "subscript" {
                self.subscript(name_node);
                self.expr(name_node, cwd, stdin, depth + 1);
            }
        }
        if let Some(value) = node.child_by_field_name("value") {
            self.expr(value, cwd, stdin, depth + 1);
        }
    }

    /// Walks a word or expression for the commands substitutions in it run.
    fn expr(&mut self, node: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) {
        if matches!(
            node.kind(),
            "word" | "simple_expansion" | "variable_name" | "number" | "special_variable_name"
        ) && has_unescaped_blank(self.text(node))
        {
            // tree-sitter-bash reads `echo\n\\rm` as `echo` with the argument
            // `\n\\rm`; bash runs `rm` on the second line.
            self.out.push_unanalysable(format!(
                "the parser read `{}` as one word, which bash would split",
                short(self.text(node))
            ));
        }
        if (node.kind() == "word" && hides_substitution(self.text(node)))
            || (node.kind() == "string" && self.string_hides_substitution(node))
        {
            // Text the parser left unparsed though bash substitutes in it
            // (`${x:-`cmd`}`, backticks in a heredoc).
            self.out.push_unanalysable(format!(
                "`{}` holds a command substitution the parser did not see",
                short(self.text(node))
            ));
        }
        if node.child_count() == 0 || self.too_deep(depth) {
            return;
        }
        if matches!(node.kind(), "concatenation" | "command_name") {
            // tree-sitter-bash reads "`a` `b`" as one substitution holding a command
            // named "a` `b": a backtick as a bare token means it lost track.
            let mut cursor = node.walk();
            if node
                .children(&mut cursor)
                .any(|c| !c.is_named() && self.text(c).contains('`'))
            {
                self.out.push_unanalysable(format!(
                    "the parser lost track of the backticks in `{}`",
                    short(self.text(node))
                ));
            }
        }
        match node.kind() {
            "arithmetic_expansion" => self.arithmetic(node),
            "expansion" => self.expansion(node),
            "subscript" => self.subscript(node),
            "test_command" => self.test(node),
            _ => {}
        }
        match node.kind() {
            "command_substitution" if node.child(0).is_some_and(|c| c.kind() == "`") => {
                // Inside backticks bash removes the backslash before `\`, `` ` `` and
                // `$`, then parses what is left: `` `echo \`id\`` `` runs `id`.
                let text = self.text(node);
                let inner = text
                    .strip_prefix('`')
                    .and_then(|t| t.strip_suffix('`'))
                    .unwrap_or_default();
                if inner.contains('\\') {
                    let unescaped = unescape_backticks(inner);
                    analyse_script(
                        &unescaped,
                        cwd,
                        stdin,
                        self.script_depth + 1,
                        depth + 1,
                        self.out,
                    );
                } else {
                    self.sequence(node, cwd, stdin, depth + 1);
                }
            }
            "command_substitution" => {
                self.sequence(node, cwd, stdin, depth + 1);
            }
            "process_substitution" => {
                // `>(cmd)` reads what is written to it.
                let feeds = node.child(0).is_some_and(|c| c.kind() == ">(");
                self.sequence(node, cwd, stdin || feeds, depth + 1);
            }
            "file_redirect" | "herestring_redirect" | "heredoc_redirect" => {
                self.redirect(node, cwd, stdin, depth + 1);
            }
            _ => {
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    if is_statement(child.kind()) {
                        self.statement(child, cwd, stdin, depth + 1);
                    } else {
                        self.expr(child, cwd, stdin, depth + 1);
                    }
                }
            }
        }
    }

    /// Whether a `"…"` string holds a substitution the parser did not take apart: its
    /// text with the substitutions it did find blanked out.
    fn string_hides_substitution(&self, node: Node<'_>) -> bool {
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
    fn joins_words(&self, from: usize, to: usize) -> bool {
        let gap = self.src.get(from..to).unwrap_or_default();
        !gap.is_empty() && gap.replace("\\\r\n", "").replace("\\\n", "").is_empty()
    }

    /// Whether the blank text between two words of a command holds a newline no
    /// backslash escapes.
    fn ends_a_line(&self, from: usize, to: usize) -> bool {
        let bytes = self.src.as_bytes();
        (from..to.min(bytes.len())).any(|i| bytes[i] == b'\n' && (i == 0 || bytes[i - 1] != b'\\'))
    }

    /// An unquoted heredoc's body is substituted like a double-quoted string; the parser
    /// finds `$(…)` in it but not backticks.
    fn heredoc_body(&mut self, body: Node<'_>) {
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
    fn arithmetic(&mut self, node: Node<'_>) {
        if !arithmetic_is_literal(node, self.src) {
            let text = short(self.text(node));
            self.out.push_unanalysable(format!(
                "`{text}` evaluates values known only when it runs as arithmetic, which can run commands"
            ));
        }
    }

    /// `${!x}` (indirection), `${x@P}` (prompt expansion runs substitutions), `${x:off}`
    /// (arithmetic offsets) and run-time subscripts can run code hidden in a variable.
    fn expansion(&mut self, node: Node<'_>) {
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
    fn subscript(&mut self, node: Node<'_>) {
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
    fn test(&mut self, node: Node<'_>) {
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

    fn command(&mut self, node: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) -> Flow {
        let mut words = Vec::new();
        let mut redirects = Vec::new();
        let mut cursor = node.walk();
        let mut previous_end = None;
        let mut previous_word_end = None;
        for (i, child) in node.children(&mut cursor).enumerate() {
            if let Some(end) = previous_end
                && self.joins_words(end, child.start_byte())
            {
                // `e\\\n=cho rm`: bash removes the line continuation and reads
                // `e=cho rm`; the parser took it for a blank.
                self.out.push_unanalysable(format!(
                    "a line continuation in `{}` joins words the parser read apart",
                    short(self.text(node))
                ));
            }
            if let Some(end) = previous_end
                && self.ends_a_line(end, child.start_byte())
            {
                // tree-sitter-bash glues `echo\n\\\ntouch p` into one command; bash
                // ends the command at the first newline.
                self.out.push_unanalysable(format!(
                    "the parser read `{}` as one command, which bash would split",
                    short(self.text(node))
                ));
            }
            previous_end = Some(child.end_byte());
            let field = u32::try_from(i)
                .ok()
                .and_then(|i| node.field_name_for_child(i));
            let is_word = matches!(field, Some("name" | "argument"));
            if is_word && previous_word_end == Some(child.start_byte()) {
                // Two words with nothing between them are one word to bash: the parser
                // split "r`cmd`m" into `r` and "`cmd`m", but bash runs `rm`.
                self.out.push_unanalysable(format!(
                    "the parser split `{}` into words bash reads as one",
                    short(self.text(node))
                ));
            }
            previous_word_end = is_word.then(|| child.end_byte());
            match field {
                Some("name" | "argument") => {
                    self.expr(child, cwd, stdin, depth + 1);
                    words.push(word::value(child, self.src));
                }
                Some("redirect") => redirects.push(child),
                _ if child.kind() == "variable_assignment" => {
                    self.assignment(child, cwd, stdin, depth + 1);
                }
                _ if is_statement(child.kind()) => {
                    self.statement(child, cwd, stdin, depth + 1);
                }
                _ if child.is_named() => self.expr(child, cwd, stdin, depth + 1),
                _ => {}
            }
        }
        let feeds = redirects.iter().any(|r| self.feeds_stdin(*r));
        for r in &redirects {
            self.redirect(*r, cwd, stdin, depth + 1);
        }
        let raw = self.text(node).to_owned();
        let normalised = normalise(&words, &raw, stdin || feeds);
        let flow = match normalised.commands.first() {
            Some(cmd) => change_dir(cmd, cwd),
            None => Flow::same(cwd),
        };
        self.out.commands.extend(normalised.commands);
        for reason in normalised.unanalysable {
            self.out.push_unanalysable(reason);
        }
        for target in normalised.writes {
            self.push_write(target, &raw, cwd);
        }
        for script in normalised.scripts {
            analyse_script(
                &script,
                cwd,
                stdin || feeds,
                self.script_depth + 1,
                depth + 1,
                self.out,
            );
        }
        flow
    }
}

/// Whether text bash would substitute in holds an unescaped backtick, `$(`, `${` or
/// `$[` the parser did not take apart (after line continuations are removed, as bash
/// does: `"$\\\n(cmd)"` runs `cmd`).
fn hides_substitution(text: &str) -> bool {
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
fn has_unescaped_blank(text: &str) -> bool {
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

/// The script inside backticks: `\\`, `` \` `` and `\$` lose their backslash.
fn unescape_backticks(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('\\' | '`' | '$')) {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
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

/// Where `cd`, `pushd` and `popd` leave the shell.
fn change_dir(cmd: &SimpleCommand, cwd: &Cwd) -> Flow {
    let Some(program) = cmd.program() else {
        return Flow::same(cwd);
    };
    if !matches!(program, "cd" | "pushd" | "popd" | "chdir") {
        return Flow::same(cwd);
    }
    let mut operand = None;
    let mut no_change = false;
    for (i, arg) in cmd.argv.iter().enumerate().skip(1) {
        if cmd.is_dynamic(i) {
            operand = Some(None);
            break;
        }
        match arg.as_str() {
            "--" => {}
            "-n" if program != "cd" => no_change = true,
            "-L" | "-P" | "-e" | "-@" => {}
            _ => {
                operand = Some(Some(arg.as_str()));
                break;
            }
        }
    }
    if no_change {
        return Flow::same(cwd);
    }
    let next = match (program, operand) {
        ("popd", _) | (_, Some(None) | None) => Cwd::Unknown,
        (_, Some(Some(dir))) if dir == "-" || dir.starts_with('+') || cmd.open_args => Cwd::Unknown,
        (_, Some(Some(dir))) if dir.starts_with('-') && program == "pushd" => Cwd::Unknown,
        (_, Some(Some(dir))) => cwd.enter(dir),
    };
    Flow {
        ok: next,
        fail: cwd.clone(),
    }
}

#[cfg(test)]
mod tests;
