//! Shared fixtures: a temporary project with a sibling "outside" directory, and helpers
//! to call tools by name.

mod bash;
mod edit;
mod glob;
mod grep;
mod ls;
mod non_utf8;
mod paths;
mod read;
mod registry;
mod sandbox;
mod shell_rules;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cuervo_domain::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};
use serde_json::Value;
use tempfile::TempDir;

/// A project root inside a temporary directory, next to an `outside` directory that is
/// not part of the project.
pub struct Project {
    _dir: TempDir,
    pub root: PathBuf,
    pub outside: PathBuf,
    pub ctx: ToolContext,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(dir.path()).expect("canonical");
        let root = base.join("project");
        let outside = base.join("outside");
        std::fs::create_dir_all(&root).expect("mkdir root");
        std::fs::create_dir_all(&outside).expect("mkdir outside");
        let ctx = ToolContext::new(root.clone());
        Self {
            _dir: dir,
            root,
            outside,
            ctx,
        }
    }

    /// Writes `content` at `rel` under the root, creating directories.
    pub fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
        path
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).expect("read")
    }

    pub fn tool(&self, name: &str) -> Arc<dyn Tool> {
        tool(name)
    }

    pub fn validate(&self, name: &str, input: Value) -> Result<ToolAction, ToolError> {
        tool(name).validate(&input, &self.ctx)
    }

    pub async fn run(&self, name: &str, input: Value) -> Result<ToolOutput, ToolError> {
        tool(name).execute(input, &self.ctx).await
    }

    /// Runs a tool that must succeed and returns its text.
    pub async fn ok(&self, name: &str, input: Value) -> String {
        match self.run(name, input).await {
            Ok(out) => out.content,
            Err(e) => panic!("{name} failed: {e}"),
        }
    }

    /// Runs a tool that must fail and returns its error.
    pub async fn err(&self, name: &str, input: Value) -> ToolError {
        match self.run(name, input).await {
            Ok(out) => panic!("{name} unexpectedly succeeded: {}", out.content),
            Err(e) => e,
        }
    }
}

pub fn tool(name: &str) -> Arc<dyn Tool> {
    cuervo_tools::builtin_tools()
        .into_iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no tool named {name}"))
}

/// The message of a `Failed` error; panics on any other kind.
pub fn failed(e: ToolError) -> String {
    match e {
        ToolError::Failed(m) => m,
        other => panic!("expected Failed, got {other:?}"),
    }
}

/// The message of an `InvalidInput` error; panics on any other kind.
pub fn invalid(e: ToolError) -> String {
    match e {
        ToolError::InvalidInput(m) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

/// Sets a file's modification time to `secs` after the epoch.
pub fn set_mtime(path: &Path, secs: u64) {
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .expect("set mtime");
}
