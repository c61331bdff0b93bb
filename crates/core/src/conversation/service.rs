//! The conversation's task: it owns the session between turns, lends it to the running
//! turn or compaction, and answers operations while they run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cuervo_domain::{
    AgentEvent, MessageRecord, ModelError, ModelResolver, PermissionPolicy, Redact, ResolvedModel,
    Session, SessionId, SessionMeta, SessionRepository, Spend, ToolContext, repair_unanswered,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::approvals::{AskFrontEnd, Pending};
use super::{
    Approvals, ConversationError, ConversationEvent, ConversationSetup, EventObserver, Op,
    SessionStart, Snapshot, Started,
};
use crate::agent::{Agent, AgentConfig, EventSink, RunOutcome};
use crate::compact::{Compaction, compacted_messages};
use crate::delegate::Delegation;
use crate::error::AgentError;
use crate::registry::ToolRegistry;
use crate::resilience::Resilience;

type Events = mpsc::UnboundedSender<ConversationEvent>;

/// What a background task hands back with the session it borrowed.
enum Done {
    Turn(Result<RunOutcome, AgentError>),
    Compact(Result<Compaction, ModelError>),
    /// A compaction started because the context was nearly full: the messages kept whole
    /// after the summary, and the prompt that waits for it.
    AutoCompact(
        Result<Compaction, ModelError>,
        Vec<cuervo_domain::Message>,
        cuervo_domain::Message,
    ),
}

struct Running {
    handle: JoinHandle<(Session, Done)>,
    cancel: CancellationToken,
}

/// How agents are built: everything but the model stays the same across switches.
struct AgentParts {
    tools: ToolRegistry,
    tool_ctx: ToolContext,
    config: AgentConfig,
    redaction: Option<Redact>,
    approver: Arc<dyn cuervo_domain::Approver>,
    repository: Arc<dyn SessionRepository>,
    resilience: Arc<Resilience>,
    delegation: Option<Delegation>,
    instructions: Option<Arc<dyn crate::instructions::InstructionFiles>>,
    repo_map: Option<(Arc<dyn crate::context::RepoMapSource>, usize)>,
    code_context: Option<(Arc<dyn cuervo_domain::CodeSearch>, usize)>,
}

impl AgentParts {
    fn build(&self, model: &ResolvedModel, policy: PermissionPolicy) -> Agent {
        let mut config = self.config.clone();
        config.model = model.model.clone();
        config.thinking_budget = model.thinking_budget;
        let agent = Agent::new(
            model.provider.clone(),
            self.tools.clone(),
            policy,
            self.approver.clone(),
            self.tool_ctx.clone(),
            config,
        )
        .with_repository(self.repository.clone())
        .with_resilience(self.resilience.clone());
        let agent = match &self.delegation {
            Some(delegation) => agent.with_delegation(delegation.clone()),
            None => agent,
        };
        let agent = match &self.instructions {
            Some(instructions) => agent.with_instructions(instructions.clone()),
            None => agent,
        };
        let agent = match &self.repo_map {
            Some((map, budget)) => agent.with_repo_map(map.clone(), *budget),
            None => agent,
        };
        let agent = match &self.code_context {
            Some((search, results)) => agent.with_code_context(search.clone(), *results),
            None => agent,
        };
        match &self.redaction {
            Some(redact) => agent.with_redaction(redact.clone()),
            None => agent,
        }
    }
}

/// The event sink of one task: records each event for the observer, prices each
/// finished call, and forwards everything in order.
struct TaskSink {
    events: Events,
    observer: Option<Arc<dyn EventObserver>>,
    session: SessionId,
    spend: Arc<Mutex<Spend>>,
    /// The size of the main agent's last request, for automatic compaction.
    context: Arc<AtomicU64>,
}

impl EventSink for TaskSink {
    fn emit(&self, event: AgentEvent) {
        if let Some(observer) = &self.observer {
            observer.observe(&self.session, &event);
        }
        // Sub-agents' calls are paid for like the main agent's.
        let spent = match event.innermost() {
            AgentEvent::TurnCompleted { usage, cost, .. }
            | AgentEvent::CallUnfinished { usage, cost, .. } => {
                let mut spend = self.spend.lock().unwrap_or_else(PoisonError::into_inner);
                spend.add_call(usage, *cost);
                Some(*spend)
            }
            _ => None,
        };
        if let AgentEvent::TurnCompleted { usage, .. } = &event {
            let prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens;
            self.context.store(prompt, Ordering::Relaxed);
        }
        let _ = self.events.send(ConversationEvent::Agent(event));
        if let Some(spend) = spent {
            let _ = self.events.send(ConversationEvent::Spent { spend });
        }
    }
}

pub(super) struct Service {
    parts: AgentParts,
    agent: Arc<Agent>,
    model: ResolvedModel,
    models: Arc<dyn ModelResolver>,
    repository: Arc<dyn SessionRepository>,
    observer: Option<Arc<dyn EventObserver>>,
    ask: Option<AskFrontEnd>,
    events: Events,
    session_id: SessionId,
    /// `None` while a task has it.
    session: Option<Session>,
    running: Option<Running>,
    spend: Arc<Mutex<Spend>>,
    context: Arc<AtomicU64>,
    compact_at: Option<f64>,
}

impl Service {
    pub(super) async fn open(
        setup: ConversationSetup,
        events: Events,
    ) -> Result<(Self, Started), ConversationError> {
        let ConversationSetup {
            model,
            models,
            repository,
            tools,
            tool_ctx,
            policy,
            config,
            redaction,
            approvals,
            observer,
            start,
            resilience,
            delegation,
            compact_at,
            instructions,
            repo_map,
            code_context,
        } = setup;
        let mut notes = Vec::new();
        let existing = match &start {
            SessionStart::New => None,
            SessionStart::Continue => {
                let latest = repository.latest().await?;
                if latest.is_none() {
                    notes.push("no earlier session in this project; starting a new one.".into());
                }
                latest
            }
            SessionStart::Resume(prefix) => Some(repository.resolve(prefix).await?),
        };
        let (session, resumed) = match existing {
            Some(id) => {
                let project = tool_ctx.root.display().to_string();
                let session = load(repository.as_ref(), &id, &project, &mut notes).await?;
                (session, true)
            }
            None => {
                let meta = SessionMeta {
                    provider: model.provider_name.clone(),
                    model: model.model.clone(),
                };
                (Session::new(repository.create(&meta).await?), false)
            }
        };
        let (ask, approver): (Option<AskFrontEnd>, Arc<dyn cuervo_domain::Approver>) =
            match approvals {
                Approvals::Ask => {
                    let ask = AskFrontEnd {
                        pending: Arc::new(Mutex::new(Pending::default())),
                        events: events.clone(),
                    };
                    (Some(ask.clone()), Arc::new(ask))
                }
                Approvals::With(approver) => (None, approver),
            };
        let parts = AgentParts {
            tools,
            tool_ctx,
            config,
            redaction,
            approver,
            repository: repository.clone(),
            resilience,
            delegation,
            instructions,
            repo_map,
            code_context,
        };
        let agent = Arc::new(parts.build(&model, policy));
        // A resumed conversation's size is not known until its first request: estimate it,
        // so a session resumed nearly full is compacted before its next prompt too.
        let context = if session.messages.is_empty() {
            0
        } else {
            crate::resilience::Needs::of(&agent.request_for(session.messages.clone())).input_tokens
        };
        let started = Started {
            session: session.id.clone(),
            messages: session.messages.clone(),
            resumed,
            notes,
            provider: model.provider_name.clone(),
            model: model.model.clone(),
            context_window: model.provider.capabilities(&model.model).context_window,
        };
        let service = Self {
            parts,
            agent,
            model,
            models,
            repository,
            observer,
            ask,
            events,
            session_id: session.id.clone(),
            session: Some(session),
            running: None,
            spend: Arc::new(Mutex::new(Spend::default())),
            context: Arc::new(AtomicU64::new(context)),
            compact_at,
        };
        service.probe_window();
        Ok((service, started))
    }

    pub(super) async fn run(mut self, mut ops: mpsc::UnboundedReceiver<Op>) {
        loop {
            let running = self.running.is_some();
            tokio::select! {
                op = ops.recv() => match op {
                    Some(Op::Shutdown) | None => break,
                    Some(op) => self.handle(op).await,
                },
                joined = async {
                    match self.running.as_mut() {
                        Some(task) => (&mut task.handle).await,
                        None => std::future::pending().await,
                    }
                }, if running => {
                    self.running = None;
                    self.finished(joined).await;
                }
            }
        }
        self.stop_running().await;
        let spend = *self.spend.lock().unwrap_or_else(PoisonError::into_inner);
        self.emit(ConversationEvent::Closed {
            session: self.session_id.clone(),
            spend,
        });
    }

    fn emit(&self, event: ConversationEvent) {
        let _ = self.events.send(event);
    }

    fn reject(&self, op: &'static str, reason: impl Into<String>) {
        self.emit(ConversationEvent::Rejected {
            op,
            reason: reason.into(),
        });
    }

    /// Takes the session for a task, or says the op must wait for the running one.
    fn take_session(&mut self, op: &'static str) -> Option<Session> {
        if self.running.is_some() {
            self.reject(
                op,
                "waits for the running turn: interrupt it, or try again when it finishes",
            );
            return None;
        }
        self.session.take()
    }

    fn sink(&self) -> TaskSink {
        TaskSink {
            events: self.events.clone(),
            observer: self.observer.clone(),
            session: self.session_id.clone(),
            spend: self.spend.clone(),
            context: self.context.clone(),
        }
    }

    async fn handle(&mut self, op: Op) {
        match op {
            Op::UserInput { message } => {
                let Some(session) = self.take_session("prompt") else {
                    return;
                };
                if let Err((session, message)) = self.auto_compact(session, message) {
                    self.run_turn(session, message);
                }
            }
            Op::Compact { focus } => {
                let Some(session) = self.take_session("compact") else {
                    return;
                };
                if session.messages.is_empty() {
                    self.session = Some(session);
                    return self.reject("compact", "nothing to compact yet");
                }
                let agent = self.agent.clone();
                let cancel = CancellationToken::new();
                let token = cancel.clone();
                let handle = tokio::spawn(async move {
                    let result = agent
                        .summarise(&session.messages, focus.as_deref(), &token)
                        .await;
                    (session, Done::Compact(result))
                });
                self.running = Some(Running { handle, cancel });
            }
            Op::Interrupt => {
                if let Some(ask) = &self.ask {
                    ask.deny_all();
                }
                if let Some(task) = &self.running {
                    task.cancel.cancel();
                }
            }
            Op::Approval { id, approval } => {
                let answered = self
                    .ask
                    .as_ref()
                    .is_some_and(|ask| ask.answer(id, approval));
                if !answered {
                    self.reject("approval", format!("no open question #{id}"));
                }
            }
            Op::SetPermissionMode { mode } => {
                let mut policy = self.agent.policy();
                policy.mode = mode;
                self.agent.set_policy(policy);
                self.emit(ConversationEvent::PermissionModeChanged { mode });
            }
            Op::SwitchModel { model } => self.switch_model(&model),
            Op::Describe => self.describe(),
            Op::Clear => self.clear().await,
            Op::Resume { session } => self.resume(&session).await,
            // Handled by the loop.
            Op::Shutdown => {}
        }
    }

    fn describe(&self) {
        let Some(session) = &self.session else {
            return self.reject("describe", "shown between turns");
        };
        let config = self.agent.config();
        let spend = *self.spend.lock().unwrap_or_else(PoisonError::into_inner);
        self.emit(ConversationEvent::Described(Box::new(Snapshot {
            session: session.id.clone(),
            messages: session.messages.clone(),
            provider: self.model.provider_name.clone(),
            model: self.model.model.clone(),
            // As the last request carried it: with this turn's repository map.
            system_prompt: self
                .agent
                .system_prompt_now()
                .or_else(|| config.system_prompt.clone()),
            tools: self.agent.tool_specs(),
            policy: self.agent.policy(),
            spend,
        })));
    }

    fn switch_model(&mut self, requested: &str) {
        if self.running.is_some() {
            return self.reject(
                "model",
                "waits for the running turn: interrupt it, or switch when it finishes",
            );
        }
        let resolved = match self.models.resolve(requested) {
            Ok(resolved) => resolved,
            Err(reason) => {
                return self.reject("model", format!("cannot switch to {requested}: {reason}"));
            }
        };
        // The rules granted so far ("allow always") go on with the new model.
        let agent = self.parts.build(&resolved, self.agent.policy());
        self.agent = Arc::new(agent);
        self.model = resolved;
        self.emit(ConversationEvent::ModelSwitched {
            provider: self.model.provider_name.clone(),
            model: self.model.model.clone(),
            context_window: self
                .model
                .provider
                .capabilities(&self.model.model)
                .context_window,
        });
        self.probe_window();
    }

    /// Asks the provider for the model's real context window in the background.
    fn probe_window(&self) {
        let provider = self.model.provider.clone();
        let model = self.model.model.clone();
        // Weak: a slow probe must not keep the event stream open after a shutdown.
        let events = self.events.downgrade();
        tokio::spawn(async move {
            let window = provider.probe_capabilities(&model).await.context_window;
            if let Some(events) = events.upgrade() {
                let _ = events.send(ConversationEvent::ContextWindow { model, window });
            }
        });
    }

    fn meta(&self) -> SessionMeta {
        SessionMeta {
            provider: self.model.provider_name.clone(),
            model: self.model.model.clone(),
        }
    }

    async fn clear(&mut self) {
        let Some(current) = self.take_session("clear") else {
            return;
        };
        match self.repository.create(&self.meta()).await {
            Ok(id) => {
                self.session_id = id.clone();
                self.session = Some(Session::new(id.clone()));
                self.emit(ConversationEvent::Cleared { session: id });
            }
            Err(error) => {
                self.session = Some(current);
                self.reject("clear", format!("{error}; the conversation is unchanged"));
            }
        }
    }

    async fn resume(&mut self, prefix: &str) {
        let Some(current) = self.take_session("resume") else {
            return;
        };
        let mut notes = Vec::new();
        let loaded = match self.repository.resolve(prefix).await {
            Ok(id) => {
                let project = self.parts.tool_ctx.root.display().to_string();
                load(self.repository.as_ref(), &id, &project, &mut notes).await
            }
            Err(error) => Err(error),
        };
        match loaded {
            Ok(session) => {
                self.session_id = session.id.clone();
                self.emit(ConversationEvent::Resumed {
                    session: session.id.clone(),
                    messages: session.messages.clone(),
                    notes,
                });
                self.session = Some(session);
            }
            Err(error) => {
                self.session = Some(current);
                self.reject(
                    "resume",
                    format!("{error}; the current session is unchanged"),
                );
            }
        }
    }

    async fn finished(&mut self, joined: Result<(Session, Done), tokio::task::JoinError>) {
        let (session, done) = match joined {
            Ok(pair) => pair,
            Err(error) => {
                // The task panicked: the session is stored as far as it went; go on from
                // what the store holds.
                let mut notes = Vec::new();
                let project = self.parts.tool_ctx.root.display().to_string();
                let reloaded = load(
                    self.repository.as_ref(),
                    &self.session_id,
                    &project,
                    &mut notes,
                )
                .await;
                self.session =
                    Some(reloaded.unwrap_or_else(|_| Session::new(self.session_id.clone())));
                return self.reject(
                    "prompt",
                    format!("internal error: {error}; the conversation is saved"),
                );
            }
        };
        match done {
            Done::Turn(result) => {
                self.session = Some(session);
                self.emit(ConversationEvent::TurnEnded { result });
            }
            Done::Compact(Err(error)) => {
                self.session = Some(session);
                self.emit(ConversationEvent::CompactFailed { error });
            }
            Done::Compact(Ok(compaction)) => {
                self.compacted(session, compaction, Vec::new()).await;
            }
            Done::AutoCompact(result, kept, message) => {
                match result {
                    Ok(compaction) => self.compacted(session, compaction, kept).await,
                    Err(error) => {
                        self.session = Some(session);
                        self.emit(ConversationEvent::CompactFailed { error });
                    }
                }
                // The prompt that waited runs now, compacted or not.
                if let Some(session) = self.session.take() {
                    self.run_turn(session, message);
                }
            }
        }
    }

    /// Runs one user turn as a task.
    fn run_turn(&mut self, mut session: Session, message: cuervo_domain::Message) {
        let agent = self.agent.clone();
        let sink = self.sink();
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let handle = tokio::spawn(async move {
            let result = agent
                .run_message(&mut session, message, &sink, &token)
                .await;
            (session, Done::Turn(result))
        });
        self.running = Some(Running { handle, cancel });
    }

    /// When the last request filled `compact_at` of the window, starts compacting all but
    /// the latest turn, with `message` waiting for it (`Ok`); otherwise gives both back.
    fn auto_compact(
        &mut self,
        session: Session,
        message: cuervo_domain::Message,
    ) -> Result<(), (Session, cuervo_domain::Message)> {
        let Some(fraction) = self.compact_at else {
            return Err((session, message));
        };
        let window = self
            .model
            .provider
            .capabilities(&self.model.model)
            .context_window;
        let used = self.context.load(Ordering::Relaxed);
        if window == 0 || (used as f64) < fraction * window as f64 {
            return Err((session, message));
        }
        let split = last_turn_start(&session.messages);
        if split == 0 {
            // One turn filled the window: there is nothing older to summarise.
            return Err((session, message));
        }
        let head = session.messages[..split].to_vec();
        let kept = session.messages[split..].to_vec();
        let agent = self.agent.clone();
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let handle = tokio::spawn(async move {
            let result = agent.summarise(&head, None, &token).await;
            (session, Done::AutoCompact(result, kept, message))
        });
        self.running = Some(Running { handle, cancel });
        Ok(())
    }

    /// Stores the compacted conversation as a new session and continues in it.
    async fn compacted(
        &mut self,
        old: Session,
        compaction: Compaction,
        kept: Vec<cuervo_domain::Message>,
    ) {
        let automatic = !kept.is_empty();
        {
            let mut spend = self.spend.lock().unwrap_or_else(PoisonError::into_inner);
            spend.add_call(&compaction.usage, compaction.cost);
            let spend = *spend;
            self.emit(ConversationEvent::Spent { spend });
        }
        let id = match self.repository.create(&self.meta()).await {
            Ok(id) => id,
            Err(error) => {
                self.session = Some(old);
                return self.reject(
                    "compact",
                    format!(
                        "cannot store the compacted session: {error}; the conversation is unchanged"
                    ),
                );
            }
        };
        let mut session = Session::new(id.clone());
        let summary_pair = compacted_messages(&compaction.summary);
        let records = summary_pair
            .into_iter()
            .enumerate()
            .map(|(i, message)| {
                // The summary's answer carries the call that wrote it.
                let written = i == 1;
                MessageRecord {
                    message,
                    model: written.then(|| self.model.model.clone()),
                    usage: written.then_some(compaction.usage),
                    cost: if written { compaction.cost } else { None },
                }
            })
            .chain(kept.into_iter().map(|message| MessageRecord {
                message,
                model: None,
                usage: None,
                cost: None,
            }))
            .collect::<Vec<_>>();
        for record in records {
            if let Err(error) = self.repository.append(&id, record.clone()).await {
                tracing::warn!(%error, "could not store the compacted session {id}");
            }
            session.push(record.message);
        }
        self.context.store(0, Ordering::Relaxed);
        session.usage = old.usage;
        let previous = std::mem::replace(&mut self.session_id, id.clone());
        self.session = Some(session);
        self.emit(ConversationEvent::Compacted {
            summary: compaction.summary,
            replaced: compaction.replaced,
            previous,
            session: id,
            automatic,
        });
    }

    /// Stops the running task (if any) and takes its session back.
    async fn stop_running(&mut self) {
        if let Some(ask) = &self.ask {
            ask.deny_all();
        }
        if let Some(task) = self.running.take() {
            task.cancel.cancel();
            let joined = task.handle.await;
            self.finished(joined).await;
        }
    }
}

/// Loads a stored session, answering (and storing the answer to) a tool call it left
/// unanswered.
async fn load(
    repository: &dyn SessionRepository,
    id: &SessionId,
    project: &str,
    notes: &mut Vec<String>,
) -> Result<Session, cuervo_domain::RepositoryError> {
    let stored = repository.load(id).await?.ok_or_else(|| {
        cuervo_domain::RepositoryError(format!(
            "no session `{id}`; `cuervo sessions list` shows the ids"
        ))
    })?;
    let mut session = Session::new(stored.id);
    session.messages = stored.messages;
    if stored.project_path != project {
        notes.push(format!(
            "session {} belongs to {}; resuming it here in {project}.",
            session.id, stored.project_path
        ));
    }
    if let Some(answer) = repair_unanswered(&session.messages) {
        let record = MessageRecord {
            message: answer.clone(),
            model: None,
            usage: None,
            cost: None,
        };
        repository.append(&session.id, record).await?;
        session.push(answer);
        notes.push("a tool call the last run left unanswered was marked as not run.".into());
    }
    Ok(session)
}

/// Where the latest user turn starts: the last user message that is not only tool
/// results. What comes from there on is kept whole by an automatic compaction.
fn last_turn_start(messages: &[cuervo_domain::Message]) -> usize {
    messages
        .iter()
        .rposition(|m| {
            m.role == cuervo_domain::Role::User
                && m.content
                    .iter()
                    .any(|b| !matches!(b, cuervo_domain::ContentBlock::ToolResult(_)))
        })
        .unwrap_or(0)
}
