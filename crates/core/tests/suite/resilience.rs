//! Never stranded: retries, circuit breakers, the fallback chain and the router, against
//! scripted providers on tokio's paused clock (so waiting takes no time and is exact).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cuervo_core::resilience::{Breakers, Needs, Resilience, Role, Router, TokioClock};
use cuervo_core::{
    Agent, AgentConfig, AgentError, CancellationToken, HeadlessApprover, ToolRegistry,
};
use cuervo_domain::resilience::{BreakerConfig, BreakerState};
use cuervo_domain::{
    AgentEvent, BoxFuture, Capabilities, ChunkStream, ContentBlock, Cost, Message, ModelChunk,
    ModelError, ModelErrorKind, ModelProvider, ModelRequest, PermissionPolicy, ResolvedModel,
    RetryPolicy, Role as MessageRole, Session, SessionId, ToolContext, Usage,
};
use pretty_assertions::assert_eq;
use tokio::sync::mpsc;

use super::fakes::{Scripted, text_turn};

/// A provider with a name, a script of answers, a price, and a log of what it was sent
/// and when (on tokio's clock).
struct Faulty {
    name: String,
    capabilities: Capabilities,
    script: Mutex<VecDeque<Scripted>>,
    sent: Mutex<Vec<(tokio::time::Instant, ModelRequest)>>,
    micro_usd_per_output_token: u64,
}

impl Faulty {
    fn new(name: &str, script: Vec<Scripted>) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            capabilities: Capabilities::default(),
            script: Mutex::new(script.into()),
            sent: Mutex::new(Vec::new()),
            micro_usd_per_output_token: 0,
        })
    }

    fn with(name: &str, capabilities: Capabilities, price: u64) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            capabilities,
            script: Mutex::new(VecDeque::new()),
            sent: Mutex::new(Vec::new()),
            micro_usd_per_output_token: price,
        })
    }

    fn push(&self, turns: impl IntoIterator<Item = Scripted>) {
        self.script.lock().unwrap().extend(turns);
    }

    fn calls(&self) -> usize {
        self.sent.lock().unwrap().len()
    }

    fn requests(&self) -> Vec<ModelRequest> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    fn times(&self) -> Vec<tokio::time::Instant> {
        self.sent.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }

    fn resolved(self: &Arc<Self>, model: &str) -> ResolvedModel {
        ResolvedModel {
            provider_name: self.name.clone(),
            model: model.into(),
            provider: self.clone(),
            thinking_budget: None,
        }
    }
}

impl ModelProvider for Faulty {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self, _model: &str) -> Capabilities {
        self.capabilities.clone()
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        self.sent
            .lock()
            .unwrap()
            .push((tokio::time::Instant::now(), request));
        let turn = self.script.lock().unwrap().pop_front();
        let turn = turn.unwrap_or_else(|| panic!("{}: no scripted answer left", self.name));
        let items = futures::stream::iter(turn.chunks);
        if turn.hang_after {
            Box::pin(futures::StreamExt::chain(items, futures::stream::pending()))
        } else {
            Box::pin(items)
        }
    }

    fn is_available(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }

    fn estimate_cost(&self, request: &ModelRequest) -> Option<Cost> {
        Some(Cost {
            micro_usd: u64::from(request.max_tokens) * self.micro_usd_per_output_token,
        })
    }

    fn cost(&self, _model: &str, usage: &Usage) -> Option<Cost> {
        Some(Cost {
            micro_usd: usage.output_tokens * self.micro_usd_per_output_token,
        })
    }
}

fn failing(kind: ModelErrorKind) -> Scripted {
    Scripted {
        chunks: vec![Err(ModelError::new("p", kind, "scripted failure"))],
        hang_after: false,
    }
}

fn server_error() -> Scripted {
    failing(ModelErrorKind::Server)
}

/// Some text, some usage, then the connection breaks.
fn cut_after(text: &str) -> Scripted {
    Scripted {
        chunks: vec![
            Ok(ModelChunk::Usage {
                usage: Usage {
                    input_tokens: 40,
                    ..Usage::default()
                },
            }),
            Ok(ModelChunk::Text { text: text.into() }),
            Err(ModelError::new("p", ModelErrorKind::StreamCut, "cut off")),
        ],
        hang_after: false,
    }
}

fn resilience(retry: RetryPolicy, fallbacks: Vec<ResolvedModel>) -> Arc<Resilience> {
    Arc::new(Resilience {
        breakers: Arc::new(Breakers::new(
            BreakerConfig::default(),
            HashMap::new(),
            Arc::new(TokioClock),
        )),
        retry,
        retry_overrides: HashMap::new(),
        router: Router::new().with_fallbacks(fallbacks),
    })
}

fn retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(30),
        deadline: Some(Duration::from_secs(120)),
    }
}

fn agent(primary: &Arc<Faulty>, resilience: &Arc<Resilience>) -> Agent {
    Agent::new(
        primary.clone(),
        ToolRegistry::default(),
        PermissionPolicy::default(),
        Arc::new(HeadlessApprover),
        ToolContext::new(std::env::temp_dir()),
        AgentConfig::new("primary-model"),
    )
    .with_resilience(resilience.clone())
}

async fn run(
    agent: &Agent,
    session: &mut Session,
    prompt: &str,
) -> (Result<cuervo_core::RunOutcome, AgentError>, Vec<AgentEvent>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let outcome = agent
        .run(session, prompt, &tx, &CancellationToken::new())
        .await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    (outcome, events)
}

fn fallbacks(events: &[AgentEvent]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ModelFallback {
                from, to, reason, ..
            } => Some((from.clone(), to.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

fn retry_delays(events: &[AgentEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ModelRetry { delay_ms, .. } => Some(*delay_ms),
            _ => None,
        })
        .collect()
}

fn session() -> Session {
    Session::new(SessionId("s".into()))
}

#[tokio::test(start_paused = true)]
async fn five_server_errors_open_the_breaker_and_the_same_turn_finishes_on_the_secondary() {
    let primary = Faulty::new("alpha", vec![server_error(); 5]);
    let secondary = Faulty::new("beta", vec![text_turn("From beta.")]);
    let shared = resilience(retries(4), vec![secondary.resolved("beta-model")]);
    let agent = agent(&primary, &shared);
    let mut session = session();
    let (outcome, events) = run(&agent, &mut session, "hello").await;

    let outcome = outcome.expect("the turn finishes on the secondary");
    assert_eq!(outcome.result, "From beta.");
    assert_eq!(primary.calls(), 5, "1 try + 4 retries");
    assert_eq!(retry_delays(&events).len(), 4);
    assert!(matches!(
        shared.breakers.state("alpha"),
        BreakerState::Open { .. }
    ));
    let switched = fallbacks(&events);
    assert_eq!(switched.len(), 1, "{switched:?}");
    assert_eq!(switched[0].0, "alpha/primary-model");
    assert_eq!(switched[0].1, "beta/beta-model");
    assert!(switched[0].2.contains("server error"), "{}", switched[0].2);
    // The secondary got the conversation, and answered as its own model.
    let sent = secondary.requests();
    assert_eq!(sent[0].model, "beta-model");
    assert_eq!(
        sent[0].messages.last().map(Message::text).as_deref(),
        Some("hello")
    );

    // The next turn skips the open breaker at once, without announcing the switch again.
    secondary.push([text_turn("Still beta.")]);
    let (outcome, events) = run(&agent, &mut session, "again").await;
    assert_eq!(outcome.expect("answered").result, "Still beta.");
    assert_eq!(primary.calls(), 5, "an open breaker is not called");
    assert!(fallbacks(&events).is_empty(), "{:?}", fallbacks(&events));

    // After the breaker's timeout a half-open probe succeeds and traffic returns.
    tokio::time::advance(BreakerConfig::default().timeout + Duration::from_secs(1)).await;
    primary.push([text_turn("Alpha is back.")]);
    let (outcome, events) = run(&agent, &mut session, "and now?").await;
    assert_eq!(outcome.expect("answered").result, "Alpha is back.");
    assert_eq!(primary.calls(), 6);
    let switched = fallbacks(&events);
    assert_eq!(switched.len(), 1, "the return is announced once");
    assert_eq!(switched[0].1, "alpha/primary-model");
    assert_eq!(shared.breakers.state("alpha"), BreakerState::HalfOpen);
    // The secondary saw the whole history, its own answers included, on the way.
    let history = &secondary.requests()[1].messages;
    assert_eq!(history.len(), 3, "{history:?}");
}

#[tokio::test(start_paused = true)]
async fn unauthorized_is_reported_at_once_never_retried_never_trips_the_breaker() {
    let primary = Faulty::new("alpha", vec![failing(ModelErrorKind::Auth); 6]);
    let secondary = Faulty::new("beta", vec![]);
    let shared = resilience(retries(3), vec![secondary.resolved("beta-model")]);
    let agent = agent(&primary, &shared);
    let mut session = session();
    for _ in 0..6 {
        let (outcome, events) = run(&agent, &mut session, "hello").await;
        match outcome {
            Err(AgentError::Model(e)) => assert_eq!(e.kind, ModelErrorKind::Auth),
            other => panic!("expected an auth error, got {other:?}"),
        }
        assert!(retry_delays(&events).is_empty());
        assert!(
            fallbacks(&events).is_empty(),
            "a bad key is not a reason to switch"
        );
    }
    assert_eq!(primary.calls(), 6, "one call per turn");
    assert_eq!(secondary.calls(), 0);
    assert_eq!(shared.breakers.state("alpha"), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_waits_that_long() {
    let limited = failing(ModelErrorKind::RateLimited {
        retry_after_ms: Some(7_000),
    });
    let primary = Faulty::new("alpha", vec![limited, text_turn("Done.")]);
    let shared = resilience(retries(3), vec![]);
    let agent = agent(&primary, &shared);
    let (outcome, events) = run(&agent, &mut session(), "hello").await;
    assert_eq!(outcome.expect("answered").result, "Done.");
    let times = primary.times();
    assert_eq!(times.len(), 2);
    assert_eq!(
        times[1] - times[0],
        Duration::from_secs(7),
        "exactly the Retry-After"
    );
    assert_eq!(retry_delays(&events), vec![7_000]);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_of_an_hour_falls_back_at_once_and_says_how_long() {
    let hour = || {
        failing(ModelErrorKind::RateLimited {
            retry_after_ms: Some(3_600_000),
        })
    };
    // With a fallback: no waiting, the switch says why.
    let primary = Faulty::new("alpha", vec![hour()]);
    let secondary = Faulty::new("beta", vec![text_turn("Here.")]);
    let shared = resilience(retries(3), vec![secondary.resolved("beta-model")]);
    let started = tokio::time::Instant::now();
    let (outcome, events) = run(&agent(&primary, &shared), &mut session(), "hi").await;
    assert_eq!(outcome.expect("answered").result, "Here.");
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert!(
        fallbacks(&events)[0].2.contains("1 h"),
        "{:?}",
        fallbacks(&events)
    );

    // Without one: the error says how long, not "wait a moment".
    let primary = Faulty::new("alpha", vec![hour()]);
    let shared = resilience(retries(3), vec![]);
    let (outcome, _) = run(&agent(&primary, &shared), &mut session(), "hi").await;
    match outcome {
        Err(AgentError::Model(e)) => {
            assert!(e.message.contains("asks to wait 1 h"), "{}", e.message);
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_cut_before_any_content_is_retried() {
    let cut = Scripted {
        chunks: vec![Err(ModelError::new("p", ModelErrorKind::StreamCut, "cut"))],
        hang_after: false,
    };
    let overloaded_mid_stream = Scripted {
        chunks: vec![
            Ok(ModelChunk::Usage {
                usage: Usage {
                    input_tokens: 12,
                    ..Usage::default()
                },
            }),
            Err(ModelError::new(
                "p",
                ModelErrorKind::Overloaded {
                    retry_after_ms: None,
                },
                "overloaded_error",
            )),
        ],
        hang_after: false,
    };
    let primary = Faulty::new(
        "alpha",
        vec![cut, overloaded_mid_stream, text_turn("Fine.")],
    );
    let shared = resilience(retries(3), vec![]);
    let (outcome, events) = run(&agent(&primary, &shared), &mut session(), "hi").await;
    assert_eq!(outcome.expect("answered").result, "Fine.");
    assert_eq!(primary.calls(), 3);
    assert_eq!(retry_delays(&events).len(), 2);
    // The tokens the broken attempt used are counted.
    let unfinished: Vec<Usage> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::CallUnfinished { usage, .. } => Some(*usage),
            _ => None,
        })
        .collect();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].input_tokens, 12);
}

#[tokio::test(start_paused = true)]
async fn a_cut_stream_continues_on_the_fallback_without_repeating_what_was_shown() {
    let primary = Faulty::new("alpha", vec![cut_after("The answer is ")]);
    let secondary = Faulty::new("beta", vec![text_turn("forty-two.")]);
    // No retries: the cut moves straight to the fallback.
    let shared = resilience(RetryPolicy::none(), vec![secondary.resolved("beta-model")]);
    let agent = agent(&primary, &shared);
    let mut session = session();
    let (outcome, events) = run(&agent, &mut session, "what is it?").await;
    let outcome = outcome.expect("continued on the fallback");
    assert_eq!(outcome.result, "The answer is forty-two.");

    // What the user saw, delta by delta: nothing twice, nothing missing.
    let shown: String = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(shown, "The answer is forty-two.");

    // The fallback was asked to continue the shown text after the whole conversation.
    let sent = &secondary.requests()[0];
    let n = sent.messages.len();
    assert_eq!(sent.messages[n - 3].text(), "what is it?");
    assert_eq!(sent.messages[n - 2].role, MessageRole::Assistant);
    assert_eq!(sent.messages[n - 2].text(), "The answer is ");
    assert!(
        sent.messages[n - 1]
            .text()
            .contains("Continue it from exactly where it stopped")
    );

    // The session holds one answer, whole, as the fallback model's.
    assert_eq!(session.messages.len(), 2);
    assert_eq!(session.messages[1].text(), "The answer is forty-two.");
    assert!(matches!(
        session.messages[1].content.as_slice(),
        [ContentBlock::Text { .. }]
    ));
}

#[tokio::test(start_paused = true)]
async fn every_provider_down_ends_with_choices_and_keeps_the_message() {
    let primary = Faulty::new("alpha", vec![server_error(); 3]);
    let secondary = Faulty::new("beta", vec![failing(ModelErrorKind::Network); 3]);
    let shared = resilience(retries(2), vec![secondary.resolved("beta-model")]);
    let agent = agent(&primary, &shared);
    let mut session = session();
    let (outcome, events) = run(&agent, &mut session, "keep me").await;
    let error = match outcome {
        Err(AgentError::Model(e)) => e,
        other => panic!("expected every model to fail, got {other:?}"),
    };
    for part in [
        "alpha/primary-model: server error",
        "beta/beta-model: unreachable",
        "Your message is kept",
        "/model",
        "local model",
    ] {
        assert!(error.message.contains(part), "{part}: {}", error.message);
    }
    assert_eq!(session.messages.len(), 1);
    assert_eq!(session.messages[0].text(), "keep me");
    assert!(matches!(
        events.last(),
        Some(AgentEvent::AgentFailed { .. })
    ));

    // Later, with the providers back, the same session goes on.
    tokio::time::advance(Duration::from_secs(60)).await;
    primary.push([text_turn("Back.")]);
    let (outcome, _) = run(&agent, &mut session, "again").await;
    assert_eq!(outcome.expect("answered").result, "Back.");
    let sent = primary.requests().pop().expect("a request");
    let texts: Vec<String> = sent.messages.iter().map(Message::text).collect();
    assert_eq!(texts, ["keep me", "again"].map(String::from).to_vec());
}

#[tokio::test(start_paused = true)]
async fn a_fallback_call_is_priced_at_the_fallback_models_rate() {
    let primary = Faulty::new("alpha", vec![server_error()]);
    let cheap = Faulty::with("beta", Capabilities::default(), 3);
    cheap.push([text_turn("Cheap.")]);
    let shared = resilience(RetryPolicy::none(), vec![cheap.resolved("beta-model")]);
    let (_, events) = run(&agent(&primary, &shared), &mut session(), "hi").await;
    let cost = events.iter().find_map(|e| match e {
        AgentEvent::TurnCompleted { cost, .. } => *cost,
        _ => None,
    });
    assert_eq!(
        cost,
        Some(Cost { micro_usd: 15 }),
        "5 output tokens at 3 µ$"
    );
}

#[tokio::test(start_paused = true)]
async fn a_weaker_fallback_comes_with_a_quality_note() {
    let primary = Faulty::new("alpha", vec![server_error()]);
    let small = Faulty::with(
        "local",
        Capabilities {
            context_window: 8_192,
            ..Capabilities::default()
        },
        0,
    );
    small.push([text_turn("Small.")]);
    let shared = resilience(RetryPolicy::none(), vec![small.resolved("smollm2")]);
    let (_, events) = run(&agent(&primary, &shared), &mut session(), "hi").await;
    let note = events.iter().find_map(|e| match e {
        AgentEvent::ModelFallback { note, .. } => note.clone(),
        _ => None,
    });
    let note = note.expect("a quality note");
    assert!(
        note.contains("runs locally") && note.contains("8K"),
        "{note}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_provider_is_said_to_be_waited_for() {
    let silent = Scripted {
        chunks: vec![],
        hang_after: true,
    };
    let primary = Faulty::new("alpha", vec![silent]);
    let shared = resilience(retries(3), vec![]);
    let agent = agent(&primary, &shared);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(20)).await;
        stop.cancel();
    });
    let (tx, mut rx) = mpsc::unbounded_channel();
    let outcome = agent.run(&mut session(), "hello", &tx, &cancel).await;
    drop(tx);
    assert_eq!(
        outcome.expect("cancelled, not failed").cause,
        cuervo_domain::StopCause::Cancelled
    );
    let mut waited = Vec::new();
    while let Some(event) = rx.recv().await {
        if let AgentEvent::ModelWaiting { waited_ms, .. } = event {
            waited.push(waited_ms);
        }
    }
    assert_eq!(waited, vec![15_000], "said once, after 15 s of silence");
}

fn request_with(tools: bool, images: bool, text_bytes: usize) -> ModelRequest {
    let mut content = vec![ContentBlock::Text {
        text: "x".repeat(text_bytes),
    }];
    if images {
        content.push(ContentBlock::Image {
            media_type: "image/png".into(),
            data_base64: "AAAA".into(),
        });
    }
    ModelRequest {
        model: "m".into(),
        system: None,
        messages: vec![Message {
            role: MessageRole::User,
            content,
        }],
        tools: if tools {
            vec![cuervo_domain::ToolSpec {
                name: "read".into(),
                description: "read a file".into(),
                input_schema: serde_json::json!({"type": "object"}),
            }]
        } else {
            Vec::new()
        },
        max_tokens: 1_000,
        temperature: None,
        stream: true,
        thinking_budget: None,
    }
}

#[test]
fn the_router_picks_by_role_and_leaves_out_what_cannot_serve_the_request() {
    let strong = Faulty::with(
        "strong",
        Capabilities {
            context_window: 200_000,
            vision: true,
            ..Capabilities::default()
        },
        50,
    );
    let cheap = Faulty::with(
        "cheap",
        Capabilities {
            context_window: 16_000,
            ..Capabilities::default()
        },
        1,
    );
    let blind_no_tools = Faulty::with(
        "plain",
        Capabilities {
            tools: false,
            ..Capabilities::default()
        },
        1,
    );
    let router = Router::new()
        .with_role(Role::Explore, cheap.resolved("cheap-1"))
        .with_fallbacks(vec![blind_no_tools.resolved("plain-1")])
        .with_cost_ceiling(Some(Cost { micro_usd: 20_000 }));
    let primary = strong.resolved("strong-1");

    // Exploration goes to the cheap model first; the strong one is over the ceiling; a
    // model without tools is kept only as a last resort.
    let small = request_with(true, false, 400);
    let route = router.route(Role::Explore, &primary, &small);
    let order: Vec<&str> = route.candidates.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(order, ["cheap-1", "plain-1"], "{:?}", route.skipped);
    assert!(route.chosen_because.contains("routing.roles.explore"));
    let skipped: Vec<&str> = route.skipped.iter().map(|s| s.model.as_str()).collect();
    // 1,000 max tokens at 50 µ$ = 50,000 µ$: over the 20,000 ceiling.
    assert_eq!(skipped, ["strong/strong-1"]);
    assert!(route.skipped[0].why.contains("ceiling"));
    assert_eq!(route.last_resorts.len(), 1);
    assert!(route.last_resorts[0].why.contains("cannot use tools"));

    // A conversation too long for the cheap model's window skips it; when nothing fits at
    // all, the preferred model tries anyway (its provider has the last word).
    let long = request_with(true, false, 100_000);
    assert!(Needs::of(&long).input_tokens > 16_000);
    let route = router.route(Role::Explore, &primary, &long);
    assert!(
        route
            .skipped
            .iter()
            .any(|s| s.model == "cheap/cheap-1" && s.why.contains("window")),
        "{:?}",
        route.skipped
    );
    let order: Vec<&str> = route.candidates.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(order, ["plain-1"], "only the last resort fits");
    let alone = Router::new().route(Role::Main, &cheap.resolved("cheap-1"), &long);
    assert_eq!(alone.candidates.len(), 1);
    assert!(alone.chosen_because.contains("trying it anyway"));

    // Images want a model that sees; a blind one still answers, last.
    let images = request_with(false, true, 10);
    assert!(Needs::of(&images).images);
    let route = Router::new()
        .with_fallbacks(vec![strong.resolved("strong-1")])
        .route(Role::Main, &cheap.resolved("cheap-1"), &images);
    let order: Vec<&str> = route.candidates.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(order, ["strong-1", "cheap-1"]);
    assert!(
        route.chosen_because.contains("cheap/cheap-1 does not"),
        "{}",
        route.chosen_because
    );
    assert!(route.last_resorts[0].why.contains("cannot see images"));
}
