//! Turns a model's streamed text into domain chunks: plain text, `<think>` reasoning
//! (Qwen 3) and `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks
//! (Qwen 2.5/3 and Hermes-style templates).
//!
//! Text is passed on as soon as it cannot be the start of a tag, so streaming stays
//! smooth; a tool call is emitted whole once its closing tag arrives and its JSON parses.
//! A block that does not parse is passed on as text, so nothing the model said is lost.

use cuervo_domain::{ModelChunk, ToolCall};
use serde_json::Value;

const CALL_OPEN: &str = "<tool_call>";
const CALL_CLOSE: &str = "</tool_call>";
const THINK_OPEN: &str = "<think>";
const THINK_CLOSE: &str = "</think>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Text,
    Think,
    Call,
}

/// A streaming parser. Feed it text with [`OutputParser::push`], then call
/// [`OutputParser::finish`].
#[derive(Debug)]
pub struct OutputParser {
    parse_calls: bool,
    parse_think: bool,
    mode: Mode,
    buf: String,
    calls: usize,
    id_prefix: String,
}

impl OutputParser {
    /// `parse_calls`: recognise `<tool_call>` blocks; `parse_think`: recognise `<think>`.
    /// Call ids are `{id_prefix}{n}`.
    pub fn new(parse_calls: bool, parse_think: bool, id_prefix: impl Into<String>) -> Self {
        Self {
            parse_calls,
            parse_think,
            mode: Mode::Text,
            buf: String::new(),
            calls: 0,
            id_prefix: id_prefix.into(),
        }
    }

    /// How many tool calls were emitted so far.
    pub fn tool_calls(&self) -> usize {
        self.calls
    }

    pub fn push(&mut self, text: &str) -> Vec<ModelChunk> {
        self.buf.push_str(text);
        let mut out = Vec::new();
        loop {
            match self.mode {
                Mode::Text | Mode::Think => {
                    let tags: &[&str] = if self.mode == Mode::Think {
                        &[THINK_CLOSE]
                    } else {
                        match (self.parse_calls, self.parse_think) {
                            (true, true) => &[CALL_OPEN, THINK_OPEN],
                            (true, false) => &[CALL_OPEN],
                            (false, true) => &[THINK_OPEN],
                            (false, false) => &[],
                        }
                    };
                    let found = tags
                        .iter()
                        .filter_map(|t| self.buf.find(t).map(|i| (i, *t)))
                        .min();
                    if let Some((i, tag)) = found {
                        let before: String = self.buf.drain(..i).collect();
                        self.emit(&before, &mut out);
                        self.buf.drain(..tag.len());
                        self.mode = match tag {
                            CALL_OPEN => Mode::Call,
                            THINK_OPEN => Mode::Think,
                            _ => Mode::Text,
                        };
                        continue;
                    }
                    // Keep back a suffix that may be the start of a tag.
                    let keep = tags
                        .iter()
                        .map(|t| partial_suffix(&self.buf, t))
                        .max()
                        .unwrap_or(0);
                    let cut = self.buf.len() - keep;
                    let ready: String = self.buf.drain(..cut).collect();
                    self.emit(&ready, &mut out);
                    break;
                }
                Mode::Call => {
                    let Some(i) = self.buf.find(CALL_CLOSE) else {
                        break;
                    };
                    let body: String = self.buf.drain(..i).collect();
                    self.buf.drain(..CALL_CLOSE.len());
                    self.mode = Mode::Text;
                    match parse_call(&body) {
                        Some((name, input)) => {
                            let id = format!("{}{}", self.id_prefix, self.calls);
                            self.calls += 1;
                            out.push(ModelChunk::ToolUseStart {
                                id: id.clone(),
                                name: name.clone(),
                            });
                            out.push(ModelChunk::ToolUse {
                                call: ToolCall { id, name, input },
                            });
                        }
                        None => out.push(ModelChunk::Text {
                            text: format!("{CALL_OPEN}{body}{CALL_CLOSE}"),
                        }),
                    }
                }
            }
        }
        out
    }

    /// Flushes what is held back. An unclosed tool call is passed on as text.
    pub fn finish(&mut self) -> Vec<ModelChunk> {
        let rest = std::mem::take(&mut self.buf);
        let mut out = Vec::new();
        match self.mode {
            Mode::Call => out.push(ModelChunk::Text {
                text: format!("{CALL_OPEN}{rest}"),
            }),
            _ => self.emit(&rest, &mut out),
        }
        self.mode = Mode::Text;
        out
    }

    fn emit(&self, text: &str, out: &mut Vec<ModelChunk>) {
        if text.is_empty() {
            return;
        }
        out.push(if self.mode == Mode::Think {
            ModelChunk::Thinking {
                thinking: text.to_owned(),
            }
        } else {
            ModelChunk::Text {
                text: text.to_owned(),
            }
        });
    }
}

/// The length of the longest suffix of `s` that is a proper prefix of `tag`.
fn partial_suffix(s: &str, tag: &str) -> usize {
    (1..tag.len().min(s.len() + 1))
        .rev()
        .find(|&n| s.is_char_boundary(s.len() - n) && tag.starts_with(&s[s.len() - n..]))
        .unwrap_or(0)
}

/// `{"name": "...", "arguments": {...}}`; `arguments` may also be a JSON string, and
/// some models say `parameters`.
fn parse_call(body: &str) -> Option<(String, Value)> {
    let v: Value = serde_json::from_str(body.trim()).ok()?;
    let name = v.get("name")?.as_str()?.to_owned();
    let args = v
        .get("arguments")
        .or_else(|| v.get("parameters"))
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let args = match args {
        Value::String(s) => serde_json::from_str(&s).ok()?,
        other => other,
    };
    Some((name, args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(p: &mut OutputParser, pieces: &[&str]) -> Vec<ModelChunk> {
        let mut out: Vec<ModelChunk> = pieces.iter().flat_map(|s| p.push(s)).collect();
        out.extend(p.finish());
        // Merge adjacent text for readable assertions.
        let mut merged: Vec<ModelChunk> = Vec::new();
        for c in out {
            match (merged.last_mut(), c) {
                (Some(ModelChunk::Text { text: a }), ModelChunk::Text { text: b }) => {
                    a.push_str(&b)
                }
                (
                    Some(ModelChunk::Thinking { thinking: a }),
                    ModelChunk::Thinking { thinking: b },
                ) => a.push_str(&b),
                (_, c) => merged.push(c),
            }
        }
        merged
    }

    #[test]
    fn a_tool_call_split_across_tokens() {
        let mut p = OutputParser::new(true, false, "call_");
        let out = run(
            &mut p,
            &[
                "Let me look.\n<to",
                "ol_call>\n{\"name\": \"read\", \"argu",
                "ments\": {\"path\": \"a.rs\"}}\n</tool_",
                "call>",
            ],
        );
        assert_eq!(
            out,
            vec![
                ModelChunk::Text {
                    text: "Let me look.\n".into()
                },
                ModelChunk::ToolUseStart {
                    id: "call_0".into(),
                    name: "read".into()
                },
                ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "call_0".into(),
                        name: "read".into(),
                        input: json!({"path": "a.rs"})
                    }
                },
            ]
        );
        assert_eq!(p.tool_calls(), 1);
    }

    #[test]
    fn text_that_only_looks_like_a_tag_is_passed_on() {
        let mut p = OutputParser::new(true, false, "c");
        assert_eq!(
            p.push("a <b> <to"),
            vec![ModelChunk::Text {
                text: "a <b> ".into()
            }]
        );
        assert_eq!(
            run(&mut p, &["ol>"]),
            vec![ModelChunk::Text {
                text: "<tool>".into()
            }]
        );
        let mut p = OutputParser::new(true, false, "c");
        assert_eq!(
            run(&mut p, &["<tool_call>not json</tool_call> ok"]),
            vec![ModelChunk::Text {
                text: "<tool_call>not json</tool_call> ok".into()
            }]
        );
    }

    #[test]
    fn thinking_and_string_arguments() {
        let mut p = OutputParser::new(true, true, "c");
        let out = run(
            &mut p,
            &[
                "<think>\nhm",
                "m</think>\n\nDone.<tool_call>{\"name\":\"ls\",\"arguments\":\"{\\\"d\\\":1}\"}</tool_call>",
            ],
        );
        assert_eq!(
            out,
            vec![
                ModelChunk::Thinking {
                    thinking: "\nhmm".into()
                },
                ModelChunk::Text {
                    text: "\n\nDone.".into()
                },
                ModelChunk::ToolUseStart {
                    id: "c0".into(),
                    name: "ls".into()
                },
                ModelChunk::ToolUse {
                    call: ToolCall {
                        id: "c0".into(),
                        name: "ls".into(),
                        input: json!({"d": 1})
                    }
                },
            ]
        );
    }

    #[test]
    fn plain_models_stream_everything() {
        let mut p = OutputParser::new(false, false, "c");
        assert_eq!(
            p.push("<tool_call>{}"),
            vec![ModelChunk::Text {
                text: "<tool_call>{}".into()
            }]
        );
    }
}
