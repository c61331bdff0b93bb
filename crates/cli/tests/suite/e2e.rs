//! The walking skeleton, end to end: the scripted model reads a file, edits it, runs a
//! command that checks the edit, and answers — once per wire format.

use cuervo_domain::Role;
use cuervo_testkit::{Script, Turn};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::common::{Sandbox, Wire, last_tool_result, mock};

fn fix_typo_script() -> Script {
    Script::new(vec![
        Turn::tool_call("read", json!({"path": "greeting.txt"})),
        Turn::tool_call(
            "edit",
            json!({"path": "greeting.txt", "old_string": "Hello, wrld!", "new_string": "Hello, world!"}),
        ),
        Turn::tool_call(
            "bash",
            json!({"command": "grep -q 'Hello, world!' greeting.txt && echo verified"}),
        ),
        Turn::text("Fixed the typo in greeting.txt and checked it with grep."),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_edits_runs_and_answers_in_both_wire_formats() {
    for wire in Wire::ALL {
        let sandbox = Sandbox::new();
        sandbox.write("greeting.txt", "Hello, wrld!\nSecond line.\n");
        let server = mock(fix_typo_script()).await;
        let out = sandbox
            .cuervo(
                &wire.env(&server),
                &[
                    "-p",
                    "fix the typo in greeting.txt",
                    "--permission-mode",
                    "full-auto",
                    "--output-format",
                    "stream-json",
                ],
            )
            .await;
        assert_eq!(out.code, 0, "{wire:?} stderr: {}", out.stderr);
        assert_eq!(
            sandbox.read("greeting.txt"),
            "Hello, world!\nSecond line.\n",
            "{wire:?}"
        );

        // Every request after a tool call carries its result, paired with the call.
        let requests = server.requests();
        assert_eq!(requests.len(), 4, "{wire:?}");
        server.assert_tool_pairing();
        for (i, request) in requests.iter().enumerate().skip(1) {
            let messages = request.messages();
            let last = messages.last().expect("messages");
            assert_eq!(
                last.role,
                Role::Tool,
                "{wire:?} request {i} ends with the tool result"
            );
            let previous_call = messages[messages.len() - 2]
                .tool_calls()
                .next()
                .expect("a call")
                .id
                .clone();
            assert_eq!(
                last.tool_results_iter().next().expect("a result").call_id,
                previous_call
            );
        }
        let bash_result = last_tool_result(&requests[3]);
        assert!(
            bash_result.content.contains("verified"),
            "{wire:?}: {}",
            bash_result.content
        );
        assert!(!bash_result.is_error);
        let read_result = last_tool_result(&requests[1]);
        assert!(
            read_result.content.contains("Hello, wrld!"),
            "{wire:?}: {}",
            read_result.content
        );

        // stream-json lists the events in order.
        let events = out.json_lines();
        let kinds: Vec<String> = events
            .iter()
            .filter(|e| {
                !matches!(
                    e["type"].as_str(),
                    Some("text_delta" | "thinking_delta" | "tool_call_started")
                )
            })
            .map(|e| match e["type"].as_str().expect("type") {
                "tool_call" => format!("tool_call:{}", e["call"]["name"].as_str().expect("name")),
                other => other.to_owned(),
            })
            .collect();
        let turn = |tool: &str| {
            vec![
                "model_invoked".to_owned(),
                format!("tool_call:{tool}"),
                "turn_completed".to_owned(),
                "permission_decided".to_owned(),
            ]
        };
        let mut expected = vec!["agent_started".to_owned()];
        expected.extend(turn("read"));
        expected.push("tool_executed".into());
        expected.extend(turn("edit"));
        expected.extend(["file_modified".into(), "tool_executed".into()]);
        expected.extend(turn("bash"));
        expected.extend(["bash_executed".into(), "tool_executed".into()]);
        expected.extend([
            "model_invoked".into(),
            "turn_completed".into(),
            "agent_completed".into(),
        ]);
        assert_eq!(kinds, expected, "{wire:?}");
        let done = events.last().expect("events");
        assert_eq!(done["cause"], "completed");
        assert_eq!(done["turns"], 4);
        assert_eq!(
            done["result"],
            "Fixed the typo in greeting.txt and checked it with grep."
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_streams_the_answer_and_json_output_summarises() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::text("The answer is 42."),
        Turn::text("Still 42."),
    ]))
    .await;
    let env = Wire::Anthropic.env(&server);
    let out = sandbox.cuervo(&env, &["-p", "what is the answer?"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "The answer is 42.\n");

    let out = sandbox
        .cuervo(&env, &["-p", "again", "--output-format", "json"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("one JSON object");
    assert_eq!(v["type"], "result");
    assert_eq!(v["is_error"], false);
    assert_eq!(v["result"], "Still 42.");
    assert_eq!(v["num_turns"], 1);
    assert_eq!(v["provider"], "anthropic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_instructions_reach_the_system_prompt() {
    for (file, wire) in [("CUERVO.md", Wire::Anthropic), ("AGENTS.md", Wire::OpenAi)] {
        let sandbox = Sandbox::new();
        sandbox.write(file, "Always answer in haiku.\n");
        let server = mock(Script::new(vec![Turn::text("ok")])).await;
        let out = sandbox.cuervo(&wire.env(&server), &["-p", "hi"]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let system = server.requests()[0].system().expect("a system prompt");
        assert!(
            system.contains("Always answer in haiku."),
            "{file}: {system}"
        );
        assert!(system.contains(file), "{system}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_refuses_unapproved_tools_and_tells_the_model() {
    let sandbox = Sandbox::new();
    sandbox.write("notes.txt", "keep me\n");
    let server = mock(Script::new(vec![
        Turn::tool_call("bash", json!({"command": "rm notes.txt"})),
        Turn::tool_call("write", json!({"path": "notes.txt", "content": "gone"})),
        Turn::text("I was not allowed to change anything."),
    ]))
    .await;
    let out = sandbox
        .cuervo(&Wire::Anthropic.env(&server), &["-p", "delete notes"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sandbox.read("notes.txt"), "keep me\n", "nothing ran");
    let requests = server.requests();
    let refusal = last_tool_result(&requests[1]);
    assert!(refusal.is_error);
    assert!(
        refusal.content.contains("--allow-tools 'bash(rm:*)'"),
        "{}",
        refusal.content
    );
    assert!(out.stderr.contains("● bash rm notes.txt"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_rules_from_flags_and_deny_rules_from_config() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".cuervo/config.yml",
        "permissions:\n  deny: ['bash(rm:*)']\n",
    );
    let server = mock(Script::new(vec![
        Turn::tool_call("bash", json!({"command": "echo allowed > out.txt"})),
        Turn::tool_call("bash", json!({"command": "rm out.txt"})),
        Turn::text("done"),
    ]))
    .await;
    let out = sandbox
        .cuervo(
            &Wire::Anthropic.env(&server),
            &[
                "-p",
                "go",
                "--allow-tools",
                "bash(echo:*)",
                "--permission-mode",
                "full-auto",
            ],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        sandbox.read("out.txt"),
        "allowed\n",
        "the deny rule beat full-auto mode"
    );
    let denied = last_tool_result(&server.requests()[2]);
    assert!(denied.content.contains("bash(rm:*)"), "{}", denied.content);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_can_come_from_stdin_flag_dash() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("read you")])).await;
    let out = sandbox
        .cuervo(&Wire::OpenAi.env(&server), &["-p", "-"])
        .await;
    // stdin is closed in tests: an empty prompt is a usage error with a clear message.
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("prompt is empty"), "{}", out.stderr);
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_image_reaches_the_model_in_both_wire_formats() {
    for wire in Wire::ALL {
        let sandbox = Sandbox::new();
        std::fs::write(sandbox.path("shot.png"), [0x89, b'P', b'N', b'G']).expect("png");
        let server = mock(Script::new(vec![Turn::text("A tiny PNG.")])).await;
        let out = sandbox
            .cuervo(
                &wire.env(&server),
                &["-p", "what is this?", "--image", "shot.png"],
            )
            .await;
        assert_eq!(out.code, 0, "{wire:?}: {}", out.stderr);
        let sent = server.requests()[0].messages();
        let image = sent[0].content.iter().find_map(|b| match b {
            cuervo_domain::ContentBlock::Image {
                media_type,
                data_base64,
            } => Some((media_type.clone(), data_base64.clone())),
            _ => None,
        });
        assert_eq!(
            image,
            Some(("image/png".into(), "iVBORw==".into())),
            "{wire:?}"
        );
        assert_eq!(sent[0].text(), "what is this?");
    }
    let sandbox = Sandbox::new();
    let out = sandbox
        .cuervo(&[], &["-p", "x", "--image", "notes.txt"])
        .await;
    assert_eq!(
        out.code, 2,
        "a file that is not an image is a usage error: {}",
        out.stderr
    );
}
