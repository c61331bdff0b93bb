//! Running the built `cuervo` binary in a scratch project with a scratch HOME.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use cuervo_testkit::env::TestHome;
use cuervo_testkit::{MockServer, Script};
use serde_json::Value;

/// Which wire format a test drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Anthropic,
    OpenAi,
}

impl Wire {
    pub const ALL: [Wire; 2] = [Wire::Anthropic, Wire::OpenAi];

    /// Anthropic (the default provider) and OpenAI both pointed at `mock`, keys set.
    pub fn both(mock: &MockServer) -> Vec<(String, String)> {
        let mut env = Wire::Anthropic.env(mock);
        env.extend([
            ("OPENAI_BASE_URL".to_owned(), mock.openai_base_url()),
            ("OPENAI_API_KEY".to_owned(), "sk-test".to_owned()),
        ]);
        env
    }

    /// Environment that points Cuervo's provider at the mock.
    pub fn env(self, mock: &MockServer) -> Vec<(String, String)> {
        match self {
            Wire::Anthropic => vec![
                ("ANTHROPIC_BASE_URL".into(), mock.anthropic_base_url()),
                ("ANTHROPIC_API_KEY".into(), "sk-ant-test".into()),
            ],
            Wire::OpenAi => vec![
                ("OPENAI_BASE_URL".into(), mock.openai_base_url()),
                ("OPENAI_API_KEY".into(), "sk-test".into()),
                ("CUERVO_PROVIDER".into(), "openai".into()),
            ],
        }
    }
}

/// A project directory (a git root) and a HOME with no user config.
pub struct Sandbox {
    pub project: tempfile::TempDir,
    pub home: TestHome,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout parsed as one JSON value per line.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let project = tempfile::tempdir().expect("temp project");
        std::fs::create_dir(project.path().join(".git")).expect(".git");
        Self {
            project,
            home: TestHome::new(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.project.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        std::fs::write(path, content).expect("write fixture");
    }

    /// Writes the user's own config file (`~/.config/cuervo/config.yml`).
    pub fn user_config(&self, yaml: &str) {
        let path = self.home.config_path();
        std::fs::create_dir_all(path.parent().expect("config dir")).expect("config dir");
        std::fs::write(path, yaml).expect("write the user config");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read file")
    }

    /// Runs `cuervo ARGS` in the project with only the given environment (plus PATH and
    /// the sandbox HOME), stdin closed.
    pub async fn cuervo(&self, env: &[(String, String)], args: &[&str]) -> Output {
        self.cuervo_in(self.project.path(), env, args).await
    }

    pub async fn cuervo_in(&self, dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cuervo"));
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.home.envs())
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
            .await
            .expect("cuervo finished within 120 s")
            .expect("cuervo ran");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A model `scripts/fetch-models` put in `CUERVO_MODEL_CACHE` (default
/// `~/.cache/cuervo/models`); a missing one fails the test with what to run.
pub fn fetched_model(name: &str) -> PathBuf {
    let cache = std::env::var("CUERVO_MODEL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(&std::env::var("HOME").unwrap_or_default()).join(".cache/cuervo/models")
        });
    let path = cache.join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-models first",
        path.display()
    );
    path
}

pub async fn mock(script: Script) -> MockServer {
    MockServer::start(script).await.expect("mock server starts")
}

/// The tool result a recorded request sent last: what the model was told about its call.
pub fn last_tool_result(request: &cuervo_testkit::RecordedRequest) -> cuervo_domain::ToolResult {
    let messages = request.messages();
    let last = messages.last().expect("the request has messages");
    last.tool_results_iter()
        .next()
        .expect("the last message carries a tool result")
        .clone()
}
