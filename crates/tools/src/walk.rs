//! The one directory walk `glob`, `grep` and `ls` share, so they agree on what a
//! project's files are: hidden files skipped; `.gitignore`, `.ignore`, git's global
//! and per-repository excludes, and `.cuervoignore` honoured.

use std::path::Path;

use ignore::WalkBuilder;

use crate::CUERVO_IGNORE_FILE;

/// A walk rooted at `path` with the project's ignore rules. Ignore files apply even
/// outside a git repository: a fresh project without `.git` still means its
/// `.gitignore`.
pub(crate) fn builder(path: &Path) -> WalkBuilder {
    let mut b = WalkBuilder::new(path);
    b.hidden(true)
        .ignore(true)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .parents(true)
        .require_git(false)
        .follow_links(false)
        .add_custom_ignore_filename(CUERVO_IGNORE_FILE);
    b
}
