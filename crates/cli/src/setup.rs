//! The composition root: turns config, flags and the environment into a ready [`Agent`].

pub mod resilience;
pub mod route;
pub mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use cuervo_domain::ModelProvider;
use cuervo_providers::{ProviderSettings, WireKind, build_provider};

use crate::config::{self, Config, ConfigPaths, Origin, ProviderKind, RuleList};
use crate::options::RunOptions;

pub use route::{ConfigModels, Route, resolve_model};

/// Reads a variable of the process environment; injected so tests control it. Shared
/// (`Arc<Env>`) with what outlives one call, such as the model resolver of a session.
pub type Env = dyn Fn(&str) -> Option<String> + Send + Sync;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The project a run works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Canonical root: the nearest ancestor with `.git`, else the working directory.
    pub root: PathBuf,
    pub is_git: bool,
}

impl Project {
    pub fn discover(cwd: &Path) -> Result<Self> {
        let cwd = cwd
            .canonicalize()
            .with_context(|| format!("cannot resolve the working directory {}", cwd.display()))?;
        let git_root = cwd.ancestors().find(|dir| dir.join(".git").exists());
        Ok(match git_root {
            Some(root) => Self {
                root: root.to_owned(),
                is_git: true,
            },
            None => Self {
                root: cwd,
                is_git: false,
            },
        })
    }

    /// `CUERVO.md`, else `AGENTS.md`, at the root: the project's standing instructions.
    pub fn instructions(&self) -> Option<(String, String)> {
        crate::context_sources::instruction_file(&self.root, Some(&self.root))
    }
}

/// The configuration with the run's options applied on top.
pub fn effective_config(
    options: &RunOptions,
    project: &Project,
    env: &Env,
) -> Result<(Config, ConfigPaths)> {
    let paths = ConfigPaths::new(&project.root, env);
    let mut config = config::load(&paths, env, options.trust_project)?;
    if let Some(mode) = options.permission_mode {
        config.permissions.mode = mode;
        config.origins.keys.insert(
            "permissions.mode".into(),
            Origin::Flag("--permission-mode".into()),
        );
    }
    for (list, flag, rules) in [
        (RuleList::Allow, "--allow-tools", &options.allow_tools),
        (RuleList::Deny, "--disallow-tools", &options.disallow_tools),
    ] {
        for rule in rules {
            let target = match list {
                RuleList::Allow => &mut config.permissions.allow,
                RuleList::Deny => &mut config.permissions.deny,
            };
            if !target.contains(rule) {
                target.push(rule.clone());
                config
                    .origins
                    .rules
                    .push((list, rule.clone(), Origin::Flag(flag.into())));
            }
        }
    }
    check_rule_tools(&config)?;
    if let Some(max_turns) = options.max_turns {
        config.max_turns = max_turns;
        config
            .origins
            .keys
            .insert("max_turns".into(), Origin::Flag("--max-turns".into()));
    }
    if let Some(model) = &options.model {
        config.model = Some(model.clone());
    }
    if let Some(provider) = &options.provider {
        config.provider = provider.clone();
    }
    config
        .validate()
        .map_err(|e| crate::headless::UsageError(e.to_string()))?;
    Ok((config, paths))
}

/// Every rule must name a tool that exists: a rule for `shell(rm:*)` would never fire,
/// and a deny rule that never fires is worse than none. The error names where the rule
/// came from (file and line, or flag).
fn check_rule_tools(config: &Config) -> Result<()> {
    let tools = cuervo_tools::builtin_tools();
    let mut known: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    // The tools the composition root adds: searching the code index, delegating and
    // leaving plan mode.
    known.extend([
        cuervo_tools::CODEBASE_SEARCH,
        cuervo_core::delegate::TASK_TOOL,
        cuervo_core::plan::PLAN_TOOL,
    ]);
    let rules = config
        .permissions
        .allow
        .iter()
        .map(|r| (RuleList::Allow, r))
        .chain(config.permissions.deny.iter().map(|r| (RuleList::Deny, r)));
    for (list, rule) in rules {
        let Err(unknown) = rule.validate_tools(&known) else {
            continue;
        };
        let place = match config.origins.of_rule(list, rule) {
            Origin::User(path) | Origin::Project(path) => match line_of(&path, &unknown.rule) {
                Some(line) => format!("{} line {line}", path.display()),
                None => path.display().to_string(),
            },
            other => other.to_string(),
        };
        bail!(
            "unknown tool `{}` in the permission rule `{}` ({place}); known tools: {}",
            unknown.tool,
            unknown.rule,
            unknown.known.join(", ")
        );
    }
    Ok(())
}

/// The 1-based line of a file where `needle` first appears (rules are written as they
/// print, give or take case, which is why the search ignores it).
fn line_of(path: &Path, needle: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let needle = needle.to_ascii_lowercase();
    text.lines()
        .position(|l| l.to_ascii_lowercase().contains(&needle))
        .map(|i| i + 1)
}

/// Where a provider's API key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The provider's environment variable (named).
    Env(String),
    /// `cuervo auth login`: the OS keychain or the credentials file.
    Stored(cuervo_store::KeyLocation),
    /// `providers.NAME.api_key` in a config file.
    Config,
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env(var) => write!(f, "environment variable {var}"),
            KeySource::Stored(cuervo_store::KeyLocation::Keychain) => f.write_str("OS keychain"),
            KeySource::Stored(cuervo_store::KeyLocation::File(path)) => {
                write!(f, "file {}", path.display())
            }
            KeySource::Config => f.write_str("config file (api_key)"),
        }
    }
}

/// The API key for a provider: its environment variable first, then the key stored with
/// `cuervo auth login` (keychain or credentials file), then the config file.
pub fn api_key(config: &Config, provider: &str, env: &Env) -> Option<String> {
    api_key_with_source(config, provider, env).map(|(key, _)| key)
}

/// [`api_key`] and where it came from.
pub fn api_key_with_source(
    config: &Config,
    provider: &str,
    env: &Env,
) -> Option<(String, KeySource)> {
    let settings = config.providers.get(provider)?;
    if let Some(var) = settings.api_key_env.as_deref()
        && let Some(key) = env(var).filter(|k| !k.trim().is_empty())
    {
        return Some((key, KeySource::Env(var.to_owned())));
    }
    if let Some(credentials) = state::credentials(env) {
        match credentials.get(provider) {
            Ok(Some((key, location))) => return Some((key, KeySource::Stored(location))),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "ignoring the stored key of {provider}"),
        }
    }
    settings
        .api_key
        .clone()
        .filter(|k| !k.trim().is_empty())
        .map(|k| (k, KeySource::Config))
}

pub fn provider(config: &Config, name: &str, env: &Env) -> Result<Arc<dyn ModelProvider>> {
    let Some(p) = config.providers.get(name) else {
        bail!("unknown provider `{name}`")
    };
    let kind = match p.kind {
        ProviderKind::Anthropic => WireKind::Anthropic,
        ProviderKind::Openai => match p.wire_api {
            Some(config::WireApi::Responses) => WireKind::OpenAiResponses,
            // Chat, or unset (decided by the endpoint below).
            Some(config::WireApi::Chat) | None => WireKind::OpenAiChat,
        },
        ProviderKind::Gemini => WireKind::Gemini,
        ProviderKind::Ollama => WireKind::Ollama,
        ProviderKind::Local => return crate::local::provider(p),
    };
    let base_url = p
        .base_url
        .clone()
        .or_else(|| ProviderSettings::known(name).map(|s| s.base_url))
        .with_context(|| {
            format!("provider `{name}` has no base_url: set providers.{name}.base_url")
        })?;
    // `wire_api` unset: the Responses API on api.openai.com, Chat Completions elsewhere.
    let kind = match (p.kind, p.wire_api) {
        (ProviderKind::Openai, None) => WireKind::openai_default(&base_url),
        _ => kind,
    };
    let key = api_key_with_source(config, name, env).or_else(|| {
        // Google's own tools read GOOGLE_API_KEY; honour it when GEMINI_API_KEY is unset.
        (p.kind == ProviderKind::Gemini)
            .then(|| env("GOOGLE_API_KEY"))
            .flatten()
            .filter(|k| !k.trim().is_empty())
            .map(|k| (k, KeySource::Env("GOOGLE_API_KEY".into())))
    });
    if let Some((_, source)) = &key {
        check_key_destination(config, name, &base_url, source)?;
    }
    let mut settings = ProviderSettings::new(name, kind, base_url);
    settings.key_source = key.as_ref().map(|(_, source)| source.to_string());
    settings.api_key = key.map(|(key, _)| key);
    settings.api_key_env = p.api_key_env.clone();
    settings.embedding_model = p.embedding_model.clone();
    settings.context_window = p.context_window;
    settings.extra_headers = p
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Side calls (embeddings, model metadata) retry here; model calls are retried by the
    // core under the same policy.
    settings.retry = config.retry.policy(p.max_retries);
    settings.request_timeout = Duration::from_secs(p.request_timeout_secs);
    settings.idle_timeout = Duration::from_secs(p.idle_timeout_secs);
    Ok(build_provider(settings)?)
}

/// A key goes only where its owner chose: a key the user holds (an environment variable
/// the user's or the built-in config names, the keychain, the user's file) is sent only to
/// an endpoint the user set (built-in, user file, environment) or to the same host. A
/// trusted project may point a provider elsewhere, but then it must also name the key
/// itself; the user's own key is never redirected by a repository.
fn check_key_destination(
    config: &Config,
    name: &str,
    base_url: &str,
    source: &KeySource,
) -> Result<()> {
    let url_origin = config.origins.of(&format!("providers.{name}.base_url"));
    let Origin::Project(project_file) = &url_origin else {
        return Ok(());
    };
    let users_key = match source {
        KeySource::Env(_) => config
            .origins
            .of(&format!("providers.{name}.api_key_env"))
            .is_users_choice(),
        // `cuervo auth login`: only the user stores keys.
        KeySource::Stored(_) => true,
        KeySource::Config => config
            .origins
            .of(&format!("providers.{name}.api_key"))
            .is_users_choice(),
    };
    if !users_key {
        return Ok(());
    }
    let official = ProviderSettings::known(name).map(|s| s.base_url);
    if official.as_deref().map(host_of) == Some(host_of(base_url)) {
        return Ok(());
    }
    bail!(
        "not sending your {name} API key (from {source}) to {base_url}: that endpoint comes from \
         the project file {}, not from you. If you mean to use it, set providers.{name}.base_url \
         in your own config (~/.config/cuervo/config.yml) or the provider's *_BASE_URL variable",
        project_file.display()
    )
}

/// The host (and port) of a URL, lowercased: `https://API.x.com:443/v1` → `api.x.com:443`.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials in the URL (`user:pw@host`) are not part of the host.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.to_ascii_lowercase()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use clap::Parser;

    /// The built-in configuration alone (no user or project file).
    pub(crate) fn config() -> Config {
        let dir = tempfile::tempdir().unwrap();
        config::load(
            &ConfigPaths {
                user: None,
                project: dir.path().join("none.yml"),
            },
            &|_| None,
            false,
        )
        .unwrap()
    }

    fn resolve(args: &[&str]) -> Result<(String, String)> {
        let cli =
            crate::args::Cli::parse_from(std::iter::once("cuervo").chain(args.iter().copied()));
        let options = cli.run_options();
        let project = Project {
            root: PathBuf::from("/p"),
            is_git: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let env = move |k: &str| (k == "XDG_CONFIG_HOME").then(|| dir.path().display().to_string());
        let (config, _) = effective_config(&options, &project, &env)?;
        let route = route::route(&config, options.provider.is_some(), &|name| {
            name == "smollm2"
        })?;
        Ok((route.provider, route.model))
    }

    #[test]
    fn model_picks_the_provider() {
        assert_eq!(
            resolve(&[]).unwrap(),
            ("anthropic".into(), "claude-sonnet-4-5".into())
        );
        assert_eq!(
            resolve(&["--model", "gpt-4.1-mini"]).unwrap(),
            ("openai".into(), "gpt-4.1-mini".into())
        );
        assert_eq!(
            resolve(&["--model", "gemini-2.5-flash"]).unwrap(),
            ("gemini".into(), "gemini-2.5-flash".into())
        );
        assert_eq!(
            resolve(&["--model", "deepseek/deepseek-reasoner"]).unwrap(),
            ("deepseek".into(), "deepseek-reasoner".into())
        );
        assert_eq!(
            resolve(&["--provider", "openai"]).unwrap(),
            ("openai".into(), "gpt-4.1".into())
        );
        assert_eq!(
            resolve(&["--provider", "openai", "--model", "claude-x"]).unwrap(),
            ("openai".into(), "claude-x".into())
        );
    }

    /// Issue 11: `cuervo models test smollm2` used the local model while
    /// `cuervo --model smollm2 -p …` sent the request to Anthropic.
    #[test]
    fn model_smollm2_routes_to_the_local_provider_everywhere() {
        assert_eq!(
            resolve(&["--model", "smollm2"]).unwrap(),
            ("local".into(), "smollm2".into())
        );
        // An explicit provider still wins over the local store.
        assert_eq!(
            resolve(&["--provider", "ollama", "--model", "smollm2"]).unwrap(),
            ("ollama".into(), "smollm2".into())
        );
        // A name that is not installed goes where its name says.
        assert_eq!(
            resolve(&["--model", "gpt-4.1"]).unwrap(),
            ("openai".into(), "gpt-4.1".into())
        );
    }

    #[test]
    fn unknown_provider_lists_the_known_ones() {
        let err = resolve(&["--provider", "nope"]).unwrap_err().to_string();
        assert!(
            err.contains("anthropic, deepseek, gemini, local, ollama, openai"),
            "{err}"
        );
    }

    #[test]
    fn env_key_beats_config_key() {
        let mut c = config();
        c.providers.get_mut("openai").unwrap().api_key = Some("from-file".into());
        assert_eq!(
            api_key(&c, "openai", &|_| None).as_deref(),
            Some("from-file")
        );
        assert_eq!(
            api_key(&c, "openai", &|k| (k == "OPENAI_API_KEY")
                .then(|| "from-env".into()))
            .as_deref(),
            Some("from-env")
        );
    }

    #[test]
    fn project_root_is_the_git_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("AGENTS.md"), "be nice").unwrap();
        let p = Project::discover(&dir.path().join("a/b")).unwrap();
        assert_eq!(p.root, dir.path().canonicalize().unwrap());
        assert!(p.is_git);
        assert_eq!(
            p.instructions(),
            Some(("AGENTS.md".into(), "be nice".into()))
        );
        std::fs::write(dir.path().join("CUERVO.md"), "cuervo first").unwrap();
        assert_eq!(p.instructions().unwrap().0, "CUERVO.md");
    }
}
