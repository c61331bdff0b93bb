//! The orchestrator against scripted models: sub-agents get only their own prompt, tools
//! and brief; explorers run at once; cancelling the parent cancels them; a sub-agent's
//! edit asks permission naming it; the depth and count bounds hold; plan mode's exit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cuervo_core::agents::{AgentCatalog, AgentDefinition, AgentSource};
use cuervo_core::delegate::{Delegation, DelegationLimits, TASK_TOOL};
use cuervo_core::plan::{ExitPlanMode, PLAN_TOOL};
use cuervo_core::resilience::Role;
use cuervo_core::{Agent, AgentConfig, CancellationToken, HeadlessApprover, ToolRegistry};
use cuervo_domain::{
    AgentEvent, Approval, ApprovalRequest, Approver, BoxFuture, Capabilities, ChunkStream,
    ContentBlock, Cost, ModelChunk, ModelProvider, ModelRequest, PermissionLevel, PermissionMode,
    PermissionPolicy, Session, SessionId, StopCause, StopReason, Tool, ToolCall, ToolContext,
    Usage,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::fakes::{FakeTool, no_retries};

/// A model that answers by who is asking: the first line of the system prompt picks a
/// script (`main`, `explorer`…), each a queue of answers. Each request is logged with the
/// time it was sent; an answer may wait before it streams, or never finish.
#[derive(Default)]
struct Team {
    scripts: Mutex<HashMap<String, Vec<Answer>>>,
    sent: Mutex<Vec<(String, tokio::time::Instant, ModelRequest)>>,
}

#[derive(Clone)]
struct Answer {
    delay: Duration,
    hang: bool,
    chunks: Vec<ModelChunk>,
}

fn says(text: &str) -> Answer {
    Answer {
        delay: Duration::ZERO,
        hang: false,
        chunks: vec![
            ModelChunk::Text { text: text.into() },
            ModelChunk::Usage {
                usage: Usage {
                    input_tokens: 10,
                    output_tokens: 4,
                    ..Usage::default()
                },
            },
            ModelChunk::Stop {
                reason: StopReason::EndTurn,
            },
        ],
    }
}

fn calls(calls: &[(&str, &str, Value)]) -> Answer {
    let mut chunks: Vec<ModelChunk> = calls
        .iter()
        .map(|(id, name, input)| ModelChunk::ToolUse {
            call: ToolCall {
                id: (*id).into(),
                name: (*name).into(),
                input: input.clone(),
            },
        })
        .collect();
    chunks.push(ModelChunk::Stop {
        reason: StopReason::ToolUse,
    });
    Answer {
        delay: Duration::ZERO,
        hang: false,
        chunks,
    }
}

impl Team {
    fn script(self: &Arc<Self>, who: &str, answers: Vec<Answer>) -> Arc<Self> {
        self.scripts
            .lock()
            .unwrap()
            .insert(who.into(), answers.into_iter().rev().collect());
        self.clone()
    }

    fn requests_of(&self, who: &str) -> Vec<(tokio::time::Instant, ModelRequest)> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _, _)| w == who)
            .map(|(_, t, r)| (*t, r.clone()))
            .collect()
    }
}

/// Who a request is from: the first word of its system prompt.
fn asker(request: &ModelRequest) -> String {
    request
        .system
        .as_deref()
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or("main")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

impl ModelProvider for Team {
    fn name(&self) -> &str {
        "team"
    }

    fn capabilities(&self, _model: &str) -> Capabilities {
        Capabilities::default()
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        let who = asker(&request);
        self.sent
            .lock()
            .unwrap()
            .push((who.clone(), tokio::time::Instant::now(), request));
        let answer = self
            .scripts
            .lock()
            .unwrap()
            .get_mut(&who)
            .and_then(Vec::pop)
            .unwrap_or_else(|| panic!("no answer left for `{who}`"));
        let stream = async_stream(answer);
        Box::pin(stream)
    }

    fn is_available(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }

    fn estimate_cost(&self, _request: &ModelRequest) -> Option<Cost> {
        None
    }

    fn cost(&self, _model: &str, usage: &Usage) -> Option<Cost> {
        Some(Cost {
            micro_usd: usage.output_tokens,
        })
    }
}

fn async_stream(
    answer: Answer,
) -> impl futures::Stream<Item = Result<ModelChunk, cuervo_domain::ModelError>> + Send {
    use futures::StreamExt;
    let delay = answer.delay;
    let hang = answer.hang;
    futures::stream::once(async move { tokio::time::sleep(delay).await })
        .flat_map(move |()| futures::stream::iter(answer.chunks.clone().into_iter().map(Ok)))
        .chain(
            futures::stream::once(async move {
                if hang {
                    futures::future::pending::<()>().await;
                }
            })
            .filter_map(|()| async { None }),
        )
}

fn definition(name: &str, tools: Option<&[&str]>, role: Role) -> AgentDefinition {
    AgentDefinition {
        name: name.into(),
        description: format!("the {name}"),
        tools: tools.map(|t| t.iter().map(|s| (*s).to_owned()).collect()),
        model: None,
        role,
        // The first word names the agent for the scripted model.
        system_prompt: format!("{name}: you are the {name}."),
        source: AgentSource::BuiltIn,
        ignored_tools: Vec::new(),
        notes: Vec::new(),
    }
}

struct Setup {
    agent: Agent,
    read: Arc<FakeTool>,
    edit: Arc<FakeTool>,
}

fn setup(
    model: &Arc<Team>,
    mode: PermissionMode,
    approver: Arc<dyn Approver>,
    limits: DelegationLimits,
) -> Setup {
    let mut catalog = AgentCatalog::new();
    catalog.insert(definition("explorer", Some(&["read"]), Role::Explore));
    catalog.insert(definition("executor", None, Role::Edit));
    catalog.insert(definition(
        "deep",
        Some(&["read", TASK_TOOL]),
        Role::Explore,
    ));
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    let edit = Arc::new(FakeTool::new("edit", PermissionLevel::ReadWrite));
    let tools: Vec<Arc<dyn Tool>> = vec![
        read.clone(),
        edit.clone(),
        Arc::new(ExitPlanMode),
        Delegation::tool(&catalog),
    ];
    let tools = ToolRegistry::new(tools);
    let delegation = Delegation::new(Arc::new(catalog), tools.clone(), None, limits);
    let agent = Agent::new(
        model.clone(),
        tools,
        PermissionPolicy {
            mode,
            ..PermissionPolicy::default()
        },
        approver,
        ToolContext::new(std::env::temp_dir()),
        AgentConfig {
            system_prompt: Some("main: you are the main agent.".into()),
            ..AgentConfig::new("m")
        },
    )
    .with_resilience(no_retries())
    .with_delegation(delegation);
    Setup { agent, read, edit }
}

async fn run(
    agent: &Agent,
    prompt: &str,
    cancel: &CancellationToken,
) -> (
    Result<cuervo_core::RunOutcome, cuervo_core::AgentError>,
    Vec<AgentEvent>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut session = Session::new(SessionId("s".into()));
    let outcome = agent.run(&mut session, prompt, &tx, cancel).await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (outcome, events)
}

fn task(id: &str, agent: &str, prompt: &str) -> (String, String, Value) {
    (
        id.to_owned(),
        TASK_TOOL.to_owned(),
        json!({"agent": agent, "description": format!("{agent} work"), "prompt": prompt}),
    )
}

fn as_calls(tasks: &[(String, String, Value)]) -> Vec<(&str, &str, Value)> {
    tasks
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.clone()))
        .collect()
}

fn result_of(request: &ModelRequest, call_id: &str) -> String {
    request
        .messages
        .iter()
        .flat_map(|m| m.content.iter())
        .find_map(|b| match b {
            ContentBlock::ToolResult(r) if r.call_id == call_id => Some(r.content.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no result for {call_id}"))
}

#[tokio::test(start_paused = true)]
async fn an_explorer_sees_only_its_prompt_its_tools_and_its_brief() {
    let model = Arc::new(Team::default())
        .script(
            "main",
            vec![
                calls(&as_calls(&[task(
                    "t1",
                    "explorer",
                    "Where is retry defined?",
                )])),
                says("It is in retry.rs."),
            ],
        )
        .script(
            "explorer",
            vec![
                calls(&[("r1", "read", json!({"path": "retry.rs"}))]),
                says("retry.rs:12 defines retry()."),
            ],
        );
    let s = setup(
        &model,
        PermissionMode::Ask,
        Arc::new(HeadlessApprover),
        DelegationLimits::default(),
    );
    let (outcome, events) = run(
        &s.agent,
        "secret parent context: find retry",
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(outcome.expect("completed").result, "It is in retry.rs.");

    let explorer = model.requests_of("explorer");
    let (_, first) = &explorer[0];
    assert!(
        first
            .system
            .as_deref()
            .unwrap()
            .starts_with("explorer: you are the explorer.")
    );
    let tools: Vec<&str> = first.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tools, ["read"], "only its own tools");
    assert_eq!(first.messages.len(), 1, "only the brief");
    assert_eq!(first.messages[0].text(), "Where is retry defined?");
    let all: String = explorer
        .iter()
        .flat_map(|(_, r)| r.messages.iter().map(|m| m.text()))
        .collect();
    assert!(
        !all.contains("secret parent context"),
        "nothing of the parent's conversation"
    );
    assert_eq!(
        s.read.ran.lock().unwrap().len(),
        1,
        "the explorer read the file"
    );

    // The parent got the explorer's answer as the tool result.
    let main = model.requests_of("main");
    assert_eq!(result_of(&main[1].1, "t1"), "retry.rs:12 defines retry().");

    // Its events came wrapped, with its own started/completed.
    let inner: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::SubAgent { id, event, .. } => {
                assert!(id.starts_with("explorer-"), "{id}");
                Some(match event.as_ref() {
                    AgentEvent::AgentStarted { .. } => "started",
                    AgentEvent::AgentCompleted { .. } => "completed",
                    AgentEvent::ToolExecuted { .. } => "tool",
                    _ => "",
                })
            }
            _ => None,
        })
        .filter(|k| !k.is_empty())
        .collect();
    assert_eq!(inner, ["started", "tool", "completed"]);
}

#[tokio::test(start_paused = true)]
async fn two_explorers_run_at_the_same_time() {
    let slow = |text: &str| Answer {
        delay: Duration::from_secs(5),
        ..says(text)
    };
    let model = Arc::new(Team::default())
        .script(
            "main",
            vec![
                calls(&as_calls(&[
                    task("t1", "explorer", "question one"),
                    task("t2", "explorer", "question two"),
                ])),
                says("Both answered."),
            ],
        )
        .script("explorer", vec![slow("answer A"), slow("answer B")]);
    let s = setup(
        &model,
        PermissionMode::Ask,
        Arc::new(HeadlessApprover),
        DelegationLimits::default(),
    );
    let started = tokio::time::Instant::now();
    let (outcome, _) = run(&s.agent, "ask both", &CancellationToken::new()).await;
    assert_eq!(outcome.expect("completed").result, "Both answered.");
    let explorer = model.requests_of("explorer");
    assert_eq!(explorer.len(), 2);
    assert_eq!(explorer[0].0, explorer[1].0, "both requests left at once");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(5),
        "5 s, not 10: they overlapped"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_parent_cancels_every_sub_agent() {
    let hang = Answer {
        delay: Duration::ZERO,
        hang: true,
        chunks: vec![ModelChunk::Text {
            text: "thinking…".into(),
        }],
    };
    let model = Arc::new(Team::default())
        .script(
            "main",
            vec![calls(&as_calls(&[
                task("t1", "explorer", "one"),
                task("t2", "explorer", "two"),
            ]))],
        )
        .script("explorer", vec![hang.clone(), hang]);
    let s = setup(
        &model,
        PermissionMode::Ask,
        Arc::new(HeadlessApprover),
        DelegationLimits::default(),
    );
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        stop.cancel();
    });
    let (outcome, events) = run(&s.agent, "go", &cancel).await;
    assert_eq!(outcome.expect("cancelled").cause, StopCause::Cancelled);
    assert_eq!(model.requests_of("explorer").len(), 2, "both were running");
    // Each sub-agent saw the interrupt and ended saying so.
    let cancelled: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::SubAgent { id, event, .. }
                if matches!(
                    event.as_ref(),
                    AgentEvent::AgentCompleted {
                        cause: StopCause::Cancelled,
                        ..
                    }
                ) =>
            {
                Some(id.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(cancelled.len(), 2, "{cancelled:?}");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(model.requests_of("explorer").len(), 2, "nothing runs on");
}

/// Records what it is asked and answers with a fixed approval.
struct Recording {
    asked: Mutex<Vec<ApprovalRequest>>,
    answer: Approval,
}

impl Approver for Recording {
    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, Approval> {
        self.asked.lock().unwrap().push(request);
        let answer = self.answer.clone();
        Box::pin(async move { answer })
    }
}

#[tokio::test(start_paused = true)]
async fn a_sub_agents_edit_asks_naming_the_agent_and_headless_refuses_it() {
    let script = |model: Arc<Team>| {
        model
            .script(
                "main",
                vec![
                    calls(&as_calls(&[task("t1", "executor", "change the file")])),
                    says("done"),
                ],
            )
            .script(
                "executor",
                vec![
                    calls(&[("e1", "edit", json!({"path": "a.rs"}))]),
                    says("I could not edit."),
                ],
            )
    };
    // Ask mode: the person is asked, and the question names the executor.
    let model = script(Arc::new(Team::default()));
    let approver = Arc::new(Recording {
        asked: Mutex::default(),
        answer: Approval::Deny,
    });
    let s = setup(
        &model,
        PermissionMode::Ask,
        approver.clone(),
        DelegationLimits::default(),
    );
    run(&s.agent, "edit it", &CancellationToken::new())
        .await
        .0
        .expect("completed");
    let asked = approver.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].tool, "edit");
    assert_eq!(asked[0].agent.as_deref(), Some("executor"));
    assert!(s.edit.ran.lock().unwrap().is_empty());

    // Headless: refused like any other call, the executor is told why.
    let model = script(Arc::new(Team::default()));
    let s = setup(
        &model,
        PermissionMode::Ask,
        Arc::new(HeadlessApprover),
        DelegationLimits::default(),
    );
    run(&s.agent, "edit it", &CancellationToken::new())
        .await
        .0
        .expect("completed");
    assert!(s.edit.ran.lock().unwrap().is_empty());
    let executor = model.requests_of("executor");
    assert!(
        result_of(&executor[1].1, "e1").contains("permission"),
        "{:?}",
        executor[1].1
    );
}

#[tokio::test(start_paused = true)]
async fn delegation_is_bounded_in_depth_and_count() {
    // `deep` may delegate, but at depth 1 of a 1-deep tree it gets no task tool.
    let model = Arc::new(Team::default())
        .script(
            "main",
            vec![
                calls(&as_calls(&[task("t1", "deep", "go deeper")])),
                calls(&as_calls(&[
                    task("t2", "explorer", "a"),
                    task("t3", "explorer", "b"),
                ])),
                says("stopped"),
            ],
        )
        .script("deep", vec![says("no deeper")])
        .script("explorer", vec![says("a done")]);
    let s = setup(
        &model,
        PermissionMode::Ask,
        Arc::new(HeadlessApprover),
        DelegationLimits {
            max_depth: 1,
            max_agents: 2,
        },
    );
    run(&s.agent, "go", &CancellationToken::new())
        .await
        .0
        .expect("completed");
    let deep = model.requests_of("deep");
    let tools: Vec<&str> = deep[0].1.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tools, ["read"], "no task tool below the depth bound");
    // Two sub-agents started (deep and one explorer); the third is refused.
    let main = model.requests_of("main");
    let refused = [result_of(&main[2].1, "t2"), result_of(&main[2].1, "t3")];
    assert_eq!(
        refused
            .iter()
            .filter(|r| r.contains("the most allowed"))
            .count(),
        1,
        "{refused:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn leaving_plan_mode_shows_the_plan_and_switches_mode_once_approved() {
    let plan = "1. Edit a.rs\n2. Run the tests";
    let model = Arc::new(Team::default()).script(
        "main",
        vec![
            calls(&[("p1", PLAN_TOOL, json!({"plan": plan}))]),
            calls(&[("e1", "edit", json!({"path": "a.rs"}))]),
            says("Done."),
        ],
    );
    let approver = Arc::new(Recording {
        asked: Mutex::default(),
        answer: Approval::AllowAlways {
            rule: "auto-edit".into(),
        },
    });
    let s = setup(
        &model,
        PermissionMode::Plan,
        approver.clone(),
        DelegationLimits::default(),
    );
    let (outcome, events) = run(&s.agent, "plan then do", &CancellationToken::new()).await;
    assert_eq!(outcome.expect("completed").result, "Done.");
    let asked = approver.asked.lock().unwrap().clone();
    assert_eq!(
        asked.len(),
        1,
        "the plan is asked about, the edit is not (auto-edit)"
    );
    assert_eq!(asked[0].tool, PLAN_TOOL);
    assert_eq!(asked[0].action.preview.as_deref(), Some(plan));
    assert!(events.iter().any(|e| matches!(
        e,
        AgentEvent::PlanApproved {
            mode: PermissionMode::AutoEdit,
            ..
        }
    )));
    assert_eq!(
        s.edit.ran.lock().unwrap().len(),
        1,
        "the edit ran after approval"
    );
    assert_eq!(s.agent.policy().mode, PermissionMode::AutoEdit);

    // Headless, the plan is refused: nothing changes, the agent stays in plan mode.
    let model = Arc::new(Team::default()).script(
        "main",
        vec![
            calls(&[("p1", PLAN_TOOL, json!({"plan": plan}))]),
            says("Here is the plan."),
        ],
    );
    let s = setup(
        &model,
        PermissionMode::Plan,
        Arc::new(HeadlessApprover),
        DelegationLimits::default(),
    );
    run(&s.agent, "plan", &CancellationToken::new())
        .await
        .0
        .expect("completed");
    assert_eq!(s.agent.policy().mode, PermissionMode::Plan);
    let main = model.requests_of("main");
    assert!(result_of(&main[1].1, "p1").contains("did not approve"));
}
