//! One retry policy for every model call: how long to wait before trying again, and when
//! to stop trying.
//!
//! The policy is data and arithmetic only; the one place that applies it to model calls is
//! the core's resilient caller (`cuervo_core::resilience`), which also knows what the user
//! has already seen of an answer, and the providers apply it to their side calls
//! (embeddings, model metadata). Nothing retries twice.
//!
//! The wait is the provider's `Retry-After` when it gave one (never less: retrying sooner
//! only earns another refusal), otherwise exponential backoff with full jitter
//! (`random(0, min(max_delay, base_delay * 2^retry))`), which spreads the retries of many
//! clients instead of synchronising them. A `Retry-After` longer than `max_delay`, or one
//! that would pass the total `deadline`, is not waited for: the caller falls back to another
//! model, or tells the user how long the provider asked to wait.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The backoff ceiling of the first retry; doubles with each retry.
    pub base_delay: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub max_delay: Duration,
    /// The most time one call may take across all its attempts and waits, when set: no
    /// retry starts that would wait past it.
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            deadline: Some(Duration::from_secs(180)),
        }
    }
}

/// Why a failed attempt is not tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// Waiting will not help (a bad key, a malformed request, a prompt too long).
    NotRetryable,
    /// `max_retries` retries were made.
    RetriesUsed,
    /// The provider asked to wait longer than `max_delay`.
    WaitTooLong(Duration),
    /// The wait would pass the call's deadline.
    Deadline,
}

impl RetryPolicy {
    /// A policy that never retries (tests, or a caller with its own fallback chain).
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The ceiling of the jittered backoff before retry number `retry` (0-based):
    /// `min(max_delay, base_delay * 2^retry)`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A full-jitter backoff: `jitter` (uniform in `[0, 1]`, from the caller's random
    /// source, since the domain has none) times [`RetryPolicy::backoff_ceiling`].
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        self.backoff_ceiling(retry).mul_f64(if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            1.0
        })
    }

    /// How long to wait before retry number `retry` (0-based) after `error`, `elapsed`
    /// into the call, or why not to retry.
    pub fn delay_for(
        &self,
        retry: u32,
        error: &ModelError,
        elapsed: Duration,
        jitter: f64,
    ) -> Result<Duration, GiveUp> {
        if !error.is_retryable() {
            return Err(GiveUp::NotRetryable);
        }
        if retry >= self.max_retries {
            return Err(GiveUp::RetriesUsed);
        }
        let delay = match error.retry_after() {
            Some(asked) if asked > self.max_delay => return Err(GiveUp::WaitTooLong(asked)),
            Some(asked) => asked,
            None => self.backoff(retry, jitter),
        };
        match self.deadline {
            Some(deadline) if elapsed.saturating_add(delay) > deadline => Err(GiveUp::Deadline),
            _ => Ok(delay),
        }
    }
}

/// A duration as a person reads it: `850 ms`, `12 s`, `4 min 10 s`, `1 h 5 min`.
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 {
        return format!("{} ms", duration.as_millis());
    }
    // Round up a fraction of a second: "wait 1.4 s" is better said as 2 s than 1 s.
    let secs = if duration.subsec_millis() > 0 && secs < 60 {
        secs + 1
    } else {
        secs
    };
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 if secs % 60 == 0 => format!("{} min", secs / 60),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ if secs % 3600 < 60 => format!("{} h", secs / 3600),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ModelErrorKind;

    fn err(kind: ModelErrorKind) -> ModelError {
        ModelError::new("p", kind, "boom")
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_the_max() {
        let p = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            deadline: None,
        };
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(500));
        assert_eq!(p.backoff_ceiling(1), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(3), Duration::from_secs(4));
        assert_eq!(p.backoff_ceiling(6), Duration::from_secs(30));
        assert_eq!(p.backoff_ceiling(200), Duration::from_secs(30));
        assert_eq!(p.backoff(3, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(3, 0.5), Duration::from_secs(2));
        assert_eq!(
            p.backoff(3, 7.0),
            Duration::from_secs(4),
            "jitter is clamped"
        );
        assert_eq!(p.backoff(3, f64::NAN), Duration::from_secs(4));
    }

    #[test]
    fn delay_honours_retry_after_kinds_and_the_deadline() {
        let p = RetryPolicy::default();
        let limited = err(ModelErrorKind::RateLimited {
            retry_after_ms: Some(2_000),
        });
        assert_eq!(
            p.delay_for(0, &limited, Duration::ZERO, 0.5),
            Ok(Duration::from_secs(2))
        );
        assert_eq!(
            p.delay_for(3, &limited, Duration::ZERO, 0.5),
            Err(GiveUp::RetriesUsed)
        );
        assert_eq!(
            p.delay_for(0, &limited, Duration::from_secs(179), 0.5),
            Err(GiveUp::Deadline)
        );
        let hour = err(ModelErrorKind::RateLimited {
            retry_after_ms: Some(3_600_000),
        });
        assert_eq!(
            p.delay_for(0, &hour, Duration::ZERO, 0.5),
            Err(GiveUp::WaitTooLong(Duration::from_secs(3600)))
        );
        assert!(
            p.delay_for(0, &err(ModelErrorKind::Server), Duration::ZERO, 1.0)
                .is_ok_and(|d| d == p.base_delay)
        );
        for kind in [
            ModelErrorKind::Auth,
            ModelErrorKind::InvalidRequest,
            ModelErrorKind::ContextWindowExceeded,
            ModelErrorKind::Protocol,
            ModelErrorKind::Cancelled,
        ] {
            assert_eq!(
                p.delay_for(0, &err(kind), Duration::ZERO, 0.5),
                Err(GiveUp::NotRetryable)
            );
        }
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(human_duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(human_duration(Duration::from_millis(1400)), "2 s");
        assert_eq!(human_duration(Duration::from_secs(59)), "59 s");
        assert_eq!(human_duration(Duration::from_secs(60)), "1 min");
        assert_eq!(human_duration(Duration::from_secs(250)), "4 min 10 s");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1 h");
        assert_eq!(human_duration(Duration::from_secs(3900)), "1 h 5 min");
    }
}
