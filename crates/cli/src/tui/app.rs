//! The interactive session: one loop that reacts to keys, agent events, approval requests
//! and the end of a turn, and draws a frame after each burst of them.
//!
//! The turn runs as its own task that owns the session while it runs and hands it back
//! when done, so the UI keeps reading keys (type-ahead is never lost, Esc interrupts)
//! while the model streams or a tool runs.

use std::collections::{HashSet, VecDeque};
use std::io::Stdout;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use cuervo_core::{Agent, AgentError, CancellationToken, Compaction, RunOutcome};
use cuervo_domain::{
    AgentEvent, Approval, ContentBlock, Cost, Message, MessageRecord, ModelError, PermissionMode,
    Session, SessionId, SessionRepository, StopCause,
};
use cuervo_store::{Db, SqliteSessionRepository};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::approve::{self, Ask, Choice, Dialog, TuiApprover};
use super::commands::{self, Builtin, Kind, Registry};
use super::context;
use super::input::{InputEvent, PromptInput};
use super::markdown::{self, MarkdownStream};
use super::mentions;
use super::picker::{Picker, PickerOutcome};
use super::screen::{Cursor, Screen};
use super::style::{Color, Line, Style};
use super::terminal::TerminalGuard;
use super::view::{self, Status};
use crate::args::Cli;
use crate::config::{Config, ConfigPaths};
use crate::headless::model_error_hint;
use crate::render::usage_line;
use crate::setup::{self, Env, Project, state};
use crate::signals::{Signal, Signals};

/// The shortest time between two frames while output streams (about 60 a second).
const FRAME: Duration = Duration::from_millis(16);
/// How long "press Ctrl-C again to exit" stays armed.
const EXIT_WINDOW: Duration = Duration::from_secs(2);
/// Rows of the streaming answer's unfinished part shown in the live area.
const PENDING_ROWS: usize = 12;

/// What a background task (a turn or a compaction) hands back with the session.
enum Done {
    Run(std::result::Result<RunOutcome, AgentError>),
    Compact {
        result: std::result::Result<Compaction, ModelError>,
    },
}

/// The task running now and what the UI shows about it.
struct Task {
    handle: JoinHandle<(Session, Done)>,
    cancel: CancellationToken,
    started: Instant,
    label: &'static str,
    markdown: MarkdownStream,
    thinking: Option<(String, Instant)>,
    /// Characters streamed, for the token estimate in the spinner.
    streamed: usize,
    /// Output tokens reported by finished model calls of this task.
    tokens: u64,
}

/// What takes the place of the input box.
enum Overlay {
    None,
    Approval(Dialog),
    Model(Picker<String>),
    Resume(Picker<String>),
}

struct App<'a> {
    cli: &'a Cli,
    config: &'a Config,
    project: &'a Project,
    env: &'a Env,
    screen: Screen<Stdout>,
    input: PromptInput,
    registry: Registry,
    agent: Arc<Agent>,
    approver: Arc<TuiApprover>,
    provider: String,
    model: String,
    db: Arc<Db>,
    repository: Arc<SqliteSessionRepository>,
    audit: state::AuditRecorder,
    events_tx: mpsc::UnboundedSender<AgentEvent>,
    session_id: SessionId,
    /// `None` while a task owns it.
    session: Option<Session>,
    task: Option<Task>,
    queued: VecDeque<String>,
    overlay: Overlay,
    /// Lines waiting to be printed into the scrollback with the next frame.
    finished: Vec<Line>,
    /// Calls whose diff was shown, so their result line is not repeated.
    diffed: HashSet<String>,
    /// Calls whose change was shown in a permission prompt, so it is not shown twice.
    previewed: HashSet<String>,
    /// The last tool output, for Ctrl-O.
    last_output: Option<String>,
    context_used: Option<u64>,
    window: u64,
    cost: CostSum,
    exit_armed: Option<Instant>,
    quit: bool,
    /// Images from `--image`, sent with the first prompt.
    images: Vec<ContentBlock>,
    /// Context windows learned from the provider (Ollama reads the model's metadata).
    windows_tx: mpsc::UnboundedSender<(String, u64)>,
}

/// Cost across the session's models; unknown prices are counted, not guessed.
#[derive(Debug, Default, Clone, Copy)]
struct CostSum {
    known: u64,
    unpriced_calls: u64,
}

impl CostSum {
    fn shown(&self) -> Option<Cost> {
        (self.unpriced_calls == 0).then_some(Cost {
            micro_usd: self.known,
        })
    }
}

pub async fn run(cli: &Cli, config: &Config, project: &Project, env: &Env) -> Result<ExitCode> {
    // Caught from the start, so a signal never leaves the terminal in raw mode. Raw mode
    // turns Ctrl-C into a key; these are the signals sent from outside.
    let mut signals = Signals::install()?;
    // A bad image path fails before the session starts, as in headless runs.
    let images = cli
        .images
        .iter()
        .map(|path| crate::attach::image_block(path))
        .collect::<Result<Vec<_>>>()?;
    let (approver, mut approvals) = TuiApprover::new();
    let approver = Arc::new(approver);
    let setup::PreparedRun {
        assembled,
        state: run_state,
        repository,
    } = setup::prepare_run(config, cli, project, approver.clone(), env)?;
    let agent = Arc::new(assembled.agent);
    let mut session = Session::new(run_state.session.id.clone());
    session.messages = run_state.session.messages;
    let project_commands = project.root.join(".cuervo").join("commands");
    let user_commands = state::config_dir(env).map(|d| d.join("commands"));
    let (registry, notes) = Registry::load(&project_commands, user_commands.as_deref());
    let history = state_dir(env).map(|d| d.join("history.jsonl"));
    let mut input = PromptInput::new(project.root.clone(), history);
    input.set_commands(registry.completions());

    let log_path = state_dir(env).map(|d| d.join("cuervo.log"));
    crate::log::redirect(Some(log_file(log_path.as_deref())));
    let guard = TerminalGuard::enter()?;
    // A pseudo-terminal nobody sized reports 0×0; draw for a classic 80×24 then.
    let (width, height) = crossterm::terminal::size()
        .ok()
        .filter(|(w, h)| *w > 0 && *h > 0)
        .unwrap_or((80, 24));
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (windows_tx, mut windows_rx) = mpsc::unbounded_channel();
    let window = agent
        .provider()
        .capabilities(&assembled.model)
        .context_window;
    let mut app = App {
        cli,
        config,
        project,
        env,
        screen: Screen::new(std::io::stdout(), width, height, color),
        input,
        registry,
        agent,
        approver,
        provider: assembled.provider,
        model: assembled.model,
        db: run_state.db,
        repository,
        audit: run_state.audit,
        events_tx,
        session_id: session.id.clone(),
        session: Some(session),
        task: None,
        queued: VecDeque::new(),
        overlay: Overlay::None,
        finished: Vec::new(),
        diffed: HashSet::new(),
        previewed: HashSet::new(),
        last_output: None,
        context_used: None,
        window,
        cost: CostSum::default(),
        exit_armed: None,
        quit: false,
        images,
        windows_tx,
    };
    app.probe_window();
    app.welcome(run_state.session.resumed, &notes);
    app.draw();

    let mut ended_by: Option<Signal> = None;
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut last_frame = Instant::now();
    let mut deadline: Option<tokio::time::Instant> = None;
    while !app.quit {
        let running = app.task.is_some();
        // Biased: the agent's events are handled before an approval request or the end of
        // the turn that follows them, so the screen shows things in the order they happened.
        // Keys are not starved: each pass drains every event already waiting.
        tokio::select! {
            biased;
            Some(event) = events_rx.recv() => {
                app.on_agent(event);
                while let Ok(event) = events_rx.try_recv() {
                    app.on_agent(event);
                }
            }
            Some(ask) = approvals.recv() => app.on_approval(ask),
            Some((model, window)) = windows_rx.recv() => {
                if model == app.model {
                    app.window = window;
                }
            }
            signal = signals.recv() => match signal {
                Signal::Interrupt => app.on_ctrl_c(),
                // Stop the turn, save, and exit with the signal's status.
                signal => {
                    ended_by = Some(signal);
                    app.quit = true;
                }
            },
            event = keys.next() => match event {
                Some(Ok(event)) => app.on_terminal(event),
                // The terminal is gone: nothing more can be typed.
                Some(Err(_)) | None => app.quit = true,
            },
            done = async {
                match app.task.as_mut() {
                    Some(task) => (&mut task.handle).await,
                    None => std::future::pending().await,
                }
            }, if running => {
                while let Ok(event) = events_rx.try_recv() {
                    app.on_agent(event);
                }
                app.on_done(done).await;
            }
            _ = tick.tick(), if running || app.exit_armed.is_some() || app.indexing() => {
                app.input.tick();
                if app.exit_armed.is_some_and(|t| t.elapsed() > EXIT_WINDOW) {
                    app.exit_armed = None;
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => {}
        }
        // Draw at most once per frame; a burst of deltas becomes one write.
        if last_frame.elapsed() >= FRAME {
            app.draw();
            last_frame = Instant::now();
            deadline = None;
        } else if deadline.is_none() {
            deadline = Some(tokio::time::Instant::from_std(last_frame + FRAME));
        }
    }
    // A question nobody will answer now is answered "no", so the turn can end.
    drop(approvals);
    app.shutdown().await;
    drop(guard);
    crate::log::redirect(None);
    let App {
        audit,
        session,
        session_id,
        agent,
        model,
        ..
    } = app;
    tokio::task::spawn_blocking(move || audit.finish()).await?;
    let usage = session.map(|s| s.usage).unwrap_or_default();
    let cost = agent.provider().cost(&model, &usage);
    crate::render::farewell(&usage, cost, &session_id);
    Ok(ended_by.map_or(ExitCode::SUCCESS, |signal| {
        ExitCode::from(signal.exit_code())
    }))
}

/// The log file for the session (appended to), or nowhere if it cannot be opened.
fn log_file(path: Option<&std::path::Path>) -> Box<dyn std::io::Write + Send> {
    let opened = path.and_then(|path| {
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    match opened {
        Some(file) => Box::new(file),
        None => Box::new(std::io::sink()),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `$XDG_STATE_HOME/cuervo`, else `~/.local/state/cuervo`: the prompt history.
fn state_dir(env: &Env) -> Option<PathBuf> {
    env("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .map(|d| d.join("cuervo"))
}

impl App<'_> {
    fn welcome(&mut self, resumed: bool, notes: &[String]) {
        let mut head = Line::styled("✻ ", Style::fg(Color::Magenta));
        head.push("Cuervo", Style::PLAIN.bold());
        head.push(
            format!(" {}", env!("CARGO_PKG_VERSION")),
            Style::PLAIN.dim(),
        );
        self.finished.push(head);
        self.finished.extend(view::note(&format!(
            "{}/{} · {} mode · {}\n/help for commands · @ to mention a file · esc interrupts · ctrl+d exits",
            self.provider,
            self.model,
            self.mode(),
            self.project.root.display()
        )));
        if resumed {
            let count = self.session.as_ref().map_or(0, |s| s.messages.len());
            self.finished.extend(view::note(&format!(
                "Resumed session {} ({count} messages).",
                self.session_id
            )));
        }
        for note in notes {
            self.finished.extend(view::error(note, ""));
        }
        self.finished.push(Line::empty());
    }

    /// Asks the provider for the model's real context window in the background; the
    /// static table answers until then.
    fn probe_window(&self) {
        let provider = self.agent.provider().clone();
        let model = self.model.clone();
        let tx = self.windows_tx.clone();
        tokio::spawn(async move {
            let window = provider.probe_capabilities(&model).await.context_window;
            let _ = tx.send((model, window));
        });
    }

    /// The `@` menu waits for the file list.
    fn indexing(&self) -> bool {
        self.input.menu().is_some_and(|m| m.loading)
    }

    fn mode(&self) -> PermissionMode {
        self.agent.policy().mode
    }

    // ---- drawing ----

    fn draw(&mut self) {
        let width = self.screen.width();
        let (live, cursor) = self.live(width);
        let finished = std::mem::take(&mut self.finished);
        // A terminal write error (the terminal closed) ends the session cleanly.
        if self.screen.draw(&finished, &live, cursor).is_err() {
            self.quit = true;
        }
    }

    fn live(&self, width: usize) -> (Vec<Line>, Option<Cursor>) {
        let mut rows: Vec<Line> = Vec::new();
        if let Some(task) = &self.task {
            if let Some((thinking, _)) = &task.thinking {
                let tail: Vec<&str> = thinking.lines().rev().take(2).collect();
                for line in tail.into_iter().rev() {
                    rows.push(Line::styled(
                        format!("  {line}"),
                        Style::PLAIN.dim().italic(),
                    ));
                }
            }
            // Rows, not lines: one unfinished paragraph can wrap into dozens of rows.
            let pending: Vec<Line> = task
                .markdown
                .pending()
                .iter()
                .flat_map(|line| line.wrap(width, 0))
                .collect();
            let skip = pending.len().saturating_sub(PENDING_ROWS);
            rows.extend(pending.into_iter().skip(skip));
            let tokens = task.tokens + (task.streamed / 4) as u64;
            let label = if task.thinking.is_some() {
                "Thinking"
            } else {
                task.label
            };
            rows.push(Line::empty());
            rows.push(view::spinner(label, task.started.elapsed(), tokens));
        }
        for queued in &self.queued {
            let first = queued.lines().next().unwrap_or("");
            rows.push(Line::styled(
                format!("  queued: {first}"),
                Style::PLAIN.dim(),
            ));
        }
        let max_rows = self
            .screen
            .height()
            .saturating_sub(rows.len() + 3)
            .clamp(3, 12);
        let mut cursor = None;
        match &self.overlay {
            Overlay::Approval(dialog) => {
                let (lines, at) = dialog.render();
                cursor = at.map(|(c, r)| (c, r + rows.len() as u16));
                rows.extend(lines);
            }
            Overlay::Model(picker) | Overlay::Resume(picker) => {
                rows.extend(picker.render(width, max_rows));
            }
            Overlay::None => {
                rows.push(Line::styled("─".repeat(width), Style::PLAIN.dim()));
                let (lines, (col, row)) = self.input.render(width, max_rows);
                cursor = Some((col, row + rows.len() as u16));
                rows.extend(lines);
            }
        }
        let hint = self.exit_armed.map(|_| "press ctrl+c again to exit");
        let mode = self.mode();
        rows.push(view::status_line(
            &Status {
                model: &self.model,
                mode: mode.as_str(),
                context: self.context_used.map(|used| (used, self.window)),
                cost: self.cost.shown(),
                hint,
            },
            width,
        ));
        (rows, cursor)
    }

    // ---- terminal input ----

    fn on_terminal(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Paste(text) => match &mut self.overlay {
                Overlay::Approval(dialog) => dialog.handle_paste(&text),
                Overlay::None => self.input.handle_paste(&text),
                _ => {}
            },
            Event::Resize(width, height) if width > 0 && height > 0 => {
                self.screen.resize(width, height);
                if let Some(task) = &mut self.task {
                    task.markdown.set_width(usize::from(width));
                }
            }
            _ => {}
        }
    }

    fn on_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return self.on_ctrl_c();
        }
        if !matches!(key.code, KeyCode::Char('c')) || !ctrl {
            self.exit_armed = None;
        }
        match std::mem::replace(&mut self.overlay, Overlay::None) {
            Overlay::Approval(mut dialog) => {
                if key.code == KeyCode::Esc && !dialog.is_typing() {
                    dialog.answer(Approval::Deny);
                    self.interrupt();
                    return;
                }
                match dialog.handle_key(key) {
                    Some(choice) => self.decide(dialog, choice),
                    None => self.overlay = Overlay::Approval(dialog),
                }
                return;
            }
            Overlay::Model(mut picker) => {
                match picker.handle_key(key) {
                    PickerOutcome::Chosen(model) => self.switch_model(&model),
                    PickerOutcome::Cancelled => {}
                    PickerOutcome::Pending => self.overlay = Overlay::Model(picker),
                }
                return;
            }
            Overlay::Resume(mut picker) => {
                match picker.handle_key(key) {
                    PickerOutcome::Chosen(id) => self.resume(&id),
                    PickerOutcome::Cancelled => {}
                    PickerOutcome::Pending => self.overlay = Overlay::Resume(picker),
                }
                return;
            }
            Overlay::None => {}
        }
        match self.input.handle_key(key) {
            InputEvent::Submitted(text) => self.submit(text),
            InputEvent::Changed => {}
            InputEvent::Unhandled => match key.code {
                KeyCode::Esc if self.task.is_some() => self.interrupt(),
                KeyCode::Char('d') if ctrl && self.input.is_empty() => self.quit = true,
                KeyCode::Char('o') if ctrl => self.expand_last_output(),
                KeyCode::Char('l') if ctrl => {
                    let _ = self.screen.clear_screen();
                }
                _ => {}
            },
        }
    }

    fn on_ctrl_c(&mut self) {
        if let Overlay::Approval(dialog) = &mut self.overlay {
            dialog.answer(Approval::Deny);
            self.overlay = Overlay::None;
        }
        if !matches!(self.overlay, Overlay::None) {
            self.overlay = Overlay::None;
            return;
        }
        if self.task.is_some() {
            self.interrupt();
        } else if !self.input.is_empty() {
            self.input.clear();
        } else if self.exit_armed.is_some() {
            self.quit = true;
        } else {
            self.exit_armed = Some(Instant::now());
        }
    }

    fn interrupt(&mut self) {
        if let Some(task) = &self.task {
            task.cancel.cancel();
        }
        // Queued prompts were typed for the turn being stopped; keep them in the input.
        if !self.queued.is_empty() {
            let mut text: Vec<String> = self.queued.drain(..).collect();
            if !self.input.is_empty() {
                text.push(self.input.take_text());
            }
            self.input.set_text(&text.join("\n"));
        }
    }

    fn expand_last_output(&mut self) {
        match &self.last_output {
            Some(output) => {
                for row in output.lines() {
                    self.finished
                        .push(Line::styled(format!("    {row}"), Style::PLAIN.dim()));
                }
            }
            None => self.finished.extend(view::note("No tool output yet.")),
        }
    }

    // ---- prompts and commands ----

    fn submit(&mut self, text: String) {
        if text.trim().is_empty() {
            return;
        }
        if let Some((name, args)) = commands::parse(&text) {
            let Some(command) = self.registry.find(name).cloned() else {
                self.finished.extend(view::error(
                    &format!("unknown command /{name}"),
                    "/help lists the commands; your text is back in the input",
                ));
                self.input.set_text(&text);
                return;
            };
            return match command.kind {
                Kind::Builtin(action) => self.builtin(action, args, &text),
                Kind::Prompt { template } => {
                    let prompt = commands::expand(&template, args);
                    self.prompt(text.clone(), prompt);
                }
            };
        }
        self.prompt(text.clone(), text);
    }

    /// Sends a prompt, or queues it behind the running task. `shown` is what the user
    /// typed (`/init`), `prompt` what the model gets.
    fn prompt(&mut self, shown: String, prompt: String) {
        if self.task.is_some() {
            self.queued.push_back(shown);
            return;
        }
        self.finished.extend(view::user_prompt(&shown));
        let (mut message, attached) = mentions::attach(&self.project.root, &prompt);
        for note in attached {
            self.finished.extend(view::note(&note));
        }
        if !self.images.is_empty() {
            self.finished.extend(view::note(&format!(
                "attached {} image(s) from --image",
                self.images.len()
            )));
            message.content.append(&mut self.images);
        }
        self.start_run(message);
    }

    fn start_run(&mut self, message: Message) {
        let Some(mut session) = self.session.take() else {
            return;
        };
        let agent = self.agent.clone();
        let tx = self.events_tx.clone();
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let handle = tokio::spawn(async move {
            let result = agent.run_message(&mut session, message, &tx, &token).await;
            (session, Done::Run(result))
        });
        self.task = Some(self.new_task(handle, cancel, "Working"));
    }

    fn new_task(
        &self,
        handle: JoinHandle<(Session, Done)>,
        cancel: CancellationToken,
        label: &'static str,
    ) -> Task {
        Task {
            handle,
            cancel,
            started: Instant::now(),
            label,
            markdown: MarkdownStream::new(self.screen.width()),
            thinking: None,
            streamed: 0,
            tokens: 0,
        }
    }

    fn builtin(&mut self, action: Builtin, args: &str, typed: &str) {
        let needs_idle = matches!(
            action,
            Builtin::Clear | Builtin::Compact | Builtin::Resume | Builtin::Model
        );
        if needs_idle && self.task.is_some() {
            self.finished.extend(view::error(
                &format!("{typed} waits for the running turn"),
                "press esc to interrupt it, or run the command when it finishes",
            ));
            self.input.set_text(typed);
            return;
        }
        self.finished.extend(view::user_prompt(typed));
        match action {
            Builtin::Help => self.help(),
            Builtin::Exit => self.quit = true,
            Builtin::Cost => self.show_cost(),
            Builtin::Context => self.show_context(),
            Builtin::Permissions => self.permissions(args),
            Builtin::Clear => self.clear(),
            Builtin::Compact => self.compact(args),
            Builtin::Model if !args.is_empty() => self.switch_model(args),
            Builtin::Model => self.model_picker(),
            Builtin::Resume if !args.is_empty() => self.resume(args),
            Builtin::Resume => self.resume_picker(),
        }
    }

    fn help(&mut self) {
        let mut text = String::from("## Commands\n\n| command | what it does |\n|---|---|\n");
        for command in self.registry.commands() {
            let origin = match &command.origin {
                commands::Origin::BuiltIn => String::new(),
                commands::Origin::Project(_) => " *(project)*".into(),
                commands::Origin::User(_) => " *(yours)*".into(),
            };
            text.push_str(&format!(
                "| `/{}` | {}{} |\n",
                command.name, command.description, origin
            ));
        }
        text.push_str(
            "\nAdd your own as markdown files in `.cuervo/commands/` or \
             `~/.config/cuervo/commands/`; `$ARGUMENTS` is replaced by what follows the command.\n\n\
             ## Keys\n\n\
             - `enter` sends · `shift+enter`, `alt+enter`, `ctrl+j` or a trailing `\\` start a new line\n\
             - `↑` `↓` browse earlier prompts · `tab` completes `/commands` and `@files`\n\
             - `esc` interrupts the running turn · `ctrl+c` clears the input, twice exits · `ctrl+d` exits\n\
             - `ctrl+o` shows the last tool output in full · `ctrl+l` clears the screen\n",
        );
        self.finished
            .extend(markdown::render(&text, self.screen.width()));
    }

    fn show_cost(&mut self) {
        let Some(session) = &self.session else {
            return self.finished.extend(view::note(
                "The cost is shown between turns; the status line has it meanwhile.",
            ));
        };
        let cost = self.cost.shown();
        let mut lines = view::note(&usage_line(&session.usage, cost));
        if self.cost.unpriced_calls > 0 {
            lines.extend(view::note(&format!(
                "{} model calls had no known price; the priced ones cost ${:.4}.",
                self.cost.unpriced_calls,
                self.cost.known as f64 / 1e6
            )));
        }
        lines.extend(view::note(&format!(
            "session {} · {} messages",
            self.session_id,
            session.messages.len()
        )));
        self.finished.extend(lines);
    }

    fn show_context(&mut self) {
        let Some(session) = &self.session else {
            return self
                .finished
                .extend(view::note("The context is shown between turns."));
        };
        let config = self.agent.config();
        let breakdown = context::breakdown(
            &self.model,
            config.system_prompt.as_deref(),
            &self.agent.tool_specs(),
            &session.messages,
        );
        self.finished
            .extend(context::render(&breakdown, self.window));
    }

    fn permissions(&mut self, args: &str) {
        if !args.is_empty() {
            match args.parse::<PermissionMode>() {
                Ok(mode) => {
                    let mut policy = self.agent.policy();
                    policy.mode = mode;
                    self.agent.set_policy(policy);
                    self.finished
                        .extend(view::note(&format!("Permission mode is now {mode}.")));
                }
                Err(_) => self.finished.extend(view::error(
                    &format!("unknown mode `{args}`"),
                    "modes: plan, ask, auto-edit, full-auto",
                )),
            }
            return;
        }
        let policy = self.agent.policy();
        let list = |rules: &[cuervo_domain::PermissionRule]| {
            if rules.is_empty() {
                "(none)".to_owned()
            } else {
                rules
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let paths = ConfigPaths::new(&self.project.root, self.env);
        self.finished.extend(view::note(&format!(
            "mode: {} (/permissions MODE switches: plan, ask, auto-edit, full-auto)\n\
             allow: {}\ndeny: {}\nproject rules live in {}",
            policy.mode,
            list(&policy.allow),
            list(&policy.deny),
            paths.project.display()
        )));
    }

    fn clear(&mut self) {
        match state::new_session(&self.db, self.project, &self.provider, &self.model) {
            Ok(id) => {
                let _ = self.screen.clear_screen();
                self.session_id = id.clone();
                self.session = Some(Session::new(id));
                self.context_used = None;
                self.last_output = None;
                self.finished.extend(view::note(&format!(
                    "New conversation (session {}). The previous one stays in `cuervo sessions list`.",
                    self.session_id
                )));
            }
            Err(error) => self.finished.extend(view::error(
                &format!("{error:#}"),
                "the conversation is unchanged",
            )),
        }
    }

    fn compact(&mut self, args: &str) {
        let Some(session) = self.session.take() else {
            return;
        };
        if session.messages.is_empty() {
            self.finished.extend(view::note("Nothing to compact yet."));
            self.session = Some(session);
            return;
        }
        let agent = self.agent.clone();
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let focus = args.to_owned();
        let handle = tokio::spawn(async move {
            let result = agent
                .summarise(&session.messages, Some(&focus), &token)
                .await;
            (session, Done::Compact { result })
        });
        self.task = Some(self.new_task(handle, cancel, "Compacting"));
    }

    fn model_picker(&mut self) {
        let mut items: Vec<(String, String, String)> = Vec::new();
        for (name, provider) in &self.config.providers {
            let Some(model) = &provider.model else {
                continue;
            };
            let ready = setup::api_key(self.config, name, self.env).is_some()
                || provider.api_key_env.is_none();
            let current = *name == self.provider && *model == self.model;
            let detail = match (current, ready) {
                (true, _) => "current".to_owned(),
                (false, true) => name.clone(),
                (false, false) => format!(
                    "{name} · needs {}",
                    provider.api_key_env.as_deref().unwrap_or("a key")
                ),
            };
            items.push((model.clone(), detail, format!("{name}/{model}")));
        }
        items.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        let current = format!("{}/{}", self.provider, self.model);
        let mut picker = Picker::new(
            "Switch model (type to filter, enter picks, esc cancels)",
            items,
        );
        picker.select_where(|value| *value == current);
        self.overlay = Overlay::Model(picker);
    }

    fn switch_model(&mut self, name: &str) {
        let mut config = self.config.clone();
        config.model = Some(name.to_owned());
        // `provider/model` in the config wins over --provider, so the flags can stay.
        let assembled = setup::assemble(
            &config,
            self.cli,
            self.project,
            self.approver.clone(),
            self.env,
            crate::clock::today(),
        );
        match assembled {
            Ok(assembled) => {
                let agent = assembled.agent.with_repository(self.repository.clone());
                agent.set_policy(self.agent.policy());
                self.window = agent
                    .provider()
                    .capabilities(&assembled.model)
                    .context_window;
                self.agent = Arc::new(agent);
                self.provider = assembled.provider;
                self.model = assembled.model;
                self.probe_window();
                self.finished.extend(view::note(&format!(
                    "Now using {}/{}; the conversation goes on with it.",
                    self.provider, self.model
                )));
            }
            Err(error) => self.finished.extend(view::error(
                &format!("cannot switch to {name}: {error:#}"),
                "still using the previous model",
            )),
        }
    }

    fn resume_picker(&mut self) {
        let project = self.project.root.display().to_string();
        let sessions = match self.db.sessions(Some(&project), 50) {
            Ok(sessions) => sessions,
            Err(error) => {
                return self.finished.extend(view::error(
                    &error.to_string(),
                    "try `cuervo sessions list`",
                ));
            }
        };
        let items: Vec<(String, String, String)> = sessions
            .into_iter()
            .filter(|s| s.id != self.session_id.0 && s.message_count > 0)
            .map(|s| {
                let title = s.title.clone().unwrap_or_else(|| "(untitled)".into());
                let detail = format!("{} · {} messages", s.updated_at, s.message_count);
                (title, detail, s.id)
            })
            .collect();
        if items.is_empty() {
            self.finished
                .extend(view::note("No earlier session in this project."));
            return;
        }
        self.overlay = Overlay::Resume(Picker::new(
            "Resume a session (type to filter, enter picks, esc cancels)",
            items,
        ));
    }

    fn resume(&mut self, id: &str) {
        let loaded = self
            .db
            .resolve_session(id)
            .map_err(anyhow::Error::from)
            .and_then(|id| state::load_session(&self.db, id, self.project));
        match loaded {
            Ok(run_session) => {
                let mut session = Session::new(run_session.id.clone());
                session.messages = run_session.messages;
                self.finished.extend(view::note(&format!(
                    "Resumed session {} ({} messages).",
                    session.id,
                    session.messages.len()
                )));
                self.replay_tail(&session.messages);
                self.session_id = session.id.clone();
                self.session = Some(session);
                self.context_used = None;
            }
            Err(error) => self.finished.extend(view::error(
                &format!("{error:#}"),
                "`cuervo sessions list` shows the sessions; the current one is unchanged",
            )),
        }
    }

    /// Shows the last exchange of a resumed conversation, so the user sees where it was.
    fn replay_tail(&mut self, messages: &[Message]) {
        let start = messages
            .iter()
            .rposition(|m| {
                m.role == cuervo_domain::Role::User && m.tool_results_iter().next().is_none()
            })
            .unwrap_or(0);
        for message in &messages[start..] {
            for block in &message.content {
                match block {
                    ContentBlock::Text { text } if message.role == cuervo_domain::Role::User => {
                        self.finished.extend(view::user_prompt(text));
                    }
                    ContentBlock::Text { text } => self
                        .finished
                        .extend(markdown::render(text, self.screen.width())),
                    ContentBlock::ToolUse(call) => self.finished.push(view::tool_call(call)),
                    _ => {}
                }
            }
        }
    }

    // ---- the agent's side ----

    fn on_approval(&mut self, ask: Ask) {
        let dialog = Dialog::new(ask);
        self.flush_markdown();
        self.finished.extend(dialog.preview());
        self.previewed.insert(dialog.request.call_id.clone());
        // A second request cannot arrive while one is open: the agent waits for the answer.
        self.overlay = Overlay::Approval(dialog);
    }

    fn decide(&mut self, mut dialog: Dialog, choice: Choice) {
        let approval = match choice {
            Choice::Once => Approval::AllowOnce,
            Choice::Session => Approval::AllowAlways {
                rule: dialog.rule.clone(),
            },
            Choice::Project => {
                let paths = ConfigPaths::new(&self.project.root, self.env);
                let path = paths.project.clone();
                // Judged on the file as it is on disk now, not as it was at start-up: a
                // pull or an edit since then must not be trusted along with the rule.
                let keep_trusted = paths
                    .trust_store()
                    .filter(|store| crate::trust::trusted_as_is(store, &paths));
                match approve::write_project_rule(&path, &dialog.rule) {
                    Ok(()) => {
                        self.finished.extend(view::note(&format!(
                            "Saved `{}` to {}.",
                            dialog.rule,
                            path.display()
                        )));
                        // The user wrote this rule into a file that asked for nothing
                        // else (or that they trusted as it was): trust it with the rule,
                        // so the next session applies it without asking.
                        if let Some(store) = keep_trusted
                            && let Err(error) =
                                store.trust(&self.project.root, &crate::clock::today())
                        {
                            tracing::warn!(%error, "could not record trust for the saved rule");
                        }
                    }
                    Err(error) => self.finished.extend(view::error(
                        &format!("{error:#}"),
                        "allowed for this session only",
                    )),
                }
                Approval::AllowAlways {
                    rule: dialog.rule.clone(),
                }
            }
            Choice::Deny => Approval::Deny,
            Choice::Feedback(text) => Approval::DenyWithFeedback {
                feedback: format!("The user said: {text}"),
            },
        };
        dialog.answer(approval);
    }

    fn on_agent(&mut self, event: AgentEvent) {
        self.audit.record(&self.session_id, &event);
        let Some(task) = &mut self.task else { return };
        match &event {
            AgentEvent::TextDelta { text } => {
                close_thinking(task, &mut self.finished);
                task.streamed += text.len();
                let lines = task.markdown.push(text);
                self.finished.extend(lines);
            }
            AgentEvent::ThinkingDelta { thinking } => {
                task.streamed += thinking.len();
                match &mut task.thinking {
                    Some((text, _)) => text.push_str(thinking),
                    None => task.thinking = Some((thinking.clone(), Instant::now())),
                }
            }
            AgentEvent::ToolCall { call } => {
                close_thinking(task, &mut self.finished);
                let lines = task.markdown.finish();
                self.finished.extend(lines);
                task.markdown = MarkdownStream::new(self.screen.width());
                self.finished.push(view::tool_call(call));
            }
            AgentEvent::FileModified {
                call_id,
                path,
                diff,
            } => {
                self.diffed.insert(call_id.clone());
                let mut lines = view::file_modified(path, diff);
                if self.previewed.remove(call_id) {
                    lines.truncate(1);
                }
                self.finished.extend(lines);
            }
            AgentEvent::ToolExecuted {
                call_id,
                tool,
                is_error,
                content,
                duration_ms,
            } => {
                if *is_error || !self.diffed.remove(call_id) {
                    self.finished
                        .extend(view::tool_result(tool, content, *is_error, *duration_ms));
                }
                self.previewed.remove(call_id);
                self.last_output = Some(content.clone());
            }
            AgentEvent::TurnCompleted { usage, .. } => {
                task.tokens += usage.output_tokens;
                task.streamed = 0;
                self.context_used = Some(usage.total());
                match self.agent.provider().cost(&self.model, usage) {
                    Some(cost) => self.cost.known += cost.micro_usd,
                    None => self.cost.unpriced_calls += 1,
                }
            }
            _ => {}
        }
    }

    fn flush_markdown(&mut self) {
        if let Some(task) = &mut self.task {
            close_thinking(task, &mut self.finished);
            let lines = task.markdown.finish();
            self.finished.extend(lines);
            task.markdown = MarkdownStream::new(self.screen.width());
        }
    }

    async fn on_done(
        &mut self,
        joined: std::result::Result<(Session, Done), tokio::task::JoinError>,
    ) {
        self.flush_markdown();
        let Some(task) = self.task.take() else { return };
        let (session, done) = match joined {
            Ok(pair) => pair,
            Err(error) => {
                // The task panicked: the session it held is lost from memory but stored.
                self.finished.extend(view::error(
                    &format!("internal error: {error}"),
                    "the conversation is saved; restart with `cuervo --continue`",
                ));
                self.quit = true;
                return;
            }
        };
        self.session = Some(session);
        match done {
            Done::Run(Ok(outcome)) => match outcome.cause {
                StopCause::Cancelled => self.finished.extend(view::error(
                    "Interrupted",
                    "tell Cuervo what to do instead, or send the prompt again",
                )),
                StopCause::MaxTurns => self.finished.extend(view::note(&format!(
                    "Stopped after {} model calls (max_turns); say \"go on\" to continue.",
                    outcome.turns
                ))),
                StopCause::TokenBudget => self
                    .finished
                    .extend(view::note("Stopped: the token budget is spent.")),
                StopCause::Completed => {}
            },
            Done::Run(Err(AgentError::Model(error))) => {
                let mut next = model_error_hint(&error, self.config)
                    .map(|hint| format!("{hint}; "))
                    .unwrap_or_default();
                next.push_str("your message is kept: send another prompt to retry");
                self.finished.extend(view::error(&error.to_string(), &next));
            }
            Done::Run(Err(other)) => self.finished.extend(view::error(
                &other.to_string(),
                "your message is kept: send another prompt to retry",
            )),
            Done::Compact { result } => self.finish_compact(result, task.started).await,
        }
        self.finished.push(Line::empty());
        if !self.quit
            && let Some(next) = self.queued.pop_front()
        {
            self.submit(next);
        }
    }

    async fn finish_compact(
        &mut self,
        result: std::result::Result<Compaction, ModelError>,
        started: Instant,
    ) {
        let compaction = match result {
            Ok(c) => c,
            Err(error) => {
                let mut next = model_error_hint(&error, self.config)
                    .map(|hint| format!("{hint}; "))
                    .unwrap_or_default();
                next.push_str("the conversation is unchanged");
                return self.finished.extend(view::error(&error.to_string(), &next));
            }
        };
        if let Some(cost) = self.agent.provider().cost(&self.model, &compaction.usage) {
            self.cost.known += cost.micro_usd;
        }
        let id = match state::new_session(&self.db, self.project, &self.provider, &self.model) {
            Ok(id) => id,
            Err(error) => {
                return self.finished.extend(view::error(
                    &format!("{error:#}"),
                    "the conversation is unchanged",
                ));
            }
        };
        let mut session = Session::new(id.clone());
        for (i, message) in cuervo_core::compacted_messages(&compaction.summary)
            .into_iter()
            .enumerate()
        {
            let record = MessageRecord {
                message: message.clone(),
                model: (i == 1).then(|| self.model.clone()),
                usage: (i == 1).then_some(compaction.usage),
                cost: None,
            };
            if let Err(error) = self.repository.append(&id, record).await {
                tracing::warn!(%error, "could not store the compacted session");
            }
            session.push(message);
        }
        session.usage = self.session.as_ref().map(|s| s.usage).unwrap_or_default();
        self.finished.extend(view::note(&format!(
            "Compacted {} messages into a summary in {:.1} s; new session {} continues from it \
             (the full one stays as {}).",
            compaction.replaced,
            started.elapsed().as_secs_f64(),
            id,
            self.session_id
        )));
        self.finished
            .extend(markdown::render(&compaction.summary, self.screen.width()));
        self.session_id = id;
        self.session = Some(session);
        self.context_used = None;
    }

    async fn shutdown(&mut self) {
        if let Some(task) = &self.task {
            task.cancel.cancel();
        }
        // An open permission prompt is answered "no" (dropping it does), or the turn
        // would wait for it forever.
        if matches!(self.overlay, Overlay::Approval(_)) {
            self.overlay = Overlay::None;
        }
        // What streamed so far stays on the screen, as after an interrupt.
        self.flush_markdown();
        if let Some(task) = self.task.take()
            && let Ok((session, _)) = task.handle.await
        {
            self.session = Some(session);
        }
        self.overlay = Overlay::None;
        let finished = std::mem::take(&mut self.finished);
        let _ = self.screen.draw(&finished, &[], None);
        let _ = self.screen.clear_live();
    }
}

fn close_thinking(task: &mut Task, finished: &mut Vec<Line>) {
    if let Some((text, since)) = task.thinking.take() {
        finished.push(view::thought(
            text.split_whitespace().count(),
            since.elapsed(),
        ));
    }
}
