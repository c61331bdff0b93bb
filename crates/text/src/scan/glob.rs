//! Whole-path glob matching with negation, on globset.

use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::{Result, ScanError};

/// A set of globs matched against whole relative paths (`src/main.rs`), with `!pattern`
/// excluding.
///
/// A path matches when it matches at least one positive pattern (or there is none) and no
/// negated one. The syntax is globset's: `*` and `?` never cross `/`, `**` crosses any
/// number of directories (`**/*.rs`, `src/**`), `{a,b}` alternates, `[abc]` and `[!abc]`
/// are classes, and `\` escapes. A leading `./` is ignored.
///
/// This is the glob tool's matching, where `*.rs` means "at the top level". For
/// ripgrep's `-g` matching, where a pattern without `/` matches a file name at any depth
/// and overrides the ignore files, use [`WalkOptions::glob`](super::WalkOptions::glob).
#[derive(Debug, Clone)]
pub struct Globs {
    include: GlobSet,
    exclude: GlobSet,
    has_include: bool,
}

impl Globs {
    /// Compiles the patterns. An empty list matches everything.
    pub fn new<I, S>(patterns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut include = GlobSetBuilder::new();
        let mut exclude = GlobSetBuilder::new();
        let mut has_include = false;
        for pattern in patterns {
            let raw = pattern.as_ref();
            let (negated, glob) = match raw.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let mut glob = glob.trim();
            while let Some(rest) = glob.strip_prefix("./") {
                glob = rest;
            }
            let compiled = GlobBuilder::new(glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| ScanError::InvalidGlob {
                    glob: raw.to_owned(),
                    message: e.kind().to_string(),
                })?;
            if negated {
                exclude.add(compiled);
            } else {
                has_include = true;
                include.add(compiled);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| ScanError::InvalidGlob {
                glob: e.glob().unwrap_or_default().to_owned(),
                message: e.kind().to_string(),
            })
        };
        Ok(Self {
            include: build(include)?,
            exclude: build(exclude)?,
            has_include,
        })
    }

    /// Whether `path` (relative to the directory searched) is selected.
    pub fn is_match(&self, path: impl AsRef<Path>) -> bool {
        let path = path.as_ref();
        (!self.has_include || self.include.is_match(path)) && !self.exclude.is_match(path)
    }

    /// Whether the set has no patterns at all (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_in_one_directory_and_double_star_crosses() {
        let g = Globs::new(["*.rs"]).unwrap();
        assert!(g.is_match("main.rs"));
        assert!(!g.is_match("src/main.rs"));
        let g = Globs::new(["**/*.rs"]).unwrap();
        assert!(g.is_match("main.rs"));
        assert!(g.is_match("a/b/c.rs"));
        assert!(!g.is_match("a/b/c.rsx"));
    }

    #[test]
    fn braces_negation_and_dot_slash() {
        let g = Globs::new(["./src/**/*.{ts,tsx}", "!**/*.test.*"]).unwrap();
        assert!(g.is_match("src/a/b.tsx"));
        assert!(g.is_match("src/b.ts"));
        assert!(!g.is_match("src/b.test.ts"));
        assert!(!g.is_match("lib/b.ts"));
        // Only negations: everything else matches.
        let g = Globs::new(["!*.md"]).unwrap();
        assert!(g.is_match("a.rs"));
        assert!(!g.is_match("README.md"));
        assert!(Globs::new(Vec::<String>::new()).unwrap().is_empty());
    }

    #[test]
    fn bad_globs_are_reported_with_the_pattern() {
        let err = Globs::new(["src/[a"]).unwrap_err();
        assert!(matches!(&err, ScanError::InvalidGlob { glob, .. } if glob == "src/[a"));
        assert!(err.is_usage());
    }
}
