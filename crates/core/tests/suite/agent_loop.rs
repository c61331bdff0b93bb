//! The agent loop against a scripted provider and fake tools.

use std::sync::Arc;
use std::time::Duration;

use cuervo_core::{
    Agent, AgentConfig, AgentError, CancellationToken, HeadlessApprover, ToolRegistry,
};
use cuervo_domain::{
    AgentEvent, ContentBlock, ModelChunk, ModelError, ModelErrorKind, PermissionLevel,
    PermissionMode, PermissionPolicy, Role, Session, SessionId, StopCause, StopReason, Tool,
    ToolCall, ToolContext, check_tool_pairing,
};
use pretty_assertions::assert_eq;
use serde_json::json;
use tokio::sync::mpsc;

use super::fakes::{FakeTool, Scripted, ScriptedProvider, no_retries, text_turn, tool_turn};

struct Harness {
    agent: Agent,
    provider: Arc<ScriptedProvider>,
    session: Session,
}

fn harness(turns: Vec<Scripted>, tools: Vec<Arc<dyn Tool>>, mode: PermissionMode) -> Harness {
    let provider = ScriptedProvider::new(turns);
    let agent = Agent::new(
        provider.clone(),
        ToolRegistry::new(tools),
        PermissionPolicy {
            mode,
            ..PermissionPolicy::default()
        },
        Arc::new(HeadlessApprover),
        ToolContext::new(std::env::temp_dir()),
        AgentConfig {
            max_turns: 5,
            ..AgentConfig::new("test-model")
        },
    )
    .with_resilience(no_retries());
    Harness {
        agent,
        provider,
        session: Session::new(SessionId("s1".into())),
    }
}

async fn run(
    h: &mut Harness,
    prompt: &str,
) -> (Result<cuervo_core::RunOutcome, AgentError>, Vec<AgentEvent>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let outcome = h
        .agent
        .run(&mut h.session, prompt, &tx, &CancellationToken::new())
        .await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (outcome, events)
}

fn event_types(events: &[AgentEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn text_answer_completes_in_one_turn() {
    let mut h = harness(vec![text_turn("Hello!")], vec![], PermissionMode::Ask);
    let (outcome, events) = run(&mut h, "hi").await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.cause, StopCause::Completed);
    assert_eq!(outcome.result, "Hello!");
    assert_eq!(outcome.turns, 1);
    assert_eq!(outcome.usage.input_tokens, 10);
    assert_eq!(
        event_types(&events),
        [
            "agent_started",
            "model_invoked",
            "text_delta",
            "turn_completed",
            "agent_completed"
        ]
    );
    assert_eq!(h.session.messages.len(), 2);
    assert_eq!(h.session.messages[0].role, Role::User);
    assert_eq!(h.session.messages[1].text(), "Hello!");
}

#[tokio::test]
async fn tool_results_are_fed_back_paired_with_their_calls() {
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    let mut h = harness(
        vec![
            tool_turn(&[("c1", "read", json!({"target": "a.rs"}))]),
            text_turn("Done."),
        ],
        vec![read.clone()],
        PermissionMode::Ask,
    );
    let (outcome, events) = run(&mut h, "read a.rs").await;
    assert_eq!(outcome.unwrap().cause, StopCause::Completed);
    let requests = h.provider.requests();
    assert_eq!(requests.len(), 2);
    let second = &requests[1].messages;
    assert_eq!(second.len(), 3);
    check_tool_pairing(second).unwrap();
    let result = second[2].tool_results_iter().next().unwrap();
    assert_eq!(result.call_id, "c1");
    assert!(!result.is_error);
    assert!(result.content.contains("read ran"));
    assert_eq!(read.ran.lock().unwrap().len(), 1);
    assert!(event_types(&events).contains(&"tool_executed".to_owned()));
    assert_eq!(requests[0].tools.len(), 1, "tool specs are sent");
}

#[tokio::test]
async fn read_only_calls_of_one_turn_run_concurrently() {
    // Each call waits for the other at a barrier: run one after the other, they deadlock.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut grep = FakeTool::new("grep", PermissionLevel::ReadOnly);
    grep.barrier = Some(barrier.clone());
    let mut h = harness(
        vec![
            tool_turn(&[
                ("c1", "grep", json!({"q": 1})),
                ("c2", "grep", json!({"q": 2})),
            ]),
            text_turn("ok"),
        ],
        vec![Arc::new(grep)],
        PermissionMode::Ask,
    );
    let (outcome, _) = tokio::time::timeout(Duration::from_secs(10), run(&mut h, "search"))
        .await
        .expect("read-only tools ran sequentially and deadlocked");
    assert_eq!(outcome.unwrap().cause, StopCause::Completed);
    let results: Vec<String> = h.session.messages[2]
        .tool_results_iter()
        .map(|r| r.call_id.clone())
        .collect();
    assert_eq!(results, ["c1", "c2"], "results keep call order");
}

#[tokio::test]
async fn headless_refusal_reaches_the_model_and_the_run_goes_on() {
    let bash = Arc::new(FakeTool::new("bash", PermissionLevel::Destructive));
    let mut h = harness(
        vec![
            tool_turn(&[("c1", "bash", json!({"target": "rm -rf /"}))]),
            text_turn("I could not run it."),
        ],
        vec![bash.clone()],
        PermissionMode::Ask,
    );
    let (outcome, events) = run(&mut h, "clean up").await;
    assert_eq!(outcome.unwrap().result, "I could not run it.");
    assert!(
        bash.ran.lock().unwrap().is_empty(),
        "a refused tool must not run"
    );
    let result = h.session.messages[2]
        .tool_results_iter()
        .next()
        .unwrap()
        .clone();
    assert!(result.is_error);
    assert!(
        result.content.contains("permission denied"),
        "{}",
        result.content
    );
    assert!(
        result.content.contains("--allow-tools 'bash(rm:*)'"),
        "{}",
        result.content
    );
    assert!(events.iter().any(|e| matches!(
        e,
        AgentEvent::PermissionDecided {
            decision: cuervo_domain::Decision::Deny(_),
            ..
        }
    )));
}

#[tokio::test]
async fn plan_mode_refuses_edits_and_full_auto_runs_them() {
    for (mode, should_run) in [
        (PermissionMode::Plan, false),
        (PermissionMode::FullAuto, true),
    ] {
        let edit = Arc::new(FakeTool::new("edit", PermissionLevel::ReadWrite));
        let mut h = harness(
            vec![
                tool_turn(&[("c1", "edit", json!({"target": "a.rs"}))]),
                text_turn("ok"),
            ],
            vec![edit.clone()],
            mode,
        );
        run(&mut h, "edit").await.0.unwrap();
        assert_eq!(!edit.ran.lock().unwrap().is_empty(), should_run, "{mode}");
    }
}

#[tokio::test]
async fn unknown_tools_and_invalid_input_become_error_results() {
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    let mut h = harness(
        vec![
            tool_turn(&[
                ("c1", "teleport", json!({})),
                ("c2", "read", json!({"bad": true})),
            ]),
            text_turn("ok"),
        ],
        vec![read],
        PermissionMode::FullAuto,
    );
    run(&mut h, "go").await.0.unwrap();
    let results: Vec<_> = h.session.messages[2].tool_results_iter().cloned().collect();
    assert!(results[0].is_error && results[0].content.contains("no tool named `teleport`"));
    assert!(results[0].content.contains("read"), "lists available tools");
    assert!(results[1].is_error && results[1].content.contains("invalid input"));
}

#[tokio::test]
async fn tool_calls_with_broken_arguments_go_back_to_the_model() {
    let write = Arc::new(FakeTool::new("write", PermissionLevel::ReadWrite));
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    // An answer cut by max_tokens in the middle of a large write's arguments, next to a
    // good call: the good one runs, the cut one is answered with an error, the run goes on.
    let raw = format!(
        "{{\"path\": \"big.rs\", \"content\": \"{}",
        "x".repeat(5000)
    );
    let mut cut = tool_turn(&[("c1", "read", json!({"target": "a.rs"}))]);
    let stop = cut.chunks.pop();
    assert!(matches!(stop, Some(Ok(ModelChunk::Stop { .. }))));
    cut.chunks.push(Ok(ModelChunk::ToolUse {
        call: ToolCall::with_invalid_arguments("c2", "write", &raw, "EOF while parsing a string"),
    }));
    cut.chunks.push(Ok(ModelChunk::Stop {
        reason: StopReason::MaxTokens,
    }));
    // Then a call whose arguments are simply malformed, without the limit.
    let malformed = Scripted {
        chunks: vec![
            Ok(ModelChunk::ToolUse {
                call: ToolCall::with_invalid_arguments(
                    "c3",
                    "write",
                    "{path: a}",
                    "key must be a string",
                ),
            }),
            Ok(ModelChunk::Stop {
                reason: StopReason::ToolUse,
            }),
        ],
        hang_after: false,
    };
    let mut h = harness(
        vec![cut, malformed, text_turn("Wrote it in pieces.")],
        vec![write.clone(), read.clone()],
        PermissionMode::FullAuto,
    );
    let (outcome, events) = run(&mut h, "write big.rs").await;
    let outcome = outcome.expect("the run goes on");
    assert_eq!(outcome.cause, StopCause::Completed);
    assert_eq!(outcome.turns, 3);
    assert!(write.ran.lock().unwrap().is_empty(), "nothing cut off ran");
    assert_eq!(read.ran.lock().unwrap().len(), 1, "the good call ran");

    let requests = h.provider.requests();
    assert_eq!(requests.len(), 3);
    let second = &requests[1].messages;
    check_tool_pairing(second).unwrap();
    let results: Vec<_> = second
        .last()
        .unwrap()
        .tool_results_iter()
        .cloned()
        .collect();
    assert_eq!(results.len(), 2);
    assert!(!results[0].is_error, "{}", results[0].content);
    assert_eq!(results[1].call_id, "c2");
    assert!(results[1].is_error);
    for needle in ["cut off", "max_tokens = 8192", "smaller pieces", "`edit`"] {
        assert!(
            results[1].content.contains(needle),
            "{needle}: {}",
            results[1].content
        );
    }
    // The cut call goes back as an object, so every provider accepts the history.
    let call = second[1].tool_calls().find(|c| c.id == "c2").unwrap();
    assert!(call.input.is_object());

    let third = &requests[2].messages;
    check_tool_pairing(third).unwrap();
    let result = third.last().unwrap().tool_results_iter().next().unwrap();
    assert_eq!(result.call_id, "c3");
    assert!(result.is_error);
    assert!(
        result
            .content
            .contains("not valid JSON (key must be a string)"),
        "{}",
        result.content
    );
    let executed = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::ToolExecuted { is_error: true, .. }))
        .count();
    assert_eq!(
        executed, 2,
        "each broken call is reported like any failed call"
    );
}

#[tokio::test]
async fn a_cut_stream_runs_nothing_and_keeps_the_users_message() {
    let write = Arc::new(FakeTool::new("write", PermissionLevel::ReadWrite));
    let cut = Scripted {
        chunks: vec![Ok(ModelChunk::ToolUse {
            call: cuervo_domain::ToolCall {
                id: "c1".into(),
                name: "write".into(),
                input: json!({}),
            },
        })],
        hang_after: false,
    };
    let mut h = harness(vec![cut], vec![write.clone()], PermissionMode::FullAuto);
    let (outcome, events) = run(&mut h, "write it").await;
    match outcome {
        Err(AgentError::Model(e)) => assert_eq!(e.kind, ModelErrorKind::StreamCut),
        other => panic!("expected a cut stream, got {other:?}"),
    }
    assert!(
        write.ran.lock().unwrap().is_empty(),
        "no tool may run from a cut answer"
    );
    assert_eq!(h.session.messages.len(), 1);
    assert_eq!(h.session.messages[0].text(), "write it");
    assert_eq!(event_types(&events).last().unwrap(), "agent_failed");
}

#[tokio::test]
async fn provider_errors_fail_the_run_but_keep_the_session() {
    let failing = Scripted {
        chunks: vec![Err(ModelError::new(
            "scripted",
            ModelErrorKind::Auth,
            "bad key",
        ))],
        hang_after: false,
    };
    let mut h = harness(vec![failing], vec![], PermissionMode::Ask);
    let (outcome, _) = run(&mut h, "hello").await;
    assert!(matches!(
        outcome,
        Err(AgentError::Model(ModelError {
            kind: ModelErrorKind::Auth,
            ..
        }))
    ));
    assert_eq!(h.session.messages.len(), 1);
}

#[tokio::test]
async fn max_turns_stops_a_model_that_never_finishes() {
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    let turns = (0..5)
        .map(|i| tool_turn(&[(&format!("c{i}"), "read", json!({}))]))
        .collect();
    let mut h = harness(turns, vec![read], PermissionMode::Ask);
    let outcome = run(&mut h, "loop").await.0.unwrap();
    assert_eq!(outcome.cause, StopCause::MaxTurns);
    assert_eq!(outcome.turns, 5);
    check_tool_pairing(&h.session.messages).unwrap();
}

#[tokio::test]
async fn token_budget_stops_the_run() {
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    let turns = (0..3)
        .map(|i| tool_turn(&[(&format!("c{i}"), "read", json!({}))]))
        .collect();
    let mut h = harness(turns, vec![read], PermissionMode::Ask);
    h.agent = Agent::new(
        h.provider.clone(),
        ToolRegistry::new(vec![
            Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly)) as Arc<dyn Tool>,
        ]),
        PermissionPolicy::default(),
        Arc::new(HeadlessApprover),
        ToolContext::new(std::env::temp_dir()),
        AgentConfig {
            token_budget: Some(50),
            ..AgentConfig::new("m")
        },
    );
    let outcome = run(&mut h, "loop").await.0.unwrap();
    assert_eq!(outcome.cause, StopCause::TokenBudget);
    assert_eq!(
        outcome.turns, 2,
        "28 tokens per turn: the budget of 50 is spent after two"
    );
}

#[tokio::test]
async fn cancelling_mid_stream_keeps_the_text_and_no_dangling_call() {
    let mut hanging = tool_turn(&[("c1", "read", json!({}))]);
    hanging.chunks.truncate(3); // text, tool start, tool use; no stop
    hanging.hang_after = true;
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    let mut h = harness(vec![hanging], vec![read.clone()], PermissionMode::Ask);
    let (tx, _rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        canceller.cancel();
    });
    let outcome = h
        .agent
        .run(&mut h.session, "go", &tx, &cancel)
        .await
        .unwrap();
    assert_eq!(outcome.cause, StopCause::Cancelled);
    assert!(read.ran.lock().unwrap().is_empty());
    let last = h.session.messages.last().unwrap();
    assert_eq!(last.role, Role::Assistant);
    assert_eq!(
        last.content,
        vec![ContentBlock::Text {
            text: "Let me look.".into()
        }]
    );
    check_tool_pairing(&h.session.messages).unwrap();
}

#[tokio::test]
async fn cancelling_a_running_tool_answers_every_call() {
    let mut slow = FakeTool::new("bash", PermissionLevel::Destructive);
    slow.sleep = Some(Duration::from_secs(60));
    let mut h = harness(
        vec![tool_turn(&[
            ("c1", "bash", json!({})),
            ("c2", "bash", json!({})),
        ])],
        vec![Arc::new(slow)],
        PermissionMode::FullAuto,
    );
    let (tx, _rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        canceller.cancel();
    });
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        h.agent.run(&mut h.session, "go", &tx, &cancel),
    )
    .await
    .expect("cancellation must not wait for the tool")
    .unwrap();
    assert_eq!(outcome.cause, StopCause::Cancelled);
    let results: Vec<_> = h.session.messages[2].tool_results_iter().cloned().collect();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.is_error));
    check_tool_pairing(&h.session.messages).unwrap();
}

#[tokio::test]
async fn thinking_and_signature_are_kept_for_the_next_turn() {
    let turn = Scripted {
        chunks: vec![
            Ok(ModelChunk::Thinking {
                thinking: "Let me ".into(),
            }),
            Ok(ModelChunk::Thinking {
                thinking: "think.".into(),
            }),
            Ok(ModelChunk::ThinkingSignature {
                signature: "sig".into(),
            }),
            Ok(ModelChunk::Text {
                text: "Answer".into(),
            }),
            Ok(ModelChunk::Stop {
                reason: StopReason::EndTurn,
            }),
        ],
        hang_after: false,
    };
    let mut h = harness(vec![turn], vec![], PermissionMode::Ask);
    run(&mut h, "think").await.0.unwrap();
    assert_eq!(
        h.session.messages[1].content,
        vec![
            ContentBlock::Thinking {
                thinking: "Let me think.".into(),
                signature: Some("sig".into()),
                encrypted: None,
            },
            ContentBlock::Text {
                text: "Answer".into()
            },
        ]
    );
}

#[tokio::test]
async fn encrypted_reasoning_closes_its_thinking_block_or_stands_alone() {
    let encrypted = |data: &str| cuervo_domain::EncryptedReasoning::new("openai-responses", data);
    let turn = Scripted {
        chunks: vec![
            Ok(ModelChunk::Thinking {
                thinking: "Plan.".into(),
            }),
            Ok(ModelChunk::ThinkingEncrypted {
                encrypted: encrypted("first"),
            }),
            // A second reasoning item with no visible summary.
            Ok(ModelChunk::ThinkingEncrypted {
                encrypted: encrypted("second"),
            }),
            Ok(ModelChunk::Text {
                text: "Answer".into(),
            }),
            Ok(ModelChunk::Stop {
                reason: StopReason::EndTurn,
            }),
        ],
        hang_after: false,
    };
    let mut h = harness(vec![turn], vec![], PermissionMode::Ask);
    run(&mut h, "think").await.0.unwrap();
    assert_eq!(
        h.session.messages[1].content,
        vec![
            ContentBlock::Thinking {
                thinking: "Plan.".into(),
                signature: None,
                encrypted: Some(encrypted("first")),
            },
            ContentBlock::Thinking {
                thinking: String::new(),
                signature: None,
                encrypted: Some(encrypted("second")),
            },
            ContentBlock::Text {
                text: "Answer".into()
            },
        ]
    );
}

#[tokio::test]
async fn every_message_is_stored_as_it_joins_the_session() {
    let repository = Arc::new(super::fakes::MemoryRepository::default());
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    let provider = ScriptedProvider::new(vec![
        tool_turn(&[("c1", "read", json!({}))]),
        text_turn("done"),
    ]);
    let agent = Agent::new(
        provider,
        ToolRegistry::new(vec![read as Arc<dyn Tool>]),
        PermissionPolicy::default(),
        Arc::new(HeadlessApprover),
        ToolContext::new(std::env::temp_dir()),
        AgentConfig::new("m"),
    )
    .with_repository(repository.clone());
    let mut session = Session::new(SessionId("s".into()));
    let (tx, _rx) = mpsc::unbounded_channel();
    agent
        .run(&mut session, "go", &tx, &CancellationToken::new())
        .await
        .unwrap();
    let records = repository.records(&session.id);
    let stored: Vec<_> = records.iter().map(|r| r.message.clone()).collect();
    assert_eq!(
        stored, session.messages,
        "the store holds exactly the session"
    );
    assert_eq!(records[0].usage, None, "user messages carry no usage");
    assert_eq!(records[1].model.as_deref(), Some("m"));
    assert_eq!(records[1].usage.map(|u| u.input_tokens), Some(20));
    assert_eq!(records[3].usage.map(|u| u.output_tokens), Some(5));
}

#[tokio::test]
async fn the_users_message_is_stored_before_the_provider_fails() {
    let repository = Arc::new(super::fakes::MemoryRepository::default());
    let failing = Scripted {
        chunks: vec![Err(ModelError::new(
            "scripted",
            ModelErrorKind::Network,
            "down",
        ))],
        hang_after: false,
    };
    let agent = Agent::new(
        ScriptedProvider::new(vec![failing]),
        ToolRegistry::default(),
        PermissionPolicy::default(),
        Arc::new(HeadlessApprover),
        ToolContext::new(std::env::temp_dir()),
        AgentConfig::new("m"),
    )
    .with_repository(repository.clone())
    .with_resilience(no_retries());
    let mut session = Session::new(SessionId("s".into()));
    let (tx, _rx) = mpsc::unbounded_channel();
    assert!(
        agent
            .run(&mut session, "keep me", &tx, &CancellationToken::new())
            .await
            .is_err()
    );
    let records = repository.records(&session.id);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].message.text(), "keep me");
}
