use std::os::unix::fs::MetadataExt;

use cuervo_domain::Effect;
use serde_json::json;

use super::Project;

#[tokio::test]
async fn creates_files_and_parent_directories() {
    let p = Project::new();
    let action = p
        .validate(
            "write",
            json!({"path": "a/b/new.txt", "content": "hello\n"}),
        )
        .expect("validate");
    assert_eq!(action.summary, "create a/b/new.txt");
    let preview = action.preview.expect("preview");
    assert!(preview.contains("+hello"), "{preview}");
    let out = p
        .run(
            "write",
            json!({"path": "a/b/new.txt", "content": "hello\n"}),
        )
        .await
        .expect("write");
    assert_eq!(p.read("a/b/new.txt"), "hello\n");
    assert!(
        out.content.contains("Created a/b/new.txt"),
        "{}",
        out.content
    );
    assert!(!out.is_error);
    match out.effects.as_slice() {
        [Effect::FileModified { path, diff }] => {
            assert_eq!(path, "a/b/new.txt");
            assert!(
                diff.contains("+++ b/a/b/new.txt") && diff.contains("+hello"),
                "{diff}"
            );
        }
        other => panic!("unexpected effects {other:?}"),
    }
}

#[tokio::test]
async fn overwrites_with_a_diff_of_old_to_new() {
    let p = Project::new();
    p.file("f.txt", "one\ntwo\nthree\n");
    let input = json!({"path": "f.txt", "content": "one\n2\nthree\n"});
    let action = p.validate("write", input.clone()).expect("validate");
    assert_eq!(action.summary, "write f.txt");
    let out = p.run("write", input).await.expect("write");
    let Effect::FileModified { diff, .. } = &out.effects[0] else {
        panic!("expected FileModified");
    };
    assert_eq!(action.preview.as_deref(), Some(diff.as_str()));
    assert!(diff.contains("-two\n+2\n"), "{diff}");
    assert!(diff.contains(" one\n"), "context lines: {diff}");
    assert_eq!(p.read("f.txt"), "one\n2\nthree\n");
}

#[tokio::test]
async fn writes_atomically_by_renaming_a_temporary_file() {
    let p = Project::new();
    let path = p.file("f.txt", "old content\n");
    // Another handle on the old file keeps seeing the old content: the new file is a new
    // inode renamed into place, never the old one truncated and rewritten.
    let old_inode = std::fs::metadata(&path).expect("meta").ino();
    let held = std::fs::File::open(&path).expect("open");
    p.run(
        "write",
        json!({"path": "f.txt", "content": "new content\n"}),
    )
    .await
    .expect("write");
    assert_ne!(std::fs::metadata(&path).expect("meta").ino(), old_inode);
    let mut still = String::new();
    std::io::Read::read_to_string(&mut &held, &mut still).expect("read old");
    assert_eq!(still, "old content\n");
    assert_eq!(p.read("f.txt"), "new content\n");
    let leftovers: Vec<_> = std::fs::read_dir(&p.root)
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["f.txt"], "no temporary files left behind");
}

#[tokio::test]
async fn writing_through_a_symlink_keeps_the_link() {
    let p = Project::new();
    p.file("real.txt", "a\n");
    std::os::unix::fs::symlink("real.txt", p.root.join("link.txt")).expect("symlink");
    let out = p
        .run("write", json!({"path": "link.txt", "content": "b\n"}))
        .await
        .expect("write");
    assert!(out.content.contains("real.txt"), "{}", out.content);
    assert!(
        std::fs::symlink_metadata(p.root.join("link.txt"))
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(p.read("real.txt"), "b\n");
}

#[tokio::test]
async fn refuses_to_write_over_a_directory() {
    let p = Project::new();
    std::fs::create_dir(p.root.join("d")).expect("mkdir");
    let e = p.err("write", json!({"path": "d", "content": "x"})).await;
    assert!(super::failed(e).contains("is a directory"));
}
