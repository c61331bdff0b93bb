//! Redirections: which files a command writes (in which directories), and which
//! redirections feed its standard input.

use cuervo_domain::shell::{ShellAnalysis, Word, WriteRedirect, short};
use tree_sitter::Node;

use super::cwd::{Cwd, Flow};
use super::walk::is_statement;
use super::{Walker, word};

/// Files that writing to changes nothing.
fn is_harmless_device(target: &str) -> bool {
    matches!(
        target,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "/dev/fd/1" | "/dev/fd/2"
    )
}

impl Walker<'_> {
    /// A statement with redirections: `cmd > out`, `cat <<EOF | sh`.
    pub(super) fn redirected(
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
    pub(super) fn apply(
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
    pub(super) fn feeds_stdin(&self, r: Node<'_>) -> bool {
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

    pub(super) fn redirect(&mut self, r: Node<'_>, cwd: &Cwd, stdin: bool, depth: usize) {
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

    pub(super) fn push_write(&mut self, target: Word, raw: &str, cwd: &Cwd) {
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
}
