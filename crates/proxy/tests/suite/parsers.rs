//! The request parsers against arbitrary input: bytes, JSON of any shape, and valid
//! requests with fields replaced by junk. Every outcome is a value or a `BadRequest`
//! (a 400), never a panic: these run on every request a client sends.

use cuervo_proxy::{anthropic_api, embeddings, openai_api};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "user",
            "assistant",
            "system",
            "tool",
            "developer",
            "text",
            "image",
            "image_url",
            "tool_use",
            "tool_result",
            "function",
            "thinking"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "model",
                        "messages",
                        "role",
                        "content",
                        "type",
                        "text",
                        "tools",
                        "tool_calls",
                        "function",
                        "arguments",
                        "name",
                        "input",
                        "id",
                        "tool_use_id",
                        "source",
                        "data",
                        "media_type",
                        "image_url",
                        "url",
                        "max_tokens",
                        "stream",
                        "stream_options",
                        "include_usage",
                        "system",
                        "thinking",
                        "budget_tokens",
                        "input_schema",
                        "parameters",
                        "n",
                        "temperature",
                        "encoding_format",
                    ]),
                    inner,
                ),
                0..6
            )
            .prop_map(|fields| Value::Object(
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

/// Runs every parser and translator on `body`.
fn exercise(body: &[u8]) {
    if let Ok(request) = openai_api::parse_request(body) {
        let _ = openai_api::to_model_request(&request, "upstream-model");
        let _ = openai_api::wants_usage(&request);
    }
    if let Ok(request) = anthropic_api::parse_request(body) {
        let _ = anthropic_api::to_model_request(&request, "upstream-model");
    }
    if let Ok(request) = serde_json::from_slice::<embeddings::EmbeddingsRequest>(body) {
        let _ = request.texts();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        exercise(value.to_string().as_bytes());
    }

    #[test]
    fn requests_with_a_field_replaced_never_panic(junk in any_json(), at in 0usize..12) {
        let mut openai = json!({
            "model": "smart",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok"}
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "stream": true,
            "stream_options": {"include_usage": true}
        });
        let mut anthropic = json!({
            "model": "smart",
            "max_tokens": 100,
            "system": [{"type": "text", "text": "Be brief."}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "tool_use", "id": "u1", "name": "f", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "u1", "content": "ok"}]}
            ],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "thinking": {"type": "enabled", "budget_tokens": 1024}
        });
        let pointers = [
            "/model", "/messages", "/tools", "/stream", "/messages/0", "/messages/1",
            "/messages/1/content", "/messages/2", "/messages/2/tool_calls", "/messages/3",
            "/stream_options", "/system",
        ];
        for doc in [&mut openai, &mut anthropic] {
            if let Some(v) = doc.pointer_mut(pointers[at]) {
                *v = junk.clone();
            }
            exercise(doc.to_string().as_bytes());
        }
    }
}
