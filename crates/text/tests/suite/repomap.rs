#![cfg(all(feature = "lang-rust", feature = "lang-python"))]
//! `cuervo_text::repomap`: ranking toward a focus, the token budget, incremental updates,
//! a real crate from the cargo registry, and tags kept in a `TagStore` between builds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cuervo_text::repomap::{
    FileStamp, Focus, RepoMap, StoredFile, TAGS_VERSION, TagStore, tags_kind,
};
use cuervo_text::tokens::Encoding;

/// A small repository: `compute_area` is defined in `src/geometry.rs` and called from
/// `src/report.rs` and `src/shapes.rs`; `src/unrelated.rs` calls nothing of it; Python
/// tools call each other.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let files: [(&str, &str); 8] = [
        (
            "src/lib.rs",
            "pub mod geometry;\npub mod report;\npub mod shapes;\npub mod unrelated;\n\n\
             /// Entry point.\npub fn library_entry() {\n    report::print_report();\n}\n",
        ),
        (
            "src/geometry.rs",
            "/// A rectangle.\npub struct Rectangle {\n    pub width: f64,\n    pub height: f64,\n}\n\n\
             /// Area of a rectangle.\npub fn compute_area(width: f64, height: f64) -> f64 {\n    \
             width * height\n}\n\nimpl Rectangle {\n    pub fn area_of(&self) -> f64 {\n        \
             compute_area(self.width, self.height)\n    }\n}\n",
        ),
        (
            "src/report.rs",
            "use crate::geometry::compute_area;\n\npub fn print_report() {\n    \
             let a = compute_area(2.0, 3.0);\n    println!(\"{a}\");\n}\n",
        ),
        (
            "src/shapes.rs",
            "use crate::geometry::{compute_area, Rectangle};\n\n\
             pub fn total_surface(shapes: &[Rectangle]) -> f64 {\n    \
             shapes.iter().map(|s| compute_area(s.width, s.height)).sum()\n}\n",
        ),
        (
            "src/unrelated.rs",
            "pub fn format_banner(title: &str) -> String {\n    format!(\"== {title} ==\")\n}\n",
        ),
        (
            "tools/stats.py",
            "def summarize_values(values):\n    \"\"\"Mean of values.\"\"\"\n    \
             return sum(values) / len(values)\n",
        ),
        (
            "tools/pipeline.py",
            "from stats import summarize_values\n\n\ndef run_pipeline(rows):\n    \
             return summarize_values(rows)\n",
        ),
        (
            "tools/cli.py",
            "from pipeline import run_pipeline\n\n\ndef parse_arguments(argv):\n    \
             return run_pipeline([float(a) for a in argv])\n",
        ),
    ];
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn top_files(map: &RepoMap, focus: &Focus, n: usize) -> Vec<PathBuf> {
    map.ranked_files(focus)
        .into_iter()
        .take(n)
        .map(|f| f.path)
        .collect()
}

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

#[test]
fn focus_file_and_its_callers_rank_on_top() {
    let dir = fixture();
    let map = RepoMap::build(dir.path()).expect("builds");
    let stats = map.stats();
    assert_eq!(stats.files, 8);
    assert_eq!(stats.parses, 8);
    assert!(stats.edges >= 5, "{stats:?}");

    let focus = Focus::files(["src/geometry.rs"]);
    let top = top_files(&map, &focus, 3);
    assert_eq!(top[0], p("src/geometry.rs"), "{top:?}");
    let mut callers = top[1..].to_vec();
    callers.sort();
    assert_eq!(callers, [p("src/report.rs"), p("src/shapes.rs")]);

    // The definitions: the focus file's, its used function first; then the callers'
    // functions that call it.
    let defs = map.ranked(&focus);
    assert_eq!(defs[0].name, "compute_area", "{defs:#?}");
    let mut others: Vec<&str> = defs
        .iter()
        .filter(|d| d.path != p("src/geometry.rs"))
        .take(2)
        .map(|d| d.name.as_str())
        .collect();
    others.sort_unstable();
    assert_eq!(others, ["print_report", "total_surface"], "{defs:#?}");

    // The same through an absolute path; the Python side ranks its own way.
    let abs = Focus::files([dir.path().join("src/geometry.rs")]);
    assert_eq!(top_files(&map, &abs, 1), [p("src/geometry.rs")]);
    let py = Focus::files(["tools/stats.py"]);
    let top = top_files(&map, &py, 2);
    assert_eq!(top, [p("tools/stats.py"), p("tools/pipeline.py")]);
}

#[test]
fn identifiers_pull_their_definitions_up() {
    let dir = fixture();
    let map = RepoMap::build(dir.path()).expect("builds");
    let focus = Focus {
        files: Vec::new(),
        identifiers: vec!["run_pipeline".to_owned()],
    };
    let defs = map.ranked(&focus);
    assert_eq!(defs[0].name, "run_pipeline", "{defs:#?}");
    assert_eq!(defs[0].path, p("tools/pipeline.py"));
    assert_eq!(defs[0].line, 4);
}

#[test]
fn render_fits_the_budget_and_shrinks_with_it() {
    let dir = fixture();
    let map = RepoMap::build(dir.path()).expect("builds");
    let focus = Focus::files(["src/geometry.rs"]);
    let full = map.render(&focus, 10_000);
    assert!(full.starts_with("src/geometry.rs:\n"), "{full}");
    assert!(full.contains("  8: pub fn compute_area(width: f64, height: f64) -> f64\n"));
    assert!(full.contains("  12: impl Rectangle\n  13:   pub fn area_of(&self) -> f64\n"));
    assert!(
        full.contains("src/report.rs:\n  3: pub fn print_report()\n"),
        "{full}"
    );
    assert!(full.contains("def summarize_values(values):"));

    let mut last = usize::MAX;
    for budget in [400, 100, 60, 40, 30, 20] {
        let text = map.render(&focus, budget);
        let tokens = Encoding::Cl100kBase.count(&text);
        assert!(tokens <= budget, "{tokens} > {budget}:\n{text}");
        assert!(text.len() <= last, "grows as the budget shrinks:\n{text}");
        last = text.len();
        if budget >= 40 {
            assert!(text.contains("compute_area"), "{budget}:\n{text}");
        }
    }
    assert!(map.render(&focus, 40).len() < full.len());
    assert_eq!(map.render(&focus, 3), "");
    assert_eq!(map.render(&focus, 0), "");
}

#[test]
fn update_reparses_only_the_edited_file_and_changes_the_ranking() {
    let dir = fixture();
    let mut map = RepoMap::build(dir.path()).expect("builds");
    let focus = Focus::files(["src/geometry.rs"]);
    let before = top_files(&map, &focus, 3);
    assert!(!before.contains(&p("src/unrelated.rs")));

    write(
        dir.path(),
        "src/unrelated.rs",
        "use crate::geometry::compute_area;\n\npub fn format_banner(title: &str) -> String {\n    \
         format!(\"== {title} {} ==\", compute_area(1.0, 1.0))\n}\n",
    );
    let parses = map.stats().parses;
    let stats = map.update(&[p("src/unrelated.rs")]);
    assert_eq!((stats.changed, stats.parsed), (1, 1), "{stats:?}");
    assert_eq!(map.stats().parses, parses + 1);
    let after = map.ranked_files(&focus);
    let unrelated = after
        .iter()
        .position(|f| f.path == p("src/unrelated.rs"))
        .expect("ranked");
    assert!(unrelated <= 3, "{after:#?}");
    let defs = map.ranked(&focus);
    assert!(
        defs.iter()
            .filter(|d| d.path != p("src/geometry.rs"))
            .take(3)
            .any(|d| d.name == "format_banner"),
        "{defs:#?}"
    );
}

#[test]
fn refresh_finds_the_one_changed_file_and_drops_deleted_ones() {
    let dir = fixture();
    let mut map = RepoMap::build(dir.path()).expect("builds");
    let nothing = map.refresh().expect("refreshes");
    assert_eq!(nothing.parsed, 0, "{nothing:?}");

    write(
        dir.path(),
        "tools/cli.py",
        "from stats import summarize_values\n\n\ndef parse_arguments(argv):\n    \
         return summarize_values([float(a) for a in argv])\n",
    );
    let parses = map.stats().parses;
    let stats = map.refresh().expect("refreshes");
    assert_eq!((stats.changed, stats.parsed), (1, 1), "{stats:?}");
    assert_eq!(map.stats().parses, parses + 1);
    let top = top_files(&map, &Focus::files(["tools/stats.py"]), 3);
    assert_eq!(top[0], p("tools/stats.py"));
    assert!(top.contains(&p("tools/cli.py")), "{top:?}");

    std::fs::remove_file(dir.path().join("src/shapes.rs")).expect("rm");
    let stats = map.refresh().expect("refreshes");
    assert_eq!((stats.removed, stats.parsed), (1, 0), "{stats:?}");
    assert_eq!(map.stats().files, 7);
    let focus = Focus::files(["src/geometry.rs"]);
    assert!(
        !map.ranked_files(&focus)
            .iter()
            .any(|f| f.path == p("src/shapes.rs"))
    );
    assert!(!map.render(&focus, 1000).contains("shapes.rs"));
    assert!(!map.ranked(&focus).iter().any(|d| d.name == "total_surface"));

    // Deleting through `update` works the same way.
    std::fs::remove_file(dir.path().join("src/report.rs")).expect("rm");
    let stats = map.update(&[dir.path().join("src/report.rs")]);
    assert_eq!(stats.removed, 1, "{stats:?}");
    assert_eq!(map.stats().files, 6);
}

#[test]
fn a_name_defined_later_links_its_earlier_uses() {
    let dir = fixture();
    write(
        dir.path(),
        "src/caller.rs",
        "pub fn call_site() {\n    crate::later::defined_later(1);\n}\n",
    );
    let mut map = RepoMap::build(dir.path()).expect("builds");
    write(
        dir.path(),
        "src/later.rs",
        "pub fn defined_later(x: u32) -> u32 {\n    x + 1\n}\n",
    );
    let stats = map.update(&[p("src/later.rs")]);
    // The new file, and the caller read again to link its use of the new name.
    assert_eq!((stats.added, stats.parsed), (1, 2), "{stats:?}");
    let top = top_files(&map, &Focus::files(["src/later.rs"]), 2);
    assert_eq!(top, [p("src/later.rs"), p("src/caller.rs")]);
    // Same as building from scratch.
    let fresh = RepoMap::build(dir.path()).expect("builds");
    let focus = Focus::files(["src/later.rs"]);
    let key = |m: &RepoMap| -> Vec<(PathBuf, String, usize, String)> {
        m.ranked(&focus)
            .into_iter()
            .map(|d| (d.path, d.name, d.line, format!("{:.9}", d.rank)))
            .collect()
    };
    assert_eq!(key(&map), key(&fresh));
    assert_eq!(map.stats().edges, fresh.stats().edges);
}

/// A crate from the cargo registry, as found at test time.
fn registry_crate(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("HOME or CARGO_HOME is set");
    let src = home.join("registry/src");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&src)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no `{name}-*` crate under {}/*/: this test needs a crate from the cargo \
             registry (run `cargo fetch` in the workspace first)",
            src.display()
        )
    })
}

#[test]
fn real_crate_focus_file_and_a_caller_are_on_top() {
    let root = registry_crate("serde_json");
    let map = RepoMap::build(&root).expect("builds");
    let stats = map.stats();
    assert!(stats.tagged > 20 && stats.edges > 50, "{stats:?}");

    // `src/read.rs` defines the `Read` trait and readers; the deserializer uses them.
    let focus = Focus::files(["src/read.rs"]);
    let top = top_files(&map, &focus, 5);
    assert_eq!(top[0], p("src/read.rs"), "{top:?}");
    assert!(top.contains(&p("src/de.rs")), "{top:?}");

    for budget in [1024, 256] {
        let text = map.render(&focus, budget);
        let tokens = Encoding::Cl100kBase.count(&text);
        assert!(
            tokens <= budget && tokens > budget / 2,
            "{tokens} for {budget}"
        );
        assert!(text.starts_with("src/read.rs:\n"), "{text}");
    }
}

/// A file's size, mtime and tags.
type Row = (u64, SystemTime, Vec<u8>);

/// A [`TagStore`] in memory, counting how often it is written.
#[derive(Default)]
struct MemoryTags {
    rows: Mutex<HashMap<PathBuf, Row>>,
    saves: AtomicUsize,
}

impl MemoryTags {
    fn len(&self) -> usize {
        self.rows.lock().expect("lock").len()
    }

    fn set_bytes(&self, path: &Path, bytes: Vec<u8>) {
        let mut rows = self.rows.lock().expect("lock");
        rows.get_mut(path).expect("stored").2 = bytes;
    }
}

impl TagStore for MemoryTags {
    fn load(&self, files: &[FileStamp]) -> Vec<Option<Vec<u8>>> {
        let rows = self.rows.lock().expect("lock");
        files
            .iter()
            .map(|f| {
                rows.get(&f.path)
                    .filter(|(size, modified, _)| (*size, *modified) == (f.size, f.modified))
                    .map(|row| row.2.clone())
            })
            .collect()
    }

    fn content_hash(&self, content: &[u8]) -> String {
        format!(
            "{}:{}",
            content.len(),
            content.iter().map(|&b| u64::from(b)).sum::<u64>()
        )
    }

    fn save(&self, files: Vec<StoredFile>) {
        self.saves.fetch_add(1, Ordering::Relaxed);
        let mut rows = self.rows.lock().expect("lock");
        for f in files {
            assert!(f.stamp.path.is_absolute(), "{:?}", f.stamp.path);
            assert!(!f.content_hash.is_empty());
            rows.insert(f.stamp.path, (f.stamp.size, f.stamp.modified, f.bytes));
        }
    }
}

/// Sets every file under `root` to have been modified `ago` before now: a store does not
/// keep files modified in the last seconds (their stamp could still change unseen).
fn age(root: &Path, ago: Duration) {
    for entry in std::fs::read_dir(root).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            age(&path, ago);
        } else {
            set_mtime(&path, ago);
        }
    }
}

fn set_mtime(path: &Path, ago: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(SystemTime::now() - ago)
        .expect("set mtime");
}

fn with(store: &Arc<MemoryTags>) -> Option<Arc<dyn TagStore>> {
    Some(store.clone() as Arc<dyn TagStore>)
}

/// What a map shows for a few focuses: equal for two maps means they rank and render alike.
fn views(map: &RepoMap) -> Vec<String> {
    [
        Focus::default(),
        Focus::files(["src/geometry.rs"]),
        Focus::files(["tools/stats.py"]),
    ]
    .iter()
    .map(|focus| {
        format!(
            "{:?}\n{:?}\n{}",
            map.ranked_files(focus),
            map.ranked(focus),
            map.render(focus, 1000)
        )
    })
    .collect()
}

#[test]
fn a_store_keeps_every_parsed_file_and_the_next_build_parses_none() {
    let dir = fixture();
    age(dir.path(), Duration::from_secs(3600));
    let store = Arc::new(MemoryTags::default());
    let first = RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    let stats = first.stats();
    assert_eq!((stats.parses, stats.loaded), (8, 0), "{stats:?}");
    assert_eq!(store.len(), 8, "every parsed file is kept");
    assert_eq!(store.saves.load(Ordering::Relaxed), 1, "in one call");

    let second = RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    let stats = second.stats();
    assert_eq!((stats.parses, stats.loaded), (0, 8), "{stats:?}");
    assert_eq!(
        store.saves.load(Ordering::Relaxed),
        1,
        "nothing new to keep"
    );
    let fresh = RepoMap::build(dir.path()).expect("builds");
    assert_eq!(
        (stats.definitions, stats.references, stats.edges),
        (
            fresh.stats().definitions,
            fresh.stats().references,
            fresh.stats().edges
        )
    );
    assert_eq!(views(&second), views(&fresh));
}

#[test]
fn a_file_changed_on_disk_is_parsed_again_and_kept_anew() {
    let dir = fixture();
    age(dir.path(), Duration::from_secs(3600));
    let store = Arc::new(MemoryTags::default());
    RepoMap::build_with(dir.path(), with(&store)).expect("builds");

    write(
        dir.path(),
        "src/unrelated.rs",
        "pub fn format_banner(title: &str) -> String {\n    format!(\"== {title} ==\")\n}\n\n\
         pub fn banner_width() -> usize {\n    80\n}\n",
    );
    set_mtime(
        &dir.path().join("src/unrelated.rs"),
        Duration::from_secs(60),
    );
    let map = RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    let stats = map.stats();
    assert_eq!((stats.parses, stats.loaded), (1, 7), "{stats:?}");
    assert!(
        map.ranked(&Focus::default())
            .iter()
            .any(|d| d.name == "banner_width")
    );
    assert_eq!(
        views(&map),
        views(&RepoMap::build(dir.path()).expect("builds"))
    );

    let again = RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    assert_eq!(again.stats().parses, 0, "the new tags were kept");
}

#[test]
fn refresh_and_update_use_the_store_too() {
    let dir = fixture();
    age(dir.path(), Duration::from_secs(3600));
    let store = Arc::new(MemoryTags::default());
    let mut map = RepoMap::build_with(dir.path(), with(&store)).expect("builds");

    write(
        dir.path(),
        "tools/cli.py",
        "from stats import summarize_values\n\n\ndef parse_arguments(argv):\n    \
         return summarize_values([float(a) for a in argv])\n",
    );
    set_mtime(&dir.path().join("tools/cli.py"), Duration::from_secs(60));
    let stats = map.refresh().expect("refreshes");
    assert_eq!(
        (stats.changed, stats.parsed, stats.loaded),
        (1, 1, 0),
        "{stats:?}"
    );
    // Another session that refreshes finds the edit already parsed.
    let mut other = RepoMap::build(dir.path()).expect("builds");
    let mut other_stored = RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    assert_eq!(other_stored.stats().parses, 0, "the refresh kept the edit");
    assert_eq!(views(&other_stored), views(&other));

    write(
        dir.path(),
        "tools/new.py",
        "def fresh_helper():\n    return 1\n",
    );
    set_mtime(&dir.path().join("tools/new.py"), Duration::from_secs(60));
    let stats = map.update(&[p("tools/new.py")]);
    assert_eq!((stats.added, stats.parsed), (1, 1), "{stats:?}");
    let stats = other_stored.update(&[p("tools/new.py")]);
    assert_eq!(
        (stats.added, stats.parsed, stats.loaded),
        (1, 0, 1),
        "{stats:?}"
    );
    other.update(&[p("tools/new.py")]);
    assert_eq!(views(&other_stored), views(&other));
}

#[test]
fn a_corrupt_blob_is_a_miss() {
    let dir = fixture();
    age(dir.path(), Duration::from_secs(3600));
    let store = Arc::new(MemoryTags::default());
    RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    let root = std::path::absolute(dir.path()).expect("absolute");
    store.set_bytes(
        &root.join("src/geometry.rs"),
        b"\x01not tags at all".to_vec(),
    );
    store.set_bytes(&root.join("tools/stats.py"), Vec::new());

    let map = RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    let stats = map.stats();
    assert_eq!((stats.parses, stats.loaded), (2, 6), "{stats:?}");
    assert_eq!(
        views(&map),
        views(&RepoMap::build(dir.path()).expect("builds"))
    );
    let healed = RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    assert_eq!(
        healed.stats().parses,
        0,
        "the parse replaced the corrupt blob"
    );
}

#[test]
fn files_written_just_now_are_not_kept() {
    let dir = fixture();
    let store = Arc::new(MemoryTags::default());
    let map = RepoMap::build_with(dir.path(), with(&store)).expect("builds");
    assert_eq!(map.stats().parses, 8);
    assert_eq!(store.len(), 0, "a stamp this recent could change unseen");
}

#[test]
fn the_tag_kind_carries_the_version() {
    assert!(
        tags_kind().contains(&format!("-v{TAGS_VERSION}-")),
        "{}",
        tags_kind()
    );
}
