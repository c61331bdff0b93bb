//! The config sections of resilience: `retry`, `breaker` (and `providers.NAME.breaker`),
//! `routing` and `cache`. Kept apart from `config.rs`, which holds the layering; the composition
//! root turns them into a `cuervo_core::Resilience` (`setup/resilience.rs`).
//!
//! None of these is applied from an untrusted project's `.cuervo/config.yml`: a fallback
//! or a role model sends the conversation somewhere else, so `trust.rs` gates them all.

use std::collections::BTreeMap;
use std::time::Duration;

use cuervo_domain::RetryPolicy;
use cuervo_domain::resilience::BreakerConfig;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a failed model call is retried: one policy for every provider (the count can be set
/// per provider with `providers.NAME.max_retries`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// The backoff ceiling of the first retry, in milliseconds; doubles with each retry
    /// (the wait is random below it, so many clients do not retry in step).
    pub base_delay_ms: u64,
    /// The longest wait before a retry, in seconds. A provider asking for longer
    /// (`Retry-After`) is not waited for: the turn moves to the next model.
    pub max_delay_secs: u64,
    /// The most seconds one call may spend retrying one model before moving on.
    pub deadline_secs: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            base_delay_ms: 500,
            max_delay_secs: 30,
            deadline_secs: 180,
        }
    }
}

impl RetryConfig {
    /// The policy for a provider allowing `max_retries` retries.
    pub fn policy(&self, max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(self.base_delay_ms),
            max_delay: Duration::from_secs(self.max_delay_secs),
            deadline: Some(Duration::from_secs(self.deadline_secs)),
        }
    }
}

/// A circuit breaker: after `failure_threshold` failures in a row (server errors,
/// overload, timeouts, cut streams; never a bad key or a bad request) the provider is not
/// called for `timeout_secs`, then `half_open_requests` trial calls decide whether it is
/// back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSettings {
    pub failure_threshold: u32,
    pub timeout_secs: u64,
    pub half_open_requests: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        let config = BreakerConfig::default();
        Self {
            failure_threshold: config.failure_threshold,
            timeout_secs: config.timeout.as_secs(),
            half_open_requests: config.half_open_requests,
        }
    }
}

impl BreakerSettings {
    pub fn config(&self) -> BreakerConfig {
        BreakerConfig {
            failure_threshold: self.failure_threshold,
            timeout: Duration::from_secs(self.timeout_secs),
            half_open_requests: self.half_open_requests,
        }
    }
}

/// Which models answer when the chosen one cannot, and which model each kind of work
/// uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// Models tried, in order, when the chosen one fails, is paused by its breaker, or
    /// cannot serve a request (no tools, too small a window). Each is a model name as
    /// `--model` takes it (`openai/gpt-4.1`, `claude-sonnet-4-5`); `local` is the local
    /// provider's model when installed; `auto` is every other configured provider that
    /// has a key, with its own model. A fallback sends your conversation to that provider.
    pub fallback: Vec<String>,
    /// A model per kind of work: `explore`, `plan`, `edit`, `review`, `summarize`
    /// (compaction). Unset roles use the conversation's model.
    pub roles: BTreeMap<String, String>,
    /// No request goes to a model whose estimated cost for it (the input and the whole
    /// answer) is above this many US dollars.
    pub cost_ceiling_usd: Option<f64>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            fallback: vec!["local".into()],
            roles: BTreeMap::new(),
            cost_ceiling_usd: None,
        }
    }
}

impl RoutingConfig {
    /// What is wrong with these settings, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for role in self.roles.keys() {
            if cuervo_core::resilience::Role::from_name(role).is_none() {
                let known: Vec<&str> = cuervo_core::resilience::Role::ALL
                    .iter()
                    .map(|r| r.name())
                    .filter(|r| *r != "main")
                    .collect();
                problems.push(format!(
                    "routing.roles.{role}: unknown role; the roles are {}",
                    known.join(", ")
                ));
            }
        }
        if let Some(ceiling) = self.cost_ceiling_usd
            && !(ceiling.is_finite() && ceiling > 0.0)
        {
            problems.push(format!(
                "routing.cost_ceiling_usd must be a positive number of dollars, not {ceiling}"
            ));
        }
        problems
    }
}

/// The semantic answer cache (`cuervo -p` only): off unless asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Answer single prompts (`-p`) from the cache when a very similar one was answered by
    /// the same model, tools and system prompt (as `--semantic-cache` does).
    pub semantic: bool,
    /// Cosine similarity a prompt must exceed to be answered from the cache.
    pub similarity: f32,
    /// Hours an answer is served.
    pub ttl_hours: u64,
    /// The most megabytes of answers kept; the least recently used go first.
    pub max_mb: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            semantic: false,
            similarity: 0.95,
            ttl_hours: 24,
            max_mb: 1024,
        }
    }
}

impl CacheSettings {
    /// What is wrong with these settings, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(self.similarity > 0.0 && self.similarity <= 1.0) {
            problems.push(format!(
                "cache.similarity must be above 0 and at most 1, not {}",
                self.similarity
            ));
        }
        if self.ttl_hours == 0 || self.max_mb == 0 {
            problems.push("cache.ttl_hours and cache.max_mb must be at least 1".into());
        }
        problems
    }

    /// The cache's settings as the semantic cache takes them.
    pub fn semantic_settings(&self) -> crate::cache_wiring::SemanticSettings {
        crate::cache_wiring::SemanticSettings {
            similarity: self.similarity,
            ttl: Duration::from_secs(self.ttl_hours.saturating_mul(3600)),
            max_bytes: self.max_mb.saturating_mul(1 << 20),
        }
    }
}
