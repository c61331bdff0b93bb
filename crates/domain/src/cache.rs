//! The semantic response cache port: answers to earlier prompts, found again by the
//! meaning of a new prompt (its embedding), never across what would change the answer.
//!
//! The rules live here so every adapter keeps them:
//! - a cached answer belongs to one [`CacheScope`] (provider, model, tool specs, system
//!   prompt) and is never served to another: the same question asked of another model,
//!   with other tools or under another system prompt is a different question;
//! - a hit needs a cosine similarity above a threshold ([`DEFAULT_SIMILARITY`] unless the
//!   caller says otherwise), measured by [`cosine`];
//! - the caller decides when the cache may be used at all: it is meant for single-shot
//!   requests, not multi-turn agent traffic, where an old answer would be stale.
//!
//! Hashing the scope into a key is the adapter's business (the domain has no hash
//! function it could promise to keep stable across releases).

use crate::model::ToolSpec;
use crate::provider::BoxFuture;

/// Similarity above which a cached answer is served: 0.95, the seed's value.
pub const DEFAULT_SIMILARITY: f32 = 0.95;

/// What an answer depends on besides the prompt. Two requests share cached answers only
/// when every field is equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheScope {
    /// The provider's name in config (`anthropic`, `my-gateway`…).
    pub provider: String,
    pub model: String,
    /// The tool specs offered to the model, as JSON (order as sent).
    pub tools_json: String,
    /// The system prompt, empty when there is none.
    pub system_prompt: String,
}

impl CacheScope {
    /// The scope of a request to `model` of `provider` offering `tools` under
    /// `system_prompt`.
    pub fn new(
        provider: impl Into<String>,
        model: impl Into<String>,
        tools: &[ToolSpec],
        system_prompt: Option<&str>,
    ) -> CacheScope {
        CacheScope {
            provider: provider.into(),
            model: model.into(),
            // A `Vec` of plain structs always serialises; an empty string would only
            // make two tool sets with this (impossible) failure share a scope.
            tools_json: serde_json::to_string(tools).unwrap_or_default(),
            system_prompt: system_prompt.unwrap_or_default().to_owned(),
        }
    }
}

/// An answer found in the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedResponse {
    pub response: String,
    /// Cosine similarity between the new prompt and the cached one.
    pub similarity: f32,
    /// When the answer was stored, in milliseconds since the Unix epoch, so a front end
    /// can say how old it is.
    pub created_at_ms: i64,
}

/// A response cache could not be read or written. Callers treat it as a miss: a broken
/// cache must never stop a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("response cache: {0}")]
pub struct CacheError(pub String);

/// Where answers are kept and found again by embedding.
pub trait ResponseCache: Send + Sync {
    /// The best answer of `scope` whose prompt embedding has a cosine similarity above
    /// `threshold` with `embedding`, if one has not expired.
    fn lookup<'a>(
        &'a self,
        scope: &'a CacheScope,
        embedding: &'a [f32],
        threshold: f32,
    ) -> BoxFuture<'a, Result<Option<CachedResponse>, CacheError>>;

    /// Keeps `response` as the answer to `prompt` (embedded as `embedding`) in `scope`.
    fn put<'a>(
        &'a self,
        scope: &'a CacheScope,
        prompt: &'a str,
        embedding: &'a [f32],
        response: &'a str,
    ) -> BoxFuture<'a, Result<(), CacheError>>;
}

/// Cosine similarity of two vectors; 0 when their lengths differ or either is zero (a
/// vector from another embedding model is never similar).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_known_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) + 1.0).abs() < 1e-6);
        assert_eq!(
            cosine(&[1.0, 0.0], &[1.0, 0.0, 0.0]),
            0.0,
            "other dimension"
        );
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[], &[]), 0.0);
    }

    #[test]
    fn scopes_differ_by_each_part() {
        let tool = ToolSpec {
            name: "read".into(),
            description: "reads".into(),
            input_schema: serde_json::json!({"type": "object"}),
        };
        let tools = std::slice::from_ref(&tool);
        let base = CacheScope::new("p", "m", tools, Some("sys"));
        assert_eq!(base, CacheScope::new("p", "m", tools, Some("sys")));
        assert_ne!(base, CacheScope::new("p", "m2", tools, Some("sys")));
        assert_ne!(base, CacheScope::new("p", "m", &[], Some("sys")));
        assert_ne!(base, CacheScope::new("p", "m", tools, Some("sys2")));
        assert_ne!(base, CacheScope::new("p", "m", tools, None));
        assert_ne!(base, CacheScope::new("q", "m", tools, Some("sys")));
    }
}
