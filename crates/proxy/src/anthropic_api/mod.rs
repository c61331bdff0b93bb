//! Anthropic's Messages API (`POST /v1/messages`) as the proxy serves it, so Claude Code
//! and the Anthropic SDKs can use any upstream (an OpenAI, Gemini or Ollama model as well
//! as Claude). Pure translation, no I/O, mirroring [`crate::openai_api`]:
//!
//! - a client's request ([`MessagesRequest`]) becomes a provider-neutral
//!   [`ModelRequest`] ([`parse_request`], [`to_model_request`]);
//! - the [`ModelChunk`]s the upstream yields become one [`MessageResponse`]
//!   ([`MessageBuilder`]) or the Messages API's server-sent events ([`EventEncoder`]);
//! - an upstream [`ModelError`] becomes an HTTP status and Anthropic's error body
//!   ([`error_response`], [`error_event`]).
//!
//! The request has its own server-side types: the client-side DTOs of
//! `cuervo_providers::wire::anthropic` were written to *send* what Cuervo sends, and cannot
//! read everything a client may send (content as a plain string, tool results with block
//! content or images, tools without a description, server tools to refuse by name), and
//! they silently fold unknown block types into `Other` where a server must refuse them.
//! The answer has its own types too: the DTOs' response lacks `type` and `role`, which the
//! SDKs read. The DTOs still check the round trip in the tests, as the client would.
//!
//! Reasoning that only another upstream can read (Gemini thought signatures, OpenAI's
//! encrypted reasoning) has no place in Anthropic's format, yet Gemini refuses tool calls
//! sent back without their signature. The proxy therefore seals it into the one opaque
//! field Anthropic clients send back untouched: a thinking block's `signature` (or a
//! `redacted_thinking` block's `data` when there was no visible thinking), prefixed with
//! `cuervo-reasoning:v1:<format>:`. The request side unseals it into the same
//! [`cuervo_domain::EncryptedReasoning`]; the Anthropic upstream adapter drops formats
//! that are not its own, so a conversation moved to Claude is not broken by it.
//! Anthropic's own redacted thinking travels as `redacted_thinking`, byte for byte.

use std::collections::VecDeque;
use std::fmt;

use cuervo_domain::{
    ContentBlock, EncryptedReasoning, Message, ModelChunk, ModelError, ModelErrorKind,
    ModelRequest, Role, StopReason, ToolCall, ToolResult, ToolSpec, Usage, check_tool_pairing,
};
use cuervo_providers::wire::anthropic as wire;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A client request that cannot be served as it is: HTTP 400, Anthropic's error shape.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRequest {
    /// What is wrong, in terms the client can act on.
    pub message: String,
    /// The offending field (`messages[2].content[1].source`), when there is one.
    pub param: Option<String>,
}

impl BadRequest {
    fn new(message: impl Into<String>, param: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            param: Some(param.into()),
        }
    }

    /// A bad request not about one field (the body as a whole).
    fn general(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            param: None,
        }
    }

    /// The body to send with HTTP 400:
    /// `{"type": "error", "error": {"type": "invalid_request_error", "message": ...}}`, the
    /// shape the Anthropic SDKs parse into their `BadRequestError`. Anthropic's format has
    /// no `param` field (its own messages start with the field's path), so the field leads
    /// the message the same way: `messages[0].content[1].source: ...`.
    pub fn to_response(&self) -> Value {
        json!({
            "type": "error",
            "error": {"type": INVALID_REQUEST, "message": self.to_string()},
        })
    }
}

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(param) => write!(f, "{param}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for BadRequest {}

/// Anthropic's error type for a request the client must fix.
const INVALID_REQUEST: &str = "invalid_request_error";

mod errors;
mod reasoning;
mod request;
mod response;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_stream;

pub use errors::*;
pub use request::*;
pub use response::*;
