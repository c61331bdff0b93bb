//! Example payloads from each provider's documentation (`tests/fixtures/`, sources in its
//! README), served verbatim by the mock to the real adapters: the adapters must read what
//! the providers say they send.

use cuervo_domain::{ModelChunk, ModelErrorKind, StopReason, ToolCall, Usage};
use cuervo_providers::WireKind;
use cuervo_providers::wire::ollama as ollama_wire;
use cuervo_testkit::{MockServer, RawBody, Script, Turn};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::*;

fn fixture(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

const SSE: &str = "text/event-stream";
const JSON: &str = "application/json";

/// Serves `body` once and collects what the adapter of `kind` makes of it.
async fn serve(
    kind: WireKind,
    stream: bool,
    turn: Turn,
) -> Vec<Result<ModelChunk, cuervo_domain::ModelError>> {
    let server = MockServer::start(Script::new(vec![turn])).await.unwrap();
    collect(&*provider(kind, &server), request(stream)).await
}

fn usage_of(chunks: &[ModelChunk]) -> Usage {
    let mut total = Usage::default();
    for c in chunks {
        if let ModelChunk::Usage { usage } = c {
            total.merge(usage);
        }
    }
    total
}

#[tokio::test]
async fn anthropic_documented_streams() {
    let reply = chunks(
        serve(
            WireKind::Anthropic,
            true,
            Turn::raw(SSE, fixture("anthropic/stream_text.sse")),
        )
        .await,
    );
    assert_eq!(text(&reply), "Hello!");
    assert_eq!(usage_of(&reply).input_tokens, 25);
    assert_eq!(usage_of(&reply).output_tokens, 15);
    assert_eq!(stop(&reply), StopReason::EndTurn);

    let reply = chunks(
        serve(
            WireKind::Anthropic,
            true,
            Turn::raw(SSE, fixture("anthropic/stream_thinking.sse")),
        )
        .await,
    );
    assert!(thinking(&reply).ends_with("10,800 + 1,350 + 81 = 12,231"));
    assert!(reply.contains(&ModelChunk::ThinkingSignature {
        signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...".into()
    }));
    assert_eq!(text(&reply), "27 * 453 = 12,231");
    assert_eq!(stop(&reply), StopReason::EndTurn);
}

#[tokio::test]
async fn openai_responses_documented_bodies_and_streams() {
    let reply = chunks(
        serve(
            WireKind::OpenAiResponses,
            false,
            Turn::raw(JSON, fixture("openai-responses/create_response.json")),
        )
        .await,
    );
    assert!(text(&reply).starts_with("In a peaceful grove beneath a silver moon"));
    assert_eq!(
        usage_of(&reply),
        Usage {
            input_tokens: 36,
            output_tokens: 87,
            ..Usage::default()
        }
    );
    assert_eq!(stop(&reply), StopReason::EndTurn);

    let reply = chunks(
        serve(
            WireKind::OpenAiResponses,
            true,
            Turn::raw(SSE, fixture("openai-responses/stream_text.sse")),
        )
        .await,
    );
    // The documented stream shows one delta ("Hi") and elides the rest; the text comes
    // from the deltas, not again from the `.done` events.
    assert_eq!(text(&reply), "Hi");
    assert_eq!(usage_of(&reply).input_tokens, 37);
    assert_eq!(usage_of(&reply).output_tokens, 11);
    assert_eq!(stop(&reply), StopReason::EndTurn);
}

#[tokio::test]
async fn openai_responses_documented_function_call_events() {
    let sse: String = fixture("openai-responses/function_call_stream.jsonl")
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            format!(
                "event: {}\ndata: {line}\n\n",
                event["type"].as_str().unwrap()
            )
        })
        .collect();
    let items = serve(WireKind::OpenAiResponses, true, Turn::raw(SSE, sse)).await;
    assert_eq!(
        items[0],
        Ok(ModelChunk::ToolUseStart {
            id: "call_1234xyz".into(),
            name: "get_weather".into()
        })
    );
    // The guide's final item names another call id; the final item wins.
    assert_eq!(
        items[1],
        Ok(ModelChunk::ToolUse {
            call: ToolCall {
                id: "call_2345abc".into(),
                name: "get_weather".into(),
                input: json!({"location": "Paris, France"}),
            }
        })
    );
    // The excerpt stops before `response.completed`: a stream that ends there was cut.
    assert_eq!(
        items[2].clone().unwrap_err().kind,
        ModelErrorKind::StreamCut
    );

    // An error before any output is a server failure (the core retries it; the adapter
    // makes one attempt).
    let error_event = fixture("openai-responses/error_event.json");
    let turn = Turn::raw(
        SSE,
        format!("event: error\ndata: {}\n\n", error_event.trim()),
    );
    let server = MockServer::start(Script::new(vec![turn])).await.unwrap();
    let error = error(
        collect(
            &*provider(WireKind::OpenAiResponses, &server),
            request(true),
        )
        .await,
    );
    assert_eq!(error.kind, ModelErrorKind::Server);
    assert!(
        error.message.contains("Something went wrong"),
        "{}",
        error.message
    );
    assert!(error.is_retryable());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn gemini_documented_function_call_and_stream() {
    let reply = chunks(
        serve(
            WireKind::Gemini,
            false,
            Turn::raw(JSON, fixture("gemini/function_call_response.json")),
        )
        .await,
    );
    let calls = tool_calls(&reply);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "find_theaters");
    assert_eq!(
        calls[0].input,
        json!({"movie": "Barbie", "location": "Mountain View, CA"})
    );
    assert!(calls[0].id.starts_with("call_"), "{}", calls[0].id);
    assert_eq!(stop(&reply), StopReason::ToolUse);

    let reply = chunks(
        serve(
            WireKind::Gemini,
            true,
            Turn::raw(SSE, fixture("gemini/stream_text.sse")),
        )
        .await,
    );
    let story = text(&reply);
    assert!(
        story.starts_with("In the quaint, sunlit cottage"),
        "{story}"
    );
    assert!(
        story.ends_with("for adventure stronger than ever."),
        "{story}"
    );
    // Every chunk of this older model repeats `finishReason: STOP`; the answer stops once.
    let stops = reply
        .iter()
        .filter(|c| matches!(c, ModelChunk::Stop { .. }))
        .count();
    assert_eq!(stops, 1);
    assert_eq!(stop(&reply), StopReason::EndTurn);
}

#[tokio::test]
async fn gemini_documented_invalid_key_is_an_auth_error() {
    let turn = Turn::Raw(RawBody {
        status: 400,
        content_type: JSON.into(),
        body: fixture("gemini/error_api_key_invalid.json"),
    });
    let error = error(serve(WireKind::Gemini, true, turn).await);
    assert_eq!(error.kind, ModelErrorKind::Auth);
    assert!(
        error.message.contains("API key not valid"),
        "{}",
        error.message
    );
    assert!(error.message.contains(KEY_ENV), "{}", error.message);
}

#[tokio::test]
async fn ollama_documented_chat_stream_and_tool_call() {
    let lines: String = [
        "ollama/chat_stream_piece.json",
        "ollama/chat_stream_final.json",
    ]
    .iter()
    .map(|f| {
        let value: Value = serde_json::from_str(&fixture(f)).unwrap();
        format!("{value}\n")
    })
    .collect();
    let reply = chunks(
        serve(
            WireKind::Ollama,
            true,
            Turn::raw("application/x-ndjson", lines),
        )
        .await,
    );
    assert_eq!(text(&reply), "The");
    assert_eq!(
        usage_of(&reply),
        Usage {
            input_tokens: 26,
            output_tokens: 282,
            ..Usage::default()
        }
    );
    assert_eq!(stop(&reply), StopReason::EndTurn);

    let reply = chunks(
        serve(
            WireKind::Ollama,
            false,
            Turn::raw(JSON, fixture("ollama/chat_tools.json")),
        )
        .await,
    );
    let calls = tool_calls(&reply);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "get_current_weather");
    assert_eq!(
        calls[0].input,
        json!({"format": "celsius", "location": "Paris, FR"})
    );
    assert_eq!(usage_of(&reply).input_tokens, 122);
    assert_eq!(stop(&reply), StopReason::ToolUse);
}

#[test]
fn ollama_documented_show_and_embed_bodies_parse() {
    let show: ollama_wire::ShowResponse =
        serde_json::from_str(&fixture("ollama/show.json")).unwrap();
    assert_eq!(show.context_length(), Some(8_192), "llama.context_length");
    let embed: ollama_wire::EmbedResponse =
        serde_json::from_str(&fixture("ollama/embed.json")).unwrap();
    assert_eq!(embed.embeddings.len(), 2);
    assert_eq!(embed.embeddings[1].len(), 10);
}
