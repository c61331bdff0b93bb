//! Builds the process's [`Resilience`] from config: the breakers (a default and
//! per-provider overrides), the one retry policy (its count per provider), and the router
//! (fallback chain, a model per role, the cost ceiling). Every front end and every agent
//! of the process share it.

use std::collections::HashMap;
use std::sync::Arc;

use cuervo_core::resilience::{Breakers, Resilience, Role, Router, TokioClock};
use cuervo_domain::{Cost, ResolvedModel};

use super::Env;
use super::route::{self, ConfigModels, Route};
use crate::config::{Config, ProviderKind};

/// The resilience of a run whose conversation starts on `primary`, and notes for the user
/// about settings that could not be applied (a fallback that does not resolve).
pub fn build(
    config: &Config,
    models: &ConfigModels,
    primary: &Route,
    env: &Env,
) -> (Resilience, Vec<String>) {
    let mut notes = Vec::new();
    let overrides = config
        .providers
        .iter()
        .filter_map(|(name, p)| p.breaker.map(|b| (name.clone(), b.config())))
        .collect();
    let retry_overrides = config
        .providers
        .iter()
        .map(|(name, p)| (name.clone(), config.retry.policy(p.max_retries)))
        .collect::<HashMap<_, _>>();

    let mut fallbacks = Vec::new();
    for entry in fallback_routes(config, primary, env, &mut notes) {
        match models.build(&entry) {
            Ok(model) => fallbacks.push(model),
            Err(error) => notes.push(format!(
                "routing.fallback: {}/{} left out: {error:#}",
                entry.provider, entry.model
            )),
        }
    }
    let mut router = Router::new()
        .with_fallbacks(fallbacks)
        .with_cost_ceiling(config.routing.cost_ceiling_usd.map(Cost::from_usd));
    for (name, requested) in &config.routing.roles {
        let Some(role) = Role::from_name(name) else {
            continue; // Reported by `Config::validate`.
        };
        match resolve(config, models, requested) {
            Ok(model) => router = router.with_role(role, model),
            Err(error) => notes.push(format!(
                "routing.roles.{name}: `{requested}` left out: {error}"
            )),
        }
    }
    let resilience = Resilience {
        breakers: Arc::new(Breakers::new(
            config.breaker.config(),
            overrides,
            Arc::new(TokioClock),
        )),
        retry: config.retry.policy(3),
        retry_overrides,
        router,
    };
    (resilience, notes)
}

/// A model name as `--model` takes it, resolved and built.
fn resolve(
    config: &Config,
    models: &ConfigModels,
    requested: &str,
) -> Result<ResolvedModel, String> {
    let mut config = config.clone();
    config.model = Some(requested.to_owned());
    route::route(&config, false, &route::installed_locally)
        .and_then(|route| models.build(&route))
        .map_err(|error| format!("{error:#}"))
}

/// The fallback chain as routes, `local` and `auto` expanded, the primary left out.
fn fallback_routes(
    config: &Config,
    primary: &Route,
    env: &Env,
    notes: &mut Vec<String>,
) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    for entry in &config.routing.fallback {
        match entry.as_str() {
            // The local model, when one is installed: offline, no key, no cost.
            "local" => {
                if let Some(provider) = route::local_provider(config)
                    && let Some(model) = config
                        .providers
                        .get(&provider)
                        .and_then(|p| p.model.clone())
                    && route::local_model_exists(&model)
                {
                    routes.push(Route { provider, model });
                }
            }
            // Every other remote provider the user holds a key for, with its own model.
            "auto" => {
                for (name, p) in &config.providers {
                    if p.kind == ProviderKind::Local || p.kind == ProviderKind::Ollama {
                        continue;
                    }
                    if let Some(model) = &p.model
                        && super::api_key(config, name, env).is_some()
                    {
                        routes.push(Route {
                            provider: name.clone(),
                            model: model.clone(),
                        });
                    }
                }
            }
            name => {
                let mut config = config.clone();
                config.model = Some(name.to_owned());
                match route::route(&config, false, &route::installed_locally) {
                    Ok(route) => routes.push(route),
                    Err(error) => {
                        notes.push(format!("routing.fallback: `{name}` left out: {error:#}"));
                    }
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    seen.insert((primary.provider.clone(), primary.model.clone()));
    routes.retain(|r| seen.insert((r.provider.clone(), r.model.clone())));
    routes
}
