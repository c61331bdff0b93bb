//! The walk over statements (lists, pipelines, compound commands, functions), simple
//! commands, assignments and the words and substitutions inside them.

use cuervo_domain::shell::{normalise, short};
use tree_sitter::Node;

use super::cwd::{Cwd, Flow, change_dir};
use super::unanalysable::{has_unescaped_blank, hides_substitution};
use super::{Walker, analyse_script, word};

pub(super) fn is_statement(kind: &str) -> bool {
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

impl Walker<'_> {
    /// Statements one after another (a script, a group, a substitution's body).
    pub(super) fn sequence(
        &mut self,
        node: Node<'_>,
        cwd: &Cwd,
        stdin: bool,
        depth: usize,
    ) -> Flow {
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

    pub(super) fn statement(
        &mut self,
        node: Node<'_>,
        cwd: &Cwd,
        stdin: bool,
        depth: usize,
    ) -> Flow {
        self.statement_with(node, cwd, stdin, depth, &[])
    }

    /// A statement followed by redirections that bash applies to its last simple
    /// command: tree-sitter-bash hangs `a && b > f` and `a | b > f` on the whole list.
    pub(super) fn statement_with(
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

    /// `NAME=value`: a variable that changes what runs is unanalysable; the value may
    /// hold substitutions.
    fn assignment(&mut self, node: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) {
        if let Some(name_node) = node.child_by_field_name("name") {
            let name = self.text(name_node).to_owned();
            let base = name.split('[').next().unwrap_or_default();
            if let Some(reason) = cuervo_domain::shell::dangerous_assignment(base) {
                self.out.push_unanalysable(reason);
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
    pub(super) fn expr(&mut self, node: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) {
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
