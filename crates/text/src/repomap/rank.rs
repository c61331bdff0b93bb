//! Ranking: personalised PageRank over files, then each file's rank spread over the
//! definitions its references point at.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::path::PathBuf;

use super::graph::{MixHasher, by_name, use_weight};
use super::pagerank::pagerank;
use super::tags::{NO_SCOPE, name_hash};
use super::{Focus, RepoMap};
use crate::syntax::SymbolKind;

/// Personalisation mass of the files the focus names (shared among them).
const FOCUS_WEIGHT: f64 = 1.0;
/// Personalisation mass of the focus files' callers, shared in proportion to the weight
/// of their edges into the focus: when a file is about to change, the code that calls it
/// is what may break.
const CALLER_WEIGHT: f64 = 0.5;
/// Personalisation mass of the files defining (or named after) a mentioned identifier.
const IDENTIFIER_WEIGHT: f64 = 1.0;
/// Personalisation mass spread evenly over every file when there is a focus, so that
/// a generous budget fills up with what matters to the whole repository rather than
/// nothing.
const BACKGROUND_WEIGHT: f64 = 0.05;
/// Share of the rank flowing along a use into a focus file that is credited to the
/// definition holding the use (the calling function), so callers show what calls.
const CALLER_CREDIT: f64 = 0.5;
/// Share of a file's own rank spread evenly over its definitions: a focus file's
/// definitions that nothing uses still show, and ties between files break by file rank.
const SELF_SHARE: f64 = 0.1;
/// Factor on a definition whose name the conversation mentions (after adding its
/// file's rank to it) and on every definition in a file the focus names: PageRank
/// ranks files, and a hub the focus file uses can outrank the file itself, while a
/// request about a file is first of all about what that file defines.
const MENTION_BOOST: f64 = 10.0;

/// A file and its PageRank (the ranks of all files sum to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct RankedFile {
    /// Relative to the map's root.
    pub path: PathBuf,
    pub rank: f64,
}

/// A definition and its share of the ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedDefinition {
    /// The file, relative to the map's root.
    pub path: PathBuf,
    pub name: String,
    pub kind: SymbolKind,
    /// 1-based line where the definition starts (attributes and decorators included).
    pub line: usize,
    /// The declaration up to its body, as [`crate::syntax::Symbol::signature`].
    pub signature: String,
    pub rank: f64,
}

/// A ranking for one focus: definitions best first.
#[derive(Debug)]
pub(crate) struct Ranking {
    /// The focus's file ids, sorted.
    pub focus: Vec<u32>,
    /// `(rank, file id, definition index)`, best first; only definitions with rank.
    pub defs: Vec<(f64, u32, u32)>,
}

type PairMap<K> = HashMap<K, f64, BuildHasherDefault<MixHasher>>;

impl RepoMap {
    /// Every file with a rank above zero, best first, except that the files the focus
    /// names come before all others (PageRank can put a hub they use above them).
    pub fn ranked_files(&self, focus: &Focus) -> Vec<RankedFile> {
        let focus_ids = self.focus_ids(focus);
        let ranks = self.file_ranks(focus, &focus_ids);
        let named = |f: &RankedFile| {
            self.ids
                .get(&f.path)
                .is_some_and(|id| focus_ids.binary_search(id).is_ok())
        };
        let mut out: Vec<RankedFile> = ranks
            .iter()
            .enumerate()
            .filter(|&(id, &r)| r > 0.0 && self.files[id].is_some())
            .map(|(id, &rank)| RankedFile {
                path: self.paths[id].clone(),
                rank,
            })
            .collect();
        out.sort_by(|a, b| {
            named(b)
                .cmp(&named(a))
                .then_with(|| b.rank.total_cmp(&a.rank))
                .then_with(|| a.path.cmp(&b.path))
        });
        out
    }

    /// Every definition with a rank above zero, best first: what [`RepoMap::render`]
    /// draws from, for tests and for showing why something is in the map.
    pub fn ranked(&self, focus: &Focus) -> Vec<RankedDefinition> {
        let ranking = self.rank(focus, None);
        ranking
            .defs
            .iter()
            .filter_map(|&(rank, file, def)| {
                let d = self.files[file as usize].as_ref()?.defs.get(def as usize)?;
                Some(RankedDefinition {
                    path: self.paths[file as usize].clone(),
                    name: d.name.to_string(),
                    kind: d.kind,
                    line: d.line as usize,
                    signature: d.signature.to_string(),
                    rank,
                })
            })
            .collect()
    }

    /// File ids of the focus's files that the map tracks.
    fn focus_ids(&self, focus: &Focus) -> Vec<u32> {
        let mut ids: Vec<u32> = focus
            .files
            .iter()
            .filter_map(|p| self.relative(p))
            .filter_map(|rel| self.ids.get(&rel).copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The personalisation vector (summing to 1): see the constants above. Without a
    /// focus (or one that matches nothing), every live file alike.
    fn personalisation(&self, focus: &Focus, focus_ids: &[u32]) -> Vec<f64> {
        let n = self.files.len();
        let mut p = vec![0.0; n];
        for &id in focus_ids {
            p[id as usize] += FOCUS_WEIGHT / focus_ids.len() as f64;
        }
        if !focus_ids.is_empty() {
            let mut calls = vec![0.0; n];
            for (u, edges) in self.graph.out.iter().enumerate() {
                if focus_ids.binary_search(&(u as u32)).is_ok() {
                    continue;
                }
                calls[u] = edges
                    .iter()
                    .filter(|(v, _)| focus_ids.binary_search(v).is_ok())
                    .map(|(_, w)| f64::from(*w))
                    .sum();
            }
            let total: f64 = calls.iter().sum();
            if total > 0.0 {
                for (x, c) in p.iter_mut().zip(&calls) {
                    *x += CALLER_WEIGHT * c / total;
                }
            }
        }
        let mut named: Vec<u32> = Vec::new();
        for ident in &focus.identifiers {
            if let Some(name) = self.graph.names.get(&name_hash(ident.as_bytes())) {
                named.extend(&name.files);
            }
        }
        if !focus.identifiers.is_empty() {
            for (id, path) in self.paths.iter().enumerate() {
                let stem = path.file_stem().and_then(|s| s.to_str());
                if stem.is_some_and(|s| focus.identifiers.iter().any(|i| i == s)) {
                    named.push(id as u32);
                }
            }
        }
        for &id in &named {
            p[id as usize] += IDENTIFIER_WEIGHT / named.len() as f64;
        }
        let focused: f64 = p.iter().sum();
        let live = self.files.iter().flatten().count().max(1) as f64;
        let background = if focused > 0.0 {
            BACKGROUND_WEIGHT * focused / live
        } else {
            1.0 / live
        };
        for (x, f) in p.iter_mut().zip(&self.files) {
            *x = if f.is_some() { *x + background } else { 0.0 };
        }
        let total: f64 = p.iter().sum();
        if total > 0.0 {
            p.iter_mut().for_each(|x| *x /= total);
        }
        p
    }

    fn file_ranks(&self, focus: &Focus, focus_ids: &[u32]) -> Vec<f64> {
        let p = self.personalisation(focus, focus_ids);
        pagerank(&self.graph.out, &self.graph.out_total, &p).0
    }

    /// Ranks files and definitions; `limit` keeps only the best so many definitions.
    pub(crate) fn rank(&self, focus: &Focus, limit: Option<usize>) -> Ranking {
        let focus_ids = self.focus_ids(focus);
        let p = self.personalisation(focus, &focus_ids);
        let (files, _) = pagerank(&self.graph.out, &self.graph.out_total, &p);
        let is_focus = |id: u32| focus_ids.binary_search(&id).is_ok();

        // Spread each file's rank over the definitions its uses point at.
        let mut by_name_rank: PairMap<(u32, u64)> = PairMap::default();
        let mut by_scope_rank: PairMap<(u32, u32)> = PairMap::default();
        for (u, tags) in self.files.iter().enumerate() {
            let (Some(tags), r) = (tags, files[u]) else {
                continue;
            };
            let total = self.graph.out_total.get(u).copied().unwrap_or(0.0);
            if r <= 0.0 || total <= 0.0 {
                continue;
            }
            for (hash, count, range) in by_name(tags) {
                let Some(name) = self.graph.names.get(&hash) else {
                    continue;
                };
                let w = use_weight(name, count);
                if w <= 0.0 {
                    continue;
                }
                let share = r * w / total;
                for &t in &name.files {
                    if t as usize == u {
                        continue;
                    }
                    *by_name_rank.entry((t, hash)).or_default() += share;
                    if !is_focus(t) {
                        continue;
                    }
                    for word in &tags.refs[range.clone()] {
                        if word.scope != NO_SCOPE {
                            let credit =
                                CALLER_CREDIT * share * f64::from(word.count) / f64::from(count);
                            *by_scope_rank.entry((u as u32, word.scope)).or_default() += credit;
                        }
                    }
                }
            }
        }

        let mentioned: Vec<u64> = focus
            .identifiers
            .iter()
            .map(|i| name_hash(i.as_bytes()))
            .collect();
        let mut defs: Vec<(f64, u32, u32)> = Vec::new();
        for (t, tags) in self.files.iter().enumerate() {
            let Some(tags) = tags else { continue };
            let r = files[t];
            if tags.defs.is_empty() {
                continue;
            }
            let own = SELF_SHARE * r / tags.defs.len() as f64;
            let in_focus = is_focus(t as u32);
            let mut hashes: Vec<u64> = tags.defs.iter().filter_map(|d| d.hash).collect();
            hashes.sort_unstable();
            for (i, d) in tags.defs.iter().enumerate() {
                let mut rank = own;
                if let Some(h) = d.hash {
                    if let Some(x) = by_name_rank.get(&(t as u32, h)) {
                        let same = hashes.partition_point(|&o| o <= h)
                            - hashes.partition_point(|&o| o < h);
                        rank += x / same.max(1) as f64;
                    }
                    if mentioned.contains(&h) {
                        rank = (rank + r) * MENTION_BOOST;
                    }
                }
                if let Some(x) = by_scope_rank.get(&(t as u32, i as u32)) {
                    rank += x;
                }
                if in_focus {
                    rank *= MENTION_BOOST;
                }
                if rank > 0.0 {
                    defs.push((rank, t as u32, i as u32));
                }
            }
        }
        let order = |a: &(f64, u32, u32), b: &(f64, u32, u32)| {
            b.0.total_cmp(&a.0)
                .then_with(|| self.paths[a.1 as usize].cmp(&self.paths[b.1 as usize]))
                .then(a.2.cmp(&b.2))
        };
        if let Some(k) = limit
            && k < defs.len()
        {
            if k == 0 {
                defs.clear();
            } else {
                defs.select_nth_unstable_by(k - 1, order);
                defs.truncate(k);
            }
        }
        defs.sort_unstable_by(order);
        Ranking {
            focus: focus_ids,
            defs,
        }
    }
}
