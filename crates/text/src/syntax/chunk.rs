//! Cutting a file into chunks for embedding and search (see the module docs for the rules).

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::language::{Language, Spec, detect_language};
use super::symbols::{LineIndex, Symbol, SymbolKind, symbols};

/// How big chunks may be. The budget is `max_bytes`, and `max_lines` too when set; a
/// single line longer than `max_bytes` is cut at a character boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChunkOptions {
    /// Largest chunk, in bytes of UTF-8 text. Default 1,500 (about 400 tokens of code).
    pub max_bytes: usize,
    /// Largest chunk, in lines. Default: no limit but `max_bytes`.
    pub max_lines: Option<usize>,
    /// Neighbouring chunks merge while one of them is smaller than this and the merged
    /// chunk fits the budget. Default 250 bytes (a one-line function, a short struct, a
    /// block of imports); 0 turns merging off.
    pub min_bytes: usize,
    /// Lines repeated between consecutive line-based chunks of a file in no known
    /// language. Default 2.
    pub overlap_lines: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_bytes: 1500,
            max_lines: None,
            min_bytes: 250,
            overlap_lines: 2,
        }
    }
}

impl ChunkOptions {
    fn fits(&self, text: &str) -> bool {
        text.len() <= self.max_bytes.max(1)
            && self
                .max_lines
                .is_none_or(|max| text.lines().count() <= max.max(1))
    }
}

/// What a chunk holds, in the seed's index schema (`chunk_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChunkKind {
    /// Functions, methods, macros.
    Function,
    /// Classes, structs, interfaces, traits, enums, impl blocks.
    Class,
    /// Modules and namespaces, code between definitions, mixed merged chunks and the
    /// line-based chunks of files in no known language.
    Module,
    /// Comment blocks.
    Comment,
}

impl From<SymbolKind> for ChunkKind {
    fn from(kind: SymbolKind) -> Self {
        match kind {
            SymbolKind::Function | SymbolKind::Method | SymbolKind::Macro => ChunkKind::Function,
            SymbolKind::Class
            | SymbolKind::Struct
            | SymbolKind::Interface
            | SymbolKind::Trait
            | SymbolKind::Enum
            | SymbolKind::Impl => ChunkKind::Class,
            SymbolKind::Module => ChunkKind::Module,
            SymbolKind::Comment | SymbolKind::DocComment => ChunkKind::Comment,
        }
    }
}

/// A piece of a file for the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub path: PathBuf,
    /// `None` for files chunked by lines.
    pub language: Option<Language>,
    pub kind: ChunkKind,
    /// The kind of the one symbol the chunk holds (or holds part of), if it holds one.
    pub symbol_kind: Option<SymbolKind>,
    /// The names of the definitions in the chunk, joined with `, ` (a comment block's first
    /// line when it holds only comments; empty for code between definitions; the file name
    /// for line-based chunks).
    pub name: String,
    /// The container all of them share ([`Symbol::container`]).
    pub container: Option<String>,
    /// 1-based, inclusive.
    pub start_line: usize,
    pub end_line: usize,
    /// Byte range in the file. For a collapsed chunk, the range of the whole definition.
    pub start_byte: usize,
    pub end_byte: usize,
    /// Whether children's bodies were elided from [`Chunk::content`].
    pub collapsed: bool,
    pub content: String,
    /// SHA-256 of `content`, lower-case hex: equal text, equal hash.
    pub hash: String,
}

/// Chunks a file: by its definitions when [`detect_language`] knows its language and the
/// grammar is compiled in, by lines otherwise (data files, prose, unknown languages).
pub fn chunk(path: &Path, source: &str, options: &ChunkOptions) -> Vec<Chunk> {
    let first_line = source.lines().next().unwrap_or("");
    chunk_source(path, detect_language(path, first_line), source, options)
}

/// Chunks `source` as `language` (`None`: by lines); `path` is only recorded.
pub fn chunk_source(
    path: &Path,
    language: Option<Language>,
    source: &str,
    options: &ChunkOptions,
) -> Vec<Chunk> {
    let chunker = Chunker::new(source, options);
    let parsed = language.and_then(|lang| symbols(lang, source).ok().map(|s| (lang, s)));
    let (language, pieces) = match &parsed {
        Some((lang, syms)) => (Some(*lang), chunker.by_symbols(lang.spec(), syms)),
        None => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            (None, chunker.by_lines(name.unwrap_or_default()))
        }
    };
    pieces
        .into_iter()
        .filter_map(|p| chunker.finish(p, path, language))
        .collect()
}

/// One definition (or comment block, or stretch of code between definitions) in a piece.
#[derive(Debug, Clone)]
struct Part {
    name: String,
    kind: Option<SymbolKind>,
    container: Option<String>,
}

/// A chunk before it is finished.
#[derive(Debug)]
struct Piece {
    range: Range<usize>,
    /// Text when it is not `source[range]` (collapsed).
    text: Option<String>,
    lines: Option<(usize, usize)>,
    parts: Vec<Part>,
    collapsed: bool,
    mergeable: bool,
    /// Pieces merge only with pieces of the same level of the same parent.
    group: usize,
}

struct Chunker<'s> {
    src: &'s str,
    lines: LineIndex<'s>,
    opts: &'s ChunkOptions,
}

impl<'s> Chunker<'s> {
    fn new(src: &'s str, opts: &'s ChunkOptions) -> Self {
        Self {
            src,
            lines: LineIndex::new(src),
            opts,
        }
    }

    fn slice(&self, r: &Range<usize>) -> &'s str {
        self.src.get(r.clone()).unwrap_or("")
    }

    fn by_symbols(&self, spec: &Spec, syms: &[Symbol]) -> Vec<Piece> {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); syms.len()];
        let mut top = Vec::new();
        for (i, s) in syms.iter().enumerate() {
            match s.parent {
                Some(p) if p < syms.len() => children[p].push(i),
                _ => top.push(i),
            }
        }
        let mut level = Level {
            syms,
            children: &children,
            spec,
            next_group: 0,
        };
        let mut pieces = Vec::new();
        self.level(&mut level, &top, true, &mut pieces);
        self.merge(pieces)
    }

    /// The symbol's text with its doc comment, grown to whole lines where only whitespace,
    /// a `;` or `,`, or a trailing comment (`}  // namespace x`) lies beyond it.
    fn span(&self, sym: &Symbol) -> Range<usize> {
        let mut start = sym
            .doc
            .as_ref()
            .map_or(sym.start_byte, |d| d.start_byte.min(sym.start_byte));
        if self.lines.starts_line(start) {
            start = self.lines.line_start(self.lines.line_of(start));
        }
        let mut end = sym.end_byte;
        let line_end = self
            .lines
            .line_end(self.lines.end_line_of(sym.start_byte, end));
        let rest = self.slice(&(end..line_end)).trim();
        let trailing_comment = ["//", "/*", "#"].iter().any(|c| rest.starts_with(c));
        if line_end >= end && (matches!(rest, "" | ";" | ",") || trailing_comment) {
            end = line_end;
        }
        start..end
    }

    fn level(&self, lv: &mut Level<'_>, items: &[usize], root: bool, out: &mut Vec<Piece>) {
        let group = lv.next_group;
        lv.next_group += 1;
        let mut cursor = 0;
        for &i in items {
            let sym = &lv.syms[i];
            let span = self.span(sym);
            if root {
                self.gap(cursor..span.start, group, out);
            }
            cursor = cursor.max(span.end);
            let part = Part {
                name: sym.name.clone(),
                kind: Some(sym.kind),
                container: sym.container.clone(),
            };
            if self.opts.fits(self.slice(&span)) {
                out.push(Piece {
                    range: span,
                    text: None,
                    lines: None,
                    parts: vec![part],
                    collapsed: false,
                    mergeable: true,
                    group,
                });
            } else if !lv.children[i].is_empty() {
                let collapsed = self.collapse(lv, &span, &lv.children[i]);
                let lines = (
                    self.lines.line_of(span.start),
                    self.lines.end_line_of(span.start, span.end),
                );
                for r in self.windows(&collapsed, 0) {
                    out.push(Piece {
                        range: span.clone(),
                        text: Some(collapsed.get(r).unwrap_or("").to_owned()),
                        lines: Some(lines),
                        parts: vec![part.clone()],
                        collapsed: true,
                        mergeable: false,
                        group,
                    });
                }
                let kids = lv.children[i].clone();
                self.level(lv, &kids, false, out);
            } else {
                for r in self.windows(self.slice(&span), 0) {
                    let range = span.start + r.start..span.start + r.end;
                    out.push(Piece {
                        range,
                        text: None,
                        lines: None,
                        parts: vec![part.clone()],
                        collapsed: false,
                        mergeable: false,
                        group,
                    });
                }
            }
        }
        if root {
            self.gap(cursor..self.src.len(), group, out);
        }
    }

    /// Code between definitions, trimmed to whole lines; nothing if it is blank.
    fn gap(&self, range: Range<usize>, group: usize, out: &mut Vec<Piece>) {
        let text = self.slice(&range);
        let Some(first) = text.find(|c: char| !c.is_whitespace()) else {
            return;
        };
        let mut start = range.start + first;
        if self.lines.starts_line(start) {
            start = self
                .lines
                .line_start(self.lines.line_of(start))
                .max(range.start);
        }
        let trimmed = start..range.start + text.trim_end().len();
        for r in self.windows(self.slice(&trimmed), 0) {
            out.push(Piece {
                range: trimmed.start + r.start..trimmed.start + r.end,
                text: None,
                lines: None,
                parts: vec![Part {
                    name: String::new(),
                    kind: None,
                    container: None,
                }],
                collapsed: false,
                mergeable: true,
                group,
            });
        }
    }

    /// The span's text with each child's body replaced by an elision marker.
    fn collapse(&self, lv: &Level<'_>, span: &Range<usize>, kids: &[usize]) -> String {
        let mut out = String::with_capacity(span.len() / 2);
        let mut pos = span.start;
        for &k in kids {
            let Some(body) = lv.syms[k].body.clone() else {
                continue;
            };
            if body.start < pos || body.end > span.end || body.is_empty() {
                continue;
            }
            out.push_str(self.slice(&(pos..body.start)));
            out.push_str(&elision(lv.spec, self.slice(&body)));
            pos = body.end;
        }
        out.push_str(self.slice(&(pos..span.end)));
        out
    }

    /// Windows of whole lines of `text` that fit the budget, each starting `overlap` lines
    /// before the previous one ended; a line too long alone is cut on character
    /// boundaries. Blank windows are skipped.
    fn windows(&self, text: &str, overlap: usize) -> Vec<Range<usize>> {
        if self.opts.fits(text) {
            let whole = (!text.trim().is_empty()).then_some(0..text.len());
            return whole.into_iter().collect();
        }
        let mut lines = Vec::new();
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let content = line.trim_end_matches(['\n', '\r']);
            lines.push(at..at + content.len());
            at += line.len();
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let mut j = i;
            while j < lines.len()
                && self
                    .opts
                    .fits(text.get(lines[i].start..lines[j].end).unwrap_or(""))
            {
                j += 1;
            }
            if j == i {
                // One line over the budget: cut it.
                let line = lines[i].clone();
                let mut s = line.start;
                while s < line.end {
                    let mut e = (s + self.opts.max_bytes.max(4)).min(line.end);
                    while !text.is_char_boundary(e) {
                        e -= 1;
                    }
                    out.push(s..e);
                    s = e;
                }
                i += 1;
                continue;
            }
            let window = lines[i].start..lines[j - 1].end;
            if !text.get(window.clone()).unwrap_or("").trim().is_empty() {
                out.push(window);
            }
            if j >= lines.len() {
                break;
            }
            i = (j.saturating_sub(overlap)).max(i + 1);
        }
        out
    }

    /// Merges neighbours of the same group while one of them is small and the result fits.
    fn merge(&self, pieces: Vec<Piece>) -> Vec<Piece> {
        let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
        for piece in pieces {
            if let Some(last) = out.last_mut()
                && last.mergeable
                && piece.mergeable
                && last.group == piece.group
                && (last.range.len() < self.opts.min_bytes
                    || piece.range.len() < self.opts.min_bytes)
                && piece.range.start >= last.range.end
                && self
                    .opts
                    .fits(self.slice(&(last.range.start..piece.range.end)))
            {
                last.range.end = piece.range.end;
                last.parts.extend(piece.parts);
                continue;
            }
            out.push(piece);
        }
        out
    }

    fn by_lines(&self, name: String) -> Vec<Piece> {
        self.windows(self.src, self.opts.overlap_lines)
            .into_iter()
            .map(|range| Piece {
                range,
                text: None,
                lines: None,
                parts: vec![Part {
                    name: name.clone(),
                    kind: None,
                    container: None,
                }],
                collapsed: false,
                mergeable: false,
                group: 0,
            })
            .collect()
    }

    fn finish(&self, p: Piece, path: &Path, language: Option<Language>) -> Option<Chunk> {
        let content = match p.text {
            Some(t) => t,
            None => self.slice(&p.range).to_owned(),
        };
        if content.trim().is_empty() {
            return None;
        }
        let (start_line, end_line) = p.lines.unwrap_or_else(|| {
            (
                self.lines.line_of(p.range.start),
                self.lines.end_line_of(p.range.start, p.range.end),
            )
        });
        let symbols: Vec<&Part> = p.parts.iter().filter(|x| x.kind.is_some()).collect();
        let definitions: Vec<&Part> = symbols
            .iter()
            .copied()
            .filter(|x| x.kind.is_some_and(|k| !k.is_comment()))
            .collect();
        let kind = if language.is_none() {
            ChunkKind::Module
        } else if !definitions.is_empty() {
            let first = definitions[0]
                .kind
                .map_or(ChunkKind::Module, ChunkKind::from);
            if definitions
                .iter()
                .all(|d| d.kind.map(ChunkKind::from) == Some(first))
            {
                first
            } else {
                ChunkKind::Module
            }
        } else if !symbols.is_empty() && symbols.len() == p.parts.len() {
            ChunkKind::Comment
        } else {
            ChunkKind::Module
        };
        let named: &[&Part] = if definitions.is_empty() {
            &symbols
        } else {
            &definitions
        };
        let name = if language.is_none() {
            p.parts.first().map(|x| x.name.clone()).unwrap_or_default()
        } else {
            named
                .iter()
                .map(|x| x.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let symbol_kind = match symbols.as_slice() {
            [one] => one.kind,
            _ => None,
        };
        let container = named
            .first()
            .and_then(|x| x.container.clone())
            .filter(|c| named.iter().all(|x| x.container.as_deref() == Some(c)));
        Some(Chunk {
            path: path.to_path_buf(),
            language,
            kind,
            symbol_kind,
            name,
            container,
            start_line,
            end_line,
            start_byte: p.range.start,
            end_byte: p.range.end,
            collapsed: p.collapsed,
            hash: sha256_hex(&content),
            content,
        })
    }
}

struct Level<'a> {
    syms: &'a [Symbol],
    children: &'a [Vec<usize>],
    spec: &'a Spec,
    next_group: usize,
}

/// What stands for an elided body: `{ ... }` for a braced one (keeping what precedes the
/// brace, as in Go's `interface { ... }`), the language's marker otherwise.
fn elision(spec: &Spec, body: &str) -> String {
    let body = body.trim_end();
    if spec.braces
        && body.ends_with('}')
        && let Some(open) = body.find('{')
    {
        return format!("{}{{ ... }}", body.get(..open).unwrap_or(""));
    }
    spec.elision.to_owned()
}

fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn windows_overlap_and_cut_long_lines() {
        let opts = ChunkOptions {
            max_bytes: 10,
            ..ChunkOptions::default()
        };
        let chunker = Chunker::new("", &opts);
        let text = "aaa\nbbb\nccc\nddd\n";
        let w = chunker.windows(text, 1);
        let got: Vec<&str> = w.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(got, ["aaa\nbbb", "bbb\nccc", "ccc\nddd"]);
        let long = "ééééééééé"; // 18 bytes
        let got: Vec<&str> = chunker
            .windows(long, 0)
            .iter()
            .map(|r| &long[r.clone()])
            .collect();
        assert_eq!(got, ["ééééé", "éééé"]);
    }

    #[test]
    fn elision_keeps_what_precedes_the_brace() {
        let spec = Language::Go.spec();
        assert_eq!(
            elision(spec, "interface {\n\tRun()\n}"),
            "interface { ... }"
        );
        assert_eq!(elision(spec, "{\n\treturn 1\n}"), "{ ... }");
        assert_eq!(elision(Language::Python.spec(), "return {1: 2}"), "...");
    }
}
