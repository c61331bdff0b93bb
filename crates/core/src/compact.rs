//! Compaction: replacing the older part of a conversation with a summary the model writes,
//! so a long session keeps working inside the context window.
//!
//! The summary is asked of the session's own model (or the `summarize` role's, when one is
//! configured) with the whole conversation, the same
//! system prompt and the same tool definitions (providers refuse tool calls in a history
//! sent without tools), and an instruction not to call any. The conversation then restarts
//! from two messages: the summary as the user's message and a short acknowledgement, a
//! shape every provider accepts.

use std::sync::{Mutex, PoisonError};

use cuervo_domain::{
    AgentEvent, ContentBlock, Cost, Message, ModelError, ModelErrorKind, ModelRequest, Spend, Usage,
};
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, EventSink};
use cuervo_domain::Role;

use crate::resilience::Role as AgentRole;

/// What the model is asked to write. Kept close to what a person handing over work would
/// write, because the next turns depend on nothing else.
pub const SUMMARY_INSTRUCTION: &str = "Summarise this conversation so that the work can go on \
from the summary alone; the earlier messages will be dropped. Do not call any tool. Include: \
the user's goals and every explicit request or preference; decisions made and why; files \
read, created or changed (with paths) and what changed; commands run and their outcomes; \
errors met and how they were fixed; the task list with each item's status; what is done, \
what is in progress, and the next step. \
Be specific and concise; use short markdown sections.";

/// The frame put around a summary when it becomes the first message.
const SUMMARY_FRAME: &str = "This session continues an earlier conversation that was compacted \
to save context. Summary of everything before this point:";

/// A finished summary and what writing it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compaction {
    pub summary: String,
    pub usage: Usage,
    /// What the summary call cost; `None` when the price is unknown.
    pub cost: Option<Cost>,
    /// How many messages the summary replaces.
    pub replaced: usize,
}

impl Agent {
    /// Asks the model for a summary of `messages`; `instructions` (the user's words after
    /// `/compact`) say what to focus on. Nothing in the session changes here: the caller
    /// decides what to do with the summary, so a failed call loses nothing.
    pub async fn summarise(
        &self,
        messages: &[Message],
        instructions: Option<&str>,
        cancel: &CancellationToken,
    ) -> Result<Compaction, ModelError> {
        let mut ask = SUMMARY_INSTRUCTION.to_owned();
        if let Some(extra) = instructions.map(str::trim).filter(|s| !s.is_empty()) {
            ask.push_str("\nThe user asks you to focus on: ");
            ask.push_str(extra);
        }
        let mut history = messages.to_vec();
        // Two user messages in a row are refused by some providers: add the request to a
        // trailing user message (tool results) instead.
        match history.last_mut() {
            Some(last) if last.role == Role::User => {
                last.content.push(ContentBlock::Text { text: ask });
            }
            _ => history.push(Message::user(ask)),
        }
        let mut request: ModelRequest = self.request_for(history);
        request.stream = true;
        // The summary is routed like any call (a `summarize` model when one is configured,
        // with retries and fallbacks); its deltas are not shown, but the usage of attempts
        // that broke is kept, since it is billed.
        let sink = UnfinishedUsage::default();
        let turn = self
            .caller(AgentRole::Summarize, 0, &sink, cancel)
            .call(request)
            .await?;
        if turn.cancelled {
            return Err(ModelError::new(
                self.provider().name(),
                ModelErrorKind::Cancelled,
                "compaction cancelled; the conversation is unchanged",
            ));
        }
        let summary: String = turn
            .blocks
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        if summary.trim().is_empty() {
            return Err(ModelError::new(
                self.provider().name(),
                ModelErrorKind::StreamCut,
                "the model did not finish a summary; the conversation is unchanged",
            ));
        }
        // The summary call and any broken attempts, each priced at its own model.
        let mut spend = sink.take();
        spend.add_call(&turn.usage, turn.cost);
        let (usage, cost) = (spend.usage, spend.exact());
        Ok(Compaction {
            summary: summary.trim().to_owned(),
            cost,
            usage,
            replaced: messages.len(),
        })
    }
}

/// Sums what a summary's broken attempts (`CallUnfinished`) used and cost; drops the
/// rest.
#[derive(Default)]
struct UnfinishedUsage(Mutex<Spend>);

impl UnfinishedUsage {
    fn take(&self) -> Spend {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl EventSink for UnfinishedUsage {
    fn emit(&self, event: AgentEvent) {
        if let AgentEvent::CallUnfinished { usage, cost, .. } = event {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .add_call(&usage, cost);
        }
    }
}

/// The messages a compacted conversation starts from.
pub fn compacted_messages(summary: &str) -> Vec<Message> {
    vec![
        Message::user(format!("{SUMMARY_FRAME}\n\n{summary}")),
        Message::assistant_text(
            "Understood. I have the summary of our earlier work and will continue from it.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacted_conversation_starts_with_the_user() {
        let messages = compacted_messages("- fixed the parser");
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].role, Role::User);
        assert!(messages[0].text().contains("- fixed the parser"));
        assert_eq!(messages[1].role, Role::Assistant);
        assert!(cuervo_domain::check_tool_pairing(&messages).is_ok());
    }
}
