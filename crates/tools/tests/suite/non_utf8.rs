//! File names that are not UTF-8: the listing tools print them in a form the other tools
//! accept back (`\xNN` for each byte outside a UTF-8 character), instead of a lossy
//! `U+FFFD` that names no file.
#![cfg(unix)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use pretty_assertions::assert_eq;
use serde_json::json;

use super::Project;

/// `café.txt` saved by a Latin-1 system.
const LATIN1: &[u8] = b"caf\xe9.txt";
const SHOWN: &str = r"caf\xE9.txt";

fn latin1_file(p: &Project, dir: &str, content: &str) -> std::path::PathBuf {
    let parent = p.root.join(dir);
    std::fs::create_dir_all(&parent).expect("mkdir");
    let path = parent.join(OsStr::from_bytes(LATIN1));
    std::fs::write(&path, content).expect("write a non-UTF-8 name");
    path
}

#[tokio::test]
async fn a_non_utf8_file_name_printed_by_glob_ls_and_grep_reads_back() {
    let p = Project::new();
    let real = latin1_file(&p, ".", "hello from latin-1\n");

    let globbed = p.ok("glob", json!({"pattern": "*.txt"})).await;
    assert_eq!(globbed, SHOWN);
    let listed = p.ok("ls", json!({})).await;
    assert_eq!(listed, SHOWN);
    let grepped = p.ok("grep", json!({"pattern": "latin"})).await;
    assert_eq!(grepped, SHOWN);
    let lines = p
        .ok(
            "grep",
            json!({"pattern": "latin", "output_mode": "content"}),
        )
        .await;
    assert_eq!(lines, format!("{SHOWN}:1:hello from latin-1"));

    // Exactly the printed name reads the file back.
    for name in [globbed, listed, grepped] {
        let out = p.ok("read", json!({"path": name})).await;
        assert_eq!(out, "     1\thello from latin-1");
    }
    let action = p
        .validate("read", json!({"path": SHOWN}))
        .expect("validate");
    assert_eq!(action.target.as_deref(), Some(SHOWN));

    // And edits and overwrites the same file, not a new one called `caf\xE9.txt`.
    p.ok(
        "edit",
        json!({"path": SHOWN, "old_string": "hello", "new_string": "hola"}),
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(&real).expect("read"),
        "hola from latin-1\n"
    );
    p.ok("write", json!({"path": SHOWN, "content": "adiós\n"}))
        .await;
    assert_eq!(std::fs::read_to_string(&real).expect("read"), "adiós\n");
    assert_eq!(std::fs::read_dir(&p.root).expect("ls").count(), 1);
}

#[tokio::test]
async fn a_non_utf8_directory_name_reads_back_in_a_path() {
    let p = Project::new();
    let dir = p.root.join(OsStr::from_bytes(b"d\xff"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("a.rs"), "fn a() {}\n").expect("write");
    latin1_file(&p, "plain", "x\n");

    assert_eq!(p.ok("ls", json!({})).await, "d\\xFF/\nplain/");
    assert_eq!(
        p.ok("glob", json!({"pattern": "**/*.rs"})).await,
        r"d\xFF/a.rs"
    );
    assert_eq!(p.ok("ls", json!({"path": r"d\xFF"})).await, "a.rs");
    assert_eq!(
        p.ok("read", json!({"path": r"d\xFF/a.rs"})).await,
        "     1\tfn a() {}"
    );
    assert_eq!(
        p.ok("glob", json!({"pattern": "*", "path": "plain"})).await,
        format!("plain/{SHOWN}")
    );
    // A file created inside such a directory lands in it.
    p.ok(
        "write",
        json!({"path": r"d\xFF/b.rs", "content": "fn b() {}\n"}),
    )
    .await;
    assert!(dir.join("b.rs").exists());
}

#[tokio::test]
async fn a_real_name_that_looks_escaped_wins_over_the_decoded_one() {
    let p = Project::new();
    latin1_file(&p, ".", "latin-1\n");
    // A file literally called `caf\xE9.txt`, backslash and all: valid UTF-8, printed as
    // it is, and the text means it.
    p.file(SHOWN, "literal\n");
    let out = p.ok("read", json!({"path": SHOWN})).await;
    assert_eq!(out, "     1\tliteral");
    // Text that is not the exact printed form of a non-UTF-8 name decodes to nothing.
    for not_shown in [
        r"caf\xe9.TXT",
        r"caf\x.txt",
        r"caf\x41.txt",
        r"caf\xC3\xA9.txt",
    ] {
        let e = p.err("read", json!({"path": not_shown})).await;
        assert!(e.to_string().contains("not"), "{not_shown}: {e}");
    }
}
