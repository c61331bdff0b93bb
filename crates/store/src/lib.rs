//! Cuervo's local state, in one SQLite database per user, plus API keys.
//!
//! - [`Db`]: the database file (`$XDG_DATA_HOME/cuervo/cuervo.db`), WAL, foreign keys,
//!   versioned [`migrate`]ions, and writes that wait for other processes instead of
//!   failing (see [`db`]).
//! - Sessions and messages with tokens and cost ([`sessions`]), and the
//!   [`SqliteSessionRepository`] adapter of the domain's `SessionRepository` port.
//! - The hash-chained, redacted [`audit`] log with its head checkpoint.
//! - [`secrets`]: API keys in the OS keychain, or a 0600 file where none runs.
//! - The L2 [`cache`]s: file content hashes and parse results ([`FileCache`]), and the
//!   semantic response cache ([`SemanticCache`]).
//!
//! The tables follow the seed's schema (§3.1); `embeddings` is created for the index that
//! will fill it.

pub mod audit;
pub mod cache;
pub mod db;
pub mod error;
pub mod migrate;
pub mod registry;
pub mod secrets;
pub mod sessions;

pub use audit::{AuditEntry, AuditLog, Breach, BreachKind, Verification};
pub use cache::{CacheStats, Cleared, FileCache, SemanticCache, SemanticCacheConfig};
pub use db::Db;
pub use error::{Error, Result};
pub use registry::RegisteredModel;
pub use secrets::{Credentials, KeyLocation, Saved};
pub use sessions::{
    CostTotal, SessionInfo, SqliteSessionRepository, StoredMessage, new_session_id, scrub_secrets,
};

/// A text filter applied before anything is stored: PII and secret redaction for the audit
/// log, known-key scrubbing for messages.
pub use cuervo_domain::Redact;
