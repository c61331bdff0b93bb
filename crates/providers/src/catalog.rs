//! What known models can do, answered from a small table shared by the adapters.
//!
//! Matching is by family prefix, first match wins, so a new dated snapshot of a known
//! family is recognised. Context windows are the conservative, generally available ones
//! (no beta 1M windows), because the agent compacts by them.

use cuervo_domain::Capabilities;

use crate::pricing::normalize;

const fn caps(
    context_window: u64,
    max_output_tokens: u32,
    vision: bool,
    thinking: bool,
    prompt_caching: bool,
) -> Capabilities {
    Capabilities {
        context_window,
        max_output_tokens,
        tools: true,
        vision,
        thinking,
        prompt_caching,
    }
}

const TABLE: &[(&str, Capabilities)] = &[
    // Anthropic: 200K context, explicit prompt caching.
    ("claude-opus-4-0", caps(200_000, 32_000, true, true, true)),
    ("claude-opus-4-1", caps(200_000, 32_000, true, true, true)),
    (
        "claude-opus-4-2025",
        caps(200_000, 32_000, true, true, true),
    ),
    ("claude-opus-4", caps(200_000, 64_000, true, true, true)),
    ("claude-sonnet-4", caps(200_000, 64_000, true, true, true)),
    ("claude-haiku-4", caps(200_000, 64_000, true, true, true)),
    ("claude-3-7-sonnet", caps(200_000, 64_000, true, true, true)),
    ("claude-3-5-sonnet", caps(200_000, 8_192, true, false, true)),
    ("claude-3-5-haiku", caps(200_000, 8_192, false, false, true)),
    ("claude-", caps(200_000, 4_096, true, false, true)),
    // OpenAI: automatic prompt caching. The chat snapshot of GPT-5 does not reason.
    ("gpt-5-chat", caps(128_000, 16_384, true, false, true)),
    ("gpt-5", caps(400_000, 128_000, true, true, true)),
    ("gpt-4o", caps(128_000, 16_384, true, false, true)),
    ("gpt-4.1", caps(1_047_576, 32_768, true, false, true)),
    ("o3", caps(200_000, 100_000, true, true, true)),
    ("o4-mini", caps(200_000, 100_000, true, true, true)),
    // DeepSeek: context caching on disk, automatic.
    (
        "deepseek-reasoner",
        caps(128_000, 65_536, false, true, true),
    ),
    ("deepseek-chat", caps(128_000, 8_192, false, false, true)),
    // Gemini: 1M-token windows, implicit caching; 2.5 models think (Flash-Lite when asked).
    ("gemini-2.5-pro", caps(1_048_576, 65_536, true, true, true)),
    (
        "gemini-2.5-flash",
        caps(1_048_576, 65_536, true, true, true),
    ),
    (
        "gemini-2.0-flash",
        caps(1_048_576, 8_192, true, false, true),
    ),
];

/// Capabilities of `model`; [`Capabilities::default`] for a model not in the table.
pub(crate) fn capabilities(model: &str) -> Capabilities {
    lookup(model).unwrap_or_default()
}

/// Capabilities of `model` when the table knows it. Unknown models get the benefit of the
/// doubt elsewhere (their images are sent, for instance) instead of a guessed "no".
pub(crate) fn lookup(model: &str) -> Option<Capabilities> {
    let model = normalize(model);
    TABLE
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|(_, caps)| caps.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_default() {
        let opus41 = capabilities("claude-opus-4-1-20250805");
        assert_eq!(opus41.max_output_tokens, 32_000);
        assert!(opus41.thinking && opus41.prompt_caching && opus41.vision);
        assert_eq!(capabilities("claude-opus-4-5").max_output_tokens, 64_000);
        assert_eq!(
            capabilities("claude-opus-4-20250514").max_output_tokens,
            32_000
        );
        assert!(!capabilities("claude-3-5-sonnet-latest").thinking);
        assert_eq!(capabilities("gpt-4.1-mini").context_window, 1_047_576);
        assert!(capabilities("deepseek-reasoner").thinking);
        assert!(!capabilities("deepseek-chat").thinking);
        assert_eq!(capabilities("qwen2.5-coder:7b"), Capabilities::default());
        assert_eq!(lookup("qwen2.5-coder:7b"), None);
        let gemini = capabilities("gemini-2.5-flash-lite");
        assert_eq!(gemini.context_window, 1_048_576);
        assert!(gemini.thinking && gemini.vision);
        assert!(!capabilities("gemini-2.0-flash-001").thinking);
        assert!(capabilities("models/gemini-2.5-pro").thinking);
        assert!(capabilities("gpt-5-mini").thinking);
        assert!(!capabilities("gpt-5-chat-latest").thinking);
    }
}
