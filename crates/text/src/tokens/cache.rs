//! The encoders' dictionaries: built from tiktoken's rank files at first use, then cached
//! on disk in their built form.
//!
//! # Why
//! A [`BytePairEncoding`] holds three Aho-Corasick automata, a merge table and hash maps:
//! 15 MB (`cl100k_base`) and 32 MB (`o200k_base`) serialised. `bpe-openai` embeds both in the
//! binary, which made them half of it. The rank files they are built from are 0.8 MB and
//! 1.7 MB gzipped (`crates/text/data`), but building takes 0.3–0.6 s and 0.9–1.4 s on the
//! two-core development machine (several seconds when it is busy), so the built form is
//! kept in `$XDG_CACHE_HOME/cuervo/bpe` (else `~/.cache/cuervo/bpe`): the first use on a
//! machine builds, every later process loads the file (35 ms and 64 ms for the first use in
//! a process, against 29 ms and 58 ms to deserialise the embedded tables before; see
//! `docs/benchmarks.md`).
//!
//! # The cache file
//! `MAGIC`, a 32-byte key, the payload's length and its CRC-32, then the payload (the
//! `rmp-serde` form of the [`BytePairEncoding`]). The key is a SHA-256 over the rank file
//! and the serialised form of a small dictionary built the same way, so a file written by a
//! build whose `bpe`, automaton or MessagePack serialisation differs is never read as ours;
//! the key's start is also in the file name, so two builds sharing a cache do not evict each
//! other. A file whose magic, key, length or checksum is wrong, which does not deserialise, or
//! whose encoder does not encode a known text to its known ids is rebuilt and replaced,
//! never trusted (the automata are deserialised without checks, so a corrupt payload must
//! not get that far). Files are written to a unique temporary name in the same directory and
//! renamed into place, so processes building at the same time each publish a whole file and
//! a reader never sees a partial one; a temporary file left by a writer that died is removed
//! by a later writer once it is ten minutes old. When the directory cannot be created or written, the
//! encoder is built in memory for this process only.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use bpe::byte_pair_encoding::BytePairEncoding;
use sha2::{Digest, Sha256};

use super::Encoding;
use super::encoder::Encoder;

/// The hash factor `bpe-openai` uses for both dictionaries (no collisions among their tokens).
const HASH_FACTOR: u64 = 17_846_336_922_010_275_747;

/// tiktoken's rank files, gzipped as OpenAI publishes them (see `crates/text/data/README.md`).
const CL100K_RANKS: &[u8] = include_bytes!("../../data/cl100k_base.tiktoken.gz");
const O200K_RANKS: &[u8] = include_bytes!("../../data/o200k_base.tiktoken.gz");

/// The first bytes of a cache file; the last one is this format's version.
const MAGIC: &[u8; 8] = b"CVBPE\0\0\x01";
const KEY_LEN: usize = 32;
/// Magic, key, payload length (u64 LE), payload CRC-32 (u32 LE).
const HEADER_LEN: usize = MAGIC.len() + KEY_LEN + 8 + 4;
/// No valid cache file is this large (`o200k_base`'s is 32 MB): anything bigger is not read.
const MAX_FILE_LEN: u64 = 256 << 20;
/// A temporary file this old belongs to a writer that died; the next writer removes it.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(600);

/// Where an encoder came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Loaded from a valid cache file.
    Cache,
    /// Built from the rank file, and the cache file written.
    Built,
    /// Built from the rank file; no cache directory, or it could not be written.
    BuiltUncached,
}

/// `$XDG_CACHE_HOME/cuervo/bpe` (an absolute `XDG_CACHE_HOME` only, as the XDG spec says),
/// else `$HOME/.cache/cuervo/bpe`; `None` when neither is set.
pub fn default_cache_dir() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = set("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("cuervo").join("bpe"))
}

impl Encoding {
    fn ranks(self) -> &'static [u8] {
        match self {
            Encoding::Cl100kBase => CL100K_RANKS,
            Encoding::O200kBase => O200K_RANKS,
        }
    }

    fn vocabulary_size(self) -> usize {
        match self {
            Encoding::Cl100kBase => 100_256,
            Encoding::O200kBase => 199_998,
        }
    }

    /// `"hello world"`'s ids, to check a loaded encoder with.
    fn hello_world(self) -> [u32; 2] {
        match self {
            Encoding::Cl100kBase => [15339, 1917],
            Encoding::O200kBase => [24912, 2375],
        }
    }

    /// The encoder, from the cache in `cache_dir` when it holds a valid one, else built from
    /// the rank file (and cached there when `cache_dir` is given and writable). The shared
    /// encoders behind [`Encoding::count`] and the rest come from here with
    /// [`default_cache_dir`]; this is for tests, benchmarks and callers that keep their own.
    pub fn load_encoder(self, cache_dir: Option<&Path>) -> (Encoder, Origin) {
        let Some(dir) = cache_dir else {
            return (Encoder::new(self, build(self)), Origin::BuiltUncached);
        };
        let key = cache_key(self);
        let path = cache_path(dir, self, &key);
        if let Some(encoder) = read_cached(self, &path, &key) {
            return (encoder, Origin::Cache);
        }
        let bpe = build(self);
        let origin = match write_cached(dir, &path, &key, &bpe) {
            Ok(()) => Origin::Built,
            Err(_) => Origin::BuiltUncached,
        };
        (Encoder::new(self, bpe), origin)
    }
}

/// The cache file of `encoding` for `key`.
pub fn cache_path(dir: &Path, encoding: Encoding, key: &[u8; KEY_LEN]) -> PathBuf {
    let short: String = key[..8].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{}-{short}.bpe", encoding.name()))
}

/// Identifies what a cache file for `encoding` must hold: the rank file, and how this build
/// serialises a dictionary (see the module docs).
pub fn cache_key(encoding: Encoding) -> [u8; KEY_LEN] {
    // A tiny dictionary: every byte, then merges built on them.
    let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    tokens.extend([&b"th"[..], b"the", b"in", b"ing"].map(<[u8]>::to_vec));
    let probe = BytePairEncoding::from_dictionary(tokens, Some(HASH_FACTOR));
    let mut hash = Sha256::new();
    hash.update(MAGIC);
    hash.update(rmp_serde::to_vec(&probe).unwrap_or_default());
    hash.update(encoding.name());
    hash.update(encoding.ranks());
    hash.finalize().into()
}

/// Builds the dictionary from the embedded rank file (about a second).
fn build(encoding: Encoding) -> BytePairEncoding {
    let tokens = read_ranks(encoding.ranks(), encoding.vocabulary_size());
    BytePairEncoding::from_dictionary(tokens, Some(HASH_FACTOR))
}

/// The tokens of a gzipped tiktoken rank file (`base64 rank` per line, ranks 0, 1, 2…), in
/// rank order. The files are compiled in and checked by the tests, so a bad one is a broken
/// build: it panics.
fn read_ranks(gz: &[u8], expected: usize) -> Vec<Vec<u8>> {
    let mut text = String::with_capacity(gz.len() * 3);
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .expect("the embedded rank file is valid gzip");
    let mut tokens = Vec::with_capacity(expected);
    for (i, line) in text.lines().filter(|l| !l.is_empty()).enumerate() {
        let (token, rank) = line
            .split_once(' ')
            .expect("a rank file line is `base64 rank`");
        assert_eq!(rank.parse::<usize>().ok(), Some(i), "ranks are 0, 1, 2…");
        tokens.push(
            base64::engine::general_purpose::STANDARD
                .decode(token)
                .expect("a rank file token is base64"),
        );
    }
    assert_eq!(tokens.len(), expected, "the whole vocabulary");
    tokens
}

/// The encoder in the cache file at `path`, if the file is there and valid.
fn read_cached(encoding: Encoding, path: &Path, key: &[u8; KEY_LEN]) -> Option<Encoder> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    if len > MAX_FILE_LEN {
        return None;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).ok()?);
    file.read_to_end(&mut bytes).ok()?;
    let payload = payload(&bytes, key)?;
    let bpe: BytePairEncoding = rmp_serde::from_slice(payload).ok()?;
    if bpe.num_tokens() != encoding.vocabulary_size() {
        return None;
    }
    let encoder = Encoder::new(encoding, bpe);
    (encoder.encode("hello world") == encoding.hello_world()).then_some(encoder)
}

/// A cache file's bytes: header, then `payload`.
pub fn file_bytes(key: &[u8; KEY_LEN], payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// The payload of a cache file's `bytes`, when magic, key, length and checksum are right.
pub fn payload<'a>(bytes: &'a [u8], key: &[u8; KEY_LEN]) -> Option<&'a [u8]> {
    let (header, payload) = bytes.split_at_checked(HEADER_LEN)?;
    let (magic, rest) = header.split_at(MAGIC.len());
    let (file_key, rest) = rest.split_at(KEY_LEN);
    let (len, crc) = rest.split_at(8);
    let len = u64::from_le_bytes(len.try_into().ok()?);
    let crc = u32::from_le_bytes(crc.try_into().ok()?);
    (magic == MAGIC
        && file_key == key
        && len == payload.len() as u64
        && crc == crc32fast::hash(payload))
    .then_some(payload)
}

/// Writes the cache file: to a unique temporary file beside it, then renamed into place.
fn write_cached(
    dir: &Path,
    path: &Path,
    key: &[u8; KEY_LEN],
    bpe: &BytePairEncoding,
) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir)?;
    let payload = rmp_serde::to_vec(bpe).map_err(io::Error::other)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    remove_stale_temporaries(dir, &name);
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| file.write_all(&file_bytes(key, &payload)))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes the temporary files of writers of `name` that died before renaming theirs
/// (older than [`STALE_TMP`]; a live writer's is seconds old).
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE_TMP);
        if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") && stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_file_reads_back_only_whole_and_with_its_key() {
        let key = [7u8; KEY_LEN];
        let payload: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let bytes = file_bytes(&key, &payload);
        assert_eq!(super::payload(&bytes, &key), Some(&payload[..]));
        // Another key (another rank file or serialisation): not ours.
        assert_eq!(super::payload(&bytes, &[8u8; KEY_LEN]), None);
        // Truncated anywhere, or grown.
        for len in [0, 1, HEADER_LEN - 1, HEADER_LEN, bytes.len() - 1] {
            assert_eq!(super::payload(&bytes[..len], &key), None, "cut at {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(super::payload(&longer, &key), None);
        // One flipped bit, in the header or the payload.
        for at in [
            0,
            9,
            MAGIC.len() + KEY_LEN + 2,
            HEADER_LEN + 500,
            bytes.len() - 1,
        ] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert_eq!(super::payload(&flipped, &key), None, "bit flipped at {at}");
        }
    }

    #[test]
    fn the_key_names_the_encoding_and_is_stable() {
        let cl = cache_key(Encoding::Cl100kBase);
        assert_eq!(cl, cache_key(Encoding::Cl100kBase));
        assert_ne!(cl, cache_key(Encoding::O200kBase));
        let path = cache_path(Path::new("/c"), Encoding::Cl100kBase, &cl);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        assert!(
            name.starts_with("cl100k_base-") && name.ends_with(".bpe"),
            "{name}"
        );
    }

    #[test]
    fn the_rank_files_hold_the_whole_vocabularies() {
        for encoding in Encoding::ALL {
            let tokens = read_ranks(encoding.ranks(), encoding.vocabulary_size());
            assert_eq!(tokens.len(), encoding.vocabulary_size());
            // Ranks 0..256 are the single bytes, every one of them.
            let mut bytes: Vec<u8> = tokens[..256].iter().map(|t| t[0]).collect();
            bytes.sort_unstable();
            assert_eq!(bytes, (0..=255).collect::<Vec<u8>>());
        }
    }
}
