//! `cuervo search "QUERY" [-k N] [--path GLOB] [--lang L] [--json]`: the codebase index
//! asked from the shell — meaning and words at once, the same search the agent's
//! `codebase_search` tool runs. Files changed since indexing are re-indexed first (the
//! whole project on the first search), so results always match the files on disk.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use cuervo_domain::{CodeQuery, CodeSearchResults};

use crate::code_index;
use crate::config::Config;
use crate::setup::{Env, Project};

/// Search the project's code by meaning and by words.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// What to look for: a question in plain language, or names from the code.
    #[arg(value_name = "QUERY")]
    pub query: String,
    /// How many results.
    #[arg(short = 'k', long = "limit", value_name = "N", default_value_t = 10)]
    pub k: usize,
    /// Only files matching this glob, relative to the project root (repeatable).
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Only files in this language: rust, python, typescript, … (repeatable).
    #[arg(long = "lang", value_name = "LANGUAGE")]
    pub languages: Vec<String>,
    /// Print a JSON array of results: path, start_line, end_line, chunk_type,
    /// chunk_name, score, snippet.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cuervo search`.
pub async fn run(
    args: &SearchArgs,
    config: &Config,
    project: &Project,
    env: &Arc<Env>,
) -> Result<ExitCode> {
    if args.query.trim().is_empty() {
        return Err(crate::headless::UsageError("the search query is empty".into()).into());
    }
    if args.k == 0 {
        return Err(crate::headless::UsageError("-k must be at least 1".into()).into());
    }
    let query = CodeQuery {
        text: args.query.trim().to_owned(),
        k: args.k,
        paths: args.paths.clone(),
        languages: args.languages.clone(),
    };
    let (config, root, env) = (config.clone(), project.root.clone(), env.clone());
    let results = tokio::task::spawn_blocking(move || -> Result<CodeSearchResults> {
        let first = !code_index::exists(&root, &*env);
        let opened = code_index::open(&config, &root, &*env)?;
        if first {
            eprintln!(
                "cuervo: indexing {} first (once; `cuervo index --watch` keeps it current)",
                root.display()
            );
        }
        Ok(code_index::refresh_and_search(
            &opened,
            &config,
            &query,
            code_index::Refresh::All,
        )?)
    })
    .await??;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer(&mut out, &results.hits)?;
        writeln!(out)?;
    } else {
        if results.hits.is_empty() {
            eprintln!("no results");
        }
        for hit in &results.hits {
            writeln!(
                out,
                "{}:{}-{}  {} {}  ({:.3})",
                hit.path, hit.start_line, hit.end_line, hit.chunk_type, hit.chunk_name, hit.score
            )?;
            for line in hit.snippet.lines().take(3) {
                writeln!(out, "    {line}")?;
            }
        }
    }
    if let Some(note) = &results.note {
        eprintln!("note: {note}");
    }
    Ok(ExitCode::SUCCESS)
}
