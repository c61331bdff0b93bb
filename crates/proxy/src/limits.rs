//! Per-key request and token limits over fixed one-minute windows.
//!
//! A window is the calendar minute (`unix_time / 60`): every replica that shares a
//! counter store agrees on it without coordination, and a limit of N per minute admits
//! exactly N requests in it. [`MemoryLimiter`] keeps the counters of one replica;
//! [`crate::redis_limits::RedisLimiter`] keeps them in Redis for a fleet, checked and
//! counted in one atomic script.

use std::collections::HashMap;
use std::sync::Mutex;

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Requests per minute.
    Rpm,
    /// Tokens per minute.
    Tpm,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::Rpm => "rpm",
            Limit::Tpm => "tpm",
        }
    }
}

/// A refusal: the limit that tripped, its value, and when the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub limit: Limit,
    pub value: u64,
    pub retry_after_secs: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    minute: i64,
    requests: u64,
    tokens: u64,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// A limit tripped.
    Refused(Refusal),
    /// The shared counter store cannot be reached and the proxy is set to fail closed.
    Unavailable(String),
}

/// The counter store a proxy uses: its own memory, or Redis shared by a fleet.
#[derive(Debug)]
pub enum Limiter {
    Memory(MemoryLimiter),
    Redis(Box<crate::redis_limits::RedisLimiter>),
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::Memory(MemoryLimiter::default())
    }
}

impl Limiter {
    /// Admits one request for `key_id` at `now` (seconds), or says why not.
    pub async fn admit(
        &self,
        key_id: &str,
        rpm: Option<u64>,
        tpm: Option<u64>,
        now: i64,
    ) -> Result<(), LimitError> {
        if rpm.is_none() && tpm.is_none() {
            return Ok(());
        }
        match self {
            Limiter::Memory(m) => m.admit(key_id, rpm, tpm, now).map_err(LimitError::Refused),
            Limiter::Redis(r) => r.admit(key_id, rpm, tpm, now).await,
        }
    }

    /// Counts a completed request's tokens.
    pub async fn add_tokens(&self, key_id: &str, tokens: u64, now: i64) {
        match self {
            Limiter::Memory(m) => m.add_tokens(key_id, tokens, now),
            Limiter::Redis(r) => r.add_tokens(key_id, tokens, now).await,
        }
    }

    /// Forgets quiet keys' windows (Redis expires its own).
    pub fn prune(&self, now: i64) {
        if let Limiter::Memory(m) = self {
            m.prune(now);
        }
    }
}

/// Counters per key for the current minute, in this process.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

impl MemoryLimiter {
    /// Admits one request for `key_id` at `now` (seconds) or says which limit refuses
    /// it. A request counts against the RPM limit when admitted; tokens count when the
    /// request completes ([`Limiter::add_tokens`]), and a key over its TPM limit is refused
    /// until the window ends.
    pub fn admit(
        &self,
        key_id: &str,
        rpm: Option<u64>,
        tpm: Option<u64>,
        now: i64,
    ) -> Result<(), Refusal> {
        let minute = now.div_euclid(60);
        let retry_after_secs = (60 - now.rem_euclid(60)).max(1) as u64;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let w = windows.entry(key_id.to_owned()).or_default();
        if w.minute != minute {
            *w = Window {
                minute,
                ..Window::default()
            };
        }
        if let Some(limit) = tpm
            && w.tokens >= limit
        {
            return Err(Refusal {
                limit: Limit::Tpm,
                value: limit,
                retry_after_secs,
            });
        }
        if let Some(limit) = rpm
            && w.requests >= limit
        {
            return Err(Refusal {
                limit: Limit::Rpm,
                value: limit,
                retry_after_secs,
            });
        }
        w.requests += 1;
        Ok(())
    }

    /// Counts a completed request's tokens in the window of `now`.
    pub fn add_tokens(&self, key_id: &str, tokens: u64, now: i64) {
        let minute = now.div_euclid(60);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let w = windows.entry(key_id.to_owned()).or_default();
        if w.minute != minute {
            *w = Window {
                minute,
                ..Window::default()
            };
        }
        w.tokens += tokens;
    }

    /// Forgets windows older than the current minute (called now and then, so keys that
    /// went quiet do not stay in memory).
    pub fn prune(&self, now: i64) {
        let minute = now.div_euclid(60);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.retain(|_, w| w.minute >= minute);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_admits_exactly_the_limit_per_minute() {
        let l = MemoryLimiter::default();
        let t: i64 = 1_800_000_000; // the start of a minute
        for i in 0..5 {
            assert!(l.admit("k", Some(5), None, t + i).is_ok());
        }
        let refused = l.admit("k", Some(5), None, t + 10).unwrap_err();
        assert_eq!(
            (refused.limit, refused.value, refused.retry_after_secs),
            (Limit::Rpm, 5, 50)
        );
        assert!(l.admit("other", Some(5), None, t + 10).is_ok());
        assert!(l.admit("k", Some(5), None, t + 60).is_ok(), "a new minute");
    }

    #[test]
    fn tpm_refuses_once_the_window_has_its_tokens() {
        let l = MemoryLimiter::default();
        let t: i64 = 1_800_000_000; // the start of a minute
        assert!(l.admit("k", None, Some(100), t).is_ok());
        l.add_tokens("k", 100, t + 1);
        let refused = l.admit("k", None, Some(100), t + 2).unwrap_err();
        assert_eq!(refused.limit, Limit::Tpm);
        assert!(l.admit("k", None, Some(100), t + 61).is_ok());
        l.prune(t + 200);
        assert!(l.windows.lock().unwrap().is_empty());
    }
}
