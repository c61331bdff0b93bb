//! The process-wide registry of circuit breakers, one per provider.
//!
//! One registry per process, shared (`Arc<Breakers>`) by every agent, so that when one
//! agent learns a provider is down, the others stop calling it too instead of each
//! paying its own five failures. The state machine itself is the domain's
//! [`CircuitBreaker`]; this type adds the sharing, the per-provider configuration and
//! the clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use cuervo_domain::ModelErrorKind;
use cuervo_domain::resilience::{Admission, BreakerConfig, BreakerState, CircuitBreaker, Clock};

/// The production [`Clock`]: tokio's time, as a `std` instant. Under a runtime whose
/// clock is paused (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`) it is
/// a fake clock for free; outside a runtime it is the system's monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// Every provider's circuit breaker, keyed by provider name (the name in the config,
/// e.g. `anthropic`). A provider's breaker is created on first use, closed.
///
/// One mutex over the whole map: each operation is a hash lookup and a few comparisons,
/// far shorter than the model call it guards, so there is nothing to gain from finer
/// locks. The clock is read under the lock, so the breakers see time in the order their
/// operations happen.
pub struct Breakers {
    default: BreakerConfig,
    overrides: HashMap<String, BreakerConfig>,
    clock: Arc<dyn Clock>,
    breakers: Mutex<HashMap<String, CircuitBreaker>>,
}

impl std::fmt::Debug for Breakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breakers")
            .field("default", &self.default)
            .field("overrides", &self.overrides)
            .field("breakers", &self.states())
            .finish_non_exhaustive()
    }
}

impl Breakers {
    /// A registry where each provider's breaker runs with `default`, unless `overrides`
    /// names the provider (a local model that restarts in seconds, a provider known to
    /// flap).
    pub fn new(
        default: BreakerConfig,
        overrides: HashMap<String, BreakerConfig>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            default,
            overrides,
            clock,
            breakers: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration `provider`'s breaker runs with.
    pub fn config(&self, provider: &str) -> BreakerConfig {
        self.overrides
            .get(provider)
            .copied()
            .unwrap_or(self.default)
    }

    /// May a call go to `provider` now? An allowed call must be followed by one of the
    /// `record_*` methods once it ends, or a half-open breaker keeps its trial slot.
    pub fn admit(&self, provider: &str) -> Admission {
        self.with(provider, |breaker, now| breaker.admit(now))
    }

    /// The provider answered an admitted call in full.
    pub fn record_success(&self, provider: &str) {
        self.with(provider, |breaker, now| breaker.record_success(now));
    }

    /// An admitted call failed; the kind decides whether it counts
    /// ([`trips_breaker`](cuervo_domain::resilience::trips_breaker)).
    pub fn record_failure(&self, provider: &str, kind: &ModelErrorKind) {
        self.with(provider, |breaker, now| breaker.record_failure(kind, now));
    }

    /// An admitted call ended without an outcome (the user cancelled it): frees its
    /// half-open slot, counts nothing.
    pub fn record_abandoned(&self, provider: &str) {
        self.with(provider, |breaker, now| breaker.record_abandoned(now));
    }

    /// [`admit`](Self::admit) with the outcome bound to a guard: the returned
    /// [`BreakerCall`] records the call as abandoned if it is dropped without
    /// [`success`](BreakerCall::success) or [`failure`](BreakerCall::failure). Cancellation
    /// here is by drop (a cancelled turn drops its in-flight future), and a half-open trial
    /// slot that is never given back stays taken for good: three such drops and the
    /// breaker would reject the provider forever. `Err` carries the time the breaker stays
    /// open (zero when half-open with every trial slot taken).
    pub fn begin<'a>(&'a self, provider: &'a str) -> Result<BreakerCall<'a>, Duration> {
        match self.admit(provider) {
            Admission::Allowed => Ok(BreakerCall {
                breakers: self,
                provider,
                done: false,
            }),
            Admission::Rejected { retry_in } => Err(retry_in),
        }
    }

    /// `provider`'s state now; closed for a provider never called.
    pub fn state(&self, provider: &str) -> BreakerState {
        let breakers = self.lock();
        let now = self.clock.now();
        breakers
            .get(provider)
            .map_or(BreakerState::Closed, |breaker| breaker.state(now))
    }

    /// Every provider called so far with its state now, sorted by name: for a status
    /// line and metrics.
    pub fn states(&self) -> Vec<(String, BreakerState)> {
        let breakers = self.lock();
        let now = self.clock.now();
        let mut states: Vec<_> = breakers
            .iter()
            .map(|(name, breaker)| (name.clone(), breaker.state(now)))
            .collect();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        states
    }

    fn with<T>(&self, provider: &str, f: impl FnOnce(&mut CircuitBreaker, Instant) -> T) -> T {
        let mut breakers = self.lock();
        let now = self.clock.now();
        // `get_mut` first: the common case allocates nothing.
        if let Some(breaker) = breakers.get_mut(provider) {
            return f(breaker, now);
        }
        let breaker = breakers
            .entry(provider.to_owned())
            .or_insert_with(|| CircuitBreaker::new(self.config(provider)));
        f(breaker, now)
    }

    /// The map, even after a panic elsewhere while it was held: every breaker operation
    /// leaves its breaker consistent (no operation panics halfway), so the data is sound.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, CircuitBreaker>> {
        self.breakers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An admitted call to one provider, from [`Breakers::begin`]. Record how it ended with
/// [`success`](Self::success) or [`failure`](Self::failure); dropped without either, it
/// counts as abandoned (frees its half-open slot, counts nothing).
#[must_use = "dropping the call at once records it as abandoned"]
#[derive(Debug)]
pub struct BreakerCall<'a> {
    breakers: &'a Breakers,
    provider: &'a str,
    done: bool,
}

impl BreakerCall<'_> {
    /// The provider answered in full.
    pub fn success(mut self) {
        self.done = true;
        self.breakers.record_success(self.provider);
    }

    /// The call failed with `kind`.
    pub fn failure(mut self, kind: &ModelErrorKind) {
        self.done = true;
        self.breakers.record_failure(self.provider, kind);
    }
}

impl Drop for BreakerCall<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breakers.record_abandoned(self.provider);
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    /// A clock that moves only when told.
    struct ManualClock(Mutex<Instant>);

    impl ManualClock {
        fn new() -> Arc<Self> {
            Arc::new(Self(Mutex::new(Instant::now())))
        }

        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
    }

    fn quick(threshold: u32, timeout_ms: u64) -> BreakerConfig {
        BreakerConfig {
            failure_threshold: threshold,
            timeout: Duration::from_millis(timeout_ms),
            half_open_requests: 1,
        }
    }

    fn fail(breakers: &Breakers, provider: &str, kind: ModelErrorKind) {
        assert_eq!(breakers.admit(provider), Admission::Allowed);
        breakers.record_failure(provider, &kind);
    }

    #[test]
    fn providers_have_separate_breakers() {
        let clock = ManualClock::new();
        let breakers = Breakers::new(quick(2, 1_000), HashMap::new(), clock.clone());
        fail(&breakers, "anthropic", ModelErrorKind::Server);
        fail(&breakers, "anthropic", ModelErrorKind::Server);
        assert_eq!(
            breakers.admit("anthropic"),
            Admission::Rejected {
                retry_in: Duration::from_secs(1)
            }
        );
        assert_eq!(breakers.admit("openai"), Admission::Allowed);
        assert_eq!(breakers.state("never-called"), BreakerState::Closed);
    }

    #[test]
    fn overrides_apply_to_their_provider_only() {
        let clock = ManualClock::new();
        let overrides = HashMap::from([("ollama".to_owned(), quick(1, 200))]);
        let breakers = Breakers::new(quick(3, 5_000), overrides, clock.clone());
        assert_eq!(breakers.config("ollama"), quick(1, 200));
        assert_eq!(breakers.config("anthropic"), quick(3, 5_000));

        fail(&breakers, "ollama", ModelErrorKind::Network);
        fail(&breakers, "anthropic", ModelErrorKind::Network);
        assert_eq!(
            breakers.states(),
            vec![
                ("anthropic".to_owned(), BreakerState::Closed),
                (
                    "ollama".to_owned(),
                    BreakerState::Open {
                        retry_in: Duration::from_millis(200)
                    }
                ),
            ]
        );
    }

    #[test]
    fn time_comes_from_the_clock() {
        let clock = ManualClock::new();
        let breakers = Breakers::new(quick(1, 1_000), HashMap::new(), clock.clone());
        fail(&breakers, "p", ModelErrorKind::Server);
        clock.advance(Duration::from_millis(300));
        assert_eq!(
            breakers.state("p"),
            BreakerState::Open {
                retry_in: Duration::from_millis(700)
            }
        );
        clock.advance(Duration::from_millis(700));
        assert_eq!(breakers.state("p"), BreakerState::HalfOpen);
        assert_eq!(breakers.admit("p"), Admission::Allowed);
        // One trial slot, taken.
        assert_eq!(
            breakers.admit("p"),
            Admission::Rejected {
                retry_in: Duration::ZERO
            }
        );
        breakers.record_abandoned("p");
        assert_eq!(breakers.admit("p"), Admission::Allowed);
        breakers.record_success("p");
        assert_eq!(breakers.state("p"), BreakerState::Closed);
    }

    #[test]
    fn shared_by_every_agent_across_threads() {
        let clock = ManualClock::new();
        let breakers = Arc::new(Breakers::new(
            quick(8, 1_000),
            HashMap::new(),
            clock.clone(),
        ));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let breakers = Arc::clone(&breakers);
                std::thread::spawn(move || {
                    for _ in 0..2 {
                        fail(&breakers, "p", ModelErrorKind::Server);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Eight failures from four agents open the one shared breaker.
        assert_eq!(
            breakers.state("p"),
            BreakerState::Open {
                retry_in: Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn a_dropped_call_gives_its_half_open_slot_back() {
        let clock = ManualClock::new();
        let breakers = Breakers::new(quick(1, 1_000), HashMap::new(), clock.clone());
        fail(&breakers, "p", ModelErrorKind::Server);
        assert_eq!(breakers.begin("p").err(), Some(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        for _ in 0..5 {
            // A cancelled turn drops its call: the one trial slot comes back each time.
            let call = breakers.begin("p").unwrap();
            assert_eq!(breakers.begin("p").err(), Some(Duration::ZERO));
            drop(call);
        }
        breakers.begin("p").unwrap().success();
        assert_eq!(breakers.state("p"), BreakerState::Closed);
        // Recorded outcomes are not also recorded as abandoned on drop.
        breakers
            .begin("p")
            .unwrap()
            .failure(&ModelErrorKind::Server);
        assert!(matches!(breakers.state("p"), BreakerState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let breakers = Breakers::new(quick(1, 30_000), HashMap::new(), Arc::new(TokioClock));
        fail(
            &breakers,
            "p",
            ModelErrorKind::RateLimited {
                retry_after_ms: Some(2_000),
            },
        );
        tokio::time::advance(Duration::from_millis(1_500)).await;
        assert_eq!(
            breakers.state("p"),
            BreakerState::Open {
                retry_in: Duration::from_millis(500)
            }
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(breakers.state("p"), BreakerState::HalfOpen);
    }
}
