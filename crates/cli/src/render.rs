//! Headless renderers: how `cuervo -p` writes a run for each `--output-format`.

use std::io::Write;

use cuervo_domain::{AgentEvent, Cost, StopCause, Usage};
use serde::Serialize;

use cuervo_tui::format::truncate;
pub use cuervo_tui::format::{call_summary, diff_counts, format_cost, thousands};

/// How `cuervo -p` writes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    StreamJson,
}

/// The final object of `--output-format json` (and of a failed stream-json run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub is_error: bool,
    /// `completed`, `max_turns`, `token_budget`, `cancelled` or `error`.
    pub cause: String,
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub session_id: String,
    /// The provider and model that answered last (a fallback's, when the chosen one
    /// failed).
    pub provider: String,
    pub model: String,
    pub num_turns: u32,
    pub usage: Usage,
    /// What the run's model calls cost in US dollars; `null` when the model's price is
    /// unknown (never a made-up zero).
    pub cost_usd: Option<f64>,
    pub duration_ms: u64,
}

/// Writes events as they happen. `out` is stdout, `err` is stderr (progress, tools).
pub struct Renderer<O: Write, E: Write> {
    format: OutputFormat,
    out: O,
    err: E,
    at_line_start: bool,
}

impl<O: Write, E: Write> Renderer<O, E> {
    pub fn new(format: OutputFormat, out: O, err: E) -> Self {
        Self {
            format,
            out,
            err,
            at_line_start: true,
        }
    }

    pub fn event(&mut self, event: &AgentEvent) {
        // Write errors (a closed pipe) must not abort the run; the session is still saved.
        let _ = match self.format {
            OutputFormat::StreamJson => self.json_line(event),
            OutputFormat::Text => self.text(event),
            OutputFormat::Json => Ok(()),
        };
    }

    /// Ends the output: the JSON object, or a final newline for text.
    pub fn finish(&mut self, summary: &RunSummary) {
        let _ = match self.format {
            OutputFormat::Json => self.json_line(summary),
            OutputFormat::StreamJson if summary.is_error => self.json_line(summary),
            OutputFormat::StreamJson => Ok(()),
            OutputFormat::Text => self.text_end(summary),
        };
    }

    fn json_line(&mut self, value: &impl Serialize) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    fn text(&mut self, event: &AgentEvent) -> std::io::Result<()> {
        match event {
            AgentEvent::TextDelta { text } => {
                self.out.write_all(text.as_bytes())?;
                self.out.flush()?;
                if let Some(last) = text.chars().last() {
                    self.at_line_start = last == '\n';
                }
            }
            AgentEvent::ToolCall { call } => {
                self.break_line()?;
                writeln!(self.err, "● {}", call_summary(&call.name, &call.input))?;
            }
            AgentEvent::ToolExecuted {
                is_error: true,
                content,
                ..
            } => {
                let first = content.lines().next().unwrap_or("");
                writeln!(self.err, "  ⎿ {}", truncate(first, 200))?;
            }
            AgentEvent::FileModified { path, diff, .. } => {
                let (added, removed) = diff_counts(diff);
                writeln!(self.err, "  ⎿ {path}: +{added} -{removed}")?;
            }
            AgentEvent::SubAgent { id, event, .. } => match event.innermost() {
                AgentEvent::ToolCall { call } => {
                    self.break_line()?;
                    writeln!(
                        self.err,
                        "  ↳ {id} ● {}",
                        call_summary(&call.name, &call.input)
                    )?;
                }
                AgentEvent::AgentFailed { error } => {
                    writeln!(self.err, "  ↳ {id} failed: {}", truncate(error, 200))?;
                }
                _ => {}
            },
            AgentEvent::TodoUpdated { items } => {
                self.break_line()?;
                writeln!(self.err, "{}", todo_line(items))?;
            }
            AgentEvent::PlanApproved { mode, .. } => {
                writeln!(self.err, "plan approved: going on in {mode} mode")?;
            }
            event => {
                if let Some(notice) = resilience_notice(event) {
                    // On stderr, on a line of its own; stdout stays the answer alone, so a
                    // continued answer reads whole when piped.
                    let lead = if self.at_line_start { "" } else { "\n" };
                    writeln!(self.err, "{lead}{notice}")?;
                }
            }
        }
        Ok(())
    }

    /// Ends the answer's line on stdout before something else is said on stderr (an
    /// error), so the two are never glued together on a terminal.
    pub fn end_line(&mut self) {
        let _ = self.break_line();
    }

    fn break_line(&mut self) -> std::io::Result<()> {
        if !self.at_line_start {
            self.out.write_all(b"\n")?;
            self.out.flush()?;
            self.at_line_start = true;
        }
        Ok(())
    }

    fn text_end(&mut self, summary: &RunSummary) -> std::io::Result<()> {
        self.break_line()?;
        let note = match summary.cause.as_str() {
            "max_turns" => Some(format!(
                "stopped after {} (max_turns); the task may be unfinished. Raise it with --max-turns.",
                plural(summary.num_turns, "model call")
            )),
            "token_budget" => {
                Some("stopped: the token budget is spent (token_budget in the config).".into())
            }
            "cancelled" => Some("cancelled.".into()),
            _ => None,
        };
        if let Some(note) = note {
            writeln!(self.err, "{note}")?;
        }
        // A run that never reached the model (no key, a refused request) used nothing:
        // after its error, a `tokens: 0 in` line says nothing.
        if summary.usage.total() > 0 {
            writeln!(
                self.err,
                "{}",
                usage_line(&summary.usage, summary.cost_usd.map(Cost::from_usd))
            )?;
        }
        Ok(())
    }
}

/// What a person is told when a model call is retried or moves to another model: one
/// line (two with a quality note), never a log record.
pub fn resilience_notice(event: &AgentEvent) -> Option<String> {
    match event {
        AgentEvent::ModelRetry {
            provider,
            attempt,
            max_retries,
            delay_ms,
            reason,
            ..
        } => Some(format!(
            "↻ {provider}: {reason}; retrying in {} ({attempt} of {max_retries})",
            cuervo_domain::resilience::human_duration(std::time::Duration::from_millis(*delay_ms))
        )),
        AgentEvent::ModelWaiting {
            provider,
            waited_ms,
            ..
        } => Some(format!(
            "… {provider} has not answered for {}; still waiting",
            cuervo_domain::resilience::human_duration(std::time::Duration::from_millis(*waited_ms))
        )),
        AgentEvent::ModelFallback {
            from,
            to,
            reason,
            note,
        } => {
            let mut line = if reason == "it answers again" {
                format!("↪ back on {to}: it answers again")
            } else {
                format!("↪ {from}: {reason} — continuing with {to}")
            };
            if let Some(note) = note {
                line.push_str(&format!("\n  {note}"));
            }
            Some(line)
        }
        _ => None,
    }
}

/// `tasks: 1 of 4 done · now: add the breaker` — the task list in one line.
pub fn todo_line(items: &[cuervo_domain::TodoItem]) -> String {
    use cuervo_domain::TodoStatus;
    let done = items
        .iter()
        .filter(|i| i.status == TodoStatus::Done)
        .count();
    let mut line = format!("tasks: {done} of {} done", items.len());
    if let Some(now) = items.iter().find(|i| i.status == TodoStatus::InProgress) {
        line.push_str(&format!(" · now: {}", truncate(&now.content, 120)));
    }
    line
}

/// `tokens: 1,234 in · 56 out · cost $0.0042` (or `· cost unknown`).
/// What an interactive session prints as it ends: its usage, when it used any, and how
/// to come back to it. Written with `writeln!`, not `eprintln!`: after a SIGHUP the
/// terminal is gone and writing fails, which must not panic.
pub fn farewell(usage: &Usage, cost: Option<Cost>, session_id: &dyn std::fmt::Display) {
    use std::io::Write as _;
    let mut err = std::io::stderr();
    if usage.total() > 0 {
        let _ = writeln!(err, "{}", usage_line(usage, cost));
    }
    let _ = writeln!(
        err,
        "Session {session_id}: continue it with `cuervo --resume {session_id}`."
    );
}

/// `1 message`, `2 messages`: a count with its noun agreeing.
pub fn plural(count: impl Into<u64>, noun: &str) -> String {
    let count = count.into();
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

pub fn usage_line(usage: &Usage, cost: Option<Cost>) -> String {
    let mut line = format!(
        "tokens: {} in · {} out",
        thousands(usage.input_tokens),
        thousands(usage.output_tokens)
    );
    let cached = usage.cache_read_tokens + usage.cache_write_tokens;
    if cached > 0 {
        line.push_str(&format!(" · {} cache", thousands(cached)));
    }
    match cost {
        Some(_) => line.push_str(&format!(" · cost {}", format_cost(cost))),
        None => line.push_str(" · cost unknown"),
    }
    line
}

pub fn cause_name(cause: StopCause) -> &'static str {
    match cause {
        StopCause::Completed => "completed",
        StopCause::MaxTurns => "max_turns",
        StopCause::TokenBudget => "token_budget",
        StopCause::Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::ToolCall;
    use serde_json::{Value, json};

    fn render(format: OutputFormat, events: &[AgentEvent]) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        {
            let mut r = Renderer::new(format, &mut out, &mut err);
            for e in events {
                r.event(e);
            }
            r.finish(&summary());
        }
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn summary() -> RunSummary {
        RunSummary {
            kind: "result",
            is_error: false,
            cause: "completed".into(),
            result: "Done".into(),
            error: None,
            session_id: "s".into(),
            provider: "p".into(),
            model: "m".into(),
            num_turns: 1,
            usage: Usage {
                input_tokens: 1234,
                output_tokens: 56,
                ..Usage::default()
            },
            cost_usd: Some(0.0042),
            duration_ms: 1,
        }
    }

    fn events() -> Vec<AgentEvent> {
        vec![
            AgentEvent::TextDelta {
                text: "Reading".into(),
            },
            AgentEvent::ToolCall {
                call: ToolCall {
                    id: "c".into(),
                    name: "read".into(),
                    input: json!({"path": "src/a.rs"}),
                },
            },
            AgentEvent::FileModified {
                call_id: "c".into(),
                path: "src/a.rs".into(),
                diff: "--- a\n+++ b\n-x\n+y\n+z\n".into(),
            },
            AgentEvent::TextDelta {
                text: "Done".into(),
            },
        ]
    }

    #[test]
    fn text_streams_answer_to_stdout_and_tools_to_stderr() {
        let (out, err) = render(OutputFormat::Text, &events());
        assert_eq!(out, "Reading\nDone\n");
        assert_eq!(
            err,
            "● read src/a.rs\n  ⎿ src/a.rs: +2 -1\ntokens: 1,234 in · 56 out · cost $0.0042\n"
        );
    }

    #[test]
    fn usage_lines_and_unknown_costs_read_well() {
        let usage = Usage {
            input_tokens: 10,
            output_tokens: 2,
            ..Usage::default()
        };
        assert_eq!(
            usage_line(&usage, None),
            "tokens: 10 in · 2 out · cost unknown"
        );
        let mut summary = summary();
        summary.cost_usd = None;
        let v = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            v["cost_usd"],
            Value::Null,
            "unknown is null, not absent or 0"
        );
    }

    #[test]
    fn stream_json_is_one_event_per_line() {
        let (out, _) = render(OutputFormat::StreamJson, &events());
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], json!({"type": "text_delta", "text": "Reading"}));
        assert_eq!(lines[1]["type"], "tool_call");
    }

    #[test]
    fn json_prints_only_the_summary() {
        let (out, err) = render(OutputFormat::Json, &events());
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["type"], "result");
        assert_eq!(v["result"], "Done");
        assert_eq!(v["is_error"], false);
        assert_eq!(v["cost_usd"], 0.0042);
        assert!(err.is_empty());
    }
}
