//! Model adapters: Cuervo's [`ModelProvider`] port spoken over the Anthropic Messages API,
//! the OpenAI Chat Completions API (which also serves DeepSeek and any OpenAI-compatible
//! endpoint), the OpenAI Responses API, the Gemini API and Ollama's native API.
//!
//! # Design
//!
//! Every adapter is the same pipeline, and only the ends differ:
//!
//! ```text
//! ModelRequest ──(adapter: wire mapping)──► JSON body ──(transport: HTTP, timeouts,
//! error mapping)──► bytes ──(sse)──► events ──(adapter: decoder)──► ModelChunk
//! ```
//!
//! A model call is one attempt: the core's resilient caller retries it (with the circuit
//! breakers and the fallback chain), so a failed call is retried once, not once here and
//! again there.
//!
//! * [`sse`] and [`ndjson`] turn bytes into events, whatever the chunking.
//! * `transport` sends the request, maps HTTP failures to [`ModelErrorKind`]s and drives a
//!   decoder over the event stream with an idle timeout between bytes; it also sends the
//!   one-shot JSON calls (embeddings, model metadata).
//! * [`retry`] retries the one-shot JSON calls under the same [`RetryPolicy`] the core
//!   applies to model calls, and parses `Retry-After`.
//! * `prepare` fits a request to what the model can take (images to a model without
//!   vision, a thinking budget to a model that cannot think), once for every adapter.
//! * [`anthropic`], [`openai`], [`responses`], [`gemini`] and [`ollama`] only map domain
//!   types to and from their wire DTOs ([`wire`]).
//!
//! Streams are built as pull-driven state machines (`futures::stream::unfold`): nothing runs
//! on a detached task, so dropping the returned stream drops the HTTP response and closes
//! the connection at once.
//!
//! The crate reads no environment variables and no files: the CLI resolves keys and hands
//! them over in [`ProviderSettings`], which keeps every behaviour testable.
//!
//! [`ModelErrorKind`]: cuervo_domain::ModelErrorKind

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cuervo_domain::ModelProvider;

pub mod anthropic;
mod catalog;
mod embeddings;
pub mod gemini;
pub mod ndjson;
pub mod ollama;
pub mod openai;
mod prepare;
pub mod pricing;
pub mod responses;
pub mod retry;
pub mod sse;
mod transport;
pub mod wire;

pub use anthropic::AnthropicProvider;
pub use gemini::GeminiProvider;
pub use ollama::OllamaProvider;
pub use openai::OpenAiProvider;
pub use responses::ResponsesProvider;
pub use retry::RetryPolicy;

/// Which wire protocol an endpoint speaks. Decides the adapter, not the vendor: DeepSeek,
/// a local llama.cpp server or a gateway all speak [`WireKind::OpenAiChat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireKind {
    /// Anthropic Messages API (`POST {base}/v1/messages`).
    Anthropic,
    /// OpenAI Chat Completions API (`POST {base}/chat/completions`).
    OpenAiChat,
    /// OpenAI Responses API (`POST {base}/responses`), stateless (`store: false`) with
    /// encrypted reasoning carried across turns.
    OpenAiResponses,
    /// Gemini API (`POST {base}/v1beta/models/{model}:generateContent`).
    Gemini,
    /// Ollama's native API (`POST {base}/api/chat`, NDJSON streaming).
    Ollama,
}

impl WireKind {
    /// The OpenAI protocol an endpoint speaks when config does not say: the Responses
    /// API on api.openai.com, Chat Completions everywhere else (gateways, DeepSeek, local
    /// servers), because that is what compatible servers implement.
    pub fn openai_default(base_url: &str) -> WireKind {
        let host = reqwest::Url::parse(base_url.trim())
            .ok()
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase));
        if host.as_deref() == Some("api.openai.com") {
            WireKind::OpenAiResponses
        } else {
            WireKind::OpenAiChat
        }
    }
}

/// Everything an adapter needs to talk to one endpoint, resolved by the CLI from config.
///
/// The provider never reads the environment itself: the CLI resolves `api_key` (from the
/// variable named by `api_key_env`, the keychain or the config file) so that tests and
/// embedders control every input.
#[derive(Clone)]
pub struct ProviderSettings {
    /// Name used in config, errors and events: `anthropic`, `openai`, `deepseek` or a
    /// custom name.
    pub name: String,
    /// Which wire protocol the endpoint speaks.
    pub kind: WireKind,
    /// The API root, e.g. `https://api.anthropic.com` (the adapter appends
    /// `/v1/messages`) or `https://api.openai.com/v1` (the adapter appends
    /// `/chat/completions`). Trailing slashes are tolerated.
    pub base_url: String,
    /// The resolved API key, if any.
    pub api_key: Option<String>,
    /// The environment variable the key is expected in; named in authentication errors
    /// so the user knows what to fix. For an OpenAI-compatible endpoint, `None` together
    /// with no `api_key` means the endpoint needs no key (a local server) and requests go
    /// out without `Authorization`. Anthropic always needs a key.
    pub api_key_env: Option<String>,
    /// Where the key in `api_key` came from, in words (`the environment variable
    /// OPENAI_API_KEY`, `the OS keychain (cuervo auth login)`): authentication errors name
    /// it, so the user fixes the key that was actually sent.
    pub key_source: Option<String>,
    /// Extra headers sent with every request (`anthropic-beta`, `OpenAI-Organization`...).
    pub extra_headers: Vec<(String, String)>,
    /// How the side calls (embeddings, model metadata) retry transient failures. Model
    /// calls make one attempt here; the core retries them.
    pub retry: RetryPolicy,
    /// Limit for connecting and receiving the response headers.
    pub request_timeout: Duration,
    /// Longest silence allowed between two reads of the response body. A stalled body
    /// fails with `StreamCut` (the response had begun); a stall before the response head
    /// is bounded by `request_timeout` and fails with `Network`.
    pub idle_timeout: Duration,
    /// Mark the stable prefix of each request for the provider's prompt cache (Anthropic's
    /// `cache_control`; OpenAI, DeepSeek and Gemini cache automatically).
    pub prompt_caching: bool,
    /// The model `embed` uses; `None` picks the adapter's default.
    pub embedding_model: Option<String>,
    /// An upper bound on the context window: reported by `capabilities`, and for Ollama
    /// the largest `num_ctx` asked for (a model's full window may not fit in memory).
    pub context_window: Option<u64>,
}

impl ProviderSettings {
    /// Default connect + first byte timeout.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default longest silence between stream bytes. Generous because reasoning models can
    /// think for a long time between visible tokens (pings keep Anthropic streams alive).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

    /// Settings with defaults for everything but the endpoint: no key, default retry and
    /// timeouts.
    pub fn new(name: impl Into<String>, kind: WireKind, base_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            base_url: base_url.into(),
            api_key: None,
            api_key_env: None,
            key_source: None,
            extra_headers: Vec::new(),
            retry: RetryPolicy::default(),
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            prompt_caching: true,
            embedding_model: None,
            context_window: None,
        }
    }

    /// Presets for the providers Cuervo knows by name (`anthropic`, `openai`,
    /// `deepseek`, `gemini`, `ollama`): their public base URL and the conventional key
    /// variable (none for Ollama, a local server). The CLI layers config on top; `None`
    /// for any other name.
    pub fn known(name: &str) -> Option<Self> {
        let (kind, base, env) = match name {
            "anthropic" => (
                WireKind::Anthropic,
                "https://api.anthropic.com",
                Some("ANTHROPIC_API_KEY"),
            ),
            "openai" => (
                WireKind::OpenAiResponses,
                "https://api.openai.com/v1",
                Some("OPENAI_API_KEY"),
            ),
            "deepseek" => (
                WireKind::OpenAiChat,
                "https://api.deepseek.com",
                Some("DEEPSEEK_API_KEY"),
            ),
            "gemini" => (
                WireKind::Gemini,
                "https://generativelanguage.googleapis.com",
                Some("GEMINI_API_KEY"),
            ),
            "ollama" => (WireKind::Ollama, "http://localhost:11434", None),
            _ => return None,
        };
        let mut settings = Self::new(name, kind, base);
        settings.api_key_env = env.map(str::to_owned);
        Some(settings)
    }

    /// Sets the key (builder style, handy in tests and the CLI).
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

/// Hand-written so that logging settings never prints the key.
impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_key_env", &self.api_key_env)
            .field("key_source", &self.key_source)
            .field(
                "extra_headers",
                &self
                    .extra_headers
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("prompt_caching", &self.prompt_caching)
            .field("embedding_model", &self.embedding_model)
            .field("context_window", &self.context_window)
            .finish()
    }
}

/// Why a provider could not be built. Failures of a call are
/// [`cuervo_domain::ModelError`]s instead; these are configuration mistakes, reported once
/// at start-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The base URL does not parse or is not http(s).
    #[error("provider `{name}`: invalid base_url `{url}`: {reason}")]
    InvalidBaseUrl {
        name: String,
        url: String,
        reason: String,
    },
    /// An extra header (or the key) cannot be sent as an HTTP header.
    #[error("provider `{name}`: invalid header `{header}`: {reason}")]
    InvalidHeader {
        name: String,
        header: String,
        reason: String,
    },
    /// The HTTP client could not be created (TLS backend initialisation).
    #[error("provider `{name}`: could not build the HTTP client: {source}")]
    Client {
        name: String,
        #[source]
        source: reqwest::Error,
    },
}

/// This crate's result type for construction.
pub type Result<T> = std::result::Result<T, ProviderError>;

/// Builds the adapter for `settings.kind`, validating the URL and headers up front so that
/// a typo in config fails at start-up rather than on the first request. A missing key is
/// not an error here (the provider may never be used); it fails the first `invoke`.
pub fn build_provider(settings: ProviderSettings) -> Result<Arc<dyn ModelProvider>> {
    Ok(match settings.kind {
        WireKind::Anthropic => Arc::new(AnthropicProvider::new(settings)?),
        WireKind::OpenAiChat => Arc::new(OpenAiProvider::new(settings)?),
        WireKind::OpenAiResponses => Arc::new(ResponsesProvider::new(settings)?),
        WireKind::Gemini => Arc::new(GeminiProvider::new(settings)?),
        WireKind::Ollama => Arc::new(OllamaProvider::new(settings)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_key() {
        let s = ProviderSettings::known("anthropic")
            .expect("known")
            .with_api_key("sk-secret");
        let shown = format!("{s:?}");
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn build_rejects_bad_urls_and_headers() {
        let bad = ProviderSettings::new("x", WireKind::OpenAiChat, "not a url");
        assert!(matches!(
            build_provider(bad),
            Err(ProviderError::InvalidBaseUrl { .. })
        ));
        let ftp = ProviderSettings::new("x", WireKind::Anthropic, "ftp://example.com");
        assert!(matches!(
            build_provider(ftp),
            Err(ProviderError::InvalidBaseUrl { .. })
        ));
        let mut header = ProviderSettings::new("x", WireKind::OpenAiChat, "http://localhost:1");
        header.extra_headers.push(("bad header".into(), "v".into()));
        assert!(matches!(
            build_provider(header),
            Err(ProviderError::InvalidHeader { .. })
        ));
        let ok = ProviderSettings::known("deepseek").expect("known");
        let provider = build_provider(ok).expect("builds");
        assert_eq!(provider.name(), "deepseek");
        for name in ["anthropic", "openai", "deepseek", "gemini", "ollama"] {
            let settings = ProviderSettings::known(name).expect("known");
            assert_eq!(build_provider(settings).expect("builds").name(), name);
        }
    }

    #[test]
    fn presets_and_the_openai_default_protocol() {
        let openai = ProviderSettings::known("openai").expect("known");
        assert_eq!(openai.kind, WireKind::OpenAiResponses);
        let ollama = ProviderSettings::known("ollama").expect("known");
        assert_eq!(ollama.kind, WireKind::Ollama);
        assert_eq!(ollama.api_key_env, None, "a local server needs no key");
        let gemini = ProviderSettings::known("gemini").expect("known");
        assert_eq!(gemini.api_key_env.as_deref(), Some("GEMINI_API_KEY"));
        assert_eq!(
            WireKind::openai_default("https://api.openai.com/v1"),
            WireKind::OpenAiResponses
        );
        for base in [
            "https://api.deepseek.com",
            "http://localhost:8080/v1",
            "https://gateway.example.com/openai/v1",
            "not a url",
        ] {
            assert_eq!(
                WireKind::openai_default(base),
                WireKind::OpenAiChat,
                "{base}"
            );
        }
    }
}
