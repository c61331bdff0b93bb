//! The proxy's configuration file (YAML): where it listens, where it keeps its state,
//! which upstreams it may call and which public model names route to them.
//!
//! Upstream API keys are never written in the file: each upstream names the environment
//! variable that holds its key (`api_key_env`), read once at start-up. The file is the
//! operator's, so it is trusted as a whole; clients only ever choose among the public
//! model names it lists.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cuervo_providers::{ProviderSettings, WireKind};
use serde::Deserialize;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A syntax or type error, with serde's location (`models[0].deployments: ... at line
    /// 7 column 5`).
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// The file parses but does not make sense (an unknown upstream, a duplicate name).
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Address to listen on. Default `127.0.0.1:4000`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The SQLite database (keys, usage). Default: `cuervo-proxy.db` beside the file.
    #[serde(default)]
    pub database: Option<PathBuf>,
    /// The environment variable holding the admin key. Default `CUERVO_PROXY_ADMIN_KEY`.
    /// Without it set, the admin API is off (keys are managed with `cuervo-proxy keys`).
    #[serde(default = "default_admin_env")]
    pub admin_key_env: String,
    /// Largest request body accepted, in bytes. Default 10 MiB (room for a few images).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Upstream endpoints and their keys.
    pub upstreams: Vec<UpstreamConfig>,
    /// Public model names and the upstream models that serve them.
    pub models: Vec<ModelConfig>,
    /// Where rate-limit counters live: this process (the default) or Redis, shared by
    /// every replica.
    #[serde(default)]
    pub limits: LimitsConfig,
}

/// The rate-limit counter store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// `redis://host:port/db`: counters shared by every replica pointing at it, so a
    /// key's limits hold for the fleet. None: each replica counts alone.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// What to do when Redis does not answer: `open` (serve without limits, the
    /// default) or `closed` (refuse limited keys with 503).
    #[serde(default = "default_fail_mode")]
    pub on_redis_error: crate::redis_limits::FailMode,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            on_redis_error: default_fail_mode(),
        }
    }
}

fn default_fail_mode() -> crate::redis_limits::FailMode {
    crate::redis_limits::FailMode::Open
}

/// One upstream endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    pub name: String,
    /// `anthropic`, `openai` (Chat Completions), `openai-responses`, `gemini` or `ollama`.
    pub kind: String,
    pub base_url: String,
    /// The environment variable with this upstream's API key (none for a keyless local
    /// server).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Seconds to wait for the response head. Default 60.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// A public model name and where it is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub name: String,
    /// Tried in order: the next one serves when one fails before answering (a rate limit,
    /// an outage), so a group is also a fallback chain.
    pub deployments: Vec<DeploymentConfig>,
}

/// One upstream model serving a public name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    pub upstream: String,
    /// The model name the upstream knows.
    pub model: String,
    /// Price in dollars per million input tokens, for spend and budgets when the
    /// built-in price table does not know the model.
    #[serde(default)]
    pub input_usd_per_mtok: Option<f64>,
    #[serde(default)]
    pub output_usd_per_mtok: Option<f64>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4000))
}
fn default_admin_env() -> String {
    "CUERVO_PROXY_ADMIN_KEY".into()
}
fn default_max_body() -> usize {
    10 * 1024 * 1024
}
fn default_timeout() -> u64 {
    60
}

impl ProxyConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        if config.database.is_none() {
            let dir = path.parent().unwrap_or(Path::new("."));
            config.database = Some(dir.join("cuervo-proxy.db"));
        }
        Ok(config)
    }

    /// Parses YAML text; the error names the key and line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let de = serde_norway::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path.is_empty() || path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            }
        })
    }

    /// Checks names and references.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for u in &self.upstreams {
            if !seen.insert(u.name.as_str()) {
                return Err(format!("upstreams: `{}` is listed twice", u.name));
            }
            wire_kind(&u.kind).map_err(|e| format!("upstreams.{}.kind: {e}", u.name))?;
        }
        let mut names = std::collections::HashSet::new();
        for m in &self.models {
            if !names.insert(m.name.as_str()) {
                return Err(format!("models: `{}` is listed twice", m.name));
            }
            if m.deployments.is_empty() {
                return Err(format!("models.{}: no deployments", m.name));
            }
            for d in &m.deployments {
                if !seen.contains(d.upstream.as_str()) {
                    return Err(format!(
                        "models.{}: deployment upstream `{}` is not in `upstreams`",
                        m.name, d.upstream
                    ));
                }
            }
        }
        Ok(())
    }

    /// The database path (set by [`ProxyConfig::load`]).
    pub fn database_path(&self) -> PathBuf {
        self.database
            .clone()
            .unwrap_or_else(|| PathBuf::from("cuervo-proxy.db"))
    }
}

impl UpstreamConfig {
    /// The provider settings for this upstream, with its key read from the environment.
    pub fn settings(&self) -> Result<ProviderSettings, String> {
        let kind = wire_kind(&self.kind)?;
        let mut settings = match ProviderSettings::known(match kind {
            WireKind::Anthropic => "anthropic",
            WireKind::Gemini => "gemini",
            WireKind::Ollama => "ollama",
            WireKind::OpenAiChat | WireKind::OpenAiResponses => "openai",
        }) {
            Some(s) => s,
            None => return Err(format!("no provider defaults for `{}`", self.kind)),
        };
        settings.name = self.name.clone();
        settings.kind = kind;
        settings.base_url = self.base_url.clone();
        settings.api_key_env = self.api_key_env.clone();
        settings.api_key = self
            .api_key_env
            .as_deref()
            .and_then(|var| std::env::var(var).ok())
            .filter(|k| !k.is_empty());
        settings.key_source = self
            .api_key_env
            .as_ref()
            .map(|v| format!("the environment variable {v}"));
        settings.request_timeout = std::time::Duration::from_secs(self.timeout_secs.max(1));
        Ok(settings)
    }
}

/// The wire protocol for an upstream `kind`.
fn wire_kind(kind: &str) -> Result<WireKind, String> {
    Ok(match kind {
        "anthropic" => WireKind::Anthropic,
        "openai" => WireKind::OpenAiChat,
        "openai-responses" => WireKind::OpenAiResponses,
        "gemini" => WireKind::Gemini,
        "ollama" => WireKind::Ollama,
        other => {
            return Err(format!(
                "`{other}` is not one of anthropic, openai, openai-responses, gemini, ollama"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "
listen: 127.0.0.1:4100
upstreams:
  - name: claude
    kind: anthropic
    base_url: https://api.anthropic.com
    api_key_env: ANTHROPIC_API_KEY
models:
  - name: smart
    deployments:
      - upstream: claude
        model: claude-sonnet-4-5
";

    #[test]
    fn a_sample_parses_with_defaults() {
        let c = ProxyConfig::parse(SAMPLE).unwrap();
        c.validate().unwrap();
        assert_eq!(c.listen.port(), 4100);
        assert_eq!(c.admin_key_env, "CUERVO_PROXY_ADMIN_KEY");
        assert_eq!(c.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(c.models[0].deployments[0].model, "claude-sonnet-4-5");
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let bad = SAMPLE
            .replace("timeout", "x")
            .replace("model: claude", "modle: claude");
        let err = ProxyConfig::parse(&bad).unwrap_err();
        assert!(err.contains("models[0].deployments[0]"), "{err}");
        assert!(err.contains("line"), "{err}");
        let unknown = SAMPLE.replace("upstream: claude", "upstream: nobody");
        let err = ProxyConfig::parse(&unknown)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.contains("`nobody`"), "{err}");
        let kind = SAMPLE.replace("kind: anthropic", "kind: bedrock");
        let err = ProxyConfig::parse(&kind).unwrap().validate().unwrap_err();
        assert!(err.contains("upstreams.claude.kind"), "{err}");
    }
}
