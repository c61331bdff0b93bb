//! When the semantic response cache may answer, and what it may keep.
//!
//! The cache itself (similarity search, TTL, byte bound) is an adapter behind the domain's
//! [`ResponseCache`] port; this is the policy around it:
//! - **single-shot only.** A multi-turn conversation's answer depends on everything said
//!   before, which the prompt's embedding does not capture, so a cached answer there would
//!   be stale. Front ends use this for a one-prompt run in a new session, opted in.
//! - **the embedding comes from the provider that would answer** (its `embed`), so the
//!   prompt goes nowhere it was not going anyway; a provider without an embeddings API
//!   simply gets no caching.
//! - **only plain answers are kept:** a run that completed in one model call. An answer
//!   that came after tool calls did things (read files, ran commands) a replayed text
//!   would not redo, and may depend on files that changed since.
//! - **a broken cache never stops a request:** lookup failures are a skip, logged.

use std::sync::Arc;

use cuervo_domain::cache::DEFAULT_SIMILARITY;
use cuervo_domain::{
    CacheError, CacheScope, CachedResponse, ModelProvider, ResponseCache, StopCause,
};

use super::EmbeddingCache;
use crate::agent::RunOutcome;

/// The semantic cache as one single-shot request uses it: look up before the run, keep
/// the answer after it.
#[derive(Clone)]
pub struct SemanticResponses {
    embedder: Arc<dyn ModelProvider>,
    cache: Arc<dyn ResponseCache>,
    threshold: f32,
    embeddings: Option<EmbeddingCache>,
}

impl std::fmt::Debug for SemanticResponses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemanticResponses")
            .field("embedder", &self.embedder.name())
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A cached answer: show it, labelled as cached, instead of running.
    Hit(CachedResponse),
    /// No answer yet: run, then hand this to [`SemanticResponses::store`].
    Miss(Pending),
    /// The cache could not be used this time (no embeddings API, a storage error): run
    /// as if it were off. The reason is for logs.
    Skipped(String),
}

/// A missed prompt, remembered (with its embedding) until its answer is known.
#[derive(Debug, Clone)]
pub struct Pending {
    scope: CacheScope,
    prompt: String,
    embedding: Vec<f32>,
}

impl SemanticResponses {
    /// Lookups embedded by `embedder` (the provider that would answer) in `cache`, with
    /// the default similarity threshold (0.95).
    pub fn new(embedder: Arc<dyn ModelProvider>, cache: Arc<dyn ResponseCache>) -> Self {
        SemanticResponses {
            embedder,
            cache,
            threshold: DEFAULT_SIMILARITY,
            embeddings: None,
        }
    }

    /// Another similarity threshold (cosine, exclusive).
    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Reuses embeddings from the L1 (a prompt embedded earlier in this process).
    pub fn with_embedding_cache(mut self, embeddings: EmbeddingCache) -> Self {
        self.embeddings = Some(embeddings);
        self
    }

    /// The cached answer to `prompt` in `scope`, if one is similar enough.
    pub async fn lookup(&self, scope: CacheScope, prompt: &str) -> Lookup {
        let embedding = match self.embed(prompt).await {
            Ok(embedding) => embedding,
            Err(reason) => {
                tracing::debug!("semantic cache skipped: {reason}");
                return Lookup::Skipped(reason);
            }
        };
        match self.cache.lookup(&scope, &embedding, self.threshold).await {
            Ok(Some(hit)) => Lookup::Hit(hit),
            Ok(None) => Lookup::Miss(Pending {
                scope,
                prompt: prompt.to_owned(),
                embedding,
            }),
            Err(error) => {
                tracing::warn!("semantic cache lookup failed: {error}");
                Lookup::Skipped(error.to_string())
            }
        }
    }

    /// Keeps the run's answer for `pending`'s prompt when [`cacheable`] says it may;
    /// returns whether it was kept.
    pub async fn store(&self, pending: Pending, outcome: &RunOutcome) -> Result<bool, CacheError> {
        if !cacheable(outcome) {
            return Ok(false);
        }
        self.cache
            .put(
                &pending.scope,
                &pending.prompt,
                &pending.embedding,
                &outcome.result,
            )
            .await?;
        Ok(true)
    }

    async fn embed(&self, prompt: &str) -> Result<Vec<f32>, String> {
        let texts = [prompt.to_owned()];
        let vectors = match &self.embeddings {
            Some(cache) => cache
                .embed(self.embedder.as_ref(), self.embedder.name(), &texts)
                .await
                .map(|v| v.into_iter().map(|v| v.to_vec()).collect::<Vec<_>>()),
            None => self.embedder.embed(&texts).await,
        }
        .map_err(|e| e.to_string())?;
        match vectors.into_iter().next() {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(format!("{} returned no embedding", self.embedder.name())),
        }
    }
}

/// Whether a run's answer may be cached: it completed in one model call (no tool calls)
/// with some text.
pub fn cacheable(outcome: &RunOutcome) -> bool {
    outcome.cause == StopCause::Completed && outcome.turns == 1 && !outcome.result.trim().is_empty()
}
