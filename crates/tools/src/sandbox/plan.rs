//! What is writable under a policy, computed once per command from the project root,
//! the temporary directories and a directory lister (injected, so the rules are tested
//! without a file system).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cuervo_domain::tool::SandboxMode;

/// Entries of the project root that stay read-only even though the root is writable:
/// writing them changes what runs later outside the sandbox (git hooks and config,
/// Cuervo's and Claude Code's project settings).
/// The same directories the permission policy protects (one list, in the domain).
pub const PROTECTED_NAMES: &[&str] = cuervo_domain::permission::PROTECTED_DIRS;

/// Device files every command may write: the sinks and sources shells redirect to.
pub(crate) const WRITABLE_DEVICES: [&str; 5] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// One entry of a directory, as the carve-out needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub path: PathBuf,
    pub is_symlink: bool,
}

/// Lists a directory; the real one reads the file system.
pub(crate) type Lister<'a> = &'a dyn Fn(&Path) -> std::io::Result<Vec<Entry>>;

/// Lists a directory on disk, without following symbolic links.
pub(crate) fn list_dir(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let is_symlink = entry.file_type()?.is_symlink();
        entries.push(Entry {
            path: entry.path(),
            is_symlink,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// The temporary directories a `workspace-write` command may write: `/tmp` and
/// `$TMPDIR`, when they are directories (canonical; `/` is never one).
pub(crate) fn temp_dirs(tmpdir: Option<OsString>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let candidates = std::iter::once(PathBuf::from("/tmp")).chain(tmpdir.map(PathBuf::from));
    for dir in candidates {
        if !dir.is_absolute() {
            continue;
        }
        if let Ok(dir) = dir.canonicalize()
            && dir.is_dir()
            && dir != Path::new("/")
            && !dirs.contains(&dir)
        {
            dirs.push(dir);
        }
    }
    dirs
}

/// The protected paths of a root: each protected name (whether it exists or not), and
/// where it leads when it is a symbolic link, so the target is not granted either.
pub(crate) fn protected_paths(root: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for name in PROTECTED_NAMES {
        let path = root.join(name);
        if let Ok(target) = path.canonicalize()
            && target != path
        {
            paths.push(target);
        }
        paths.push(path);
    }
    paths
}

/// The paths to grant so that everything beneath `writable` is writable except the
/// `protected` paths, for a mechanism (Landlock) that can only grant, never deny:
/// a writable directory holding a protected path is not granted itself; its entries
/// are, recursively, except protected ones and symbolic links (a link would grant its
/// target). A directory that cannot be listed is left read-only.
pub(crate) fn carve(writable: &[PathBuf], protected: &[PathBuf], list: Lister<'_>) -> Vec<PathBuf> {
    fn visit(dir: &Path, protected: &[PathBuf], list: Lister<'_>, out: &mut Vec<PathBuf>) {
        if protected.iter().any(|p| p == dir) {
            return;
        }
        if !protected.iter().any(|p| p.starts_with(dir)) {
            out.push(dir.to_owned());
            return;
        }
        let Ok(entries) = list(dir) else {
            return;
        };
        for entry in entries {
            if !entry.is_symlink {
                visit(&entry.path, protected, list, out);
            }
        }
    }
    let mut out = Vec::new();
    for dir in writable {
        visit(dir, protected, list, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// What the Landlock backend grants: writable paths (beside reading everywhere and the
/// writable devices).
pub(crate) fn landlock_writable(
    mode: SandboxMode,
    root: &Path,
    temps: &[PathBuf],
    list: Lister<'_>,
) -> Vec<PathBuf> {
    match mode {
        SandboxMode::WorkspaceWrite => {
            let mut writable = temps.to_vec();
            // POSIX shared memory and semaphores (Python's multiprocessing); bubblewrap
            // gives each command a private one instead.
            writable.push(PathBuf::from("/dev/shm"));
            writable.push(root.to_owned());
            carve(&writable, &protected_paths(root), list)
        }
        SandboxMode::ReadOnly | SandboxMode::Off => Vec::new(),
    }
}

/// What the bubblewrap backend mounts on top of a read-only `/`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Mounts {
    /// Bound writable, in this order.
    pub writable: Vec<PathBuf>,
    /// Bound read-only over themselves afterwards.
    pub read_only: Vec<PathBuf>,
}

/// The bubblewrap mounts. When every protected name exists as a real entry (the tool
/// makes the missing ones, as empty directories, for the time of the command), the whole
/// root is writable and each protected entry is mounted read-only over itself, so it can
/// be neither changed nor replaced. Otherwise (a protected name is a symbolic link, or
/// could not be made) the same carve-out as Landlock's.
pub(crate) fn bwrap_mounts(
    mode: SandboxMode,
    root: &Path,
    temps: &[PathBuf],
    exists: &dyn Fn(&Path) -> Option<bool>,
    list: Lister<'_>,
) -> Mounts {
    if mode != SandboxMode::WorkspaceWrite {
        return Mounts::default();
    }
    let names: Vec<PathBuf> = PROTECTED_NAMES.iter().map(|n| root.join(n)).collect();
    // `exists`: None = missing, Some(true) = a symbolic link, Some(false) = anything else.
    let states: Vec<Option<bool>> = names.iter().map(|p| exists(p)).collect();
    let mut writable = temps.to_vec();
    writable.push(root.to_owned());
    if states.iter().all(|s| *s == Some(false)) {
        return Mounts {
            writable,
            read_only: names,
        };
    }
    Mounts {
        writable: carve(&writable, &protected_paths(root), list),
        read_only: names
            .into_iter()
            .zip(states)
            .filter(|(_, s)| *s == Some(false))
            .map(|(p, _)| p)
            .collect(),
    }
}

/// Whether a path exists and is a symbolic link: `None` when it does not exist.
pub(crate) fn symlink_state(path: &Path) -> Option<bool> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::collections::BTreeMap;

    /// A fake tree: directory → entries (name, is_symlink).
    fn tree(dirs: &[(&str, &[(&str, bool)])]) -> BTreeMap<PathBuf, Vec<Entry>> {
        dirs.iter()
            .map(|(dir, entries)| {
                let dir = PathBuf::from(dir);
                let entries = entries
                    .iter()
                    .map(|(name, is_symlink)| Entry {
                        path: dir.join(name),
                        is_symlink: *is_symlink,
                    })
                    .collect();
                (dir, entries)
            })
            .collect()
    }

    fn paths(ps: &[&str]) -> Vec<PathBuf> {
        ps.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn the_root_is_granted_entry_by_entry_around_protected_ones() {
        let fs = tree(&[(
            "/p",
            &[
                (".git", false),
                ("src", false),
                ("Cargo.toml", false),
                ("link", true),
                (".claude", false),
            ],
        )]);
        let list = |d: &Path| Ok(fs.get(d).cloned().unwrap_or_default());
        let got = landlock_writable(SandboxMode::WorkspaceWrite, Path::new("/p"), &[], &list);
        assert_eq!(got, paths(&["/dev/shm", "/p/Cargo.toml", "/p/src"]));
    }

    #[test]
    fn a_root_inside_tmp_is_carved_out_of_tmp() {
        let fs = tree(&[
            ("/tmp", &[("a", false), ("work", false)]),
            ("/tmp/work", &[("proj", false), ("other", false)]),
            ("/tmp/work/proj", &[(".git", false), ("main.c", false)]),
        ]);
        let list = |d: &Path| Ok(fs.get(d).cloned().unwrap_or_default());
        let got = landlock_writable(
            SandboxMode::WorkspaceWrite,
            Path::new("/tmp/work/proj"),
            &paths(&["/tmp"]),
            &list,
        );
        assert_eq!(
            got,
            paths(&[
                "/dev/shm",
                "/tmp/a",
                "/tmp/work/other",
                "/tmp/work/proj/main.c"
            ])
        );
    }

    #[test]
    fn a_directory_that_cannot_be_listed_stays_read_only() {
        let list = |_: &Path| Err(std::io::Error::other("denied"));
        let got = landlock_writable(
            SandboxMode::WorkspaceWrite,
            Path::new("/p"),
            &paths(&["/tmp"]),
            &list,
        );
        assert_eq!(got, paths(&["/dev/shm", "/tmp"]));
    }

    #[test]
    fn read_only_grants_nothing() {
        let list = |_: &Path| Ok(Vec::new());
        assert!(landlock_writable(SandboxMode::ReadOnly, Path::new("/p"), &[], &list).is_empty());
    }

    #[test]
    fn bwrap_binds_the_whole_root_when_every_protected_name_is_a_real_entry() {
        let list = |_: &Path| Ok(Vec::new());
        let mounts = bwrap_mounts(
            SandboxMode::WorkspaceWrite,
            Path::new("/p"),
            &paths(&["/tmp"]),
            &|_| Some(false),
            &list,
        );
        assert_eq!(
            mounts,
            Mounts {
                writable: paths(&["/tmp", "/p"]),
                read_only: paths(&["/p/.git", "/p/.cuervo", "/p/.claude"]),
            }
        );
    }

    #[test]
    fn bwrap_falls_back_to_the_carve_out_when_a_protected_name_is_a_link_or_missing() {
        let fs = tree(&[("/p", &[(".git", false), (".claude", true), ("src", false)])]);
        let list = |d: &Path| Ok(fs.get(d).cloned().unwrap_or_default());
        let state = |p: &Path| match p.file_name().and_then(|n| n.to_str()) {
            Some(".git") => Some(false),
            Some(".claude") => Some(true),
            _ => None,
        };
        let mounts = bwrap_mounts(
            SandboxMode::WorkspaceWrite,
            Path::new("/p"),
            &[],
            &state,
            &list,
        );
        assert_eq!(
            mounts,
            Mounts {
                writable: paths(&["/p/src"]),
                read_only: paths(&["/p/.git"]),
            }
        );
    }

    #[test]
    fn temp_dirs_are_canonical_and_never_the_file_system_root() {
        let dirs = temp_dirs(Some("/".into()));
        assert!(!dirs.iter().any(|d| d == Path::new("/")), "{dirs:?}");
        let dirs = temp_dirs(Some("relative/tmp".into()));
        assert!(dirs.iter().all(|d| d.is_absolute()), "{dirs:?}");
    }
}
