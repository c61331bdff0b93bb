//! What the command line asks of a run, as plain data.
//!
//! The composition root ([`crate::setup`]) and the front ends take [`RunOptions`], not
//! the clap type, so the dependency goes one way (`args` → `options`) and anything else
//! that builds an agent (a test harness, another binary, an MCP server mode) fills this
//! struct instead of faking a command line.

use std::path::PathBuf;

use cuervo_core::SessionStart;
use cuervo_domain::tool::SandboxMode;
use cuervo_domain::{PermissionMode, PermissionRule};

/// Overrides for one run, on top of the configuration files.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// A model name, `provider/model`, or a local model's name.
    pub model: Option<String>,
    /// A provider from the config's `providers`; when set, the model's name never
    /// picks another one.
    pub provider: Option<String>,
    pub permission_mode: Option<PermissionMode>,
    pub sandbox: Option<SandboxMode>,
    pub allow_tools: Vec<PermissionRule>,
    pub disallow_tools: Vec<PermissionRule>,
    /// Apply the project's settings that need trust, for this run only.
    pub trust_project: bool,
    pub max_turns: Option<u32>,
    /// Images attached to the first prompt.
    pub images: Vec<PathBuf>,
    /// A new session, the project's latest, or a stored one by id.
    pub session: SessionStart,
    /// Answer a single prompt from the semantic cache when it can (`--semantic-cache`).
    pub semantic_cache: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            model: None,
            provider: None,
            permission_mode: None,
            sandbox: None,
            allow_tools: Vec::new(),
            disallow_tools: Vec::new(),
            trust_project: false,
            max_turns: None,
            images: Vec::new(),
            session: SessionStart::New,
            semantic_cache: false,
        }
    }
}
