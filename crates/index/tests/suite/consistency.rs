//! Incremental updates equal a fresh index; stale lines are never returned; damaged and
//! incompatible indexes are rebuilt.

use cuervo_index::{OpenNotice, SearchQuery};
use pretty_assertions::assert_eq;

use super::*;

#[test]
fn edit_add_delete_rename_then_update_equals_a_fresh_index() {
    let dir = project();
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    let first = update(&index);
    assert_eq!(
        first.files_seen, 5,
        "target/ is ignored, .gitignore is hidden"
    );
    assert!(first.chunks_written > 5);
    assert!(
        !chunk_set(&index).iter().any(|c| c.0.starts_with("target/")),
        "ignored files are not indexed"
    );

    // Nothing changed: nothing is re-read or re-embedded.
    let again = update(&index);
    assert_eq!(
        (
            again.files_indexed,
            again.chunks_embedded,
            again.files_removed
        ),
        (0, 0, 0)
    );

    // Edit one function, add a file, delete one, rename one.
    write(
        root,
        "src/render.rs",
        "// Terminal drawing.\n\npub fn draw_progress_bar(done: usize, total: usize) -> String {\n    let width = 50;\n    let filled = done * width / total.max(1);\n    format!(\"[{}{}]\", \"=\".repeat(filled), \" \".repeat(width - filled))\n}\n\npub fn clear_line() -> &'static str {\n    \"\\r\\x1b[2K\"\n}\n",
    );
    write(root, "src/lib.rs", "pub mod config;\npub mod render;\n");
    std::fs::remove_file(root.join("Cargo.toml")).unwrap();
    std::fs::rename(root.join("tools/fetch.py"), root.join("tools/download.py")).unwrap();
    let stats = update(&index);
    assert_eq!(stats.files_indexed, 3, "{stats:?}");
    assert_eq!(stats.files_removed, 2, "{stats:?}");
    assert_eq!(chunk_set(&index), fresh_chunk_set(root));

    // The renamed file's chunks are found under the new path only.
    let hits = index
        .search(&embedder(), &SearchQuery::new("download archive"))
        .unwrap()
        .hits;
    assert!(hits.iter().any(|h| h.path == "tools/download.py"));
    assert!(!hits.iter().any(|h| h.path == "tools/fetch.py"));

    // A re-opened index (vectors from the file plus the log) searches the same.
    drop(index);
    let index = open(root, base.path());
    assert!(index.notices().is_empty(), "{:?}", index.notices());
    assert_eq!(chunk_set(&index), fresh_chunk_set(root));
}

#[test]
fn unchanged_chunks_of_an_edited_file_keep_their_vectors() {
    let dir = project();
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    update(&index);
    let source = std::fs::read_to_string(root.join("src/config.rs")).unwrap();
    write(
        root,
        "src/config.rs",
        &source.replace(
            "pub name: String,",
            "pub name: String,\n    pub path: String,",
        ),
    );
    let stats = update(&index);
    assert_eq!(stats.files_indexed, 1);
    assert!(stats.chunks_reused >= 1, "{stats:?}");
    assert!(stats.chunks_embedded < stats.chunks_written, "{stats:?}");
}

#[test]
fn a_file_changed_after_indexing_is_never_returned_with_stale_lines() {
    let dir = project();
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    update(&index);
    let query = SearchQuery::new("parse_config settings");
    let before = index.search(&embedder(), &query).unwrap();
    assert_eq!(before.hits[0].path, "src/config.rs");

    // Two lines inserted above: every indexed line number of the file is now wrong.
    let source = std::fs::read_to_string(root.join("src/config.rs")).unwrap();
    write(root, "src/config.rs", &format!("use std::fs;\n\n{source}"));
    let after = index.search(&embedder(), &query).unwrap();
    assert!(
        after.hits.iter().all(|h| h.path != "src/config.rs"),
        "{:?}",
        after.hits
    );
    assert_eq!(after.stale_files, ["src/config.rs"]);

    // Deleted: same.
    std::fs::remove_file(root.join("src/render.rs")).unwrap();
    let gone = index
        .search(&embedder(), &SearchQuery::new("progress bar"))
        .unwrap();
    assert!(gone.hits.iter().all(|h| h.path != "src/render.rs"));
    assert!(gone.stale_files.contains(&"src/render.rs".to_owned()));

    // After an update the file is found again, with its new lines.
    update(&index);
    let fixed = index.search(&embedder(), &query).unwrap();
    let hit = fixed
        .hits
        .iter()
        .find(|h| h.chunk_name == "parse_config")
        .unwrap();
    let lines: Vec<String> = std::fs::read_to_string(root.join("src/config.rs"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        lines[hit.start_line - 1..hit.end_line]
            .join("\n")
            .contains("fn parse_config")
    );
    assert!(fixed.stale_files.is_empty());
}

#[test]
fn a_damaged_database_is_detected_and_rebuilt() {
    let dir = project();
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    update(&index);
    let db = index.dir().join("index.db");
    drop(index);
    for extra in ["index.db-wal", "index.db-shm"] {
        let _ = std::fs::remove_file(db.with_file_name(extra));
    }
    std::fs::write(
        &db,
        b"this is not a database, just garbage bytes ".repeat(200),
    )
    .unwrap();
    let index = open(root, base.path());
    assert!(
        matches!(index.notices(), [OpenNotice::Rebuilt { reason }] if reason.contains("damaged")),
        "{:?}",
        index.notices()
    );
    assert_eq!(index.counts().unwrap(), (0, 0), "never silently used");
    update(&index);
    assert_eq!(chunk_set(&index), fresh_chunk_set(root));
}

#[test]
fn a_damaged_vector_file_is_rebuilt_from_sqlite() {
    let dir = project();
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    update(&index);
    let query = vec![0.5f32; DIM];
    let expected = index.vector_search_exact(&query, 5).unwrap();
    // The backend's own record of what it holds: the flat file (checksummed), or the
    // generation file next to LanceDB's table.
    let (file, why) = if cfg!(feature = "lancedb") {
        (index.dir().join("lance").join("generation"), "generation")
    } else {
        (index.dir().join("vectors.bin"), "checksum")
    };
    drop(index);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    let index = open(root, base.path());
    assert!(
        matches!(index.notices(), [OpenNotice::VectorsRebuilt { reason }] if reason.contains(why)),
        "{:?}",
        index.notices()
    );
    assert_eq!(index.vector_search_exact(&query, 5).unwrap(), expected);
}

#[test]
fn an_incompatible_index_is_rebuilt() {
    let dir = project();
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    update(&index);
    let db = index.dir().join("index.db");
    drop(index);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE meta SET value = '999' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(conn);
    let index = open(root, base.path());
    assert!(
        matches!(index.notices(), [OpenNotice::Rebuilt { reason }] if reason.contains("schema_version is 999")),
        "{:?}",
        index.notices()
    );
    assert_eq!(index.counts().unwrap(), (0, 0));
}

#[test]
fn each_model_gets_its_own_index() {
    let dir = project();
    let base = tempfile::tempdir().unwrap();
    let a = open(dir.path(), base.path());
    let other = cuervo_index::HashEmbedder::new(32);
    let b = cuervo_index::Index::open(dir.path(), base.path(), &other, Default::default()).unwrap();
    assert_ne!(a.dir(), b.dir());
    // An index refuses another model's queries.
    assert!(b.search(&embedder(), &SearchQuery::new("x")).is_err());
}

/// `pending` reports what an update would do without doing it; a capped update refuses
/// before changing anything (the refresh a search does must stay quick).
#[test]
fn pending_counts_changes_and_a_capped_update_changes_nothing() {
    let dir = project();
    let root = dir.path();
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    update(&index);
    let none = cuervo_index::UpdateOptions::default();
    assert_eq!(
        index.pending(&none).unwrap(),
        cuervo_index::Pending::default()
    );
    let before = chunk_set(&index);

    write(root, "src/new_one.rs", "pub fn fresh() -> u8 { 1 }\n");
    write(root, "src/new_two.rs", "pub fn newer() -> u8 { 2 }\n");
    std::fs::remove_file(root.join("README.md")).unwrap();
    assert_eq!(
        index.pending(&none).unwrap(),
        cuervo_index::Pending {
            changed: 2,
            removed: 1
        }
    );
    let capped = cuervo_index::UpdateOptions {
        max_changed_files: Some(1),
        ..cuervo_index::UpdateOptions::default()
    };
    let err = index.update(&embedder(), &capped, &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, cuervo_index::IndexError::TooManyChanges { files: 2 }),
        "{err}"
    );
    assert_eq!(chunk_set(&index), before, "nothing was written");

    let roomy = cuervo_index::UpdateOptions {
        max_changed_files: Some(2),
        ..cuervo_index::UpdateOptions::default()
    };
    let stats = index.update(&embedder(), &roomy, &mut |_| {}).unwrap();
    assert_eq!((stats.files_indexed, stats.files_removed), (2, 1));
    assert_eq!(chunk_set(&index), fresh_chunk_set(root));
}
