//! Never stranded: what keeps a turn going when a provider fails, slows down or
//! rate-limits.
//!
//! Every model call of every agent goes through one caller (`crate::turn`) that applies,
//! in this order: the [`Router`] (which models may answer, best first), the
//! [`Breakers`] (skip a provider that keeps failing, probe it again after a while), the
//! [`RetryPolicy`] (retry what may pass, honouring `Retry-After`, within a deadline) and
//! the fallback chain (the router's next model, with a `ModelFallback` event). The policy
//! is applied here once: adapters make one attempt per call.
//!
//! A [`Resilience`] is built once per process by the composition root and shared by every
//! agent, so a provider that failed for one agent is skipped by the next.

pub mod breakers;
pub mod router;

use std::collections::HashMap;
use std::sync::Arc;

use cuervo_domain::resilience::BreakerConfig;
use cuervo_domain::{Capabilities, RetryPolicy};

pub use breakers::{Breakers, TokioClock};
pub use router::{Needs, Role, Route, Router, Skipped, label};

/// The process-wide resilience settings and state, shared by every agent.
#[derive(Clone)]
pub struct Resilience {
    pub breakers: Arc<Breakers>,
    /// The retry policy of every model call; `retry_overrides` per provider name.
    pub retry: RetryPolicy,
    pub retry_overrides: HashMap<String, RetryPolicy>,
    pub router: Router,
}

impl Resilience {
    /// Default retries and breakers, no fallbacks: a lone agent (tests, tools).
    pub fn standalone() -> Self {
        Self {
            breakers: Arc::new(Breakers::new(
                BreakerConfig::default(),
                HashMap::new(),
                Arc::new(TokioClock),
            )),
            retry: RetryPolicy::default(),
            retry_overrides: HashMap::new(),
            router: Router::new(),
        }
    }

    /// The retry policy for calls to `provider`.
    pub fn retry_for(&self, provider: &str) -> RetryPolicy {
        self.retry_overrides
            .get(provider)
            .copied()
            .unwrap_or(self.retry)
    }
}

/// Why a fallback model may answer worse than the one it replaces, said for the user; `None`
/// when nothing suggests it.
pub fn weaker_note(
    from: &Capabilities,
    to_label: &str,
    to: &Capabilities,
    to_is_local: bool,
) -> Option<String> {
    // Only what is known to matter: a model's table entry may be a guess (an unknown
    // model gets default capabilities), so small differences are not worth a warning.
    let mut gaps = Vec::new();
    if to_is_local {
        gaps.push("it runs locally and is likely much smaller".to_owned());
    }
    if from.tools && !to.tools {
        gaps.push("it cannot use tools".to_owned());
    }
    if to.context_window.saturating_mul(2) <= from.context_window {
        gaps.push(format!(
            "its context window is much smaller ({}K tokens against {}K)",
            to.context_window / 1000,
            from.context_window / 1000
        ));
    }
    (!gaps.is_empty())
        .then(|| format!("expect weaker answers from {to_label}: {}", gaps.join("; ")))
}
