//! How a `bash` rule's words match the simple commands of a [`ShellAnalysis`]: allow
//! rules by leading words, deny rules by program and words anywhere.

use std::borrow::Cow;

use crate::shell::{ShellAnalysis, SimpleCommand, basename};
use crate::tool::ToolAction;

/// The analysis a bash call is judged on: the tool's own, or the parser-free fallback.
pub(super) fn shell_of(action: &ToolAction) -> Cow<'_, ShellAnalysis> {
    match &action.shell {
        Some(shell) => Cow::Borrowed(shell),
        None => Cow::Owned(ShellAnalysis::plain(
            action.target.as_deref().unwrap_or_default(),
        )),
    }
}

/// A bash rule's pattern as words.
pub(super) enum BashPattern {
    Any,
    Prefix(Vec<String>),
    Exact(Vec<String>),
}

/// Whether a deny rule matches a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Hit {
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
    pub(super) fn allows(&self, cmd: &SimpleCommand) -> bool {
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
    pub(super) fn denies(&self, cmd: &SimpleCommand) -> Hit {
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
