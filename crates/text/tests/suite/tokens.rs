//! Token ids identical to Python tiktoken's, for both encodings, on real source files,
//! prose and tricky Unicode.
//!
//! The reference is `tests/fixtures/tokens/expected.jsonl`, written by
//! `scripts/gen-token-fixtures.py` with Python tiktoken. When `CUERVO_TIKTOKEN_PYTHON` points
//! at the interpreter that `scripts/setup-tiktoken` prints, the test also runs that script
//! live and compares with its output, so the fixture cannot drift from tiktoken unnoticed.
//!
//! The last tests are about the on-disk cache of the built dictionaries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cuervo_text::tokens::{Encoding, Origin, PARALLEL_THRESHOLD};
use serde::Deserialize;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokens")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The inputs, named and ordered exactly as `gen-token-fixtures.py` names and orders them.
fn inputs() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read corpus dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out)
            } else {
                out.push(path)
            }
        }
    }
    let base = fixtures();
    let mut files = Vec::new();
    walk(&base.join("corpus"), &mut files);
    let mut named: Vec<(String, String)> = files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&base).expect("under fixtures");
            let name = rel.to_string_lossy().replace('\\', "/");
            (
                name,
                std::fs::read_to_string(&p).expect("corpus files are UTF-8"),
            )
        })
        .collect();
    // Python sorts the relative names as strings too.
    named.sort();
    #[derive(Deserialize)]
    struct Case {
        name: String,
        text: String,
    }
    let cases: Vec<Case> = serde_json::from_str(
        &std::fs::read_to_string(base.join("cases.json")).expect("read cases.json"),
    )
    .expect("parse cases.json");
    named.extend(
        cases
            .into_iter()
            .map(|c| (format!("case:{}", c.name), c.text)),
    );
    named
}

#[derive(Debug, Deserialize)]
struct Expected {
    name: String,
    encoding: Encoding,
    count: usize,
    ids: Vec<u32>,
}

#[derive(Debug, Deserialize)]
struct Header {
    tiktoken: String,
    entries: usize,
}

fn parse_expected(jsonl: &str) -> (Header, Vec<Expected>) {
    let mut lines = jsonl.lines();
    let header: Header =
        serde_json::from_str(lines.next().expect("header line")).expect("parse header");
    let entries: Vec<Expected> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("parse entry"))
        .collect();
    assert_eq!(header.entries, entries.len(), "truncated fixture");
    (header, entries)
}

/// Compares every entry with our encoder; returns a readable list of the differences.
fn compare(expected: &[Expected], inputs: &[(String, String)]) -> Vec<String> {
    let texts: BTreeMap<&str, &str> = inputs
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let mut failures = Vec::new();
    for e in expected {
        let Some(text) = texts.get(e.name.as_str()) else {
            failures.push(format!(
                "{}: in the fixture but not among the inputs",
                e.name
            ));
            continue;
        };
        assert_eq!(
            e.count,
            e.ids.len(),
            "{} count/ids mismatch in fixture",
            e.name
        );
        let ours = e.encoding.encode(text);
        let count = e.encoding.count(text);
        if ours != e.ids || count != e.count {
            let at = ours
                .iter()
                .zip(&e.ids)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            let lo = at.saturating_sub(3);
            failures.push(format!(
                "{} [{}]: tiktoken {} tokens, ours encode {} / count {}; first difference at \
                 token {at}: tiktoken {:?} vs ours {:?}",
                e.name,
                e.encoding,
                e.count,
                ours.len(),
                count,
                &e.ids[lo..(at + 4).min(e.ids.len())],
                &ours[lo..(at + 4).min(ours.len())],
            ));
        }
    }
    failures
}

#[test]
fn token_ids_match_python_tiktoken_fixture() {
    let jsonl =
        std::fs::read_to_string(fixtures().join("expected.jsonl")).expect("read expected.jsonl");
    let (header, expected) = parse_expected(&jsonl);
    let inputs = inputs();
    // Every input, in both encodings, is in the fixture: regenerate it after adding inputs.
    assert_eq!(
        expected.len(),
        inputs.len() * Encoding::ALL.len(),
        "fixture is stale: run \"$(scripts/setup-tiktoken)\" scripts/gen-token-fixtures.py"
    );
    let failures = compare(&expected, &inputs);
    let total: usize = expected.iter().map(|e| e.count).sum();
    eprintln!(
        "tokens: {} inputs x {} encodings, {total} tokens compared with tiktoken {}",
        inputs.len(),
        Encoding::ALL.len(),
        header.tiktoken
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Live check against Python tiktoken, when it is installed (see `scripts/setup-tiktoken`).
#[test]
fn token_ids_match_live_python_tiktoken() {
    let Some(python) = std::env::var_os("CUERVO_TIKTOKEN_PYTHON").filter(|p| !p.is_empty()) else {
        eprintln!(
            "skipping the live tiktoken check: set CUERVO_TIKTOKEN_PYTHON=\"$(scripts/setup-tiktoken)\""
        );
        return;
    };
    let output = Command::new(&python)
        .arg(repo_root().join("scripts/gen-token-fixtures.py"))
        .arg("--stdout")
        .output()
        .unwrap_or_else(|e| panic!("running {python:?}: {e}"));
    assert!(
        output.status.success(),
        "gen-token-fixtures.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let live = String::from_utf8(output.stdout).expect("UTF-8 output");
    let (header, expected) = parse_expected(&live);
    let failures = compare(&expected, &inputs());
    eprintln!(
        "tokens: live tiktoken {}: {} entries compared",
        header.tiktoken,
        expected.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The committed fixture must say what live tiktoken says.
    let committed =
        std::fs::read_to_string(fixtures().join("expected.jsonl")).expect("read expected.jsonl");
    let (_, committed) = parse_expected(&committed);
    let stale: Vec<&str> = committed
        .iter()
        .zip(&expected)
        .filter(|(a, b)| a.name != b.name || a.ids != b.ids)
        .map(|(a, _)| a.name.as_str())
        .collect();
    assert!(
        stale.is_empty(),
        "committed fixture differs from live tiktoken on {stale:?}"
    );
}

/// Returns the next char boundary after `i` (or `None` at the end).
fn next_boundary(s: &str, i: usize) -> Option<usize> {
    s[i..].chars().next().map(|c| i + c.len_utf8())
}

#[test]
fn truncation_never_splits_a_char_and_is_maximal() {
    for (name, text) in inputs() {
        for enc in Encoding::ALL {
            let total = enc.count(&text);
            let maxes: Vec<usize> = if total <= 40 {
                (0..=total + 1).collect()
            } else {
                vec![
                    0,
                    1,
                    2,
                    3,
                    7,
                    50,
                    total / 3,
                    total / 2,
                    total - 1,
                    total,
                    total + 5,
                ]
            };
            for max in maxes {
                let t = enc.truncate_to_tokens(&text, max);
                // A `&str` prefix is valid UTF-8 by construction; check it is a prefix.
                assert!(text.starts_with(t), "{name} [{enc}] max={max}");
                let n = enc.count(t);
                assert!(n <= max, "{name} [{enc}] max={max}: prefix has {n} tokens");
                if let Some(next) = next_boundary(&text, t.len()) {
                    let longer = enc.count(&text[..next]);
                    assert!(
                        longer > max,
                        "{name} [{enc}] max={max}: one more char still fits"
                    );
                } else {
                    assert!(
                        total <= max,
                        "{name} [{enc}] max={max}: whole text returned"
                    );
                }
            }
        }
    }
}

#[test]
fn truncation_keeps_emoji_cjk_and_combining_marks_whole() {
    let cases = [
        "👩‍👩‍👧‍👦👨🏽‍💻🏳️‍🌈",
        "東京の天気は晴れです",
        "e\u{301}e\u{301}e\u{301}n\u{303}",
        "مرحبا بالعالم",
        "𠀀𠀁𠀂𝄞𝄞",
    ];
    for text in cases {
        for enc in Encoding::ALL {
            for max in 0..=enc.count(text) {
                let t = enc.truncate_to_tokens(text, max);
                assert!(text.is_char_boundary(t.len()));
                // Round trip through the encoder: the prefix decodes to itself.
                assert_eq!(enc.decode(&enc.encode(t)).as_deref(), Some(t));
            }
        }
    }
}

#[test]
fn parallel_counting_equals_sequential_on_the_corpus() {
    let mut big = String::new();
    let inputs = inputs();
    while big.len() < PARALLEL_THRESHOLD + 100_000 {
        for (_, text) in &inputs {
            big.push_str(text);
            big.push('\n');
        }
    }
    for enc in Encoding::ALL {
        let sequential = enc.count_sequential(&big);
        assert_eq!(enc.count(&big), sequential, "{enc}");
        assert_eq!(enc.encode(&big).len(), sequential, "{enc}");
    }
}

/// A text whose ids the shared encoder (checked against tiktoken above) gives.
const CACHE_PROBE: &str = "fn main() {\n    println!(\"héllo 🦀 {}\", 42);\n}\n";

/// The names in a cache directory, sorted.
fn cache_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the cache dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn built_encoders_are_cached_and_a_damaged_cache_is_rebuilt() {
    let enc = Encoding::Cl100kBase;
    let want = enc.encode(CACHE_PROBE);
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("bpe");

    let (built, origin) = enc.load_encoder(Some(&cache));
    assert_eq!(origin, Origin::Built);
    assert_eq!(built.encode(CACHE_PROBE), want);
    let files = cache_files(&cache);
    assert!(
        files.len() == 1 && files[0].starts_with("cl100k_base-") && files[0].ends_with(".bpe"),
        "one cache file and no temporary one left: {files:?}"
    );
    let file = cache.join(&files[0]);
    let (cached, origin) = enc.load_encoder(Some(&cache));
    assert_eq!(origin, Origin::Cache);
    assert_eq!(cached.encode(CACHE_PROBE), want);

    // What writers that died left behind: one long ago, one maybe still writing.
    let stale = cache.join(format!(".{}.1.0.tmp", files[0]));
    let fresh = cache.join(format!(".{}.2.0.tmp", files[0]));
    for tmp in [&stale, &fresh] {
        std::fs::write(tmp, "partial").expect("write a temporary file");
    }
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .and_then(|f| f.set_modified(hour_ago))
        .expect("age the stale temporary file");

    let whole = std::fs::read(&file).expect("read the cache file");
    let mut flipped = whole.clone();
    flipped[whole.len() / 2] ^= 0x01;
    for (what, damaged) in [
        ("one bit flipped", flipped),
        ("cut short", whole[..whole.len() - 1000].to_vec()),
    ] {
        std::fs::write(&file, damaged).expect("damage the cache file");
        let (rebuilt, origin) = enc.load_encoder(Some(&cache));
        assert_eq!(origin, Origin::Built, "{what}: rebuilt, not trusted");
        assert_eq!(rebuilt.encode(CACHE_PROBE), want, "{what}");
        assert_eq!(
            std::fs::read(&file).expect("read"),
            whole,
            "{what}: replaced"
        );
    }
    assert!(!stale.exists(), "a dead writer's temporary file is removed");
    assert!(fresh.exists(), "a recent one is left to its writer");
}

#[test]
fn without_a_writable_cache_the_encoder_is_built_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A directory cannot be created under a file (even by root).
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    let enc = Encoding::Cl100kBase;
    let (built, origin) = enc.load_encoder(Some(&file.join("bpe")));
    assert_eq!(origin, Origin::BuiltUncached);
    assert_eq!(built.encode(CACHE_PROBE), enc.encode(CACHE_PROBE));
    let (built, origin) = enc.load_encoder(None);
    assert_eq!(origin, Origin::BuiltUncached);
    assert_eq!(built.count(CACHE_PROBE), enc.count(CACHE_PROBE));
}

/// Set for the child processes of [`two_processes_building_at_once_publish_one_whole_file`].
const CHILD_CACHE_DIR: &str = "CUERVO_TEST_BPE_CACHE_CHILD";

/// In a child process only: loads `cl100k_base` through the cache named by the variable.
#[test]
fn bpe_cache_child_process() {
    let Some(dir) = std::env::var_os(CHILD_CACHE_DIR) else {
        return;
    };
    let (encoder, _) = Encoding::Cl100kBase.load_encoder(Some(Path::new(&dir)));
    assert_eq!(
        encoder.count(CACHE_PROBE),
        Encoding::Cl100kBase.count(CACHE_PROBE)
    );
}

#[test]
fn two_processes_building_at_once_publish_one_whole_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().expect("the test binary"))
                .args(["--exact", "suite::tokens::bpe_cache_child_process"])
                .env(CHILD_CACHE_DIR, dir.path())
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("start a child")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success(), "a child failed");
    }
    let files = cache_files(dir.path());
    assert_eq!(files.len(), 1, "one file, no temporary one left: {files:?}");
    let (cached, origin) = Encoding::Cl100kBase.load_encoder(Some(dir.path()));
    assert_eq!(origin, Origin::Cache, "the published file is whole");
    assert_eq!(
        cached.encode(CACHE_PROBE),
        Encoding::Cl100kBase.encode(CACHE_PROBE)
    );
}
