//! The one function that decides: [`PermissionPolicy::decide`], and the rule bookkeeping
//! around it.

use super::shell_rules::{BashPattern, Hit, shell_of};
use super::{
    Decision, PermissionLevel, PermissionMode, PermissionPolicy, PermissionRule, UnknownToolError,
};
use crate::shell::{ShellAnalysis, short};
use crate::tool::ToolAction;

impl PermissionPolicy {
    /// A policy with no rules.
    pub fn new(mode: PermissionMode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }

    /// Adds an allow rule, remembering where it came from (a file path, a flag).
    pub fn push_allow(&mut self, rule: PermissionRule, source: impl Into<String>) {
        if !self.allow.contains(&rule) {
            self.allow.push(rule.with_source(source));
        }
    }

    /// Adds a deny rule, remembering where it came from (a file path, a flag).
    pub fn push_deny(&mut self, rule: PermissionRule, source: impl Into<String>) {
        if !self.deny.contains(&rule) {
            self.deny.push(rule.with_source(source));
        }
    }

    /// Checks every rule against the tools that exist (see
    /// [`PermissionRule::validate_tools`]).
    pub fn validate_tools(&self, known: &[&str]) -> Result<(), UnknownToolError> {
        self.allow
            .iter()
            .chain(&self.deny)
            .try_for_each(|r| r.validate_tools(known))
    }

    /// The first deny rule that refuses the call, or the first that might (`Maybe`),
    /// with the reason.
    fn denial(&self, tool: &str, action: &ToolAction) -> Option<(Hit, String)> {
        let mut maybe = None;
        for rule in self.deny.iter().filter(|r| r.names_tool(tool)) {
            if tool != "bash" {
                if rule.matches(tool, action) {
                    return Some((Hit::Yes, format!("denied by {}", rule.describe())));
                }
                continue;
            }
            let pattern = rule.bash_pattern();
            let shell = shell_of(action);
            for cmd in &shell.commands {
                match pattern.denies(cmd) {
                    Hit::Yes => {
                        let runs = match &rule.pattern {
                            None => String::new(),
                            Some(_) if cmd.raw.is_empty() => {
                                format!(": it runs `{}`", short(&cmd.argv.join(" ")))
                            }
                            Some(_) => format!(": it runs `{}`", short(&cmd.raw)),
                        };
                        return Some((Hit::Yes, format!("denied by {}{runs}", rule.describe())));
                    }
                    Hit::Maybe if maybe.is_none() => {
                        maybe = Some(format!(
                            "{} may deny it: `{}` has parts known only when it runs",
                            rule.describe(),
                            short(&cmd.raw)
                        ));
                    }
                    Hit::Maybe | Hit::No => {}
                }
            }
        }
        maybe.map(|m| (Hit::Maybe, m))
    }

    /// Whether the allow rules cover every simple command of a fully analysed command.
    fn allows_shell(&self, shell: &ShellAnalysis) -> bool {
        let patterns = self.bash_allow_patterns();
        shell.is_complete()
            && !shell.commands.is_empty()
            && shell
                .commands
                .iter()
                .all(|c| patterns.iter().any(|p| p.allows(c)))
    }

    /// Decides one call. Order: deny rules (a bash command that only might match one
    /// asks), then plan mode's read-only limit, then protected paths, then allow rules
    /// (the only way to reach outside the project without a prompt; for bash, see
    /// [`PermissionRule`]: never for writes outside the project, and never for a command
    /// that cannot be fully analysed, which asks unless the mode is full-auto and no deny
    /// rule names bash), then the project boundary, then the mode.
    pub fn decide(
        &self,
        tool: &str,
        level: PermissionLevel,
        requires_confirmation: bool,
        action: &ToolAction,
    ) -> Decision {
        let maybe_denied = match self.denial(tool, action) {
            Some((Hit::Yes, reason)) => return Decision::Deny(reason),
            Some((_, reason)) => Some(reason),
            None => None,
        };
        if self.mode == PermissionMode::Plan && level != PermissionLevel::ReadOnly {
            return Decision::Deny("plan mode allows read-only tools only".into());
        }
        if let Some(reason) = maybe_denied {
            return Decision::Ask(reason);
        }
        if let Some(path) = &action.protected
            && !self
                .allow
                .iter()
                .any(|r| r.matches(tool, action) && r.names_protected_path())
        {
            return Decision::Ask(format!(
                "it writes {path}, a protected path (it can change what runs or what Cuervo may do); \
                 protected paths always ask unless an allow rule names them, e.g. `edit({path})`"
            ));
        }
        let mut uncovered = None;
        if tool == "bash" {
            let shell = shell_of(action);
            if !shell.is_complete() {
                // Everything runs in full-auto, unless a deny rule could be dodged by
                // what cannot be seen.
                let bash_denied = self.deny.iter().any(|r| r.names_tool("bash"));
                if self.mode != PermissionMode::FullAuto || bash_denied {
                    return Decision::Ask(format!(
                        "Cuervo cannot tell everything this command runs: {}",
                        shell.unanalysable.join("; ")
                    ));
                }
            } else if !action.outside_root
                && action.protected.is_none()
                && self.allows_shell(&shell)
            {
                return Decision::Allow;
            } else if action.outside_root {
                let which = match shell.writes.as_slice() {
                    [only] => format!(" (`{}`)", short(&only.raw)),
                    _ => String::new(),
                };
                return Decision::Ask(format!(
                    "it writes outside the project root{which}, which no bash rule allows"
                ));
            } else if let Some(cmd) = self.first_uncovered(&shell) {
                uncovered = Some(cmd);
            }
        } else if self.allow.iter().any(|r| r.matches(tool, action)) {
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
            (mode, level) => {
                let mut reason = format!(
                    "{} tools need approval in {mode} mode",
                    match level {
                        PermissionLevel::ReadWrite => "file-editing",
                        _ => "shell",
                    }
                );
                if let Some(cmd) = uncovered {
                    reason.push_str(&format!(", and no allow rule covers `{cmd}`"));
                }
                Decision::Ask(reason)
            }
        }
    }

    /// The first simple command no bash allow rule covers, when some bash allow rule
    /// exists (so the message can say what is missing).
    fn first_uncovered(&self, shell: &ShellAnalysis) -> Option<String> {
        let patterns = self.bash_allow_patterns();
        if patterns.is_empty() {
            return None;
        }
        shell
            .commands
            .iter()
            .find(|c| !patterns.iter().any(|p| p.allows(c)))
            .map(|c| {
                if c.raw.is_empty() {
                    short(&c.argv.join(" "))
                } else {
                    short(&c.raw)
                }
            })
    }

    /// The allow rules for `bash`, parsed into word patterns.
    fn bash_allow_patterns(&self) -> Vec<BashPattern> {
        self.allow
            .iter()
            .filter(|r| r.tool == "bash")
            .map(PermissionRule::bash_pattern)
            .collect()
    }

    /// Adds a rule granted during the session ("allow always").
    pub fn allow_rule(&mut self, rule: PermissionRule) {
        if !self.allow.contains(&rule) {
            self.allow.push(rule);
        }
    }
}
