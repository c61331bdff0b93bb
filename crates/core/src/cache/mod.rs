//! The L1 cache: in memory, per process, bounded by weight (bytes), not by entry count.
//!
//! A count bound cannot protect memory when entries differ by orders of magnitude (a
//! capability record is a few dozen bytes, a 3072-dimension embedding 12 KB, a search
//! result list can be megabytes), so every cached value says what it weighs through
//! [`Weigh`] and a cache holds at most [`CacheConfig::max_bytes`] of them (100 MB by
//! default). Entries live [`CacheConfig::ttl`] (5 minutes by default): long enough to
//! save repeated work within a task, short enough that a changed file or model list is
//! not hidden for long.
//!
//! Built on `moka`'s synchronous cache (TinyLFU admission, LRU eviction). Its bookkeeping
//! runs in batches, so the weight bound holds once pending work has run
//! ([`MemoryCache::run_pending_tasks`]); between batches it may be exceeded briefly.
//!
//! The typed caches the rest of the code uses are in [`typed`]: [`EmbeddingCache`],
//! [`SearchCache`] and the [`CachedCapabilities`] provider decorator. The semantic response
//! cache's policy (single-shot only) is in [`semantic`]; its storage is L2, in `store`.

pub mod semantic;
pub mod typed;

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cuervo_domain::Capabilities;

pub use semantic::{Lookup, Pending, SemanticResponses};
pub use typed::{CachedCapabilities, CapabilitiesCache, EmbeddingCache, EmbeddingKey, SearchCache};

/// Default bound of one L1 cache: 100 MB.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;
/// Default time an L1 entry lives: 5 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// Approximately how many bytes a value holds, its heap included. Used only to bound a
/// cache, so an estimate within a few dozen bytes is fine.
pub trait Weigh {
    /// The weight of every value of the type, for types without heap data (numbers):
    /// lets a slice of them be weighed by its length instead of element by element.
    const FLAT: Option<usize> = None;

    /// The value's weight in bytes.
    fn weight(&self) -> usize;
}

macro_rules! weigh_by_size {
    ($($t:ty),*) => {$(
        impl Weigh for $t {
            const FLAT: Option<usize> = Some(std::mem::size_of::<$t>());

            fn weight(&self) -> usize {
                std::mem::size_of::<$t>()
            }
        }
    )*};
}
weigh_by_size!(u8, u16, u32, u64, usize, i32, i64, f32, f64, bool, char);

impl Weigh for str {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weigh for String {
    fn weight(&self) -> usize {
        std::mem::size_of::<String>() + self.len()
    }
}

impl<T: Weigh> Weigh for [T] {
    /// `len * size` for numbers (a `Vec<f32>` weighs `len * 4`), else the sum.
    fn weight(&self) -> usize {
        match T::FLAT {
            Some(each) => self.len().saturating_mul(each),
            None => self.iter().map(Weigh::weight).sum(),
        }
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weight(&self) -> usize {
        std::mem::size_of::<Vec<T>>() + self.as_slice().weight()
    }
}

impl<T: Weigh + ?Sized> Weigh for Arc<T> {
    /// The whole shared value: what the cache keeps alive.
    fn weight(&self) -> usize {
        std::mem::size_of::<Arc<T>>() + T::weight(self)
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weight(&self) -> usize {
        std::mem::size_of::<Option<T>>() + self.as_ref().map_or(0, |v| v.weight())
    }
}

impl<A: Weigh, B: Weigh> Weigh for (A, B) {
    fn weight(&self) -> usize {
        self.0.weight() + self.1.weight()
    }
}

impl Weigh for Capabilities {
    fn weight(&self) -> usize {
        std::mem::size_of::<Capabilities>()
    }
}

impl Weigh for serde_json::Value {
    /// The serialised length: close to what the parsed form holds, cheap to reason about.
    fn weight(&self) -> usize {
        std::mem::size_of::<serde_json::Value>() + self.to_string().len()
    }
}

/// The bound and lifetime of one cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// The most bytes (by [`Weigh`], keys included) the cache holds.
    pub max_bytes: u64,
    /// How long an entry is served after it was inserted.
    pub ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_bytes: DEFAULT_MAX_BYTES,
            ttl: DEFAULT_TTL,
        }
    }
}

/// What one cache holds and how well it serves, for `cuervo cache stats` and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStats {
    pub entries: u64,
    /// The weight of the entries, in bytes.
    pub weighted_bytes: u64,
    pub max_bytes: u64,
    pub hits: u64,
    pub misses: u64,
}

/// A weighted, expiring in-memory cache. Cheap to clone: clones share the entries and
/// the counters.
#[derive(Clone)]
pub struct MemoryCache<K, V> {
    inner: moka::sync::Cache<K, V>,
    counters: Arc<Counters>,
    config: CacheConfig,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K, V> std::fmt::Debug for MemoryCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("config", &self.config)
            .field("entries", &self.inner.entry_count())
            .field("weighted_bytes", &self.inner.weighted_size())
            .finish_non_exhaustive()
    }
}

impl<K, V> MemoryCache<K, V>
where
    K: Weigh + Hash + Eq + Send + Sync + 'static,
    V: Weigh + Clone + Send + Sync + 'static,
{
    /// A cache with this bound and lifetime.
    pub fn new(config: CacheConfig) -> Self {
        let inner = moka::sync::Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(|key: &K, value: &V| {
                // moka weighs in u32; anything larger is over any sane bound anyway.
                u32::try_from(key.weight().saturating_add(value.weight())).unwrap_or(u32::MAX)
            })
            .time_to_live(config.ttl)
            .build();
        MemoryCache {
            inner,
            counters: Arc::default(),
            config,
        }
    }

    /// The value for `key`, if cached and not expired; counts a hit or a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        let found = self.inner.get(key);
        let counter = if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The value for `key` without counting a hit or a miss (a second look at what an
    /// earlier lookup decided).
    pub fn peek(&self, key: &K) -> Option<V> {
        self.inner.get(key)
    }

    /// Caches `value` for `key`, replacing an earlier one. A value heavier than the whole
    /// bound is not kept.
    pub fn insert(&self, key: K, value: V) {
        self.inner.insert(key, value);
    }

    /// Drops `key`'s value.
    pub fn invalidate(&self, key: &K) {
        self.inner.invalidate(key);
    }

    /// Drops every value (the counters are kept).
    pub fn clear(&self) {
        self.inner.invalidate_all();
        self.inner.run_pending_tasks();
    }

    /// Runs the cache's pending bookkeeping now: evictions to the bound, expiries. The
    /// bound holds after this returns.
    pub fn run_pending_tasks(&self) {
        self.inner.run_pending_tasks();
    }

    /// The bound and lifetime in use.
    pub fn config(&self) -> CacheConfig {
        self.config
    }

    /// Entries, weight and hit counts, as of the last bookkeeping run.
    pub fn stats(&self) -> MemoryStats {
        MemoryStats {
            entries: self.inner.entry_count(),
            weighted_bytes: self.inner.weighted_size(),
            max_bytes: self.config.max_bytes,
            hits: self.counters.hits.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
        }
    }
}
