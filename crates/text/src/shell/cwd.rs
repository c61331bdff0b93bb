//! Tracking the directory the shell may be in, so a write after `cd` lands where bash
//! would put it.

use cuervo_domain::shell::SimpleCommand;

/// How many directories a write is tracked in before the directory counts as unknown.
const MAX_DIRS: usize = 8;

/// The directories the shell may be in: each entry is `None` for the start directory
/// or a path as written (relative to the start, or absolute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cwd {
    Known(Vec<Option<String>>),
    Unknown,
}

impl Cwd {
    pub(super) fn start() -> Self {
        Cwd::Known(vec![None])
    }

    pub(super) fn union(&self, other: &Cwd) -> Cwd {
        match (self, other) {
            (Cwd::Known(a), Cwd::Known(b)) => {
                let mut all = a.clone();
                for d in b {
                    if !all.contains(d) {
                        all.push(d.clone());
                    }
                }
                if all.len() > MAX_DIRS {
                    Cwd::Unknown
                } else {
                    Cwd::Known(all)
                }
            }
            _ => Cwd::Unknown,
        }
    }

    /// After `cd dir`.
    pub(super) fn enter(&self, dir: &str) -> Cwd {
        match self {
            Cwd::Unknown => Cwd::Unknown,
            Cwd::Known(dirs) => {
                let mut next: Vec<Option<String>> = Vec::new();
                for d in dirs {
                    let joined = join(d.as_deref(), dir);
                    if !next.contains(&joined) {
                        next.push(joined);
                    }
                }
                Cwd::Known(next)
            }
        }
    }
}

fn join(base: Option<&str>, path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('~') {
        return Some(path.to_owned());
    }
    match base {
        None => Some(path.to_owned()),
        Some(base) => Some(format!("{}/{path}", base.trim_end_matches('/'))),
    }
}

/// Where the shell may be after a statement that succeeded or failed.
#[derive(Debug, Clone)]
pub(super) struct Flow {
    pub(super) ok: Cwd,
    pub(super) fail: Cwd,
}

impl Flow {
    pub(super) fn same(cwd: &Cwd) -> Flow {
        Flow {
            ok: cwd.clone(),
            fail: cwd.clone(),
        }
    }

    pub(super) fn any(&self) -> Cwd {
        self.ok.union(&self.fail)
    }
}

/// Where `cd`, `pushd` and `popd` leave the shell.
pub(super) fn change_dir(cmd: &SimpleCommand, cwd: &Cwd) -> Flow {
    let Some(program) = cmd.program() else {
        return Flow::same(cwd);
    };
    if !matches!(program, "cd" | "pushd" | "popd" | "chdir") {
        return Flow::same(cwd);
    }
    let mut operand = None;
    let mut no_change = false;
    for (i, arg) in cmd.argv.iter().enumerate().skip(1) {
        if cmd.is_dynamic(i) {
            operand = Some(None);
            break;
        }
        match arg.as_str() {
            "--" => {}
            "-n" if program != "cd" => no_change = true,
            "-L" | "-P" | "-e" | "-@" => {}
            _ => {
                operand = Some(Some(arg.as_str()));
                break;
            }
        }
    }
    if no_change {
        return Flow::same(cwd);
    }
    let next = match (program, operand) {
        ("popd", _) | (_, Some(None) | None) => Cwd::Unknown,
        (_, Some(Some(dir))) if dir == "-" || dir.starts_with('+') || cmd.open_args => Cwd::Unknown,
        (_, Some(Some(dir))) if dir.starts_with('-') && program == "pushd" => Cwd::Unknown,
        (_, Some(Some(dir))) => cwd.enter(dir),
    };
    Flow {
        ok: next,
        fail: cwd.clone(),
    }
}
