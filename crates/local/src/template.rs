//! Chat templates: the Jinja template a GGUF file carries in `tokenizer.chat_template`,
//! rendered with minijinja the way Hugging Face `transformers` renders it.
//!
//! What `transformers` sets up and templates rely on: `trim_blocks` and `lstrip_blocks`,
//! a `raise_exception(msg)` function, `strftime_now(fmt)` (Llama 3.x), a `tojson` filter
//! with Python's separators (`", "` and `": "`), Python string methods (`strip`,
//! `startswith`, `split`...; here from `minijinja-contrib`'s pycompat), loop controls,
//! and the variables `messages`, `tools`, `add_generation_prompt`, `bos_token` and
//! `eos_token`.
//!
//! The domain conversation becomes the `transformers` message format: tool calls as
//! `tool_calls: [{type: "function", id, function: {name, arguments}}]` on the assistant
//! message, tool results as `{role: "tool", tool_call_id, name, content}`. A template that
//! knows no `tool` role gets them as text instead (see [`ChatTemplate::render`]).

use std::fmt::Write as _;

use cuervo_domain::{ContentBlock, Message, Role, ToolSpec};
use minijinja::value::{Kwargs, Serde};
use minijinja::{Environment, ErrorKind, Value as JValue};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// Used when a GGUF file carries no template: ChatML, which most instruct models know.
pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Markers that end an assistant turn in the common template families. Those that occur
/// in a model's template are stop strings for that model, besides its EOS token.
pub const END_MARKERS: &[&str] = &[
    "<|im_end|>",      // ChatML: Qwen 2.5/3, SmolLM2, Hermes
    "<|eot_id|>",      // Llama 3.x
    "<|eom_id|>",      // Llama 3.1 tool turns
    "<|end|>",         // Phi-3
    "<end_of_turn>",   // Gemma
    "<|endoftext|>",   // Qwen base, Phi
    "<|end_of_text|>", // Llama 3 base
];

/// A parsed chat template and what it supports.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    bos_token: String,
    eos_token: String,
}

/// How a model writes tool calls, as far as this crate can parse them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolCallFormat {
    /// `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` (Qwen 2.5, Qwen 3,
    /// Hermes-style fine-tunes).
    Hermes,
}

impl ChatTemplate {
    /// Compiles `source`. `bos_token`/`eos_token` are the token texts templates insert.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| Error::Template(describe(&e)))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_template_owned("chat", source.to_owned())
            .map_err(|e| Error::Template(describe(&e)))?;
        Ok(Self {
            env,
            source: source.to_owned(),
            bos_token: bos_token.to_owned(),
            eos_token: eos_token.to_owned(),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template renders a `tools` list (so tool specs reach the model).
    pub fn supports_tools(&self) -> bool {
        self.source.contains("tools")
    }

    /// The tool-call syntax the template teaches the model, if this crate can parse it.
    pub fn tool_call_format(&self) -> Option<ToolCallFormat> {
        (self.supports_tools() && self.source.contains("<tool_call>"))
            .then_some(ToolCallFormat::Hermes)
    }

    /// Whether the model thinks in `<think>...</think>` before answering (Qwen 3).
    pub fn thinks(&self) -> bool {
        self.source.contains("<think>")
    }

    /// The turn-end markers this template uses (stop strings besides EOS).
    pub fn end_markers(&self) -> Vec<&'static str> {
        END_MARKERS
            .iter()
            .copied()
            .filter(|m| self.source.contains(m) || self.eos_token == *m)
            .collect()
    }

    /// Renders a conversation for generation. The system prompt comes first; tool specs
    /// go into the template's `tools` variable when it has one. A template that rejects
    /// the system role (Gemma 2 raises an exception) is retried with the system prompt
    /// folded into the first user message; a template without a `tool` role gets tool
    /// calls and results as text.
    pub fn render(
        &self,
        system: Option<&str>,
        messages: &[Message],
        tools: &[ToolSpec],
    ) -> Result<String> {
        self.render_with(system, messages, tools, None)
    }

    /// [`ChatTemplate::render`], also setting the template's `enable_thinking` (Qwen 3:
    /// `Some(false)` makes the model answer without a `<think>` block).
    pub fn render_with(
        &self,
        system: Option<&str>,
        messages: &[Message],
        tools: &[ToolSpec],
        enable_thinking: Option<bool>,
    ) -> Result<String> {
        let native_tools = self.source.contains("tool_call");
        let mut msgs = Vec::new();
        if let Some(system) = system.filter(|s| !s.is_empty()) {
            msgs.push(json!({"role": "system", "content": system}));
        }
        msgs.extend(to_template_messages(messages, native_tools));
        let tools = if self.supports_tools() { tools } else { &[] };
        match self.render_inner(&msgs, tools, enable_thinking) {
            Ok(text) => Ok(text),
            Err(first) if system.is_some() => {
                let folded = fold_system(msgs);
                self.render_inner(&folded, tools, enable_thinking)
                    .map_err(|_| first)
            }
            Err(e) => Err(e),
        }
    }

    /// Renders `messages` already in the `transformers` JSON format; `tools` (if any)
    /// become the template's `tools` variable.
    pub fn render_json(&self, messages: &[Value], tools: &[ToolSpec]) -> Result<String> {
        self.render_inner(messages, tools, None)
    }

    fn render_inner(
        &self,
        messages: &[Value],
        tools: &[ToolSpec],
        enable_thinking: Option<bool>,
    ) -> Result<String> {
        let tools: Option<Vec<JValue>> =
            (!tools.is_empty()).then(|| tools.iter().map(tool_value).collect());
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| Error::Template(describe(&e)))?;
        let ctx = minijinja::context! {
            messages => JValue::from(Serde(messages)),
            tools => tools.map(JValue::from),
            add_generation_prompt => true,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
        };
        // Only when asked: templates test `enable_thinking is defined`.
        let ctx = match enable_thinking {
            Some(on) => minijinja::context! { enable_thinking => on, ..ctx },
            None => ctx,
        };
        template
            .render(ctx)
            .map_err(|e| Error::Template(describe(&e)))
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let _ = write!(s, ": {inner}");
        source = inner.source();
    }
    s
}

/// A tool in the `transformers` format, keys in its order (`type`, `function`: `name`,
/// `description`, `parameters`), as models saw it in training.
fn tool_value(spec: &ToolSpec) -> JValue {
    minijinja::context! {
        type => "function",
        function => minijinja::context! {
            name => spec.name.as_str(),
            description => spec.description.as_str(),
            parameters => JValue::from(Serde(&spec.input_schema)),
        },
    }
}

/// The domain conversation in the `transformers` chat format. With `native_tools` false,
/// tool calls become `<tool_call>` text and results become user messages.
pub fn to_template_messages(messages: &[Message], native_tools: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for message in messages {
        match message.role {
            Role::User => out.push(json!({"role": "user", "content": text_of(&message.content)})),
            Role::Assistant => {
                let mut text = text_of(&message.content);
                let calls: Vec<_> = message.tool_calls().collect();
                if native_tools && !calls.is_empty() {
                    let tool_calls: Vec<Value> = calls
                        .iter()
                        .map(|c| {
                            json!({"type": "function", "id": c.id,
                                   "function": {"name": c.name, "arguments": c.input}})
                        })
                        .collect();
                    out.push(
                        json!({"role": "assistant", "content": text, "tool_calls": tool_calls}),
                    );
                } else {
                    for c in calls {
                        let call = json!({"name": c.name, "arguments": c.input});
                        let _ = write!(text, "\n<tool_call>\n{call}\n</tool_call>");
                    }
                    out.push(json!({"role": "assistant", "content": text}));
                }
            }
            Role::Tool => {
                for result in message.tool_results_iter() {
                    let name = find_call_name(messages, &result.call_id);
                    let content = if result.is_error {
                        format!("Error: {}", result.content)
                    } else {
                        result.content.clone()
                    };
                    if native_tools {
                        out.push(json!({"role": "tool", "tool_call_id": result.call_id,
                                        "name": name, "content": content}));
                    } else {
                        out.push(json!({"role": "user", "content":
                            format!("<tool_response>\n{content}\n</tool_response>")}));
                    }
                }
            }
        }
    }
    out
}

fn find_call_name(messages: &[Message], id: &str) -> String {
    messages
        .iter()
        .flat_map(|m| m.tool_calls())
        .find(|c| c.id == id)
        .map(|c| c.name.clone())
        .unwrap_or_default()
}

fn text_of(blocks: &[ContentBlock]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            ContentBlock::Text { text } => out.push_str(text),
            ContentBlock::Image { .. } => {
                out.push_str("[image omitted: this model cannot see images]")
            }
            _ => {}
        }
    }
    out
}

/// Folds a leading system message into the first user message.
fn fold_system(mut msgs: Vec<Value>) -> Vec<Value> {
    if msgs.first().and_then(|m| m["role"].as_str()) != Some("system") {
        return msgs;
    }
    let system = msgs.remove(0);
    let system = system["content"].as_str().unwrap_or_default().to_owned();
    if let Some(first_user) = msgs.iter_mut().find(|m| m["role"] == "user") {
        let content = first_user["content"].as_str().unwrap_or_default();
        first_user["content"] = Value::String(format!("{system}\n\n{content}"));
    } else {
        msgs.insert(0, json!({"role": "user", "content": system}));
    }
    msgs
}

fn raise_exception(msg: String) -> std::result::Result<String, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
}

/// `tojson` as `transformers` defines it: `json.dumps(x, ensure_ascii=False)`, which
/// separates with `", "` and `": "`, optionally indented. Maps keep their order.
fn tojson(
    value: JValue,
    indent: Option<usize>,
    kwargs: Kwargs,
) -> std::result::Result<JValue, minijinja::Error> {
    let indent = match kwargs.get::<Option<usize>>("indent")? {
        Some(n) => Some(n),
        None => indent,
    };
    // Accepted for compatibility; the output is always `ensure_ascii=False`, unsorted.
    let _: Option<JValue> = kwargs.get("ensure_ascii")?;
    let _: Option<JValue> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let mut out = String::new();
    python_json(&value, indent, 0, &mut out)?;
    Ok(JValue::from_safe_string(out))
}

fn python_json(
    v: &JValue,
    indent: Option<usize>,
    depth: usize,
    out: &mut String,
) -> std::result::Result<(), minijinja::Error> {
    use minijinja::value::ValueKind;
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => match v.as_i64() {
            Some(i) if v.is_integer() => out.push_str(&i.to_string()),
            _ => {
                let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                // Python prints floats with a fractional part (`1.0`).
                let s = serde_json::Number::from_f64(f).map_or("NaN".into(), |n| n.to_string());
                out.push_str(&s);
                if !s.contains(['.', 'e', 'E', 'N']) {
                    out.push_str(".0");
                }
            }
        },
        ValueKind::String | ValueKind::Plain => {
            out.push_str(&Value::String(v.to_string()).to_string());
        }
        ValueKind::Map => {
            let keys: Vec<JValue> = v.try_iter()?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                out.push_str(&Value::String(k.to_string()).to_string());
                out.push_str(": ");
                python_json(&v.get_item(k)?, indent, depth + 1, out)?;
            }
            newline(out, depth);
            out.push('}');
        }
        _ => {
            let items: Vec<JValue> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                python_json(item, indent, depth + 1, out)?;
            }
            newline(out, depth);
            out.push(']');
        }
    }
    Ok(())
}

/// `strftime_now(fmt)`: the current UTC date and time, for templates that print today's
/// date (Llama 3.1+). Supports the directives those templates use.
fn strftime_now(fmt: String) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    strftime(&fmt, secs)
}

/// Formats `unix_secs` (UTC) with `%d %m %Y %y %B %b %H %M %S %A %a %j %%`.
pub fn strftime(fmt: &str, unix_secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    let days = unix_secs / 86_400;
    let tod = unix_secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = cumulative[(m - 1) as usize] + d + i64::from(leap && m > 2);
    let month = MONTHS[(m - 1) as usize];
    let weekday = DAYS[(days % 7) as usize];
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let _ = match chars.next() {
            Some('d') => write!(out, "{d:02}"),
            Some('m') => write!(out, "{m:02}"),
            Some('Y') => write!(out, "{y}"),
            Some('y') => write!(out, "{:02}", y % 100),
            Some('B') => write!(out, "{month}"),
            Some('b') => write!(out, "{}", &month[..3]),
            Some('A') => write!(out, "{weekday}"),
            Some('a') => write!(out, "{}", &weekday[..3]),
            Some('H') => write!(out, "{:02}", tod / 3600),
            Some('M') => write!(out, "{:02}", tod / 60 % 60),
            Some('S') => write!(out, "{:02}", tod % 60),
            Some('j') => write!(out, "{yday:03}"),
            Some('%') => write!(out, "%"),
            Some(other) => write!(out, "%{other}"),
            None => write!(out, "%"),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuervo_domain::{ToolCall, ToolResult};

    #[test]
    fn chatml_renders_with_generation_prompt() {
        let t = ChatTemplate::new(CHATML, "", "<|im_end|>").unwrap();
        let out = t
            .render(Some("Be brief."), &[Message::user("Hi")], &[])
            .unwrap();
        assert_eq!(
            out,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(t.end_markers(), vec!["<|im_end|>"]);
        assert!(!t.supports_tools());
    }

    #[test]
    fn raise_exception_becomes_an_error_and_system_is_folded() {
        // Gemma 2's guard against the system role.
        let src = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
        let t = ChatTemplate::new(src, "<bos>", "<eos>").unwrap();
        let err = t
            .render_json(&[json!({"role": "system", "content": "x"})], &[])
            .unwrap_err();
        assert!(
            err.to_string().contains("System role not supported"),
            "{err}"
        );
        let out = t
            .render(Some("Be brief."), &[Message::user("Hi")], &[])
            .unwrap();
        assert_eq!(
            out,
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
        );
        assert_eq!(t.end_markers(), vec!["<end_of_turn>"]);
    }

    #[test]
    fn tools_reach_a_template_that_has_them_with_python_json() {
        let src = "{% if tools %}{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}{% endif %}{% for m in messages %}{% if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>{{ c.function.arguments | tojson }}</tool_call>{% endfor %}{% elif m.role == 'tool' %}[{{ m.name }}:{{ m.content }}]{% else %}{{ m.content.strip() }}{% endif %}\n{% endfor %}";
        let t = ChatTemplate::new(src, "", "").unwrap();
        assert_eq!(t.tool_call_format(), Some(ToolCallFormat::Hermes));
        let tools = vec![ToolSpec {
            name: "read".into(),
            description: "Read a file".into(),
            input_schema: json!({"type": "object"}),
        }];
        let call = ToolCall {
            id: "c1".into(),
            name: "read".into(),
            input: json!({"path": "a.rs"}),
        };
        let messages = vec![
            Message::user("  open a.rs  "),
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse(call)],
            },
            Message::tool_results(vec![ToolResult {
                call_id: "c1".into(),
                content: "fn main() {}".into(),
                is_error: false,
            }]),
        ];
        let out = t.render(None, &messages, &tools).unwrap();
        // Jinja2 (trim_blocks) renders exactly this for the same template and input.
        assert_eq!(
            out,
            "{\"type\": \"function\", \"function\": {\"name\": \"read\", \"description\": \"Read a file\", \"parameters\": {\"type\": \"object\"}}}\nopen a.rs<tool_call>{\"path\": \"a.rs\"}</tool_call>[read:fn main() {}]"
        );
    }

    #[test]
    fn tool_turns_become_text_for_templates_without_tools() {
        let call = ToolCall {
            id: "c1".into(),
            name: "ls".into(),
            input: json!({}),
        };
        let msgs = to_template_messages(
            &[
                Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse(call)],
                },
                Message::tool_results(vec![ToolResult {
                    call_id: "c1".into(),
                    content: "a.rs".into(),
                    is_error: true,
                }]),
            ],
            false,
        );
        assert_eq!(
            msgs,
            vec![
                json!({"role": "assistant", "content": format!(
                    "\n<tool_call>\n{}\n</tool_call>",
                    json!({"name": "ls", "arguments": {}})
                )}),
                json!({"role": "user", "content": "<tool_response>\nError: a.rs\n</tool_response>"}),
            ]
        );
    }

    #[test]
    fn enable_thinking_reaches_the_template_only_when_set() {
        let src = "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{{ messages[0].content }}";
        let t = ChatTemplate::new(src, "", "").unwrap();
        let m = [Message::user("hi")];
        assert_eq!(t.render(None, &m, &[]).unwrap(), "hi");
        assert_eq!(
            t.render_with(None, &m, &[], Some(false)).unwrap(),
            "<think>\n\n</think>\n\nhi"
        );
        assert_eq!(t.render_with(None, &m, &[], Some(true)).unwrap(), "hi");
    }

    #[test]
    fn strftime_formats_known_dates() {
        // 2024-07-26 13:05:09 UTC, a Friday, day 208 of a leap year.
        assert_eq!(
            strftime("%d %b %Y %H:%M:%S %A %j %B %%", 1_722_000_309),
            "26 Jul 2024 13:25:09 Friday 208 July %"
        );
        assert_eq!(strftime("%Y-%m-%d", 0), "1970-01-01");
    }
}
