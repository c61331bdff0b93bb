//! The audit chain: an untouched log verifies; editing, deleting, reordering or truncating
//! rows makes `verify` fail at the right entry, whatever the chain.

use std::sync::Arc;

use cuervo_store::Db;
use cuervo_store::audit::{AuditLog, BreachKind, no_redaction};
use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::json;

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    log: AuditLog,
}

impl Fixture {
    fn with_entries(n: usize) -> Fixture {
        Fixture::with_payloads(
            (0..n)
                .map(|i| json!({"tool": "bash", "command": format!("echo {i}"), "n": i}))
                .collect(),
        )
    }

    fn with_payloads(payloads: Vec<serde_json::Value>) -> Fixture {
        let dir = tempfile::tempdir().expect("fixture");
        let path = dir.path().join("cuervo.db");
        let db = Arc::new(Db::open(&path).expect("fixture"));
        let log = AuditLog::new(db, no_redaction());
        for (i, payload) in payloads.into_iter().enumerate() {
            let kind = ["model_invoked", "tool_executed", "bash_executed"][i % 3];
            log.append(kind, Some("session-1"), payload)
                .expect("fixture");
        }
        Fixture {
            _dir: dir,
            path,
            log,
        }
    }

    /// A second connection, as a person editing the file with `sqlite3` would use.
    fn raw(&self) -> Connection {
        Connection::open(&self.path).expect("fixture")
    }

    fn sql(&self, sql: &str) {
        self.raw().execute_batch(sql).expect("fixture");
    }

    fn breach(&self) -> (i64, BreachKind, String) {
        let v = self.log.verify().expect("fixture");
        let b = v.breach.expect("verify should fail");
        let text = b.to_string();
        (b.entry, b.kind, text)
    }

    /// Swaps everything but the id between rows `a` and `b`.
    fn swap(&self, a: i64, b: i64) {
        self.sql(&format!(
            "CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE id IN ({a}, {b});
             UPDATE audit_log SET (ts, kind, session_id, payload, prev_hash, hash) =
               (SELECT ts, kind, session_id, payload, prev_hash, hash FROM t WHERE t.id = {b}) WHERE id = {a};
             UPDATE audit_log SET (ts, kind, session_id, payload, prev_hash, hash) =
               (SELECT ts, kind, session_id, payload, prev_hash, hash FROM t WHERE t.id = {a}) WHERE id = {b};"
        ));
    }
}

#[test]
fn an_untouched_chain_verifies_and_reaches_its_checkpoint() {
    let f = Fixture::with_entries(20);
    let v = f.log.verify().unwrap();
    assert!(v.is_intact(), "{:?}", v.breach);
    assert_eq!(v.entries, 20);
    assert!(v.checkpointed);
    assert_eq!(v.head.as_ref().map(|h| h.0), Some(20));
    assert!(f.log.checkpoint_path().unwrap().exists());
    // An empty log with no checkpoint is intact too.
    let empty = Fixture::with_entries(0);
    assert!(empty.log.verify().unwrap().is_intact());
}

#[test]
fn an_edited_payload_fails_at_that_entry() {
    let f = Fixture::with_entries(10);
    f.sql(r#"UPDATE audit_log SET payload = '{"command":"echo harmless","n":4,"tool":"bash"}' WHERE id = 5"#);
    let (entry, kind, text) = f.breach();
    assert_eq!((entry, kind), (5, BreachKind::Edited), "{text}");
    assert!(text.starts_with("entry 5: was edited"), "{text}");
}

#[test]
fn an_edit_with_a_recomputed_hash_fails_at_the_next_link() {
    let f = Fixture::with_entries(10);
    f.sql("UPDATE audit_log SET kind = 'nothing_happened' WHERE id = 5");
    // Recompute entry 5's hash the way a careful forger would.
    let conn = f.raw();
    let (ts, session, payload, prev): (String, Option<String>, String, String) = conn
        .query_row(
            "SELECT ts, session_id, payload, prev_hash FROM audit_log WHERE id = 5",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let canonical = cuervo_store::audit::entry_canonical(
        5,
        &ts,
        "nothing_happened",
        session.as_deref(),
        &serde_json::from_str(&payload).unwrap(),
    );
    let hash = cuervo_store::audit::chain_hash(&prev, &canonical);
    conn.execute("UPDATE audit_log SET hash = ?1 WHERE id = 5", [hash])
        .unwrap();
    let (entry, kind, text) = f.breach();
    assert_eq!((entry, kind), (6, BreachKind::Relinked), "{text}");
}

#[test]
fn a_deleted_entry_is_named() {
    let f = Fixture::with_entries(10);
    f.sql("DELETE FROM audit_log WHERE id = 4");
    let (entry, kind, text) = f.breach();
    assert_eq!((entry, kind), (4, BreachKind::Deleted), "{text}");
    assert!(text.contains("entries 4..=4 were deleted"), "{text}");

    let f = Fixture::with_entries(5);
    f.sql("DELETE FROM audit_log WHERE id = 1");
    assert_eq!(f.breach().0, 1);
}

#[test]
fn reordered_entries_fail_at_the_first_moved_one() {
    let f = Fixture::with_entries(10);
    f.swap(6, 7);
    let (entry, kind, text) = f.breach();
    assert_eq!((entry, kind), (6, BreachKind::Relinked), "{text}");

    // Renumbering rows instead of moving their content.
    let f = Fixture::with_entries(10);
    f.sql(
        "UPDATE audit_log SET id = 100 WHERE id = 3;
           UPDATE audit_log SET id = 3 WHERE id = 4;
           UPDATE audit_log SET id = 4 WHERE id = 100;",
    );
    assert_eq!(f.breach().0, 3);
}

#[test]
fn a_truncated_tail_is_caught_by_the_checkpoint() {
    let f = Fixture::with_entries(10);
    f.sql("DELETE FROM audit_log WHERE id > 7");
    let (entry, kind, text) = f.breach();
    assert_eq!((entry, kind), (8, BreachKind::Truncated), "{text}");
    assert!(
        text.contains("entries 8..=10 were deleted from the end"),
        "{text}"
    );

    // Everything deleted.
    let f = Fixture::with_entries(3);
    f.sql("DELETE FROM audit_log");
    assert_eq!(f.breach().0, 1);
}

#[test]
fn appending_after_a_truncation_does_not_hide_it() {
    let f = Fixture::with_entries(10);
    f.sql("DELETE FROM audit_log WHERE id > 7");
    f.log
        .append("tool_executed", None, json!({"after": true}))
        .unwrap();
    assert_eq!(f.breach().0, 8, "the ids jump from 7 to 11");

    // A forger who also resets the id sequence gets a gapless chain, but the checkpoint
    // remembers.
    let f = Fixture::with_entries(10);
    f.sql("DELETE FROM audit_log WHERE id > 7; UPDATE sqlite_sequence SET seq = 7 WHERE name = 'audit_log';");
    f.log
        .append("tool_executed", None, json!({"after": true}))
        .unwrap();
    f.log
        .append("tool_executed", None, json!({"after": 2}))
        .unwrap();
    let (_, kind, text) = f.breach();
    assert_eq!(kind, BreachKind::Anomaly, "{text}");
    assert!(text.contains("deleted from the end"), "{text}");
}

#[test]
fn rewriting_the_last_entry_is_caught_by_the_checkpoint() {
    let f = Fixture::with_entries(4);
    let conn = f.raw();
    let prev: String = conn
        .query_row("SELECT prev_hash FROM audit_log WHERE id = 4", [], |r| {
            r.get(0)
        })
        .unwrap();
    let (ts, payload) = ("2020-01-01T00:00:00.000Z", json!({"forged": true}));
    let canonical =
        cuervo_store::audit::entry_canonical(4, ts, "bash_executed", Some("session-1"), &payload);
    let hash = cuervo_store::audit::chain_hash(&prev, &canonical);
    conn.execute(
        "UPDATE audit_log SET ts = ?1, payload = ?2, hash = ?3, kind = 'bash_executed' WHERE id = 4",
        rusqlite::params![ts, payload.to_string(), hash],
    )
    .unwrap();
    let (entry, kind, _) = f.breach();
    assert_eq!((entry, kind), (4, BreachKind::Rewritten));
}

#[test]
fn a_deleted_checkpoint_is_reported() {
    let f = Fixture::with_entries(3);
    std::fs::remove_file(f.log.checkpoint_path().unwrap()).unwrap();
    assert_eq!(f.breach().1, BreachKind::CheckpointMissing);
}

#[derive(Debug, Clone)]
enum Mutation {
    Edit(i64),
    Delete(i64),
    Swap(i64),
    Truncate(i64),
}

fn payload() -> impl Strategy<Value = serde_json::Value> {
    (any::<u32>(), "[a-zA-Z0-9 ./_-]{0,24}", any::<bool>())
        .prop_map(|(n, s, b)| json!({"n": n, "text": s, "ok": b, "nested": {"z": [n, s]}}))
}

fn chain_and_mutation() -> impl Strategy<Value = (Vec<serde_json::Value>, Mutation)> {
    prop::collection::vec(payload(), 2..24).prop_flat_map(|payloads| {
        let n = payloads.len() as i64;
        let mutation = prop_oneof![
            (1..=n).prop_map(Mutation::Edit),
            (1..=n).prop_map(Mutation::Delete),
            (1..n).prop_map(Mutation::Swap),
            (1..=n).prop_map(Mutation::Truncate),
        ];
        (Just(payloads), mutation)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_single_mutation_fails_at_the_mutated_entry((payloads, mutation) in chain_and_mutation()) {
        let f = Fixture::with_payloads(payloads);
        prop_assert!(f.log.verify().unwrap().is_intact());
        let expected = match mutation {
            Mutation::Edit(k) => {
                f.sql(&format!(r#"UPDATE audit_log SET payload = '{{"tampered":true}}' WHERE id = {k}"#));
                k
            }
            Mutation::Delete(k) => {
                f.sql(&format!("DELETE FROM audit_log WHERE id = {k}"));
                k
            }
            Mutation::Swap(k) => {
                f.swap(k, k + 1);
                k
            }
            Mutation::Truncate(k) => {
                f.sql(&format!("DELETE FROM audit_log WHERE id >= {k}"));
                k
            }
        };
        let v = f.log.verify().unwrap();
        let breach = v.breach.clone();
        prop_assert!(breach.is_some(), "{:?} went unnoticed", mutation);
        prop_assert_eq!(breach.map(|b| b.entry), Some(expected), "{:?}", mutation);
    }

    #[test]
    fn any_untouched_chain_verifies(payloads in prop::collection::vec(payload(), 0..24)) {
        let n = payloads.len() as u64;
        let f = Fixture::with_payloads(payloads);
        let v = f.log.verify().unwrap();
        prop_assert!(v.is_intact(), "{:?}", v.breach);
        prop_assert_eq!(v.entries, n);
    }
}
