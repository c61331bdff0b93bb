//! SQLite: the index's metadata, chunk rows (with their vectors: the source of truth the
//! vector index is rebuilt from), the FTS5 full-text index and the vector change log.
//!
//! Every indexing batch is one transaction, so a run stopped at any point leaves the
//! files it finished indexed and the rest as they were. The change log (`vec_log`) lets a
//! process holding a vector index in memory, or one loading an older vector file, replay
//! exactly what changed since; its generation is the log's sequence number.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::tokenize;
use crate::vector::{ChunkId, VectorRow};

/// Bumped whenever the tables change shape: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    checked_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_path TEXT NOT NULL,
    chunk_type TEXT NOT NULL,
    chunk_name TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    content_text TEXT NOT NULL,
    language TEXT,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks(file_path);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    name, path, body,
    content='', contentless_delete=1,
    tokenize=\"unicode61 remove_diacritics 2 tokenchars '_'\"
);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_terms USING fts5vocab(fts, 'row');
CREATE TABLE IF NOT EXISTS vec_log(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id INTEGER NOT NULL,
    added INTEGER NOT NULL
);
";

/// A file as last indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    pub hash: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// When the hash was taken: a file whose mtime is this close to it is re-hashed.
    pub checked_ns: i64,
}

/// A chunk row of the seed's schema (`vector` kept apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRow {
    pub id: ChunkId,
    pub file_path: String,
    pub chunk_type: String,
    pub chunk_name: String,
    pub start_line: usize,
    pub end_line: usize,
    pub content_hash: String,
    pub content_text: String,
    pub language: Option<String>,
}

/// A chunk to insert.
#[derive(Debug, Clone)]
pub struct NewChunk {
    pub row: ChunkRow,
    pub vector: Vec<f32>,
}

/// One file re-indexed in a batch.
#[derive(Debug)]
pub struct FileUpdate {
    pub path: String,
    pub file: FileRow,
    pub chunks: Vec<NewChunk>,
}

/// What a committed batch changed, for the vector index.
#[derive(Debug, Default)]
pub struct BatchChange {
    pub removed: Vec<ChunkId>,
    pub added: Vec<VectorRow>,
    pub generation: u64,
}

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if need be) the database and its tables.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn files(&self) -> Result<HashMap<String, FileRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, hash, size, mtime_ns, checked_ns FROM files")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                FileRow {
                    hash: r.get(1)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                    mtime_ns: r.get(3)?,
                    checked_ns: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a file whose content is unchanged (only its stat moved).
    pub fn touch_file(&self, path: &str, file: &FileRow) -> Result<()> {
        self.conn.execute(
            "UPDATE files SET size = ?2, mtime_ns = ?3, checked_ns = ?4 WHERE path = ?1",
            params![path, file.size as i64, file.mtime_ns, file.checked_ns],
        )?;
        Ok(())
    }

    pub fn file_hash(&self, path: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT hash FROM files WHERE path = ?1", [path], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// A file's chunks: content hash and name, with the vector, so unchanged chunks of a
    /// changed file keep their embedding.
    pub fn vectors_of_file(&self, path: &str) -> Result<HashMap<(String, String), Vec<f32>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT content_hash, chunk_name, vector FROM chunks WHERE file_path = ?1",
        )?;
        let rows = stmt.query_map([path], |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                blob_to_vec(&r.get::<_, Vec<u8>>(2)?),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces the chunks of `updates` and removes `deleted` files, in one transaction,
    /// logging every vector removed and added.
    pub fn write_batch(
        &mut self,
        updates: &[FileUpdate],
        deleted: &[String],
    ) -> Result<BatchChange> {
        let tx = self.conn.transaction()?;
        let mut change = BatchChange::default();
        {
            let mut ids_of = tx.prepare_cached("SELECT id FROM chunks WHERE file_path = ?1")?;
            let mut del_fts = tx.prepare_cached("DELETE FROM fts WHERE rowid = ?1")?;
            let mut del_chunks = tx.prepare_cached("DELETE FROM chunks WHERE file_path = ?1")?;
            let mut del_file = tx.prepare_cached("DELETE FROM files WHERE path = ?1")?;
            let mut log =
                tx.prepare_cached("INSERT INTO vec_log(chunk_id, added) VALUES (?1, ?2)")?;
            let mut ins_chunk = tx.prepare_cached(
                "INSERT INTO chunks(file_path, chunk_type, chunk_name, start_line, end_line,
                 content_hash, content_text, language, vector)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut ins_fts = tx.prepare_cached(
                "INSERT INTO fts(rowid, name, path, body) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut ins_file = tx.prepare_cached(
                "INSERT INTO files(path, hash, size, mtime_ns, checked_ns) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(path) DO UPDATE SET hash = excluded.hash, size = excluded.size,
                 mtime_ns = excluded.mtime_ns, checked_ns = excluded.checked_ns",
            )?;
            let paths = updates.iter().map(|u| &u.path).chain(deleted);
            for path in paths {
                let ids: Vec<ChunkId> = ids_of
                    .query_map([path], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for &id in &ids {
                    del_fts.execute([id])?;
                    log.execute(params![id, 0])?;
                }
                del_chunks.execute([path])?;
                change.removed.extend(ids);
            }
            for path in deleted {
                del_file.execute([path])?;
            }
            for update in updates {
                for chunk in &update.chunks {
                    let r = &chunk.row;
                    ins_chunk.execute(params![
                        update.path,
                        r.chunk_type,
                        r.chunk_name,
                        r.start_line as i64,
                        r.end_line as i64,
                        r.content_hash,
                        r.content_text,
                        r.language,
                        vec_to_blob(&chunk.vector),
                    ])?;
                    let id = tx.last_insert_rowid();
                    ins_fts.execute(params![
                        id,
                        tokenize::fts_text(&r.chunk_name),
                        tokenize::fts_text(&update.path),
                        tokenize::fts_text(&r.content_text),
                    ])?;
                    log.execute(params![id, 1])?;
                    change.added.push(VectorRow {
                        id,
                        file: update.path.clone(),
                        vector: chunk.vector.clone(),
                    });
                }
                let f = &update.file;
                ins_file.execute(params![
                    update.path,
                    f.hash,
                    f.size as i64,
                    f.mtime_ns,
                    f.checked_ns
                ])?;
            }
        }
        change.generation = generation_of(&tx)?;
        tx.commit()?;
        Ok(change)
    }

    /// The change log's latest sequence number (0 for a new index).
    pub fn generation(&self) -> Result<u64> {
        generation_of(&self.conn)
    }

    /// The log after `generation`: `(chunk id, added)` in order.
    pub fn log_since(&self, generation: u64) -> Result<Vec<(ChunkId, bool)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT chunk_id, added FROM vec_log WHERE seq > ?1 ORDER BY seq")?;
        let rows = stmt.query_map([generation as i64], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? != 0))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Drops the log up to `generation` (the vector file now holds it).
    pub fn truncate_log(&self, generation: u64) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM vec_log WHERE seq <= ?1", [generation as i64])?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('log_floor', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [generation.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Log entries not yet truncated.
    pub fn log_len(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM vec_log", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Vectors of the given chunks that still exist.
    pub fn vectors(&self, ids: &[ChunkId]) -> Result<Vec<VectorRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT file_path, vector FROM chunks WHERE id = ?1")?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some((file, blob)) = stmt
                .query_row([id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .optional()?
            {
                out.push(VectorRow {
                    id,
                    file,
                    vector: blob_to_vec(&blob),
                });
            }
        }
        Ok(out)
    }

    /// Every vector, for rebuilding the vector index.
    pub fn all_vectors(&self) -> Result<Vec<VectorRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, file_path, vector FROM chunks")?;
        let rows = stmt.query_map([], |r| {
            Ok(VectorRow {
                id: r.get(0)?,
                file: r.get(1)?,
                vector: blob_to_vec(&r.get::<_, Vec<u8>>(2)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The chunk rows with these ids that still exist, in no particular order.
    pub fn chunks(&self, ids: &[ChunkId]) -> Result<Vec<ChunkRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, file_path, chunk_type, chunk_name, start_line, end_line, content_hash,
             content_text, language FROM chunks WHERE id = ?1",
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(row) = stmt.query_row([id], read_chunk).optional()? {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Every chunk row (tests compare whole indexes with it).
    pub fn all_chunks(&self) -> Result<Vec<ChunkRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, file_path, chunk_type, chunk_name, start_line, end_line, content_hash,
             content_text, language FROM chunks ORDER BY file_path, start_line, end_line, id",
        )?;
        let rows = stmt.query_map([], read_chunk)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Full-text search: BM25 over names (weight 4), paths (2) and content (1); best first,
    /// with FTS5's score negated so higher is better.
    pub fn fts_search(&self, expr: &str, limit: usize) -> Result<Vec<(ChunkId, f64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rowid, bm25(fts, 4.0, 2.0, 1.0) AS s FROM fts WHERE fts MATCH ?1
             ORDER BY s LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![expr, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, -r.get::<_, f64>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many chunks hold each term (FTS5's vocabulary), 0 for unknown terms.
    pub fn term_chunk_counts(&self, terms: &[String]) -> Result<Vec<u64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc FROM fts_terms WHERE term = ?1")?;
        let mut out = Vec::with_capacity(terms.len());
        for term in terms {
            let n: Option<i64> = stmt.query_row([term], |r| r.get(0)).optional()?;
            out.push(n.unwrap_or(0).max(0) as u64);
        }
        Ok(out)
    }

    /// Counts of files and chunks.
    pub fn counts(&self) -> Result<(u64, u64)> {
        let files: i64 = self
            .conn
            .query_row("SELECT count(*) FROM files", [], |r| r.get(0))?;
        let chunks: i64 = self
            .conn
            .query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))?;
        Ok((files.max(0) as u64, chunks.max(0) as u64))
    }
}

fn read_chunk(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChunkRow> {
    Ok(ChunkRow {
        id: r.get(0)?,
        file_path: r.get(1)?,
        chunk_type: r.get(2)?,
        chunk_name: r.get(3)?,
        start_line: r.get::<_, i64>(4)?.max(0) as usize,
        end_line: r.get::<_, i64>(5)?.max(0) as usize,
        content_hash: r.get(6)?,
        content_text: r.get(7)?,
        language: r.get(8)?,
    })
}

fn generation_of(conn: &Connection) -> Result<u64> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'vec_log'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seq.unwrap_or(0).max(0) as u64)
}

fn vec_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn blob_to_vec(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
