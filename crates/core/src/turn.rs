//! One model call of an agent, made resilient: routed, guarded by the circuit breakers,
//! retried under the one retry policy, and moved along the fallback chain — while the
//! answer streams out as events and is assembled into content blocks.
//!
//! What the user has seen is never taken back: when an answer breaks after some of its
//! text was shown, the next attempt (on the same model or a fallback) is asked to continue
//! that text, and its words are appended to it. Thinking and tool calls of a broken
//! attempt are dropped (no tool runs from an incomplete answer). Tokens a broken or
//! interrupted attempt used are reported (`CallUnfinished`) so they count in the spend.

use std::sync::{Mutex, PoisonError};

use cuervo_domain::resilience::{BreakerState, GiveUp, human_duration};
use cuervo_domain::{
    AgentEvent, ContentBlock, Cost, Message, ModelChunk, ModelError, ModelErrorKind, ModelRequest,
    ResolvedModel, Role as MessageRole, StopReason, Usage,
};
use futures::StreamExt;
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::agent::EventSink;
use crate::resilience::{Resilience, Role, label, weaker_note};

/// What the next attempt is told when an answer broke after some of its text was shown.
pub(crate) const CONTINUE_NOTE: &str = "[Your previous answer was interrupted by a connection \
problem right after the text above, which the user has already seen. Continue it from exactly \
where it stopped, without repeating any of it.]";

/// How long a call may stay silent before the user is told it is still being waited for.
const SILENCE_NOTICE: std::time::Duration = std::time::Duration::from_secs(15);

/// What one model call produced.
pub(crate) struct Turn {
    pub blocks: Vec<ContentBlock>,
    /// The usage and price of the attempt that completed (or was interrupted).
    pub usage: Usage,
    pub cost: Option<Cost>,
    /// Usage of attempts that broke before this one (already reported as
    /// `CallUnfinished`).
    pub unfinished: Usage,
    pub stop: Option<StopReason>,
    pub cancelled: bool,
    /// The model that answered (`None` before any attempt).
    pub model: Option<String>,
}

/// Who is calling, with what, and where events go.
pub(crate) struct Caller<'a> {
    /// The conversation's model.
    pub primary: &'a ResolvedModel,
    pub role: Role,
    pub resilience: &'a Resilience,
    pub events: &'a dyn EventSink,
    pub cancel: &'a CancellationToken,
    /// The `turn` number of `ModelInvoked` events.
    pub turn_number: u32,
    /// The model that answered the agent's previous call, when it was not the preferred
    /// one: a switch is announced once, and so is the return.
    pub answering: &'a Mutex<Option<String>>,
}

/// How one model's attempts ended.
enum Attempts {
    /// The answer is complete (or the user interrupted it).
    Done,
    /// Waiting or switching will not help: report it (a refused key, a bad request).
    Fatal(ModelError),
    /// This model cannot answer now; the next one may.
    GiveUp { error: ModelError, why: String },
}

impl Caller<'_> {
    /// Sends `request` (whose `model` is replaced by each candidate's) and returns the
    /// assembled answer, or the error that ended every route.
    pub(crate) async fn call(&self, request: ModelRequest) -> Result<Turn, ModelError> {
        let route = self
            .resilience
            .router
            .route(self.role, self.primary, &request);
        let preferred = label(&route.candidates[0]);
        let mut turn = Turn {
            blocks: Vec::new(),
            usage: Usage::default(),
            cost: None,
            unfinished: Usage::default(),
            stop: None,
            cancelled: false,
            model: None,
        };
        let mut failures: Vec<String> = Vec::new();
        let mut last_error = None;
        let mut switch_reason: Option<String> = None;
        for (index, candidate) in route.candidates.iter().enumerate() {
            if index > 0 {
                let from = &route.candidates[index - 1];
                self.announce_switch(from, candidate, switch_reason.take().unwrap_or_default());
            }
            match self.attempts(candidate, &request, &mut turn).await {
                Attempts::Done => {
                    self.settle(&preferred, candidate, index);
                    return Ok(turn);
                }
                Attempts::Fatal(error) => return Err(error),
                Attempts::GiveUp { error, why } => {
                    failures.push(format!("{}: {why}", label(candidate)));
                    switch_reason = Some(why);
                    last_error = Some(error);
                }
            }
        }
        let last = last_error.unwrap_or_else(|| {
            ModelError::new(
                &self.primary.provider_name,
                ModelErrorKind::Network,
                "no model could be tried",
            )
        });
        Err(degraded(last, &failures, turn.has_text()))
    }

    /// Tries `candidate` until it answers, the retry policy gives up, or its breaker opens.
    async fn attempts(
        &self,
        candidate: &ResolvedModel,
        request: &ModelRequest,
        turn: &mut Turn,
    ) -> Attempts {
        let name = candidate.provider_name.as_str();
        let breakers = &self.resilience.breakers;
        let policy = self.resilience.retry_for(name);
        let started = tokio::time::Instant::now();
        let mut retry = 0;
        loop {
            // The guard gives a half-open trial slot back if this future is dropped
            // (cancellation is by drop).
            let admitted = match breakers.begin(name) {
                Ok(admitted) => admitted,
                Err(retry_in) => {
                    let error = ModelError::new(
                        name,
                        ModelErrorKind::Overloaded {
                            retry_after_ms: u64::try_from(retry_in.as_millis()).ok(),
                        },
                        format!(
                            "{name} failed repeatedly and is paused (next try in {})",
                            human_duration(retry_in)
                        ),
                    );
                    let why = format!(
                        "failing repeatedly; paused for {} (circuit open)",
                        human_duration(retry_in)
                    );
                    return Attempts::GiveUp { error, why };
                }
            };
            self.events.emit(AgentEvent::ModelInvoked {
                turn: self.turn_number,
                provider: name.to_owned(),
                model: candidate.model.clone(),
            });
            let error = match self.stream(candidate, request, turn).await {
                Ok(()) => {
                    if !turn.cancelled {
                        admitted.success();
                    }
                    return Attempts::Done;
                }
                Err(error) => error,
            };
            admitted.failure(&error.kind);
            if matches!(
                error.kind,
                ModelErrorKind::Auth
                    | ModelErrorKind::InvalidRequest
                    | ModelErrorKind::ContextWindowExceeded
                    | ModelErrorKind::Cancelled
            ) {
                return Attempts::Fatal(error);
            }
            let jitter = rand::rng().random::<f64>();
            let delay = match policy.delay_for(retry, &error, started.elapsed(), jitter) {
                Ok(delay) => delay,
                Err(give_up) => {
                    let why = match give_up {
                        GiveUp::WaitTooLong(wait) => format!(
                            "{}; it asks to wait {}",
                            error.summary(),
                            human_duration(wait)
                        ),
                        GiveUp::RetriesUsed if retry > 0 => {
                            format!("{} after {} tries", error.summary(), retry + 1)
                        }
                        GiveUp::Deadline => {
                            format!("{} (no answer within the retry deadline)", error.summary())
                        }
                        _ => error.summary().to_owned(),
                    };
                    return Attempts::GiveUp { error, why };
                }
            };
            // A breaker that opened on this failure will not admit the retry: move on now
            // instead of sleeping first.
            if let BreakerState::Open { retry_in } = breakers.state(name)
                && retry_in > delay
            {
                let why = format!(
                    "{} ({} failures in a row; paused for {})",
                    error.summary(),
                    retry + 1,
                    human_duration(retry_in)
                );
                return Attempts::GiveUp { error, why };
            }
            retry += 1;
            self.events.emit(AgentEvent::ModelRetry {
                provider: name.to_owned(),
                model: candidate.model.clone(),
                attempt: retry,
                max_retries: policy.max_retries,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                reason: error.summary().to_owned(),
            });
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => {
                    turn.cancelled = true;
                    return Attempts::Done;
                }
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One attempt: streams `candidate`'s answer into `turn`. `Ok` when the answer is
    /// complete or the user interrupted it; on an error, what the attempt added beyond
    /// shown text is dropped and its usage reported.
    async fn stream(
        &self,
        candidate: &ResolvedModel,
        request: &ModelRequest,
        turn: &mut Turn,
    ) -> Result<(), ModelError> {
        let mut request = request.clone();
        request.model.clone_from(&candidate.model);
        request.thinking_budget = candidate.thinking_budget;
        let shown = turn.text();
        if !shown.is_empty() {
            request.messages.push(Message {
                role: MessageRole::Assistant,
                content: vec![ContentBlock::Text {
                    text: shown.clone(),
                }],
            });
            request.messages.push(Message::user(CONTINUE_NOTE));
        }
        let mut stream = candidate.provider.invoke(request);
        let mut usage = Usage::default();
        let price = |usage: &Usage| candidate.provider.cost(&candidate.model, usage);
        // Until the first chunk: after a long silence, say the call is still waited for.
        let silence = tokio::time::sleep(SILENCE_NOTICE);
        tokio::pin!(silence);
        let mut heard = false;
        let failed = loop {
            let next = tokio::select! {
                biased;
                () = &mut silence, if !heard => {
                    heard = true;
                    self.events.emit(AgentEvent::ModelWaiting {
                        provider: candidate.provider_name.clone(),
                        model: candidate.model.clone(),
                        waited_ms: u64::try_from(SILENCE_NOTICE.as_millis()).unwrap_or(u64::MAX),
                    });
                    continue;
                }
                () = self.cancel.cancelled() => {
                    turn.cancelled = true;
                    self.unfinished(candidate, &usage, None);
                    turn.usage = usage;
                    turn.cost = price(&usage);
                    turn.model = Some(candidate.model.clone());
                    return Ok(());
                }
                next = stream.next() => {
                    heard = true;
                    next
                }
            };
            let chunk = match next {
                Some(Ok(chunk)) => chunk,
                Some(Err(error)) => break error,
                None => {
                    break ModelError::new(
                        &candidate.provider_name,
                        ModelErrorKind::StreamCut,
                        "the response ended before the model finished; nothing from it was applied",
                    );
                }
            };
            match chunk {
                ModelChunk::Usage { usage: more } => usage.merge(&more),
                ModelChunk::Stop { reason } => {
                    turn.stop = Some(reason);
                    turn.usage = usage;
                    turn.cost = price(&usage);
                    turn.model = Some(candidate.model.clone());
                    return Ok(());
                }
                chunk => turn.apply(chunk, self.events),
            }
        };
        self.unfinished(candidate, &usage, Some(&mut turn.unfinished));
        turn.keep_shown_text();
        Err(failed)
    }

    /// Reports the usage of an attempt that did not finish, when it used any.
    fn unfinished(&self, candidate: &ResolvedModel, usage: &Usage, total: Option<&mut Usage>) {
        if *usage == Usage::default() {
            return;
        }
        if let Some(total) = total {
            total.add(usage);
        }
        self.events.emit(AgentEvent::CallUnfinished {
            provider: candidate.provider_name.clone(),
            model: candidate.model.clone(),
            usage: *usage,
            cost: candidate.provider.cost(&candidate.model, usage),
        });
    }

    /// Announces that the call moves from `from` to `to`.
    fn announce_switch(&self, from: &ResolvedModel, to: &ResolvedModel, reason: String) {
        let to_label = label(to);
        {
            let mut answering = self
                .answering
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if answering.as_deref() == Some(to_label.as_str()) {
                // Already announced on an earlier call of this agent.
                return;
            }
            *answering = Some(to_label.clone());
        }
        let note = weaker_note(
            &from.provider.capabilities(&from.model),
            &to_label,
            &to.provider.capabilities(&to.model),
            to.provider_name == "local",
        );
        self.events.emit(AgentEvent::ModelFallback {
            from: label(from),
            to: to_label,
            reason,
            note,
        });
    }

    /// After an answer from the `index`th candidate: when the preferred model answers
    /// again after a fallback, say so once.
    fn settle(&self, preferred: &str, candidate: &ResolvedModel, index: usize) {
        if index > 0 {
            return;
        }
        let previous = self
            .answering
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(previous) = previous.filter(|p| p != preferred) {
            self.events.emit(AgentEvent::ModelFallback {
                from: previous,
                to: label(candidate),
                reason: "it answers again".into(),
                note: None,
            });
        }
    }
}

/// The error that ends a call when no model could answer: what was tried and what the
/// user can do, with nothing lost.
fn degraded(last: ModelError, failures: &[String], partial: bool) -> ModelError {
    let tried = if failures.is_empty() {
        last.message.clone()
    } else {
        format!("{} (last error: {})", failures.join("; "), last.message)
    };
    let kept = if partial {
        "The part of the answer already shown is kept"
    } else {
        "Your message is kept"
    };
    ModelError::new(
        last.provider,
        last.kind,
        format!(
            "no model could answer: {tried}. {kept}: send it again to retry, pick another \
             model (/model, --model), or continue offline with a local model (cuervo models \
             pull smollm2, then --model smollm2)"
        ),
    )
}

impl Turn {
    /// The text shown so far.
    fn text(&self) -> String {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn has_text(&self) -> bool {
        self.blocks
            .iter()
            .any(|b| matches!(b, ContentBlock::Text { text } if !text.is_empty()))
    }

    /// After a broken attempt: keep only the text the user saw, as one block.
    fn keep_shown_text(&mut self) {
        let text = self.text();
        self.blocks.clear();
        if !text.is_empty() {
            self.blocks.push(ContentBlock::Text { text });
        }
    }

    /// Adds one streamed chunk to the answer, forwarding it as an event.
    fn apply(&mut self, chunk: ModelChunk, events: &dyn EventSink) {
        match chunk {
            ModelChunk::Text { text } => {
                events.emit(AgentEvent::TextDelta { text: text.clone() });
                match self.blocks.last_mut() {
                    Some(ContentBlock::Text { text: last }) => last.push_str(&text),
                    _ => self.blocks.push(ContentBlock::Text { text }),
                }
            }
            ModelChunk::Thinking { thinking } => {
                events.emit(AgentEvent::ThinkingDelta {
                    thinking: thinking.clone(),
                });
                match self.blocks.last_mut() {
                    Some(ContentBlock::Thinking {
                        thinking: last,
                        signature: None,
                        encrypted: None,
                    }) => last.push_str(&thinking),
                    _ => self.blocks.push(ContentBlock::Thinking {
                        thinking,
                        signature: None,
                        encrypted: None,
                    }),
                }
            }
            ModelChunk::ThinkingSignature { signature } => {
                if let Some(ContentBlock::Thinking {
                    signature: slot, ..
                }) = self.blocks.last_mut()
                {
                    *slot = Some(signature);
                }
            }
            ModelChunk::ThinkingEncrypted { encrypted } => match self.blocks.last_mut() {
                Some(ContentBlock::Thinking {
                    encrypted: slot @ None,
                    ..
                }) => *slot = Some(encrypted),
                _ => self.blocks.push(ContentBlock::Thinking {
                    thinking: String::new(),
                    signature: None,
                    encrypted: Some(encrypted),
                }),
            },
            ModelChunk::ToolUseStart { id, name } => {
                events.emit(AgentEvent::ToolCallStarted { id, name });
            }
            ModelChunk::ToolUse { call } => {
                events.emit(AgentEvent::ToolCall { call: call.clone() });
                self.blocks.push(ContentBlock::ToolUse(call));
            }
            // Handled by the caller.
            ModelChunk::Usage { .. } | ModelChunk::Stop { .. } => {}
        }
    }
}
