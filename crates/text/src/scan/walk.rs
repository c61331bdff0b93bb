//! The parallel, gitignore-aware directory walk.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use ignore::overrides::OverrideBuilder;
use ignore::types::TypesBuilder;
use ignore::{WalkBuilder, WalkState};

use super::{CUERVO_IGNORE_FILE, Flow, Globs, Result, ScanError};

/// What to walk and what to skip. Build it with the chained methods:
///
/// ```
/// use cuervo_text::scan::WalkOptions;
/// let opts = WalkOptions::new("src").glob("*.rs").max_depth(Some(3)).sorted(true);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct WalkOptions {
    roots: Vec<PathBuf>,
    hidden: bool,
    ignore_files: bool,
    require_git: bool,
    follow_links: bool,
    max_depth: Option<usize>,
    max_results: Option<usize>,
    sorted: bool,
    globs: Vec<String>,
    path_globs: Option<Globs>,
    types: Vec<String>,
    types_not: Vec<String>,
    custom_ignore_files: Vec<String>,
    threads: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            roots: Vec::new(),
            hidden: false,
            ignore_files: true,
            require_git: false,
            follow_links: false,
            max_depth: None,
            max_results: None,
            sorted: false,
            globs: Vec::new(),
            path_globs: None,
            types: Vec::new(),
            types_not: Vec::new(),
            custom_ignore_files: vec![CUERVO_IGNORE_FILE.to_owned()],
            threads: 0,
        }
    }
}

impl WalkOptions {
    /// A walk of one directory (or one file) with the default filters.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            roots: vec![root.into()],
            ..Self::default()
        }
    }

    /// Adds another root; roots are walked together. With no root at all, `.` is walked.
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.roots.push(root.into());
        self
    }

    /// The roots to walk.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Include hidden files and directories (names starting with `.`). Default: no.
    pub fn hidden(mut self, yes: bool) -> Self {
        self.hidden = yes;
        self
    }

    /// Honour ignore files: `.gitignore`, `.ignore`, `.git/info/exclude`, git's global
    /// excludes, the custom ignore files ([`CUERVO_IGNORE_FILE`]) and those of parent
    /// directories. Default: yes. `false` is ripgrep's `--no-ignore`.
    pub fn ignore_files(mut self, yes: bool) -> Self {
        self.ignore_files = yes;
        self
    }

    /// Apply git's ignore rules only inside a git repository, as ripgrep does. Default:
    /// no, so a project's `.gitignore` counts before its first `git init`.
    pub fn require_git(mut self, yes: bool) -> Self {
        self.require_git = yes;
        self
    }

    /// Follow symbolic links. Loops are detected and reported as errors, not walked
    /// forever. Default: no (symbolic links are skipped).
    pub fn follow_links(mut self, yes: bool) -> Self {
        self.follow_links = yes;
        self
    }

    /// Descend at most this many levels below each root (`Some(1)`: the root's own
    /// entries only).
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.max_depth = depth;
        self
    }

    /// Yield at most this many files. Unsorted, the walk stops as soon as it has them (which
    /// ones is then up to the thread timing); sorted, they are the first in sorted order.
    pub fn max_results(mut self, limit: Option<usize>) -> Self {
        self.max_results = limit;
        self
    }

    /// Hand files over sorted by path (component by component) instead of as found.
    pub fn sorted(mut self, yes: bool) -> Self {
        self.sorted = yes;
        self
    }

    /// Whether results are sorted.
    pub fn is_sorted(&self) -> bool {
        self.sorted
    }

    /// Adds a ripgrep `-g` glob: gitignore syntax relative to the root, where a pattern
    /// without `/` matches a name at any depth, and `!glob` excludes. When any positive
    /// glob is given, only matching files are yielded. A glob overrides the ignore files
    /// and the hidden-file rule, as in ripgrep.
    pub fn glob(mut self, glob: impl Into<String>) -> Self {
        self.globs.push(glob.into());
        self
    }

    /// Keeps only files whose path relative to their root matches `globs` (whole-path
    /// matching, see [`Globs`]).
    pub fn match_paths(mut self, globs: Globs) -> Self {
        self.path_globs = Some(globs);
        self
    }

    /// Keeps only files of this type in `ignore`'s table of types (ripgrep's `-t`:
    /// `rust`, `py`, `js`, `ts`, `go`, `c`, `cpp`, `md`, …). Repeatable.
    pub fn file_type(mut self, name: impl Into<String>) -> Self {
        self.types.push(name.into());
        self
    }

    /// Skips files of this type (ripgrep's `-T`). Repeatable.
    pub fn not_file_type(mut self, name: impl Into<String>) -> Self {
        self.types_not.push(name.into());
        self
    }

    /// Honours another per-directory ignore file name besides [`CUERVO_IGNORE_FILE`].
    pub fn custom_ignore_file(mut self, name: impl Into<String>) -> Self {
        self.custom_ignore_files.push(name.into());
        self
    }

    /// Threads to walk (and search) with; 0, the default, picks the number of CPUs (up to
    /// 12, like ripgrep).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// The configured `ignore` walk builder, for callers that need entries this module
    /// does not yield (directories, say). The path globs of [`match_paths`](Self::match_paths)
    /// and the result limit are not part of it.
    pub fn walk_builder(&self) -> Result<WalkBuilder> {
        let default_root = [PathBuf::from(".")];
        let roots = if self.roots.is_empty() {
            &default_root[..]
        } else {
            &self.roots[..]
        };
        let mut b = WalkBuilder::new(&roots[0]);
        for root in &roots[1..] {
            b.add(root);
        }
        let ig = self.ignore_files;
        b.hidden(!self.hidden)
            .ignore(ig)
            .git_ignore(ig)
            .git_global(ig)
            .git_exclude(ig)
            .parents(ig)
            .require_git(self.require_git)
            .follow_links(self.follow_links)
            .max_depth(self.max_depth)
            .threads(self.threads);
        if ig {
            for name in &self.custom_ignore_files {
                b.add_custom_ignore_filename(name);
            }
        }
        if !self.globs.is_empty() {
            let base: &Path = if roots.len() == 1 {
                &roots[0]
            } else {
                Path::new("")
            };
            let mut ob = OverrideBuilder::new(base);
            for g in &self.globs {
                ob.add(g).map_err(|e| glob_error(g, e))?;
            }
            let overrides = ob
                .build()
                .map_err(|e| glob_error(self.globs.join(" "), e))?;
            b.overrides(overrides);
        }
        if !self.types.is_empty() || !self.types_not.is_empty() {
            let mut tb = TypesBuilder::new();
            tb.add_defaults();
            for t in &self.types {
                tb.select(t);
            }
            for t in &self.types_not {
                tb.negate(t);
            }
            let types = tb.build().map_err(|e| match e {
                ignore::Error::UnrecognizedFileType(name) => ScanError::UnknownType(name),
                other => ScanError::Walk(other),
            })?;
            b.types(types);
        }
        Ok(b)
    }

    /// The part of `path` below the root it was found under.
    pub(super) fn relative<'p>(&self, path: &'p Path) -> &'p Path {
        self.roots
            .iter()
            .find_map(|r| path.strip_prefix(r).ok())
            .or_else(|| path.strip_prefix(".").ok())
            .unwrap_or(path)
    }
}

/// The file types [`WalkOptions::file_type`] knows, by name, each with its globs.
pub fn file_types() -> Vec<(String, Vec<String>)> {
    let mut b = TypesBuilder::new();
    b.add_defaults();
    b.definitions()
        .into_iter()
        .map(|d| (d.name().to_owned(), d.globs().to_vec()))
        .collect()
}

fn glob_error(glob: impl Into<String>, e: ignore::Error) -> ScanError {
    let glob = glob.into();
    match e {
        ignore::Error::Glob { glob: g, err } => ScanError::InvalidGlob {
            glob: g.unwrap_or(glob),
            message: err,
        },
        other => ScanError::InvalidGlob {
            glob,
            message: other.to_string(),
        },
    }
}

/// A file the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The path as walked: the root joined with the names below it (so relative when the
    /// root is).
    pub path: PathBuf,
    /// Levels below its root: 0 for a root that is itself a file.
    pub depth: usize,
}

impl FileEntry {
    /// The path, moved out.
    pub fn into_path(self) -> PathBuf {
        self.path
    }
}

/// How a walk went.
#[derive(Debug, Default)]
pub struct WalkSummary {
    /// Files handed to the visitor.
    pub files: u64,
    /// Whether the walk stopped early (a visitor quit or the result limit was reached).
    pub stopped: bool,
    /// Paths that could not be walked (missing roots, unreadable directories, link loops,
    /// ignore files that do not parse); the walk went on without them.
    pub errors: Vec<ScanError>,
}

/// Walks in parallel and calls `visit` for every file, from whichever thread found it.
pub fn walk<V>(opts: &WalkOptions, visit: V) -> Result<WalkSummary>
where
    V: Fn(FileEntry) -> Flow + Sync,
{
    let visit = &visit;
    walk_with(opts, || move |e| visit(e))
}

/// Walks in parallel with one visitor per thread, built by `make_visitor`, so a visitor
/// can keep state (an output buffer, say) without locking. Sorted walks build one
/// visitor and call it on the calling thread, in order.
pub fn walk_with<F, V>(opts: &WalkOptions, make_visitor: F) -> Result<WalkSummary>
where
    F: Fn() -> V + Sync,
    V: FnMut(FileEntry) -> Flow + Send,
{
    if opts.sorted {
        let (entries, mut summary) = collect_sorted(opts)?;
        let mut visit = make_visitor();
        summary.files = 0;
        for entry in entries {
            summary.files += 1;
            if visit(entry) == Flow::Quit {
                summary.stopped = true;
                break;
            }
        }
        return Ok(summary);
    }
    let quit = AtomicBool::new(false);
    let shared = Shared::new(opts, &quit);
    run(opts, &shared, || {
        let mut visit = make_visitor();
        move |entry| visit(entry)
    })?;
    Ok(shared.finish())
}

/// The files under `opts`' roots: sorted when `opts` says so, else in the order found.
pub fn files(opts: &WalkOptions) -> Result<(Vec<PathBuf>, WalkSummary)> {
    if opts.sorted {
        let (entries, summary) = collect_sorted(opts)?;
        return Ok((
            entries.into_iter().map(FileEntry::into_path).collect(),
            summary,
        ));
    }
    let found = Mutex::new(Vec::new());
    let summary = walk_with(opts, || Batch::visitor(&found))?;
    let found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok((
        found.into_iter().map(FileEntry::into_path).collect(),
        summary,
    ))
}

/// Collects a thread's entries and adds them to the shared list when the thread is done.
struct Batch<'a> {
    local: Vec<FileEntry>,
    shared: &'a Mutex<Vec<FileEntry>>,
}

impl<'a> Batch<'a> {
    fn visitor(shared: &'a Mutex<Vec<FileEntry>>) -> impl FnMut(FileEntry) -> Flow + Send + 'a {
        let mut batch = Batch {
            local: Vec::new(),
            shared,
        };
        move |entry| {
            batch.local.push(entry);
            Flow::Continue
        }
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        shared.append(&mut self.local);
    }
}

/// Every file (up to the result limit, in sorted order), walked in parallel.
pub(super) fn collect_sorted(opts: &WalkOptions) -> Result<(Vec<FileEntry>, WalkSummary)> {
    let unlimited = opts.clone().max_results(None).sorted(false);
    let found = Mutex::new(Vec::new());
    let quit = AtomicBool::new(false);
    let shared = Shared::new(&unlimited, &quit);
    run(&unlimited, &shared, || Batch::visitor(&found))?;
    let mut summary = shared.finish();
    let mut entries = found.into_inner().unwrap_or_else(|p| p.into_inner());
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    if let Some(max) = opts.max_results
        && entries.len() > max
    {
        entries.truncate(max);
        summary.stopped = true;
    }
    summary.files = entries.len() as u64;
    Ok((entries, summary))
}

/// State every walker thread shares.
pub(super) struct Shared<'a> {
    pub(super) quit: &'a AtomicBool,
    taken: AtomicUsize,
    max: usize,
    files: AtomicU64,
    pub(super) errors: Mutex<Vec<ScanError>>,
}

impl<'a> Shared<'a> {
    pub(super) fn new(opts: &WalkOptions, quit: &'a AtomicBool) -> Self {
        Self {
            quit,
            taken: AtomicUsize::new(0),
            max: opts.max_results.unwrap_or(usize::MAX),
            files: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn error(&self, e: ScanError) {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }

    pub(super) fn finish(self) -> WalkSummary {
        WalkSummary {
            files: self.files.into_inner(),
            stopped: self.quit.load(Ordering::Relaxed),
            errors: self.errors.into_inner().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

/// The parallel walk under everything here: filters entries down to files (and the path
/// globs), enforces the result limit and the quit flag, records errors, and calls one
/// visitor per thread.
pub(super) fn run<F, V>(opts: &WalkOptions, shared: &Shared<'_>, make_visitor: F) -> Result<()>
where
    F: Fn() -> V + Sync,
    V: FnMut(FileEntry) -> Flow + Send,
{
    let builder = opts.walk_builder()?;
    if shared.max == 0 {
        shared.quit.store(true, Ordering::Relaxed);
        return Ok(());
    }
    let path_globs = opts.path_globs.as_ref().filter(|g| !g.is_empty());
    builder.build_parallel().run(|| {
        let mut visit = make_visitor();
        Box::new(move |result| {
            if shared.quit.load(Ordering::Relaxed) {
                return WalkState::Quit;
            }
            let entry = match result {
                Ok(entry) => entry,
                Err(e) => {
                    shared.error(ScanError::Walk(e));
                    return WalkState::Continue;
                }
            };
            if let Some(e) = entry.error() {
                shared.error(ScanError::IgnoreFile(e.clone()));
            }
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            if let Some(globs) = path_globs
                && !globs.is_match(opts.relative(entry.path()))
            {
                return WalkState::Continue;
            }
            if shared.taken.fetch_add(1, Ordering::Relaxed) >= shared.max {
                shared.quit.store(true, Ordering::Relaxed);
                return WalkState::Quit;
            }
            shared.files.fetch_add(1, Ordering::Relaxed);
            let depth = entry.depth();
            let flow = visit(FileEntry {
                path: entry.into_path(),
                depth,
            });
            if flow == Flow::Quit {
                shared.quit.store(true, Ordering::Relaxed);
                return WalkState::Quit;
            }
            WalkState::Continue
        })
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_strips_the_matching_root() {
        let opts = WalkOptions::new("a/b").root("c");
        assert_eq!(opts.relative(Path::new("a/b/x/y.rs")), Path::new("x/y.rs"));
        assert_eq!(opts.relative(Path::new("c/z.rs")), Path::new("z.rs"));
        assert_eq!(
            WalkOptions::default().relative(Path::new("./q.rs")),
            Path::new("q.rs")
        );
    }

    #[test]
    fn unknown_types_and_bad_globs_fail_before_walking() {
        let err = WalkOptions::new(".")
            .file_type("no-such-type")
            .walk_builder()
            .unwrap_err();
        assert!(matches!(&err, ScanError::UnknownType(t) if t == "no-such-type"));
        let err = WalkOptions::new(".").glob("a[").walk_builder().unwrap_err();
        assert!(
            matches!(&err, ScanError::InvalidGlob { glob, .. } if glob == "a["),
            "{err}"
        );
    }

    #[test]
    fn zero_results_walks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "").unwrap();
        let (found, summary) = files(&WalkOptions::new(dir.path()).max_results(Some(0))).unwrap();
        assert!(found.is_empty());
        assert!(summary.stopped);
    }
}
