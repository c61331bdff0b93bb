//! Schema versions: an older database is upgraded in place, a newer one is refused and
//! left byte for byte as it was.

use cuervo_domain::SessionId;
use cuervo_store::{Db, Error, migrate};
use pretty_assertions::assert_eq;
use rusqlite::Connection;

#[test]
fn a_version_1_database_is_migrated_in_place_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cuervo.db");
    {
        // What a build that only knew version 1 left behind.
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(migrate::migrate(&tx, 1).unwrap(), 1);
        tx.execute(
            "INSERT INTO sessions (id, project_path) VALUES ('old', '/proj')",
            [],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO messages (id, session_id, seq, role, content, tokens_used, tokens_input, tokens_output, cost_micro_usd)
             VALUES ('old:1', 'old', 1, 'user', '[{\"type\":\"text\",\"text\":\"fix the parser\"}]', NULL, NULL, NULL, NULL),
                    ('old:2', 'old', 2, 'assistant', '[{\"type\":\"text\",\"text\":\"done\"}]', 30, 20, 10, 1500)",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
        assert_eq!(migrate::user_version(&conn).unwrap(), 1);
    }
    let db = Db::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), migrate::SCHEMA_VERSION);
    let info = db.session(&SessionId("old".into())).unwrap().unwrap();
    assert_eq!(
        info.title.as_deref(),
        Some("fix the parser"),
        "backfilled by v2"
    );
    assert_eq!(info.message_count, 2);
    assert_eq!(info.cost.exact().map(|c| c.micro_usd), Some(1500));
    assert_eq!(db.latest_session("/proj").unwrap().unwrap().id, "old");
    let cost_usd: f64 = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT cost_usd FROM messages WHERE id = 'old:2'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!((cost_usd - 0.0015).abs() < 1e-12);
    assert_eq!(db.integrity_check().unwrap(), "ok");
    drop(db);
    // Opening again is a no-op.
    assert_eq!(
        Db::open(&path).unwrap().schema_version().unwrap(),
        migrate::SCHEMA_VERSION
    );
}

#[test]
fn a_newer_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cuervo.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE future (x TEXT); INSERT INTO future VALUES ('from the future');",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", migrate::SCHEMA_VERSION + 7)
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let entries_before = std::fs::read_dir(dir.path()).unwrap().count();

    let err = Db::open(&path).unwrap_err();
    assert!(matches!(err, Error::SchemaTooNew { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("schema version {}", migrate::SCHEMA_VERSION + 7))
            && message.contains("newer")
            && message.contains("left untouched")
            && message.contains("Upgrade cuervo"),
        "{message}"
    );

    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "not one byte changed"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        entries_before,
        "no -wal or -shm file was created"
    );
}
