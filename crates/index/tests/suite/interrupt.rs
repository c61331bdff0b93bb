//! Interrupted runs resume; one writer at a time; a killed writer's lock is taken over.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use cuervo_index::{IndexError, UpdateOptions};
use pretty_assertions::assert_eq;

use super::*;

/// A project of `n` small Rust files, so batches of one file are many.
fn many_files(n: usize) -> tempfile::TempDir {
    let dir = project();
    for i in 0..n {
        write(
            dir.path(),
            &format!("src/gen/m{i:02}.rs"),
            &format!("pub fn handler_{i}(x: u32) -> u32 {{\n    x * {i} + 1\n}}\n"),
        );
    }
    dir
}

#[test]
fn a_run_stopped_after_some_batches_leaves_a_usable_index_and_resumes() {
    let dir = many_files(10);
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    let options = UpdateOptions {
        batch_files: 2,
        stop_after_batches: Some(3),
        ..UpdateOptions::default()
    };
    let err = index
        .update(&embedder(), &options, &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, IndexError::Stopped { batches: 3 }), "{err}");
    let (files, _) = index.counts().unwrap();
    assert_eq!(files, 6, "three committed batches of two files");
    // Usable meanwhile: what was committed is searchable.
    let found = index
        .search(&embedder(), &cuervo_index::SearchQuery::new("parse config"))
        .unwrap();
    assert!(!found.hits.is_empty());
    drop(index);

    let index = open(root, base.path());
    let stats = update(&index);
    assert_eq!(
        stats.files_indexed,
        15 - 6,
        "only the rest is indexed: {stats:?}"
    );
    assert_eq!(chunk_set(&index), fresh_chunk_set(root));
}

#[test]
fn kill_9_during_indexing_then_the_next_run_completes_correctly() {
    let dir = many_files(20);
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let mut child = Command::new(example("index_slowly"))
        .args([root.as_os_str(), base.path().as_os_str(), "200".as_ref()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the index_slowly example is built by `cargo test`");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait for a few committed batches.
    for line in lines.by_ref() {
        if line.unwrap() == "batch 3" {
            break;
        }
    }

    // While it runs, another writer is refused, naming the holder.
    let index = open(root, base.path());
    let err = index
        .update(&embedder(), &UpdateOptions::default(), &mut |_| {})
        .unwrap_err();
    match &err {
        IndexError::Locked { pid, .. } => assert_eq!(pid, &child.id().to_string()),
        other => panic!("expected Locked, got {other}"),
    }

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (files, _) = index.counts().unwrap();
    assert!(
        (3..25).contains(&files),
        "{files} files committed before the kill"
    );

    // The dead writer's lock is taken over; the run finishes the job.
    let stats = update(&index);
    assert!(stats.files_indexed > 0);
    assert_eq!(chunk_set(&index), fresh_chunk_set(root));
    let again = update(&index);
    assert_eq!(again.files_indexed, 0);
}
