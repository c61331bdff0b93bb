//! The context builder: nested instruction files join the conversation where the agent
//! works, once; the repository map follows the conversation into the system prompt.

use std::sync::{Arc, Mutex};

use cuervo_core::context::{MapFocus, RepoMapSource};
use cuervo_core::instructions::InstructionFiles;
use cuervo_core::{Agent, AgentConfig, CancellationToken, HeadlessApprover, ToolRegistry};
use cuervo_domain::{
    ContentBlock, PermissionLevel, PermissionPolicy, Session, SessionId, ToolContext,
};
use serde_json::json;
use tokio::sync::mpsc;

use super::fakes::{FakeTool, ScriptedProvider, no_retries, text_turn, tool_turn};

struct Nested;

impl InstructionFiles for Nested {
    fn for_path(&self, path: &str) -> Vec<(String, String)> {
        if path.starts_with("src/") {
            vec![("src/AGENTS.md".into(), "Use tabs in src.".into())]
        } else {
            Vec::new()
        }
    }
}

#[derive(Default)]
struct Map {
    asked: Mutex<Vec<MapFocus>>,
}

impl RepoMapSource for Map {
    fn render(&self, focus: &MapFocus, token_budget: usize) -> Option<String> {
        self.asked.lock().unwrap().push(focus.clone());
        Some(format!(
            "src/lib.rs:\n  1: pub fn run() (budget {token_budget})"
        ))
    }
}

fn results(request: &cuervo_domain::ModelRequest) -> Vec<String> {
    request
        .messages
        .iter()
        .flat_map(|m| m.content.iter())
        .filter_map(|b| match b {
            ContentBlock::ToolResult(r) => Some(r.content.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn nested_instructions_join_once_where_the_agent_works() {
    let provider = ScriptedProvider::new(vec![
        tool_turn(&[("c1", "read", json!({"path": "README.md"}))]),
        tool_turn(&[
            ("c2", "read", json!({"path": "src/a.rs"})),
            ("c3", "read", json!({"path": "src/b.rs"})),
        ]),
        tool_turn(&[("c4", "read", json!({"path": "src/c.rs"}))]),
        text_turn("done"),
    ]);
    let read = Arc::new(FakeTool::new("read", PermissionLevel::ReadOnly));
    let map = Arc::new(Map::default());
    let agent = Agent::new(
        provider.clone(),
        ToolRegistry::new(vec![read as Arc<dyn cuervo_domain::Tool>]),
        PermissionPolicy::default(),
        Arc::new(HeadlessApprover),
        ToolContext::new(std::env::temp_dir()),
        AgentConfig {
            system_prompt: Some("You are Cuervo.".into()),
            ..AgentConfig::new("m")
        },
    )
    .with_resilience(no_retries())
    .with_instructions(Arc::new(Nested))
    .with_repo_map(map.clone(), 512);
    let mut session = Session::new(SessionId("s".into()));
    let (tx, _rx) = mpsc::unbounded_channel();
    agent
        .run(
            &mut session,
            "Fix parse_config in src/config.rs",
            &tx,
            &CancellationToken::new(),
        )
        .await
        .expect("runs");

    let requests = provider.requests();
    let last = results(&requests[3]);
    assert!(
        !last[0].contains("<instructions"),
        "README.md is at the root: {}",
        last[0]
    );
    assert!(
        last[1].contains("<instructions from src/AGENTS.md>"),
        "{}",
        last[1]
    );
    assert!(last[1].contains("Use tabs in src."));
    assert!(
        !last[2].contains("<instructions"),
        "once per conversation: {}",
        last[2]
    );
    assert!(
        !last[3].contains("<instructions"),
        "not again on a later call: {}",
        last[3]
    );

    // The map is in every request's system prompt, focused on what the prompt names.
    for request in &requests {
        let system = request.system.as_deref().unwrap_or_default();
        assert!(system.starts_with("You are Cuervo."), "{system}");
        assert!(system.contains("Repository map"), "{system}");
        assert!(system.contains("pub fn run() (budget 512)"), "{system}");
    }
    let asked = map.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "once per user turn");
    assert_eq!(asked[0].files, ["src/config.rs"]);
    assert_eq!(asked[0].identifiers, ["parse_config"]);
}

#[derive(Default)]
struct Index {
    asked: Mutex<Vec<cuervo_domain::CodeQuery>>,
}

impl cuervo_domain::CodeSearch for Index {
    fn search(
        &self,
        query: cuervo_domain::CodeQuery,
    ) -> cuervo_domain::BoxFuture<
        '_,
        Result<cuervo_domain::CodeSearchResults, cuervo_domain::CodeSearchError>,
    > {
        let fail = query.text.contains("offline");
        self.asked.lock().unwrap().push(query);
        Box::pin(async move {
            if fail {
                return Err(cuervo_domain::CodeSearchError("the index is locked".into()));
            }
            Ok(cuervo_domain::CodeSearchResults {
                hits: vec![cuervo_domain::CodeHit {
                    path: "src/retry.rs".into(),
                    start_line: 3,
                    end_line: 9,
                    chunk_type: "function".into(),
                    chunk_name: "backoff".into(),
                    score: 0.1,
                    snippet: "fn backoff() {}".into(),
                }],
                note: None,
            })
        })
    }
}

/// The index's best locations for each prompt join that turn's system prompt; a failing
/// index leaves them out and the turn goes on.
#[tokio::test]
async fn the_code_index_adds_related_locations_to_each_turn() {
    let provider = ScriptedProvider::new(vec![text_turn("first"), text_turn("second")]);
    let index = Arc::new(Index::default());
    let agent = Agent::new(
        provider.clone(),
        ToolRegistry::new(Vec::new()),
        PermissionPolicy::default(),
        Arc::new(HeadlessApprover),
        ToolContext::new(std::env::temp_dir()),
        AgentConfig {
            system_prompt: Some("You are Cuervo.".into()),
            ..AgentConfig::new("m")
        },
    )
    .with_resilience(no_retries())
    .with_code_context(index.clone(), 3);
    let mut session = Session::new(SessionId("s".into()));
    let (tx, _rx) = mpsc::unbounded_channel();
    for prompt in ["how long do retries wait?", "and when offline?"] {
        agent
            .run(&mut session, prompt, &tx, &CancellationToken::new())
            .await
            .expect("runs");
    }
    let requests = provider.requests();
    let first = requests[0].system.as_deref().unwrap_or_default();
    assert!(
        first.starts_with("You are Cuervo.\n\nCode the project's index finds"),
        "{first}"
    );
    assert!(
        first.ends_with("\n- src/retry.rs:3-9 function backoff"),
        "{first}"
    );
    assert_eq!(
        requests[1].system.as_deref(),
        Some("You are Cuervo."),
        "a failed search leaves the context out"
    );
    let asked = index.asked.lock().unwrap();
    assert_eq!(
        asked
            .iter()
            .map(|q| (q.text.as_str(), q.k))
            .collect::<Vec<_>>(),
        [("how long do retries wait?", 3), ("and when offline?", 3)]
    );
}
