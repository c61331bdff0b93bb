//! Who may do what: permission levels, modes, allow/deny rules, and the one function that
//! decides. Pure, so every policy question is answered by a unit test.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::glob::glob_match;
use crate::tool::ToolAction;

/// How much a tool can change. Modes are defined in terms of these levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionLevel {
    /// Reads files or lists things; changes nothing.
    ReadOnly,
    /// Changes files inside the project.
    ReadWrite,
    /// Can do anything a shell can.
    Destructive,
}

/// The user's standing answer to "may Cuervo do this without asking?".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionMode {
    /// Read-only tools only; everything else is refused.
    Plan,
    /// Read-only tools run; everything else asks.
    #[default]
    Ask,
    /// Read-only tools and file edits run; shell commands ask.
    AutoEdit,
    /// Everything runs without asking (rules and the project boundary still apply).
    FullAuto,
}

impl PermissionMode {
    pub const ALL: [PermissionMode; 4] = [Self::Plan, Self::Ask, Self::AutoEdit, Self::FullAuto];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Ask => "ask",
            Self::AutoEdit => "auto-edit",
            Self::FullAuto => "full-auto",
        }
    }
}

impl fmt::Display for PermissionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PermissionMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            format!("unknown permission mode `{s}`; expected one of: plan, ask, auto-edit, full-auto")
        })
    }
}

/// A rule such as `bash(git status:*)`, `edit(src/**)` or `read`.
///
/// The tool name matches exactly, except that `edit` also covers `write` (both change
/// files). Without parentheses the rule covers every call of the tool. For `bash` the
/// pattern is the command: `prefix:*` matches the prefix alone or followed by a space and
/// anything; otherwise the whole command must equal the pattern. For other tools the
/// pattern is a glob over the target path relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PermissionRule {
    pub tool: String,
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid permission rule `{rule}`: {reason}; write `tool` or `tool(pattern)`, e.g. `bash(git status:*)` or `edit(src/**)`"
)]
pub struct RuleParseError {
    pub rule: String,
    pub reason: &'static str,
}

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
        Ok(Self { tool, pattern })
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
    pub fn matches(&self, tool: &str, action: &ToolAction) -> bool {
        let tool_matches = self.tool == tool || (self.tool == "edit" && tool == "write");
        if !tool_matches {
            return false;
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
        if tool == "bash" {
            match pattern.strip_suffix(":*") {
                Some(prefix) => {
                    target == prefix
                        || target
                            .strip_prefix(prefix)
                            .is_some_and(|rest| rest.starts_with(' '))
                }
                None => target.trim() == pattern.trim(),
            }
        } else {
            glob_match(pattern, target)
        }
    }
}

/// The verdict on one tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "reason", rename_all = "snake_case")]
pub enum Decision {
    Allow,
    /// A person must say yes first; the reason says why.
    Ask(String),
    Deny(String),
}

/// Mode plus rules: the whole permission configuration of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionPolicy {
    pub mode: PermissionMode,
    pub allow: Vec<PermissionRule>,
    pub deny: Vec<PermissionRule>,
}

impl PermissionPolicy {
    /// Decides one call. Order: deny rules, then plan mode's read-only limit, then allow
    /// rules (the only way to reach outside the project without a prompt), then the
    /// project boundary, then the mode.
    pub fn decide(
        &self,
        tool: &str,
        level: PermissionLevel,
        requires_confirmation: bool,
        action: &ToolAction,
    ) -> Decision {
        if let Some(rule) = self.deny.iter().find(|r| r.matches(tool, action)) {
            return Decision::Deny(format!("denied by the rule `{rule}`"));
        }
        if self.mode == PermissionMode::Plan && level != PermissionLevel::ReadOnly {
            return Decision::Deny("plan mode allows read-only tools only".into());
        }
        if self.allow.iter().any(|r| r.matches(tool, action)) {
            return Decision::Allow;
        }
        if action.outside_root {
            return Decision::Ask("it reaches outside the project root".into());
        }
        match (self.mode, level) {
            (_, PermissionLevel::ReadOnly) => Decision::Allow,
            (PermissionMode::FullAuto, _) => Decision::Allow,
            (PermissionMode::AutoEdit, PermissionLevel::ReadWrite) => Decision::Allow,
            (PermissionMode::Ask, _) if !requires_confirmation => Decision::Allow,
            (mode, level) => Decision::Ask(format!(
                "{} tools need approval in {mode} mode",
                match level {
                    PermissionLevel::ReadWrite => "file-editing",
                    _ => "shell",
                }
            )),
        }
    }

    /// Adds a rule granted during the session ("allow always").
    pub fn allow_rule(&mut self, rule: PermissionRule) {
        if !self.allow.contains(&rule) {
            self.allow.push(rule);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PermissionLevel::*;

    fn action(target: &str) -> ToolAction {
        ToolAction {
            target: Some(target.into()),
            ..ToolAction::default()
        }
    }

    fn rule(s: &str) -> PermissionRule {
        s.parse().expect("valid rule")
    }

    fn policy(mode: PermissionMode, allow: &[&str], deny: &[&str]) -> PermissionPolicy {
        PermissionPolicy {
            mode,
            allow: allow.iter().map(|r| rule(r)).collect(),
            deny: deny.iter().map(|r| rule(r)).collect(),
        }
    }

    #[test]
    fn parses_and_prints_rules() {
        assert_eq!(
            rule("bash(git status:*)"),
            PermissionRule {
                tool: "bash".into(),
                pattern: Some("git status:*".into())
            }
        );
        assert_eq!(
            rule("Read"),
            PermissionRule {
                tool: "read".into(),
                pattern: None
            }
        );
        assert_eq!(rule("edit(src/**)").to_string(), "edit(src/**)");
        assert!("bash(".parse::<PermissionRule>().is_err());
        assert!("bash()".parse::<PermissionRule>().is_err());
        assert!("(x)".parse::<PermissionRule>().is_err());
    }

    #[test]
    fn bash_prefix_rules_match_whole_words() {
        let r = rule("bash(git status:*)");
        assert!(r.matches("bash", &action("git status")));
        assert!(r.matches("bash", &action("git status --short")));
        assert!(!r.matches("bash", &action("git statusx")));
        assert!(!r.matches("bash", &action("git push")));
        let exact = rule("bash(cargo test)");
        assert!(exact.matches("bash", &action("cargo test")));
        assert!(!exact.matches("bash", &action("cargo test; rm -rf /")));
    }

    #[test]
    fn edit_rules_cover_write_and_use_globs() {
        let r = rule("edit(src/**)");
        assert!(r.matches("edit", &action("src/a/b.rs")));
        assert!(r.matches("write", &action("src/new.rs")));
        assert!(!r.matches("edit", &action("Cargo.toml")));
        assert!(!r.matches("bash", &action("src/x")));
    }

    #[test]
    fn modes_by_level() {
        let a = action("x");
        let cases = [
            (PermissionMode::Plan, ReadOnly, true),
            (PermissionMode::Ask, ReadOnly, true),
            (PermissionMode::AutoEdit, ReadOnly, true),
            (PermissionMode::FullAuto, ReadOnly, true),
            (PermissionMode::Plan, ReadWrite, false),
            (PermissionMode::Ask, ReadWrite, false),
            (PermissionMode::AutoEdit, ReadWrite, true),
            (PermissionMode::FullAuto, ReadWrite, true),
            (PermissionMode::Plan, Destructive, false),
            (PermissionMode::Ask, Destructive, false),
            (PermissionMode::AutoEdit, Destructive, false),
            (PermissionMode::FullAuto, Destructive, true),
        ];
        for (mode, level, allowed) in cases {
            let d = policy(mode, &[], &[]).decide("t", level, level != ReadOnly, &a);
            assert_eq!(d == Decision::Allow, allowed, "{mode} {level:?} -> {d:?}");
        }
        assert!(matches!(
            policy(PermissionMode::Plan, &[], &[]).decide("bash", Destructive, true, &a),
            Decision::Deny(_)
        ));
        assert!(matches!(
            policy(PermissionMode::Ask, &[], &[]).decide("bash", Destructive, true, &a),
            Decision::Ask(_)
        ));
    }

    #[test]
    fn deny_rules_come_first() {
        let p = policy(PermissionMode::FullAuto, &["bash"], &["bash(rm:*)"]);
        assert!(
            matches!(p.decide("bash", Destructive, true, &action("rm -rf x")), Decision::Deny(r) if r.contains("bash(rm:*)"))
        );
        assert_eq!(
            p.decide("bash", Destructive, true, &action("ls")),
            Decision::Allow
        );
    }

    #[test]
    fn allow_rules_open_ask_mode() {
        let p = policy(PermissionMode::Ask, &["bash(git status:*)"], &[]);
        assert_eq!(
            p.decide("bash", Destructive, true, &action("git status")),
            Decision::Allow
        );
        assert!(matches!(
            p.decide("bash", Destructive, true, &action("git push")),
            Decision::Ask(_)
        ));
    }

    #[test]
    fn plan_mode_ignores_allow_rules_for_writes() {
        let p = policy(PermissionMode::Plan, &["edit"], &[]);
        assert!(matches!(
            p.decide("edit", ReadWrite, true, &action("a")),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn outside_root_needs_explicit_permission_even_in_full_auto() {
        let outside = ToolAction {
            target: Some("/etc/passwd".into()),
            outside_root: true,
            ..ToolAction::default()
        };
        let p = policy(PermissionMode::FullAuto, &[], &[]);
        assert!(
            matches!(p.decide("read", ReadOnly, false, &outside), Decision::Ask(r) if r.contains("outside"))
        );
        let p = policy(PermissionMode::Ask, &["read(/etc/**)"], &[]);
        assert_eq!(p.decide("read", ReadOnly, false, &outside), Decision::Allow);
    }

    #[test]
    fn mode_round_trips_through_strings() {
        for m in PermissionMode::ALL {
            assert_eq!(m.as_str().parse::<PermissionMode>(), Ok(m));
        }
        assert!(
            "yolo"
                .parse::<PermissionMode>()
                .unwrap_err()
                .contains("auto-edit")
        );
    }
}
