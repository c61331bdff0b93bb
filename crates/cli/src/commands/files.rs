//! `cuervo files [GLOB] [PATH…]`: list the files a search would look at, like
//! `rg --files -g GLOB`, on `cuervo_text::scan`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;

use cuervo_text::scan::{self, FileEntry, Flow};

use super::grep::{Chunk, WalkArgs, exit_code, push_path, report, to_stdout, usage};

/// List files, honouring ignore files, like `rg --files`.
#[derive(Debug, clap::Args)]
pub struct FilesArgs {
    /// Only list files matching GLOB (ripgrep syntax: without `/` it matches names at any
    /// depth, `**` crosses directories, `{a,b}` alternates, `!GLOB` excludes).
    #[arg(value_name = "GLOB")]
    pub glob: Option<String>,

    /// Directories to list (default: the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// List at most NUM files.
    #[arg(long, value_name = "NUM")]
    pub limit: Option<usize>,

    /// End each path with a NUL byte instead of a newline (for `xargs -0`).
    #[arg(short = '0', long)]
    pub null: bool,

    #[command(flatten)]
    pub walk: WalkArgs,
}

/// Bytes a thread gathers before handing them to stdout.
const CHUNK: usize = 32 * 1024;

/// Runs `cuervo files`.
pub fn run(args: &FilesArgs) -> anyhow::Result<ExitCode> {
    let opts = args
        .walk
        .options_with_glob(&args.paths, args.glob.as_deref())
        .max_results(args.limit);
    let strip_dot = args.paths.is_empty();
    let terminator = if args.null { b'\0' } else { b'\n' };
    let closed = AtomicBool::new(false);
    let result = to_stdout(&closed, |tx| {
        scan::walk_with(&opts, || {
            let mut lister = Lister {
                tx: tx.clone(),
                closed: &closed,
                buf: Vec::with_capacity(CHUNK),
                strip_dot,
                terminator,
            };
            move |entry: FileEntry| lister.push(&entry)
        })
    })?;
    let summary = match result {
        Ok(summary) => summary,
        Err(e) if e.is_usage() => return Ok(usage(&e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let errored = report(&summary.errors);
    Ok(exit_code(summary.files > 0, errored, false))
}

/// One thread's lister: paths gather in `buf` and go to stdout a chunk at a time (and
/// the rest when the thread is done).
struct Lister<'a> {
    tx: SyncSender<Chunk>,
    closed: &'a AtomicBool,
    buf: Vec<u8>,
    strip_dot: bool,
    terminator: u8,
}

impl Lister<'_> {
    fn send(&mut self) -> bool {
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(Chunk {
                bytes,
                separate: false,
            })
            .is_ok()
    }
}

impl Lister<'_> {
    fn push(&mut self, entry: &FileEntry) -> Flow {
        push_path(&mut self.buf, &entry.path, self.strip_dot);
        self.buf.push(self.terminator);
        if self.buf.len() >= CHUNK && !self.send() {
            return Flow::Quit;
        }
        if self.closed.load(Ordering::Relaxed) {
            Flow::Quit
        } else {
            Flow::Continue
        }
    }
}

impl Drop for Lister<'_> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.send();
        }
    }
}
