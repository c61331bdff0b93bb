//! The context builder's adapters: the instruction files deeper in the project, and the
//! repository map (built in the background at start-up, refreshed for each user turn,
//! its files' tags kept in the user's database between sessions).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use cuervo_core::context::{MapFocus, RepoMapSource};
use cuervo_core::instructions::InstructionFiles;
use cuervo_store::cache::{FileKey, ParseRecord, content_hash, mtime_ns};
use cuervo_store::{Db, FileCache};
use cuervo_text::repomap::{FileStamp, Focus, MapStats, RepoMap, StoredFile, TagStore, tags_kind};

use crate::setup::Env;

/// The names an instruction file may have, in the order one directory's are preferred.
pub const INSTRUCTION_FILES: [&str; 2] = ["CUERVO.md", "AGENTS.md"];

/// Instruction files above this size are cut (they go into the model's context).
const MAX_INSTRUCTION_BYTES: usize = 32 * 1024;

/// The instruction file of one directory, if it has one: its name and content. With
/// `within` (the project root), a file that is a link must resolve inside it: a repository
/// may link `CUERVO.md` to its `AGENTS.md`, but not pull a file of the machine (a key) into
/// what the model is sent.
pub fn instruction_file(dir: &Path, within: Option<&Path>) -> Option<(String, String)> {
    INSTRUCTION_FILES.into_iter().find_map(|name| {
        let path = dir.join(name);
        if let Some(root) = within
            && path.symlink_metadata().ok()?.file_type().is_symlink()
        {
            let target = std::fs::canonicalize(&path).ok()?;
            let root = std::fs::canonicalize(root).ok()?;
            if !target.starts_with(&root) {
                return None;
            }
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
    instruction_file(dir, None).map(|(name, text)| (dir.join(name).display().to_string(), text))
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
            if let Some((name, text)) = instruction_file(&dir, Some(&self.root)) {
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

/// The repository map's [`TagStore`]: the L2 file cache in the user's database, so a new
/// session parses only the files that changed since one last saw them (the map of a
/// 10,000-file tree then builds in about a second instead of tens of seconds). Rows are
/// keyed by absolute path, so every project and worktree of the user shares one table,
/// and by [`tags_kind`], so builds with another tag format or grammar set never read
/// each other's.
pub struct CachedTags {
    cache: FileCache,
    kind: String,
}

impl CachedTags {
    pub fn new(db: Arc<Db>) -> Self {
        Self {
            cache: FileCache::new(db),
            kind: tags_kind(),
        }
    }
}

impl TagStore for CachedTags {
    fn load(&self, files: &[FileStamp]) -> Vec<Option<Vec<u8>>> {
        let keys: Vec<FileKey<'_>> = files
            .iter()
            .map(|f| FileKey {
                path: &f.path,
                size: f.size,
                mtime_ns: mtime_ns(f.modified),
            })
            .collect();
        self.cache
            .parses_by_stamp(&self.kind, &keys)
            .unwrap_or_else(|error| {
                // Every file is parsed, as with no cache.
                tracing::debug!(%error, "the repository map's cache could not be read");
                Vec::new()
            })
    }

    fn content_hash(&self, content: &[u8]) -> String {
        content_hash(content)
    }

    fn save(&self, files: Vec<StoredFile>) {
        let records: Vec<ParseRecord<'_>> = files
            .iter()
            .map(|f| ParseRecord {
                file: FileKey {
                    path: &f.stamp.path,
                    size: f.stamp.size,
                    mtime_ns: mtime_ns(f.stamp.modified),
                },
                content_hash: &f.content_hash,
                result: &f.bytes,
            })
            .collect();
        if let Err(error) = self.cache.record_parses(&self.kind, &records) {
            tracing::debug!(%error, files = records.len(), "the repository map's cache could not be written");
        }
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

/// How long the first turn waits for a map still being built: a small project's takes
/// milliseconds (and any project's, once its tags are cached); a large one's first build
/// is left to a later turn rather than delaying the first answer.
const FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

impl ProjectMap {
    /// Starts building the map of `root` in the background, with the tags kept in the
    /// user's database (found through `env`, as every command finds it). The database is
    /// opened on the map's thread, so start-up does not wait for it; one that cannot be
    /// opened means a map built without the cache.
    pub fn start(root: &Path, env: Arc<Env>) -> Self {
        let state = Arc::new((Mutex::new(MapState::Building), std::sync::Condvar::new()));
        let shared = state.clone();
        let root = root.to_owned();
        std::thread::spawn(move || {
            let store: Option<Arc<dyn TagStore>> = match crate::setup::state::open_db(&*env) {
                Ok(db) => Some(Arc::new(CachedTags::new(db))),
                Err(error) => {
                    tracing::debug!(%error, "the repository map is built without its cache");
                    None
                }
            };
            let built = match RepoMap::build_with(&root, store) {
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

impl ProjectMap {
    /// The map's numbers once it is built (`None` while building, or with no map).
    pub fn stats(&self) -> Option<MapStats> {
        let state = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
        match &*state {
            MapState::Ready(map) => Some(map.stats()),
            MapState::Building | MapState::Failed => None,
        }
    }

    /// Whether the build has finished (with a map or without).
    pub fn is_built(&self) -> bool {
        let state = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
        !matches!(*state, MapState::Building)
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

    /// Two Rust files, modified an hour ago (a file modified in the last seconds is not
    /// kept: its stamp could still change unseen).
    fn project(root: &Path) {
        std::fs::create_dir_all(root.join("src")).expect("dirs");
        let files = [
            (
                "src/area.rs",
                "pub fn compute_area(w: f64) -> f64 {\n    w * w\n}\n",
            ),
            (
                "src/report.rs",
                "pub fn print_report() {\n    let _ = compute_area(2.0);\n}\n",
            ),
        ];
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for (rel, text) in files {
            let path = root.join(rel);
            std::fs::write(&path, text).expect("write");
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(hour_ago))
                .expect("mtime");
        }
    }

    #[test]
    fn the_file_cache_keeps_the_map_tags_between_builds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("project");
        project(&root);
        let db = Arc::new(Db::open(&dir.path().join("cuervo.db")).expect("db"));
        let store = || -> Option<Arc<dyn TagStore>> { Some(Arc::new(CachedTags::new(db.clone()))) };

        let first = RepoMap::build_with(&root, store()).expect("builds");
        assert_eq!((first.stats().parses, first.stats().loaded), (2, 0));
        let kept = cuervo_store::cache::stats(&db, 0).expect("stats");
        assert_eq!((kept.file_entries, kept.parse_entries), (2, 2));
        // The index shares the content hashes: they are of the files' bytes.
        let area = std::fs::read(root.join("src/area.rs")).expect("read");
        let meta = std::fs::metadata(root.join("src/area.rs")).expect("stat");
        let (size, mtime) = cuervo_store::cache::file_stamp(&meta);
        let recorded = FileCache::new(db.clone())
            .lookup(&root.join("src/area.rs"), size, mtime)
            .expect("lookup");
        assert_eq!(recorded, Some(content_hash(&area)));

        let second = RepoMap::build_with(&root, store()).expect("builds");
        assert_eq!((second.stats().parses, second.stats().loaded), (0, 2));
        let focus = Focus::files(["src/area.rs"]);
        assert_eq!(second.render(&focus, 500), first.render(&focus, 500));
        assert!(second.render(&focus, 500).contains("compute_area"));
    }

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
        // A link inside the project is followed; one leaving it is not.
        std::os::unix::fs::symlink(root.join("src/AGENTS.md"), root.join("src/api/CUERVO.md"))
            .expect("link");
        assert_eq!(nested.for_path("src/api/x.rs").len(), 2);
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret"), "KEY").expect("write");
        std::fs::remove_file(root.join("src/api/CUERVO.md")).expect("unlink");
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            root.join("src/api/CUERVO.md"),
        )
        .expect("link");
        let found = nested.for_path("src/api/x.rs");
        assert!(found.iter().all(|(_, text)| text != "KEY"), "{found:?}");
        let absolute = root.join("src/x.rs").display().to_string();
        assert_eq!(nested.for_path(&absolute).len(), 1);
    }
}
