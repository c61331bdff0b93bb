//! Instructions that live beside the code they are about.
//!
//! The project's root instruction file (`CUERVO.md` or `AGENTS.md`) is in the system prompt.
//! A file deeper in the tree (`src/api/AGENTS.md`) applies to what is under its directory,
//! and, as the AGENTS.md convention says, the nearest one to the file being worked on wins
//! where they disagree. Putting every such file in the system prompt would spend context on
//! directories the task never touches, so they join the conversation when the agent first
//! reads or changes a file under their directory: appended to that tool result, outermost
//! first, each once per conversation (found again after a compaction drops it).

use cuervo_domain::{ContentBlock, Message, ToolCall, ToolResult};

use crate::agent::Agent;

/// Finds the instruction files that apply to a path of the project. The composition root
/// implements it (it reads files); the agent only asks.
pub trait InstructionFiles: Send + Sync {
    /// For `path` (as the model wrote it, relative to the root or absolute inside it): the
    /// instruction files of the directories between the root (excluded: its file is in
    /// the system prompt) and the file's own directory, outermost first, as (path relative
    /// to the root, content).
    fn for_path(&self, path: &str) -> Vec<(String, String)>;
}

/// The tools whose `path` argument names a file being worked on.
const FILE_TOOLS: &[&str] = &["read", "edit", "write"];

/// How an instruction file is framed in a tool result; also how it is found again.
fn opening(file: &str) -> String {
    format!("<instructions from {file}>")
}

impl Agent {
    /// Appends to each result the instruction files that apply to its call's file and are
    /// not in the conversation yet.
    pub(crate) fn add_nested_instructions(
        &self,
        messages: &[Message],
        calls: &[ToolCall],
        results: &mut [ToolResult],
    ) {
        let Some(source) = &self.instructions else {
            return;
        };
        let mut seen: Vec<String> = Vec::new();
        let present = |file: &str, seen: &[String]| {
            let marker = opening(file);
            seen.iter().any(|s| s == file)
                || messages.iter().any(|m| {
                    m.content.iter().any(|b| match b {
                        ContentBlock::ToolResult(r) => r.content.contains(&marker),
                        _ => false,
                    })
                })
        };
        for (call, result) in calls.iter().zip(results.iter_mut()) {
            if result.is_error || !FILE_TOOLS.contains(&call.name.as_str()) {
                continue;
            }
            let Some(path) = call.input.get("path").and_then(|p| p.as_str()) else {
                continue;
            };
            for (file, content) in source.for_path(path) {
                if present(&file, &seen) {
                    continue;
                }
                let dir = file.rsplit_once('/').map_or(".", |(dir, _)| dir);
                result.content.push_str(&format!(
                    "\n\n{}\nThese instructions apply to files under {dir}/ (the nearest \
                     instruction file wins where they disagree):\n{}\n</instructions>",
                    opening(&file),
                    content.trim()
                ));
                seen.push(file);
            }
        }
    }
}
