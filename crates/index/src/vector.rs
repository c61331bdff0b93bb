//! The vector store port ([`VectorIndex`]) and the default backend ([`FlatIndex`]).
//!
//! # Why exact search by default
//!
//! Measured on the project's 2-core machine (docs/adr/0002-codebase-index.md): an HNSW
//! graph (USearch 2.26) over 100,000 random 384-dimensional vectors took minutes to build
//! on two busy cores and its recall@10 against exact search was far below 0.95 at the
//! usual settings, while a scan of int8-quantised vectors re-scored in `f32` answers in a
//! few milliseconds with recall ≈ 1, needs no native code, and makes every update an
//! append or a swap. [`FlatIndex`] is that scan. An ANN backend (LanceDB, or a graph index
//! for trees of millions of chunks) implements the same trait.
//!
//! # Consistency
//!
//! SQLite is the source of truth (it keeps each chunk's vector too). A vector index
//! records the change-log *generation* it reflects; the owner replays the log after it
//! (or rebuilds from SQLite) before searching, so a vector index that is behind, missing
//! or damaged is never used as it is.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{IndexError, Result};

/// A chunk's id: its SQLite row id, never reused (`AUTOINCREMENT`).
pub type ChunkId = i64;

/// A vector search hit: cosine similarity of unit vectors (higher is closer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorHit {
    pub id: ChunkId,
    pub score: f32,
}

/// A vector to add, with the file it belongs to (for backends that delete by file).
#[derive(Debug, Clone, PartialEq)]
pub struct VectorRow {
    pub id: ChunkId,
    pub file: String,
    pub vector: Vec<f32>,
}

/// The vector store port: what the hybrid search needs from any backend.
pub trait VectorIndex: Send + Sync {
    /// Length of every vector.
    fn dimension(&self) -> usize;
    /// How many vectors it holds.
    fn len(&self) -> usize;
    /// Whether it holds none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether it holds `id`.
    fn contains(&self, id: ChunkId) -> bool;
    /// Removes `removed` (absent ids are ignored) then adds `added` (an id already present
    /// is replaced): one indexing batch, the files it re-indexed or deleted.
    fn apply(&mut self, removed: &[ChunkId], added: &[VectorRow]) -> Result<()>;
    /// The (approximately) nearest `k`, best first.
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<VectorHit>>;
    /// The exactly nearest `k`, best first: the reference for recall checks.
    fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<VectorHit>>;
    /// The change-log generation this index reflects.
    fn generation(&self) -> u64;
    /// Records that the index now reflects `generation`.
    fn set_generation(&mut self, generation: u64);
    /// Writes the index to its file, atomically, with its generation.
    fn persist(&self) -> Result<()>;
}

const MAGIC: &[u8; 8] = b"CVVEC001";
const HEADER: usize = 8 + 4 + 8 + 8 + 4;
/// Candidates the int8 scan keeps per result for re-scoring in `f32`.
const RESCORE_FACTOR: usize = 8;
const RESCORE_MIN: usize = 64;
/// Rows per parallel scan task.
const SCAN_BLOCK: usize = 8192;

/// Exact search over every vector: an int8 scan picks candidates, `f32` dot products
/// rank them. Vectors are L2-normalised on the way in, so scores are cosines.
#[derive(Debug)]
pub struct FlatIndex {
    path: PathBuf,
    dim: usize,
    generation: u64,
    ids: Vec<ChunkId>,
    vectors: Vec<f32>,
    codes: Vec<i8>,
    scales: Vec<f32>,
    position: HashMap<ChunkId, usize>,
}

impl FlatIndex {
    /// An empty index of `dim`-dimensional vectors that persists to `path`.
    pub fn new(path: impl Into<PathBuf>, dim: usize) -> Self {
        Self {
            path: path.into(),
            dim,
            generation: 0,
            ids: Vec::new(),
            vectors: Vec::new(),
            codes: Vec::new(),
            scales: Vec::new(),
            position: HashMap::new(),
        }
    }

    /// Loads `path`, checking its magic number, dimension, length and CRC-32. An error
    /// of kind [`IndexError::Incompatible`] means the file must be rebuilt.
    pub fn load(path: &Path, dim: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| IndexError::io(path, e))?;
        let bad = |reason: &str| IndexError::Incompatible {
            path: path.to_path_buf(),
            reason: reason.to_owned(),
        };
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(bad("the vector file has no valid header"));
        }
        let u32_at = |at: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&bytes[at..at + 4]);
            u32::from_le_bytes(b)
        };
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let file_dim = u32_at(8) as usize;
        let count = usize::try_from(u64_at(12)).map_err(|_| bad("vector count overflows"))?;
        let generation = u64_at(20);
        let crc = u32_at(28);
        if file_dim != dim {
            return Err(bad("the vector file's dimension differs from the index's"));
        }
        let expected = count
            .checked_mul(8 + 4 * dim)
            .and_then(|n| n.checked_add(HEADER));
        if expected != Some(bytes.len()) {
            return Err(bad("the vector file is truncated or too long"));
        }
        let payload = &bytes[HEADER..];
        if crc32fast::hash(payload) != crc {
            return Err(bad("the vector file's checksum does not match"));
        }
        let (id_bytes, vec_bytes) = payload.split_at(count * 8);
        let mut index = Self::new(path, dim);
        index.generation = generation;
        index.ids = id_bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                i64::from_le_bytes(b)
            })
            .collect();
        index.vectors = vec_bytes
            .par_chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        index.position = index
            .ids
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i))
            .collect();
        if index.position.len() != index.ids.len() {
            return Err(bad("the vector file repeats an id"));
        }
        let (codes, scales): (Vec<Vec<i8>>, Vec<f32>) = index
            .vectors
            .par_chunks_exact(dim.max(1))
            .map(quantize)
            .unzip();
        index.codes = codes.concat();
        index.scales = scales;
        Ok(index)
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    fn remove_one(&mut self, id: ChunkId) {
        let Some(i) = self.position.remove(&id) else {
            return;
        };
        let last = self.ids.len() - 1;
        if i != last {
            let moved = self.ids[last];
            self.ids.swap(i, last);
            self.scales.swap(i, last);
            let d = self.dim;
            self.vectors.copy_within(last * d..(last + 1) * d, i * d);
            self.codes.copy_within(last * d..(last + 1) * d, i * d);
            self.position.insert(moved, i);
        }
        self.ids.pop();
        self.scales.pop();
        self.vectors.truncate(last * self.dim);
        self.codes.truncate(last * self.dim);
    }

    fn check(&self, query: &[f32]) -> Result<Vec<f32>> {
        unit_vector(query, self.dim)
    }

    fn rank_exact(&self, q: &[f32], rows: impl Iterator<Item = usize>, k: usize) -> Vec<VectorHit> {
        let mut hits: Vec<VectorHit> = rows
            .map(|i| VectorHit {
                id: self.ids[i],
                score: dot(q, self.row(i)),
            })
            .collect();
        top_k(&mut hits, k);
        hits
    }
}

impl VectorIndex for FlatIndex {
    fn dimension(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn contains(&self, id: ChunkId) -> bool {
        self.position.contains_key(&id)
    }

    fn apply(&mut self, removed: &[ChunkId], added: &[VectorRow]) -> Result<()> {
        for &id in removed {
            self.remove_one(id);
        }
        for row in added {
            let v = unit_vector(&row.vector, self.dim)?;
            self.remove_one(row.id);
            let (codes, scale) = quantize(&v);
            self.position.insert(row.id, self.ids.len());
            self.ids.push(row.id);
            self.vectors.extend_from_slice(&v);
            self.codes.extend_from_slice(&codes);
            self.scales.push(scale);
        }
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<VectorHit>> {
        let q = self.check(query)?;
        if k == 0 || self.ids.is_empty() {
            return Ok(Vec::new());
        }
        let keep = (k * RESCORE_FACTOR).max(RESCORE_MIN);
        if keep >= self.ids.len() {
            return Ok(self.rank_exact(&q, 0..self.ids.len(), k));
        }
        // The query's own scale is the same for every row: ranking ignores it.
        let (qcodes, _) = quantize(&q);
        let d = self.dim;
        let blocks: Vec<Vec<(f32, usize)>> = self
            .codes
            .par_chunks(SCAN_BLOCK * d)
            .enumerate()
            .map(|(b, block)| {
                let mut scored: Vec<(f32, usize)> = block
                    .chunks_exact(d)
                    .enumerate()
                    .map(|(j, code)| {
                        let i = b * SCAN_BLOCK + j;
                        (dot_i8(&qcodes, code) as f32 * self.scales[i], i)
                    })
                    .collect();
                if scored.len() > keep {
                    scored.select_nth_unstable_by(keep, |a, b| b.0.total_cmp(&a.0));
                    scored.truncate(keep);
                }
                scored
            })
            .collect();
        let mut candidates: Vec<(f32, usize)> = blocks.concat();
        if candidates.len() > keep {
            candidates.select_nth_unstable_by(keep, |a, b| b.0.total_cmp(&a.0));
            candidates.truncate(keep);
        }
        Ok(self.rank_exact(&q, candidates.into_iter().map(|(_, i)| i), k))
    }

    fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<VectorHit>> {
        let q = self.check(query)?;
        let d = self.dim;
        let mut hits: Vec<VectorHit> = self
            .vectors
            .par_chunks_exact(d.max(1))
            .enumerate()
            .map(|(i, v)| VectorHit {
                id: self.ids[i],
                score: dot(&q, v),
            })
            .collect();
        top_k(&mut hits, k);
        Ok(hits)
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    fn persist(&self) -> Result<()> {
        let mut payload = Vec::with_capacity(self.ids.len() * (8 + 4 * self.dim));
        for id in &self.ids {
            payload.extend_from_slice(&id.to_le_bytes());
        }
        for x in &self.vectors {
            payload.extend_from_slice(&x.to_le_bytes());
        }
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(self.dim as u32).to_le_bytes());
        header.extend_from_slice(&(self.ids.len() as u64).to_le_bytes());
        header.extend_from_slice(&self.generation.to_le_bytes());
        header.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        let tmp = self.path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&header)?;
            f.write_all(&payload)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| IndexError::io(&self.path, e))
    }
}

/// `v` normalised to unit length, after checking it has `dim` dimensions: what every
/// backend stores and searches with, so scores are cosines.
pub(crate) fn unit_vector(v: &[f32], dim: usize) -> Result<Vec<f32>> {
    if v.len() != dim {
        return Err(IndexError::Dimension {
            expected: dim,
            got: v.len(),
        });
    }
    let mut unit = v.to_vec();
    crate::embed::normalize(&mut unit);
    Ok(unit)
}

/// Symmetric per-vector int8 quantisation: codes and the scale that maps them back.
fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let inv = 127.0 / max;
    let codes = v.iter().map(|x| (x * inv).round() as i8).collect();
    (codes, max / 127.0)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight accumulators so the compiler vectorises without reassociating floats itself.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let tail: i32 = ra
        .iter()
        .zip(rb)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    acc.iter().sum::<i32>() + tail
}

/// Keeps the best `k` hits, best first (ties by id, so results are deterministic).
fn top_k(hits: &mut Vec<VectorHit>, k: usize) {
    let order = |a: &VectorHit, b: &VectorHit| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id));
    if hits.len() > k && k > 0 {
        hits.select_nth_unstable_by(k - 1, order);
    }
    hits.truncate(k);
    hits.sort_by(order);
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

    #[test]
    fn apply_search_remove_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        let mut idx = FlatIndex::new(&path, 3);
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
        idx.apply(&[1], &[row(3, &[0.0, 0.0, 1.0])]).unwrap();
        assert_eq!(idx.len(), 2);
        assert!(!idx.contains(1));
        idx.set_generation(7);
        idx.persist().unwrap();
        let back = FlatIndex::load(&path, 3).unwrap();
        assert_eq!(back.generation(), 7);
        assert_eq!(back.search_exact(&[0.0, 0.0, 1.0], 1).unwrap()[0].id, 3);
        assert!(matches!(
            FlatIndex::load(&path, 4),
            Err(IndexError::Incompatible { .. })
        ));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            FlatIndex::load(&path, 3),
            Err(IndexError::Incompatible { .. })
        ));
    }

    #[test]
    fn scan_agrees_with_exact_search() {
        let dim = 32;
        let mut idx = FlatIndex::new("unused", dim);
        let mut s = 7u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let rows: Vec<VectorRow> = (0..2000)
            .map(|i| row(i, &(0..dim).map(|_| next()).collect::<Vec<_>>()))
            .collect();
        idx.apply(&[], &rows).unwrap();
        let q: Vec<f32> = (0..dim).map(|_| next()).collect();
        assert_eq!(
            idx.search(&q, 10).unwrap(),
            idx.search_exact(&q, 10).unwrap()
        );
    }
}
