//! Transport retries for side calls, and the `Retry-After` parsers.
//!
//! Model calls are retried once, by the core's resilient caller, which applies the
//! [`RetryPolicy`] together with the circuit breakers and the fallback chain and knows
//! what of an answer the user has already seen: an adapter's `invoke` makes one attempt.
//! Calls that answer with one JSON body (embeddings, model metadata) are not model turns;
//! they go through [`with_retries`] here, under the same policy.

use std::pin::Pin;
use std::time::{Duration, SystemTime};

use cuervo_domain::ModelError;
pub use cuervo_domain::RetryPolicy;
use futures::{Stream, StreamExt};
use rand::Rng;

/// A stream of results that ends after the first error: a model answer
/// ([`cuervo_domain::ChunkStream`] is `RetryStream<ModelChunk>`) or a single JSON reply.
pub type RetryStream<T> = Pin<Box<dyn Stream<Item = Result<T, ModelError>> + Send>>;

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
        started: tokio::time::Instant,
    }

    let state = State {
        attempt,
        current: None,
        retries: 0,
        yielded: false,
        finished: false,
        provider: provider.into(),
        policy,
        started: tokio::time::Instant::now(),
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
                        let jitter = rand::rng().random::<f64>();
                        s.policy
                            .delay_for(s.retries, &error, s.started.elapsed(), jitter)
                            .ok()
                    };
                    let Some(delay) = delay else {
                        s.finished = true;
                        s.current = None;
                        return Some((Err(error), s));
                    };
                    s.retries += 1;
                    // A debug record, not a warning: a headless run's stderr is for the
                    // user, and a side call's retry is not theirs to act on.
                    tracing::debug!(
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

    fn err(kind: ModelErrorKind) -> ModelError {
        ModelError::new("p", kind, "boom")
    }

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(50),
            deadline: None,
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
            deadline: None,
        };
        let out: Vec<_> = with_retries("p", p, attempt).collect().await;
        assert_eq!(out, vec![Ok(stop())]);
        assert!(started.elapsed() >= Duration::from_secs(1));
    }
}
