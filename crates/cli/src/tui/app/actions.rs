//! The interactive session's prompts and commands: submitting a prompt, the built-in
//! slash commands, pickers, and what `/cost`, `/context` and `/permissions` show.

use super::*;

impl App<'_> {
    // ---- prompts and commands ----

    pub(super) fn submit(&mut self, text: String) {
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
    pub(super) fn prompt(&mut self, shown: String, prompt: String) {
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

    pub(super) fn start_run(&mut self, message: Message) {
        self.ops.submit(Op::UserInput { message });
        self.task = Some(self.new_task("Working"));
    }

    pub(super) fn new_task(&self, label: &'static str) -> Task {
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

    pub(super) fn builtin(&mut self, action: Builtin, args: &str, typed: &str) {
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

    pub(super) fn help(&mut self) {
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
    pub(super) fn describe(&mut self, what: Describe) {
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

    pub(super) fn described(&mut self, snapshot: &Snapshot) {
        match self.describing.pop_front() {
            Some(Describe::Cost) => self.show_cost(snapshot),
            Some(Describe::Context) => self.show_context(snapshot),
            Some(Describe::Permissions) => self.show_permissions(snapshot),
            None => {}
        }
    }

    pub(super) fn show_cost(&mut self, snapshot: &Snapshot) {
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

    pub(super) fn show_context(&mut self, snapshot: &Snapshot) {
        let breakdown = context::breakdown(
            &snapshot.model,
            snapshot.system_prompt.as_deref(),
            &snapshot.tools,
            &snapshot.messages,
        );
        self.finished
            .extend(context::render(&breakdown, self.window));
    }

    pub(super) fn permissions(&mut self, args: &str) {
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

    pub(super) fn show_permissions(&mut self, snapshot: &Snapshot) {
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

    pub(super) fn clear(&mut self) {
        self.ops.submit(Op::Clear);
    }

    pub(super) fn compact(&mut self, args: &str) {
        let focus = (!args.trim().is_empty()).then(|| args.trim().to_owned());
        self.ops.submit(Op::Compact { focus });
        self.task = Some(self.new_task("Compacting"));
    }

    pub(super) fn model_picker(&mut self) {
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

    pub(super) fn switch_model(&mut self, name: &str) {
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
    pub(super) fn list_sessions(&self) {
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

    pub(super) fn resume_picker(&mut self, sessions: Vec<SessionSummary>) {
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

    pub(super) fn resume(&mut self, id: &str) {
        self.ops.submit(Op::Resume {
            session: id.to_owned(),
        });
    }

    /// Shows the last exchange of a resumed conversation, so the user sees where it was.
    pub(super) fn replay_tail(&mut self, messages: &[Message]) {
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
}
