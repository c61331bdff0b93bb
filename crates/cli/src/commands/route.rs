//! `cuervo models route`: which model would answer a request, and with `--explain` why —
//! the role's model, the fallback chain, what was left out and the retry and breaker
//! settings that apply. Nothing is sent.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Args;
use cuervo_core::resilience::{Needs, Role, label};
use cuervo_domain::resilience::human_duration;
use cuervo_domain::{ContentBlock, Message, ModelRequest};

use crate::config::Config;
use crate::options::RunOptions;
use crate::render::thousands;
use crate::setup::{self, ConfigModels, Env};

#[derive(Debug, Clone, Args)]
pub struct RouteArgs {
    /// The kind of work: main (the conversation), explore, plan, edit, review, summarize.
    #[arg(long, default_value = "main")]
    pub role: String,
    /// How long the sample request's conversation is, in tokens.
    #[arg(long, default_value_t = 2_000)]
    pub tokens: u64,
    /// The sample request holds an image.
    #[arg(long)]
    pub images: bool,
    /// The sample request offers no tools.
    #[arg(long)]
    pub no_tools: bool,
    /// Show the whole decision: the order, what was left out and why, retries and
    /// breakers.
    #[arg(long)]
    pub explain: bool,
}

pub fn run(
    args: &RouteArgs,
    options: &RunOptions,
    config: &Config,
    env: &Arc<Env>,
) -> Result<ExitCode> {
    let Some(role) = Role::from_name(&args.role) else {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
        bail!(
            "unknown role `{}`; the roles are {}",
            args.role,
            roles.join(", ")
        );
    };
    let route = setup::resolve_model(config, options)?;
    let models = ConfigModels::new(config.clone(), env.clone());
    let primary = models.build(&route)?;
    let (resilience, notes) = setup::resilience::build(config, &models, &route, &**env);
    let request = sample_request(args, config);
    let needs = Needs::of(&request);
    let decision = resilience.router.route(role, &primary, &request);

    let first = &decision.candidates[0];
    if !args.explain {
        println!("{}", label(first));
        return Ok(ExitCode::SUCCESS);
    }
    let mut wants = Vec::new();
    if needs.tools {
        wants.push("tools".to_owned());
    }
    if needs.images {
        wants.push("images".to_owned());
    }
    wants.push(format!("~{} input tokens", thousands(needs.input_tokens)));
    wants.push(format!(
        "up to {} output",
        thousands(u64::from(needs.max_output))
    ));
    println!("route for `{role}` ({}):", wants.join(", "));
    for (index, model) in decision.candidates.iter().enumerate() {
        let why = if index == 0 {
            decision.chosen_because.clone()
        } else if let Some(last) = decision
            .last_resorts
            .iter()
            .find(|s| s.model == label(model))
        {
            format!("last resort: {}", last.why)
        } else {
            "fallback".to_owned()
        };
        println!("  {}. {}  — {why}", index + 1, label(model));
    }
    if !decision.skipped.is_empty() {
        println!("left out:");
        for skipped in &decision.skipped {
            println!("  {}  — {}", skipped.model, skipped.why);
        }
    }
    for note in notes {
        println!("note: {note}");
    }
    let retry = resilience.retry_for(&first.provider_name);
    println!(
        "retries: up to {} on {}, waits from {} doubling to at most {}, within {} per model \
         (a longer Retry-After moves to the next model)",
        retry.max_retries,
        first.provider_name,
        human_duration(retry.base_delay),
        human_duration(retry.max_delay),
        retry
            .deadline
            .map_or_else(|| "no limit".to_owned(), human_duration),
    );
    let breaker = resilience.breakers.config(&first.provider_name);
    println!(
        "breaker: {} pauses after {} failures in a row for {}, then {} trial calls \
         (state is kept per process)",
        first.provider_name,
        breaker.failure_threshold,
        human_duration(breaker.timeout),
        breaker.half_open_requests
    );
    Ok(ExitCode::SUCCESS)
}

/// A request like the ones the role sends: a conversation of about `tokens` tokens, the
/// built-in tools unless `--no-tools`, an image if asked.
fn sample_request(args: &RouteArgs, config: &Config) -> ModelRequest {
    let bytes = usize::try_from(args.tokens.saturating_mul(4)).unwrap_or(usize::MAX);
    let mut content = vec![ContentBlock::Text {
        text: "x".repeat(bytes.min(64 << 20)),
    }];
    if args.images {
        content.push(ContentBlock::Image {
            media_type: "image/png".into(),
            data_base64: String::new(),
        });
    }
    ModelRequest {
        model: String::new(),
        system: None,
        messages: vec![Message {
            role: cuervo_domain::Role::User,
            content,
        }],
        tools: if args.no_tools {
            Vec::new()
        } else {
            crate::conversation::tools(&cuervo_core::agents::AgentCatalog::builtin(), None).specs()
        },
        max_tokens: config.max_tokens,
        temperature: None,
        stream: true,
        thinking_budget: None,
    }
}
