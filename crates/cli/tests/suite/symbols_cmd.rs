//! `cuervo symbols`: the outline per file, `--json`, ignore files and errors.

use pretty_assertions::assert_eq;
use serde_json::Value;

use super::common::Sandbox;

fn project() -> Sandbox {
    let s = Sandbox::new();
    s.write(
        "src/lib.rs",
        "//! The crate.\n\n/// A point.\npub struct Point {\n    x: i32,\n}\n\nimpl Point {\n    pub fn norm(&self) -> i32 {\n        self.x.abs()\n    }\n}\n",
    );
    s.write("tools/report.py", "class Report:\n    def render(self):\n        return ''\n\n\ndef main():\n    Report().render()\n");
    s.write("bin/deploy", "#!/bin/sh\nship() {\n  echo ok\n}\n");
    s.write("data.json", "{\"fn\": 1}\n");
    s.write(".gitignore", "target/\n");
    s.write("target/gen.rs", "fn generated() {}\n");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_an_indented_outline_per_file() {
    let s = project();
    let out = s.cuervo(&[], &["symbols"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "bin/deploy\n  function ship  lines 2-4\n\n\
         src/lib.rs\n  struct Point  lines 4-6\n  impl Point  lines 8-12\n    method norm  lines 9-11\n\n\
         tools/report.py\n  class Report  lines 1-3\n    method render  lines 2-3\n  function main  lines 6-7\n"
    );

    // Comments on request; explicit paths are printed as given.
    let out = s
        .cuervo(&[], &["symbols", "--comments", "src/lib.rs"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("src/lib.rs\n  doc_comment The crate.  lines 1-1\n"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_an_array_of_files_with_their_symbols() {
    let s = project();
    let out = s.cuervo(&[], &["symbols", "--json", "src", "tools"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let files: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    let files = files.as_array().expect("an array");
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["src/lib.rs", "tools/report.py"]);
    assert_eq!(files[0]["language"], "rust");
    let norm = &files[0]["symbols"][2];
    assert_eq!(norm["name"], "norm");
    assert_eq!(norm["kind"], "method");
    assert_eq!(norm["container"], "Point");
    assert_eq!(norm["parent"], 1);
    assert_eq!(norm["depth"], 1);
    assert_eq!(
        (norm["start_line"].as_u64(), norm["end_line"].as_u64()),
        (Some(9), Some(11))
    );
    assert_eq!(norm["signature"], "pub fn norm(&self) -> i32");
    assert_eq!(files[0]["symbols"][0]["doc"]["text"], "A point.");
    assert_eq!(files[1]["symbols"][1]["kind"], "method");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_path_is_reported_and_the_rest_still_printed() {
    let s = project();
    let out = s.cuervo(&[], &["symbols", "nope", "tools/report.py"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("tools/report.py\n  class Report"),
        "{}",
        out.stdout
    );
}
