//! The command line.

use clap::{Parser, Subcommand};
use cuervo_domain::tool::SandboxMode;
use cuervo_domain::{PermissionMode, PermissionRule};

/// Cuervo: an AI coding agent for your terminal.
///
/// Run `cuervo` in a repository to talk to it, or `cuervo -p "PROMPT"` to run one task
/// headless (in scripts and CI) and exit.
#[derive(Debug, Parser)]
#[command(name = "cuervo", version)]
pub struct Cli {
    /// Run PROMPT headless and exit. With `-p -` or no value the prompt is read from stdin;
    /// with a PROMPT and piped stdin, stdin is appended to it as context.
    #[arg(short = 'p', long = "print", value_name = "PROMPT", num_args = 0..=1, default_missing_value = "-")]
    pub prompt: Option<String>,

    #[command(flatten)]
    pub agent: AgentFlags,

    /// Attach an image (.png, .jpg, .gif, .webp) to the prompt; repeat for several. The
    /// model must accept images (most current Claude, GPT and Gemini models do).
    #[arg(long = "image", value_name = "PATH")]
    pub images: Vec<std::path::PathBuf>,

    /// With -p: answer from the semantic cache when a very similar prompt was answered by
    /// the same model, tools and system prompt in the last 24 h; keep this answer for later.
    #[arg(long)]
    pub semantic_cache: bool,

    /// Headless output: text (the answer, streamed), json (one object at the end),
    /// stream-json (one event per line as it happens).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,

    /// Log diagnostics to stderr (or set RUST_LOG, e.g. `RUST_LOG=cuervo=debug`).
    #[arg(long, global = true)]
    pub verbose: bool,

    /// Continue the most recent session of this project.
    #[arg(short = 'c', long = "continue", conflicts_with = "resume")]
    pub continue_session: bool,

    /// Resume a stored session by id (a unique prefix is enough; see `cuervo sessions list`).
    #[arg(long, value_name = "ID")]
    pub resume: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

pub use crate::render::OutputFormat;

/// The flags that shape an agent run. Not global: the fast-layer subcommands (`pii`,
/// `grep`, `tokens`…) do not take them, so their `--help` lists only their own; the
/// subcommands that read the agent's configuration flatten them in.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AgentFlags {
    /// Model to use, e.g. `claude-sonnet-4-5`, `gpt-4.1` or `openai/gpt-4.1`.
    #[arg(long)]
    pub model: Option<String>,

    /// Provider from the config's `providers` (anthropic, openai, deepseek, or your own).
    #[arg(long)]
    pub provider: Option<String>,

    /// plan (read-only), ask (default), auto-edit (edits run, shell asks), full-auto.
    #[arg(long, value_parser = parse_mode)]
    pub permission_mode: Option<PermissionMode>,

    /// Shell sandbox: workspace-write (default: writes only in the project and temp
    /// dirs, no network), read-only, or off (commands run with all your rights).
    #[arg(long, value_name = "MODE", value_parser = parse_sandbox)]
    pub sandbox: Option<SandboxMode>,

    /// Allow tool calls without asking, e.g. `bash(cargo test:*)`, `edit(src/**)`, `write`.
    /// Repeat the flag or separate rules with commas.
    #[arg(long = "allow-tools", value_name = "RULES", value_parser = parse_rules)]
    pub allow_tools: Vec<Vec<PermissionRule>>,

    /// Refuse tool calls matching these rules, whatever the mode.
    #[arg(long = "disallow-tools", value_name = "RULES", value_parser = parse_rules)]
    pub disallow_tools: Vec<Vec<PermissionRule>>,

    /// Apply this project's settings that need trust (allow rules, a looser mode, provider
    /// endpoints…) for this run only, without asking: for scripts and CI on repositories
    /// you control. `cuervo trust` shows them and trusts them for good.
    #[arg(long)]
    pub trust_project: bool,

    /// Most model calls before Cuervo stops.
    #[arg(long)]
    pub max_turns: Option<u32>,
}

impl AgentFlags {
    /// These flags, with `over`'s set ones winning (a subcommand's own flags over the
    /// ones given before it).
    pub fn merged(&self, over: &AgentFlags) -> AgentFlags {
        AgentFlags {
            model: over.model.clone().or_else(|| self.model.clone()),
            provider: over.provider.clone().or_else(|| self.provider.clone()),
            permission_mode: over.permission_mode.or(self.permission_mode),
            sandbox: over.sandbox.or(self.sandbox),
            allow_tools: [self.allow_tools.clone(), over.allow_tools.clone()].concat(),
            disallow_tools: [self.disallow_tools.clone(), over.disallow_tools.clone()].concat(),
            trust_project: self.trust_project || over.trust_project,
            max_turns: over.max_turns.or(self.max_turns),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    // Fast-layer subcommands: one variant each.
    /// List, import, pull, remove or test models (local ones run offline, with no key).
    Models(crate::commands::models::ModelsArgs),
    /// List, show, export or delete stored sessions.
    Sessions(crate::commands::sessions::SessionsArgs),
    /// Check or read the tamper-evident audit log.
    Audit(crate::commands::audit::AuditArgs),
    /// Show what this project's `.cuervo/config.yml` asks for that needs your trust, and
    /// trust it (pinned to the file's content), revoke it or list trusted projects.
    Trust(crate::commands::trust::TrustArgs),
    /// Store API keys in the OS keychain (or a private file), show or remove them.
    Auth(crate::commands::auth::AuthArgs),
    /// Show what the on-disk caches hold (cached answers, file hashes) or clear them.
    Cache(crate::commands::cache::CacheArgs),
    /// Count tokens per file and in total (tiktoken-exact for OpenAI encodings).
    Tokens(crate::commands::tokens::TokensArgs),
    /// Find (`scan`) or redact (`redact`) personal data and secrets; exit 1 when found.
    Pii(crate::commands::pii::PiiArgs),
    /// Print an outline of the symbols (functions, classes, …) in source files.
    Symbols(crate::commands::symbols::SymbolsArgs),
    /// List the agents a conversation can delegate to (built-in, yours, the project's and
    /// Claude Code's `.claude/agents`), or show one.
    Agents(crate::commands::agents::AgentsArgs),
    /// Build the project's codebase index (meaning + words), keep it current with
    /// `--watch`, or show its state (`status`). Kept in your data directory, not the repo.
    Index(crate::commands::index::IndexArgs),
    /// Search the project's code by meaning and by words (indexes it first if needed).
    Search(crate::commands::search::SearchArgs),
    /// Search file contents for a regular expression, like ripgrep.
    Grep(crate::commands::grep::GrepArgs),
    /// List the files a search would look at, like `rg --files`.
    Files(crate::commands::files::FilesArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the merged configuration (files, environment, flags; secrets masked).
    Show {
        #[command(flatten)]
        agent: AgentFlags,
    },
    /// Print where the user and project configuration files are.
    Path,
    /// Print the JSON Schema of the configuration file.
    Schema,
}

impl Cli {
    /// The run's options as plain data, for the composition root.
    pub fn run_options(&self) -> crate::options::RunOptions {
        self.run_options_with(&AgentFlags::default())
    }

    /// [`Cli::run_options`] with a subcommand's own agent flags on top.
    pub fn run_options_with(&self, sub: &AgentFlags) -> crate::options::RunOptions {
        let agent = self.agent.merged(sub);
        let session = if let Some(id) = &self.resume {
            cuervo_core::SessionStart::Resume(id.clone())
        } else if self.continue_session {
            cuervo_core::SessionStart::Continue
        } else {
            cuervo_core::SessionStart::New
        };
        crate::options::RunOptions {
            model: agent.model,
            provider: agent.provider,
            permission_mode: agent.permission_mode,
            sandbox: agent.sandbox,
            allow_tools: agent.allow_tools.into_iter().flatten().collect(),
            disallow_tools: agent.disallow_tools.into_iter().flatten().collect(),
            trust_project: agent.trust_project,
            max_turns: agent.max_turns,
            images: self.images.clone(),
            session,
            semantic_cache: self.semantic_cache,
        }
    }
}

fn parse_mode(s: &str) -> Result<PermissionMode, String> {
    s.parse()
}

fn parse_sandbox(s: &str) -> Result<SandboxMode, String> {
    s.parse()
}

/// Splits `a, b(x, y), c` on commas outside parentheses and parses each rule.
pub fn parse_rules(s: &str) -> Result<Vec<PermissionRule>, String> {
    let mut rules = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                rules.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    rules.push(&s[start..]);
    rules
        .into_iter()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.parse::<PermissionRule>().map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_split_outside_parentheses() {
        let rules = parse_rules("read, bash(git log --format=%h,%s), edit(src/**)").unwrap();
        let texts: Vec<String> = rules.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            ["read", "bash(git log --format=%h,%s)", "edit(src/**)"]
        );
        assert!(parse_rules("bash(oops").is_err());
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn print_flag_without_value_reads_stdin() {
        let cli = Cli::parse_from(["cuervo", "-p"]);
        assert_eq!(cli.prompt.as_deref(), Some("-"));
        let cli = Cli::parse_from(["cuervo", "-p", "fix it", "--permission-mode", "auto-edit"]);
        assert_eq!(cli.prompt.as_deref(), Some("fix it"));
        assert_eq!(cli.agent.permission_mode, Some(PermissionMode::AutoEdit));
    }
}
