//! `GET /openapi.json`: the proxy's API as an OpenAPI 3.1 document.
//!
//! The model routes take and return the OpenAI and Anthropic wire formats; their bodies
//! are described by reference to those APIs' own documentation rather than copied here,
//! while the proxy's own routes (usage, keys, health) are described in full.

use serde_json::{Value, json};

/// Every path the router serves, with its method: the document lists exactly these
/// (a test checks the router against it).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/chat/completions"),
    ("post", "/v1/messages"),
    ("post", "/v1/embeddings"),
    ("get", "/v1/models"),
    ("get", "/v1/usage"),
    ("post", "/admin/keys"),
    ("get", "/admin/keys"),
    ("post", "/admin/keys/{id}/revoke"),
    ("post", "/admin/keys/{id}/rotate"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

fn error_responses() -> Value {
    json!({
        "400": {"description": "The request is malformed (OpenAI's or, on /v1/messages, Anthropic's error shape)."},
        "401": {"description": "No key, an unknown key, or a revoked key."},
        "402": {"description": "The key's budget is spent (code `budget_exceeded`)."},
        "403": {"description": "The key may not use this model or route."},
        "404": {"description": "No such model."},
        "413": {"description": "The body is over `max_body_bytes`."},
        "429": {"description": "A key limit (`rpm_limit_exceeded`, `tpm_limit_exceeded`) or the upstream's; with `Retry-After`."},
        "502": {"description": "The upstream failed (its own key refused, a protocol error)."},
        "503": {"description": "The rate-limit store is unreachable and the proxy fails closed."}
    })
}

/// The document.
pub fn document() -> Value {
    let model_route = |summary: &str, docs: &str| {
        json!({
            "summary": summary,
            "security": [{"virtualKey": []}],
            "externalDocs": {"url": docs},
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "200": {"description": "The answer; `text/event-stream` when the request asks to stream.",
                        "content": {"application/json": {"schema": {"type": "object"}},
                                    "text/event-stream": {"schema": {"type": "string"}}}}
            }
        })
    };
    let mut chat = model_route(
        "OpenAI Chat Completions over any configured upstream",
        "https://platform.openai.com/docs/api-reference/chat",
    );
    let mut messages = model_route(
        "Anthropic Messages over any configured upstream",
        "https://docs.anthropic.com/en/api/messages",
    );
    let mut embeddings = model_route(
        "OpenAI embeddings (float or base64) over any upstream that embeds",
        "https://platform.openai.com/docs/api-reference/embeddings",
    );
    for op in [&mut chat, &mut messages, &mut embeddings] {
        if let Some(r) = op["responses"].as_object_mut()
            && let Some(errors) = error_responses().as_object()
        {
            r.extend(errors.clone());
        }
    }
    let key_spec = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string"},
            "user": {"type": "string"},
            "team": {"type": "string"},
            "models": {"type": "array", "items": {"type": "string"}, "description": "Public model names; empty: all."},
            "rpm": {"type": "integer", "minimum": 0},
            "tpm": {"type": "integer", "minimum": 0},
            "budget_usd": {"type": "number", "minimum": 0},
            "budget_period": {"type": "string", "enum": ["daily", "monthly"]}
        }
    });
    let admin = |summary: &str| json!({"summary": summary, "security": [{"adminKey": []}], "responses": {"200": {"description": "Done."}, "403": {"description": "Not the admin key, or the admin API is off."}, "404": {"description": "No such active key."}}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Cuervo Model Proxy",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One OpenAI- and Anthropic-compatible endpoint in front of every provider, with virtual keys, limits, budgets and spend."
        },
        "components": {
            "securitySchemes": {
                "virtualKey": {"type": "http", "scheme": "bearer", "description": "A virtual key (`sk-cuervo-…`), as `Authorization: Bearer` or `x-api-key`."},
                "adminKey": {"type": "http", "scheme": "bearer", "description": "The admin key (the environment variable `admin_key_env` names)."}
            },
            "schemas": {"KeySpec": key_spec}
        },
        "paths": {
            "/v1/chat/completions": {"post": chat},
            "/v1/messages": {"post": messages},
            "/v1/embeddings": {"post": embeddings},
            "/v1/models": {"get": {"summary": "The public model names this key may use", "security": [{"virtualKey": []}], "responses": {"200": {"description": "`{object: list, data: [{id, object: model}]}`"}}}},
            "/v1/usage": {"get": {
                "summary": "Requests, tokens and cost per key, model and day",
                "security": [{"virtualKey": []}, {"adminKey": []}],
                "parameters": [
                    {"name": "key_id", "in": "query", "schema": {"type": "string"}, "description": "Admin key only (a virtual key sees its own)."},
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}}
                ],
                "responses": {"200": {"description": "`{object: list, data: [{key_id, model, day, requests, input_tokens, output_tokens, cost_usd}]}`"}, "403": {"description": "Another key's usage."}}
            }},
            "/admin/keys": {
                "post": {"summary": "Create a key; the answer holds it once", "security": [{"adminKey": []}],
                         "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeySpec"}}}},
                         "responses": {"201": {"description": "The key's record and `key`."}, "400": {"description": "A bad spec."}, "403": {"description": "Not the admin key."}}},
                "get": admin("List keys (never the keys themselves)")
            },
            "/admin/keys/{id}/revoke": {"post": admin("Revoke a key at once"), "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]},
            "/admin/keys/{id}/rotate": {"post": admin("Give a key a new secret; the old one stops working"), "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]},
            "/healthz": {"get": {"summary": "The process answers", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {"get": {"summary": "The database answers", "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "The text exposition format."}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1."}}}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_exactly_the_routes() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let mut listed: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .filter(|m| *m != "parameters")
                    .map(move |m| (m.clone(), path.clone()))
            })
            .collect();
        listed.sort();
        let mut routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        routes.sort();
        assert_eq!(listed, routes);
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/v1/chat/completions"]["post"]["responses"]["429"].is_object());
    }
}
