//! Where a file's tags outlive the process: the [`TagStore`] port and the tags' stored form.
//!
//! Parsing is what a cold build pays for (tree-sitter, about 10 MB/s per core), and a new
//! session builds the map again over files that have not changed since the last one. A
//! store keeps each file's tags under its size and modification time; a build asks it for
//! every file in one call before parsing anything and gives it what it had to parse in
//! one call after, so a database behind the port can answer in one transaction each.
//!
//! What is stored is a file's *own* tags, before they meet the rest of the repository:
//! its definitions and every identifier it uses with the definition it sits in
//! (`tags::Word`). Which of those identifiers are references depends on the other files,
//! so that is worked out again at every build (cheap: hash lookups).
//!
//! The stored form is `[TAGS_VERSION][length, u32 LE][MessagePack of the skip reason and
//! definitions][packed words]`. Words are most of a file's tags (a C file uses thousands
//! of identifiers) and MessagePack would spend 12 to 16 bytes on each, so they are packed
//! by hand: per distinct hash, the hash (8 bytes), the number of scopes it occurs in, then
//! each scope and count (LEB128; scope 0 means outside every definition, `s + 1` the
//! definition `s`) — about 6 bytes a word, half the size, half the reading. The store is told
//! the format by [`tags_kind`] (version, crate version and the grammars compiled in), so
//! a change of the format, of the outline `syntax::symbols` makes or of the grammars a
//! build has never reads tags made by another. A blob that does not decode, or decodes
//! into tags that break the map's invariants (a parent after its child, a scope past the
//! definitions, unsorted words), is a miss: the file is parsed again.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::tags::{self, Def, Extracted, FileTags, NO_SCOPE, Skipped, Stamp, Word};
use crate::syntax::{Language, SymbolKind};

/// The version of the stored tags. Bump it when [`StoredTags`], `tags::Def`,
/// `tags::Word`, the lexer that finds words or the outline `syntax::symbols` makes
/// change, so no build reads tags an older one made.
pub const TAGS_VERSION: u8 = 1;

/// A file modified this recently is not stored: a filesystem keeps modification times at
/// a granularity (a scheduler tick, a second on some), so a second write of the same size
/// in the same tick would leave the stored tags looking current for content they do not
/// describe. Git's index guards against the same race ("racy clean" entries).
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// Keeps files' tags between builds of the map (one per session): see the module docs.
///
/// Errors are the store's to log: a failed load is a miss, a failed save costs the next
/// build a parse, and neither may stop the map from being built.
pub trait TagStore: Send + Sync {
    /// The tags stored for each file at this size and modification time, in the order
    /// asked; `None` where the file is unknown, changed, or the store fails. A shorter
    /// answer counts as misses for the rest.
    fn load(&self, files: &[FileStamp]) -> Vec<Option<Vec<u8>>>;

    /// The key the store files content under, computed by the map from the bytes it read
    /// (so the file is read once) and handed back in [`StoredTags::content_hash`].
    fn content_hash(&self, content: &[u8]) -> String;

    /// Keeps these files' tags (all of one build or refresh, at once).
    fn save(&self, files: Vec<StoredFile>);
}

/// A file as a [`TagStore`] keys it: its absolute path, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    /// Absolute (the map's root made absolute, joined with the file's relative path).
    pub path: PathBuf,
    pub size: u64,
    pub modified: SystemTime,
}

/// One file's tags for a [`TagStore`] to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The file as it was before it was read: a later change gives it another stamp.
    pub stamp: FileStamp,
    /// [`TagStore::content_hash`] of the bytes the tags were made from.
    pub content_hash: String,
    /// The tags, opaque to the store.
    pub bytes: Vec<u8>,
}

/// The name of this build's tag format, for a store that keeps several kinds of result
/// per file: [`TAGS_VERSION`], the crate's version (a release may change how files are
/// outlined without anyone bumping the version) and which grammars are compiled in (a
/// build without a grammar tags that language's files as unparsable).
pub fn tags_kind() -> String {
    let grammars = Language::ALL
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_available())
        .fold(0u32, |mask, (i, _)| mask | (1 << i));
    format!(
        "repomap-tags-v{TAGS_VERSION}-{}-{grammars:x}",
        env!("CARGO_PKG_VERSION")
    )
}

/// What is kept of one file, besides its words: everything else `tags::extract` finds
/// except what the stat says.
#[derive(Serialize, Deserialize)]
struct StoredHead {
    skipped: Option<Skipped>,
    defs: Vec<Def>,
}

/// One file's tags as decoded, before they are checked.
struct StoredTags {
    skipped: Option<Skipped>,
    defs: Vec<Def>,
    words: Vec<Word>,
}

/// The stamp a store may key `stamp`'s file by: `None` for a file that has no
/// modification time, or that was modified too recently to trust it (see
/// [`RACY_WINDOW`]).
pub(crate) fn storable(path: PathBuf, stamp: Stamp, now: SystemTime) -> Option<FileStamp> {
    let modified = stamp.mtime?;
    // A time in the future (clock skew) is as untrustworthy as a recent one.
    let age = now.duration_since(modified).ok()?;
    (age >= RACY_WINDOW).then_some(FileStamp {
        path,
        size: stamp.len,
        modified,
    })
}

/// The stamp to look a file up by: any file with a modification time, except those too
/// large to parse (their tags are known from the stat alone).
pub(crate) fn lookup_key(path: PathBuf, stamp: Stamp) -> Option<FileStamp> {
    (stamp.len <= tags::MAX_FILE_BYTES).then_some(FileStamp {
        path,
        size: stamp.len,
        modified: stamp.mtime?,
    })
}

/// The stored form of a freshly extracted file (before its words are resolved).
pub(crate) fn encode(found: &Extracted) -> Option<Vec<u8>> {
    let head = StoredHead {
        skipped: found.tags.skipped,
        defs: found.tags.defs.clone(),
    };
    let mut bytes = Vec::with_capacity(64 + found.tags.defs.len() * 48 + found.words.len() * 6);
    bytes.push(TAGS_VERSION);
    bytes.extend_from_slice(&[0; 4]);
    rmp_serde::encode::write(&mut bytes, &head).ok()?;
    let head_len = u32::try_from(bytes.len() - 5).ok()?;
    bytes[1..5].copy_from_slice(&head_len.to_le_bytes());
    pack_words(&found.words, &mut bytes);
    Some(bytes)
}

/// Appends `words` (sorted by hash) grouped by hash: see the module docs.
fn pack_words(words: &[Word], out: &mut Vec<u8>) {
    for group in words.chunk_by(|a, b| a.hash == b.hash) {
        out.extend_from_slice(&group[0].hash.to_le_bytes());
        put_varint(out, group.len() as u32);
        for w in group {
            put_varint(out, if w.scope == NO_SCOPE { 0 } else { w.scope + 1 });
            put_varint(out, w.count);
        }
    }
}

/// The words [`pack_words`] wrote; `None` for bytes it could not have written.
fn unpack_words(mut bytes: &[u8]) -> Option<Vec<Word>> {
    let mut words = Vec::with_capacity(bytes.len() / 6);
    while let Some((hash, rest)) = bytes.split_first_chunk::<8>() {
        bytes = rest;
        let hash = u64::from_le_bytes(*hash);
        let n = take_varint(&mut bytes)?;
        if n == 0 {
            return None;
        }
        for _ in 0..n {
            let scope = match take_varint(&mut bytes)? {
                0 => NO_SCOPE,
                s => s - 1,
            };
            let count = take_varint(&mut bytes)?;
            words.push(Word { hash, scope, count });
        }
    }
    bytes.is_empty().then_some(words)
}

/// LEB128: seven bits a byte, low bits first.
fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for shift in (0..35).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u32::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            // A fifth byte may carry only the top four bits.
            return (shift < 28 || b < 0x10).then_some(v);
        }
    }
    None
}

/// The file back from its stored form, stamped with what the stat said; `None` for a
/// blob of another version, one that does not decode, or tags the map could trip on.
pub(crate) fn decode(bytes: &[u8], stamp: Stamp) -> Option<Extracted> {
    let (&version, body) = bytes.split_first()?;
    if version != TAGS_VERSION {
        return None;
    }
    let (len, body) = body.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    let (head, words) = (body.get(..len)?, body.get(len..)?);
    let head: StoredHead = rmp_serde::from_slice(head).ok()?;
    let stored = StoredTags {
        skipped: head.skipped,
        defs: head.defs,
        words: unpack_words(words)?,
    };
    if !is_consistent(&stored) {
        return None;
    }
    Some(Extracted {
        tags: FileTags {
            stamp,
            skipped: stored.skipped,
            defs: stored.defs,
            refs: Vec::new(),
            unresolved: Vec::new(),
        },
        words: stored.words,
        parsed: false,
        content_hash: None,
    })
}

/// The invariants the map relies on, so a damaged blob is a miss and never a hang or a
/// panic: parents come before their children (the outline walks up parents, so a cycle
/// would never end), each definition's hash is its name's (an `impl` has none), scopes
/// point at definitions, and words are sorted and distinct with counts above zero
/// (binary searches rely on it). A skipped file has no tags.
fn is_consistent(stored: &StoredTags) -> bool {
    if stored.skipped.is_some() && !(stored.defs.is_empty() && stored.words.is_empty()) {
        return false;
    }
    let defs_ok = stored.defs.iter().enumerate().all(|(i, d)| {
        let expected = (d.kind != SymbolKind::Impl).then(|| tags::name_hash(d.name.as_bytes()));
        d.parent.is_none_or(|p| (p as usize) < i) && d.hash == expected
    });
    let n = stored.defs.len();
    let words_ok = stored
        .words
        .iter()
        .all(|w| w.count > 0 && (w.scope == NO_SCOPE || (w.scope as usize) < n))
        && stored
            .words
            .windows(2)
            .all(|p| (p[0].hash, p[0].scope) < (p[1].hash, p[1].scope));
    defs_ok && words_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            len: 10,
            mtime: Some(SystemTime::UNIX_EPOCH),
        }
    }

    fn sample() -> Extracted {
        let def = |name: &str, parent| Def {
            name: name.into(),
            hash: Some(tags::name_hash(name.as_bytes())),
            kind: SymbolKind::Function,
            line: 3,
            parent,
            signature: format!("fn {name}()").into(),
        };
        Extracted {
            tags: FileTags {
                stamp: stamp(),
                skipped: None,
                defs: vec![def("outer", None), def("inner", Some(0))],
                refs: Vec::new(),
                unresolved: Vec::new(),
            },
            words: vec![
                Word {
                    hash: 1,
                    scope: 0,
                    count: 2,
                },
                Word {
                    hash: 1,
                    scope: NO_SCOPE,
                    count: 1,
                },
            ],
            parsed: true,
            content_hash: Some("h".into()),
        }
    }

    #[test]
    fn tags_round_trip() {
        let found = sample();
        let bytes = encode(&found).expect("encodes");
        let back = decode(&bytes, stamp()).expect("decodes");
        assert_eq!(back.tags.defs, found.tags.defs);
        assert_eq!(back.words, found.words);
        assert!(!back.parsed, "loaded, not parsed");
    }

    #[test]
    fn varints_and_packed_words_round_trip() {
        for v in [0, 1, 127, 128, 300, 1 << 21, u32::MAX - 1, u32::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut bytes = &out[..];
            assert_eq!(take_varint(&mut bytes), Some(v));
            assert!(bytes.is_empty());
        }
        // Six bytes, or a fifth byte with more than four bits, overflow a u32.
        assert_eq!(take_varint(&mut &[0xff, 0xff, 0xff, 0xff, 0x1f][..]), None);
        assert_eq!(
            take_varint(&mut &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01][..]),
            None
        );
        assert_eq!(take_varint(&mut &[0x80][..]), None);
        let words = sample().words;
        let mut out = Vec::new();
        pack_words(&words, &mut out);
        assert_eq!(out.len(), 8 + 1 + 2 + 2, "one hash, two scopes");
        assert_eq!(unpack_words(&out), Some(words));
        assert_eq!(unpack_words(&out[..out.len() - 1]), None);
    }

    #[test]
    fn damaged_or_foreign_blobs_are_misses() {
        let bytes = encode(&sample()).expect("encodes");
        assert!(decode(&[], stamp()).is_none());
        assert!(decode(&bytes[..bytes.len() / 2], stamp()).is_none());
        let mut other = bytes.clone();
        other[0] = TAGS_VERSION.wrapping_add(1);
        assert!(decode(&other, stamp()).is_none(), "another version");
        // Tags that decode but would send the outline round a cycle.
        let mut cyclic = sample();
        cyclic.tags.defs[0].parent = Some(1);
        let bytes = encode(&cyclic).expect("encodes");
        assert!(decode(&bytes, stamp()).is_none());
        let mut unsorted = sample();
        unsorted.words.reverse();
        let bytes = encode(&unsorted).expect("encodes");
        assert!(decode(&bytes, stamp()).is_none());
        let mut renamed = sample();
        renamed.tags.defs[1].name = "other".into();
        let bytes = encode(&renamed).expect("encodes");
        assert!(decode(&bytes, stamp()).is_none(), "hash of another name");
    }

    #[test]
    fn recent_or_timeless_files_are_not_stored() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |secs_ago| Stamp {
            len: 1,
            mtime: Some(now - Duration::from_secs(secs_ago)),
        };
        assert!(storable(PathBuf::from("/a"), at(60), now).is_some());
        assert!(storable(PathBuf::from("/a"), at(0), now).is_none());
        let future = Stamp {
            len: 1,
            mtime: Some(now + Duration::from_secs(60)),
        };
        assert!(storable(PathBuf::from("/a"), future, now).is_none());
        let timeless = Stamp {
            len: 1,
            mtime: None,
        };
        assert!(storable(PathBuf::from("/a"), timeless, now).is_none());
    }

    #[test]
    fn the_kind_names_the_version() {
        assert!(tags_kind().starts_with(&format!("repomap-tags-v{TAGS_VERSION}-")));
    }
}
