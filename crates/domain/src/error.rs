//! Failure kinds as data, so policies (retry, fallback, what to tell the user) are decided
//! on the kind and never on strings or HTTP status codes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModelErrorKind {
    /// The key is missing, wrong or lacks permission. Never retried.
    Auth,
    /// Too many requests; `retry_after` is the provider's own advice when it gave one.
    RateLimited { retry_after_ms: Option<u64> },
    /// The provider is temporarily out of capacity (HTTP 529/503).
    Overloaded { retry_after_ms: Option<u64> },
    /// The prompt does not fit the model's context window.
    ContextWindowExceeded,
    /// The provider rejected the request as malformed (bad model name, bad schema...).
    InvalidRequest,
    /// The provider failed (HTTP 5xx).
    Server,
    /// The request never reached the provider or the connection broke before a response.
    Network,
    /// The response began but ended before the provider said it was complete.
    StreamCut,
    /// The provider sent something that does not follow its own wire format.
    Protocol,
    /// The caller cancelled the request.
    Cancelled,
}

/// A failed model call: its kind, the provider's own words, and which provider it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{provider}: {message}")]
pub struct ModelError {
    pub provider: String,
    #[serde(flatten)]
    pub kind: ModelErrorKind,
    pub message: String,
}

impl ModelError {
    pub fn new(
        provider: impl Into<String>,
        kind: ModelErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            provider: provider.into(),
            kind,
            message: message.into(),
        }
    }

    /// Whether sending the same request again may succeed. A cut stream is: the
    /// connection broke, not the request (the caller decides what to do with whatever
    /// part of the answer it has already shown).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ModelErrorKind::RateLimited { .. }
                | ModelErrorKind::Overloaded { .. }
                | ModelErrorKind::Server
                | ModelErrorKind::Network
                | ModelErrorKind::StreamCut
        )
    }

    /// What went wrong in a few words, for a one-line notice (`overloaded`, `server
    /// error`…); the provider's own message stays in [`ModelError::message`].
    pub fn summary(&self) -> &'static str {
        match self.kind {
            ModelErrorKind::Auth => "the key was refused",
            ModelErrorKind::RateLimited { .. } => "rate limited",
            ModelErrorKind::Overloaded { .. } => "overloaded",
            ModelErrorKind::ContextWindowExceeded => "the conversation is too long for it",
            ModelErrorKind::InvalidRequest => "the request was refused",
            ModelErrorKind::Server => "server error",
            ModelErrorKind::Network => "unreachable or not answering",
            ModelErrorKind::StreamCut => "the answer was cut off",
            ModelErrorKind::Protocol => "it sent a malformed answer",
            ModelErrorKind::Cancelled => "cancelled",
        }
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ModelErrorKind::RateLimited { retry_after_ms }
            | ModelErrorKind::Overloaded { retry_after_ms } => {
                retry_after_ms.map(Duration::from_millis)
            }
            _ => None,
        }
    }
}

/// Why a tool could not do what was asked. The message goes back to the model verbatim,
/// so it must say what was wrong in terms the model can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments do not match the tool's schema or make no sense.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The permission rules or the user refused the call.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The tool ran and failed (file missing, edit did not match, command timed out...).
    #[error("{0}")]
    Failed(String),
    /// The run was cancelled while the tool was working.
    #[error("cancelled")]
    Cancelled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds() {
        let e = |k| ModelError::new("p", k, "m");
        assert!(
            e(ModelErrorKind::RateLimited {
                retry_after_ms: Some(1000)
            })
            .is_retryable()
        );
        assert!(
            e(ModelErrorKind::Overloaded {
                retry_after_ms: None
            })
            .is_retryable()
        );
        assert!(e(ModelErrorKind::Server).is_retryable());
        assert!(e(ModelErrorKind::Network).is_retryable());
        assert!(!e(ModelErrorKind::Auth).is_retryable());
        assert!(e(ModelErrorKind::StreamCut).is_retryable());
        assert!(!e(ModelErrorKind::ContextWindowExceeded).is_retryable());
        assert_eq!(
            e(ModelErrorKind::RateLimited {
                retry_after_ms: Some(1500)
            })
            .retry_after(),
            Some(Duration::from_millis(1500))
        );
    }
}
