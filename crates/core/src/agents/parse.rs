//! Agent files: YAML front matter between `---` lines, then the system prompt.
//!
//! One format reads both Cuervo's files and Claude Code's (`name`, `description`, `tools`,
//! `model`; `tools` as a comma-separated string or a YAML list, Claude Code's tool names
//! mapped to ours). The front matter is parsed with a real YAML parser (`serde_norway`,
//! the one the CLI's config uses; a pure parser, no I/O), because descriptions are often
//! block scalars or quoted strings with escapes. Many Claude Code files in the wild are
//! not strict YAML, though (a description with `user: "…"` examples on one line); rather
//! than lose a team's agent, such front matter is read again as plain `key: value` lines
//! for the keys this module knows, and the definition carries a note saying so.

use serde_norway::{Mapping, Value};

use super::{AgentDefinition, AgentSource, READ_ONLY_TOOLS, TOOL_NAMES};
use crate::resilience::Role;

/// Claude Code's model aliases and the Anthropic models they stand for here. Claude Code
/// moves its aliases to newer models over time; these are the newest each family has in
/// the providers' capability and price tables.
pub const MODEL_ALIASES: &[(&str, &str)] = &[
    ("sonnet", "claude-sonnet-4-5"),
    ("opus", "claude-opus-4-5"),
    ("haiku", "claude-haiku-4-5"),
];

/// Claude Code's tool names (lowercased) and ours. `Agent` is the newer name of `Task`.
const CLAUDE_TOOLS: &[(&str, &str)] = &[
    ("read", "read"),
    ("write", "write"),
    ("edit", "edit"),
    ("multiedit", "edit"),
    ("glob", "glob"),
    ("grep", "grep"),
    ("ls", "ls"),
    ("bash", "bash"),
    ("todowrite", "todo"),
    ("task", "task"),
    ("agent", "task"),
];

/// The keys the lenient reading recognises at the start of a line. Other lines continue
/// the value before them, so a description's unindented `user:` lines stay in it.
const KNOWN_KEYS: &[&str] = &[
    "name",
    "description",
    "tools",
    "disallowedTools",
    "model",
    "role",
    "color",
    "permissionMode",
    "maxTurns",
    "skills",
    "mcpServers",
    "hooks",
    "memory",
    "background",
    "isolation",
];

/// Why an agent file was not loaded. Says which key is wrong, when one is; the loader adds
/// the file's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentFileError {
    #[error(
        "no front matter: start the file with a `---` line, then `name:` and `description:` \
         lines and a closing `---` line, then the prompt"
    )]
    NoFrontMatter,
    #[error("the front matter has no closing `---` line")]
    Unclosed,
    #[error("the front matter is not valid YAML: {0}")]
    Yaml(String),
    #[error("the front matter must be `key: value` lines")]
    NotMapping,
    #[error("`{key}` is missing: {hint}")]
    Missing {
        key: &'static str,
        hint: &'static str,
    },
    #[error("`{key}` must be {expected}")]
    WrongType { key: String, expected: &'static str },
    #[error("`{key}`: `{value}` is not {expected}")]
    BadValue {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "`name`: `{name}` is not a valid agent name: use lowercase letters, digits and `-` \
         (at most 64 characters), e.g. `{suggestion}`"
    )]
    BadName { name: String, suggestion: String },
    #[error("the body is empty: write the agent's system prompt after the closing `---`")]
    EmptyBody,
}

impl AgentFileError {
    /// The front matter key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            AgentFileError::Missing { key, .. } | AgentFileError::BadValue { key, .. } => Some(key),
            AgentFileError::WrongType { key, .. } => Some(key),
            AgentFileError::BadName { .. } => Some("name"),
            _ => None,
        }
    }
}

/// Reads one agent file. Pure: `source` only names where the text came from (its file
/// name is the agent's name when the front matter has none).
pub fn parse_agent_file(
    text: &str,
    source: AgentSource,
) -> Result<AgentDefinition, AgentFileError> {
    let (front, body) = split_front_matter(text)?;
    match serde_norway::from_str::<Value>(front) {
        Ok(Value::Null) => from_map(&Mapping::new(), body, source, Vec::new()),
        Ok(Value::Mapping(map)) => from_map(&map, body, source, Vec::new()),
        Ok(_) => Err(AgentFileError::NotMapping),
        Err(error) => {
            let message = yaml_message(&error);
            let strict = || AgentFileError::Yaml(message.clone());
            let map = lenient_front_matter(front).ok_or_else(strict)?;
            let note = format!(
                "the front matter is not valid YAML ({message}); it was read as plain \
                 `key: value` lines: quote the description to silence this"
            );
            from_map(&map, body, source, vec![note]).map_err(|_| strict())
        }
    }
}

/// Checks an agent name: lowercase ASCII letters, digits and `-`, not at either end, at
/// most 64 characters. Names are typed by a model into a tool call and used as file names,
/// so they stay plain.
pub fn validate_name(name: &str) -> Result<(), AgentFileError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        return Ok(());
    }
    let mut suggestion = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            suggestion.push(c);
        } else if !suggestion.is_empty() && !suggestion.ends_with('-') {
            suggestion.push('-');
        }
    }
    suggestion.truncate(64);
    let suggestion = suggestion.trim_end_matches('-').to_owned();
    Err(AgentFileError::BadName {
        name: name.to_owned(),
        suggestion: if suggestion.is_empty() {
            "my-agent".into()
        } else {
            suggestion
        },
    })
}

/// Our name for a tool a definition lists: ours as is, Claude Code's mapped
/// (case-insensitively: `Read` → `read`, `MultiEdit` → `edit`, `TodoWrite` → `todo`).
/// A specifier in parentheses (`Task(explorer)`, `Bash(git:*)`) is dropped. `None` for a
/// tool Cuervo does not have (`WebFetch`, `NotebookEdit`, `mcp__…`).
pub fn tool_name(name: &str) -> Option<&'static str> {
    let base = name.split('(').next().unwrap_or(name).trim();
    let lower = base.to_ascii_lowercase();
    TOOL_NAMES
        .iter()
        .copied()
        .find(|t| *t == lower)
        .or_else(|| {
            CLAUDE_TOOLS
                .iter()
                .find(|(claude, _)| *claude == lower)
                .map(|(_, ours)| *ours)
        })
}

/// The front matter and the body of `text`. The first line that is not blank must be
/// `---`; the next `---` line closes the front matter.
fn split_front_matter(text: &str) -> Result<(&str, &str), AgentFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut offset = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let end = offset + line.len();
        match start {
            None if line.trim().is_empty() => {}
            None if line.trim_end() == "---" => start = Some(end),
            None => return Err(AgentFileError::NoFrontMatter),
            Some(from) if line.trim_end() == "---" => {
                return Ok((&text[from..offset], &text[end..]));
            }
            Some(_) => {}
        }
        offset = end;
    }
    Err(if start.is_some() {
        AgentFileError::Unclosed
    } else {
        AgentFileError::NoFrontMatter
    })
}

/// The parser's message with the line counted in the file (the front matter starts on its
/// second line).
fn yaml_message(error: &serde_norway::Error) -> String {
    let text = error.to_string();
    let Some(at) = error.location() else {
        return text;
    };
    let suffix = format!(" at line {} column {}", at.line(), at.column());
    let what = text.strip_suffix(&suffix).unwrap_or(&text);
    format!("line {}: {what}", at.line() + 1)
}

/// The front matter read as `key: value` lines for the keys in [`KNOWN_KEYS`]; a line
/// that starts with none of them continues the previous value, and a value made only of
/// `- item` lines is a list. `None` when text comes before the first known key.
fn lenient_front_matter(front: &str) -> Option<Mapping> {
    let mut entries: Vec<(&str, String)> = Vec::new();
    for line in front.lines() {
        let key = line
            .split_once(':')
            .filter(|(key, _)| KNOWN_KEYS.contains(key));
        match (key, entries.last_mut()) {
            (Some((key, value)), _) => entries.push((key, value.trim().to_owned())),
            (None, Some((_, value))) => {
                if !value.is_empty() {
                    value.push('\n');
                }
                value.push_str(line.trim());
            }
            (None, None) if line.trim().is_empty() || line.trim_start().starts_with('#') => {}
            (None, None) => return None,
        }
    }
    if entries.is_empty() {
        return None;
    }
    let unquote = |s: &str| -> String {
        let s = s.trim();
        let quoted = s.len() >= 2
            && ((s.starts_with('"') && s.ends_with('"'))
                || (s.starts_with('\'') && s.ends_with('\'')));
        if quoted { &s[1..s.len() - 1] } else { s }.to_owned()
    };
    let mut map = Mapping::new();
    for (key, value) in entries {
        let value = value.trim();
        let items: Option<Vec<Value>> = value
            .lines()
            .map(|l| {
                l.strip_prefix("- ")
                    .map(|item| Value::String(unquote(item)))
            })
            .collect();
        let value = match items {
            Some(items) if !items.is_empty() => Value::Sequence(items),
            _ if value.is_empty() => Value::Null,
            _ => Value::String(unquote(value)),
        };
        map.insert(Value::String(key.to_owned()), value);
    }
    Some(map)
}

/// Builds the definition from the front matter's keys.
fn from_map(
    map: &Mapping,
    body: &str,
    source: AgentSource,
    mut notes: Vec<String>,
) -> Result<AgentDefinition, AgentFileError> {
    let (mut name, mut description, mut model, mut role) = (None, None, None, None);
    let (mut tools, mut disallowed) = (None, None);
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            notes.push("a key that is not text was ignored".into());
            continue;
        };
        match key {
            "name" => name = scalar(key, value)?,
            "description" => description = scalar(key, value)?,
            "model" => model = scalar(key, value)?,
            "role" => role = scalar(key, value)?,
            "tools" => tools = tool_list(key, value)?,
            "disallowedTools" | "disallowed_tools" => disallowed = tool_list(key, value)?,
            // Cosmetic in Claude Code's UI.
            "color" => {}
            "permissionMode" => notes.push(
                "`permissionMode` is not supported: your permission mode and rules apply".into(),
            ),
            other => notes.push(format!("`{other}` is not supported: ignored")),
        }
    }

    let stem = source
        .path()
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str())
        .map(str::to_owned);
    let name = name.or(stem).ok_or(AgentFileError::Missing {
        key: "name",
        hint: "give the agent a name (lowercase letters, digits and `-`)",
    })?;
    validate_name(&name)?;
    let description = description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .ok_or(AgentFileError::Missing {
            key: "description",
            hint: "say in a sentence or two when the main agent should use this agent",
        })?;
    let system_prompt = body.trim();
    if system_prompt.is_empty() {
        return Err(AgentFileError::EmptyBody);
    }

    let mut ignored_tools = Vec::new();
    let mut tools = tools.map(|raw| our_tools(&raw, &mut ignored_tools, &mut notes));
    // A deny list turns "every tool" into the tools Cuervo knows minus those: tools that
    // appear later (MCP ones) are not given to an agent that was written to exclude some.
    if let Some(denied) = disallowed.filter(|d| !d.is_empty()) {
        let denied: Vec<&str> = denied.iter().filter_map(|t| tool_name(t)).collect();
        let base = tools.unwrap_or_else(|| {
            TOOL_NAMES
                .iter()
                .filter(|t| **t != "task")
                .map(|t| (*t).to_owned())
                .collect()
        });
        tools = Some(
            base.into_iter()
                .filter(|t| !denied.contains(&t.as_str()))
                .collect(),
        );
    }

    let model = model
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("inherit"))
        .map(|m| {
            MODEL_ALIASES
                .iter()
                .find(|(alias, _)| m.eq_ignore_ascii_case(alias))
                .map_or(m.clone(), |(_, model)| (*model).to_owned())
        });

    let read_only = tools
        .as_ref()
        .is_some_and(|t| t.iter().all(|t| READ_ONLY_TOOLS.contains(&t.as_str())));
    let role = match role.map(|r| r.trim().to_ascii_lowercase()) {
        None => {
            if read_only {
                Role::Explore
            } else {
                Role::Edit
            }
        }
        Some(r) => match r.as_str() {
            "explore" => Role::Explore,
            "plan" => Role::Plan,
            "edit" => Role::Edit,
            "review" => Role::Review,
            _ => {
                return Err(AgentFileError::BadValue {
                    key: "role",
                    value: r,
                    expected: "one of explore, plan, edit, review",
                });
            }
        },
    };

    Ok(AgentDefinition {
        name,
        description,
        tools,
        model,
        role,
        system_prompt: system_prompt.to_owned(),
        source,
        ignored_tools,
        notes,
    })
}

/// A text value (numbers and booleans as written); `None` when empty.
fn scalar(key: &str, value: &Value) -> Result<Option<String>, AgentFileError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(AgentFileError::WrongType {
            key: key.to_owned(),
            expected: "text",
        }),
    }
}

/// A tool list as written: `Read, Grep` or a YAML list; `None` when empty (`tools:`).
fn tool_list(key: &str, value: &Value) -> Result<Option<Vec<String>>, AgentFileError> {
    let wrong = || AgentFileError::WrongType {
        key: key.to_owned(),
        expected: "a list of tool names or a comma-separated string of them",
    };
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(split_tools(s))),
        Value::Sequence(items) => items
            .iter()
            .map(|item| item.as_str().map(|s| s.trim().to_owned()).ok_or_else(wrong))
            .filter(|item| item.as_ref().map_or(true, |s| !s.is_empty()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(wrong()),
    }
}

/// Splits on commas outside parentheses, so `Bash(git diff:*, git log:*)` stays one.
fn split_tools(list: &str) -> Vec<String> {
    let mut tools = Vec::new();
    let (mut depth, mut current) = (0usize, String::new());
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                tools.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    tools.push(current);
    tools
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Our names for the listed tools, each once, in the order listed; the others go to
/// `ignored` as written.
fn our_tools(raw: &[String], ignored: &mut Vec<String>, notes: &mut Vec<String>) -> Vec<String> {
    let mut tools: Vec<String> = Vec::new();
    for written in raw {
        let Some(ours) = tool_name(written) else {
            ignored.push(written.clone());
            continue;
        };
        if written.contains('(') {
            notes.push(format!(
                "`{written}`: the part in parentheses is not supported; `{ours}` is given \
                 whole (your permission rules still apply to every call)"
            ));
        }
        if !tools.iter().any(|t| t == ours) {
            tools.push(ours.to_owned());
        }
    }
    tools
}
