//! What models cost, for budgets and the cost line of the UI.
//!
//! Prices are USD per million tokens, copied from the providers' public price lists on
//! [`PRICES_AS_OF`]. They go stale: an unknown model yields `None` ("unknown"), never a
//! zero that would make a budget look unspent. Long-context surcharges (Sonnet 4/4.5 and
//! Gemini 2.5 Pro above 200K input tokens) and batch discounts are not modelled. A local
//! Ollama server is priced by its adapter (zero: nothing is billed), not here.

use cuervo_domain::{ContentBlock, Cost, ModelRequest, Usage};

/// The day the prices below were read from the providers' price lists.
pub const PRICES_AS_OF: &str = "2026-04-13";

/// The price of one model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens (reasoning included).
    pub output: f64,
    /// Input tokens served from the prompt cache.
    pub cache_read: f64,
    /// Input tokens written to the prompt cache (Anthropic's 5-minute cache; providers
    /// that cache automatically charge the input price).
    pub cache_write: f64,
}

impl Price {
    const fn new(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Self {
        Self {
            input,
            output,
            cache_read,
            cache_write,
        }
    }

    /// What `usage` costs at this price, to the nearest micro-dollar.
    pub fn cost(&self, usage: &Usage) -> Cost {
        // tokens × USD per million tokens = micro-dollars.
        let micro = usage.input_tokens as f64 * self.input
            + usage.output_tokens as f64 * self.output
            + usage.cache_read_tokens as f64 * self.cache_read
            + usage.cache_write_tokens as f64 * self.cache_write;
        Cost {
            micro_usd: micro.max(0.0).round() as u64,
        }
    }
}

const OPUS_45: Price = Price::new(5.0, 25.0, 0.50, 6.25);
const OPUS_4: Price = Price::new(15.0, 75.0, 1.50, 18.75);
const SONNET: Price = Price::new(3.0, 15.0, 0.30, 3.75);
const HAIKU_45: Price = Price::new(1.0, 5.0, 0.10, 1.25);
const HAIKU_35: Price = Price::new(0.80, 4.0, 0.08, 1.0);
const DEEPSEEK: Price = Price::new(0.28, 0.42, 0.028, 0.28);

/// Model ids (without date suffix) and their prices. A request's model matches an entry
/// when it is the id itself, or the id followed by `-latest`, `-YYYYMMDD`, `-YYYY-MM-DD`
/// or a three-digit version (`-001`, Google's stable snapshots); so `o3` does not price
/// `o3-mini`, a different model.
const PRICES: &[(&str, Price)] = &[
    // Anthropic
    ("claude-opus-4-8", OPUS_45),
    ("claude-opus-4-7", OPUS_45),
    ("claude-opus-4-6", OPUS_45),
    ("claude-opus-4-5", OPUS_45),
    ("claude-opus-4-1", OPUS_4),
    ("claude-opus-4-0", OPUS_4),
    ("claude-opus-4", OPUS_4),
    ("claude-sonnet-4-6", SONNET),
    ("claude-sonnet-4-5", SONNET),
    ("claude-sonnet-4-0", SONNET),
    ("claude-sonnet-4", SONNET),
    ("claude-haiku-4-5", HAIKU_45),
    ("claude-3-7-sonnet", SONNET),
    ("claude-3-5-sonnet", SONNET),
    ("claude-3-5-haiku", HAIKU_35),
    // OpenAI (no charge for cache writes: cached input is discounted automatically)
    ("gpt-4o", Price::new(2.50, 10.0, 1.25, 2.50)),
    ("gpt-4o-mini", Price::new(0.15, 0.60, 0.075, 0.15)),
    ("gpt-4.1", Price::new(2.0, 8.0, 0.50, 2.0)),
    ("gpt-4.1-mini", Price::new(0.40, 1.60, 0.10, 0.40)),
    ("gpt-4.1-nano", Price::new(0.10, 0.40, 0.025, 0.10)),
    ("o3", Price::new(2.0, 8.0, 0.50, 2.0)),
    ("o4-mini", Price::new(1.10, 4.40, 0.275, 1.10)),
    ("gpt-5", Price::new(1.25, 10.0, 0.125, 1.25)),
    ("gpt-5-mini", Price::new(0.25, 2.0, 0.025, 0.25)),
    ("gpt-5-nano", Price::new(0.05, 0.40, 0.005, 0.05)),
    // Gemini (standard tier, prompts up to 200K tokens; implicit caching bills cached
    // input at a quarter or a tenth of the input price and charges nothing to write)
    ("gemini-2.5-pro", Price::new(1.25, 10.0, 0.125, 1.25)),
    ("gemini-2.5-flash", Price::new(0.30, 2.50, 0.03, 0.30)),
    ("gemini-2.5-flash-lite", Price::new(0.10, 0.40, 0.01, 0.10)),
    ("gemini-2.0-flash", Price::new(0.10, 0.40, 0.025, 0.10)),
    // DeepSeek (V3.2 behind both names; "cache hit" is the cache-read price)
    ("deepseek-chat", DEEPSEEK),
    ("deepseek-reasoner", DEEPSEEK),
];

/// The price of `model`, or `None` when it is not in the table.
pub fn price(model: &str) -> Option<Price> {
    let model = normalize(model);
    PRICES
        .iter()
        .find(|(id, _)| matches_id(&model, id))
        .map(|(_, price)| *price)
}

/// What `usage` of `model` cost, or `None` for an unknown model.
pub fn cost(model: &str, usage: &Usage) -> Option<Cost> {
    price(model).map(|p| p.cost(usage))
}

/// An upper bound of what `request` will cost: its estimated input at the input price
/// plus all of `max_tokens` at the output price. `None` for an unknown model.
pub fn estimate(request: &ModelRequest) -> Option<Cost> {
    let price = price(&request.model)?;
    Some(price.cost(&Usage {
        input_tokens: estimate_input_tokens(request),
        output_tokens: u64::from(request.max_tokens),
        ..Usage::default()
    }))
}

/// A rough, deliberately generous token count of what `request` sends: one token per
/// four characters (rounded up) of the system prompt, every message block and every tool
/// definition, plus a few tokens of framing per message, plus [`IMAGE_TOKENS`] per image.
pub fn estimate_input_tokens(request: &ModelRequest) -> u64 {
    const PER_MESSAGE: u64 = 4;
    let mut chars = request.system.as_deref().map_or(0, char_len);
    let mut framing = 0;
    for message in &request.messages {
        framing += PER_MESSAGE;
        for block in &message.content {
            chars += match block {
                ContentBlock::Text { text } => char_len(text),
                ContentBlock::Thinking {
                    thinking,
                    encrypted,
                    ..
                } => char_len(thinking) + encrypted.as_ref().map_or(0, |e| char_len(&e.data)),
                ContentBlock::Image { .. } => {
                    framing += IMAGE_TOKENS;
                    0
                }
                ContentBlock::ToolUse(call) => {
                    char_len(&call.id) + char_len(&call.name) + char_len(&call.input.to_string())
                }
                ContentBlock::ToolResult(result) => {
                    char_len(&result.call_id) + char_len(&result.content)
                }
            };
        }
    }
    for tool in &request.tools {
        framing += PER_MESSAGE;
        chars += char_len(&tool.name)
            + char_len(&tool.description)
            + char_len(&tool.input_schema.to_string());
    }
    chars.div_ceil(4) + framing
}

/// What one image is counted as: the most any provider charges for an image it accepts
/// (Anthropic scales images down to about 1.15 megapixels, about 1,600 tokens).
pub const IMAGE_TOKENS: u64 = 1_600;

fn char_len(s: &str) -> u64 {
    s.chars().count() as u64
}

/// Lower-cases and drops a router prefix (`anthropic/claude-…`, `openai/gpt-4o`).
pub(crate) fn normalize(model: &str) -> String {
    let model = model.trim();
    let base = model.rsplit('/').next().unwrap_or(model);
    base.to_ascii_lowercase()
}

fn matches_id(model: &str, id: &str) -> bool {
    let Some(rest) = model.strip_prefix(id) else {
        return false;
    };
    if rest.is_empty() || rest == "-latest" {
        return true;
    }
    let Some(date) = rest.strip_prefix('-') else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // -NNN (Google), -YYYYMMDD (Anthropic) or -YYYY-MM-DD (OpenAI)
    (date.len() == 3 && digits(date))
        || (date.len() == 8 && digits(date))
        || (date.len() == 10
            && date.as_bytes()[4] == b'-'
            && date.as_bytes()[7] == b'-'
            && digits(&date[..4])
            && digits(&date[5..7])
            && digits(&date[8..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{Message, ModelRequest, ToolSpec};
    use serde_json::json;

    #[test]
    fn known_models_and_their_dated_ids() {
        assert_eq!(price("claude-sonnet-4-5-20250929"), Some(SONNET));
        assert_eq!(price("claude-opus-4-1-20250805"), Some(OPUS_4));
        assert_eq!(price("claude-opus-4-20250514"), Some(OPUS_4));
        assert_eq!(price("claude-opus-4-5"), Some(OPUS_45));
        assert_eq!(price("claude-3-5-haiku-latest"), Some(HAIKU_35));
        assert_eq!(price("claude-3-7-sonnet-20250219"), Some(SONNET));
        assert_eq!(price("claude-haiku-4-5-20251001"), Some(HAIKU_45));
        assert_eq!(price("gpt-4o-2024-08-06").map(|p| p.input), Some(2.50));
        assert_eq!(price("gpt-4o-mini").map(|p| p.output), Some(0.60));
        assert_eq!(price("GPT-4.1-mini").map(|p| p.input), Some(0.40));
        assert_eq!(price("openai/o4-mini").map(|p| p.input), Some(1.10));
        assert_eq!(price("o3").map(|p| p.output), Some(8.0));
        assert_eq!(price("deepseek-reasoner"), Some(DEEPSEEK));
        assert_eq!(price("gemini-2.5-pro").map(|p| p.output), Some(10.0));
        assert_eq!(
            price("models/gemini-2.5-flash").map(|p| p.input),
            Some(0.30)
        );
        assert_eq!(price("gemini-2.5-flash-lite").map(|p| p.input), Some(0.10));
        assert_eq!(price("gemini-2.0-flash-001").map(|p| p.output), Some(0.40));
        assert_eq!(price("gpt-5-mini").map(|p| p.input), Some(0.25));
    }

    #[test]
    fn unknown_models_have_no_price() {
        for model in [
            "o3-mini",
            "o3-pro",
            "gpt-5-pro",
            "gemini-2.5-flash-preview-05-20",
            "llama3",
            "claude-opus-4-5x",
            "",
        ] {
            assert_eq!(price(model), None, "{model}");
        }
        let request = ModelRequest {
            model: "my-local-model".into(),
            system: None,
            messages: vec![Message::user("hi")],
            tools: vec![],
            max_tokens: 100,
            temperature: None,
            stream: true,
            thinking_budget: None,
        };
        assert_eq!(estimate(&request), None);
    }

    #[test]
    fn cost_counts_every_token_kind() {
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 100_000,
            cache_read_tokens: 2_000_000,
            cache_write_tokens: 10_000,
        };
        // 3.00 + 1.50 + 0.60 + 0.0375 = 5.1375 USD
        assert_eq!(
            cost("claude-sonnet-4", &usage).map(|c| c.micro_usd),
            Some(5_137_500)
        );
        assert_eq!(cost("nope", &usage), None);
    }

    #[test]
    fn estimate_is_an_upper_bound_from_chars() {
        let request = ModelRequest {
            model: "claude-sonnet-4-5".into(),
            system: Some("x".repeat(400)),
            messages: vec![Message::user("y".repeat(400))],
            tools: vec![ToolSpec {
                name: "read".into(),
                description: "reads".into(),
                input_schema: json!({}),
            }],
            max_tokens: 1000,
            temperature: None,
            stream: true,
            thinking_budget: None,
        };
        // (400 + 400 + 4 + 5 + 2) chars / 4 = 203 (rounded up) + 2 × 4 framing = 211 tokens.
        assert_eq!(estimate_input_tokens(&request), 211);
        // 211 × 3 + 1000 × 15 = 15 633 micro-USD
        assert_eq!(estimate(&request).map(|c| c.micro_usd), Some(15_633));
        let mut with_image = request.clone();
        with_image.messages[0].content.push(ContentBlock::Image {
            media_type: "image/png".into(),
            data_base64: "x".repeat(100_000),
        });
        assert_eq!(estimate_input_tokens(&with_image), 211 + IMAGE_TOKENS);
    }
}
