//! Precision and recall of the PII scanner on a labelled corpus.
//!
//! `tests/fixtures/pii/corpus.jsonl` holds one JSON object per line: `text`, `expect` (a
//! list of `{kind, match}`, where `match` is the exact substring that must be found; the
//! first unused occurrence counts) and `context` (what the line is, for humans). Lines with
//! an empty `expect` are hard negatives: UUIDs, git hashes, version strings, dates, base64
//! blobs, hex colours, placeholders… A finding counts as a true positive when an expected
//! item of the same kind overlaps it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use cuervo_text::pii::{self, PiiKind};
use serde::Deserialize;

#[derive(Deserialize)]
struct Row {
    text: String,
    expect: Vec<Item>,
    #[serde(default)]
    context: String,
}

#[derive(Deserialize)]
struct Item {
    kind: String,
    #[serde(rename = "match")]
    matched: String,
}

fn corpus() -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pii/corpus.jsonl");
    std::fs::read_to_string(path)
        .expect("read corpus")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("parse corpus line"))
        .collect()
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

#[derive(Default, Clone, Copy)]
struct Tally {
    tp: usize,
    fp: usize,
    fn_: usize,
    exact: usize,
}

#[test]
fn precision_and_recall_per_kind() {
    let rows = corpus();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut report = Vec::new();
    let (mut positives, mut negatives) = (0, 0);
    for row in &rows {
        if row.expect.is_empty() {
            negatives += 1;
        }
        // Expected spans: the first unused occurrence of each `match`.
        let mut expected: Vec<(String, Range<usize>)> = Vec::new();
        for item in &row.expect {
            PiiKind::ALL
                .iter()
                .find(|k| k.name() == item.kind)
                .unwrap_or_else(|| panic!("unknown kind {} in corpus", item.kind));
            let mut from = 0;
            let start = loop {
                let at = from
                    + row.text[from..]
                        .find(&item.matched)
                        .unwrap_or_else(|| panic!("{:?} not in {:?}", item.matched, row.text));
                if expected.iter().any(|(_, r)| r.start == at) {
                    from = at + 1;
                } else {
                    break at;
                }
            };
            expected.push((item.kind.clone(), start..start + item.matched.len()));
            positives += 1;
        }
        let found = pii::scan(&row.text);
        let mut used = vec![false; expected.len()];
        for f in &found {
            let name = f.kind.name().to_string();
            let hit = expected
                .iter()
                .enumerate()
                .find(|(i, (k, r))| !used[*i] && *k == name && overlaps(r, &f.range()));
            let t = tallies.entry(name.clone()).or_default();
            match hit {
                Some((i, (_, r))) => {
                    used[i] = true;
                    t.tp += 1;
                    if *r == f.range() {
                        t.exact += 1;
                    }
                }
                None => {
                    t.fp += 1;
                    report.push(format!(
                        "FP {name:<15} {:?} in [{}] {:?}",
                        &row.text[f.range()],
                        row.context,
                        row.text
                    ));
                }
            }
        }
        for (i, (k, r)) in expected.iter().enumerate() {
            if !used[i] {
                tallies.entry(k.clone()).or_default().fn_ += 1;
                report.push(format!(
                    "FN {k:<15} {:?} in [{}] {:?}",
                    &row.text[r.clone()],
                    row.context,
                    row.text
                ));
            }
        }
    }
    assert!(
        positives >= 200,
        "corpus has {positives} positives, want >= 200"
    );
    assert!(
        negatives >= 100,
        "corpus has {negatives} hard negatives, want >= 100"
    );

    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let mut table = String::from(
        "| kind | expected | found | TP | FP | FN | precision | recall | exact span |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut total = Tally::default();
    for (kind, t) in &tallies {
        table.push_str(&format!(
            "| {kind} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.3} |\n",
            t.tp + t.fn_,
            t.tp + t.fp,
            t.tp,
            t.fp,
            t.fn_,
            ratio(t.tp, t.tp + t.fp),
            ratio(t.tp, t.tp + t.fn_),
            ratio(t.exact, t.tp),
        ));
        total.tp += t.tp;
        total.fp += t.fp;
        total.fn_ += t.fn_;
        total.exact += t.exact;
    }
    let precision = ratio(total.tp, total.tp + total.fp);
    let recall = ratio(total.tp, total.tp + total.fn_);
    table.push_str(&format!(
        "| **all** | {} | {} | {} | {} | {} | {precision:.3} | {recall:.3} | {:.3} |\n",
        total.tp + total.fn_,
        total.tp + total.fp,
        total.tp,
        total.fp,
        total.fn_,
        ratio(total.exact, total.tp),
    ));
    eprintln!(
        "PII corpus: {} lines, {positives} expected findings, {negatives} hard-negative lines\n{table}",
        rows.len()
    );
    for line in &report {
        eprintln!("{line}");
    }
    assert!(recall >= 0.95, "overall recall {recall:.3} < 0.95");
    assert!(precision >= 0.90, "overall precision {precision:.3} < 0.90");
}

#[test]
fn redaction_replaces_every_finding_with_its_marker() {
    for row in corpus() {
        let redacted = pii::redact(&row.text);
        for f in &redacted.findings {
            assert!(redacted.text.contains(&f.kind.marker()), "{:?}", row.text);
        }
        // Redacting twice finds nothing new: markers are not PII.
        let again = pii::redact(&redacted.text);
        assert!(
            again.is_clean(),
            "{:?} -> {:?}: {:?}",
            row.text,
            redacted.text,
            again.findings
        );
    }
}

#[test]
fn findings_never_overlap_and_are_ordered() {
    for row in corpus() {
        let found = pii::scan(&row.text);
        for w in found.windows(2) {
            assert!(w[0].end <= w[1].start, "{:?}", row.text);
        }
        for f in &found {
            assert!(row.text.is_char_boundary(f.start) && row.text.is_char_boundary(f.end));
        }
    }
}
