//! The interactive terminal UI: an inline live area at the bottom of the terminal (the
//! streaming answer, a spinner, the input box and the status line) above which finished
//! output is printed into the terminal's own scrollback.
//!
//! The widgets (screen, styles, markdown, the input editor, pickers, views) live in the
//! `cuervo-tui` crate; this module is the glue that runs a session with them. They are
//! re-exported here so the glue names them as `super::screen`, `super::style`, ….

pub mod app;
pub mod approve;
pub mod commands;
pub mod context;
pub mod mentions;
pub mod team;

pub use cuervo_tui::{
    complete, editor, history, input, markdown, picker, screen, style, terminal, view,
};

use std::io::IsTerminal;

/// The full UI needs a terminal on both ends that understands cursor movement; anything
/// else (pipes, `TERM=dumb`, editors' embedded shells) gets the line-based conversation.
pub fn is_supported() -> bool {
    std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb" && !t.is_empty())
}
