//! The model routes: chat completions (OpenAI's API), messages (Anthropic's), and
//! embeddings — admission (model, budget, limits), the deployments tried in order, and
//! what each request leaves behind (spend, token counts, metrics).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cuervo_domain::{ModelChunk, ModelError, ModelRequest, Usage};
use futures::StreamExt;

use crate::anthropic_api;
use crate::config::DeploymentConfig;
use crate::db::{KeyRecord, now};
use crate::openai_api::{self, ChunkEncoder, CompletionBuilder};
use crate::server::{ApiError, AppState, Shape, parse_json, random_id, require_key};
use crate::stream::{self, AnthropicStream, OpenAiStream};
use crate::usage::{self, UsageRecord};

/// The cost of `usage` on a deployment: the configured price (cache reads and writes at
/// the input price), else the built-in table.
fn cost_micro_usd(dep: &DeploymentConfig, usage: &Usage) -> u64 {
    if dep.input_usd_per_mtok.is_some() || dep.output_usd_per_mtok.is_some() {
        let input = dep.input_usd_per_mtok.unwrap_or(0.0);
        let price = cuervo_providers::pricing::Price {
            input,
            output: dep.output_usd_per_mtok.unwrap_or(0.0),
            cache_read: input,
            cache_write: input,
        };
        return price.cost(usage).micro_usd;
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
pub(crate) async fn admit(
    state: &AppState,
    key: &KeyRecord,
    model: &str,
) -> Result<usize, ApiError> {
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
pub(crate) struct Accounting {
    state: Arc<AppState>,
    key_id: String,
    model: String,
    request_id: String,
    started: Instant,
}

impl Accounting {
    fn new(
        state: &Arc<AppState>,
        key: &KeyRecord,
        model: &str,
        request_id: String,
        started: Instant,
    ) -> Self {
        Self {
            state: state.clone(),
            key_id: key.id.clone(),
            model: model.to_owned(),
            request_id,
            started,
        }
    }

    /// Records a request no upstream served, and hands its error back.
    async fn refused(self, e: ApiError) -> ApiError {
        self.finish(e.status.as_u16(), Usage::default(), None).await;
        e
    }

    pub(crate) async fn finish(self, status: u16, usage: Usage, dep: Option<&DeploymentConfig>) {
        self.record(status, usage, dep).await;
    }

    /// [`Accounting::finish`] without giving the accounting up (for a caller that cannot
    /// move it).
    async fn record(&self, status: u16, usage: Usage, dep: Option<&DeploymentConfig>) {
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
                request_id: self.request_id.clone(),
                key_id: self.key_id.clone(),
                model: self.model.clone(),
                at,
                status,
                input_tokens: input,
                output_tokens: usage.output_tokens,
                micro_usd,
            })
            .await;
    }
}

/// An upstream's answer that has begun: its first chunk, the rest, and which deployment.
type Opened = (ModelChunk, cuervo_domain::ChunkStream, usize);

/// Calls the model's deployments in order until one starts answering; `build` makes
/// the request for a deployment's upstream model.
async fn open_stream(
    state: &AppState,
    model_index: usize,
    build: &(dyn Fn(&str) -> Result<ModelRequest, ApiError> + Sync),
    shape: Shape,
) -> Result<Opened, ApiError> {
    let group = &state.config.models[model_index];
    let mut last: Option<ModelError> = None;
    for (i, dep) in group.deployments.iter().enumerate() {
        let Some(provider) = state.upstreams.get(&dep.upstream) else {
            continue;
        };
        let mut stream = provider.invoke(build(&dep.model)?);
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
                return Err(upstream_error(&e, shape));
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
        Some(e) => upstream_error(&e, shape),
        None => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "no_upstream",
            format!("no upstream serves `{}`", group.name),
        )
        .shaped(shape),
    })
}

/// An upstream error in the client's terms, in the shape of the client's API.
pub(crate) fn upstream_error(e: &ModelError, shape: Shape) -> ApiError {
    let (status, retry_after, message, code) = match shape {
        Shape::OpenAi => {
            let (status, retry_after, body) = openai_api::error_response(e);
            let code = body.error.code.as_ref().map(|c| match c {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            (status, retry_after, body.error.message, code)
        }
        Shape::Anthropic => {
            let (status, retry_after, body) = anthropic_api::error_response(e);
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (status, retry_after, message, None)
        }
    };
    ApiError {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        kind: match status {
            429 => "rate_limit_error",
            400 => "invalid_request_error",
            _ => "server_error",
        },
        code,
        message,
        param: None,
        retry_after,
        shape,
    }
}

pub(crate) async fn chat_completions(
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
    let build = |model: &str| {
        openai_api::to_model_request(&request, model).map_err(|e| {
            let mut err = ApiError::bad_request(e.message);
            err.param = e.param;
            err
        })
    };
    let accounting = Accounting::new(
        &state,
        &key,
        &request.model,
        random_id("chatcmpl-"),
        started,
    );
    let (first, rest, dep_index) =
        match open_stream(&state, model_index, &build, Shape::OpenAi).await {
            Ok(opened) => opened,
            Err(e) => return Err(accounting.refused(e).await),
        };
    let dep = state.config.models[model_index].deployments[dep_index].clone();
    let created = now().max(0) as u64;
    let id = accounting.request_id.clone();
    if request.stream {
        let encoder = ChunkEncoder::new(
            id,
            request.model.clone(),
            created,
            openai_api::wants_usage(&request),
        );
        return Ok(stream::respond(
            OpenAiStream(encoder),
            first,
            rest,
            accounting,
            dep,
        ));
    }
    let mut builder = CompletionBuilder::new(id, request.model.clone(), created);
    builder.push(first);
    let usage = collect(&mut builder, rest, &accounting, &dep, Shape::OpenAi).await?;
    let completion = builder.finish();
    accounting.finish(200, usage, Some(&dep)).await;
    Ok(axum::Json(completion).into_response())
}

/// A whole (non-streamed) answer being assembled: OpenAI's completion or Anthropic's
/// message.
trait Collector {
    fn push(&mut self, chunk: ModelChunk);
    fn usage(&self) -> Usage;
}

impl Collector for CompletionBuilder {
    fn push(&mut self, chunk: ModelChunk) {
        CompletionBuilder::push(self, chunk);
    }
    fn usage(&self) -> Usage {
        CompletionBuilder::usage(self)
    }
}

impl Collector for anthropic_api::MessageBuilder {
    fn push(&mut self, chunk: ModelChunk) {
        anthropic_api::MessageBuilder::push(self, chunk);
    }
    fn usage(&self) -> Usage {
        anthropic_api::MessageBuilder::usage(self)
    }
}

/// Reads the rest of an upstream's answer into `builder` and returns its usage. An error
/// mid-answer records what was used with the error's status and becomes the client's
/// error (nothing was sent yet).
async fn collect(
    builder: &mut impl Collector,
    mut rest: cuervo_domain::ChunkStream,
    accounting: &Accounting,
    dep: &DeploymentConfig,
    shape: Shape,
) -> Result<Usage, ApiError> {
    while let Some(item) = rest.next().await {
        match item {
            Ok(chunk) => builder.push(chunk),
            Err(e) => {
                let err = upstream_error(&e, shape);
                accounting
                    .record(err.status.as_u16(), builder.usage(), Some(dep))
                    .await;
                return Err(err);
            }
        }
    }
    Ok(builder.usage())
}

/// `POST /v1/messages`: Anthropic's Messages API over any upstream, so Claude Code and
/// the Anthropic SDKs can use the proxy. Errors are in Anthropic's shape.
pub(crate) async fn messages(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let shape = Shape::Anthropic;
    let started = Instant::now();
    let key = require_key(&state, &headers).map_err(|e| e.shaped(shape))?;
    let request = anthropic_api::parse_request(&body).map_err(|e| {
        let mut err = ApiError::bad_request(e.message).shaped(shape);
        err.param = e.param;
        err
    })?;
    let model = request.model().to_owned();
    let model_index = admit(&state, &key, &model)
        .await
        .map_err(|e| e.shaped(shape))?;
    let build = |upstream_model: &str| {
        anthropic_api::to_model_request(&request, upstream_model).map_err(|e| {
            let mut err = ApiError::bad_request(e.message).shaped(shape);
            err.param = e.param;
            err
        })
    };
    let accounting = Accounting::new(&state, &key, &model, random_id("msg_"), started);
    let (first, rest, dep_index) = match open_stream(&state, model_index, &build, shape).await {
        Ok(opened) => opened,
        Err(e) => return Err(accounting.refused(e).await),
    };
    let dep = state.config.models[model_index].deployments[dep_index].clone();
    let id = accounting.request_id.clone();
    if request.stream() {
        let encoder = anthropic_api::EventEncoder::new(id, model);
        return Ok(stream::respond(
            AnthropicStream(encoder),
            first,
            rest,
            accounting,
            dep,
        ));
    }
    let mut builder = anthropic_api::MessageBuilder::new(id, model);
    builder.push(first);
    let usage = collect(&mut builder, rest, &accounting, &dep, shape).await?;
    let message = builder.finish();
    accounting.finish(200, usage, Some(&dep)).await;
    Ok(axum::Json(message).into_response())
}

pub(crate) async fn embeddings(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let key = require_key(&state, &headers)?;
    let request: crate::embeddings::EmbeddingsRequest = parse_json(&body)?;
    let texts = request.texts().map_err(ApiError::bad_request)?;
    let model_index = admit(&state, &key, &request.model).await?;
    let accounting = Accounting::new(&state, &key, &request.model, random_id("emb-"), started);
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
        Some(e) => upstream_error(&e, Shape::OpenAi),
        None => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "no_upstream",
            format!("no upstream serves `{}`", group.name),
        ),
    };
    Err(accounting.refused(err).await)
}
