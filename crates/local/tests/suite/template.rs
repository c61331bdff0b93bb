//! Chat templates of the common families render as Jinja2 (the engine `transformers`
//! uses) renders them: `scripts/gen-local-fixtures-templates.py` made the expected text.

use cuervo_domain::{ContentBlock, Message, Role, ToolCall, ToolResult, ToolSpec};
use cuervo_local::ChatTemplate;
use cuervo_local::template::to_template_messages;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::fixture;

fn template(name: &str) -> String {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/templates")
        .join(format!("{name}.jinja"));
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn family_templates_render_as_jinja2_renders_them() {
    let fx = fixture("templates.json");
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let label = format!(
            "{} / {} / tools: {}",
            case["template"], case["conversation"], case["tools"]
        );
        let t = ChatTemplate::new(
            &template(case["template"].as_str().unwrap()),
            case["bos_token"].as_str().unwrap(),
            case["eos_token"].as_str().unwrap(),
        )
        .unwrap_or_else(|e| panic!("{label}: {e}"));
        let messages: Vec<Value> = serde_json::from_value(case["messages"].clone()).unwrap();
        let tools: Vec<ToolSpec> = serde_json::from_value(case["tools"].clone()).unwrap();
        let got = t.render_json(&messages, &tools);
        match (case.get("expected"), case.get("error")) {
            (Some(want), _) => assert_eq!(
                got.unwrap_or_else(|e| panic!("{label}: {e}")),
                want.as_str().unwrap(),
                "{label}"
            ),
            (None, Some(err)) => {
                let e = got.expect_err(&label).to_string();
                assert!(e.contains(err.as_str().unwrap()), "{label}: {e}");
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn the_domain_conversation_becomes_the_fixture_messages() {
    let fx = fixture("templates.json");
    let case = fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["conversation"] == "tools")
        .unwrap();
    let domain = vec![
        Message::user("Show me main.rs"),
        Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Text {
                    text: "Reading it.".into(),
                },
                ContentBlock::ToolUse(ToolCall {
                    id: "call_0".into(),
                    name: "read_file".into(),
                    input: json!({"path": "src/main.rs"}),
                }),
            ],
        },
        Message::tool_results(vec![ToolResult {
            call_id: "call_0".into(),
            content: "fn main() {}".into(),
            is_error: false,
        }]),
        Message::user("Thanks"),
    ];
    let mut want: Vec<Value> = serde_json::from_value(case["messages"].clone()).unwrap();
    want.remove(0); // the system prompt travels apart, in ModelRequest::system
    assert_eq!(to_template_messages(&domain, true), want);

    // And through `render` with the system prompt, for a template with tools.
    let t = ChatTemplate::new(&template("qwen2.5"), "", "<|im_end|>").unwrap();
    let with_tools = fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["template"] == "qwen2.5" && c["conversation"] == "tools" && c["tools"] != json!([])
        })
        .unwrap();
    let tools: Vec<ToolSpec> = serde_json::from_value(with_tools["tools"].clone()).unwrap();
    let rendered = t
        .render(Some("You are a coding agent."), &domain, &tools)
        .unwrap();
    assert_eq!(rendered, with_tools["expected"].as_str().unwrap());
}
