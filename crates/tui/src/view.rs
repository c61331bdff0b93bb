//! How the conversation's pieces look: tool calls, their results, diffs, notes, errors,
//! the spinner and the status line. Pure functions from data to [`Line`]s.

use std::time::Duration;

use cuervo_domain::{Cost, ToolCall};

use super::style::{Color, Line, Style};
use crate::format::{call_summary, diff_counts, format_cost, thousands};

/// Output lines a tool result shows before folding the rest (Ctrl-O shows it all).
pub const FOLDED_OUTPUT_LINES: usize = 4;

const ACCENT: Style = Style::fg(Color::Magenta);

pub fn user_prompt(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    for (i, row) in text.lines().enumerate() {
        let marker = if i == 0 { "› " } else { "  " };
        let mut line = Line::styled(marker, Style::PLAIN.dim());
        line.push(row, Style::PLAIN.bold());
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(Line::styled("› ", Style::PLAIN.dim()));
    }
    lines
}

/// `⏺ bash cargo test`: the call, one line.
pub fn tool_call(call: &ToolCall) -> Line {
    let summary = call_summary(&call.name, &call.input);
    let rest = summary
        .strip_prefix(call.name.as_str())
        .unwrap_or("")
        .trim_start();
    let mut line = Line::styled("⏺ ", Style::fg(Color::Green));
    line.push(call.name.clone(), Style::PLAIN.bold());
    if !rest.is_empty() {
        line.push(" ", Style::PLAIN);
        line.push(rest, Style::PLAIN);
    }
    line
}

/// `  ⎿ 12 lines (0.2 s)` and the first few lines of output; errors in red.
pub fn tool_result(tool: &str, content: &str, is_error: bool, duration_ms: u64) -> Vec<Line> {
    let total = content.lines().count();
    let mut head = Line::styled("  ⎿ ", Style::PLAIN.dim());
    let summary = if is_error {
        content.lines().next().unwrap_or("failed").to_owned()
    } else if total == 0 {
        "(no output)".to_owned()
    } else {
        let noun = match tool {
            "read" => "lines read",
            "glob" | "ls" => "entries",
            "grep" => "matching lines",
            _ => "lines of output",
        };
        format!("{} {noun}", thousands(total as u64))
    };
    let style = if is_error {
        Style::fg(Color::Red)
    } else {
        Style::PLAIN
    };
    head.push(summary, style);
    if duration_ms >= 1_000 {
        head.push(
            format!(" ({:.1} s)", duration_ms as f64 / 1000.0),
            Style::PLAIN.dim(),
        );
    }
    let mut lines = vec![head];
    // Reading a file shows only the count: its text is the model's business.
    if tool == "read" || (is_error && total <= 1) {
        return lines;
    }
    let skip = usize::from(is_error);
    for row in content.lines().skip(skip).take(FOLDED_OUTPUT_LINES) {
        lines.push(Line::styled(format!("    {row}"), Style::PLAIN.dim()));
    }
    let shown = FOLDED_OUTPUT_LINES + skip;
    if total > shown {
        lines.push(Line::styled(
            format!(
                "    … {} more lines (ctrl+o shows all)",
                thousands((total - shown) as u64)
            ),
            Style::PLAIN.dim().italic(),
        ));
    }
    lines
}

/// A unified diff in colour: additions green, removals red, hunk headers cyan.
pub fn diff(diff: &str) -> Vec<Line> {
    diff.lines()
        .map(|row| {
            let style = if row.starts_with("+++") || row.starts_with("---") {
                Style::PLAIN.bold()
            } else if row.starts_with('+') {
                Style::fg(Color::Green)
            } else if row.starts_with('-') {
                Style::fg(Color::Red)
            } else if row.starts_with("@@") {
                Style::fg(Color::Cyan)
            } else {
                Style::PLAIN.dim()
            };
            Line::styled(format!("    {row}"), style)
        })
        .collect()
}

/// `  ⎿ src/main.rs: +3 -1` followed by the coloured diff.
pub fn file_modified(path: &str, patch: &str) -> Vec<Line> {
    let (added, removed) = diff_counts(patch);
    let mut head = Line::styled("  ⎿ ", Style::PLAIN.dim());
    head.push(format!("{path} "), Style::PLAIN);
    head.push(format!("+{added}"), Style::fg(Color::Green));
    head.push(" ", Style::PLAIN);
    head.push(format!("-{removed}"), Style::fg(Color::Red));
    let mut lines = vec![head];
    lines.extend(diff(patch));
    lines
}

/// A note from Cuervo itself (not the model).
pub fn note(text: &str) -> Vec<Line> {
    text.lines()
        .map(|l| Line::styled(format!("  {l}"), Style::PLAIN.dim()))
        .collect()
}

/// An error and what to do about it.
pub fn error(what: &str, next: &str) -> Vec<Line> {
    let mut head = Line::styled("✗ ", Style::fg(Color::Red).bold());
    head.push(what, Style::fg(Color::Red));
    let mut lines = vec![head];
    if !next.is_empty() {
        lines.push(Line::styled(format!("  {next}"), Style::PLAIN.dim()));
    }
    lines
}

/// Folded thinking: one dim line saying that the model thought, and for how long.
pub fn thought(words: usize, elapsed: Duration) -> Line {
    Line::styled(
        format!(
            "✻ thought for {:.1} s ({} words)",
            elapsed.as_secs_f64(),
            thousands(words as u64)
        ),
        Style::PLAIN.dim().italic(),
    )
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// `⠹ Working… 3.2 s · ↓ 1,234 tokens · esc to interrupt`.
pub fn spinner(label: &str, elapsed: Duration, tokens: u64) -> Line {
    let frame = SPINNER[(elapsed.as_millis() / 100) as usize % SPINNER.len()];
    let mut line = Line::styled(format!("{frame} "), ACCENT);
    line.push(format!("{label}… "), ACCENT.bold());
    let mut detail = format!("{:.1} s", elapsed.as_secs_f64());
    if tokens > 0 {
        detail.push_str(&format!(" · ↓ {} tokens", thousands(tokens)));
    }
    detail.push_str(" · esc to interrupt");
    line.push(detail, Style::PLAIN.dim());
    line
}

/// What the status line shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Status<'a> {
    pub model: &'a str,
    pub mode: &'a str,
    /// Tokens the last request used, and the model's window.
    pub context: Option<(u64, u64)>,
    pub cost: Option<Cost>,
    /// A passing hint (`press Ctrl-C again to exit`) replacing the key hints.
    pub hint: Option<&'a str>,
}

/// `claude-sonnet-4-5 · ask · ctx 12% · $0.0123      /help · @ files · ctrl+d exit`.
pub fn status_line(status: &Status<'_>, width: usize) -> Line {
    let mut left = format!("{} · {}", status.model, status.mode);
    if let Some((used, window)) = status.context.filter(|(_, w)| *w > 0) {
        let pct = (used as f64 * 100.0 / window as f64).round().min(100.0);
        left.push_str(&format!(" · ctx {pct}%"));
    } else {
        left.push_str(" · ctx 0%");
    }
    left.push_str(&format!(
        " · {}",
        match status.cost {
            Some(_) => format_cost(status.cost),
            None => "cost unknown".into(),
        }
    ));
    let right = status.hint.unwrap_or("/help · @ files · ctrl+d exit");
    let mut line = Line::styled(left.clone(), Style::PLAIN.dim());
    let used = line.width();
    let right_width = unicode_width::UnicodeWidthStr::width(right);
    if used + 2 + right_width <= width {
        line.push(" ".repeat(width - used - right_width), Style::PLAIN);
        let style = if status.hint.is_some() {
            Style::fg(Color::Yellow)
        } else {
            Style::PLAIN.dim()
        };
        line.push(right, style);
    }
    line.truncate(width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_results_fold_long_output() {
        let content: String = (1..=10).map(|i| format!("line {i}\n")).collect();
        let lines = tool_result("bash", &content, false, 1500);
        let texts: Vec<String> = lines.iter().map(Line::text).collect();
        assert_eq!(texts[0], "  ⎿ 10 lines of output (1.5 s)");
        assert_eq!(texts[1], "    line 1");
        assert_eq!(texts.len(), 1 + FOLDED_OUTPUT_LINES + 1);
        assert!(texts.last().is_some_and(|t| t.contains("6 more lines")));
        let error = tool_result("bash", "denied: the user said no", true, 0);
        assert_eq!(error.len(), 1);
        assert_eq!(error[0].spans[1].style, Style::fg(Color::Red));
    }

    #[test]
    fn diffs_are_coloured_by_line_kind() {
        let lines = file_modified(
            "a.txt",
            "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-old\n+new\n",
        );
        assert_eq!(lines[0].text(), "  ⎿ a.txt +1 -1");
        let style_of = |needle: &str| {
            lines
                .iter()
                .find(|l| l.text().trim() == needle)
                .map(|l| l.spans[0].style)
        };
        assert_eq!(style_of("-old"), Some(Style::fg(Color::Red)));
        assert_eq!(style_of("+new"), Some(Style::fg(Color::Green)));
        assert_eq!(style_of("@@ -1 +1 @@"), Some(Style::fg(Color::Cyan)));
    }

    #[test]
    fn tool_call_names_tool_and_target() {
        let call = ToolCall {
            id: "1".into(),
            name: "bash".into(),
            input: json!({"command": "cargo test"}),
        };
        assert_eq!(tool_call(&call).text(), "⏺ bash cargo test");
    }

    #[test]
    fn status_line_fits_the_width() {
        let status = Status {
            model: "claude-sonnet-4-5",
            mode: "ask",
            context: Some((20_000, 200_000)),
            cost: Some(Cost { micro_usd: 12_300 }),
            hint: None,
        };
        let line = status_line(&status, 100);
        assert!(
            line.text()
                .starts_with("claude-sonnet-4-5 · ask · ctx 10% · $0.0123")
        );
        assert_eq!(line.width(), 100);
        assert!(status_line(&status, 30).width() <= 30);
    }
}
