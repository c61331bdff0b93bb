//! The run set-up every front end shares: resolve the model, build the tools' context
//! and the system prompt, open the store and the audit log, and start the session service
//! (`cuervo_core::Conversation`) on them. Headless mode, the line-based mode and the
//! terminal UI differ only in how they render its events and what they submit.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use cuervo_core::agents::AgentCatalog;
use cuervo_core::delegate::{Delegation, DelegationLimits};
use cuervo_core::plan::ExitPlanMode;
use cuervo_core::{
    AgentConfig, Approvals, Conversation, ConversationSetup, Started, SystemPromptInputs,
    ToolRegistry, build_system_prompt,
};
use cuervo_domain::{CodeSearch, ToolContext};
use cuervo_store::{AuditLog, SqliteSessionRepository};

use crate::config::Config;
use crate::options::RunOptions;
use crate::setup::state::{self, AuditRecorder};
use crate::setup::{self, ConfigModels, Env, Project};

/// A started conversation and the adapters the front end still needs.
pub struct Opened {
    pub conversation: Conversation,
    pub started: Started,
    /// Written to by the conversation; [`AuditRecorder::finish`] once it has closed.
    pub audit: Arc<AuditRecorder>,
    /// For listing sessions (the resume picker).
    pub repository: Arc<SqliteSessionRepository>,
}

/// Starts the conversation a run works in (new, `--continue` or `--resume`).
pub async fn open(
    options: &RunOptions,
    config: &Config,
    project: &Project,
    env: &Arc<Env>,
    approvals: Approvals,
) -> Result<Opened> {
    let route = setup::resolve_model(config, options)?;
    let models = Arc::new(ConfigModels::new(config.clone(), env.clone()));
    let model = models.build(&route)?;
    let (resilience, mut notes) = setup::resilience::build(config, &models, &route, &**env);
    let (catalog, agent_notes) = agents(config, project, env);
    notes.extend(agent_notes);
    let catalog = Arc::new(catalog);
    let code = code_search(config, project, env);
    let tools = tools(&catalog, code.clone());
    let delegation = Delegation::new(
        catalog,
        tools.clone(),
        Some(models.clone()),
        DelegationLimits::default(),
    );
    let system_prompt = system_prompt(project, &**env);
    let tool_ctx = ToolContext {
        root: project.root.clone(),
        command_timeout: Duration::from_secs(config.tools.bash_timeout_secs),
        output_limit: config.tools.output_limit_bytes,
        sandbox: cuervo_domain::tool::SandboxSpec {
            mode: options.sandbox.unwrap_or(config.sandbox.mode),
            network: config.sandbox.network,
            backend: config.sandbox.backend,
            launcher: cuervo_tools::sandbox::self_launcher(),
        },
        env_passthrough: config.tools.bash_env_passthrough.clone(),
    };
    let agent_config = AgentConfig {
        model: model.model.clone(),
        max_tokens: config.max_tokens,
        temperature: config.temperature,
        system_prompt: Some(system_prompt),
        max_turns: config.max_turns,
        token_budget: config.token_budget,
        thinking_budget: model.thinking_budget,
        stream: config.stream,
    };
    // The keys this run could send never reach the model, the store or the audit log,
    // whatever a file or a command prints.
    let env_fn: &Env = &**env;
    let key = setup::api_key(config, &route.provider, env_fn);
    let secrets = state::known_secrets(config, env_fn, key);
    let db = state::open_db(env_fn)?;
    let repository = Arc::new(state::repository(db.clone(), project, secrets.clone()));
    let audit = Arc::new(AuditRecorder::new(AuditLog::new(
        db,
        state::audit_redaction(secrets.clone()),
    )));
    let (conversation, started) = Conversation::start(ConversationSetup {
        model,
        models,
        repository: repository.clone(),
        tools,
        tool_ctx,
        policy: config.policy(),
        config: agent_config,
        redaction: Some(state::model_redaction(secrets, config.privacy.redact)),
        approvals,
        observer: Some(audit.clone()),
        start: options.session.clone(),
        resilience: Arc::new(resilience),
        delegation: Some(delegation),
        compact_at: config.auto_compact,
        instructions: Some(Arc::new(crate::context_sources::ProjectInstructions::new(
            &project.root,
        ))),
        repo_map: (config.repo_map_tokens > 0).then(|| {
            let map: Arc<dyn cuervo_core::context::RepoMapSource> = Arc::new(
                crate::context_sources::ProjectMap::start(&project.root, env.clone()),
            );
            (map, config.repo_map_tokens)
        }),
        code_context: code.map(|code| (code, config.index.context_results)),
    })
    .await?;
    let mut started = started;
    started.notes.extend(notes);
    Ok(Opened {
        conversation,
        started,
        audit,
        repository,
    })
}

/// The system prompt of a run in `project` (today's date, the project's instructions).
/// One function, so what the semantic cache scopes answers by is what the model is sent.
pub fn system_prompt(project: &Project, env: &Env) -> String {
    let paths = crate::config::ConfigPaths::new(&project.root, env);
    let config_dir = paths.user.as_deref().and_then(std::path::Path::parent);
    build_system_prompt(&SystemPromptInputs {
        project_root: project.root.display().to_string(),
        platform: std::env::consts::OS.to_owned(),
        date: crate::clock::today(),
        is_git_repo: project.is_git,
        instructions: project.instructions(),
        user_instructions: crate::context_sources::user_instructions(config_dir),
    })
}

/// The tools a run offers the model: the built-in ones, `codebase_search` when the
/// project has an index (`code`), leaving plan mode, and delegating to `catalog`'s
/// agents. One function for the same reason as [`system_prompt`].
pub fn tools(catalog: &AgentCatalog, code: Option<Arc<dyn CodeSearch>>) -> ToolRegistry {
    let mut tools = cuervo_tools::builtin_tools();
    if let Some(code) = code {
        // After the other readers: the order the model sees tools in.
        tools.insert(4, Arc::new(cuervo_tools::CodebaseSearchTool::new(code)));
    }
    tools.push(Arc::new(ExitPlanMode));
    tools.push(Delegation::tool(catalog));
    ToolRegistry::new(tools)
}

/// The project's code index for the `codebase_search` tool, when the project has been
/// indexed (`cuervo index`); opened on the first search.
pub fn code_search(
    config: &Config,
    project: &Project,
    env: &Arc<Env>,
) -> Option<Arc<dyn CodeSearch>> {
    crate::code_index::exists(&project.root, &**env).then(|| {
        Arc::new(crate::code_index::ProjectIndex::new(
            config.clone(),
            &project.root,
            env.clone(),
        )) as Arc<dyn CodeSearch>
    })
}

/// The agents a run may delegate to: the built-in roles, the user's and the project's
/// custom agents (project ones as far as trust allows), and notes about what was left out.
pub fn agents(config: &Config, project: &Project, env: &Arc<Env>) -> (AgentCatalog, Vec<String>) {
    let dirs = crate::agents::AgentDirs::new(&project.root, &**env);
    // `--trust-project` and a trusted project both show as trusted in the config's
    // origins (the agent files' asks are part of what is trusted).
    let loaded = crate::agents::load(&dirs, crate::agents::project_trusted(config, false));
    let notes = loaded.messages(&dirs);
    (loaded.catalog, notes)
}

/// Ends the conversation, writes the last audit entries, and returns the final session
/// and what the run cost.
pub async fn close(
    conversation: Conversation,
    audit: Arc<AuditRecorder>,
) -> Result<Option<(cuervo_domain::SessionId, cuervo_domain::Spend)>> {
    let closed = conversation.shutdown().await;
    tokio::task::spawn_blocking(move || audit.finish()).await?;
    Ok(closed)
}
