//! Agents as a team, end to end against the mock server: a delegated explorer's request
//! carries only its own prompt, tools and brief; the task list's states reach stream-json;
//! plan mode headless ends with the plan and nothing changed.

use cuervo_testkit::{Script, Turn};
use serde_json::json;

use super::common::{Sandbox, Wire, mock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_explorer_gets_only_its_prompt_tools_and_brief() {
    let sandbox = Sandbox::new();
    sandbox.write("src/retry.rs", "pub fn retry() {}\n");
    let server = mock(Script::new(vec![
        Turn::tool_call(
            "task",
            json!({"agent": "explorer", "description": "find retry", "prompt": "Where is retry() defined? Answer with path:line."}),
        ),
        Turn::tool_call("grep", json!({"pattern": "fn retry"})),
        Turn::text("src/retry.rs:1 defines retry()."),
        Turn::text("retry() is in src/retry.rs."),
    ]))
    .await;
    let out = sandbox
        .cuervo(
            &Wire::Anthropic.env(&server),
            &[
                "-p",
                "PARENT-ONLY-CONTEXT: where is retry?",
                "--output-format",
                "stream-json",
            ],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    // Requests 2 and 3 are the explorer's.
    let explorer = &requests[1];
    let system = explorer.body["system"].to_string();
    assert!(system.contains("explorer"), "{system}");
    // The parent's system prompt is not sent: its opening words are not there.
    let parent_system = requests[0].body["system"][0]["text"]
        .as_str()
        .or_else(|| requests[0].body["system"].as_str())
        .unwrap_or_default()
        .to_owned();
    let opening: String = parent_system.chars().take(60).collect();
    assert!(!opening.is_empty());
    assert!(!system.contains(&opening), "{opening} in {system}");
    let tools: Vec<String> = explorer.body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        tools,
        ["glob", "grep", "ls", "read"],
        "the explorer's read-only set"
    );
    let messages = explorer.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].text().starts_with("Where is retry() defined?"));
    assert!(!explorer.body.to_string().contains("PARENT-ONLY-CONTEXT"));
    // The parent got the explorer's answer as the task's result.
    let parent = requests[3].messages();
    let result = parent
        .last()
        .and_then(|m| m.tool_results_iter().next().cloned())
        .expect("a tool result");
    assert_eq!(result.content, "src/retry.rs:1 defines retry().");
    // stream-json shows the sub-agent's own events, wrapped with its id.
    let events = out.json_lines();
    let sub: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "sub_agent")
        .map(|e| {
            format!(
                "{}:{}",
                e["id"].as_str().unwrap_or(""),
                e["event"]["type"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        sub.first()
            .is_some_and(|s| s.starts_with("explorer-") && s.ends_with(":agent_started")),
        "{sub:?}"
    );
    assert!(sub.iter().any(|s| s.ends_with(":tool_executed")), "{sub:?}");
    assert!(
        sub.last().is_some_and(|s| s.ends_with(":agent_completed")),
        "{sub:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_list_follows_the_plan_in_stream_json() {
    let sandbox = Sandbox::new();
    let list = |statuses: [&str; 3]| {
        json!({"todos": [
            {"content": "read the code", "status": statuses[0]},
            {"content": "change it", "status": statuses[1]},
            {"content": "run the tests", "status": statuses[2]}
        ]})
    };
    let server = mock(Script::new(vec![
        Turn::tool_call("todo", list(["in_progress", "pending", "pending"])),
        Turn::tool_call("todo", list(["done", "in_progress", "pending"])),
        Turn::tool_call("todo", list(["done", "done", "done"])),
        Turn::text("All done."),
    ]))
    .await;
    let out = sandbox
        .cuervo(
            &Wire::OpenAi.env(&server),
            &["-p", "do it", "--output-format", "stream-json"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let states: Vec<Vec<String>> = out
        .json_lines()
        .iter()
        .filter(|e| e["type"] == "todo_updated")
        .map(|e| {
            e["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["status"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .collect();
    assert_eq!(
        states,
        [
            ["in_progress", "pending", "pending"],
            ["done", "in_progress", "pending"],
            ["done", "done", "done"],
        ]
    );
    // In text mode the list is one line per change.
    let server = mock(Script::new(vec![
        Turn::tool_call("todo", list(["done", "in_progress", "pending"])),
        Turn::text("ok"),
    ]))
    .await;
    let out = sandbox
        .cuervo(&Wire::OpenAi.env(&server), &["-p", "do it"])
        .await;
    assert!(
        out.stderr.contains("tasks: 1 of 3 done · now: change it"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_plan_mode_ends_with_the_plan_and_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write("a.txt", "one\n");
    let server = mock(Script::new(vec![
        Turn::tool_call("exit_plan_mode", json!({"plan": "1. Change a.txt to two"})),
        Turn::text("Plan: change a.txt to two. Approve it to go on."),
    ]))
    .await;
    let out = sandbox
        .cuervo(
            &Wire::Anthropic.env(&server),
            &["-p", "change a.txt", "--permission-mode", "plan"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Plan: change a.txt"), "{}", out.stdout);
    assert_eq!(sandbox.read("a.txt"), "one\n");
    let result = super::common::last_tool_result(&server.requests()[1]);
    assert!(
        result.content.contains("did not approve"),
        "{}",
        result.content
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_has_the_map_the_user_file_and_nested_instructions() {
    let sandbox = Sandbox::new();
    sandbox.write("AGENTS.md", "Root rule: keep it simple.\n");
    sandbox.write(
        "src/api/AGENTS.md",
        "API rule: every handler returns Result.\n",
    );
    sandbox.write(
        "src/api/handler.rs",
        "pub fn handle_request() -> Result<(), ()> { parse_body() }\n",
    );
    sandbox.write(
        "src/body.rs",
        "pub fn parse_body() -> Result<(), ()> { Ok(()) }\n",
    );
    let user_dir = sandbox.home.config_path();
    let user_dir = user_dir.parent().expect("config dir");
    std::fs::create_dir_all(user_dir).expect("mkdir");
    std::fs::write(user_dir.join("CUERVO.md"), "User rule: answer briefly.\n").expect("write");
    let server = mock(Script::new(vec![
        Turn::tool_call("read", json!({"path": "src/api/handler.rs"})),
        Turn::text("It calls parse_body."),
    ]))
    .await;
    let out = sandbox
        .cuervo(
            &Wire::Anthropic.env(&server),
            &["-p", "What does src/api/handler.rs call?"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = server.requests();
    let system = requests[0].body["system"].to_string();
    for part in [
        "User rule: answer briefly.",
        "Root rule: keep it simple.",
        "Repository map",
        "handle_request",
    ] {
        assert!(system.contains(part), "{part} missing from {system}");
    }
    assert!(
        !system.contains("API rule"),
        "nested files join where the agent works"
    );
    let result = super::common::last_tool_result(&requests[1]);
    assert!(
        result
            .content
            .contains("<instructions from src/api/AGENTS.md>")
            && result
                .content
                .contains("API rule: every handler returns Result."),
        "{}",
        result.content
    );
}

/// Issue 14: a session resumed nearly full is compacted before its next prompt, which then
/// runs on the summary and the latest turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nearly_full_session_is_compacted_before_the_next_prompt() {
    let sandbox = Sandbox::new();
    // A small window makes "nearly full" cheap to reach: an OpenAI-compatible server with
    // an 8K-token context.
    sandbox.user_config("providers:\n  openai:\n    wire_api: chat\n    context_window: 8000\n");
    let big = "x".repeat(12_000);
    let server = mock(Script::new(vec![
        Turn::text(format!("First answer. {big}")),
        Turn::text(format!("Second answer. {big}")),
        Turn::text("SUMMARY: two questions about x; no files changed; nothing open."),
        Turn::text("Third answer."),
    ]))
    .await;
    let env = Wire::OpenAi.env(&server);
    for prompt in ["first question", "second question"] {
        let args = ["-c", "-p", prompt];
        let out = sandbox.cuervo(&env, &args).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let out = sandbox.cuervo(&env, &["-c", "-p", "third question"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Third answer.\n");
    let requests = server.requests();
    assert_eq!(requests.len(), 4, "one summary call, then the prompt");
    let summarised: Vec<String> = requests[2].messages().iter().map(|m| m.text()).collect();
    assert!(summarised[0].contains("first question"), "{summarised:?}");
    assert!(
        !summarised.iter().any(|t| t.contains("second question")),
        "the latest turn is kept whole, not summarised: {summarised:?}"
    );
    let sent: Vec<String> = requests[3].messages().iter().map(|m| m.text()).collect();
    assert!(sent[0].contains("SUMMARY: two questions"), "{sent:?}");
    assert!(
        sent.iter().any(|t| t.contains("second question")),
        "{sent:?}"
    );
    assert!(
        sent.last().is_some_and(|t| t.contains("third question")),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|t| t.contains("First answer")), "{sent:?}");
}

/// Issue 14: a custom agent from Claude Code's `.claude/agents/` runs with exactly the tools
/// its front matter lists (mapped to Cuervo's; one Cuervo does not have is dropped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_code_agent_runs_with_exactly_its_tools() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".claude/agents/code-reviewer.md",
        "---\nname: code-reviewer\ndescription: Reviews code for bugs.\ntools: Read, Grep, Glob, WebFetch\n---\nCODE-REVIEWER: you review code and report bugs with path:line.\n",
    );
    let server = mock(Script::new(vec![
        Turn::tool_call(
            "task",
            json!({"agent": "code-reviewer", "description": "review", "prompt": "Review src/lib.rs."}),
        ),
        Turn::text("No bugs found."),
        Turn::text("The reviewer found no bugs."),
    ]))
    .await;
    let out = sandbox
        .cuervo(&Wire::Anthropic.env(&server), &["-p", "review my code"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "The reviewer found no bugs.\n");
    let requests = server.requests();
    let reviewer = &requests[1];
    assert!(
        reviewer.body["system"]
            .to_string()
            .contains("CODE-REVIEWER"),
        "the agent's own prompt: {}",
        reviewer.body["system"]
    );
    let tools: Vec<String> = reviewer.body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(tools, ["glob", "grep", "read"]);
    // The main agent was offered it, described as its file says.
    let task = requests[0].body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["name"] == "task")
        .expect("the task tool")
        .to_string();
    assert!(
        task.contains("code-reviewer: Reviews code for bugs."),
        "{task}"
    );
}
