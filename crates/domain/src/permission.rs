//! Who may do what: permission levels, modes, allow/deny rules, and the one function that
//! decides. Pure, so every policy question is answered by a unit test.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::glob::glob_match;
use crate::shell::{ShellAnalysis, SimpleCommand, basename, short};
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
/// files). Without parentheses the rule covers every call of the tool. For other tools
/// than `bash` the pattern is a glob over the target path relative to the project root
/// (`*`, `**` and `?` only).
///
/// For `bash` the pattern is judged word by word against each simple command of the
/// parsed command line ([`ShellAnalysis`]), never against the raw text:
/// - `bash(git status:*)` matches a command whose words start with `git status`
///   (`git status -s`, not `git -c x=y status`, not `git statusx`);
/// - `bash(cargo test)` matches exactly the words `cargo test`;
/// - `bash` and `bash(*)` match every command.
///
/// As an **allow** rule it lets a call run only when *every* simple command (those in
/// `;`/`&&`/`|` lists, substitutions, `bash -c` scripts, `find -exec`…) is matched by
/// some allow rule with no run-time-only word among the matched ones, nothing in the
/// command is unanalysable, and no redirection writes outside the project or into a
/// protected path. A program named without a `/` matches only commands that run it by
/// name or from a system directory (`/usr/bin/git`), so `bash(git:*)` does not allow
/// `./git`; a pattern starting with a path (`bash(./gradlew build:*)`) matches that path.
///
/// As a **deny** rule it refuses a call when *any* simple command matches it: the
/// program by its file name (`/bin/rm`, `\rm`, `"rm"`, `env rm`, `xargs rm`,
/// `find -delete` all run `rm`), then the pattern's other words in order, allowing
/// options between them (`git -C x push` matches `bash(git push:*)`), and its option
/// words anywhere (`bash(rm -rf:*)` matches `rm -r -f x`). An exact deny pattern denies
/// longer commands too. A command whose words are known only at run time and might
/// match makes the call ask.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PermissionRule {
    pub tool: String,
    pub pattern: Option<String>,
    /// Where the rule came from (a config file, a flag), for messages. Not part of the
    /// rule's identity: equality and hashing ignore it.
    pub source: Option<String>,
}

impl PartialEq for PermissionRule {
    fn eq(&self, other: &Self) -> bool {
        self.tool == other.tool && self.pattern == other.pattern
    }
}

impl Eq for PermissionRule {}

impl Hash for PermissionRule {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.tool.hash(state);
        self.pattern.hash(state);
    }
}

/// A rule naming a tool that does not exist (`shell(rm:*)`), which would never fire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown tool `{tool}` in the permission rule `{rule}`{from}; known tools: {known}",
    from = .origin.as_deref().map(|s| format!(" (from {s})")).unwrap_or_default(),
    known = .known.join(", ")
)]
pub struct UnknownToolError {
    pub tool: String,
    pub rule: String,
    /// Where the rule came from, when known.
    pub origin: Option<String>,
    pub known: Vec<String>,
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
    if has_brace_alternatives(p) {
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

/// `{a,b}` or `{1..3}`: brace expansion syntax.
fn has_brace_alternatives(p: &str) -> bool {
    let mut rest = p;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].contains(',') || after[..close].contains("..") => {
                return true;
            }
            Some(close) => rest = &after[close + 1..],
            None => return false,
        }
    }
    false
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
fn quote_pattern_word(word: &str) -> String {
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

/// Directories whose contents decide what runs or what the agent may do: git's hooks and
/// config (`core.fsmonitor` and `core.pager` run commands), Cuervo's and Claude Code's
/// project settings, hooks and agents. Writes into them always ask (see
/// [`ToolAction::protected`]); tools match them as a path component at any depth and
/// case-insensitively.
pub const PROTECTED_DIRS: &[&str] = &[".git", ".cuervo", ".claude"];

/// Files whose contents steer the agent or start servers: the MCP server list and the
/// instruction files read into the system prompt.
pub const PROTECTED_FILES: &[&str] = &[".mcp.json", "CUERVO.md", "AGENTS.md", "CLAUDE.md"];

/// Whether one path component names a protected directory or file.
pub fn is_protected_name(component: &str) -> bool {
    PROTECTED_DIRS
        .iter()
        .chain(PROTECTED_FILES)
        .any(|p| p.eq_ignore_ascii_case(component))
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

    fn bash_pattern(&self) -> BashPattern {
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
    fn describe(&self) -> String {
        match &self.source {
            Some(source) => format!("the rule `{self}` from {source}"),
            None => format!("the rule `{self}`"),
        }
    }
}

/// The analysis a bash call is judged on: the tool's own, or the parser-free fallback.
fn shell_of(action: &ToolAction) -> Cow<'_, ShellAnalysis> {
    match &action.shell {
        Some(shell) => Cow::Borrowed(shell),
        None => Cow::Owned(ShellAnalysis::plain(
            action.target.as_deref().unwrap_or_default(),
        )),
    }
}

/// A bash rule's pattern as words.
enum BashPattern {
    Any,
    Prefix(Vec<String>),
    Exact(Vec<String>),
}

/// Whether a deny rule matches a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Hit {
    No,
    /// Words known only at run time could make it match.
    Maybe,
    Yes,
}

/// Directories whose programs an allow rule naming a program without a path covers.
const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/usr/bin",
    "/usr/local/bin",
    "/sbin",
    "/usr/sbin",
    "/usr/local/sbin",
    "/opt/homebrew/bin",
];

impl BashPattern {
    /// Allow semantics: the pattern's words are the command's first words (exactly all
    /// of them for an exact pattern), none of them known only at run time.
    fn allows(&self, cmd: &SimpleCommand) -> bool {
        let words = match self {
            BashPattern::Any => return true,
            BashPattern::Prefix(words) => {
                if words.len() > cmd.argv.len() {
                    return false;
                }
                words
            }
            BashPattern::Exact(words) => {
                if words.len() != cmd.argv.len() || cmd.has_unknowns() {
                    return false;
                }
                words
            }
        };
        let Some((program, rest)) = words.split_first() else {
            return false;
        };
        program_allowed(program, cmd)
            && rest
                .iter()
                .enumerate()
                .all(|(k, w)| !cmd.is_dynamic(k + 1) && cmd.argv.get(k + 1) == Some(w))
    }

    /// Deny semantics, wider than [`BashPattern::allows`] on purpose.
    fn denies(&self, cmd: &SimpleCommand) -> Hit {
        let words = match self {
            BashPattern::Any => return Hit::Yes,
            BashPattern::Prefix(words) | BashPattern::Exact(words) => words,
        };
        let (Some(program), Some(actual)) = (words.first(), cmd.argv.first()) else {
            return Hit::No;
        };
        let program_hit = if cmd.is_dynamic(0) {
            Hit::Maybe
        } else if actual == basename(program) {
            Hit::Yes
        } else {
            return Hit::No;
        };
        let (flags, positionals): (Vec<&String>, Vec<&String>) = words[1..]
            .iter()
            .partition(|w| w.starts_with('-') && w.len() > 1);
        let strict = flags.iter().all(|f| has_flag(cmd, f, false))
            && positionals_match(cmd, &positionals, false);
        if strict {
            return program_hit;
        }
        let lenient = flags.iter().all(|f| has_flag(cmd, f, true))
            && positionals_match(cmd, &positionals, true);
        if lenient { Hit::Maybe } else { Hit::No }
    }
}

/// Whether a rule's program word covers the command's program.
fn program_allowed(program: &str, cmd: &SimpleCommand) -> bool {
    if cmd.is_dynamic(0) {
        return false;
    }
    if program.contains('/') {
        let strip = |p: &str| {
            let mut p = p;
            while let Some(rest) = p.strip_prefix("./") {
                p = rest;
            }
            p.to_owned()
        };
        return cmd
            .program_path
            .as_deref()
            .is_some_and(|path| strip(path) == strip(program));
    }
    cmd.program() == Some(program)
        && cmd.program_path.as_deref().is_none_or(|path| {
            path.rsplit_once('/')
                .is_some_and(|(dir, _)| SYSTEM_DIRS.contains(&dir))
        })
}

/// Whether the command has option `flag` anywhere after the program: a long option
/// itself or with `=value`, a short cluster by its letters (`-rf` is in `-r -f`, `-fr`).
fn has_flag(cmd: &SimpleCommand, flag: &str, lenient: bool) -> bool {
    if lenient && (cmd.open_args || (1..cmd.argv.len()).any(|i| cmd.is_dynamic(i))) {
        return true;
    }
    let args = || {
        cmd.argv
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(i, _)| !cmd.is_dynamic(*i))
            .map(|(_, a)| a.as_str())
    };
    if args().any(|a| a == flag) {
        return true;
    }
    if flag.starts_with("--") {
        return args().any(|a| {
            a.strip_prefix(flag)
                .is_some_and(|rest| rest.starts_with('='))
        });
    }
    let letters: Vec<char> = args()
        .filter(|a| a.starts_with('-') && !a.starts_with("--"))
        .flat_map(|a| a.chars().skip(1))
        .collect();
    flag.chars().skip(1).all(|c| letters.contains(&c))
}

/// Whether the pattern's positional words appear in order after the program: the first
/// one after nothing but options (and one value each), the others anywhere later.
fn positionals_match(cmd: &SimpleCommand, positionals: &[&String], lenient: bool) -> bool {
    let Some((first, rest)) = positionals.split_first() else {
        return true;
    };
    let argv = &cmd.argv;
    let n = argv.len();
    let equal = |i: usize, p: &str| {
        if cmd.is_dynamic(i) {
            lenient
        } else {
            argv[i] == p
        }
    };
    let is_option = |i: usize| {
        if cmd.is_dynamic(i) {
            lenient
        } else {
            argv[i].starts_with('-') && argv[i].len() > 1
        }
    };
    let mut reachable = vec![false; n + 2];
    reachable[1] = true;
    let mut starts = Vec::new();
    for i in 1..n {
        if !reachable[i] {
            continue;
        }
        if equal(i, first) {
            starts.push(i);
        }
        if is_option(i) {
            reachable[i + 1] = true;
            if !argv[i].contains('=') {
                reachable[i + 2] = true;
            }
        }
    }
    let open = lenient && cmd.open_args;
    if starts.is_empty() {
        return open && reachable[n.max(1)];
    }
    starts.into_iter().any(|start| {
        let mut i = start + 1;
        for p in rest {
            match (i..n).find(|&k| equal(k, p)) {
                Some(k) => i = k + 1,
                None => return open,
            }
        }
        true
    })
}

/// Programs with subcommands: a suggested rule keeps the subcommand (`cargo test:*`).
const SUBCOMMAND_PROGRAMS: &[&str] = &[
    "git",
    "cargo",
    "npm",
    "pnpm",
    "yarn",
    "go",
    "docker",
    "podman",
    "kubectl",
    "helm",
    "pip",
    "pip3",
    "uv",
    "poetry",
    "make",
    "just",
    "gh",
    "rustup",
    "terraform",
    "brew",
    "dotnet",
    "mvn",
    "gradle",
    "gradlew",
    "bundle",
    "rake",
    "composer",
    "mix",
    "swift",
    "conda",
    "nix",
    "flutter",
    "dart",
    "npx",
    "pnpx",
    "bunx",
    "uvx",
    "pipx",
    "systemctl",
    "apt",
    "apt-get",
    "dnf",
    "yum",
    "pacman",
    "kubectx",
    "tox",
    "nox",
    "hatch",
    "pdm",
    "rye",
    "turbo",
    "nx",
    "cmake",
    "ctest",
    "bazel",
    "zig",
    "lein",
    "sbt",
    "stack",
    "cabal",
    "opam",
    "dune",
];

/// Programs never suggested as `program:*`: they run whatever their arguments say.
fn runs_arbitrary_code(program: &str) -> bool {
    crate::shell::is_shell(program)
        || crate::shell::is_interpreter(program)
        || matches!(
            program,
            "eval"
                | "exec"
                | "env"
                | "xargs"
                | "sudo"
                | "doas"
                | "su"
                | "find"
                | "fd"
                | "sed"
                | "parallel"
                | "watch"
                | "ssh"
                | "command"
                | "builtin"
                | "nohup"
                | "nice"
                | "time"
                | "timeout"
                | "source"
                | "."
                | "git"
        )
}

/// The narrowest rule that would allow this call next time, or `None` when no rule
/// would be safe to offer. For `bash`: only a single simple command that is fully
/// analysed, writes nothing outside the project or into a protected path, and has no
/// run-time-only words in what the rule names; `program subcommand:*` for programs with
/// subcommands (`git status:*`, never `git:*`), `program:*` for other programs, and the
/// exact command for shells, interpreters and wrappers. For file tools: the path
/// (`edit(src/lib.rs)`), or the bare tool when there is no target.
pub fn suggest_rule(tool: &str, action: &ToolAction) -> Option<PermissionRule> {
    let make = |pattern: Option<String>| {
        let text = match pattern {
            Some(p) => format!("{tool}({p})"),
            None => tool.to_owned(),
        };
        text.parse::<PermissionRule>().ok()
    };
    if tool != "bash" {
        return match &action.target {
            Some(path) => make(Some(path.clone())),
            None => make(None),
        };
    }
    let shell = shell_of(action);
    if !shell.is_complete()
        || action.outside_root
        || action.protected.is_some()
        || shell.commands.len() != 1
    {
        return None;
    }
    let cmd = &shell.commands[0];
    if cmd.open_args || cmd.is_dynamic(0) {
        return None;
    }
    let program_word = cmd
        .program_path
        .clone()
        .or_else(|| cmd.program().map(str::to_owned))?;
    let program = cmd.program()?;
    let exact = || {
        if cmd.has_unknowns() {
            return None;
        }
        let mut words = vec![quote_pattern_word(&program_word)];
        words.extend(cmd.argv[1..].iter().map(|w| quote_pattern_word(w)));
        make(Some(words.join(" ")))
    };
    let subcommand = cmd
        .argv
        .get(1)
        .filter(|w| !cmd.is_dynamic(1) && !w.starts_with('-') && !w.starts_with('+'));
    if SUBCOMMAND_PROGRAMS.contains(&program) || program == "git" {
        return match subcommand {
            Some(sub) => make(Some(format!(
                "{} {}:*",
                quote_pattern_word(&program_word),
                quote_pattern_word(sub)
            ))),
            None => exact(),
        };
    }
    if runs_arbitrary_code(program) {
        return exact();
    }
    make(Some(format!("{}:*", quote_pattern_word(&program_word))))
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
        let patterns: Vec<BashPattern> = self
            .allow
            .iter()
            .filter(|r| r.tool == "bash")
            .map(PermissionRule::bash_pattern)
            .collect();
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
        let patterns: Vec<BashPattern> = self
            .allow
            .iter()
            .filter(|r| r.tool == "bash")
            .map(PermissionRule::bash_pattern)
            .collect();
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
    use crate::shell::{ShellAnalysis, SimpleCommand};
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
                pattern: Some("git status:*".into()),
                source: None,
            }
        );
        assert_eq!(
            rule("Read"),
            PermissionRule {
                tool: "read".into(),
                pattern: None,
                source: None,
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

    fn protected(target: &str) -> ToolAction {
        ToolAction {
            target: Some(target.into()),
            protected: Some(target.into()),
            ..ToolAction::default()
        }
    }

    #[test]
    fn protected_paths_ask_in_every_mode_unless_a_rule_names_them() {
        let git = protected(".git/config");
        for mode in [
            PermissionMode::Ask,
            PermissionMode::AutoEdit,
            PermissionMode::FullAuto,
        ] {
            for allow in [
                &[][..],
                &["edit"][..],
                &["edit(**)"][..],
                &["write(/**)"][..],
            ] {
                let d = policy(mode, allow, &[]).decide("write", ReadWrite, true, &git);
                assert!(
                    matches!(&d, Decision::Ask(r) if r.contains("protected")),
                    "{mode} {allow:?}: {d:?}"
                );
            }
        }
        let p = policy(PermissionMode::Ask, &["edit(.git/config)"], &[]);
        assert_eq!(p.decide("edit", ReadWrite, true, &git), Decision::Allow);
        let p = policy(PermissionMode::Ask, &["write(.cuervo/**)"], &[]);
        assert_eq!(
            p.decide("write", ReadWrite, true, &protected(".cuervo/config.yml")),
            Decision::Allow
        );
        // A deny rule still wins, and plan mode still refuses.
        let p = policy(
            PermissionMode::FullAuto,
            &["edit(.git/**)"],
            &["edit(.git/**)"],
        );
        assert!(matches!(
            p.decide("edit", ReadWrite, true, &git),
            Decision::Deny(_)
        ));
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

    fn shell_action(commands: Vec<SimpleCommand>) -> ToolAction {
        ToolAction {
            target: Some("(analysed)".into()),
            shell: Some(ShellAnalysis {
                commands,
                ..ShellAnalysis::default()
            }),
            ..ToolAction::default()
        }
    }

    fn cmd(argv: &[&str]) -> SimpleCommand {
        SimpleCommand {
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            raw: argv.join(" "),
            ..SimpleCommand::default()
        }
    }

    #[test]
    fn unsupported_glob_syntax_is_rejected() {
        for bad in [
            "bash(git *)",
            "bash(git st*tus:*)",
            "bash(**)",
            "bash(:*)",
            "bash(echo {a,b}:*)",
            "bash(ls [ab]:*)",
            "bash('unclosed:*)",
            "bash(!rm:*)",
            "edit(src/[ab].rs)",
            "edit({src,tests}/**)",
            "read(!secret)",
        ] {
            let err = bad.parse::<PermissionRule>().expect_err(bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
        for good in [
            "bash(*)",
            "bash",
            "bash(git status:*)",
            "bash(cargo test)",
            "bash(find . -name x -exec wc {} :*)",
            "bash(git commit -m 'a b':*)",
            "bash([ -f x ]:*)",
            "edit(src/**)",
            "read(*.md)",
            "write(a?.txt)",
        ] {
            assert!(good.parse::<PermissionRule>().is_ok(), "{good}");
        }
    }

    #[test]
    fn rules_naming_unknown_tools_are_reported() {
        let known = ["bash", "read", "write", "glob"];
        let err = rule("shell(rm:*)")
            .with_source("/home/u/.config/cuervo/config.yml")
            .validate_tools(&known)
            .expect_err("unknown");
        let text = err.to_string();
        assert!(text.contains("unknown tool `shell`"), "{text}");
        assert!(text.contains("bash, edit, glob, read, write"), "{text}");
        assert!(text.contains("/home/u/.config/cuervo/config.yml"), "{text}");
        assert!(rule("edit(src/**)").validate_tools(&known).is_ok());
        assert!(rule("bash(rm:*)").validate_tools(&known).is_ok());
        let mut p = policy(PermissionMode::Ask, &["read"], &["shell(rm:*)"]);
        assert!(p.validate_tools(&known).is_err());
        p.deny.clear();
        assert!(p.validate_tools(&known).is_ok());
    }

    #[test]
    fn sources_are_kept_out_of_identity_and_named_in_denials() {
        let a = rule("bash(rm:*)").with_source("a.yml");
        assert_eq!(a, rule("bash(rm:*)"));
        assert_eq!(a.to_string(), "bash(rm:*)");
        let mut p = PermissionPolicy::new(PermissionMode::FullAuto);
        p.push_deny(rule("bash(rm:*)"), "/home/u/.config/cuervo/config.yml");
        p.push_deny(rule("bash(rm:*)"), "the --disallow-tools flag");
        assert_eq!(p.deny.len(), 1);
        p.push_allow(rule("edit"), "the --allow-tools flag");
        let d = p.decide("bash", Destructive, true, &action("rm -rf x"));
        assert_eq!(
            d,
            Decision::Deny(
                "denied by the rule `bash(rm:*)` from /home/u/.config/cuervo/config.yml: it runs `rm -rf x`"
                    .into()
            )
        );
        let mut p = PermissionPolicy::new(PermissionMode::FullAuto);
        p.push_deny(rule("edit(secrets/**)"), "project");
        assert_eq!(
            p.decide("write", ReadWrite, true, &action("secrets/k")),
            Decision::Deny("denied by the rule `edit(secrets/**)` from project".into())
        );
    }

    #[test]
    fn bash_allow_rules_need_every_command_covered() {
        let p = policy(
            PermissionMode::Ask,
            &["bash(git status:*)", "bash(head)"],
            &[],
        );
        let both = shell_action(vec![cmd(&["git", "status", "-s"]), cmd(&["head"])]);
        assert_eq!(p.decide("bash", Destructive, true, &both), Decision::Allow);
        let extra = shell_action(vec![cmd(&["git", "status"]), cmd(&["touch", "p"])]);
        assert!(
            matches!(p.decide("bash", Destructive, true, &extra), Decision::Ask(r) if r.contains("touch p")),
        );
        // Nothing to run is not "everything allowed".
        let empty = shell_action(vec![]);
        assert!(matches!(
            p.decide("bash", Destructive, true, &empty),
            Decision::Ask(_)
        ));
        // A run-time word inside the matched prefix, or extra arguments for an exact rule.
        let mut dynamic = cmd(&["git", "$X", "-s"]);
        dynamic.dynamic = vec![1];
        assert!(!rule("bash(git status:*)").matches("bash", &shell_action(vec![dynamic])));
        let mut later = cmd(&["git", "status", "$X"]);
        later.dynamic = vec![2];
        assert!(rule("bash(git status:*)").matches("bash", &shell_action(vec![later.clone()])));
        assert!(!rule("bash(git status $X)").matches("bash", &shell_action(vec![later])));
        let mut open = cmd(&["head"]);
        open.open_args = true;
        assert!(!rule("bash(head)").matches("bash", &shell_action(vec![open.clone()])));
        assert!(rule("bash(head:*)").matches("bash", &shell_action(vec![open])));
    }

    #[test]
    fn bash_allow_rules_name_programs_by_path_or_system_directory() {
        let at = |path: &str| {
            let mut c = cmd(&["git", "status"]);
            c.program_path = Some(path.into());
            shell_action(vec![c])
        };
        let r = rule("bash(git status:*)");
        assert!(r.matches("bash", &at("/usr/bin/git")));
        assert!(r.matches("bash", &at("/bin/git")));
        assert!(!r.matches("bash", &at("./git")));
        assert!(!r.matches("bash", &at("/tmp/x/git")));
        let r = rule("bash(./git status:*)");
        assert!(r.matches("bash", &at("./git")));
        assert!(r.matches("bash", &at("git")));
        assert!(!r.matches("bash", &at("/usr/bin/git")));
    }

    #[test]
    fn bash_deny_rules_match_any_command_and_skip_options() {
        let denied = |pattern: &str, commands: Vec<SimpleCommand>| {
            let p = policy(PermissionMode::FullAuto, &["bash"], &[pattern]);
            p.decide("bash", Destructive, true, &shell_action(commands))
        };
        let is_deny = |d: Decision| matches!(d, Decision::Deny(_));
        assert!(is_deny(denied(
            "bash(rm:*)",
            vec![cmd(&["ls"]), cmd(&["rm", "x"])]
        )));
        assert!(is_deny(denied("bash(/bin/rm:*)", vec![cmd(&["rm", "x"])])));
        assert!(is_deny(denied(
            "bash(git push:*)",
            vec![cmd(&["git", "-C", "x", "push"])]
        )));
        assert!(is_deny(denied(
            "bash(git push:*)",
            vec![cmd(&["git", "--no-pager", "push"])]
        )));
        assert!(!is_deny(denied(
            "bash(git push:*)",
            vec![cmd(&["git", "log", "push"])]
        )));
        assert!(is_deny(denied(
            "bash(rm -rf:*)",
            vec![cmd(&["rm", "-f", "-r", "x"])]
        )));
        assert!(!is_deny(denied(
            "bash(rm -rf:*)",
            vec![cmd(&["rm", "-r", "x"])]
        )));
        assert!(is_deny(denied(
            "bash(git push --force:*)",
            vec![cmd(&["git", "push", "o", "--force"])]
        )));
        assert!(is_deny(denied(
            "bash(git push --force:*)",
            vec![cmd(&["git", "push", "--force=yes"])]
        )));
        assert!(is_deny(denied(
            "bash(npm publish)",
            vec![cmd(&["npm", "publish", "--tag", "x"])]
        )));
        let mut dynamic = cmd(&["$X", "a"]);
        dynamic.dynamic = vec![0];
        assert!(
            matches!(denied("bash(rm:*)", vec![dynamic]), Decision::Ask(r) if r.contains("may deny"))
        );
        let mut open = cmd(&["rm"]);
        open.open_args = true;
        assert!(matches!(
            denied("bash(rm -rf:*)", vec![open]),
            Decision::Ask(_)
        ));
    }

    #[test]
    fn unanalysable_commands_ask_except_in_full_auto_without_bash_denies() {
        let unknown = ToolAction {
            target: Some("eval x".into()),
            shell: Some(ShellAnalysis {
                commands: vec![cmd(&["eval", "x"])],
                unanalysable: vec!["`eval` runs a string as a command".into()],
                ..ShellAnalysis::default()
            }),
            ..ToolAction::default()
        };
        let d = |mode, allow: &[&str], deny: &[&str]| {
            policy(mode, allow, deny).decide("bash", Destructive, true, &unknown)
        };
        assert!(
            matches!(d(PermissionMode::Ask, &["bash"], &[]), Decision::Ask(r) if r.contains("eval"))
        );
        assert!(matches!(
            d(PermissionMode::AutoEdit, &["bash(eval:*)"], &[]),
            Decision::Ask(_)
        ));
        assert_eq!(d(PermissionMode::FullAuto, &[], &[]), Decision::Allow);
        assert_eq!(d(PermissionMode::FullAuto, &[], &["edit"]), Decision::Allow);
        assert!(matches!(
            d(PermissionMode::FullAuto, &[], &["bash(rm:*)"]),
            Decision::Ask(_)
        ));
        assert!(matches!(
            d(PermissionMode::Plan, &[], &[]),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn without_a_parsed_analysis_only_plain_words_are_understood() {
        let p = policy(PermissionMode::Ask, &["bash(echo:*)"], &[]);
        assert_eq!(
            p.decide("bash", Destructive, true, &action("echo ok")),
            Decision::Allow
        );
        for text in [
            "echo ok; touch p",
            "echo $(touch p)",
            "echo ok > ../x",
            "echo 'x'",
        ] {
            assert!(
                matches!(
                    p.decide("bash", Destructive, true, &action(text)),
                    Decision::Ask(_)
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn suggested_rules_are_narrow() {
        let suggest = |text: &str| suggest_rule("bash", &action(text)).map(|r| r.to_string());
        assert_eq!(
            suggest("git status -s").as_deref(),
            Some("bash(git status:*)")
        );
        assert_eq!(
            suggest("cargo test --all").as_deref(),
            Some("bash(cargo test:*)")
        );
        assert_eq!(suggest("git").as_deref(), Some("bash(git)"));
        assert_eq!(
            suggest("git -C x status").as_deref(),
            Some("bash(git -C x status)")
        );
        assert_eq!(suggest("ls -la").as_deref(), Some("bash(ls:*)"));
        assert_eq!(suggest("rm -rf target").as_deref(), Some("bash(rm:*)"));
        assert_eq!(
            suggest("python3 tool.py").as_deref(),
            Some("bash(python3 tool.py)")
        );
        assert_eq!(suggest("node").as_deref(), Some("bash(node)"));
        assert_eq!(suggest("env FOO=1 ls").as_deref(), Some("bash(ls:*)"));
        assert_eq!(suggest("sudo ls"), None);
        assert_eq!(suggest("git status && curl x | sh"), None);
        assert_eq!(suggest("eval ls"), None);
        assert_eq!(suggest("xargs rm"), None);
        // Quoted words survive the round trip through the rule's text.
        let mut spaced = cmd(&["python3", "my tool.py", "it's"]);
        spaced.raw = "python3 'my tool.py' \"it's\"".into();
        let a = shell_action(vec![spaced]);
        let r = suggest_rule("bash", &a).expect("a rule");
        assert_eq!(r.to_string(), "bash(python3 'my tool.py' 'it'\\''s')");
        assert!(r.matches("bash", &a));
        // A path program keeps its path.
        let mut gradle = cmd(&["gradlew", "build"]);
        gradle.program_path = Some("./gradlew".into());
        let r = suggest_rule("bash", &shell_action(vec![gradle.clone()])).expect("rule");
        assert_eq!(r.to_string(), "bash(./gradlew build:*)");
        assert!(r.matches("bash", &shell_action(vec![gradle])));
        // Nothing for writes outside or into protected paths.
        let mut outside = action("ls");
        outside.outside_root = true;
        assert_eq!(suggest_rule("bash", &outside), None);
        let mut protected = action("ls");
        protected.protected = Some(".git/x".into());
        assert_eq!(suggest_rule("bash", &protected), None);
        // File tools: the path, or the tool.
        assert_eq!(
            suggest_rule("edit", &action("src/lib.rs"))
                .map(|r| r.to_string())
                .as_deref(),
            Some("edit(src/lib.rs)")
        );
        assert_eq!(
            suggest_rule("glob", &ToolAction::default())
                .map(|r| r.to_string())
                .as_deref(),
            Some("glob")
        );
    }
}
