//! Symbol extraction: one tree-sitter query per language finds the definitions, then
//! plain code nests them, attaches doc comments and collects top-level comment blocks.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Parser, Query, QueryCursor, StreamingIterator, Tree};

use super::language::{Language, Spec};
use super::{Result, SyntaxError};

/// What a symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    /// A free function (also a closure bound to a name: `const f = () => {}`).
    Function,
    /// A function that belongs to a type: inside a class, struct, interface, trait, impl or
    /// enum, a Go function with a receiver, a C++ `Foo::bar` defined out of its class.
    Method,
    Class,
    Struct,
    Interface,
    Trait,
    Enum,
    /// A Rust `impl` block; its name is `Type` or `Trait for Type`.
    Impl,
    /// A module or namespace (Rust `mod`, C++/C#/PHP `namespace`, TypeScript namespace,
    /// Ruby `module`).
    Module,
    /// A `macro_rules!` definition.
    Macro,
    /// A top-level comment block that documents no definition.
    Comment,
    /// A module's own documentation: Rust `//!`, a Python module docstring.
    DocComment,
}

impl SymbolKind {
    /// The lower-case name used in JSON and in outlines.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Interface => "interface",
            SymbolKind::Trait => "trait",
            SymbolKind::Enum => "enum",
            SymbolKind::Impl => "impl",
            SymbolKind::Module => "module",
            SymbolKind::Macro => "macro",
            SymbolKind::Comment => "comment",
            SymbolKind::DocComment => "doc_comment",
        }
    }

    /// Whether this kind is a comment rather than a definition.
    pub fn is_comment(self) -> bool {
        matches!(self, SymbolKind::Comment | SymbolKind::DocComment)
    }

    /// Whether a function directly inside a symbol of this kind is a method.
    fn owns_methods(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Interface
                | SymbolKind::Trait
                | SymbolKind::Enum
                | SymbolKind::Impl
        )
    }

    fn from_capture(name: &str) -> Option<SymbolKind> {
        Some(match name {
            "function" => SymbolKind::Function,
            "method" => SymbolKind::Method,
            "class" => SymbolKind::Class,
            "struct" => SymbolKind::Struct,
            "interface" => SymbolKind::Interface,
            "trait" => SymbolKind::Trait,
            "enum" => SymbolKind::Enum,
            "impl" => SymbolKind::Impl,
            "module" => SymbolKind::Module,
            "macro" => SymbolKind::Macro,
            _ => return None,
        })
    }
}

impl fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A definition or top-level comment block found in a source file.
///
/// Lines are 1-based and inclusive; bytes are 0-based offsets into the source, end
/// exclusive. The range covers the definition with its attributes, decorators and
/// `export`/`template<…>` wrapper, but not its doc comment (see [`Symbol::doc`]).
/// [`symbols`] returns symbols in source order, each parent before its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    /// The name of the type or scope it belongs to: the enclosing class, impl type, module
    /// or function, a Go method's receiver type, `Foo` for C++ `Foo::bar`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Index of the enclosing symbol in the same list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<usize>,
    /// Nesting depth in the outline (0 at top level).
    pub depth: usize,
    pub start_line: usize,
    pub end_line: usize,
    pub start_byte: usize,
    pub end_byte: usize,
    /// The declaration up to its body, whitespace collapsed (`pub fn run(&self) -> u32`,
    /// `export class Foo extends Base`, `@dataclass class Item:`), at most
    /// [`SIGNATURE_MAX`] bytes; attributes such as Rust's `#[derive]` are left out. For a
    /// comment, its first line.
    pub signature: String,
    /// Byte range of the body that a collapsed chunk elides, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Range<usize>>,
    /// The comment block right above the definition (no blank line between), or a Python
    /// docstring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<Doc>,
}

/// A symbol's documentation: markers (`///`, `#`, `/** */`, `"""`) stripped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    pub text: String,
    pub start_line: usize,
    pub end_line: usize,
    pub start_byte: usize,
    pub end_byte: usize,
}

/// Longest [`Symbol::signature`], in bytes.
pub const SIGNATURE_MAX: usize = 240;

/// Longest name given to a comment symbol (its first line), in bytes.
const COMMENT_NAME_MAX: usize = 60;

/// Parses `source` as `lang` and returns its symbols in source order.
///
/// Errors only when the language's grammar is not compiled in or the parser gives up;
/// syntax errors in the source are tolerated (tree-sitter recovers and the symbols it
/// still recognises are returned).
pub fn symbols(lang: Language, source: &str) -> Result<Vec<Symbol>> {
    let query = compiled_query(lang)?;
    let grammar = lang
        .grammar()
        .ok_or(SyntaxError::LanguageUnavailable(lang))?;
    WORKER.with(|cell| {
        let mut worker = cell.borrow_mut();
        let Worker { parser, cursor } = &mut *worker;
        parser
            .set_language(&grammar)
            .map_err(|e| SyntaxError::Grammar {
                language: lang,
                message: e.to_string(),
            })?;
        let tree = parser.parse(source, None).ok_or(SyntaxError::Parse(lang))?;
        Ok(Extractor::new(lang, source, query).run(&tree, cursor))
    })
}

/// Parses `source` and returns the tree, for callers that want more than symbols.
pub fn parse(lang: Language, source: &str) -> Result<Tree> {
    let grammar = lang
        .grammar()
        .ok_or(SyntaxError::LanguageUnavailable(lang))?;
    WORKER.with(|cell| {
        let mut worker = cell.borrow_mut();
        worker
            .parser
            .set_language(&grammar)
            .map_err(|e| SyntaxError::Grammar {
                language: lang,
                message: e.to_string(),
            })?;
        worker
            .parser
            .parse(source, None)
            .ok_or(SyntaxError::Parse(lang))
    })
}

/// A parser and query cursor per thread, reused from file to file (rayon's threads each
/// get their own).
struct Worker {
    parser: Parser,
    cursor: QueryCursor,
}

thread_local! {
    static WORKER: RefCell<Worker> =
        RefCell::new(Worker { parser: Parser::new(), cursor: QueryCursor::new() });
}

/// What a query capture means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Definition(SymbolKind),
    Name,
    Declarator,
    Body,
    Container,
    Trait,
    Other,
}

pub(crate) struct CompiledQuery {
    query: Query,
    roles: Vec<Role>,
}

/// The language's query, compiled once per process.
pub(crate) fn compiled_query(lang: Language) -> Result<&'static CompiledQuery> {
    static QUERIES: [OnceLock<std::result::Result<CompiledQuery, String>>; 13] =
        [const { OnceLock::new() }; 13];
    let slot = Language::ALL
        .iter()
        .position(|l| *l == lang)
        .unwrap_or_default();
    let compiled = QUERIES[slot].get_or_init(|| {
        let grammar = lang
            .grammar()
            .ok_or_else(|| "grammar not compiled in".to_owned())?;
        let query = Query::new(&grammar, lang.spec().query).map_err(|e| e.to_string())?;
        let roles = query
            .capture_names()
            .iter()
            .map(|name| match *name {
                "name" => Role::Name,
                "declarator" => Role::Declarator,
                "body" => Role::Body,
                "container" => Role::Container,
                "trait" => Role::Trait,
                other => other
                    .strip_prefix("definition.")
                    .and_then(SymbolKind::from_capture)
                    .map_or(Role::Other, Role::Definition),
            })
            .collect();
        Ok(CompiledQuery { query, roles })
    });
    match compiled {
        Ok(q) => Ok(q),
        Err(_) if !lang.is_available() => Err(SyntaxError::LanguageUnavailable(lang)),
        Err(message) => Err(SyntaxError::Query {
            language: lang,
            message: message.clone(),
        }),
    }
}

/// A definition found by the query, before nesting.
struct Found<'t> {
    kind: SymbolKind,
    name: String,
    /// Explicit container (Go receiver, C++ qualified name).
    container: Option<String>,
    /// What children see as their container (an impl's type without generics).
    scope: String,
    /// The node the query matched.
    node: Node<'t>,
    /// Where the signature starts: the definition with its wrappers (`export`,
    /// `template<…>`, decorators), without attributes.
    sig_start: usize,
    /// Start of the symbol with wrappers and prefixes; end with wrappers.
    start: usize,
    end: usize,
    /// The first node of the symbol among its siblings (wrapper or attribute).
    first: Node<'t>,
    body: Option<Range<usize>>,
}

struct Extractor<'s> {
    lang: Language,
    spec: &'static Spec,
    src: &'s str,
    query: &'static CompiledQuery,
    lines: LineIndex<'s>,
}

impl<'s> Extractor<'s> {
    fn new(lang: Language, src: &'s str, query: &'static CompiledQuery) -> Self {
        Self {
            lang,
            spec: lang.spec(),
            src,
            query,
            lines: LineIndex::new(src),
        }
    }

    fn text(&self, node: Node<'_>) -> &'s str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    fn run(&self, tree: &Tree, cursor: &mut QueryCursor) -> Vec<Symbol> {
        let root = tree.root_node();
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        let mut matches = cursor.matches(&self.query.query, root, self.src.as_bytes());
        while let Some(m) = matches.next() {
            if let Some(f) = self.found(m.captures)
                && seen.insert(f.node.id())
            {
                found.push(f);
            }
        }
        drop(matches);
        found.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));

        let mut used_comments = HashSet::new();
        let mut symbols: Vec<(Symbol, String)> = Vec::with_capacity(found.len());
        for f in &found {
            let doc = self
                .docstring(f)
                .or_else(|| self.leading_comments(f.first, f.start, &mut used_comments));
            let symbol = Symbol {
                name: f.name.clone(),
                kind: f.kind,
                container: f.container.clone(),
                parent: None,
                depth: 0,
                start_line: self.lines.line_of(f.start),
                end_line: self.lines.end_line_of(f.start, f.end),
                start_byte: f.start,
                end_byte: f.end,
                signature: self.signature(f),
                body: f.body.clone(),
                doc,
            };
            symbols.push((symbol, f.scope.clone()));
        }
        symbols.extend(
            self.top_level_comments(root, &used_comments)
                .into_iter()
                .map(|s| (s, String::new())),
        );
        symbols.sort_by(|(a, _), (b, _)| {
            a.start_byte
                .cmp(&b.start_byte)
                .then(b.end_byte.cmp(&a.end_byte))
        });
        self.nest(symbols)
    }

    /// Turns one query match into a definition, or `None` when it is not one.
    fn found<'t>(&self, captures: &[tree_sitter::QueryCapture<'t>]) -> Option<Found<'t>> {
        let mut def = None;
        let (mut name, mut declarator, mut body, mut container, mut trait_) =
            (None, None, None, None, None);
        for c in captures {
            match self
                .query
                .roles
                .get(c.index as usize)
                .copied()
                .unwrap_or(Role::Other)
            {
                Role::Definition(kind) => def = Some((kind, c.node)),
                Role::Name => name = Some(c.node),
                Role::Declarator => declarator = Some(c.node),
                Role::Body => body = Some(c.node),
                Role::Container => container = Some(c.node),
                Role::Trait => trait_ = Some(c.node),
                Role::Other => {}
            }
        }
        let (mut kind, node) = def?;
        if self.rejected(node) {
            return None;
        }
        let mut container = container.map(|n| strip_generics(&collapse_ws(self.text(n))));
        let (name, scope) = if let Some(decl) = declarator {
            let (qualifier, name) = self.declarator_name(decl)?;
            if let Some(q) = qualifier {
                kind = SymbolKind::Method;
                container = Some(strip_generics(&q));
            }
            (name.clone(), name)
        } else {
            let name_node = name?;
            let text = collapse_ws(self.text(name_node));
            match trait_ {
                Some(t) => {
                    let trait_name = collapse_ws(self.text(t));
                    (format!("{trait_name} for {text}"), strip_generics(&text))
                }
                None if kind == SymbolKind::Impl => (text.clone(), strip_generics(&text)),
                None => (text.clone(), text),
            }
        };
        if name.is_empty() {
            return None;
        }
        let body = body
            .or_else(|| node.child_by_field_name("body"))
            .map(|b| b.byte_range());

        // Grow over wrappers that hold only this definition, then over prefix siblings.
        let mut outer = node;
        while let Some(parent) = outer.parent() {
            if !self.spec.wrappers.contains(&parent.kind()) || !holds_one(parent, outer) {
                break;
            }
            outer = parent;
        }
        let mut first = outer;
        while let Some(prev) = first.prev_sibling() {
            if self.spec.prefixes.contains(&prev.kind()) {
                first = prev;
            } else if self.spec.comments.contains(&prev.kind())
                && prev
                    .prev_sibling()
                    .is_some_and(|p| self.spec.prefixes.contains(&p.kind()))
                && self.lines.line_of(prev.start_byte()) + 1
                    >= self.lines.line_of(first.start_byte())
            {
                // A comment between attributes belongs to the definition too.
                first = prev;
            } else {
                break;
            }
        }
        Some(Found {
            kind,
            name,
            container,
            scope,
            node,
            sig_start: outer.start_byte(),
            start: first.start_byte(),
            end: outer.end_byte(),
            first,
            body,
        })
    }

    fn rejected(&self, node: Node<'_>) -> bool {
        self.spec.reject_inside.iter().any(|(kind, ancestor)| {
            if node.kind() != *kind {
                return false;
            }
            let mut p = node.parent();
            while let Some(n) = p {
                if n.kind() == *ancestor {
                    return true;
                }
                p = n.parent();
            }
            false
        })
    }

    /// The innermost name of a C/C++ declarator, split into `(qualifier, name)` when it is
    /// qualified (`ns::Foo::bar` → `(Some("ns::Foo"), "bar")`).
    fn declarator_name(&self, decl: Node<'_>) -> Option<(Option<String>, String)> {
        let mut node = decl;
        for _ in 0..16 {
            if let Some(inner) = node.child_by_field_name("declarator") {
                node = inner;
            } else if matches!(
                node.kind(),
                "reference_declarator" | "parenthesized_declarator"
            ) {
                node = node.named_child(node.named_child_count().checked_sub(1)?)?;
            } else {
                break;
            }
        }
        let text = collapse_ws(self.text(node));
        if node.kind() == "qualified_identifier"
            && let Some((scope, name)) = split_qualified(&text)
        {
            return Some((Some(scope.to_owned()), name.to_owned()));
        }
        matches!(
            node.kind(),
            "identifier"
                | "field_identifier"
                | "destructor_name"
                | "operator_name"
                | "template_function"
                | "template_method"
                | "qualified_identifier"
                | "operator_cast"
        )
        .then_some((None, text))
    }

    fn signature(&self, f: &Found<'_>) -> String {
        let start = f.sig_start;
        let end = match &f.body {
            Some(b) if b.start >= start && b.start <= f.node.end_byte() => b.start,
            _ => f.node.end_byte(),
        };
        let text = collapse_ws(self.src.get(start..end).unwrap_or(""));
        truncate(text.trim_end_matches(['{', ' ']).to_owned(), SIGNATURE_MAX)
    }

    /// A Python docstring: the first statement of the body when it is a string.
    fn docstring(&self, f: &Found<'_>) -> Option<Doc> {
        if !self.spec.docstrings {
            return None;
        }
        let body = f.node.child_by_field_name("body")?;
        let string = docstring_node(body)?;
        Some(self.doc_from(string.start_byte(), string.end_byte()))
    }

    /// The comment block right above `first` (each comment on its own line, no blank line
    /// between), recording the comments it uses.
    fn leading_comments(
        &self,
        first: Node<'_>,
        start: usize,
        used: &mut HashSet<usize>,
    ) -> Option<Doc> {
        let mut line = self.lines.line_of(start);
        let mut doc_start = None;
        let mut doc_end = 0;
        let mut prev = first.prev_sibling();
        while let Some(c) = prev {
            if !self.spec.comments.contains(&c.kind()) || is_shebang(c, self.src) {
                break;
            }
            let end_line = self.lines.end_line_of(c.start_byte(), c.end_byte());
            if end_line + 1 < line || !self.lines.starts_line(c.start_byte()) {
                break;
            }
            // Rust inner docs (`//!`) document the enclosing module, not the next item.
            if is_inner_doc(self.text(c)) {
                break;
            }
            if doc_start.is_none() {
                doc_end = c.end_byte();
            }
            doc_start = Some(c);
            used.insert(c.id());
            line = self.lines.line_of(c.start_byte());
            prev = c.prev_sibling();
        }
        let first_comment = doc_start?;
        Some(self.doc_from(first_comment.start_byte(), doc_end))
    }

    fn doc_from(&self, start: usize, end: usize) -> Doc {
        Doc {
            text: clean_comment(self.src.get(start..end).unwrap_or("")),
            start_line: self.lines.line_of(start),
            end_line: self.lines.end_line_of(start, end),
            start_byte: start,
            end_byte: end,
        }
    }

    /// Comment blocks among the root's children that document no definition, and a
    /// Python module docstring.
    fn top_level_comments(&self, root: Node<'_>, used: &HashSet<usize>) -> Vec<Symbol> {
        let mut out = Vec::new();
        if self.spec.docstrings
            && let Some(string) = docstring_node(root)
        {
            out.push(self.comment_symbol(
                string.start_byte(),
                string.end_byte(),
                SymbolKind::DocComment,
            ));
        }
        let mut block: Option<(usize, usize, bool)> = None; // start, end, inner doc
        let mut cursor = root.walk();
        for child in root.children(&mut cursor) {
            let is_comment = self.spec.comments.contains(&child.kind())
                && !used.contains(&child.id())
                && !is_shebang(child, self.src);
            if !is_comment {
                if let Some((s, e, inner)) = block.take() {
                    out.push(self.comment_symbol(s, e, comment_kind(inner)));
                }
                continue;
            }
            let inner = self.lang == Language::Rust && is_inner_doc(self.text(child));
            let joins = block.is_some_and(|(_, e, block_inner)| {
                block_inner == inner
                    && self.lines.line_of(child.start_byte())
                        <= self.lines.end_line_of(e.saturating_sub(1), e) + 1
                    && self
                        .src
                        .get(e..child.start_byte())
                        .is_some_and(|gap| gap.trim().is_empty())
            });
            match (&mut block, joins) {
                (Some((_, e, _)), true) => *e = child.end_byte(),
                _ => {
                    if let Some((s, e, inner)) = block.take() {
                        out.push(self.comment_symbol(s, e, comment_kind(inner)));
                    }
                    if self.lines.starts_line(child.start_byte()) {
                        block = Some((child.start_byte(), child.end_byte(), inner));
                    }
                }
            }
        }
        if let Some((s, e, inner)) = block {
            out.push(self.comment_symbol(s, e, comment_kind(inner)));
        }
        out
    }

    fn comment_symbol(&self, start: usize, end: usize, kind: SymbolKind) -> Symbol {
        let raw = self.src.get(start..end).unwrap_or("");
        let text = clean_comment(raw);
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        Symbol {
            name: truncate(first.to_owned(), COMMENT_NAME_MAX),
            kind,
            container: None,
            parent: None,
            depth: 0,
            start_line: self.lines.line_of(start),
            end_line: self.lines.end_line_of(start, end),
            start_byte: start,
            end_byte: end,
            signature: truncate(
                raw.lines().next().unwrap_or("").trim().to_owned(),
                SIGNATURE_MAX,
            ),
            body: None,
            doc: None,
        }
    }

    /// Links each symbol to the innermost one containing it; a function directly inside a
    /// type becomes a method and every symbol learns its container's name.
    fn nest(&self, items: Vec<(Symbol, String)>) -> Vec<Symbol> {
        let mut out: Vec<Symbol> = Vec::with_capacity(items.len());
        let mut scopes: Vec<String> = Vec::with_capacity(items.len());
        let mut stack: Vec<usize> = Vec::new();
        for (mut sym, scope) in items {
            while let Some(&top) = stack.last() {
                if out[top].end_byte >= sym.end_byte && out[top].start_byte <= sym.start_byte {
                    break;
                }
                stack.pop();
            }
            if let Some(&parent) = stack.last() {
                let pk = out[parent].kind;
                sym.parent = Some(parent);
                sym.depth = out[parent].depth + 1;
                if sym.container.is_none() {
                    sym.container = Some(scopes[parent].clone());
                }
                if sym.kind == SymbolKind::Function
                    && (pk.owns_methods()
                        || (pk == SymbolKind::Module && self.spec.module_members_are_methods))
                {
                    sym.kind = SymbolKind::Method;
                }
            } else if sym.kind == SymbolKind::Function && sym.container.is_some() {
                sym.kind = SymbolKind::Method;
            }
            if !sym.kind.is_comment() {
                stack.push(out.len());
            }
            out.push(sym);
            scopes.push(scope);
        }
        out
    }
}

fn comment_kind(inner_doc: bool) -> SymbolKind {
    if inner_doc {
        SymbolKind::DocComment
    } else {
        SymbolKind::Comment
    }
}

/// Whether `parent` holds no other node of `child`'s kind (so it wraps just this one).
fn holds_one(parent: Node<'_>, child: Node<'_>) -> bool {
    let mut cursor = parent.walk();
    parent
        .named_children(&mut cursor)
        .filter(|n| n.kind() == child.kind())
        .count()
        == 1
}

/// The string that is the first statement of `block` (a Python docstring).
fn docstring_node(block: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = block.walk();
    let first = block
        .named_children(&mut cursor)
        .find(|n| n.kind() != "comment")?;
    if first.kind() != "expression_statement" || first.named_child_count() != 1 {
        return None;
    }
    let string = first.named_child(0)?;
    (string.kind() == "string").then_some(string)
}

fn is_shebang(node: Node<'_>, src: &str) -> bool {
    node.start_byte() == 0 && src.starts_with("#!")
}

fn is_inner_doc(text: &str) -> bool {
    text.starts_with("//!") || text.starts_with("/*!")
}

/// `a::b::c` → `("a::b", "c")`, ignoring `::` inside template arguments.
fn split_qualified(text: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let bytes = text.as_bytes();
    let mut split = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            b'>' => depth -= 1,
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                split = Some(i);
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    let at = split?;
    Some((text.get(..at)?, text.get(at + 2..)?))
}

/// `Foo<T>` → `Foo`, `*Server` → `Server`, `&mut Foo` → `Foo`.
fn strip_generics(text: &str) -> String {
    let t = text
        .trim_start_matches(['*', '&'])
        .trim_start_matches("mut ")
        .trim();
    t.split('<').next().unwrap_or(t).trim().to_owned()
}

/// Runs of whitespace become one space.
pub(crate) fn collapse_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut with `...`.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut cut = max.saturating_sub(3);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push_str("...");
    s
}

/// Comment text without its markers: `///`, `//!`, `//`, `#`, `/* */`, leading ` * `,
/// Python string quotes.
pub(crate) fn clean_comment(raw: &str) -> String {
    let mut text = raw.trim();
    for quote in ["\"\"\"", "'''"] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return dedent(inner);
        }
    }
    let mut lines = Vec::new();
    let block = text.starts_with("/*");
    if block {
        text = text.trim_start_matches("/*").trim_start_matches(['*', '!']);
        text = text.strip_suffix("*/").unwrap_or(text);
    }
    for line in text.lines() {
        let l = line.trim();
        let l = if block {
            l.strip_prefix('*').map_or(l, str::trim_start)
        } else {
            let l = l
                .strip_prefix("///")
                .or_else(|| l.strip_prefix("//!"))
                .or_else(|| l.strip_prefix("//"))
                .or_else(|| l.strip_prefix('#'))
                .unwrap_or(l);
            l.strip_prefix(' ').unwrap_or(l)
        };
        lines.push(l.trim_end());
    }
    if lines.iter().any(|l| l.contains("<summary>")) {
        // C# XML docs: the summary tags say nothing.
        for l in &mut lines {
            *l = l
                .trim_start_matches("<summary>")
                .trim_end_matches("</summary>")
                .trim();
        }
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<&str> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = if i == 0 {
            line.trim()
        } else {
            line.get(indent..).unwrap_or(line.trim())
        };
        out.push(l.trim_end());
    }
    while out.first().is_some_and(|l| l.is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// Byte offset → 1-based line number, over one source.
#[derive(Debug)]
pub(crate) struct LineIndex<'s> {
    src: &'s str,
    starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        let mut starts = Vec::with_capacity(src.len() / 32 + 1);
        starts.push(0);
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Self { src, starts }
    }

    /// The line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    /// The last line of the range `start..end`: a range that ends right after a newline
    /// ends on that newline's line.
    pub(crate) fn end_line_of(&self, start: usize, end: usize) -> usize {
        if end > start {
            self.line_of(end - 1)
        } else {
            self.line_of(start)
        }
    }

    /// First byte of 1-based `line` (the source's length past the last line).
    pub(crate) fn line_start(&self, line: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.src.len())
    }

    /// Byte just past the last character of 1-based `line`, before its line break.
    pub(crate) fn line_end(&self, line: usize) -> usize {
        let start = self.line_start(line);
        let next = self.starts.get(line).copied().unwrap_or(self.src.len());
        let text = self.src.get(start..next).unwrap_or("");
        start + text.trim_end_matches(['\n', '\r']).len()
    }

    /// Whether only spaces and tabs come before `offset` on its line.
    pub(crate) fn starts_line(&self, offset: usize) -> bool {
        let start = self.line_start(self.line_of(offset));
        self.src
            .get(start..offset)
            .is_some_and(|p| p.bytes().all(|b| b == b' ' || b == b'\t'))
    }
}

#[cfg(all(test, feature = "all-languages"))]
mod tests {
    use super::*;

    #[test]
    fn every_query_compiles() {
        for lang in Language::ALL {
            if let Err(e) = compiled_query(lang) {
                panic!("{lang}: {e}");
            }
        }
    }

    #[test]
    fn comments_lose_their_markers() {
        assert_eq!(clean_comment("/// One.\n/// Two."), "One.\nTwo.");
        assert_eq!(clean_comment("//! Crate."), "Crate.");
        assert_eq!(
            clean_comment("/**\n * Adds.\n *\n * @param x\n */"),
            "Adds.\n\n@param x"
        );
        assert_eq!(clean_comment("/* plain */"), "plain");
        assert_eq!(clean_comment("# hash\n#\n# more"), "hash\n\nmore");
        assert_eq!(
            clean_comment("\"\"\"Doc.\n\n    Indented.\n    \"\"\""),
            "Doc.\n\nIndented."
        );
        assert_eq!(
            clean_comment("/// <summary>\n/// Runs.\n/// </summary>"),
            "Runs."
        );
    }

    #[test]
    fn names_split_and_strip() {
        assert_eq!(
            split_qualified("ns::Foo<a::B>::bar"),
            Some(("ns::Foo<a::B>", "bar"))
        );
        assert_eq!(split_qualified("bar"), None);
        assert_eq!(strip_generics("Foo<T, U>"), "Foo");
        assert_eq!(strip_generics("*Server"), "Server");
        assert_eq!(strip_generics("&mut Buf"), "Buf");
        assert_eq!(truncate("ééé".to_owned(), 5), "é...");
        assert_eq!(truncate("abcdef".to_owned(), 5), "ab...");
        assert_eq!(collapse_ws(" fn  f(\n  x: u8,\n)"), "fn f( x: u8, )");
    }

    #[test]
    fn line_index() {
        let src = "ab\ncd\r\n\nlast";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_of(0), 1);
        assert_eq!(idx.line_of(2), 1);
        assert_eq!(idx.line_of(3), 2);
        assert_eq!(idx.line_of(src.len()), 4);
        assert_eq!(idx.end_line_of(0, 3), 1, "a range ending after a newline");
        assert_eq!(idx.line_end(2), 5, "before \\r\\n");
        assert_eq!(idx.line_start(4), 8);
        assert_eq!(idx.line_end(4), src.len());
        assert!(idx.starts_line(8));
        assert!(!idx.starts_line(1));
    }

    #[test]
    fn go_methods_belong_to_their_receiver() {
        let src = "package p\n\nfunc (s *Server[T]) Run() {}\n\nfunc Free() {}\n";
        let syms = symbols(Language::Go, src).unwrap();
        let got: Vec<_> = syms
            .iter()
            .map(|s| (s.kind, s.name.as_str(), s.container.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (SymbolKind::Method, "Run", Some("Server")),
                (SymbolKind::Function, "Free", None)
            ]
        );
    }

    #[test]
    fn c_prototypes_inside_bodies_are_not_symbols() {
        let src = "int f(void);\nint g(void) {\n    int h(int);\n    return h(1);\n}\n";
        let names: Vec<String> = symbols(Language::C, src)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["f", "g"]);
    }
}
