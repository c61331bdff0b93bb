//! The circuit breaker: each documented transition by example, then the whole machine
//! against a small reference model on random sequences of calls, outcomes and time.

use std::time::{Duration, Instant};

use cuervo_domain::ModelErrorKind;
use cuervo_domain::resilience::{
    Admission, BreakerConfig, BreakerState, CircuitBreaker, MAX_OPEN, Outcome, trips_breaker,
};
use pretty_assertions::assert_eq;
use proptest::prelude::*;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(failure_threshold: u32, timeout_ms: u64, half_open_requests: u32) -> BreakerConfig {
    BreakerConfig {
        failure_threshold,
        timeout: ms(timeout_ms),
        half_open_requests,
    }
}

fn rejected(retry_in_ms: u64) -> Admission {
    Admission::Rejected {
        retry_in: ms(retry_in_ms),
    }
}

fn open(retry_in_ms: u64) -> BreakerState {
    BreakerState::Open {
        retry_in: ms(retry_in_ms),
    }
}

/// A breaker and a clock that moves only when told.
struct Rig {
    breaker: CircuitBreaker,
    start: Instant,
    at: u64,
}

impl Rig {
    fn new(config: BreakerConfig) -> Self {
        Self {
            breaker: CircuitBreaker::new(config),
            start: Instant::now(),
            at: 0,
        }
    }

    fn now(&self) -> Instant {
        self.start + ms(self.at)
    }

    fn advance(&mut self, by_ms: u64) {
        self.at += by_ms;
    }

    fn state(&self) -> BreakerState {
        self.breaker.state(self.now())
    }

    fn admit(&mut self) -> Admission {
        let now = self.now();
        self.breaker.admit(now)
    }

    fn success(&mut self) {
        let now = self.now();
        self.breaker.record_success(now);
    }

    fn fail(&mut self, kind: ModelErrorKind) {
        let now = self.now();
        self.breaker.record_failure(&kind, now);
    }

    fn abandon(&mut self) {
        let now = self.now();
        self.breaker.record_abandoned(now);
    }

    /// An admitted call that failed with `kind`.
    fn call_fails(&mut self, kind: ModelErrorKind) {
        assert_eq!(self.admit(), Admission::Allowed);
        self.fail(kind);
    }

    fn call_succeeds(&mut self) {
        assert_eq!(self.admit(), Admission::Allowed);
        self.success();
    }
}

fn rate_limited(retry_after_ms: Option<u64>) -> ModelErrorKind {
    ModelErrorKind::RateLimited { retry_after_ms }
}

fn overloaded(retry_after_ms: Option<u64>) -> ModelErrorKind {
    ModelErrorKind::Overloaded { retry_after_ms }
}

#[test]
fn default_config_is_five_failures_thirty_seconds_three_trials() {
    assert_eq!(BreakerConfig::default(), config(5, 30_000, 3));
}

#[test]
fn which_kinds_trip_it() {
    for kind in [
        ModelErrorKind::Server,
        ModelErrorKind::Network,
        ModelErrorKind::StreamCut,
        overloaded(None),
        overloaded(Some(10)),
        rate_limited(None),
        rate_limited(Some(10)),
    ] {
        assert!(trips_breaker(&kind), "{kind:?} should trip");
    }
    for kind in [
        ModelErrorKind::Auth,
        ModelErrorKind::InvalidRequest,
        ModelErrorKind::ContextWindowExceeded,
        ModelErrorKind::Protocol,
        ModelErrorKind::Cancelled,
    ] {
        assert!(!trips_breaker(&kind), "{kind:?} should not trip");
    }
}

#[test]
fn opens_after_threshold_consecutive_failures_and_rejects_with_the_time_left() {
    let mut rig = Rig::new(config(3, 1_000, 2));
    rig.call_fails(ModelErrorKind::Server);
    rig.call_fails(ModelErrorKind::Network);
    assert_eq!(rig.state(), BreakerState::Closed);
    rig.call_fails(ModelErrorKind::StreamCut);
    assert_eq!(rig.state(), open(1_000));
    rig.advance(400);
    assert_eq!(rig.admit(), rejected(600));
    assert_eq!(rig.state(), open(600));
}

#[test]
fn a_success_resets_the_consecutive_count() {
    let mut rig = Rig::new(config(3, 1_000, 2));
    rig.call_fails(ModelErrorKind::Server);
    rig.call_fails(ModelErrorKind::Server);
    rig.call_succeeds();
    rig.call_fails(ModelErrorKind::Server);
    rig.call_fails(ModelErrorKind::Server);
    assert_eq!(rig.state(), BreakerState::Closed);
    rig.call_fails(ModelErrorKind::Server);
    assert_eq!(rig.state(), open(1_000));
}

#[test]
fn is_half_open_from_the_deadline_on_without_a_call() {
    let mut rig = Rig::new(config(1, 1_000, 2));
    rig.call_fails(ModelErrorKind::Server);
    rig.advance(999);
    assert_eq!(rig.state(), open(1));
    rig.advance(1);
    assert_eq!(rig.state(), BreakerState::HalfOpen);
}

#[test]
fn half_open_admits_at_most_the_trial_count_in_flight() {
    let mut rig = Rig::new(config(1, 1_000, 2));
    rig.call_fails(ModelErrorKind::Server);
    rig.advance(1_000);
    assert_eq!(rig.admit(), Admission::Allowed);
    assert_eq!(rig.admit(), Admission::Allowed);
    // Both slots taken: rejected, with no time to promise.
    assert_eq!(rig.admit(), rejected(0));
    rig.success();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    assert_eq!(rig.admit(), Admission::Allowed);
    assert_eq!(rig.admit(), rejected(0));
}

#[test]
fn closes_after_the_trial_count_of_successes_in_a_row() {
    let mut rig = Rig::new(config(2, 1_000, 3));
    rig.call_fails(ModelErrorKind::Server);
    rig.call_fails(ModelErrorKind::Server);
    rig.advance(1_000);
    rig.call_succeeds();
    rig.call_succeeds();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    rig.call_succeeds();
    assert_eq!(rig.state(), BreakerState::Closed);
    // Closed again with a fresh count: one failure does not reopen it.
    rig.call_fails(ModelErrorKind::Server);
    assert_eq!(rig.state(), BreakerState::Closed);
}

#[test]
fn a_tripping_failure_while_half_open_reopens_with_a_fresh_timeout() {
    let mut rig = Rig::new(config(1, 1_000, 3));
    rig.call_fails(ModelErrorKind::Server);
    rig.advance(1_500);
    rig.call_succeeds();
    rig.advance(100);
    rig.call_fails(ModelErrorKind::Network);
    assert_eq!(rig.state(), open(1_000));
    rig.advance(1_000);
    // And the earlier trial success no longer counts.
    rig.call_succeeds();
    rig.call_succeeds();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
}

#[test]
fn auth_and_invalid_request_never_trip_it() {
    let mut rig = Rig::new(config(2, 1_000, 1));
    for _ in 0..10 {
        rig.call_fails(ModelErrorKind::Auth);
        rig.call_fails(ModelErrorKind::InvalidRequest);
        rig.call_fails(ModelErrorKind::ContextWindowExceeded);
        rig.call_fails(ModelErrorKind::Protocol);
        rig.call_fails(ModelErrorKind::Cancelled);
    }
    assert_eq!(rig.state(), BreakerState::Closed);
}

#[test]
fn a_non_tripping_failure_neither_counts_nor_resets() {
    let mut rig = Rig::new(config(2, 1_000, 1));
    rig.call_fails(ModelErrorKind::Server);
    rig.call_fails(ModelErrorKind::Auth);
    rig.call_fails(ModelErrorKind::Server);
    assert_eq!(rig.state(), open(1_000));
}

#[test]
fn a_non_tripping_failure_frees_a_half_open_slot_and_changes_nothing_else() {
    let mut rig = Rig::new(config(1, 1_000, 1));
    rig.call_fails(ModelErrorKind::Server);
    rig.advance(1_000);
    assert_eq!(rig.admit(), Admission::Allowed);
    assert_eq!(rig.admit(), rejected(0));
    rig.fail(ModelErrorKind::InvalidRequest);
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    assert_eq!(rig.admit(), Admission::Allowed);
    rig.success();
    assert_eq!(rig.state(), BreakerState::Closed);
}

#[test]
fn an_abandoned_call_frees_its_slot_and_counts_nothing() {
    let mut rig = Rig::new(config(2, 1_000, 2));
    rig.call_fails(ModelErrorKind::Server);
    rig.call_fails(ModelErrorKind::Server);
    rig.advance(1_000);
    assert_eq!(rig.admit(), Admission::Allowed);
    assert_eq!(rig.admit(), Admission::Allowed);
    rig.abandon();
    rig.abandon();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    // Two fresh slots, and still two successes needed.
    rig.call_succeeds();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    rig.call_succeeds();
    assert_eq!(rig.state(), BreakerState::Closed);
    // Closed, abandoning neither counts nor resets.
    rig.call_fails(ModelErrorKind::Server);
    assert_eq!(rig.admit(), Admission::Allowed);
    rig.abandon();
    assert_eq!(rig.state(), BreakerState::Closed);
    rig.call_fails(ModelErrorKind::Server);
    assert_eq!(rig.state(), open(1_000));
}

#[test]
fn a_retry_after_opens_it_at_once_for_the_providers_wait() {
    // Shorter than the timeout: the provider's word wins.
    let mut rig = Rig::new(config(5, 30_000, 1));
    rig.call_fails(rate_limited(Some(2_000)));
    assert_eq!(rig.state(), open(2_000));
    rig.advance(2_000);
    assert_eq!(rig.state(), BreakerState::HalfOpen);

    // Longer than the timeout: so does it.
    let mut rig = Rig::new(config(5, 1_000, 1));
    rig.call_fails(overloaded(Some(60_000)));
    rig.advance(1_000);
    assert_eq!(rig.admit(), rejected(59_000));
}

#[test]
fn a_retry_after_while_half_open_reopens_for_the_providers_wait() {
    let mut rig = Rig::new(config(1, 10_000, 2));
    rig.call_fails(ModelErrorKind::Server);
    rig.advance(10_000);
    rig.call_fails(rate_limited(Some(500)));
    assert_eq!(rig.state(), open(500));
}

#[test]
fn a_rate_limit_without_retry_after_counts_like_a_server_error() {
    let mut rig = Rig::new(config(2, 1_000, 1));
    rig.call_fails(rate_limited(None));
    assert_eq!(rig.state(), BreakerState::Closed);
    rig.call_fails(overloaded(None));
    assert_eq!(rig.state(), open(1_000));
}

#[test]
fn outcomes_while_open_do_not_shorten_it() {
    let mut rig = Rig::new(config(1, 1_000, 1));
    // Two calls admitted while closed; the first failure opens the breaker.
    assert_eq!(rig.admit(), Admission::Allowed);
    assert_eq!(rig.admit(), Admission::Allowed);
    rig.fail(ModelErrorKind::Server);
    rig.advance(100);
    // A late success is ignored, so is a late failure, and a shorter Retry-After.
    rig.success();
    rig.fail(ModelErrorKind::Server);
    rig.fail(rate_limited(Some(10)));
    assert_eq!(rig.state(), open(900));
    // A longer Retry-After extends it.
    rig.fail(overloaded(Some(5_000)));
    assert_eq!(rig.state(), open(5_000));
}

#[test]
fn a_huge_retry_after_is_capped() {
    let mut rig = Rig::new(BreakerConfig::default());
    rig.call_fails(rate_limited(Some(u64::MAX)));
    assert_eq!(rig.state(), BreakerState::Open { retry_in: MAX_OPEN });
}

#[test]
fn zero_threshold_and_zero_trials_act_as_one() {
    let mut rig = Rig::new(config(0, 1_000, 0));
    rig.call_fails(ModelErrorKind::Server);
    assert_eq!(rig.state(), open(1_000));
    rig.advance(1_000);
    assert_eq!(rig.admit(), Admission::Allowed);
    assert_eq!(rig.admit(), rejected(0));
    rig.success();
    assert_eq!(rig.state(), BreakerState::Closed);
}

#[test]
fn record_dispatches_each_outcome() {
    let mut a = CircuitBreaker::new(config(2, 1_000, 1));
    let mut b = a.clone();
    let now = Instant::now();
    for (i, outcome) in [
        Outcome::Failure(&ModelErrorKind::Server),
        Outcome::Success,
        Outcome::Failure(&ModelErrorKind::Server),
        Outcome::Abandoned,
        Outcome::Failure(&ModelErrorKind::Server),
    ]
    .into_iter()
    .enumerate()
    {
        let now = now + ms(i as u64);
        a.record(outcome, now);
        match outcome {
            Outcome::Success => b.record_success(now),
            Outcome::Failure(kind) => b.record_failure(kind, now),
            Outcome::Abandoned => b.record_abandoned(now),
        }
        assert_eq!(a.state(now), b.state(now));
    }
    assert_eq!(a.state(now + ms(4)), open(1_000));
}

// ---- The reference model ----

/// The documented semantics restated as plainly as possible, with time as whole
/// milliseconds since the start: a mode and the few numbers that matter in it.
#[derive(Debug, Clone)]
struct Model {
    threshold: u32,
    timeout: u64,
    trials: u32,
    mode: Mode,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Closed { failures: u32 },
    Open { until: u64 },
    HalfOpen { in_flight: u32, successes: u32 },
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

impl Model {
    fn new(config: &BreakerConfig) -> Self {
        Self {
            threshold: config.failure_threshold.max(1),
            timeout: u64::try_from(config.timeout.as_millis()).unwrap(),
            trials: config.half_open_requests.max(1),
            mode: Mode::Closed { failures: 0 },
        }
    }

    /// Open past its deadline means half-open with no trials yet.
    fn wake(&mut self, now: u64) {
        if let Mode::Open { until } = self.mode
            && now >= until
        {
            self.mode = Mode::HalfOpen {
                in_flight: 0,
                successes: 0,
            };
        }
    }

    fn state(&self, now: u64) -> BreakerState {
        let mut model = self.clone();
        model.wake(now);
        match model.mode {
            Mode::Closed { .. } => BreakerState::Closed,
            Mode::Open { until } => open(until - now),
            Mode::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn admit(&mut self, now: u64) -> Admission {
        self.wake(now);
        match self.mode {
            Mode::Closed { .. } => Admission::Allowed,
            Mode::Open { until } => rejected(until - now),
            Mode::HalfOpen {
                in_flight,
                successes,
            } => {
                if in_flight < self.trials {
                    self.mode = Mode::HalfOpen {
                        in_flight: in_flight + 1,
                        successes,
                    };
                    Admission::Allowed
                } else {
                    rejected(0)
                }
            }
        }
    }

    fn success(&mut self, now: u64) {
        self.wake(now);
        match self.mode {
            Mode::Closed { .. } => self.mode = Mode::Closed { failures: 0 },
            Mode::Open { .. } => {}
            Mode::HalfOpen {
                in_flight,
                successes,
            } => {
                if successes + 1 == self.trials {
                    self.mode = Mode::Closed { failures: 0 };
                } else {
                    self.mode = Mode::HalfOpen {
                        in_flight: in_flight.saturating_sub(1),
                        successes: successes + 1,
                    };
                }
            }
        }
    }

    fn abandon(&mut self, now: u64) {
        self.wake(now);
        if let Mode::HalfOpen {
            in_flight,
            successes,
        } = self.mode
        {
            self.mode = Mode::HalfOpen {
                in_flight: in_flight.saturating_sub(1),
                successes,
            };
        }
    }

    fn failure(&mut self, kind: &ModelErrorKind, now: u64) {
        self.wake(now);
        // (counts, the provider's wait)
        let (counts, wait) = match kind {
            ModelErrorKind::Server | ModelErrorKind::Network | ModelErrorKind::StreamCut => {
                (true, None)
            }
            ModelErrorKind::RateLimited { retry_after_ms }
            | ModelErrorKind::Overloaded { retry_after_ms } => (true, *retry_after_ms),
            ModelErrorKind::Auth
            | ModelErrorKind::InvalidRequest
            | ModelErrorKind::ContextWindowExceeded
            | ModelErrorKind::Protocol
            | ModelErrorKind::Cancelled => (false, None),
            other => panic!("the model has no rule for {other:?}"),
        };
        if !counts {
            self.abandon(now);
            return;
        }
        self.mode = match (self.mode, wait) {
            (Mode::Open { until }, Some(wait)) => Mode::Open {
                until: until.max(now + wait.min(DAY_MS)),
            },
            (Mode::Open { until }, None) => Mode::Open { until },
            (_, Some(wait)) => Mode::Open {
                until: now + wait.min(DAY_MS),
            },
            (Mode::Closed { failures }, None) if failures + 1 >= self.threshold => Mode::Open {
                until: now + self.timeout,
            },
            (Mode::Closed { failures }, None) => Mode::Closed {
                failures: failures + 1,
            },
            (Mode::HalfOpen { .. }, None) => Mode::Open {
                until: now + self.timeout,
            },
        };
    }
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Admit,
    Success,
    Failure(ModelErrorKind),
    Abandon,
}

/// Times in steps of 100 ms, so that deadlines are often hit exactly.
fn hundreds(max: u64) -> impl Strategy<Value = u64> {
    (0..=max).prop_map(|n| n * 100)
}

fn kind() -> impl Strategy<Value = ModelErrorKind> {
    let wait = || prop::option::of(hundreds(40));
    prop_oneof![
        Just(ModelErrorKind::Server),
        Just(ModelErrorKind::Network),
        Just(ModelErrorKind::StreamCut),
        wait().prop_map(|retry_after_ms| ModelErrorKind::RateLimited { retry_after_ms }),
        wait().prop_map(|retry_after_ms| ModelErrorKind::Overloaded { retry_after_ms }),
        Just(ModelErrorKind::Auth),
        Just(ModelErrorKind::InvalidRequest),
        Just(ModelErrorKind::ContextWindowExceeded),
        Just(ModelErrorKind::Protocol),
        Just(ModelErrorKind::Cancelled),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => hundreds(30).prop_map(Op::Advance),
        4 => Just(Op::Admit),
        3 => Just(Op::Success),
        4 => kind().prop_map(Op::Failure),
        1 => Just(Op::Abandon),
    ]
}

fn breaker_config() -> impl Strategy<Value = BreakerConfig> {
    (0u32..=6, hundreds(20), 0u32..=4).prop_map(|(failure_threshold, timeout, half_open)| {
        config(failure_threshold, timeout, half_open)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random calls, outcomes (matching an admission or not, as late answers are) and
    /// time steps: the breaker agrees with the model on every admission and on the state
    /// after every step.
    #[test]
    fn breaker_matches_the_reference_model(
        config in breaker_config(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let start = Instant::now();
        let mut breaker = CircuitBreaker::new(config);
        let mut model = Model::new(&config);
        let mut at = 0u64;
        for (step, op) in ops.iter().enumerate() {
            let now = start + ms(at);
            match op {
                Op::Advance(by) => at += by,
                Op::Admit => prop_assert_eq!(
                    breaker.admit(now),
                    model.admit(at),
                    "admission at step {} ({:?})",
                    step,
                    op
                ),
                Op::Success => {
                    breaker.record_success(now);
                    model.success(at);
                }
                Op::Failure(kind) => {
                    breaker.record_failure(kind, now);
                    model.failure(kind, at);
                }
                Op::Abandon => {
                    breaker.record_abandoned(now);
                    model.abandon(at);
                }
            }
            let now = start + ms(at);
            prop_assert_eq!(
                breaker.state(now),
                model.state(at),
                "state after step {} ({:?}), model {:?}",
                step,
                op,
                model.mode
            );
        }
    }
}
