//! Agent definitions: who a sub-agent is (its prompt), what it may use (its tools), which
//! model answers it and how it is routed (its role).
//!
//! Definitions are data. Four are built in ([`builtin_agents`]: explorer, planner, executor,
//! reviewer); users and projects add their own as Markdown files with YAML front matter
//! ([`parse_agent_file`]), in Cuervo's format or in Claude Code's (`.claude/agents/*.md`),
//! so a team keeps the agents it already wrote. This module parses text it is given and
//! never reads a file: finding the files, their size limits and what an untrusted project
//! may set are the composition root's (`cuervo-cli`'s `agents` module), like every other
//! file that comes with a repository.
//!
//! An [`AgentCatalog`] holds one definition per name, the one from the most specific
//! source (see [`AgentSource::precedence`]).

mod builtin;
mod parse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::resilience::Role;

pub use builtin::builtin_agents;
pub use parse::{AgentFileError, MODEL_ALIASES, parse_agent_file, tool_name, validate_name};

/// Cuervo's tool names a definition may list, in a stable order. A definition may name a
/// tool the running process does not have (`codebase_search` before the index exists);
/// whoever runs the agent drops such names.
pub const TOOL_NAMES: &[&str] = &[
    "read",
    "glob",
    "grep",
    "ls",
    "codebase_search",
    "todo",
    "edit",
    "write",
    "bash",
    "task",
];

/// Tools that change neither files nor anything outside the conversation. An agent whose
/// tools are all in this list is routed as an explorer. `todo` only edits the agent's own
/// task list.
pub const READ_ONLY_TOOLS: &[&str] = &["read", "glob", "grep", "ls", "codebase_search", "todo"];

/// One agent a conversation can delegate to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDefinition {
    /// Lowercase letters, digits and `-` (see [`validate_name`]): the name the main model
    /// passes to the task tool.
    pub name: String,
    /// When to use it: shown to the main model in the task tool's description.
    pub description: String,
    /// Cuervo's tool names. `None`: every tool of the parent, except the task tool unless
    /// listed (see [`AgentDefinition::allows_tool`]).
    pub tools: Option<Vec<String>>,
    /// A model name as `--model` takes it. `None`: the model configured for [`Self::role`]
    /// (`routing.roles.<role>`), else the conversation's.
    pub model: Option<String>,
    /// How calls are routed: Explore, Plan, Edit or Review. A custom agent is Edit unless
    /// all its tools are read-only (then Explore), or its front matter says `role:`.
    pub role: Role,
    pub system_prompt: String,
    pub source: AgentSource,
    /// Tool names the file listed that Cuervo does not have (`WebFetch`, `mcp__…`), as
    /// written: dropped, so `cuervo agents list` can say "ignored: WebFetch".
    pub ignored_tools: Vec<String>,
    /// What else in the file was read differently from what it says, one sentence each
    /// (an unsupported key, front matter that is not strict YAML).
    pub notes: Vec<String>,
}

impl AgentDefinition {
    /// Whether the agent may call the tool named `tool`: a listed tool, or with no list
    /// any tool but `task` (so a sub-agent does not start sub-agents unless its
    /// definition asks for it). Permission rules apply on top, whatever this says.
    pub fn allows_tool(&self, tool: &str) -> bool {
        match &self.tools {
            Some(tools) => tools.iter().any(|t| t == tool),
            None => tool != "task",
        }
    }

    /// Whether every tool it may use is read-only (see [`READ_ONLY_TOOLS`]).
    pub fn is_read_only(&self) -> bool {
        self.tools
            .as_ref()
            .is_some_and(|tools| tools.iter().all(|t| READ_ONLY_TOOLS.contains(&t.as_str())))
    }
}

/// Where a definition came from. Paths are the file's, as the loader found it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AgentSource {
    BuiltIn,
    /// `~/.config/cuervo/agents/*.md` (`$XDG_CONFIG_HOME`).
    User(PathBuf),
    /// `<project>/.cuervo/agents/*.md`.
    Project(PathBuf),
    /// `<project>/.claude/agents/*.md`.
    ClaudeProject(PathBuf),
    /// `~/.claude/agents/*.md`.
    ClaudeUser(PathBuf),
}

impl AgentSource {
    /// Which definition wins when two share a name, higher first: the project's own
    /// directory, then the project's Claude Code directory, the user's, the user's Claude
    /// Code directory, the built-ins. The more specific place wins, as with config layers;
    /// whether an untrusted project may use its rank is the loader's decision.
    pub fn precedence(&self) -> u8 {
        match self {
            AgentSource::Project(_) => 4,
            AgentSource::ClaudeProject(_) => 3,
            AgentSource::User(_) => 2,
            AgentSource::ClaudeUser(_) => 1,
            AgentSource::BuiltIn => 0,
        }
    }

    /// The file, for every source but the built-ins.
    pub fn path(&self) -> Option<&Path> {
        match self {
            AgentSource::BuiltIn => None,
            AgentSource::User(p)
            | AgentSource::Project(p)
            | AgentSource::ClaudeProject(p)
            | AgentSource::ClaudeUser(p) => Some(p),
        }
    }

    /// Whether it came with the project (untrusted input until the user trusts it).
    pub fn is_project(&self) -> bool {
        matches!(
            self,
            AgentSource::Project(_) | AgentSource::ClaudeProject(_)
        )
    }

    /// A short name for listings and JSON: `built-in`, `user`, `project`, `claude-project`,
    /// `claude-user`.
    pub fn kind(&self) -> &'static str {
        match self {
            AgentSource::BuiltIn => "built-in",
            AgentSource::User(_) => "user",
            AgentSource::Project(_) => "project",
            AgentSource::ClaudeProject(_) => "claude-project",
            AgentSource::ClaudeUser(_) => "claude-user",
        }
    }
}

/// The agents available to a conversation, one per name.
#[derive(Debug, Clone, Default)]
pub struct AgentCatalog {
    agents: BTreeMap<String, AgentDefinition>,
}

impl AgentCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in agents only.
    pub fn builtin() -> Self {
        let mut catalog = Self::new();
        for agent in builtin_agents() {
            catalog.insert(agent);
        }
        catalog
    }

    /// Adds `agent` unless a definition of the same name with a higher or equal
    /// [`precedence`](AgentSource::precedence) is already there (so, within one source,
    /// the first one read wins). Returns the definition that is not kept, if any: the one
    /// replaced, or `agent` itself.
    pub fn insert(&mut self, agent: AgentDefinition) -> Option<AgentDefinition> {
        match self.agents.get_mut(&agent.name) {
            Some(held) if held.source.precedence() >= agent.source.precedence() => Some(agent),
            Some(held) => Some(std::mem::replace(held, agent)),
            None => {
                self.agents.insert(agent.name.clone(), agent);
                None
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&AgentDefinition> {
        self.agents.get(name)
    }

    /// Every definition, by name: a stable order, so the task tool's description (and the
    /// prompt cache) does not change between runs.
    pub fn list(&self) -> impl Iterator<Item = &AgentDefinition> + '_ {
        self.agents.values()
    }

    /// Every name, in [`list`](Self::list)'s order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.agents.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.agents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }
}
