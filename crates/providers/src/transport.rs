//! The HTTP half shared by every adapter: client set-up, sending with timeouts, mapping
//! failures to [`ModelErrorKind`]s, and driving an adapter's decoder over the response.
//!
//! An adapter contributes a URL, headers, a serialised body, a streaming [`Decoder`] and a
//! whole-body decoder; everything else (retries included) happens here, once. Streams are
//! framed as server-sent events or as newline-delimited JSON ([`Framing`]); both reach
//! the decoder as [`sse::Event`]s (an NDJSON line is an event's `data`).

use std::collections::VecDeque;
use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, ModelChunk, ModelError, ModelErrorKind, ToolCall,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::ndjson::NdjsonParser;
use crate::retry::{self, RetryPolicy};
use crate::sse::{self, SseParser};
use crate::{ProviderError, ProviderSettings};

/// Turns the SSE events of one response into chunks. One decoder per attempt.
pub(crate) trait Decoder: Send + 'static {
    /// Handles one event, appending the chunks it completes to `out`.
    fn event(&mut self, event: sse::Event, out: &mut Vec<ModelChunk>) -> Result<(), ModelError>;
    /// Whether the provider said the answer is complete; the connection is then dropped.
    fn finished(&self) -> bool;
    /// The body ended: emit what completes the answer, or fail with `StreamCut`.
    fn end(&mut self, out: &mut Vec<ModelChunk>) -> Result<(), ModelError>;
}

/// Decodes a whole (non-streamed) response body into the same chunk sequence.
pub(crate) type WholeDecoder = fn(&str, &[u8]) -> Result<Vec<ModelChunk>, ModelError>;

/// How a streamed response body is cut into events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Framing {
    /// Server-sent events (Anthropic, OpenAI, Gemini with `alt=sse`).
    #[default]
    Sse,
    /// One JSON value per line (Ollama).
    Ndjson,
}

/// A request ready to send: built once, sent again on each retry.
pub(crate) struct HttpRequest {
    pub url: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub stream: bool,
    pub framing: Framing,
}

/// The parser of a streamed body, by [`Framing`].
enum Parser {
    Sse(SseParser),
    Ndjson(NdjsonParser),
}

impl Parser {
    fn new(framing: Framing) -> Self {
        match framing {
            Framing::Sse => Parser::Sse(SseParser::new()),
            Framing::Ndjson => Parser::Ndjson(NdjsonParser::new()),
        }
    }

    fn feed(&mut self, bytes: &[u8]) -> Vec<sse::Event> {
        match self {
            Parser::Sse(parser) => parser.feed(bytes),
            Parser::Ndjson(parser) => parser.feed(bytes).into_iter().map(line_event).collect(),
        }
    }

    /// The body ended: an unterminated NDJSON line that is whole JSON still counts (an
    /// unterminated SSE event never does; a cut line is left for the decoder's `end`).
    fn finish(&mut self) -> Option<sse::Event> {
        match self {
            Parser::Sse(_) => None,
            Parser::Ndjson(parser) => parser
                .finish()
                .filter(|line| serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok())
                .map(line_event),
        }
    }
}

fn line_event(line: String) -> sse::Event {
    sse::Event {
        event: None,
        data: line,
    }
}

/// The shared, immutable half of a provider.
pub(crate) struct Transport {
    name: String,
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    key_required: bool,
    auth_hint: String,
    extra_headers: HeaderMap,
    retry: RetryPolicy,
    request_timeout: Duration,
    idle_timeout: Duration,
    context_window: Option<u64>,
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

impl Transport {
    /// Validates `settings` and builds the HTTP client. `key_required` is false only for
    /// endpoints that may run without a key (a local OpenAI-compatible server).
    pub(crate) fn new(settings: ProviderSettings, key_required: bool) -> crate::Result<Self> {
        let name = settings.name;
        let base_url = settings.base_url.trim().trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            Ok(url) => {
                return Err(ProviderError::InvalidBaseUrl {
                    name,
                    url: settings.base_url,
                    reason: format!("scheme `{}` is not http or https", url.scheme()),
                });
            }
            Err(e) => {
                return Err(ProviderError::InvalidBaseUrl {
                    name,
                    url: settings.base_url,
                    reason: e.to_string(),
                });
            }
        }
        let mut extra_headers = HeaderMap::new();
        for (header, value) in &settings.extra_headers {
            let invalid = |reason: String| ProviderError::InvalidHeader {
                name: name.clone(),
                header: header.clone(),
                reason,
            };
            let header_name =
                HeaderName::from_bytes(header.as_bytes()).map_err(|e| invalid(e.to_string()))?;
            let header_value = HeaderValue::from_str(value).map_err(|e| invalid(e.to_string()))?;
            extra_headers.insert(header_name, header_value);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(settings.request_timeout)
            .user_agent(concat!("cuervo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ProviderError::Client {
                name: name.clone(),
                source,
            })?;
        let config_key = format!("providers.{name}.api_key in ~/.config/cuervo/config.yml");
        let has_key = settings
            .api_key
            .as_ref()
            .is_some_and(|k| !k.trim().is_empty());
        let auth_hint = match (&settings.key_source, &settings.api_key_env) {
            // Name the key that was actually sent, not where one could have come from.
            (Some(source), _) if has_key => format!("the key in use ({source})"),
            (_, Some(env)) => format!("{env} or {config_key}"),
            (_, None) => config_key,
        };
        let key_required = key_required || settings.api_key_env.is_some();
        Ok(Self {
            name,
            client,
            base_url,
            api_key: settings.api_key.filter(|k| !k.trim().is_empty()),
            key_required,
            auth_hint,
            extra_headers,
            retry: settings.retry,
            request_timeout: settings.request_timeout,
            idle_timeout: settings.idle_timeout,
            context_window: settings.context_window,
        })
    }

    /// Applies the configured upper bound on the context window.
    pub(crate) fn cap_context(&self, mut capabilities: Capabilities) -> Capabilities {
        if let Some(limit) = self.context_window {
            capabilities.context_window = capabilities.context_window.min(limit);
        }
        capabilities
    }

    /// The configured upper bound on the context window, if any.
    pub(crate) fn context_limit(&self) -> Option<u64> {
        self.context_window
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The base URL without trailing slashes.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The key as a header value, `None` for a keyless endpoint, or the `Auth` error
    /// telling the user where to put it.
    pub(crate) fn key_header(&self, prefix: &str) -> Result<Option<HeaderValue>, ModelError> {
        let Some(key) = &self.api_key else {
            return if self.key_required {
                Err(self.auth_error(format!(
                    "no API key for {}: set {}",
                    self.name, self.auth_hint
                )))
            } else {
                Ok(None)
            };
        };
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", key.trim())).map_err(|_| {
            self.auth_error(format!(
                "the API key for {} contains characters that cannot be sent in an HTTP header: check {}",
                self.name, self.auth_hint
            ))
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    fn auth_error(&self, message: String) -> ModelError {
        ModelError::new(&self.name, ModelErrorKind::Auth, message)
    }

    /// Adds the configured extra headers (they win over the adapter's defaults).
    /// The headers of a JSON request: `protocol` (an API version, say), the key under
    /// `key_name` with `key_prefix` (`Authorization: Bearer …`, `x-api-key: …`) when there
    /// is one, `Content-Type`, then the configured extra headers, which win.
    pub(crate) fn json_headers(
        &self,
        key_name: HeaderName,
        key_prefix: &str,
        mut protocol: HeaderMap,
    ) -> Result<HeaderMap, ModelError> {
        if let Some(key) = self.key_header(key_prefix)? {
            protocol.insert(key_name, key);
        }
        protocol.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(self.with_extra_headers(protocol))
    }

    /// `{base_url}/{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }

    pub(crate) fn with_extra_headers(&self, mut headers: HeaderMap) -> HeaderMap {
        for (name, value) in &self.extra_headers {
            headers.insert(name, value.clone());
        }
        headers
    }

    /// Posts `wire` as JSON to `url` and streams the decoded answer. A header or
    /// serialisation failure becomes the stream's only item, so an adapter's `invoke` is
    /// the mapping to its wire format and nothing else. `decoder` gets the provider name.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn post<T, D>(
        &self,
        url: String,
        headers: Result<HeaderMap, ModelError>,
        wire: &T,
        stream: bool,
        framing: Framing,
        decoder: fn(&str) -> D,
        whole: WholeDecoder,
    ) -> ChunkStream
    where
        T: serde::Serialize,
        D: Decoder,
    {
        let headers = match headers {
            Ok(headers) => headers,
            Err(error) => return fail(error),
        };
        let body = match body(&self.name, wire) {
            Ok(body) => body,
            Err(error) => return fail(error),
        };
        let name = self.name.clone();
        self.send(
            HttpRequest {
                url,
                headers,
                body,
                stream,
                framing,
            },
            move || decoder(&name),
            whole,
        )
    }

    /// Sends `request` once and streams the decoded answer (the core retries model
    /// calls; see the crate docs).
    pub(crate) fn send<D, F>(
        &self,
        request: HttpRequest,
        decoder: F,
        whole: WholeDecoder,
    ) -> ChunkStream
    where
        D: Decoder,
        F: Fn() -> D + Send + Sync + 'static,
    {
        let ctx = Arc::new(Attempt {
            name: self.name.clone(),
            client: self.client.clone(),
            method: reqwest::Method::POST,
            request,
            auth_hint: self.auth_hint.clone(),
            request_timeout: self.request_timeout,
            idle_timeout: self.idle_timeout,
        });
        attempt(ctx, decoder(), whole)
    }

    /// Sends a request whose answer is one JSON body (embeddings, model metadata) under
    /// the same retry policy and error mapping as model calls; `body: None` is a `GET`.
    pub(crate) fn json(
        &self,
        url: String,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> BoxFuture<'static, Result<Vec<u8>, ModelError>> {
        let method = if body.is_some() {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let ctx = Arc::new(Attempt {
            name: self.name.clone(),
            client: self.client.clone(),
            method,
            request: HttpRequest {
                url,
                headers,
                body: body.unwrap_or_default(),
                stream: false,
                framing: Framing::Sse,
            },
            auth_hint: self.auth_hint.clone(),
            request_timeout: self.request_timeout,
            idle_timeout: self.idle_timeout,
        });
        let mut replies = retry::with_retries(self.name.clone(), self.retry, move || {
            let ctx = ctx.clone();
            Box::pin(futures::stream::once(async move {
                let response = connect(&ctx).await?;
                read_whole(&ctx, response).await
            })) as retry::RetryStream<Vec<u8>>
        });
        let name = self.name.clone();
        Box::pin(async move {
            replies.next().await.unwrap_or_else(|| {
                Err(protocol(
                    &name,
                    "the request ended without an answer".to_owned(),
                ))
            })
        })
    }

    /// `GET url` with a short timeout: true on a 2xx answer.
    pub(crate) fn probe(&self, url: String, headers: HeaderMap) -> BoxFuture<'_, bool> {
        let request = self
            .client
            .get(url)
            .headers(self.with_extra_headers(headers))
            .timeout(PROBE_TIMEOUT);
        Box::pin(async move {
            matches!(request.send().await, Ok(response) if response.status().is_success())
        })
    }
}

/// Everything one attempt needs, shared by the retries of a call.
struct Attempt {
    name: String,
    client: reqwest::Client,
    method: reqwest::Method,
    request: HttpRequest,
    auth_hint: String,
    request_timeout: Duration,
    idle_timeout: Duration,
}

enum Phase<D> {
    Connect(D),
    Streaming {
        body: BoxStream<'static, reqwest::Result<Bytes>>,
        parser: Parser,
        decoder: D,
    },
    Done,
}

struct State<D> {
    ctx: Arc<Attempt>,
    phase: Phase<D>,
    queue: VecDeque<Result<ModelChunk, ModelError>>,
    whole: WholeDecoder,
}

/// One try: connect, check the status, then decode the body. A pull-driven state machine,
/// so dropping the stream drops the response and closes the connection.
fn attempt<D: Decoder>(ctx: Arc<Attempt>, decoder: D, whole: WholeDecoder) -> ChunkStream {
    let state = State {
        ctx,
        phase: Phase::Connect(decoder),
        queue: VecDeque::new(),
        whole,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.queue.pop_front() {
                if item.is_err() {
                    st.queue.clear();
                    st.phase = Phase::Done;
                }
                return Some((item, st));
            }
            match std::mem::replace(&mut st.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::Connect(decoder) => match connect(&st.ctx).await {
                    Err(error) => st.queue.push_back(Err(error)),
                    Ok(response) => {
                        let is_json = response
                            .headers()
                            .get(reqwest::header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|v| v.starts_with("application/json"));
                        if st.ctx.request.stream && !is_json {
                            st.phase = Phase::Streaming {
                                body: response.bytes_stream().boxed(),
                                parser: Parser::new(st.ctx.request.framing),
                                decoder,
                            };
                        } else {
                            // Asked for a whole answer, or a server that ignores `stream`.
                            let decoded = read_whole(&st.ctx, response)
                                .await
                                .and_then(|body| (st.whole)(&st.ctx.name, &body));
                            match decoded {
                                Ok(chunks) => st.queue.extend(chunks.into_iter().map(Ok)),
                                Err(error) => st.queue.push_back(Err(error)),
                            }
                        }
                    }
                },
                Phase::Streaming {
                    mut body,
                    mut parser,
                    mut decoder,
                } => {
                    let mut out = Vec::new();
                    let mut failure = None;
                    let mut open = true;
                    match tokio::time::timeout(st.ctx.idle_timeout, body.next()).await {
                        Err(_) => failure = Some(stalled(&st.ctx)),
                        Ok(Some(Err(e))) => failure = Some(broken(&st.ctx, &e)),
                        Ok(Some(Ok(bytes))) => {
                            for event in parser.feed(&bytes) {
                                if let Err(e) = decoder.event(event, &mut out) {
                                    failure = Some(e);
                                    break;
                                }
                                if decoder.finished() {
                                    break;
                                }
                            }
                        }
                        Ok(None) => {
                            open = false;
                            if let Some(event) = parser.finish()
                                && let Err(e) = decoder.event(event, &mut out)
                            {
                                failure = Some(e);
                            }
                            if failure.is_none()
                                && !decoder.finished()
                                && let Err(e) = decoder.end(&mut out)
                            {
                                failure = Some(e);
                            }
                        }
                    }
                    st.queue.extend(out.into_iter().map(Ok));
                    if let Some(error) = failure {
                        st.queue.push_back(Err(error));
                    } else if open && !decoder.finished() {
                        st.phase = Phase::Streaming {
                            body,
                            parser,
                            decoder,
                        };
                    }
                }
            }
        }
    }))
}

/// Sends the request and waits for the headers; a non-2xx status becomes its error.
async fn connect(ctx: &Attempt) -> Result<reqwest::Response, ModelError> {
    tracing::debug!(
        provider = %ctx.name,
        url = %ctx.request.url,
        stream = ctx.request.stream,
        bytes = ctx.request.body.len(),
        "sending model request"
    );
    let mut request = ctx
        .client
        .request(ctx.method.clone(), &ctx.request.url)
        .headers(ctx.request.headers.clone());
    if ctx.method != reqwest::Method::GET {
        request = request.body(ctx.request.body.clone());
    }
    let response = match tokio::time::timeout(ctx.request_timeout, request.send()).await {
        Err(_) => {
            return Err(network(
                &ctx.name,
                format!(
                    "no response from {} within {}s",
                    ctx.request.url,
                    ctx.request_timeout.as_secs_f32()
                ),
            ));
        }
        Ok(Err(e)) => {
            return Err(network(
                &ctx.name,
                format!("could not reach {}: {}", ctx.request.url, describe(&e)),
            ));
        }
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = retry_after(response.headers());
    let body = match tokio::time::timeout(ctx.request_timeout, response.bytes()).await {
        Ok(Ok(body)) => body,
        _ => Bytes::new(),
    };
    Err(http_error(
        &ctx.name,
        status.as_u16(),
        retry_after,
        &body,
        &ctx.auth_hint,
    ))
}

/// Reads a whole body, allowing at most the idle timeout between two reads.
async fn read_whole(ctx: &Attempt, response: reqwest::Response) -> Result<Vec<u8>, ModelError> {
    let mut body = response.bytes_stream();
    let mut all = Vec::new();
    loop {
        match tokio::time::timeout(ctx.idle_timeout, body.next()).await {
            Err(_) => return Err(stalled(ctx)),
            Ok(Some(Err(e))) => return Err(broken(ctx, &e)),
            Ok(Some(Ok(bytes))) => all.extend_from_slice(&bytes),
            Ok(None) => return Ok(all),
        }
    }
}

fn network(provider: &str, message: String) -> ModelError {
    ModelError::new(provider, ModelErrorKind::Network, message)
}

/// The error for a response that went silent after its head: `StreamCut`, because the
/// response had begun (a retry is the caller's decision, with the domain's rules).
fn stalled(ctx: &Attempt) -> ModelError {
    stream_cut(
        &ctx.name,
        &format!(
            "no data for {}s; the connection was closed",
            ctx.idle_timeout.as_secs_f32()
        ),
    )
}

/// The error for a connection that broke after the response head.
fn broken(ctx: &Attempt, error: &reqwest::Error) -> ModelError {
    stream_cut(
        &ctx.name,
        &format!("the connection broke: {}", describe(error)),
    )
}

/// A response that ended before the provider said it was complete.
pub(crate) fn stream_cut(provider: &str, detail: &str) -> ModelError {
    ModelError::new(
        provider,
        ModelErrorKind::StreamCut,
        format!(
            "the response was cut off before it finished ({detail}); nothing partial was applied"
        ),
    )
}

/// A response that does not follow the provider's own wire format.
pub(crate) fn protocol(provider: &str, message: String) -> ModelError {
    ModelError::new(provider, ModelErrorKind::Protocol, message)
}

/// A reqwest error with its causes, which hold the useful part ("connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `retry-after-ms` (more precise) or `Retry-After` (seconds or HTTP-date).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("retry-after-ms")
        .and_then(retry::parse_retry_after_ms)
        .or_else(|| {
            header("retry-after").and_then(|v| retry::parse_retry_after(v, SystemTime::now()))
        })
}

/// What a provider said in an error body. Anthropic and OpenAI both nest it under
/// `error` (`{"error": {"type", "message", "code"}}`); Google uses `{"error": {"code":
/// 429, "message", "status": "RESOURCE_EXHAUSTED", "details": [...]}}` (its `status` is
/// read as the kind); Ollama sends `{"error": "message"}`; other servers use `message`,
/// `detail` or plain text.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorDetails {
    pub message: String,
    pub kind: Option<String>,
    pub code: Option<String>,
    /// Google's `details[].reason` (`API_KEY_INVALID`...).
    pub reason: Option<String>,
    /// Google's `RetryInfo` advice (`details[].retryDelay: "24s"`), for 429s that come
    /// without a `Retry-After` header.
    pub retry_delay: Option<Duration>,
}

pub(crate) fn error_details(body: &[u8]) -> ErrorDetails {
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        let error = json.get("error").unwrap_or(&json);
        let message = error
            .get("message")
            .or_else(|| json.get("message"))
            .or_else(|| json.get("detail"))
            .and_then(as_text)
            .or_else(|| error.as_str().map(str::to_owned))
            .unwrap_or_else(|| json.to_string());
        let details = error
            .get("details")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        return ErrorDetails {
            message,
            kind: error
                .get("type")
                .or_else(|| error.get("status"))
                .and_then(as_text),
            code: error.get("code").and_then(as_text),
            reason: details
                .iter()
                .find_map(|d| d.get("reason").and_then(Value::as_str))
                .map(str::to_owned),
            retry_delay: details
                .iter()
                .find_map(|d| d.get("retryDelay").and_then(Value::as_str))
                .and_then(parse_google_duration),
        };
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    const LIMIT: usize = 500;
    let message = match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    };
    ErrorDetails {
        message,
        ..ErrorDetails::default()
    }
}

/// A protobuf `Duration` in JSON: decimal seconds with an `s` suffix (`"24s"`, `"0.5s"`).
fn parse_google_duration(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Whether an error message says the prompt did not fit the context window.
fn mentions_context_limit(details: &ErrorDetails) -> bool {
    if details.code.as_deref() == Some("context_length_exceeded") {
        return true;
    }
    let message = details.message.to_ascii_lowercase();
    [
        "context length",
        "context_length",
        "context window",
        "maximum context",
        "prompt is too long",
        "reduce the length",
        // Gemini: "The input token count (1200000) exceeds the maximum number of tokens
        // allowed (1048576)."
        "exceeds the maximum number of tokens",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// Maps a failed HTTP response to its error kind, keeping the provider's own words.
pub(crate) fn http_error(
    provider: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    auth_hint: &str,
) -> ModelError {
    let details = error_details(body);
    let said = if details.message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {}", details.message)
    };
    let retry_after_ms = retry_after
        .or(details.retry_delay)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let key_rejected = matches!(
        details.reason.as_deref(),
        Some("API_KEY_INVALID" | "API_KEY_SERVICE_BLOCKED")
    );
    let (kind, message) = match status {
        // Google answers a wrong key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
        400 | 403 if key_rejected => (
            ModelErrorKind::Auth,
            format!("the API key was rejected ({said}); check {auth_hint}"),
        ),
        401 => (
            ModelErrorKind::Auth,
            format!("the API key was rejected ({said}); check {auth_hint}"),
        ),
        403 => (
            ModelErrorKind::Auth,
            format!("the API key is not allowed to do this ({said}); check {auth_hint}"),
        ),
        // Out of credit is not cured by waiting.
        429 if details.code.as_deref() == Some("insufficient_quota") => (
            ModelErrorKind::InvalidRequest,
            format!("the account is out of quota ({said})"),
        ),
        429 => (
            ModelErrorKind::RateLimited { retry_after_ms },
            format!("rate limited ({said})"),
        ),
        503 | 529 => (
            ModelErrorKind::Overloaded { retry_after_ms },
            format!("overloaded ({said})"),
        ),
        400 | 413 if mentions_context_limit(&details) => (
            ModelErrorKind::ContextWindowExceeded,
            format!("the prompt does not fit the model's context window ({said})"),
        ),
        408 => (
            ModelErrorKind::Network,
            format!("the request timed out ({said})"),
        ),
        400..=499 => (
            ModelErrorKind::InvalidRequest,
            format!("the request was rejected ({said})"),
        ),
        500..=599 => (ModelErrorKind::Server, format!("server error ({said})")),
        _ => (
            ModelErrorKind::Protocol,
            format!("unexpected HTTP status ({said})"),
        ),
    };
    ModelError::new(provider, kind, message)
}

/// Maps an error reported inside a 200 stream (Anthropic `event: error`, an OpenAI chunk
/// with `error`) by its type, as the status would have been mapped.
pub(crate) fn stream_error(provider: &str, details: ErrorDetails) -> ModelError {
    let kind = details.kind.as_deref().unwrap_or("");
    let code = details.code.as_deref().unwrap_or("");
    let is = |s: &str| kind == s || code == s;
    // Google's canonical codes arrive as the kind (`status`).
    let (kind, what) = if is("overloaded_error") || is("overloaded") || is("UNAVAILABLE") {
        (
            ModelErrorKind::Overloaded {
                retry_after_ms: None,
            },
            "overloaded",
        )
    } else if is("rate_limit_error") || is("rate_limit_exceeded") || is("RESOURCE_EXHAUSTED") {
        (
            ModelErrorKind::RateLimited {
                retry_after_ms: None,
            },
            "rate limited",
        )
    } else if is("authentication_error")
        || is("permission_error")
        || is("invalid_api_key")
        || is("UNAUTHENTICATED")
        || is("PERMISSION_DENIED")
    {
        (ModelErrorKind::Auth, "authentication failed")
    } else if mentions_context_limit(&details) {
        (
            ModelErrorKind::ContextWindowExceeded,
            "the prompt does not fit the model's context window",
        )
    } else if is("invalid_request_error")
        || is("not_found_error")
        || is("request_too_large")
        || is("invalid_prompt")
        || is("INVALID_ARGUMENT")
        || is("FAILED_PRECONDITION")
        || is("NOT_FOUND")
    {
        (ModelErrorKind::InvalidRequest, "the request was rejected")
    } else if is("timeout_error") || is("DEADLINE_EXCEEDED") {
        (ModelErrorKind::Network, "the provider timed out")
    } else {
        (ModelErrorKind::Server, "the provider failed mid-stream")
    };
    ModelError::new(provider, kind, format!("{what}: {}", details.message))
}

/// Serialises a request body, or fails with `InvalidRequest`.
pub(crate) fn body<T: serde::Serialize>(provider: &str, value: &T) -> Result<Bytes, ModelError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|e| {
        ModelError::new(
            provider,
            ModelErrorKind::InvalidRequest,
            format!("could not serialise the request: {e}"),
        )
    })
}

/// A stream that yields one error: how failures found before sending are reported.
pub(crate) fn fail(error: ModelError) -> ChunkStream {
    Box::pin(futures::stream::iter([Err(error)]))
}

/// Parses one event's JSON, or fails with `Protocol` naming what was wrong.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    provider: &str,
    what: &str,
    data: &str,
) -> Result<T, ModelError> {
    serde_json::from_str(data).map_err(|e| {
        let mut sample: String = data.chars().take(200).collect();
        if sample.len() < data.len() {
            sample.push('…');
        }
        protocol(provider, format!("invalid JSON in {what} ({e}): {sample}"))
    })
}

/// A tool call from its accumulated argument text: empty means `{}`. Text that is not a
/// JSON object (cut off by the output limit, or malformed) does not fail the answer: the
/// call is kept, marked with what was wrong ([`ToolCall::with_invalid_arguments`]), and
/// the agent loop answers it with an error the model can act on.
pub(crate) fn tool_call(id: String, name: String, json: &str) -> ToolCall {
    if json.trim().is_empty() {
        return ToolCall {
            id,
            name,
            input: Value::Object(Default::default()),
        };
    }
    match serde_json::from_str::<Value>(json) {
        Ok(input @ Value::Object(_)) => ToolCall { id, name, input },
        Ok(other) => {
            let kind = match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            };
            let error = format!("the arguments are {kind}, not a JSON object");
            ToolCall::with_invalid_arguments(id, name, json, error)
        }
        Err(e) => {
            tracing::debug!(%id, %name, error = %e, "tool call arguments are not valid JSON");
            ToolCall::with_invalid_arguments(id, name, json, e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const HINT: &str =
        "ANTHROPIC_API_KEY or providers.anthropic.api_key in ~/.config/cuervo/config.yml";

    fn map(status: u16, body: &str) -> ModelError {
        http_error("anthropic", status, None, body.as_bytes(), HINT)
    }

    #[test]
    fn status_codes_map_to_kinds() {
        let anthropic = |kind: &str, msg: &str| {
            format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"{msg}"}}}}"#)
        };
        let e = map(401, &anthropic("authentication_error", "invalid x-api-key"));
        assert_eq!(e.kind, ModelErrorKind::Auth);
        assert!(e.message.contains("invalid x-api-key"), "{}", e.message);
        assert!(e.message.contains("ANTHROPIC_API_KEY"), "{}", e.message);
        assert_eq!(map(403, "forbidden").kind, ModelErrorKind::Auth);

        let e = http_error(
            "openai",
            429,
            Some(Duration::from_millis(1500)),
            br#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#,
            HINT,
        );
        assert_eq!(
            e.kind,
            ModelErrorKind::RateLimited {
                retry_after_ms: Some(1500)
            }
        );
        assert!(e.message.contains("slow down"));
        assert_eq!(
            map(
                429,
                r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#
            )
            .kind,
            ModelErrorKind::InvalidRequest
        );
        for status in [503, 529] {
            assert_eq!(
                map(status, &anthropic("overloaded_error", "Overloaded")).kind,
                ModelErrorKind::Overloaded {
                    retry_after_ms: None
                }
            );
        }
        assert_eq!(
            map(
                400,
                &anthropic(
                    "invalid_request_error",
                    "prompt is too long: 210000 tokens > 200000 maximum"
                )
            )
            .kind,
            ModelErrorKind::ContextWindowExceeded
        );
        assert_eq!(
            map(
                400,
                r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#
            )
            .kind,
            ModelErrorKind::ContextWindowExceeded
        );
        assert_eq!(
            map(
                413,
                &anthropic("request_too_large", "Request exceeds the maximum size")
            )
            .kind,
            ModelErrorKind::InvalidRequest
        );
        let e = map(404, &anthropic("not_found_error", "model: claude-nope"));
        assert_eq!(e.kind, ModelErrorKind::InvalidRequest);
        assert!(e.message.contains("claude-nope"));
        assert_eq!(map(422, "bad").kind, ModelErrorKind::InvalidRequest);
        assert_eq!(map(408, "").kind, ModelErrorKind::Network);
        let e = map(500, &anthropic("api_error", "Internal server error"));
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert!(e.message.contains("Internal server error"));
        assert_eq!(
            map(502, "<html>bad gateway</html>").kind,
            ModelErrorKind::Server
        );
        assert!(
            map(502, "<html>bad gateway</html>")
                .message
                .contains("bad gateway")
        );
    }

    #[test]
    fn google_and_ollama_error_bodies_map_to_kinds() {
        let key = http_error(
            "gemini",
            400,
            None,
            br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#,
            HINT,
        );
        assert_eq!(key.kind, ModelErrorKind::Auth);
        assert!(key.message.contains("API key not valid"), "{}", key.message);
        let quota = http_error(
            "gemini",
            429,
            None,
            br#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"24s"}]}}"#,
            HINT,
        );
        assert_eq!(
            quota.kind,
            ModelErrorKind::RateLimited {
                retry_after_ms: Some(24_000)
            }
        );
        let long = http_error(
            "gemini",
            400,
            None,
            br#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
            HINT,
        );
        assert_eq!(long.kind, ModelErrorKind::ContextWindowExceeded);
        let missing = http_error(
            "ollama",
            404,
            None,
            br#"{"error":"model 'llama9' not found, try pulling it first"}"#,
            HINT,
        );
        assert_eq!(missing.kind, ModelErrorKind::InvalidRequest);
        assert!(missing.message.contains("try pulling it first"));
        let details = |kind: &str| ErrorDetails {
            message: "m".into(),
            kind: Some(kind.into()),
            ..ErrorDetails::default()
        };
        assert_eq!(
            stream_error("g", details("UNAVAILABLE")).kind,
            ModelErrorKind::Overloaded {
                retry_after_ms: None
            }
        );
        assert_eq!(
            stream_error("g", details("INVALID_ARGUMENT")).kind,
            ModelErrorKind::InvalidRequest
        );
    }

    #[test]
    fn error_details_from_various_bodies() {
        assert_eq!(
            error_details(br#"{"error":{"message":"m","type":"t","code":42}}"#),
            ErrorDetails {
                message: "m".into(),
                kind: Some("t".into()),
                code: Some("42".into()),
                ..ErrorDetails::default()
            }
        );
        // Google's shape: `status` is the kind, `details` carry the reason and the wait.
        let google = error_details(
            br#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"24s"}]}}"#,
        );
        assert_eq!(google.kind.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(google.retry_delay, Some(Duration::from_secs(24)));
        assert_eq!(
            parse_google_duration("0.5s"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_google_duration("soon"), None);
        assert_eq!(error_details(br#"{"detail":"nope"}"#).message, "nope");
        assert_eq!(error_details(br#"{"error":"plain"}"#).message, "plain");
        assert_eq!(error_details(b"  text body \n").message, "text body");
        let long = "x".repeat(2000);
        assert_eq!(error_details(long.as_bytes()).message.chars().count(), 501);
    }

    #[test]
    fn stream_errors_map_by_type() {
        let details = |kind: &str, message: &str| ErrorDetails {
            message: message.into(),
            kind: Some(kind.into()),
            ..ErrorDetails::default()
        };
        assert_eq!(
            stream_error("a", details("overloaded_error", "Overloaded")).kind,
            ModelErrorKind::Overloaded {
                retry_after_ms: None
            }
        );
        assert_eq!(
            stream_error("a", details("rate_limit_error", "x")).kind,
            ModelErrorKind::RateLimited {
                retry_after_ms: None
            }
        );
        assert_eq!(
            stream_error("a", details("api_error", "x")).kind,
            ModelErrorKind::Server
        );
        assert_eq!(
            stream_error("a", details("invalid_request_error", "prompt is too long")).kind,
            ModelErrorKind::ContextWindowExceeded
        );
        assert!(
            stream_error("a", details("overloaded_error", "Overloaded"))
                .message
                .contains("Overloaded")
        );
    }

    #[test]
    fn retry_after_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn tool_input_parsing() {
        let call = |json: &str| tool_call("id".into(), "read".into(), json);
        assert_eq!(call(" ").input, serde_json::json!({}));
        assert_eq!(call(" ").invalid_arguments(), None);
        assert_eq!(
            call("{\"path\": \"a.rs\"}").input,
            serde_json::json!({"path": "a.rs"})
        );
        // Cut off or malformed: kept and marked, never an error that ends the answer.
        let cut = call("{\"path\": \"a.r");
        assert_eq!((cut.id.as_str(), cut.name.as_str()), ("id", "read"));
        let invalid = cut.invalid_arguments().expect("marked");
        assert!(invalid.error.contains("EOF"), "{}", invalid.error);
        assert_eq!(invalid.start, "{\"path\": \"a.r");
        assert_eq!(invalid.length, 13);
        let invalid = call("[1, 2]").invalid_arguments().expect("marked");
        assert_eq!(
            invalid.error,
            "the arguments are an array, not a JSON object"
        );
    }
}
