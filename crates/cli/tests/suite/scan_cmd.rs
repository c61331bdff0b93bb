//! `cuervo grep` and `cuervo files`: ripgrep-like output and exit codes.

use pretty_assertions::assert_eq;

use super::common::Sandbox;

fn project() -> Sandbox {
    let s = Sandbox::new();
    s.write("src/main.rs", "fn main() {\n    let Socket = 1;\n}\n");
    s.write("src/lib.rs", "pub mod socket;\n// sockets are fun\n");
    s.write("README.md", "The socket layer.\nSOCKET in caps.\n");
    s.write(".gitignore", "target/\n");
    s.write("target/gen.rs", "socket\n");
    s.write(".hidden/h.rs", "socket\n");
    s
}

async fn run(s: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = s.cuervo(&[], args).await;
    (out.code, out.stdout, out.stderr)
}

fn sorted_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grep_prints_path_line_text_and_exits_like_ripgrep() {
    let s = project();
    let (code, out, err) = run(&s, &["grep", "socket", "--sort", "path"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "README.md:1:The socket layer.\nsrc/lib.rs:1:pub mod socket;\nsrc/lib.rs:2:// sockets are fun\n"
    );
    // Nothing found: 1, and nothing printed.
    let (code, out, _) = run(&s, &["grep", "zebra"]).await;
    assert_eq!((code, out.as_str()), (1, ""));
    // A bad pattern: 2, with the reason on stderr.
    let (code, out, err) = run(&s, &["grep", "a("]).await;
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("invalid regular expression"), "{err}");
    // A missing path is an error too, even when something else matched.
    let (code, out, err) = run(&s, &["grep", "socket", "README.md", "nope"]).await;
    assert_eq!(code, 2);
    assert!(out.contains("README.md:1:"), "{out}");
    assert!(err.contains("nope"), "{err}");
    // -q: the status only.
    let (code, out, _) = run(&s, &["grep", "-q", "socket"]).await;
    assert_eq!((code, out.as_str()), (0, ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grep_flags_for_case_words_and_literals() {
    let s = project();
    let count = |out: &str| out.lines().count();
    assert_eq!(count(&run(&s, &["grep", "-i", "socket"]).await.1), 5);
    assert_eq!(count(&run(&s, &["grep", "-S", "socket"]).await.1), 5);
    assert_eq!(
        run(&s, &["grep", "-S", "Socket"]).await.1,
        "src/main.rs:2:    let Socket = 1;\n"
    );
    assert_eq!(count(&run(&s, &["grep", "-i", "-w", "socket"]).await.1), 4);
    assert_eq!(
        run(&s, &["grep", "-F", "main()"]).await.1,
        "src/main.rs:1:fn main() {\n"
    );
    // A single file: no path prefix, like ripgrep; -N drops line numbers.
    assert_eq!(
        run(&s, &["grep", "-N", "mod", "src/lib.rs"]).await.1,
        "pub mod socket;\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grep_context_types_globs_and_limits() {
    let s = project();
    s.write("ctx.txt", "a\nhit 1\nb\nc\nd\ne\nhit 2\nf\n");
    let (_, out, _) = run(&s, &["grep", "-C", "1", "hit", "ctx.txt"]).await;
    assert_eq!(out, "1-a\n2:hit 1\n3-b\n--\n6-e\n7:hit 2\n8-f\n");
    let (_, out, _) = run(&s, &["grep", "-A", "1", "-B", "0", "hit 2", "ctx.txt"]).await;
    assert_eq!(out, "7:hit 2\n8-f\n");
    let (_, out, _) = run(&s, &["grep", "-i", "socket", "-t", "md"]).await;
    assert_eq!(
        sorted_lines(&out),
        [
            "README.md:1:The socket layer.",
            "README.md:2:SOCKET in caps."
        ]
    );
    let (_, out, _) = run(
        &s,
        &[
            "grep", "-i", "socket", "-g", "!*.md", "-l", "--sort", "path",
        ],
    )
    .await;
    assert_eq!(out, "src/lib.rs\nsrc/main.rs\n");
    let (_, out, _) = run(&s, &["grep", "socket", "--max-count", "1", "src/lib.rs"]).await;
    assert_eq!(out, "1:pub mod socket;\n");
    let (_, out, _) = run(&s, &["grep", "-c", "-i", "socket", "--sort", "path"]).await;
    assert_eq!(out, "README.md:2\nsrc/lib.rs:2\nsrc/main.rs:1\n");
    let (code, out, _) = run(&s, &["grep", r"main\(\) \{\n\s+let", "src"]).await;
    assert_eq!((code, out.as_str()), (2, ""));
    let (code, out, _) = run(&s, &["grep", "-U", r"main\(\) \{\n\s+let", "src"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "src/main.rs:1:fn main() {\nsrc/main.rs:2:    let Socket = 1;\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grep_hidden_ignored_and_global_excludes() {
    let s = project();
    let files = |out: &str| {
        let mut v: Vec<String> = out.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    let (_, out, _) = run(&s, &["grep", "-l", "socket"]).await;
    assert_eq!(files(&out), ["README.md", "src/lib.rs"]);
    let (_, out, _) = run(&s, &["grep", "-l", "socket", "--hidden"]).await;
    assert_eq!(files(&out), [".hidden/h.rs", "README.md", "src/lib.rs"]);
    let (_, out, _) = run(&s, &["grep", "-l", "socket", "--no-ignore"]).await;
    assert_eq!(files(&out), ["README.md", "src/lib.rs", "target/gen.rs"]);
    // git's global excludes file ($XDG_CONFIG_HOME/git/ignore) and .cuervoignore.
    let global = s.home.config_home().join("git/ignore");
    std::fs::create_dir_all(global.parent().unwrap()).unwrap();
    std::fs::write(&global, "README.md\n").unwrap();
    s.write(".cuervoignore", "src/lib.rs\n");
    let (code, out, _) = run(&s, &["grep", "-l", "socket"]).await;
    assert_eq!((code, out.as_str()), (1, ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grep_json_has_one_object_per_line() {
    let s = project();
    let out = s
        .cuervo(&[], &["grep", "--json", "-w", "socket", "src"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    let m = &lines[0];
    assert_eq!(m["type"], "match");
    assert_eq!(m["data"]["path"]["text"], "src/lib.rs");
    assert_eq!(m["data"]["line_number"], 1);
    assert_eq!(m["data"]["lines"]["text"], "pub mod socket;\n");
    assert_eq!(
        m["data"]["submatches"],
        serde_json::json!([{"match": {"text": "socket"}, "start": 8, "end": 14}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_lists_paths_with_globs() {
    let s = project();
    s.write("web/app.ts", "");
    s.write("web/app.test.ts", "");
    let (code, out, _) = run(&s, &["files", "--sort", "path"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "README.md\nsrc/lib.rs\nsrc/main.rs\nweb/app.test.ts\nweb/app.ts\n"
    );
    let (_, out, _) = run(&s, &["files", "*.{rs,md}", "--sort", "path"]).await;
    assert_eq!(out, "README.md\nsrc/lib.rs\nsrc/main.rs\n");
    let (_, out, _) = run(&s, &["files", "*.ts", "-g", "!*.test.*"]).await;
    assert_eq!(out, "web/app.ts\n");
    let (_, out, _) = run(&s, &["files", "--sort", "path", "--limit", "2"]).await;
    assert_eq!(out, "README.md\nsrc/lib.rs\n");
    // GLOB first, then the paths to list.
    let (_, out, _) = run(&s, &["files", "*", "src", "--sort", "path"]).await;
    assert_eq!(out, "src/lib.rs\nsrc/main.rs\n");
    let (_, out, _) = run(&s, &["files", "-t", "markdown", "--sort", "path"]).await;
    assert_eq!(out, "README.md\n");
    let (code, out, _) = run(&s, &["files", "*.py"]).await;
    assert_eq!((code, out.as_str()), (1, ""));
    let (code, _, err) = run(&s, &["files", "-t", "klingon"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("klingon"), "{err}");
}
