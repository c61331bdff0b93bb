//! The one directory walk `glob`, `grep` and `ls` share, so they agree on what a
//! project's files are: `cuervo_text::scan`'s defaults — hidden files skipped;
//! `.gitignore`, `.ignore`, git's global and per-repository excludes, and `.cuervoignore`
//! honoured, also outside a git repository (a fresh project without `.git` still means its
//! `.gitignore`).

use std::path::Path;

use cuervo_text::scan::WalkOptions;
use ignore::WalkBuilder;

/// The walk options for a search rooted at `path`.
pub(crate) fn options(path: &Path) -> WalkOptions {
    WalkOptions::new(path)
}

/// The same walk as an `ignore` builder, for listings that need directories too.
pub(crate) fn builder(path: &Path) -> WalkBuilder {
    // Only globs and file types can make the builder fail, and these options have none.
    options(path)
        .walk_builder()
        .unwrap_or_else(|_| WalkBuilder::new(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_walk_honours_cuervoignore_and_skips_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            (".cuervoignore", "private.txt\n"),
            ("private.txt", ""),
            (".hidden", ""),
            ("kept.txt", ""),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let names: Vec<String> = builder(dir.path())
            .build()
            .filter_map(Result::ok)
            .filter(|e| e.depth() == 1)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["kept.txt"]);
    }
}
