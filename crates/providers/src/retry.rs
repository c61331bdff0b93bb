//! Transport retries: one policy for every adapter.
//!
//! A model call is retried only while nothing of its answer has been seen: once a chunk
//! has been yielded the consumer may have shown or acted on it, and a second answer would
//! not continue the first. Before that, the retryable kinds (rate limited, overloaded,
//! server error, network) are tried again up to [`RetryPolicy::max_retries`] times.
//!
//! The wait is the provider's `Retry-After` when it gave one (never less: retrying sooner
//! only earns another refusal), otherwise exponential backoff with full jitter
//! (`random(0, min(max_delay, base_delay * 2^attempt))`), which spreads the retries of many
//! clients instead of synchronising them. A `Retry-After` longer than `max_delay` is not
//! waited for: the error is returned at once, with its `retry_after_ms`, so the caller can
//! fall back to another model instead of blocking.

use std::pin::Pin;
use std::time::{Duration, SystemTime};

use cuervo_domain::ModelError;
use futures::{Stream, StreamExt};
use rand::Rng;

/// A stream of results that ends after the first error: a model answer
/// ([`cuervo_domain::ChunkStream`] is `RetryStream<ModelChunk>`) or a single JSON reply.
pub type RetryStream<T> = Pin<Box<dyn Stream<Item = Result<T, ModelError>> + Send>>;

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The backoff ceiling of the first retry; doubles with each retry.
    pub base_delay: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (tests, or callers with their own fallback chain).
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

    /// A full-jitter backoff: uniformly random in `[0, backoff_ceiling(retry)]`.
    pub fn backoff(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.random_range(0..=millis))
    }

    /// How long to wait before retry number `retry` after `error`, or `None` when the
    /// error must be returned: not retryable, retries used up, or the provider asked for a
    /// longer wait than `max_delay`.
    pub fn delay_for(
        &self,
        retry: u32,
        error: &ModelError,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        if !error.is_retryable() || retry >= self.max_retries {
            return None;
        }
        match error.retry_after() {
            Some(asked) if asked > self.max_delay => None,
            Some(asked) => Some(asked),
            None => Some(self.backoff(retry, rng)),
        }
    }
}

/// Parses a `Retry-After` header value: delay-seconds (fractions tolerated) or an
/// HTTP-date, relative to `now`. A date in the past means "now" (zero).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses the non-standard `retry-after-ms` header (OpenAI and Anthropic send it), which
/// is more precise than `Retry-After` when both are present.
pub fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let millis: f64 = value.trim().parse().ok()?;
    (millis.is_finite() && millis >= 0.0).then(|| Duration::from_secs_f64(millis / 1000.0))
}

/// Wraps a request in the retry policy. `attempt` starts one try and returns its stream
/// (connection failures arrive as the stream's first item). The returned stream yields the
/// first attempt that produces an item, or the last error. Streamed answers and single
/// JSON replies (embeddings, model metadata) go through this one wrapper.
///
/// Dropping the returned stream drops the attempt in flight (closing its connection) or
/// the pending sleep: nothing outlives the consumer.
pub fn with_retries<T, F>(
    provider: impl Into<String>,
    policy: RetryPolicy,
    attempt: F,
) -> RetryStream<T>
where
    T: Send + 'static,
    F: Fn() -> RetryStream<T> + Send + 'static,
{
    struct State<T, F> {
        attempt: F,
        current: Option<RetryStream<T>>,
        retries: u32,
        yielded: bool,
        finished: bool,
        provider: String,
        policy: RetryPolicy,
    }

    let state = State {
        attempt,
        current: None,
        retries: 0,
        yielded: false,
        finished: false,
        provider: provider.into(),
        policy,
    };

    Box::pin(futures::stream::unfold(state, |mut s| async move {
        if s.finished {
            return None;
        }
        loop {
            let stream = s.current.get_or_insert_with(|| (s.attempt)());
            match stream.next().await {
                Some(Ok(chunk)) => {
                    s.yielded = true;
                    return Some((Ok(chunk), s));
                }
                Some(Err(error)) => {
                    let delay = if s.yielded {
                        None
                    } else {
                        s.policy.delay_for(s.retries, &error, &mut rand::rng())
                    };
                    let Some(delay) = delay else {
                        s.finished = true;
                        s.current = None;
                        return Some((Err(error), s));
                    };
                    s.retries += 1;
                    tracing::warn!(
                        provider = %s.provider,
                        retry = s.retries,
                        max_retries = s.policy.max_retries,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %error,
                        "model request failed; retrying"
                    );
                    // Close the failed connection before waiting.
                    s.current = None;
                    tokio::time::sleep(delay).await;
                }
                None => return None,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use cuervo_domain::{ChunkStream, ModelChunk, ModelErrorKind, StopReason};
    use futures::stream;
    use rand::SeedableRng;

    fn err(kind: ModelErrorKind) -> ModelError {
        ModelError::new("p", kind, "boom")
    }

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(50),
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(
            parse_retry_after_ms("250"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_retry_after_ms("x"), None);
    }

    #[test]
    fn backoff_stays_within_full_jitter_bounds() {
        let p = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        };
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(500));
        assert_eq!(p.backoff_ceiling(1), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(3), Duration::from_secs(4));
        assert_eq!(p.backoff_ceiling(6), Duration::from_secs(30));
        assert_eq!(p.backoff_ceiling(200), Duration::from_secs(30));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for retry in 0..12 {
            let ceiling = p.backoff_ceiling(retry);
            let mut seen_low = false;
            for _ in 0..200 {
                let d = p.backoff(retry, &mut rng);
                assert!(d <= ceiling, "{d:?} > {ceiling:?}");
                seen_low |= d < ceiling / 2;
            }
            assert!(seen_low, "jitter reaches the lower half");
        }
    }

    #[test]
    fn delay_honours_retry_after_and_kinds() {
        let p = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let limited = err(ModelErrorKind::RateLimited {
            retry_after_ms: Some(2_000),
        });
        assert_eq!(
            p.delay_for(0, &limited, &mut rng),
            Some(Duration::from_secs(2))
        );
        assert_eq!(p.delay_for(3, &limited, &mut rng), None, "retries used up");
        let too_long = err(ModelErrorKind::Overloaded {
            retry_after_ms: Some(60_000),
        });
        assert_eq!(p.delay_for(0, &too_long, &mut rng), None);
        assert!(
            p.delay_for(0, &err(ModelErrorKind::Server), &mut rng)
                .expect("retried")
                <= p.base_delay
        );
        for kind in [
            ModelErrorKind::Auth,
            ModelErrorKind::InvalidRequest,
            ModelErrorKind::ContextWindowExceeded,
            ModelErrorKind::StreamCut,
            ModelErrorKind::Protocol,
        ] {
            assert_eq!(p.delay_for(0, &err(kind), &mut rng), None);
        }
    }

    fn scripted(
        attempts: Vec<Vec<Result<ModelChunk, ModelError>>>,
    ) -> (Arc<AtomicU32>, impl Fn() -> ChunkStream + Send + 'static) {
        let count = Arc::new(AtomicU32::new(0));
        let counter = count.clone();
        let attempts = Arc::new(attempts);
        (count, move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) as usize;
            let items = attempts.get(n).cloned().unwrap_or_default();
            Box::pin(stream::iter(items)) as ChunkStream
        })
    }

    fn text(t: &str) -> ModelChunk {
        ModelChunk::Text { text: t.into() }
    }

    fn stop() -> ModelChunk {
        ModelChunk::Stop {
            reason: StopReason::EndTurn,
        }
    }

    #[tokio::test]
    async fn retries_until_success_before_the_first_chunk() {
        let (count, attempt) = scripted(vec![
            vec![Err(err(ModelErrorKind::Server))],
            vec![Err(err(ModelErrorKind::Network))],
            vec![Ok(text("hi")), Ok(stop())],
        ]);
        let out: Vec<_> = with_retries("p", policy(3), attempt).collect().await;
        assert_eq!(out, vec![Ok(text("hi")), Ok(stop())]);
        assert_eq!(count.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries_with_the_last_error() {
        let (count, attempt) = scripted(vec![
            vec![Err(err(ModelErrorKind::Server))],
            vec![Err(err(ModelErrorKind::Server))],
            vec![Err(err(ModelErrorKind::Overloaded {
                retry_after_ms: None,
            }))],
            vec![Ok(text("never"))],
        ]);
        let out: Vec<_> = with_retries("p", policy(2), attempt).collect().await;
        assert_eq!(
            out,
            vec![Err(err(ModelErrorKind::Overloaded {
                retry_after_ms: None
            }))]
        );
        assert_eq!(count.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn never_retries_after_a_chunk_or_a_fatal_error() {
        let (count, attempt) = scripted(vec![
            vec![Ok(text("partial")), Err(err(ModelErrorKind::Network))],
            vec![Ok(text("again"))],
        ]);
        let out: Vec<_> = with_retries("p", policy(3), attempt).collect().await;
        assert_eq!(
            out,
            vec![Ok(text("partial")), Err(err(ModelErrorKind::Network))]
        );
        assert_eq!(count.load(Ordering::SeqCst), 1);

        let (count, attempt) = scripted(vec![vec![Err(err(ModelErrorKind::Auth))]]);
        let out: Vec<_> = with_retries("p", policy(3), attempt).collect().await;
        assert_eq!(out, vec![Err(err(ModelErrorKind::Auth))]);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_the_retry_after() {
        let (_count, attempt) = scripted(vec![
            vec![Err(err(ModelErrorKind::RateLimited {
                retry_after_ms: Some(1_000),
            }))],
            vec![Ok(stop())],
        ]);
        let started = tokio::time::Instant::now();
        let p = RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(5),
        };
        let out: Vec<_> = with_retries("p", p, attempt).collect().await;
        assert_eq!(out, vec![Ok(stop())]);
        assert!(started.elapsed() >= Duration::from_secs(1));
    }
}
