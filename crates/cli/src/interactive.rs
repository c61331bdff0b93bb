//! `cuervo` with no prompt where the terminal UI cannot run (stdout piped, `TERM=dumb`):
//! a line-based conversation with permission prompts, plain text in and out.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use cuervo_core::{AgentError, CancellationToken};
use cuervo_domain::{Approval, ApprovalRequest, Approver, BoxFuture, Session};
use tokio::sync::mpsc;

use crate::args::{Cli, OutputFormat};
use crate::config::Config;
use crate::headless::explain_model_error;
use crate::render::Renderer;
use crate::setup::{self, Env, Project, state};

/// Asks on the terminal: shows what will run or change, then reads the answer.
pub struct TerminalApprover;

impl Approver for TerminalApprover {
    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, Approval> {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || ask(&request))
                .await
                .unwrap_or(Approval::Deny)
        })
    }
}

fn ask(request: &ApprovalRequest) -> Approval {
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
    let _ = write!(
        err,
        "Allow? [y] once  [a] always ({rule})  [n] no  — or type what to do instead: "
    );
    let _ = err.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
        return Approval::Deny;
    }
    parse_answer(line.trim(), rule)
}

fn parse_answer(answer: &str, rule: String) -> Approval {
    match answer.to_ascii_lowercase().as_str() {
        "y" | "yes" => Approval::AllowOnce,
        "a" | "always" => Approval::AllowAlways { rule },
        "" | "n" | "no" => Approval::Deny,
        _ => Approval::DenyWithFeedback {
            feedback: format!("The user said: {answer}"),
        },
    }
}

pub async fn run(cli: &Cli, config: &Config, project: &Project, env: &Env) -> Result<ExitCode> {
    let setup::PreparedRun {
        assembled, state, ..
    } = setup::prepare_run(config, cli, project, Arc::new(TerminalApprover), env)?;
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
    let code = conversation(&assembled, &mut session, &audit, config).await;
    tokio::task::spawn_blocking(move || audit.finish()).await?;
    let cost = assembled
        .provider_handle
        .cost(&assembled.model, &session.usage);
    if session.usage.total() > 0 {
        eprintln!("{}", crate::render::usage_line(&session.usage, cost));
    }
    eprintln!(
        "Session {}: continue it with `cuervo --resume {}`.",
        session.id, session.id
    );
    code
}

async fn conversation(
    assembled: &setup::Assembled,
    session: &mut Session,
    audit: &state::AuditRecorder,
    config: &Config,
) -> Result<ExitCode> {
    loop {
        eprint!("\n› ");
        let _ = std::io::stderr().flush();
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map(|n| (n, line))
        })
        .await??;
        let (read, line) = line;
        if read == 0 {
            eprintln!();
            return Ok(ExitCode::SUCCESS);
        }
        let prompt = line.trim();
        match prompt {
            "" => continue,
            "/exit" | "/quit" => return Ok(ExitCode::SUCCESS),
            _ => {}
        }
        let cancel = CancellationToken::new();
        let on_interrupt = cancel.clone();
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt.cancel();
            }
        });
        let mut renderer = Renderer::new(OutputFormat::Text, std::io::stdout(), std::io::stderr());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let agent = &assembled.agent;
        let session_id = session.id.clone();
        let session_ref = &mut *session;
        let prompt = prompt.to_owned();
        let turn = async move {
            let tx = tx;
            agent.run(session_ref, &prompt, &tx, &cancel).await
        };
        let render = async {
            while let Some(event) = rx.recv().await {
                audit.record(&session_id, &event);
                renderer.event(&event);
            }
        };
        let (outcome, ()) = tokio::join!(turn, render);
        watcher.abort();
        match outcome {
            Ok(outcome) => {
                if !outcome.result.ends_with('\n') && !outcome.result.is_empty() {
                    println!();
                }
            }
            Err(AgentError::Model(error)) => {
                eprintln!(
                    "error: {}\n  your message is kept; send another to retry.",
                    explain_model_error(&error, config)
                )
            }
            Err(other) => eprintln!("error: {other}"),
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
        let rule = || "bash(cargo:*)".to_owned();
        assert_eq!(parse_answer("y", rule()), Approval::AllowOnce);
        assert_eq!(
            parse_answer("A", rule()),
            Approval::AllowAlways { rule: rule() }
        );
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
