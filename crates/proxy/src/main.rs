//! `cuervo-proxy`: serve the proxy, or manage its virtual keys.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use cuervo_proxy::db::{Db, KeySpec};
use cuervo_proxy::{Proxy, ProxyConfig, app};

#[derive(Debug, Parser)]
#[command(
    name = "cuervo-proxy",
    version,
    about = "Cuervo Model Proxy: one OpenAI-compatible endpoint with virtual keys, limits and spend in front of every provider"
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        short,
        global = true,
        default_value = "cuervo-proxy.yml",
        env = "CUERVO_PROXY_CONFIG"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Listen here instead of the configuration's `listen`.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Create, list, rotate and revoke virtual keys (works on the database directly;
    /// a running proxy sees it within a second).
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print it (shown once: only its hash is stored).
    Create(CreateArgs),
    /// List keys (never the keys themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id: it stops working at once.
    Revoke { id: String },
    /// Give a key a new secret (same id, limits and spend); the old one stops working.
    Rotate { id: String },
}

#[derive(Debug, Args)]
struct CreateArgs {
    #[arg(long, default_value = "")]
    name: String,
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    team: Option<String>,
    /// Public model names the key may use (repeat or comma-separate); none: all.
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Requests per minute.
    #[arg(long)]
    rpm: Option<u64>,
    /// Tokens per minute (input and output).
    #[arg(long)]
    tpm: Option<u64>,
    /// Budget in dollars.
    #[arg(long)]
    budget: Option<f64>,
    /// When the budget resets: daily or monthly (default: never).
    #[arg(long)]
    budget_period: Option<String>,
    /// Print the record as JSON (with the key).
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CUERVO_PROXY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = ProxyConfig::load(&cli.config).with_context(
        || "the proxy needs a configuration file; see the README's `cuervo-proxy` section",
    )?;
    match cli.command {
        Command::Serve { listen } => serve(config, listen),
        Command::Keys(command) => keys(&config, command),
    }
}

fn serve(mut config: ProxyConfig, listen: Option<std::net::SocketAddr>) -> anyhow::Result<()> {
    if let Some(addr) = listen {
        config.listen = addr;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let addr = config.listen;
        let proxy = Proxy::start(config)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(
            "cuervo-proxy listening on http://{}",
            listener.local_addr()?
        );
        let router = app(proxy.state.clone());
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving")?;
        // Every request is done: flush the spend still queued.
        drop(proxy.state);
        if tokio::time::timeout(Duration::from_secs(30), proxy.writer)
            .await
            .is_err()
        {
            bail!(
                "the spend writer did not finish within 30 s; records still queued were not written"
            );
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[allow(clippy::print_stdout)]
fn keys(config: &ProxyConfig, command: KeysCommand) -> anyhow::Result<()> {
    let db = Db::open(&config.database_path())?;
    match command {
        KeysCommand::Create(a) => {
            let spec = KeySpec {
                name: a.name,
                user: a.user,
                team: a.team,
                models: a.models,
                rpm: a.rpm,
                tpm: a.tpm,
                budget_usd: a.budget,
                budget_period: a.budget_period,
            };
            spec.validate().map_err(anyhow::Error::msg)?;
            for m in &spec.models {
                if !config.models.iter().any(|c| &c.name == m) {
                    bail!("--models: `{m}` is not a model in {}", "the configuration");
                }
            }
            let (record, key) = db.create_key(&spec)?;
            if a.json {
                let mut v = serde_json::to_value(&record)?;
                v["key"] = serde_json::Value::String(key);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{key}");
                eprintln!("created {} (shown once: store it now)", record.id);
            }
        }
        KeysCommand::List { json } => {
            let keys = db.list_keys()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                println!(
                    "{:<18} {:<20} {:<16} {:<8} {:<8} {:<10} status",
                    "id", "prefix", "name", "rpm", "tpm", "budget"
                );
                for k in keys {
                    let opt = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
                    println!(
                        "{:<18} {:<20} {:<16} {:<8} {:<8} {:<10} {}",
                        k.id,
                        format!("{}…", k.prefix),
                        k.name,
                        opt(k.rpm),
                        opt(k.tpm),
                        k.budget_usd.map_or("-".to_owned(), |b| format!("${b:.2}")),
                        if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        }
                    );
                }
            }
        }
        KeysCommand::Revoke { id } => {
            if !db.revoke_key(&id)? {
                bail!("no active key `{id}` (cuervo-proxy keys list shows them)");
            }
            eprintln!("revoked {id}");
        }
        KeysCommand::Rotate { id } => match db.rotate_key(&id)? {
            Some(key) => {
                println!("{key}");
                eprintln!("rotated {id}: the old key no longer works");
            }
            None => bail!("no active key `{id}` (cuervo-proxy keys list shows them)"),
        },
    }
    Ok(())
}
