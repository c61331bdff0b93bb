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

/// The mode a plain `File::create` gets here: `0666` less the process umask (read this
/// way, the umask is never changed under the other tests).
fn created_mode() -> u32 {
    let dir = tempfile::tempdir().expect("tempdir");
    let probe = dir.path().join("probe");
    std::fs::File::create(&probe).expect("create");
    std::fs::metadata(&probe).expect("meta").mode() & 0o777
}

#[tokio::test]
async fn new_files_honour_the_umask_and_existing_files_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new();
    let expected = created_mode();
    p.run("write", json!({"path": "new.txt", "content": "x\n"}))
        .await
        .expect("write");
    let mode = std::fs::metadata(p.root.join("new.txt"))
        .expect("meta")
        .mode();
    assert_eq!(
        mode & 0o777,
        expected,
        "a new file gets 0666 less the umask, like any program's (got {:o})",
        mode & 0o777
    );

    let secret = p.file("secret.env", "A=1\n");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let script = p.file("run.sh", "echo\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o751)).expect("chmod");
    for (rel, content) in [("secret.env", "A=2\n"), ("run.sh", "echo hi\n")] {
        p.run("write", json!({"path": rel, "content": content}))
            .await
            .expect("write");
        p.run(
            "edit",
            json!({"path": rel, "old_string": content, "new_string": "changed\n"}),
        )
        .await
        .expect("edit");
    }
    let mode_of = |rel: &str| std::fs::metadata(p.root.join(rel)).expect("meta").mode() & 0o7777;
    assert_eq!(mode_of("secret.env"), 0o600);
    assert_eq!(mode_of("run.sh"), 0o751);
    assert_eq!(p.read("secret.env"), "changed\n");
}
