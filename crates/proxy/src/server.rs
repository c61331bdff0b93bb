//! The HTTP API: state, authentication, the OpenAI-compatible routes, and the admin API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cuervo_domain::{ModelChunk, ModelError, ModelProvider, Usage};
use cuervo_providers::wire::openai as wire;
use futures::StreamExt;

use crate::config::{DeploymentConfig, ProxyConfig};
use crate::db::{Db, KeyRecord, KeySpec, key_hash, now};
use crate::limits::Limiter;
use crate::metrics::Metrics;
use crate::openai_api::{self, ChunkEncoder, CompletionBuilder};
use crate::usage::{self, SpendCache, UsageRecord, UsageSink};

/// Everything a request handler needs, shared.
pub struct AppState {
    pub config: ProxyConfig,
    pub db: Db,
    pub usage: UsageSink,
    pub spend: SpendCache,
    pub limiter: Limiter,
    pub metrics: Metrics,
    /// SHA-256 of the admin key; `None`: the admin API is off.
    pub admin_key_hash: Option<String>,
    /// Upstream name -> adapter.
    pub upstreams: HashMap<String, Arc<dyn ModelProvider>>,
    /// (upstream, model) -> adapter embedding with that model.
    pub embedders: crate::embeddings::Embedders,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("upstreams", &self.upstreams.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The router.
pub fn app(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(list_models))
        .route("/v1/usage", get(get_usage))
        .route("/admin/keys", post(create_key).get(list_keys))
        .route("/admin/keys/{id}/revoke", post(revoke_key))
        .route("/admin/keys/{id}/rotate", post(rotate_key))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// An error in OpenAI's shape, with the status and (for limits) `Retry-After`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: Option<String>,
    pub message: String,
    /// The request field at fault, when one is.
    pub param: Option<String>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code: Some(code.to_owned()),
            message: message.into(),
            param: None,
            retry_after: None,
        }
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            message,
        )
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_request",
            message,
        )
    }

    fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal_error",
            message,
        )
    }

    fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        tracing::error!("{e}");
        Self::internal("the proxy's database failed; try again")
    }
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "not_found",
        "no such route",
    )
}

/// Who is calling.
enum Caller {
    Admin,
    Key(Box<KeyRecord>),
}

/// The key presented: `Authorization: Bearer KEY` (OpenAI clients) or `x-api-key: KEY`
/// (Anthropic clients).
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v)
            .trim();
        return (!token.is_empty()).then_some(token);
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(key) = presented_key(headers) else {
        return Err(ApiError::unauthorized(
            "no API key: send `Authorization: Bearer <key>` with a virtual key from `cuervo-proxy keys create`",
        ));
    };
    let hash = key_hash(key);
    if state.admin_key_hash.as_deref() == Some(hash.as_str()) {
        return Ok(Caller::Admin);
    }
    match state.db.key_by_hash(&hash)? {
        Some(k) if k.revoked_at.is_some() => Err(ApiError::unauthorized(format!(
            "the key {}… was revoked",
            k.prefix
        ))),
        Some(k) => Ok(Caller::Key(Box::new(k))),
        None => Err(ApiError::unauthorized(
            "the API key is not valid for this proxy",
        )),
    }
}

fn require_key(state: &AppState, headers: &HeaderMap) -> Result<KeyRecord, ApiError> {
    match authenticate(state, headers)? {
        Caller::Key(k) => Ok(*k),
        Caller::Admin => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            "admin_key_not_for_models",
            "the admin key manages keys; call models with a virtual key",
        )),
    }
}

fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.admin_key_hash.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            "admin_api_off",
            format!(
                "the admin API is off: start the proxy with {} set",
                state.config.admin_key_env
            ),
        ));
    }
    match authenticate(state, headers)? {
        Caller::Admin => Ok(()),
        Caller::Key(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            "admin_only",
            "this route needs the admin key",
        )),
    }
}

/// Parses a JSON body into `T`, answering 400 in OpenAI's shape (not axum's plain text).
fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ApiError::bad_request(if path.is_empty() || path == "." {
            format!("the request body is not valid JSON for this route: {inner}")
        } else {
            format!("the request body is not valid JSON for this route: {path}: {inner}")
        })
    })
}

fn random_id(prefix: &str) -> String {
    format!(
        "{prefix}{:016x}{:08x}",
        rand::random::<u64>(),
        rand::random::<u32>()
    )
}

/// The cost of `usage` on a deployment: the configured price, else the built-in table.
fn cost_micro_usd(dep: &DeploymentConfig, usage: &Usage) -> u64 {
    if dep.input_usd_per_mtok.is_some() || dep.output_usd_per_mtok.is_some() {
        let input = (usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens)
            as f64
            * dep.input_usd_per_mtok.unwrap_or(0.0);
        let output = usage.output_tokens as f64 * dep.output_usd_per_mtok.unwrap_or(0.0);
        // Dollars per million tokens times tokens is micro-dollars.
        return (input + output).round().max(0.0) as u64;
    }
    cuervo_providers::pricing::cost(&dep.model, usage).map_or(0, |c| c.micro_usd)
}

/// Whether the next deployment should be tried after this error (it came before any
/// output): the upstream was busy or down, not the request wrong.
fn worth_another_deployment(e: &ModelError) -> bool {
    use cuervo_domain::ModelErrorKind as K;
    matches!(
        e.kind,
        K::RateLimited { .. } | K::Overloaded { .. } | K::Server | K::Network | K::Auth
    )
}

/// The checks every model route makes before calling an upstream: the model exists and
/// the key may use it, its budget is not spent, its limits admit one more request.
async fn admit(state: &AppState, key: &KeyRecord, model: &str) -> Result<usize, ApiError> {
    let Some(index) = state.config.models.iter().position(|m| m.name == model) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            format!("the model `{model}` does not exist on this proxy (GET /v1/models lists them)"),
        ));
    };
    if !key.models.is_empty() && !key.models.iter().any(|m| m == model) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_error",
            "model_not_allowed",
            format!("this key may not use the model `{model}`"),
        ));
    }
    let at = now();
    if let Some(budget) = key.budget_usd {
        let period = usage::period_start(key.budget_period.as_deref(), at);
        let spent = state.spend.spent(&state.db, &key.id, period)?;
        let budget_micro = (budget * 1_000_000.0).round() as u64;
        if spent >= budget_micro {
            state.metrics.rejected("budget");
            let when = match key.budget_period.as_deref() {
                Some("daily") => "; it resets at midnight UTC",
                Some("monthly") => "; it resets on the first of the month (UTC)",
                _ => "",
            };
            return Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "budget_exceeded",
                "budget_exceeded",
                format!(
                    "this key's budget of ${budget:.2} is spent (${:.4}){when}",
                    spent as f64 / 1_000_000.0
                ),
            ));
        }
    }
    let refusal = match state.limiter.admit(&key.id, key.rpm, key.tpm, at).await {
        Ok(()) => return Ok(index),
        Err(crate::limits::LimitError::Unavailable(message)) => {
            state.metrics.rejected("limit_store_unavailable");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "limit_store_unavailable",
                message,
            ));
        }
        Err(crate::limits::LimitError::Refused(refusal)) => refusal,
    };
    state.metrics.rejected(refusal.limit.name());
    let unit = match refusal.limit {
        crate::limits::Limit::Rpm => "requests",
        crate::limits::Limit::Tpm => "tokens",
    };
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_error",
        &format!("{}_limit_exceeded", refusal.limit.name()),
        format!(
            "this key's {} limit ({} {unit} per minute) is reached; retry in {} s",
            refusal.limit.name(),
            refusal.value,
            refusal.retry_after_secs
        ),
    );
    e.retry_after = Some(refusal.retry_after_secs);
    Err(e)
}

/// What a finished request leaves behind: spend, token counters, metrics.
struct Accounting {
    state: Arc<AppState>,
    key_id: String,
    model: String,
    request_id: String,
    started: Instant,
}

impl Accounting {
    async fn finish(self, status: u16, usage: Usage, dep: Option<&DeploymentConfig>) {
        let micro_usd = dep.map_or(0, |d| cost_micro_usd(d, &usage));
        let input = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens;
        let at = now();
        self.state
            .limiter
            .add_tokens(&self.key_id, input + usage.output_tokens, at)
            .await;
        self.state.spend.add(&self.key_id, micro_usd);
        self.state
            .metrics
            .usage(&self.model, input, usage.output_tokens, micro_usd);
        self.state
            .metrics
            .request(&self.model, status, self.started.elapsed());
        self.state
            .usage
            .record(UsageRecord {
                request_id: self.request_id,
                key_id: self.key_id,
                model: self.model,
                at,
                status,
                input_tokens: input,
                output_tokens: usage.output_tokens,
                micro_usd,
            })
            .await;
    }
}

/// An upstream's answer that has begun: its first chunk and the rest.
type Opened = (ModelChunk, cuervo_domain::ChunkStream, usize);

/// Calls the model's deployments in order until one starts answering.
async fn open_stream(
    state: &AppState,
    model_index: usize,
    request: &wire::ChatRequest,
) -> Result<Opened, ApiError> {
    let group = &state.config.models[model_index];
    let mut last: Option<ModelError> = None;
    for (i, dep) in group.deployments.iter().enumerate() {
        let Some(provider) = state.upstreams.get(&dep.upstream) else {
            continue;
        };
        let model_request = openai_api::to_model_request(request, &dep.model).map_err(|e| {
            let mut err = ApiError::bad_request(e.message);
            err.param = e.param;
            err
        })?;
        let mut stream = provider.invoke(model_request);
        match stream.next().await {
            Some(Ok(first)) => return Ok((first, stream, i)),
            Some(Err(e)) => {
                let more = i + 1 < group.deployments.len();
                if more && worth_another_deployment(&e) {
                    tracing::warn!(model = %group.name, upstream = %dep.upstream, "falling back: {e}");
                    state.metrics.fallback(&group.name, &dep.upstream);
                    last = Some(e);
                    continue;
                }
                return Err(upstream_error(&e));
            }
            None => {
                last = Some(ModelError::new(
                    dep.upstream.clone(),
                    cuervo_domain::ModelErrorKind::StreamCut,
                    "the upstream closed the response without an answer",
                ));
            }
        }
    }
    Err(match last {
        Some(e) => upstream_error(&e),
        None => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "no_upstream",
            format!("no upstream serves `{}`", group.name),
        ),
    })
}

/// An upstream error in the client's terms.
fn upstream_error(e: &ModelError) -> ApiError {
    let (status, retry_after, body) = openai_api::error_response(e);
    ApiError {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        kind: match status {
            429 => "rate_limit_error",
            400 => "invalid_request_error",
            _ => "server_error",
        },
        code: body.error.code.as_ref().map(|c| match c {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        message: body.error.message,
        param: None,
        retry_after,
    }
}

async fn chat_completions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let key = require_key(&state, &headers)?;
    let request = openai_api::parse_request(&body).map_err(|e| {
        let mut err = ApiError::bad_request(e.message);
        err.param = e.param;
        err
    })?;
    let model_index = admit(&state, &key, &request.model).await?;
    let public_model = request.model.clone();
    let request_id = random_id("chatcmpl-");
    let accounting = Accounting {
        state: state.clone(),
        key_id: key.id.clone(),
        model: public_model.clone(),
        request_id: request_id.clone(),
        started,
    };
    let (first, rest, dep_index) = match open_stream(&state, model_index, &request).await {
        Ok(opened) => opened,
        Err(e) => {
            accounting
                .finish(e.status.as_u16(), Usage::default(), None)
                .await;
            return Err(e);
        }
    };
    let dep = state.config.models[model_index].deployments[dep_index].clone();
    let created = now().max(0) as u64;
    if request.stream {
        let encoder = ChunkEncoder::new(
            request_id,
            public_model,
            created,
            openai_api::wants_usage(&request),
        );
        return Ok(stream_response(encoder, first, rest, accounting, dep));
    }
    let mut builder = CompletionBuilder::new(request_id, public_model, created);
    builder.push(first);
    let mut rest = rest;
    while let Some(item) = rest.next().await {
        match item {
            Ok(chunk) => builder.push(chunk),
            Err(e) => {
                let err = upstream_error(&e);
                accounting
                    .finish(err.status.as_u16(), builder.usage(), Some(&dep))
                    .await;
                return Err(err);
            }
        }
    }
    let usage = builder.usage();
    let completion = builder.finish();
    accounting.finish(200, usage, Some(&dep)).await;
    Ok(axum::Json(completion).into_response())
}

/// Streams the answer as server-sent events. A task drives the upstream and feeds the
/// body; if the client goes away, the upstream stream is dropped (which closes that
/// connection) and what was used so far is still recorded.
fn stream_response(
    mut encoder: ChunkEncoder,
    first: ModelChunk,
    mut rest: cuervo_domain::ChunkStream,
    accounting: Accounting,
    dep: DeploymentConfig,
) -> Response {
    let (tx, rx) = futures::channel::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut tx = tx;
        let mut status = 200;
        let mut pending = Some(first);
        let mut client_gone = false;
        loop {
            let item = match pending.take() {
                Some(chunk) => Some(Ok(chunk)),
                None => rest.next().await,
            };
            let frames: Vec<Bytes> = match item {
                Some(Ok(chunk)) => encoder.push(chunk).iter().map(sse_frame).collect(),
                Some(Err(e)) => {
                    // The response has begun: the error goes in the stream, as OpenAI does.
                    let err = upstream_error(&e);
                    status = err.status.as_u16();
                    vec![Bytes::from(format!("data: {}\n\n", err.body()))]
                }
                None => {
                    let mut frames: Vec<Bytes> = encoder.finish().iter().map(sse_frame).collect();
                    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
                    frames
                }
            };
            let done = !matches!(item_kind(&frames), FrameKind::More) || status != 200;
            for frame in frames {
                if futures::SinkExt::send(&mut tx, frame).await.is_err() {
                    client_gone = true;
                    break;
                }
            }
            if client_gone || done {
                break;
            }
        }
        if client_gone {
            status = 499;
        }
        drop(rest);
        accounting.finish(status, encoder.usage(), Some(&dep)).await;
    });
    let body = Body::from_stream(rx.map(Ok::<_, std::convert::Infallible>));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

enum FrameKind {
    More,
    Last,
}

/// Whether a batch of frames ends the stream (it holds `[DONE]`).
fn item_kind(frames: &[Bytes]) -> FrameKind {
    if frames
        .last()
        .is_some_and(|f| f.as_ref() == b"data: [DONE]\n\n")
    {
        FrameKind::Last
    } else {
        FrameKind::More
    }
}

fn sse_frame(chunk: &openai_api::ChatChunk) -> Bytes {
    let json = serde_json::to_string(chunk).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("data: {json}\n\n"))
}

async fn embeddings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let key = require_key(&state, &headers)?;
    let request: crate::embeddings::EmbeddingsRequest = parse_json(&body)?;
    let texts = request.texts().map_err(ApiError::bad_request)?;
    let model_index = admit(&state, &key, &request.model).await?;
    let accounting = Accounting {
        state: state.clone(),
        key_id: key.id.clone(),
        model: request.model.clone(),
        request_id: random_id("emb-"),
        started,
    };
    let group = &state.config.models[model_index];
    let mut failure: Option<ModelError> = None;
    for (i, dep) in group.deployments.iter().enumerate() {
        let Some(embedder) = state
            .embedders
            .get(&(dep.upstream.clone(), dep.model.clone()))
        else {
            continue;
        };
        match embedder.embed(&texts).await {
            Ok(vectors) if vectors.len() == texts.len() => {
                let usage = Usage {
                    input_tokens: crate::embeddings::estimated_tokens(&texts),
                    ..Usage::default()
                };
                let dep = dep.clone();
                accounting.finish(200, usage, Some(&dep)).await;
                let body =
                    crate::embeddings::response(&group.name, &vectors, &texts, request.base64());
                return Ok(axum::Json(body).into_response());
            }
            Ok(vectors) => {
                failure = Some(ModelError::new(
                    dep.upstream.clone(),
                    cuervo_domain::ModelErrorKind::Protocol,
                    format!("{} vectors for {} texts", vectors.len(), texts.len()),
                ));
                break;
            }
            Err(e) => {
                let more = i + 1 < group.deployments.len();
                if more && worth_another_deployment(&e) {
                    state.metrics.fallback(&group.name, &dep.upstream);
                    failure = Some(e);
                    continue;
                }
                failure = Some(e);
                break;
            }
        }
    }
    let err = match failure {
        Some(e) => upstream_error(&e),
        None => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "no_upstream",
            format!("no upstream serves `{}`", group.name),
        ),
    };
    accounting
        .finish(err.status.as_u16(), Usage::default(), None)
        .await;
    Err(err)
}

async fn list_models(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let allowed: Option<Vec<String>> = match authenticate(&state, &headers)? {
        Caller::Admin => None,
        Caller::Key(k) if k.models.is_empty() => None,
        Caller::Key(k) => Some(k.models.clone()),
    };
    let data: Vec<serde_json::Value> = state
        .config
        .models
        .iter()
        .filter(|m| allowed.as_ref().is_none_or(|a| a.contains(&m.name)))
        .map(|m| {
            serde_json::json!({
                "id": m.name, "object": "model", "created": 0, "owned_by": "cuervo-proxy"
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({"object": "list", "data": data})).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct UsageParams {
    key_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn get_usage(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<UsageParams>,
) -> Result<Response, ApiError> {
    let key_id = match authenticate(&state, &headers)? {
        Caller::Admin => params.key_id,
        Caller::Key(k) => {
            if params.key_id.as_ref().is_some_and(|id| *id != k.id) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "permission_error",
                    "not_your_key",
                    "a key may only read its own usage",
                ));
            }
            Some(k.id)
        }
    };
    for day in [&params.from, &params.to].into_iter().flatten() {
        if !valid_day(day) {
            return Err(ApiError::bad_request(format!(
                "`{day}` is not a day in the form YYYY-MM-DD"
            )));
        }
    }
    let rows = usage::query(
        &state.db,
        key_id.as_deref(),
        params.from.as_deref(),
        params.to.as_deref(),
    )?;
    Ok(axum::Json(serde_json::json!({"object": "list", "data": rows})).into_response())
}

fn valid_day(day: &str) -> bool {
    let b = day.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

async fn create_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    let spec: KeySpec = if body.is_empty() {
        KeySpec::default()
    } else {
        parse_json(&body)?
    };
    spec.validate().map_err(ApiError::bad_request)?;
    for m in &spec.models {
        if !state.config.models.iter().any(|c| &c.name == m) {
            return Err(ApiError::bad_request(format!(
                "models: `{m}` is not a model of this proxy"
            )));
        }
    }
    let (record, key) = state.db.create_key(&spec)?;
    let mut value = serde_json::to_value(&record).unwrap_or_default();
    value["key"] = serde_json::Value::String(key);
    Ok((StatusCode::CREATED, axum::Json(value)).into_response())
}

async fn list_keys(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    let keys = state.db.list_keys()?;
    Ok(axum::Json(serde_json::json!({"object": "list", "data": keys})).into_response())
}

async fn revoke_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    if state.db.revoke_key(&id)? {
        Ok(axum::Json(serde_json::json!({"id": id, "revoked": true})).into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "key_not_found",
            format!("no active key `{id}`"),
        ))
    }
}

async fn rotate_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    match state.db.rotate_key(&id)? {
        Some(key) => Ok(axum::Json(serde_json::json!({"id": id, "key": key})).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "key_not_found",
            format!("no active key `{id}`"),
        )),
    }
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.db.ping() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer\n",
        )
            .into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut text = state.metrics.render();
    if let crate::limits::Limiter::Redis(redis) = &state.limiter {
        text.push_str(
            "# HELP cuervo_proxy_limit_store_failures_total Redis calls of the rate limiter that failed.\n\
             # TYPE cuervo_proxy_limit_store_failures_total counter\n",
        );
        text.push_str(&format!(
            "cuervo_proxy_limit_store_failures_total {}\n",
            redis.failures()
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
