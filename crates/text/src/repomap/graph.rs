//! The reference graph: which files define each name, and the weighted edges from a file
//! to the files defining the names it uses.
//!
//! Edges are kept per source file (an out-list), because everything that changes an
//! edge is known by its source: a file's out-list is a function of its own references
//! and of who defines those names. An edit to one file therefore re-links that file, plus
//! the files that use a name whose set of definers the edit changed — nothing else.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::tags::FileTags;

/// A name defined in more files than this links nothing: a reference to `init` or
/// `new` cannot say which of forty definitions it means, and linking every use of such a
/// name to every definer would grow the graph with the square of the repository.
pub(crate) const MAX_DEFINERS: usize = 32;

/// One file's out-edges `(target, weight)`, sorted by target, and their weight sum.
pub(crate) type Links = (Vec<(u32, f32)>, f64);

/// Who defines one name, and how much a use of it says.
#[derive(Debug, Clone)]
pub(crate) struct Name {
    /// Files (ids) defining it, sorted.
    pub files: Vec<u32>,
    /// [`specificity`] of the name.
    pub specificity: f32,
}

/// The definers of every name and each file's out-edges.
#[derive(Debug, Default, Clone)]
pub(crate) struct Graph {
    pub names: NameMap<Name>,
    /// Per file id: `(target file, weight)`, sorted by target, no self edges.
    pub out: Vec<Vec<(u32, f32)>>,
    /// Per file id: the sum of its out-edge weights.
    pub out_total: Vec<f64>,
}

/// A map keyed by name hashes, which are already well mixed: hashing them again with
/// SipHash would be wasted work.
pub(crate) type NameMap<V> = HashMap<u64, V, BuildHasherDefault<MixHasher>>;

/// One multiply-xor round over a `u64` key (splitmix64's finaliser).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// How much a use of `name` says about what its file depends on (after Aider): long
/// names in `snake_case` or `camelCase` are specific (`parse_files_parallel`, not `get`),
/// ten times; names with a leading underscore are private by convention, a tenth.
pub(crate) fn specificity(name: &str) -> f32 {
    let mut m = 1.0;
    let snake = name.contains('_') && name.bytes().any(|b| b.is_ascii_alphabetic());
    let camel = name.bytes().any(|b| b.is_ascii_uppercase())
        && name.bytes().any(|b| b.is_ascii_lowercase());
    if (snake || camel) && name.len() >= 8 {
        m *= 10.0;
    }
    if name.starts_with('_') {
        m *= 0.1;
    }
    m
}

/// The weight of `count` uses of `name` towards *each* of its definers: square-root
/// damped (ten calls are not ten times one), split among the definers (one use means
/// one of them), zero when the name is too common to mean anything.
pub(crate) fn use_weight(name: &Name, count: u32) -> f64 {
    let definers = name.files.len();
    if definers == 0 || definers > MAX_DEFINERS {
        return 0.0;
    }
    f64::from(name.specificity) * f64::from(count).sqrt() / definers as f64
}

/// Visits a file's references one name at a time: `(name hash, total uses, range of
/// its entries in `refs`)`.
pub(crate) fn by_name(tags: &FileTags) -> impl Iterator<Item = (u64, u32, std::ops::Range<usize>)> {
    let refs = &tags.refs;
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = refs.get(i)?;
        let start = i;
        let mut count = 0u32;
        while let Some(w) = refs.get(i).filter(|w| w.hash == first.hash) {
            count = count.saturating_add(w.count);
            i += 1;
        }
        Some((first.hash, count, start..i))
    })
}

impl Graph {
    /// Records that file `id` defines `names` (distinct hashes), with each name's text
    /// for its specificity.
    pub(crate) fn add_definer(&mut self, id: u32, hash: u64, text: &str) {
        let name = self.names.entry(hash).or_insert_with(|| Name {
            files: Vec::new(),
            specificity: specificity(text),
        });
        if let Err(at) = name.files.binary_search(&id) {
            name.files.insert(at, id);
        }
    }

    /// Forgets that file `id` defines `hash`; a name nobody defines any more is dropped.
    pub(crate) fn remove_definer(&mut self, id: u32, hash: u64) {
        if let Some(name) = self.names.get_mut(&hash) {
            if let Ok(at) = name.files.binary_search(&id) {
                name.files.remove(at);
            }
            if name.files.is_empty() {
                self.names.remove(&hash);
            }
        }
    }

    /// Whether some file defines `hash`.
    pub(crate) fn is_defined(&self, hash: u64) -> bool {
        self.names.contains_key(&hash)
    }

    /// File `id`'s out-edges from its references and the current definers.
    pub(crate) fn links_of(&self, id: u32, tags: &FileTags) -> Links {
        let mut edges: Vec<(u32, f32)> = Vec::new();
        for (hash, count, _) in by_name(tags) {
            let Some(name) = self.names.get(&hash) else {
                continue;
            };
            let w = use_weight(name, count);
            if w <= 0.0 {
                continue;
            }
            for &target in &name.files {
                if target != id {
                    edges.push((target, w as f32));
                }
            }
        }
        edges.sort_unstable_by_key(|e| e.0);
        let mut merged: Vec<(u32, f32)> = Vec::with_capacity(edges.len());
        for (t, w) in edges {
            match merged.last_mut() {
                Some(last) if last.0 == t => last.1 += w,
                _ => merged.push((t, w)),
            }
        }
        merged.shrink_to_fit();
        let total = merged.iter().map(|e| f64::from(e.1)).sum();
        (merged, total)
    }

    /// Stores file `id`'s out-edges.
    pub(crate) fn set_links(&mut self, id: u32, links: Links) {
        let slot = id as usize;
        if self.out.len() <= slot {
            self.out.resize_with(slot + 1, Vec::new);
            self.out_total.resize(slot + 1, 0.0);
        }
        self.out[slot] = links.0;
        self.out_total[slot] = links.1;
    }

    /// Number of edges.
    pub(crate) fn edge_count(&self) -> usize {
        self.out.iter().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_names_weigh_more() {
        assert_eq!(specificity("get"), 1.0);
        assert_eq!(specificity("parse_files"), 10.0);
        assert_eq!(specificity("RepoMapBuilder"), 10.0);
        assert!((specificity("_priv") - 0.1).abs() < 1e-6);
        let name = Name {
            files: vec![1, 2],
            specificity: 1.0,
        };
        assert!((use_weight(&name, 4) - 1.0).abs() < 1e-9);
        let common = Name {
            files: (0..=MAX_DEFINERS as u32).collect(),
            specificity: 1.0,
        };
        assert_eq!(use_weight(&common, 4), 0.0);
    }
}
