//! The narrowest rule to offer when a person says "allow always".

use super::PermissionRule;
use super::rule::quote_pattern_word;
use super::shell_rules::shell_of;
use crate::tool::ToolAction;

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
    if SUBCOMMAND_PROGRAMS.contains(&program) {
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
