//! Identifier-aware tokenisation for the full-text index and the hashing embedder.
//!
//! Code names things `parse_config`, `ParseConfig`, `parseConfig` or `PARSE_CONFIG`, and
//! people ask for "parse config". So every identifier becomes its parts (split at `_`,
//! `-`-free word runs, lower→upper case changes and acronym ends: `HTTPServer` → `http`,
//! `server`), the whole identifier in lower case (`parse_config`), and the parts joined
//! (`parseconfig`), which is what `ParseConfig` and `parseConfig` lower-case to. A query is
//! tokenised the same way, so each spelling finds the others.
//!
//! The full-text index stores these terms (SQLite FTS5 with the `unicode61` tokenizer and
//! `_` as a token character, so `parse_config` stays one term there too).

/// Words too common in questions to say anything about code; dropped from queries only.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "if", "in", "into", "is", "it", "of", "on", "or", "the", "this", "to", "what", "when",
    "where", "which", "who", "why", "with",
];

/// The terms of `text`, in order, repeats kept (counts matter to the hashing embedder).
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in words(text) {
        push_word(word, &mut out);
    }
    out
}

/// The terms of `text` as one space-separated string, as stored in the full-text index.
pub fn fts_text(text: &str) -> String {
    terms(text).join(" ")
}

/// The distinct terms of a query, stop words dropped unless nothing else is left.
pub fn query_terms(query: &str) -> Vec<String> {
    let all = terms(query);
    let mut kept: Vec<&String> = all
        .iter()
        .filter(|t| !STOP_WORDS.contains(&t.as_str()))
        .collect();
    if kept.is_empty() {
        kept = all.iter().collect();
    }
    let mut seen = std::collections::HashSet::new();
    kept.into_iter()
        .filter(|t| seen.insert(t.as_str()))
        .map(|t| t.replace('"', ""))
        .collect()
}

/// An FTS5 `MATCH` expression for a query: its [`query_terms`], each quoted, joined with
/// `OR` so BM25 ranks chunks by how many and how rare the terms they hold are. `None`
/// when the query has no terms at all.
pub fn fts_query(query: &str) -> Option<String> {
    match_expression(&query_terms(query))
}

/// Quoted terms joined with `OR`; `None` for no terms.
pub fn match_expression(terms: &[String]) -> Option<String> {
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    (!quoted.is_empty()).then(|| quoted.join(" OR "))
}

/// Chooses the terms worth asking the full-text index for. BM25 scores every chunk that
/// holds any term, so a term found in tens of thousands of chunks costs most of a query's
/// time while its low IDF adds little to the ranking. Terms are kept rarest first while
/// their chunk counts add up to at most `budget`, and always the two rarest that occur
/// at all; in a small index nothing is dropped.
pub fn prune_terms(terms: Vec<String>, counts: &[u64], budget: u64) -> Vec<String> {
    let mut ranked: Vec<(u64, String)> = counts
        .iter()
        .copied()
        .zip(terms)
        .filter(|(n, _)| *n > 0)
        .collect();
    ranked.sort_by_key(|(n, _)| *n);
    let mut total = 0;
    let mut out = Vec::new();
    for (i, (n, term)) in ranked.into_iter().enumerate() {
        if i >= 2 && total + n > budget {
            break;
        }
        total += n;
        out.push(term);
    }
    out
}

/// Maximal runs of letters, digits and `_`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

fn push_word(word: &str, out: &mut Vec<String>) {
    let parts = split_identifier(word);
    let whole = word.trim_matches('_').to_lowercase();
    if whole.is_empty() {
        return;
    }
    if parts.len() <= 1 {
        if whole.chars().count() > 1 || whole.chars().all(|c| c.is_ascii_digit()) {
            out.push(whole);
        }
        return;
    }
    let joined: String = parts.concat();
    out.push(whole.clone());
    if joined != whole {
        out.push(joined);
    }
    for part in parts {
        if part.chars().count() > 1 {
            out.push(part);
        }
    }
}

/// Splits an identifier into lower-case parts: at `_`, at a lower-case letter or digit
/// followed by an upper-case one (`parseConfig`), and before the last capital of an
/// acronym followed by a lower-case letter (`HTTPServer` → `http`, `server`).
pub fn split_identifier(word: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for piece in word.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = piece.chars().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (prev, cur) = (chars[i - 1], chars[i]);
            let next_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            let boundary = (cur.is_uppercase() && (prev.is_lowercase() || prev.is_ascii_digit()))
                || (cur.is_uppercase() && prev.is_uppercase() && next_lower);
            if boundary {
                parts.push(chars[start..i].iter().collect::<String>().to_lowercase());
                start = i;
            }
        }
        parts.push(chars[start..].iter().collect::<String>().to_lowercase());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_and_kept_whole() {
        assert_eq!(split_identifier("HTTPServer"), ["http", "server"]);
        assert_eq!(
            split_identifier("parseConfig2Json"),
            ["parse", "config2", "json"]
        );
        assert_eq!(
            terms("parse_config"),
            ["parse_config", "parseconfig", "parse", "config"]
        );
        assert_eq!(terms("ParseConfig"), ["parseconfig", "parse", "config"]);
        assert_eq!(terms("x = 1"), ["1"]);
    }

    #[test]
    fn frequent_terms_are_pruned_past_the_budget() {
        let terms: Vec<String> = ["lock", "spin", "irq", "nowhere"]
            .map(String::from)
            .to_vec();
        let counts = [50_000, 900, 4_000, 0];
        assert_eq!(prune_terms(terms.clone(), &counts, 10_000), ["spin", "irq"]);
        assert_eq!(
            prune_terms(terms, &counts, 100_000),
            ["spin", "irq", "lock"]
        );
    }

    #[test]
    fn queries_drop_stop_words_and_repeats() {
        assert_eq!(
            fts_query("how do I parse the config? parse!").as_deref(),
            Some("\"parse\" OR \"config\"")
        );
        assert_eq!(fts_query("the").as_deref(), Some("\"the\""));
        assert_eq!(fts_query("  ?! "), None);
    }
}
