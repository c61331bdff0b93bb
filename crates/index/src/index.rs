//! [`Index`]: opening (validating, rebuilding), keeping the vector index in step with
//! SQLite, and searching. Updating lives in `update.rs`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock};

use cuervo_text::scan::Globs;
use cuervo_text::syntax::{ChunkOptions, Language};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::embed::Embedder;
use crate::error::{IndexError, Result};
use crate::search::{
    QueryIntent, SearchHit, SearchMode, SearchQuery, SearchResults, chunk_role, dedupe_overlapping,
    full_text_weight, role_weight, weighted_rrf_fuse,
};
use crate::store::{ChunkRow, SCHEMA_VERSION, Store};
use crate::tokenize;
use crate::vector::{ChunkId, FlatIndex, VectorIndex};

/// Bumped when chunking changes in a way [`ChunkOptions`] does not show (the text
/// crate's chunker rules, the chunk rows' fields, the text that is embedded).
pub const CHUNKER_VERSION: u32 = 1;

/// One retriever's ranked candidates (best first, with its score) and their rows.
type RankedRows = (Vec<(ChunkId, f64)>, Vec<ChunkRow>);

fn ids_of(hits: &[(ChunkId, f64)]) -> Vec<ChunkId> {
    hits.iter().map(|(id, _)| *id).collect()
}

/// How many (chunk, term) matches a full-text query may score: past it the most
/// frequent query terms are dropped (see [`tokenize::prune_terms`]).
const FTS_POSTINGS_BUDGET: u64 = 20_000;

pub(crate) const DB_FILE: &str = "index.db";
pub(crate) const VECTOR_FILE: &str = "vectors.bin";
pub(crate) const LOCK_FILE: &str = "index.lock";
/// The LanceDB backend's directory (removed with the database on a rebuild, whether or
/// not this build has the backend).
pub(crate) const LANCE_DIR: &str = "lance";

/// How an index chunks files and where it keeps vectors.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    pub chunk: ChunkOptions,
    pub backend: VectorBackend,
}

/// Which [`VectorIndex`] implementation keeps the vectors. Both pass the same test
/// suite; the numbers that chose the default are in docs/adr/0002-codebase-index.md.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum VectorBackend {
    /// [`FlatIndex`]: an int8 scan re-scored in `f32` (exact), one file. The default.
    #[default]
    Flat,
    /// LanceDB (IVF-HNSW-SQ past 20,000 vectors); cargo feature `lancedb`.
    #[cfg(feature = "lancedb")]
    LanceDb,
}

impl VectorBackend {
    /// The backends this build has, by the names [`VectorBackend::from_name`] takes.
    pub fn available() -> &'static [&'static str] {
        #[cfg(feature = "lancedb")]
        return &["flat", "lancedb"];
        #[cfg(not(feature = "lancedb"))]
        &["flat"]
    }

    /// The backend called `name` (`flat`, `lancedb`), if this build has it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "flat" => Some(Self::Flat),
            #[cfg(feature = "lancedb")]
            "lancedb" => Some(Self::LanceDb),
            _ => None,
        }
    }

    /// The name [`VectorBackend::from_name`] takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flat => "flat",
            #[cfg(feature = "lancedb")]
            Self::LanceDb => "lancedb",
        }
    }

    /// Loads the backend's files in `dir` (a not-found I/O error when there are none).
    fn load(self, dir: &Path, dim: usize) -> Result<Box<dyn VectorIndex>> {
        Ok(match self {
            Self::Flat => Box::new(FlatIndex::load(&dir.join(VECTOR_FILE), dim)?),
            #[cfg(feature = "lancedb")]
            Self::LanceDb => Box::new(crate::lance::LanceIndex::load(
                &dir.join(crate::lance::LANCE_DIR),
                dim,
            )?),
        })
    }

    /// An empty index in `dir`, replacing the backend's files there.
    fn create(self, dir: &Path, dim: usize) -> Result<Box<dyn VectorIndex>> {
        Ok(match self {
            Self::Flat => Box::new(FlatIndex::new(dir.join(VECTOR_FILE), dim)),
            #[cfg(feature = "lancedb")]
            Self::LanceDb => Box::new(crate::lance::LanceIndex::create(
                &dir.join(crate::lance::LANCE_DIR),
                dim,
            )?),
        })
    }
}

/// What opening found and did about it (for a log line or a notice to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenNotice {
    /// The database was damaged or incompatible and was deleted; it fills again on the
    /// next update.
    Rebuilt { reason: String },
    /// The vector file was missing, behind or damaged; it was rebuilt from SQLite.
    VectorsRebuilt { reason: String },
}

/// A codebase index for one project, one embedding model and one chunker version.
pub struct Index {
    pub(crate) root: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) model_id: String,
    pub(crate) dim: usize,
    pub(crate) chunk_options: ChunkOptions,
    pub(crate) backend: VectorBackend,
    pub(crate) store: Mutex<Store>,
    pub(crate) vectors: RwLock<Box<dyn VectorIndex>>,
    notices: Vec<OpenNotice>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("root", &self.root)
            .field("dir", &self.dir)
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

/// The chunker's identity: [`CHUNKER_VERSION`], the options and the grammars compiled in
/// (a build without a grammar chunks that language by lines).
pub fn chunker_id(options: &ChunkOptions) -> String {
    let langs: String = Language::ALL
        .iter()
        .filter(|l| l.is_available())
        .map(|l| l.name())
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "v{CHUNKER_VERSION};max_bytes={};max_lines={:?};min_bytes={};overlap={};langs={langs}",
        options.max_bytes, options.max_lines, options.min_bytes, options.overlap_lines
    )
}

/// The directory, under `base`, of the index for this model and chunker: a readable
/// prefix of the model id and a hash of both, so switching models never mixes vectors.
pub fn index_dir(base: &Path, model_id: &str, options: &ChunkOptions) -> PathBuf {
    let digest = Sha256::digest(format!("{model_id}\n{}", chunker_id(options)).as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let slug: String = model_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    base.join(format!("{slug}-{hash}"))
}

impl Index {
    /// Opens the index of `root` for `embedder` under `base`, creating it if need be.
    /// A damaged or incompatible database (schema version, model, dimension, chunker,
    /// root) is deleted and recreated empty, and the vector file is rebuilt when it is
    /// missing, behind or damaged; [`Index::notices`] says what happened. Rebuilding takes
    /// the write lock, so it fails with [`IndexError::Locked`] while another process
    /// writes.
    pub fn open(
        root: &Path,
        base: &Path,
        embedder: &dyn Embedder,
        options: IndexOptions,
    ) -> Result<Self> {
        let root = root.canonicalize().map_err(|e| IndexError::io(root, e))?;
        let model_id = embedder.model_id().to_owned();
        let dim = embedder.dimension();
        let dir = index_dir(base, &model_id, &options.chunk);
        std::fs::create_dir_all(&dir).map_err(|e| IndexError::io(&dir, e))?;
        let expected = [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("model_id", model_id.clone()),
            ("dimension", dim.to_string()),
            ("chunker", chunker_id(&options.chunk)),
            ("root", root.to_string_lossy().into_owned()),
        ];
        let mut notices = Vec::new();
        let store = match open_checked(&dir.join(DB_FILE), &expected) {
            Ok(store) => store,
            Err(reason) => {
                tracing::warn!(dir = %dir.display(), %reason, "rebuilding the codebase index");
                let _lock = crate::lock::WriteLock::acquire(&dir.join(LOCK_FILE))?;
                for name in [DB_FILE, "index.db-wal", "index.db-shm", VECTOR_FILE] {
                    let path = dir.join(name);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(IndexError::io(path, e)),
                    }
                }
                // Another backend's files (LanceDB's directory) go with the database.
                let lance = dir.join(LANCE_DIR);
                match std::fs::remove_dir_all(&lance) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(IndexError::io(lance, e)),
                }
                notices.push(OpenNotice::Rebuilt { reason });
                open_checked(&dir.join(DB_FILE), &expected).map_err(|reason| {
                    IndexError::Incompatible {
                        path: dir.clone(),
                        reason,
                    }
                })?
            }
        };
        let index = Self {
            vectors: RwLock::new(Box::new(FlatIndex::new(dir.join(VECTOR_FILE), dim))),
            root,
            dir,
            model_id,
            dim,
            chunk_options: options.chunk,
            backend: options.backend,
            store: Mutex::new(store),
            notices: Vec::new(),
        };
        let vector_notice = index.load_vectors()?;
        let mut index = index;
        notices.extend(vector_notice);
        index.notices = notices;
        Ok(index)
    }

    /// What opening rebuilt, and why.
    pub fn notices(&self) -> &[OpenNotice] {
        &self.notices
    }

    /// The project root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The index's own directory (under the `base` given to [`Index::open`]).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Files and chunks indexed.
    pub fn counts(&self) -> Result<(u64, u64)> {
        self.store()?.counts()
    }

    /// Every chunk row, sorted by file and lines (for status and tests).
    pub fn chunk_rows(&self) -> Result<Vec<ChunkRow>> {
        self.store()?.all_chunks()
    }

    pub(crate) fn store(&self) -> Result<MutexGuard<'_, Store>> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions
        // roll back), so a poisoned mutex is used as it is.
        Ok(self.store.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Loads the vector file, or rebuilds it from SQLite, then replays the log.
    fn load_vectors(&self) -> Result<Option<OpenNotice>> {
        let store = self.store()?;
        let floor: u64 = store
            .meta("log_floor")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let (loaded, notice) = match self.backend.load(&self.dir, self.dim) {
            Ok(v) if v.generation() >= floor => (Some(v), None),
            Ok(_) => (
                None,
                Some("the vector file is older than the log".to_owned()),
            ),
            Err(IndexError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let empty = store.generation()? == 0;
                (
                    None,
                    (!empty).then(|| "the vector file is missing".to_owned()),
                )
            }
            Err(e) => (None, Some(e.to_string())),
        };
        let mut vectors = match loaded {
            Some(v) => v,
            None => {
                let mut v = self.backend.create(&self.dir, self.dim)?;
                v.apply(&[], &store.all_vectors()?)?;
                v.set_generation(store.generation()?);
                v
            }
        };
        replay(&store, vectors.as_mut())?;
        let mut guard = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        *guard = vectors;
        Ok(notice.map(|reason| OpenNotice::VectorsRebuilt { reason }))
    }

    /// Brings the in-memory vector index up to SQLite's generation (another process may
    /// have written since), reloading it when the log it needs was truncated.
    pub(crate) fn catch_up(&self) -> Result<()> {
        let (generation, floor) = {
            let store = self.store()?;
            let floor: u64 = store
                .meta("log_floor")?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            (store.generation()?, floor)
        };
        let current = self
            .vectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .generation();
        if current == generation {
            return Ok(());
        }
        if current < floor {
            self.load_vectors()?;
            return Ok(());
        }
        let store = self.store()?;
        let mut guard = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        replay(&store, guard.as_mut())
    }

    /// Searches the index: see [`SearchQuery`]. The query is embedded with `embedder`,
    /// which must be the one the index was opened with.
    pub fn search(&self, embedder: &dyn Embedder, query: &SearchQuery) -> Result<SearchResults> {
        self.check_embedder(embedder)?;
        let embed = || -> Result<Option<Vec<f32>>> {
            if query.mode == SearchMode::FullText {
                return Ok(None);
            }
            let mut v = embedder
                .embed(std::slice::from_ref(&query.text))
                .map_err(|source| IndexError::Embed {
                    model: self.model_id.clone(),
                    source,
                })?;
            match v.pop() {
                Some(v) if v.len() == self.dim => Ok(Some(v)),
                _ => Err(IndexError::BadEmbedding {
                    model: self.model_id.clone(),
                    problem: format!("did not return one {}-dimensional query vector", self.dim),
                }),
            }
        };
        self.search_embedding_with(query, embed)
    }

    /// [`Index::search`] with the query's vector already computed (`None` for full text
    /// only).
    pub fn search_with_vector(
        &self,
        query: &SearchQuery,
        vector: Option<&[f32]>,
    ) -> Result<SearchResults> {
        self.search_embedding_with(query, || Ok(vector.map(<[f32]>::to_vec)))
    }

    /// The search, with `vector` producing the query's vector. It is called on one of
    /// rayon's threads while the full-text search runs on the other, so embedding the
    /// query (milliseconds with a local model) overlaps the BM25 query instead of
    /// preceding it.
    fn search_embedding_with(
        &self,
        query: &SearchQuery,
        vector: impl FnOnce() -> Result<Option<Vec<f32>>> + Send,
    ) -> Result<SearchResults> {
        self.catch_up()?;
        let globs = Globs::new(&query.paths).map_err(|e| IndexError::Filter(e.to_string()))?;
        let filtered = !query.paths.is_empty() || !query.languages.is_empty();
        let k = query.k.max(1);
        // Candidates per retriever: deep enough that a chunk ranked modestly by both
        // retrievers still meets itself in the fusion.
        let pool = if filtered {
            (k * 50).max(1000)
        } else {
            (k * 10).max(100)
        };
        // The two retrievers run side by side: embedding and scan on one of rayon's
        // threads, BM25 in SQLite on the other.
        let (vector_hits, text_hits) = rayon::join(
            || -> Result<Option<RankedRows>> {
                if query.mode == SearchMode::FullText {
                    return Ok(None);
                }
                let Some(v) = vector()? else {
                    return Ok(None);
                };
                let hits: Vec<(ChunkId, f64)> = {
                    let guard = self.vectors.read().unwrap_or_else(|p| p.into_inner());
                    guard
                        .search(&v, pool)?
                        .into_iter()
                        .map(|h| (h.id, f64::from(h.score)))
                        .collect()
                };
                let rows = self.store()?.chunks(&ids_of(&hits))?;
                Ok(Some((hits, rows)))
            },
            // Each retriever also fetches its candidates' rows: the full-text side usually
            // finishes first (the other embeds the query), so its share of the fetching
            // is off the search's critical path.
            || -> Result<Option<RankedRows>> {
                if query.mode == SearchMode::Vector {
                    return Ok(None);
                }
                let store = self.store()?;
                let terms = tokenize::query_terms(&query.text);
                let counts = store.term_chunk_counts(&terms)?;
                let terms = tokenize::prune_terms(terms, &counts, FTS_POSTINGS_BUDGET);
                match tokenize::match_expression(&terms) {
                    Some(expr) => {
                        let hits = store.fts_search(&expr, pool)?;
                        let rows = store.chunks(&ids_of(&hits))?;
                        Ok(Some((hits, rows)))
                    }
                    None => Ok(None),
                }
            },
        );
        let mut lists: Vec<Vec<ChunkId>> = Vec::new();
        let mut single_scores: HashMap<ChunkId, f64> = HashMap::new();
        let mut rows: HashMap<ChunkId, ChunkRow> = HashMap::new();
        for (hits, fetched) in [vector_hits?, text_hits?].into_iter().flatten() {
            if query.mode != SearchMode::Hybrid {
                single_scores.extend(hits.iter().copied());
            }
            lists.push(hits.into_iter().map(|(id, _)| id).collect());
            rows.extend(fetched.into_iter().map(|r| (r.id, r)));
        }
        let keep = |r: &ChunkRow| {
            globs.is_match(&r.file_path)
                && (query.languages.is_empty()
                    || query
                        .languages
                        .iter()
                        .any(|l| l == r.language.as_deref().unwrap_or("text")))
        };
        for list in &mut lists {
            list.retain(|id| rows.get(id).is_some_and(keep));
        }
        // Plain-language questions lean on meaning, questions naming code on words: the
        // full-text list (the last one) is weighted by what the query looks like.
        let text_weight = full_text_weight(&query.text);
        let weighted: Vec<(&[ChunkId], f64)> = lists
            .iter()
            .enumerate()
            .map(|(i, list)| {
                let is_text = i + 1 == lists.len() && query.mode != SearchMode::Vector;
                (
                    list.as_slice(),
                    if is_text && lists.len() > 1 {
                        text_weight
                    } else {
                        1.0
                    },
                )
            })
            .collect();
        let mut fused = weighted_rrf_fuse(&weighted, query.rrf_k);
        if query.mode == SearchMode::Hybrid {
            // Code first: tests, docs and examples the query does not ask about count a
            // little less (a stable sort, so ties keep RRF's order).
            let intent = QueryIntent::of(&query.text);
            for (id, score) in &mut fused {
                if let Some(r) = rows.get(id) {
                    let role =
                        chunk_role(&r.file_path, &r.chunk_type, &r.chunk_name, &r.content_text);
                    *score *= role_weight(role, intent);
                }
            }
            fused.sort_by(|a, b| b.1.total_cmp(&a.1));
        }
        let store = self.store()?;
        // The files of the best candidates are checked against the disk side by side;
        // any file reached past them is checked on the way.
        let likely: Vec<&str> = {
            let mut seen = HashSet::new();
            fused
                .iter()
                .take(k * 2)
                .filter_map(|(id, _)| rows.get(id))
                .map(|r| r.file_path.as_str())
                .filter(|path| seen.insert(*path))
                .collect()
        };
        let mut fresh: HashMap<String, bool> = self.freshness(&store, &likely)?;
        let mut stale: Vec<String> = fresh
            .iter()
            .filter(|(_, ok)| !**ok)
            .map(|(path, _)| path.clone())
            .collect();
        let mut hits: Vec<SearchHit> = Vec::new();
        for (id, rrf) in fused {
            let Some(row) = rows.get(&id) else { continue };
            let ok = match fresh.get(&row.file_path) {
                Some(&ok) => ok,
                None => {
                    let ok = self.is_fresh(&store, &row.file_path)?;
                    if !ok {
                        stale.push(row.file_path.clone());
                    }
                    fresh.insert(row.file_path.clone(), ok);
                    ok
                }
            };
            if !ok {
                continue;
            }
            let hit = SearchHit {
                path: row.file_path.clone(),
                start_line: row.start_line,
                end_line: row.end_line,
                chunk_type: row.chunk_type.clone(),
                chunk_name: row.chunk_name.clone(),
                score: single_scores.get(&id).copied().unwrap_or(rrf),
                snippet: crate::search::snippet(&row.content_text),
                language: row.language.clone(),
            };
            hits.push(hit);
            hits = dedupe_overlapping(hits);
            if hits.len() >= k {
                break;
            }
        }
        stale.sort();
        Ok(SearchResults {
            hits,
            stale_files: stale,
        })
    }

    /// Whether the file on disk still has the content that was indexed.
    fn is_fresh(&self, store: &Store, rel: &str) -> Result<bool> {
        let indexed = store.file_hash(rel)?;
        Ok(self.matches_disk(rel, indexed.as_deref()))
    }

    /// [`Index::is_fresh`] for several files, read and hashed in parallel.
    fn freshness(&self, store: &Store, paths: &[&str]) -> Result<HashMap<String, bool>> {
        let indexed: Vec<(&str, Option<String>)> = paths
            .iter()
            .map(|&p| Ok((p, store.file_hash(p)?)))
            .collect::<Result<_>>()?;
        Ok(indexed
            .par_iter()
            .map(|(p, hash)| ((*p).to_owned(), self.matches_disk(p, hash.as_deref())))
            .collect())
    }

    /// Whether the file at `rel` hashes to `indexed` (false when it is not indexed or
    /// cannot be read).
    fn matches_disk(&self, rel: &str, indexed: Option<&str>) -> bool {
        let Some(indexed) = indexed else {
            return false;
        };
        std::fs::read(self.root.join(rel)).is_ok_and(|bytes| hash_bytes(&bytes) == indexed)
    }

    pub(crate) fn check_embedder(&self, embedder: &dyn Embedder) -> Result<()> {
        if embedder.model_id() != self.model_id || embedder.dimension() != self.dim {
            return Err(IndexError::BadEmbedding {
                model: embedder.model_id().to_owned(),
                problem: format!(
                    "is not the model this index was opened with ({}, {} dimensions)",
                    self.model_id, self.dim
                ),
            });
        }
        Ok(())
    }

    /// Exact vector top-`k` (recall checks): chunk ids and cosines, best first.
    pub fn vector_search_exact(&self, vector: &[f32], k: usize) -> Result<Vec<(ChunkId, f32)>> {
        self.catch_up()?;
        let guard = self.vectors.read().unwrap_or_else(|p| p.into_inner());
        Ok(guard
            .search_exact(vector, k)?
            .into_iter()
            .map(|h| (h.id, h.score))
            .collect())
    }

    /// The vector backend's own top-`k` (what hybrid search uses).
    pub fn vector_search(&self, vector: &[f32], k: usize) -> Result<Vec<(ChunkId, f32)>> {
        self.catch_up()?;
        let guard = self.vectors.read().unwrap_or_else(|p| p.into_inner());
        Ok(guard
            .search(vector, k)?
            .into_iter()
            .map(|h| (h.id, h.score))
            .collect())
    }
}

/// Opens the database and checks its identity; the reason it cannot be used otherwise.
fn open_checked(path: &Path, expected: &[(&str, String)]) -> std::result::Result<Store, String> {
    let check = || -> Result<std::result::Result<Store, String>> {
        let store = Store::open(path)?;
        if store.meta("schema_version")?.is_none() {
            let (files, chunks) = store.counts()?;
            if files > 0 || chunks > 0 {
                return Ok(Err("the index has data but no identity".into()));
            }
            for (key, value) in expected {
                store.set_meta(key, value)?;
            }
            return Ok(Ok(store));
        }
        for (key, value) in expected {
            let found = store.meta(key)?;
            if found.as_deref() != Some(value.as_str()) {
                return Ok(Err(format!(
                    "its {key} is {}, expected {value}",
                    found.as_deref().unwrap_or("missing")
                )));
            }
        }
        store.counts()?;
        Ok(Ok(store))
    };
    match check() {
        Ok(result) => result,
        Err(e) if e.is_corruption() => Err(format!("the database is damaged: {e}")),
        Err(e) => Err(format!("the database cannot be read: {e}")),
    }
}

/// Applies the log after the vector index's generation.
fn replay(store: &Store, vectors: &mut dyn VectorIndex) -> Result<()> {
    let generation = store.generation()?;
    if vectors.generation() >= generation {
        return Ok(());
    }
    let mut last: HashMap<ChunkId, bool> = HashMap::new();
    for (id, added) in store.log_since(vectors.generation())? {
        last.insert(id, added);
    }
    let removed: Vec<ChunkId> = last.keys().copied().collect();
    let wanted: Vec<ChunkId> = last
        .iter()
        .filter(|(_, a)| **a)
        .map(|(id, _)| *id)
        .collect();
    let added = store.vectors(&wanted)?;
    vectors.apply(&removed, &added)?;
    vectors.set_generation(generation);
    Ok(())
}

/// SHA-256 of a file's bytes, lower-case hex: the file hash the index records.
pub fn hash_bytes(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
