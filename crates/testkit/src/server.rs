//! The mock server: routes, the turn queue, the request record, fault injection.
//!
//! The server runs on its own thread with its own Tokio runtime, so it keeps answering
//! while the test's runtime blocks (for example on `std::process::Command::output` running
//! the `cuervo` binary). Dropping the [`MockServer`] stops it and closes every connection.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::record::{RecordedRequest, WireFormat};
use crate::script::{Fault, Reply, Script, Step, Turn};
use crate::sse::{self, Action, ReplyContext};
use crate::{anthropic, openai};

/// The model ids `GET /v1/models` lists.
const MODELS: &[&str] = &["mock-model", "claude-mock", "gpt-mock"];

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

    /// `url() + "/v1"`: OpenAI clients append `/chat/completions`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every model request received so far (including rejected ones), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
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
        .route("/v1/models", get(models))
        .route("/health", get(health))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
        .with_state(shared)
}

async fn anthropic_messages(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    model_request(&shared, WireFormat::Anthropic, method, uri, headers, body)
}

async fn openai_chat(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    model_request(&shared, WireFormat::OpenAiChat, method, uri, headers, body)
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
         (Anthropic) and POST /v1/chat/completions (OpenAI)",
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
        WireFormat::OpenAiChat => openai::error_body(err.status, &err.message),
    };
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &body);
    if let Some(value) = err
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
        WireFormat::OpenAiChat => openai::default_message(status),
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
const JSON: &str = "application/json";

fn model_request(
    shared: &Shared,
    format: WireFormat,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&raw);
    let body = match &parsed {
        Ok(v) => v.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(&raw).into_owned()),
    };
    let request_number = {
        let mut inner = shared.lock();
        inner.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            headers: headers
                .iter()
                .map(|(n, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    (n.as_str().to_ascii_lowercase(), value)
                })
                .collect(),
            body: body.clone(),
            received_at: Instant::now(),
            format,
        });
        inner.requests.len()
    };
    let mut response = answer(shared, format, &headers, parsed, &body, raw.len());
    let (name, value) = match format {
        WireFormat::Anthropic => ("request-id", format!("req_mock_{request_number:03}")),
        WireFormat::OpenAiChat => ("x-request-id", format!("req_mock_{request_number:03}")),
    };
    if let Ok(value) = header::HeaderValue::from_str(&value) {
        response.headers_mut().insert(name, value);
    }
    response
}

fn answer(
    shared: &Shared,
    format: WireFormat,
    headers: &HeaderMap,
    parsed: Result<Value, serde_json::Error>,
    body: &Value,
    body_len: usize,
) -> Response {
    let checked = match format {
        WireFormat::Anthropic => anthropic::check_headers(headers),
        WireFormat::OpenAiChat => openai::check_headers(headers),
    };
    if let Err(e) = checked {
        return error_response(format, &e);
    }
    if let Err(e) = parsed {
        let err = ApiError::new(400, format!("the request body is not valid JSON: {e}"));
        return error_response(format, &err);
    }
    let valid = match format {
        WireFormat::Anthropic => anthropic::validate(body),
        WireFormat::OpenAiChat => openai::validate(body),
    };
    if let Err(e) = valid {
        tracing::warn!("mock rejected a request: {}", e.message);
        return error_response(format, &e);
    }

    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock-model");

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
            stream,
            "mock serves {}",
            turn.describe()
        );
        inner.message_seq += 1;
        let seq = inner.message_seq;
        let empty = Reply::default();
        let reply = match &turn {
            Turn::Reply(r) | Turn::Fault(Fault::CutReply { reply: r, .. }) => r,
            Turn::Fault(_) => &empty,
        };
        let tool_seq = &mut inner.tool_seq;
        let mut next_tool = || {
            *tool_seq += 1;
            *tool_seq
        };
        let ctx = ReplyContext::new(
            reply,
            format,
            seq,
            model,
            (body_len / 4) as u64,
            &mut next_tool,
        );
        (turn, ctx)
    };

    match turn {
        Turn::Reply(reply) => {
            if stream {
                let frames = match format {
                    WireFormat::Anthropic => anthropic::stream_frames(&reply, &ctx),
                    WireFormat::OpenAiChat => openai::stream_frames(&reply, &ctx, include_usage),
                };
                let actions = sse::paced(frames, Duration::from_millis(reply.delay_ms));
                streamed(actions, &shared.shutdown, EVENT_STREAM)
            } else {
                let body = match format {
                    WireFormat::Anthropic => anthropic::json_body(&reply, &ctx),
                    WireFormat::OpenAiChat => openai::json_body(&reply, &ctx),
                };
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
        }
        Turn::Fault(fault) => fault_response(shared, format, fault, &ctx, stream, include_usage),
    }
}

fn filler(format: WireFormat, ctx: &ReplyContext, n: usize) -> (Vec<String>, String) {
    match format {
        WireFormat::Anthropic => anthropic::filler_frames(ctx, n),
        WireFormat::OpenAiChat => openai::filler_frames(ctx, n),
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
    stream: bool,
    include_usage: bool,
) -> Response {
    let shutdown = &shared.shutdown;
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
            streamed(actions, shutdown, if stream { EVENT_STREAM } else { JSON })
        }
        Fault::Cut { after_frames } => {
            let (frames, next) = if stream {
                filler(format, ctx, after_frames)
            } else {
                let reply = Reply::new(vec![Step::text("This answer is cut in the middle.")]);
                let body = match format {
                    WireFormat::Anthropic => anthropic::json_body(&reply, ctx),
                    WireFormat::OpenAiChat => openai::json_body(&reply, ctx),
                };
                (Vec::new(), body.to_string())
            };
            let mut actions = sse::paced(frames, Duration::ZERO);
            actions.push(Action::Send(Bytes::from(first_half(&next))));
            actions.push(Action::Sleep(CUT_GRACE));
            actions.push(Action::Abort);
            streamed(actions, shutdown, if stream { EVENT_STREAM } else { JSON })
        }
        Fault::CutReply {
            reply,
            after_frames,
        } => {
            let (frames, next) = if stream {
                let mut frames = match format {
                    WireFormat::Anthropic => anthropic::stream_frames(&reply, ctx),
                    WireFormat::OpenAiChat => openai::stream_frames(&reply, ctx, include_usage),
                };
                let keep = after_frames.min(frames.len().saturating_sub(1));
                let next = frames.get(keep).cloned().unwrap_or_default();
                frames.truncate(keep);
                (frames, next)
            } else {
                let body = match format {
                    WireFormat::Anthropic => anthropic::json_body(&reply, ctx),
                    WireFormat::OpenAiChat => openai::json_body(&reply, ctx),
                };
                (Vec::new(), body.to_string())
            };
            let mut actions = sse::paced(frames, Duration::from_millis(reply.delay_ms));
            actions.push(Action::Send(Bytes::from(first_half(&next))));
            actions.push(Action::Sleep(CUT_GRACE));
            actions.push(Action::Abort);
            streamed(actions, shutdown, if stream { EVENT_STREAM } else { JSON })
        }
        Fault::Malformed => {
            if stream {
                let frames = match format {
                    WireFormat::Anthropic => anthropic::malformed_frames(),
                    WireFormat::OpenAiChat => openai::malformed_frames(),
                };
                streamed(sse::paced(frames, Duration::ZERO), shutdown, EVENT_STREAM)
            } else {
                let actions = vec![Action::Send(Bytes::from_static(
                    b"<html><body>502 Bad Gateway</body></html> this is not JSON {",
                ))];
                streamed(actions, shutdown, JSON)
            }
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
