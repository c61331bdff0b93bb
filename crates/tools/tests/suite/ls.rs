use pretty_assertions::assert_eq;
use serde_json::json;

use super::{Project, failed};

#[tokio::test]
async fn lists_sorted_with_directories_marked() {
    let p = Project::new();
    p.file("b.txt", "");
    p.file("a.txt", "");
    p.file("src/lib.rs", "");
    p.file("src/inner/x.rs", "");
    let out = p.ok("ls", json!({})).await;
    assert_eq!(out, "a.txt\nb.txt\nsrc/");
    let out = p.ok("ls", json!({"path": "src"})).await;
    assert_eq!(out, "inner/\nlib.rs");
}

#[tokio::test]
async fn ignored_and_hidden_entries_are_left_out_and_counted() {
    let p = Project::new();
    p.file(".gitignore", "target/\n");
    p.file(".cuervoignore", "secret.txt\n");
    p.file("target/x", "");
    p.file("secret.txt", "");
    p.file("main.rs", "");
    let out = p.ok("ls", json!({"path": "."})).await;
    assert_eq!(out, "main.rs\n(4 hidden or ignored entries not shown)");
}

#[tokio::test]
async fn files_and_missing_directories_fail() {
    let p = Project::new();
    p.file("a.txt", "");
    assert!(failed(p.err("ls", json!({"path": "a.txt"})).await).contains("use read"));
    assert!(failed(p.err("ls", json!({"path": "nope"})).await).contains("does not exist"));
}
