//! `cuervo auth`: keep API keys in the OS keychain (or a private file) instead of the
//! environment or config files.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use cuervo_store::KeyLocation;

use crate::options::RunOptions;
use crate::setup::{self, Env, KeySource, Project, state};

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub action: AuthAction,
}

#[derive(Debug, Subcommand)]
pub enum AuthAction {
    /// Store an API key. It is read from the terminal without echo, or from piped stdin
    /// (`pass show openai | cuervo auth login openai`).
    Login {
        /// Provider name from the config (anthropic, openai, deepseek, or your own).
        provider: String,
    },
    /// Which providers have a key, and where it comes from (never the key itself);
    /// `not needed` for those that take none (local models, Ollama).
    Status,
    /// Forget the stored key of a provider.
    Logout { provider: String },
}

pub fn run(
    args: &AuthArgs,
    options: &RunOptions,
    project: &Project,
    env: &Env,
) -> Result<ExitCode> {
    let (config, _) = setup::effective_config(options, project, env)?;
    let credentials = state::credentials(env)
        .context("neither XDG_CONFIG_HOME nor HOME is set, so there is nowhere to keep keys")?;
    match &args.action {
        AuthAction::Login { provider } => {
            if !config.providers.contains_key(provider) {
                let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
                bail!(
                    "unknown provider `{provider}`; configured providers: {}",
                    known.join(", ")
                );
            }
            let key = read_key(provider)?;
            let saved = credentials.save(provider, &key)?;
            match &saved.location {
                KeyLocation::Keychain => {
                    println!("Stored the {provider} API key in the OS keychain.");
                }
                KeyLocation::File(path) => {
                    if let Some(why) = &saved.keychain_error {
                        eprintln!("note: no OS keychain available ({why}).");
                    }
                    println!(
                        "Stored the {provider} API key in {} (readable only by you).",
                        path.display()
                    );
                }
            }
            if let Some(var) = config
                .providers
                .get(provider)
                .and_then(|p| p.api_key_env.as_deref())
                .filter(|var| env(var).is_some_and(|v| !v.trim().is_empty()))
            {
                eprintln!("note: {var} is set and takes precedence over the stored key.");
            }
        }
        AuthAction::Status => {
            for name in config.providers.keys() {
                // A provider that needs no key (a local model, Ollama, a custom endpoint
                // without `api_key_env`) is not missing one.
                let source = match setup::api_key_with_source(&config, name, env) {
                    Some((_, source)) => source.to_string(),
                    None if crate::needs_key(&config, name) => "no key".to_owned(),
                    None => "not needed".to_owned(),
                };
                println!("{name:<12} {source}");
            }
            // Keys stored for providers the config no longer names.
            for (name, location) in credentials.list()? {
                if !config.providers.contains_key(&name) {
                    println!(
                        "{name:<12} {} (not a configured provider)",
                        KeySource::Stored(location)
                    );
                }
            }
        }
        AuthAction::Logout { provider } => match credentials.remove(provider)? {
            Some(location) => println!("Removed the {provider} API key from {location}."),
            None => {
                eprintln!("No stored key for {provider}.");
                return Ok(ExitCode::FAILURE);
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// The key from the terminal (no echo) or from piped stdin.
fn read_key(provider: &str) -> Result<String> {
    let key = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("API key for {provider} (input hidden): "))
            .context("cannot read the key from the terminal")?
    } else {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("cannot read the key from stdin")?;
        input
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(crate::headless::UsageError(
            "no key given: type it at the prompt or pipe it on stdin".into(),
        )
        .into());
    }
    Ok(key)
}
