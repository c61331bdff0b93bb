use pretty_assertions::assert_eq;
use serde_json::json;

use super::{Project, invalid};

fn project() -> Project {
    let p = Project::new();
    p.file("src/a.rs", "fn alpha() {}\nfn beta() {}\n// TODO: gamma\n");
    p.file("src/b.rs", "let x = a.b(1);\nlet y = axb(2);\n");
    p.file("README.md", "Alpha and ALPHA and alpha\n");
    p
}

#[tokio::test]
async fn default_mode_lists_matching_files() {
    let p = project();
    let out = p.ok("grep", json!({"pattern": "fn \\w+\\(\\)"})).await;
    assert_eq!(out, "src/a.rs");
    let out = p.ok("grep", json!({"pattern": "alpha"})).await;
    assert_eq!(out, "README.md\nsrc/a.rs");
}

#[tokio::test]
async fn content_mode_prints_path_line_text() {
    let p = project();
    let out = p
        .ok("grep", json!({"pattern": "^fn", "output_mode": "content"}))
        .await;
    assert_eq!(out, "src/a.rs:1:fn alpha() {}\nsrc/a.rs:2:fn beta() {}");
}

#[tokio::test]
async fn fixed_strings_do_not_interpret_regex() {
    let p = project();
    let out = p
        .ok(
            "grep",
            json!({"pattern": "a.b(", "fixed_strings": true, "output_mode": "content"}),
        )
        .await;
    assert_eq!(out, "src/b.rs:1:let x = a.b(1);");
    // As a regex, the same pattern is invalid, and the error suggests fixed_strings.
    let msg = invalid(p.err("grep", json!({"pattern": "a.b("})).await);
    assert!(msg.contains("fixed_strings"), "{msg}");
    // And `.` matches any character without it.
    let out = p
        .ok("grep", json!({"pattern": "a.b\\(", "output_mode": "count"}))
        .await;
    assert_eq!(out, "src/b.rs:2");
}

#[tokio::test]
async fn case_insensitive_search() {
    let p = project();
    let out = p
        .ok(
            "grep",
            json!({"pattern": "ALPHA", "output_mode": "count", "glob": "*.md"}),
        )
        .await;
    assert_eq!(out, "README.md:1");
    let out = p
        .ok(
            "grep",
            json!({"pattern": "ALPHA", "case_insensitive": true}),
        )
        .await;
    assert_eq!(out, "README.md\nsrc/a.rs");
}

#[tokio::test]
async fn context_lines_use_dashes_and_breaks() {
    let p = Project::new();
    let text: String = (1..=20)
        .map(|i| {
            if i == 5 || i == 15 {
                format!("hit {i}\n")
            } else {
                format!("l{i}\n")
            }
        })
        .collect();
    p.file("f.txt", text);
    let out = p
        .ok(
            "grep",
            json!({"pattern": "hit", "output_mode": "content", "context": 1}),
        )
        .await;
    assert_eq!(
        out,
        "f.txt-4-l4\nf.txt:5:hit 5\nf.txt-6-l6\n--\nf.txt-14-l14\nf.txt:15:hit 15\nf.txt-16-l16"
    );
}

#[tokio::test]
async fn binary_and_ignored_files_are_skipped() {
    let p = project();
    p.file("blob.bin", b"alpha\x00\x01\x02alpha");
    p.file(".gitignore", "gen/\n");
    p.file("gen/out.rs", "alpha\n");
    p.file(".cuervoignore", "private.txt\n");
    p.file("private.txt", "alpha\n");
    let out = p.ok("grep", json!({"pattern": "alpha"})).await;
    assert_eq!(out, "README.md\nsrc/a.rs");
}

#[tokio::test]
async fn glob_and_path_narrow_the_search() {
    let p = project();
    let out = p.ok("grep", json!({"pattern": "a", "glob": "*.rs"})).await;
    assert_eq!(out, "src/a.rs\nsrc/b.rs");
    let out = p.ok("grep", json!({"pattern": "a", "glob": "!*.rs"})).await;
    assert_eq!(out, "README.md");
    let out = p
        .ok(
            "grep",
            json!({"pattern": "let", "path": "src/b.rs", "output_mode": "count"}),
        )
        .await;
    assert_eq!(out, "src/b.rs:2");
}

#[tokio::test]
async fn results_are_capped() {
    let p = Project::new();
    let many: String = (0..50).map(|i| format!("match {i}\n")).collect();
    p.file("m.txt", many);
    let out = p
        .ok(
            "grep",
            json!({"pattern": "match", "output_mode": "content", "max_results": 5}),
        )
        .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert_eq!(lines[4], "m.txt:5:match 4");
    assert!(lines[5].contains("capped at 5"), "{out}");
    // Exactly as many results as allowed is not "capped".
    let out = p
        .ok(
            "grep",
            json!({"pattern": "match", "output_mode": "content", "max_results": 50}),
        )
        .await;
    assert_eq!(out.lines().count(), 50, "{out}");
    assert!(!out.contains("capped"), "{out}");
    let out = p
        .ok("grep", json!({"pattern": "match", "max_results": 1}))
        .await;
    assert_eq!(out, "m.txt");
    // The byte cap applies too.
    let mut ctx = p.ctx.clone();
    ctx.output_limit = 200;
    let out = p
        .tool("grep")
        .execute(json!({"pattern": "match", "output_mode": "content"}), &ctx)
        .await
        .expect("grep");
    assert!(out.content.len() <= 200, "{}", out.content.len());
    assert!(out.content.contains("output truncated"), "{}", out.content);
}

#[tokio::test]
async fn no_matches_and_missing_paths() {
    let p = project();
    let out = p.ok("grep", json!({"pattern": "zzz"})).await;
    assert!(out.starts_with("No matches"), "{out}");
    let msg = super::failed(p.err("grep", json!({"pattern": "a", "path": "nope"})).await);
    assert!(msg.contains("does not exist"), "{msg}");
}
