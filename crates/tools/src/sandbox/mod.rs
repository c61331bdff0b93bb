//! The shell sandbox: what a `bash` command may change, enforced by the kernel.
//!
//! # Design
//!
//! The workspace denies `unsafe` code, so nothing is set up between `fork` and `exec`
//! (no `pre_exec`). Instead the `bash` tool starts a **helper**, the same executable
//! re-entered (`cuervo __sandbox ...`, or the `cuervo-sandbox` binary of this crate),
//! which confines *itself* with safe calls and then `exec`s `bash -c COMMAND`. The
//! helper replaces itself rather than forking, so the process group the tool created is
//! the command's: timeouts and cancellation still kill everything it started.
//!
//! Two backends, one policy ([`SandboxMode`]):
//!
//! - **Bubblewrap** (`bwrap`, preferred when installed and working): the helper installs
//!   a small seccomp filter on itself and `exec`s `bwrap`, which builds new mount, PID and
//!   IPC namespaces (and a network namespace with only loopback when the network is off):
//!   `/` read-only, a private `/dev` and `/proc`, the project root and the temporary
//!   directories bound writable, and `.git`, `.cuervo`, `.claude` bound read-only over
//!   themselves. Missing protected names get an empty directory as a mount point for the
//!   duration of the command (made and removed by the tool), so they cannot be created.
//!   All capabilities are dropped, also when Cuervo runs as root.
//! - **Landlock + seccomp** (any kernel since 5.13): Landlock rules allow reading
//!   everywhere and writing beneath a list of paths (the root's entries, the temporary
//!   directories, `/dev/shm`, `/dev/null` and the like); seccomp refuses sockets other
//!   than Unix ones when the network is off. Landlock cannot deny a path beneath an
//!   allowed one, so the root itself is not granted: each top-level entry of the root
//!   *except* the protected ones is (the same carve-out applies when the root lies in
//!   `/tmp`). The cost: new entries cannot be created (or removed, or renamed) at the top
//!   level of the project root under Landlock, only inside its directories and in
//!   existing top-level files (`echo > new.txt` at the root fails; `cargo build` in a
//!   fresh clone fails to create `target/`). That is also what keeps a missing `.cuervo`
//!   from being created.
//!
//! Both backends also refuse, through seccomp, a few calls no shell command needs and a
//! confined one could use to escape or to reach the user's terminal: `TIOCSTI` (typing
//! into the terminal), io_uring (which would bypass the socket filter), kernel modules,
//! kexec, BPF, the kernel keyring.
//!
//! When a sandbox cannot be applied, the command is **not** run: the helper reports why
//! and exits with [`FAILURE_EXIT`], and the tool turns that into a failed call that says
//! what is missing and how to proceed.
//!
//! # Limits
//!
//! - Unix sockets stay reachable by path (the Docker socket, the D-Bus session bus and
//!   through it the keyring, `ssh-agent`): the network switch covers IP and the other
//!   families, not local IPC. Landlock ABI 9 (Linux 7.1) restricts these too, and is
//!   used when present.
//! - Landlock does not restrict changing metadata (`chmod`, `chown`, timestamps,
//!   extended attributes) of files it lets a command read; bubblewrap's read-only mounts
//!   do. Before ABI 3 (Linux 6.2) it does not restrict truncating either.
//! - Under Landlock a command still sees every process; signals to processes outside
//!   the sandbox are refused from ABI 6 (Linux 6.12), and `ptrace` always. Bubblewrap
//!   gives commands their own PID namespace, so `$$` and the PIDs they see are not the
//!   host's.
//! - The bubblewrap placeholders for missing `.git`, `.cuervo`, `.claude` are visible as
//!   empty directories while a command runs. Two Cuervo processes on the same project can
//!   remove each other's placeholder, which unmounts it in the other's sandbox.
//! - 32-bit (i386) programs cannot run in the sandbox: the seccomp filter kills a process
//!   that makes a system call of another architecture.
//! - Devices: bubblewrap gives a private `/dev` with the usual character devices only
//!   (no GPUs); Landlock lets reading devices through but writing only the usual ones.
//! - Outside Linux there is no sandbox: every command fails until the mode is `off`.

pub mod env;
mod helper;
mod launch;
mod plan;

#[cfg(target_os = "linux")]
mod landlock;
#[cfg(target_os = "linux")]
mod seccomp;

pub use cuervo_domain::tool::{SandboxBackend, SandboxLauncher, SandboxMode, SandboxSpec};
pub use helper::helper_main;
pub(crate) use launch::prepare;
pub use plan::PROTECTED_NAMES;

/// The first argument that makes the `cuervo` binary act as the sandbox helper.
pub const HELPER_ARG: &str = "__sandbox";

/// The exit status of a helper that could not confine the command (and did not run it).
pub const FAILURE_EXIT: u8 = 125;

/// How a helper's report of a failure begins on its standard error.
pub const FAILURE_PREFIX: &str = "cuervo-sandbox: cannot sandbox the command: ";

/// Errors of the helper, reported on its standard error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The helper was called with arguments it does not understand.
    #[error("bad helper arguments: {0}")]
    Usage(String),
    /// The kernel does not enforce Landlock.
    #[error("Landlock is not available ({0})")]
    LandlockUnavailable(String),
    /// Building or applying the Landlock ruleset failed.
    #[error("Landlock failed: {0}")]
    Landlock(String),
    /// Building or installing the seccomp filter failed.
    #[error("seccomp failed: {0}")]
    Seccomp(String),
    /// `bwrap` is missing.
    #[error("bubblewrap is not installed (`bwrap` was not found on PATH)")]
    BubblewrapMissing,
    /// A program could not be executed.
    #[error("cannot execute {program}: {source}")]
    Exec {
        program: String,
        source: std::io::Error,
    },
    /// No sandbox exists for this operating system.
    #[error("the shell sandbox is only available on Linux")]
    Unsupported,
}

/// Starts the helper as the running executable: `/proc/self/exe __sandbox` on Linux,
/// which names this very binary even after it was replaced or deleted on disk.
pub fn self_launcher() -> Option<SandboxLauncher> {
    let program = if cfg!(target_os = "linux") && std::path::Path::new("/proc/self/exe").exists() {
        std::path::PathBuf::from("/proc/self/exe")
    } else {
        std::env::current_exe().ok()?
    };
    Some(SandboxLauncher {
        program,
        args: vec![HELPER_ARG.to_owned()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_backends_round_trip_through_their_names() {
        for mode in SandboxMode::ALL {
            assert_eq!(mode.as_str().parse::<SandboxMode>(), Ok(mode));
        }
        for backend in SandboxBackend::ALL {
            assert_eq!(backend.as_str().parse::<SandboxBackend>(), Ok(backend));
        }
        let err = "workspace".parse::<SandboxMode>().unwrap_err();
        assert!(err.contains("workspace-write"), "{err}");
        assert_eq!(SandboxMode::default(), SandboxMode::WorkspaceWrite);
    }

    #[test]
    fn self_launcher_reenters_this_executable() {
        let launcher = self_launcher().unwrap();
        assert_eq!(launcher.args, [HELPER_ARG]);
        assert!(launcher.program.exists());
    }
}
