use serde_json::json;

use super::{Project, invalid, set_mtime};

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[tokio::test]
async fn matches_relative_paths_newest_first() {
    let p = Project::new();
    set_mtime(&p.file("src/old.rs", ""), 1_000);
    set_mtime(&p.file("src/new.rs", ""), 3_000);
    set_mtime(&p.file("src/deep/mid.rs", ""), 2_000);
    set_mtime(&p.file("top.rs", ""), 500);
    p.file("src/notes.md", "");
    let out = p.ok("glob", json!({"pattern": "**/*.rs"})).await;
    assert_eq!(
        lines(&out),
        ["src/new.rs", "src/deep/mid.rs", "src/old.rs", "top.rs"]
    );
    // `*` does not cross directories.
    let out = p.ok("glob", json!({"pattern": "*.rs"})).await;
    assert_eq!(lines(&out), ["top.rs"]);
    // `path` narrows the search; results stay relative to the project root.
    let out = p
        .ok("glob", json!({"pattern": "*.rs", "path": "src"}))
        .await;
    assert_eq!(lines(&out), ["src/new.rs", "src/old.rs"]);
    let out = p.ok("glob", json!({"pattern": "./src/*.{md,rs}"})).await;
    // notes.md was written just now, so it is the newest.
    assert_eq!(lines(&out), ["src/notes.md", "src/new.rs", "src/old.rs"]);
}

#[tokio::test]
async fn respects_gitignore_cuervoignore_and_hidden_files() {
    let p = Project::new();
    p.file(".gitignore", "target/\n*.log\n");
    p.file(".cuervoignore", "secrets/\n");
    p.file("src/a.rs", "");
    p.file("target/debug/gen.rs", "");
    p.file("build.log", "");
    p.file("secrets/key.rs", "");
    p.file(".hidden/h.rs", "");
    p.file("nested/.gitignore", "skip.rs\n");
    p.file("nested/skip.rs", "");
    p.file("nested/keep.rs", "");
    let out = p.ok("glob", json!({"pattern": "**/*"})).await;
    let mut got = lines(&out);
    got.sort_unstable();
    assert_eq!(got, ["nested/keep.rs", "src/a.rs"]);
}

#[tokio::test]
async fn caps_results_at_1000_with_a_note() {
    let p = Project::new();
    for i in 0..1003 {
        p.file(&format!("f/{i}.txt"), "");
    }
    let mut ctx = p.ctx.clone();
    ctx.output_limit = 1_000_000;
    let out = p
        .tool("glob")
        .execute(json!({"pattern": "**/*.txt"}), &ctx)
        .await
        .expect("glob");
    let got = lines(&out.content);
    assert_eq!(got.len(), 1001);
    assert!(
        got[1000].contains("3 more files not shown"),
        "{}",
        got[1000]
    );
}

#[tokio::test]
async fn no_match_bad_pattern_and_bad_path() {
    let p = Project::new();
    p.file("a.rs", "");
    let out = p.ok("glob", json!({"pattern": "**/*.py"})).await;
    assert!(out.starts_with("No files match"), "{out}");
    let msg = invalid(p.err("glob", json!({"pattern": "src/[a"})).await);
    assert!(msg.contains("invalid pattern"), "{msg}");
    let msg = super::failed(p.err("glob", json!({"pattern": "*", "path": "nope"})).await);
    assert!(msg.contains("does not exist"), "{msg}");
}

#[tokio::test]
async fn absolute_patterns_under_the_search_root_work() {
    let p = Project::new();
    p.file("src/a.rs", "");
    let pattern = format!("{}/src/*.rs", p.root.display());
    let out = p.ok("glob", json!({"pattern": pattern})).await;
    assert_eq!(out, "src/a.rs");
}
