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

/// A deny rule on a directory must hold when the model goes through a symlink to it: the
/// tools report the symlink's real target, which is what rules match.
#[test]
fn cve_2026_25724_deny_rule_bypassed_through_a_symlink() {
    use cuervo_domain::{Decision, PermissionLevel, PermissionMode, PermissionPolicy};
    let p = Project::new();
    p.file("secrets/prod.env", "TOKEN=x\n");
    std::os::unix::fs::symlink(p.root.join("secrets"), p.root.join("innocent")).expect("symlink");
    let mut policy = PermissionPolicy::new(PermissionMode::FullAuto);
    policy.push_deny("read(secrets/**)".parse().expect("rule"), "test");
    policy.push_deny("edit(secrets/**)".parse().expect("rule"), "test");
    for (name, input) in [
        ("read", json!({"path": "innocent/prod.env"})),
        ("write", json!({"path": "innocent/new.env", "content": "x"})),
        (
            "edit",
            json!({"path": "innocent/prod.env", "old_string": "x", "new_string": "y"}),
        ),
        ("read", json!({"path": "./innocent/../innocent/prod.env"})),
    ] {
        let action = p.validate(name, input).expect(name);
        assert!(
            action
                .target
                .as_deref()
                .is_some_and(|t| t.starts_with("secrets/")),
            "{name}: {action:?}"
        );
        let level = if name == "read" {
            PermissionLevel::ReadOnly
        } else {
            PermissionLevel::ReadWrite
        };
        let decision = policy.decide(name, level, name != "read", &action);
        assert!(
            matches!(decision, Decision::Deny(_)),
            "{name}: {decision:?}"
        );
    }
    // And a symlink into a protected directory is protected.
    std::fs::create_dir_all(p.root.join(".git/hooks")).expect("mkdir");
    std::os::unix::fs::symlink(p.root.join(".git/hooks"), p.root.join("hooks")).expect("symlink");
    let action = p
        .validate("write", json!({"path": "hooks/pre-commit", "content": "x"}))
        .expect("write");
    assert_eq!(action.protected.as_deref(), Some(".git/hooks/pre-commit"));
}
