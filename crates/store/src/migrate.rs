//! Versioned schema migrations, tracked in `PRAGMA user_version`.
//!
//! Migration `n` (1-based) takes a database from version `n - 1` to `n`. They run in
//! order inside the caller's `BEGIN IMMEDIATE` transaction, so two processes upgrading
//! the same file at once do it exactly once, and a crash mid-way leaves the old version
//! intact. Never edit a released migration: add a new one.
//!
//! The tables follow the seed's §3.1 schema, with these changes on purpose:
//! - `messages.cost_micro_usd` is an integer (micro-dollars, `NULL` = unknown price, never
//!   a made-up zero); `cost_usd` is kept as a generated column for queries in dollars.
//!   Token counts are split (`tokens_input`, `tokens_output`, cache reads and writes) next
//!   to the seed's `tokens_used` total. `seq` orders a session's messages.
//! - `audit_log` is `(id, ts, kind, session_id, payload, prev_hash, hash)`: one kind
//!   instead of level/category/event, and the hash chain described in [`crate::audit`].
//!   It has no foreign key, so deleting a session never breaks the chain.
//! - Timestamps are ISO 8601 UTC with milliseconds, so "latest" is well defined; the
//!   cache tables (V3) keep integer milliseconds instead, for TTL and LRU arithmetic.

use rusqlite::{Connection, Transaction};

use crate::error::Result;

/// Version 1: the seed's tables and indexes.
const V1: &str = r#"
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  project_path TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  metadata TEXT CHECK (metadata IS NULL OR json_valid(metadata))
);

CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
  content TEXT NOT NULL CHECK (json_valid(content)),
  model_id TEXT,
  tokens_used INTEGER,
  tokens_input INTEGER,
  tokens_output INTEGER,
  tokens_cache_read INTEGER,
  tokens_cache_write INTEGER,
  cost_micro_usd INTEGER CHECK (cost_micro_usd IS NULL OR cost_micro_usd >= 0),
  cost_usd REAL GENERATED ALWAYS AS (cost_micro_usd / 1000000.0) VIRTUAL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE embeddings (
  id TEXT PRIMARY KEY,
  file_path TEXT NOT NULL,
  chunk_start INTEGER,
  chunk_end INTEGER,
  content_hash TEXT NOT NULL,
  vector BLOB NOT NULL,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts TEXT NOT NULL,
  kind TEXT NOT NULL,
  session_id TEXT,
  payload TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);

CREATE TABLE model_registry (
  id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  name TEXT NOT NULL,
  version TEXT,
  capabilities TEXT CHECK (capabilities IS NULL OR json_valid(capabilities)),
  config TEXT CHECK (config IS NULL OR json_valid(config)),
  is_active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE semantic_cache (
  id TEXT PRIMARY KEY,
  prompt_hash TEXT NOT NULL,
  prompt_embedding BLOB,
  response TEXT NOT NULL,
  model_id TEXT,
  hits INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  expires_at TEXT
);

CREATE UNIQUE INDEX idx_messages_session ON messages(session_id, seq);
CREATE INDEX idx_embeddings_path ON embeddings(file_path);
CREATE INDEX idx_audit_timestamp ON audit_log(ts);
CREATE INDEX idx_audit_kind ON audit_log(kind);
CREATE INDEX idx_cache_hash ON semantic_cache(prompt_hash);
"#;

/// Version 2: a title per session (backfilled from its first user message) and an index
/// for "the latest session of this project".
const V2: &str = r#"
ALTER TABLE sessions ADD COLUMN title TEXT;
UPDATE sessions SET title = (
  SELECT substr(json_extract(m.content, '$[0].text'), 1, 200)
  FROM messages m
  WHERE m.session_id = sessions.id AND m.role = 'user'
  ORDER BY m.seq LIMIT 1
);
CREATE INDEX idx_sessions_project ON sessions(project_path, updated_at);
"#;

/// Version 3: the L2 caches (see [`crate::cache`]).
///
/// - `file_cache`: what a file's content hash was at a given size and mtime, so an
///   unchanged file is not read again; `file_parse` keeps a parse result per file and
///   kind (`symbols-v1`…), valid while the content hash is the one it was made from.
/// - `semantic_cache` is recreated (no build wrote to V1's table): a `scope` hash (model,
///   tools and system prompt: a hit is never served across them), the embedding's
///   dimension, the row's size for the byte bound, and times for TTL and LRU eviction.
///
/// Paths are the OS string's bytes (a path need not be UTF-8). Cache times are integer milliseconds since the Unix epoch, not ISO text: they are
/// only compared and subtracted (TTL, least recently used), never shown raw.
const V3: &str = r#"
CREATE TABLE file_cache (
  path BLOB PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  last_used_at INTEGER NOT NULL
);

CREATE TABLE file_parse (
  path BLOB NOT NULL REFERENCES file_cache(path) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  result BLOB NOT NULL,
  PRIMARY KEY (path, kind)
);

DROP INDEX idx_cache_hash;
DROP TABLE semantic_cache;
CREATE TABLE semantic_cache (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scope TEXT NOT NULL,
  prompt_hash TEXT NOT NULL,
  prompt_embedding BLOB NOT NULL,
  dims INTEGER NOT NULL,
  response TEXT NOT NULL,
  model_id TEXT NOT NULL,
  hits INTEGER NOT NULL DEFAULT 0,
  size_bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL
);
CREATE INDEX idx_cache_scope ON semantic_cache(scope, dims);
CREATE INDEX idx_cache_hash ON semantic_cache(prompt_hash);
CREATE INDEX idx_cache_lru ON semantic_cache(last_used_at);
CREATE INDEX idx_file_cache_lru ON file_cache(last_used_at);
"#;

const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// `PRAGMA user_version`.
pub fn user_version(conn: &Connection) -> Result<u32> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(u32::try_from(v).unwrap_or(0))
}

/// Applies the migrations from the current version up to `target`; returns how many ran.
/// The version is read inside the transaction, so a concurrent upgrade is not repeated.
pub fn migrate(tx: &Transaction<'_>, target: u32) -> Result<u32> {
    let current = user_version(tx)?;
    let mut ran = 0;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if version <= current || version > target {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        ran += 1;
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_applies_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(migrate(&tx, 1).unwrap(), 1);
        assert_eq!(user_version(&tx).unwrap(), 1);
        assert_eq!(migrate(&tx, SCHEMA_VERSION).unwrap(), SCHEMA_VERSION - 1);
        assert_eq!(migrate(&tx, SCHEMA_VERSION).unwrap(), 0, "idempotent");
        tx.commit().unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert_eq!(
            tables,
            [
                "audit_log",
                "embeddings",
                "file_cache",
                "file_parse",
                "messages",
                "model_registry",
                "semantic_cache",
                "sessions"
            ]
        );
    }
}
