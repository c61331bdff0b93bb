//! The interactive session's agent side: permission questions (queued when sub-agents
//! ask at once), the conversation's events, the end of a turn.

use super::*;

impl App<'_> {
    // ---- the agent's side ----

    pub(super) fn on_approval(&mut self, id: u64, request: ApprovalRequest) {
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

    pub(super) fn show_question(&mut self, dialog: Dialog) {
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
    pub(super) fn next_question(&mut self) {
        if matches!(self.overlay, Overlay::None)
            && let Some(dialog) = self.queued_questions.pop_front()
        {
            self.show_question(dialog);
        }
    }

    pub(super) fn decide(&mut self, mut dialog: Dialog, choice: Choice) {
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

    pub(super) fn on_agent(&mut self, event: AgentEvent) {
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

    pub(super) fn flush_markdown(&mut self) {
        if let Some(task) = &mut self.task {
            close_thinking(task, &mut self.finished);
            let lines = task.markdown.finish();
            self.finished.extend(lines);
            task.markdown = MarkdownStream::new(self.screen.width());
        }
    }

    /// One event of the conversation.
    pub(super) fn on_event(&mut self, event: ConversationEvent) {
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
    pub(super) fn end_task(&mut self) -> Option<Task> {
        self.retrying = None;
        self.flush_markdown();
        self.task.take()
    }

    pub(super) fn model_error(&mut self, error: &ModelError, then: &str) {
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

    pub(super) fn turn_ended(&mut self, result: std::result::Result<RunOutcome, AgentError>) {
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
    pub(super) fn next_queued(&mut self) {
        self.finished.push(Line::empty());
        if !self.quit
            && let Some(next) = self.queued.pop_front()
        {
            self.submit(next);
        }
    }

    pub(super) fn compacted(
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
