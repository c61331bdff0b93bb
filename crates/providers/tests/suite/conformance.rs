//! What the adapters must do alike, checked for every wire kind it applies to. Each
//! assertion names the kind, so a failure says which adapter broke. What is particular to
//! one format (headers, paths, body fields) stays in that adapter's own suite.

use cuervo_domain::{ModelChunk, ModelErrorKind, StopReason, Usage};
use cuervo_providers::WireKind::{self, Anthropic, Gemini, Ollama, OpenAiChat, OpenAiResponses};
use cuervo_testkit::{MockServer, Script, Step, Turn};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::*;

/// The hosted APIs, whose replies carry the usage the mock scripts.
const HOSTED: [WireKind; 4] = [Anthropic, OpenAiChat, OpenAiResponses, Gemini];

#[tokio::test]
async fn streams_a_text_reply() {
    for kind in HOSTED {
        let turn = Turn::text("Hello from the mock.").with_usage(42, 7);
        let (_server, chunks) = answer(kind, vec![turn], request(true)).await;
        assert_eq!(text(&chunks), "Hello from the mock.", "{kind:?}");
        if kind != Gemini {
            let deltas = chunks
                .iter()
                .filter(|c| matches!(c, ModelChunk::Text { .. }))
                .count();
            assert!(deltas > 1, "{kind:?}: text arrives in deltas: {chunks:?}");
        }
        let scripted = |usage: &Usage| {
            let input = match kind {
                // The chat API counts cached prompt tokens inside its prompt tokens.
                OpenAiChat => usage.input_tokens + usage.cache_read_tokens,
                _ => usage.input_tokens,
            };
            input == 42 && usage.output_tokens == 7
        };
        assert!(
            chunks
                .iter()
                .any(|c| matches!(c, ModelChunk::Usage { usage } if scripted(usage))),
            "{kind:?}: usage 42 in, 7 out: {chunks:?}"
        );
        assert_eq!(stop(&chunks), StopReason::EndTurn, "{kind:?}");
    }
}

#[tokio::test]
async fn non_streaming_gives_the_same_answer() {
    for kind in HOSTED {
        let turn = Turn::text("Hello from the mock.");
        let (server, chunks) = answer(kind, vec![turn], request(false)).await;
        assert_eq!(text(&chunks), "Hello from the mock.", "{kind:?}");
        assert!(has_usage(&chunks), "{kind:?}: {chunks:?}");
        assert_eq!(stop(&chunks), StopReason::EndTurn, "{kind:?}");
        // Gemini says it by its path, checked in its suite.
        if kind != Gemini {
            let sent = &server.requests()[0].body;
            assert_eq!(sent["stream"], json!(false), "{kind:?}");
        }
    }
}

#[tokio::test]
async fn tool_calls_stream_and_not() {
    for kind in [Anthropic, OpenAiChat, OpenAiResponses] {
        let id = match kind {
            Anthropic => "toolu_1",
            _ => "call_a",
        };
        for stream in [true, false] {
            let turn = Turn::steps(vec![
                Step::text("Let me read it."),
                Step::tool_call_with_id(id, "read", json!({"path": "README.md", "limit": 20})),
                Step::tool_call("glob", json!({})),
            ]);
            let (_server, chunks) = answer(kind, vec![turn], request(stream)).await;
            let calls = tool_calls(&chunks);
            let at = format!("{kind:?}, stream: {stream}");
            assert_eq!(calls.len(), 2, "{at}: {chunks:?}");
            assert_eq!(calls[0].id, id, "{at}");
            assert_eq!(calls[0].name, "read", "{at}");
            assert_eq!(
                calls[0].input,
                json!({"path": "README.md", "limit": 20}),
                "{at}"
            );
            assert_eq!(calls[1].name, "glob", "{at}");
            assert_eq!(calls[1].input, json!({}), "{at}");
            let start = chunks
                .iter()
                .position(|c| matches!(c, ModelChunk::ToolUseStart { id: i, .. } if i == id))
                .unwrap_or_else(|| panic!("{at}: announced"));
            let done = chunks
                .iter()
                .position(|c| matches!(c, ModelChunk::ToolUse { call } if call.id == id))
                .unwrap_or_else(|| panic!("{at}: completed"));
            assert!(start < done, "{at}: announced before completed");
            assert_eq!(stop(&chunks), StopReason::ToolUse, "{at}");
        }
    }
}

#[tokio::test]
async fn thinking_arrives_as_thinking() {
    for (kind, streams) in [(Anthropic, &[true][..]), (OpenAiChat, &[true, false][..])] {
        for &stream in streams {
            let turn = Turn::steps(vec![
                Step::thinking("The user wants a greeting."),
                Step::text("Hello."),
            ]);
            let (_server, chunks) = answer(kind, vec![turn], request(stream)).await;
            let at = format!("{kind:?}, stream: {stream}");
            assert_eq!(thinking(&chunks), "The user wants a greeting.", "{at}");
            if kind == Anthropic {
                assert!(
                    chunks.iter().any(|c| matches!(
                        c,
                        ModelChunk::ThinkingSignature { signature } if !signature.is_empty()
                    )),
                    "{at}: the thinking is signed: {chunks:?}"
                );
            }
            assert_eq!(text(&chunks), "Hello.", "{at}");
        }
    }
}

#[tokio::test]
async fn max_tokens_and_refusals_are_their_stop_reasons() {
    for kind in [OpenAiResponses, Gemini] {
        for stream in [true, false] {
            let server = MockServer::start(Script::new(vec![
                Turn::text("A long answer").with_stop_reason("max_tokens"),
                Turn::text("A filtered answer").with_stop_reason("refusal"),
            ]))
            .await
            .unwrap();
            let provider = provider(kind, &server);
            let at = format!("{kind:?}, stream: {stream}");
            let long = chunks(collect(&*provider, request(stream)).await);
            assert_eq!(stop(&long), StopReason::MaxTokens, "{at}");
            let filtered = chunks(collect(&*provider, request(stream)).await);
            assert_eq!(stop(&filtered), StopReason::Refusal, "{at}");
        }
    }
}

#[tokio::test]
async fn a_mid_stream_error_is_a_server_error_with_its_message() {
    for (kind, message, part) in [
        (
            OpenAiResponses,
            "The model failed to generate a response.",
            "failed to generate",
        ),
        (Gemini, "Internal error", "Internal error"),
        (
            Ollama,
            "model runner has unexpectedly stopped",
            "unexpectedly stopped",
        ),
    ] {
        let server = MockServer::start(Script::new(vec![Turn::stream_error(message)]))
            .await
            .unwrap();
        let items = collect(&*provider(kind, &server), request(true)).await;
        if kind != Gemini {
            assert!(
                matches!(items[0], Ok(ModelChunk::Text { .. })),
                "{kind:?}: text came before the error: {items:?}"
            );
        }
        let error = error(items);
        assert_eq!(error.kind, ModelErrorKind::Server, "{kind:?}");
        assert!(error.message.contains(part), "{kind:?}: {}", error.message);
    }
}

#[tokio::test]
async fn is_available_probes_without_a_model_request() {
    for kind in [Anthropic, OpenAiChat] {
        let server = MockServer::start(Script::new(vec![])).await.unwrap();
        assert!(provider(kind, &server).is_available().await, "{kind:?}");
        let requests = server.requests();
        assert!(
            requests.is_empty(),
            "{kind:?}: a probe is not a model request"
        );
    }
}
