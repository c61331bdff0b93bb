//! The scan module end to end, on real directory trees.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cuervo_text::scan::{
    Case, FileEnd, Flow, Globs, GrepOptions, GrepSink, LineKind, LineRef, Match, WalkOptions,
    files, grep, grep_collect, grep_with, walk,
};
use pretty_assertions::assert_eq;

struct Tree(tempfile::TempDir);

impl Tree {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("tempdir"))
    }

    fn root(&self) -> &Path {
        self.0.path()
    }

    fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        self
    }

    fn opts(&self) -> WalkOptions {
        WalkOptions::new(self.root())
    }

    /// The relative paths `opts` yields, sorted.
    fn list(&self, opts: &WalkOptions) -> Vec<String> {
        let (found, summary) = files(opts).expect("walk");
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
        let mut rel: Vec<String> = found.iter().map(|p| self.rel(p)).collect();
        rel.sort();
        rel
    }

    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(self.root())
            .expect("under the root")
            .to_string_lossy()
            .into_owned()
    }

    fn grep(&self, opts: GrepOptions) -> Vec<String> {
        let (found, summary) = grep_collect(&opts.walk(self.opts())).expect("grep");
        assert!(summary.errors.is_empty(), "{:?}", summary.errors);
        found
            .iter()
            .flat_map(|f| {
                f.lines.iter().map(|m| {
                    let sep = if m.kind == LineKind::Match { ':' } else { '-' };
                    format!(
                        "{}{sep}{}{sep}{}",
                        self.rel(&f.path),
                        m.line_number.unwrap_or(0),
                        m.text()
                    )
                })
            })
            .collect()
    }
}

fn project() -> Tree {
    let t = Tree::new();
    t.file("src/main.rs", "fn main() {\n    let Socket = 1;\n}\n")
        .file("src/lib.rs", "pub mod socket;\n// sockets are fun\n")
        .file("README.md", "The socket layer.\nSOCKET in caps.\n")
        .file("notes.txt", "nothing here\n");
    t
}

#[test]
fn gitignore_ignore_and_cuervoignore_are_honoured() {
    let t = project();
    t.file(".gitignore", "target/\n*.log\n")
        .file("target/debug/out.rs", "")
        .file("build.log", "")
        .file(".ignore", "vendor/\n")
        .file("vendor/dep.rs", "")
        .file(".cuervoignore", "secret.txt\n")
        .file("secret.txt", "")
        .file("nested/.gitignore", "skip.rs\n")
        .file("nested/skip.rs", "")
        .file("nested/keep.rs", "");
    assert_eq!(
        t.list(&t.opts()),
        [
            "README.md",
            "nested/keep.rs",
            "notes.txt",
            "src/lib.rs",
            "src/main.rs"
        ]
    );
    // --no-ignore brings them all back (hidden files stay hidden).
    let all = t.list(&t.opts().ignore_files(false));
    for p in [
        "target/debug/out.rs",
        "build.log",
        "vendor/dep.rs",
        "secret.txt",
        "nested/skip.rs",
    ] {
        assert!(all.contains(&p.to_owned()), "{p} missing from {all:?}");
    }
}

#[test]
fn git_info_exclude_applies_in_a_repository() {
    let t = project();
    t.file(".git/info/exclude", "notes.txt\n");
    let got = t.list(&t.opts());
    assert!(!got.contains(&"notes.txt".to_owned()), "{got:?}");
    assert!(got.contains(&"README.md".to_owned()), "{got:?}");
}

#[test]
fn a_gitignore_outside_git_counts_unless_git_is_required() {
    let t = project();
    t.file(".gitignore", "notes.txt\n");
    assert!(!t.list(&t.opts()).contains(&"notes.txt".to_owned()));
    assert!(
        t.list(&t.opts().require_git(true))
            .contains(&"notes.txt".to_owned())
    );
}

#[test]
fn hidden_files_are_skipped_unless_asked() {
    let t = project();
    t.file(".env", "").file(".config/tool.toml", "");
    let got = t.list(&t.opts());
    assert!(!got.iter().any(|p| p.starts_with('.')), "{got:?}");
    let got = t.list(&t.opts().hidden(true));
    assert!(got.contains(&".env".to_owned()), "{got:?}");
    assert!(got.contains(&".config/tool.toml".to_owned()), "{got:?}");
}

#[test]
fn ripgrep_style_globs_with_braces_and_negation() {
    let t = project();
    t.file("web/app.ts", "")
        .file("web/app.test.ts", "")
        .file("web/x.tsx", "");
    // No `/`: matches the name at any depth.
    assert_eq!(
        t.list(&t.opts().glob("*.{ts,tsx}").glob("!*.test.*")),
        ["web/app.ts", "web/x.tsx"]
    );
    // Only a negation: everything else.
    assert_eq!(
        t.list(&t.opts().glob("!*.rs").glob("!web/**")),
        ["README.md", "notes.txt"]
    );
}

#[test]
fn whole_path_globs_with_braces_and_negation() {
    let t = project();
    t.file("web/app.ts", "")
        .file("web/app.test.ts", "")
        .file("top.ts", "");
    let globs = Globs::new(["**/*.{ts,md}", "!web/*.test.ts"]).expect("globs");
    assert_eq!(
        t.list(&t.opts().match_paths(globs)),
        ["README.md", "top.ts", "web/app.ts"]
    );
    // `*` does not cross directories.
    let globs = Globs::new(["*.ts"]).expect("globs");
    assert_eq!(t.list(&t.opts().match_paths(globs)), ["top.ts"]);
}

#[test]
fn depth_and_result_limits() {
    let t = Tree::new();
    t.file("a.txt", "")
        .file("d1/b.txt", "")
        .file("d1/d2/c.txt", "");
    assert_eq!(t.list(&t.opts().max_depth(Some(1))), ["a.txt"]);
    assert_eq!(t.list(&t.opts().max_depth(Some(2))), ["a.txt", "d1/b.txt"]);
    for i in 0..50 {
        t.file(&format!("many/{i:02}.txt"), "");
    }
    let (found, summary) = files(&t.opts().max_results(Some(7))).expect("walk");
    assert_eq!(found.len(), 7);
    assert!(summary.stopped);
    assert_eq!(summary.files, 7);
    // Sorted and limited: the first seven in order.
    let (found, _) = files(&t.opts().max_results(Some(3)).sorted(true)).expect("walk");
    let rel: Vec<String> = found.iter().map(|p| t.rel(p)).collect();
    assert_eq!(rel, ["a.txt", "d1/b.txt", "d1/d2/c.txt"]);
}

#[test]
fn sorted_output_is_stable_and_depth_first() {
    let t = Tree::new();
    for name in [
        "b/z.txt",
        "a.txt",
        "a/y.txt",
        "a/b/x.txt",
        "c.txt",
        "a-b.txt",
    ] {
        t.file(name, "");
    }
    let run = || {
        let (found, _) = files(&t.opts().sorted(true)).expect("walk");
        found.iter().map(|p| t.rel(p)).collect::<Vec<_>>()
    };
    let first = run();
    // Component order: a directory's contents come before a sibling that sorts after it.
    assert_eq!(
        first,
        [
            "a/b/x.txt",
            "a/y.txt",
            "a-b.txt",
            "a.txt",
            "b/z.txt",
            "c.txt"
        ]
    );
    for _ in 0..5 {
        assert_eq!(run(), first);
    }
    // walk() with sorted options calls the visitor in that order too.
    let seen = Mutex::new(Vec::new());
    walk(&t.opts().sorted(true), |e| {
        seen.lock().unwrap().push(t.rel(&e.path));
        Flow::Continue
    })
    .expect("walk");
    assert_eq!(seen.into_inner().unwrap(), first);
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_hang_and_are_reported() {
    let t = Tree::new();
    t.file("dir/a.txt", "");
    std::os::unix::fs::symlink(t.root().join("dir"), t.root().join("dir/loop")).expect("link");
    std::os::unix::fs::symlink(t.root().join("dir/a.txt"), t.root().join("link.txt"))
        .expect("link");
    let root = t.root().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = files(&WalkOptions::new(&root).follow_links(true));
        let _ = tx.send(result);
    });
    let (found, summary) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the walk finished")
        .expect("walk");
    let mut rel: Vec<String> = found.iter().map(|p| t.rel(p)).collect();
    rel.sort();
    assert_eq!(rel, ["dir/a.txt", "link.txt"]);
    assert!(
        summary.errors.iter().any(|e| e.is_loop()),
        "{:?}",
        summary.errors
    );
    // Without following, links are skipped altogether.
    assert_eq!(t.list(&t.opts()), ["dir/a.txt"]);
}

#[test]
fn missing_roots_are_errors_not_failures() {
    let t = project();
    let opts = t.opts().root(t.root().join("nope"));
    let (found, summary) = files(&opts).expect("walk");
    assert_eq!(found.len(), 4);
    assert_eq!(summary.errors.len(), 1, "{:?}", summary.errors);
}

#[test]
fn grep_regex_and_fixed_strings() {
    let t = project();
    assert_eq!(
        t.grep(GrepOptions::new(r"fn \w+\(")),
        ["src/main.rs:1:fn main() {"]
    );
    t.file("calls.txt", "a.b(1)\naxb(2)\n");
    assert_eq!(
        t.grep(GrepOptions::new("a.b(").fixed_strings(true)),
        ["calls.txt:1:a.b(1)"]
    );
    assert_eq!(
        t.grep(GrepOptions::new(r"a.b\(")),
        ["calls.txt:1:a.b(1)", "calls.txt:2:axb(2)"]
    );
    // Several patterns: any of them.
    assert_eq!(
        t.grep(GrepOptions::new("^pub").pattern("nothing")),
        ["notes.txt:1:nothing here", "src/lib.rs:1:pub mod socket;"]
    );
}

#[test]
fn grep_case_modes_and_words() {
    let t = project();
    assert_eq!(
        t.grep(GrepOptions::new("socket")),
        [
            "README.md:1:The socket layer.",
            "src/lib.rs:1:pub mod socket;",
            "src/lib.rs:2:// sockets are fun"
        ]
    );
    assert_eq!(
        t.grep(GrepOptions::new("socket").case(Case::Insensitive))
            .len(),
        5
    );
    // Smart case: lower case is insensitive, an upper-case letter makes it sensitive.
    assert_eq!(
        t.grep(GrepOptions::new("socket").case(Case::Smart)).len(),
        5
    );
    assert_eq!(
        t.grep(GrepOptions::new("Socket").case(Case::Smart)),
        ["src/main.rs:2:    let Socket = 1;"]
    );
    assert_eq!(
        t.grep(
            GrepOptions::new("socket")
                .case(Case::Insensitive)
                .word(true)
        ),
        [
            "README.md:1:The socket layer.",
            "README.md:2:SOCKET in caps.",
            "src/lib.rs:1:pub mod socket;",
            "src/main.rs:2:    let Socket = 1;"
        ]
    );
}

#[test]
fn grep_context_lines_and_breaks() {
    let t = Tree::new();
    let text: String = (1..=12)
        .map(|i| {
            if i == 3 || i == 10 {
                format!("hit {i}\n")
            } else {
                format!("l{i}\n")
            }
        })
        .collect();
    t.file("f.txt", text);
    assert_eq!(
        t.grep(GrepOptions::new("hit").before_context(1).after_context(2)),
        [
            "f.txt-2-l2",
            "f.txt:3:hit 3",
            "f.txt-4-l4",
            "f.txt-5-l5",
            "f.txt-9-l9",
            "f.txt:10:hit 10",
            "f.txt-11-l11",
            "f.txt-12-l12"
        ]
    );
    // The sink hears the break between the two groups.
    struct Breaks<'a>(&'a AtomicU64);
    impl GrepSink for Breaks<'_> {
        fn line(&mut self, _: &LineRef<'_>) -> Flow {
            Flow::Continue
        }
        fn context_break(&mut self) -> Flow {
            self.0.fetch_add(1, Ordering::Relaxed);
            Flow::Continue
        }
    }
    let breaks = AtomicU64::new(0);
    grep_with(&GrepOptions::new("hit").context(1).walk(t.opts()), || {
        Breaks(&breaks)
    })
    .expect("grep");
    assert_eq!(breaks.into_inner(), 1);
}

#[test]
fn grep_type_filters() {
    let t = project();
    let opts = GrepOptions::new("socket").case(Case::Insensitive);
    let (found, _) = grep_collect(&opts.clone().walk(t.opts().file_type("rust"))).expect("grep");
    let names: Vec<String> = found.iter().map(|f| t.rel(&f.path)).collect();
    assert_eq!(names, ["src/lib.rs", "src/main.rs"]);
    let (found, _) = grep_collect(&opts.walk(t.opts().not_file_type("rust"))).expect("grep");
    let names: Vec<String> = found.iter().map(|f| t.rel(&f.path)).collect();
    assert_eq!(names, ["README.md"]);
}

#[test]
fn grep_max_count_per_file() {
    let t = Tree::new();
    let many: String = (0..20).map(|i| format!("match {i}\n")).collect();
    t.file("a.txt", &many).file("b.txt", &many);
    let got = t.grep(GrepOptions::new("match").max_count(Some(2)));
    assert_eq!(
        got,
        [
            "a.txt:1:match 0",
            "a.txt:2:match 1",
            "b.txt:1:match 0",
            "b.txt:2:match 1"
        ]
    );
}

#[test]
fn grep_skips_binary_files() {
    let t = project();
    t.file("blob.bin", b"socket\x00\x01\x02socket\n");
    let (found, summary) = grep_collect(&GrepOptions::new("socket").walk(t.opts())).expect("grep");
    let names: Vec<String> = found.iter().map(|f| t.rel(&f.path)).collect();
    assert_eq!(names, ["README.md", "src/lib.rs"]);
    assert_eq!(summary.binary_files, 1);
    assert_eq!(summary.files_matched, 2);
}

#[test]
fn grep_multiline_when_asked() {
    let t = Tree::new();
    t.file("m.txt", "fn a(\n    x: u8,\n) {}\nfn b() {}\n");
    let err = grep_collect(&GrepOptions::new(r"a\(\n\s+x").walk(t.opts())).unwrap_err();
    assert!(err.is_usage(), "{err}");
    assert_eq!(
        t.grep(GrepOptions::new(r"a\(\n\s+x").multiline(true)),
        ["m.txt:1:fn a(", "m.txt:2:    x: u8,"]
    );
    // `.` stays within a line unless dotall is asked for too.
    assert!(
        t.grep(GrepOptions::new(r"a\(.*\{\}").multiline(true))
            .is_empty()
    );
    assert_eq!(
        t.grep(
            GrepOptions::new(r"a\(.*?\{\}")
                .multiline(true)
                .multiline_dotall(true)
        )
        .len(),
        3
    );
}

#[test]
fn grep_reports_submatches_and_offsets() {
    let t = Tree::new();
    t.file("s.txt", "xx\nab ab\n");
    let (found, _) = grep_collect(&GrepOptions::new("ab").walk(t.opts())).expect("grep");
    let m = &found[0].lines[0];
    assert_eq!(m.byte_offset, 3);
    assert_eq!(m.line_number, Some(2));
    assert_eq!(m.submatches, [0..2, 3..5]);
}

#[test]
fn streaming_sink_sees_results_while_the_search_runs() {
    let t = Tree::new();
    for i in 0..300 {
        t.file(&format!("d{}/f{i}.txt", i % 10), "needle\n");
    }
    // Counted by the sink: every match arrives, one call per line.
    let seen = AtomicU64::new(0);
    let summary = grep(&GrepOptions::new("needle").walk(t.opts()), |m: Match| {
        assert_eq!(m.text(), "needle");
        seen.fetch_add(1, Ordering::Relaxed);
        Flow::Continue
    })
    .expect("grep");
    assert_eq!(seen.load(Ordering::Relaxed), 300);
    assert_eq!(summary.matched_lines, 300);
    // The first result arrives before the search is over: quitting on it stops the
    // search long before all 300 files are read.
    let seen = AtomicU64::new(0);
    let summary = grep(&GrepOptions::new("needle").walk(t.opts()), |_| {
        seen.fetch_add(1, Ordering::Relaxed);
        Flow::Quit
    })
    .expect("grep");
    assert!(summary.stopped);
    assert!(
        summary.files_searched < 50,
        "searched {} files after quitting",
        summary.files_searched
    );
    assert!(seen.load(Ordering::Relaxed) < 50);
}

#[test]
fn streaming_results_reach_another_thread_before_grep_returns() {
    let t = Tree::new();
    for i in 0..20 {
        t.file(&format!("f{i}.txt"), "needle\n");
    }
    let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let opts = GrepOptions::new("needle").walk(t.opts());
    std::thread::scope(|s| {
        let search = s.spawn(|| {
            grep(&opts, |m| {
                let _ = tx.send(m.path.to_path_buf());
                // Hold the search until the receiver has seen this result.
                let _ = go_rx.lock().unwrap().recv_timeout(Duration::from_secs(10));
                Flow::Continue
            })
        });
        let first = rx.recv_timeout(Duration::from_secs(10)).expect("a result");
        assert!(first.starts_with(t.root()));
        assert!(
            !search.is_finished(),
            "grep returned before the first result was read"
        );
        for _ in 0..20 {
            let _ = go_tx.send(());
        }
        let summary = search.join().expect("grep thread").expect("grep");
        assert_eq!(summary.matched_lines, 20);
    });
}

#[test]
fn per_thread_sinks_hear_every_file_end() {
    let t = project();
    struct Ends<'a>(&'a AtomicU64, &'a AtomicU64);
    impl GrepSink for Ends<'_> {
        fn line(&mut self, _: &LineRef<'_>) -> Flow {
            Flow::Continue
        }
        fn file_end(&mut self, end: &FileEnd<'_>) -> Flow {
            self.0.fetch_add(1, Ordering::Relaxed);
            self.1.fetch_add(end.matched_lines, Ordering::Relaxed);
            Flow::Continue
        }
    }
    let (ends, lines) = (AtomicU64::new(0), AtomicU64::new(0));
    let summary = grep_with(&GrepOptions::new("socket").walk(t.opts()), || {
        Ends(&ends, &lines)
    })
    .expect("grep");
    assert_eq!(ends.into_inner(), 4);
    assert_eq!(lines.into_inner(), 3);
    assert_eq!(summary.files_searched, 4);
    assert_eq!(summary.files_matched, 2);
}

#[test]
fn sorted_grep_delivers_files_in_path_order() {
    let t = Tree::new();
    let mut expected = Vec::new();
    for i in 0..600 {
        let rel = format!("d{}/f{:03}.txt", i % 7, i);
        t.file(&rel, "x\nneedle\n");
        expected.push(t.root().join(&rel));
    }
    expected.sort();
    let order = Mutex::new(Vec::new());
    grep(
        &GrepOptions::new("needle").walk(t.opts().sorted(true)),
        |m| {
            order.lock().unwrap().push(m.path.to_path_buf());
            Flow::Continue
        },
    )
    .expect("grep");
    assert_eq!(order.into_inner().unwrap(), expected);
}

#[test]
fn bad_options_fail_before_searching() {
    let t = project();
    let err = grep_collect(&GrepOptions::new("(").walk(t.opts())).unwrap_err();
    assert!(err.is_usage(), "{err}");
    let err = grep_collect(&GrepOptions::new("x").walk(t.opts().file_type("klingon"))).unwrap_err();
    assert!(err.to_string().contains("klingon"), "{err}");
    let err = files(&t.opts().glob("{a")).unwrap_err();
    assert!(err.is_usage(), "{err}");
}
