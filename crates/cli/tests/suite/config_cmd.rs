//! `cuervo config`, `--version`, usage errors and the first-run guide.

use super::common::Sandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_and_usage_exit_codes() {
    let sandbox = Sandbox::new();
    let out = sandbox.cuervo(&[], &["--version"]).await;
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout.trim(),
        format!("cuervo {}", env!("CARGO_PKG_VERSION"))
    );
    let out = sandbox.cuervo(&[], &["--no-such-flag"]).await;
    assert_eq!(out.code, 2);
    let out = sandbox
        .cuervo(&[], &["-p", "x", "--permission-mode", "yolo"])
        .await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("full-auto"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_show_masks_keys_and_reports_layers() {
    let sandbox = Sandbox::new();
    sandbox
        .home
        .write_config("providers:\n  openai:\n    api_key: sk-from-file-123\n");
    sandbox.write(".cuervo/config.yml", "max_turns: 7\n");
    let env = vec![("CUERVO_MODEL".to_owned(), "gpt-4.1-mini".to_owned())];
    let out = sandbox
        .cuervo(&env, &["config", "show", "--max-turns", "9"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("sk-from-file-123"), "{}", out.stdout);
    assert!(out.stdout.contains("<redacted>"));
    assert!(
        out.stdout.contains("max_turns: 9"),
        "flags beat the project file: {}",
        out.stdout
    );
    assert!(out.stdout.contains("model: gpt-4.1-mini"), "{}", out.stdout);

    let out = sandbox.cuervo(&[], &["config", "path"]).await;
    assert!(
        out.stdout.contains(".cuervo/config.yml (exists)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("cuervo/config.yml (exists)"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_file_names_path_key_and_line() {
    let sandbox = Sandbox::new();
    sandbox.write(".cuervo/config.yml", "permissions:\n  mode: sometimes\n");
    let out = sandbox.cuervo(&[], &["-p", "hi"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(".cuervo/config.yml"), "{}", out.stderr);
    assert!(out.stderr.contains("permissions.mode"), "{}", out.stderr);
    assert!(out.stderr.contains("line 2"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_schema_is_json() {
    let sandbox = Sandbox::new();
    let out = sandbox.cuervo(&[], &["config", "schema"]).await;
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).expect("schema is JSON");
    assert!(schema["properties"]["permissions"].is_object());
}
