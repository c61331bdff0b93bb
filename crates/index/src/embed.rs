//! The embedder port, and a deterministic embedder for tests and benchmarks.
//!
//! The trait is synchronous on purpose: indexing is CPU- and disk-bound work (walking,
//! tree-sitter, SQLite) that a caller in async code runs on a blocking thread anyway, and
//! the local model (`cuervo-local`'s candle embedder) is itself synchronous. An adapter for
//! an async `ModelProvider::embed` blocks on its future there
//! (`tokio::runtime::Handle::block_on` inside `spawn_blocking`), which keeps this crate
//! free of an async runtime.

use sha2::{Digest, Sha256};

use crate::error::EmbedError;
use crate::tokenize;

/// Turns texts into vectors of a fixed dimension. One index holds the vectors of one
/// embedder: [`Embedder::model_id`] and [`Embedder::dimension`] are recorded with the
/// index and checked each time it is opened.
pub trait Embedder: Send + Sync {
    /// Names the model and everything that changes its vectors (for a provider:
    /// `provider/model`; for a local checkpoint: its name and revision).
    fn model_id(&self) -> &str;
    /// The length of every vector [`Embedder::embed`] returns.
    fn dimension(&self) -> usize;
    /// One vector per text, in order. Called with at most
    /// [`crate::UpdateOptions::embed_batch`] texts at a time while indexing, and with one
    /// text (the query) while searching.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// A deterministic embedder with no model: each identifier part and word of a text is
/// hashed into a signed bucket (feature hashing), the counts are damped by `ln(1 + n)`
/// and the vector is L2-normalised. Texts that share words land near each other, so
/// hybrid search behaves plausibly in tests and benchmarks without any weights. It knows
/// no synonyms: it is not a substitute for a real model.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    id: String,
    dimension: usize,
}

impl HashEmbedder {
    /// A hashing embedder of `dimension` buckets (at least 1).
    pub fn new(dimension: usize) -> Self {
        let dimension = dimension.max(1);
        Self {
            id: format!("hash-bow-{dimension}"),
            dimension,
        }
    }

    /// One text's vector.
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dimension];
        for term in tokenize::terms(text) {
            let digest = Sha256::digest(term.as_bytes());
            let mut bucket = [0u8; 8];
            bucket.copy_from_slice(&digest[..8]);
            let h = u64::from_le_bytes(bucket);
            let slot = (h % self.dimension as u64) as usize;
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[slot] += sign;
        }
        for x in &mut v {
            *x = x.signum() * x.abs().ln_1p();
        }
        normalize(&mut v);
        v
    }
}

impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

/// Scales `v` to unit length (left as it is when it is all zeros).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in v {
            *x /= norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_texts_are_closer() {
        let e = HashEmbedder::new(384);
        let a = e.vector("parse the config file");
        let b = e.vector("fn parse_config(path: &Path) -> Config");
        let c = e.vector("render the progress bar");
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        assert!(dot(&a, &b) > dot(&a, &c));
        assert_eq!(e.vector("x y"), e.vector("x y"));
    }
}
