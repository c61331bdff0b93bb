//! Cuervo's terminal widgets: the widget half of the interactive UI.
//!
//! Why a crate of its own: every widget here is a pure function (or a small state
//! machine) from data to [`style::Line`]s, styles as data, and only [`screen::Screen`]
//! turns lines into escape sequences. So the widgets are unit-tested without a terminal
//! (a test reads a line's text and styles, or feeds the screen's bytes into a terminal
//! emulator), and the crate depends on neither the store nor the model engines nor the
//! providers: `cargo test -p cuervo-tui` builds in seconds, and a widget edit never
//! recompiles the agent loop. The glue that runs a session (the event loop, the
//! permission prompt, slash commands) stays in `cuervo-cli`'s `tui` module.
//!
//! - [`screen`]: the inline screen (finished lines into the scrollback, a live area
//!   redrawn in place);
//! - [`style`]: [`style::Line`], [`style::Style`] and wrapping by display width;
//! - [`markdown`]: streaming markdown to lines, with highlighted code blocks;
//! - [`editor`], [`input`], [`complete`], [`history`]: the prompt input box with
//!   completion of commands and `@file` mentions and a persistent history;
//! - [`picker`]: a filterable list to choose from;
//! - [`view`]: how tool calls, results, diffs, notes and the status line look;
//! - [`format`](mod@format): counts, costs and call summaries shared with the headless renderer;
//! - [`terminal`]: raw mode and the terminal modes the UI needs, restored on drop.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod complete;
pub mod editor;
pub mod format;
pub mod history;
pub mod input;
pub mod markdown;
pub mod picker;
pub mod screen;
pub mod style;
pub mod team;
pub mod terminal;
pub mod view;
