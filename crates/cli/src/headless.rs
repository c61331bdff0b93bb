//! `cuervo -p`: one prompt, no questions asked, machine-readable if wanted.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use cuervo_core::{AgentError, CancellationToken, HeadlessApprover};
use cuervo_domain::{ModelErrorKind, Session, StopCause};
use tokio::sync::mpsc;

use crate::args::{Cli, OutputFormat};
use crate::config::Config;
use crate::render::{Renderer, RunSummary, cause_name};
use crate::setup::{self, Env, Project};
use crate::signals::{CancelOnSignal, Signal};

/// A mistake in how the command was called: exit status 2, like clap's own errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The prompt from `-p`, stdin, or both.
pub fn read_prompt(flag: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let piped = !stdin.is_terminal();
    let mut input = String::new();
    if flag == "-" || piped {
        stdin
            .lock()
            .read_to_string(&mut input)
            .context("cannot read the prompt from stdin")?;
    }
    let prompt = match (flag, input.trim().is_empty()) {
        ("-", _) => input,
        (flag, true) => flag.to_owned(),
        (flag, false) => format!("{flag}\n\n<stdin>\n{}\n</stdin>", input.trim_end()),
    };
    if prompt.trim().is_empty() {
        return Err(
            UsageError("the prompt is empty: pass it after -p or pipe it on stdin".into()).into(),
        );
    }
    Ok(prompt)
}

pub async fn run(
    cli: &Cli,
    config: &Config,
    project: &Project,
    prompt: String,
    env: &Env,
) -> Result<ExitCode> {
    // SIGINT, SIGTERM and SIGHUP stop the run the same way; it still ends normally, so
    // the session and the audit log are complete before the process exits.
    let cancel = CancellationToken::new();
    let signals = CancelOnSignal::install(cancel.clone())?;
    // Attachments first: a bad path must fail before anything is stored or sent.
    let mut message = cuervo_domain::Message::user(prompt);
    for path in &cli.images {
        message.content.push(crate::attach::image_block(path)?);
    }
    let setup::PreparedRun {
        assembled, state, ..
    } = setup::prepare_run(config, cli, project, Arc::new(HeadlessApprover), env)?;
    let mut session = Session::new(state.session.id.clone());
    session.messages = state.session.messages;
    if state.session.resumed && cli.output_format == OutputFormat::Text {
        eprintln!(
            "resuming session {} ({} messages)",
            session.id,
            session.messages.len()
        );
    }
    let audit = state.audit;

    let started = Instant::now();
    let mut renderer = Renderer::new(cli.output_format, std::io::stdout(), std::io::stderr());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let agent = &assembled.agent;
    let session_id = session.id.clone();
    let session_ref = &mut session;
    let run = async move {
        let tx = tx;
        agent.run_message(session_ref, message, &tx, &cancel).await
    };
    let render = async {
        while let Some(event) = rx.recv().await {
            audit.record(&session_id, &event);
            renderer.event(&event);
        }
    };
    let (outcome, ()) = tokio::join!(run, render);
    // Every audit entry of the run is on disk before the result is reported.
    tokio::task::spawn_blocking(move || audit.finish()).await?;

    let cost = assembled
        .provider_handle
        .cost(&assembled.model, &session.usage);
    let mut summary = RunSummary {
        kind: "result",
        is_error: false,
        cause: String::new(),
        result: String::new(),
        error: None,
        session_id: session.id.to_string(),
        provider: assembled.provider.clone(),
        model: assembled.model.clone(),
        num_turns: 0,
        usage: session.usage,
        cost_usd: cost.map(|c| c.usd()),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let code = match outcome {
        Ok(outcome) => {
            summary.cause = cause_name(outcome.cause).to_owned();
            summary.result = outcome.result;
            summary.num_turns = outcome.turns;
            summary.is_error = outcome.cause != StopCause::Completed;
            match outcome.cause {
                StopCause::Completed => ExitCode::SUCCESS,
                // Cancelled by a signal: its status is set below.
                StopCause::Cancelled => ExitCode::from(Signal::Interrupt.exit_code()),
                StopCause::MaxTurns | StopCause::TokenBudget => ExitCode::FAILURE,
            }
        }
        Err(AgentError::Model(error)) => {
            let message = explain_model_error(&error, config);
            summary.is_error = true;
            summary.cause = "error".into();
            summary.error = Some(message.clone());
            // Not `eprintln!`: after a SIGHUP the terminal is gone and writing fails.
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::FAILURE
        }
        Err(other) => {
            summary.is_error = true;
            summary.cause = "error".into();
            summary.error = Some(other.to_string());
            let _ = writeln!(std::io::stderr(), "error: {other}");
            ExitCode::FAILURE
        }
    };
    renderer.finish(&summary);
    // A signal that stopped the run decides the status, whatever the run's last step did
    // (a model call failing as its connection was dropped, say).
    Ok(match signals.received() {
        Some(signal) => ExitCode::from(signal.exit_code()),
        None => code,
    })
}

/// The provider's error plus what the user can do about it.
pub fn explain_model_error(error: &cuervo_domain::ModelError, config: &Config) -> String {
    match model_error_hint(error, config) {
        Some(hint) => format!("{error}\n  {hint}"),
        None => error.to_string(),
    }
}

/// What the user can do about a failed model call, when there is something to say.
pub fn model_error_hint(error: &cuervo_domain::ModelError, config: &Config) -> Option<String> {
    let provider = &error.provider;
    match error.kind {
        // The provider named the key that was sent and where it came from.
        ModelErrorKind::Auth if error.message.contains("the key in use") => None,
        ModelErrorKind::Auth => {
            let var = config.providers.get(provider).and_then(|p| p.api_key_env.clone());
            match var {
                // The provider already said which variable to fix.
                Some(var) if error.message.contains(&var) => None,
                Some(var) => Some(format!(
                    "check the API key: set {var} (or providers.{provider}.api_key in ~/.config/cuervo/config.yml)"
                )),
                None => Some(format!("check providers.{provider}.api_key in ~/.config/cuervo/config.yml")),
            }
        }
        ModelErrorKind::RateLimited { .. } | ModelErrorKind::Overloaded { .. } => {
            Some("the provider is busy; wait a moment and run the prompt again, or pick another model with --model".into())
        }
        ModelErrorKind::ContextWindowExceeded => Some("the conversation is too long for this model; start a new one or use a model with a larger context window".into()),
        ModelErrorKind::Network => Some(format!("check your connection and providers.{provider}.base_url")),
        ModelErrorKind::StreamCut => Some("run the prompt again; no partial changes were applied".into()),
        _ => None,
    }
}
