//! The OpenAI Chat Completions API as the proxy serves it, so any upstream (Anthropic,
//! Gemini, Ollama, OpenAI) can answer an OpenAI client. Pure translation, no I/O:
//!
//! - a client's request ([`wire::ChatRequest`]) becomes a provider-neutral
//!   [`ModelRequest`] ([`parse_request`], [`to_model_request`]);
//! - the [`ModelChunk`]s the upstream yields become one [`ChatCompletion`]
//!   ([`CompletionBuilder`]) or a series of [`ChatChunk`]s ([`ChunkEncoder`]);
//! - an upstream [`ModelError`] becomes an HTTP status and OpenAI's error body
//!   ([`error_response`]).
//!
//! The request side reads the client-side DTOs of `cuervo_providers` as they are. The
//! response side has its own types: those DTOs were written to *read* OpenAI's answers
//! and lack fields a server must *send* (`object`, `created`, `delta.role`, a streamed
//! tool call's `type`), and they serialise absent fields as `null` where OpenAI omits
//! them.

use std::fmt;

use cuervo_domain::{
    ContentBlock, Message, ModelChunk, ModelError, ModelErrorKind, ModelRequest, Role, StopReason,
    ToolCall, ToolResult, ToolSpec, Usage, check_tool_pairing,
};
use cuervo_providers::wire::openai as wire;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The output limit when the client names none. The domain needs one (Anthropic requires
/// it) while OpenAI's default is "as much as the model allows"; 4096 is an answer's worth
/// without reserving a whole context window's cost against the key's budget.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// A client request that cannot be served as it is: HTTP 400, OpenAI's error shape.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRequest {
    /// What is wrong, in terms the client can act on.
    pub message: String,
    /// The offending field (`messages[2].content[1].image_url.url`), when there is one.
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

    /// The body to send with HTTP 400: `{"error": {"type": "invalid_request_error", ...}}`,
    /// the shape OpenAI's SDKs parse into their `BadRequestError`.
    pub fn to_response(&self) -> wire::ErrorResponse {
        wire::ErrorResponse {
            error: wire::ErrorBody {
                message: self.message.clone(),
                kind: Some("invalid_request_error".to_owned()),
                code: None,
                param: self.param.clone().map(Value::String),
            },
        }
    }
}

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(param) => write!(f, "{} ({param})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for BadRequest {}

mod errors;
mod request;
mod response;
#[cfg(test)]
mod tests;

pub use errors::*;
pub use request::*;
pub use response::*;
