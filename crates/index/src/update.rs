//! Incremental indexing: walk, find what changed, chunk, embed, commit per batch.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cuervo_text::scan::{self, WalkOptions};
use cuervo_text::syntax::{self, ChunkKind};
use rayon::prelude::*;

use crate::embed::Embedder;
use crate::error::{IndexError, Result};
use crate::index::{Index, LOCK_FILE, hash_bytes};
use crate::lock::WriteLock;
use crate::store::{ChunkRow, FileRow, FileUpdate, NewChunk};

/// A file whose mtime is this close to when it was hashed is hashed again, because it
/// may have changed within the file system's timestamp granularity ("racily clean").
const RACY_NS: i64 = 2_000_000_000;

/// How an update runs.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Files per batch; each batch is one transaction. Default 64.
    pub batch_files: usize,
    /// Texts per embedder call. Default 32.
    pub embed_batch: usize,
    /// Files larger than this are skipped (generated or minified code). Default 1 MiB.
    pub max_file_bytes: u64,
    /// Stop with [`IndexError::Stopped`] after this many batches (tests of interrupted
    /// runs).
    pub stop_after_batches: Option<usize>,
    /// Sleep after each batch (tests that kill a run midway).
    pub batch_delay: Option<Duration>,
    /// Write the vector file when the change log holds more entries than this (and at
    /// the end of a first full index). Default 2,000: small edits only append to SQLite.
    pub checkpoint_after: u64,
    /// Fail with [`IndexError::TooManyChanges`], before changing anything, when more
    /// files than this changed (a refresh before a search must stay quick; the search
    /// leaves changed files out). `None`: no limit.
    pub max_changed_files: Option<usize>,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        Self {
            batch_files: 64,
            embed_batch: 32,
            max_file_bytes: 1 << 20,
            stop_after_batches: None,
            batch_delay: None,
            checkpoint_after: 2000,
            max_changed_files: None,
        }
    }
}

/// Where an update is, for a progress bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Files that need indexing in this run.
    pub files_total: usize,
    pub files_done: usize,
    pub chunks_done: usize,
    /// Chunks embedded so far (others reused their vector).
    pub embedded: usize,
    pub embed_time: Duration,
}

/// What an update did, with where the time went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateStats {
    /// Files the walk found.
    pub files_seen: usize,
    /// Files (re-)chunked.
    pub files_indexed: usize,
    /// Files removed from the index (deleted, renamed away, now ignored, binary, too big).
    pub files_removed: usize,
    pub chunks_written: usize,
    pub chunks_embedded: usize,
    /// Chunks of changed files whose text was unchanged and kept their vector.
    pub chunks_reused: usize,
    pub walk_time: Duration,
    pub chunk_time: Duration,
    pub embed_time: Duration,
    pub write_time: Duration,
    pub total_time: Duration,
}

/// What [`Index::pending`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    /// Files new or changed since they were indexed.
    pub changed: usize,
    /// Indexed files that are gone (deleted, renamed, now ignored).
    pub removed: usize,
}

/// Candidates that are new or whose size or mtime differ from what was indexed (not
/// those only re-checked because they were racily clean).
fn changed_on_disk(candidates: &[Candidate], stored: &HashMap<String, FileRow>) -> usize {
    candidates
        .iter()
        .filter(|c| {
            stored
                .get(&c.rel)
                .is_none_or(|f| f.mtime_ns != c.mtime_ns || c.size != f.size)
        })
        .count()
}

struct Walk {
    candidates: Vec<Candidate>,
    removed: Vec<String>,
    seen: usize,
    stored: HashMap<String, FileRow>,
    now: i64,
}

struct Candidate {
    rel: String,
    abs: PathBuf,
    mtime_ns: i64,
    size: u64,
}

impl Index {
    /// Brings the index up to date with the files under the root: only files whose
    /// content hash changed are re-chunked, only chunks whose text changed are
    /// re-embedded, files gone from the walk are removed. Takes the write lock (fails
    /// with [`IndexError::Locked`] while another process holds it); commits every
    /// [`UpdateOptions::batch_files`] files, so an interrupted run keeps what it did.
    pub fn update(
        &self,
        embedder: &dyn Embedder,
        options: &UpdateOptions,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<UpdateStats> {
        let started = Instant::now();
        self.check_embedder(embedder)?;
        let _lock = WriteLock::acquire(&self.dir.join(LOCK_FILE))?;
        self.catch_up()?;
        let mut stats = UpdateStats::default();

        let t = Instant::now();
        let Walk {
            candidates,
            removed,
            seen,
            stored,
            now,
        } = self.walk(options.max_file_bytes)?;
        stats.files_seen = seen;
        stats.walk_time = t.elapsed();
        if let Some(max) = options.max_changed_files {
            // Files only re-checked because they were hashed right after a write
            // ("racily clean") cost a hash, not an embedding: they do not count.
            let changed = changed_on_disk(&candidates, &stored);
            if changed > max {
                return Err(IndexError::TooManyChanges { files: changed });
            }
        }

        let mut report = Progress {
            files_total: candidates.len(),
            ..Progress::default()
        };
        progress(&report);
        let mut batches = 0;
        let batch_files = options.batch_files.max(1);
        let mut pending_removed = removed;
        let mut chunks = candidates.chunks(batch_files);
        loop {
            let batch = chunks.next().unwrap_or(&[]);
            if batch.is_empty() && pending_removed.is_empty() {
                break;
            }
            let t = Instant::now();
            let read: Vec<Read> = batch
                .par_iter()
                .map(|c| read_and_chunk(c, &self.chunk_options, now, stored.get(&c.rel)))
                .collect();
            stats.chunk_time += t.elapsed();
            let mut deleted = std::mem::take(&mut pending_removed);
            let mut updates = Vec::new();
            for (c, r) in batch.iter().zip(read) {
                match r {
                    Read::Same(file) => self.store()?.touch_file(&c.rel, &file)?,
                    Read::Skip => {
                        if stored.contains_key(&c.rel) {
                            deleted.push(c.rel.clone());
                        }
                    }
                    Read::Changed(file, rows) => updates.push((c.rel.clone(), file, rows)),
                }
            }
            let updates = self.embed_batch(embedder, options, updates, &mut stats, &mut report)?;
            let t = Instant::now();
            stats.files_indexed += updates.len();
            stats.files_removed += deleted.len();
            stats.chunks_written += updates.iter().map(|u| u.chunks.len()).sum::<usize>();
            let change = self.store()?.write_batch(&updates, &deleted)?;
            {
                let mut vectors = self.vectors.write().unwrap_or_else(|p| p.into_inner());
                vectors.apply(&change.removed, &change.added)?;
                vectors.set_generation(change.generation);
            }
            stats.write_time += t.elapsed();
            report.files_done += batch.len();
            progress(&report);
            batches += 1;
            if let Some(delay) = options.batch_delay {
                std::thread::sleep(delay);
            }
            if options.stop_after_batches.is_some_and(|n| batches >= n) {
                return Err(IndexError::Stopped { batches });
            }
        }
        self.checkpoint(options.checkpoint_after)?;
        stats.total_time = started.elapsed();
        Ok(stats)
    }

    /// Writes the vector file and truncates the log when the log has grown past
    /// `threshold` entries or no vector file exists yet.
    /// What an update would do now, without doing it (for `cuervo index status`):
    /// files new or changed on disk since they were indexed, and files gone.
    pub fn pending(&self, options: &UpdateOptions) -> Result<Pending> {
        self.catch_up()?;
        let walk = self.walk(options.max_file_bytes)?;
        Ok(Pending {
            changed: changed_on_disk(&walk.candidates, &walk.stored),
            removed: walk.removed.len(),
        })
    }

    /// The walk of the project against what is stored: files to (re)read and files gone.
    fn walk(&self, max_file_bytes: u64) -> Result<Walk> {
        let (paths, _) = scan::files(&WalkOptions::new(&self.root).sorted(true))?;
        let stored = self.store()?.files()?;
        let now = now_ns();
        let mut candidates = Vec::new();
        let mut seen = HashSet::new();
        for abs in paths {
            let Some(rel) = relative(&self.root, &abs) else {
                continue;
            };
            let Ok(meta) = std::fs::metadata(&abs) else {
                continue;
            };
            if meta.len() > max_file_bytes {
                continue;
            }
            let mtime_ns = meta.modified().map(to_ns).unwrap_or(0);
            seen.insert(rel.clone());
            let unchanged = stored.get(&rel).is_some_and(|f| {
                f.size == meta.len() && f.mtime_ns == mtime_ns && f.checked_ns - mtime_ns > RACY_NS
            });
            if !unchanged {
                candidates.push(Candidate {
                    rel,
                    abs,
                    mtime_ns,
                    size: meta.len(),
                });
            }
        }
        let mut removed: Vec<String> = stored
            .keys()
            .filter(|p| !seen.contains(*p))
            .cloned()
            .collect();
        removed.sort();
        Ok(Walk {
            candidates,
            removed,
            seen: seen.len(),
            stored,
            now,
        })
    }

    fn checkpoint(&self, threshold: u64) -> Result<()> {
        let store = self.store()?;
        let missing = !self.dir.join(crate::index::VECTOR_FILE).exists();
        let log = store.log_len()?;
        if !missing && log <= threshold {
            return Ok(());
        }
        let vectors = self.vectors.read().unwrap_or_else(|p| p.into_inner());
        vectors.persist()?;
        store.truncate_log(vectors.generation())
    }

    /// Embeds the chunks of changed files, reusing the vector of any chunk whose text
    /// and name the file already had.
    fn embed_batch(
        &self,
        embedder: &dyn Embedder,
        options: &UpdateOptions,
        updates: Vec<(String, FileRow, Vec<ChunkRow>)>,
        stats: &mut UpdateStats,
        report: &mut Progress,
    ) -> Result<Vec<FileUpdate>> {
        let mut out = Vec::with_capacity(updates.len());
        let mut texts = Vec::new();
        let mut slots = Vec::new();
        for (fi, (rel, file, rows)) in updates.into_iter().enumerate() {
            let old = self.store()?.vectors_of_file(&rel)?;
            let mut chunks = Vec::with_capacity(rows.len());
            for (ci, row) in rows.into_iter().enumerate() {
                let key = (row.content_hash.clone(), row.chunk_name.clone());
                let vector = match old.get(&key) {
                    Some(v) if v.len() == self.dim => {
                        stats.chunks_reused += 1;
                        v.clone()
                    }
                    _ => {
                        texts.push(embed_text(&row));
                        slots.push((fi, ci));
                        Vec::new()
                    }
                };
                chunks.push(NewChunk { row, vector });
            }
            out.push(FileUpdate {
                path: rel,
                file,
                chunks,
            });
        }
        let t = Instant::now();
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(options.embed_batch.max(1)) {
            let got = embedder.embed(batch).map_err(|source| IndexError::Embed {
                model: self.model_id.clone(),
                source,
            })?;
            if got.len() != batch.len() || got.iter().any(|v| v.len() != self.dim) {
                return Err(IndexError::BadEmbedding {
                    model: self.model_id.clone(),
                    problem: format!(
                        "returned {} vectors for {} texts, or a vector not of {} dimensions",
                        got.len(),
                        batch.len(),
                        self.dim
                    ),
                });
            }
            vectors.extend(got);
            report.embedded += batch.len();
        }
        let spent = t.elapsed();
        stats.embed_time += spent;
        report.embed_time += spent;
        stats.chunks_embedded += vectors.len();
        for ((fi, ci), v) in slots.into_iter().zip(vectors) {
            out[fi].chunks[ci].vector = v;
        }
        report.chunks_done += out.iter().map(|u| u.chunks.len()).sum::<usize>();
        Ok(out)
    }
}

/// The text embedded for a chunk: where it is and what it is named, then its content.
fn embed_text(row: &ChunkRow) -> String {
    format!(
        "{}\n{}\n{}",
        row.file_path, row.chunk_name, row.content_text
    )
}

enum Read {
    /// Content unchanged: only the stat is recorded again.
    Same(FileRow),
    /// Unreadable, binary or vanished: not indexed.
    Skip,
    Changed(FileRow, Vec<ChunkRow>),
}

fn read_and_chunk(
    c: &Candidate,
    options: &syntax::ChunkOptions,
    now: i64,
    stored: Option<&FileRow>,
) -> Read {
    let Ok(bytes) = std::fs::read(&c.abs) else {
        return Read::Skip;
    };
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Read::Skip;
    }
    let hash = hash_bytes(&bytes);
    let file = FileRow {
        hash,
        size: bytes.len() as u64,
        mtime_ns: c.mtime_ns,
        checked_ns: now,
    };
    if stored.is_some_and(|s| s.hash == file.hash) {
        return Read::Same(file);
    }
    let source = String::from_utf8_lossy(&bytes);
    let rows = syntax::chunk(Path::new(&c.rel), &source, options)
        .into_iter()
        .map(|ch| ChunkRow {
            id: 0,
            file_path: c.rel.clone(),
            chunk_type: kind_name(ch.kind).to_owned(),
            chunk_name: ch.name,
            start_line: ch.start_line,
            end_line: ch.end_line,
            content_hash: ch.hash,
            content_text: ch.content,
            language: Some(ch.language.map_or("text", |l| l.name()).to_owned()),
        })
        .collect();
    Read::Changed(file, rows)
}

fn kind_name(kind: ChunkKind) -> &'static str {
    match kind {
        ChunkKind::Function => "function",
        ChunkKind::Class => "class",
        ChunkKind::Module => "module",
        ChunkKind::Comment => "comment",
    }
}

/// `abs` relative to `root`, with `/` separators; `None` outside the root or not UTF-8.
fn relative(root: &Path, abs: &Path) -> Option<String> {
    let rel = abs.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let joined = parts?.join("/");
    (!joined.is_empty()).then_some(joined)
}

fn to_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn now_ns() -> i64 {
    to_ns(SystemTime::now())
}
