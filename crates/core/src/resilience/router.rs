//! The model router: which models may answer a request, in which order.
//!
//! A request is routed from the role of the agent that sends it (the main conversation,
//! an explorer, a summary…) and from what it needs (tool use, images, how much context, a
//! cost ceiling). The first model of a route is the one the role prefers — the model
//! configured for the role, else the conversation's — and the rest are the fallback
//! chain. A model that cannot serve the request is left out with the reason, so
//! `cuervo models route --explain` can show the whole decision.

use std::collections::HashMap;
use std::fmt;

use cuervo_domain::{Capabilities, ContentBlock, Cost, ModelRequest, ResolvedModel, Usage};

/// What an agent is doing, so the router can pick a model suited to it (a cheap, fast model
/// to explore and summarise, the strong one to edit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The conversation with the user: the user's model.
    Main,
    /// Reads code and answers questions about it.
    Explore,
    /// Turns a request into a plan.
    Plan,
    /// Changes files and runs commands.
    Edit,
    /// Reads a change and reports findings.
    Review,
    /// Summarises a conversation (compaction).
    Summarize,
}

impl Role {
    /// Every role, in the order `--explain` lists them.
    pub const ALL: [Role; 6] = [
        Role::Main,
        Role::Explore,
        Role::Plan,
        Role::Edit,
        Role::Review,
        Role::Summarize,
    ];

    /// The role's name in config (`routing.roles.explore`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Explore => "explore",
            Role::Plan => "plan",
            Role::Edit => "edit",
            Role::Review => "review",
            Role::Summarize => "summarize",
        }
    }

    /// The role with this config name.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a request needs from the model that answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// The request offers tools (a model without tool use cannot serve it).
    pub tools: bool,
    /// The conversation holds images.
    pub images: bool,
    /// Tokens the request's input is estimated to take.
    pub input_tokens: u64,
    /// The most tokens the answer may take (`max_tokens`).
    pub max_output: u32,
}

impl Needs {
    /// The context a model needs for this request: the input and room for an answer (the
    /// answer's full `max_tokens`, or a quarter of the window when that is less: adapters
    /// clamp `max_tokens` to what a model can give).
    pub fn context_for(&self, window: u64) -> u64 {
        self.input_tokens + u64::from(self.max_output).min(window / 4)
    }
}

impl Needs {
    /// What `request` needs. Tokens are estimated at four bytes per token of the messages,
    /// system prompt and tool definitions: the router only
    /// needs to tell a 20K-token conversation from a 200K one, and the core has no
    /// tokenizer (the provider's count decides in the end).
    pub fn of(request: &ModelRequest) -> Needs {
        let mut bytes = request.system.as_ref().map_or(0, String::len);
        let mut images = false;
        for message in &request.messages {
            for block in &message.content {
                bytes += match block {
                    ContentBlock::Text { text } => text.len(),
                    ContentBlock::Thinking { thinking, .. } => thinking.len(),
                    ContentBlock::Image { .. } => {
                        images = true;
                        // Providers count an image as a fixed block of tokens (~1.5K).
                        6_000
                    }
                    ContentBlock::ToolUse(call) => call.name.len() + json_len(&call.input),
                    ContentBlock::ToolResult(result) => result.content.len(),
                };
            }
        }
        for tool in &request.tools {
            bytes += tool.name.len() + tool.description.len() + json_len(&tool.input_schema);
        }
        Needs {
            tools: !request.tools.is_empty(),
            images,
            input_tokens: (bytes as u64).div_ceil(4),
            max_output: request.max_tokens,
        }
    }
}

/// The length of `value` as compact JSON, counted without building the string (this runs
/// on every model call, over every tool call of the conversation).
fn json_len(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// How requests are routed: models per role, the fallback chain, a cost ceiling.
#[derive(Clone, Default)]
pub struct Router {
    roles: HashMap<Role, ResolvedModel>,
    fallbacks: Vec<ResolvedModel>,
    cost_ceiling: Option<Cost>,
}

/// A model left out of a route, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `provider/model`.
    pub model: String,
    pub why: String,
}

/// Which models may answer one request, best first.
#[derive(Clone)]
pub struct Route {
    /// The role the request was routed for.
    pub role: Role,
    /// The models to try, in order: the first is preferred, the rest are fallbacks. Never
    /// empty: when no model fits, the preferred one is kept and its provider decides.
    pub candidates: Vec<ResolvedModel>,
    /// Models left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// Models kept at the end of `candidates` because they lack something the request
    /// would use (tools, images): they answer in words only.
    pub last_resorts: Vec<Skipped>,
    /// Why the first candidate is first (`the model configured for explore`).
    pub chosen_because: String,
}

/// `provider/model`, the way routes and events name a model.
pub fn label(model: &ResolvedModel) -> String {
    format!("{}/{}", model.provider_name, model.model)
}

impl Router {
    /// A router with no role models, no fallbacks and no ceiling: every request goes to
    /// the conversation's model alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `model` for requests of `role` (a role with no model uses the conversation's).
    pub fn with_role(mut self, role: Role, model: ResolvedModel) -> Self {
        self.roles.insert(role, model);
        self
    }

    /// The fallback chain tried after the preferred model, in order.
    pub fn with_fallbacks(mut self, fallbacks: Vec<ResolvedModel>) -> Self {
        self.fallbacks = fallbacks;
        self
    }

    /// No request goes to a model whose estimated cost for it is above `ceiling`.
    pub fn with_cost_ceiling(mut self, ceiling: Option<Cost>) -> Self {
        self.cost_ceiling = ceiling;
        self
    }

    /// The fallback chain as configured.
    pub fn fallbacks(&self) -> &[ResolvedModel] {
        &self.fallbacks
    }

    /// The model configured for `role`, if any.
    pub fn role_model(&self, role: Role) -> Option<&ResolvedModel> {
        self.roles.get(&role)
    }

    /// Routes `request` for `role`; `primary` is the conversation's model.
    pub fn route(&self, role: Role, primary: &ResolvedModel, request: &ModelRequest) -> Route {
        let needs = Needs::of(request);
        let (preferred, chosen_because) = match self.roles.get(&role) {
            Some(model) if role != Role::Main => (
                model.clone(),
                format!("the model configured for {role} (routing.roles.{role})"),
            ),
            _ => (primary.clone(), "the conversation's model".to_owned()),
        };
        let mut order = vec![preferred];
        if role != Role::Main {
            order.push(primary.clone());
        }
        order.extend(self.fallbacks.iter().cloned());
        let mut seen = std::collections::HashSet::new();
        order.retain(|m| seen.insert(label(m)));

        let mut candidates = Vec::new();
        let mut last_resorts = Vec::new();
        let mut skipped = Vec::new();
        for model in order {
            if let Some(why) = self.unfit(&model, &needs) {
                skipped.push(Skipped {
                    model: label(&model),
                    why,
                });
            } else if let Some(gap) = lacks(&model, &needs) {
                // It can still answer in words (the adapter drops what the model cannot
                // take): better than no answer, so it comes after every model that fits.
                last_resorts.push((model, gap));
            } else {
                candidates.push(model);
            }
        }
        let mut last_resort_notes = Vec::new();
        for (model, gap) in last_resorts {
            last_resort_notes.push(Skipped {
                model: label(&model),
                why: format!("{gap}: tried only after every model that can"),
            });
            candidates.push(model);
        }
        let preferred = seen_model(primary, &self.roles, role);
        let chosen_because = if candidates.is_empty() {
            // Nothing fits: the preferred model tries anyway (a prompt too long gets the
            // provider's own error and the compaction advice; images become a note). It
            // stays listed as skipped, with why.
            let why = skipped.first().map_or("", |s| s.why.as_str());
            let because = format!("no model fits the request ({why}); trying it anyway");
            candidates.push(preferred);
            because
        } else if candidates.first().map(label) != Some(label(&preferred)) {
            format!(
                "the first model that fits the request ({} does not)",
                label(&preferred)
            )
        } else {
            chosen_because
        };
        Route {
            role,
            candidates,
            skipped,
            last_resorts: last_resort_notes,
            chosen_because,
        }
    }

    /// Why `model` cannot serve the request, or `None` when it can.
    fn unfit(&self, model: &ResolvedModel, needs: &Needs) -> Option<String> {
        let caps: Capabilities = model.provider.capabilities(&model.model);
        let context = needs.context_for(caps.context_window);
        if context > caps.context_window {
            return Some(format!(
                "needs about {context} tokens of context; its window is {}",
                caps.context_window
            ));
        }
        if let Some(ceiling) = self.cost_ceiling {
            // Priced from the router's own estimate (the input, and the whole answer), so
            // no request is copied per candidate.
            let estimate = Usage {
                input_tokens: needs.input_tokens,
                output_tokens: u64::from(needs.max_output),
                ..Usage::default()
            };
            if let Some(cost) = model.provider.cost(&model.model, &estimate)
                && cost > ceiling
            {
                return Some(format!(
                    "estimated ${:.4} for this request, over the ${:.4} ceiling \
                     (routing.cost_ceiling_usd)",
                    cost.usd(),
                    ceiling.usd()
                ));
            }
        }
        None
    }
}

/// What `model` lacks that the request would use, said for the user; `None` when nothing.
fn lacks(model: &ResolvedModel, needs: &Needs) -> Option<String> {
    let caps = model.provider.capabilities(&model.model);
    let mut gaps = Vec::new();
    if needs.tools && !caps.tools {
        gaps.push("cannot use tools");
    }
    if needs.images && !caps.vision {
        gaps.push("cannot see images");
    }
    (!gaps.is_empty()).then(|| gaps.join(", "))
}

/// The model a role prefers before any filtering.
fn seen_model(
    primary: &ResolvedModel,
    roles: &HashMap<Role, ResolvedModel>,
    role: Role,
) -> ResolvedModel {
    match roles.get(&role) {
        Some(model) if role != Role::Main => model.clone(),
        _ => primary.clone(),
    }
}
