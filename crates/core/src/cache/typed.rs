//! The L1 caches the rest of the code calls: embeddings, search results and model
//! capabilities, each a [`MemoryCache`] with its own key.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, Cost, ModelError, ModelProvider, ModelRequest, Usage,
};

use super::{CacheConfig, MemoryCache, MemoryStats, Weigh};

/// An embedding's key: the embedding model and a 128-bit hash of the text. The text
/// itself is not kept (it can be larger than its vector); two 64-bit SipHashes of it
/// make a collision as unlikely as a 128-bit hash, and the cache lives one process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmbeddingKey {
    /// Whatever names the vector space: `provider/model`, or the provider's name when it
    /// picks its own embedding model.
    pub model: String,
    pub text_hash: u128,
}

impl EmbeddingKey {
    /// The key of `text` embedded by `model`.
    pub fn new(model: &str, text: &str) -> EmbeddingKey {
        let half = |salt: u8| {
            let mut hasher = std::hash::DefaultHasher::new();
            salt.hash(&mut hasher);
            text.hash(&mut hasher);
            hasher.finish()
        };
        EmbeddingKey {
            model: model.to_owned(),
            text_hash: (u128::from(half(0)) << 64) | u128::from(half(1)),
        }
    }
}

impl Weigh for EmbeddingKey {
    fn weight(&self) -> usize {
        std::mem::size_of::<EmbeddingKey>() + self.model.len()
    }
}

/// Embeddings already computed in this process, so the same chunk or prompt is not sent
/// to the embedding model twice within the TTL.
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    cache: MemoryCache<EmbeddingKey, Arc<[f32]>>,
}

impl EmbeddingCache {
    /// An embedding cache with this bound and lifetime.
    pub fn new(config: CacheConfig) -> EmbeddingCache {
        EmbeddingCache {
            cache: MemoryCache::new(config),
        }
    }

    /// The cached embedding of `text` by `model`.
    pub fn get(&self, model: &str, text: &str) -> Option<Arc<[f32]>> {
        self.cache.get(&EmbeddingKey::new(model, text))
    }

    /// Caches the embedding of `text` by `model`.
    pub fn insert(&self, model: &str, text: &str, vector: impl Into<Arc<[f32]>>) {
        self.cache
            .insert(EmbeddingKey::new(model, text), vector.into());
    }

    /// The embeddings of `texts` (one each, in order) by `provider`, which `model` names:
    /// cached ones from the cache, the others in one call to the provider, then cached.
    pub async fn embed(
        &self,
        provider: &dyn ModelProvider,
        model: &str,
        texts: &[String],
    ) -> Result<Vec<Arc<[f32]>>, ModelError> {
        let mut found: Vec<Option<Arc<[f32]>>> = texts.iter().map(|t| self.get(model, t)).collect();
        let missing: Vec<String> = texts
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(t, _)| t.clone())
            .collect();
        if !missing.is_empty() {
            let vectors = provider.embed(&missing).await?;
            if vectors.len() != missing.len() {
                return Err(ModelError::new(
                    provider.name(),
                    cuervo_domain::ModelErrorKind::InvalidRequest,
                    format!(
                        "asked for {} embeddings, got {}",
                        missing.len(),
                        vectors.len()
                    ),
                ));
            }
            let mut vectors = vectors.into_iter();
            for (text, slot) in texts.iter().zip(found.iter_mut()) {
                if slot.is_none()
                    && let Some(vector) = vectors.next()
                {
                    let vector: Arc<[f32]> = vector.into();
                    self.insert(model, text, vector.clone());
                    *slot = Some(vector);
                }
            }
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// Entries, weight and hit counts.
    pub fn stats(&self) -> MemoryStats {
        self.cache.stats()
    }

    /// The underlying cache (bookkeeping, clearing).
    pub fn memory(&self) -> &MemoryCache<EmbeddingKey, Arc<[f32]>> {
        &self.cache
    }
}

/// Search results by query, so the same search within a task (the model often repeats
/// one) is answered without scanning again. The key is the caller's: it must name
/// everything the results depend on (root, query, options).
#[derive(Debug, Clone)]
pub struct SearchCache<T> {
    cache: MemoryCache<String, Arc<Vec<T>>>,
}

impl<T: Weigh + Send + Sync + 'static> SearchCache<T> {
    /// A search cache with this bound and lifetime.
    pub fn new(config: CacheConfig) -> SearchCache<T> {
        SearchCache {
            cache: MemoryCache::new(config),
        }
    }

    /// The cached results for `key`.
    pub fn get(&self, key: &str) -> Option<Arc<Vec<T>>> {
        self.cache.get(&key.to_owned())
    }

    /// Caches `results` for `key`; returns them shared.
    pub fn insert(&self, key: impl Into<String>, results: Vec<T>) -> Arc<Vec<T>> {
        let results = Arc::new(results);
        self.cache.insert(key.into(), results.clone());
        results
    }

    /// Entries, weight and hit counts.
    pub fn stats(&self) -> MemoryStats {
        self.cache.stats()
    }

    /// The underlying cache (bookkeeping, clearing, invalidating after a write).
    pub fn memory(&self) -> &MemoryCache<String, Arc<Vec<T>>> {
        &self.cache
    }
}

/// Capabilities probed from providers, by (provider name, model). One cache can serve
/// every provider of a process.
pub type CapabilitiesCache = MemoryCache<(String, String), Capabilities>;

/// A provider whose [`ModelProvider::probe_capabilities`] answers are cached in the L1:
/// a probe can be a network call (Ollama's `/api/show`), and the model list, the router
/// and the session service all ask. Everything else goes to the wrapped provider.
#[derive(Clone)]
pub struct CachedCapabilities {
    inner: Arc<dyn ModelProvider>,
    cache: CapabilitiesCache,
}

impl std::fmt::Debug for CachedCapabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedCapabilities")
            .field("provider", &self.inner.name())
            .field("cache", &self.cache)
            .finish()
    }
}

impl CachedCapabilities {
    /// `inner` with its probes cached in `cache` (shareable between providers).
    pub fn new(inner: Arc<dyn ModelProvider>, cache: CapabilitiesCache) -> CachedCapabilities {
        CachedCapabilities { inner, cache }
    }

    fn key(&self, model: &str) -> (String, String) {
        (self.inner.name().to_owned(), model.to_owned())
    }
}

impl ModelProvider for CachedCapabilities {
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// A probed answer when one is cached (it is the better one), else the provider's
    /// own tables.
    fn capabilities(&self, model: &str) -> Capabilities {
        self.cache
            .peek(&self.key(model))
            .unwrap_or_else(|| self.inner.capabilities(model))
    }

    fn probe_capabilities<'a>(&'a self, model: &'a str) -> BoxFuture<'a, Capabilities> {
        Box::pin(async move {
            let key = self.key(model);
            if let Some(found) = self.cache.get(&key) {
                return found;
            }
            let probed = self.inner.probe_capabilities(model).await;
            self.cache.insert(key, probed.clone());
            probed
        })
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        self.inner.invoke(request)
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ModelError>> {
        self.inner.embed(texts)
    }

    fn is_available(&self) -> BoxFuture<'_, bool> {
        self.inner.is_available()
    }

    fn estimate_cost(&self, request: &ModelRequest) -> Option<Cost> {
        self.inner.estimate_cost(request)
    }

    fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        self.inner.cost(model, usage)
    }
}
