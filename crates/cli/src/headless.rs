//! `cuervo -p`: one prompt, no questions asked, machine-readable if wanted.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use cuervo_core::{AgentError, Approvals, ConversationEvent, HeadlessApprover, Op};
use cuervo_domain::{ModelErrorKind, Spend, StopCause};

use crate::config::Config;
use crate::conversation::Opened;
use crate::options::RunOptions;
use crate::render::{OutputFormat, Renderer, RunSummary, cause_name, plural};
use crate::setup::{Env, Project};
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

/// The prompt piped on stdin without `-p`; `None` when stdin is empty (`cuervo <
/// /dev/null`), so the caller can show the first-run guide or say what to do instead.
pub fn read_piped_prompt() -> Result<Option<String>> {
    let mut input = String::new();
    std::io::stdin()
        .lock()
        .read_to_string(&mut input)
        .context("cannot read the prompt from stdin")?;
    Ok((!input.trim().is_empty()).then_some(input))
}

pub async fn run(
    options: &RunOptions,
    format: OutputFormat,
    config: &Config,
    project: &Project,
    prompt: String,
    env: &Arc<Env>,
) -> Result<ExitCode> {
    // Attachments first: a bad path must fail before anything is stored or sent.
    let started_at = Instant::now();
    let prompt_text = prompt.clone();
    let mut message = cuervo_domain::Message::user(prompt);
    for path in &options.images {
        message.content.push(crate::attach::image_block(path)?);
    }
    // The semantic cache (opt-in): a hit answers without a session or a model call.
    let mut after_run = None;
    if options.semantic_cache || config.cache.semantic {
        use crate::cache_wiring::{self, Before};
        let settings = config.cache.semantic_settings();
        match cache_wiring::before_run(&settings, options, config, project, env, &prompt_text)
            .await?
        {
            Before::Hit(hit) => {
                return Ok(cache_wiring::print_hit(
                    format,
                    &hit,
                    started_at,
                    &mut std::io::stdout(),
                    &mut std::io::stderr(),
                ));
            }
            Before::Miss(after) => after_run = Some(after),
            Before::Off(reason) if format == OutputFormat::Text => {
                let _ = writeln!(std::io::stderr(), "note: {reason}");
            }
            Before::Off(_) => {}
        }
    }
    let Opened {
        mut conversation,
        started,
        audit,
        ..
    } = crate::conversation::open(
        options,
        config,
        project,
        env,
        Approvals::With(Arc::new(HeadlessApprover)),
    )
    .await?;
    // SIGINT, SIGTERM and SIGHUP stop the run the same way; it still ends normally, so
    // the session and the audit log are complete before the process exits.
    let ops = conversation.sender();
    let signals = CancelOnSignal::install(move || {
        ops.submit(Op::Interrupt);
    })?;
    if format == OutputFormat::Text {
        for note in &started.notes {
            let _ = writeln!(std::io::stderr(), "note: {note}");
        }
        if started.resumed {
            let _ = writeln!(
                std::io::stderr(),
                "resuming session {} ({})",
                started.session,
                plural(started.messages.len() as u64, "message")
            );
        }
    }

    let mut renderer = Renderer::new(format, std::io::stdout(), std::io::stderr());
    conversation.submit(Op::UserInput { message });
    let mut outcome = None;
    // The model that answered last: a fallback's, when the chosen one failed.
    let mut answered = (started.provider.clone(), started.model.clone());
    while let Some(event) = conversation.next_event().await {
        match event {
            ConversationEvent::Agent(event) => {
                if let cuervo_domain::AgentEvent::ModelInvoked {
                    provider, model, ..
                } = &event
                {
                    answered = (provider.clone(), model.clone());
                }
                renderer.event(&event);
            }
            ConversationEvent::TurnEnded { result } => {
                outcome = Some(result);
                break;
            }
            _ => {}
        }
    }
    // Every audit entry of the run is on disk before the result is reported.
    let (session, spend) = crate::conversation::close(conversation, audit)
        .await?
        .unwrap_or((started.session.clone(), Spend::default()));

    let mut summary = RunSummary {
        kind: "result",
        is_error: false,
        cause: String::new(),
        result: String::new(),
        error: None,
        session_id: session.to_string(),
        provider: answered.0,
        model: answered.1,
        num_turns: 0,
        usage: spend.usage,
        cost_usd: spend.exact().map(|c| c.usd()),
        duration_ms: u64::try_from(started_at.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    if let (Some(after), Some(Ok(done))) = (after_run, &outcome) {
        after.store(done).await;
    }
    renderer.end_line();
    let failed = |summary: &mut RunSummary, message: String| {
        summary.is_error = true;
        summary.cause = "error".into();
        summary.error = Some(message.clone());
        // Not `eprintln!`: after a SIGHUP the terminal is gone and writing fails.
        let _ = writeln!(std::io::stderr(), "error: {message}");
        ExitCode::FAILURE
    };
    let code = match outcome {
        Some(Ok(outcome)) => {
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
        Some(Err(AgentError::Model(error))) => {
            failed(&mut summary, explain_model_error(&error, config))
        }
        Some(Err(other)) => failed(&mut summary, other.to_string()),
        None => failed(
            &mut summary,
            "the session ended before the turn did; the conversation is saved".into(),
        ),
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
        // The error already says how long the provider asked to wait and what to do
        // (retry, another model, a local one): a hint would say it twice.
        ModelErrorKind::RateLimited { .. }
        | ModelErrorKind::Overloaded { .. }
        | ModelErrorKind::StreamCut
        | ModelErrorKind::Server => None,
        ModelErrorKind::ContextWindowExceeded => Some("the conversation is too long for this model; start a new one or use a model with a larger context window".into()),
        ModelErrorKind::Network => Some(format!("check your connection and providers.{provider}.base_url")),
        _ => None,
    }
}
