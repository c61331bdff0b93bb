//! Permission questions asked through the event stream and answered by operations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use cuervo_domain::{Approval, ApprovalRequest, Approver, BoxFuture};
use tokio::sync::{mpsc, oneshot};

use super::ConversationEvent;

/// Questions waiting for an answer, by id.
#[derive(Default)]
pub(super) struct Pending {
    next_id: u64,
    open: HashMap<u64, oneshot::Sender<Approval>>,
}

/// The approver the agent sees when the front end answers: each request becomes a
/// [`ConversationEvent::ApprovalRequested`], and the turn waits for [`super::Op::Approval`].
#[derive(Clone)]
pub(super) struct AskFrontEnd {
    pub(super) pending: Arc<Mutex<Pending>>,
    pub(super) events: mpsc::UnboundedSender<ConversationEvent>,
}

impl AskFrontEnd {
    /// Answers question `id`; `false` when no such question is open (already answered,
    /// or withdrawn by an interrupt).
    pub(super) fn answer(&self, id: u64, approval: Approval) -> bool {
        let sender = lock(&self.pending).open.remove(&id);
        sender.is_some_and(|tx| tx.send(approval).is_ok())
    }

    /// Answers every open question "no" (an interrupt or a shutdown).
    pub(super) fn deny_all(&self) {
        // Dropping a sender answers "no": see `approve`.
        lock(&self.pending).open.clear();
    }
}

fn lock(pending: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    pending.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Approver for AskFrontEnd {
    fn approve(&self, request: ApprovalRequest) -> BoxFuture<'_, Approval> {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut pending = lock(&self.pending);
            pending.next_id += 1;
            let id = pending.next_id;
            pending.open.insert(id, tx);
            id
        };
        let asked = self
            .events
            .send(ConversationEvent::ApprovalRequested { id, request })
            .is_ok();
        Box::pin(async move {
            if !asked {
                return Approval::Deny;
            }
            // A question withdrawn (interrupt, shutdown, front end gone) is a "no".
            rx.await.unwrap_or(Approval::Deny)
        })
    }
}
