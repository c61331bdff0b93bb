//! `cuervo` with no prompt where the terminal UI cannot run (stdout piped, `TERM=dumb`):
//! a line-based conversation with permission prompts, plain text in and out.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Result;
use cuervo_core::{AgentError, CancellationToken};
use cuervo_domain::{Approval, ApprovalRequest, Approver, BoxFuture, Session};
use tokio::sync::mpsc;

use crate::args::{Cli, OutputFormat};
use crate::config::Config;
use crate::headless::explain_model_error;
use crate::render::Renderer;
use crate::setup::{self, Env, Project, state};
use crate::signals::{Signal, Signals};

/// Asks on the terminal: shows what will run or change, then reads the answer.
pub struct TerminalApprover {
    stdin: StdinLines,
    /// The running turn's token: a question still open when the turn is stopped (Ctrl-C,
    /// SIGTERM, SIGHUP) is answered "no" at once instead of waiting for a line.
    turn: Arc<Mutex<CancellationToken>>,
}

impl Approver for TerminalApprover {
    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, Approval> {
        Box::pin(async move {
            let stopped = self
                .turn
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let rule = ask(&request);
            tokio::select! {
                () = stopped.cancelled() => Approval::Deny,
                line = self.stdin.read_line() => match line {
                    Ok(Some(line)) => parse_answer(line.trim(), rule),
                    Ok(None) | Err(_) => Approval::Deny,
                },
            }
        })
    }
}

/// Shows the request and the choices; returns the rule "always" would add.
fn ask(request: &ApprovalRequest) -> Option<String> {
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "\n{} wants to run: {}",
        request.tool, request.action.summary
    );
    if let Some(preview) = &request.action.preview {
        let _ = writeln!(err, "{preview}");
    }
    let rule = cuervo_core::approval::suggested_rule(request);
    let always = match &rule {
        Some(rule) => format!("[a] always ({rule})  "),
        // No rule narrow enough for a compound command: "always" is not offered.
        None => String::new(),
    };
    let _ = write!(
        err,
        "Allow? [y] once  {always}[n] no  — or type what to do instead: "
    );
    let _ = err.flush();
    rule
}

/// Lines typed on stdin, read on a thread of their own: a read that waits for the user
/// never holds up the end of the process (a read on the runtime's blocking pool would
/// keep the runtime from shutting down after a SIGTERM). A line read for a caller that
/// stopped waiting (an interrupted approval) goes to the next caller.
#[derive(Clone)]
struct StdinLines {
    inner: Arc<StdinInner>,
}

struct StdinInner {
    requests: std::sync::mpsc::Sender<()>,
    /// The lines read, and whether a read was asked for and not yet taken.
    lines: tokio::sync::Mutex<(
        mpsc::UnboundedReceiver<std::io::Result<Option<String>>>,
        bool,
    )>,
}

impl StdinLines {
    fn spawn() -> Self {
        let (requests, asked) = std::sync::mpsc::channel::<()>();
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = move || {
            for () in asked {
                let mut line = String::new();
                let read = match std::io::stdin().lock().read_line(&mut line) {
                    Ok(0) => Ok(None),
                    Ok(_) => Ok(Some(line)),
                    Err(error) => Err(error),
                };
                if tx.send(read).is_err() {
                    break;
                }
            }
        };
        if let Err(error) = std::thread::Builder::new()
            .name("cuervo-stdin".into())
            .spawn(reader)
        {
            tracing::warn!(%error, "cannot start the thread that reads stdin");
        }
        Self {
            inner: Arc::new(StdinInner {
                requests,
                lines: tokio::sync::Mutex::new((rx, false)),
            }),
        }
    }

    /// The next line, `None` at the end of the input. Cancel-safe.
    async fn read_line(&self) -> std::io::Result<Option<String>> {
        let mut lines = self.inner.lines.lock().await;
        let (received, asked) = &mut *lines;
        if !*asked {
            if self.inner.requests.send(()).is_err() {
                return Ok(None);
            }
            *asked = true;
        }
        let line = received.recv().await;
        *asked = false;
        line.unwrap_or(Ok(None))
    }
}

fn parse_answer(answer: &str, rule: Option<String>) -> Approval {
    match (answer.to_ascii_lowercase().as_str(), rule) {
        ("y" | "yes", _) => Approval::AllowOnce,
        ("a" | "always", Some(rule)) => Approval::AllowAlways { rule },
        ("a" | "always", None) => Approval::AllowOnce,
        ("" | "n" | "no", _) => Approval::Deny,
        _ => Approval::DenyWithFeedback {
            feedback: format!("The user said: {answer}"),
        },
    }
}

pub async fn run(cli: &Cli, config: &Config, project: &Project, env: &Env) -> Result<ExitCode> {
    let mut signals = Signals::install()?;
    let stdin = StdinLines::spawn();
    let turn = Arc::new(Mutex::new(CancellationToken::new()));
    let approver = TerminalApprover {
        stdin: stdin.clone(),
        turn: turn.clone(),
    };
    let setup::PreparedRun {
        assembled, state, ..
    } = setup::prepare_run(config, cli, project, Arc::new(approver), env)?;
    let mut session = Session::new(state.session.id.clone());
    session.messages = state.session.messages;
    let audit = state.audit;
    eprintln!(
        "Cuervo {} · {}/{} · {} mode · {}\nType a request; /exit or Ctrl-D to quit, Ctrl-C to interrupt a turn.",
        env!("CARGO_PKG_VERSION"),
        assembled.provider,
        assembled.model,
        config.permissions.mode,
        project.root.display()
    );
    if state.session.resumed {
        eprintln!(
            "Resumed session {} ({} messages).",
            session.id,
            session.messages.len()
        );
    }
    let input = Input {
        stdin: &stdin,
        signals: &mut signals,
        turn: &turn,
    };
    let code = conversation(&assembled, &mut session, &audit, config, input).await;
    tokio::task::spawn_blocking(move || audit.finish()).await?;
    let cost = assembled
        .provider_handle
        .cost(&assembled.model, &session.usage);
    crate::render::farewell(&session.usage, cost, &session.id);
    code
}

/// Where the conversation's input comes from: typed lines, signals, and the slot the
/// approver reads the running turn's token from.
struct Input<'a> {
    stdin: &'a StdinLines,
    signals: &'a mut Signals,
    turn: &'a Mutex<CancellationToken>,
}

/// Reads prompts and runs them until the input ends, `/exit`, or a signal: Ctrl-C stops
/// the running turn (and, at the prompt, the conversation); SIGTERM and SIGHUP stop the
/// turn and the conversation. The status is the signal's when one ended it.
async fn conversation(
    assembled: &setup::Assembled,
    session: &mut Session,
    audit: &state::AuditRecorder,
    config: &Config,
    input: Input<'_>,
) -> Result<ExitCode> {
    let Input {
        stdin,
        signals,
        turn: current_turn,
    } = input;
    let mut err = std::io::stderr();
    loop {
        let _ = write!(err, "\n› ");
        let _ = err.flush();
        let line = tokio::select! {
            line = stdin.read_line() => line?,
            signal = signals.recv() => {
                let _ = writeln!(err);
                return Ok(ExitCode::from(signal.exit_code()));
            }
        };
        let Some(line) = line else {
            let _ = writeln!(err);
            return Ok(ExitCode::SUCCESS);
        };
        let prompt = line.trim();
        match prompt {
            "" => continue,
            "/exit" | "/quit" => return Ok(ExitCode::SUCCESS),
            _ => {}
        }
        let cancel = CancellationToken::new();
        *current_turn.lock().unwrap_or_else(PoisonError::into_inner) = cancel.clone();
        let mut renderer = Renderer::new(OutputFormat::Text, std::io::stdout(), std::io::stderr());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let agent = &assembled.agent;
        let session_id = session.id.clone();
        let session_ref = &mut *session;
        let prompt = prompt.to_owned();
        let turn_cancel = cancel.clone();
        let turn = async move {
            let tx = tx;
            agent.run(session_ref, &prompt, &tx, &turn_cancel).await
        };
        let render = async {
            while let Some(event) = rx.recv().await {
                audit.record(&session_id, &event);
                renderer.event(&event);
            }
        };
        let work = async { tokio::join!(turn, render) };
        tokio::pin!(work);
        let mut received: Option<Signal> = None;
        let (outcome, ()) = loop {
            tokio::select! {
                done = &mut work => break done,
                signal = signals.recv() => {
                    Signal::keep_strongest(&mut received, signal);
                    cancel.cancel();
                }
            }
        };
        match outcome {
            Ok(outcome) => {
                if !outcome.result.ends_with('\n') && !outcome.result.is_empty() {
                    let _ = writeln!(std::io::stdout());
                }
            }
            Err(AgentError::Model(error)) => {
                let _ = writeln!(
                    err,
                    "error: {}\n  your message is kept; send another to retry.",
                    explain_model_error(&error, config)
                );
            }
            Err(other) => {
                let _ = writeln!(err, "error: {other}");
            }
        }
        if let Some(signal) = received.filter(|s| s.ends_the_program()) {
            return Ok(ExitCode::from(signal.exit_code()));
        }
    }
}

/// What a new user sees when no provider has a key yet.
pub fn first_run_guide(provider: &str, model: &str, key_var: Option<&str>) -> String {
    let var = key_var.unwrap_or("the provider's API key variable");
    format!(
        "Welcome to Cuervo, an AI coding agent for your terminal.

No API key is set for the `{provider}` provider (model {model}). Pick one:

  export ANTHROPIC_API_KEY=sk-ant-...   # Anthropic (default): cuervo
  export OPENAI_API_KEY=sk-...          # OpenAI: cuervo --model gpt-4.1
  export DEEPSEEK_API_KEY=sk-...        # DeepSeek: cuervo --model deepseek-chat

Or stay offline with a model on this machine (scripts/install sets one up, or
`cuervo models import FILE.gguf --name smollm2`):

  cuervo --provider local

Any OpenAI-compatible server (Ollama, llama.cpp, vLLM, LM Studio, a company gateway)
works too; add it to ~/.config/cuervo/config.yml:

  provider: local
  providers:
    local:
      kind: openai
      base_url: http://localhost:11434/v1
      model: qwen2.5-coder:7b

Then run `cuervo` in a repository to chat, or `cuervo -p \"fix the failing test\"` to
run one task and exit. `cuervo --help` lists every option; `cuervo config show` prints
the configuration in effect. (Missing: {var}.)
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_approvals() {
        let rule = || Some("bash(cargo test:*)".to_owned());
        assert_eq!(parse_answer("y", rule()), Approval::AllowOnce);
        assert_eq!(
            parse_answer("A", rule()),
            Approval::AllowAlways {
                rule: "bash(cargo test:*)".into()
            }
        );
        // No narrow rule (a compound command): "always" allows this once only.
        assert_eq!(parse_answer("a", None), Approval::AllowOnce);
        assert_eq!(parse_answer("", rule()), Approval::Deny);
        assert_eq!(
            parse_answer("use make test instead", rule()),
            Approval::DenyWithFeedback {
                feedback: "The user said: use make test instead".into()
            }
        );
    }

    #[test]
    fn guide_names_the_variables() {
        let g = first_run_guide("anthropic", "claude-sonnet-4-5", Some("ANTHROPIC_API_KEY"));
        assert!(g.contains("export ANTHROPIC_API_KEY"));
        assert!(g.contains("base_url"));
        assert!(g.contains("cuervo --provider local"));
    }
}
