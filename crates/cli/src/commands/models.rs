//! `cuervo models`: the ManageModels use case — what models there are, local ones added
//! and removed, and a quick live test of any model.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use cuervo_domain::{Message, ModelChunk, ModelProvider, ModelRequest};
use cuervo_local::{HubClient, ImportMode, ModelStore};
use futures::StreamExt;

use crate::config::{Config, ProviderKind};
use crate::options::RunOptions;
use crate::setup::{self, Env, state};

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub action: ModelsAction,
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Configured providers with their default models, and the local models installed.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Register a local GGUF file (chat) or sentence-transformers directory (embeddings).
    Import {
        path: PathBuf,
        /// Name to use in `--model` (default: derived from the file name).
        #[arg(long)]
        name: Option<String>,
        /// Copy the model into the store instead of linking to it.
        #[arg(long)]
        copy: bool,
    },
    /// Download a model from the Hugging Face hub: `OWNER/NAME[:FILE]`.
    Pull {
        spec: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Add a provider's model to the registry, e.g. `openai/gpt-5-mini`, so `list` shows
    /// it with its capabilities and price.
    Add { model: String },
    /// Remove a local model from the store (an imported link's target is kept), or an
    /// added `provider/model` from the registry.
    Remove { name: String },
    /// Make MODEL the default: writes `provider` and `model` to the user config file.
    Default { model: String },
    /// Send a tiny request to a model and report latency, time to first token and
    /// tokens/s. MODEL is `provider/model`, a model name, or a local model's name.
    Test { model: String },
    /// Which model would answer a sample request of a kind of work (`--role`), and with
    /// `--explain` why: the order, what was left out, retries and breakers. Sends nothing.
    Route(super::route::RouteArgs),
}

pub async fn run(
    args: &ModelsArgs,
    options: &RunOptions,
    config: &Config,
    shared_env: &Arc<Env>,
) -> Result<ExitCode> {
    let env: &Env = &**shared_env;
    match &args.action {
        ModelsAction::List { json } => list(config, env, *json),
        ModelsAction::Import { path, name, copy } => {
            let store = ModelStore::open_default()?;
            let mode = if *copy {
                ImportMode::Copy
            } else {
                ImportMode::Symlink
            };
            let entry = store.import(path, name.as_deref(), mode)?;
            let hint = if entry.kind == cuervo_local::ModelKind::Embedding {
                format!(
                    "the codebase index embeds with it (`cuervo index`; index.embedder: local/{})",
                    entry.name
                )
            } else {
                format!("use it with --provider local --model {}", entry.name)
            };
            println!(
                "imported {} ({}, {}): {hint}",
                entry.name,
                entry.kind,
                human_size(entry.size),
            );
            Ok(ExitCode::SUCCESS)
        }
        ModelsAction::Pull { spec, name } => {
            let store = ModelStore::open_default()?;
            let hub = HubClient::from_env();
            let mut last = Instant::now();
            let mut report = |p: &cuervo_local::Progress| {
                if last.elapsed().as_millis() >= 250 || p.total == Some(p.downloaded) {
                    last = Instant::now();
                    let total = p.total.map(human_size).unwrap_or_else(|| "?".into());
                    eprint!("\r{}: {} / {}   ", p.file, human_size(p.downloaded), total);
                    let _ = std::io::stderr().flush();
                }
            };
            let entry = store.pull(spec, &hub, name.as_deref(), &mut report).await?;
            eprintln!();
            println!(
                "pulled {} ({}, sha256 {})",
                entry.name,
                human_size(entry.size),
                &entry.sha256[..12.min(entry.sha256.len())]
            );
            Ok(ExitCode::SUCCESS)
        }
        ModelsAction::Add { model } => add(model, config, env),
        ModelsAction::Remove { name } => {
            let store = ModelStore::open_default()?;
            if store.get(name)?.is_some() {
                let entry = store.remove(name)?;
                println!("removed local model {}", entry.name);
            } else if state::open_db(env)?.unregister_model(name)? {
                println!("removed {name} from the registry");
            } else {
                anyhow::bail!("no local or added model `{name}`: see `cuervo models list`");
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsAction::Default { model } => set_default(model, options, config, env),
        ModelsAction::Test { model } => test(model, options, config, env).await,
        ModelsAction::Route(route) => super::route::run(route, options, config, shared_env),
    }
}

fn list(config: &Config, env: &Env, json: bool) -> Result<ExitCode> {
    let mut rows = Vec::new();
    for (name, provider) in &config.providers {
        if provider.kind == ProviderKind::Local {
            continue;
        }
        let key = match provider.api_key_env.as_deref() {
            None => "no key needed".to_owned(),
            Some(var) if setup::api_key(config, name, env).is_some() => format!("key set ({var})"),
            Some(var) => format!("no key ({var})"),
        };
        let model = provider.model.clone().unwrap_or_default();
        let caps = setup::provider(config, name, env)
            .ok()
            .map(|p| p.capabilities(&model));
        let price = cuervo_providers::pricing::price(&model);
        rows.push(serde_json::json!({
            "provider": name, "model": model, "status": key,
            "context_window": caps.as_ref().map(|c| c.context_window),
            "tools": caps.as_ref().map(|c| c.tools),
            "vision": caps.as_ref().map(|c| c.vision),
            "thinking": caps.as_ref().map(|c| c.thinking),
            "usd_per_mtok_in_out": price.map(|p| [p.input, p.output]),
        }));
    }
    for added in state::open_db(env)?.registered_models()? {
        let caps = |k: &str| added.capabilities.as_ref().and_then(|c| c.get(k).cloned());
        let price = cuervo_providers::pricing::price(&added.name);
        rows.push(serde_json::json!({
            "provider": added.provider, "model": added.name, "status": "added",
            "context_window": caps("context_window"), "tools": caps("tools"),
            "vision": caps("vision"), "thinking": caps("thinking"),
            "usd_per_mtok_in_out": price.map(|p| [p.input, p.output]),
        }));
    }
    let local = ModelStore::open_default()
        .and_then(|s| s.list())
        .unwrap_or_default();
    for entry in &local {
        rows.push(serde_json::json!({
            "provider": "local", "model": entry.name, "status": format!("installed ({})", entry.kind),
            "size": entry.size, "path": entry.path,
            "usd_per_mtok_in_out": [0.0, 0.0],
        }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:<28} {:<28} {:>9}  {:<22} price in/out per Mtok",
        "PROVIDER", "MODEL", "STATUS", "CONTEXT", "CAPABILITIES"
    );
    for row in &rows {
        let s = |k: &str| row[k].as_str().unwrap_or("").to_owned();
        let caps = ["tools", "vision", "thinking"]
            .into_iter()
            .filter(|k| row[*k].as_bool() == Some(true))
            .collect::<Vec<_>>()
            .join(",");
        let context = row["context_window"]
            .as_u64()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "—".into());
        let price = match row["usd_per_mtok_in_out"].as_array() {
            Some(p) => format!("${} / ${}", p[0], p[1]),
            None => "unknown".into(),
        };
        println!(
            "{:<10} {:<28} {:<28} {:>9}  {:<22} {price}",
            s("provider"),
            s("model"),
            s("status"),
            context,
            caps
        );
    }
    if local.is_empty() {
        println!(
            "\nNo local models yet: `cuervo models import FILE.gguf` or `cuervo models pull OWNER/NAME`."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A tiny streamed request: how long until the first token, and how fast after that.
async fn test(model: &str, options: &RunOptions, config: &Config, env: &Env) -> Result<ExitCode> {
    let mut config = config.clone();
    config.model = Some(model.to_owned());
    let route = setup::resolve_model(&config, options)?;
    let (provider_name, model) = (route.provider, route.model);
    let provider: Arc<dyn ModelProvider> = setup::provider(&config, &provider_name, env)?;
    let request = ModelRequest {
        model: model.clone(),
        system: None,
        messages: vec![Message::user("Reply with the single word: ready")],
        tools: Vec::new(),
        max_tokens: 16,
        temperature: Some(0.0),
        stream: true,
        thinking_budget: None,
    };
    let started = Instant::now();
    let mut first_token = None;
    let mut text = String::new();
    let mut usage = cuervo_domain::Usage::default();
    let mut stream = provider.invoke(request);
    while let Some(chunk) = stream.next().await {
        match chunk.with_context(|| format!("{provider_name}/{model} failed"))? {
            ModelChunk::Text { text: t } => {
                first_token.get_or_insert_with(|| started.elapsed());
                text.push_str(&t);
            }
            ModelChunk::Usage { usage: u } => usage.merge(&u),
            _ => {}
        }
    }
    let total = started.elapsed();
    let ttft = first_token.unwrap_or(total);
    let generating = total.saturating_sub(ttft).as_secs_f64();
    let rate = if usage.output_tokens > 1 && generating > 0.0 {
        format!(
            "{:.1} tokens/s",
            (usage.output_tokens - 1) as f64 / generating
        )
    } else {
        "—".into()
    };
    println!("{provider_name}/{model}: {:?}", text.trim());
    println!(
        "  latency {:.0} ms · first token {:.0} ms · {rate} · {} in / {} out tokens",
        total.as_secs_f64() * 1000.0,
        ttft.as_secs_f64() * 1000.0,
        usage.input_tokens,
        usage.output_tokens
    );
    Ok(ExitCode::SUCCESS)
}

/// `cuervo models add provider/model`: records it with the capabilities the provider
/// knows for it.
fn add(model: &str, config: &Config, env: &Env) -> Result<ExitCode> {
    let Some((provider_name, name)) = model
        .split_once('/')
        .filter(|(p, n)| !p.is_empty() && !n.is_empty())
    else {
        anyhow::bail!("give the model as PROVIDER/MODEL, e.g. openai/gpt-5-mini");
    };
    if !config.providers.contains_key(provider_name) {
        let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        anyhow::bail!(
            "unknown provider `{provider_name}`; configured providers: {}",
            known.join(", ")
        );
    }
    let caps = setup::provider(config, provider_name, env)?.capabilities(name);
    let added = state::open_db(env)?.register_model(
        provider_name,
        name,
        Some(&serde_json::to_value(&caps)?),
    )?;
    println!(
        "added {} (context {}, tools {}): use it with --model {}",
        added.id, caps.context_window, caps.tools, added.id
    );
    Ok(ExitCode::SUCCESS)
}

/// `cuervo models default MODEL`: sets `provider` and `model` in the user config file,
/// keeping its other keys (comments in that file are not kept).
fn set_default(model: &str, options: &RunOptions, config: &Config, env: &Env) -> Result<ExitCode> {
    let mut probe = config.clone();
    probe.model = Some(model.to_owned());
    let setup::Route { provider, model } = setup::resolve_model(&probe, options)?;
    let path = crate::config::ConfigPaths::new(std::path::Path::new("."), env)
        .user
        .context("neither XDG_CONFIG_HOME nor HOME is set: there is no user config file")?;
    let mut doc: serde_norway::Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_norway::from_str(&text)
            .with_context(|| format!("cannot parse {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            serde_norway::Value::Mapping(Default::default())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if doc.is_null() {
        doc = serde_norway::Value::Mapping(Default::default());
    }
    let map = doc
        .as_mapping_mut()
        .with_context(|| format!("{} is not a mapping of keys", path.display()))?;
    map.insert("provider".into(), provider.clone().into());
    map.insert("model".into(), model.clone().into());
    let text = serde_norway::to_string(&doc)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("yml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
    println!("default model: {provider}/{model} (in {})", path.display());
    Ok(ExitCode::SUCCESS)
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
