//! Resolving the paths the model gives against the project root.
//!
//! The model may write `src/main.rs`, `./src/../src/main.rs`, `/abs/path` or `~/notes`.
//! Rules and prompts must see where a call really lands, so every path is made absolute
//! and canonical: `..` is applied to real directories and symlinks are followed, also
//! for a file that does not exist yet (its deepest existing ancestor is resolved and the
//! rest appended). A path that ends up outside the root — through `..`, an absolute
//! path, or a symlink inside the project pointing elsewhere — is reported as such; the
//! tools never refuse it themselves, the permission policy decides.
//!
//! A file name that is not valid UTF-8 (`café.txt` saved in Latin-1: the bytes
//! `caf\xE9.txt`) cannot reach the model as it is, and printing it lossily
//! (`caf\u{FFFD}.txt`) loses which byte it was, so the model could never name the file
//! again. Every name the tools print goes through [`display_name`]: a valid name is
//! printed as it is; in an invalid one each byte that is not part of a UTF-8 character is
//! written `\xNN` (and a backslash `\x5C`, so the escape cannot be confused with one in
//! the name). On Unix, [`resolve`] reads such a name back: a path component that does not
//! exist literally but is exactly the printed form of an existing name means that name.
//! A literal name wins: where a file is really called `caf\xE9.txt`, backslash and all,
//! that text means it and not its Latin-1 neighbour.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use cuervo_domain::ToolError;
use cuervo_domain::permission::{PROTECTED_DIRS, PROTECTED_FILES};

/// How many symlinks one resolution may follow before it is taken for a loop (Linux's
/// own limit).
const MAX_SYMLINKS: usize = 40;

/// A path argument after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    /// The canonical absolute path the call touches.
    pub absolute: PathBuf,
    /// What rules match and people read: relative to the root with `/` separators
    /// (`.` for the root itself) when inside it, the absolute path when outside.
    pub display: String,
    /// The canonical path is not under the root.
    pub outside_root: bool,
}

/// Resolves `raw` against `root`. `root` should already be canonical; it is
/// canonicalised again when possible so a caller passing `/tmp/..` style roots still
/// gets correct inside/outside answers.
pub fn resolve(root: &Path, raw: &str) -> Result<ResolvedPath, ToolError> {
    if raw.contains('\0') {
        return Err(ToolError::InvalidInput(format!(
            "the path {raw:?} contains a NUL byte; give a plain file path"
        )));
    }
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let expanded = expand_home(raw);
    let joined = if expanded.is_absolute() {
        expanded
    } else {
        root.join(expanded)
    };
    let mut budget = MAX_SYMLINKS;
    let absolute = canonicalize_lenient(&joined, &mut budget).map_err(|()| {
        ToolError::Failed(format!(
            "cannot resolve {raw}: too many levels of symbolic links (a symlink loop?)"
        ))
    })?;
    Ok(describe(&root, absolute))
}

/// The display form and inside/outside verdict of an already canonical path.
pub fn describe(root: &Path, absolute: PathBuf) -> ResolvedPath {
    match absolute.strip_prefix(root) {
        Ok(rel) => ResolvedPath {
            display: relative_display(rel),
            absolute,
            outside_root: false,
        },
        Err(_) => ResolvedPath {
            display: absolute_display(&absolute),
            absolute,
            outside_root: true,
        },
    }
}

/// Whether writing `absolute` would change a protected path; returns the path as people
/// read it (relative to the root when inside it) for the prompt and the denial.
///
/// Both paths should be canonical (`ToolContext::root` is; `absolute` is what [`resolve`]
/// returns), so a symlink into `.git` is caught at its target.
pub fn protected(root: &Path, absolute: &Path) -> Option<String> {
    let rel = absolute.strip_prefix(root).unwrap_or(absolute);
    // Non-UTF-8 names keep their place (as "") so `last` is really the last component.
    let names = || {
        rel.components().filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_str().unwrap_or("")),
            _ => None,
        })
    };
    // A protected directory anywhere on the way, or a protected file name at the end.
    let in_dir = names().any(|n| PROTECTED_DIRS.iter().any(|d| d.eq_ignore_ascii_case(n)));
    let is_file = names()
        .next_back()
        .is_some_and(|n| PROTECTED_FILES.iter().any(|f| f.eq_ignore_ascii_case(n)));
    (in_dir || is_file).then(|| describe(root, absolute.to_path_buf()).display)
}

/// `a/b/c` with `/` separators whatever the platform, `.` for the empty path; names that
/// are not UTF-8 as [`display_name`] writes them.
pub fn relative_display(rel: &Path) -> String {
    let parts: Vec<_> = rel
        .components()
        .map(|c| display_name(c.as_os_str()))
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// An absolute path as text, each component as [`display_name`] writes it.
pub(crate) fn absolute_display(path: &Path) -> String {
    match path.to_str() {
        Some(s) => s.to_owned(),
        None => {
            let mut out = String::new();
            for c in path.components() {
                match c {
                    Component::RootDir => {}
                    Component::Prefix(p) => out.push_str(&display_name(p.as_os_str())),
                    other => {
                        if !out.ends_with(std::path::MAIN_SEPARATOR) {
                            out.push(std::path::MAIN_SEPARATOR);
                        }
                        out.push_str(&display_name(other.as_os_str()));
                    }
                }
            }
            out
        }
    }
}

/// A file name as the tools print it, reversibly: the name itself when it is valid UTF-8;
/// otherwise every byte outside a UTF-8 character as `\xNN` (upper-case hex) and every
/// backslash as `\x5C`, the rest as it is. [`resolve`] accepts the result back.
pub fn display_name(name: &OsStr) -> String {
    if let Some(s) = name.to_str() {
        return s.to_owned();
    }
    let mut out = String::new();
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\x5C");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// The name whose [`display_name`] is `shown`, when `shown` is the printed form of a name
/// that is not UTF-8 (hex digits in either case); `None` for any other text.
#[cfg(unix)]
fn undisplay_name(shown: &OsStr) -> Option<OsString> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let text = shown.to_str()?;
    if !text.contains("\\x") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || {
            let digits = std::str::from_utf8(bytes.get(i + 2..i + 4)?).ok()?;
            u8::from_str_radix(digits, 16).ok()
        };
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'x')) => {
                out.push(hex()?);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    let name = OsString::from_vec(out);
    // Only the exact printed form of a non-UTF-8 name: `a\x41` is not `aA`, and a bare
    // backslash in such a form would have been printed `\x5C`.
    display_name(&name)
        .eq_ignore_ascii_case(text)
        .then_some(name)
        .filter(|n| std::str::from_utf8(n.as_bytes()).is_err())
}

#[cfg(not(unix))]
fn undisplay_name(_shown: &OsStr) -> Option<OsString> {
    None
}

/// `~` and `~/x` mean the home directory, as in a shell; models write them often.
fn expand_home(raw: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    if raw == "~" {
        if let Some(h) = home() {
            return h;
        }
    } else if let Some(rest) = raw.strip_prefix("~/")
        && let Some(h) = home()
    {
        return h.join(rest);
    }
    PathBuf::from(raw)
}

/// Canonicalises an absolute path whose tail may not exist. Walks it component by
/// component keeping `current` canonical: existing symlinks are followed (recursively,
/// within `budget`), `..` pops a component of the canonical prefix — which is the real
/// parent — and names that do not exist are appended as they are. Errors only on a
/// symlink loop.
fn canonicalize_lenient(path: &Path, budget: &mut usize) -> Result<PathBuf, ()> {
    let mut current = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Prefix(p) => current.push(p.as_os_str()),
            Component::RootDir => current.push(Component::RootDir.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                current.pop();
            }
            Component::Normal(name) => {
                let mut candidate = current.join(name);
                let mut meta = std::fs::symlink_metadata(&candidate);
                // A name as the tools print it when it is not UTF-8 (see the module docs).
                if meta.is_err()
                    && let Some(real) = undisplay_name(name)
                {
                    let decoded = current.join(real);
                    if let Ok(m) = std::fs::symlink_metadata(&decoded) {
                        candidate = decoded;
                        meta = Ok(m);
                    }
                }
                match meta {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        if *budget == 0 {
                            return Err(());
                        }
                        *budget -= 1;
                        let Ok(target) = std::fs::read_link(&candidate) else {
                            current = candidate;
                            continue;
                        };
                        // A relative link is relative to the directory holding it, which
                        // `current` already is, canonically.
                        current = canonicalize_lenient(&current.join(target), budget)?;
                    }
                    _ => current = candidate,
                }
            }
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn root() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fs::canonicalize(dir.path()).expect("canonical");
        let project = root.join("project");
        fs::create_dir_all(project.join("src")).expect("mkdir");
        fs::write(project.join("src/main.rs"), "fn main() {}").expect("write");
        (dir, project)
    }

    #[test]
    fn relative_paths_inside_the_root() {
        let (_d, root) = root();
        let r = resolve(&root, "src/main.rs").expect("resolve");
        assert_eq!(r.display, "src/main.rs");
        assert_eq!(r.absolute, root.join("src/main.rs"));
        assert!(!r.outside_root);
        let r = resolve(&root, "./src/../src/./main.rs").expect("resolve");
        assert_eq!(r.display, "src/main.rs");
        assert_eq!(resolve(&root, ".").expect("root").display, ".");
        assert_eq!(resolve(&root, "").expect("empty").display, ".");
    }

    #[test]
    fn absolute_paths_inside_the_root_become_relative() {
        let (_d, root) = root();
        let raw = root.join("src/main.rs");
        let r = resolve(&root, raw.to_str().expect("utf8")).expect("resolve");
        assert_eq!(r.display, "src/main.rs");
        assert!(!r.outside_root);
    }

    #[test]
    fn dot_dot_escapes_are_outside() {
        let (_d, root) = root();
        let r = resolve(&root, "../secret.txt").expect("resolve");
        assert!(r.outside_root);
        assert_eq!(
            r.absolute,
            root.parent().expect("parent").join("secret.txt")
        );
        assert_eq!(r.display, r.absolute.to_string_lossy());
        // Through directories that do not exist yet.
        let r = resolve(&root, "new/dir/../../../x").expect("resolve");
        assert!(r.outside_root, "{r:?}");
        let r = resolve(&root, "new/dir/../../x").expect("resolve");
        assert!(!r.outside_root);
        assert_eq!(r.display, "x");
        // A sibling whose name merely starts with the root's name is outside.
        let r = resolve(&root, "../project-other/a").expect("resolve");
        assert!(r.outside_root);
    }

    #[test]
    fn symlinks_pointing_outside_are_outside() {
        let (d, root) = root();
        let outside = fs::canonicalize(d.path()).expect("c").join("outside");
        fs::create_dir_all(&outside).expect("mkdir");
        fs::write(outside.join("f.txt"), "x").expect("write");
        std::os::unix::fs::symlink(&outside, root.join("link")).expect("symlink");
        let r = resolve(&root, "link/f.txt").expect("resolve");
        assert!(r.outside_root);
        assert_eq!(r.absolute, outside.join("f.txt"));
        // A file that does not exist yet behind the link is outside too.
        let r = resolve(&root, "link/new/file.txt").expect("resolve");
        assert!(r.outside_root);
        assert_eq!(r.absolute, outside.join("new/file.txt"));
        // `..` after a symlink applies to the real directory, not lexically.
        let r = resolve(&root, "link/../project/src").expect("resolve");
        assert!(!r.outside_root, "{r:?}");
        assert_eq!(r.display, "src");
    }

    #[test]
    fn relative_and_dangling_symlinks_resolve_to_their_targets() {
        let (_d, root) = root();
        std::os::unix::fs::symlink("src/main.rs", root.join("m.rs")).expect("symlink");
        let r = resolve(&root, "m.rs").expect("resolve");
        assert_eq!(r.display, "src/main.rs");
        std::os::unix::fs::symlink("../elsewhere.txt", root.join("dangling")).expect("symlink");
        let r = resolve(&root, "dangling").expect("resolve");
        assert!(r.outside_root);
        assert!(r.display.ends_with("/elsewhere.txt"));
    }

    #[test]
    fn symlink_loops_are_an_error() {
        let (_d, root) = root();
        std::os::unix::fs::symlink("b", root.join("a")).expect("symlink");
        std::os::unix::fs::symlink("a", root.join("b")).expect("symlink");
        let e = resolve(&root, "a/x").expect_err("loop");
        assert!(matches!(e, ToolError::Failed(m) if m.contains("symbolic links")));
    }

    #[test]
    fn protected_paths_are_named_at_any_depth_and_case() {
        let (_d, root) = root();
        let p = |raw: &str| protected(&root, &resolve(&root, raw).expect("resolve").absolute);
        assert_eq!(p(".git/config").as_deref(), Some(".git/config"));
        assert_eq!(
            p(".GIT/hooks/pre-commit").as_deref(),
            Some(".GIT/hooks/pre-commit")
        );
        assert_eq!(
            p(".cuervo/config.yml").as_deref(),
            Some(".cuervo/config.yml")
        );
        assert_eq!(
            p(".claude/settings.json").as_deref(),
            Some(".claude/settings.json")
        );
        assert_eq!(
            p("vendor/lib/.git/hooks/x").as_deref(),
            Some("vendor/lib/.git/hooks/x")
        );
        assert_eq!(p(".mcp.json").as_deref(), Some(".mcp.json"));
        assert_eq!(p("docs/AGENTS.md").as_deref(), Some("docs/AGENTS.md"));
        assert_eq!(p("CLAUDE.md").as_deref(), Some("CLAUDE.md"));
        assert_eq!(p("src/main.rs"), None);
        assert_eq!(p(".github/workflows/ci.yml"), None);
        assert_eq!(p("gitignore.md"), None);
    }

    #[test]
    fn a_symlink_into_a_protected_dir_is_protected() {
        let (_d, root) = root();
        fs::create_dir_all(root.join(".git/hooks")).expect("mkdir");
        std::os::unix::fs::symlink(root.join(".git/hooks"), root.join("innocent"))
            .expect("symlink");
        let r = resolve(&root, "innocent/pre-commit").expect("resolve");
        assert_eq!(
            protected(&root, &r.absolute).as_deref(),
            Some(".git/hooks/pre-commit")
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_print_reversibly() {
        use std::os::unix::ffi::OsStrExt;
        let name = |b: &[u8]| OsStr::from_bytes(b).to_owned();
        assert_eq!(display_name(&name(b"plain.rs")), "plain.rs");
        // A valid name keeps its backslashes; an invalid one escapes them too.
        assert_eq!(display_name(&name(br"a\xE9")), r"a\xE9");
        assert_eq!(display_name(&name(b"caf\xe9.txt")), r"caf\xE9.txt");
        assert_eq!(display_name(&name(b"\xff\\\xc3\xa9")), r"\xFF\x5Cé");
        for bytes in [&b"caf\xe9.txt"[..], b"\xff\\\xc3\xa9", b"\x80", b"a\\x\xfe"] {
            let shown = display_name(&name(bytes));
            assert_eq!(
                undisplay_name(OsStr::new(&shown)),
                Some(name(bytes)),
                "{shown}"
            );
        }
        assert_eq!(
            undisplay_name(OsStr::new(r"caf\xe9.txt")),
            Some(name(b"caf\xe9.txt"))
        );
        // Only the printed form of a non-UTF-8 name decodes.
        for text in [
            r"plain",
            r"a\x41",
            r"\xC3\xA9",
            r"\x",
            r"\xZZ",
            r"\xFF\",
            r"\xFF\\x5C",
        ] {
            assert_eq!(undisplay_name(OsStr::new(text)), None, "{text}");
        }
    }

    #[test]
    fn non_canonical_roots_are_canonicalised() {
        let (_d, root) = root();
        let odd = root.join("src/..");
        let r = resolve(&odd, "src/main.rs").expect("resolve");
        assert_eq!(r.display, "src/main.rs");
        assert!(!r.outside_root);
    }
}
