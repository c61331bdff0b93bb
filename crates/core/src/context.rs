//! The context builder's map of the repository: the most relevant definitions of the
//! project, ranked for what the conversation is about, in the system prompt.
//!
//! The map itself (tree-sitter tags ranked by PageRank over the reference graph, fitted to
//! a token budget, updated incrementally) is built by an adapter behind [`RepoMapSource`];
//! the agent asks for it at the start of each user turn with a focus taken from the
//! conversation — the files it names or has worked on, and the identifiers the latest
//! prompt mentions — so the map follows the task. It is computed once per user turn, not
//! per request, so the system prompt stays byte-identical within a turn and the
//! provider's prompt cache keeps working.
//!
//! When the project has a code index, the same turn context can carry where the index
//! finds code related to the latest prompt ([`relevant_code`], over the
//! [`cuervo_domain::CodeSearch`] port): locations only, a few lines of the prompt, so the
//! model starts reading in the right files.

use cuervo_domain::{CodeQuery, CodeSearch, ContentBlock, Message, Role};

use crate::agent::Agent;

/// Renders a map of the project for a focus. `None` when there is none (not built yet,
/// nothing to map).
pub trait RepoMapSource: Send + Sync {
    fn render(&self, focus: &MapFocus, token_budget: usize) -> Option<String>;
}

/// What a conversation is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapFocus {
    /// Paths the conversation names or has worked on, as written (most recent last).
    pub files: Vec<String>,
    /// Identifiers the latest prompt mentions (`parse_config`, `RepoMap`).
    pub identifiers: Vec<String>,
}

/// The focus of a conversation: every `path` a tool call used, path-like words of the
/// user's messages, and identifier-like words of the latest one.
pub fn focus_of(messages: &[Message]) -> MapFocus {
    let mut focus = MapFocus::default();
    let add_file = |path: &str, files: &mut Vec<String>| {
        if !path.is_empty() && !files.iter().any(|f| f == path) {
            files.push(path.to_owned());
        }
    };
    let last_user = messages.iter().rposition(|m| {
        m.role == Role::User
            && m.content
                .iter()
                .any(|b| matches!(b, ContentBlock::Text { .. }))
    });
    for (i, message) in messages.iter().enumerate() {
        for block in &message.content {
            match block {
                ContentBlock::ToolUse(call) => {
                    if let Some(path) = call.input.get("path").and_then(|p| p.as_str()) {
                        add_file(path, &mut focus.files);
                    }
                }
                ContentBlock::Text { text } if message.role == Role::User => {
                    for word in text.split_whitespace() {
                        let word = word.trim_matches(|c: char| {
                            !(c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-'))
                        });
                        let word = word.trim_end_matches('.');
                        if looks_like_path(word) {
                            add_file(word, &mut focus.files);
                        } else if Some(i) == last_user
                            && looks_like_identifier(word)
                            && !focus.identifiers.iter().any(|w| w == word)
                        {
                            focus.identifiers.push(word.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
    }
    focus
}

/// `src/lib.rs`, `main.py`: a slash, or a dot before a short extension.
fn looks_like_path(word: &str) -> bool {
    if word.len() < 3 || word.starts_with("http") {
        return false;
    }
    let extension = word
        .rsplit_once('.')
        .map(|(stem, ext)| {
            !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
        })
        .unwrap_or(false);
    (word.contains('/') && !word.ends_with('/')) || extension
}

/// `parse_config`, `RepoMap`, `runTask`: snake case or an inner capital, 4+ characters.
fn looks_like_identifier(word: &str) -> bool {
    word.len() >= 4
        && word.chars().all(|c| c.is_alphanumeric() || c == '_')
        && (word.contains('_') || word.chars().skip(1).any(char::is_uppercase))
}

impl Agent {
    /// The system prompt for this user turn: the configured one and, when sources are
    /// set, the map for the conversation so far and the code the index finds for the
    /// latest prompt.
    pub(crate) async fn refresh_turn_context(&self, messages: &[Message]) {
        let map = match &self.repo_map {
            Some((source, budget)) => {
                // A small model's window is not spent on the map: at most a sixteenth of it.
                let window = self
                    .provider
                    .capabilities(&self.config.model)
                    .context_window;
                let budget = (*budget).min(usize::try_from(window / 16).unwrap_or(usize::MAX));
                if budget > 0 {
                    // Rendering walks the tree, may wait for the first build and ranks
                    // the whole graph: file I/O and tens of milliseconds, kept off the
                    // async workers.
                    let source = source.clone();
                    let focus = focus_of(messages);
                    tokio::task::spawn_blocking(move || source.render(&focus, budget))
                        .await
                        .ok()
                        .flatten()
                } else {
                    None
                }
            }
            None => None,
        };
        *self
            .turn_map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = map;
        let code = match (&self.code_context, latest_prompt(messages)) {
            (Some((search, k)), Some(prompt)) => relevant_code(search.as_ref(), prompt, *k).await,
            _ => None,
        };
        *self
            .turn_code
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = code;
    }

    /// The system prompt a request carries now (the map and the code of this turn
    /// appended).
    pub(crate) fn system_prompt_now(&self) -> Option<String> {
        let map = self
            .turn_map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let code = self
            .turn_code
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut parts: Vec<String> = self.config.system_prompt.iter().cloned().collect();
        if let Some(map) = map {
            parts.push(format!(
                "Repository map (the project's most relevant definitions for this task, \
                 ranked; read the files for details):\n{map}"
            ));
        }
        if let Some(code) = code {
            parts.push(code);
        }
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }
}

/// The text of the latest user prompt (not a tool result), if any.
fn latest_prompt(messages: &[Message]) -> Option<&str> {
    messages
        .iter()
        .rev()
        .filter(|m| m.role == Role::User)
        .find_map(|m| {
            m.content.iter().find_map(|b| match b {
                ContentBlock::Text { text } if !text.trim().is_empty() => Some(text.as_str()),
                _ => None,
            })
        })
}

/// The locations of the `k` chunks the code index finds most relevant to `prompt`, as a
/// block of the system prompt; `None` when the search fails or finds nothing (the turn
/// goes on without it: this context is a hint, never a requirement).
pub async fn relevant_code(search: &dyn CodeSearch, prompt: &str, k: usize) -> Option<String> {
    // A long prompt (a pasted log) is searched by its start.
    let text: String = prompt.chars().take(1000).collect();
    let results = match search.search(CodeQuery::new(text, k)).await {
        Ok(results) => results,
        Err(e) => {
            tracing::debug!(error = %e, "code context left out");
            return None;
        }
    };
    if results.hits.is_empty() {
        return None;
    }
    let mut block = String::from(
        "Code the project's index finds related to this request (locations only; read \
         them before relying on them, and use codebase_search for more):",
    );
    for hit in &results.hits {
        block.push_str(&format!(
            "\n- {}:{}-{} {} {}",
            hit.path, hit.start_line, hit.end_line, hit.chunk_type, hit.chunk_name
        ));
    }
    Some(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::ToolCall;
    use serde_json::json;

    #[test]
    fn the_focus_follows_paths_tools_used_and_the_latest_identifiers() {
        let messages = vec![
            Message::user("Look at src/config.rs and fix parse_config, please."),
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse(ToolCall {
                    id: "c1".into(),
                    name: "read".into(),
                    input: json!({"path": "src/loader.rs"}),
                })],
            },
            Message::user("Now make RepoMap faster; see https://example.com/x.html too."),
        ];
        let focus = focus_of(&messages);
        assert_eq!(focus.files, ["src/config.rs", "src/loader.rs"]);
        assert_eq!(
            focus.identifiers,
            ["RepoMap"],
            "only the latest prompt's identifiers"
        );
    }
}
