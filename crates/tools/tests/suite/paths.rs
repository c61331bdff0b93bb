//! Every path-taking tool reports where a path really lands: relative inside the root,
//! absolute and `outside_root` outside it, whether by `..`, an absolute path or a
//! symlink.

use serde_json::{Value, json};

use super::Project;

fn path_inputs(path: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("read", json!({"path": path})),
        ("write", json!({"path": path, "content": "x"})),
        ("glob", json!({"pattern": "*", "path": path})),
        ("grep", json!({"pattern": "x", "path": path})),
        ("ls", json!({"path": path})),
    ]
}

#[test]
fn inside_paths_are_relative_targets() {
    let p = Project::new();
    p.file("src/lib.rs", "x\n");
    for (name, input) in path_inputs("./src/../src/lib.rs") {
        let action = p.validate(name, input).expect(name);
        assert_eq!(action.target.as_deref(), Some("src/lib.rs"), "{name}");
        assert!(!action.outside_root, "{name}");
    }
    let action = p
        .validate(
            "edit",
            json!({"path": "src/lib.rs", "old_string": "x", "new_string": "y"}),
        )
        .expect("edit");
    assert_eq!(action.target.as_deref(), Some("src/lib.rs"));
    assert!(!action.outside_root);
}

#[test]
fn dot_dot_escapes_are_reported_outside() {
    let p = Project::new();
    std::fs::write(p.outside.join("secret.txt"), "x\n").expect("write");
    let expected = p.outside.join("secret.txt");
    for (name, input) in path_inputs("../outside/secret.txt") {
        let action = p.validate(name, input).expect(name);
        assert!(action.outside_root, "{name}");
        assert_eq!(action.target.as_deref(), expected.to_str(), "{name}");
    }
    let action = p
        .validate(
            "edit",
            json!({"path": "src/../../outside/secret.txt", "old_string": "x", "new_string": "y"}),
        )
        .expect("edit");
    assert!(action.outside_root);
}

#[test]
fn symlinks_to_outside_are_reported_outside() {
    let p = Project::new();
    std::fs::write(p.outside.join("f.txt"), "x\n").expect("write");
    std::os::unix::fs::symlink(&p.outside, p.root.join("escape")).expect("symlink");
    for (name, input) in path_inputs("escape/f.txt") {
        let action = p.validate(name, input).expect(name);
        assert!(action.outside_root, "{name}: {action:?}");
        assert_eq!(
            action.target.as_deref(),
            p.outside.join("f.txt").to_str(),
            "{name}"
        );
    }
    // Also for a file that does not exist yet.
    let action = p
        .validate(
            "write",
            json!({"path": "escape/new/file.rs", "content": ""}),
        )
        .expect("write");
    assert!(action.outside_root);
}

#[test]
fn absolute_paths_inside_are_relative_and_outside_are_absolute() {
    let p = Project::new();
    p.file("a.txt", "x");
    let inside = p.root.join("a.txt");
    let action = p
        .validate("read", json!({"path": inside.to_str().expect("utf8")}))
        .expect("read");
    assert_eq!(action.target.as_deref(), Some("a.txt"));
    assert!(!action.outside_root);
    let action = p
        .validate("read", json!({"path": "/etc/hostname"}))
        .expect("read");
    assert!(action.outside_root);
    assert!(action.target.as_deref().is_some_and(|t| t.starts_with('/')));
}

#[tokio::test]
async fn tools_do_not_refuse_outside_paths_themselves() {
    let p = Project::new();
    std::fs::write(p.outside.join("notes.txt"), "outside text\n").expect("write");
    let out = p.ok("read", json!({"path": "../outside/notes.txt"})).await;
    assert!(out.contains("outside text"), "{out}");
}
