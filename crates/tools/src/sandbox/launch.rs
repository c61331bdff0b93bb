//! The `bash` tool's side: which program to start for a command under the context's
//! policy, the placeholders bubblewrap mounts over, and reading the helper's failures.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use cuervo_domain::ToolError;
use cuervo_domain::tool::{SandboxBackend, SandboxLauncher, SandboxMode, SandboxSpec};

use super::helper::Request;
use super::plan::PROTECTED_NAMES;
use super::{FAILURE_EXIT, FAILURE_PREFIX};

/// How to proceed when the sandbox is unavailable, appended to every such error.
const WAYS_OUT: &str = "Install bubblewrap (e.g. `apt-get install bubblewrap`) to sandbox with \
     namespaces, or, if you trust the commands, turn the sandbox off for this run with \
     `--sandbox off` or for good with `sandbox: {mode: off}` in ~/.config/cuervo/config.yml";

/// A command ready to start: the program, its arguments, and what keeps the bubblewrap
/// placeholders alive until the command is over (drop it after the process group is
/// dead).
#[derive(Debug)]
pub(crate) struct Launch {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// The backend confining the command; `None` when it runs unconfined.
    pub backend: Option<SandboxBackend>,
    mode: SandboxMode,
    network: bool,
    /// Why bubblewrap was passed over, when `auto` fell back to Landlock.
    bwrap_unusable: Option<String>,
    _placeholders: Option<Placeholders>,
}

/// Decides how `command` runs under `spec` in `root`.
pub(crate) async fn prepare(
    command: &str,
    root: &Path,
    spec: &SandboxSpec,
) -> Result<Launch, ToolError> {
    let bash = || vec![OsString::from("bash"), "-c".into(), command.into()];
    if !spec.is_on() {
        let mut argv = bash();
        let program = argv.remove(0);
        return Ok(Launch {
            program,
            args: argv,
            backend: None,
            mode: spec.mode,
            network: true,
            bwrap_unusable: None,
            _placeholders: None,
        });
    }
    if !cfg!(target_os = "linux") {
        return Err(ToolError::Failed(format!(
            "the command was not run: the shell sandbox ({}) is only available on Linux. \
             Turn it off with `--sandbox off` or `sandbox: {{mode: off}}` in the config \
             if you trust the commands",
            spec.mode
        )));
    }
    let Some(launcher) = &spec.launcher else {
        return Err(ToolError::Failed(format!(
            "the command was not run: no sandbox helper is configured for mode {}. {WAYS_OUT}",
            spec.mode
        )));
    };
    let (backend, bwrap_unusable) = resolve_backend(spec.backend, launcher).await?;
    let placeholders = (backend == SandboxBackend::Bubblewrap
        && spec.mode == SandboxMode::WorkspaceWrite)
        .then(|| Placeholders::make(root));
    let request = Request {
        backend,
        mode: spec.mode,
        root: root.to_owned(),
        network: spec.network,
        command: bash(),
    };
    let mut args: Vec<OsString> = launcher.args.iter().map(OsString::from).collect();
    args.extend(request.to_args());
    Ok(Launch {
        program: launcher.program.clone().into(),
        args,
        backend: Some(backend),
        mode: spec.mode,
        network: spec.network,
        bwrap_unusable,
        _placeholders: placeholders,
    })
}

impl Launch {
    /// The helper's report when it could not confine the command (which then did not
    /// run), as the tool's error message.
    pub fn failure(&self, status: Option<ExitStatus>, output: &str) -> Option<String> {
        self.backend?;
        if status.and_then(|s| s.code()) != Some(i32::from(FAILURE_EXIT)) {
            return None;
        }
        let reason = output.strip_prefix(FAILURE_PREFIX)?;
        let reason = reason
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches('.');
        let bwrap = match &self.bwrap_unusable {
            Some(why) => format!("; bubblewrap was not usable either: {why}"),
            None => String::new(),
        };
        Some(format!(
            "the command was not run: the sandbox could not be applied ({reason}{bwrap}). \
             {WAYS_OUT}"
        ))
    }

    /// A note for the model when a confined command failed the way the sandbox makes
    /// commands fail, saying what the sandbox allows.
    pub fn denial_hint(&self, failed: bool, output: &str) -> Option<String> {
        let backend = self.backend?;
        const SIGNS: [&str; 6] = [
            "Read-only file system",
            "Permission denied",
            "Operation not permitted",
            "Could not resolve host",
            "Temporary failure in name resolution",
            "Network is unreachable",
        ];
        if !failed || !SIGNS.iter().any(|s| output.contains(s)) {
            return None;
        }
        let writes = match (self.mode, backend) {
            (SandboxMode::ReadOnly, _) => "nothing is writable".to_owned(),
            (_, SandboxBackend::Landlock) => format!(
                "only the project root and the temporary directories are writable, not {}; \
                 new files or directories cannot be created at the top level of the root \
                 (create them with the write tool)",
                PROTECTED_NAMES.join(", ")
            ),
            _ => format!(
                "only the project root and the temporary directories are writable, not {}",
                PROTECTED_NAMES.join(", ")
            ),
        };
        let network = if self.network {
            ""
        } else {
            "; the network is off"
        };
        Some(format!(
            "[sandbox {} ({backend}): {writes}{network}. If the command needs more, ask the \
             user to run it or to allow it with `--sandbox off`]",
            self.mode
        ))
    }
}

/// The bubblewrap probe's answer, once per process: `Err(why)` when `bwrap` cannot
/// build the sandbox here.
static BWRAP_PROBE: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

/// The backend to use, and why bubblewrap is not when `auto` passed it over.
async fn resolve_backend(
    wanted: SandboxBackend,
    launcher: &SandboxLauncher,
) -> Result<(SandboxBackend, Option<String>), ToolError> {
    match wanted {
        SandboxBackend::Landlock => Ok((SandboxBackend::Landlock, None)),
        SandboxBackend::Auto => Ok(match probe_bwrap(launcher).await {
            Ok(()) => (SandboxBackend::Bubblewrap, None),
            Err(why) => {
                tracing::debug!(%why, "bubblewrap unavailable; sandboxing with Landlock");
                (SandboxBackend::Landlock, Some(why))
            }
        }),
        SandboxBackend::Bubblewrap => match probe_bwrap(launcher).await {
            Ok(()) => Ok((SandboxBackend::Bubblewrap, None)),
            Err(why) => Err(ToolError::Failed(format!(
                "the command was not run: the bubblewrap sandbox is not usable here ({why}). \
                 Install or fix bubblewrap (`apt-get install bubblewrap`; it needs user \
                 namespaces), set `sandbox: {{backend: landlock}}` in the config, or turn \
                 the sandbox off with `--sandbox off` if you trust the commands"
            ))),
        },
    }
}

/// Runs `true` through the helper's bubblewrap path once: the same seccomp filter and
/// the same namespaces a real command gets.
async fn probe_bwrap(launcher: &SandboxLauncher) -> Result<(), String> {
    BWRAP_PROBE
        .get_or_init(|| async {
            let request = Request {
                backend: SandboxBackend::Bubblewrap,
                mode: SandboxMode::ReadOnly,
                root: PathBuf::from("/"),
                network: false,
                command: vec!["true".into()],
            };
            let mut cmd = tokio::process::Command::new(&launcher.program);
            cmd.args(&launcher.args)
                .args(request.to_args())
                .current_dir("/")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            let output = tokio::time::timeout(Duration::from_secs(10), cmd.output()).await;
            match output {
                Err(_) => Err("bwrap did not finish within 10 s".to_owned()),
                Ok(Err(e)) => Err(format!(
                    "cannot start the sandbox helper {}: {e}",
                    launcher.program.display()
                )),
                Ok(Ok(out)) if out.status.success() => Ok(()),
                Ok(Ok(out)) => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    let line = stderr.lines().next().unwrap_or("no message").trim();
                    Err(line.strip_prefix(FAILURE_PREFIX).unwrap_or(line).to_owned())
                }
            }
        })
        .await
        .clone()
}

/// Placeholders in use, by path: how many running commands mount over each, so the
/// last one to finish removes it.
static PLACEHOLDERS: Mutex<BTreeMap<PathBuf, usize>> = Mutex::new(BTreeMap::new());

/// Empty directories made where a protected name is missing, so bubblewrap can mount a
/// read-only view over them and the name cannot be created; removed (when still empty)
/// once no command uses them.
#[derive(Debug)]
struct Placeholders {
    held: Vec<PathBuf>,
}

impl Placeholders {
    fn make(root: &Path) -> Self {
        let mut held = Vec::new();
        let Ok(mut in_use) = PLACEHOLDERS.lock() else {
            return Self { held };
        };
        for name in PROTECTED_NAMES {
            let path = root.join(name);
            if let Some(count) = in_use.get_mut(&path) {
                *count += 1;
                held.push(path);
            } else if std::fs::symlink_metadata(&path).is_err()
                && std::fs::create_dir(&path).is_ok()
            {
                in_use.insert(path.clone(), 1);
                held.push(path);
            }
        }
        Self { held }
    }
}

impl Drop for Placeholders {
    fn drop(&mut self) {
        let Ok(mut in_use) = PLACEHOLDERS.lock() else {
            return;
        };
        for path in self.held.drain(..) {
            let Some(count) = in_use.get_mut(&path) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                in_use.remove(&path);
                // Fails, and keeps it, if someone put something in it meanwhile.
                let _ = std::fs::remove_dir(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mode: SandboxMode, launcher: Option<SandboxLauncher>) -> SandboxSpec {
        SandboxSpec {
            mode,
            network: false,
            backend: SandboxBackend::Landlock,
            launcher,
        }
    }

    #[tokio::test]
    async fn off_runs_bash_directly() {
        let launch = prepare("echo hi", Path::new("/p"), &SandboxSpec::off())
            .await
            .unwrap();
        assert_eq!(launch.program, "bash");
        assert_eq!(launch.args, ["-c", "echo hi"]);
        assert_eq!(launch.backend, None);
    }

    #[tokio::test]
    async fn a_sandbox_without_a_helper_refuses_to_run_the_command() {
        let err = prepare(
            "echo hi",
            Path::new("/p"),
            &spec(SandboxMode::WorkspaceWrite, None),
        )
        .await
        .unwrap_err();
        let ToolError::Failed(message) = err else {
            panic!("{err:?}")
        };
        assert!(message.contains("not run"), "{message}");
        assert!(message.contains("--sandbox off"), "{message}");
    }

    #[tokio::test]
    async fn the_helper_gets_the_policy_and_the_command() {
        let launcher = SandboxLauncher {
            program: "/bin/cuervo".into(),
            args: vec!["__sandbox".into()],
        };
        let launch = prepare(
            "ls",
            Path::new("/p"),
            &spec(SandboxMode::ReadOnly, Some(launcher)),
        )
        .await
        .unwrap();
        assert_eq!(launch.program, "/bin/cuervo");
        let args: Vec<String> = launch
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "__sandbox --backend landlock --mode read-only --root /p -- bash -c ls"
        );
    }

    #[test]
    fn helper_failures_are_recognised_by_status_and_prefix() {
        use std::os::unix::process::ExitStatusExt;
        let launch = Launch {
            program: "x".into(),
            args: Vec::new(),
            backend: Some(SandboxBackend::Landlock),
            mode: SandboxMode::WorkspaceWrite,
            network: false,
            bwrap_unusable: Some("bwrap: no permission to create namespaces".into()),
            _placeholders: None,
        };
        let failed = Some(ExitStatus::from_raw(i32::from(FAILURE_EXIT) << 8));
        let output = format!("{FAILURE_PREFIX}Landlock is not available (old kernel)\n");
        let message = launch.failure(failed, &output).unwrap();
        assert!(
            message.contains("Landlock is not available (old kernel)"),
            "{message}"
        );
        assert!(
            message.contains("not usable either: bwrap: no permission"),
            "{message}"
        );
        assert_eq!(launch.failure(failed, "some output"), None);
        assert_eq!(launch.failure(Some(ExitStatus::from_raw(0)), &output), None);
    }

    #[test]
    fn placeholders_are_shared_and_removed_by_the_last_user() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let a = Placeholders::make(dir.path());
        let b = Placeholders::make(dir.path());
        assert!(dir.path().join(".cuervo").is_dir());
        assert!(dir.path().join(".claude").is_dir());
        drop(a);
        assert!(dir.path().join(".cuervo").is_dir(), "still in use by b");
        drop(b);
        assert!(!dir.path().join(".cuervo").exists());
        assert!(!dir.path().join(".claude").exists());
        assert!(dir.path().join(".git").is_dir(), "the real one stays");
    }
}
