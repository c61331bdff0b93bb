//! `cuervo-mock`: serves a mock LLM script over HTTP for manual runs and shell tests.
//!
//! ```text
//! cuervo-mock --script crates/testkit/scripts/demo.yml --port 8787 --loop
//! ```
//! Prints `cuervo-mock listening on http://127.0.0.1:PORT` on stdout once it accepts
//! connections; logs each served turn on stderr (`RUST_LOG` adjusts the level).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use cuervo_testkit::{MockServer, Script, ServerOptions};

#[derive(Debug, Parser)]
#[command(
    name = "cuervo-mock",
    about = "Mock LLM server speaking the Anthropic, OpenAI (Chat and Responses), Gemini and Ollama APIs, replaying a script"
)]
struct Args {
    /// YAML script to serve (default: a built-in one-turn demo).
    #[arg(long, value_name = "FILE.yml")]
    script: Option<PathBuf>,
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Start the script over when it runs out.
    #[arg(long = "loop")]
    looping: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let script = match &args.script {
        Some(path) => Script::from_path(path)?,
        None => Script::demo(),
    };
    let turns = script.turns.len();
    let options = ServerOptions {
        port: args.port,
        looping: args.looping,
    };
    let server = MockServer::start_with(script, options)
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "cuervo-mock listening on {}", server.url())?;
    stdout.flush()?;
    tracing::info!(
        turns,
        looping = args.looping,
        "base URLs: Anthropic {}, OpenAI {} (chat and responses), Gemini {}, Ollama {}",
        server.anthropic_base_url(),
        server.openai_base_url(),
        server.gemini_base_url(),
        server.ollama_base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    tracing::info!(
        requests = server.requests().len(),
        remaining_turns = server.remaining_turns(),
        "shutting down"
    );
    Ok(())
}
