//! Other upstreams' encrypted reasoning, sealed into the opaque fields Anthropic clients
//! send back unchanged (see the module documentation).

use super::*;

/// What a sealed payload starts with: not base64 (Anthropic's own signatures and redacted
/// data are), so it cannot be mistaken for one of Anthropic's, and versioned so the shape
/// can change.
const SEAL_PREFIX: &str = "cuervo-reasoning:v1:";

/// `reasoning` as one opaque string: `cuervo-reasoning:v1:<format>:<data>`.
pub(super) fn seal(reasoning: &EncryptedReasoning) -> String {
    format!("{SEAL_PREFIX}{}:{}", reasoning.format, reasoning.data)
}

/// The reasoning sealed in `text` by [`seal`]; `None` for anything else (an Anthropic
/// signature, or a payload whose format is missing).
pub(super) fn unseal(text: &str) -> Option<EncryptedReasoning> {
    let (format, data) = text.strip_prefix(SEAL_PREFIX)?.split_once(':')?;
    (!format.is_empty()).then(|| EncryptedReasoning::new(format, data))
}
