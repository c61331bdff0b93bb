use cuervo_domain::PermissionLevel;
use serde_json::json;

use super::{Project, invalid};

#[test]
fn builtin_tools_are_complete_and_named_as_documented() {
    let tools = cuervo_tools::builtin_tools();
    let names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    for n in [
        "read", "write", "edit", "glob", "grep", "ls", "bash", "todo",
    ] {
        assert!(names.contains(&n), "missing {n} in {names:?}");
    }
    assert_eq!(names.len(), 8);
}

#[test]
fn schemas_name_their_required_fields() {
    for t in cuervo_tools::builtin_tools() {
        let schema = t.input_schema();
        let props = schema["properties"].as_object().expect("properties");
        for req in schema["required"].as_array().into_iter().flatten() {
            let req = req.as_str().expect("string");
            assert!(
                props.contains_key(req),
                "{}: {req} not in properties",
                t.name()
            );
        }
    }
}

#[test]
fn only_read_only_tools_skip_confirmation() {
    for t in cuervo_tools::builtin_tools() {
        let input = json!({});
        assert_eq!(
            t.requires_confirmation(&input),
            t.permission() != PermissionLevel::ReadOnly,
            "{}",
            t.name()
        );
    }
}

#[test]
fn unknown_and_missing_arguments_are_invalid_input() {
    let p = Project::new();
    p.file("a.txt", "x\n");
    let cases = [
        (
            "read",
            json!({"path": "a.txt", "lines": 3}),
            "unknown field `lines`",
        ),
        ("read", json!({}), "missing field `path`"),
        ("write", json!({"path": "a.txt"}), "missing field `content`"),
        (
            "edit",
            json!({"path": "a.txt", "old": "x", "new_string": "y"}),
            "unknown field `old`",
        ),
        (
            "glob",
            json!({"pattern": "*", "recursive": true}),
            "unknown field",
        ),
        (
            "grep",
            json!({"pattern": "x", "output_mode": "lines"}),
            "unknown variant `lines`",
        ),
        ("ls", json!({"dir": "."}), "unknown field `dir`"),
        ("bash", json!({"cmd": "ls"}), "unknown field `cmd`"),
        ("bash", json!({"command": 42}), "invalid type"),
    ];
    for (name, input, expected) in cases {
        let msg = invalid(p.validate(name, input.clone()).expect_err(name));
        assert!(msg.contains(expected), "{name} {input}: {msg}");
        assert!(msg.contains("schema"), "{name}: says what to do: {msg}");
    }
}
