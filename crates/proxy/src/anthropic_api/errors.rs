//! Upstream errors as the HTTP status and error body an Anthropic client expects.

use super::*;

/// The HTTP status, Retry-After seconds (if any) and Anthropic error body
/// (`{"type": "error", "error": {"type": ..., "message": ...}}`) for an upstream error.
///
/// The status, the Retry-After and the message are those of
/// [`crate::openai_api::error_response`], so both APIs report a failure alike and share one
/// policy for what an upstream's words may reveal (keys masked; auth, network and
/// cut-stream messages withheld). Two things differ, for Anthropic's clients:
///
/// | kind | status | `error.type` |
/// |---|---|---|
/// | rate limited | 429 (+ Retry-After when known) | `rate_limit_error` |
/// | overloaded | **529** (Anthropic's own; the SDKs retry it) | `overloaded_error` |
/// | context window exceeded | 400, the message starting `prompt is too long` as Anthropic's does (clients look for it to compact the conversation) | `invalid_request_error` |
/// | invalid request | 400 | `invalid_request_error` |
/// | timed out | 504 | `timeout_error` |
/// | anything else | as OpenAI's (502, 503) | `api_error` |
pub fn error_response(err: &ModelError) -> (u16, Option<u64>, Value) {
    let (status, retry_after, body) = crate::openai_api::error_response(err);
    let said = body.error.message;
    let (status, kind, message) = match &err.kind {
        ModelErrorKind::Overloaded { .. } => (529, "overloaded_error", said),
        ModelErrorKind::ContextWindowExceeded => (
            status,
            INVALID_REQUEST,
            format!("prompt is too long for the upstream model: {said}"),
        ),
        _ => {
            let kind = match status {
                400 => INVALID_REQUEST,
                429 => "rate_limit_error",
                504 => "timeout_error",
                _ => "api_error",
            };
            (status, kind, said)
        }
    };
    let body = json!({
        "type": "error",
        "error": {"type": kind, "message": message},
    });
    (status, retry_after, body)
}

/// The `error` event for a failure after the stream began (the status is already sent):
/// the body [`error_response`] made, as Anthropic sends it mid-stream.
pub fn error_event(body: &Value) -> SseEvent {
    ("error".to_owned(), body.clone())
}
