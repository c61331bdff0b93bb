//! Cuervo Model Proxy: one endpoint in front of every provider Cuervo speaks.
//!
//! Clients (Cuervo, the OpenAI SDKs, anything that speaks Chat Completions) call it with
//! a virtual key; it checks the key's models, budget and limits, translates the request to
//! the upstream's own API through `cuervo-providers`, falls back along a model's
//! deployments when one is down, and records spend off the request path. Provider keys
//! stay in the proxy's environment.
//!
//! [`app`] is the router; [`Proxy::start`] builds the state from a configuration.

pub mod anthropic_api;
pub mod config;
pub mod db;
pub mod embeddings;
pub mod limits;
pub mod metrics;
mod model_routes;
pub mod openai_api;
pub mod openapi;
pub mod redis_limits;
pub mod server;
mod stream;
pub mod usage;

use std::collections::HashMap;
use std::sync::Arc;

pub use config::ProxyConfig;
pub use server::{AppState, app};

/// Why the proxy cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("upstream `{name}`: {message}")]
    Upstream { name: String, message: String },
    #[error("limits.redis_url: {0}")]
    Redis(#[from] redis_limits::RedisError),
}

/// A built proxy: its shared state and the spend writer, which must be awaited at
/// shutdown (after the server stops) so no record is lost.
#[derive(Debug)]
pub struct Proxy {
    pub state: Arc<AppState>,
    pub writer: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Opens the database, builds one adapter per upstream and starts the spend writer
    /// (on the current Tokio runtime). The admin key comes from the environment variable
    /// the configuration names.
    pub fn start(config: ProxyConfig) -> Result<Self, StartError> {
        let admin_key = std::env::var(&config.admin_key_env).ok();
        Self::with_keys(config, admin_key, &HashMap::new())
    }

    /// [`Proxy::start`] with the admin key given (`None` or blank: no admin API) and,
    /// for the upstreams named in `upstream_keys`, their keys (instead of the
    /// environment: for embedding the proxy and for tests).
    pub fn with_keys(
        config: ProxyConfig,
        admin_key: Option<String>,
        upstream_keys: &HashMap<String, String>,
    ) -> Result<Self, StartError> {
        let db = db::Db::open(&config.database_path())?;
        let mut upstreams = HashMap::new();
        let mut embedders: embeddings::Embedders = HashMap::new();
        for u in &config.upstreams {
            let mut settings = u.settings().map_err(|message| StartError::Upstream {
                name: u.name.clone(),
                message,
            })?;
            if let Some(key) = upstream_keys.get(&u.name) {
                settings.api_key = Some(key.clone());
                settings.key_source = Some("the key given to the proxy".into());
            }
            let provider = cuervo_providers::build_provider(settings.clone()).map_err(|e| {
                StartError::Upstream {
                    name: u.name.clone(),
                    message: e.to_string(),
                }
            })?;
            upstreams.insert(u.name.clone(), provider);
            // One adapter per model this upstream serves, for embeddings: the adapter
            // embeds with the model its settings name.
            let models = config
                .models
                .iter()
                .flat_map(|m| &m.deployments)
                .filter(|d| d.upstream == u.name);
            for d in models {
                let mut s = settings.clone();
                s.embedding_model = Some(d.model.clone());
                let provider =
                    cuervo_providers::build_provider(s).map_err(|e| StartError::Upstream {
                        name: u.name.clone(),
                        message: e.to_string(),
                    })?;
                embedders.insert((u.name.clone(), d.model.clone()), provider);
            }
        }
        let admin_key_hash = admin_key
            .filter(|k| !k.trim().is_empty())
            .map(|k| db::key_hash(k.trim()));
        let limiter = match &config.limits.redis_url {
            Some(url) => limits::Limiter::Redis(Box::new(redis_limits::RedisLimiter::new(
                url,
                config.limits.on_redis_error,
            )?)),
            None => limits::Limiter::default(),
        };
        let (usage, writer) = usage::start_writer(db.clone());
        let state = Arc::new(AppState {
            config,
            db,
            usage,
            spend: usage::SpendCache::default(),
            limiter,
            metrics: metrics::Metrics::default(),
            admin_key_hash,
            upstreams,
            embedders,
            key_cache: server::KeyCache::default(),
        });
        // Forget the limit windows of keys that went quiet, once a minute.
        let weak = Arc::downgrade(&state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { break };
                state.limiter.prune(db::now());
            }
        });
        Ok(Self { state, writer })
    }
}
