//! The mock server: routes, the turn queue, the request record, fault injection.
//!
//! The server runs on its own thread with its own Tokio runtime, so it keeps answering
//! while the test's runtime blocks (for example on `std::process::Command::output` running
//! the `cuervo` binary). Dropping the [`MockServer`] stops it and closes every connection.

use std::collections::HashSet;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::media::mock_embedding;
use crate::ollama::LocalModel;
use crate::record::{RecordedRequest, WireFormat};
use crate::script::{Fault, Reply, Script, Step, Turn};
use crate::sse::{self, Action, ReplyContext};
use crate::{anthropic, gemini, ollama, openai, responses};

/// The model ids `GET /v1/models` and `GET /v1beta/models` list.
const MODELS: &[&str] = &["mock-model", "claude-mock", "gpt-mock", "gemini-mock"];

/// How long a cut stream waits after its half frame before dropping the connection, so
/// the half frame reaches the client first.
const CUT_GRACE: Duration = Duration::from_millis(50);

/// An error answer, rendered in the wire format of the endpoint hit.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
    pub retry_after: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

/// How to run a [`MockServer`].
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// 0 picks a free port.
    pub port: u16,
    /// Start the script over when it runs out instead of answering "exhausted".
    pub looping: bool,
}

struct Inner {
    turns: Vec<Turn>,
    served: usize,
    looping: bool,
    requests: Vec<RecordedRequest>,
    side_requests: Vec<RecordedRequest>,
    local_models: Vec<LocalModel>,
    /// Hashes of the prompt prefixes written to the (Anthropic) prompt cache.
    prompt_cache: HashSet<u64>,
    message_seq: u64,
    tool_seq: u64,
}

impl Inner {
    fn next_turn(&mut self) -> Option<(usize, Turn)> {
        if self.turns.is_empty() || (!self.looping && self.served >= self.turns.len()) {
            return None;
        }
        let index = self.served % self.turns.len();
        self.served += 1;
        Some((index, self.turns[index].clone()))
    }

    fn remaining(&self) -> usize {
        let len = self.turns.len();
        if self.looping && len > 0 {
            len - self.served % len
        } else {
            len.saturating_sub(self.served)
        }
    }

    fn local_model(&self, name: &str) -> Option<LocalModel> {
        self.local_models.iter().find(|m| m.is(name)).cloned()
    }
}

struct Shared {
    inner: Mutex<Inner>,
    shutdown: CancellationToken,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running mock LLM server on `127.0.0.1`.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Serves `script` on a random port.
    pub async fn start(script: Script) -> std::io::Result<MockServer> {
        MockServer::start_with(script, ServerOptions::default()).await
    }

    /// Serves `script` with explicit options (a fixed port, looping).
    pub async fn start_with(script: Script, options: ServerOptions) -> std::io::Result<MockServer> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                turns: script.turns,
                served: 0,
                looping: options.looping,
                requests: Vec::new(),
                side_requests: Vec::new(),
                local_models: LocalModel::defaults(),
                prompt_cache: HashSet::new(),
                message_seq: 0,
                tool_seq: 0,
            }),
            shutdown: CancellationToken::new(),
        });
        let app = router(shared.clone());
        let shutdown = shared.shutdown.clone();
        let (ready_tx, ready_rx) = futures::channel::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("cuervo-mock-{}", addr.port()))
            .spawn(move || serve_thread(listener, app, shutdown, ready_tx))?;
        ready_rx
            .await
            .map_err(|_| std::io::Error::other("the mock server thread died while starting"))??;
        Ok(MockServer {
            addr,
            shared,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Same as [`MockServer::url`]: Anthropic clients append `/v1/messages`.
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// `url() + "/v1"`: OpenAI clients append `/chat/completions` or `/responses`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// Same as [`MockServer::url`]: Gemini clients append
    /// `/v1beta/models/{model}:generateContent`.
    pub fn gemini_base_url(&self) -> String {
        self.url()
    }

    /// Same as [`MockServer::url`]: Ollama clients append `/api/chat`.
    pub fn ollama_base_url(&self) -> String {
        self.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every model request received so far (including rejected ones), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every request to the other endpoints (embeddings, Ollama's `/api/show`,
    /// `/api/tags`...), oldest first. They use no turn.
    pub fn side_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().side_requests.clone()
    }

    /// Adds (or replaces, by name) a model of the mock Ollama server.
    pub fn add_local_model(&self, model: LocalModel) {
        let mut inner = self.shared.lock();
        inner.local_models.retain(|m| !m.is(&model.name));
        inner.local_models.push(model);
    }

    /// Turns not served yet (with looping: until the script starts over).
    pub fn remaining_turns(&self) -> usize {
        self.shared.lock().remaining()
    }

    /// Turns served so far (a request rejected by a check uses no turn).
    pub fn served_turns(&self) -> usize {
        self.shared.lock().served
    }

    /// Appends turns to the script while the server runs.
    pub fn push_turns(&self, turns: impl IntoIterator<Item = Turn>) {
        self.shared.lock().turns.extend(turns);
    }

    /// Panics unless the conversation of every recorded request pairs each tool result
    /// with a call of the assistant message before it.
    pub fn assert_tool_pairing(&self) {
        for (i, request) in self.requests().iter().enumerate() {
            if let Err(e) = cuervo_domain::check_tool_pairing(&request.messages()) {
                panic!(
                    "request #{i} ({} {}): tool pairing violated: {e}\nbody: {}",
                    request.method, request.path, request.body
                );
            }
        }
    }

    /// Panics unless every turn of the script was served.
    pub fn assert_all_turns_served(&self) {
        let remaining = self.remaining_turns();
        assert!(
            remaining == 0,
            "mock script not finished: {remaining} turn(s) never served ({} requests received)",
            self.requests().len()
        );
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_thread(
    listener: std::net::TcpListener,
    app: Router,
    shutdown: CancellationToken,
    ready: futures::channel::oneshot::Sender<std::io::Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        tokio::select! {
            result = axum::serve(listener, app).into_future() => {
                if let Err(e) = result {
                    tracing::error!("mock server stopped: {e}");
                }
            }
            _ = shutdown.cancelled() => {}
        }
    });
    // Drops the connection tasks still running (stalled streams, keep-alive sockets).
    runtime.shutdown_timeout(Duration::from_millis(200));
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/messages", post(anthropic_messages))
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/responses", post(openai_responses))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/v1/models", get(models))
        .route("/v1beta/models", get(gemini_models))
        .route("/v1beta/models/{call}", post(gemini_call))
        .route("/api/chat", post(ollama_chat))
        .route("/api/tags", get(ollama_tags))
        .route("/api/show", post(ollama_show))
        .route("/api/embed", post(ollama_embed))
        .route("/api/version", get(ollama_version))
        .route("/health", get(health))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
        .with_state(shared)
}

/// What a handler receives about a request.
struct Incoming {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

/// Every model route takes the whole request; extracting it in one place keeps the
/// handlers to what differs between them (the wire format).
impl<S: Send + Sync> axum::extract::FromRequest<S> for Incoming {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, _state: &S) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()).into_response())?;
        Ok(Incoming {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        })
    }
}

impl Incoming {
    fn record(&self, format: WireFormat) -> RecordedRequest {
        let body = serde_json::from_slice::<Value>(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()));
        RecordedRequest {
            method: self.method.to_string(),
            path: self.uri.path().to_string(),
            query: self.uri.query().unwrap_or_default().to_string(),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    (n.as_str().to_ascii_lowercase(), value)
                })
                .collect(),
            body,
            received_at: Instant::now(),
            format,
        }
    }
}

async fn anthropic_messages(State(shared): State<Arc<Shared>>, incoming: Incoming) -> Response {
    model_request(&shared, WireFormat::Anthropic, incoming)
}

async fn openai_chat(State(shared): State<Arc<Shared>>, incoming: Incoming) -> Response {
    model_request(&shared, WireFormat::OpenAiChat, incoming)
}

async fn openai_responses(State(shared): State<Arc<Shared>>, incoming: Incoming) -> Response {
    model_request(&shared, WireFormat::OpenAiResponses, incoming)
}

async fn gemini_call(State(shared): State<Arc<Shared>>, incoming: Incoming) -> Response {
    let call = gemini::path_model(incoming.uri.path()).map(|(_, call)| call.to_string());
    match call.as_deref() {
        Some("generateContent" | "streamGenerateContent") => {
            model_request(&shared, WireFormat::Gemini, incoming)
        }
        Some("embedContent" | "batchEmbedContents") => gemini_embed(&shared, incoming),
        _ => not_found(incoming.method, incoming.uri).await,
    }
}

async fn ollama_chat(State(shared): State<Arc<Shared>>, incoming: Incoming) -> Response {
    model_request(&shared, WireFormat::Ollama, incoming)
}

async fn models(headers: HeaderMap) -> Response {
    let anthropic = headers.contains_key("anthropic-version") || headers.contains_key("x-api-key");
    let body = if anthropic {
        anthropic::models_body(MODELS)
    } else {
        openai::models_body(MODELS)
    };
    json_response(StatusCode::OK, &body)
}

async fn gemini_models(headers: HeaderMap, uri: Uri) -> Response {
    match gemini::check_headers(&headers, &uri) {
        Ok(()) => json_response(StatusCode::OK, &gemini::models_body(MODELS)),
        Err(e) => error_response(WireFormat::Gemini, &e),
    }
}

/// Records a request to a side endpoint and parses its JSON body (or fails with a 400).
fn side_request(
    shared: &Shared,
    format: WireFormat,
    incoming: &Incoming,
) -> Result<Value, ApiError> {
    shared.lock().side_requests.push(incoming.record(format));
    serde_json::from_slice::<Value>(&incoming.body)
        .map_err(|e| ApiError::new(400, format!("the request body is not valid JSON: {e}")))
}

async fn openai_embeddings(State(shared): State<Arc<Shared>>, incoming: Incoming) -> Response {
    let format = WireFormat::OpenAiChat;
    let body = match side_request(&shared, format, &incoming) {
        Ok(body) => body,
        Err(e) => return error_response(format, &e),
    };
    if let Err(e) = openai::check_headers(&incoming.headers) {
        return error_response(format, &e);
    }
    let texts: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => {
            let err = ApiError::new(400, "'input' is a required property");
            return error_response(format, &err);
        }
    };
    let tokens: usize = texts.iter().map(|t| t.len().div_ceil(4)).sum();
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            json!({"object": "embedding", "index": index, "embedding": mock_embedding(text)})
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "object": "list",
            "data": data,
            "model": body.get("model").cloned().unwrap_or(Value::Null),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }),
    )
}

fn gemini_embed(shared: &Shared, incoming: Incoming) -> Response {
    let format = WireFormat::Gemini;
    let body = match side_request(shared, format, &incoming) {
        Ok(body) => body,
        Err(e) => return error_response(format, &e),
    };
    if let Err(e) = gemini::check_headers(&incoming.headers, &incoming.uri) {
        return error_response(format, &e);
    }
    let vectors: Vec<Value> = gemini::embed_texts(&body)
        .iter()
        .map(|text| json!({"values": mock_embedding(text)}))
        .collect();
    let batch = incoming.uri.path().ends_with(":batchEmbedContents");
    let answer = if batch {
        json!({ "embeddings": vectors })
    } else {
        json!({ "embedding": vectors.into_iter().next().unwrap_or(Value::Null) })
    };
    json_response(StatusCode::OK, &answer)
}

async fn ollama_tags(State(shared): State<Arc<Shared>>) -> Response {
    let models = shared.lock().local_models.clone();
    json_response(StatusCode::OK, &ollama::tags_body(&models))
}

async fn ollama_version() -> Response {
    json_response(StatusCode::OK, &json!({"version": "0.12.6"}))
}

async fn ollama_show(State(shared): State<Arc<Shared>>, incoming: Incoming) -> Response {
    let body = match side_request(&shared, WireFormat::Ollama, &incoming) {
        Ok(body) => body,
        Err(e) => return error_response(WireFormat::Ollama, &e),
    };
    let name = body
        .get("model")
        .or_else(|| body.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let found = shared.lock().local_model(name);
    match found {
        Some(model) => json_response(StatusCode::OK, &model.show()),
        None => {
            let err = ApiError::new(404, format!("model '{name}' not found"));
            error_response(WireFormat::Ollama, &err)
        }
    }
}

async fn ollama_embed(State(shared): State<Arc<Shared>>, incoming: Incoming) -> Response {
    let body = match side_request(&shared, WireFormat::Ollama, &incoming) {
        Ok(body) => body,
        Err(e) => return error_response(WireFormat::Ollama, &e),
    };
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    if shared.lock().local_model(model).is_none() {
        return error_response(WireFormat::Ollama, &ollama::model_not_found(model));
    }
    let texts = ollama::embed_texts(&body);
    let vectors: Vec<Vec<f32>> = texts.iter().map(|t| mock_embedding(t)).collect();
    json_response(
        StatusCode::OK,
        &json!({
            "model": model,
            "embeddings": vectors,
            "total_duration": 14_143_917,
            "load_duration": 1_019_500,
            "prompt_eval_count": texts.iter().map(|t| t.len().div_ceil(4)).sum::<usize>(),
        }),
    )
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let remaining = shared.lock().remaining();
    json_response(
        StatusCode::OK,
        &json!({"status": "ok", "remaining_turns": remaining}),
    )
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let message = format!(
        "cuervo-mock has no route for {method} {}; model endpoints are POST /v1/messages \
         (Anthropic), POST /v1/chat/completions and /v1/responses (OpenAI), \
         POST /v1beta/models/MODEL:generateContent (Gemini) and POST /api/chat (Ollama)",
        uri.path()
    );
    json_response(
        StatusCode::NOT_FOUND,
        &json!({"type": "error", "error": {"type": "not_found_error", "message": message}}),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(format: WireFormat, err: &ApiError) -> Response {
    let body = match format {
        WireFormat::Anthropic => anthropic::error_body(err.status, &err.message),
        WireFormat::OpenAiChat | WireFormat::OpenAiResponses => {
            openai::error_body(err.status, &err.message)
        }
        WireFormat::Gemini => {
            gemini::error_body(err.status, &err.message, err.retry_after.as_deref())
        }
        WireFormat::Ollama => ollama::error_body(&err.message),
    };
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &body);
    // Google puts its advice in the body (`RetryInfo`), not in a header.
    if format != WireFormat::Gemini
        && let Some(value) = err
            .retry_after
            .as_deref()
            .and_then(|v| header::HeaderValue::from_str(v).ok())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    if format == WireFormat::Anthropic && err.status == 429 {
        response.headers_mut().insert(
            "anthropic-ratelimit-requests-remaining",
            header::HeaderValue::from_static("0"),
        );
    }
    response
}

fn default_message(format: WireFormat, status: u16) -> &'static str {
    match format {
        WireFormat::Anthropic => anthropic::default_message(status),
        WireFormat::OpenAiChat | WireFormat::OpenAiResponses => openai::default_message(status),
        WireFormat::Gemini => gemini::default_message(status),
        WireFormat::Ollama => ollama::default_message(status),
    }
}

fn streamed(actions: Vec<Action>, shutdown: &CancellationToken, content_type: &str) -> Response {
    let mut response = Response::new(sse::body(actions, shutdown.clone()));
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    response
}

const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";
const NDJSON: &str = "application/x-ndjson";
const JSON: &str = "application/json";

/// How the request asked to be answered.
#[derive(Debug, Clone, Copy)]
struct Ask {
    stream: bool,
    /// Gemini `streamGenerateContent` without `alt=sse`: the chunks as a JSON array.
    json_array: bool,
    include_usage: bool,
}

impl Ask {
    fn of(format: WireFormat, uri: &Uri, body: &Value) -> Ask {
        let flag = body.get("stream").and_then(Value::as_bool);
        let include_usage = body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        match format {
            WireFormat::Gemini => {
                let streaming = uri.path().ends_with(":streamGenerateContent");
                let sse = uri
                    .query()
                    .unwrap_or("")
                    .split('&')
                    .any(|pair| pair == "alt=sse");
                Ask {
                    stream: streaming && sse,
                    json_array: streaming && !sse,
                    include_usage,
                }
            }
            WireFormat::Ollama => Ask {
                stream: flag != Some(false),
                json_array: false,
                include_usage,
            },
            _ => Ask {
                stream: flag == Some(true),
                json_array: false,
                include_usage,
            },
        }
    }

    fn stream_type(&self, format: WireFormat) -> &'static str {
        if format == WireFormat::Ollama {
            NDJSON
        } else {
            EVENT_STREAM
        }
    }
}

fn model_request(shared: &Shared, format: WireFormat, incoming: Incoming) -> Response {
    let parsed = serde_json::from_slice::<Value>(&incoming.body);
    let recorded = incoming.record(format);
    let body = recorded.body.clone();
    let request_number = {
        let mut inner = shared.lock();
        inner.requests.push(recorded);
        inner.requests.len()
    };
    let mut response = answer(
        shared,
        format,
        &incoming,
        parsed,
        &body,
        incoming.body.len(),
    );
    let name = match format {
        WireFormat::Anthropic => Some("request-id"),
        WireFormat::OpenAiChat | WireFormat::OpenAiResponses => Some("x-request-id"),
        WireFormat::Gemini | WireFormat::Ollama => None,
    };
    if let Some(name) = name
        && let Ok(value) = header::HeaderValue::from_str(&format!("req_mock_{request_number:03}"))
    {
        response.headers_mut().insert(name, value);
    }
    response
}

fn check_headers(format: WireFormat, incoming: &Incoming) -> Result<(), ApiError> {
    match format {
        WireFormat::Anthropic => anthropic::check_headers(&incoming.headers),
        WireFormat::OpenAiChat | WireFormat::OpenAiResponses => {
            openai::check_headers(&incoming.headers)
        }
        WireFormat::Gemini => gemini::check_headers(&incoming.headers, &incoming.uri),
        WireFormat::Ollama => Ok(()),
    }
}

fn validate(format: WireFormat, body: &Value) -> Result<(), ApiError> {
    match format {
        WireFormat::Anthropic => anthropic::validate(body),
        WireFormat::OpenAiChat => openai::validate(body),
        WireFormat::OpenAiResponses => responses::validate(body),
        WireFormat::Gemini => gemini::validate(body),
        WireFormat::Ollama => ollama::validate(body),
    }
}

/// Whether the request asked to see reasoning, and to get it encrypted.
fn thinking_wanted(format: WireFormat, body: &Value) -> (bool, bool) {
    match format {
        WireFormat::Anthropic | WireFormat::OpenAiChat => (true, false),
        WireFormat::OpenAiResponses => (
            body.pointer("/reasoning/summary")
                .is_some_and(|s| !s.is_null()),
            body.get("include")
                .and_then(Value::as_array)
                .is_some_and(|i| {
                    i.iter()
                        .any(|v| v.as_str() == Some("reasoning.encrypted_content"))
                }),
        ),
        WireFormat::Gemini => {
            let config = body
                .get("generationConfig")
                .or_else(|| body.get("generation_config"));
            let thinking =
                config.and_then(|c| c.get("thinkingConfig").or_else(|| c.get("thinking_config")));
            let include = thinking.and_then(|t| {
                t.get("includeThoughts")
                    .or_else(|| t.get("include_thoughts"))
            });
            (include.and_then(Value::as_bool) == Some(true), false)
        }
        WireFormat::Ollama => (
            body.get("think").and_then(Value::as_bool) == Some(true),
            false,
        ),
    }
}

fn answer(
    shared: &Shared,
    format: WireFormat,
    incoming: &Incoming,
    parsed: Result<Value, serde_json::Error>,
    body: &Value,
    body_len: usize,
) -> Response {
    if let Err(e) = check_headers(format, incoming) {
        return error_response(format, &e);
    }
    if let Err(e) = parsed {
        let err = ApiError::new(400, format!("the request body is not valid JSON: {e}"));
        return error_response(format, &err);
    }
    if let Err(e) = validate(format, body) {
        tracing::warn!("mock rejected a request: {}", e.message);
        return error_response(format, &e);
    }
    let model = match format {
        WireFormat::Gemini => gemini::path_model(incoming.uri.path()).map(|(m, _)| m),
        _ => body.get("model").and_then(Value::as_str),
    }
    .unwrap_or("mock-model")
    .to_string();
    if format == WireFormat::Ollama && shared.lock().local_model(&model).is_none() {
        return error_response(format, &ollama::model_not_found(&model));
    }

    let ask = Ask::of(format, &incoming.uri, body);
    let (show_thinking, encrypted_reasoning) = thinking_wanted(format, body);
    let (turn, ctx) = {
        let mut guard = shared.lock();
        let inner = &mut *guard;
        let Some((index, turn)) = inner.next_turn() else {
            let total = inner.turns.len();
            drop(guard);
            let err = ApiError::new(
                500,
                format!(
                    "mock script exhausted: all {total} scripted turn(s) were already served, \
                     so this request has no answer; add turns to the script"
                ),
            );
            tracing::warn!("{}", err.message);
            return error_response(format, &err);
        };
        tracing::info!(
            turn = index + 1,
            ?format,
            stream = ask.stream,
            "mock serves {}",
            turn.describe()
        );
        inner.message_seq += 1;
        let seq = inner.message_seq;
        let empty = Reply::default();
        let reply = match &turn {
            Turn::Reply(r) | Turn::Fault(Fault::CutReply { reply: r, .. }) => r,
            Turn::Fault(_) | Turn::Raw(_) => &empty,
        };
        let tool_seq = &mut inner.tool_seq;
        let mut next_tool = || {
            *tool_seq += 1;
            *tool_seq
        };
        let mut ctx = ReplyContext::new(
            reply,
            format,
            seq,
            &model,
            (body_len / 4) as u64,
            &mut next_tool,
        );
        ctx.show_thinking = show_thinking;
        ctx.encrypted_reasoning = encrypted_reasoning;
        if format == WireFormat::Anthropic {
            let (read, written) = anthropic::cache_usage(body, &mut inner.prompt_cache);
            // A scripted usage is reported as scripted; an estimate is split.
            if reply.usage.is_none() {
                ctx.cache_read_tokens = read;
                ctx.cache_write_tokens = written;
                ctx.usage.input_tokens =
                    ctx.usage.input_tokens.saturating_sub(read + written).max(1);
            }
        }
        (turn, ctx)
    };

    match turn {
        Turn::Reply(reply) => reply_response(shared, format, &reply, &ctx, ask),
        Turn::Fault(fault) => fault_response(shared, format, fault, &ctx, ask),
        Turn::Raw(raw) => {
            let mut response = Response::new(Body::from(raw.body));
            *response.status_mut() =
                StatusCode::from_u16(raw.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let Ok(value) = header::HeaderValue::from_str(&raw.content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
    }
}

fn stream_frames(format: WireFormat, reply: &Reply, ctx: &ReplyContext, ask: Ask) -> Vec<String> {
    match format {
        WireFormat::Anthropic => anthropic::stream_frames(reply, ctx),
        WireFormat::OpenAiChat => openai::stream_frames(reply, ctx, ask.include_usage),
        WireFormat::OpenAiResponses => responses::stream_frames(reply, ctx),
        WireFormat::Gemini => gemini::stream_frames(reply, ctx),
        WireFormat::Ollama => ollama::stream_frames(reply, ctx),
    }
}

fn json_body(format: WireFormat, reply: &Reply, ctx: &ReplyContext, ask: Ask) -> Value {
    match format {
        WireFormat::Anthropic => anthropic::json_body(reply, ctx),
        WireFormat::OpenAiChat => openai::json_body(reply, ctx),
        WireFormat::OpenAiResponses => responses::json_body(reply, ctx),
        WireFormat::Gemini if ask.json_array => gemini::stream_array(reply, ctx),
        WireFormat::Gemini => gemini::json_body(reply, ctx),
        WireFormat::Ollama => ollama::json_body(reply, ctx),
    }
}

fn reply_response(
    shared: &Shared,
    format: WireFormat,
    reply: &Reply,
    ctx: &ReplyContext,
    ask: Ask,
) -> Response {
    if ask.stream {
        let frames = stream_frames(format, reply, ctx, ask);
        let actions = sse::paced(frames, Duration::from_millis(reply.delay_ms));
        return streamed(actions, &shared.shutdown, ask.stream_type(format));
    }
    let body = json_body(format, reply, ctx, ask);
    if reply.delay_ms > 0 {
        let actions = vec![
            Action::Sleep(Duration::from_millis(reply.delay_ms)),
            Action::Send(Bytes::from(body.to_string())),
        ];
        streamed(actions, &shared.shutdown, JSON)
    } else {
        json_response(StatusCode::OK, &body)
    }
}

fn filler(format: WireFormat, ctx: &ReplyContext, n: usize) -> (Vec<String>, String) {
    match format {
        WireFormat::Anthropic => anthropic::filler_frames(ctx, n),
        WireFormat::OpenAiChat => openai::filler_frames(ctx, n),
        WireFormat::OpenAiResponses => responses::filler_frames(ctx, n),
        WireFormat::Gemini => gemini::filler_frames(ctx, n),
        WireFormat::Ollama => ollama::filler_frames(ctx, n),
    }
}

fn first_half(s: &str) -> String {
    let mut cut = s.len() / 2;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_string()
}

fn fault_response(
    shared: &Shared,
    format: WireFormat,
    fault: Fault,
    ctx: &ReplyContext,
    ask: Ask,
) -> Response {
    let shutdown = &shared.shutdown;
    let stream = ask.stream;
    let content_type = if stream {
        ask.stream_type(format)
    } else {
        JSON
    };
    match fault {
        Fault::Status {
            status,
            retry_after,
            message,
        } => {
            let err = ApiError {
                status,
                message: message.unwrap_or_else(|| default_message(format, status).to_string()),
                retry_after,
            };
            error_response(format, &err)
        }
        Fault::Stall {
            after_frames,
            seconds,
        } => {
            let frames = if stream {
                filler(format, ctx, after_frames).0
            } else {
                Vec::new()
            };
            let mut actions = sse::paced(frames, Duration::ZERO);
            actions.push(Action::Sleep(Duration::from_secs(seconds)));
            actions.push(Action::Abort);
            streamed(actions, shutdown, content_type)
        }
        Fault::Cut { after_frames } => {
            let (frames, next) = if stream {
                filler(format, ctx, after_frames)
            } else {
                let reply = Reply::new(vec![Step::text("This answer is cut in the middle.")]);
                (Vec::new(), json_body(format, &reply, ctx, ask).to_string())
            };
            let mut actions = sse::paced(frames, Duration::ZERO);
            actions.push(Action::Send(Bytes::from(first_half(&next))));
            actions.push(Action::Sleep(CUT_GRACE));
            actions.push(Action::Abort);
            streamed(actions, shutdown, content_type)
        }
        Fault::CutReply {
            reply,
            after_frames,
        } => {
            let (frames, next) = if stream {
                let mut frames = stream_frames(format, &reply, ctx, ask);
                let keep = after_frames.min(frames.len().saturating_sub(1));
                let next = frames.get(keep).cloned().unwrap_or_default();
                frames.truncate(keep);
                (frames, next)
            } else {
                (Vec::new(), json_body(format, &reply, ctx, ask).to_string())
            };
            let mut actions = sse::paced(frames, Duration::from_millis(reply.delay_ms));
            actions.push(Action::Send(Bytes::from(first_half(&next))));
            actions.push(Action::Sleep(CUT_GRACE));
            actions.push(Action::Abort);
            streamed(actions, shutdown, content_type)
        }
        Fault::Malformed => {
            if stream {
                let frames = match format {
                    WireFormat::Anthropic => anthropic::malformed_frames(),
                    WireFormat::OpenAiChat => openai::malformed_frames(),
                    WireFormat::OpenAiResponses => responses::malformed_frames(),
                    WireFormat::Gemini => gemini::malformed_frames(),
                    WireFormat::Ollama => ollama::malformed_frames(),
                };
                streamed(sse::paced(frames, Duration::ZERO), shutdown, content_type)
            } else {
                let actions = vec![Action::Send(Bytes::from_static(
                    b"<html><body>502 Bad Gateway</body></html> this is not JSON {",
                ))];
                streamed(actions, shutdown, JSON)
            }
        }
        Fault::StreamError { message } => {
            if !stream {
                return error_response(format, &ApiError::new(500, message));
            }
            let frames = match format {
                WireFormat::Anthropic => anthropic::stream_error_frames(ctx, &message),
                WireFormat::OpenAiChat => openai::stream_error_frames(ctx, &message),
                WireFormat::OpenAiResponses => responses::stream_error_frames(ctx, &message),
                WireFormat::Gemini => gemini::stream_error_frames(ctx, &message),
                WireFormat::Ollama => ollama::stream_error_frames(ctx, &message),
            };
            streamed(sse::paced(frames, Duration::ZERO), shutdown, content_type)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(turns: usize, looping: bool) -> Inner {
        Inner {
            turns: (0..turns).map(|i| Turn::text(i.to_string())).collect(),
            served: 0,
            looping,
            requests: Vec::new(),
            side_requests: Vec::new(),
            local_models: LocalModel::defaults(),
            prompt_cache: HashSet::new(),
            message_seq: 0,
            tool_seq: 0,
        }
    }

    #[test]
    fn turns_run_out_unless_looping() {
        let mut once = inner(2, false);
        assert_eq!(once.remaining(), 2);
        assert_eq!(once.next_turn().map(|t| t.0), Some(0));
        assert_eq!(once.next_turn().map(|t| t.0), Some(1));
        assert!(once.next_turn().is_none());
        assert_eq!(once.remaining(), 0);

        let mut looping = inner(2, true);
        let served: Vec<usize> = (0..5)
            .filter_map(|_| looping.next_turn().map(|t| t.0))
            .collect();
        assert_eq!(served, vec![0, 1, 0, 1, 0]);
        assert_eq!(looping.remaining(), 1);
        assert!(inner(0, true).next_turn().is_none());
    }

    #[test]
    fn first_half_respects_char_boundaries() {
        assert_eq!(first_half("abcd"), "ab");
        assert_eq!(first_half("añ"), "a");
    }
}
