//! The per-provider circuit breaker: a pure state machine that stops sending calls to a
//! provider that keeps failing, and lets a few trial calls through once it has had time
//! to recover.
//!
//! Why a breaker at all, when calls are retried? Retries handle one call's bad luck; a
//! breaker handles a provider that is down. Without one, every agent of the process
//! keeps paying the full retry ladder (and the user keeps waiting) on every call to a
//! provider that will not answer, instead of failing over at once.
//!
//! The machine never reads a clock: every method takes the current [`Instant`], so the
//! domain stays free of I/O and tests drive time by hand. The application layer reads
//! time through the [`Clock`] port.
//!
//! ```text
//!          failure_threshold tripping failures in a row,
//!          or one failure with a Retry-After
//! Closed ──────────────────────────────────────────────► Open
//!   ▲                                                    │  ▲
//!   │                  timeout (or the Retry-After) ends │  │ a tripping failure
//!   │                                                    ▼  │
//!   └──────────────────────────────────────────────── HalfOpen
//!          half_open_requests successful trial calls
//! ```

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::ModelErrorKind;

/// The source of the current time for the application layer (a port: the domain itself
/// never reads a clock). The production clock reads the async runtime's time, so tests
/// that pause the runtime's clock control every breaker too.
pub trait Clock: Send + Sync {
    /// The current instant; successive calls never go backwards.
    fn now(&self) -> Instant;
}

/// The longest the breaker stays open on a provider's word. A `Retry-After` of days is
/// more likely a parsing accident than advice, and an unbounded one could overflow
/// [`Instant`] arithmetic; a day is longer than any quota window providers document.
pub const MAX_OPEN: Duration = Duration::from_secs(24 * 60 * 60);

/// How one provider's breaker behaves. Configurable per provider: a local model that
/// restarts in a second deserves a shorter timeout than a hosted API.
///
/// In serialized form the timeout is whole milliseconds under `timeout_ms` (as the error
/// kinds' `retry_after_ms`), and missing fields take their defaults, so a config override
/// names only what it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BreakerConfig {
    /// Consecutive tripping failures that open a closed breaker. `0` acts as `1`.
    pub failure_threshold: u32,
    /// How long an opened breaker rejects calls before it lets trial calls through
    /// (unless the provider's `Retry-After` said otherwise). Capped at [`MAX_OPEN`].
    #[serde(rename = "timeout_ms", with = "duration_ms")]
    pub timeout: Duration,
    /// Trial calls a half-open breaker lets through at once, and the successful trials
    /// that close it again. `0` acts as `1` (with none, it could never close).
    pub half_open_requests: u32,
}

impl Default for BreakerConfig {
    /// Five failures in a row, thirty seconds of rest, three trial calls: the values of
    /// the issue that introduced the breaker (issue 13) and of most breaker libraries.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            timeout: Duration::from_secs(30),
            half_open_requests: 3,
        }
    }
}

impl BreakerConfig {
    fn threshold(&self) -> u32 {
        self.failure_threshold.max(1)
    }

    fn trials(&self) -> u32 {
        self.half_open_requests.max(1)
    }
}

/// What a breaker shows from outside: for a status line, the proxy's metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through; failures are being counted.
    Closed,
    /// Calls are rejected for `retry_in` more.
    Open {
        #[serde(rename = "retry_in_ms", with = "duration_ms")]
        retry_in: Duration,
    },
    /// A few trial calls go through to find out whether the provider has recovered.
    HalfOpen,
}

/// The breaker's answer to "may I call this provider now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Make the call, and report how it ended (`record_success`, `record_failure` or
    /// `record_abandoned`): a half-open breaker holds a trial slot until then.
    Allowed,
    /// Do not call; fail over or tell the user. `retry_in` is how long the breaker stays
    /// open. It is zero when the breaker is half-open and all its trial slots are taken:
    /// the answer then comes as soon as a trial call ends, which no clock can predict.
    Rejected { retry_in: Duration },
}

impl Admission {
    /// Whether the call may go ahead.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Admission::Allowed)
    }
}

/// How an admitted call ended, for callers that prefer one entry point
/// ([`CircuitBreaker::record`]) to the three `record_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The provider answered the call in full.
    Success,
    /// The call failed; the kind decides whether it counts (see [`trips_breaker`]).
    Failure(&'a ModelErrorKind),
    /// The call ended without an outcome (the user cancelled it).
    Abandoned,
}

/// Whether a failure of this kind counts toward opening the breaker: only failures that
/// waiting can heal.
///
/// - **Trip**: `Server` (5xx), `Overloaded`, `RateLimited` (with or without a
///   `Retry-After`), `Network` (which includes connect and response-head timeouts) and
///   `StreamCut` (which includes a body that went silent). The provider, or the way to
///   it, is unwell; a pause helps and failing over helps the user now.
/// - **Never trip**: `Auth`, `InvalidRequest` and `ContextWindowExceeded` fail the same
///   way however long one waits, and must reach the user at once as what they are, not
///   as "provider unavailable". `Protocol` (the provider broke its own wire format) points
///   at an API change or an adapter bug, which a pause does not fix either. `Cancelled`
///   is the user's doing, not the provider's.
pub fn trips_breaker(kind: &ModelErrorKind) -> bool {
    // No wildcard arm: a new kind must be decided here.
    match kind {
        ModelErrorKind::Server
        | ModelErrorKind::Overloaded { .. }
        | ModelErrorKind::RateLimited { .. }
        | ModelErrorKind::Network
        | ModelErrorKind::StreamCut => true,
        ModelErrorKind::Auth
        | ModelErrorKind::InvalidRequest
        | ModelErrorKind::ContextWindowExceeded
        | ModelErrorKind::Protocol
        | ModelErrorKind::Cancelled => false,
    }
}

/// The wait the provider asked for with a failure of this kind, if any.
fn provider_wait(kind: &ModelErrorKind) -> Option<Duration> {
    match kind {
        ModelErrorKind::RateLimited { retry_after_ms }
        | ModelErrorKind::Overloaded { retry_after_ms } => {
            retry_after_ms.map(Duration::from_millis)
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed {
        /// Tripping failures since the last success.
        failures: u32,
    },
    /// Rejecting until `until`; at or after it the breaker is half-open (see `settle`).
    Open { until: Instant },
    HalfOpen {
        /// Trial calls admitted whose outcome has not been recorded yet.
        in_flight: u32,
        /// Successful trial calls so far.
        successes: u32,
    },
}

/// One provider's circuit breaker.
///
/// # Semantics
///
/// - **Closed** admits every call and counts *consecutive* tripping failures (see
///   [`trips_breaker`]); a success resets the count. At `failure_threshold` it opens
///   until `now + timeout`.
/// - **Open** rejects every call with the time left. From its deadline on it is
///   half-open; no call is needed to get there.
/// - **HalfOpen** admits at most `half_open_requests` trial calls in flight at once.
///   A tripping failure opens it again with a fresh timeout. It closes, with a zero
///   count, after `half_open_requests` successful trials. Several successes rather than
///   one, because one agent calls a provider one call at a time: a single lucky answer
///   from a flapping provider would otherwise close the breaker for the next five
///   failures; three in a row is modest evidence of recovery and costs the user nothing
///   when the provider is healthy.
/// - **A provider's `Retry-After`** (a `RateLimited` or `Overloaded` failure that carries
///   one) opens the breaker at once, in any state, until `now + retry_after` — the
///   provider said when to come back, so that deadline replaces the timeout, shorter or
///   longer — and it is half-open after, as usual. It is counted as a failure too, but
///   that changes nothing: opening starts a fresh cycle, and the count starts again at
///   zero when the breaker closes. A `RateLimited` without one counts like any other
///   tripping failure.
/// - **Non-tripping failures** (auth, invalid request, context window, protocol,
///   cancelled) change nothing: no count, no reset. Half-open, they free their trial
///   slot, as does [`record_abandoned`](Self::record_abandoned).
/// - **Outcomes while open** come from calls admitted before it opened. A success is
///   ignored (the provider stays under observation for the whole timeout); a tripping
///   failure is too, except that a `Retry-After` longer than the time left extends the
///   deadline (never shortens it).
/// - Outcomes are not tied to admissions (there is no ticket), so half-open, any outcome
///   is taken as a trial's: a late answer to a call admitted while closed counts as a
///   trial result. The in-flight count never goes below zero.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    phase: Phase,
}

impl CircuitBreaker {
    /// A closed breaker with no failures counted.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            phase: Phase::Closed { failures: 0 },
        }
    }

    /// The configuration this breaker runs with.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The state at `now`, without changing anything.
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.phase_at(now) {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { until } => BreakerState::Open {
                retry_in: until.saturating_duration_since(now),
            },
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// May a call go to the provider now? A half-open breaker takes a trial slot for each
    /// call it allows, which the call's `record_*` gives back.
    pub fn admit(&mut self, now: Instant) -> Admission {
        self.settle(now);
        let trials = self.config.trials();
        match &mut self.phase {
            Phase::Closed { .. } => Admission::Allowed,
            Phase::Open { until } => Admission::Rejected {
                retry_in: until.saturating_duration_since(now),
            },
            Phase::HalfOpen { in_flight, .. } if *in_flight < trials => {
                *in_flight += 1;
                Admission::Allowed
            }
            Phase::HalfOpen { .. } => Admission::Rejected {
                retry_in: Duration::ZERO,
            },
        }
    }

    /// The provider answered an admitted call in full.
    pub fn record_success(&mut self, now: Instant) {
        self.settle(now);
        let trials = self.config.trials();
        match &mut self.phase {
            Phase::Closed { failures } => *failures = 0,
            Phase::Open { .. } => {}
            Phase::HalfOpen {
                in_flight,
                successes,
            } => {
                *in_flight = in_flight.saturating_sub(1);
                *successes += 1;
                if *successes >= trials {
                    self.phase = Phase::Closed { failures: 0 };
                }
            }
        }
    }

    /// An admitted call failed with `kind`; whether it counts is [`trips_breaker`]'s call.
    pub fn record_failure(&mut self, kind: &ModelErrorKind, now: Instant) {
        self.settle(now);
        if !trips_breaker(kind) {
            self.release_trial();
            return;
        }
        let threshold = self.config.threshold();
        let timeout = self.config.timeout;
        match (&mut self.phase, provider_wait(kind)) {
            (Phase::Open { until }, Some(wait)) => {
                *until = (*until).max(deadline(now, wait));
            }
            (Phase::Open { .. }, None) => {}
            (_, Some(wait)) => {
                self.phase = Phase::Open {
                    until: deadline(now, wait),
                }
            }
            (Phase::Closed { failures }, None) => {
                *failures += 1;
                if *failures >= threshold {
                    self.phase = Phase::Open {
                        until: deadline(now, timeout),
                    };
                }
            }
            (Phase::HalfOpen { .. }, None) => {
                self.phase = Phase::Open {
                    until: deadline(now, timeout),
                }
            }
        }
    }

    /// A call that was admitted but ended without an outcome (cancelled by the user):
    /// frees its half-open slot, counts nothing.
    pub fn record_abandoned(&mut self, now: Instant) {
        self.settle(now);
        self.release_trial();
    }

    /// Records how an admitted call ended: the three `record_*` methods in one.
    pub fn record(&mut self, outcome: Outcome<'_>, now: Instant) {
        match outcome {
            Outcome::Success => self.record_success(now),
            Outcome::Failure(kind) => self.record_failure(kind, now),
            Outcome::Abandoned => self.record_abandoned(now),
        }
    }

    /// The phase at `now`: an open breaker whose deadline has come is half-open.
    fn phase_at(&self, now: Instant) -> Phase {
        match self.phase {
            Phase::Open { until } if now >= until => Phase::HalfOpen {
                in_flight: 0,
                successes: 0,
            },
            phase => phase,
        }
    }

    fn settle(&mut self, now: Instant) {
        self.phase = self.phase_at(now);
    }

    fn release_trial(&mut self) {
        if let Phase::HalfOpen { in_flight, .. } = &mut self.phase {
            *in_flight = in_flight.saturating_sub(1);
        }
    }
}

/// `now + wait`, with the wait capped at [`MAX_OPEN`] so the sum cannot overflow.
fn deadline(now: Instant, wait: Duration) -> Instant {
    let wait = wait.min(MAX_OPEN);
    // With the cap, only an `Instant` within a day of the end of time could overflow;
    // then the deadline is `now` and the breaker goes straight to half-open.
    now.checked_add(wait).unwrap_or(now)
}

/// Serde for a `Duration` as whole milliseconds: what a config file or a metrics
/// consumer expects to read, unlike serde's `{ secs, nanos }`.
mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_serializes_timeout_in_milliseconds_and_fills_defaults() {
        let json = serde_json::to_value(BreakerConfig::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"failure_threshold": 5, "timeout_ms": 30000, "half_open_requests": 3})
        );
        let partial: BreakerConfig = serde_json::from_str(r#"{"timeout_ms": 1500}"#).unwrap();
        assert_eq!(
            partial,
            BreakerConfig {
                timeout: Duration::from_millis(1500),
                ..BreakerConfig::default()
            }
        );
    }

    #[test]
    fn state_serializes_for_metrics() {
        let open = BreakerState::Open {
            retry_in: Duration::from_millis(2500),
        };
        assert_eq!(
            serde_json::to_value(open).unwrap(),
            serde_json::json!({"state": "open", "retry_in_ms": 2500})
        );
        assert_eq!(
            serde_json::to_value(BreakerState::HalfOpen).unwrap(),
            serde_json::json!({"state": "half_open"})
        );
    }

    #[test]
    fn a_huge_retry_after_is_capped_at_a_day() {
        let now = Instant::now();
        let mut breaker = CircuitBreaker::new(BreakerConfig::default());
        breaker.record_failure(
            &ModelErrorKind::RateLimited {
                retry_after_ms: Some(u64::MAX),
            },
            now,
        );
        assert_eq!(
            breaker.state(now),
            BreakerState::Open { retry_in: MAX_OPEN }
        );
    }
}
