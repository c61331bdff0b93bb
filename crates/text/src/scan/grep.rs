//! Grep: search the walked files in parallel with grep-searcher and grep-regex.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use rayon::prelude::*;

use super::walk::{self, Shared};
use super::{Flow, Result, ScanError, WalkOptions};

/// How letter case is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Case {
    /// `a` matches `a` only.
    #[default]
    Sensitive,
    /// `a` matches `a` and `A`.
    Insensitive,
    /// Insensitive unless the pattern has an upper-case letter (ripgrep's `-S`).
    Smart,
}

/// What to search for, how, and where. Build it with the chained methods:
///
/// ```
/// use cuervo_text::scan::{Case, GrepOptions, WalkOptions};
/// let opts = GrepOptions::new("fn main")
///     .case(Case::Smart)
///     .context(2)
///     .walk(WalkOptions::new("src").file_type("rust"));
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct GrepOptions {
    patterns: Vec<String>,
    fixed_strings: bool,
    case: Case,
    word: bool,
    before_context: usize,
    after_context: usize,
    max_count: Option<u64>,
    multiline: bool,
    multiline_dotall: bool,
    line_numbers: bool,
    walk: WalkOptions,
}

impl GrepOptions {
    /// A search for one regular expression (Rust `regex` syntax) under `.`.
    pub fn new(pattern: impl Into<String>) -> Self {
        Self {
            patterns: vec![pattern.into()],
            fixed_strings: false,
            case: Case::Sensitive,
            word: false,
            before_context: 0,
            after_context: 0,
            max_count: None,
            multiline: false,
            multiline_dotall: false,
            line_numbers: true,
            walk: WalkOptions::default(),
        }
    }

    /// Adds another pattern; a line matches when any pattern does (ripgrep's `-e`).
    pub fn pattern(mut self, pattern: impl Into<String>) -> Self {
        self.patterns.push(pattern.into());
        self
    }

    /// Treat the patterns as literal text rather than regular expressions.
    pub fn fixed_strings(mut self, yes: bool) -> Self {
        self.fixed_strings = yes;
        self
    }

    /// How letter case is matched. Default: [`Case::Sensitive`].
    pub fn case(mut self, case: Case) -> Self {
        self.case = case;
        self
    }

    /// Only match whole words: the match must have a non-word character (or the line's
    /// edge) on both sides.
    pub fn word(mut self, yes: bool) -> Self {
        self.word = yes;
        self
    }

    /// Lines of context before and after each match.
    pub fn context(self, lines: usize) -> Self {
        self.before_context(lines).after_context(lines)
    }

    /// Lines of context before each match.
    pub fn before_context(mut self, lines: usize) -> Self {
        self.before_context = lines;
        self
    }

    /// Lines of context after each match.
    pub fn after_context(mut self, lines: usize) -> Self {
        self.after_context = lines;
        self
    }

    /// Stop searching a file after this many matching lines (ripgrep's `-m`). Lines that
    /// match inside the trailing context of the last one are still reported as matches,
    /// as ripgrep does.
    pub fn max_count(mut self, limit: Option<u64>) -> Self {
        self.max_count = limit;
        self
    }

    /// Let a match span lines (ripgrep's `-U`): `\n` in the pattern matches line ends.
    /// Each line a match covers is reported.
    pub fn multiline(mut self, yes: bool) -> Self {
        self.multiline = yes;
        self
    }

    /// In multiline mode, let `.` match `\n` too.
    pub fn multiline_dotall(mut self, yes: bool) -> Self {
        self.multiline_dotall = yes;
        self
    }

    /// Count line numbers (default: yes). Without them [`LineRef::line_number`] is `None`
    /// and the search is a little faster.
    pub fn line_numbers(mut self, yes: bool) -> Self {
        self.line_numbers = yes;
        self
    }

    /// Where to search and what to skip.
    pub fn walk(mut self, walk: WalkOptions) -> Self {
        self.walk = walk;
        self
    }

    /// The walk options.
    pub fn walk_options(&self) -> &WalkOptions {
        &self.walk
    }

    /// The patterns.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Compiles the matcher, configured as ripgrep configures its own.
    pub fn matcher(&self) -> Result<RegexMatcher> {
        let mut b = RegexMatcherBuilder::new();
        b.multi_line(true).octal(false).word(self.word);
        match self.case {
            Case::Sensitive => b.case_insensitive(false),
            Case::Insensitive => b.case_insensitive(true),
            Case::Smart => b.case_smart(true),
        };
        if self.multiline {
            b.dot_matches_new_line(self.multiline_dotall);
        } else {
            b.line_terminator(Some(b'\n')).dot_matches_new_line(false);
        }
        // Binary detection quits at a NUL byte, so a pattern can never match one.
        b.ban_byte(Some(b'\0'));
        b.fixed_strings(self.fixed_strings);
        b.build_many(&self.patterns).map_err(|e| {
            let mut message = e.to_string();
            if !self.multiline && message.contains(r#""\n""#) {
                message.push_str(" (search in multiline mode to match across lines)");
            }
            ScanError::InvalidPattern {
                pattern: self.patterns.join("\n"),
                message,
            }
        })
    }

    fn searcher(&self) -> Searcher {
        SearcherBuilder::new()
            .line_number(self.line_numbers)
            .multi_line(self.multiline)
            .before_context(self.before_context)
            .after_context(self.after_context)
            .max_matches(self.max_count)
            .binary_detection(BinaryDetection::quit(b'\0'))
            .build()
    }
}

/// Whether a reported line matched or is context around a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// The line (or part of a multiline match) matched.
    Match,
    /// A line of context before or after a match.
    Context,
}

/// One reported line, borrowed from the searcher's buffer for the duration of a callback.
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    /// The file.
    pub path: &'a Path,
    /// Match or context.
    pub kind: LineKind,
    /// 1-based line number (when line numbers are on).
    pub line_number: Option<u64>,
    /// Offset of the line's first byte in the file.
    pub byte_offset: u64,
    /// The line without its `\n` (a `\r` before it stays).
    pub bytes: &'a [u8],
    /// The whole match this line is part of (the line itself, unless a multiline match
    /// spans several lines), and where the line starts in it.
    block: &'a [u8],
    block_start: usize,
    matcher: &'a RegexMatcher,
}

impl<'a> LineRef<'a> {
    /// The line as text (invalid UTF-8 replaced).
    pub fn text(&self) -> std::borrow::Cow<'a, str> {
        String::from_utf8_lossy(self.bytes)
    }

    /// Byte ranges of the matches within [`bytes`](Self::bytes), computed on demand. Empty
    /// for context lines.
    pub fn submatches(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        if self.kind == LineKind::Context {
            return out;
        }
        let (lo, hi) = (self.block_start, self.block_start + self.bytes.len());
        let _ = self.matcher.find_iter(self.block, |m| {
            if m.start() >= hi && !(m.is_empty() && m.start() == hi) {
                return false;
            }
            let (s, e) = (m.start().max(lo), m.end().min(hi));
            if s < e {
                out.push(s - lo..e - lo);
            }
            true
        });
        out
    }

    /// An owned copy, with the submatches computed.
    pub fn to_match(&self, path: Arc<Path>) -> Match {
        Match {
            path,
            kind: self.kind,
            line_number: self.line_number,
            byte_offset: self.byte_offset,
            submatches: self.submatches(),
            line: self.bytes.to_vec(),
        }
    }
}

/// An owned reported line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The file (shared by all the lines of one file).
    pub path: Arc<Path>,
    /// Match or context.
    pub kind: LineKind,
    /// 1-based line number (when line numbers are on).
    pub line_number: Option<u64>,
    /// Offset of the line's first byte in the file.
    pub byte_offset: u64,
    /// The line without its `\n`.
    pub line: Vec<u8>,
    /// Byte ranges of the matches within `line` (empty for context lines).
    pub submatches: Vec<Range<usize>>,
}

impl Match {
    /// The line as text (invalid UTF-8 replaced).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.line)
    }
}

/// The end of one file's search, with what it found.
#[derive(Debug, Clone, Copy)]
pub struct FileEnd<'a> {
    /// The file.
    pub path: &'a Path,
    /// Lines reported as [`LineKind::Match`].
    pub matched_lines: u64,
    /// The file turned out to be binary and its search stopped there. Lines before the
    /// NUL byte may have been reported (see the module docs); a printer that buffers a
    /// file's lines can drop them.
    pub binary: bool,
}

/// Receives one thread's results: the lines of each file it searches, in order, then the
/// file's end. Build one per thread with [`grep_with`].
pub trait GrepSink {
    /// A matching or context line.
    fn line(&mut self, line: &LineRef<'_>) -> Flow;

    /// A gap between two groups of context (ripgrep prints `--`). Only with context.
    fn context_break(&mut self) -> Flow {
        Flow::Continue
    }

    /// A file has been searched (called for every file, with or without matches).
    fn file_end(&mut self, end: &FileEnd<'_>) -> Flow {
        let _ = end;
        Flow::Continue
    }
}

/// How a search went.
#[derive(Debug, Default)]
pub struct GrepSummary {
    /// Files searched.
    pub files_searched: u64,
    /// Files with at least one matching line (binary files not counted).
    pub files_matched: u64,
    /// Matching lines reported, over all files (binary files not counted).
    pub matched_lines: u64,
    /// Files skipped as binary.
    pub binary_files: u64,
    /// Whether the search stopped early (a sink quit or the walk's result limit).
    pub stopped: bool,
    /// Paths that could not be walked or read; the search went on without them.
    pub errors: Vec<ScanError>,
}

/// Searches in parallel and calls `sink` with every matching and context line, as soon
/// as it is found, from whichever thread found it.
pub fn grep<F>(opts: &GrepOptions, sink: F) -> Result<GrepSummary>
where
    F: Fn(Match) -> Flow + Sync,
{
    let sink = &sink;
    grep_with(opts, || FnSink {
        f: sink,
        path: None,
    })
}

struct FnSink<'f, F> {
    f: &'f F,
    path: Option<Arc<Path>>,
}

impl<F: Fn(Match) -> Flow> GrepSink for FnSink<'_, F> {
    fn line(&mut self, line: &LineRef<'_>) -> Flow {
        let path = self.path.get_or_insert_with(|| Arc::from(line.path));
        (self.f)(line.to_match(path.clone()))
    }

    fn file_end(&mut self, _: &FileEnd<'_>) -> Flow {
        self.path = None;
        Flow::Continue
    }
}

/// One file's reported lines (matches and context, in file order; a gap in line
/// numbers is a context break).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMatches {
    /// The file.
    pub path: PathBuf,
    /// Matching lines in the file.
    pub matched_lines: u64,
    /// The lines.
    pub lines: Vec<Match>,
}

/// Searches in parallel and returns the files with matches sorted by path. Binary
/// files are left out.
pub fn grep_collect(opts: &GrepOptions) -> Result<(Vec<FileMatches>, GrepSummary)> {
    let found = Mutex::new(Vec::new());
    let summary = grep_with(opts, || Collect {
        found: &found,
        current: Vec::new(),
        path: None,
    })?;
    let mut found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    found.sort_by(|a: &FileMatches, b| a.path.cmp(&b.path));
    Ok((found, summary))
}

struct Collect<'a> {
    found: &'a Mutex<Vec<FileMatches>>,
    current: Vec<Match>,
    path: Option<Arc<Path>>,
}

impl GrepSink for Collect<'_> {
    fn line(&mut self, line: &LineRef<'_>) -> Flow {
        let path = self.path.get_or_insert_with(|| Arc::from(line.path));
        self.current.push(line.to_match(path.clone()));
        Flow::Continue
    }

    fn file_end(&mut self, end: &FileEnd<'_>) -> Flow {
        self.path = None;
        let lines = std::mem::take(&mut self.current);
        if end.matched_lines > 0 && !end.binary {
            self.found
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(FileMatches {
                    path: end.path.to_path_buf(),
                    matched_lines: end.matched_lines,
                    lines,
                });
        }
        Flow::Continue
    }
}

/// Searches in parallel with one [`GrepSink`] per thread, built by `make_sink`: each
/// walker thread searches the files it finds with its own searcher and sink. A sorted
/// search (see [`WalkOptions::sorted`]) builds one sink and feeds it file by file in path
/// order, on the calling thread.
pub fn grep_with<F, S>(opts: &GrepOptions, make_sink: F) -> Result<GrepSummary>
where
    F: Fn() -> S + Sync,
    S: GrepSink + Send,
{
    let matcher = opts.matcher()?;
    let quit = AtomicBool::new(false);
    let stats = Stats::default();
    if opts.walk.is_sorted() {
        return grep_sorted(opts, &matcher, &quit, &stats, make_sink);
    }
    let shared = Shared::new(&opts.walk, &quit);
    walk::run(&opts.walk, &shared, || {
        let mut searcher = opts.searcher();
        let matcher = matcher.clone();
        let mut sink = make_sink();
        let (quit, stats, shared) = (&quit, &stats, &shared);
        move |entry: walk::FileEntry| {
            let (flow, err) =
                search_file(&mut searcher, &matcher, &entry.path, &mut sink, quit, stats);
            if let Some(e) = err {
                shared.error(e);
            }
            flow
        }
    })?;
    let walked = shared.finish();
    Ok(stats.summary(walked.stopped, walked.errors))
}

#[derive(Default)]
struct Stats {
    searched: AtomicU64,
    matched_files: AtomicU64,
    matched_lines: AtomicU64,
    binary: AtomicU64,
}

impl Stats {
    fn add(&self, end: &FileEnd<'_>) {
        self.searched.fetch_add(1, Ordering::Relaxed);
        if end.binary {
            self.binary.fetch_add(1, Ordering::Relaxed);
        } else if end.matched_lines > 0 {
            self.matched_files.fetch_add(1, Ordering::Relaxed);
            self.matched_lines
                .fetch_add(end.matched_lines, Ordering::Relaxed);
        }
    }

    fn summary(&self, stopped: bool, errors: Vec<ScanError>) -> GrepSummary {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        GrepSummary {
            files_searched: load(&self.searched),
            files_matched: load(&self.matched_files),
            matched_lines: load(&self.matched_lines),
            binary_files: load(&self.binary),
            stopped,
            errors,
        }
    }
}

/// Searches one file into `sink`, then tells it the file ended.
fn search_file<S: GrepSink>(
    searcher: &mut Searcher,
    matcher: &RegexMatcher,
    path: &Path,
    sink: &mut S,
    quit: &AtomicBool,
    stats: &Stats,
) -> (Flow, Option<ScanError>) {
    let mut adapter = Adapter {
        sink,
        path,
        matcher,
        quit,
        matched_lines: 0,
        binary: false,
    };
    let err = searcher
        .search_path(matcher, path, &mut adapter)
        .err()
        .map(|source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        });
    let (matched_lines, binary) = (adapter.matched_lines, adapter.binary);
    let end = FileEnd {
        path,
        matched_lines,
        binary,
    };
    stats.add(&end);
    let mut flow = sink.file_end(&end);
    if quit.load(Ordering::Relaxed) {
        flow = Flow::Quit;
    }
    if flow == Flow::Quit {
        quit.store(true, Ordering::Relaxed);
    }
    (flow, err)
}

/// Turns grep-searcher's callbacks into [`LineRef`]s for a [`GrepSink`].
struct Adapter<'s, S> {
    sink: &'s mut S,
    path: &'s Path,
    matcher: &'s RegexMatcher,
    quit: &'s AtomicBool,
    matched_lines: u64,
    binary: bool,
}

impl<S: GrepSink> Adapter<'_, S> {
    fn keep_going(&self, flow: Flow) -> bool {
        if flow == Flow::Quit {
            self.quit.store(true, Ordering::Relaxed);
            return false;
        }
        !self.quit.load(Ordering::Relaxed)
    }
}

fn strip_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

impl<S: GrepSink> Sink for Adapter<'_, S> {
    type Error = io::Error;

    #[inline]
    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> io::Result<bool> {
        let block = m.bytes();
        let first_number = m.line_number();
        let base = m.absolute_byte_offset();
        // Almost always one line: skip the line iteration then.
        let single = match block.iter().position(|&b| b == b'\n') {
            None => true,
            Some(i) => i + 1 == block.len(),
        };
        if single {
            self.matched_lines += 1;
            let flow = self.sink.line(&LineRef {
                path: self.path,
                kind: LineKind::Match,
                line_number: first_number,
                byte_offset: base,
                bytes: strip_newline(block),
                block,
                block_start: 0,
                matcher: self.matcher,
            });
            return Ok(self.keep_going(flow));
        }
        let mut start = 0;
        let mut number = first_number;
        while start < block.len() {
            let end = block[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(block.len(), |i| start + i + 1);
            self.matched_lines += 1;
            let flow = self.sink.line(&LineRef {
                path: self.path,
                kind: LineKind::Match,
                line_number: number,
                byte_offset: base + start as u64,
                bytes: strip_newline(&block[start..end]),
                block,
                block_start: start,
                matcher: self.matcher,
            });
            if !self.keep_going(flow) {
                return Ok(false);
            }
            start = end;
            number = number.map(|n| n + 1);
        }
        Ok(true)
    }

    fn context(&mut self, _: &Searcher, c: &SinkContext<'_>) -> io::Result<bool> {
        let bytes = c.bytes();
        let flow = self.sink.line(&LineRef {
            path: self.path,
            kind: LineKind::Context,
            line_number: c.line_number(),
            byte_offset: c.absolute_byte_offset(),
            bytes: strip_newline(bytes),
            block: bytes,
            block_start: 0,
            matcher: self.matcher,
        });
        Ok(self.keep_going(flow))
    }

    fn context_break(&mut self, _: &Searcher) -> io::Result<bool> {
        let flow = self.sink.context_break();
        Ok(self.keep_going(flow))
    }

    fn binary_data(&mut self, _: &Searcher, _: u64) -> io::Result<bool> {
        self.binary = true;
        Ok(false)
    }
}

/// Files per batch in a sorted search: searched in parallel, delivered in order.
const SORTED_BATCH: usize = 256;

fn grep_sorted<F, S>(
    opts: &GrepOptions,
    matcher: &RegexMatcher,
    quit: &AtomicBool,
    stats: &Stats,
    make_sink: F,
) -> Result<GrepSummary>
where
    F: Fn() -> S + Sync,
    S: GrepSink + Send,
{
    let (entries, walked) = walk::collect_sorted(&opts.walk)?;
    let mut errors = walked.errors;
    let mut sink = make_sink();
    'batches: for batch in entries.chunks(SORTED_BATCH) {
        let recorded: Vec<(Recorder, Option<ScanError>)> = batch
            .par_iter()
            .map_init(
                || (opts.searcher(), matcher.clone()),
                |(searcher, matcher), entry| {
                    let mut rec = Recorder::default();
                    let (_, err) = search_file(
                        searcher,
                        matcher,
                        &entry.path,
                        &mut rec,
                        &AtomicBool::new(false),
                        &Stats::default(),
                    );
                    (rec, err)
                },
            )
            .collect();
        for ((rec, err), entry) in recorded.into_iter().zip(batch) {
            if let Some(e) = err {
                errors.push(e);
            }
            if rec.replay(&entry.path, matcher, &mut sink, stats) == Flow::Quit {
                quit.store(true, Ordering::Relaxed);
                break 'batches;
            }
        }
    }
    let stopped = walked.stopped || quit.load(Ordering::Relaxed);
    Ok(stats.summary(stopped, errors))
}

/// One file's events, recorded on a worker thread to be replayed in order.
#[derive(Default)]
struct Recorder {
    events: Vec<Event>,
    end: Option<(u64, bool)>,
}

enum Event {
    Line {
        kind: LineKind,
        line_number: Option<u64>,
        byte_offset: u64,
        block: Arc<[u8]>,
        start: usize,
        len: usize,
    },
    Break,
}

impl GrepSink for Recorder {
    fn line(&mut self, line: &LineRef<'_>) -> Flow {
        // Lines of one multiline match share their block.
        let block = match self.events.last() {
            Some(Event::Line { block, .. }) if **block == *line.block => block.clone(),
            _ => Arc::from(line.block),
        };
        self.events.push(Event::Line {
            kind: line.kind,
            line_number: line.line_number,
            byte_offset: line.byte_offset,
            block,
            start: line.block_start,
            len: line.bytes.len(),
        });
        Flow::Continue
    }

    fn context_break(&mut self) -> Flow {
        self.events.push(Event::Break);
        Flow::Continue
    }

    fn file_end(&mut self, end: &FileEnd<'_>) -> Flow {
        self.end = Some((end.matched_lines, end.binary));
        Flow::Continue
    }
}

impl Recorder {
    fn replay<S: GrepSink>(
        self,
        path: &Path,
        matcher: &RegexMatcher,
        sink: &mut S,
        stats: &Stats,
    ) -> Flow {
        for event in &self.events {
            let flow = match event {
                Event::Line {
                    kind,
                    line_number,
                    byte_offset,
                    block,
                    start,
                    len,
                } => sink.line(&LineRef {
                    path,
                    kind: *kind,
                    line_number: *line_number,
                    byte_offset: *byte_offset,
                    bytes: &block[*start..*start + *len],
                    block,
                    block_start: *start,
                    matcher,
                }),
                Event::Break => sink.context_break(),
            };
            if flow == Flow::Quit {
                return Flow::Quit;
            }
        }
        let (matched_lines, binary) = self.end.unwrap_or((0, false));
        let end = FileEnd {
            path,
            matched_lines,
            binary,
        };
        stats.add(&end);
        sink.file_end(&end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(opts: &GrepOptions, haystack: &str) -> Vec<(LineKind, Option<u64>, String)> {
        struct V(Vec<(LineKind, Option<u64>, String)>);
        impl GrepSink for V {
            fn line(&mut self, l: &LineRef<'_>) -> Flow {
                self.0.push((l.kind, l.line_number, l.text().into_owned()));
                Flow::Continue
            }
        }
        let matcher = opts.matcher().unwrap();
        let mut v = V(Vec::new());
        let mut adapter = Adapter {
            sink: &mut v,
            path: Path::new("x"),
            matcher: &matcher,
            quit: &AtomicBool::new(false),
            matched_lines: 0,
            binary: false,
        };
        opts.searcher()
            .search_slice(&matcher, haystack.as_bytes(), &mut adapter)
            .unwrap();
        v.0
    }

    #[test]
    fn multiline_matches_report_each_line_with_its_number() {
        let opts = GrepOptions::new(r"foo\nbar").multiline(true);
        let got = lines_of(&opts, "a\nfoo\nbar\nb\n");
        assert_eq!(
            got,
            [
                (LineKind::Match, Some(2), "foo".to_owned()),
                (LineKind::Match, Some(3), "bar".to_owned())
            ]
        );
        // Without multiline, `\n` is refused, with a hint.
        let err = GrepOptions::new(r"foo\nbar").matcher().unwrap_err();
        assert!(err.to_string().contains("multiline"), "{err}");
    }

    #[test]
    fn submatches_are_clipped_to_each_line() {
        let opts = GrepOptions::new(r"o\nb|a").multiline(true);
        let matcher = opts.matcher().unwrap();
        let block = b"foo\nbar\n";
        let line = |start: usize, len: usize| LineRef {
            path: Path::new("x"),
            kind: LineKind::Match,
            line_number: None,
            byte_offset: 0,
            bytes: &block[start..start + len],
            block,
            block_start: start,
            matcher: &matcher,
        };
        assert_eq!(line(0, 3).submatches(), vec![Range { start: 2, end: 3 }]);
        assert_eq!(line(4, 3).submatches(), [0..1, 1..2]);
    }

    #[test]
    fn fixed_strings_and_bad_patterns() {
        let got = lines_of(
            &GrepOptions::new("a.b(").fixed_strings(true),
            "axb(\na.b(\n",
        );
        assert_eq!(got, [(LineKind::Match, Some(2), "a.b(".to_owned())]);
        let err = GrepOptions::new("a.b(").matcher().unwrap_err();
        assert!(err.is_usage());
        assert!(err.to_string().contains("a.b("), "{err}");
    }
}
