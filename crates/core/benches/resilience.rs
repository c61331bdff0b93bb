//! What the resilience layer adds to every model call: the breaker registry's admission
//! and outcome bookkeeping (one mutex, one hash lookup, one clock read each), the router's
//! decision, and an L1 cache lookup — and the three together, which is what each model
//! call pays before its request leaves (target: under 100 µs).
//!
//! ```sh
//! cargo bench -p cuervo-core --bench resilience
//! ```
//!
//! - `breakers/admit+success`: one call's bookkeeping on a closed breaker, with 1 and 16
//!   providers known (the lookup cost as the map grows).
//! - `breakers/admit rejected`: an open breaker turning a call away, the path a down
//!   provider's every call takes.
//! - `per_call/route`: the router over a conversation of N messages (about 2 KB each,
//!   tool calls and results among them) with the built-in tool count, three candidates
//!   and a cost ceiling.
//! - `per_call/route+breaker+cache`: that, plus the breaker bookkeeping and an L1 hit (the
//!   capabilities cache) — the whole overhead of one call.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use cuervo_core::cache::{CacheConfig, CapabilitiesCache};
use cuervo_core::resilience::{Breakers, Role, Router, TokioClock};
use cuervo_domain::resilience::BreakerConfig;
use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, ContentBlock, Cost, Message, ModelErrorKind,
    ModelProvider, ModelRequest, ResolvedModel, ToolCall, ToolResult, ToolSpec, Usage,
};

/// A provider that is never called: capabilities and prices only.
struct Priced(&'static str);

impl ModelProvider for Priced {
    fn name(&self) -> &str {
        self.0
    }
    fn capabilities(&self, _model: &str) -> Capabilities {
        Capabilities {
            context_window: 200_000,
            ..Capabilities::default()
        }
    }
    fn invoke(&self, _request: ModelRequest) -> ChunkStream {
        Box::pin(futures::stream::empty())
    }
    fn is_available(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }
    fn estimate_cost(&self, _request: &ModelRequest) -> Option<Cost> {
        None
    }
    fn cost(&self, _model: &str, usage: &Usage) -> Option<Cost> {
        Some(Cost {
            micro_usd: usage.input_tokens * 3 + usage.output_tokens * 15,
        })
    }
}

fn model(provider: &'static str, name: &str) -> ResolvedModel {
    ResolvedModel {
        provider_name: provider.into(),
        model: name.into(),
        provider: Arc::new(Priced(provider)),
        thinking_budget: None,
    }
}

/// A conversation of `messages` messages: text, tool calls with their results.
fn conversation(messages: usize) -> ModelRequest {
    let text = "fn main() { println!(\"hello\"); }\n".repeat(60);
    let mut history = Vec::new();
    for i in 0..messages {
        let content = match i % 4 {
            0 => vec![ContentBlock::Text { text: text.clone() }],
            1 => vec![ContentBlock::ToolUse(ToolCall {
                id: format!("c{i}"),
                name: "read".into(),
                input: serde_json::json!({"path": format!("src/file_{i}.rs")}),
            })],
            2 => vec![ContentBlock::ToolResult(ToolResult {
                call_id: format!("c{}", i - 1),
                content: text.clone(),
                is_error: false,
            })],
            _ => vec![ContentBlock::Text {
                text: "Done.".into(),
            }],
        };
        history.push(Message {
            role: if i % 2 == 0 {
                cuervo_domain::Role::User
            } else {
                cuervo_domain::Role::Assistant
            },
            content,
        });
    }
    let tools = (0..7)
        .map(|i| ToolSpec {
            name: format!("tool_{i}"),
            description: "Reads a file of the project and returns its lines.".repeat(4),
            input_schema: serde_json::json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "the file"},
                "offset": {"type": "integer"}, "limit": {"type": "integer"}}}),
        })
        .collect();
    ModelRequest {
        model: "primary".into(),
        system: Some("You are Cuervo.".repeat(200)),
        messages: history,
        tools,
        max_tokens: 8192,
        temperature: None,
        stream: true,
        thinking_budget: None,
    }
}

fn per_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_call");
    let primary = model("anthropic", "claude-sonnet-4-5");
    let router = Router::new()
        .with_role(Role::Explore, model("openai", "gpt-4.1-mini"))
        .with_fallbacks(vec![
            model("openai", "gpt-4.1"),
            model("gemini", "gemini-2.5-flash"),
        ])
        .with_cost_ceiling(Some(Cost::from_usd(1.0)));
    let (breakers, _) = registry(4);
    let caps: CapabilitiesCache = CapabilitiesCache::new(CacheConfig::default());
    caps.insert(
        ("anthropic".into(), "claude-sonnet-4-5".into()),
        Capabilities::default(),
    );
    let key = ("anthropic".to_owned(), "claude-sonnet-4-5".to_owned());
    for messages in [10, 100] {
        let request = conversation(messages);
        group.bench_with_input(BenchmarkId::new("route", messages), &request, |b, r| {
            b.iter(|| router.route(Role::Main, &primary, black_box(r)));
        });
        group.bench_with_input(
            BenchmarkId::new("route+breaker+cache", messages),
            &request,
            |b, r| {
                b.iter(|| {
                    let route = router.route(Role::Main, &primary, black_box(r));
                    let first = &route.candidates[0].provider_name;
                    if let Ok(call) = breakers.begin(first) {
                        call.success();
                    }
                    black_box(caps.get(&key))
                });
            },
        );
    }
    group.finish();
}

fn registry(providers: usize) -> (Breakers, String) {
    let breakers = Breakers::new(
        BreakerConfig::default(),
        HashMap::new(),
        Arc::new(TokioClock),
    );
    let names: Vec<String> = (0..providers).map(|i| format!("provider-{i}")).collect();
    for name in &names {
        breakers.admit(name);
        breakers.record_success(name);
    }
    let last = names.last().cloned().unwrap_or_default();
    (breakers, last)
}

fn breakers(c: &mut Criterion) {
    let mut group = c.benchmark_group("breakers");
    for providers in [1, 16] {
        let (breakers, name) = registry(providers);
        group.bench_with_input(
            BenchmarkId::new("admit+success", providers),
            &name,
            |b, name| {
                b.iter(|| {
                    let admission = breakers.admit(black_box(name));
                    breakers.record_success(black_box(name));
                    admission
                });
            },
        );
    }

    let (breakers, name) = registry(1);
    for _ in 0..BreakerConfig::default().failure_threshold {
        breakers.record_failure(&name, &ModelErrorKind::Server);
    }
    group.bench_function("admit rejected", |b| {
        b.iter(|| breakers.admit(black_box(&name)));
    });
    group.finish();
}

criterion_group!(benches, breakers, per_call);
criterion_main!(benches);
