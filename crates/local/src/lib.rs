//! Local models for Cuervo: chat with GGUF files and sentence embeddings, on the user's
//! own CPU, with no network and no key.
//!
//! - [`LocalProvider`] implements the domain's `ModelProvider` port: GGUF chat models run
//!   by llama.cpp ([`chat`]), prompts built from the chat template in the file's metadata
//!   ([`template`]), tokens sampled here ([`sampler`]) and streamed as UTF-8-safe text
//!   deltas ([`detok`]), with `<tool_call>` and `<think>` blocks parsed for the templates
//!   that define them ([`toolcall`]); `embed` uses a [`LocalEmbedder`].
//! - [`LocalEmbedder`] runs sentence-transformers checkpoints (BERT encoders) on candle,
//!   with the checkpoint's own pooling and normalisation ([`embed`]).
//! - [`ModelStore`] names local models (`import`, `list`, `remove`, `pull` from the
//!   Hugging Face hub through [`HubClient`], with resume and checksum).
//!
//! The engines are cargo features, both on by default: `llama` ([`chat`], [`provider`];
//! the C++ build of llama.cpp) and `embeddings` ([`embed`]; candle and tokenizers). Without
//! them the model store, the hub download, GGUF metadata and chat templates remain, so a
//! `cuervo` built without local models can still list, import and pull them. Without
//! `embeddings`, [`LocalProvider`]'s `embed` answers with [`Error::NotBuilt`].
//!
//! Why two engines, and why this crate stands apart from `cuervo-providers`: see
//! `docs/adr/0001-local-model-runtime.md`. In short, llama.cpp is several times faster
//! than candle on the quantised GGUF files people actually have and covers every model
//! family; candle is pure Rust and runs the small float encoders well; and the C++ build
//! of llama.cpp must never reach crates (the proxy, tools) that do not run models.

#[cfg(feature = "llama")]
pub mod chat;
pub mod detok;
#[cfg(feature = "embeddings")]
pub mod embed;
pub mod error;
pub mod gguf;
pub mod hub;
#[cfg(feature = "llama")]
pub mod provider;
pub mod sampler;
pub mod store;
pub mod template;
pub mod toolcall;

#[cfg(feature = "llama")]
pub use chat::{ChatModel, EngineOptions, FinishReason, GenEvent, Generation, LLAMA_SIMD};
#[cfg(feature = "embeddings")]
pub use embed::{LocalEmbedder, Pooling, cosine};
pub use error::{Error, Result};
pub use gguf::GgufMetadata;
pub use hub::{HubClient, Progress};
#[cfg(feature = "llama")]
pub use provider::{LocalOptions, LocalProvider, PROVIDER_NAME, capabilities_from};
pub use sampler::{Sampler, SamplingParams};
pub use store::{ImportMode, ModelEntry, ModelKind, ModelSource, ModelStore, PullSpec};
pub use template::{ChatTemplate, ToolCallFormat};
