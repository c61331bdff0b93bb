//! Agent definitions from disk: the user's and the project's agent files, in Cuervo's
//! directories and in Claude Code's, layered over the built-in agents.
//!
//! Where they are read from, most specific first (the first one wins for a name):
//! `<project>/.cuervo/agents`, `<project>/.claude/agents`, `~/.config/cuervo/agents`
//! (`$XDG_CONFIG_HOME`), `~/.claude/agents` (`$CLAUDE_CONFIG_DIR`), then the built-ins.
//! Each directory is read to a few levels deep, `*.md` only, in name order.
//!
//! **What a project's agents may do without trust.** Everything under the project came
//! with the code, written by whoever wrote the code (see [`crate::trust`]). Without trust:
//! - a project agent's `model` is ignored (the agent gets its role's model or the
//!   conversation's): a model name picks where the conversation is sent and what it costs,
//!   which is the user's choice for a repository, not the repository's;
//! - a project agent may not take the name of a built-in or user agent (it could turn the
//!   read-only `explorer` the main model trusts into one that runs shell commands): it is
//!   skipped.
//!
//! Both are reported, as notes and as [`GatedSetting`]s. A project agent's `tools` need no
//! trust: whoever runs a sub-agent applies the parent's permission policy to every call,
//! so a listed tool never runs without the permission it would need from the main agent.
//! Its prompt and description reach the model as any file in the repository could.
//!
//! Files are capped ([`MAX_FILE_BYTES`], [`MAX_FILES_PER_DIR`]); in a project directory a
//! link to a file outside that directory is skipped, and the directory itself must be
//! inside the project. Links in the user's directories are followed (dotfile managers
//! link every file). A bad file is an error of its own: the others still load.

use std::io::Read;
use std::path::{Path, PathBuf};

use cuervo_core::agents::{AgentCatalog, AgentFileError, AgentSource, parse_agent_file};

use crate::trust::GatedSetting;

/// The largest agent file read. Prompts are a few kilobytes; a bigger file is more likely
/// a mistake (or an attempt to fill the context) than an agent.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;
/// The most agent files read from one directory.
pub const MAX_FILES_PER_DIR: usize = 100;
/// How deep subdirectories are read (Claude Code allows `agents/<group>/<name>.md`).
const MAX_DEPTH: usize = 3;

/// The directories agents are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDirs {
    pub project_root: PathBuf,
    /// `$XDG_CONFIG_HOME/cuervo/agents`, else `~/.config/cuervo/agents`.
    pub user: Option<PathBuf>,
    /// `$CLAUDE_CONFIG_DIR/agents`, else `~/.claude/agents`.
    pub claude_user: Option<PathBuf>,
    /// `$HOME`, to show paths under it as `~/…`.
    pub home: Option<PathBuf>,
}

impl AgentDirs {
    /// The directories for `project_root`, the user's found as the config file is (see
    /// [`crate::config::ConfigPaths`]).
    pub fn new(project_root: &Path, env: &dyn Fn(&str) -> Option<String>) -> Self {
        let var = |name| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = var("HOME");
        let user = crate::config::ConfigPaths::new(project_root, env)
            .user
            .and_then(|file| file.parent().map(|dir| dir.join("agents")));
        let claude = var("CLAUDE_CONFIG_DIR").or_else(|| home.as_ref().map(|h| h.join(".claude")));
        Self {
            project_root: project_root.to_owned(),
            user,
            claude_user: claude.map(|dir| dir.join("agents")),
            home,
        }
    }

    /// `<project>/.cuervo/agents`.
    pub fn project(&self) -> PathBuf {
        self.project_root.join(".cuervo").join("agents")
    }

    /// `<project>/.claude/agents`.
    pub fn claude_project(&self) -> PathBuf {
        self.project_root.join(".claude").join("agents")
    }

    /// A path for messages: relative to the project, `~/…` under HOME, else whole.
    pub fn show(&self, path: &Path) -> String {
        if let Ok(rel) = path.strip_prefix(&self.project_root) {
            return rel.display().to_string();
        }
        match self.home.as_ref().and_then(|h| path.strip_prefix(h).ok()) {
            Some(rel) => format!("~/{}", rel.display()),
            None => path.display().to_string(),
        }
    }
}

/// Something the loader did differently from what a file or directory asks, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The file, or the directory for a note about a directory.
    pub path: PathBuf,
    pub message: String,
}

/// A file that was not loaded.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct LoadError {
    pub path: PathBuf,
    pub kind: LoadErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadErrorKind {
    #[error(transparent)]
    Parse(#[from] AgentFileError),
    #[error("cannot read it: {0}")]
    Read(#[from] std::io::Error),
    #[error("{size} bytes: agent files are read up to {MAX_FILE_BYTES} bytes")]
    TooLarge { size: u64 },
    #[error("not UTF-8 text")]
    NotText,
    #[error("the name `{name}` is already used by {other} in the same directory")]
    Duplicate { name: String, other: PathBuf },
}

/// A directory, the source of its files, and whether it is the project's.
type Layer = (Option<PathBuf>, fn(PathBuf) -> AgentSource, bool);

/// What [`load`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The built-ins with every agent that loaded, one per name.
    pub catalog: AgentCatalog,
    pub notes: Vec<Note>,
    pub errors: Vec<LoadError>,
    /// What the project's agents ask for that needs trust, whether or not it was applied
    /// (for `cuervo trust` to show).
    pub gated: Vec<GatedSetting>,
}

/// Reads every agent directory of `dirs` over the built-ins. `project_trusted`: the user
/// trusts the project's files (see the module's documentation for what that unlocks).
/// Never fails: what cannot be read is in [`Loaded::errors`].
pub fn load(dirs: &AgentDirs, project_trusted: bool) -> Loaded {
    let mut loaded = Loaded {
        catalog: AgentCatalog::builtin(),
        ..Loaded::default()
    };
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    let root = canonical(&dirs.project_root);
    let user_dirs: Vec<PathBuf> = [&dirs.claude_user, &dirs.user]
        .into_iter()
        .flatten()
        .filter_map(|d| canonical(d))
        .collect();
    // Lowest precedence first, so a project agent can see which names are taken.
    let sources: [Layer; 4] = [
        (dirs.claude_user.clone(), AgentSource::ClaudeUser, false),
        (dirs.user.clone(), AgentSource::User, false),
        (
            Some(dirs.claude_project()),
            AgentSource::ClaudeProject,
            true,
        ),
        (Some(dirs.project()), AgentSource::Project, true),
    ];
    for (dir, source, in_project) in sources {
        let Some(dir) = dir else { continue };
        let Some(real) = canonical(&dir) else {
            continue;
        };
        if in_project {
            // Run in HOME, the project's `.claude/agents` is the user's own.
            if user_dirs.contains(&real) {
                continue;
            }
            if !root.as_ref().is_some_and(|root| real.starts_with(root)) {
                loaded.notes.push(Note {
                    path: dir,
                    message: "skipped: it links to a directory outside the project".into(),
                });
                continue;
            }
        }
        for path in agent_files(&dir, &real, in_project, &mut loaded.notes) {
            add(
                &mut loaded,
                dirs,
                source(path.clone()),
                path,
                project_trusted,
            );
        }
    }
    loaded
}

/// Every agent file of the project's agent directories (`.cuervo/agents`,
/// `.claude/agents`), found with [`load`]'s caps and link rules: what a fingerprint of the
/// project's trusted files must cover, so that trust given before an agent file changed
/// does not extend to the change.
pub fn project_agent_files(project_root: &Path) -> Vec<PathBuf> {
    let Ok(root) = std::fs::canonicalize(project_root) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    [".cuervo", ".claude"]
        .into_iter()
        .map(|dir| project_root.join(dir).join("agents"))
        .filter_map(|dir| std::fs::canonicalize(&dir).ok().map(|real| (dir, real)))
        .filter(|(_, real)| real.starts_with(&root))
        .flat_map(|(dir, real)| agent_files(&dir, &real, true, &mut notes))
        .collect()
}

/// Whether the project's agents get what needs trust: the user trusted the project's
/// files, or passed `--trust-project` (which `config.origins.trust` does not show when the
/// project's config asks for nothing gated).
pub fn project_trusted(config: &crate::config::Config, trust_project: bool) -> bool {
    trust_project || config.origins.trust == crate::trust::TrustStatus::Trusted
}

impl Loaded {
    /// The loader's notes and the errors, one line each with the file, for a run's
    /// start-up notice. A definition's own notes (unsupported keys, ignored tools) are
    /// left to `cuervo agents list`: they would repeat on every run.
    pub fn messages(&self, dirs: &AgentDirs) -> Vec<String> {
        let notes = self
            .notes
            .iter()
            .map(|n| format!("agent {}: {}", dirs.show(&n.path), n.message));
        let errors = self
            .errors
            .iter()
            .map(|e| format!("agent {} not loaded: {}", dirs.show(&e.path), e.kind));
        notes.chain(errors).collect()
    }
}

/// Reads, parses and files one agent.
fn add(loaded: &mut Loaded, dirs: &AgentDirs, source: AgentSource, path: PathBuf, trusted: bool) {
    let error = |path: PathBuf, kind| LoadError { path, kind };
    let text = match read_capped(&path) {
        Ok(text) => text,
        Err(kind) => return loaded.errors.push(error(path, kind)),
    };
    let mut agent = match parse_agent_file(&text, source) {
        Ok(agent) => agent,
        Err(e) => return loaded.errors.push(error(path, e.into())),
    };
    if agent.source.is_project() {
        let shown = dirs.show(&path);
        let taken = loaded
            .catalog
            .get(&agent.name)
            .filter(|held| !held.source.is_project())
            .map(|held| held.source.kind());
        if let Some(kind) = taken {
            loaded.gated.push(GatedSetting {
                key: format!("{shown}: name"),
                value: agent.name.clone(),
                why: "replaces your agent of the same name",
            });
            if !trusted {
                loaded.notes.push(Note {
                    message: format!(
                        "not loaded: it would replace the {kind} agent `{}`; trust this \
                         project to allow it (cuervo trust)",
                        agent.name
                    ),
                    path,
                });
                return;
            }
        }
        if let Some(model) = &agent.model {
            loaded.gated.push(GatedSetting {
                key: format!("{shown}: model"),
                value: model.clone(),
                why: "sends this agent's conversation to a model you did not pick",
            });
            if !trusted {
                loaded.notes.push(Note {
                    path: path.clone(),
                    message: format!(
                        "model `{model}` ignored until you trust this project (cuervo trust)"
                    ),
                });
                agent.model = None;
            }
        }
    }
    let name = agent.name.clone();
    if let Some(lost) = loaded.catalog.insert(agent) {
        // Directories are read from the least specific up, so the new file loses only to
        // one of the same directory.
        if lost.source.path() == Some(path.as_path()) {
            let other = loaded
                .catalog
                .get(&name)
                .and_then(|held| held.source.path())
                .map(Path::to_owned)
                .unwrap_or_default();
            loaded
                .errors
                .push(error(path, LoadErrorKind::Duplicate { name, other }));
        }
    }
}

/// The `*.md` files under `dir` (whose canonical path is `real`), in name order, at most
/// [`MAX_FILES_PER_DIR`]. `confine`: skip links to files outside `real`.
fn agent_files(dir: &Path, real: &Path, confine: bool, notes: &mut Vec<Note>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(dir, real, confine, 0, &mut found, notes);
    if found.len() > MAX_FILES_PER_DIR {
        found.truncate(MAX_FILES_PER_DIR);
        notes.push(Note {
            path: dir.to_owned(),
            message: format!(
                "more than {MAX_FILES_PER_DIR} agent files: only the first \
                 {MAX_FILES_PER_DIR} by name were read"
            ),
        });
    }
    found
}

fn walk(
    dir: &Path,
    real: &Path,
    confine: bool,
    depth: usize,
    found: &mut Vec<PathBuf>,
    notes: &mut Vec<Note>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        // One past the cap is enough to know that files were left out.
        if found.len() > MAX_FILES_PER_DIR {
            return;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // Linked directories are not followed: no cycles, no escape.
        if meta.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, real, confine, depth + 1, found, notes);
            }
            continue;
        }
        let markdown = Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("md"));
        if !markdown || name.eq_ignore_ascii_case("readme.md") {
            continue;
        }
        if meta.file_type().is_symlink() {
            let target = std::fs::canonicalize(&path).ok();
            if confine && !target.as_ref().is_some_and(|t| t.starts_with(real)) {
                notes.push(Note {
                    path,
                    message: "skipped: it links to a file outside its directory".into(),
                });
                continue;
            }
        }
        // Not a FIFO or a device: opening one could block or read forever.
        if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            found.push(path);
        }
    }
}

/// The file as text, refused over [`MAX_FILE_BYTES`] (checked on the open file and again
/// while reading, so a file growing meanwhile cannot get past it).
fn read_capped(path: &Path) -> Result<String, LoadErrorKind> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > MAX_FILE_BYTES {
        return Err(LoadErrorKind::TooLarge { size });
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(LoadErrorKind::TooLarge {
            size: bytes.len() as u64,
        });
    }
    String::from_utf8(bytes).map_err(|_| LoadErrorKind::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path, home: &Path) -> AgentDirs {
        AgentDirs {
            project_root: root.to_owned(),
            user: Some(home.join(".config/cuervo/agents")),
            claude_user: Some(home.join(".claude/agents")),
            home: Some(home.to_owned()),
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn agent(name: &str, extra: &str) -> String {
        format!("---\nname: {name}\ndescription: does {name} things\n{extra}---\nYou are {name}.\n")
    }

    #[test]
    fn dirs_follow_xdg_and_claude_config_dir() {
        let env = |name: &str| match name {
            "HOME" => Some("/home/u".to_owned()),
            "XDG_CONFIG_HOME" => Some("/xdg".to_owned()),
            "CLAUDE_CONFIG_DIR" => Some("/cc".to_owned()),
            _ => None,
        };
        let dirs = AgentDirs::new(Path::new("/p"), &env);
        assert_eq!(dirs.user, Some(PathBuf::from("/xdg/cuervo/agents")));
        assert_eq!(dirs.claude_user, Some(PathBuf::from("/cc/agents")));
        assert_eq!(
            dirs.show(Path::new("/p/.claude/agents/x.md")),
            ".claude/agents/x.md"
        );
        assert_eq!(dirs.show(Path::new("/home/u/a.md")), "~/a.md");
    }

    #[test]
    fn precedence_project_over_claude_project_over_user_over_claude_user() {
        let (project, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let d = dirs(project.path(), home.path());
        write(&home.path().join(".claude/agents/a.md"), &agent("a", ""));
        write(
            &home.path().join(".config/cuervo/agents/a.md"),
            &agent("a", ""),
        );
        write(&home.path().join(".claude/agents/b.md"), &agent("b", ""));
        write(&project.path().join(".claude/agents/b.md"), &agent("b", ""));
        write(&project.path().join(".claude/agents/c.md"), &agent("c", ""));
        write(&project.path().join(".cuervo/agents/c.md"), &agent("c", ""));
        let loaded = load(&d, false);
        let kind = |n: &str| loaded.catalog.get(n).unwrap().source.kind();
        assert_eq!(kind("a"), "user");
        // A project agent with a user agent's name needs trust.
        assert_eq!(kind("b"), "claude-user");
        assert_eq!(kind("c"), "project");
        assert_eq!(kind("explorer"), "built-in");
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        assert_eq!(
            load(&d, true).catalog.get("b").unwrap().source.kind(),
            "claude-project"
        );
    }

    #[test]
    fn duplicate_names_in_one_directory_keep_the_first_and_report_the_second() {
        let (project, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(
            &project.path().join(".cuervo/agents/a.md"),
            &agent("same", ""),
        );
        write(
            &project.path().join(".cuervo/agents/b.md"),
            &agent("same", ""),
        );
        let loaded = load(&dirs(project.path(), home.path()), false);
        let held = loaded.catalog.get("same").unwrap();
        assert!(held.source.path().unwrap().ends_with("a.md"));
        assert_eq!(loaded.errors.len(), 1);
        assert!(loaded.errors[0].path.ends_with("b.md"));
        assert!(matches!(
            loaded.errors[0].kind,
            LoadErrorKind::Duplicate { .. }
        ));
    }

    #[test]
    fn caps_size_and_count_and_skips_readme_and_other_files() {
        let (project, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let dir = project.path().join(".cuervo/agents");
        for i in 0..=MAX_FILES_PER_DIR {
            write(
                &dir.join(format!("a{i:03}.md")),
                &agent(&format!("a{i:03}"), ""),
            );
        }
        write(&dir.join("README.md"), "# our agents\n");
        write(&dir.join("notes.txt"), "not an agent");
        let big = format!(
            "{}{}",
            agent("big", ""),
            "x".repeat(MAX_FILE_BYTES as usize)
        );
        write(&project.path().join(".claude/agents/big.md"), &big);
        let loaded = load(&dirs(project.path(), home.path()), false);
        assert!(loaded.catalog.get("a099").is_some());
        assert!(loaded.catalog.get("a100").is_none());
        assert!(
            loaded
                .notes
                .iter()
                .any(|n| n.message.contains("only the first 100"))
        );
        assert_eq!(loaded.errors.len(), 1, "{:?}", loaded.errors);
        assert!(matches!(
            loaded.errors[0].kind,
            LoadErrorKind::TooLarge { .. }
        ));
    }

    #[cfg(unix)]
    #[test]
    fn project_links_outside_the_directory_are_skipped_user_links_are_followed() {
        let (project, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let outside = home.path().join("elsewhere.md");
        write(&outside, &agent("outside", ""));
        write(
            &project.path().join(".cuervo/agents/inside.md"),
            &agent("inside", ""),
        );
        let link = project.path().join(".cuervo/agents/outside.md");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        std::os::unix::fs::symlink(
            project.path().join(".cuervo/agents/inside.md"),
            project.path().join(".cuervo/agents/alias.md"),
        )
        .unwrap();
        let user_dir = home.path().join(".config/cuervo/agents");
        std::fs::create_dir_all(&user_dir).unwrap();
        let dotfile = home.path().join("dotfiles-mine.md");
        write(&dotfile, &agent("mine", ""));
        std::os::unix::fs::symlink(&dotfile, user_dir.join("mine.md")).unwrap();

        let loaded = load(&dirs(project.path(), home.path()), false);
        assert!(loaded.catalog.get("outside").is_none());
        assert!(loaded.notes.iter().any(|n| n.path == link));
        assert!(loaded.catalog.get("inside").is_some());
        assert!(loaded.catalog.get("mine").is_some());
    }

    #[cfg(unix)]
    #[test]
    fn a_project_agent_directory_linked_outside_the_project_is_skipped() {
        let (project, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(&home.path().join("stash/x.md"), &agent("x", ""));
        std::fs::create_dir_all(project.path().join(".cuervo")).unwrap();
        std::os::unix::fs::symlink(
            home.path().join("stash"),
            project.path().join(".cuervo/agents"),
        )
        .unwrap();
        let loaded = load(&dirs(project.path(), home.path()), false);
        assert!(loaded.catalog.get("x").is_none());
        assert_eq!(loaded.notes.len(), 1, "{:?}", loaded.notes);
    }

    #[test]
    fn run_in_home_the_claude_directory_is_the_users_not_the_projects() {
        let home = tempfile::tempdir().unwrap();
        write(
            &home.path().join(".claude/agents/mine.md"),
            &agent("mine", "model: opus\n"),
        );
        let loaded = load(&dirs(home.path(), home.path()), false);
        let mine = loaded.catalog.get("mine").unwrap();
        assert_eq!(mine.source.kind(), "claude-user");
        assert_eq!(mine.model.as_deref(), Some("claude-opus-4-5"));
        assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
    }

    #[test]
    fn untrusted_project_models_are_ignored_and_gated() {
        let (project, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(
            &project.path().join(".cuervo/agents/r.md"),
            &agent("r", "model: gpt-5\n"),
        );
        let d = dirs(project.path(), home.path());
        let untrusted = load(&d, false);
        assert_eq!(untrusted.catalog.get("r").unwrap().model, None);
        assert_eq!(untrusted.gated.len(), 1);
        assert_eq!(untrusted.gated[0].key, ".cuervo/agents/r.md: model");
        assert!(untrusted.notes[0].message.contains("model `gpt-5` ignored"));
        let trusted = load(&d, true);
        assert_eq!(
            trusted.catalog.get("r").unwrap().model.as_deref(),
            Some("gpt-5")
        );
        assert!(trusted.notes.is_empty());
        assert_eq!(project_agent_files(project.path()).len(), 1);
        assert_eq!(
            untrusted.messages(&d),
            [
                "agent .cuervo/agents/r.md: model `gpt-5` ignored until you trust this project (cuervo trust)"
            ]
        );
    }
}
