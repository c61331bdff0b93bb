//! The context builder's adapters: the instruction files deeper in the project, and the
//! repository map (built in the background at start-up, refreshed for each user turn).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use cuervo_core::context::{MapFocus, RepoMapSource};
use cuervo_core::instructions::InstructionFiles;
use cuervo_text::repomap::{Focus, RepoMap};

/// The names an instruction file may have, in the order one directory's are preferred.
pub const INSTRUCTION_FILES: [&str; 2] = ["CUERVO.md", "AGENTS.md"];

/// Instruction files above this size are cut (they go into the model's context).
const MAX_INSTRUCTION_BYTES: usize = 32 * 1024;

/// The instruction file of one directory, if it has one: its name and content.
pub fn instruction_file(dir: &Path) -> Option<(String, String)> {
    INSTRUCTION_FILES.into_iter().find_map(|name| {
        let path = dir.join(name);
        // A link could pull in any file of the machine.
        if path.symlink_metadata().ok()?.file_type().is_symlink() {
            return None;
        }
        let mut text = std::fs::read_to_string(&path).ok()?;
        if text.len() > MAX_INSTRUCTION_BYTES {
            let mut cut = MAX_INSTRUCTION_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("\n[… cut: the file is longer than 32 KB]");
        }
        Some((name.to_owned(), text))
    })
}

/// The user's own instructions for every project: `CUERVO.md` or `AGENTS.md` in Cuervo's
/// config directory (`~/.config/cuervo`).
pub fn user_instructions(config_dir: Option<&Path>) -> Option<(String, String)> {
    let dir = config_dir?;
    instruction_file(dir).map(|(name, text)| (dir.join(name).display().to_string(), text))
}

/// The instruction files of the project's subdirectories.
pub struct ProjectInstructions {
    root: PathBuf,
}

impl ProjectInstructions {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }
}

impl InstructionFiles for ProjectInstructions {
    fn for_path(&self, path: &str) -> Vec<(String, String)> {
        let path = Path::new(path);
        let absolute = if path.is_absolute() {
            path.to_owned()
        } else {
            self.root.join(path)
        };
        let Ok(relative) = absolute.strip_prefix(&self.root) else {
            return Vec::new();
        };
        // Directories from the root's child down to the file's own; the root's file is
        // in the system prompt already. `..` is never walked.
        let mut found = Vec::new();
        let mut dir = self.root.clone();
        let components: Vec<_> = relative.components().collect();
        for component in components.iter().take(components.len().saturating_sub(1)) {
            match component {
                std::path::Component::Normal(name) => dir.push(name),
                _ => return Vec::new(),
            }
            if let Some((name, text)) = instruction_file(&dir) {
                let file = dir.join(name);
                let shown = file
                    .strip_prefix(&self.root)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .into_owned();
                found.push((shown, text));
            }
        }
        found
    }
}

enum MapState {
    Building,
    Ready(Box<RepoMap>),
    Failed,
}

/// The repository map of the project: built on a thread at start-up (a large tree takes
/// seconds), refreshed from the disk before each render so edits show at once.
pub struct ProjectMap {
    state: Arc<(Mutex<MapState>, std::sync::Condvar)>,
    /// Only the first render waits for the build.
    waited: std::sync::atomic::AtomicBool,
}

/// How long the first turn waits for a map still being built (a small project's takes
/// milliseconds; a large one's is left to a later turn).
const FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(400);

impl ProjectMap {
    /// Starts building the map of `root` in the background.
    pub fn start(root: &Path) -> Self {
        let state = Arc::new((Mutex::new(MapState::Building), std::sync::Condvar::new()));
        let shared = state.clone();
        let root = root.to_owned();
        std::thread::spawn(move || {
            let built = match RepoMap::build(&root) {
                Ok(map) => MapState::Ready(Box::new(map)),
                Err(error) => {
                    tracing::debug!(%error, "no repository map");
                    MapState::Failed
                }
            };
            *shared.0.lock().unwrap_or_else(PoisonError::into_inner) = built;
            shared.1.notify_all();
        });
        Self {
            state,
            waited: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl RepoMapSource for ProjectMap {
    fn render(&self, focus: &MapFocus, token_budget: usize) -> Option<String> {
        let (lock, built) = &*self.state;
        let state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = if self.waited.swap(true, std::sync::atomic::Ordering::Relaxed) {
            std::time::Duration::ZERO
        } else {
            FIRST_WAIT
        };
        let (mut state, _) = built
            .wait_timeout_while(state, wait, |s| matches!(s, MapState::Building))
            .unwrap_or_else(PoisonError::into_inner);
        let MapState::Ready(map) = &mut *state else {
            // Still building (or nothing to map): this turn goes without.
            return None;
        };
        if let Err(error) = map.refresh() {
            tracing::debug!(%error, "the repository map could not be refreshed");
        }
        let focus = Focus {
            files: focus.files.iter().map(PathBuf::from).collect(),
            identifiers: focus.identifiers.clone(),
        };
        let text = map.render(&focus, token_budget);
        (!text.trim().is_empty()).then_some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_instruction_files_come_outermost_first_and_skip_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/api/v2")).expect("dirs");
        std::fs::write(root.join("AGENTS.md"), "root rules").expect("write");
        std::fs::write(root.join("src/AGENTS.md"), "src rules").expect("write");
        std::fs::write(root.join("src/api/v2/CUERVO.md"), "v2 rules").expect("write");
        let nested = ProjectInstructions::new(root);
        let found = nested.for_path("src/api/v2/handler.rs");
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["src/AGENTS.md", "src/api/v2/CUERVO.md"]);
        assert_eq!(found[1].1, "v2 rules");
        assert!(nested.for_path("../outside.rs").is_empty());
        assert!(
            nested.for_path("README.md").is_empty(),
            "the root's file is in the prompt"
        );
        let absolute = root.join("src/x.rs").display().to_string();
        assert_eq!(nested.for_path(&absolute).len(), 1);
    }
}
