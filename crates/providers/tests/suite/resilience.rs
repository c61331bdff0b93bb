//! Failures, for every adapter: HTTP errors mapped to kinds (with the provider's retry
//! advice), cut and stalled streams, malformed data, cancellation. A model call is one
//! attempt: retrying is the core's (crates/core/tests/suite/resilience.rs).

use std::time::{Duration, Instant};

use cuervo_domain::{ModelChunk, ModelErrorKind, StopReason};
use cuervo_providers::{RetryPolicy, WireKind, build_provider};
use cuervo_testkit::{MockServer, Script, Turn};
use futures::StreamExt;
use pretty_assertions::assert_eq;

use super::common::*;

const KINDS: [WireKind; 5] = ALL_KINDS;

#[tokio::test]
async fn a_rate_limited_call_is_one_attempt_that_keeps_the_retry_advice() {
    for kind in KINDS {
        let server = MockServer::start(Script::new(vec![
            Turn::rate_limited(1),
            Turn::text("Finally."),
        ]))
        .await
        .unwrap();
        let error = error(collect(&*provider(kind, &server), request(true)).await);
        assert_eq!(
            error.kind,
            ModelErrorKind::RateLimited {
                retry_after_ms: Some(1_000)
            },
            "{kind:?}"
        );
        assert_eq!(
            server.requests().len(),
            1,
            "{kind:?}: the adapter never retries"
        );
    }
}

#[tokio::test]
async fn rate_limit_longer_than_max_delay_is_returned_with_its_advice() {
    let server = MockServer::start(Script::new(vec![Turn::rate_limited(60), Turn::text("no")]))
        .await
        .unwrap();
    let error = error(collect(&*provider(WireKind::Anthropic, &server), request(true)).await);
    assert_eq!(
        error.kind,
        ModelErrorKind::RateLimited {
            retry_after_ms: Some(60_000)
        }
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn unauthorized_is_an_auth_error_naming_the_variable_and_never_retried() {
    for kind in KINDS {
        let server = MockServer::start(Script::new(vec![Turn::status(401), Turn::text("no")]))
            .await
            .unwrap();
        let error = error(collect(&*provider(kind, &server), request(true)).await);
        assert_eq!(error.kind, ModelErrorKind::Auth, "{kind:?}");
        assert!(error.message.contains(KEY_ENV), "{}", error.message);
        assert!(error.message.contains("401"), "{}", error.message);
        assert_eq!(server.requests().len(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn a_missing_key_fails_before_sending() {
    for kind in KINDS {
        let server = MockServer::start(Script::new(vec![Turn::text("no")]))
            .await
            .unwrap();
        let mut settings = settings(kind, &server);
        settings.api_key = None;
        let provider = build_provider(settings).unwrap();
        let error = error(collect(&*provider, request(true)).await);
        assert_eq!(error.kind, ModelErrorKind::Auth);
        assert!(error.message.contains(KEY_ENV), "{}", error.message);
        assert!(server.requests().is_empty());
        assert!(!provider.is_available().await);
    }
}

#[tokio::test]
async fn overloaded_and_server_errors_are_returned_after_one_attempt() {
    for (turn, want) in [
        (
            Turn::overloaded(),
            ModelErrorKind::Overloaded {
                retry_after_ms: None,
            },
        ),
        (Turn::status(500), ModelErrorKind::Server),
        (
            Turn::status(503),
            ModelErrorKind::Overloaded {
                retry_after_ms: None,
            },
        ),
    ] {
        let server = MockServer::start(Script::new(vec![turn, Turn::text("never")]))
            .await
            .unwrap();
        let error = error(collect(&*provider(WireKind::Anthropic, &server), request(true)).await);
        assert_eq!(error.kind, want);
        assert!(error.is_retryable(), "{error}");
        assert_eq!(server.requests().len(), 1);
    }
}

#[tokio::test]
async fn context_overflow_and_bad_requests_are_not_retried() {
    for kind in KINDS {
        let server = MockServer::start(Script::new(vec![
            Turn::status_with_message(400, "prompt is too long: 250000 tokens > 200000 maximum"),
            Turn::status_with_message(404, "model: mock-nope not found"),
        ]))
        .await
        .unwrap();
        let provider = provider(kind, &server);
        let first = error(collect(&*provider, request(true)).await);
        assert_eq!(
            first.kind,
            ModelErrorKind::ContextWindowExceeded,
            "{kind:?}"
        );
        assert!(first.message.contains("250000 tokens"));
        let second = error(collect(&*provider, request(true)).await);
        assert_eq!(second.kind, ModelErrorKind::InvalidRequest, "{kind:?}");
        assert!(second.message.contains("mock-nope"));
        assert_eq!(server.requests().len(), 2);
    }
}

#[tokio::test]
async fn a_cut_stream_is_a_retryable_stream_cut_after_one_attempt() {
    for kind in KINDS {
        for after_frames in [0, 3] {
            let server = MockServer::start(Script::new(vec![
                Turn::cut(after_frames),
                Turn::text("never"),
            ]))
            .await
            .unwrap();
            let items = collect(&*provider(kind, &server), request(true)).await;
            assert!(
                !items
                    .iter()
                    .any(|i| matches!(i, Ok(ModelChunk::Stop { .. }))),
                "{items:?}"
            );
            let error = error(items);
            assert_eq!(error.kind, ModelErrorKind::StreamCut, "{kind:?} {error}");
            assert!(error.message.contains("cut off"), "{}", error.message);
            assert!(
                error.is_retryable(),
                "the connection broke, not the request"
            );
            assert_eq!(server.requests().len(), 1);
        }
    }
}

#[tokio::test]
async fn malformed_data_is_a_protocol_error() {
    for kind in KINDS {
        for stream in [true, false] {
            let server = MockServer::start(Script::new(vec![Turn::malformed()]))
                .await
                .unwrap();
            let error = error(collect(&*provider(kind, &server), request(stream)).await);
            assert_eq!(
                error.kind,
                ModelErrorKind::Protocol,
                "{kind:?} stream={stream}"
            );
        }
    }
}

#[tokio::test]
async fn a_stall_fails_after_the_idle_timeout() {
    for kind in KINDS {
        for stream in [true, false] {
            let server = MockServer::start(Script::new(vec![Turn::stall(3, 30)]))
                .await
                .unwrap();
            let mut settings = settings(kind, &server);
            settings.idle_timeout = Duration::from_millis(300);
            settings.retry = RetryPolicy::none();
            let provider = build_provider(settings).unwrap();
            let started = Instant::now();
            let error = error(collect(&*provider, request(stream)).await);
            let took = started.elapsed();
            assert_eq!(error.kind, ModelErrorKind::StreamCut, "{kind:?} {error}");
            assert!(took < Duration::from_secs(5), "{kind:?}: took {took:?}");
        }
    }
}

#[tokio::test]
async fn dropping_the_stream_mid_stall_returns_at_once() {
    for kind in KINDS {
        // Five frames include text deltas in both formats.
        let server = MockServer::start(Script::new(vec![Turn::stall(5, 30)]))
            .await
            .unwrap();
        let provider = provider(kind, &server);
        let mut stream = provider.invoke(request(true));
        // The filler frames arrive, then nothing.
        let first = stream.next().await.expect("a chunk").expect("not an error");
        assert!(matches!(first, ModelChunk::Text { .. }), "{first:?}");
        loop {
            match tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
                Err(_) => break, // stalled
                Ok(Some(Ok(ModelChunk::Text { .. }))) => continue,
                Ok(other) => panic!("{kind:?}: expected a stall, got {other:?}"),
            }
        }
        let started = Instant::now();
        drop(stream);
        // Not a timing benchmark: a drop that waited for the stalled socket would take the
        // stall's full 30 s, so a generous bound tells the two apart on any machine.
        assert!(started.elapsed() < Duration::from_secs(5));
        // The provider is still usable: a new call gets the next turn.
        server.push_turns([Turn::text("Next.")]);
        let chunks = chunks(collect(&*provider, request(true)).await);
        assert_eq!(stop(&chunks), StopReason::EndTurn);
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_network_error() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (kind, base) in [
        (WireKind::Anthropic, format!("http://127.0.0.1:{port}")),
        (WireKind::OpenAiChat, format!("http://127.0.0.1:{port}/v1")),
        (
            WireKind::OpenAiResponses,
            format!("http://127.0.0.1:{port}/v1"),
        ),
        (WireKind::Gemini, format!("http://127.0.0.1:{port}")),
        (WireKind::Ollama, format!("http://127.0.0.1:{port}")),
    ] {
        let settings =
            cuervo_providers::ProviderSettings::new("local", kind, base).with_api_key(KEY);
        let provider = build_provider(settings).unwrap();
        let error = error(collect(&*provider, request(true)).await);
        assert_eq!(error.kind, ModelErrorKind::Network, "{error}");
        assert!(!provider.is_available().await);
    }
}
