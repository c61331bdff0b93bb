//! The session service driven directly, as a front end would, with no terminal.

use std::sync::Arc;
use std::time::Duration;

use cuervo_core::{
    AgentConfig, Approvals, Conversation, ConversationEvent, ConversationSetup, Op, SessionStart,
    ToolRegistry,
};
use cuervo_domain::{
    AgentEvent, Approval, ContentBlock, Message, ModelChunk, ModelResolver, PermissionLevel,
    PermissionMode, PermissionPolicy, ResolvedModel, Role, SessionId, StopCause, Tool, ToolCall,
    ToolContext, check_tool_pairing,
};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::fakes::{FakeTool, MemoryRepository, Scripted, ScriptedProvider, text_turn, tool_turn};

/// Resolves the names of a fixed set of scripted providers.
struct Models(Vec<ResolvedModel>);

impl ModelResolver for Models {
    fn resolve(&self, requested: &str) -> Result<ResolvedModel, String> {
        self.0
            .iter()
            .find(|m| {
                m.model == requested || format!("{}/{}", m.provider_name, m.model) == requested
            })
            .cloned()
            .ok_or_else(|| format!("no model `{requested}` is configured"))
    }
}

fn resolved(provider: &Arc<ScriptedProvider>, name: &str, model: &str) -> ResolvedModel {
    ResolvedModel {
        provider_name: name.into(),
        model: model.into(),
        provider: provider.clone(),
        thinking_budget: None,
    }
}

fn setup(
    model: ResolvedModel,
    models: Vec<ResolvedModel>,
    repository: Arc<MemoryRepository>,
    tools: Vec<Arc<dyn Tool>>,
    start: SessionStart,
) -> ConversationSetup {
    ConversationSetup {
        model,
        models: Arc::new(Models(models)),
        repository,
        tools: ToolRegistry::new(tools),
        tool_ctx: ToolContext::new(std::path::PathBuf::from("/project")),
        policy: PermissionPolicy {
            mode: PermissionMode::Ask,
            ..PermissionPolicy::default()
        },
        config: AgentConfig::new("unused"),
        redaction: None,
        approvals: Approvals::Ask,
        observer: None,
        start,
        resilience: Arc::new(cuervo_core::Resilience::standalone()),
        delegation: None,
        compact_at: None,
        instructions: None,
        repo_map: None,
        code_context: None,
    }
}

/// A conversation on one model.
async fn start_one(
    model: ResolvedModel,
    repository: Arc<MemoryRepository>,
    tools: Vec<Arc<dyn Tool>>,
    start: SessionStart,
) -> (Conversation, cuervo_core::Started) {
    Conversation::start(setup(model.clone(), vec![model], repository, tools, start))
        .await
        .expect("the conversation starts")
}

/// Reads events until one matches `done`; returns them all (the match last).
async fn until(
    conversation: &mut Conversation,
    done: impl Fn(&ConversationEvent) -> bool,
) -> Vec<ConversationEvent> {
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), conversation.next_event())
            .await
            .expect("the conversation answers within 10 s")
            .expect("the conversation is still open");
        let stop = done(&event);
        seen.push(event);
        if stop {
            return seen;
        }
    }
}

fn turn_ended(event: &ConversationEvent) -> bool {
    matches!(event, ConversationEvent::TurnEnded { .. })
}

fn completed(events: &[ConversationEvent]) -> StopCause {
    match events.last() {
        Some(ConversationEvent::TurnEnded {
            result: Ok(outcome),
        }) => outcome.cause,
        other => panic!("the turn did not end well: {other:?}"),
    }
}

/// The running cost totals reported in `events`.
fn spent_so_far(events: &[ConversationEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::Spent { spend } => Some(spend.known.micro_usd),
            _ => None,
        })
        .collect()
}

fn texts(messages: &[Message]) -> Vec<String> {
    messages.iter().map(Message::text).collect()
}

#[tokio::test]
async fn a_scripted_conversation_with_approval_model_switch_compaction_and_resume() {
    let edit = Arc::new(FakeTool::new("edit", PermissionLevel::ReadWrite));
    let first = ScriptedProvider::priced(
        vec![
            tool_turn(&[("c1", "edit", json!({"target": "a.rs"}))]),
            text_turn("Edited a.rs."),
        ],
        &[("model-a", 10)],
    );
    let second = ScriptedProvider::priced(
        vec![
            text_turn("From B."),
            text_turn("We edited a.rs, then asked B."),
        ],
        &[("model-b", 100)],
    );
    let a = resolved(&first, "alpha", "model-a");
    let b = resolved(&second, "beta", "model-b");
    let repository = Arc::new(MemoryRepository::default());
    let (mut conversation, started) = Conversation::start(setup(
        a.clone(),
        vec![a, b],
        repository.clone(),
        vec![edit.clone() as Arc<dyn Tool>],
        SessionStart::New,
    ))
    .await
    .unwrap();
    assert!(!started.resumed);
    assert_eq!(
        (started.provider.as_str(), started.model.as_str()),
        ("alpha", "model-a")
    );
    let first_session = started.session.clone();

    // 1. A tool call that needs approval: the question arrives after the call it is about.
    conversation.submit(Op::UserInput {
        message: Message::user("edit a.rs"),
    });
    let events = until(&mut conversation, |e| {
        matches!(e, ConversationEvent::ApprovalRequested { .. })
    })
    .await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            ConversationEvent::Agent(AgentEvent::ToolCall { call }) if call.id == "c1"
        )),
        "the tool call is shown before its question"
    );
    let mut spent = spent_so_far(&events);
    let Some(ConversationEvent::ApprovalRequested { id, request }) = events.last() else {
        unreachable!()
    };
    assert_eq!(request.tool, "edit");
    conversation.submit(Op::Approval {
        id: *id,
        approval: Approval::AllowOnce,
    });
    let events = until(&mut conversation, turn_ended).await;
    assert_eq!(completed(&events), StopCause::Completed);
    assert_eq!(
        edit.ran.lock().unwrap().len(),
        1,
        "the approved edit ran once"
    );
    spent.extend(spent_so_far(&events));
    // 8 output tokens, then 5, at 10 µ$ each: summed call by call.
    assert_eq!(spent, [80, 130]);

    // 2. A model switch: an unknown name is refused and changes nothing.
    conversation.submit(Op::SwitchModel {
        model: "nope".into(),
    });
    let events = until(&mut conversation, |e| {
        matches!(e, ConversationEvent::Rejected { .. })
    })
    .await;
    let Some(ConversationEvent::Rejected { op, reason }) = events.last() else {
        unreachable!()
    };
    assert_eq!(*op, "model");
    assert!(reason.contains("no model `nope`"), "{reason}");
    conversation.submit(Op::SwitchModel {
        model: "beta/model-b".into(),
    });
    let events = until(&mut conversation, |e| {
        matches!(e, ConversationEvent::ModelSwitched { .. })
    })
    .await;
    let Some(ConversationEvent::ModelSwitched {
        provider, model, ..
    }) = events.last()
    else {
        unreachable!()
    };
    assert_eq!((provider.as_str(), model.as_str()), ("beta", "model-b"));

    // The new model gets the whole conversation, tool call and result included.
    conversation.submit(Op::UserInput {
        message: Message::user("and now?"),
    });
    let events = until(&mut conversation, turn_ended).await;
    assert_eq!(completed(&events), StopCause::Completed);
    let sent = &second.requests()[0];
    assert_eq!(sent.model, "model-b");
    assert_eq!(sent.messages.len(), 5);
    check_tool_pairing(&sent.messages).unwrap();

    // 3. Compaction: a new session continues from the summary; the old one stays.
    conversation.submit(Op::Compact {
        focus: Some("the edits".into()),
    });
    let events = until(&mut conversation, |e| {
        matches!(
            e,
            ConversationEvent::Compacted { .. } | ConversationEvent::CompactFailed { .. }
        )
    })
    .await;
    let Some(ConversationEvent::Compacted {
        summary,
        replaced,
        previous,
        session: compacted,
        automatic: false,
    }) = events.last()
    else {
        panic!("compaction failed: {:?}", events.last())
    };
    assert_eq!(summary, "We edited a.rs, then asked B.");
    assert_eq!(*replaced, 6);
    assert_eq!(previous, &first_session);
    let compacted_records = repository.records(compacted);
    assert_eq!(compacted_records.len(), 2);
    assert_eq!(compacted_records[0].message.role, Role::User);
    assert!(
        compacted_records[0]
            .message
            .text()
            .contains(summary.as_str())
    );
    assert_eq!(compacted_records[1].model.as_deref(), Some("model-b"));
    assert_eq!(
        compacted_records[1].cost.map(|c| c.micro_usd),
        Some(500),
        "the summary call is priced with its message"
    );

    // 4. Resume the first session: its whole conversation comes back.
    conversation.submit(Op::Resume {
        session: first_session.0.clone(),
    });
    let events = until(&mut conversation, |e| {
        matches!(e, ConversationEvent::Resumed { .. })
    })
    .await;
    let Some(ConversationEvent::Resumed {
        session, messages, ..
    }) = events.last()
    else {
        unreachable!()
    };
    assert_eq!(session, &first_session);
    assert_eq!(
        texts(messages),
        [
            "edit a.rs",
            "Let me look.",
            "",
            "Edited a.rs.",
            "and now?",
            "From B."
        ]
    );

    // 5. Shutdown: the final session and what the whole conversation cost.
    let (session, spend) = conversation.shutdown().await.expect("closed");
    assert_eq!(session, first_session);
    assert_eq!(spend.calls, 4);
    assert_eq!(spend.known.micro_usd, 80 + 50 + 500 + 500);
    assert_eq!(spend.exact().map(|c| c.micro_usd), Some(1130));

    // The store holds exactly what was said, each call with its own model and price.
    let records = repository.records(&first_session);
    let models: Vec<_> = records.iter().map(|r| r.model.as_deref()).collect();
    assert_eq!(
        models,
        [
            None,
            Some("model-a"),
            None,
            Some("model-a"),
            None,
            Some("model-b")
        ]
    );
    let costs: Vec<_> = records
        .iter()
        .map(|r| r.cost.map(|c| c.micro_usd))
        .collect();
    assert_eq!(costs, [None, Some(80), None, Some(50), None, Some(500)]);
}

/// Issue 11: after `/model` the exit summary priced the whole session at the last model's
/// rates, while the status line summed per call.
#[tokio::test]
async fn cost_after_model_switch_prices_each_call_at_its_own_model() {
    let cheap = ScriptedProvider::priced(vec![text_turn("one")], &[("cheap", 1)]);
    let dear = ScriptedProvider::priced(vec![text_turn("two")], &[("dear", 1000)]);
    let a = resolved(&cheap, "p", "cheap");
    let b = resolved(&dear, "q", "dear");
    let repository = Arc::new(MemoryRepository::default());
    let (mut conversation, _) = Conversation::start(setup(
        a.clone(),
        vec![a, b],
        repository,
        vec![],
        SessionStart::New,
    ))
    .await
    .unwrap();
    conversation.submit(Op::UserInput {
        message: Message::user("1"),
    });
    until(&mut conversation, turn_ended).await;
    conversation.submit(Op::SwitchModel {
        model: "dear".into(),
    });
    conversation.submit(Op::UserInput {
        message: Message::user("2"),
    });
    until(&mut conversation, turn_ended).await;
    let (_, spend) = conversation.shutdown().await.unwrap();
    // 5 output tokens at 1 µ$, then 5 at 1000 µ$ — not 10 at 1000.
    assert_eq!(spend.known.micro_usd, 5 + 5000);
    assert_eq!(spend.usage.output_tokens, 10);
}

#[tokio::test]
async fn interrupt_answers_an_open_question_no_and_ends_the_turn() {
    let edit = Arc::new(FakeTool::new("edit", PermissionLevel::ReadWrite));
    let provider = ScriptedProvider::new(vec![tool_turn(&[(
        "c1",
        "edit",
        json!({"target": "a.rs"}),
    )])]);
    let repository = Arc::new(MemoryRepository::default());
    let (mut conversation, started) = start_one(
        resolved(&provider, "p", "m"),
        repository.clone(),
        vec![edit.clone() as Arc<dyn Tool>],
        SessionStart::New,
    )
    .await;
    conversation.submit(Op::UserInput {
        message: Message::user("edit"),
    });
    until(&mut conversation, |e| {
        matches!(e, ConversationEvent::ApprovalRequested { .. })
    })
    .await;
    conversation.submit(Op::Interrupt);
    let events = until(&mut conversation, turn_ended).await;
    assert_eq!(completed(&events), StopCause::Cancelled);
    assert!(edit.ran.lock().unwrap().is_empty(), "nothing ran");
    let stored: Vec<Message> = repository
        .records(&started.session)
        .into_iter()
        .map(|r| r.message)
        .collect();
    check_tool_pairing(&stored).expect("the refused call is answered in the store");
}

#[tokio::test]
async fn ops_that_need_an_idle_conversation_wait_for_the_turn() {
    let provider = ScriptedProvider::new(vec![Scripted {
        chunks: vec![Ok(ModelChunk::Text {
            text: "thinking…".into(),
        })],
        hang_after: true,
    }]);
    let (mut conversation, _) = start_one(
        resolved(&provider, "p", "m"),
        Arc::new(MemoryRepository::default()),
        vec![],
        SessionStart::New,
    )
    .await;
    conversation.submit(Op::UserInput {
        message: Message::user("go"),
    });
    until(&mut conversation, |e| {
        matches!(e, ConversationEvent::Agent(AgentEvent::TextDelta { .. }))
    })
    .await;
    conversation.submit(Op::Clear);
    let events = until(&mut conversation, |e| {
        matches!(e, ConversationEvent::Rejected { .. })
    })
    .await;
    let Some(ConversationEvent::Rejected { op, reason }) = events.last() else {
        unreachable!()
    };
    assert_eq!(*op, "clear");
    assert!(reason.contains("waits for the running turn"), "{reason}");
    conversation.submit(Op::Interrupt);
    let events = until(&mut conversation, turn_ended).await;
    assert_eq!(completed(&events), StopCause::Cancelled);
    conversation.submit(Op::Clear);
    until(&mut conversation, |e| {
        matches!(e, ConversationEvent::Cleared { .. })
    })
    .await;
}

#[tokio::test]
async fn resuming_a_session_that_died_mid_tool_call_answers_the_call() {
    let repository = Arc::new(MemoryRepository::default());
    let call = Message {
        role: Role::Assistant,
        content: vec![ContentBlock::ToolUse(ToolCall {
            id: "c9".into(),
            name: "bash".into(),
            input: json!({"command": "make"}),
        })],
    };
    repository.insert(
        "abc123",
        "/elsewhere",
        vec![Message::user("build it"), call],
    );
    let provider = ScriptedProvider::new(vec![text_turn("Built.")]);
    let (mut conversation, started) = start_one(
        resolved(&provider, "p", "m"),
        repository.clone(),
        vec![],
        SessionStart::Resume("abc".into()),
    )
    .await;
    assert!(started.resumed);
    assert_eq!(started.session, SessionId("abc123".into()));
    assert_eq!(
        started.messages.len(),
        3,
        "the repair joins the conversation"
    );
    assert!(
        started
            .notes
            .iter()
            .any(|n| n.contains("belongs to /elsewhere")),
        "{:?}",
        started.notes
    );
    assert!(started.notes.iter().any(|n| n.contains("unanswered")));
    conversation.submit(Op::UserInput {
        message: Message::user("go on"),
    });
    let events = until(&mut conversation, turn_ended).await;
    assert_eq!(completed(&events), StopCause::Completed);
    let stored: Vec<Message> = repository
        .records(&started.session)
        .into_iter()
        .map(|r| r.message)
        .collect();
    check_tool_pairing(&stored).unwrap();
    assert_eq!(stored.len(), 5);
}

#[tokio::test]
async fn continue_without_an_earlier_session_starts_a_new_one_and_says_so() {
    let provider = ScriptedProvider::new(vec![]);
    let (_conversation, started) = start_one(
        resolved(&provider, "p", "m"),
        Arc::new(MemoryRepository::default()),
        vec![],
        SessionStart::Continue,
    )
    .await;
    assert!(!started.resumed);
    assert!(
        started.notes[0].contains("no earlier session"),
        "{:?}",
        started.notes
    );
}

#[tokio::test]
async fn resuming_an_unknown_session_fails_before_anything_runs() {
    let provider = ScriptedProvider::new(vec![]);
    let a = resolved(&provider, "p", "m");
    let error = Conversation::start(setup(
        a.clone(),
        vec![a],
        Arc::new(MemoryRepository::default()),
        vec![],
        SessionStart::Resume("zzz".into()),
    ))
    .await
    .err()
    .expect("no such session");
    assert!(
        error.to_string().contains("no session matches `zzz`"),
        "{error}"
    );
}

/// Issue 11: `providers.local.thinking_budget` never reached the local provider. The
/// budget belongs to the resolved model and rides on every request.
#[tokio::test]
async fn thinking_budget_of_the_resolved_model_reaches_every_request() {
    let provider = ScriptedProvider::new(vec![text_turn("ok")]);
    let mut a = resolved(&provider, "local", "qwen3");
    a.thinking_budget = Some(0);
    let (mut conversation, _) = Conversation::start(setup(
        a.clone(),
        vec![a],
        Arc::new(MemoryRepository::default()),
        vec![],
        SessionStart::New,
    ))
    .await
    .unwrap();
    conversation.submit(Op::UserInput {
        message: Message::user("hi"),
    });
    until(&mut conversation, turn_ended).await;
    assert_eq!(provider.requests()[0].thinking_budget, Some(0));
}

/// A text answer whose request used `input` tokens (what the context-size check reads).
fn answer_using(text: &str, input: u64) -> Scripted {
    Scripted {
        chunks: vec![
            Ok(ModelChunk::Text { text: text.into() }),
            Ok(ModelChunk::Usage {
                usage: cuervo_domain::Usage {
                    input_tokens: input,
                    output_tokens: 5,
                    ..cuervo_domain::Usage::default()
                },
            }),
            Ok(ModelChunk::Stop {
                reason: cuervo_domain::StopReason::EndTurn,
            }),
        ],
        hang_after: false,
    }
}

#[tokio::test]
async fn a_nearly_full_context_is_compacted_once_before_the_next_prompt() {
    // The scripted provider's window is the default 128K: 110K is past 80 %.
    let provider = ScriptedProvider::new(vec![
        answer_using("First answer.", 1_000),
        answer_using("Second answer, the context is large now.", 110_000),
        text_turn("Summary: the user asked twice; files: none; open tasks: none."),
        answer_using("Third answer.", 3_000),
        answer_using("Fourth answer.", 4_000),
    ]);
    let repository = Arc::new(MemoryRepository::default());
    let mut setup = setup(
        resolved(&provider, "scripted", "m"),
        Vec::new(),
        repository.clone(),
        Vec::new(),
        SessionStart::New,
    );
    setup.compact_at = Some(0.8);
    let (mut conversation, _) = Conversation::start(setup).await.expect("starts");
    for prompt in ["one", "two"] {
        conversation.submit(Op::UserInput {
            message: Message::user(prompt),
        });
        let events = until(&mut conversation, turn_ended).await;
        assert_eq!(completed(&events), StopCause::Completed);
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, ConversationEvent::Compacted { .. }))
        );
    }

    // The third prompt finds the context 86 % full: compaction first, then the prompt.
    conversation.submit(Op::UserInput {
        message: Message::user("three"),
    });
    let events = until(&mut conversation, turn_ended).await;
    assert_eq!(completed(&events), StopCause::Completed);
    let compacted: Vec<&ConversationEvent> = events
        .iter()
        .filter(|e| matches!(e, ConversationEvent::Compacted { .. }))
        .collect();
    assert_eq!(compacted.len(), 1, "compacted once");
    let ConversationEvent::Compacted {
        replaced,
        automatic: true,
        ..
    } = compacted[0]
    else {
        panic!("an automatic compaction: {:?}", compacted[0])
    };
    assert_eq!(
        *replaced, 2,
        "the first turn is summarised; the latest is kept whole"
    );

    // What the summary was asked about, and what the third prompt was sent: the summary,
    // then the latest turn whole, then the new prompt.
    let requests = provider.requests();
    let summarised: Vec<String> = requests[2].messages.iter().map(Message::text).collect();
    assert!(
        summarised[0] == "one" && !summarised.iter().any(|t| t == "two"),
        "{summarised:?}"
    );
    let sent: Vec<String> = requests[3].messages.iter().map(Message::text).collect();
    assert!(
        sent[0].contains("Summary: the user asked twice"),
        "{sent:?}"
    );
    assert_eq!(
        &sent[2..],
        ["two", "Second answer, the context is large now.", "three"]
    );

    // The next prompt, with a small context again, is not compacted.
    conversation.submit(Op::UserInput {
        message: Message::user("four"),
    });
    let events = until(&mut conversation, turn_ended).await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ConversationEvent::Compacted { .. }))
    );
}
