//! Where log lines go. Normally stderr; while the interactive UI owns the terminal, a
//! stray warning on stderr would be drawn over the screen, so they go to a log file.

use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};

static REDIRECT: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

/// Sends log lines to `target` (`None`: back to stderr).
pub fn redirect(target: Option<Box<dyn Write + Send>>) {
    *REDIRECT.lock().unwrap_or_else(PoisonError::into_inner) = target;
}

/// The writer the tracing subscriber uses for each event.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match REDIRECT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            Some(target) => target.write(buf),
            None => io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match REDIRECT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            Some(target) => target.flush(),
            None => io::stderr().flush(),
        }
    }
}
