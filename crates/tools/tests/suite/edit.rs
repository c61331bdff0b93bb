use cuervo_domain::Effect;
use serde_json::json;

use super::{Project, failed, invalid};

const SRC: &str = "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n";

#[tokio::test]
async fn replaces_a_unique_occurrence_and_returns_the_diff() {
    let p = Project::new();
    p.file("main.rs", SRC);
    let input = json!({"path": "main.rs", "old_string": "let x = 1;", "new_string": "let x = 2;"});
    let action = p.validate("edit", input.clone()).expect("validate");
    assert_eq!(action.summary, "edit main.rs");
    let out = p.run("edit", input).await.expect("edit");
    assert_eq!(p.read("main.rs"), SRC.replace("let x = 1;", "let x = 2;"));
    assert!(
        out.content.contains("-    let x = 1;\n+    let x = 2;"),
        "{}",
        out.content
    );
    let [Effect::FileModified { path, diff }] = out.effects.as_slice() else {
        panic!("effects {:?}", out.effects);
    };
    assert_eq!(path, "main.rs");
    assert_eq!(action.preview.as_deref(), Some(diff.as_str()));
}

#[tokio::test]
async fn zero_matches_say_to_read_the_file_first() {
    let p = Project::new();
    p.file("main.rs", SRC);
    let e = p
        .err(
            "edit",
            json!({"path": "main.rs", "old_string": "let x =  1;", "new_string": "y"}),
        )
        .await;
    let msg = failed(e);
    assert!(msg.contains("not found"), "{msg}");
    assert!(
        msg.contains("Read the file") && msg.contains("whitespace"),
        "{msg}"
    );
    assert_eq!(p.read("main.rs"), SRC, "file untouched");
}

#[tokio::test]
async fn many_matches_need_context_or_replace_all() {
    let p = Project::new();
    p.file("f.txt", "a = 1\nb = 1\nc = 1\n");
    let e = p
        .err(
            "edit",
            json!({"path": "f.txt", "old_string": "= 1", "new_string": "= 2"}),
        )
        .await;
    let msg = failed(e);
    assert!(msg.contains("matches 3 places"), "{msg}");
    assert!(msg.contains("replace_all"), "{msg}");
    assert_eq!(p.read("f.txt"), "a = 1\nb = 1\nc = 1\n");

    let out = p
        .run(
            "edit",
            json!({"path": "f.txt", "old_string": "= 1", "new_string": "= 2", "replace_all": true}),
        )
        .await
        .expect("replace_all");
    assert_eq!(p.read("f.txt"), "a = 2\nb = 2\nc = 2\n");
    assert!(out.content.contains("3 replacements"), "{}", out.content);
}

#[tokio::test]
async fn identical_or_empty_strings_are_invalid() {
    let p = Project::new();
    p.file("f.txt", "x\n");
    let msg = invalid(
        p.err(
            "edit",
            json!({"path": "f.txt", "old_string": "x", "new_string": "x"}),
        )
        .await,
    );
    assert!(msg.contains("identical"), "{msg}");
    let msg = invalid(
        p.err(
            "edit",
            json!({"path": "f.txt", "old_string": "", "new_string": "x"}),
        )
        .await,
    );
    assert!(msg.contains("empty") && msg.contains("write"), "{msg}");
}

#[tokio::test]
async fn missing_files_point_to_write() {
    let p = Project::new();
    let msg = failed(
        p.err(
            "edit",
            json!({"path": "nope.txt", "old_string": "a", "new_string": "b"}),
        )
        .await,
    );
    assert!(
        msg.contains("does not exist") && msg.contains("write"),
        "{msg}"
    );
}

#[tokio::test]
async fn crlf_files_accept_lf_old_strings() {
    let p = Project::new();
    p.file("w.txt", "one\r\ntwo\r\nthree\r\n");
    p.run(
        "edit",
        json!({"path": "w.txt", "old_string": "one\ntwo", "new_string": "uno\ndos"}),
    )
    .await
    .expect("edit");
    assert_eq!(p.read("w.txt"), "uno\r\ndos\r\nthree\r\n");
}

#[tokio::test]
async fn binary_files_are_not_edited() {
    let p = Project::new();
    p.file("b.bin", b"ab\x00cd");
    let msg = failed(
        p.err(
            "edit",
            json!({"path": "b.bin", "old_string": "ab", "new_string": "x"}),
        )
        .await,
    );
    assert!(msg.contains("binary"), "{msg}");
}
