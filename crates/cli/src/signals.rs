//! The signals that stop a turn: SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, a CI
//! runner cancelling a job) and SIGHUP (the terminal closed).
//!
//! Every front end watches them through [`Signals`] and stops a running turn the same way:
//! the turn's cancellation token fires, the in-flight model stream and tool futures are
//! dropped (bash kills its whole process group), the run ends normally so the session and
//! the audit log are complete, and the process exits with 128 + the signal's number
//! ([`Signal::exit_code`]): 130, 143, 129, as if the signal had killed it.
//!
//! Once watched, a signal no longer ends the process by itself for the rest of its life
//! (the default disposition is not restored), so a front end that installs [`Signals`]
//! must act on every signal it reports.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use tokio::signal::unix;
use tokio::task::JoinHandle;

/// A signal that stops the running turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C, `kill -INT`.
    Interrupt,
    /// SIGTERM: `kill`, `timeout`, a CI runner cancelling the job.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
}

impl Signal {
    /// The exit status that reports this signal: 128 + its number, the shell's convention.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
            Signal::Hangup => 129,
        }
    }

    /// Whether the signal asks the whole program to end, not just the running turn.
    pub fn ends_the_program(self) -> bool {
        self != Signal::Interrupt
    }

    /// Of two signals received during one turn, the one that decides what happens next: an
    /// interrupt never hides a request to terminate.
    pub fn stronger(self, other: Signal) -> Signal {
        if other.ends_the_program() && !self.ends_the_program() {
            other
        } else {
            self
        }
    }

    /// Folds a newly received signal into what a turn has received so far.
    pub fn keep_strongest(received: &mut Option<Signal>, new: Signal) {
        *received = Some(received.map_or(new, |before| before.stronger(new)));
    }
}

/// The three signals, caught from the moment this is installed.
pub struct Signals {
    interrupt: unix::Signal,
    terminate: unix::Signal,
    hangup: unix::Signal,
}

impl Signals {
    /// Starts catching SIGINT, SIGTERM and SIGHUP.
    pub fn install() -> anyhow::Result<Self> {
        let catch =
            |kind| unix::signal(kind).context("cannot watch for SIGINT, SIGTERM and SIGHUP");
        Ok(Self {
            interrupt: catch(unix::SignalKind::interrupt())?,
            terminate: catch(unix::SignalKind::terminate())?,
            hangup: catch(unix::SignalKind::hangup())?,
        })
    }

    /// The next signal. Cancel-safe: a signal that arrives while nobody waits is kept for
    /// the next call.
    pub async fn recv(&mut self) -> Signal {
        // `recv` yields `None` only once the signal driver is gone, at runtime shutdown.
        tokio::select! {
            Some(()) = self.interrupt.recv() => Signal::Interrupt,
            Some(()) = self.terminate.recv() => Signal::Terminate,
            Some(()) = self.hangup.recv() => Signal::Hangup,
            else => std::future::pending().await,
        }
    }
}

/// Stops the run on every signal (`stop` is called) and remembers the strongest one
/// received; stops watching when dropped. For a front end that runs one turn and exits.
pub struct CancelOnSignal {
    received: Arc<Mutex<Option<Signal>>>,
    task: JoinHandle<()>,
}

impl CancelOnSignal {
    pub fn install(stop: impl Fn() + Send + 'static) -> anyhow::Result<Self> {
        let mut signals = Signals::install()?;
        let received = Arc::new(Mutex::new(None));
        let seen = received.clone();
        let task = tokio::spawn(async move {
            // Keeps listening while the run winds down: a SIGTERM after a Ctrl-C still
            // decides the exit status.
            loop {
                let signal = signals.recv().await;
                Signal::keep_strongest(
                    &mut seen.lock().unwrap_or_else(PoisonError::into_inner),
                    signal,
                );
                stop();
            }
        });
        Ok(Self { received, task })
    }

    /// The signal that stopped the run, if one did.
    pub fn received(&self) -> Option<Signal> {
        *self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for CancelOnSignal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!(Signal::Interrupt.exit_code(), 128 + 2);
        assert_eq!(Signal::Hangup.exit_code(), 128 + 1);
        assert_eq!(Signal::Terminate.exit_code(), 128 + 15);
    }

    #[test]
    fn an_interrupt_never_hides_a_termination() {
        use Signal::*;
        assert_eq!(Interrupt.stronger(Terminate), Terminate);
        assert_eq!(Interrupt.stronger(Hangup), Hangup);
        assert_eq!(Terminate.stronger(Interrupt), Terminate);
        assert_eq!(Hangup.stronger(Terminate), Hangup);
        assert_eq!(Interrupt.stronger(Interrupt), Interrupt);
    }
}
