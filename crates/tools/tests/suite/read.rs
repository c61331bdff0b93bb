use pretty_assertions::assert_eq;
use serde_json::json;

use super::{Project, failed, invalid};

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

#[tokio::test]
async fn reads_whole_small_files_numbered() {
    let p = Project::new();
    p.file("a.txt", "alpha\n\tbeta\ngamma");
    let out = p.ok("read", json!({"path": "a.txt"})).await;
    assert_eq!(out, "     1\talpha\n     2\t\tbeta\n     3\tgamma");
}

#[tokio::test]
async fn reads_a_range_and_says_how_to_continue() {
    let p = Project::new();
    p.file("a.txt", numbered(50));
    let out = p
        .ok("read", json!({"path": "a.txt", "offset": 10, "limit": 3}))
        .await;
    assert_eq!(
        out,
        "    10\tline 10\n    11\tline 11\n    12\tline 12\n… 38 more lines; read with offset=13 to continue"
    );
}

#[tokio::test]
async fn default_limit_is_2000_lines() {
    let p = Project::new();
    p.file("big.txt", numbered(2500));
    let mut ctx = p.ctx.clone();
    ctx.output_limit = 1_000_000;
    let out = p
        .tool("read")
        .execute(json!({"path": "big.txt"}), &ctx)
        .await
        .expect("read");
    assert!(out.content.contains("  2000\tline 2000\n"));
    assert!(!out.content.contains("\tline 2001"));
    assert!(
        out.content
            .ends_with("… 500 more lines; read with offset=2001 to continue")
    );
}

#[tokio::test]
async fn long_lines_are_truncated() {
    let p = Project::new();
    p.file("min.js", format!("{}\nshort\n", "x".repeat(5000)));
    let out = p.ok("read", json!({"path": "min.js"})).await;
    assert!(
        out.contains("[line truncated, 3000 more characters]"),
        "{}",
        &out[..100]
    );
    assert!(out.len() < 2200, "{}", out.len());
    assert!(out.ends_with("     2\tshort"));
}

#[tokio::test]
async fn output_is_capped_at_the_limit_without_splitting_utf8() {
    let p = Project::new();
    let text: String = (0..500).map(|i| format!("{i} ñandú 🦀 ü\n")).collect();
    p.file("u.txt", &text);
    let mut ctx = p.ctx.clone();
    ctx.output_limit = 700;
    let out = p
        .tool("read")
        .execute(json!({"path": "u.txt"}), &ctx)
        .await
        .expect("read");
    assert!(out.content.len() <= 700, "{}", out.content.len());
    assert!(out.content.contains("offset="));
    assert!(!out.content.contains('\u{FFFD}'));
}

#[tokio::test]
async fn binary_files_are_refused() {
    let p = Project::new();
    p.file("img.bin", b"PNG\x00\x01\x02rest of it");
    let msg = failed(p.err("read", json!({"path": "img.bin"})).await);
    assert!(msg.contains("binary"), "{msg}");
}

#[tokio::test]
async fn missing_files_and_directories_fail_clearly() {
    let p = Project::new();
    std::fs::create_dir(p.root.join("dir")).expect("mkdir");
    let msg = failed(p.err("read", json!({"path": "nope.rs"})).await);
    assert!(
        msg.contains("nope.rs does not exist") && msg.contains("glob"),
        "{msg}"
    );
    let msg = failed(p.err("read", json!({"path": "dir"})).await);
    assert!(
        msg.contains("is a directory") && msg.contains("ls"),
        "{msg}"
    );
}

#[tokio::test]
async fn bad_ranges_are_reported() {
    let p = Project::new();
    p.file("a.txt", numbered(3));
    let msg = failed(p.err("read", json!({"path": "a.txt", "offset": 9})).await);
    assert!(
        msg.contains("past the end") && msg.contains("3 lines"),
        "{msg}"
    );
    let msg = invalid(p.err("read", json!({"path": "a.txt", "limit": 0})).await);
    assert!(msg.contains("limit"), "{msg}");
}

#[tokio::test]
async fn special_files_are_refused() {
    let p = Project::new();
    let msg = failed(p.err("read", json!({"path": "/dev/zero"})).await);
    assert!(msg.contains("not a regular file"), "{msg}");
}
