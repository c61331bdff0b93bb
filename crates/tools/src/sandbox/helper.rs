//! The helper process: confines itself, then becomes the command.
//!
//! `HELPER [--backend landlock|bubblewrap] [--mode workspace-write|read-only]
//! --root DIR [--network] -- PROGRAM [ARGS...]`
//!
//! The arguments are an internal protocol between the `bash` tool and the helper of the
//! same build; they are not a user interface.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use cuervo_domain::tool::{SandboxBackend, SandboxMode};

use super::{FAILURE_EXIT, FAILURE_PREFIX, SandboxError};

/// A parsed helper invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub backend: SandboxBackend,
    pub mode: SandboxMode,
    pub root: PathBuf,
    pub network: bool,
    pub command: Vec<OsString>,
}

impl Request {
    /// The helper's arguments for this request (the inverse of [`Request::parse`]).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--backend".into(),
            self.backend.as_str().into(),
            "--mode".into(),
            self.mode.as_str().into(),
            "--root".into(),
            self.root.clone().into(),
        ];
        if self.network {
            args.push("--network".into());
        }
        args.push("--".into());
        args.extend(self.command.iter().cloned());
        args
    }

    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Self, SandboxError> {
        let usage = |m: &str| SandboxError::Usage(m.to_owned());
        let mut args = args.into_iter();
        let mut backend = SandboxBackend::Landlock;
        let mut mode = SandboxMode::WorkspaceWrite;
        let mut root = None;
        let mut network = false;
        let text = |v: Option<OsString>, flag: &str| {
            v.and_then(|v| v.into_string().ok())
                .ok_or_else(|| usage(&format!("{flag} needs a value")))
        };
        loop {
            let Some(arg) = args.next() else {
                return Err(usage("missing `-- COMMAND`"));
            };
            match arg.to_str() {
                Some("--backend") => {
                    backend = text(args.next(), "--backend")?
                        .parse()
                        .map_err(|e: String| usage(&e))?
                }
                Some("--mode") => {
                    mode = text(args.next(), "--mode")?
                        .parse()
                        .map_err(|e: String| usage(&e))?
                }
                Some("--root") => {
                    root = Some(PathBuf::from(
                        args.next().ok_or_else(|| usage("--root needs a value"))?,
                    ));
                }
                Some("--network") => network = true,
                Some("--") => break,
                _ => {
                    return Err(usage(&format!(
                        "unknown argument {}",
                        arg.to_string_lossy()
                    )));
                }
            }
        }
        let command: Vec<OsString> = args.collect();
        if command.is_empty() {
            return Err(usage("no command after `--`"));
        }
        let root = root.ok_or_else(|| usage("--root is required"))?;
        if !root.is_absolute() {
            return Err(usage("--root must be an absolute path"));
        }
        if backend == SandboxBackend::Auto {
            return Err(usage("the tool resolves `auto` before starting the helper"));
        }
        Ok(Self {
            backend,
            mode,
            root,
            network,
            command,
        })
    }
}

/// The helper's entry point: `args` are the arguments after the helper's own name (or
/// after `__sandbox`). Returns only when the command could not be started confined,
/// after saying why on standard error; otherwise the process has become the command.
pub fn helper_main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let error = match Request::parse(args) {
        Ok(request) => run(request),
        Err(e) => e,
    };
    eprintln!("{FAILURE_PREFIX}{error}");
    ExitCode::from(FAILURE_EXIT)
}

#[cfg(not(target_os = "linux"))]
fn run(_request: Request) -> SandboxError {
    SandboxError::Unsupported
}

#[cfg(target_os = "linux")]
fn run(mut request: Request) -> SandboxError {
    use super::plan;
    use std::os::unix::process::CommandExt;

    // Compared path by path with the (canonical) temporary directories below.
    if let Ok(root) = request.root.canonicalize() {
        request.root = root;
    }
    let temps = plan::temp_dirs(std::env::var_os("TMPDIR"));
    let (program, args) = if request.mode == SandboxMode::Off {
        (request.command[0].clone(), request.command[1..].to_vec())
    } else {
        match request.backend {
            SandboxBackend::Bubblewrap => {
                if let Err(e) = super::seccomp::install(true) {
                    return e;
                }
                let mounts = plan::bwrap_mounts(
                    request.mode,
                    &request.root,
                    &temps,
                    &plan::symlink_state,
                    &plan::list_dir,
                );
                let cwd = std::env::current_dir().unwrap_or_else(|_| request.root.clone());
                let mut args = bwrap_args(&mounts, request.network, &cwd);
                args.push("--".into());
                args.extend(request.command.iter().cloned());
                ("bwrap".into(), args)
            }
            SandboxBackend::Landlock | SandboxBackend::Auto => {
                let writable =
                    plan::landlock_writable(request.mode, &request.root, &temps, &plan::list_dir);
                let rules = super::landlock::Rules {
                    writable,
                    network: request.network,
                };
                if let Err(e) = super::landlock::restrict_self(&rules) {
                    return e;
                }
                if let Err(e) = super::seccomp::install(request.network) {
                    return e;
                }
                (request.command[0].clone(), request.command[1..].to_vec())
            }
        }
    };
    let error = std::process::Command::new(&program).args(&args).exec();
    if error.kind() == std::io::ErrorKind::NotFound && program == "bwrap" {
        SandboxError::BubblewrapMissing
    } else {
        SandboxError::Exec {
            program: program.to_string_lossy().into_owned(),
            source: error,
        }
    }
}

/// `bwrap`'s arguments before `--`: new PID, IPC (and network) namespaces, no
/// capabilities, `/` read-only with a private `/dev` and `/proc`, then the mounts.
pub(crate) fn bwrap_args(
    mounts: &super::plan::Mounts,
    network: bool,
    cwd: &std::path::Path,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--cap-drop",
        "ALL",
    ]
    .map(OsString::from)
    .to_vec();
    if !network {
        args.push("--unshare-net".into());
    }
    args.extend(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"].map(OsString::from));
    for path in &mounts.writable {
        args.extend(["--bind".into(), path.into(), path.into()]);
    }
    for path in &mounts.read_only {
        args.extend(["--ro-bind".into(), path.into(), path.into()]);
    }
    args.extend(["--chdir".into(), cwd.into()]);
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn requests_round_trip_through_arguments() {
        let request = Request {
            backend: SandboxBackend::Bubblewrap,
            mode: SandboxMode::ReadOnly,
            root: "/work/p".into(),
            network: true,
            command: os(&["bash", "-c", "echo -- --root x"]),
        };
        assert_eq!(Request::parse(request.to_args()).unwrap(), request);
    }

    #[test]
    fn bad_arguments_are_refused() {
        for args in [
            &["--root", "/p"][..],
            &["--root", "/p", "--"],
            &["--root", "rel", "--", "true"],
            &["--", "true"],
            &["--mode", "wide-open", "--root", "/p", "--", "true"],
            &["--backend", "auto", "--root", "/p", "--", "true"],
            &["--frobnicate", "--root", "/p", "--", "true"],
        ] {
            assert!(Request::parse(os(args)).is_err(), "{args:?}");
        }
    }

    #[test]
    fn bwrap_arguments_mount_read_only_after_writable_and_cut_the_network() {
        let mounts = super::super::plan::Mounts {
            writable: vec!["/tmp".into(), "/p".into()],
            read_only: vec!["/p/.git".into()],
        };
        let args = bwrap_args(&mounts, false, std::path::Path::new("/p"));
        let text: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            text.join(" "),
            "--die-with-parent --unshare-pid --unshare-ipc --cap-drop ALL --unshare-net \
             --ro-bind / / --dev /dev --proc /proc --bind /tmp /tmp --bind /p /p \
             --ro-bind /p/.git /p/.git --chdir /p"
        );
        let with_network = bwrap_args(&mounts, true, std::path::Path::new("/p"));
        assert!(!with_network.iter().any(|a| a == "--unshare-net"));
    }
}
