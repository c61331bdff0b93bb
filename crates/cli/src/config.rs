//! Layered configuration: the embedded `config/default.yml`, then the user's file, then
//! the project's, then environment variables, then flags.
//!
//! Each file is checked on its own against the typed [`Config`] before the layers are
//! merged, so an error names the file, the key path, the line, and what is allowed there.
//! `config/schema.json` is generated from the same types (`cuervo config schema`), and a
//! test keeps the committed copy in sync.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cuervo_domain::{PermissionMode, PermissionPolicy, PermissionRule};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

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
    pub permissions: PermissionsConfig,
    pub tools: ToolsConfig,
    /// Providers by name. Add your own OpenAI-compatible endpoints here.
    pub providers: BTreeMap<String, ProviderConfig>,
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
            permissions: PermissionsConfig::default(),
            tools: ToolsConfig::default(),
            providers: BTreeMap::new(),
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

impl PermissionsConfig {
    pub fn policy(&self) -> PermissionPolicy {
        PermissionPolicy {
            mode: self.mode,
            allow: self.allow.clone(),
            deny: self.deny.clone(),
        }
    }
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
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self {
            bash_timeout_secs: 120,
            output_limit_bytes: 30_000,
        }
    }
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

/// Loads and merges every layer below the command line.
pub fn load(
    paths: &ConfigPaths,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut merged = parse_layer(DEFAULT_YAML, Path::new("<built-in config/default.yml>"))?;
    let files = paths.user.iter().chain(std::iter::once(&paths.project));
    for path in files {
        match std::fs::read_to_string(path) {
            Ok(text) => merge(&mut merged, parse_layer(&text, path)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.clone(),
                    source,
                });
            }
        }
    }
    for (var, key) in ENV_OVERRIDES {
        if let Some(value) = env(var).filter(|v| !v.is_empty()) {
            set_from_env(&mut merged, var, key, &value)?;
        }
    }
    serde_norway::from_value(merged).map_err(|e| ConfigError::Invalid(e.to_string()))
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
        let config = load(&paths_in(dir.path()), &no_env).unwrap();
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
        let config = load(&paths, &|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
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
    fn unknown_key_names_file_key_line_and_allowed_keys() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(dir.path());
        std::fs::write(
            &paths.project,
            "max_turns: 3\nproviders:\n  openai:\n    bse_url: http://x\n",
        )
        .unwrap();
        let err = load(&paths, &no_env).unwrap_err().to_string();
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
        let err = load(&paths, &no_env).unwrap_err().to_string();
        assert!(err.contains("max_turns") && err.contains("line 1"), "{err}");
        std::fs::write(&paths.project, "permissions:\n  mode: yolo\n").unwrap();
        let err = load(&paths, &no_env).unwrap_err().to_string();
        assert!(
            err.contains("permissions.mode") && err.contains("full-auto") && err.contains("line 2"),
            "{err}"
        );
        std::fs::write(&paths.project, "permissions:\n  deny:\n    - 'bash(rm'\n").unwrap();
        let err = load(&paths, &no_env).unwrap_err().to_string();
        assert!(
            err.contains("permissions.deny") && err.contains("closing parenthesis"),
            "{err}"
        );
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&paths_in(dir.path()), &|k| {
            (k == "CUERVO_MAX_TURNS").then(|| "lots".to_owned())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("CUERVO_MAX_TURNS"), "{err}");
        let err = load(&paths_in(dir.path()), &|k| {
            (k == "CUERVO_PERMISSION_MODE").then(|| "yolo".to_owned())
        })
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
        assert!(load(&paths, &no_env).is_ok());
        std::fs::write(&paths.project, "just a string\n").unwrap();
        assert!(
            load(&paths, &no_env)
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
