//! `cuervo agents`: the agents a conversation can delegate to (built-in, the user's and
//! the project's, Claude Code's included), where each comes from, and what was ignored.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use cuervo_core::agents::AgentDefinition;
use serde_json::{Value, json};
use unicode_width::UnicodeWidthChar;

use crate::agents::{AgentDirs, Loaded};
use crate::config::Config;
use crate::options::RunOptions;
use crate::setup::{self, Env, Project};

#[derive(Debug, Args)]
pub struct AgentsArgs {
    #[command(subcommand)]
    pub action: Option<AgentsAction>,
}

#[derive(Debug, Subcommand)]
pub enum AgentsAction {
    /// Every agent with its source, model and tools, then what was ignored and the files
    /// that could not be read (exit status 1 when there are any).
    List {
        /// A JSON array of objects; notes about no agent and errors go to stderr.
        #[arg(long)]
        json: bool,
    },
    /// One agent's whole definition, its system prompt included.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(
    args: &AgentsArgs,
    options: &RunOptions,
    project: &Project,
    env: &Env,
) -> Result<ExitCode> {
    let (config, _) = setup::effective_config(options, project, env)?;
    let dirs = AgentDirs::new(&project.root, env);
    let trusted = crate::agents::project_trusted(&config, options.trust_project);
    let loaded = crate::agents::load(&dirs, trusted);
    match &args.action {
        None | Some(AgentsAction::List { json: false }) => Ok(list_text(&loaded, &dirs, &config)),
        Some(AgentsAction::List { json: true }) => list_json(&loaded, &dirs, &config),
        Some(AgentsAction::Show { name, json }) => show(name, *json, &loaded, &dirs, &config),
    }
}

fn list_text(loaded: &Loaded, dirs: &AgentDirs, config: &Config) -> ExitCode {
    let width = if std::io::stdout().is_terminal() {
        crossterm::terminal::size().map_or(100, |(w, _)| usize::from(w))
    } else {
        100
    };
    for agent in loaded.catalog.list() {
        println!("{}  {}", agent.name, source(agent, dirs));
        println!("  model: {}", model(agent, config).0);
        let mut tools = format!("  tools: {}", tools(agent));
        if !agent.ignored_tools.is_empty() {
            tools.push_str(&format!("  (ignored: {})", agent.ignored_tools.join(", ")));
        }
        println!("{tools}");
        println!(
            "  {}",
            one_line(&agent.description, width.saturating_sub(2))
        );
    }
    let notes = notes(loaded, dirs);
    if !notes.is_empty() {
        println!("\nnotes:");
        for note in &notes {
            println!("  {note}");
        }
    }
    if !loaded.errors.is_empty() {
        println!("\nerrors (these files were not loaded):");
        for e in &loaded.errors {
            println!("  {}: {}", dirs.show(&e.path), e.kind);
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn list_json(loaded: &Loaded, dirs: &AgentDirs, config: &Config) -> Result<ExitCode> {
    let agents: Vec<Value> = loaded
        .catalog
        .list()
        .map(|agent| to_json(agent, loaded, dirs, config, false))
        .collect();
    println!("{}", serde_json::to_string_pretty(&agents)?);
    for note in &loaded.notes {
        let about_an_agent = loaded
            .catalog
            .list()
            .any(|a| a.source.path() == Some(note.path.as_path()));
        if !about_an_agent {
            eprintln!("note: {}: {}", dirs.show(&note.path), note.message);
        }
    }
    for e in &loaded.errors {
        eprintln!("error: {}: {}", dirs.show(&e.path), e.kind);
    }
    Ok(if loaded.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn show(
    name: &str,
    json: bool,
    loaded: &Loaded,
    dirs: &AgentDirs,
    config: &Config,
) -> Result<ExitCode> {
    let Some(agent) = loaded.catalog.get(name) else {
        for e in &loaded.errors {
            eprintln!("error: {}: {}", dirs.show(&e.path), e.kind);
        }
        let names: Vec<&str> = loaded.catalog.names().collect();
        bail!(
            "no agent named `{name}`; the agents are: {} (`cuervo agents list` shows where \
             each comes from)",
            names.join(", ")
        );
    };
    if json {
        let value = to_json(agent, loaded, dirs, config, true);
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("name:    {}", agent.name);
    println!("source:  {}", source(agent, dirs));
    println!("role:    {}", agent.role.name());
    println!("model:   {}", model(agent, config).0);
    println!("tools:   {}", tools(agent));
    if !agent.ignored_tools.is_empty() {
        println!("ignored: {}", agent.ignored_tools.join(", "));
    }
    for note in agent_notes(agent, loaded) {
        println!("note:    {note}");
    }
    println!("description:");
    for line in agent.description.lines() {
        println!("  {line}");
    }
    println!("system prompt:");
    println!("{}", agent.system_prompt);
    Ok(ExitCode::SUCCESS)
}

/// `built-in`, or the file relative to the project or `~`.
fn source(agent: &AgentDefinition, dirs: &AgentDirs) -> String {
    agent
        .source
        .path()
        .map_or_else(|| agent.source.kind().to_owned(), |p| dirs.show(p))
}

/// The model as shown, and where it comes from: `agent`, `role` or `conversation`.
fn model(agent: &AgentDefinition, config: &Config) -> (String, &'static str) {
    if let Some(model) = &agent.model {
        return (model.clone(), "agent");
    }
    let role = agent.role.name();
    match config.routing.roles.get(role) {
        Some(model) => (
            format!("{model} (role model: routing.roles.{role})"),
            "role",
        ),
        None => ("conversation's model".into(), "conversation"),
    }
}

fn tools(agent: &AgentDefinition) -> String {
    match &agent.tools {
        None => "all (the parent's, except task)".into(),
        Some(tools) if tools.is_empty() => "none".into(),
        Some(tools) => tools.join(", "),
    }
}

/// The definition's own notes and the loader's notes about its file.
fn agent_notes<'a>(agent: &'a AgentDefinition, loaded: &'a Loaded) -> Vec<&'a str> {
    let path = agent.source.path();
    loaded
        .notes
        .iter()
        .filter(|n| path == Some(n.path.as_path()))
        .map(|n| n.message.as_str())
        .chain(agent.notes.iter().map(String::as_str))
        .collect()
}

/// Every note, each with the file it is about.
fn notes(loaded: &Loaded, dirs: &AgentDirs) -> Vec<String> {
    let from_files = loaded.catalog.list().flat_map(|agent| {
        let shown = source(agent, dirs);
        agent.notes.iter().map(move |n| format!("{shown}: {n}"))
    });
    loaded
        .notes
        .iter()
        .map(|n| format!("{}: {}", dirs.show(&n.path), n.message))
        .chain(from_files)
        .collect()
}

fn to_json(
    agent: &AgentDefinition,
    loaded: &Loaded,
    dirs: &AgentDirs,
    config: &Config,
    with_prompt: bool,
) -> Value {
    let (shown, from) = model(agent, config);
    let model = match from {
        "agent" => Value::from(shown),
        _ => config
            .routing
            .roles
            .get(agent.role.name())
            .map_or(Value::Null, |m| Value::from(m.as_str())),
    };
    let mut value = json!({
        "name": agent.name,
        "source": agent.source.kind(),
        "path": agent.source.path().map(|p| dirs.show(p)),
        "role": agent.role.name(),
        "model": model,
        "model_from": from,
        "tools": agent.tools,
        "ignored_tools": agent.ignored_tools,
        "description": agent.description,
        "notes": agent_notes(agent, loaded),
    });
    if with_prompt {
        value["system_prompt"] = Value::from(agent.system_prompt.as_str());
    }
    value
}

/// The first line of `text` that is not blank, cut to `width` columns with `…`.
fn one_line(text: &str, width: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let more = text.trim().lines().count() > 1;
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            out.push('…');
            return out;
        }
        used += w;
        out.push(c);
    }
    if more && used < width {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_line_cuts_to_the_width_and_marks_what_is_left_out() {
        assert_eq!(one_line("short", 100), "short");
        assert_eq!(one_line("abcdefgh", 5), "abcd…");
        assert_eq!(one_line("\n first\nsecond", 100), "first…");
    }
}
