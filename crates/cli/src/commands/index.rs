//! `cuervo index [--watch] [--rebuild]` and `cuervo index status`: build and keep the
//! project's codebase index (see `crate::code_index` for where it lives and what embeds).
//!
//! On a terminal the run shows a progress bar (files, chunks, embeddings per second, time
//! left); otherwise it prints one summary line, so logs and scripts stay readable.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use cuervo_index::{Index, Progress, UpdateOptions, UpdateStats};
use indicatif::{ProgressBar, ProgressStyle};
use notify::{RecursiveMode, Watcher as _};
use serde_json::json;

use crate::code_index::{self, Opened};
use crate::config::Config;
use crate::setup::{Env, Project};

/// Build or update the codebase index, watch the project, or show its state.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct IndexArgs {
    #[command(subcommand)]
    pub action: Option<IndexAction>,
    /// After indexing, keep watching the project and re-index files as they change
    /// (Ctrl-C stops).
    #[arg(long)]
    pub watch: bool,
    /// Delete this project's index for the configured embedder and build it again.
    #[arg(long)]
    pub rebuild: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum IndexAction {
    /// Where the index is, what embeds it, how much it holds, and what changed since.
    Status {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cuervo index`.
pub async fn run(
    args: &IndexArgs,
    config: &Config,
    project: &Project,
    env: &Arc<Env>,
) -> Result<ExitCode> {
    let config = config.clone();
    let root = project.root.clone();
    let env = env.clone();
    match &args.action {
        Some(IndexAction::Status { json }) => {
            let json = *json;
            tokio::task::spawn_blocking(move || status(&config, &root, &*env, json)).await?
        }
        None => {
            let (watch, rebuild) = (args.watch, args.rebuild);
            tokio::task::spawn_blocking(move || index(&config, &root, &*env, watch, rebuild))
                .await?
        }
    }
}

fn index(config: &Config, root: &Path, env: &Env, watch: bool, rebuild: bool) -> Result<ExitCode> {
    let mut opened = code_index::open(config, root, env)?;
    if rebuild {
        let dir = opened.index.dir().to_path_buf();
        let embedder = opened.embedder.clone();
        drop(opened);
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot delete the index at {}", dir.display()))?;
        opened = code_index::open_with(config, root, env, embedder)?;
    }
    let terminal = std::io::stderr().is_terminal();
    let stats = update(&opened, terminal)?;
    println!("{}", summary(&stats, &opened));
    if watch {
        watch_loop(&opened)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One update, with a progress bar on a terminal.
fn update(opened: &Opened, terminal: bool) -> Result<UpdateStats> {
    let bar = terminal.then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} indexing [{bar:30}] {pos}/{len} files · {msg} · ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut on_progress = |p: &Progress| {
        if let Some(bar) = &bar {
            bar.set_length(p.files_total as u64);
            bar.set_position(p.files_done as u64);
            bar.set_message(format!(
                "{} chunks · {}",
                p.chunks_done,
                rate(p.embedded, p.embed_time)
            ));
        }
    };
    let stats = opened.index.update(
        opened.embedder.as_ref(),
        &UpdateOptions::default(),
        &mut on_progress,
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(stats?)
}

fn rate(embedded: usize, time: Duration) -> String {
    let secs = time.as_secs_f64();
    if embedded == 0 || secs <= 0.0 {
        "0 embeddings/s".to_owned()
    } else {
        format!("{:.0} embeddings/s", embedded as f64 / secs)
    }
}

/// The one line a run prints: what changed, where the time went, where the index is.
fn summary(stats: &UpdateStats, opened: &Opened) -> String {
    let (files, chunks) = opened.index.counts().unwrap_or((0, 0));
    let mut line = format!(
        "indexed {} changed file{} ({} chunks, {} embedded",
        stats.files_indexed,
        if stats.files_indexed == 1 { "" } else { "s" },
        stats.chunks_written,
        stats.chunks_embedded,
    );
    if stats.chunks_embedded > 0 {
        line.push_str(&format!(
            " in {:.1} s, {}",
            stats.embed_time.as_secs_f64(),
            rate(stats.chunks_embedded, stats.embed_time)
        ));
    }
    line.push(')');
    if stats.files_removed > 0 {
        line.push_str(&format!(", removed {}", stats.files_removed));
    }
    line.push_str(&format!(
        " in {:.1} s; the index holds {files} files, {chunks} chunks ({})",
        stats.total_time.as_secs_f64(),
        opened.embedder.model_id()
    ));
    line
}

/// Re-indexes as files change until the process is stopped.
fn watch_loop(opened: &Opened) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event
                .paths
                .iter()
                .any(|p| !p.components().any(|c| c.as_os_str() == ".git"))
        {
            let _ = tx.send(());
        }
    })
    .context("cannot watch the project for changes")?;
    watcher
        .watch(opened.index.root(), RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", opened.index.root().display()))?;
    eprintln!(
        "watching {} for changes (Ctrl-C stops)",
        opened.index.root().display()
    );
    while rx.recv().is_ok() {
        // Let a burst of writes (a save, a checkout) settle into one update.
        let quiet = Duration::from_millis(300);
        while rx.recv_timeout(quiet).is_ok() {}
        let started = Instant::now();
        match update(opened, false) {
            Ok(stats) if stats.files_indexed > 0 || stats.files_removed > 0 => println!(
                "re-indexed {} file{}, removed {} ({} chunks embedded) in {} ms",
                stats.files_indexed,
                if stats.files_indexed == 1 { "" } else { "s" },
                stats.files_removed,
                stats.chunks_embedded,
                started.elapsed().as_millis()
            ),
            Ok(_) => {}
            Err(e) => eprintln!("cuervo: {e:#}"),
        }
        let _ = std::io::stdout().flush();
    }
    Ok(())
}

fn status(config: &Config, root: &Path, env: &Env, json: bool) -> Result<ExitCode> {
    if !code_index::exists(root, env) {
        if json {
            println!("{}", json!({"root": root, "indexed": false}));
        } else {
            println!("{} has no index yet: run `cuervo index`", root.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let opened = code_index::open(config, root, env)?;
    let index: &Index = &opened.index;
    let (files, chunks) = index.counts()?;
    let pending = index.pending(&UpdateOptions::default())?;
    let bytes = dir_size(index.dir());
    if json {
        println!(
            "{}",
            json!({
                "root": index.root(),
                "indexed": true,
                "dir": index.dir(),
                "embedder": opened.embedder.model_id(),
                "dimension": opened.embedder.dimension(),
                "backend": config.index.backend,
                "files": files,
                "chunks": chunks,
                "bytes": bytes,
                "changed_files": pending.changed,
                "removed_files": pending.removed,
            })
        );
    } else {
        println!("root      {}", index.root().display());
        println!(
            "index     {} ({:.1} MB)",
            index.dir().display(),
            bytes as f64 / 1e6
        );
        println!(
            "embedder  {} ({} dimensions), {} vectors",
            opened.embedder.model_id(),
            opened.embedder.dimension(),
            config.index.backend
        );
        println!("holds     {files} files, {chunks} chunks");
        if pending.changed + pending.removed == 0 {
            println!("state     up to date");
        } else {
            println!(
                "state     {} changed or new, {} gone since indexing: run `cuervo index` (searches re-index up to {} changed files themselves)",
                pending.changed, pending.removed, config.index.refresh_max_files
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}
