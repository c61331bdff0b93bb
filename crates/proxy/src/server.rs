//! The HTTP API: state, authentication, the OpenAI-compatible routes, and the admin API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cuervo_domain::ModelProvider;

use crate::config::ProxyConfig;
use crate::db::{Db, KeyRecord, KeySpec, key_hash};
use crate::limits::Limiter;
use crate::metrics::Metrics;
use crate::model_routes;
use crate::usage::{self, SpendCache, UsageSink};

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
    /// Keys recently looked up, by hash (see [`KeyCache`]).
    pub key_cache: KeyCache,
}

/// Keys looked up in the last second, so a busy key costs one database read a second
/// rather than one a request. Revoking or rotating through the admin API evicts the
/// key at once; a change made with `cuervo-proxy keys` (another process) is seen within
/// [`KEY_CACHE_TTL`].
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: std::sync::Mutex<HashMap<String, (std::time::Instant, Option<KeyRecord>)>>,
}

/// How long a looked-up key (or its absence) is trusted.
pub const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
/// Entries kept at most; past it the cache is cleared (guessed keys must not grow it).
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    fn get(&self, db: &Db, hash: &str) -> Result<Option<KeyRecord>, crate::db::DbError> {
        {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, record)) = entries.get(hash)
                && at.elapsed() < KEY_CACHE_TTL
            {
                return Ok(record.clone());
            }
        }
        let record = db.key_by_hash(hash)?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= KEY_CACHE_MAX {
            entries.clear();
        }
        entries.insert(hash.to_owned(), (std::time::Instant::now(), record.clone()));
        Ok(record)
    }

    /// Forgets every cached entry of the key `id` (revoked or rotated).
    pub fn evict(&self, id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (_, r)| r.as_ref().is_none_or(|r| r.id != id));
    }
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
        .route("/v1/chat/completions", post(model_routes::chat_completions))
        .route("/v1/messages", post(model_routes::messages))
        .route("/v1/embeddings", post(model_routes::embeddings))
        .route("/v1/models", get(list_models))
        .route("/v1/usage", get(get_usage))
        .route("/admin/keys", post(create_key).get(list_keys))
        .route("/admin/keys/{id}/revoke", post(revoke_key))
        .route("/admin/keys/{id}/rotate", post(rotate_key))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { axum::Json(crate::openapi::document()) }),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Which API's error shape a response uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// `{"error": {"message", "type", "param", "code"}}`
    #[default]
    OpenAi,
    /// `{"type": "error", "error": {"type", "message"}}`
    Anthropic,
}

/// An error with its status and (for limits) `Retry-After`, in OpenAI's shape or, on
/// Anthropic's routes, Anthropic's.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: Option<String>,
    pub message: String,
    /// The request field at fault, when one is.
    pub param: Option<String>,
    pub retry_after: Option<u64>,
    pub shape: Shape,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        kind: &'static str,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code: Some(code.to_owned()),
            message: message.into(),
            param: None,
            retry_after: None,
            shape: Shape::OpenAi,
        }
    }

    /// The same error in `shape`.
    pub fn shaped(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            message,
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
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

    pub(crate) fn body(&self) -> serde_json::Value {
        match self.shape {
            Shape::OpenAi => serde_json::json!({
                "error": {
                    "message": self.message,
                    "type": self.kind,
                    "param": self.param,
                    "code": self.code,
                }
            }),
            Shape::Anthropic => serde_json::json!({
                "type": "error",
                "error": {"type": anthropic_error_type(self.status), "message": self.message},
            }),
        }
    }
}

/// Anthropic's error type for a status.
fn anthropic_error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 | 503 => "overloaded_error",
        _ => "api_error",
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
    match state.key_cache.get(&state.db, &hash)? {
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

pub(crate) fn require_key(state: &AppState, headers: &HeaderMap) -> Result<KeyRecord, ApiError> {
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
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
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

pub(crate) fn random_id(prefix: &str) -> String {
    format!(
        "{prefix}{:016x}{:08x}",
        rand::random::<u64>(),
        rand::random::<u32>()
    )
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
    let revoked = state.db.revoke_key(&id)?;
    state.key_cache.evict(&id);
    if revoked {
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
    let rotated = state.db.rotate_key(&id)?;
    state.key_cache.evict(&id);
    match rotated {
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
