//! `cuervo agents`: custom agents from the project's and the user's directories (Claude
//! Code's included) over the built-ins, and what an untrusted project may not do.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{Output, Sandbox};

async fn list_json(sandbox: &Sandbox, flags: &[&str]) -> (Output, Vec<Value>) {
    let args = [flags, &["agents", "list", "--json"]].concat();
    let out = sandbox.cuervo(&[], &args).await;
    let agents = serde_json::from_str::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", out.stdout, out.stderr));
    let agents = agents.as_array().expect("an array").clone();
    (out, agents)
}

fn agent<'a>(agents: &'a [Value], name: &str) -> &'a Value {
    agents
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no agent {name} in {agents:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_code_agent_is_listed_with_exactly_its_tools() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".claude/agents/reviewer-x.md",
        "---\nname: reviewer-x\ndescription: Reviews diffs for security problems.\n\
         tools: Read, Grep, Glob, WebFetch\n---\nYou review code.\n",
    );
    let (out, agents) = list_json(&sandbox, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let names: Vec<&str> = agents.iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(
        names,
        ["executor", "explorer", "planner", "reviewer", "reviewer-x"]
    );
    assert_eq!(
        agent(&agents, "reviewer-x"),
        &json!({
            "name": "reviewer-x",
            "source": "claude-project",
            "path": ".claude/agents/reviewer-x.md",
            "role": "explore",
            "model": null,
            "model_from": "conversation",
            "tools": ["read", "grep", "glob"],
            "ignored_tools": ["WebFetch"],
            "description": "Reviews diffs for security problems.",
            "notes": [],
        })
    );

    let text = sandbox.cuervo(&[], &["agents", "list"]).await;
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(
            "reviewer-x  .claude/agents/reviewer-x.md\n  model: conversation's model\n  \
             tools: read, grep, glob  (ignored: WebFetch)\n  Reviews diffs for security problems.\n"
        ),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("explorer  built-in\n"),
        "{}",
        text.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_project_agents_model_is_ignored_with_a_note() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".claude/agents/checker.md",
        "---\nname: checker\ndescription: Checks things.\nmodel: opus\n---\nCheck.\n",
    );
    let text = sandbox.cuervo(&[], &["agents", "list"]).await;
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(
            "notes:\n  .claude/agents/checker.md: model `claude-opus-4-5` ignored until you \
             trust this project (cuervo trust)\n"
        ),
        "{}",
        text.stdout
    );
    let (_, agents) = list_json(&sandbox, &[]).await;
    let checker = agent(&agents, "checker");
    assert_eq!(checker["model"], Value::Null);
    assert_eq!(checker["notes"].as_array().map(Vec::len), Some(1));

    let (out, agents) = list_json(&sandbox, &["--trust-project"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(agent(&agents, "checker")["model"], "claude-opus-4-5");
    assert_eq!(agent(&agents, "checker")["model_from"], "agent");

    // `cuervo trust` lists what the agent files ask for and trusts them as they are.
    let trust = sandbox.cuervo(&[], &["trust"]).await;
    assert_eq!(trust.code, 0, "{} {}", trust.stdout, trust.stderr);
    assert!(
        trust.stdout.contains(".claude/agents/checker.md: model"),
        "{}",
        trust.stdout
    );
    let (_, agents) = list_json(&sandbox, &[]).await;
    assert_eq!(agent(&agents, "checker")["model"], "claude-opus-4-5");

    // A changed agent file is no longer trusted: it asks again.
    sandbox.write(
        ".claude/agents/checker.md",
        "---\nname: checker\ndescription: Checks things.\nmodel: haiku\n---\nCheck.\n",
    );
    let (_, agents) = list_json(&sandbox, &[]).await;
    assert_eq!(
        agent(&agents, "checker")["model"],
        Value::Null,
        "changed since trusted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_agent_does_not_replace_a_built_in_without_trust() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".cuervo/agents/explorer.md",
        "---\nname: explorer\ndescription: Explores, with a shell.\ntools: bash\n---\nRun things.\n",
    );
    let (out, agents) = list_json(&sandbox, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let explorer = agent(&agents, "explorer");
    assert_eq!(explorer["source"], "built-in");
    assert_eq!(
        explorer["tools"],
        json!(["read", "glob", "grep", "ls", "codebase_search"])
    );
    assert!(
        out.stderr.contains(
            "note: .cuervo/agents/explorer.md: not loaded: it would replace the built-in \
             agent `explorer`"
        ),
        "{}",
        out.stderr
    );

    let (_, agents) = list_json(&sandbox, &["--trust-project"]).await;
    let explorer = agent(&agents, "explorer");
    assert_eq!(explorer["source"], "project");
    assert_eq!(explorer["tools"], json!(["bash"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_file_is_reported_by_path_and_the_others_still_load() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".cuervo/agents/broken.md",
        "---\nname: broken\ndescription: d\ntools: {read: yes}\n---\nbody\n",
    );
    sandbox.write(".cuervo/agents/no-front-matter.md", "# Notes\n");
    sandbox.write(
        ".cuervo/agents/fine.md",
        "---\nname: fine\ndescription: Works.\n---\nbody\n",
    );
    let out = sandbox.cuervo(&[], &["agents", "list"]).await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("fine  .cuervo/agents/fine.md\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "errors (these files were not loaded):\n  .cuervo/agents/broken.md: `tools` must be \
             a list of tool names or a comma-separated string of them\n  \
             .cuervo/agents/no-front-matter.md: no front matter"
        ),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_agents_and_role_models_and_show() {
    let sandbox = Sandbox::new();
    sandbox
        .home
        .write_config("routing:\n  roles:\n    review: claude-haiku-4-5\n");
    let user_agents = sandbox.home.config_home().join("cuervo/agents");
    std::fs::create_dir_all(&user_agents).expect("user agents dir");
    std::fs::write(
        user_agents.join("mine.md"),
        "---\nname: mine\ndescription: |\n  Mine.\n  Second line.\nmodel: haiku\n---\nYou are mine.\n",
    )
    .expect("write");
    // The user's Claude Code agents load too, below the user's Cuervo ones.
    let claude_agents = sandbox.home.home().join(".claude/agents");
    std::fs::create_dir_all(&claude_agents).expect("claude agents dir");
    std::fs::write(
        claude_agents.join("theirs.md"),
        "---\nname: theirs\ndescription: Theirs.\n---\nYou are theirs.\n",
    )
    .expect("write");

    let (out, agents) = list_json(&sandbox, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(agent(&agents, "mine")["model"], "claude-haiku-4-5");
    assert_eq!(agent(&agents, "theirs")["source"], "claude-user");
    assert_eq!(
        agent(&agents, "theirs")["path"],
        "~/.claude/agents/theirs.md"
    );
    assert_eq!(agent(&agents, "reviewer")["model"], "claude-haiku-4-5");
    assert_eq!(agent(&agents, "reviewer")["model_from"], "role");

    let show = sandbox.cuervo(&[], &["agents", "show", "mine"]).await;
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout.contains("model:   claude-haiku-4-5\n"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout
            .contains("description:\n  Mine.\n  Second line.\nsystem prompt:\nYou are mine.\n"),
        "{}",
        show.stdout
    );
    let reviewer = sandbox.cuervo(&[], &["agents", "show", "reviewer"]).await;
    assert!(
        reviewer
            .stdout
            .contains("model:   claude-haiku-4-5 (role model: routing.roles.review)\n"),
        "{}",
        reviewer.stdout
    );
    assert!(reviewer.stdout.contains("severity (high/medium/low)"));

    let missing = sandbox.cuervo(&[], &["agents", "show", "nope"]).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("no agent named `nope`; the agents are: executor, explorer, mine,"),
        "{}",
        missing.stderr
    );
}
