//! The interactive terminal UI: an inline live area at the bottom of the terminal (the
//! streaming answer, a spinner, the input box and the status line) above which finished
//! output is printed into the terminal's own scrollback.

pub mod app;
pub mod approve;
pub mod commands;
pub mod complete;
pub mod context;
pub mod editor;
pub mod history;
pub mod input;
pub mod markdown;
pub mod mentions;
pub mod picker;
pub mod screen;
pub mod style;
pub mod terminal;
pub mod view;

use std::io::IsTerminal;

/// The full UI needs a terminal on both ends that understands cursor movement; anything
/// else (pipes, `TERM=dumb`, editors' embedded shells) gets the line-based conversation.
pub fn is_supported() -> bool {
    std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb" && !t.is_empty())
}
