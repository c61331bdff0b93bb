//! Limits shared by a fleet of replicas, in Redis.
//!
//! Each key has two counters per calendar minute (`cuervo-proxy:limit:{key}:{minute}:req`
//! and `:tok`, expiring after two minutes). One Lua script reads both, refuses if a limit
//! is reached, and otherwise counts the request — atomically, so two replicas admitting at
//! the same moment cannot both take the last slot: a limit of N per minute admits exactly N
//! requests across the fleet, where a check-then-increment per replica admits up to N per
//! replica.
//!
//! When Redis cannot be reached, [`FailMode`] decides: `open` serves without limits (and
//! says so in the log and in `/metrics`), `closed` refuses with 503. Each call waits at
//! most [`REDIS_TIMEOUT`]; a lost connection is re-established in the background by the
//! connection manager.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::Mutex;

use crate::limits::{Limit, LimitError, Refusal};

/// What the proxy does when Redis does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Serve, without limits, until Redis is back.
    Open,
    /// Refuse limited keys' requests with 503 until Redis is back.
    Closed,
}

/// Longest wait for one Redis call.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// KEYS: requests counter, tokens counter. ARGV: rpm limit (or -1), tpm limit (or -1),
/// seconds to keep the counters. Returns {0, requests} when admitted, {1, limit} for
/// RPM, {2, limit} for TPM.
const ADMIT: &str = r"
local req = tonumber(redis.call('GET', KEYS[1]) or '0')
local tok = tonumber(redis.call('GET', KEYS[2]) or '0')
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
if tpm >= 0 and tok >= tpm then return {2, tpm} end
if rpm >= 0 and req >= rpm then return {1, rpm} end
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {0, n}
";

/// The Redis counter store.
pub struct RedisLimiter {
    client: redis::Client,
    connection: Mutex<Option<ConnectionManager>>,
    admit: redis::Script,
    fail: FailMode,
    /// Calls that failed (counted in `/metrics`).
    failures: Arc<AtomicU64>,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("fail", &self.fail)
            .finish_non_exhaustive()
    }
}

/// Why Redis could not be used.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisError(String);

impl RedisLimiter {
    /// A limiter for the Redis at `url` (`redis://host:port/db`). The URL is checked now;
    /// the connection is made on first use (and again after a failure), so a proxy set
    /// to fail open starts while Redis is down.
    pub fn new(url: &str, fail: FailMode) -> Result<Self, RedisError> {
        let client = redis::Client::open(url).map_err(|e| RedisError(e.to_string()))?;
        Ok(Self {
            client,
            connection: Mutex::new(None),
            admit: redis::Script::new(ADMIT),
            fail,
            failures: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Redis calls that failed since start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    async fn connection(&self) -> Result<ConnectionManager, String> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let connect = self.client.get_connection_manager();
        let c = tokio::time::timeout(REDIS_TIMEOUT, connect)
            .await
            .map_err(|_| "connecting timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        *slot = Some(c.clone());
        Ok(c)
    }

    fn failed(&self, what: &str, error: &str) -> Result<(), LimitError> {
        let n = self.failures.fetch_add(1, Ordering::Relaxed);
        // One line per hundred failures: a Redis outage must not flood the log.
        if n.is_multiple_of(100) {
            tracing::warn!(
                "the rate-limit store (Redis) failed to {what}: {error}; failing {}",
                match self.fail {
                    FailMode::Open => "open: requests are served without limits",
                    FailMode::Closed => "closed: limited keys get 503",
                }
            );
        }
        match self.fail {
            FailMode::Open => Ok(()),
            FailMode::Closed => Err(LimitError::Unavailable(format!(
                "the proxy's rate-limit store is unreachable ({error}); try again shortly"
            ))),
        }
    }

    /// Admits one request or says why not (see the module documentation).
    pub async fn admit(
        &self,
        key_id: &str,
        rpm: Option<u64>,
        tpm: Option<u64>,
        now: i64,
    ) -> Result<(), LimitError> {
        let minute = now.div_euclid(60);
        let retry_after_secs = (60 - now.rem_euclid(60)).max(1) as u64;
        let (req, tok) = counter_keys(key_id, minute);
        let mut conn = match self.connection().await {
            Ok(c) => c,
            Err(e) => return self.failed("connect", &e),
        };
        let limit = |v: Option<u64>| v.map_or(-1, |v| v.min(i64::MAX as u64) as i64);
        let mut call = self.admit.prepare_invoke();
        call.key(&req)
            .key(&tok)
            .arg(limit(rpm))
            .arg(limit(tpm))
            .arg(120);
        let answer =
            tokio::time::timeout(REDIS_TIMEOUT, call.invoke_async::<(i64, i64)>(&mut conn)).await;
        match answer {
            Ok(Ok((0, _))) => Ok(()),
            Ok(Ok((code, value))) => Err(LimitError::Refused(Refusal {
                limit: if code == 2 { Limit::Tpm } else { Limit::Rpm },
                value: value.max(0) as u64,
                retry_after_secs,
            })),
            Ok(Err(e)) => self.failed("check a limit", &e.to_string()),
            Err(_) => self.failed("check a limit", "timed out"),
        }
    }

    /// Counts a completed request's tokens in the window of `now`.
    pub async fn add_tokens(&self, key_id: &str, tokens: u64, now: i64) {
        if tokens == 0 {
            return;
        }
        let (_, tok) = counter_keys(key_id, now.div_euclid(60));
        let Ok(mut conn) = self.connection().await else {
            let _ = self.failed("connect", "no connection");
            return;
        };
        let mut pipe = redis::pipe();
        pipe.atomic()
            .incr(&tok, tokens)
            .ignore()
            .expire(&tok, 120)
            .ignore();
        match tokio::time::timeout(REDIS_TIMEOUT, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = self.failed("count tokens", &e.to_string());
            }
            Err(_) => {
                let _ = self.failed("count tokens", "timed out");
            }
        }
    }
}

/// The request and token counter names of a key's minute.
fn counter_keys(key_id: &str, minute: i64) -> (String, String) {
    (
        format!("cuervo-proxy:limit:{key_id}:{minute}:req"),
        format!("cuervo-proxy:limit:{key_id}:{minute}:tok"),
    )
}
