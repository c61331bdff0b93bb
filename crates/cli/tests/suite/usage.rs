//! Settings that make no sense are usage errors (exit 2, naming the setting, the allowed
//! range and where the value came from), never silently adjusted.

use cuervo_testkit::{Script, Turn};

use super::common::{Output, Sandbox, Wire, mock};

fn assert_usage_error(out: &Output, needles: &[&str]) {
    assert_eq!(out.code, 2, "a usage error exits 2: {}", out.stderr);
    for needle in needles {
        assert!(out.stderr.contains(needle), "{needle:?} in {}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_max_turns_from_the_flag_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("never asked")])).await;
    let out = sandbox
        .cuervo(
            &Wire::Anthropic.env(&server),
            &["-p", "hi", "--max-turns", "0"],
        )
        .await;
    assert_usage_error(&out, &["max_turns must be at least 1", "--max-turns"]);
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_max_tokens_from_the_environment_or_a_file_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("never asked")])).await;
    let mut env = Wire::Anthropic.env(&server);
    env.push(("CUERVO_MAX_TOKENS".into(), "0".into()));
    let out = sandbox.cuervo(&env, &["-p", "hi"]).await;
    assert_usage_error(
        &out,
        &["max_tokens must be at least 1", "CUERVO_MAX_TOKENS"],
    );

    let file = sandbox.home.write_config("max_tokens: 0\nmax_turns: 0\n");
    let out = sandbox
        .cuervo(&Wire::Anthropic.env(&server), &["-p", "hi"])
        .await;
    assert_usage_error(
        &out,
        &[
            "max_tokens must be at least 1",
            "max_turns must be at least 1",
            &file.display().to_string(),
        ],
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temperature_outside_0_to_2_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("fine")])).await;
    for bad in ["2.5", "-0.1", ".nan"] {
        sandbox.home.write_config(&format!("temperature: {bad}\n"));
        let out = sandbox
            .cuervo(&Wire::Anthropic.env(&server), &["-p", "hi"])
            .await;
        assert_usage_error(&out, &["temperature must be between 0.0 and 2.0"]);
    }
    assert!(server.requests().is_empty(), "nothing was sent");
    // The bounds themselves are fine.
    sandbox.home.write_config("temperature: 2.0\n");
    let out = sandbox
        .cuervo(&Wire::Anthropic.env(&server), &["-p", "hi"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "fine\n");
}

/// Issue 11: `cuervo < /dev/null` said "the prompt is empty" instead of showing a new
/// user the guide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_stdin_without_a_key_shows_the_first_run_guide() {
    let sandbox = Sandbox::new();
    let out = sandbox.cuervo(&[], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Welcome to Cuervo"), "{}", out.stdout);
    assert!(out.stdout.contains("cuervo auth login"), "{}", out.stdout);
    assert!(
        !out.stderr.contains("the prompt is empty"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_stdin_with_a_key_says_what_to_do_instead() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("never asked")])).await;
    let out = sandbox.cuervo(&Wire::Anthropic.env(&server), &[]).await;
    assert_usage_error(&out, &["stdin is empty", "-p"]);
    assert!(server.requests().is_empty(), "nothing was sent");
}

/// Issue 11: `-p` with no key printed a `tokens: 0 in` line after the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_mode_without_a_key_reports_the_error_and_no_token_line() {
    let sandbox = Sandbox::new();
    let out = sandbox.cuervo(&[], &["-p", "hi"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("ANTHROPIC_API_KEY"), "{}", out.stderr);
    assert!(!out.stderr.contains("tokens:"), "{}", out.stderr);
}

/// Issue 11: `cuervo pii --help` listed the agent's flags (`--model`, `--permission-mode`…),
/// which the fast-layer commands do not take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_layer_help_lists_only_its_own_flags() {
    let sandbox = Sandbox::new();
    for command in ["pii", "grep", "tokens", "sessions"] {
        let out = sandbox.cuervo(&[], &[command, "--help"]).await;
        assert_eq!(out.code, 0, "{command}: {}", out.stderr);
        for agent_flag in [
            "--permission-mode",
            "--allow-tools",
            "--sandbox",
            "--trust-project",
        ] {
            assert!(
                !out.stdout.contains(agent_flag),
                "`cuervo {command} --help` lists {agent_flag}:\n{}",
                out.stdout
            );
        }
    }
    // The agent's own help still has them.
    let out = sandbox.cuervo(&[], &["--help"]).await;
    assert!(out.stdout.contains("--permission-mode"), "{}", out.stdout);
}
