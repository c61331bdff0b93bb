//! The model port: what the agent loop needs from any LLM, local or remote.

use std::future::Future;
use std::pin::Pin;

use futures_core::Stream;

use crate::error::ModelError;
use crate::model::{Capabilities, Cost, ModelChunk, ModelRequest, Usage};

/// A boxed, sendable future: the object-safe way to put async methods on a port.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The stream of an answer. It ends after [`ModelChunk::Stop`] or after the first error.
/// Dropping it cancels the request at once (the connection is closed).
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<ModelChunk, ModelError>> + Send>>;

/// A model provider (Anthropic, OpenAI, a local model...).
pub trait ModelProvider: Send + Sync {
    /// Stable name used in config, errors and events (`anthropic`, `openai`, ...).
    fn name(&self) -> &str;

    /// What `model` can do; adapters answer from their own tables (or, for a local
    /// server, from what [`ModelProvider::probe_capabilities`] learned).
    fn capabilities(&self, model: &str) -> Capabilities;

    /// What `model` can do, asking the provider where it can tell (Ollama's model
    /// metadata holds the real context length). The default answers from
    /// [`ModelProvider::capabilities`].
    fn probe_capabilities<'a>(&'a self, model: &'a str) -> BoxFuture<'a, Capabilities> {
        let capabilities = self.capabilities(model);
        Box::pin(async move { capabilities })
    }

    /// Sends the request and streams the answer. Connection errors arrive as the
    /// stream's first item, so the caller has one place to handle every failure.
    fn invoke(&self, request: ModelRequest) -> ChunkStream;

    /// Embeds texts, one vector each. Providers without an embeddings API say so.
    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ModelError>> {
        let _ = texts;
        let name = self.name().to_owned();
        Box::pin(async move {
            Err(ModelError::new(
                name,
                crate::error::ModelErrorKind::InvalidRequest,
                "this provider has no embeddings API",
            ))
        })
    }

    /// A cheap probe with a short timeout: can a request be sent now?
    fn is_available(&self) -> BoxFuture<'_, bool>;

    /// Upper bound of what the request would cost, or `None` for an unknown price.
    fn estimate_cost(&self, request: &ModelRequest) -> Option<Cost>;

    /// What a finished call of `model` with this usage cost, or `None` for an unknown
    /// price.
    fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        let _ = (model, usage);
        None
    }
}

/// A model the user named, resolved to the provider that serves it.
#[derive(Clone)]
pub struct ResolvedModel {
    /// The provider's name in config (`anthropic`, `local`, `my-gateway`…).
    pub provider_name: String,
    pub model: String,
    pub provider: std::sync::Arc<dyn ModelProvider>,
    /// The thinking budget configured for this provider, sent with every request.
    pub thinking_budget: Option<u32>,
}

impl std::fmt::Debug for ResolvedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedModel")
            .field("provider_name", &self.provider_name)
            .field("model", &self.model)
            .field("thinking_budget", &self.thinking_budget)
            .finish_non_exhaustive()
    }
}

/// Turns a model name as a user types it (`gpt-4.1`, `openai/gpt-4.1`, a local model's
/// name) into a ready provider. The one owner of model routing: the session service asks
/// it when the user switches model, so every front end routes a name the same way.
pub trait ModelResolver: Send + Sync {
    /// The provider and model for `requested`, or what is wrong, said for the user.
    fn resolve(&self, requested: &str) -> Result<ResolvedModel, String>;
}
