//! The L1 cache: its weight bound holds under a flood, entries expire, the capability
//! decorator and the embedding cache save calls; the semantic cache's single-shot policy.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cuervo_core::RunOutcome;
use cuervo_core::cache::{
    CacheConfig, CachedCapabilities, CapabilitiesCache, EmbeddingCache, Lookup, MemoryCache,
    SearchCache, SemanticResponses, Weigh, semantic::cacheable,
};
use cuervo_domain::cache::cosine;
use cuervo_domain::{
    BoxFuture, CacheError, CacheScope, CachedResponse, Capabilities, ChunkStream, Cost, ModelError,
    ModelErrorKind, ModelProvider, ModelRequest, ResponseCache, StopCause, Usage,
};
use pretty_assertions::assert_eq;

const MB: u64 = 1024 * 1024;

#[test]
fn weights_are_bytes() {
    assert_eq!(vec![0f32; 1000].weight(), 24 + 4000);
    assert_eq!(String::from("hello").weight(), 24 + 5);
    let shared: Arc<[f32]> = vec![0f32; 10].into();
    assert_eq!(shared.weight(), 16 + 40);
    assert_eq!(
        vec![String::from("ab"), String::from("c")].weight(),
        24 + (24 + 2) + (24 + 1)
    );
}

#[test]
fn the_weight_bound_holds_under_a_flood_of_inserts() {
    let cache: MemoryCache<u64, Arc<Vec<f32>>> = MemoryCache::new(CacheConfig {
        max_bytes: 100 * MB,
        ttl: Duration::from_secs(300),
    });
    // One megabyte of floats, shared so the test itself stays small: each entry still
    // weighs the whole megabyte, as it would keep it alive.
    let megabyte = Arc::new(vec![0.5f32; 256 * 1024]);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (cache, megabyte) = (&cache, &megabyte);
            s.spawn(move || {
                for i in 0..750 {
                    cache.insert(t * 1_000 + i, megabyte.clone());
                }
            });
        }
    });
    cache.run_pending_tasks();
    let stats = cache.stats();
    assert!(
        stats.weighted_bytes <= 100 * MB,
        "{} bytes kept over a 100 MB bound",
        stats.weighted_bytes
    );
    assert!(
        stats.entries <= 100,
        "{} one-megabyte entries",
        stats.entries
    );
    assert!(stats.entries > 0, "the cache still holds something");

    // A value heavier than the whole bound is never kept.
    let small: MemoryCache<u64, Vec<u8>> = MemoryCache::new(CacheConfig {
        max_bytes: 1_000,
        ttl: Duration::from_secs(300),
    });
    small.insert(1, vec![0u8; 5_000]);
    small.run_pending_tasks();
    assert_eq!(small.get(&1), None);
    assert!(small.stats().weighted_bytes <= 1_000);
}

#[test]
fn entries_expire_after_the_ttl() {
    let cache: MemoryCache<String, String> = MemoryCache::new(CacheConfig {
        max_bytes: MB,
        ttl: Duration::from_millis(100),
    });
    cache.insert("k".into(), "v".into());
    assert_eq!(cache.get(&"k".into()).as_deref(), Some("v"));
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(cache.get(&"k".into()), None, "expired");
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));

    cache.insert("a".into(), "b".into());
    cache.clear();
    assert_eq!(cache.get(&"a".into()), None);
}

#[test]
fn search_results_are_shared_by_key() {
    let cache: SearchCache<String> = SearchCache::new(CacheConfig::default());
    assert!(cache.get("grep:/p:foo").is_none());
    cache.insert("grep:/p:foo", vec!["src/a.rs:1".into()]);
    assert_eq!(
        cache.get("grep:/p:foo").unwrap().as_slice(),
        ["src/a.rs:1".to_owned()]
    );
    assert!(cache.get("grep:/p:bar").is_none());
    assert_eq!(cache.stats().hits, 1);
}

/// A provider that counts its probes and embeddings, and embeds a text as a fixed vector
/// (or has no embeddings API).
#[derive(Default)]
struct Counting {
    probes: AtomicUsize,
    embedded: Mutex<Vec<String>>,
    vectors: HashMap<String, Vec<f32>>,
    no_embed: bool,
}

impl ModelProvider for Counting {
    fn name(&self) -> &str {
        "counting"
    }

    fn capabilities(&self, _model: &str) -> Capabilities {
        Capabilities::default()
    }

    fn probe_capabilities<'a>(&'a self, model: &'a str) -> BoxFuture<'a, Capabilities> {
        self.probes.fetch_add(1, Ordering::SeqCst);
        let context_window = if model == "big" { 1_000_000 } else { 4_096 };
        Box::pin(async move {
            Capabilities {
                context_window,
                ..Capabilities::default()
            }
        })
    }

    fn invoke(&self, _request: ModelRequest) -> ChunkStream {
        Box::pin(futures::stream::empty())
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ModelError>> {
        Box::pin(async move {
            if self.no_embed {
                return Err(ModelError::new(
                    "counting",
                    ModelErrorKind::InvalidRequest,
                    "this provider has no embeddings API",
                ));
            }
            self.embedded.lock().unwrap().extend(texts.iter().cloned());
            Ok(texts
                .iter()
                .map(|t| {
                    self.vectors
                        .get(t)
                        .cloned()
                        .unwrap_or_else(|| vec![t.len() as f32, 1.0])
                })
                .collect())
        })
    }

    fn is_available(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }

    fn estimate_cost(&self, _request: &ModelRequest) -> Option<Cost> {
        None
    }

    fn cost(&self, _model: &str, _usage: &Usage) -> Option<Cost> {
        Some(Cost { micro_usd: 7 })
    }
}

#[tokio::test]
async fn the_capabilities_decorator_caches_probes() {
    let inner = Arc::new(Counting::default());
    let cache = CapabilitiesCache::new(CacheConfig::default());
    let provider = CachedCapabilities::new(inner.clone(), cache.clone());

    assert_eq!(
        provider.capabilities("big").context_window,
        128_000,
        "table"
    );
    assert_eq!(
        provider.probe_capabilities("big").await.context_window,
        1_000_000
    );
    assert_eq!(
        provider.probe_capabilities("big").await.context_window,
        1_000_000
    );
    assert_eq!(
        inner.probes.load(Ordering::SeqCst),
        1,
        "second probe cached"
    );
    assert_eq!(
        provider.capabilities("big").context_window,
        1_000_000,
        "the probed answer wins once known"
    );
    assert_eq!(
        provider.probe_capabilities("small").await.context_window,
        4_096
    );
    assert_eq!(inner.probes.load(Ordering::SeqCst), 2, "per model");

    // Another provider value sharing the cache reuses it; everything else delegates.
    let again = CachedCapabilities::new(inner.clone(), cache.clone());
    again.probe_capabilities("small").await;
    assert_eq!(inner.probes.load(Ordering::SeqCst), 2);
    assert_eq!(again.name(), "counting");
    assert_eq!(
        again.cost("m", &Usage::default()),
        Some(Cost { micro_usd: 7 })
    );
    assert!(again.is_available().await);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (2, 2));
}

#[tokio::test]
async fn the_embedding_cache_sends_only_misses() {
    let provider = Counting::default();
    let cache = EmbeddingCache::new(CacheConfig::default());
    let texts = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let first = cache
        .embed(&provider, "counting", &texts(&["a", "bb"]))
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    let second = cache
        .embed(&provider, "counting", &texts(&["bb", "ccc", "a"]))
        .await
        .unwrap();
    assert_eq!(
        second.iter().map(|v| v[0]).collect::<Vec<_>>(),
        [2.0, 3.0, 1.0],
        "in order"
    );
    assert_eq!(*provider.embedded.lock().unwrap(), ["a", "bb", "ccc"]);
    // Another embedding model is another vector space.
    cache
        .embed(&provider, "other", &texts(&["a"]))
        .await
        .unwrap();
    assert_eq!(provider.embedded.lock().unwrap().len(), 4);
}

/// An in-memory `ResponseCache` with the port's rules (scope, threshold).
#[derive(Default)]
struct MemoryResponses(Mutex<Vec<(CacheScope, Vec<f32>, String)>>);

impl ResponseCache for MemoryResponses {
    fn lookup<'a>(
        &'a self,
        scope: &'a CacheScope,
        embedding: &'a [f32],
        threshold: f32,
    ) -> BoxFuture<'a, Result<Option<CachedResponse>, CacheError>> {
        let found = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _, _)| s == scope)
            .map(|(_, e, r)| (cosine(e, embedding), r.clone()))
            .filter(|(sim, _)| *sim > threshold)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(similarity, response)| CachedResponse {
                response,
                similarity,
                created_at_ms: 0,
            });
        Box::pin(async move { Ok(found) })
    }

    fn put<'a>(
        &'a self,
        scope: &'a CacheScope,
        _prompt: &'a str,
        embedding: &'a [f32],
        response: &'a str,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        self.0
            .lock()
            .unwrap()
            .push((scope.clone(), embedding.to_vec(), response.to_owned()));
        Box::pin(async { Ok(()) })
    }
}

fn outcome(turns: u32, result: &str) -> RunOutcome {
    RunOutcome {
        cause: StopCause::Completed,
        turns,
        usage: Usage::default(),
        result: result.into(),
    }
}

#[tokio::test]
async fn single_shot_answers_are_kept_and_found_again() {
    let provider = Arc::new(Counting {
        vectors: HashMap::from([
            ("what is rust?".into(), vec![1.0, 0.0]),
            ("what's rust?".into(), vec![0.99, 0.141]),
            ("list the files".into(), vec![0.0, 1.0]),
        ]),
        ..Counting::default()
    });
    let store = Arc::new(MemoryResponses::default());
    let semantic = SemanticResponses::new(provider.clone(), store.clone());
    let scope = CacheScope::new("counting", "m", &[], Some("sys"));

    let Lookup::Miss(pending) = semantic.lookup(scope.clone(), "what is rust?").await else {
        panic!("an empty cache misses");
    };
    assert!(
        semantic
            .store(pending, &outcome(1, "A language."))
            .await
            .unwrap()
    );

    let Lookup::Hit(hit) = semantic.lookup(scope.clone(), "what's rust?").await else {
        panic!("a similar prompt hits");
    };
    assert_eq!(hit.response, "A language.");
    assert!(hit.similarity > 0.95);

    let other_model = CacheScope::new("counting", "m2", &[], Some("sys"));
    assert!(matches!(
        semantic.lookup(other_model, "what is rust?").await,
        Lookup::Miss(_)
    ));

    // An answer that needed tools is not kept.
    let Lookup::Miss(pending) = semantic.lookup(scope.clone(), "list the files").await else {
        panic!("a different prompt misses");
    };
    assert!(
        !semantic
            .store(pending, &outcome(2, "a.rs b.rs"))
            .await
            .unwrap()
    );
    assert_eq!(store.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn no_embeddings_api_means_no_caching() {
    let provider = Arc::new(Counting {
        no_embed: true,
        ..Counting::default()
    });
    let semantic = SemanticResponses::new(provider, Arc::new(MemoryResponses::default()));
    let scope = CacheScope::new("counting", "m", &[], None);
    let Lookup::Skipped(reason) = semantic.lookup(scope, "q").await else {
        panic!("skipped");
    };
    assert!(reason.contains("no embeddings API"), "{reason}");
}

#[test]
fn only_completed_one_call_answers_are_cacheable() {
    assert!(cacheable(&outcome(1, "yes")));
    assert!(!cacheable(&outcome(2, "yes")), "tools ran");
    assert!(!cacheable(&outcome(1, "  ")), "empty");
    let mut cut = outcome(1, "yes");
    cut.cause = StopCause::Cancelled;
    assert!(!cacheable(&cut));
}
