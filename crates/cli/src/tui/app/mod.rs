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

mod actions;
mod agent_side;

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
