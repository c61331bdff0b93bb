//! Parsing, printing, validating and matching one [`PermissionRule`].

use std::fmt;
use std::str::FromStr;

use super::shell_rules::{BashPattern, shell_of};
use super::{PermissionRule, RuleParseError, UnknownToolError, is_protected_name};
use crate::glob::glob_match;
use crate::tool::ToolAction;

impl FromStr for PermissionRule {
    type Err = RuleParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| RuleParseError {
            rule: s.to_owned(),
            reason,
        };
        let s_trim = s.trim();
        let (tool, pattern) = match s_trim.find('(') {
            None => (s_trim, None),
            Some(open) => {
                let inner = s_trim[open + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| err("missing closing parenthesis"))?;
                if inner.is_empty() {
                    return Err(err("empty pattern"));
                }
                (&s_trim[..open], Some(inner.to_owned()))
            }
        };
        let tool = tool.trim().to_ascii_lowercase();
        if tool.is_empty()
            || !tool
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err("the tool name must be letters, digits, `_` or `-`"));
        }
        if let Some(p) = &pattern {
            check_pattern(&tool, p).map_err(err)?;
        }
        Ok(Self {
            tool,
            pattern,
            source: None,
        })
    }
}

/// Rejects glob syntax the matchers do not support, rather than letting a rule silently
/// never match.
fn check_pattern(tool: &str, pattern: &str) -> Result<(), &'static str> {
    let p = pattern.trim();
    if p.starts_with('!') {
        return Err("`!` (negation) is not supported; write a deny rule instead");
    }
    if crate::shell::has_brace_expansion(p) {
        return Err("`{a,b}` alternatives are not supported; write one rule per alternative");
    }
    if tool == "bash" {
        if p == "*" {
            return Ok(());
        }
        let body = p.strip_suffix(":*").unwrap_or(p);
        if body.contains('*') {
            return Err(
                "in a bash pattern `*` may only end it as `:*` (`bash(git status:*)`) or be the whole pattern (`bash(*)`)",
            );
        }
        if let Some(open) = body.find('[')
            && body[open..].contains(']')
            && !body.starts_with("[ ")
        {
            return Err("`[...]` character classes are not supported in bash patterns");
        }
        match split_pattern_words(body) {
            None => Err("the command has an unclosed quote"),
            Some(words) if words.is_empty() => Err("the command before `:*` is empty"),
            Some(_) => Ok(()),
        }
    } else if p.contains('[') || p.contains(']') {
        Err("`[...]` character classes are not supported; use `*`, `**` or `?`")
    } else if p.contains('{') || p.contains('}') {
        Err("`{...}` is not supported; use `*`, `**` or `?`")
    } else {
        Ok(())
    }
}

/// Splits a bash pattern into words as a shell would: spaces separate, single and
/// double quotes group, a backslash escapes the next character. `None` on an unclosed
/// quote.
fn split_pattern_words(pattern: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => current.push(other),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            e @ ('"' | '\\' | '$' | '`') => current.push(e),
                            other => {
                                current.push('\\');
                                current.push(other);
                            }
                        },
                        other => current.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            other => {
                in_word = true;
                current.push(other);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Some(words)
}

/// Quotes a word for a bash pattern when it needs it.
pub(super) fn quote_pattern_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./=:,+@%^~".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

impl TryFrom<String> for PermissionRule {
    type Error = RuleParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PermissionRule> for String {
    fn from(rule: PermissionRule) -> String {
        rule.to_string()
    }
}

impl fmt::Display for PermissionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pattern {
            Some(p) => write!(f, "{}({p})", self.tool),
            None => f.write_str(&self.tool),
        }
    }
}

impl PermissionRule {
    /// Whether the rule's pattern names a protected directory or file as one of its path
    /// components (`edit(.cuervo/**)`, `write(.git/hooks/pre-commit)`): only such a rule
    /// lets a write into a protected path run without asking. `edit`, `edit(**)` or
    /// `write(/**)` never do.
    pub fn names_protected_path(&self) -> bool {
        self.pattern
            .as_deref()
            .is_some_and(|p| p.split('/').any(is_protected_name))
    }

    /// The same rule, saying where it came from (`/home/u/.config/cuervo/config.yml`,
    /// `the --allow-tools flag`).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Whether the rule names `tool` (`edit` also names `write`).
    pub fn names_tool(&self, tool: &str) -> bool {
        self.tool == tool || (self.tool == "edit" && tool == "write")
    }

    /// Whether this rule alone would allow the call: for file tools the pattern matches
    /// the target; for `bash` every simple command of the analysed command line matches
    /// it and nothing is unanalysable (writes outside the project and into protected
    /// paths are judged by [`PermissionPolicy::decide`], not here).
    ///
    /// [`PermissionPolicy::decide`]: super::PermissionPolicy::decide
    pub fn matches(&self, tool: &str, action: &ToolAction) -> bool {
        if !self.names_tool(tool) {
            return false;
        }
        if tool == "bash" {
            let shell = shell_of(action);
            let pattern = self.bash_pattern();
            return shell.is_complete()
                && !shell.commands.is_empty()
                && shell.commands.iter().all(|c| pattern.allows(c));
        }
        let Some(pattern) = &self.pattern else {
            return true;
        };
        if pattern == "*" || pattern == "**" {
            return true;
        }
        let Some(target) = &action.target else {
            return false;
        };
        glob_match(pattern, target)
    }

    /// Checks that the rule names one of the `known` tools (`edit` is known whenever
    /// `write` is).
    pub fn validate_tools(&self, known: &[&str]) -> Result<(), UnknownToolError> {
        let ok = known.contains(&self.tool.as_str())
            || (self.tool == "edit" && known.contains(&"write"));
        if ok {
            return Ok(());
        }
        let mut names: Vec<String> = known.iter().map(|k| (*k).to_owned()).collect();
        if known.contains(&"write") && !known.contains(&"edit") {
            names.push("edit".into());
        }
        names.sort();
        names.dedup();
        Err(UnknownToolError {
            tool: self.tool.clone(),
            rule: self.to_string(),
            origin: self.source.clone(),
            known: names,
        })
    }

    pub(super) fn bash_pattern(&self) -> BashPattern {
        match self.pattern.as_deref().map(str::trim) {
            None | Some("*" | "**") => BashPattern::Any,
            Some(p) => match p.strip_suffix(":*") {
                Some(prefix) => {
                    BashPattern::Prefix(split_pattern_words(prefix).unwrap_or_default())
                }
                None => BashPattern::Exact(split_pattern_words(p).unwrap_or_default()),
            },
        }
    }

    /// `denied by the rule `bash(rm:*)` from /home/u/.config/cuervo/config.yml`.
    pub(super) fn describe(&self) -> String {
        match &self.source {
            Some(source) => format!("the rule `{self}` from {source}"),
            None => format!("the rule `{self}`"),
        }
    }
}
