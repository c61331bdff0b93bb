//! API keys: `cuervo auth` stores them outside the environment and config, runs use them,
//! and no key ever lands in the database, the audit log, exports or `config show`.

use cuervo_testkit::{Script, Turn};
use serde_json::json;

use super::common::{Sandbox, last_tool_result, mock};
use super::sessions::db_path;

const KEY: &str = "sk-ant-api03-TESTKEY-do-not-leak-0123456789abcdefXYZ";

async fn cuervo_with_stdin(
    sandbox: &Sandbox,
    env: &[(String, String)],
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cuervo"))
        .args(args)
        .current_dir(sandbox.project.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(sandbox.home.envs())
        .envs(env.iter().cloned())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cuervo starts");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    let out = child.wait_with_output().await.expect("cuervo ran");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_status_use_logout() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("hello with a stored key")])).await;
    // The mock's address, but no key in the environment.
    let env = vec![("ANTHROPIC_BASE_URL".to_owned(), server.anthropic_base_url())];

    let (code, stdout, stderr) = cuervo_with_stdin(
        &sandbox,
        &env,
        &["auth", "login", "anthropic"],
        &format!("{KEY}\n"),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    // No keychain service runs in the sandbox: the private file, and it says so.
    let file = sandbox
        .home
        .config_home()
        .join("cuervo")
        .join("credentials.json");
    assert!(stdout.contains(&file.display().to_string()), "{stdout}");
    assert!(stderr.contains("no OS keychain"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("credentials file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let status = sandbox.cuervo(&env, &["auth", "status"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("anthropic    file "),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("openai       no key"),
        "{}",
        status.stdout
    );
    assert!(!status.stdout.contains(KEY));
    let with_env = [("OPENAI_API_KEY".to_owned(), "sk-from-env-123456".to_owned())];
    let status = sandbox.cuervo(&with_env, &["auth", "status"]).await;
    assert!(
        status
            .stdout
            .contains("openai       environment variable OPENAI_API_KEY"),
        "{}",
        status.stdout
    );

    // A run uses the stored key.
    let out = sandbox.cuervo(&env, &["-p", "hi"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(server.requests()[0].header("x-api-key"), Some(KEY));

    let config = sandbox.cuervo(&env, &["config", "show"]).await;
    assert!(!config.stdout.contains(KEY), "{}", config.stdout);

    let out = sandbox.cuervo(&env, &["auth", "logout", "anthropic"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let status = sandbox.cuervo(&env, &["auth", "status"]).await;
    assert!(
        status.stdout.contains("anthropic    no key"),
        "{}",
        status.stdout
    );
    assert!(!std::fs::read_to_string(&file).expect("index").contains(KEY));
    assert_eq!(
        sandbox
            .cuervo(&env, &["auth", "logout", "anthropic"])
            .await
            .code,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_model_prints_is_kept_out_of_every_store() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::tool_call(
            "bash",
            json!({"command": "echo the key is $ANTHROPIC_API_KEY"}),
        ),
        Turn::text(format!("Your key is {KEY}.")),
    ]))
    .await;
    let env = vec![
        ("ANTHROPIC_BASE_URL".to_owned(), server.anthropic_base_url()),
        ("ANTHROPIC_API_KEY".to_owned(), KEY.to_owned()),
    ];
    let out = sandbox
        .cuervo(
            &env,
            &["-p", "show my key", "--permission-mode", "full-auto"],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The command never sees the key (the bash tool's environment is scrubbed) and the
    // model is never sent it; the model's own answer still carries it through the run, so
    // the checks below can fail...
    let result = last_tool_result(&server.requests()[1]);
    assert!(!result.content.contains(KEY), "{}", result.content);
    assert!(out.stdout.contains(KEY), "{}", out.stdout);

    // ...but not into the database files, the audit log or the exports.
    let dir = db_path(&sandbox).parent().expect("data dir").to_owned();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("data dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "the key is in {}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 2, "the database and its checkpoint were checked");
    let tail = sandbox
        .cuervo(&env, &["audit", "tail", "-n", "100", "--json"])
        .await;
    assert!(tail.stdout.contains("bash_executed"), "{}", tail.stdout);
    assert!(!tail.stdout.contains(KEY), "{}", tail.stdout);
    let list = sandbox.cuervo(&env, &["sessions", "list", "--json"]).await;
    let id = list.json_lines()[0]["id"].as_str().expect("id").to_owned();
    let export = sandbox
        .cuervo(&env, &["sessions", "export", &id, "--format", "json"])
        .await;
    assert!(export.stdout.contains("[REDACTED]"), "{}", export.stdout);
    assert!(!export.stdout.contains(KEY));
}

/// A rejected key is named by where it really came from: a key stored with `cuervo auth
/// login` sends the user to the credentials file, not to an environment variable that
/// was never set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_key_names_where_it_came_from() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::status_with_message(
        401,
        "invalid x-api-key",
    )]))
    .await;
    let env = vec![("ANTHROPIC_BASE_URL".to_owned(), server.anthropic_base_url())];
    let (code, _, stderr) = cuervo_with_stdin(
        &sandbox,
        &env,
        &["auth", "login", "anthropic"],
        &format!("{KEY}\n"),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let out = sandbox.cuervo(&env, &["-p", "hi"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let file = sandbox
        .home
        .config_home()
        .join("cuervo")
        .join("credentials.json");
    assert!(
        out.stderr
            .contains(&format!("the key in use (file {})", file.display())),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(KEY), "{}", out.stderr);
}

/// `auth status` used to say `no key` for the built-in `local` and `ollama` providers, as
/// if something were missing; they take none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_status_says_not_needed_for_providers_without_a_key() {
    let sandbox = Sandbox::new();
    // A custom OpenAI-compatible endpoint without `api_key_env` needs none either.
    sandbox.home.write_config(
        "providers:\n  lan:\n    kind: openai\n    base_url: http://127.0.0.1:9/v1\n",
    );
    let status = sandbox.cuervo(&[], &["auth", "status"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    for line in [
        "local        not needed",
        "ollama       not needed",
        "lan          not needed",
    ] {
        assert!(
            status.stdout.contains(line),
            "{line:?} in {}",
            status.stdout
        );
    }
    // Hosted providers still say what is missing.
    assert!(
        status.stdout.contains("openai       no key"),
        "{}",
        status.stdout
    );
    assert!(
        !status.stdout.contains("local        no key"),
        "{}",
        status.stdout
    );
}
