#[cfg(feature = "llama")]
mod chat;
#[cfg_attr(not(all(feature = "llama", feature = "embeddings")), allow(dead_code))]
mod common;
#[cfg(all(feature = "llama", feature = "embeddings"))]
mod embed;
mod hub;
mod store;
mod template;
