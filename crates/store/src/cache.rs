//! The L2 caches: on disk, shared by every `cuervo` process of the user, surviving restarts.
//!
//! - [`FileCache`]: a file's content hash at a given size and mtime, so the index and the
//!   repository map do not read an unchanged file again, and parse results per content
//!   hash and kind, so they do not parse it again either.
//! - [`SemanticCache`]: answers to earlier single-shot prompts, found again by the cosine
//!   similarity of the prompt's embedding, within one [`CacheScope`] only (model, tools and
//!   system prompt), for 24 hours, in at most 1 GB with the least recently used rows
//!   evicted first. It implements the domain's [`ResponseCache`] port.
//!
//! Times are integer milliseconds since the Unix epoch from an injectable clock
//! ([`SemanticCache::with_clock`], [`FileCache::with_clock`]), so expiry and eviction are
//! tested without waiting a day.
//!
//! A lookup scans the embeddings of one scope and dimension (an index narrows it to
//! those rows): fine for the thousands of single-shot answers one user collects; a
//! vector index would be the next step if a scope ever held millions.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cuervo_domain::cache::cosine;
use cuervo_domain::{BoxFuture, CacheError, CacheScope, CachedResponse, ResponseCache};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::audit::hex;
use crate::{Db, Error, Result};

/// How long a cached answer is served: 24 hours.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The most bytes the semantic cache keeps: 1 GB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// What a row costs besides its response and embedding (scope and prompt hashes, model,
/// numbers, index entries), so the byte bound stays honest for short answers.
const ROW_OVERHEAD: u64 = 256;
/// A file row's `last_used_at` is refreshed by a lookup at most this often, so scanning a
/// large unchanged tree is reads, not one write per file.
const TOUCH_EVERY_MS: i64 = 60 * 60 * 1000;

/// Milliseconds since the Unix epoch, injectable for tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock in milliseconds since the Unix epoch.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// The hash the caches key content by: hex SHA-256. The index and the repository map use
/// this one function so their hashes agree.
pub fn content_hash(content: &[u8]) -> String {
    hex(&Sha256::digest(content))
}

/// The key of a scope: hex SHA-256 of its length-prefixed parts, so no two different
/// scopes can be spelled the same by moving text from one part to the next.
pub fn scope_key(scope: &CacheScope) -> String {
    let mut hasher = Sha256::new();
    for part in [
        &scope.provider,
        &scope.model,
        &scope.tools_json,
        &scope.system_prompt,
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

/// What the L2 caches hold, for `cuervo cache stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers in the semantic cache, expired ones included until they are evicted.
    pub semantic_entries: u64,
    /// Their size as counted against the byte bound.
    pub semantic_bytes: u64,
    /// How many times a cached answer was served, over the rows still kept.
    pub semantic_hits: u64,
    /// Of the entries, how many have expired (evicted on the next write).
    pub semantic_expired: u64,
    /// Files whose content hash is known.
    pub file_entries: u64,
    /// Parse results kept for them.
    pub parse_entries: u64,
    /// The parse results' size in bytes.
    pub parse_bytes: u64,
}

/// What [`clear`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleared {
    pub semantic_entries: u64,
    pub file_entries: u64,
}

/// The numbers of both L2 caches, read in one snapshot.
pub fn stats(db: &Db, now_ms: i64) -> Result<CacheStats> {
    db.read_tx(|tx| {
        let (semantic_entries, semantic_bytes, semantic_hits, semantic_expired): (
            i64,
            i64,
            i64,
            i64,
        ) = tx.query_row(
            "SELECT count(*), coalesce(sum(size_bytes), 0), coalesce(sum(hits), 0),
                    coalesce(sum(expires_at <= ?1), 0)
             FROM semantic_cache",
            params![now_ms],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let file_entries: i64 =
            tx.query_row("SELECT count(*) FROM file_cache", [], |r| r.get(0))?;
        let (parse_entries, parse_bytes): (i64, i64) = tx.query_row(
            "SELECT count(*), coalesce(sum(length(result)), 0) FROM file_parse",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(CacheStats {
            semantic_entries: n(semantic_entries),
            semantic_bytes: n(semantic_bytes),
            semantic_hits: n(semantic_hits),
            semantic_expired: n(semantic_expired),
            file_entries: n(file_entries),
            parse_entries: n(parse_entries),
            parse_bytes: n(parse_bytes),
        })
    })
}

/// Empties both L2 caches (`cuervo cache clear`). Sessions and the audit log are not
/// touched.
pub fn clear(db: &Db) -> Result<Cleared> {
    db.write(|tx| {
        let semantic_entries = tx.execute("DELETE FROM semantic_cache", [])?;
        tx.execute("DELETE FROM file_parse", [])?;
        let file_entries = tx.execute("DELETE FROM file_cache", [])?;
        Ok(Cleared {
            semantic_entries: semantic_entries as u64,
            file_entries: file_entries as u64,
        })
    })
}

/// How the semantic cache keeps answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemanticCacheConfig {
    /// How long an answer is served after it was stored.
    pub ttl: Duration,
    /// The most bytes kept; the least recently used rows go first past it.
    pub max_bytes: u64,
}

impl Default for SemanticCacheConfig {
    fn default() -> Self {
        SemanticCacheConfig {
            ttl: DEFAULT_TTL,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Answers found again by the meaning of the prompt. See the module docs.
#[derive(Clone)]
pub struct SemanticCache {
    db: Arc<Db>,
    config: SemanticCacheConfig,
    clock: Clock,
}

impl std::fmt::Debug for SemanticCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemanticCache")
            .field("db", &self.db)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SemanticCache {
    /// The cache in `db`, with the default TTL (24 h) and bound (1 GB).
    pub fn new(db: Arc<Db>) -> SemanticCache {
        SemanticCache {
            db,
            config: SemanticCacheConfig::default(),
            clock: system_clock(),
        }
    }

    /// This cache with another TTL or bound.
    pub fn with_config(mut self, config: SemanticCacheConfig) -> SemanticCache {
        self.config = config;
        self
    }

    /// This cache reading time from `clock` (tests: a clock they move).
    pub fn with_clock(mut self, clock: Clock) -> SemanticCache {
        self.clock = clock;
        self
    }

    /// The TTL and bound in use.
    pub fn config(&self) -> SemanticCacheConfig {
        self.config
    }

    /// Keeps `response` as the answer to `prompt` in `scope` (replacing an earlier answer
    /// to the same prompt there), then evicts down to the configured bound.
    pub fn put(
        &self,
        scope: &CacheScope,
        prompt: &str,
        embedding: &[f32],
        response: &str,
    ) -> Result<()> {
        let now = (self.clock)();
        let ttl_ms = i64::try_from(self.config.ttl.as_millis()).unwrap_or(i64::MAX);
        let key = scope_key(scope);
        let prompt_hash = content_hash(prompt.as_bytes());
        let blob = embedding_bytes(embedding);
        let size = ROW_OVERHEAD + blob.len() as u64 + response.len() as u64;
        let bound = self.config.max_bytes;
        self.db.write(|tx| {
            tx.execute(
                "DELETE FROM semantic_cache WHERE scope = ?1 AND prompt_hash = ?2",
                params![key, prompt_hash],
            )?;
            tx.execute(
                "INSERT INTO semantic_cache (scope, prompt_hash, prompt_embedding, dims, response,
                   model_id, hits, size_bytes, created_at, expires_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?8)",
                params![
                    key,
                    prompt_hash,
                    blob,
                    embedding.len() as i64,
                    response,
                    scope.model,
                    i64::try_from(size).unwrap_or(i64::MAX),
                    now,
                    now.saturating_add(ttl_ms),
                ],
            )?;
            evict(tx, bound, now)?;
            Ok(())
        })
    }

    /// The best answer of `scope` whose prompt is more similar than `threshold` (cosine of
    /// the embeddings) and has not expired. A hit counts and refreshes the row's place in
    /// the eviction order.
    pub fn lookup(
        &self,
        scope: &CacheScope,
        embedding: &[f32],
        threshold: f32,
    ) -> Result<Option<CachedResponse>> {
        let now = (self.clock)();
        let key = scope_key(scope);
        let best = self.db.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, prompt_embedding, created_at FROM semantic_cache
                 WHERE scope = ?1 AND dims = ?2 AND expires_at > ?3",
            )?;
            let mut rows = stmt.query(params![key, embedding.len() as i64, now])?;
            let mut best: Option<(i64, f32, i64)> = None;
            while let Some(row) = rows.next()? {
                let blob: Vec<u8> = row.get(1)?;
                let similarity = cosine(embedding, &bytes_embedding(&blob)?);
                if similarity > threshold && best.is_none_or(|(_, s, _)| similarity > s) {
                    best = Some((row.get(0)?, similarity, row.get(2)?));
                }
            }
            Ok(best)
        })?;
        let Some((id, similarity, created_at_ms)) = best else {
            return Ok(None);
        };
        // The row may have been evicted between the read and this write: then it is a miss.
        let response: Option<String> = self.db.write(|tx| {
            Ok(tx
                .query_row(
                    "UPDATE semantic_cache SET hits = hits + 1, last_used_at = ?2
                     WHERE id = ?1 RETURNING response",
                    params![id, now],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        Ok(response.map(|response| CachedResponse {
            response,
            similarity,
            created_at_ms,
        }))
    }

    /// Deletes expired rows, then the least recently used ones until at most
    /// `bound_bytes` are kept; returns how many rows went.
    pub fn evict_to(&self, bound_bytes: u64) -> Result<u64> {
        let now = (self.clock)();
        self.db.write(|tx| evict(tx, bound_bytes, now))
    }

    /// Empties the semantic cache; returns how many answers went.
    pub fn clear(&self) -> Result<u64> {
        self.db
            .write(|tx| Ok(tx.execute("DELETE FROM semantic_cache", [])? as u64))
    }

    /// The numbers of both L2 caches (see [`stats`]).
    pub fn stats(&self) -> Result<CacheStats> {
        stats(&self.db, (self.clock)())
    }

    fn blocking<'a, T: Send + 'static>(
        &'a self,
        call: impl FnOnce(&SemanticCache) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'a, Result<T, CacheError>> {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || call(&this))
                .await
                .map_err(|e| CacheError(format!("the storage thread failed: {e}")))?
                .map_err(|e| CacheError(e.to_string()))
        })
    }
}

impl ResponseCache for SemanticCache {
    fn lookup<'a>(
        &'a self,
        scope: &'a CacheScope,
        embedding: &'a [f32],
        threshold: f32,
    ) -> BoxFuture<'a, Result<Option<CachedResponse>, CacheError>> {
        let (scope, embedding) = (scope.clone(), embedding.to_vec());
        self.blocking(move |this| this.lookup(&scope, &embedding, threshold))
    }

    fn put<'a>(
        &'a self,
        scope: &'a CacheScope,
        prompt: &'a str,
        embedding: &'a [f32],
        response: &'a str,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        let (scope, prompt, embedding, response) = (
            scope.clone(),
            prompt.to_owned(),
            embedding.to_vec(),
            response.to_owned(),
        );
        self.blocking(move |this| this.put(&scope, &prompt, &embedding, &response))
    }
}

/// Expired rows first, then the least recently used beyond `bound` bytes: the rows kept
/// are the most recently used ones whose sizes add up to at most `bound`.
fn evict(tx: &rusqlite::Transaction<'_>, bound: u64, now: i64) -> Result<u64> {
    let expired = tx.execute(
        "DELETE FROM semantic_cache WHERE expires_at <= ?1",
        params![now],
    )?;
    let over = tx.execute(
        "DELETE FROM semantic_cache WHERE id IN (
           SELECT id FROM (
             SELECT id, sum(size_bytes) OVER (ORDER BY last_used_at DESC, id DESC) AS kept
             FROM semantic_cache
           ) WHERE kept > ?1
         )",
        params![i64::try_from(bound).unwrap_or(i64::MAX)],
    )?;
    Ok((expired + over) as u64)
}

/// An embedding as stored: little-endian `f32`s.
fn embedding_bytes(embedding: &[f32]) -> Vec<u8> {
    embedding.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_embedding(blob: &[u8]) -> Result<Vec<f32>> {
    if !blob.len().is_multiple_of(4) {
        return Err(Error::Corrupt(format!(
            "a cached embedding is {} bytes, not a whole number of floats; run `cuervo cache clear`",
            blob.len()
        )));
    }
    Ok(blob
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Content hashes and parse results of files, keyed by absolute path. See the module docs.
#[derive(Clone)]
pub struct FileCache {
    db: Arc<Db>,
    clock: Clock,
}

impl std::fmt::Debug for FileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCache")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// A file's size and modification time in nanoseconds since the Unix epoch (negative
/// before it): what says "unchanged" without reading the file.
pub fn file_stamp(metadata: &std::fs::Metadata) -> (u64, i64) {
    let mtime_ns = metadata.modified().ok().map_or(0, mtime_ns);
    (metadata.len(), mtime_ns)
}

/// A modification time as the file cache keys it (see [`file_stamp`]), for callers that
/// hold the time rather than the metadata: every user of the cache must convert alike,
/// or one's rows would never match another's lookups.
pub fn mtime_ns(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// A file's stamp for [`FileCache::parses_by_stamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKey<'a> {
    /// Absolute.
    pub path: &'a Path,
    pub size: u64,
    pub mtime_ns: i64,
}

/// One file's content hash and parse result for [`FileCache::record_parses`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseRecord<'a> {
    /// The file as it was stat'ed before it was read.
    pub file: FileKey<'a>,
    pub content_hash: &'a str,
    pub result: &'a [u8],
}

impl FileCache {
    /// The file cache in `db`.
    pub fn new(db: Arc<Db>) -> FileCache {
        FileCache {
            db,
            clock: system_clock(),
        }
    }

    /// This cache reading time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> FileCache {
        self.clock = clock;
        self
    }

    /// The content hash recorded for `path` when it had this size and mtime; `None` when
    /// the file is unknown or changed (read and [`FileCache::record`] it again).
    pub fn lookup(&self, path: &Path, size: u64, mtime_ns: i64) -> Result<Option<String>> {
        let key = path_key(path)?;
        let now = (self.clock)();
        let found: Option<(String, i64)> = self.db.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT content_hash, last_used_at FROM file_cache
                     WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3",
                )?
                .query_row(params![key, size_i64(size), mtime_ns], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?)
        })?;
        let Some((hash, last_used)) = found else {
            return Ok(None);
        };
        if now.saturating_sub(last_used) > TOUCH_EVERY_MS {
            self.db.write(|tx| {
                tx.execute(
                    "UPDATE file_cache SET last_used_at = ?2 WHERE path = ?1",
                    params![key, now],
                )?;
                Ok(())
            })?;
        }
        Ok(Some(hash))
    }

    /// Records that `path` with this size and mtime has content `hash`. A changed hash
    /// drops the parse results made from the old content.
    pub fn record(&self, path: &Path, size: u64, mtime_ns: i64, hash: &str) -> Result<()> {
        let key = path_key(path)?;
        let now = (self.clock)();
        self.db.write(|tx| {
            tx.execute(
                "DELETE FROM file_parse WHERE path = ?1 AND content_hash <> ?2",
                params![key, hash],
            )?;
            tx.execute(
                "INSERT INTO file_cache (path, size, mtime_ns, content_hash, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(path) DO UPDATE SET size = excluded.size,
                   mtime_ns = excluded.mtime_ns, content_hash = excluded.content_hash,
                   last_used_at = excluded.last_used_at",
                params![key, size_i64(size), mtime_ns, hash, now],
            )?;
            Ok(())
        })
    }

    /// The `kind` parse result (`symbols-v1`…) made from `path` with content `hash`;
    /// `None` when there is none for that content.
    pub fn parse(&self, path: &Path, hash: &str, kind: &str) -> Result<Option<Vec<u8>>> {
        let key = path_key(path)?;
        self.db.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT result FROM file_parse
                     WHERE path = ?1 AND kind = ?2 AND content_hash = ?3",
                )?
                .query_row(params![key, kind, hash], |r| r.get(0))
                .optional()?)
        })
    }

    /// Keeps the `kind` parse result of `path` with content `hash`. Returns false (and
    /// keeps nothing) unless that hash is the one recorded for the file: a result of
    /// content the cache does not know could never be found valid again.
    pub fn store_parse(&self, path: &Path, hash: &str, kind: &str, result: &[u8]) -> Result<bool> {
        let key = path_key(path)?;
        let now = (self.clock)();
        self.db.write(|tx| {
            let stored = tx.execute(
                "INSERT INTO file_parse (path, kind, content_hash, result)
                 SELECT path, ?2, ?3, ?4 FROM file_cache WHERE path = ?1 AND content_hash = ?3
                 ON CONFLICT(path, kind) DO UPDATE SET content_hash = excluded.content_hash,
                   result = excluded.result",
                params![key, kind, hash, result],
            )?;
            if stored > 0 {
                tx.execute(
                    "UPDATE file_cache SET last_used_at = ?2 WHERE path = ?1",
                    params![key, now],
                )?;
            }
            Ok(stored > 0)
        })
    }

    /// The `kind` parse results of many files by their size and mtime: [`FileCache::lookup`]
    /// and [`FileCache::parse`] for each, in one read transaction, answered in the order
    /// asked (`None` for a file unknown, changed, or without that kind of result). Hits
    /// not used for an hour are touched in one write afterwards. Made for the repository
    /// map, which asks about every file of a tree at the start of each session.
    pub fn parses_by_stamp(
        &self,
        kind: &str,
        files: &[FileKey<'_>],
    ) -> Result<Vec<Option<Vec<u8>>>> {
        let keys = files
            .iter()
            .map(|f| path_key(f.path))
            .collect::<Result<Vec<_>>>()?;
        let now = (self.clock)();
        let mut stale: Vec<&[u8]> = Vec::new();
        let found = self.db.read_tx(|tx| {
            stale.clear();
            let mut stmt = tx.prepare_cached(
                "SELECT p.result, f.last_used_at FROM file_cache f
                 JOIN file_parse p ON p.path = f.path AND p.content_hash = f.content_hash
                 WHERE f.path = ?1 AND f.size = ?2 AND f.mtime_ns = ?3 AND p.kind = ?4",
            )?;
            let mut found = Vec::with_capacity(files.len());
            for (file, key) in files.iter().zip(&keys) {
                let row: Option<(Vec<u8>, i64)> = stmt
                    .query_row(
                        params![key, size_i64(file.size), file.mtime_ns, kind],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                found.push(row.map(|(result, last_used)| {
                    if now.saturating_sub(last_used) > TOUCH_EVERY_MS {
                        stale.push(key);
                    }
                    result
                }));
            }
            Ok(found)
        })?;
        if !stale.is_empty() {
            self.db.write(|tx| {
                let mut stmt =
                    tx.prepare_cached("UPDATE file_cache SET last_used_at = ?2 WHERE path = ?1")?;
                for key in &stale {
                    stmt.execute(params![key, now])?;
                }
                Ok(())
            })?;
        }
        Ok(found)
    }

    /// [`FileCache::record`] and [`FileCache::store_parse`] for many files in one
    /// transaction: the first build of a large tree keeps thousands of results, and a
    /// transaction each would cost a sync each.
    pub fn record_parses(&self, kind: &str, files: &[ParseRecord<'_>]) -> Result<()> {
        let keys = files
            .iter()
            .map(|f| path_key(f.file.path))
            .collect::<Result<Vec<_>>>()?;
        let now = (self.clock)();
        self.db.write(|tx| {
            let mut drop_old =
                tx.prepare_cached("DELETE FROM file_parse WHERE path = ?1 AND content_hash <> ?2")?;
            let mut record = tx.prepare_cached(
                "INSERT INTO file_cache (path, size, mtime_ns, content_hash, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(path) DO UPDATE SET size = excluded.size,
                   mtime_ns = excluded.mtime_ns, content_hash = excluded.content_hash,
                   last_used_at = excluded.last_used_at",
            )?;
            let mut keep = tx.prepare_cached(
                "INSERT INTO file_parse (path, kind, content_hash, result)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(path, kind) DO UPDATE SET content_hash = excluded.content_hash,
                   result = excluded.result",
            )?;
            for (f, key) in files.iter().zip(&keys) {
                drop_old.execute(params![key, f.content_hash])?;
                record.execute(params![
                    key,
                    size_i64(f.file.size),
                    f.file.mtime_ns,
                    f.content_hash,
                    now
                ])?;
                keep.execute(params![key, kind, f.content_hash, f.result])?;
            }
            Ok(())
        })
    }

    /// Forgets `path` and its parse results (a deleted file).
    pub fn forget(&self, path: &Path) -> Result<bool> {
        let key = path_key(path)?;
        self.db.write(|tx| {
            tx.execute("DELETE FROM file_parse WHERE path = ?1", params![key])?;
            Ok(tx.execute("DELETE FROM file_cache WHERE path = ?1", params![key])? > 0)
        })
    }

    /// Forgets files not used for `unused_for` (projects gone or not opened for months);
    /// returns how many.
    pub fn prune(&self, unused_for: Duration) -> Result<u64> {
        let before = (self.clock)()
            .saturating_sub(i64::try_from(unused_for.as_millis()).unwrap_or(i64::MAX));
        self.db.write(|tx| {
            tx.execute(
                "DELETE FROM file_parse WHERE path IN
                   (SELECT path FROM file_cache WHERE last_used_at < ?1)",
                params![before],
            )?;
            Ok(tx.execute(
                "DELETE FROM file_cache WHERE last_used_at < ?1",
                params![before],
            )? as u64)
        })
    }
}

/// A path as the cache keys it: its OS string's bytes (a path need not be UTF-8). Only
/// absolute paths: a relative one would name different files from different directories.
fn path_key(path: &Path) -> Result<&[u8]> {
    if !path.is_absolute() {
        return Err(Error::RelativeCachePath(path.to_owned()));
    }
    Ok(path.as_os_str().as_encoded_bytes())
}

fn size_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_round_trip_through_bytes() {
        let v = vec![0.5f32, -1.25, 3.0e-7, f32::MAX];
        assert_eq!(bytes_embedding(&embedding_bytes(&v)).unwrap(), v);
        assert!(bytes_embedding(&[1, 2, 3]).is_err());
    }

    #[test]
    fn parse_results_are_recorded_and_found_in_batches() {
        use std::sync::atomic::{AtomicI64, Ordering};
        let db = Arc::new(Db::open_in_memory().unwrap());
        let now = Arc::new(AtomicI64::new(1_000));
        let clock_now = now.clone();
        let cache = FileCache::new(db.clone())
            .with_clock(Arc::new(move || clock_now.load(Ordering::Relaxed)));
        let (a, b) = (Path::new("/p/a.rs"), Path::new("/p/b.rs"));
        let key = |path, size, mtime_ns| FileKey {
            path,
            size,
            mtime_ns,
        };
        let record = |file, content_hash, result| ParseRecord {
            file,
            content_hash,
            result,
        };
        cache
            .record_parses(
                "tags-v1",
                &[
                    record(key(a, 3, 10), "ha", b"A"),
                    record(key(b, 4, 20), "hb", b"B"),
                ],
            )
            .unwrap();
        assert_eq!(cache.lookup(a, 3, 10).unwrap().as_deref(), Some("ha"));
        let found = cache
            .parses_by_stamp(
                "tags-v1",
                &[
                    key(a, 3, 10),
                    key(b, 4, 21),
                    key(Path::new("/p/c.rs"), 1, 1),
                ],
            )
            .unwrap();
        assert_eq!(
            found,
            [Some(b"A".to_vec()), None, None],
            "b's mtime changed"
        );
        let other_kind = cache.parses_by_stamp("tags-v2", &[key(a, 3, 10)]).unwrap();
        assert_eq!(other_kind, [None]);

        // New content replaces the row and drops results made from the old one.
        cache.store_parse(a, "ha", "symbols-v1", b"S").unwrap();
        cache
            .record_parses("tags-v1", &[record(key(a, 5, 11), "ha2", b"A2")])
            .unwrap();
        assert_eq!(cache.parse(a, "ha", "symbols-v1").unwrap(), None);
        let found = cache.parses_by_stamp("tags-v1", &[key(a, 5, 11)]).unwrap();
        assert_eq!(found, [Some(b"A2".to_vec())]);

        // A hit an hour after the last use keeps the row from being pruned.
        now.store(1_000 + TOUCH_EVERY_MS + 1, Ordering::Relaxed);
        cache.parses_by_stamp("tags-v1", &[key(a, 5, 11)]).unwrap();
        assert_eq!(cache.prune(Duration::from_millis(10)).unwrap(), 1, "b only");
        assert!(cache.lookup(a, 5, 11).unwrap().is_some());

        assert!(
            cache
                .parses_by_stamp("tags-v1", &[key(Path::new("rel.rs"), 1, 1)])
                .is_err()
        );
        assert_eq!(mtime_ns(UNIX_EPOCH + Duration::from_nanos(7)), 7);
        assert_eq!(mtime_ns(UNIX_EPOCH - Duration::from_nanos(7)), -7);
    }

    #[test]
    fn scope_parts_cannot_bleed_into_each_other() {
        let a = CacheScope {
            provider: "p".into(),
            model: "ab".into(),
            tools_json: "c".into(),
            system_prompt: String::new(),
        };
        let b = CacheScope {
            model: "a".into(),
            tools_json: "bc".into(),
            ..a.clone()
        };
        assert_ne!(scope_key(&a), scope_key(&b));
        assert_eq!(scope_key(&a), scope_key(&a.clone()));
    }
}
