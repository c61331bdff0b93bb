//! Never stranded, end to end: retries said in one human line, the fallback chain across
//! two real wire formats (Anthropic's failing, OpenAI's answering), a cut answer continued
//! on the fallback, every provider down, and `cuervo models route --explain`.

use cuervo_domain::Role;
use cuervo_testkit::{MockServer, Script, Step, Turn};

use super::common::{Sandbox, mock};

/// The user's config: Anthropic first (the built-in default), OpenAI as the fallback,
/// short waits so the test does not sleep for long.
fn fallback_config(sandbox: &Sandbox, fallback: &str) {
    sandbox.user_config(&format!(
            "retry:\n  base_delay_ms: 20\n  max_delay_secs: 5\n\
             providers:\n  anthropic:\n    max_retries: 1\n  openai:\n    wire_api: chat\n    model: mock-fallback\n    max_retries: 1\n\
             routing:\n  fallback: [{fallback}]\n"
    ));
}

/// Keys for both providers and nothing else: routing is decided without a request.
fn keys() -> Vec<(String, String)> {
    vec![
        ("ANTHROPIC_API_KEY".to_owned(), "sk-ant-test".to_owned()),
        ("OPENAI_API_KEY".to_owned(), "sk-test".to_owned()),
    ]
}

fn env(anthropic: &MockServer, openai: &MockServer) -> Vec<(String, String)> {
    vec![
        ("ANTHROPIC_BASE_URL".into(), anthropic.anthropic_base_url()),
        ("ANTHROPIC_API_KEY".into(), "sk-ant-test".into()),
        ("OPENAI_BASE_URL".into(), openai.openai_base_url()),
        ("OPENAI_API_KEY".into(), "sk-test".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_hands_the_turn_to_the_fallback_with_one_line_said() {
    let sandbox = Sandbox::new();
    fallback_config(&sandbox, "openai/mock-fallback");
    let anthropic = mock(Script::new(vec![Turn::status(500), Turn::status(500)])).await;
    let openai = mock(Script::new(vec![Turn::text("Answered by the fallback.")])).await;
    let out = sandbox
        .cuervo(&env(&anthropic, &openai), &["-p", "hello"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Answered by the fallback.\n");
    assert_eq!(anthropic.requests().len(), 2, "one try and one retry");
    assert!(
        out.stderr
            .contains("↻ anthropic: server error; retrying in"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("— continuing with openai/mock-fallback"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("WARN"),
        "no log records: {}",
        out.stderr
    );
    // The JSON result names the model that answered.
    let anthropic_again = mock(Script::new(vec![Turn::status(500), Turn::status(500)])).await;
    let openai_again = mock(Script::new(vec![Turn::text("Again.")])).await;
    let json = sandbox
        .cuervo(
            &env(&anthropic_again, &openai_again),
            &["-p", "hello", "--output-format", "json"],
        )
        .await;
    let result = &json.json_lines()[0];
    assert_eq!(result["provider"], "openai", "{result}");
    assert_eq!(result["model"], "mock-fallback", "{result}");
    // The fallback was sent the user's message in its own format.
    let sent = openai.requests();
    assert_eq!(sent.len(), 1);
    let messages = sent[0].messages();
    assert_eq!(messages.last().map(|m| m.text()).as_deref(), Some("hello"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_json_carries_the_retry_and_the_fallback() {
    let sandbox = Sandbox::new();
    fallback_config(&sandbox, "openai/mock-fallback");
    let anthropic = mock(Script::new(vec![Turn::overloaded(), Turn::overloaded()])).await;
    let openai = mock(Script::new(vec![Turn::text("ok")])).await;
    let out = sandbox
        .cuervo(
            &env(&anthropic, &openai),
            &["-p", "hello", "--output-format", "stream-json"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events = out.json_lines();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(kinds.contains(&"model_retry"), "{kinds:?}");
    let fallback = events
        .iter()
        .find(|e| e["type"] == "model_fallback")
        .expect("a model_fallback event");
    assert_eq!(fallback["from"], "anthropic/claude-sonnet-4-5");
    assert_eq!(fallback["to"], "openai/mock-fallback");
    assert!(
        fallback["reason"]
            .as_str()
            .is_some_and(|r| r.contains("overloaded")),
        "{fallback}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_answer_continues_on_the_fallback_without_repeating_itself() {
    let sandbox = Sandbox::new();
    fallback_config(&sandbox, "openai/mock-fallback");
    let reply = Turn::steps(vec![
        Step::text("The answer is "),
        Step::text("something long that never arrives."),
    ]);
    // Some of the first text arrives, then the connection breaks; the retry fails too.
    let anthropic = mock(Script::new(vec![
        Turn::cut_reply(reply, 5),
        Turn::status(500),
    ]))
    .await;
    let openai = mock(Script::new(vec![Turn::text("forty-two.")])).await;
    let out = sandbox
        .cuervo(&env(&anthropic, &openai), &["-p", "what is it?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    // What was shown stays, once, and the fallback's words follow it.
    let shown = out
        .stdout
        .strip_suffix("forty-two.\n")
        .unwrap_or_else(|| panic!("{:?} {}", out.stdout, out.stderr));
    assert!(
        !shown.is_empty() && "The answer is ".starts_with(shown),
        "{shown:?}"
    );

    // The fallback got the conversation, the shown text as its own, and the request to
    // go on from there.
    let messages = openai.requests()[0].messages();
    let n = messages.len();
    assert_eq!(messages[n - 3].text(), "what is it?");
    assert_eq!(messages[n - 2].role, Role::Assistant);
    assert_eq!(messages[n - 2].text(), shown);
    assert!(
        messages[n - 1]
            .text()
            .contains("Continue it from exactly where it stopped")
    );

    // The session keeps one whole answer; the next turn sends it as such.
    let openai_next = mock(Script::new(vec![Turn::text("Yes.")])).await;
    let anthropic_next = mock(Script::new(vec![Turn::text("Sure.")])).await;
    let out = sandbox
        .cuervo(&env(&anthropic_next, &openai_next), &["-c", "-p", "sure?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let history = anthropic_next.requests()[0].messages();
    let texts: Vec<String> = history.iter().map(|m| m.text()).collect();
    assert_eq!(
        texts,
        ["what is it?", &format!("{shown}forty-two."), "sure?"]
            .map(String::from)
            .to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_down_says_what_to_do_exits_1_and_the_session_resumes() {
    let sandbox = Sandbox::new();
    fallback_config(&sandbox, "openai/mock-fallback");
    let anthropic = mock(Script::new(vec![Turn::status(500), Turn::status(500)])).await;
    let openai = mock(Script::new(vec![Turn::status(503), Turn::status(503)])).await;
    let out = sandbox
        .cuervo(&env(&anthropic, &openai), &["-p", "keep this question"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    for part in [
        "no model could answer",
        "anthropic/claude-sonnet-4-5: server error",
        "openai/mock-fallback: overloaded",
        "Your message is kept",
        "--model",
    ] {
        assert!(out.stderr.contains(part), "{part}: {}", out.stderr);
    }
    assert_eq!(
        out.stderr.matches("Your message is kept").count(),
        1,
        "said once: {}",
        out.stderr
    );

    // Later, the providers are back: `-c` goes on with the question still there (two user
    // messages in a row, which Anthropic's format sends as one).
    let anthropic = mock(Script::new(vec![Turn::text("Here is the answer.")])).await;
    let out = sandbox
        .cuervo(&env(&anthropic, &openai), &["-c", "-p", "any luck?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let messages = anthropic.requests()[0].messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let texts: Vec<String> = messages[0]
        .content
        .iter()
        .filter_map(|b| match b {
            cuervo_domain::ContentBlock::Text { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        ["keep this question", "any luck?"]
            .map(String::from)
            .to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hour_long_retry_after_says_how_long() {
    let sandbox = Sandbox::new();
    fallback_config(&sandbox, "local");
    let anthropic = mock(Script::new(vec![Turn::rate_limited(3600)])).await;
    let openai = mock(Script::new(vec![])).await;
    let out = sandbox
        .cuervo(&env(&anthropic, &openai), &["-p", "hi"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("asks to wait 1 h"), "{}", out.stderr);
    assert!(!out.stderr.contains("wait a moment"), "{}", out.stderr);
    assert_eq!(anthropic.requests().len(), 1, "an hour is not waited for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_route_explains_roles_fallbacks_and_what_was_left_out() {
    let sandbox = Sandbox::new();
    sandbox.user_config(
        "routing:\n  fallback: [openai/gpt-4.1, no-such-provider/x]\n  roles:\n    explore: gpt-4.1-mini\n",
    );
    let env = keys();
    let out = sandbox
        .cuervo(&env, &["models", "route", "--role", "explore", "--explain"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("route for `explore`"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("1. openai/gpt-4.1-mini  — the model configured for explore"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("2. anthropic/claude-sonnet-4-5"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("3. openai/gpt-4.1"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("breaker: openai pauses after 5 failures"),
        "{}",
        out.stdout
    );

    let out = sandbox.cuervo(&env, &["models", "route"]).await;
    assert_eq!(out.stdout.trim(), "anthropic/claude-sonnet-4-5");

    // A role that does not exist is an error that lists the roles.
    sandbox.user_config("routing:\n  roles:\n    exploring: gpt-4.1-mini\n");
    let out = sandbox.cuervo(&env, &["models", "route"]).await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("routing.roles.exploring: unknown role"),
        "{}",
        out.stderr
    );
}

/// A project may not add a fallback (it would send the conversation elsewhere) without
/// trust.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_project_cannot_add_a_fallback() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".cuervo/config.yml",
        "routing:\n  fallback: [openai/gpt-4.1]\n  roles:\n    explore: openai/gpt-4.1\n",
    );
    let env = keys();
    let out = sandbox
        .cuervo(&env, &["models", "route", "--role", "explore", "--explain"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("openai/gpt-4.1"), "{}", out.stdout);
    assert!(out.stderr.contains("routing.fallback"), "{}", out.stderr);
}

/// A switch mid-turn sends the fallback the whole history in its own format, the tool call
/// and its result included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fallback_gets_the_tool_calls_and_results_in_its_own_format() {
    let sandbox = Sandbox::new();
    fallback_config(&sandbox, "openai/mock-fallback");
    sandbox.write("notes.txt", "the secret word is crow\n");
    let anthropic = mock(Script::new(vec![
        Turn::tool_call("read", serde_json::json!({"path": "notes.txt"})),
        Turn::status(500),
        Turn::status(500),
    ]))
    .await;
    let openai = mock(Script::new(vec![Turn::text("The word is crow.")])).await;
    let out = sandbox
        .cuervo(&env(&anthropic, &openai), &["-p", "what is the word?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "The word is crow.\n");
    let sent = &openai.requests()[0];
    assert!(sent.path.ends_with("/chat/completions"), "{}", sent.path);
    let messages = sent.messages();
    let call = messages
        .iter()
        .flat_map(|m| m.content.iter())
        .find_map(|b| match b {
            cuervo_domain::ContentBlock::ToolUse(call) => Some(call.clone()),
            _ => None,
        })
        .expect("the tool call, in OpenAI's format");
    assert_eq!(call.name, "read");
    let result = messages
        .iter()
        .flat_map(|m| m.content.iter())
        .find_map(|b| match b {
            cuervo_domain::ContentBlock::ToolResult(result) => Some(result.clone()),
            _ => None,
        })
        .expect("the tool result, in OpenAI's format");
    assert_eq!(result.call_id, call.id);
    assert!(result.content.contains("crow"), "{}", result.content);
}
