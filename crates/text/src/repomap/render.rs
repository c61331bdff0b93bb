//! The map as text: the best definitions grouped by file, as many as fit a budget.

use std::fmt::Write as _;

use super::{Focus, RepoMap};
use crate::tokens::Encoding;

/// The encoding budgets are counted in. Exact for OpenAI's GPT-4 family and within a few
/// per cent of the others on code; the map is a small part of a prompt, so one encoding
/// for every model keeps the map the same whichever model reads it.
pub const MAP_ENCODING: Encoding = Encoding::Cl100kBase;

impl RepoMap {
    /// The map for `focus` in at most `token_budget` tokens (`cl100k_base`).
    ///
    /// Each file that has a chosen definition appears once — the focus's files first,
    /// then in the order of their best definition — as its path followed by one line per definition: the line number and
    /// the signature, indented under its enclosing definitions (shown for context even
    /// when they were not chosen themselves):
    ///
    /// ```text
    /// src/parser.rs:
    ///   12: pub struct Parser
    ///   30: impl Parser
    ///   31:   pub fn parse(&mut self, input: &str) -> Result<Ast>
    /// ```
    ///
    /// How many definitions fit is found by binary search on the count, each candidate
    /// rendered and counted exactly; the text only grows with the count, so the search
    /// finds the largest map within the budget. Empty when not even one definition fits.
    pub fn render(&self, focus: &Focus, token_budget: usize) -> String {
        if token_budget == 0 {
            return String::new();
        }
        // Every definition costs more than one token, so no more than this can fit.
        let ranking = self.rank(focus, Some(token_budget));
        let defs = &ranking.defs;
        let fits = |n: usize| {
            let text = self.outline(&defs[..n], &ranking.focus);
            MAP_ENCODING
                .count_up_to(&text, token_budget)
                .is_some()
                .then_some(text)
        };
        let (mut lo, mut hi) = (0usize, defs.len());
        let mut best = String::new();
        if let Some(all) = fits(hi) {
            return all;
        }
        // Invariant: `lo` fits (its text is `best`), `hi` does not.
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match fits(mid) {
                Some(text) => {
                    lo = mid;
                    best = text;
                }
                None => hi = mid,
            }
        }
        best
    }

    /// The outline of the chosen definitions `(rank, file, definition)`; files in
    /// `focus` (sorted) first.
    fn outline(&self, chosen: &[(f64, u32, u32)], focus: &[u32]) -> String {
        // Files in order of their best definition; each file's definitions in source
        // order, with the enclosing definitions they need.
        let mut order: Vec<u32> = Vec::new();
        let mut picked: Vec<(u32, u32)> = Vec::with_capacity(chosen.len());
        for &(_, file, def) in chosen {
            if !order.contains(&file) {
                order.push(file);
            }
            picked.push((file, def));
        }
        picked.sort_unstable();
        order.sort_by_key(|f| focus.binary_search(f).is_err());
        let mut out = String::new();
        for file in order {
            let Some(tags) = self.files[file as usize].as_ref() else {
                continue;
            };
            let from = picked.partition_point(|p| p.0 < file);
            let to = picked.partition_point(|p| p.0 <= file);
            let mut shown: Vec<u32> = Vec::new();
            for &(_, def) in &picked[from..to] {
                let mut d = Some(def);
                while let Some(i) = d {
                    shown.push(i);
                    d = tags.defs.get(i as usize).and_then(|x| x.parent);
                }
            }
            shown.sort_unstable();
            shown.dedup();
            let _ = writeln!(out, "{}:", self.paths[file as usize].display());
            for i in shown {
                let Some(def) = tags.defs.get(i as usize) else {
                    continue;
                };
                let mut depth = 0;
                let mut p = def.parent;
                while let Some(j) = p {
                    depth += 1;
                    p = tags.defs.get(j as usize).and_then(|x| x.parent);
                }
                let _ = writeln!(
                    out,
                    "  {}: {:indent$}{}",
                    def.line,
                    "",
                    def.signature,
                    indent = depth * 2
                );
            }
        }
        out
    }
}
