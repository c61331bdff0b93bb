//! Who may do what: permission levels, modes, allow/deny rules, and the one function that
//! decides. Pure, so every policy question is answered by a unit test.

mod policy;
mod rule;
mod shell_rules;
mod suggest;
#[cfg(test)]
mod tests;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use suggest::suggest_rule;

/// How much a tool can change. Modes are defined in terms of these levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionLevel {
    /// Reads files or lists things; changes nothing.
    ReadOnly,
    /// Changes files inside the project.
    ReadWrite,
    /// Can do anything a shell can.
    Destructive,
}

/// The user's standing answer to "may Cuervo do this without asking?".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionMode {
    /// Read-only tools only; everything else is refused.
    Plan,
    /// Read-only tools run; everything else asks.
    #[default]
    Ask,
    /// Read-only tools and file edits run; shell commands ask.
    AutoEdit,
    /// Everything runs without asking (rules and the project boundary still apply).
    FullAuto,
}

impl PermissionMode {
    pub const ALL: [PermissionMode; 4] = [Self::Plan, Self::Ask, Self::AutoEdit, Self::FullAuto];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Ask => "ask",
            Self::AutoEdit => "auto-edit",
            Self::FullAuto => "full-auto",
        }
    }
}

impl fmt::Display for PermissionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PermissionMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            format!("unknown permission mode `{s}`; expected one of: plan, ask, auto-edit, full-auto")
        })
    }
}

/// A rule such as `bash(git status:*)`, `edit(src/**)` or `read`.
///
/// The tool name matches exactly, except that `edit` also covers `write` (both change
/// files). Without parentheses the rule covers every call of the tool. For other tools
/// than `bash` the pattern is a glob over the target path relative to the project root
/// (`*`, `**` and `?` only).
///
/// For `bash` the pattern is judged word by word against each simple command of the
/// parsed command line ([`ShellAnalysis`]), never against the raw text:
/// - `bash(git status:*)` matches a command whose words start with `git status`
///   (`git status -s`, not `git -c x=y status`, not `git statusx`);
/// - `bash(cargo test)` matches exactly the words `cargo test`;
/// - `bash` and `bash(*)` match every command.
///
/// As an **allow** rule it lets a call run only when *every* simple command (those in
/// `;`/`&&`/`|` lists, substitutions, `bash -c` scripts, `find -exec`…) is matched by
/// some allow rule with no run-time-only word among the matched ones, nothing in the
/// command is unanalysable, and no redirection writes outside the project or into a
/// protected path. A program named without a `/` matches only commands that run it by
/// name or from a system directory (`/usr/bin/git`), so `bash(git:*)` does not allow
/// `./git`; a pattern starting with a path (`bash(./gradlew build:*)`) matches that path.
///
/// As a **deny** rule it refuses a call when *any* simple command matches it: the
/// program by its file name (`/bin/rm`, `\rm`, `"rm"`, `env rm`, `xargs rm`,
/// `find -delete` all run `rm`), then the pattern's other words in order, allowing
/// options between them (`git -C x push` matches `bash(git push:*)`), and its option
/// words anywhere (`bash(rm -rf:*)` matches `rm -r -f x`). An exact deny pattern denies
/// longer commands too. A command whose words are known only at run time and might
/// match makes the call ask.
///
/// [`ShellAnalysis`]: crate::shell::ShellAnalysis
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PermissionRule {
    pub tool: String,
    pub pattern: Option<String>,
    /// Where the rule came from (a config file, a flag), for messages. Not part of the
    /// rule's identity: equality and hashing ignore it.
    pub source: Option<String>,
}

impl PartialEq for PermissionRule {
    fn eq(&self, other: &Self) -> bool {
        self.tool == other.tool && self.pattern == other.pattern
    }
}

impl Eq for PermissionRule {}

impl Hash for PermissionRule {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.tool.hash(state);
        self.pattern.hash(state);
    }
}

/// A rule naming a tool that does not exist (`shell(rm:*)`), which would never fire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown tool `{tool}` in the permission rule `{rule}`{from}; known tools: {known}",
    from = .origin.as_deref().map(|s| format!(" (from {s})")).unwrap_or_default(),
    known = .known.join(", ")
)]
pub struct UnknownToolError {
    pub tool: String,
    pub rule: String,
    /// Where the rule came from, when known.
    pub origin: Option<String>,
    pub known: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid permission rule `{rule}`: {reason}; write `tool` or `tool(pattern)`, e.g. `bash(git status:*)` or `edit(src/**)`"
)]
pub struct RuleParseError {
    pub rule: String,
    pub reason: &'static str,
}

/// Directories whose contents decide what runs or what the agent may do: git's hooks and
/// config (`core.fsmonitor` and `core.pager` run commands), Cuervo's and Claude Code's
/// project settings, hooks and agents. Writes into them always ask (see
/// [`ToolAction::protected`]); tools match them as a path component at any depth and
/// case-insensitively.
///
/// [`ToolAction::protected`]: crate::tool::ToolAction::protected
pub const PROTECTED_DIRS: &[&str] = &[".git", ".cuervo", ".claude"];

/// Files whose contents steer the agent or start servers: the MCP server list and the
/// instruction files read into the system prompt.
pub const PROTECTED_FILES: &[&str] = &[".mcp.json", "CUERVO.md", "AGENTS.md", "CLAUDE.md"];

/// Whether one path component names a protected directory or file.
pub fn is_protected_name(component: &str) -> bool {
    PROTECTED_DIRS
        .iter()
        .chain(PROTECTED_FILES)
        .any(|p| p.eq_ignore_ascii_case(component))
}

/// The verdict on one tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "reason", rename_all = "snake_case")]
pub enum Decision {
    Allow,
    /// A person must say yes first; the reason says why.
    Ask(String),
    Deny(String),
}

/// Mode plus rules: the whole permission configuration of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionPolicy {
    pub mode: PermissionMode,
    pub allow: Vec<PermissionRule>,
    pub deny: Vec<PermissionRule>,
}
