//! The LanceDB backend of [`VectorIndex`] (cargo feature `lancedb`): the seed's choice
//! (ADR-009), kept off by default because of its weight — see
//! docs/adr/0002-codebase-index.md for what it costs to build and run against
//! [`crate::FlatIndex`].
//!
//! One Lance table (`chunks`: `id` Int64, `vector` FixedSizeList<Float32>) in the
//! index's `lance/` directory. Lance commits every write as a new table version, so the
//! only thing this backend adds is the generation it reflects, written next to the table
//! by [`VectorIndex::persist`] (atomically, after the table's own commit). A generation
//! file that is missing, unreadable or behind makes the owner replay the log or rebuild,
//! exactly as with the flat file; replaying is idempotent because [`VectorIndex::apply`]
//! deletes an id before adding it.
//!
//! Past [`ANN_MIN_ROWS`] vectors an IVF-HNSW-SQ index is built (and rebuilt when a
//! quarter of the rows arrived after it); rows added since the last build are searched
//! exactly by LanceDB itself, so a search never misses a fresh vector.
//!
//! LanceDB is asynchronous; the port is synchronous (callers run it on a blocking
//! thread), so the backend owns a small runtime and blocks on it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Float32Type;
use arrow_array::{Array, FixedSizeListArray, Float32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::DistanceType;
use lancedb::index::Index as LanceIndexKind;
use lancedb::index::vector::IvfHnswSqIndexBuilder;
use lancedb::query::{ExecutableQuery, QueryBase, Select};

use crate::embed::normalize;
use crate::error::{IndexError, Result};
use crate::vector::{ChunkId, VectorHit, VectorIndex, VectorRow};

pub(crate) use crate::index::LANCE_DIR;
const TABLE: &str = "chunks";
const GENERATION_FILE: &str = "generation";
/// Below this many vectors an exact scan is as fast as an ANN index, and IVF training
/// needs enough rows to be meaningful.
pub const ANN_MIN_ROWS: usize = 20_000;
/// Ids per `DELETE … WHERE id IN (…)` statement.
const DELETE_CHUNK: usize = 1_000;
/// IVF partitions probed and HNSW's search breadth: chosen for recall@10 ≥ 0.95 against
/// exact search (`--example index_bench -- --backend lancedb`).
const NPROBES: usize = 32;
const EF: usize = 128;
const REFINE_FACTOR: u32 = 4;

/// Vectors in a LanceDB table.
pub struct LanceIndex {
    dir: PathBuf,
    dim: usize,
    generation: u64,
    ids: HashSet<ChunkId>,
    /// Rows the last ANN build covered (0: none built).
    indexed_rows: usize,
    runtime: Option<tokio::runtime::Runtime>,
    table: lancedb::Table,
}

impl std::fmt::Debug for LanceIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LanceIndex")
            .field("dir", &self.dir)
            .field("dim", &self.dim)
            .field("generation", &self.generation)
            .field("len", &self.ids.len())
            .finish_non_exhaustive()
    }
}

impl LanceIndex {
    /// An empty table in `dir` (whatever was there is dropped).
    pub fn create(dir: &Path, dim: usize) -> Result<Self> {
        let runtime = runtime(dir)?;
        let table = runtime.block_on(async {
            std::fs::create_dir_all(dir).map_err(|e| IndexError::io(dir, e))?;
            let db = connect(dir).await?;
            db.create_empty_table(TABLE, schema(dim))
                .mode(lancedb::database::CreateTableMode::Overwrite)
                .execute()
                .await
                .map_err(|e| lance_error(dir, e))
        })?;
        let _ = std::fs::remove_file(dir.join(GENERATION_FILE));
        Ok(Self {
            dir: dir.to_path_buf(),
            dim,
            generation: 0,
            ids: HashSet::new(),
            indexed_rows: 0,
            runtime: Some(runtime),
            table,
        })
    }

    /// Opens the table in `dir` with the generation [`VectorIndex::persist`] recorded.
    /// Missing: an error of kind not-found (build it from SQLite); unreadable or of
    /// another dimension: [`IndexError::Incompatible`].
    pub fn load(dir: &Path, dim: usize) -> Result<Self> {
        let generation_path = dir.join(GENERATION_FILE);
        let text = std::fs::read_to_string(&generation_path)
            .map_err(|e| IndexError::io(&generation_path, e))?;
        let bad = |reason: String| IndexError::Incompatible {
            path: dir.to_path_buf(),
            reason,
        };
        let generation: u64 = text
            .trim()
            .parse()
            .map_err(|_| bad("the LanceDB generation file is damaged".to_owned()))?;
        let runtime = runtime(dir)?;
        let (table, ids, indexed_rows) = runtime
            .block_on(async {
                let db = connect(dir).await?;
                let table = db
                    .open_table(TABLE)
                    .execute()
                    .await
                    .map_err(|e| lance_error(dir, e))?;
                let found = table.schema().await.map_err(|e| lance_error(dir, e))?;
                if found.as_ref() != schema(dim).as_ref() {
                    return Err(bad(format!(
                        "the LanceDB table does not hold {dim}-dimensional vectors"
                    )));
                }
                let mut ids = HashSet::new();
                let mut stream = table
                    .query()
                    .select(Select::Columns(vec!["id".to_owned()]))
                    .execute()
                    .await
                    .map_err(|e| lance_error(dir, e))?;
                while let Some(batch) = stream.try_next().await.map_err(|e| lance_error(dir, e))? {
                    ids.extend(id_column(&batch, dir)?.values().iter().copied());
                }
                let indexed = indexed_rows(&table).await.unwrap_or(0);
                Ok((table, ids, indexed))
            })
            .map_err(|e| match e {
                e @ IndexError::Incompatible { .. } => e,
                other => bad(other.to_string()),
            })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            dim,
            generation,
            ids,
            indexed_rows,
            runtime: Some(runtime),
            table,
        })
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        // `runtime` is only taken in `drop`.
        match &self.runtime {
            Some(rt) => rt.block_on(future),
            None => unreachable!("the LanceDB runtime is only dropped with the index"),
        }
    }

    fn check(&self, query: &[f32]) -> Result<Vec<f32>> {
        if query.len() != self.dim {
            return Err(IndexError::Dimension {
                expected: self.dim,
                got: query.len(),
            });
        }
        let mut q = query.to_vec();
        normalize(&mut q);
        Ok(q)
    }

    fn nearest(&self, query: &[f32], k: usize, exact: bool) -> Result<Vec<VectorHit>> {
        let q = self.check(query)?;
        if self.ids.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let dir = &self.dir;
        self.block_on(async {
            let mut search = self
                .table
                .query()
                .select(Select::Columns(vec!["id".to_owned()]))
                .limit(k)
                .nearest_to(q.as_slice())
                .map_err(|e| lance_error(dir, e))?
                .distance_type(DistanceType::Cosine);
            if exact {
                search = search.bypass_vector_index();
            } else {
                // HNSW refuses a search breadth below what it is asked to return (the
                // refine step asks for k × REFINE_FACTOR candidates).
                let wanted = k.saturating_mul(REFINE_FACTOR as usize);
                search = search
                    .nprobes(NPROBES)
                    .map_err(|e| lance_error(dir, e))?
                    .ef(EF.max(wanted))
                    .refine_factor(REFINE_FACTOR);
            }
            let batches: Vec<RecordBatch> = search
                .execute()
                .await
                .map_err(|e| lance_error(dir, e))?
                .try_collect()
                .await
                .map_err(|e| lance_error(dir, e))?;
            let mut hits = Vec::new();
            for batch in &batches {
                let ids = id_column(batch, dir)?;
                let distances = batch
                    .column_by_name("_distance")
                    .and_then(|c| c.as_any().downcast_ref::<Float32Array>())
                    .ok_or_else(|| lance_error(dir, "a search result has no _distance column"))?;
                for i in 0..batch.num_rows() {
                    // Cosine distance is 1 − cosine similarity.
                    hits.push(VectorHit {
                        id: ids.value(i),
                        score: 1.0 - distances.value(i),
                    });
                }
            }
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
            hits.truncate(k);
            Ok(hits)
        })
    }

    /// Builds (or rebuilds) the ANN index when the table is large enough and a quarter
    /// of it arrived since the last build.
    fn maybe_build_ann(&mut self) -> Result<()> {
        let rows = self.ids.len();
        if rows < ANN_MIN_ROWS || rows < self.indexed_rows + self.indexed_rows / 4 {
            return Ok(());
        }
        let dir = self.dir.clone();
        let partitions = ((rows as f64).sqrt() / 4.0).clamp(1.0, 1024.0) as u32;
        self.block_on(async {
            self.table
                .create_index(
                    &["vector"],
                    LanceIndexKind::IvfHnswSq(
                        IvfHnswSqIndexBuilder::default()
                            .distance_type(DistanceType::Cosine)
                            .num_partitions(partitions),
                    ),
                )
                .replace(true)
                .execute()
                .await
                .map_err(|e| lance_error(&dir, e))
        })?;
        self.indexed_rows = rows;
        Ok(())
    }
}

impl Drop for LanceIndex {
    fn drop(&mut self) {
        // The index may be dropped on an async worker, where blocking on a runtime's
        // shutdown would panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl VectorIndex for LanceIndex {
    fn dimension(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn contains(&self, id: ChunkId) -> bool {
        self.ids.contains(&id)
    }

    fn apply(&mut self, removed: &[ChunkId], added: &[VectorRow]) -> Result<()> {
        for row in added {
            if row.vector.len() != self.dim {
                return Err(IndexError::BadEmbedding {
                    model: "index".to_owned(),
                    problem: format!(
                        "a vector of {} dimensions for an index of {}",
                        row.vector.len(),
                        self.dim
                    ),
                });
            }
        }
        let doomed: Vec<ChunkId> = removed
            .iter()
            .chain(added.iter().map(|r| &r.id))
            .copied()
            .filter(|id| self.ids.contains(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let dir = self.dir.clone();
        let dim = self.dim;
        self.block_on(async {
            for ids in doomed.chunks(DELETE_CHUNK) {
                let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
                let predicate = format!("id IN ({})", list.join(","));
                self.table
                    .delete(predicate.as_str())
                    .await
                    .map_err(|e| lance_error(&dir, e))?;
            }
            if !added.is_empty() {
                let batch = record_batch(dim, added).map_err(|e| lance_error(&dir, e))?;
                self.table
                    .add(batch)
                    .execute()
                    .await
                    .map_err(|e| lance_error(&dir, e))?;
            }
            Ok::<(), IndexError>(())
        })?;
        for id in &doomed {
            self.ids.remove(id);
        }
        self.ids.extend(added.iter().map(|r| r.id));
        self.maybe_build_ann()
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<VectorHit>> {
        self.nearest(query, k, false)
    }

    fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<VectorHit>> {
        self.nearest(query, k, true)
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    fn persist(&self) -> Result<()> {
        let path = self.dir.join(GENERATION_FILE);
        let tmp = self.dir.join("generation.tmp");
        let write = || -> std::io::Result<()> {
            std::fs::write(&tmp, self.generation.to_string())?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| IndexError::io(&path, e))
    }
}

fn runtime(dir: &Path) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("cuervo-lancedb")
        .enable_all()
        .build()
        .map_err(|e| IndexError::io(dir, e))
}

async fn connect(dir: &Path) -> Result<lancedb::Connection> {
    let uri = dir.to_str().ok_or_else(|| IndexError::Incompatible {
        path: dir.to_path_buf(),
        reason: "LanceDB needs a UTF-8 path".to_owned(),
    })?;
    lancedb::connect(uri)
        .execute()
        .await
        .map_err(|e| lance_error(dir, e))
}

/// Rows covered by the table's vector index (0 when it has none).
async fn indexed_rows(table: &lancedb::Table) -> lancedb::Result<usize> {
    let indices = table.list_indices().await?;
    for index in indices {
        if index.columns.iter().any(|c| c == "vector")
            && let Some(stats) = table.index_stats(&index.name).await?
        {
            return Ok(stats.num_indexed_rows);
        }
    }
    Ok(0)
}

fn schema(dim: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, true)),
                dim as i32,
            ),
            false,
        ),
    ]))
}

fn record_batch(dim: usize, rows: &[VectorRow]) -> std::result::Result<RecordBatch, String> {
    let ids = Int64Array::from_iter_values(rows.iter().map(|r| r.id));
    let vectors = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        rows.iter().map(|r| {
            let mut v = r.vector.clone();
            normalize(&mut v);
            Some(v.into_iter().map(Some).collect::<Vec<_>>())
        }),
        dim as i32,
    );
    // `from_iter_primitive` makes a nullable list; the table's field is not nullable.
    let vectors = FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float32, true)),
        dim as i32,
        vectors.values().clone(),
        None,
    )
    .map_err(|e| e.to_string())?;
    RecordBatch::try_new(schema(dim), vec![Arc::new(ids), Arc::new(vectors)])
        .map_err(|e| e.to_string())
}

fn id_column<'a>(batch: &'a RecordBatch, dir: &Path) -> Result<&'a Int64Array> {
    batch
        .column_by_name("id")
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| lance_error(dir, "a LanceDB batch has no Int64 id column"))
}

fn lance_error(dir: &Path, e: impl std::fmt::Display) -> IndexError {
    IndexError::Backend {
        path: dir.to_path_buf(),
        message: format!("LanceDB: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: ChunkId, v: &[f32]) -> VectorRow {
        VectorRow {
            id,
            file: "f".into(),
            vector: v.to_vec(),
        }
    }

    fn random_rows(n: i64, dim: usize, seed: u64) -> Vec<VectorRow> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                let v: Vec<f32> = (0..dim)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                    })
                    .collect();
                row(i, &v)
            })
            .collect()
    }

    #[test]
    fn apply_search_remove_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lance");
        let mut idx = LanceIndex::create(&path, 3).unwrap();
        idx.apply(
            &[],
            &[
                row(1, &[1.0, 0.0, 0.0]),
                row(2, &[0.0, 1.0, 0.0]),
                row(3, &[1.0, 1.0, 0.0]),
            ],
        )
        .unwrap();
        let hits = idx.search(&[1.0, 0.1, 0.0], 2).unwrap();
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [1, 3]);
        assert!((hits[0].score - 0.995).abs() < 0.01, "{hits:?}");
        // Replaying the same batch twice (a crash before `persist`) changes nothing.
        for _ in 0..2 {
            idx.apply(&[1], &[row(3, &[0.0, 0.0, 1.0])]).unwrap();
        }
        assert_eq!(idx.len(), 2);
        assert!(!idx.contains(1));
        idx.set_generation(7);
        idx.persist().unwrap();
        drop(idx);
        let back = LanceIndex::load(&path, 3).unwrap();
        assert_eq!(back.generation(), 7);
        assert_eq!(back.len(), 2);
        let exact = back.search_exact(&[0.0, 0.0, 1.0], 5).unwrap();
        assert_eq!(exact.iter().map(|h| h.id).collect::<Vec<_>>(), [3, 2]);
        assert!(matches!(
            LanceIndex::load(&path, 4),
            Err(IndexError::Incompatible { .. })
        ));
        std::fs::write(path.join(GENERATION_FILE), "garbage").unwrap();
        assert!(matches!(
            LanceIndex::load(&path, 3),
            Err(IndexError::Incompatible { .. })
        ));
        std::fs::remove_file(path.join(GENERATION_FILE)).unwrap();
        assert!(matches!(
            LanceIndex::load(&path, 3),
            Err(IndexError::Io { ref source, .. }) if source.kind() == std::io::ErrorKind::NotFound
        ));
    }

    #[test]
    fn ann_recall_at_10_against_exact_search() {
        let dim = 32;
        let dir = tempfile::tempdir().unwrap();
        let mut idx = LanceIndex::create(&dir.path().join("lance"), dim).unwrap();
        let rows = random_rows(ANN_MIN_ROWS as i64 + 1000, dim, 7);
        idx.apply(&[], &rows).unwrap();
        assert!(idx.indexed_rows > 0, "the ANN index was built");
        let queries = random_rows(40, dim, 99);
        let mut found = 0;
        for q in &queries {
            let exact: HashSet<ChunkId> = idx
                .search_exact(&q.vector, 10)
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect();
            found += idx
                .search(&q.vector, 10)
                .unwrap()
                .iter()
                .filter(|h| exact.contains(&h.id))
                .count();
        }
        let recall = found as f64 / (queries.len() * 10) as f64;
        assert!(recall >= 0.95, "recall@10 {recall}");
        // A hybrid search's candidate pool (k up to 1,000) is wider than HNSW's default
        // breadth: found by the benchmark, "ef must be greater than or equal to k".
        assert_eq!(idx.search(&queries[0].vector, 1000).unwrap().len(), 1000);
    }
}
