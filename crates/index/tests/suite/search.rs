//! Hybrid search: identifier-aware full text, RRF, filters, dedupe.

use cuervo_index::{SearchHit, SearchMode, SearchQuery, dedupe_overlapping, rrf_fuse};
use pretty_assertions::assert_eq;

use super::*;

fn names(index: &Index, query: SearchQuery) -> Vec<(String, String)> {
    index
        .search(&embedder(), &query)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| (h.path, h.chunk_name))
        .collect()
}

#[test]
fn identifiers_are_found_by_their_words_and_other_spellings() {
    let dir = project();
    let base = tempfile::tempdir().unwrap();
    let index = open(dir.path(), base.path());
    update(&index);
    for text in ["parse config", "ParseConfig", "parseConfig", "parse_config"] {
        let got = names(
            &index,
            SearchQuery::new(text).mode(SearchMode::FullText).k(3),
        );
        assert_eq!(
            got.first(),
            Some(&("src/config.rs".to_owned(), "parse_config".to_owned())),
            "{text}: {got:?}"
        );
    }
    let got = names(&index, SearchQuery::new("RetryPolicy delay").k(3));
    assert_eq!(got[0].0, "tools/fetch.py", "{got:?}");
}

#[test]
fn results_carry_the_json_fields() {
    let dir = project();
    let base = tempfile::tempdir().unwrap();
    let index = open(dir.path(), base.path());
    update(&index);
    let hit = index
        .search(&embedder(), &SearchQuery::new("draw progress bar").k(1))
        .unwrap()
        .hits
        .remove(0);
    assert_eq!(
        (
            hit.path.as_str(),
            hit.start_line,
            hit.end_line,
            hit.chunk_type.as_str(),
            hit.chunk_name.as_str()
        ),
        ("src/render.rs", 1, 5, "function", "draw_progress_bar")
    );
    assert!(hit.score > 0.0);
    assert!(hit.snippet.starts_with("pub fn draw_progress_bar"));
}

#[test]
fn rrf_orders_a_hand_made_case() {
    // 1: 1/61 + 1/62; 3: 1/63 + 1/61; 2: 1/62; 4: 1/63.
    let fused = rrf_fuse(&[vec![1, 2, 3], vec![3, 1, 4]], 60.0);
    let ids: Vec<i64> = fused.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [1, 3, 2, 4]);
    assert!((fused[0].1 - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-12);
    // A small k rewards agreement at the top more: with k = 0, 3 (1/3 + 1) beats 1 (1 + 1/2)? no:
    let fused = rrf_fuse(&[vec![1, 2, 3], vec![3, 1, 4]], 0.0);
    let ids: Vec<i64> = fused.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [1, 3, 2, 4]);
    assert!((fused[1].1 - (1.0 / 3.0 + 1.0)).abs() < 1e-12);
}

#[test]
fn path_glob_and_language_filters() {
    let dir = project();
    let base = tempfile::tempdir().unwrap();
    let index = open(dir.path(), base.path());
    update(&index);
    let all =
        |q: SearchQuery| -> Vec<SearchHit> { index.search(&embedder(), &q.k(50)).unwrap().hits };
    let py = all(SearchQuery::new("file").language("python"));
    assert!(
        !py.is_empty() && py.iter().all(|h| h.path.ends_with(".py")),
        "{py:?}"
    );
    let src = all(SearchQuery::new("config progress file").path("src/**"));
    assert!(
        !src.is_empty() && src.iter().all(|h| h.path.starts_with("src/")),
        "{src:?}"
    );
    let not_src = all(SearchQuery::new("config progress file").path("!src/**"));
    assert!(!not_src.is_empty() && not_src.iter().all(|h| !h.path.starts_with("src/")));
    let prose = all(SearchQuery::new("progress bar").language("text"));
    assert!(
        prose
            .iter()
            .all(|h| h.path == "README.md" || h.path == "Cargo.toml")
    );
    assert!(
        prose.iter().any(|h| h.path == "README.md"),
        "line-window chunks are indexed"
    );
    assert!(
        index
            .search(&embedder(), &SearchQuery::new("x").path("["))
            .is_err()
    );
}

#[test]
fn overlapping_ranges_of_a_file_are_reported_once() {
    let hit = |path: &str, start, end| SearchHit {
        path: path.into(),
        start_line: start,
        end_line: end,
        chunk_type: "function".into(),
        chunk_name: String::new(),
        score: 0.0,
        snippet: String::new(),
        language: None,
    };
    let kept = dedupe_overlapping(vec![
        hit("a.rs", 10, 20),
        hit("a.rs", 15, 30),
        hit("b.rs", 15, 30),
        hit("a.rs", 21, 25),
        hit("a.rs", 1, 10),
    ]);
    let got: Vec<(&str, usize)> = kept
        .iter()
        .map(|h| (h.path.as_str(), h.start_line))
        .collect();
    assert_eq!(got, [("a.rs", 10), ("b.rs", 15), ("a.rs", 21)]);

    // A method inside a class's much longer outline is a result of its own.
    let kept = dedupe_overlapping(vec![
        hit("c.py", 100, 400),
        hit("c.py", 120, 150),
        hit("c.py", 110, 390),
    ]);
    let got: Vec<usize> = kept.iter().map(|h| h.start_line).collect();
    assert_eq!(
        got,
        [100, 120],
        "the nested method stays; a near-copy of the class goes"
    );
}

#[test]
fn plain_language_leans_on_meaning_and_code_names_on_words() {
    use cuervo_index::full_text_weight;
    assert_eq!(full_text_weight("where are redirects followed"), 0.5);
    assert_eq!(full_text_weight("what does parse_config return"), 1.0);
    assert_eq!(full_text_weight("how is RepoMap built"), 1.0);
    assert_eq!(full_text_weight("what calls `send`"), 1.0);
    assert_eq!(
        full_text_weight("HTTP proxies and TLS"),
        0.5,
        "acronyms are words"
    );
}
