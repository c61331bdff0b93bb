//! File helpers shared by `write` and `edit`: atomic replacement and diffs.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use cuervo_domain::ToolError;
use similar::TextDiff;

/// Writes `content` to `path` so that readers see either the old file or the new one,
/// never a half-written file: the bytes go to a temporary file in the same directory
/// (same file system, so the rename is atomic), are flushed to disk, and the temporary
/// file is renamed over the target. Missing parent directories are created. An existing
/// file keeps its permissions.
pub(crate) fn atomic_write(path: &Path, content: &[u8]) -> Result<(), ToolError> {
    let shown = path.display();
    let parent = path.parent().ok_or_else(|| {
        ToolError::Failed(format!("{shown} has no parent directory; give a file path"))
    })?;
    std::fs::create_dir_all(parent).map_err(|e| {
        ToolError::Failed(format!(
            "cannot create the directory {}: {e}",
            parent.display()
        ))
    })?;
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(ToolError::Failed(format!(
            "{shown} is a directory; give the path of a file"
        )));
    }
    let fail = |what: &str, e: std::io::Error| {
        ToolError::Failed(format!("cannot write {shown}: {what}: {e}"))
    };
    // A new file gets the mode any program would give it (0666 less the umask), not the
    // temporary file's private 0600. For an existing file the temporary file starts no
    // more open than the file (its mode less the umask), so the new content is never
    // readable by more people than the old; the exact mode is copied below.
    let mode = existing
        .as_ref()
        .map_or_else(new_file_permissions, std::fs::Metadata::permissions);
    let mut tmp = tempfile::Builder::new()
        .prefix(".cuervo-tmp-")
        .permissions(mode)
        .tempfile_in(parent)
        .map_err(|e| fail("creating a temporary file", e))?;
    tmp.write_all(content)
        .map_err(|e| fail("writing the temporary file", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| fail("flushing the temporary file", e))?;
    if let Some(meta) = existing {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(|e| fail("copying permissions", e))?;
    }
    tmp.persist(path)
        .map_err(|e| fail("renaming the temporary file into place", e.error))?;
    Ok(())
}

/// `0666`: the mode `open(2)` is asked for when creating a file, which the kernel
/// narrows by the process umask.
fn new_file_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o666)
}

/// A unified diff from `old` to `new`, headed `a/<name>` / `b/<name>` like git's. Empty
/// when nothing changed. Diffing gives up refining after a second on pathological input
/// rather than stalling the agent.
///
/// An absolute name loses its leading `/` after the prefix, as with
/// `git diff --no-index /tmp/x /tmp/y` (`--- a/tmp/x`), never `a//tmp/x`.
pub(crate) fn unified_diff(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let name = name.trim_start_matches('/');
    TextDiff::configure()
        .timeout(Duration::from_secs(1))
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// Reads a file as text for editing. Refuses binary files (a NUL byte) because a text
/// edit would corrupt them.
pub(crate) fn read_text(path: &Path, shown: &str) -> Result<String, ToolError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ToolError::Failed(format!(
            "{shown} does not exist; check the path (use glob to find files) or use write to create it"
        )),
        std::io::ErrorKind::IsADirectory => {
            ToolError::Failed(format!("{shown} is a directory; give the path of a file"))
        }
        _ => ToolError::Failed(format!("cannot read {shown}: {e}")),
    })?;
    if bytes.contains(&0) {
        return Err(ToolError::Failed(format!(
            "{shown} is a binary file; it cannot be edited as text"
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        ToolError::Failed(format!(
            "{shown} is not valid UTF-8; it cannot be edited as text (use bash for other encodings)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_creates_parents_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/c.txt");
        atomic_write(&path, b"hello").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "hello");
        atomic_write(&path, b"bye").expect("overwrite");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "bye");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("a/b"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["c.txt"]);
    }

    #[test]
    fn atomic_write_keeps_permissions_and_refuses_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.sh");
        std::fs::write(&path, "old").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        atomic_write(&path, b"new").expect("write");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        let e = atomic_write(dir.path(), b"x").expect_err("dir");
        assert!(matches!(e, ToolError::Failed(m) if m.contains("is a directory")));
    }

    #[test]
    fn diff_is_unified_with_headers() {
        let d = unified_diff("f.txt", "a\nb\nc\n", "a\nB\nc\n");
        assert!(d.starts_with("--- a/f.txt\n+++ b/f.txt\n@@"), "{d}");
        assert!(d.contains("\n-b\n+B\n"), "{d}");
        assert_eq!(unified_diff("f", "same", "same"), "");
    }

    #[test]
    fn diff_of_an_absolute_path_has_no_doubled_slash() {
        let d = unified_diff("/abs/path/f.txt", "a\n", "b\n");
        assert!(
            d.starts_with("--- a/abs/path/f.txt\n+++ b/abs/path/f.txt\n@@"),
            "{d}"
        );
        assert!(!d.contains("//"), "{d}");
    }
}
