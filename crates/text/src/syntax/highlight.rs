//! Syntax highlighting for terminal output (code blocks in answers, file previews), on
//! `tree-sitter-highlight` with the highlight queries that ship with each grammar crate.
//!
//! Queries are compiled once per process (that takes milliseconds per language) and each
//! thread keeps its own [`Highlighter`], so highlighting a few lines costs little more
//! than parsing them. Capture names (`keyword.function`, `string.special`,
//! `function.method.builtin`, …) are folded into a dozen coarse [`HighlightKind`]s by
//! their first dotted component, which is all a terminal palette can tell apart anyway.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::OnceLock;

use tree_sitter_highlight::{HighlightConfiguration, HighlightEvent, Highlighter};

use super::Language;

/// Coarse token classes a terminal theme colours. Many queries capture every identifier
/// as a variable, so a theme will usually leave [`HighlightKind::Variable`] plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HighlightKind {
    Keyword,
    String,
    Comment,
    Function,
    /// Macro invocations and definitions (`println!`, `#define`d names).
    Macro,
    /// Types, constructors, modules and namespaces.
    Type,
    Number,
    /// Named constants, `true`/`false`/`nil`, escape sequences, labels.
    Constant,
    Variable,
    /// Fields and properties.
    Property,
    Operator,
    Punctuation,
    /// Attributes, annotations, decorators, markup tags.
    Attribute,
}

impl HighlightKind {
    /// The kind of a capture name; `None` for captures that mean "no colour here" (such
    /// as `@embedded`, which resets a string's colour inside `${…}`).
    fn from_capture(name: &str) -> Option<HighlightKind> {
        if name == "function.macro" || name.starts_with("function.macro.") {
            return Some(HighlightKind::Macro);
        }
        let first = name.split('.').next().unwrap_or(name);
        Some(match first {
            "keyword" | "include" | "conditional" | "repeat" | "exception" | "storageclass" => {
                HighlightKind::Keyword
            }
            "string" | "character" => HighlightKind::String,
            "comment" => HighlightKind::Comment,
            "function" | "method" => HighlightKind::Function,
            "macro" => HighlightKind::Macro,
            "type" | "constructor" | "module" | "namespace" => HighlightKind::Type,
            "number" | "float" => HighlightKind::Number,
            "constant" | "boolean" | "escape" | "label" => HighlightKind::Constant,
            "variable" | "parameter" => HighlightKind::Variable,
            "property" | "field" => HighlightKind::Property,
            "operator" => HighlightKind::Operator,
            "punctuation" | "delimiter" => HighlightKind::Punctuation,
            "attribute" | "tag" | "annotation" | "decorator" => HighlightKind::Attribute,
            _ => return None,
        })
    }
}

/// A highlighted run of source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HighlightSpan {
    /// Byte range in the source.
    pub range: Range<usize>,
    pub kind: HighlightKind,
}

/// Highlights `source`: non-overlapping spans in order, adjacent spans of one kind merged;
/// bytes no capture colours are simply not covered. Empty when the language's grammar is
/// not in this build, it has no highlight query, or tree-sitter gives up, so callers can
/// always fall back to plain text.
pub fn highlight(language: Language, source: &str) -> Vec<HighlightSpan> {
    let Some(compiled) = configuration(language) else {
        return Vec::new();
    };
    HIGHLIGHTER.with(|cell| {
        // A re-entrant call (impossible today: no injection callback) would find the
        // highlighter borrowed; a fresh one keeps that correct rather than panicking.
        match cell.try_borrow_mut() {
            Ok(mut highlighter) => run(&mut highlighter, compiled, source),
            Err(_) => run(&mut Highlighter::new(), compiled, source),
        }
    })
}

/// The language a Markdown code fence's info string names (`rust`, `py`, `c++`,
/// `rust,ignore`, `{.python}`): case-insensitive, only the first word counts. The
/// language is returned even when its grammar is not in this build (then [`highlight`]
/// returns nothing), so a renderer can still label the block.
pub fn language_for_fence(info: &str) -> Option<Language> {
    let word = info
        .trim()
        .split(|c: char| c.is_whitespace() || c == ',' || c == '}')
        .next()
        .unwrap_or("")
        .trim_start_matches(['{', '.']);
    if word.is_empty() {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let by_alias = match lower.as_str() {
        "python3" | "py3" | "gyp" => Some(Language::Python),
        "node" | "jsx" | "mjs" | "cjs" | "ecmascript" => Some(Language::JavaScript),
        "shell" | "zsh" | "ksh" | "shellscript" | "shell-script" | "sh-session" => {
            Some(Language::Bash)
        }
        "golang" => Some(Language::Go),
        "c#" | "cs" | "c-sharp" => Some(Language::CSharp),
        _ => None,
    };
    by_alias
        .or_else(|| lower.parse::<Language>().ok())
        .or_else(|| Language::from_extension(&lower))
}

thread_local! {
    static HIGHLIGHTER: RefCell<Highlighter> = RefCell::new(Highlighter::new());
}

struct Compiled {
    config: HighlightConfiguration,
    /// The kind of each capture, by capture index (= `Highlight` index, since the
    /// configuration recognizes exactly its own capture names).
    kinds: Vec<Option<HighlightKind>>,
}

fn run(highlighter: &mut Highlighter, compiled: &Compiled, source: &str) -> Vec<HighlightSpan> {
    let Ok(events) = highlighter.highlight(&compiled.config, source.as_bytes(), None, |_| None)
    else {
        return Vec::new();
    };
    let mut spans: Vec<HighlightSpan> = Vec::new();
    let mut stack: Vec<Option<HighlightKind>> = Vec::new();
    for event in events {
        let Ok(event) = event else {
            return Vec::new();
        };
        match event {
            HighlightEvent::HighlightStart(h) => {
                stack.push(compiled.kinds.get(h.0).copied().flatten());
            }
            HighlightEvent::HighlightEnd => {
                stack.pop();
            }
            HighlightEvent::Source { start, end } => {
                let Some(mut kind) = stack.last().copied().flatten() else {
                    continue;
                };
                if start >= end {
                    continue;
                }
                // Some queries (Rust's) capture numeric literals as `constant.builtin`.
                if kind == HighlightKind::Constant
                    && source.as_bytes().get(start).is_some_and(u8::is_ascii_digit)
                {
                    kind = HighlightKind::Number;
                }
                match spans.last_mut() {
                    Some(last) if last.kind == kind && last.range.end == start => {
                        last.range.end = end;
                    }
                    _ => spans.push(HighlightSpan {
                        range: start..end,
                        kind,
                    }),
                }
            }
        }
    }
    spans
}

/// The language's compiled configuration, built on first use; `None` when the grammar is
/// not compiled in or no query compiles.
fn configuration(language: Language) -> Option<&'static Compiled> {
    static CONFIGS: [OnceLock<Option<Compiled>>; 13] = [const { OnceLock::new() }; 13];
    let slot = Language::ALL.iter().position(|l| *l == language)?;
    CONFIGS
        .get(slot)?
        .get_or_init(|| compile(language))
        .as_ref()
}

fn compile(language: Language) -> Option<Compiled> {
    let grammar = language.grammar()?;
    // Candidates, best first: a combined query may not compile against a grammar whose
    // node types drifted from the inherited one; then the language's own query alone.
    for (highlights, locals) in queries(language) {
        if highlights.is_empty() {
            continue;
        }
        let Ok(mut config) =
            HighlightConfiguration::new(grammar.clone(), language.name(), &highlights, "", &locals)
        else {
            continue;
        };
        let names: Vec<String> = config.names().iter().map(|n| (*n).to_owned()).collect();
        config.configure(&names);
        let kinds = names
            .iter()
            .map(|n| HighlightKind::from_capture(n))
            .collect();
        return Some(Compiled { config, kinds });
    }
    None
}

/// `(highlights, locals)` query candidates for a language, best first. When several
/// patterns match one node the last one wins in tree-sitter-highlight 0.25, so an
/// inherited query goes first and the dialect's own after it (JavaScript then TypeScript,
/// C then C++, JSX last).
#[allow(unused_mut, clippy::vec_init_then_push)]
fn queries(language: Language) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    match language {
        #[cfg(feature = "lang-rust")]
        Language::Rust => out.push(own(tree_sitter_rust::HIGHLIGHTS_QUERY)),
        #[cfg(feature = "lang-python")]
        Language::Python => out.push(own(tree_sitter_python::HIGHLIGHTS_QUERY)),
        #[cfg(feature = "lang-javascript")]
        Language::JavaScript => {
            use tree_sitter_javascript as js;
            out.push((
                format!("{}\n{}", js::HIGHLIGHT_QUERY, js::JSX_HIGHLIGHT_QUERY),
                js::LOCALS_QUERY.to_owned(),
            ));
            out.push(own(js::HIGHLIGHT_QUERY));
        }
        #[cfg(feature = "lang-typescript")]
        Language::TypeScript | Language::Tsx => {
            use tree_sitter_typescript as ts;
            #[cfg(feature = "lang-javascript")]
            {
                use tree_sitter_javascript as js;
                let jsx = if language == Language::Tsx {
                    js::JSX_HIGHLIGHT_QUERY
                } else {
                    ""
                };
                out.push((
                    format!("{}\n{}\n{jsx}", js::HIGHLIGHT_QUERY, ts::HIGHLIGHTS_QUERY),
                    format!("{}\n{}", js::LOCALS_QUERY, ts::LOCALS_QUERY),
                ));
            }
            out.push((ts::HIGHLIGHTS_QUERY.to_owned(), ts::LOCALS_QUERY.to_owned()));
        }
        #[cfg(feature = "lang-go")]
        Language::Go => out.push(own(tree_sitter_go::HIGHLIGHTS_QUERY)),
        #[cfg(feature = "lang-java")]
        Language::Java => out.push(own(tree_sitter_java::HIGHLIGHTS_QUERY)),
        #[cfg(feature = "lang-c")]
        Language::C => out.push(own(tree_sitter_c::HIGHLIGHT_QUERY)),
        #[cfg(feature = "lang-cpp")]
        Language::Cpp => {
            #[cfg(feature = "lang-c")]
            out.push(own(&format!(
                "{}\n{}",
                tree_sitter_c::HIGHLIGHT_QUERY,
                tree_sitter_cpp::HIGHLIGHT_QUERY
            )));
            out.push(own(tree_sitter_cpp::HIGHLIGHT_QUERY));
        }
        #[cfg(feature = "lang-csharp")]
        Language::CSharp => out.push(own(tree_sitter_c_sharp::HIGHLIGHTS_QUERY)),
        #[cfg(feature = "lang-ruby")]
        Language::Ruby => out.push((
            tree_sitter_ruby::HIGHLIGHTS_QUERY.to_owned(),
            tree_sitter_ruby::LOCALS_QUERY.to_owned(),
        )),
        #[cfg(feature = "lang-php")]
        Language::Php => out.push(own(tree_sitter_php::HIGHLIGHTS_QUERY)),
        #[cfg(feature = "lang-bash")]
        Language::Bash => out.push(own(tree_sitter_bash::HIGHLIGHT_QUERY)),
        #[allow(unreachable_patterns)]
        _ => {}
    }
    out
}

/// A highlights query without locals.
#[allow(dead_code)]
fn own(highlights: &str) -> (String, String) {
    (highlights.to_owned(), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds covering the exact text `needle` (first occurrence).
    fn kinds_of(spans: &[HighlightSpan], source: &str, needle: &str) -> Vec<HighlightKind> {
        let start = source.find(needle).expect("needle in source");
        let end = start + needle.len();
        spans
            .iter()
            .filter(|s| s.range.start < end && s.range.end > start)
            .map(|s| s.kind)
            .collect()
    }

    fn assert_well_formed(spans: &[HighlightSpan], source: &str) {
        let mut prev_end = 0;
        for s in spans {
            assert!(s.range.start >= prev_end, "overlap or disorder: {spans:?}");
            assert!(s.range.start < s.range.end);
            assert!(s.range.end <= source.len());
            assert!(source.is_char_boundary(s.range.start));
            assert!(source.is_char_boundary(s.range.end));
            prev_end = s.range.end;
        }
    }

    #[cfg(feature = "lang-rust")]
    #[test]
    fn rust_keywords_strings_comments() {
        let src = "// greet\nfn main() {\n    let s = \"hi\";\n    println!(\"{}\", s + 1);\n}\n";
        let spans = highlight(Language::Rust, src);
        assert_well_formed(&spans, src);
        assert_eq!(kinds_of(&spans, src, "fn"), [HighlightKind::Keyword]);
        assert_eq!(kinds_of(&spans, src, "let"), [HighlightKind::Keyword]);
        assert_eq!(kinds_of(&spans, src, "\"hi\""), [HighlightKind::String]);
        assert_eq!(kinds_of(&spans, src, "// greet"), [HighlightKind::Comment]);
        assert_eq!(kinds_of(&spans, src, "main"), [HighlightKind::Function]);
        assert_eq!(kinds_of(&spans, src, "println"), [HighlightKind::Macro]);
        assert_eq!(kinds_of(&spans, src, "1"), [HighlightKind::Number]);
        // A comment span covers exactly the comment.
        let comment = spans
            .iter()
            .find(|s| s.kind == HighlightKind::Comment)
            .expect("comment span");
        assert_eq!(&src[comment.range.clone()], "// greet");
    }

    #[cfg(feature = "lang-python")]
    #[test]
    fn python() {
        let src = "# note\ndef f(x):\n    return 'a' if x else None\n";
        let spans = highlight(Language::Python, src);
        assert_well_formed(&spans, src);
        assert_eq!(kinds_of(&spans, src, "def"), [HighlightKind::Keyword]);
        assert_eq!(kinds_of(&spans, src, "return"), [HighlightKind::Keyword]);
        assert_eq!(kinds_of(&spans, src, "'a'"), [HighlightKind::String]);
        assert_eq!(kinds_of(&spans, src, "# note"), [HighlightKind::Comment]);
        assert_eq!(kinds_of(&spans, src, "f("), [HighlightKind::Function]);
        assert_eq!(kinds_of(&spans, src, "None"), [HighlightKind::Constant]);
    }

    #[cfg(feature = "lang-bash")]
    #[test]
    fn bash() {
        let src = "# build\nif [ -f x ]; then\n  echo \"done\"\nfi\n";
        let spans = highlight(Language::Bash, src);
        assert_well_formed(&spans, src);
        assert_eq!(kinds_of(&spans, src, "if"), [HighlightKind::Keyword]);
        assert_eq!(kinds_of(&spans, src, "# build"), [HighlightKind::Comment]);
        assert_eq!(kinds_of(&spans, src, "\"done\""), [HighlightKind::String]);
        assert_eq!(kinds_of(&spans, src, "echo"), [HighlightKind::Function]);
    }

    #[cfg(feature = "all-languages")]
    #[test]
    fn every_language_highlights_a_snippet() {
        let snippets = [
            (Language::Rust, "fn f() -> u8 { 1 } // é"),
            (Language::Python, "def f():\n    return 1  # é\n"),
            (Language::JavaScript, "function f() { return `a${1}` } // é"),
            (
                Language::TypeScript,
                "function f(x: number): string { return 'a' } // é",
            ),
            (Language::Tsx, "const a = <div id=\"x\">{1}</div>; // é"),
            (
                Language::Go,
                "package main\nfunc f() int { return 1 } // é\n",
            ),
            (Language::Java, "class A { int f() { return 1; } } // é"),
            (Language::C, "#define N 1\nint f(void) { return 1; } // é\n"),
            (
                Language::Cpp,
                "template <class T> T f() { return nullptr; } // é",
            ),
            (Language::CSharp, "class A { int F() { return 1; } } // é"),
            (Language::Ruby, "def f\n  :sym # é\nend\n"),
            (Language::Php, "<?php function f() { return 1; } // é"),
            (Language::Bash, "if true; then echo \"$1\"; fi # é"),
        ];
        for (lang, src) in snippets {
            assert!(configuration(lang).is_some(), "{lang}: no query compiles");
            let spans = highlight(lang, src);
            assert_well_formed(&spans, src);
            assert!(
                spans.iter().any(|s| s.kind == HighlightKind::Keyword),
                "{lang}: no keyword in {spans:?}"
            );
            assert!(
                spans.iter().any(|s| s.kind == HighlightKind::Comment),
                "{lang}: no comment in {spans:?}"
            );
            // Garbage and empty input never panic.
            assert_well_formed(&highlight(lang, "}{)(\"'"), "}{)(\"'");
            assert!(highlight(lang, "").is_empty());
        }
    }

    #[cfg(all(feature = "lang-typescript", feature = "lang-javascript"))]
    #[test]
    fn typescript_gets_the_inherited_javascript_query() {
        let src = "function g() {}\nconst x: number = 1; // c\n";
        let spans = highlight(Language::TypeScript, src);
        assert_eq!(kinds_of(&spans, src, "g"), [HighlightKind::Function]);
        // `const` and comments come from the JavaScript query, `number` from TypeScript's.
        assert_eq!(kinds_of(&spans, src, "const"), [HighlightKind::Keyword]);
        assert_eq!(kinds_of(&spans, src, "number"), [HighlightKind::Type]);
        assert_eq!(kinds_of(&spans, src, "// c"), [HighlightKind::Comment]);
    }

    #[cfg(all(feature = "lang-cpp", feature = "lang-c"))]
    #[test]
    fn cpp_gets_the_inherited_c_query() {
        let src = "int f() { return 0; } // c\n";
        let spans = highlight(Language::Cpp, src);
        assert_eq!(kinds_of(&spans, src, "return"), [HighlightKind::Keyword]);
        assert_eq!(kinds_of(&spans, src, "// c"), [HighlightKind::Comment]);
    }

    #[cfg(all(feature = "lang-typescript", feature = "lang-javascript"))]
    #[test]
    fn tsx_tags() {
        let src = "const a = <div id=\"x\" />;";
        let spans = highlight(Language::Tsx, src);
        assert_eq!(kinds_of(&spans, src, "div"), [HighlightKind::Attribute]);
    }

    #[test]
    fn fences() {
        let f = language_for_fence;
        assert_eq!(f("rust"), Some(Language::Rust));
        assert_eq!(f("RS"), Some(Language::Rust));
        assert_eq!(f("rust,ignore"), Some(Language::Rust));
        assert_eq!(f("rust no_run"), Some(Language::Rust));
        assert_eq!(f(" py "), Some(Language::Python));
        assert_eq!(f("python3"), Some(Language::Python));
        assert_eq!(f("js"), Some(Language::JavaScript));
        assert_eq!(f("jsx"), Some(Language::JavaScript));
        assert_eq!(f("ts"), Some(Language::TypeScript));
        assert_eq!(f("TypeScript"), Some(Language::TypeScript));
        assert_eq!(f("tsx"), Some(Language::Tsx));
        for sh in ["sh", "bash", "shell", "zsh"] {
            assert_eq!(f(sh), Some(Language::Bash), "{sh}");
        }
        assert_eq!(f("c"), Some(Language::C));
        assert_eq!(f("cpp"), Some(Language::Cpp));
        assert_eq!(f("c++"), Some(Language::Cpp));
        assert_eq!(f("cs"), Some(Language::CSharp));
        assert_eq!(f("csharp"), Some(Language::CSharp));
        assert_eq!(f("c#"), Some(Language::CSharp));
        assert_eq!(f("go"), Some(Language::Go));
        assert_eq!(f("golang"), Some(Language::Go));
        assert_eq!(f("java"), Some(Language::Java));
        assert_eq!(f("rb"), Some(Language::Ruby));
        assert_eq!(f("ruby"), Some(Language::Ruby));
        assert_eq!(f("php"), Some(Language::Php));
        assert_eq!(f("{.python}"), Some(Language::Python));
        assert_eq!(f(""), None);
        assert_eq!(f("text"), None);
        assert_eq!(f("cobol"), None);
        assert_eq!(f("json"), None);
    }

    #[test]
    fn capture_names_map_by_first_component() {
        let k = HighlightKind::from_capture;
        assert_eq!(k("keyword.function"), Some(HighlightKind::Keyword));
        assert_eq!(k("string.special.symbol"), Some(HighlightKind::String));
        assert_eq!(k("comment.documentation"), Some(HighlightKind::Comment));
        assert_eq!(k("function.method.builtin"), Some(HighlightKind::Function));
        assert_eq!(k("function.macro"), Some(HighlightKind::Macro));
        assert_eq!(k("type.builtin"), Some(HighlightKind::Type));
        assert_eq!(k("constant.builtin"), Some(HighlightKind::Constant));
        assert_eq!(k("variable.parameter"), Some(HighlightKind::Variable));
        assert_eq!(k("number"), Some(HighlightKind::Number));
        assert_eq!(k("embedded"), None);
    }
}
