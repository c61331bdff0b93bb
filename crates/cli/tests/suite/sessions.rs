//! Sessions end to end: every run is stored, `--continue` and `--resume` bring the whole
//! conversation back (tool calls and results included), `cuervo sessions` lists, shows,
//! exports and deletes, and runs report tokens and cost.

use std::path::PathBuf;

use cuervo_domain::{ContentBlock, Role, SessionId};
use cuervo_store::Db;
use cuervo_testkit::{Script, Turn};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{Sandbox, Wire, mock};

/// The sandbox's session database.
pub fn db_path(sandbox: &Sandbox) -> PathBuf {
    sandbox.home.data_home().join("cuervo").join("cuervo.db")
}

pub fn open_db(sandbox: &Sandbox) -> Db {
    Db::open(&db_path(sandbox)).expect("the session database opens")
}

fn project_path(sandbox: &Sandbox) -> String {
    sandbox
        .project
        .path()
        .canonicalize()
        .expect("project path")
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_stored_and_resumed_with_its_tool_calls() {
    let sandbox = Sandbox::new();
    sandbox.write("notes.txt", "the secret word is marmalade\n");
    let server = mock(Script::new(vec![
        Turn::tool_call("read", json!({"path": "notes.txt"})).with_usage(1200, 30),
        Turn::text("The word is marmalade.").with_usage(1500, 12),
        Turn::text("You asked about notes.txt.").with_usage(1700, 9),
    ]))
    .await;
    let env = Wire::Anthropic.env(&server);
    let out = sandbox.cuervo(&env, &["-p", "what is in notes.txt?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Stored as it happened: user, assistant tool call, tool result, answer.
    let db = open_db(&sandbox);
    let latest = db
        .latest_session(&project_path(&sandbox))
        .expect("query")
        .expect("the run was stored");
    assert_eq!(latest.title.as_deref(), Some("what is in notes.txt?"));
    let messages = db
        .messages(&SessionId(latest.id.clone()))
        .expect("messages");
    let roles: Vec<Role> = messages.iter().map(|m| m.record.message.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::Tool, Role::Assistant]
    );
    let call = &messages[1].record;
    assert_eq!(call.model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(call.usage.map(|u| u.input_tokens), Some(1200));
    // 1200 × $3/M + 30 × $15/M = $0.00405
    assert_eq!(call.cost.map(|c| c.micro_usd), Some(4050));
    assert_eq!(latest.cost.exact().map(|c| c.micro_usd), Some(4050 + 4680));

    // --resume with a prefix: the model sees the whole conversation again.
    let prefix = &latest.id[..6];
    let out = sandbox
        .cuervo(&env, &["--resume", prefix, "-p", "which file was that?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "You asked about notes.txt.\n");
    let resumed = server.requests()[2].messages();
    assert_eq!(resumed.len(), 5, "{resumed:#?}");
    assert_eq!(resumed[0].text(), "what is in notes.txt?");
    assert!(matches!(&resumed[1].content[0], ContentBlock::ToolUse(c) if c.name == "read"));
    assert!(
        resumed[2]
            .tool_results_iter()
            .next()
            .is_some_and(|r| r.content.contains("marmalade"))
    );
    assert_eq!(resumed[3].text(), "The word is marmalade.");
    assert_eq!(resumed[4].text(), "which file was that?");
    server.assert_tool_pairing();
    assert_eq!(
        db.message_count(&SessionId(latest.id.clone()))
            .expect("count"),
        6,
        "the resumed run appended to the same session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_picks_the_latest_session_of_this_project() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::text("first"),
        Turn::text("second"),
        Turn::text("third"),
    ]))
    .await;
    let env = Wire::OpenAi.env(&server);
    assert_eq!(sandbox.cuervo(&env, &["-p", "one"]).await.code, 0);
    assert_eq!(sandbox.cuervo(&env, &["-p", "two"]).await.code, 0);
    let out = sandbox.cuervo(&env, &["-c", "-p", "three"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let texts: Vec<String> = server.requests()[2]
        .messages()
        .iter()
        .map(|m| m.text())
        .collect();
    assert_eq!(texts, ["two", "second", "three"], "not the older session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_list_show_export_delete() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::tool_call("bash", json!({"command": "echo hi"})).with_usage(2000, 40),
        Turn::text("Said hi.").with_usage(2100, 5),
    ]))
    .await;
    let env = Wire::Anthropic.env(&server);
    let out = sandbox
        .cuervo(
            &env,
            &[
                "-p",
                "say hi",
                "--permission-mode",
                "full-auto",
                "--output-format",
                "json",
            ],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let result: Value = serde_json::from_str(out.stdout.trim()).expect("json");
    let id = result["session_id"]
        .as_str()
        .expect("session id")
        .to_owned();
    // (2000 + 2100) × $3/M + 45 × $15/M = $0.012975
    assert_eq!(result["cost_usd"], json!(0.012975));

    let list = sandbox.cuervo(&env, &["sessions", "list"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains(&id) && list.stdout.contains("say hi"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("$0.0130"), "{}", list.stdout);
    let json_list = sandbox.cuervo(&env, &["sessions", "list", "--json"]).await;
    assert_eq!(json_list.json_lines()[0]["id"], json!(id));

    let show = sandbox.cuervo(&env, &["sessions", "show", &id[..5]]).await;
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(show.stdout.contains("→ bash echo hi"), "{}", show.stdout);
    assert!(
        show.stdout.contains("2,000") && show.stdout.contains("$0.0066"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains(
            "total: 4 messages · 2 model calls · tokens: 4,100 in · 45 out · cost $0.0130"
        ),
        "{}",
        show.stdout
    );

    let md = sandbox
        .cuervo(&env, &["sessions", "export", &id, "--format", "md"])
        .await;
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout
            .starts_with(&format!("# Cuervo session {id}: say hi")),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("**Tool call** `bash`"), "{}", md.stdout);
    let js = sandbox
        .cuervo(&env, &["sessions", "export", &id, "--format", "json"])
        .await;
    let v: Value = serde_json::from_str(&js.stdout).expect("json export");
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["session"]["cost_usd"], json!(0.012975));

    let del = sandbox.cuervo(&env, &["sessions", "delete", &id]).await;
    assert_eq!(del.code, 0, "{}", del.stderr);
    assert!(del.stdout.contains("4 messages"), "{}", del.stdout);
    let gone = sandbox.cuervo(&env, &["sessions", "show", &id]).await;
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr.contains("no session matches"),
        "{}",
        gone.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cost_line_says_unknown_for_an_unpriced_model() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::text("priced").with_usage(1000, 100),
        Turn::text("unpriced").with_usage(1000, 100),
        Turn::text("unpriced json").with_usage(1000, 100),
    ]))
    .await;
    let env = Wire::Anthropic.env(&server);
    let out = sandbox.cuervo(&env, &["-p", "hi"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    // 1000 × $3/M + 100 × $15/M = $0.0045
    assert_eq!(
        out.stderr.lines().last(),
        Some("tokens: 1,000 in · 100 out · cost $0.0045"),
        "{}",
        out.stderr
    );
    let args = [
        "-p",
        "hi",
        "--provider",
        "anthropic",
        "--model",
        "house-model-7",
    ];
    let out = sandbox.cuervo(&env, &args).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().last(),
        Some("tokens: 1,000 in · 100 out · cost unknown")
    );
    let out = sandbox
        .cuervo(&env, &[&args[..], &["--output-format", "json"]].concat())
        .await;
    let v: Value = serde_json::from_str(out.stdout.trim()).expect("json");
    assert_eq!(v["cost_usd"], Value::Null, "unknown, never 0");
    assert_eq!(v["usage"]["input_tokens"], 1000);

    // The stored messages agree: no cost rather than zero.
    let db = open_db(&sandbox);
    let id = SessionId(v["session_id"].as_str().expect("id").into());
    let info = db.session(&id).expect("query").expect("session");
    assert_eq!(info.cost.exact(), None);
    assert_eq!(info.cost.unpriced, 1);
    let show = sandbox.cuervo(&env, &["sessions", "show", &id.0]).await;
    assert!(show.stdout.contains("cost unknown"), "{}", show.stdout);
}
