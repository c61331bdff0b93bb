//! Cuervo's test kit (dev only).
//!
//! - [`MockServer`]: a mock LLM server on `127.0.0.1:<random port>` speaking the Anthropic
//!   Messages API (`POST /v1/messages`), the OpenAI Chat Completions API
//!   (`POST /v1/chat/completions`), the OpenAI Responses API (`POST /v1/responses`), the
//!   Gemini API (`POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent`)
//!   and Ollama's native API (`POST /api/chat`, NDJSON), streaming and not, as the
//!   providers document them. It replays a [`Script`] of [`Turn`]s, one per model request,
//!   whichever format is hit, records every request ([`RecordedRequest`], whose
//!   [`RecordedRequest::messages`] reads any format back into domain messages) and injects
//!   faults in each provider's own error shapes ([`Fault`]: HTTP errors with
//!   `Retry-After`, stalls, cut streams, malformed data, mid-stream errors). A
//!   [`Turn::Raw`] serves a documented example payload verbatim.
//! - Side endpoints, answered without using a turn and recorded apart
//!   ([`MockServer::side_requests`]): embeddings (`/v1/embeddings`, Gemini
//!   `:embedContent`/`:batchEmbedContents`, Ollama `/api/embed`, all returning
//!   [`mock_embedding`] vectors), Ollama's `/api/tags` and `/api/show` (models from
//!   [`LocalModel`], with their context length in `model_info`).
//! - [`sse`]: the same streams as bytes, for parser tests that need no server.
//! - [`env::TestHome`]: a temporary HOME and XDG directories for end-to-end runs.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use cuervo_testkit::{MockServer, Script, Turn};
//! use serde_json::json;
//!
//! let server = MockServer::start(Script::new(vec![
//!     Turn::tool_call("read", json!({"path": "README.md"})),
//!     Turn::text("The README says hello."),
//! ]))
//! .await?;
//! // Point the client at server.anthropic_base_url() or server.openai_base_url() ...
//! server.assert_tool_pairing();
//! # Ok(()) }
//! ```
//!
//! Server behaviour, beyond the script:
//! - Anthropic requests need `x-api-key` (else 401 `authentication_error`) and
//!   `anthropic-version` (else 400); OpenAI requests need `Authorization: Bearer ...` (else
//!   401). A body that is not JSON, lacks required fields, or breaks tool pairing gets a
//!   400 `invalid_request_error`, as the real APIs answer. Rejected requests are recorded
//!   but use no turn.
//! - When the script runs out: 500 with "mock script exhausted" in the error message.
//! - Gemini requests need a key (`x-goog-api-key` or `?key=`; else 403
//!   `PERMISSION_DENIED`); Ollama requests need none, but a model the server does not have
//!   gets Ollama's 404 "try pulling it first".
//! - `GET /v1/models` (Anthropic shape when `anthropic-version`/`x-api-key` is sent, else
//!   OpenAI's), `GET /v1beta/models`, `GET /health`.

mod anthropic;
pub mod env;
mod gemini;
pub mod media;
mod ollama;
mod openai;
pub mod record;
mod responses;
pub mod script;
pub mod server;
pub mod sse;
pub mod tty;

use std::path::PathBuf;

pub use env::TestHome;
pub use media::mock_embedding;
pub use ollama::LocalModel;
pub use record::{RecordedRequest, WireFormat};
pub use script::{Fault, RawBody, Reply, ReplyUsage, Script, Step, Turn};
pub use server::{MockServer, ServerOptions};

/// Errors of the test kit: loading a script.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid mock script: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("invalid mock script: {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;
