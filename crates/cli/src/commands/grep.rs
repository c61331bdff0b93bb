//! `cuervo grep PATTERN [PATH…]`: search file contents like ripgrep, on
//! `cuervo_text::scan`.
//!
//! Output is ripgrep's non-terminal format: `path:line:text` for matches, `path-line-text`
//! for context, `--` between context groups; `-l` prints paths, `-c` `path:count`, and
//! `--json` one object per line in ripgrep's `match`/`context` message shape. The exit
//! status is ripgrep's: 0 when something matched, 1 when nothing did, 2 on an error.
//!
//! Walker threads format each file's lines into their own buffer and hand it to the main
//! thread, which alone writes to a locked, buffered stdout, so one file's lines are never
//! interleaved with another's.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};

use clap::ValueEnum;
use cuervo_text::scan::{
    self, Case, FileEnd, Flow, GrepOptions, GrepSink, LineKind, LineRef, ScanError, WalkOptions,
};
use serde_json::json;

/// Search file contents for a regular expression, like ripgrep.
#[derive(Debug, clap::Args)]
pub struct GrepArgs {
    /// Regular expression (Rust regex syntax) to search for; literal text with -F.
    #[arg(value_name = "PATTERN", required_unless_present_any = ["regexp", "type_list"])]
    pub pattern: Option<String>,

    /// Files or directories to search (default: the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A pattern to search for; repeat for several (then every positional is a PATH).
    #[arg(short = 'e', long = "regexp", value_name = "PATTERN")]
    pub regexp: Vec<String>,

    /// Treat the pattern as literal text, not a regular expression.
    #[arg(short = 'F', long)]
    pub fixed_strings: bool,

    /// Match case-insensitively.
    #[arg(short = 'i', long, overrides_with_all = ["smart_case", "case_sensitive"])]
    pub ignore_case: bool,

    /// Case-insensitive unless the pattern has an upper-case letter.
    #[arg(short = 'S', long, overrides_with_all = ["ignore_case", "case_sensitive"])]
    pub smart_case: bool,

    /// Match case-sensitively (the default; overrides -i and -S given before it).
    #[arg(short = 's', long, overrides_with_all = ["ignore_case", "smart_case"])]
    pub case_sensitive: bool,

    /// Only match whole words.
    #[arg(short = 'w', long)]
    pub word_regexp: bool,

    /// Lines of context after each match.
    #[arg(short = 'A', long, value_name = "NUM")]
    pub after_context: Option<usize>,

    /// Lines of context before each match.
    #[arg(short = 'B', long, value_name = "NUM")]
    pub before_context: Option<usize>,

    /// Lines of context before and after each match.
    #[arg(short = 'C', long, value_name = "NUM")]
    pub context: Option<usize>,

    /// Stop searching a file after NUM matching lines.
    #[arg(short = 'm', long, value_name = "NUM")]
    pub max_count: Option<u64>,

    /// Let matches span lines (`\n` in the pattern matches line ends).
    #[arg(short = 'U', long)]
    pub multiline: bool,

    /// With -U, let `.` match line ends too.
    #[arg(long, requires = "multiline")]
    pub multiline_dotall: bool,

    /// Print only the paths of files with a match.
    #[arg(short = 'l', long, conflicts_with_all = ["count", "json"])]
    pub files_with_matches: bool,

    /// Print the number of matching lines per file (`path:count`).
    #[arg(short = 'c', long, conflicts_with = "json")]
    pub count: bool,

    /// Print one JSON object per line (ripgrep's `match` and `context` messages).
    #[arg(long)]
    pub json: bool,

    /// Show line numbers (the default).
    #[arg(short = 'n', long, overrides_with = "no_line_number")]
    pub line_number: bool,

    /// Do not show line numbers.
    #[arg(short = 'N', long, overrides_with = "line_number")]
    pub no_line_number: bool,

    /// Print the path with every line, even when searching a single file.
    #[arg(short = 'H', long, overrides_with = "no_filename")]
    pub with_filename: bool,

    /// Never print the path with a line.
    #[arg(short = 'I', long, overrides_with = "with_filename")]
    pub no_filename: bool,

    /// Print nothing; exit 0 at the first match, 1 if there is none.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// List the file types -t and -T know, and exit.
    #[arg(long)]
    pub type_list: bool,

    #[command(flatten)]
    pub walk: WalkArgs,
}

/// What to walk and what to skip, shared by `grep` and `files`.
#[derive(Debug, Clone, clap::Args)]
pub struct WalkArgs {
    /// Only search files matching GLOB (ripgrep syntax: without `/` it matches names at any
    /// depth; `!GLOB` excludes). Repeatable. Overrides ignore files.
    #[arg(short = 'g', long = "glob", value_name = "GLOB")]
    pub globs: Vec<String>,

    /// Only search files of TYPE (rust, py, js, ts, go, c, cpp, md…; see --type-list).
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    pub types: Vec<String>,

    /// Skip files of TYPE.
    #[arg(short = 'T', long = "type-not", value_name = "TYPE")]
    pub types_not: Vec<String>,

    /// Search hidden files and directories too.
    #[arg(long)]
    pub hidden: bool,

    /// Do not honour .gitignore, .ignore, .cuervoignore or git's excludes.
    #[arg(long)]
    pub no_ignore: bool,

    /// Follow symbolic links.
    #[arg(short = 'L', long)]
    pub follow: bool,

    /// Descend at most NUM directories below each path.
    #[arg(short = 'd', long, value_name = "NUM")]
    pub max_depth: Option<usize>,

    /// Sort the output (`path`), at some cost in speed; `none` is the default.
    #[arg(long, value_enum, value_name = "BY", default_value_t = SortBy::None)]
    pub sort: SortBy,

    /// Threads to search with (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "NUM")]
    pub threads: Option<usize>,
}

/// Output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    /// As found (fastest).
    None,
    /// By path.
    Path,
}

impl WalkArgs {
    /// The walk options for `paths` (the current directory when empty).
    pub fn options(&self, paths: &[PathBuf]) -> WalkOptions {
        self.options_with_glob(paths, None)
    }

    /// The walk options, with `glob` before the `-g` globs (a later glob wins where two
    /// match, so `-g '!x'` can carve out of it).
    pub fn options_with_glob(&self, paths: &[PathBuf], glob: Option<&str>) -> WalkOptions {
        let mut opts = WalkOptions::default()
            .hidden(self.hidden)
            .ignore_files(!self.no_ignore)
            .follow_links(self.follow)
            .max_depth(self.max_depth)
            .sorted(self.sort == SortBy::Path)
            .threads(self.threads.unwrap_or(0));
        if paths.is_empty() {
            opts = opts.root(".");
        }
        for p in paths {
            opts = opts.root(p);
        }
        for g in glob
            .into_iter()
            .chain(self.globs.iter().map(String::as_str))
        {
            opts = opts.glob(g);
        }
        for t in &self.types {
            opts = opts.file_type(t);
        }
        for t in &self.types_not {
            opts = opts.not_file_type(t);
        }
        opts
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lines,
    Json,
    Files,
    Count,
    Quiet,
}

/// How lines are printed; shared by every thread's printer.
struct Style {
    mode: Mode,
    with_filename: bool,
    line_numbers: bool,
    /// Strip the `./` the implicit root adds, as ripgrep does.
    strip_dot: bool,
    context: bool,
}

/// Runs `cuervo grep`.
pub fn run(args: &GrepArgs) -> anyhow::Result<ExitCode> {
    if args.type_list {
        return print_type_list();
    }
    let (patterns, paths) = patterns_and_paths(args);
    let Some((first, rest)) = patterns.split_first() else {
        return Ok(usage("give a PATTERN to search for"));
    };
    let after = args.after_context.or(args.context).unwrap_or(0);
    let before = args.before_context.or(args.context).unwrap_or(0);
    let mode = if args.quiet {
        Mode::Quiet
    } else if args.files_with_matches {
        Mode::Files
    } else if args.count {
        Mode::Count
    } else if args.json {
        Mode::Json
    } else {
        Mode::Lines
    };
    let case = if args.ignore_case {
        Case::Insensitive
    } else if args.smart_case {
        Case::Smart
    } else {
        Case::Sensitive
    };
    let lines_shown = matches!(mode, Mode::Lines | Mode::Json);
    let mut opts = GrepOptions::new(first.clone());
    for p in rest {
        opts = opts.pattern(p.clone());
    }
    let max_count = match mode {
        Mode::Files | Mode::Quiet => Some(args.max_count.unwrap_or(1).min(1)),
        _ => args.max_count,
    };
    let opts = opts
        .fixed_strings(args.fixed_strings)
        .case(case)
        .word(args.word_regexp)
        .before_context(if lines_shown { before } else { 0 })
        .after_context(if lines_shown { after } else { 0 })
        .max_count(max_count)
        .multiline(args.multiline)
        .multiline_dotall(args.multiline_dotall)
        .line_numbers(lines_shown && (!args.no_line_number || mode == Mode::Json))
        .walk(args.walk.options(&paths));
    let single_file = paths.len() == 1 && paths[0].is_file();
    let style = Style {
        mode,
        with_filename: if args.no_filename {
            false
        } else {
            args.with_filename || !single_file
        },
        line_numbers: !args.no_line_number,
        strip_dot: paths.is_empty(),
        context: lines_shown && (before > 0 || after > 0),
    };
    let closed = AtomicBool::new(false);
    let result = to_stdout(&closed, |tx| {
        scan::grep_with(&opts, || Printer {
            style: &style,
            tx: tx.clone(),
            closed: &closed,
            buf: Vec::with_capacity(8 * 1024),
            group_open: false,
        })
    })?;
    let summary = match result {
        Ok(summary) => summary,
        Err(e) if e.is_usage() => return Ok(usage(&e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let errored = report(&summary.errors);
    Ok(exit_code(summary.matched_lines > 0, errored, args.quiet))
}

/// `-e` patterns, or else the first positional; the positionals that are paths.
fn patterns_and_paths(args: &GrepArgs) -> (Vec<String>, Vec<PathBuf>) {
    if args.regexp.is_empty() {
        (args.pattern.iter().cloned().collect(), args.paths.clone())
    } else {
        let paths = args
            .pattern
            .iter()
            .map(PathBuf::from)
            .chain(args.paths.iter().cloned())
            .collect();
        (args.regexp.clone(), paths)
    }
}

/// ripgrep's rule: 0 if something matched (and no error, unless quiet), else 2 after an
/// error, else 1.
pub(crate) fn exit_code(found: bool, errored: bool, quiet: bool) -> ExitCode {
    if found && (quiet || !errored) {
        ExitCode::SUCCESS
    } else if errored {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

pub(crate) fn usage(message: &str) -> ExitCode {
    eprintln!("cuervo: {message}");
    ExitCode::from(2)
}

/// Prints errors met along the way to stderr; says whether any was more than a warning.
pub(crate) fn report(errors: &[ScanError]) -> bool {
    let mut errored = false;
    for e in errors {
        if e.is_warning() {
            eprintln!("cuervo: warning: {e}");
        } else {
            errored = true;
            eprintln!("cuervo: {e}");
        }
    }
    errored
}

fn print_type_list() -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::new(io::stdout().lock());
    for (name, globs) in scan::file_types() {
        if writeln!(out, "{name}: {}", globs.join(", ")).is_err() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// A piece of output: whole files' worth of lines.
pub(crate) struct Chunk {
    pub(crate) bytes: Vec<u8>,
    /// Print `--` first if anything was printed before (context groups across files).
    pub(crate) separate: bool,
}

/// Runs `search` on a scoped thread and writes the chunks it sends to a locked, buffered
/// stdout on this one. A closed stdout (`| head`) sets `closed`, which the search's
/// printers check to quit; it is not an error.
pub(crate) fn to_stdout<R: Send>(
    closed: &AtomicBool,
    search: impl FnOnce(&SyncSender<Chunk>) -> R + Send,
) -> anyhow::Result<R> {
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Chunk>(256);
        let worker = s.spawn(move || search(&tx));
        let stdout = io::stdout();
        let interactive = stdout.is_terminal();
        let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
        let mut printed = false;
        let mut failed: Option<io::Error> = None;
        for chunk in rx {
            if failed.is_some() {
                continue;
            }
            let mut write = || -> io::Result<()> {
                if chunk.separate && printed {
                    out.write_all(b"--\n")?;
                }
                out.write_all(&chunk.bytes)?;
                if interactive {
                    out.flush()?;
                }
                Ok(())
            };
            match write() {
                Ok(()) => printed = true,
                Err(e) => {
                    closed.store(true, Ordering::Relaxed);
                    failed = Some(e);
                }
            }
        }
        if failed.is_none()
            && let Err(e) = out.flush()
        {
            failed = Some(e);
        }
        let result = worker
            .join()
            .map_err(|_| anyhow::anyhow!("the search thread panicked"))?;
        match failed {
            Some(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                Err(anyhow::Error::new(e).context("cannot write to stdout"))
            }
            _ => Ok(result),
        }
    })
}

/// Appends `path` as printed: raw bytes, without the implicit root's `./`.
pub(crate) fn push_path(buf: &mut Vec<u8>, path: &Path, strip_dot: bool) {
    let bytes = path.as_os_str().as_encoded_bytes();
    let bytes = match bytes.strip_prefix(b"./") {
        Some(rest) if strip_dot => rest,
        _ => bytes,
    };
    buf.extend_from_slice(bytes);
}

fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// One thread's printer: formats a file's lines into `buf`, sends it when the file ends.
struct Printer<'a> {
    style: &'a Style,
    tx: SyncSender<Chunk>,
    closed: &'a AtomicBool,
    buf: Vec<u8>,
    /// A context group has started in this file (so a break before the next one counts).
    group_open: bool,
}

impl Printer<'_> {
    fn flow(&self) -> Flow {
        if self.closed.load(Ordering::Relaxed) {
            Flow::Quit
        } else {
            Flow::Continue
        }
    }

    fn send(&mut self, separate: bool) -> Flow {
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(8 * 1024));
        if self.tx.send(Chunk { bytes, separate }).is_err() {
            return Flow::Quit;
        }
        self.flow()
    }

    fn json_line(&mut self, line: &LineRef<'_>) {
        let mut path = Vec::new();
        push_path(&mut path, line.path, self.style.strip_dot);
        let mut text = line.bytes.to_vec();
        text.push(b'\n');
        let submatches: Vec<serde_json::Value> = line
            .submatches()
            .into_iter()
            .map(|r| json!({"match": data(&line.bytes[r.clone()]), "start": r.start, "end": r.end}))
            .collect();
        let kind = match line.kind {
            LineKind::Match => "match",
            LineKind::Context => "context",
        };
        let value = json!({
            "type": kind,
            "data": {
                "path": data(&path),
                "lines": data(&text),
                "line_number": line.line_number,
                "absolute_offset": line.byte_offset,
                "submatches": submatches,
            }
        });
        // Serialising a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buf, &value);
        self.buf.push(b'\n');
    }
}

/// ripgrep's arbitrary data: `{"text": …}` for UTF-8, else `{"bytes": base64}`.
fn data(bytes: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!({ "text": text }),
        Err(_) => json!({ "bytes": base64(bytes) }),
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl GrepSink for Printer<'_> {
    #[inline]
    fn line(&mut self, line: &LineRef<'_>) -> Flow {
        match self.style.mode {
            Mode::Lines => {
                let sep = match line.kind {
                    LineKind::Match => b':',
                    LineKind::Context => b'-',
                };
                if self.style.with_filename {
                    push_path(&mut self.buf, line.path, self.style.strip_dot);
                    self.buf.push(sep);
                }
                if self.style.line_numbers
                    && let Some(n) = line.line_number
                {
                    push_u64(&mut self.buf, n);
                    self.buf.push(sep);
                }
                self.buf.extend_from_slice(line.bytes);
                self.buf.push(b'\n');
                self.group_open = true;
            }
            Mode::Json => self.json_line(line),
            Mode::Quiet => return Flow::Quit,
            Mode::Files | Mode::Count => {}
        }
        self.flow()
    }

    fn context_break(&mut self) -> Flow {
        if self.style.mode == Mode::Lines && self.group_open {
            self.buf.extend_from_slice(b"--\n");
        }
        self.flow()
    }

    fn file_end(&mut self, end: &FileEnd<'_>) -> Flow {
        self.group_open = false;
        if end.binary {
            // A NUL byte turned up after some lines matched: the file is skipped whole.
            self.buf.clear();
            return self.flow();
        }
        if end.matched_lines == 0 {
            self.buf.clear();
            return self.flow();
        }
        match self.style.mode {
            Mode::Files => {
                push_path(&mut self.buf, end.path, self.style.strip_dot);
                self.buf.push(b'\n');
            }
            Mode::Count => {
                if self.style.with_filename {
                    push_path(&mut self.buf, end.path, self.style.strip_dot);
                    self.buf.push(b':');
                }
                push_u64(&mut self.buf, end.matched_lines);
                self.buf.push(b'\n');
            }
            Mode::Quiet => return Flow::Quit,
            Mode::Lines | Mode::Json => {}
        }
        if self.buf.is_empty() {
            return self.flow();
        }
        let separate = self.style.context;
        self.send(separate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_base64_format_like_the_std_and_rfc_4648() {
        for n in [0u64, 7, 10, 99, 12345, u64::MAX] {
            let mut buf = Vec::new();
            push_u64(&mut buf, n);
            assert_eq!(String::from_utf8(buf).unwrap(), n.to_string());
        }
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob\xff"), "Zm9vYv8=");
    }

    #[test]
    fn paths_lose_only_the_implicit_dot() {
        let mut buf = Vec::new();
        push_path(&mut buf, Path::new("./src/a.rs"), true);
        assert_eq!(buf, b"src/a.rs");
        buf.clear();
        push_path(&mut buf, Path::new("./src/a.rs"), false);
        assert_eq!(buf, b"./src/a.rs");
    }

    #[test]
    fn exit_codes_follow_ripgrep() {
        assert_eq!(exit_code(true, false, false), ExitCode::SUCCESS);
        assert_eq!(exit_code(false, false, false), ExitCode::from(1));
        assert_eq!(exit_code(true, true, false), ExitCode::from(2));
        assert_eq!(exit_code(true, true, true), ExitCode::SUCCESS);
        assert_eq!(exit_code(false, true, true), ExitCode::from(2));
    }
}
