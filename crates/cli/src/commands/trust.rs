//! `cuervo trust`: review what a project's configuration asks for that needs trust, and
//! trust it, revoke it, or list the trusted projects.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::config::{self, ConfigPaths};
use crate::setup::{Env, Project};
use crate::trust::TrustStatus;

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Only show what the project asks for and whether it is trusted; change nothing.
    #[arg(long, conflicts_with_all = ["revoke", "list"])]
    pub show: bool,
    /// Stop trusting this project: its gated settings are ignored again.
    #[arg(long, conflicts_with = "list")]
    pub revoke: bool,
    /// List every trusted project and whether its files changed since.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: &TrustArgs, project: &Project, env: &Env) -> Result<ExitCode> {
    let paths = ConfigPaths::new(&project.root, env);
    let store = paths.trust_store().context(
        "neither XDG_CONFIG_HOME nor HOME is set, so there is nowhere to keep trust decisions",
    )?;
    if args.list {
        let trusted = store.list()?;
        if trusted.is_empty() {
            println!("no trusted projects");
        }
        for (root, current) in trusted {
            let note = if current {
                ""
            } else {
                "  (files changed since: asks again)"
            };
            println!("{root}{note}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.revoke {
        if store.forget(&project.root)? {
            println!("{} is no longer trusted", project.root.display());
        } else {
            println!("{} was not trusted", project.root.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let gated = config::gated_project_settings(&paths, env)?;
    if gated.is_empty() {
        println!(
            "{} asks for nothing that needs trust: its settings and agents (if any) already apply",
            project.root.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let status = store.status(&project.root, &gated);
    println!(
        "{} asks for (in {} and its agent files):",
        project.root.display(),
        paths
            .project
            .strip_prefix(&project.root)
            .unwrap_or(&paths.project)
            .display()
    );
    for setting in &gated {
        println!("  - {setting}");
    }
    if args.show {
        println!(
            "{}",
            match status {
                TrustStatus::Trusted => "trusted: these settings apply",
                _ => "not trusted: these settings are ignored (run `cuervo trust` to apply them)",
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    store.trust(&project.root, &crate::clock::today())?;
    println!(
        "trusted {} as it is now; if the file changes, Cuervo asks again (decisions in {})",
        project.root.display(),
        store.path().display()
    );
    Ok(ExitCode::SUCCESS)
}
