//! `cuervo` with no prompt where the terminal UI cannot run (stdout piped, `TERM=dumb`):
//! a line-based conversation with permission prompts, plain text in and out.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use cuervo_core::{AgentError, Approvals, Conversation, ConversationEvent, Op};
use cuervo_domain::{Approval, ApprovalRequest, Message};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::conversation::Opened;
use crate::headless::explain_model_error;
use crate::options::RunOptions;
use crate::render::{OutputFormat, Renderer, plural};
use crate::setup::{Env, Project};
use crate::signals::{Signal, Signals};

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

pub async fn run(
    options: &RunOptions,
    config: &Config,
    project: &Project,
    env: &Arc<Env>,
) -> Result<ExitCode> {
    let mut signals = Signals::install()?;
    let stdin = StdinLines::spawn();
    let Opened {
        mut conversation,
        started,
        audit,
        ..
    } = crate::conversation::open(options, config, project, env, Approvals::Ask).await?;
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "Cuervo {} · {}/{} · {} mode · {}\nType a request; /exit or Ctrl-D to quit, Ctrl-C to interrupt a turn.",
        env!("CARGO_PKG_VERSION"),
        started.provider,
        started.model,
        config.permissions.mode,
        project.root.display()
    );
    for note in &started.notes {
        let _ = writeln!(err, "note: {note}");
    }
    if started.resumed {
        let _ = writeln!(
            err,
            "Resumed session {} ({}).",
            started.session,
            plural(started.messages.len() as u64, "message")
        );
    }
    let code = converse(&mut conversation, config, &stdin, &mut signals).await;
    if let Some((session, spend)) = crate::conversation::close(conversation, audit).await? {
        crate::render::farewell(&spend.usage, spend.exact(), &session);
    }
    code
}

/// Reads prompts and runs them until the input ends, `/exit`, or a signal: Ctrl-C stops
/// the running turn (and, at the prompt, the conversation); SIGTERM and SIGHUP stop the
/// turn and the conversation. The status is the signal's when one ended it.
async fn converse(
    conversation: &mut Conversation,
    config: &Config,
    stdin: &StdinLines,
    signals: &mut Signals,
) -> Result<ExitCode> {
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
        conversation.submit(Op::UserInput {
            message: Message::user(prompt),
        });
        let mut renderer = Renderer::new(OutputFormat::Text, std::io::stdout(), std::io::stderr());
        let mut received: Option<Signal> = None;
        // The open permission question: its id and the rule "always" would add.
        let mut asking: Option<(u64, Option<String>)> = None;
        let result = loop {
            tokio::select! {
                event = conversation.next_event() => match event {
                    Some(ConversationEvent::Agent(event)) => renderer.event(&event),
                    Some(ConversationEvent::ApprovalRequested { id, request }) => {
                        asking = Some((id, ask(&request)));
                    }
                    Some(ConversationEvent::TurnEnded { result }) => break Some(result),
                    Some(_) => {}
                    None => break None,
                },
                line = stdin.read_line(), if asking.is_some() => {
                    if let Some((id, rule)) = asking.take() {
                        let approval = match line {
                            Ok(Some(line)) => parse_answer(line.trim(), rule),
                            Ok(None) | Err(_) => Approval::Deny,
                        };
                        conversation.submit(Op::Approval { id, approval });
                    }
                }
                signal = signals.recv() => {
                    Signal::keep_strongest(&mut received, signal);
                    // An open question is answered "no" by the interrupt.
                    asking = None;
                    conversation.submit(Op::Interrupt);
                }
            }
        };
        match result {
            Some(Ok(outcome)) => {
                if !outcome.result.ends_with('\n') && !outcome.result.is_empty() {
                    let _ = writeln!(std::io::stdout());
                }
            }
            Some(Err(AgentError::Model(error))) => {
                renderer.end_line();
                let kept = if error.message.contains(" is kept") {
                    ""
                } else {
                    "\n  your message is kept; send another to retry."
                };
                let _ = writeln!(err, "error: {}{kept}", explain_model_error(&error, config));
            }
            Some(Err(other)) => {
                let _ = writeln!(err, "error: {other}");
            }
            None => return Ok(ExitCode::FAILURE),
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

No API key is set for the `{provider}` provider (model {model}). Store one in
your OS keychain (asked for without echo, never written to a project file):

  cuervo auth login anthropic          # or openai, gemini, deepseek

or export it for this shell:

  export ANTHROPIC_API_KEY=sk-ant-...   # Anthropic (default): cuervo
  export OPENAI_API_KEY=sk-...          # OpenAI: cuervo --model gpt-4.1
  export GEMINI_API_KEY=...             # Gemini: cuervo --model gemini-2.5-flash
  export DEEPSEEK_API_KEY=sk-...        # DeepSeek: cuervo --model deepseek-chat

Or stay offline with a model on this machine (scripts/install sets one up, or
`cuervo models import FILE.gguf --name smollm2`):

  cuervo --model smollm2

Any OpenAI-compatible server (Ollama, llama.cpp, vLLM, LM Studio, a company gateway)
works too; add it under a name of your own to ~/.config/cuervo/config.yml:

  provider: my-server
  providers:
    my-server:
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
        assert!(g.contains("export GEMINI_API_KEY"));
        assert!(g.contains("cuervo auth login"));
        assert!(g.contains("base_url"));
        assert!(g.contains("cuervo --model smollm2"));
        // Issue 11: the example server was named `local`, colliding with the built-in
        // local-model provider.
        assert!(!g.contains("    local:"), "{g}");
        assert!(!g.contains("provider: local"), "{g}");
    }
}
