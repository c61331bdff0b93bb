//! `/context`: what fills the model's context window, counted by part.

use cuervo_domain::{ContentBlock, Message, Role, ToolSpec};
use cuervo_text::tokens::Encoding;

use super::style::{Color, Line, Style};
use crate::render::thousands;

/// Tokens per part of the next request, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakdown {
    pub parts: Vec<(&'static str, u64)>,
    pub encoding: Encoding,
}

impl Breakdown {
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|(_, n)| n).sum()
    }
}

/// Counts with the model's own encoding where it has a tiktoken one, else `o200k_base`
/// (an estimate for other providers' tokenizers, usually within ~15%).
pub fn breakdown(
    model: &str,
    system: Option<&str>,
    tools: &[ToolSpec],
    messages: &[Message],
) -> Breakdown {
    let encoding = Encoding::for_model(model).unwrap_or(Encoding::O200kBase);
    let count = |text: &str| encoding.count(text) as u64;
    let tools_json = serde_json::to_string(tools).unwrap_or_default();
    let mut user = 0;
    let mut assistant = 0;
    let mut calls = 0;
    let mut results = 0;
    let mut thinking = 0;
    let mut images = 0;
    for message in messages {
        for block in &message.content {
            match block {
                ContentBlock::Text { text } if message.role == Role::User => user += count(text),
                ContentBlock::Text { text } => assistant += count(text),
                ContentBlock::Thinking { thinking: t, .. } => thinking += count(t),
                // Providers bill an image by its size; ~1,600 tokens is a typical screenshot.
                ContentBlock::Image { .. } => images += 1_600,
                ContentBlock::ToolUse(call) => {
                    calls += count(&call.name) + count(&call.input.to_string());
                }
                ContentBlock::ToolResult(result) => results += count(&result.content),
            }
        }
    }
    let (system, instructions, map) = split_system(system.unwrap_or_default());
    Breakdown {
        parts: vec![
            ("system prompt", count(system)),
            ("instructions (CUERVO.md, AGENTS.md)", count(instructions)),
            ("repository map", count(map)),
            ("tool definitions", count(&tools_json)),
            ("your messages", user),
            ("model answers", assistant),
            ("thinking", thinking),
            ("tool calls", calls),
            ("tool results", results),
            ("images", images),
        ],
        encoding,
    }
}

/// The system prompt's parts: Cuervo's own, the instruction files, the repository map
/// (found by the headings `core::prompt` and `core::context` put before them).
fn split_system(system: &str) -> (&str, &str, &str) {
    let (rest, map) = match system.find("\n\nRepository map") {
        Some(at) => system.split_at(at),
        None => (system, ""),
    };
    let starts = [
        "\nThe user's own instructions",
        "\nProject instructions from",
    ];
    match starts.iter().filter_map(|s| rest.find(s)).min() {
        Some(at) => (&rest[..at], &rest[at..], map),
        None => (rest, "", map),
    }
}

/// A bar per part and the room left in `window`.
pub fn render(breakdown: &Breakdown, window: u64) -> Vec<Line> {
    let total = breakdown.total();
    let window = window.max(1);
    let pct = |n: u64| n as f64 * 100.0 / window as f64;
    let mut lines = vec![Line::styled(
        format!(
            "Context: {} of {} tokens ({:.1}%)",
            thousands(total),
            thousands(window),
            pct(total)
        ),
        Style::PLAIN.bold(),
    )];
    const BAR: usize = 30;
    for (name, tokens) in &breakdown.parts {
        if *tokens == 0 {
            continue;
        }
        let filled = ((*tokens as f64 / window as f64) * BAR as f64).ceil() as usize;
        let mut line = Line::plain(format!("  {name:<17}"));
        line.push("█".repeat(filled.min(BAR)), Style::fg(Color::Magenta));
        line.push("░".repeat(BAR - filled.min(BAR)), Style::PLAIN.dim());
        line.push(
            format!(" {:>9} ({:.1}%)", thousands(*tokens), pct(*tokens)),
            Style::PLAIN,
        );
        lines.push(line);
    }
    lines.push(Line::styled(
        format!(
            "  free: {} tokens · counted with {}; /compact frees space",
            thousands(window.saturating_sub(total)),
            breakdown.encoding.name()
        ),
        Style::PLAIN.dim(),
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{ToolCall, ToolResult};
    use serde_json::json;

    #[test]
    fn parts_are_counted_separately() {
        let messages = vec![
            Message::user("hello there"),
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse(ToolCall {
                    id: "1".into(),
                    name: "read".into(),
                    input: json!({"path": "a.rs"}),
                })],
            },
            Message::tool_results(vec![ToolResult {
                call_id: "1".into(),
                content: "fn main() {}\n".repeat(50),
                is_error: false,
            }]),
        ];
        let b = breakdown("gpt-4.1", Some("You are Cuervo."), &[], &messages);
        let get = |name: &str| b.parts.iter().find(|p| p.0 == name).map(|p| p.1);
        assert_eq!(get("your messages"), Some(2));
        assert!(get("tool results") > Some(100));
        assert!(get("tool calls") > Some(0));
        assert_eq!(get("model answers"), Some(0));
        let lines = render(&b, 1_000);
        assert!(lines[0].text().starts_with("Context: "), "{:?}", lines[0]);
        assert!(lines.iter().all(|l| !l.text().contains("model answers")));
    }

    #[test]
    fn the_system_prompt_is_split_into_its_parts() {
        let system = "You are Cuervo.\nProject instructions from AGENTS.md (follow them):\n\nRun make.\n\n\
                      Repository map (ranked):\nsrc/lib.rs:\n  1: pub fn run()";
        let b = breakdown("gpt-4.1", Some(system), &[], &[]);
        let get = |name: &str| b.parts.iter().find(|p| p.0 == name).map(|p| p.1);
        assert!(get("system prompt") > Some(0));
        assert!(get("instructions (CUERVO.md, AGENTS.md)") > Some(3));
        assert!(get("repository map") > Some(5));
        // Nothing lost or counted twice: token boundaries at the cuts move a few at most.
        let whole = Encoding::Cl100kBase.count(system) as u64;
        assert!(b.total().abs_diff(whole) <= 4, "{} vs {whole}", b.total());
    }
}
