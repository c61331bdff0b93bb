//! Many files at once, on rayon's pool (each thread reuses its own parser).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::chunk::{Chunk, ChunkOptions, chunk_source};
use super::language::{Language, detect_language};
use super::symbols::{Symbol, symbols};
use super::{Result, SyntaxError};

/// One file's symbols.
#[derive(Debug)]
pub struct FileSymbols {
    pub path: PathBuf,
    /// `None` when the file is in no language Cuervo parses (its symbols are then empty).
    pub language: Option<Language>,
    /// Size of the source read (0 when the file was not read).
    pub bytes: usize,
    pub symbols: Result<Vec<Symbol>>,
}

/// One file's chunks.
#[derive(Debug)]
pub struct FileChunks {
    pub path: PathBuf,
    pub chunks: Result<Vec<Chunk>>,
}

/// How much of a file is checked for a NUL byte before it is called binary.
const BINARY_PROBE: usize = 8 * 1024;

/// Reads a file as text: an error for binary files (a NUL byte in the first 8 KiB);
/// invalid UTF-8 is replaced with U+FFFD.
pub fn read_source(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| SyntaxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes[..bytes.len().min(BINARY_PROBE)].contains(&0) {
        return Err(SyntaxError::Binary(path.to_path_buf()));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Parses every file in parallel and returns their symbols in the order given. A file
/// whose extension names no supported language is not read; one with no extension is
/// read and its `#!` line consulted.
pub fn parse_files_parallel(paths: &[PathBuf]) -> Vec<FileSymbols> {
    paths.par_iter().map(|path| parse_file(path)).collect()
}

fn parse_file(path: &Path) -> FileSymbols {
    let by_name = detect_language(path, "");
    if by_name.is_none() && path.extension().is_some() {
        return FileSymbols {
            path: path.to_path_buf(),
            language: None,
            bytes: 0,
            symbols: Ok(Vec::new()),
        };
    }
    let source = match read_source(path) {
        Ok(s) => s,
        Err(e) => {
            return FileSymbols {
                path: path.to_path_buf(),
                language: by_name,
                bytes: 0,
                symbols: Err(e),
            };
        }
    };
    let language = by_name.or_else(|| detect_language(path, source.lines().next().unwrap_or("")));
    let symbols = match language {
        Some(lang) => symbols(lang, &source),
        None => Ok(Vec::new()),
    };
    FileSymbols {
        path: path.to_path_buf(),
        language,
        bytes: source.len(),
        symbols,
    }
}

/// Reads and chunks every file in parallel, in the order given.
pub fn chunk_files_parallel(paths: &[PathBuf], options: &ChunkOptions) -> Vec<FileChunks> {
    paths
        .par_iter()
        .map(|path| FileChunks {
            path: path.clone(),
            chunks: read_source(path).map(|source| {
                let first = source.lines().next().unwrap_or("");
                chunk_source(path, detect_language(path, first), &source, options)
            }),
        })
        .collect()
}

/// The files under `roots` (files given are taken as they are), sorted, honouring
/// `.gitignore`, `.ignore`, git's excludes and `.cuervoignore`, hidden files skipped.
pub fn source_files(roots: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let Some((first, rest)) = roots.split_first() else {
        return Ok(Vec::new());
    };
    for root in roots {
        if let Err(source) = std::fs::metadata(root) {
            return Err(SyntaxError::Io {
                path: root.clone(),
                source,
            });
        }
    }
    let mut builder = ignore::WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    builder.add_custom_ignore_filename(".cuervoignore");
    let mut files = Vec::new();
    for entry in builder.build() {
        let entry = match entry {
            Ok(e) => e,
            Err(_) => continue,
        };
        if entry.file_type().is_some_and(|t| t.is_file()) {
            files.push(entry.into_path());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_lossy_sources() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("a.rs");
        std::fs::write(&bin, b"fn x() {}\0\x01").unwrap();
        assert!(matches!(read_source(&bin), Err(SyntaxError::Binary(_))));
        let latin = dir.path().join("b.rs");
        std::fs::write(&latin, b"// caf\xe9\nfn x() {}\n").unwrap();
        assert_eq!(read_source(&latin).unwrap(), "// caf\u{fffd}\nfn x() {}\n");
    }

    #[test]
    fn files_by_extension_are_not_read_unless_parsable() {
        // Not there, but never opened: its extension says it is data.
        let got = parse_files_parallel(&[PathBuf::from("/nowhere/data.json")]);
        assert!(got[0].language.is_none() && got[0].symbols.as_ref().is_ok_and(Vec::is_empty));
        let got = parse_files_parallel(&[PathBuf::from("/nowhere/x.rs")]);
        assert!(matches!(got[0].symbols, Err(SyntaxError::Io { .. })));
    }

    #[test]
    fn walk_honours_ignore_files_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("src/gen")).unwrap();
        for f in [
            "src/b.rs",
            "src/a.rs",
            "src/gen/x.rs",
            "skip.py",
            ".hidden.rs",
        ] {
            std::fs::write(root.join(f), "").unwrap();
        }
        std::fs::write(root.join(".gitignore"), "gen/\n").unwrap();
        std::fs::write(root.join(".cuervoignore"), "skip.py\n").unwrap();
        let files = source_files(&[root.to_path_buf()]).unwrap();
        let rel: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(rel, [PathBuf::from("src/a.rs"), PathBuf::from("src/b.rs")]);
        assert!(source_files(&[root.join("missing")]).is_err());
    }
}
