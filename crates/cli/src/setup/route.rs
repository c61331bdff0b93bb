//! Model routing: which provider serves a model name. One owner, so `cuervo -p`, the
//! interactive modes, `/model`, `cuervo models test` and `cuervo models default` route a
//! name the same way.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use cuervo_domain::{ModelResolver, ResolvedModel};

use super::Env;
use crate::config::{Config, ProviderKind};
use crate::options::RunOptions;

/// A provider and the model to ask of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub provider: String,
    pub model: String,
}

/// Which provider and model a run uses (`config` has the run's options applied).
///
/// `provider/model` names both; otherwise an explicit `--provider` wins, then a model
/// installed on this machine under that name (`cuervo models list`), then a provider
/// recognised from the model's name (`claude-*` is Anthropic's, `gpt-*` OpenAI's...),
/// then the configured default provider, whose own `model` fills in a missing model.
pub fn resolve_model(config: &Config, options: &RunOptions) -> Result<Route> {
    route(config, options.provider.is_some(), &installed_locally)
}

/// [`resolve_model`] with the local-model lookup injected (for tests).
pub fn route(
    config: &Config,
    provider_given: bool,
    is_local: &dyn Fn(&str) -> bool,
) -> Result<Route> {
    let mut provider = config.provider.clone();
    let mut model = config.model.clone();
    if let Some(m) = &model {
        if let Some((prefix, rest)) = m.split_once('/')
            && config.providers.contains_key(prefix)
        {
            provider = prefix.to_owned();
            model = Some(rest.to_owned());
        } else if !provider_given {
            if let Some(local) = local_provider(config).filter(|_| is_local(m)) {
                provider = local;
            } else if let Some(inferred) =
                provider_for_model(m).filter(|p| config.providers.contains_key(*p))
            {
                provider = inferred.to_owned();
            }
        }
    }
    let Some(settings) = config.providers.get(&provider) else {
        let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        bail!(
            "unknown provider `{provider}`; configured providers: {}. Add it under `providers:` in ~/.config/cuervo/config.yml",
            known.join(", ")
        );
    };
    let model = model.or_else(|| settings.model.clone()).with_context(|| {
        format!("no model chosen for provider `{provider}`: pass --model or set providers.{provider}.model")
    })?;
    Ok(Route { provider, model })
}

/// The configured provider that runs models on this machine (`local` unless renamed).
pub(crate) fn local_provider(config: &Config) -> Option<String> {
    if config
        .providers
        .get("local")
        .is_some_and(|p| p.kind == ProviderKind::Local)
    {
        return Some("local".into());
    }
    config
        .providers
        .iter()
        .find(|(_, p)| p.kind == ProviderKind::Local)
        .map(|(name, _)| name.clone())
}

/// Whether `name` is a model in the local model store (`cuervo models import|pull`).
/// A lookup: a machine with no store yet has no models, and gets no empty store either.
pub fn installed_locally(name: &str) -> bool {
    !name.contains('/')
        && cuervo_local::store::default_dir().is_ok_and(|dir| dir.is_dir())
        && cuervo_local::ModelStore::open_default()
            .and_then(|store| store.get(name))
            .ok()
            .flatten()
            .is_some()
}

fn provider_for_model(model: &str) -> Option<&'static str> {
    let m = model.to_ascii_lowercase();
    if m.starts_with("claude") {
        Some("anthropic")
    } else if m.starts_with("gpt-")
        || m.starts_with("chatgpt")
        || ["o1", "o3", "o4"].iter().any(|p| m.starts_with(p))
    {
        Some("openai")
    } else if m.starts_with("deepseek") {
        Some("deepseek")
    } else if m.starts_with("gemini") {
        Some("gemini")
    } else {
        None
    }
}

/// The configured providers as the session service's [`ModelResolver`]: `/model NAME`
/// routes NAME as `--model NAME` would (an explicit `--provider` does not pin it).
pub struct ConfigModels {
    config: Config,
    env: Arc<Env>,
    /// Probed capabilities of every model this process resolves (the L1 cache): a probe
    /// can be a network call, and the session, the router and `/model` all ask.
    capabilities: cuervo_core::cache::CapabilitiesCache,
}

impl ConfigModels {
    pub fn new(config: Config, env: Arc<Env>) -> Self {
        Self {
            config,
            env,
            capabilities: cuervo_core::cache::CapabilitiesCache::new(
                cuervo_core::cache::CacheConfig::default(),
            ),
        }
    }

    /// Resolves `route` to a ready provider, with the provider's thinking budget.
    pub fn build(&self, route: &Route) -> Result<ResolvedModel> {
        let settings = self.config.providers.get(&route.provider);
        if let Some(settings) = settings
            && settings.kind == ProviderKind::Local
            && !local_model_exists(&route.model)
        {
            bail!(
                "the local model `{}` is not installed: `cuervo models pull OWNER/NAME` or \
                 `cuervo models import FILE.gguf --name {}` adds it, `cuervo models list` shows \
                 what is installed",
                route.model,
                route.model
            );
        }
        let provider: Arc<dyn cuervo_domain::ModelProvider> =
            Arc::new(cuervo_core::cache::CachedCapabilities::new(
                super::provider(&self.config, &route.provider, &*self.env)?,
                self.capabilities.clone(),
            ));
        Ok(ResolvedModel {
            provider_name: route.provider.clone(),
            model: route.model.clone(),
            provider,
            thinking_budget: settings.and_then(|s| s.thinking_budget),
        })
    }
}

/// A local model by store name, or a path to a GGUF file.
pub(crate) fn local_model_exists(model: &str) -> bool {
    installed_locally(model) || std::path::Path::new(model).is_file()
}

impl ModelResolver for ConfigModels {
    fn resolve(&self, requested: &str) -> Result<ResolvedModel, String> {
        let mut config = self.config.clone();
        config.model = Some(requested.to_owned());
        route(&config, false, &installed_locally)
            .and_then(|route| self.build(&route))
            .map_err(|error| format!("{error:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::tests::config;

    /// Issue 11: `providers.local.thinking_budget` was never passed to the local provider.
    /// The resolved model carries its provider's budget, and the agent sends it.
    #[cfg(feature = "local")]
    #[test]
    fn local_thinking_budget_reaches_the_resolved_model() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gguf = dir.path().join("model.gguf");
        std::fs::write(&gguf, b"GGUF").expect("write");
        let mut config = config();
        config
            .providers
            .get_mut("local")
            .expect("a built-in local provider")
            .thinking_budget = Some(0);
        let models = ConfigModels::new(config, Arc::new(|_: &str| None));
        let resolved = models
            .build(&Route {
                provider: "local".into(),
                model: gguf.display().to_string(),
            })
            .expect("a GGUF path resolves");
        assert_eq!(resolved.thinking_budget, Some(0));
    }

    /// Issue 11: the `/model` picker offered a local model that is not installed, and
    /// picking it broke the next prompt. Now the switch is refused up front.
    #[test]
    fn a_local_model_that_is_not_installed_is_refused_with_what_to_do() {
        let models = ConfigModels::new(config(), Arc::new(|_: &str| None));
        let error = models
            .build(&Route {
                provider: "local".into(),
                model: "no-such-model-here".into(),
            })
            .expect_err("not installed");
        let text = format!("{error:#}");
        assert!(text.contains("is not installed"), "{text}");
        assert!(text.contains("cuervo models pull"), "{text}");
    }
}
