//! Layered configuration: the embedded `config/default.yml`, then the user's file, then
//! the project's, then environment variables, then flags.
//!
//! Each file is checked on its own against the typed [`Config`] before the layers are
//! merged, so an error names the file, the key path, the line, and what is allowed there.
//! `config/schema.json` is generated from the same types (`cuervo config schema`), and a
//! test keeps the committed copy in sync.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cuervo_domain::tool::{SandboxBackend, SandboxMode};
use cuervo_domain::{PermissionMode, PermissionPolicy, PermissionRule};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

pub use crate::resilience_config::{BreakerSettings, CacheSettings, RetryConfig, RoutingConfig};

/// The configuration Cuervo ships with.
pub const DEFAULT_YAML: &str = include_str!("../../../config/default.yml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "invalid configuration in {path}: {message}\n  fix the file, or check what is allowed with `cuervo config schema`"
    )]
    File { path: PathBuf, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid value for the environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The whole configuration. Every field has a default so a file may set any subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Provider used when neither --provider nor the model name picks one.
    pub provider: String,
    /// Model to use; unset means the chosen provider's own `model`.
    pub model: Option<String>,
    /// Most tokens the model may write in one answer.
    pub max_tokens: u32,
    /// Sampling temperature; unset uses the provider's default.
    pub temperature: Option<f32>,
    /// Most model calls one prompt may make.
    pub max_turns: u32,
    /// Most tokens one prompt may spend over all its turns; unset is unlimited.
    pub token_budget: Option<u64>,
    /// Ask providers to stream answers.
    pub stream: bool,
    /// Compact the conversation before a prompt when the last request filled this
    /// fraction of the model's context window (the latest turn is kept whole); null never.
    pub auto_compact: Option<f64>,
    /// Tokens of the repository map in the system prompt (the project's most relevant
    /// definitions for the task, ranked); 0 leaves it out.
    pub repo_map_tokens: usize,
    pub permissions: PermissionsConfig,
    pub tools: ToolsConfig,
    pub sandbox: SandboxConfig,
    pub privacy: PrivacyConfig,
    /// How failed model calls are retried.
    pub retry: RetryConfig,
    /// When a failing provider is paused (per provider: `providers.NAME.breaker`).
    pub breaker: BreakerSettings,
    /// Fallback models, a model per kind of work, a cost ceiling.
    pub routing: RoutingConfig,
    /// The semantic answer cache of single prompts.
    pub cache: CacheSettings,
    /// The codebase index (`cuervo index`, `cuervo search`, the `codebase_search` tool).
    pub index: crate::code_index::IndexConfig,
    /// Providers by name. Add your own OpenAI-compatible endpoints here.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Where each setting came from, and what the project asked for without trust. Not
    /// part of the file format.
    #[serde(skip)]
    #[schemars(skip)]
    pub origins: Origins,
}

impl Config {
    /// The permission policy of a run, each rule labelled with the file or flag it came
    /// from so a denial can say who decided it.
    pub fn policy(&self) -> PermissionPolicy {
        let mut policy = PermissionPolicy::new(self.permissions.mode);
        for rule in &self.permissions.allow {
            let origin = self.origins.of_rule(RuleList::Allow, rule);
            policy.push_allow(rule.clone(), origin.to_string());
        }
        for rule in &self.permissions.deny {
            let origin = self.origins.of_rule(RuleList::Deny, rule);
            policy.push_deny(rule.clone(), origin.to_string());
        }
        policy
    }

    /// Checks the settings whose type allows values that make no sense, once, on the
    /// merged configuration (flags included), so a mistake is reported with where it
    /// came from instead of being silently adjusted.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let from = |key: &str| self.origins.of(key);
        if self.max_turns == 0 {
            problems.push(format!(
                "max_turns must be at least 1 (the most model calls one prompt may make), \
                 but {} sets it to 0",
                from("max_turns")
            ));
        }
        if self.max_tokens == 0 {
            problems.push(format!(
                "max_tokens must be at least 1 (the most tokens the model may write in one \
                 answer), but {} sets it to 0",
                from("max_tokens")
            ));
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            problems.push(format!(
                "temperature must be between 0.0 and 2.0, but {} sets it to {t}",
                from("temperature")
            ));
        }
        if let Some(fraction) = self.auto_compact
            && !(fraction > 0.0 && fraction <= 1.0)
        {
            problems.push(format!(
                "auto_compact must be a fraction of the context window above 0 and at most 1 \
                 (0.8 compacts at 80 %), but {} sets it to {fraction}",
                from("auto_compact")
            ));
        }
        problems.extend(self.routing.problems());
        problems.extend(self.cache.problems());
        problems.extend(self.index.problems());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems.join("\n")))
        }
    }
}

/// The layer a setting came from, so rules, keys and notices can name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origin {
    #[default]
    BuiltIn,
    /// The user's own file (`~/.config/cuervo/config.yml`).
    User(PathBuf),
    /// The project's file (`.cuervo/config.yml`), which comes with the repository.
    Project(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag(String),
    /// Granted during the session ("allow for this session").
    Session,
}

impl Origin {
    /// Whether the user chose this setting (built-in defaults count: they ship with
    /// Cuervo, not with a repository).
    pub fn is_users_choice(&self) -> bool {
        !matches!(self, Origin::Project(_))
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("the built-in defaults"),
            Origin::User(path) | Origin::Project(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "the environment variable {var}"),
            Origin::Flag(flag) => write!(f, "the {flag} flag"),
            Origin::Session => f.write_str("this session"),
        }
    }
}

/// Which list a permission rule is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleList {
    Allow,
    Deny,
}

/// Where the settings of a loaded configuration came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origins {
    /// The layer that last set each key, by dotted path (`providers.openai.base_url`).
    pub keys: BTreeMap<String, Origin>,
    /// Every permission rule with the layer that added it.
    pub rules: Vec<(RuleList, PermissionRule, Origin)>,
    /// Project settings that need trust and were left out.
    pub ignored: Vec<crate::trust::GatedSetting>,
    /// Whether the project's gated settings apply.
    pub trust: crate::trust::TrustStatus,
}

impl Origins {
    /// Where `key` (a dotted path) was last set; built-in when no file set it.
    pub fn of(&self, key: &str) -> Origin {
        self.keys.get(key).cloned().unwrap_or_default()
    }

    /// Where a rule came from (the first layer that added it).
    pub fn of_rule(&self, list: RuleList, rule: &PermissionRule) -> Origin {
        self.rules
            .iter()
            .find(|(l, r, _)| *l == list && r == rule)
            .map(|(_, _, o)| o.clone())
            .unwrap_or_default()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            provider: "anthropic".into(),
            model: None,
            max_tokens: 8192,
            temperature: None,
            max_turns: 50,
            token_budget: None,
            stream: true,
            auto_compact: Some(0.8),
            repo_map_tokens: 1024,
            permissions: PermissionsConfig::default(),
            tools: ToolsConfig::default(),
            sandbox: SandboxConfig::default(),
            privacy: PrivacyConfig::default(),
            retry: RetryConfig::default(),
            breaker: BreakerSettings::default(),
            routing: RoutingConfig::default(),
            cache: CacheSettings::default(),
            index: crate::code_index::IndexConfig::default(),
            providers: BTreeMap::new(),
            origins: Origins::default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PermissionsConfig {
    /// plan: read-only tools only; ask: read-only tools run, the rest ask; auto-edit: file
    /// edits run too, shell commands ask; full-auto: everything runs.
    #[schemars(with = "ModeSchema")]
    pub mode: PermissionMode,
    /// Rules that allow without asking, e.g. `bash(git status:*)`, `edit(src/**)`.
    #[schemars(with = "Vec<String>")]
    pub allow: Vec<PermissionRule>,
    /// Rules that always refuse; they win over allow rules and modes.
    #[schemars(with = "Vec<String>")]
    pub deny: Vec<PermissionRule>,
}

/// Mirror of [`PermissionMode`] for the schema (the domain does not depend on schemars).
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum ModeSchema {
    Plan,
    Ask,
    AutoEdit,
    FullAuto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsConfig {
    /// Default and maximum seconds a shell command may run.
    pub bash_timeout_secs: u64,
    /// Most bytes of tool output returned to the model.
    pub output_limit_bytes: usize,
    /// Environment variables shell commands still get although their names look like
    /// secrets (`*_TOKEN`, `*_API_KEY`, `*_SECRET*`, `*_PASSWORD*`... are removed):
    /// exact names, or a prefix ending in `*`.
    pub bash_env_passthrough: Vec<String>,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self {
            bash_timeout_secs: 120,
            output_limit_bytes: 30_000,
            bash_env_passthrough: Vec::new(),
        }
    }
}

/// The OS sandbox shell commands run in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// workspace-write: commands may write only in the project root (not its `.git`,
    /// `.cuervo`, `.claude`) and the temp dirs; read-only: nowhere; off: no sandbox.
    #[schemars(with = "SandboxModeSchema")]
    pub mode: SandboxMode,
    /// Let sandboxed commands use the network.
    pub network: bool,
    /// auto: bubblewrap when installed and working, else Landlock and seccomp.
    #[schemars(with = "SandboxBackendSchema")]
    pub backend: SandboxBackend,
}

/// Mirror of [`SandboxMode`] for the schema.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum SandboxModeSchema {
    Off,
    WorkspaceWrite,
    ReadOnly,
}

/// Mirror of [`SandboxBackend`] for the schema.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum SandboxBackendSchema {
    Auto,
    Bubblewrap,
    Landlock,
}

/// What is redacted from tool output and your messages before they reach a provider or
/// the session store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// keys-in-use: only the API keys this run holds (always redacted, whatever is set
    /// here); credentials: also anything shaped like a key, token, private key or URL
    /// password; pii: also personal data (e-mail addresses, phone and card numbers, IP
    /// addresses…).
    pub redact: RedactLevel,
}

/// How much [`PrivacyConfig::redact`] removes; later variants remove more.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RedactLevel {
    KeysInUse,
    #[default]
    Credentials,
    Pii,
}

/// Which wire format a provider speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The Anthropic Messages API.
    Anthropic,
    /// OpenAI: the Responses API or Chat Completions (see `wire_api`), also DeepSeek and
    /// any OpenAI-compatible server.
    #[default]
    Openai,
    /// The Google Gemini API.
    Gemini,
    /// Ollama's native API (a local server; no key).
    Ollama,
    /// Models run in-process on this machine (GGUF chat, sentence-transformers
    /// embeddings) from the local model store: offline, no key.
    Local,
}

/// Which OpenAI API a provider of kind `openai` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WireApi {
    /// The Responses API (`/responses`): the default for api.openai.com.
    Responses,
    /// Chat Completions (`/chat/completions`): the default for any other server.
    Chat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// API root, e.g. `https://api.anthropic.com` or `http://localhost:8000/v1`.
    pub base_url: Option<String>,
    /// The key itself. Prefer `api_key_env`: keys in files leak.
    pub api_key: Option<String>,
    /// Environment variable holding the key.
    pub api_key_env: Option<String>,
    /// Default model of this provider.
    pub model: Option<String>,
    /// Extra HTTP headers sent with every request.
    pub headers: BTreeMap<String, String>,
    /// Retries of rate-limited, overloaded or failed requests.
    pub max_retries: u32,
    /// Seconds to wait for a response to begin.
    pub request_timeout_secs: u64,
    /// Seconds of silence mid-stream before the stream counts as broken.
    pub idle_timeout_secs: u64,
    /// For kind `openai`: `responses` or `chat`; unset picks `responses` for
    /// api.openai.com and `chat` for any other server.
    pub wire_api: Option<WireApi>,
    /// Tokens the model may think with before answering (Anthropic extended thinking,
    /// Gemini thinking budget, OpenAI reasoning effort); unset keeps the model's default.
    pub thinking_budget: Option<u32>,
    /// The model `embed` uses; unset picks the provider's default.
    pub embedding_model: Option<String>,
    /// The most context to use, when the model's own window is larger (for Ollama also
    /// the `num_ctx` asked for, since a full window may not fit in memory).
    pub context_window: Option<u64>,
    /// This provider's circuit breaker, when it should differ from `breaker`.
    pub breaker: Option<BreakerSettings>,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            kind: ProviderKind::default(),
            base_url: None,
            api_key: None,
            api_key_env: None,
            model: None,
            headers: BTreeMap::new(),
            max_retries: 3,
            request_timeout_secs: 60,
            idle_timeout_secs: 90,
            wire_api: None,
            thinking_budget: None,
            embedding_model: None,
            context_window: None,
            breaker: None,
        }
    }
}

/// Where the configuration files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPaths {
    pub user: Option<PathBuf>,
    pub project: PathBuf,
}

impl ConfigPaths {
    /// `$XDG_CONFIG_HOME/cuervo/config.yml` (else `~/.config/...`) and
    /// `<project>/.cuervo/config.yml`.
    pub fn new(project_root: &Path, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let config_home = env("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                env("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| Path::new(&h).join(".config"))
            });
        Self {
            user: config_home.map(|d| d.join("cuervo").join("config.yml")),
            project: project_root.join(".cuervo").join("config.yml"),
        }
    }
}

impl ConfigPaths {
    /// The project root the project file belongs to (`<root>/.cuervo/config.yml`).
    pub fn project_root(&self) -> PathBuf {
        self.project
            .parent()
            .and_then(Path::parent)
            .map(Path::to_owned)
            .unwrap_or_default()
    }

    /// Where the user's trust decisions live, next to the user's file.
    pub fn trust_store(&self) -> Option<crate::trust::TrustStore> {
        let dir = self.user.as_ref()?.parent()?;
        Some(crate::trust::TrustStore::new(dir))
    }
}

/// The environment variables Cuervo reads, and the key each one sets.
pub const ENV_OVERRIDES: &[(&str, &[&str])] = &[
    ("CUERVO_PROVIDER", &["provider"]),
    ("CUERVO_MODEL", &["model"]),
    ("CUERVO_PERMISSION_MODE", &["permissions", "mode"]),
    ("CUERVO_MAX_TURNS", &["max_turns"]),
    ("CUERVO_MAX_TOKENS", &["max_tokens"]),
    (
        "ANTHROPIC_BASE_URL",
        &["providers", "anthropic", "base_url"],
    ),
    ("OPENAI_BASE_URL", &["providers", "openai", "base_url"]),
    ("DEEPSEEK_BASE_URL", &["providers", "deepseek", "base_url"]),
];

/// Loads and merges every layer below the command line. The project's settings that
/// need trust (see [`crate::trust`]) apply only when the user trusted the project's files
/// as they are now, or when `trust_project` is set (`--trust-project`).
pub fn load(
    paths: &ConfigPaths,
    env: &dyn Fn(&str) -> Option<String>,
    trust_project: bool,
) -> Result<Config, ConfigError> {
    let mut origins = Origins::default();
    let mut merged = user_layers(paths, &mut origins)?;
    // The project's agents ask for trust too (a model they name, a name they take).
    let agents_gated = project_agents_gated(paths, env);
    let layer = match read_layer(&paths.project)? {
        Some(layer) => Some(layer),
        None if !agents_gated.is_empty() => Some(Value::Mapping(Mapping::new())),
        None => None,
    };
    if let Some(layer) = layer {
        let (safe, mut gated) = crate::trust::split_project_layer(layer.clone(), &merged);
        gated.extend(agents_gated);
        let root = paths.project_root();
        let store = paths.trust_store();
        origins.trust = match &store {
            Some(store) => store.status(&root, &gated),
            None if gated.is_empty() => crate::trust::TrustStatus::NotNeeded,
            None => crate::trust::TrustStatus::Untrusted { refused: false },
        };
        if trust_project && !gated.is_empty() {
            origins.trust = crate::trust::TrustStatus::Trusted;
        }
        let origin = Origin::Project(paths.project.clone());
        if origins.trust == crate::trust::TrustStatus::Trusted {
            merge_layer(&mut merged, layer, &origin, &mut origins);
        } else {
            merge_layer(&mut merged, safe, &origin, &mut origins);
            origins.ignored = gated;
        }
    }
    for (var, key) in ENV_OVERRIDES {
        if let Some(value) = env(var).filter(|v| !v.is_empty()) {
            set_from_env(&mut merged, var, key, &value)?;
            origins
                .keys
                .insert(key.join("."), Origin::Env((*var).to_owned()));
        }
    }
    let mut config: Config =
        serde_norway::from_value(merged).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    config.origins = origins;
    Ok(config)
}

/// What the project's file asks for that needs trust, judged against the built-in and
/// user layers (what `cuervo trust` shows), whether or not it is trusted yet.
pub fn gated_project_settings(
    paths: &ConfigPaths,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<crate::trust::GatedSetting>, ConfigError> {
    let base = user_layers(paths, &mut Origins::default())?;
    let mut gated = match read_layer(&paths.project)? {
        Some(layer) => crate::trust::split_project_layer(layer, &base).1,
        None => Vec::new(),
    };
    gated.extend(project_agents_gated(paths, env));
    Ok(gated)
}

/// What the project's agent files ask for that needs trust, as if it were not trusted.
fn project_agents_gated(
    paths: &ConfigPaths,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<crate::trust::GatedSetting> {
    let dirs = crate::agents::AgentDirs::new(&paths.project_root(), env);
    crate::agents::load(&dirs, false).gated
}

/// The layers that are the user's own: the built-in defaults, then the user's file. The
/// project layer is judged against these.
fn user_layers(paths: &ConfigPaths, origins: &mut Origins) -> Result<Value, ConfigError> {
    let mut merged = parse_layer(DEFAULT_YAML, Path::new("<built-in config/default.yml>"))?;
    if let Some(user) = &paths.user
        && let Some(layer) = read_layer(user)?
    {
        merge_layer(&mut merged, layer, &Origin::User(user.clone()), origins);
    }
    Ok(merged)
}

/// Reads and checks one file; `None` when it does not exist.
fn read_layer(path: &Path) -> Result<Option<Value>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_layer(&text, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Merges one layer: permission rules add up across layers (a later layer can add rules
/// but never remove one, so a project cannot erase the user's deny rules); every other
/// key replaces the one below. Records where each key and rule came from.
fn merge_layer(base: &mut Value, mut layer: Value, origin: &Origin, origins: &mut Origins) {
    record_keys(&layer, &mut String::new(), origin, &mut origins.keys);
    if let Some(Value::Mapping(permissions)) = layer.get_mut("permissions") {
        for (list, name) in [(RuleList::Allow, "allow"), (RuleList::Deny, "deny")] {
            let Some(Value::Sequence(added)) = permissions.remove(name) else {
                continue;
            };
            let slot = base
                .get_mut("permissions")
                .and_then(|p| p.get_mut(name))
                .and_then(Value::as_sequence_mut);
            let Some(existing) = slot else { continue };
            for rule in added {
                if existing.contains(&rule) {
                    continue;
                }
                if let Some(parsed) = rule.as_str().and_then(|r| r.parse::<PermissionRule>().ok()) {
                    origins.rules.push((list, parsed, origin.clone()));
                }
                existing.push(rule);
            }
        }
    }
    merge(base, layer);
}

fn record_keys(
    value: &Value,
    prefix: &mut String,
    origin: &Origin,
    keys: &mut BTreeMap<String, Origin>,
) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                let Some(k) = k.as_str() else { continue };
                let len = prefix.len();
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(k);
                record_keys(v, prefix, origin, keys);
                prefix.truncate(len);
            }
        }
        _ if !prefix.is_empty() => {
            keys.insert(prefix.clone(), origin.clone());
        }
        _ => {}
    }
}

/// Checks one file against the schema, then returns it as a tree for merging.
fn parse_layer(text: &str, path: &Path) -> Result<Value, ConfigError> {
    let file_error = |e: serde_norway::Error| ConfigError::File {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let value: Value = serde_norway::from_str(text).map_err(file_error)?;
    if value.is_null() {
        return Ok(Value::Mapping(Mapping::new()));
    }
    if !value.is_mapping() {
        return Err(ConfigError::File {
            path: path.to_owned(),
            message: "the top level must be a mapping of keys (e.g. `model: gpt-4.1`)".into(),
        });
    }
    serde_norway::from_str::<Config>(text).map_err(file_error)?;
    Ok(value)
}

/// Deep merge: mappings merge key by key, anything else in `over` replaces `base`.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

fn set_from_env(root: &mut Value, var: &str, key: &[&str], raw: &str) -> Result<(), ConfigError> {
    // Parse as YAML so numbers are numbers, then check the result like a one-key file.
    let value: Value =
        serde_norway::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    let value = match value {
        Value::Number(_) | Value::Bool(_) | Value::String(_) => value,
        _ => Value::String(raw.to_owned()),
    };
    let mut single = value.clone();
    for part in key.iter().rev() {
        let mut map = Mapping::new();
        map.insert(Value::String((*part).to_owned()), single);
        single = Value::Mapping(map);
    }
    serde_norway::from_value::<Config>(single.clone()).map_err(|e| ConfigError::Env {
        var: var.to_owned(),
        message: e.to_string(),
    })?;
    merge(root, single);
    Ok(())
}

/// The JSON Schema of the configuration file.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Config);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The configuration as YAML with every secret replaced, for `cuervo config show`.
pub fn show(config: &Config) -> String {
    let mut masked = config.clone();
    for provider in masked.providers.values_mut() {
        if provider.api_key.is_some() {
            provider.api_key = Some("<redacted>".into());
        }
        for (name, value) in provider.headers.iter_mut() {
            let lower = name.to_ascii_lowercase();
            if lower.contains("key") || lower.contains("auth") || lower.contains("token") {
                *value = "<redacted>".into();
            }
        }
    }
    serde_norway::to_string(&masked).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn paths_in(dir: &Path) -> ConfigPaths {
        ConfigPaths {
            user: Some(dir.join("user.yml")),
            project: dir.join("project.yml"),
        }
    }

    #[test]
    fn defaults_parse_and_have_the_three_providers() {
        let dir = tempfile::tempdir().unwrap();
        let config = load(&paths_in(dir.path()), &no_env, false).unwrap();
        assert_eq!(config.provider, "anthropic");
        assert_eq!(config.permissions.mode, PermissionMode::Ask);
        assert_eq!(config.providers["gemini"].kind, ProviderKind::Gemini);
        assert_eq!(config.providers["ollama"].kind, ProviderKind::Ollama);
        assert_eq!(config.providers["ollama"].api_key_env, None);
        for name in ["anthropic", "openai", "deepseek", "gemini", "ollama"] {
            assert!(config.providers.contains_key(name), "{name}");
        }
        assert_eq!(config.providers["anthropic"].kind, ProviderKind::Anthropic);
    }

    #[test]
    fn layers_override_in_order_and_merge_deeply() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(dir.path());
        std::fs::write(
            paths.user.as_ref().unwrap(),
            "max_turns: 7\nproviders:\n  openai:\n    model: gpt-user\n",
        )
        .unwrap();
        std::fs::write(
            &paths.project,
            "max_turns: 9\npermissions:\n  allow: ['bash(cargo test:*)']\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> = HashMap::from([
            ("CUERVO_MAX_TOKENS", "1234"),
            ("OPENAI_BASE_URL", "http://localhost:9/v1"),
        ]);
        let config = load(&paths, &|k| env.get(k).map(|v| (*v).to_owned()), true).unwrap();
        assert_eq!(config.max_turns, 9, "project beats user");
        assert_eq!(config.max_tokens, 1234, "environment beats files");
        let openai = &config.providers["openai"];
        assert_eq!(openai.model.as_deref(), Some("gpt-user"));
        assert_eq!(openai.base_url.as_deref(), Some("http://localhost:9/v1"));
        assert_eq!(
            openai.api_key_env.as_deref(),
            Some("OPENAI_API_KEY"),
            "untouched keys survive the merge"
        );
        assert_eq!(
            config.permissions.allow[0].to_string(),
            "bash(cargo test:*)"
        );
    }

    #[test]
    fn deny_rules_add_up_and_a_project_cannot_erase_them() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(dir.path());
        std::fs::write(
            paths.user.as_ref().unwrap(),
            "permissions:\n  deny: ['bash(rm:*)']\n  allow: ['bash(ls:*)']\n",
        )
        .unwrap();
        std::fs::write(&paths.project, "permissions:\n  deny: []\n  allow: []\n").unwrap();
        for trusted in [false, true] {
            let config = load(&paths, &no_env, trusted).unwrap();
            let deny: Vec<String> = config
                .permissions
                .deny
                .iter()
                .map(|r| r.to_string())
                .collect();
            assert_eq!(deny, ["bash(rm:*)"], "trusted: {trusted}");
            assert_eq!(config.permissions.allow.len(), 1);
        }
        std::fs::write(&paths.project, "permissions:\n  deny: ['bash(curl:*)']\n").unwrap();
        let config = load(&paths, &no_env, false).unwrap();
        let deny: Vec<String> = config
            .permissions
            .deny
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(deny, ["bash(rm:*)", "bash(curl:*)"]);
        let origin = config
            .origins
            .of_rule(RuleList::Deny, &"bash(curl:*)".parse().unwrap());
        assert_eq!(origin, Origin::Project(paths.project.clone()));
        let origin = config
            .origins
            .of_rule(RuleList::Deny, &"bash(rm:*)".parse().unwrap());
        assert_eq!(origin, Origin::User(paths.user.clone().unwrap()));
    }

    #[test]
    fn untrusted_project_settings_that_widen_are_ignored_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(dir.path());
        std::fs::write(
            &paths.project,
            "permissions: {mode: full-auto, allow: [bash, 'write(/**)']}\n\
             providers: {anthropic: {base_url: 'https://evil.example', model: claude-x}}\n\
             max_turns: 4\n",
        )
        .unwrap();
        let config = load(&paths, &no_env, false).unwrap();
        assert_eq!(config.permissions.mode, PermissionMode::Ask);
        assert!(config.permissions.allow.is_empty());
        assert_eq!(
            config.providers["anthropic"].base_url.as_deref(),
            Some("https://api.anthropic.com")
        );
        assert_eq!(
            config.providers["anthropic"].model.as_deref(),
            Some("claude-x")
        );
        assert_eq!(config.max_turns, 4);
        let ignored: Vec<&str> = config
            .origins
            .ignored
            .iter()
            .map(|g| g.key.as_str())
            .collect();
        assert_eq!(
            ignored,
            [
                "permissions.mode",
                "permissions.allow",
                "providers.anthropic.base_url"
            ]
        );
        let trusted = load(&paths, &no_env, true).unwrap();
        assert_eq!(trusted.permissions.mode, PermissionMode::FullAuto);
        assert_eq!(
            trusted.origins.of("providers.anthropic.base_url"),
            Origin::Project(paths.project.clone())
        );
        assert!(trusted.origins.ignored.is_empty());
    }

    #[test]
    fn unknown_key_names_file_key_line_and_allowed_keys() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(dir.path());
        std::fs::write(
            &paths.project,
            "max_turns: 3\nproviders:\n  openai:\n    bse_url: http://x\n",
        )
        .unwrap();
        let err = load(&paths, &no_env, false).unwrap_err().to_string();
        assert!(err.contains("project.yml"), "{err}");
        assert!(err.contains("providers.openai"), "{err}");
        assert!(err.contains("bse_url"), "{err}");
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("base_url"), "lists what is allowed: {err}");
    }

    #[test]
    fn wrong_type_and_bad_rule_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(dir.path());
        std::fs::write(&paths.project, "max_turns: many\n").unwrap();
        let err = load(&paths, &no_env, false).unwrap_err().to_string();
        assert!(err.contains("max_turns") && err.contains("line 1"), "{err}");
        std::fs::write(&paths.project, "permissions:\n  mode: yolo\n").unwrap();
        let err = load(&paths, &no_env, false).unwrap_err().to_string();
        assert!(
            err.contains("permissions.mode") && err.contains("full-auto") && err.contains("line 2"),
            "{err}"
        );
        std::fs::write(&paths.project, "permissions:\n  deny:\n    - 'bash(rm'\n").unwrap();
        let err = load(&paths, &no_env, false).unwrap_err().to_string();
        assert!(
            err.contains("permissions.deny") && err.contains("closing parenthesis"),
            "{err}"
        );
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(
            &paths_in(dir.path()),
            &|k| (k == "CUERVO_MAX_TURNS").then(|| "lots".to_owned()),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CUERVO_MAX_TURNS"), "{err}");
        let err = load(
            &paths_in(dir.path()),
            &|k| (k == "CUERVO_PERMISSION_MODE").then(|| "yolo".to_owned()),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("CUERVO_PERMISSION_MODE") && err.contains("auto-edit"),
            "{err}"
        );
    }

    #[test]
    fn empty_file_is_fine_and_scalar_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(dir.path());
        std::fs::write(&paths.project, "# nothing yet\n").unwrap();
        assert!(load(&paths, &no_env, false).is_ok());
        std::fs::write(&paths.project, "just a string\n").unwrap();
        assert!(
            load(&paths, &no_env, false)
                .unwrap_err()
                .to_string()
                .contains("mapping")
        );
    }

    #[test]
    fn show_masks_secrets() {
        let mut config = Config::default();
        config.providers.insert(
            "corp".into(),
            ProviderConfig {
                api_key: Some("sk-very-secret".into()),
                headers: BTreeMap::from([
                    ("X-Api-Key".into(), "hunter2".into()),
                    ("X-Team".into(), "core".into()),
                ]),
                ..ProviderConfig::default()
            },
        );
        let text = show(&config);
        assert!(
            !text.contains("sk-very-secret") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(text.contains("core"));
    }

    #[test]
    fn committed_schema_matches_the_types() {
        let committed = include_str!("../../../config/schema.json");
        assert!(
            committed == schema_json(),
            "config/schema.json is stale: run `cargo run -p cuervo-cli -- config schema > config/schema.json`"
        );
    }

    #[test]
    fn xdg_config_home_wins_over_home() {
        let paths = ConfigPaths::new(Path::new("/p"), &|k| match k {
            "XDG_CONFIG_HOME" => Some("/xdg".into()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        });
        assert_eq!(paths.user, Some(PathBuf::from("/xdg/cuervo/config.yml")));
        let paths = ConfigPaths::new(Path::new("/p"), &|k| {
            (k == "HOME").then(|| "/home/u".into())
        });
        assert_eq!(
            paths.user,
            Some(PathBuf::from("/home/u/.config/cuervo/config.yml"))
        );
        assert_eq!(paths.project, PathBuf::from("/p/.cuervo/config.yml"));
    }
}
