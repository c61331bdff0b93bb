//! Cuervo's built-in tools: the capabilities the model calls to look at and change a
//! project (`read`, `write`, `edit`, `glob`, `grep`, `ls`), to search it by meaning
//! (`codebase_search`, over a [`cuervo_domain::CodeSearch`] index the composition root
//! supplies), to run commands (`bash`) and to keep a task list (`todo`).
//!
//! Every tool implements [`cuervo_domain::Tool`]. Tools never decide whether they may
//! run: `validate` resolves and reports what a call would touch (its target, whether it
//! reaches outside the project root, a preview of the change) and the permission policy
//! in `core` decides. Tools do enforce their own safety mechanics: atomic writes, output
//! caps, and killing every process a command started when it ends or is cancelled.
//! Shell commands also run in an OS sandbox ([`sandbox`]) with secrets removed from
//! their environment.

mod bash;
mod codebase_search;
mod edit;
mod fsutil;
mod glob;
mod grep;
mod input;
mod ls;
pub mod output;
pub mod path;
mod read;
pub mod sandbox;
mod todo;
mod walk;
mod write;

use std::sync::Arc;

use cuervo_domain::Tool;

pub use bash::BashTool;
pub use codebase_search::{CODEBASE_SEARCH, CodebaseSearchTool};
pub use edit::EditTool;
pub use glob::GlobTool;
pub use grep::GrepTool;
pub use ls::LsTool;
pub use read::ReadTool;
pub use todo::{MAX_TODO_ITEMS, TodoTool};
pub use write::WriteTool;

/// The name of the per-project ignore file honoured by `glob`, `grep` and `ls` on top of
/// `.gitignore` and `.ignore`, so a project can hide files from the agent alone.
pub const CUERVO_IGNORE_FILE: &str = ".cuervoignore";

/// Every built-in tool, ready to register with the agent loop. The order is the order
/// the model sees them in: reading and searching first, then changing, then the shell.
pub fn builtin_tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(ReadTool),
        Arc::new(GlobTool),
        Arc::new(GrepTool),
        Arc::new(LsTool),
        Arc::new(EditTool),
        Arc::new(WriteTool),
        Arc::new(BashTool),
        Arc::new(TodoTool),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::PermissionLevel;

    #[test]
    fn builtin_tools_have_unique_lowercase_names_and_expected_levels() {
        let tools = builtin_tools();
        let mut names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "bash", "edit", "glob", "grep", "ls", "read", "todo", "write"
            ]
        );
        for t in &tools {
            let expected = match t.name() {
                "read" | "glob" | "grep" | "ls" | "todo" => PermissionLevel::ReadOnly,
                "write" | "edit" => PermissionLevel::ReadWrite,
                _ => PermissionLevel::Destructive,
            };
            assert_eq!(t.permission(), expected, "{}", t.name());
            let schema = t.input_schema();
            assert_eq!(schema["type"], "object", "{}", t.name());
            assert_eq!(
                schema["additionalProperties"],
                false,
                "{} must reject unknown fields in its schema too",
                t.name()
            );
            assert!(
                t.description().len() > 80,
                "{} needs a real description",
                t.name()
            );
        }
    }
}
