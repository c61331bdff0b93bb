//! The languages Cuervo parses, how a file's language is detected, and each language's
//! grammar and symbol query.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language with a tree-sitter grammar. Every variant exists whatever the features;
/// [`Language::is_available`] says whether its grammar was compiled in (feature
/// `lang-<name>`, all on by default through `all-languages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    /// TypeScript with JSX (`.tsx`); a grammar of its own.
    Tsx,
    Go,
    Java,
    C,
    Cpp,
    CSharp,
    Ruby,
    Php,
    Bash,
}

impl Language {
    /// Every language, in a fixed order.
    pub const ALL: [Language; 13] = [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
        Language::CSharp,
        Language::Ruby,
        Language::Php,
        Language::Bash,
    ];

    /// The lower-case name used in JSON and on the command line (`rust`, `csharp`, `cpp`).
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::CSharp => "csharp",
            Language::Ruby => "ruby",
            Language::Php => "php",
            Language::Bash => "bash",
        }
    }

    /// Whether this build has the language's grammar (its `lang-*` feature).
    pub fn is_available(self) -> bool {
        self.grammar().is_some()
    }

    /// The language of a file extension (without the dot, case-insensitive).
    pub fn from_extension(ext: &str) -> Option<Language> {
        let ext = ext.to_ascii_lowercase();
        Some(match ext.as_str() {
            "rs" => Language::Rust,
            "py" | "pyi" | "pyw" => Language::Python,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "go" => Language::Go,
            "java" => Language::Java,
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" | "tpp" | "inl" => {
                Language::Cpp
            }
            "cs" => Language::CSharp,
            "rb" | "rake" | "gemspec" | "ru" => Language::Ruby,
            "php" | "phtml" => Language::Php,
            "sh" | "bash" => Language::Bash,
            _ => return None,
        })
    }

    /// The language of a file known by its whole name (`Rakefile`, `.bashrc`).
    fn from_file_name(name: &str) -> Option<Language> {
        Some(match name {
            "Rakefile" | "Gemfile" | "Guardfile" | "Vagrantfile" | "Podfile" | "Brewfile" => {
                Language::Ruby
            }
            ".bashrc" | ".bash_profile" | ".bash_login" | ".bash_logout" | ".profile"
            | "PKGBUILD" => Language::Bash,
            _ => return None,
        })
    }

    /// The language named by a `#!` line: `sh`, `bash` and `dash` are Bash; `python`,
    /// `python3`, `python3.12` Python; `ruby` Ruby; `node` JavaScript; `php` PHP. Both
    /// `#!/bin/bash` and `#!/usr/bin/env -S python3 -u` forms are understood.
    pub fn from_shebang(first_line: &str) -> Option<Language> {
        let rest = first_line.strip_prefix("#!")?;
        let mut words = rest.split_whitespace();
        let mut program = words.next()?.rsplit('/').next()?;
        if program == "env" {
            program = words.find(|w| !w.starts_with('-') && !w.contains('='))?;
        }
        let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        Some(match base {
            "sh" | "bash" | "dash" => Language::Bash,
            "python" | "pypy" => Language::Python,
            "ruby" => Language::Ruby,
            "node" | "nodejs" => Language::JavaScript,
            "php" => Language::Php,
            _ => return None,
        })
    }

    /// The compiled grammar, or `None` when its feature is off.
    pub(crate) fn grammar(self) -> Option<tree_sitter::Language> {
        let grammar: Option<tree_sitter_language::LanguageFn> = match self {
            #[cfg(feature = "lang-rust")]
            Language::Rust => Some(tree_sitter_rust::LANGUAGE),
            #[cfg(feature = "lang-python")]
            Language::Python => Some(tree_sitter_python::LANGUAGE),
            #[cfg(feature = "lang-javascript")]
            Language::JavaScript => Some(tree_sitter_javascript::LANGUAGE),
            #[cfg(feature = "lang-typescript")]
            Language::TypeScript => Some(tree_sitter_typescript::LANGUAGE_TYPESCRIPT),
            #[cfg(feature = "lang-typescript")]
            Language::Tsx => Some(tree_sitter_typescript::LANGUAGE_TSX),
            #[cfg(feature = "lang-go")]
            Language::Go => Some(tree_sitter_go::LANGUAGE),
            #[cfg(feature = "lang-java")]
            Language::Java => Some(tree_sitter_java::LANGUAGE),
            #[cfg(feature = "lang-c")]
            Language::C => Some(tree_sitter_c::LANGUAGE),
            #[cfg(feature = "lang-cpp")]
            Language::Cpp => Some(tree_sitter_cpp::LANGUAGE),
            #[cfg(feature = "lang-csharp")]
            Language::CSharp => Some(tree_sitter_c_sharp::LANGUAGE),
            #[cfg(feature = "lang-ruby")]
            Language::Ruby => Some(tree_sitter_ruby::LANGUAGE),
            #[cfg(feature = "lang-php")]
            Language::Php => Some(tree_sitter_php::LANGUAGE_PHP),
            #[cfg(feature = "lang-bash")]
            Language::Bash => Some(tree_sitter_bash::LANGUAGE),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        grammar.map(Into::into)
    }

    /// How symbols are found in this language.
    pub(crate) fn spec(self) -> &'static Spec {
        match self {
            Language::Rust => &RUST,
            Language::Python => &PYTHON,
            Language::JavaScript => &JAVASCRIPT,
            Language::TypeScript | Language::Tsx => &TYPESCRIPT,
            Language::Go => &GO,
            Language::Java => &JAVA,
            Language::C => &C,
            Language::Cpp => &CPP,
            Language::CSharp => &CSHARP,
            Language::Ruby => &RUBY,
            Language::Php => &PHP,
            Language::Bash => &BASH,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Language {
    type Err = String;

    /// Parses a [`Language::name`] or a common alias (`c++`, `c#`, `js`, `ts`, `py`, `sh`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        Language::ALL
            .into_iter()
            .find(|l| l.name() == lower)
            .or(match lower.as_str() {
                "c++" => Some(Language::Cpp),
                "c#" | "c-sharp" | "cs" => Some(Language::CSharp),
                "js" => Some(Language::JavaScript),
                "ts" => Some(Language::TypeScript),
                "py" => Some(Language::Python),
                "rb" => Some(Language::Ruby),
                "rs" => Some(Language::Rust),
                "sh" | "shell" => Some(Language::Bash),
                _ => None,
            })
            .ok_or_else(|| format!("unknown language `{s}`"))
    }
}

/// The language of a file: by extension, then by whole file name, then by the `#!` line
/// (`first_line`; pass `""` when it is not known). `None` for anything else, data files
/// (`.json`, `.yaml`, `.md`) included; those are chunked by lines.
pub fn detect_language(path: &Path, first_line: &str) -> Option<Language> {
    path.extension()
        .and_then(|e| e.to_str())
        .and_then(Language::from_extension)
        .or_else(|| {
            path.file_name()
                .and_then(|n| n.to_str())
                .and_then(Language::from_file_name)
        })
        .or_else(|| Language::from_shebang(first_line))
}

/// What the symbol extractor needs to know about a language beyond its query.
#[derive(Debug)]
pub(crate) struct Spec {
    /// The tree-sitter query. Captures: `@definition.<kind>` on the node that is the
    /// symbol (kind: function, method, class, struct, interface, trait, enum, module, impl,
    /// macro); `@name` on its name, or `@declarator` (C, C++) on a declarator whose
    /// innermost identifier is the name; `@body` on the part that a collapsed chunk elides;
    /// `@container` on an explicit owner (a Go receiver's type); `@trait` on the trait of a
    /// Rust `impl Trait for Type`.
    pub query: &'static str,
    /// Parent node kinds that wrap one definition and belong to it (`export_statement`,
    /// `decorated_definition`, `template_declaration`): the symbol's range grows to cover
    /// them.
    pub wrappers: &'static [&'static str],
    /// Preceding sibling kinds that belong to the next definition (Rust attributes).
    pub prefixes: &'static [&'static str],
    /// Comment node kinds.
    pub comments: &'static [&'static str],
    /// Whether a `def` directly inside a `module` is a method (Ruby mixins).
    pub module_members_are_methods: bool,
    /// Whether the first string statement of a body is its doc (Python docstrings).
    pub docstrings: bool,
    /// Whether bodies are delimited by braces (`{ ... }` replaces an elided one).
    pub braces: bool,
    /// What replaces an elided body that is not in braces.
    pub elision: &'static str,
    /// `(node kind, ancestor kind)`: a definition of that kind below such an ancestor is
    /// not a symbol (a C prototype-looking declaration inside a function body).
    pub reject_inside: &'static [(&'static str, &'static str)],
}

const DEFAULT_SPEC: Spec = Spec {
    query: "",
    wrappers: &[],
    prefixes: &[],
    comments: &["comment"],
    module_members_are_methods: false,
    docstrings: false,
    braces: true,
    elision: "/* ... */",
    reject_inside: &[],
};

static RUST: Spec = Spec {
    query: include_str!("queries/rust.scm"),
    prefixes: &["attribute_item"],
    comments: &["line_comment", "block_comment"],
    ..DEFAULT_SPEC
};

static PYTHON: Spec = Spec {
    query: include_str!("queries/python.scm"),
    wrappers: &["decorated_definition"],
    docstrings: true,
    braces: false,
    elision: "...",
    ..DEFAULT_SPEC
};

static JAVASCRIPT: Spec = Spec {
    query: include_str!("queries/javascript.scm"),
    wrappers: &[
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
    ],
    ..DEFAULT_SPEC
};

static TYPESCRIPT: Spec = Spec {
    query: include_str!("queries/typescript.scm"),
    wrappers: &[
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "ambient_declaration",
        "expression_statement",
    ],
    ..DEFAULT_SPEC
};

static GO: Spec = Spec {
    query: include_str!("queries/go.scm"),
    wrappers: &["type_declaration"],
    ..DEFAULT_SPEC
};

static JAVA: Spec = Spec {
    query: include_str!("queries/java.scm"),
    comments: &["line_comment", "block_comment"],
    ..DEFAULT_SPEC
};

static C: Spec = Spec {
    query: include_str!("queries/c.scm"),
    wrappers: &["type_definition"],
    reject_inside: &[("declaration", "compound_statement")],
    ..DEFAULT_SPEC
};

static CPP: Spec = Spec {
    query: include_str!("queries/cpp.scm"),
    wrappers: &["template_declaration", "type_definition"],
    reject_inside: &[("declaration", "compound_statement")],
    ..DEFAULT_SPEC
};

static CSHARP: Spec = Spec {
    query: include_str!("queries/csharp.scm"),
    ..DEFAULT_SPEC
};

static RUBY: Spec = Spec {
    query: include_str!("queries/ruby.scm"),
    module_members_are_methods: true,
    braces: false,
    elision: "# ...",
    ..DEFAULT_SPEC
};

static PHP: Spec = Spec {
    query: include_str!("queries/php.scm"),
    ..DEFAULT_SPEC
};

static BASH: Spec = Spec {
    query: include_str!("queries/bash.scm"),
    elision: "# ...",
    ..DEFAULT_SPEC
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_name_and_shebang() {
        let d = |p: &str, first: &str| detect_language(Path::new(p), first);
        assert_eq!(d("src/lib.rs", ""), Some(Language::Rust));
        assert_eq!(d("a/b.PY", ""), Some(Language::Python));
        assert_eq!(d("x.tsx", ""), Some(Language::Tsx));
        assert_eq!(d("x.mts", ""), Some(Language::TypeScript));
        assert_eq!(d("x.jsx", ""), Some(Language::JavaScript));
        assert_eq!(d("x.hpp", ""), Some(Language::Cpp));
        assert_eq!(d("x.h", ""), Some(Language::C));
        assert_eq!(d("Rakefile", ""), Some(Language::Ruby));
        assert_eq!(d("home/.bashrc", ""), Some(Language::Bash));
        assert_eq!(d("bin/deploy", "#!/bin/bash"), Some(Language::Bash));
        assert_eq!(
            d("bin/tool", "#!/usr/bin/env python3"),
            Some(Language::Python)
        );
        assert_eq!(
            d("bin/tool", "#!/usr/bin/env -S python3.12 -u"),
            Some(Language::Python)
        );
        assert_eq!(d("bin/tool", "#!/usr/bin/ruby -w"), Some(Language::Ruby));
        assert_eq!(
            d("bin/tool", "#!/usr/bin/env node"),
            Some(Language::JavaScript)
        );
        assert_eq!(d("bin/tool", "#!/usr/bin/perl"), None);
        assert_eq!(d("data.json", ""), None);
        assert_eq!(d("notes.txt", "#!/bin/sh"), Some(Language::Bash));
        assert_eq!(d("README", ""), None);
    }

    #[test]
    fn names_round_trip() {
        for lang in Language::ALL {
            assert_eq!(lang.name().parse::<Language>(), Ok(lang));
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{}\"", lang.name()));
        }
        assert_eq!("C++".parse::<Language>(), Ok(Language::Cpp));
        assert!("cobol".parse::<Language>().is_err());
    }

    #[cfg(feature = "all-languages")]
    #[test]
    fn every_grammar_is_compiled_in_and_loads() {
        for lang in Language::ALL {
            let grammar = lang.grammar().unwrap();
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&grammar).unwrap();
        }
    }
}
