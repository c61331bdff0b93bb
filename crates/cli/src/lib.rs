//! The `cuervo` command. `main.rs` only calls [`main`]; everything else is here so tests
//! can reach it.

pub mod agents;
pub mod args;
pub mod attach;
pub mod cache_wiring;
pub mod clock;
pub mod code_index;
pub mod commands;
pub mod config;
pub mod context_sources;
pub mod conversation;
pub mod headless;
pub mod interactive;
pub mod local;
pub mod log;
pub mod options;
pub mod render;
pub mod resilience_config;
pub mod setup;
pub mod signals;
pub mod trust;
pub mod tui;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use crate::args::{Cli, Command, ConfigAction};
use crate::setup::{Env, Project};

/// Runs the command line; returns the process exit status.
pub async fn main(cli: Cli) -> ExitCode {
    init_tracing(cli.verbose);
    match dispatch(cli, Arc::new(setup::process_env)).await {
        Ok(code) => code,
        Err(error) => {
            // Not `eprintln!`: after a SIGHUP the terminal may be gone, and writing fails.
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            if error.is::<headless::UsageError>() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn dispatch(cli: Cli, env: Arc<Env>) -> Result<ExitCode> {
    let project = Project::discover(&std::env::current_dir()?)?;
    let options = cli.run_options();
    match &cli.command {
        Some(Command::Config { action }) => return config_command(action, &cli, &project, &*env),
        // Fast-layer subcommands: one arm each.
        Some(Command::Sessions(args)) => return commands::sessions::run(args, &project, &*env),
        Some(Command::Audit(args)) => return commands::audit::run(args, &*env),
        Some(Command::Cache(args)) => return commands::cache::run(args, &*env).await,
        Some(Command::Auth(args)) => return commands::auth::run(args, &options, &project, &*env),
        Some(Command::Trust(args)) => return commands::trust::run(args, &project, &*env),
        Some(Command::Tokens(args)) => return commands::tokens::run(args),
        Some(Command::Pii(args)) => return commands::pii::run(args),
        Some(Command::Symbols(args)) => return commands::symbols::run(args),
        Some(Command::Grep(args)) => return commands::grep::run(args),
        Some(Command::Files(args)) => return commands::files::run(args),
        Some(Command::Agents(args)) => {
            return commands::agents::run(args, &options, &project, &*env);
        }
        Some(Command::Models(_) | Command::Index(_) | Command::Search(_)) | None => {}
    }
    let (config, _) = setup::effective_config(&options, &project, &*env)?;
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let asks_on_terminal = cli.prompt.is_none()
        && cli.command.is_none()
        && stdin_is_terminal
        && std::io::stderr().is_terminal();
    let config = trust::settle(config, &options, &project, &*env, asks_on_terminal)?;
    match &cli.command {
        Some(Command::Models(args)) => {
            return commands::models::run(args, &options, &config, &env).await;
        }
        Some(Command::Index(args)) => {
            return commands::index::run(args, &config, &project, &env).await;
        }
        Some(Command::Search(args)) => {
            return commands::search::run(args, &config, &project, &env).await;
        }
        _ => {}
    }
    let prompt = match &cli.prompt {
        Some(flag) => Some(headless::read_prompt(flag)?),
        // Piped input without -p is the prompt of a headless run, as with `-p -`.
        None if !stdin_is_terminal => headless::read_piped_prompt()?,
        None => None,
    };
    if let Some(prompt) = prompt {
        return headless::run(&options, cli.output_format, &config, &project, prompt, &env).await;
    }
    let route = setup::resolve_model(&config, &options)?;
    if setup::api_key(&config, &route.provider, &*env).is_none()
        && needs_key(&config, &route.provider)
    {
        let var = config
            .providers
            .get(&route.provider)
            .and_then(|p| p.api_key_env.as_deref());
        print!(
            "{}",
            interactive::first_run_guide(&route.provider, &route.model, var)
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !stdin_is_terminal {
        // `cuervo < /dev/null`: nothing to run and nobody to talk to.
        return Err(headless::UsageError(
            "stdin is empty: pass a prompt with -p or pipe one in, or run `cuervo` in a terminal to chat".into(),
        )
        .into());
    }
    if tui::is_supported() {
        tui::app::run(&options, &config, &project, &env).await
    } else {
        interactive::run(&options, &config, &project, &env).await
    }
}

/// Known hosted providers need a key; a custom endpoint without `api_key_env` may not.
pub fn needs_key(config: &config::Config, provider: &str) -> bool {
    config
        .providers
        .get(provider)
        .is_some_and(|p| p.api_key_env.is_some())
}

fn config_command(
    action: &ConfigAction,
    cli: &Cli,
    project: &Project,
    env: &Env,
) -> Result<ExitCode> {
    match action {
        ConfigAction::Schema => print!("{}", config::schema_json()),
        ConfigAction::Path => {
            let paths = config::ConfigPaths::new(&project.root, env);
            let state = |p: &std::path::Path| if p.exists() { "exists" } else { "not created" };
            if let Some(user) = &paths.user {
                println!("user:    {} ({})", user.display(), state(user));
            }
            println!(
                "project: {} ({})",
                paths.project.display(),
                state(&paths.project)
            );
        }
        ConfigAction::Show { agent } => {
            let (config, paths) =
                setup::effective_config(&cli.run_options_with(agent), project, env)?;
            print!("{}", config::show(&config));
            if !config.origins.ignored.is_empty() {
                eprint!(
                    "{}",
                    trust::ignored_notice(&paths.project, &config.origins.ignored)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(verbose: bool) {
    let filter = if verbose {
        tracing_subscriber::EnvFilter::new(
            "cuervo=debug,cuervo_core=debug,cuervo_providers=debug,cuervo_tools=debug",
        )
    } else {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| log::LogWriter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
