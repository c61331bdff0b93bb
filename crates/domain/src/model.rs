//! What goes to a model and what streams back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{EncryptedReasoning, Message, ToolCall};

/// A tool as the model sees it: a name, what it is for, and a JSON Schema for its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// One call to a model, provider-neutral. Adapters map it to their wire format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub messages: Vec<Message>,
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Whether the adapter should ask for a streamed response. Either way the adapter
    /// yields [`ModelChunk`]s; a non-streamed answer arrives as a burst of them.
    pub stream: bool,
    /// Tokens the model may spend reasoning before it answers (extended thinking).
    /// `None` leaves it to the provider's configuration; `Some(0)` asks for no thinking
    /// where the model allows it. Adapters translate it (Anthropic `budget_tokens`,
    /// Gemini `thinkingBudget`, OpenAI reasoning effort) and ignore it for models that
    /// cannot think.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<u32>,
}

/// Token counts for one model call. Cache fields stay zero where a provider has no cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
    }

    /// Adds another call's usage (totals over a turn or a session).
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }

    /// Merges a partial report into this one: providers send input tokens at the start of
    /// a stream and output tokens at the end, so each non-zero field of `later` wins.
    pub fn merge(&mut self, later: &Usage) {
        let pick = |a: u64, b: u64| if b != 0 { b } else { a };
        self.input_tokens = pick(self.input_tokens, later.input_tokens);
        self.output_tokens = pick(self.output_tokens, later.output_tokens);
        self.cache_read_tokens = pick(self.cache_read_tokens, later.cache_read_tokens);
        self.cache_write_tokens = pick(self.cache_write_tokens, later.cache_write_tokens);
    }
}

/// Why the model stopped producing output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    /// The provider refused or filtered the output (safety, content filter).
    Refusal,
    Other(String),
}

/// One element of a model's (streamed) answer.
///
/// Tool calls arrive whole: adapters accumulate the provider's incremental JSON argument
/// fragments and emit [`ModelChunk::ToolUse`] once the arguments parse, after announcing
/// the call with [`ModelChunk::ToolUseStart`] so a front end can show progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ModelChunk {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
    },
    /// The opaque signature closing a thinking block (Anthropic extended thinking).
    ThinkingSignature {
        signature: String,
    },
    /// Reasoning only the provider can read, to be kept with the turn's thinking and sent
    /// back on the next request (see [`EncryptedReasoning`]). It closes the current
    /// thinking block, or stands alone when the provider showed no reasoning text.
    ThinkingEncrypted {
        encrypted: EncryptedReasoning,
    },
    ToolUseStart {
        id: String,
        name: String,
    },
    ToolUse {
        call: ToolCall,
    },
    Usage {
        usage: Usage,
    },
    /// The last chunk of a complete answer. A stream that ends without it was cut.
    Stop {
        reason: StopReason,
    },
}

/// What a model can do, as far as the agent loop needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub context_window: u64,
    pub max_output_tokens: u32,
    pub tools: bool,
    pub vision: bool,
    pub thinking: bool,
    pub prompt_caching: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            context_window: 128_000,
            max_output_tokens: 8_192,
            tools: true,
            vision: false,
            thinking: false,
            prompt_caching: false,
        }
    }
}

/// A monetary amount in US dollars, kept in micro-dollars to add without rounding drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cost {
    pub micro_usd: u64,
}

impl Cost {
    pub fn usd(&self) -> f64 {
        self.micro_usd as f64 / 1_000_000.0
    }

    /// An amount given in dollars (a configured ceiling), rounded to the micro-dollar;
    /// negative or not a number is zero.
    pub fn from_usd(usd: f64) -> Self {
        let micro = (usd * 1_000_000.0).round();
        Self {
            micro_usd: if micro.is_finite() && micro > 0.0 {
                micro as u64
            } else {
                0
            },
        }
    }
}

/// What model calls have used and cost, summed call by call as they complete.
///
/// Each call is priced at its own model's rates when it finishes, so a conversation that
/// switches models is never re-priced at the last model's rates. A call with no known
/// price is counted, never priced at a made-up zero: the total is then a lower bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    pub usage: Usage,
    /// The sum over calls with a known price.
    pub known: Cost,
    /// Model calls made.
    pub calls: u64,
    /// Model calls whose price is unknown.
    pub unpriced_calls: u64,
}

impl Spend {
    /// Adds one finished model call.
    pub fn add_call(&mut self, usage: &Usage, cost: Option<Cost>) {
        self.usage.add(usage);
        self.calls += 1;
        match cost {
            Some(cost) => self.known.micro_usd += cost.micro_usd,
            None => self.unpriced_calls += 1,
        }
    }

    /// The total, when every call had a known price.
    pub fn exact(&self) -> Option<Cost> {
        (self.unpriced_calls == 0).then_some(self.known)
    }
}

/// A cap on the tokens one run may spend. `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBudget {
    pub limit: Option<u64>,
    pub used: u64,
}

impl TokenBudget {
    pub fn new(limit: Option<u64>) -> Self {
        Self { limit, used: 0 }
    }

    pub fn spend(&mut self, usage: &Usage) {
        self.used = self.used.saturating_add(usage.total());
    }

    pub fn remaining(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.used))
    }

    pub fn is_exhausted(&self) -> bool {
        self.remaining() == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_merge_keeps_start_and_end_reports() {
        let mut u = Usage {
            input_tokens: 120,
            ..Usage::default()
        };
        u.merge(&Usage {
            output_tokens: 40,
            ..Usage::default()
        });
        assert_eq!(
            u,
            Usage {
                input_tokens: 120,
                output_tokens: 40,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn budget_exhausts_and_saturates() {
        let mut b = TokenBudget::new(Some(100));
        b.spend(&Usage {
            input_tokens: 60,
            output_tokens: 30,
            ..Usage::default()
        });
        assert_eq!(b.remaining(), Some(10));
        assert!(!b.is_exhausted());
        b.spend(&Usage {
            input_tokens: 60,
            ..Usage::default()
        });
        assert!(b.is_exhausted());
        assert!(!TokenBudget::new(None).is_exhausted());
    }
}
