//! `cuervo symbols [PATH…]`: an outline of the definitions in source files, on
//! `cuervo_text::syntax` (tree-sitter).
//!
//! ```text
//! src/limiter.rs
//!   struct Quota  lines 9-13
//!   impl Limiter<C>  lines 44-69
//!     method check  lines 51-68
//! ```

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use cuervo_text::syntax::{self, FileSymbols, Language, Symbol, SyntaxError};
use serde::Serialize;

/// Print the symbols of source files as an outline.
#[derive(Debug, clap::Args)]
pub struct SymbolsArgs {
    /// Files or directories (default: the current directory). Directories are walked
    /// honouring `.gitignore`, `.ignore` and `.cuervoignore`; hidden files are skipped.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print one JSON array: an object per file with its path, language and symbols
    /// (name, kind, container, parent index, depth, lines, bytes, signature, doc).
    #[arg(long)]
    pub json: bool,

    /// Also list top-level comment blocks and module docs (`//!`, Python docstrings).
    #[arg(long)]
    pub comments: bool,
}

/// One file in the `--json` output.
#[derive(Debug, Serialize)]
struct FileOutline {
    path: String,
    language: Language,
    symbols: Vec<Symbol>,
}

/// Runs `cuervo symbols`.
pub fn run(args: &SymbolsArgs) -> anyhow::Result<ExitCode> {
    let implicit = args.paths.is_empty();
    let roots = if implicit {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut errored = false;
    let mut files = Vec::new();
    for root in &roots {
        match syntax::source_files(std::slice::from_ref(root)) {
            Ok(found) => files.extend(found),
            Err(e) => {
                eprintln!("cuervo: {e}");
                errored = true;
            }
        }
    }

    let parsed = syntax::parse_files_parallel(&files);
    let mut outlines = Vec::new();
    for file in parsed {
        let FileSymbols {
            path,
            language,
            symbols,
            ..
        } = file;
        let Some(language) = language else { continue };
        match symbols {
            Ok(symbols) => outlines.push(FileOutline {
                path: display_path(&path, implicit),
                language,
                symbols: if args.comments {
                    symbols
                } else {
                    without_comments(symbols)
                },
            }),
            // A binary file with a source extension is not source.
            Err(SyntaxError::Binary(_)) => {}
            Err(e) => {
                eprintln!("cuervo: {e}");
                errored = true;
            }
        }
    }

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = if args.json {
        write_json(&mut out, &outlines)
    } else {
        write_text(&mut out, &outlines)
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return Err(anyhow::Error::new(e).context("cannot write to stdout"));
        }
        _ => {}
    }
    Ok(if errored {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The path as the user wrote it, without the implicit root's `./`.
fn display_path(path: &Path, implicit: bool) -> String {
    let shown = if implicit {
        path.strip_prefix(".").unwrap_or(path)
    } else {
        path
    };
    shown.to_string_lossy().into_owned()
}

/// Drops comment symbols, renumbering `parent` indices.
fn without_comments(symbols: Vec<Symbol>) -> Vec<Symbol> {
    let mut new_index = vec![None; symbols.len()];
    let mut kept = Vec::with_capacity(symbols.len());
    for (i, mut s) in symbols.into_iter().enumerate() {
        if s.kind.is_comment() {
            continue;
        }
        s.parent = s.parent.and_then(|p| new_index.get(p).copied().flatten());
        new_index[i] = Some(kept.len());
        kept.push(s);
    }
    kept
}

fn write_text(out: &mut impl Write, outlines: &[FileOutline]) -> io::Result<()> {
    let mut first = true;
    for file in outlines.iter().filter(|f| !f.symbols.is_empty()) {
        if !first {
            writeln!(out)?;
        }
        first = false;
        writeln!(out, "{}", file.path)?;
        for s in &file.symbols {
            let indent = 2 * (s.depth + 1);
            writeln!(
                out,
                "{:indent$}{} {}  lines {}-{}",
                "", s.kind, s.name, s.start_line, s.end_line
            )?;
        }
    }
    Ok(())
}

fn write_json(out: &mut impl Write, outlines: &[FileOutline]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, outlines)
        .context("serialize")
        .map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_text::syntax::SymbolKind;

    #[test]
    fn comments_are_dropped_and_parents_renumbered() {
        let source =
            "//! Crate docs.\n\n// A note.\n\nstruct A;\n\nimpl A {\n    fn f(&self) {}\n}\n";
        let symbols = syntax::symbols(Language::Rust, source).unwrap();
        assert_eq!(symbols.len(), 5);
        let kept = without_comments(symbols);
        let outline: Vec<(SymbolKind, &str, Option<usize>)> = kept
            .iter()
            .map(|s| (s.kind, s.name.as_str(), s.parent))
            .collect();
        assert_eq!(
            outline,
            [
                (SymbolKind::Struct, "A", None),
                (SymbolKind::Impl, "A", None),
                (SymbolKind::Method, "f", Some(1))
            ]
        );
    }

    #[test]
    fn text_outline_is_indented_per_file() {
        let source = "class A:\n    def f(self):\n        pass\n";
        let symbols = syntax::symbols(Language::Python, source).unwrap();
        let outlines = [FileOutline {
            path: "a.py".into(),
            language: Language::Python,
            symbols,
        }];
        let mut out = Vec::new();
        write_text(&mut out, &outlines).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a.py\n  class A  lines 1-3\n    method f  lines 2-3\n"
        );
    }
}
