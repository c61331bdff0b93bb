//! Wire DTOs: the JSON each API speaks, as plain serde structs.
//!
//! They hold no behaviour and no domain types, so a proxy can reuse them to speak the same
//! protocols from the server side. Unknown fields are ignored and unknown tagged variants
//! fall into an `Other`/`Unknown` variant, so a provider adding a field or a block type
//! does not break parsing.

pub mod anthropic;
pub mod openai;
