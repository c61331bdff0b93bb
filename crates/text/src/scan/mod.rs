//! Finding files and searching them: a parallel, gitignore-aware walk, glob matching and
//! grep, on ripgrep's own crates (`ignore`, `globset`, `grep-searcher`, `grep-regex`).
//!
//! # Design
//!
//! Everything here is *push*-based, like ripgrep: the walker's threads each take a
//! directory entry, and for grep each thread searches the files it finds itself with its
//! own [`grep_searcher::Searcher`] (whose buffers are reused from file to file) and its
//! own clone of the compiled matcher. Results are handed to the caller as they are found:
//!
//! - [`walk`] calls a `Fn(FileEntry) -> Flow` from any walker thread; [`walk_with`] builds
//!   one `FnMut` visitor per thread, so a caller can keep per-thread buffers;
//!   [`files`] collects the paths.
//! - [`grep`] calls a `Fn(Match) -> Flow` for every matching (or context) line as soon as
//!   the searcher reports it; [`grep_with`] builds one [`GrepSink`] per thread, which
//!   receives borrowed [`LineRef`]s (no allocation per line) and a call at the end of each
//!   file, so a printer can write one file's lines at once; [`grep_collect`] gathers
//!   everything into [`FileMatches`] sorted by path.
//!
//! Returning [`Flow::Quit`] from any callback stops the whole search soon after: every
//! thread checks a shared flag before its next file and its next line.
//!
//! With [`WalkOptions::sorted`], the walk still runs in parallel, then the paths are sorted
//! (component by component, which is the order of a depth-first walk that visits each
//! directory's entries by name) and handed over in that order; sorted grep searches the
//! sorted files in parallel in batches and delivers each batch in order.
//!
//! # What is skipped
//!
//! By default the walk honours `.gitignore` (also outside a git repository, and in parent
//! directories), `.ignore`, `.git/info/exclude`, git's global excludes file and
//! [`CUERVO_IGNORE_FILE`]; it skips hidden files and does not follow symbolic links.
//! Paths given explicitly as roots are always visited. Grep skips a file as binary as
//! soon as it sees a NUL byte; detection happens buffer by buffer (64 KiB), so in a big
//! file with a NUL byte far in, lines before it may already have been reported, exactly
//! as with ripgrep ([`FileEnd::binary`] says so, and [`grep_collect`] drops such files).

mod error;
mod glob;
mod grep;
mod walk;

pub use error::{Result, ScanError};
pub use glob::Globs;
pub use grep::{
    Case, FileEnd, FileMatches, GrepOptions, GrepSink, GrepSummary, LineKind, LineRef, Match, grep,
    grep_collect, grep_with,
};
pub use walk::{FileEntry, WalkOptions, WalkSummary, file_types, files, walk, walk_with};

/// The per-project ignore file honoured on top of `.gitignore` and `.ignore`, so a project
/// can hide files from Cuervo alone. Same syntax as `.gitignore`.
pub const CUERVO_IGNORE_FILE: &str = ".cuervoignore";

/// What a callback wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flow {
    /// Keep going.
    #[default]
    Continue,
    /// Stop the whole walk or search as soon as possible. Callbacks already running on
    /// other threads finish their current line or entry; nothing new starts.
    Quit,
}
