//! `cuervo index`, `cuervo index status`, `cuervo search` and the agent's
//! `codebase_search` tool, end to end: with the real local embedding model (offline, no
//! key) and with a provider's embeddings API (the mock server's).

use cuervo_testkit::{Script, Turn};
use serde_json::{Value, json};

use super::common::{Sandbox, Wire, last_tool_result, mock};

/// all-MiniLM-L6-v2, unpacked by `scripts/fetch-models`.
fn minilm() -> String {
    super::common::fetched_model("all-MiniLM-L6-v2")
        .display()
        .to_string()
}

const RETRY: &str = "\
/// How long to wait before trying a failed request again.
pub fn backoff(attempt: u32) -> std::time::Duration {
    let base = 100u64 << attempt.min(10);
    std::time::Duration::from_millis(base)
}
";

const PARSER: &str = "\
def parse_config(text):
    \"\"\"Read the settings file into a dictionary of keys and values.\"\"\"
    settings = {}
    for line in text.splitlines():
        key, _, value = line.partition('=')
        settings[key.strip()] = value.strip()
    return settings
";

const FIELDS: [&str; 7] = [
    "chunk_name",
    "chunk_type",
    "end_line",
    "path",
    "score",
    "snippet",
    "start_line",
];

fn project() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write("src/retry.rs", RETRY);
    sandbox.write("tools/config.py", PARSER);
    sandbox.write("README.md", "# Demo\n\nA project to search.\n");
    sandbox
}

fn hits(stdout: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
        .as_array()
        .expect("a JSON array")
        .clone()
}

/// Every hit's lines are the file's lines now: the snippet starts with line `start_line`.
fn assert_lines_match_disk(sandbox: &Sandbox, hits: &[Value]) {
    for hit in hits {
        let mut keys: Vec<&str> = hit
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, FIELDS, "{hit}");
        let text = sandbox.read(hit["path"].as_str().expect("path"));
        let lines: Vec<&str> = text.lines().collect();
        let start = hit["start_line"].as_u64().expect("start") as usize;
        let end = hit["end_line"].as_u64().expect("end") as usize;
        assert!(start >= 1 && start <= end && end <= lines.len(), "{hit}");
        let first = hit["snippet"].as_str().expect("snippet").lines().next();
        assert_eq!(first, Some(lines[start - 1]), "{hit}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_and_search_offline_with_the_local_model_and_stay_current() {
    let sandbox = project();
    let out = sandbox.cuervo(&[], &["search", "retry delay"]).await;
    assert_eq!(out.code, 1, "no embedding model yet: {}", out.stdout);
    assert!(
        out.stderr.contains("cuervo models import"),
        "says how to get one: {}",
        out.stderr
    );
    let out = sandbox
        .cuervo(&[], &["models", "import", &minilm(), "--name", "minilm"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("imported minilm (embedding, 87.4 MB): the codebase index embeds with it"),
        "{}",
        out.stdout
    );

    let out = sandbox.cuervo(&[], &["index", "status"]).await;
    assert!(out.stdout.contains("has no index yet"), "{}", out.stdout);
    let out = sandbox.cuervo(&[], &["index"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("indexed 3 changed files") && out.stdout.contains("local/minilm@"),
        "one summary line off a terminal: {}",
        out.stdout
    );

    let out = sandbox
        .cuervo(
            &[],
            &["search", "how long to wait before retrying", "--json"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let found = hits(&out.stdout);
    assert_eq!(found[0]["path"], "src/retry.rs", "{found:?}");
    assert_eq!(found[0]["chunk_name"], "backoff");
    assert_eq!(
        (
            found[0]["start_line"].as_u64(),
            found[0]["end_line"].as_u64()
        ),
        (Some(1), Some(5))
    );
    assert_lines_match_disk(&sandbox, &found);

    // Filters: a path glob and -k.
    let out = sandbox
        .cuervo(
            &[],
            &[
                "search", "settings", "--path", "tools/**", "-k", "1", "--json",
            ],
        )
        .await;
    let found = hits(&out.stdout);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["path"], "tools/config.py");

    // Edit, add, delete: the next search re-indexes first and shows today's lines.
    sandbox.write(
        "src/retry.rs",
        &format!("const LIMIT: u32 = 10;\n\n{RETRY}"),
    );
    std::fs::remove_file(sandbox.path("tools/config.py")).expect("delete");
    sandbox.write("lib/sum.py", "def total(xs):\n    return sum(xs)\n");
    let out = sandbox
        .cuervo(
            &[],
            &[
                "search",
                "wait before retrying a request",
                "--json",
                "-k",
                "5",
            ],
        )
        .await;
    let found = hits(&out.stdout);
    assert_lines_match_disk(&sandbox, &found);
    let backoff = found
        .iter()
        .find(|h| h["chunk_name"] == "backoff")
        .expect("still found");
    // The function moved to lines 3-7 (small neighbours may share its chunk).
    assert!(
        backoff["start_line"].as_u64() <= Some(3) && backoff["end_line"] == 7,
        "the lines moved: {backoff}"
    );
    assert!(
        found.iter().all(|h| h["path"] != "tools/config.py"),
        "a deleted file is never returned: {found:?}"
    );

    let out = sandbox.cuervo(&[], &["index", "status", "--json"]).await;
    let status: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(status["indexed"], true);
    assert_eq!(status["files"], 3, "{status}");
    assert_eq!(status["dimension"], 384);
    assert_eq!(status["changed_files"], 0);
    let dir = status["dir"].as_str().expect("dir");
    assert!(
        !dir.starts_with(&sandbox.project.path().display().to_string()),
        "the index lives outside the repository: {dir}"
    );

    // Text output: location, kind and name, then the first lines.
    let out = sandbox
        .cuervo(&[], &["search", "sum of a list", "-k", "1"])
        .await;
    assert!(
        out.stdout.starts_with("lib/sum.py:1-2  function total"),
        "{}",
        out.stdout
    );
}

/// The user's config may embed with a provider; the vectors come from its API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_embeds_when_the_user_configures_it() {
    let server = mock(Script::new(vec![])).await;
    let sandbox = project();
    sandbox.user_config("index:\n  embedder: openai\n");
    let env = Wire::OpenAi.env(&server);
    let out = sandbox.cuervo(&env, &["index"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("(openai/"), "{}", out.stdout);
    let embedded = server
        .side_requests()
        .iter()
        .filter(|r| r.path.ends_with("/embeddings"))
        .count();
    assert!(embedded >= 2, "the probe and the chunks: {embedded}");
    let out = sandbox
        .cuervo(&env, &["search", "parse_config", "--json", "-k", "1"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(hits(&out.stdout)[0]["path"], "tools/config.py");
}

/// A repository cannot make Cuervo send its code to an embeddings API by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_project_cannot_send_its_code_to_an_embedding_provider() {
    let server = mock(Script::new(vec![])).await;
    let sandbox = project();
    sandbox.write(".cuervo/config.yml", "index:\n  embedder: openai\n");
    let out = sandbox.cuervo(&Wire::OpenAi.env(&server), &["index"]).await;
    assert!(
        server
            .side_requests()
            .iter()
            .all(|r| !r.path.ends_with("/embeddings")),
        "nothing was embedded remotely"
    );
    // Left to the local default, which is not installed here.
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("no local embedding model"),
        "{}",
        out.stderr
    );
}

/// With an index, the agent gets `codebase_search`; its results reach the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_searches_the_index_with_codebase_search() {
    let sandbox = project();
    sandbox.user_config("index:\n  embedder: openai\n");
    let before = mock(Script::new(vec![Turn::text("no index here")])).await;
    let out = sandbox
        .cuervo(
            &Wire::OpenAi.env(&before),
            &["-p", "where is the config read?"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tools = before.requests()[0].tool_names();
    assert!(tools.contains(&"grep".to_owned()), "{tools:?}");
    assert!(
        !tools.contains(&"codebase_search".to_owned()),
        "no index, no tool: {tools:?}"
    );

    let server = mock(Script::new(vec![
        Turn::tool_call(
            "codebase_search",
            json!({"query": "reading the settings file", "k": 2}),
        ),
        Turn::text("parse_config in tools/config.py reads it."),
    ]))
    .await;
    let env = Wire::OpenAi.env(&server);
    let out = sandbox.cuervo(&env, &["index"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = sandbox
        .cuervo(&env, &["-p", "where is the config read?"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = server.requests();
    assert!(
        requests[0]
            .tool_names()
            .contains(&"codebase_search".to_owned())
    );
    let result = last_tool_result(requests.last().expect("a request"));
    assert!(!result.is_error, "{}", result.content);
    assert!(
        result
            .content
            .contains("tools/config.py:1-7  function parse_config"),
        "{}",
        result.content
    );
}

/// `cuervo index --watch` re-indexes a file soon after it is saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reindexes_a_saved_file() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let server = mock(Script::new(vec![])).await;
    let sandbox = project();
    sandbox.user_config("index:\n  embedder: openai\n");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cuervo"))
        .args(["index", "--watch"])
        .current_dir(sandbox.project.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(sandbox.home.envs())
        .envs(Wire::OpenAi.env(&server))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cuervo index --watch starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let within = std::time::Duration::from_secs(60);
    let first = tokio::time::timeout(within, stdout.next_line()).await;
    let first = first
        .expect("the first index finished")
        .expect("read")
        .unwrap_or_default();
    assert!(first.starts_with("indexed 3 changed files"), "{first}");
    let watching = tokio::time::timeout(within, stderr.next_line()).await;
    assert!(
        watching
            .expect("watching")
            .expect("read")
            .unwrap_or_default()
            .starts_with("watching "),
    );

    sandbox.write("lib/sum.py", "def total(xs):\n    return sum(xs)\n");
    let line = tokio::time::timeout(within, stdout.next_line()).await;
    let line = line
        .expect("a re-index within a minute")
        .expect("read")
        .unwrap_or_default();
    assert!(line.starts_with("re-indexed 1 file, removed 0"), "{line}");
    child.kill().await.expect("stop the watcher");

    let out = sandbox
        .cuervo(&Wire::OpenAi.env(&server), &["index", "status", "--json"])
        .await;
    let status: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(status["files"], 4, "{status}");
}
