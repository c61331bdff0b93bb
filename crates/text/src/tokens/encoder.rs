//! One tiktoken encoding: a pre-tokenizer and a [`BytePairEncoding`] over its pieces.
//!
//! The pre-tokenizer is GitHub `rust-gems`' `bpe-openai` 0.3.2 (MIT), kept as it is: tiktoken's
//! `\s+(?!\S)` look-ahead is rewritten as a second pattern `\s+\s` whose last character is
//! dropped from the match, so one DFA over three patterns replaces `fancy-regex`'s
//! backtracking. Only its dictionaries are not taken over (they are built from the rank
//! files and cached on disk, see [`super::cache`]).

use bpe::byte_pair_encoding::BytePairEncoding;
use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

use super::Encoding;

/// A ready encoder for one [`Encoding`]: exactly tiktoken's `encode_ordinary`.
pub struct Encoder {
    /// The byte-pair encoding of one pre-token piece.
    pub(crate) bpe: BytePairEncoding,
    pattern: Regex,
    /// For each pattern of `pattern`, whether its last character is a look-ahead to drop.
    lookahead: &'static [bool],
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("tokens", &self.bpe.num_tokens())
            .finish_non_exhaustive()
    }
}

/// `cl100k_base`'s pattern, look-ahead rewritten (see the module docs).
const CL100K_PATTERN: &str = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+$";

/// `o200k_base`'s pattern, look-ahead rewritten.
const O200K_PATTERN: &str = concat!(
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    "|\\p{N}{1,3}",
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
    "|\\s*[\\r\\n]+",
    "|\\s+$",
);

/// The look-ahead pattern (its last character is dropped) and the plain whitespace run.
const LOOKAHEAD_PATTERN: &str = "\\s+\\s";
const WHITESPACE_PATTERN: &str = "\\s+";

impl Encoder {
    /// The encoder for `encoding` over `bpe`, its dictionary.
    pub(crate) fn new(encoding: Encoding, bpe: BytePairEncoding) -> Self {
        let main = match encoding {
            Encoding::Cl100kBase => CL100K_PATTERN,
            Encoding::O200kBase => O200K_PATTERN,
        };
        // The patterns are constants, checked by every test that encodes.
        let pattern = Regex::new_many(&[main, LOOKAHEAD_PATTERN, WHITESPACE_PATTERN])
            .expect("the pre-tokenizer patterns are valid");
        Self {
            bpe,
            pattern,
            lookahead: &[false, true, false],
        }
    }

    /// Number of tokens in `text`.
    pub fn count(&self, text: &str) -> usize {
        self.split(text)
            .map(|piece| self.bpe.count(piece.as_bytes()))
            .sum()
    }

    /// `Some(count)` when `text` has at most `limit` tokens, else `None`; stops early.
    pub fn count_till_limit(&self, text: &str, limit: usize) -> Option<usize> {
        self.split(text).try_fold(0, |used, piece| {
            self.bpe
                .count_till_limit(piece.as_bytes(), limit - used)
                .map(|n| used + n)
        })
    }

    /// Token ids of `text`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.split(text)
            .flat_map(|piece| self.bpe.encode_via_backtracking(piece.as_bytes()))
            .collect()
    }

    /// The pre-token pieces of `text`, in order; they concatenate to `text`.
    pub fn split<'a>(&'a self, text: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        Splits {
            encoder: self,
            text,
            last: 0,
        }
    }

    /// Number of tokens in the vocabulary.
    pub fn num_tokens(&self) -> usize {
        self.bpe.num_tokens()
    }
}

/// The pieces of a text: anchored matches one after the other, a look-ahead pattern's last
/// character given back to the next piece.
struct Splits<'a> {
    encoder: &'a Encoder,
    text: &'a str,
    last: usize,
}

impl<'a> Iterator for Splits<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let input = Input::new(&self.text[self.last..]).anchored(Anchored::Yes);
        let m = self.encoder.pattern.find(input)?;
        let start = self.last;
        let mut end = start + m.range().end;
        if self.encoder.lookahead[m.pattern().as_usize()] {
            // `\s+\s` matched at least two characters: drop the last one.
            let last = self.text[start..end]
                .chars()
                .next_back()
                .map_or(0, char::len_utf8);
            end -= last;
        }
        debug_assert!(end > start, "no pattern matches an empty piece");
        if end == start {
            return None;
        }
        self.last = end;
        Some(&self.text[start..end])
    }
}
