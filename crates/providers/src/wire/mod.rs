//! Wire DTOs: the JSON each API speaks, as plain serde structs.
//!
//! They hold no behaviour and no domain types, so a proxy can reuse them to speak the same
//! protocols from the server side. Unknown fields are ignored and unknown tagged variants
//! fall into an `Other`/`Unknown` variant, so a provider adding a field or a block type
//! does not break parsing.

use serde::{Deserialize, Deserializer};

pub mod anthropic;
pub mod gemini;
pub mod ollama;
pub mod openai;
pub mod responses;

/// Reads `null` as the type's default: some servers send `"images": null` where the
/// documentation says the field is a list.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}
