//! Why a run failed. Each variant keeps the session intact: the caller can persist it and
//! the user can retry or continue.

use cuervo_domain::ModelError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The model call failed after the provider's own retries.
    #[error(transparent)]
    Model(#[from] ModelError),
}

pub type Result<T> = std::result::Result<T, AgentError>;
