//! The interactive session: one loop that reacts to keys, the conversation's events and
//! signals, and draws a frame after each burst of them.
//!
//! The conversation (`cuervo_core::Conversation`) runs the turns; this loop only renders
//! what it reports and submits what the user asks, so keys are read while the model
//! streams or a tool runs (type-ahead is never lost, Esc interrupts).

use std::collections::{HashSet, VecDeque};
use std::io::Stdout;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use cuervo_core::{AgentError, Approvals, ConversationEvent, Op, OpSender, RunOutcome, Snapshot};
use cuervo_domain::{
    AgentEvent, Approval, ApprovalRequest, ContentBlock, Message, ModelError, PermissionMode,
    SessionId, SessionRepository, SessionSummary, Spend, StopCause,
};
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

use super::approve::{self, Ask, Choice, Dialog};
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
use crate::config::{Config, ConfigPaths};
use crate::conversation::Opened;
use crate::headless::model_error_hint;
use crate::options::RunOptions;
use crate::render::{plural, usage_line};
use crate::setup::{self, Env, Project, state};
use crate::signals::{Signal, Signals};

/// The shortest time between two frames while output streams (about 60 a second).
const FRAME: Duration = Duration::from_millis(16);
/// How long "press Ctrl-C again to exit" stays armed.
const EXIT_WINDOW: Duration = Duration::from_secs(2);
/// Rows of the streaming answer's unfinished part shown in the live area.
const PENDING_ROWS: usize = 12;

/// The turn or compaction running now, as the UI shows it.
struct Task {
    started: Instant,
    /// Time spent waiting for the user's answer to a permission question, which the
    /// spinner does not count as working.
    waited: Duration,
    waiting_since: Option<Instant>,
    label: &'static str,
    markdown: MarkdownStream,
    thinking: Option<(String, Instant)>,
    /// Characters streamed, for the token estimate in the spinner.
    streamed: usize,
    /// Output tokens reported by finished model calls of this task.
    tokens: u64,
}

impl Task {
    /// How long the task has worked: its age less the time it waited for the user.
    fn working(&self, now: Instant) -> Duration {
        let waiting = self
            .waiting_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        now.saturating_duration_since(self.started)
            .saturating_sub(self.waited + waiting)
    }

    fn wait(&mut self, now: Instant) {
        self.waiting_since.get_or_insert(now);
    }

    fn resume(&mut self, now: Instant) {
        if let Some(since) = self.waiting_since.take() {
            self.waited += now.saturating_duration_since(since);
        }
    }
}

/// What takes the place of the input box.
enum Overlay {
    None,
    /// Boxed: a question with its preview is much larger than the other overlays.
    Approval(Box<Dialog>),
    Model(Picker<String>),
    Resume(Picker<String>),
}

/// What asked for the conversation's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Describe {
    Cost,
    Context,
    Permissions,
}

struct App<'a> {
    config: &'a Config,
    project: &'a Project,
    env: &'a Env,
    screen: Screen<Stdout>,
    input: PromptInput,
    registry: Registry,
    ops: OpSender,
    repository: Arc<dyn SessionRepository>,
    provider: String,
    model: String,
    mode: PermissionMode,
    session_id: SessionId,
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
    /// What the conversation has used and cost, call by call.
    spend: Spend,
    /// Commands waiting for the conversation's snapshot.
    describing: VecDeque<Describe>,
    exit_armed: Option<Instant>,
    /// A retry in progress (`↻ anthropic: overloaded; retrying in 2 s`), shown in the
    /// status line until the answer streams again.
    retrying: Option<String>,
    /// Questions waiting behind the one on screen (sub-agents asking at the same time).
    queued_questions: std::collections::VecDeque<Dialog>,
    /// Sub-agents at work and the model's task list.
    team: super::team::Team,
    quit: bool,
    /// Images from `--image`, sent with the first prompt.
    images: Vec<ContentBlock>,
    /// Sessions listed in the background for the resume picker.
    sessions_tx: mpsc::UnboundedSender<Vec<SessionSummary>>,
}

pub async fn run(
    options: &RunOptions,
    config: &Config,
    project: &Project,
    env: &Arc<Env>,
) -> Result<ExitCode> {
    // Caught from the start, so a signal never leaves the terminal in raw mode. Raw mode
    // turns Ctrl-C into a key; these are the signals sent from outside.
    let mut signals = Signals::install()?;
    // A bad image path fails before the session starts, as in headless runs.
    let env_fn: &Env = &**env;
    let images = options
        .images
        .iter()
        .map(|path| crate::attach::image_block(path))
        .collect::<Result<Vec<_>>>()?;
    let Opened {
        mut conversation,
        started,
        audit,
        repository,
    } = crate::conversation::open(options, config, project, env, Approvals::Ask).await?;
    let project_commands = project.root.join(".cuervo").join("commands");
    let user_commands = state::config_dir(env_fn).map(|d| d.join("commands"));
    let (registry, notes) = Registry::load(&project_commands, user_commands.as_deref());
    let history = state_dir(env_fn).map(|d| d.join("history.jsonl"));
    let mut input = PromptInput::new(project.root.clone(), history);
    input.set_commands(registry.completions());

    let log_path = state_dir(env_fn).map(|d| d.join("cuervo.log"));
    crate::log::redirect(Some(log_file(log_path.as_deref())));
    let guard = TerminalGuard::enter()?;
    // A pseudo-terminal nobody sized reports 0×0; draw for a classic 80×24 then.
    let (width, height) = crossterm::terminal::size()
        .ok()
        .filter(|(w, h)| *w > 0 && *h > 0)
        .unwrap_or((80, 24));
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let (sessions_tx, mut sessions_rx) = mpsc::unbounded_channel();
    let mut app = App {
        config,
        project,
        env: env_fn,
        screen: Screen::new(std::io::stdout(), width, height, color),
        input,
        registry,
        ops: conversation.sender(),
        repository,
        provider: started.provider.clone(),
        model: started.model.clone(),
        mode: config.permissions.mode,
        session_id: started.session.clone(),
        task: None,
        queued: VecDeque::new(),
        overlay: Overlay::None,
        finished: Vec::new(),
        diffed: HashSet::new(),
        previewed: HashSet::new(),
        last_output: None,
        context_used: None,
        window: started.context_window,
        spend: Spend::default(),
        describing: VecDeque::new(),
        exit_armed: None,
        retrying: None,
        queued_questions: std::collections::VecDeque::new(),
        team: super::team::Team::default(),
        quit: false,
        images,
        sessions_tx,
    };
    app.welcome(&started, &notes);
    app.draw();

    let mut ended_by: Option<Signal> = None;
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut last_frame = Instant::now();
    let mut deadline: Option<tokio::time::Instant> = None;
    while !app.quit {
        let running = app.task.is_some();
        // Biased: the conversation's events first, in the order they happened. Keys are
        // not starved: each pass drains every event already waiting.
        tokio::select! {
            biased;
            event = conversation.next_event() => match event {
                Some(event) => {
                    app.on_event(event);
                    while let Some(event) = conversation.try_next_event() {
                        app.on_event(event);
                    }
                }
                // The conversation ended on its own (it never does before a shutdown).
                None => app.quit = true,
            },
            Some(sessions) = sessions_rx.recv() => app.resume_picker(sessions),
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
    // An open question is answered "no" by dropping its dialog, so the turn can end.
    app.overlay = Overlay::None;
    // What streamed so far stays on the screen, as after an interrupt.
    app.flush_markdown();
    let finished = std::mem::take(&mut app.finished);
    let _ = app.screen.draw(&finished, &[], None);
    let _ = app.screen.clear_live();
    drop(guard);
    crate::log::redirect(None);
    let closed = crate::conversation::close(conversation, audit).await?;
    if let Some((session, spend)) = closed {
        crate::render::farewell(&spend.usage, spend.exact(), &session);
    }
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
    fn welcome(&mut self, started: &cuervo_core::Started, notes: &[String]) {
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
        for note in &started.notes {
            self.finished.extend(view::note(note));
        }
        if started.resumed {
            self.finished.extend(view::note(&format!(
                "Resumed session {} ({}).",
                self.session_id,
                plural(started.messages.len() as u64, "message")
            )));
        }
        for note in notes {
            self.finished.extend(view::error(note, ""));
        }
        self.finished.push(Line::empty());
    }

    /// The `@` menu waits for the file list.
    fn indexing(&self) -> bool {
        self.input.menu().is_some_and(|m| m.loading)
    }

    fn mode(&self) -> PermissionMode {
        self.mode
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
            rows.extend(self.team.live());
            rows.push(view::spinner(label, task.working(Instant::now()), tokens));
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
        let hint = self
            .exit_armed
            .map(|_| "press ctrl+c again to exit")
            .or(self.retrying.as_deref());
        let mode = self.mode();
        rows.push(view::status_line(
            &Status {
                model: &self.model,
                mode: mode.as_str(),
                context: self.context_used.map(|used| (used, self.window)),
                cost: self.spend.exact(),
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
                    // Dropped, the waiting questions answer "no" too.
                    self.queued_questions.clear();
                    self.interrupt();
                    return;
                }
                match dialog.handle_key(key) {
                    Some(choice) => {
                        self.decide(*dialog, choice);
                        self.next_question();
                    }
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
            self.queued_questions.clear();
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
        if self.task.is_some() {
            self.ops.submit(Op::Interrupt);
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
        self.ops.submit(Op::UserInput { message });
        self.task = Some(self.new_task("Working"));
    }

    fn new_task(&self, label: &'static str) -> Task {
        Task {
            started: Instant::now(),
            waited: Duration::ZERO,
            waiting_since: None,
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
            Builtin::Cost => self.describe(Describe::Cost),
            Builtin::Context => self.describe(Describe::Context),
            Builtin::Permissions => self.permissions(args),
            Builtin::Clear => self.clear(),
            Builtin::Compact => self.compact(args),
            Builtin::Model if !args.is_empty() => self.switch_model(args),
            Builtin::Model => self.model_picker(),
            Builtin::Resume if !args.is_empty() => self.resume(args),
            Builtin::Resume => self.list_sessions(),
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

    /// Asks the conversation for its snapshot; shown when it arrives.
    fn describe(&mut self, what: Describe) {
        if self.task.is_some() {
            let when = match what {
                Describe::Cost => {
                    "The cost is shown between turns; the status line has it meanwhile."
                }
                Describe::Context | Describe::Permissions => "This is shown between turns.",
            };
            return self.finished.extend(view::note(when));
        }
        self.describing.push_back(what);
        self.ops.submit(Op::Describe);
    }

    fn described(&mut self, snapshot: &Snapshot) {
        match self.describing.pop_front() {
            Some(Describe::Cost) => self.show_cost(snapshot),
            Some(Describe::Context) => self.show_context(snapshot),
            Some(Describe::Permissions) => self.show_permissions(snapshot),
            None => {}
        }
    }

    fn show_cost(&mut self, snapshot: &Snapshot) {
        let spend = &snapshot.spend;
        let mut lines = view::note(&usage_line(&spend.usage, spend.exact()));
        if spend.unpriced_calls > 0 {
            lines.extend(view::note(&format!(
                "{} had no known price; the priced ones cost ${:.4}.",
                plural(spend.unpriced_calls, "model call"),
                spend.known.usd()
            )));
        }
        lines.extend(view::note(&format!(
            "session {} · {}",
            snapshot.session,
            plural(snapshot.messages.len() as u64, "message")
        )));
        self.finished.extend(lines);
    }

    fn show_context(&mut self, snapshot: &Snapshot) {
        let breakdown = context::breakdown(
            &snapshot.model,
            snapshot.system_prompt.as_deref(),
            &snapshot.tools,
            &snapshot.messages,
        );
        self.finished
            .extend(context::render(&breakdown, self.window));
    }

    fn permissions(&mut self, args: &str) {
        if args.is_empty() {
            return self.describe(Describe::Permissions);
        }
        match args.parse::<PermissionMode>() {
            // Confirmed when the conversation reports the change.
            Ok(mode) => {
                self.ops.submit(Op::SetPermissionMode { mode });
            }
            Err(_) => self.finished.extend(view::error(
                &format!("unknown mode `{args}`"),
                "modes: plan, ask, auto-edit, full-auto",
            )),
        }
    }

    fn show_permissions(&mut self, snapshot: &Snapshot) {
        let policy = &snapshot.policy;
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
        self.ops.submit(Op::Clear);
    }

    fn compact(&mut self, args: &str) {
        let focus = (!args.trim().is_empty()).then(|| args.trim().to_owned());
        self.ops.submit(Op::Compact { focus });
        self.task = Some(self.new_task("Compacting"));
    }

    fn model_picker(&mut self) {
        let mut items: Vec<(String, String, String)> = Vec::new();
        let installed = installed_local_models();
        for (name, provider) in &self.config.providers {
            // A local provider offers the models installed on this machine, never a
            // configured default that is not there (picking it would fail the next prompt).
            if provider.kind == crate::config::ProviderKind::Local {
                for model in &installed {
                    let current = *name == self.provider && *model == self.model;
                    let detail = if current {
                        "current".to_owned()
                    } else {
                        format!("{name} · on this machine")
                    };
                    items.push((model.clone(), detail, format!("{name}/{model}")));
                }
                continue;
            }
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
        if self.task.is_some() {
            return self.finished.extend(view::error(
                &format!("/model {name} waits for the running turn"),
                "press esc to interrupt it, or switch when it finishes",
            ));
        }
        self.ops.submit(Op::SwitchModel {
            model: name.to_owned(),
        });
    }

    /// Lists this project's sessions in the background; the picker opens when they
    /// arrive.
    fn list_sessions(&self) {
        let repository = self.repository.clone();
        let tx = self.sessions_tx.clone();
        tokio::spawn(async move {
            match repository.list(50).await {
                Ok(sessions) => {
                    let _ = tx.send(sessions);
                }
                Err(error) => tracing::warn!(%error, "cannot list the sessions"),
            }
        });
    }

    fn resume_picker(&mut self, sessions: Vec<SessionSummary>) {
        let items: Vec<(String, String, String)> = sessions
            .into_iter()
            .filter(|s| s.id != self.session_id && s.message_count > 0)
            .map(|s| {
                let title = s.title.clone().unwrap_or_else(|| "(untitled)".into());
                let detail = format!("{} · {}", s.updated_at, plural(s.message_count, "message"));
                (title, detail, s.id.0)
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
        self.ops.submit(Op::Resume {
            session: id.to_owned(),
        });
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

    fn on_approval(&mut self, id: u64, request: ApprovalRequest) {
        // The dialog answers through a one-shot; its answer (or "no" when it is dropped)
        // goes back to the conversation as an operation.
        let (reply, answer) = oneshot::channel();
        let ops = self.ops.clone();
        tokio::spawn(async move {
            let approval = answer.await.unwrap_or(Approval::Deny);
            ops.submit(Op::Approval { id, approval });
        });
        let dialog = Dialog::new(Ask { request, reply });
        // Sub-agents working at once can ask at once: one question on screen, the others
        // wait their turn.
        if matches!(self.overlay, Overlay::Approval(_)) {
            self.queued_questions.push_back(dialog);
        } else {
            self.show_question(dialog);
        }
    }

    fn show_question(&mut self, dialog: Dialog) {
        self.flush_markdown();
        self.finished.extend(dialog.preview());
        self.previewed.insert(dialog.request.call_id.clone());
        // The spinner stops counting while the question waits for the user.
        if let Some(task) = &mut self.task {
            task.wait(Instant::now());
        }
        self.overlay = Overlay::Approval(Box::new(dialog));
    }

    /// The next waiting question, once the one on screen is answered.
    fn next_question(&mut self) {
        if matches!(self.overlay, Overlay::None)
            && let Some(dialog) = self.queued_questions.pop_front()
        {
            self.show_question(dialog);
        }
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
                    .filter(|store| crate::trust::trusted_as_is(store, &paths, self.env));
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
        if let Some(task) = &mut self.task {
            task.resume(Instant::now());
        }
    }

    fn on_agent(&mut self, event: AgentEvent) {
        let Some(task) = &mut self.task else { return };
        if !matches!(
            event,
            AgentEvent::ModelRetry { .. } | AgentEvent::ModelWaiting { .. }
        ) {
            self.retrying = None;
        }
        let team_lines = self.team.on_event(&event);
        if !team_lines.is_empty() {
            self.finished.extend(team_lines);
        }
        match &event {
            AgentEvent::PlanApproved { mode, .. } => {
                self.mode = *mode;
                self.finished.extend(view::note(&format!(
                    "Plan approved: the work goes on in {mode} mode."
                )));
            }
            AgentEvent::ModelRetry { .. } | AgentEvent::ModelWaiting { .. } => {
                self.retrying = crate::render::resilience_notice(&event);
            }
            AgentEvent::ModelFallback { .. } => {
                close_thinking(task, &mut self.finished);
                let lines = task.markdown.finish();
                self.finished.extend(lines);
                task.markdown = MarkdownStream::new(self.screen.width());
                for line in crate::render::resilience_notice(&event)
                    .unwrap_or_default()
                    .lines()
                {
                    self.finished.extend(view::note(line.trim_start()));
                }
            }
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

    /// One event of the conversation.
    fn on_event(&mut self, event: ConversationEvent) {
        match event {
            ConversationEvent::Agent(event) => self.on_agent(event),
            ConversationEvent::ApprovalRequested { id, request } => self.on_approval(id, request),
            ConversationEvent::Spent { spend } => self.spend = spend,
            ConversationEvent::TurnEnded { result } => self.turn_ended(result),
            ConversationEvent::Compacted {
                replaced,
                previous,
                session,
                automatic: true,
                ..
            } => {
                // The prompt that waited is about to run: say so and keep the task going.
                self.session_id = session.clone();
                self.context_used = None;
                self.finished.extend(view::note(&format!(
                    "The context was nearly full: compacted {} into a summary, keeping the \
                     latest turn (new session {session}; the full one stays as {previous}).",
                    plural(replaced as u64, "message")
                )));
            }
            ConversationEvent::Compacted {
                summary,
                replaced,
                previous,
                session,
                automatic: false,
            } => self.compacted(&summary, replaced, &previous, session),
            ConversationEvent::CompactFailed { error } => {
                self.end_task();
                self.model_error(&error, "the conversation is unchanged");
                self.next_queued();
            }
            ConversationEvent::Cleared { session } => {
                let _ = self.screen.clear_screen();
                self.session_id = session;
                self.context_used = None;
                self.last_output = None;
                self.finished.extend(view::note(&format!(
                    "New conversation (session {}). The previous one stays in `cuervo sessions list`.",
                    self.session_id
                )));
            }
            ConversationEvent::Resumed {
                session,
                messages,
                notes,
            } => {
                for note in &notes {
                    self.finished.extend(view::note(note));
                }
                self.finished.extend(view::note(&format!(
                    "Resumed session {session} ({}).",
                    plural(messages.len() as u64, "message")
                )));
                self.replay_tail(&messages);
                self.session_id = session;
                self.context_used = None;
            }
            ConversationEvent::ModelSwitched {
                provider,
                model,
                context_window,
            } => {
                self.provider = provider;
                self.model = model;
                self.window = context_window;
                self.finished.extend(view::note(&format!(
                    "Now using {}/{}; the conversation goes on with it.",
                    self.provider, self.model
                )));
            }
            ConversationEvent::ContextWindow { model, window } => {
                if model == self.model {
                    self.window = window;
                }
            }
            ConversationEvent::PermissionModeChanged { mode } => {
                self.mode = mode;
                self.finished
                    .extend(view::note(&format!("Permission mode is now {mode}.")));
            }
            ConversationEvent::Described(snapshot) => self.described(&snapshot),
            // A dialog answered after an interrupt already withdrew its question.
            ConversationEvent::Rejected { op: "approval", .. } => {}
            ConversationEvent::Rejected { op, reason } => {
                if matches!(op, "prompt" | "compact") {
                    self.end_task();
                }
                if op == "describe" {
                    self.describing.pop_front();
                }
                let next = match op {
                    "model" => "still using the previous model",
                    "resume" => "`cuervo sessions list` shows the sessions",
                    _ => "the conversation is unchanged",
                };
                self.finished.extend(view::error(&reason, next));
            }
            ConversationEvent::Closed { .. } => self.quit = true,
        }
    }

    /// The running task is over: what streamed stays on the screen.
    fn end_task(&mut self) -> Option<Task> {
        self.retrying = None;
        self.flush_markdown();
        self.task.take()
    }

    fn model_error(&mut self, error: &ModelError, then: &str) {
        let mut next = model_error_hint(error, self.config)
            .map(|hint| format!("{hint}; "))
            .unwrap_or_default();
        // An error that already says what is kept and what to do needs no second telling.
        if !error.message.contains(" is kept") {
            next.push_str(then);
        }
        let next = next.trim_end_matches("; ").to_owned();
        self.finished.extend(view::error(&error.to_string(), &next));
    }

    fn turn_ended(&mut self, result: std::result::Result<RunOutcome, AgentError>) {
        self.end_task();
        let team = self.team.end_turn();
        self.finished.extend(team);
        match result {
            Ok(outcome) => match outcome.cause {
                StopCause::Cancelled => self.finished.extend(view::error(
                    "Interrupted",
                    "tell Cuervo what to do instead, or send the prompt again",
                )),
                StopCause::MaxTurns => self.finished.extend(view::note(&format!(
                    "Stopped after {} (max_turns); say \"go on\" to continue.",
                    plural(outcome.turns, "model call")
                ))),
                StopCause::TokenBudget => self
                    .finished
                    .extend(view::note("Stopped: the token budget is spent.")),
                StopCause::Completed => {}
            },
            Err(AgentError::Model(error)) => {
                self.model_error(&error, "your message is kept: send another prompt to retry");
            }
            Err(other) => self.finished.extend(view::error(
                &other.to_string(),
                "your message is kept: send another prompt to retry",
            )),
        }
        self.next_queued();
    }

    /// Sends the next prompt typed while the task ran.
    fn next_queued(&mut self) {
        self.finished.push(Line::empty());
        if !self.quit
            && let Some(next) = self.queued.pop_front()
        {
            self.submit(next);
        }
    }

    fn compacted(
        &mut self,
        summary: &str,
        replaced: usize,
        previous: &SessionId,
        session: SessionId,
    ) {
        let elapsed = self
            .end_task()
            .map_or(Duration::ZERO, |task| task.working(Instant::now()));
        self.finished.extend(view::note(&format!(
            "Compacted {} into a summary in {:.1} s; new session {} continues from it \
             (the full one stays as {}).",
            plural(replaced as u64, "message"),
            elapsed.as_secs_f64(),
            session,
            previous
        )));
        self.finished
            .extend(markdown::render(summary, self.screen.width()));
        self.session_id = session;
        self.context_used = None;
        self.next_queued();
    }
}

/// The chat models installed on this machine (`cuervo models list`).
fn installed_local_models() -> Vec<String> {
    cuervo_local::ModelStore::open_default()
        .and_then(|store| store.list())
        .unwrap_or_default()
        .into_iter()
        .filter(|entry| entry.kind == cuervo_local::ModelKind::Chat)
        .map(|entry| entry.name)
        .collect()
}

fn close_thinking(task: &mut Task, finished: &mut Vec<Line>) {
    if let Some((text, since)) = task.thinking.take() {
        finished.push(view::thought(
            text.split_whitespace().count(),
            since.elapsed(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11: the spinner's timer ran on while a permission question waited.
    #[test]
    fn spinner_timer_stops_while_an_approval_waits() {
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut task = Task {
            started: start,
            waited: Duration::ZERO,
            waiting_since: None,
            label: "Working",
            markdown: MarkdownStream::new(80),
            thinking: None,
            streamed: 0,
            tokens: 0,
        };
        assert_eq!(task.working(at(2)), Duration::from_secs(2));
        task.wait(at(2));
        assert_eq!(
            task.working(at(30)),
            Duration::from_secs(2),
            "frozen while asked"
        );
        task.resume(at(30));
        assert_eq!(task.working(at(33)), Duration::from_secs(5));
    }
}
