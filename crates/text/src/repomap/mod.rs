//! A repository map: the definitions that matter most for a conversation, as a compact
//! outline that fits a token budget.
//!
//! The approach is Aider's, rebuilt on this crate's primitives:
//!
//! 1. **Tags.** Every source file (ignore rules honoured, see
//!    [`syntax::source_files`]) is parsed in parallel; its definitions come from
//!    [`syntax::symbols`], its references are the identifiers it uses that some file
//!    defines (see `tags.rs` for why they are found by a byte scan, not a second parse).
//!    Files over 1 MiB, minified and generated files are tracked but not parsed.
//! 2. **Graph.** Files are nodes; a file that uses a name defined elsewhere gets an edge
//!    to each definer, weighted by the square root of the number of uses, by how specific
//!    the name is, and split among the definers (names defined in more than 32 files link
//!    nothing).
//! 3. **Rank.** Personalised PageRank over that graph. The personalisation is the
//!    conversation's [`Focus`]: the files it names, *the files that call into them* (so a
//!    request about a file brings up its callers, not only its dependencies), and the
//!    files defining or named after the identifiers it mentions. Each file's rank is then
//!    spread over the definitions its edges point at; a definition in another file whose
//!    body calls into a focus file gets a share too, so callers show the functions that
//!    call.
//! 4. **Render.** The top definitions grouped by file, each as its signature line with
//!    its line number, as many as fit the token budget (binary search on the count,
//!    counted exactly with `cl100k_base`).
//!
//! The map is **incremental**: [`RepoMap::update`] re-reads only the files the caller
//! says it changed, [`RepoMap::refresh`] finds them by size and modification time.
//! Either re-links only the edited files and the files using a name whose definers the
//! edit changed. Ranking depends on the focus, so it is recomputed at each
//! [`RepoMap::render`]: about 90 ms for a 10,000-file C tree, about 1 s for all of Linux
//! (see `docs/benchmarks.md`).
//!
//! Building is bound by tree-sitter parsing (about 10 MB/s per core), so a cold build of
//! a large tree takes seconds to a minute; a long-lived map pays it once and then
//! follows edits. Across processes, a [`TagStore`] ([`RepoMap::build_with`]) keeps each
//! file's tags under its size and modification time, so a new session parses only the
//! files that changed since the last one (see `store.rs`).

mod graph;
mod lexer;
mod pagerank;
mod rank;
mod render;
mod store;
mod tags;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rayon::prelude::*;

use crate::syntax;
use graph::Graph;
use tags::{Extracted, FileTags, Stamp};

pub use rank::{RankedDefinition, RankedFile};
pub use render::MAP_ENCODING;
pub use store::{FileStamp, StoredFile, TAGS_VERSION, TagStore, tags_kind};
pub use tags::{MAX_FILE_BYTES, Skipped};

/// What the conversation is about: the map is personalised toward these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Focus {
    /// Files the conversation names or has open (relative to the map's root, or
    /// absolute under it).
    pub files: Vec<PathBuf>,
    /// Identifiers the conversation mentions (`parse_config`, `RepoMap`).
    pub identifiers: Vec<String>,
}

impl Focus {
    /// A focus on some files.
    pub fn files<P: Into<PathBuf>>(files: impl IntoIterator<Item = P>) -> Focus {
        Focus {
            files: files.into_iter().map(Into::into).collect(),
            identifiers: Vec::new(),
        }
    }
}

/// Sizes of the map, and how much parsing it has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapStats {
    /// Source files tracked (every file whose name says it may be code).
    pub files: usize,
    /// Tracked files that were tagged (the rest are skipped: see [`Skipped`]).
    pub tagged: usize,
    /// Definitions (outline entries, Rust `impl` blocks included).
    pub definitions: usize,
    /// Uses of defined names (identifier occurrences).
    pub references: usize,
    /// Distinct defined names.
    pub names: usize,
    /// File-to-file edges of the reference graph.
    pub edges: usize,
    /// Files read and parsed since [`RepoMap::build`], the build included: a test's
    /// handle on what an update really did.
    pub parses: u64,
    /// Files whose tags came from the [`TagStore`] instead, since the build included.
    pub loaded: u64,
}

/// What one [`RepoMap::refresh`] or [`RepoMap::update`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshStats {
    /// Files seen for the first time.
    pub added: usize,
    /// Known files re-read because they changed.
    pub changed: usize,
    /// Files dropped because they are gone (or no longer source).
    pub removed: usize,
    /// Files read and parsed, those above and any unchanged file re-read because the
    /// edit defined a name it uses that nothing defined before.
    pub parsed: usize,
    /// Files among those whose tags came from the [`TagStore`] instead of a parse.
    pub loaded: usize,
    /// Files whose edges were recomputed.
    pub relinked: usize,
}

/// The repository map of one directory tree; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct RepoMap {
    root: PathBuf,
    /// Path relative to `root`, per file id.
    paths: Vec<PathBuf>,
    ids: HashMap<PathBuf, u32>,
    /// Per file id; `None` once the file is gone.
    files: Vec<Option<FileTags>>,
    graph: Graph,
    parses: u64,
    loaded: u64,
    store: Option<Store>,
}

/// The map's [`TagStore`], shared by its clones.
#[derive(Clone)]
struct Store(Arc<dyn TagStore>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TagStore")
    }
}

/// Files tagged by [`RepoMap::tag_files`]: `None` for a file that is gone.
type Tagged = Vec<(PathBuf, Option<Extracted>)>;

/// Above this many names whose definers changed in one update, every file is re-linked
/// (in parallel) instead of searching for the users of each name.
const RELINK_ALL_NAMES: usize = 512;

impl RepoMap {
    /// Parses every source file under `root` in parallel and links them.
    ///
    /// Fails only when `root` cannot be read; unreadable or unparsable files are
    /// tracked with no tags.
    pub fn build(root: &Path) -> syntax::Result<RepoMap> {
        RepoMap::build_with(root, None)
    }

    /// [`RepoMap::build`], taking the tags of files unchanged since `store` last saw
    /// them from it and giving it the tags of every file parsed. The map keeps the
    /// store: [`RepoMap::refresh`] and [`RepoMap::update`] consult it and save to it too
    /// (another session may have parsed an edited file already).
    pub fn build_with(root: &Path, store: Option<Arc<dyn TagStore>>) -> syntax::Result<RepoMap> {
        let mut map = RepoMap {
            root: root.to_path_buf(),
            paths: Vec::new(),
            ids: HashMap::new(),
            files: Vec::new(),
            graph: Graph::default(),
            parses: 0,
            loaded: 0,
            store: store.map(Store),
        };
        let paths = map.candidates()?;
        let (extracted, loaded) = map.tag_files(paths);
        map.loaded += loaded as u64;
        let mut words = Vec::with_capacity(extracted.len());
        for (rel, found) in extracted {
            let Some(Extracted {
                tags,
                words: w,
                parsed,
                ..
            }) = found
            else {
                continue;
            };
            let id = map.files.len() as u32;
            map.parses += u64::from(parsed);
            for def in &tags.defs {
                if let Some(hash) = def.hash {
                    map.graph.add_definer(id, hash, &def.name);
                }
            }
            map.ids.insert(rel.clone(), id);
            map.paths.push(rel);
            map.files.push(Some(tags));
            words.push(w);
        }
        let graph = &map.graph;
        map.files
            .par_iter_mut()
            .zip(words)
            .for_each(|(tags, words)| {
                if let Some(tags) = tags {
                    tags.resolve(words, |h| graph.is_defined(h));
                }
            });
        let all: Vec<u32> = (0..map.files.len() as u32).collect();
        map.relink(&all);
        Ok(map)
    }

    /// The directory the map covers.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Re-reads the files whose size or modification time changed, reads new ones and
    /// drops deleted ones (one walk of the tree and one `stat` per file).
    pub fn refresh(&mut self) -> syntax::Result<RefreshStats> {
        let paths = self.candidates()?;
        let seen: HashSet<&PathBuf> = paths.iter().collect();
        let mut gone: Vec<PathBuf> = self
            .ids
            .keys()
            .filter(|p| !seen.contains(p))
            .cloned()
            .collect();
        gone.sort();
        let stale: Vec<PathBuf> = paths
            .par_iter()
            .filter(|rel| {
                let known = self
                    .ids
                    .get(*rel)
                    .and_then(|&id| self.files[id as usize].as_ref());
                match known {
                    None => true,
                    Some(tags) => std::fs::metadata(self.root.join(rel))
                        .map(|m| tags::Stamp::of(&m) != tags.stamp)
                        .unwrap_or(true),
                }
            })
            .cloned()
            .collect();
        let (mut changes, loaded) = self.tag_files(stale);
        changes.extend(gone.into_iter().map(|rel| (rel, None)));
        Ok(self.apply(changes, loaded))
    }

    /// Re-reads the given files (relative to the root or absolute under it), which the
    /// caller knows it changed, created or deleted; cheaper than [`RepoMap::refresh`]
    /// because nothing else is looked at. Paths outside the root, ignored by nothing
    /// here, or in no language are not added.
    pub fn update(&mut self, changed: &[PathBuf]) -> RefreshStats {
        let mut rels: Vec<PathBuf> = changed.iter().filter_map(|p| self.relative(p)).collect();
        rels.sort();
        rels.dedup();
        let (candidates, others): (Vec<PathBuf>, Vec<PathBuf>) =
            rels.into_iter().partition(|rel| tags::is_candidate(rel));
        let (mut changes, loaded) = self.tag_files(candidates);
        changes.extend(others.into_iter().map(|rel| (rel, None)));
        self.apply(changes, loaded)
    }

    /// Counts of files, definitions, references and edges.
    pub fn stats(&self) -> MapStats {
        let live = || self.files.iter().flatten();
        MapStats {
            files: live().count(),
            tagged: live().filter(|t| t.skipped.is_none()).count(),
            definitions: live().map(|t| t.defs.len()).sum(),
            references: live()
                .flat_map(|t| t.refs.iter())
                .map(|w| w.count as usize)
                .sum(),
            names: self.graph.names.len(),
            edges: self.graph.edge_count(),
            parses: self.parses,
            loaded: self.loaded,
        }
    }

    /// Why a tracked file has no tags, if it has none for a reason.
    pub fn skipped(&self, path: &Path) -> Option<Skipped> {
        let id = *self.ids.get(&self.relative(path)?)?;
        self.files.get(id as usize)?.as_ref()?.skipped
    }

    /// Source files under the root whose names make them candidates, relative.
    fn candidates(&self) -> syntax::Result<Vec<PathBuf>> {
        let all = syntax::source_files(std::slice::from_ref(&self.root))?;
        Ok(all
            .into_iter()
            .filter_map(|p| p.strip_prefix(&self.root).ok().map(Path::to_path_buf))
            .filter(|rel| tags::is_candidate(rel))
            .collect())
    }

    /// Tags the files at `rels` (relative): from the store where it knows them at their
    /// current size and modification time, else by reading and parsing them (in
    /// parallel), then saves what was parsed to the store in one call. Returns the tags,
    /// in the order given, and how many came from the store.
    fn tag_files(&self, rels: Vec<PathBuf>) -> (Tagged, usize) {
        let Some(Store(store)) = &self.store else {
            let found = rels
                .into_par_iter()
                .map(|rel| {
                    let found = tags::extract(&self.root.join(&rel), None);
                    (rel, found)
                })
                .collect();
            return (found, 0);
        };
        let store = &**store;
        // The store keys files by absolute path, whatever root the map was given.
        let base = std::path::absolute(&self.root).unwrap_or_else(|_| self.root.clone());
        let stamped: Vec<(PathBuf, Option<Stamp>)> = rels
            .into_par_iter()
            .map(|rel| {
                let stamp = std::fs::metadata(base.join(&rel))
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| Stamp::of(&m));
                (rel, stamp)
            })
            .collect();
        let mut keys = Vec::new();
        let mut slots = Vec::new();
        for (i, (rel, stamp)) in stamped.iter().enumerate() {
            if let Some(key) = stamp.and_then(|s| store::lookup_key(base.join(rel), s)) {
                keys.push(key);
                slots.push(i);
            }
        }
        let mut blobs: Vec<Option<Vec<u8>>> = vec![None; stamped.len()];
        if !keys.is_empty() {
            for (slot, blob) in slots.into_iter().zip(store.load(&keys)) {
                blobs[slot] = blob;
            }
        }
        let now = SystemTime::now();
        // Per file: its tags, what to save of them, and whether they were loaded.
        let done: Vec<(PathBuf, Option<Extracted>, Option<StoredFile>, bool)> = stamped
            .into_par_iter()
            .zip(blobs)
            .map(|((rel, stamp), blob)| {
                if let (Some(stamp), Some(blob)) = (stamp, blob)
                    && let Some(found) = store::decode(&blob, stamp)
                {
                    return (rel, Some(found), None, true);
                }
                let path = base.join(&rel);
                let found = tags::extract(&path, Some(store));
                let save = found.as_ref().and_then(|f| {
                    Some(StoredFile {
                        content_hash: f.content_hash.clone()?,
                        stamp: store::storable(path, f.tags.stamp, now)?,
                        bytes: store::encode(f)?,
                    })
                });
                (rel, found, save, false)
            })
            .collect();
        let mut saves = Vec::new();
        let mut found = Vec::with_capacity(done.len());
        let mut loaded = 0;
        for (rel, tags, save, was_loaded) in done {
            loaded += usize::from(was_loaded);
            saves.extend(save);
            found.push((rel, tags));
        }
        if !saves.is_empty() {
            store.save(saves);
        }
        (found, loaded)
    }

    /// `path` relative to the root: absolute paths must lie under it.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        if path.is_absolute() {
            if let Ok(rel) = path.strip_prefix(&self.root) {
                return Some(rel.to_path_buf());
            }
            let root = self.root.canonicalize().ok()?;
            let parent = path.parent()?.canonicalize().ok()?;
            return Some(parent.strip_prefix(root).ok()?.join(path.file_name()?));
        }
        Some(path.components().collect())
    }

    /// Applies changed (`Some`) and removed (`None`) files: the definers first, then the
    /// changed files' references, then the edges of every file they can affect.
    /// `loaded` says how many of `changes` came from the store.
    fn apply(&mut self, mut changes: Tagged, loaded: usize) -> RefreshStats {
        let mut stats = RefreshStats {
            loaded,
            ..RefreshStats::default()
        };
        let mut relink: HashSet<u32> = HashSet::new();
        let mut touched_names: HashSet<u64> = HashSet::new();
        let mut first_round = true;
        while !changes.is_empty() {
            let mut appeared: HashSet<u64> = HashSet::new();
            let mut pending_words: Vec<(u32, Vec<tags::Word>)> = Vec::new();
            for (rel, found) in changes.drain(..) {
                let old_id = self.ids.get(&rel).copied();
                if found.is_none() && old_id.is_none() {
                    continue;
                }
                let old_names = old_id
                    .and_then(|id| self.files[id as usize].as_ref())
                    .map(FileTags::defined_names)
                    .unwrap_or_default();
                let new_names: Vec<(u64, &str)> = found
                    .as_ref()
                    .map(|e| defined_names_with_text(&e.tags))
                    .unwrap_or_default();
                let id = match old_id {
                    Some(id) => id,
                    None => {
                        let id = self.files.len() as u32;
                        self.files.push(None);
                        self.paths.push(rel.clone());
                        self.ids.insert(rel.clone(), id);
                        id
                    }
                };
                for hash in &old_names {
                    if new_names.binary_search_by_key(hash, |n| n.0).is_err() {
                        self.graph.remove_definer(id, *hash);
                        touched_names.insert(*hash);
                    }
                }
                for &(hash, text) in &new_names {
                    if old_names.binary_search(&hash).is_err() {
                        if !self.graph.is_defined(hash) {
                            appeared.insert(hash);
                        }
                        self.graph.add_definer(id, hash, text);
                        touched_names.insert(hash);
                    }
                }
                if first_round {
                    match (old_id, &found) {
                        (None, _) => stats.added += 1,
                        (Some(_), Some(_)) => stats.changed += 1,
                        (Some(_), None) => stats.removed += 1,
                    }
                }
                match found {
                    Some(Extracted {
                        tags,
                        words,
                        parsed,
                        ..
                    }) => {
                        stats.parsed += usize::from(parsed);
                        self.parses += u64::from(parsed);
                        self.files[id as usize] = Some(tags);
                        pending_words.push((id, words));
                    }
                    None => {
                        self.files[id as usize] = None;
                        self.ids.remove(&rel);
                        self.graph.set_links(id, (Vec::new(), 0.0));
                    }
                }
                relink.insert(id);
            }
            for (id, words) in pending_words {
                let graph = &self.graph;
                if let Some(tags) = self.files[id as usize].as_mut() {
                    tags.resolve(words, |h| graph.is_defined(h));
                }
            }
            // Unchanged files that use a name only now defined hold it as an unresolved
            // hash, without counts: read them again.
            first_round = false;
            if !appeared.is_empty() {
                let rescan: Vec<PathBuf> = self
                    .files
                    .iter()
                    .enumerate()
                    .filter(|(id, t)| {
                        !relink.contains(&(*id as u32))
                            && t.as_ref()
                                .is_some_and(|t| appeared.iter().any(|&h| t.may_use_unresolved(h)))
                    })
                    .map(|(id, _)| self.paths[id].clone())
                    .collect();
                let (next, loaded) = self.tag_files(rescan);
                stats.loaded += loaded;
                changes = next;
            }
        }
        // Users of a name whose definers changed link differently now.
        if touched_names.len() > RELINK_ALL_NAMES {
            relink.extend(0..self.files.len() as u32);
        } else if !touched_names.is_empty() {
            let names: Vec<u64> = touched_names.into_iter().collect();
            let users: Vec<u32> = self
                .files
                .par_iter()
                .enumerate()
                .filter(|(_, t)| t.as_ref().is_some_and(|t| names.iter().any(|&h| t.uses(h))))
                .map(|(id, _)| id as u32)
                .collect();
            relink.extend(users);
        }
        let mut relink: Vec<u32> = relink.into_iter().collect();
        relink.sort_unstable();
        stats.relinked = self.relink(&relink);
        stats
    }

    /// Recomputes the out-edges of `ids` (in parallel); returns how many live files
    /// were re-linked.
    fn relink(&mut self, ids: &[u32]) -> usize {
        let graph = &self.graph;
        let files = &self.files;
        let links: Vec<(u32, graph::Links)> = ids
            .par_iter()
            .filter_map(|&id| {
                let tags = files.get(id as usize)?.as_ref()?;
                Some((id, graph.links_of(id, tags)))
            })
            .collect();
        let n = links.len();
        for (id, l) in links {
            self.graph.set_links(id, l);
        }
        n
    }
}

/// The distinct names a file defines, sorted by hash, with their text.
fn defined_names_with_text(tags: &FileTags) -> Vec<(u64, &str)> {
    let mut names: Vec<(u64, &str)> = tags
        .defs
        .iter()
        .filter_map(|d| d.hash.map(|h| (h, &*d.name)))
        .collect();
    names.sort_unstable_by_key(|n| n.0);
    names.dedup_by_key(|n| n.0);
    names
}
