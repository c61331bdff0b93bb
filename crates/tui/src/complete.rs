//! Completion for the prompt: `/command` names and `@path` mentions, ranked by a fuzzy
//! matcher that favours what people type when they abbreviate a path (the file name,
//! the starts of path segments, runs of consecutive letters).
//!
//! The project's file list comes from a background walk ([`FileIndex`]) so typing `@` in a
//! big repository never blocks a keystroke.

use std::cmp::Ordering;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cuervo_text::scan::{self, WalkOptions};

/// Files indexed at most; beyond that a mention has to be typed out.
pub const MAX_FILES: usize = 100_000;

/// The project's files, relative to its root with `/` separators, listed on a background
/// thread so the UI can ask for them without waiting.
#[derive(Debug, Clone)]
pub struct FileIndex {
    slot: Arc<OnceLock<Arc<Vec<String>>>>,
}

impl FileIndex {
    /// Starts listing `root` (honouring `.gitignore` and friends, skipping hidden files)
    /// on a new thread.
    pub fn spawn(root: PathBuf) -> FileIndex {
        let slot: Arc<OnceLock<Arc<Vec<String>>>> = Arc::new(OnceLock::new());
        let filled = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("cuervo-file-index".into())
            .spawn(move || {
                let _ = filled.set(Arc::new(list_files(&root)));
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the file index thread");
            let _ = slot.set(Arc::new(Vec::new()));
        }
        FileIndex { slot }
    }

    /// An index over a known list (tests, or a caller that already walked).
    pub fn from_files(files: Vec<String>) -> FileIndex {
        let slot = OnceLock::new();
        let _ = slot.set(Arc::new(files));
        FileIndex {
            slot: Arc::new(slot),
        }
    }

    /// The files, sorted; `None` while the walk is still running.
    pub fn files(&self) -> Option<Arc<Vec<String>>> {
        self.slot.get().cloned()
    }

    /// Whether the walk has finished.
    pub fn is_ready(&self) -> bool {
        self.slot.get().is_some()
    }

    /// Blocks until the walk finishes or `timeout` passes, for callers that cannot go on
    /// without the list (tests, one-shot tools).
    pub fn wait(&self, timeout: Duration) -> Option<Arc<Vec<String>>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(files) = self.files() {
                return Some(files);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn list_files(root: &Path) -> Vec<String> {
    let opts = WalkOptions::new(root).max_results(Some(MAX_FILES));
    let paths = match scan::files(&opts) {
        Ok((paths, _summary)) => paths,
        Err(e) => {
            tracing::warn!(root = %root.display(), error = %e, "could not list the project's files");
            return Vec::new();
        }
    };
    let mut files: Vec<String> = paths
        .iter()
        .filter_map(|p| relative_slash_path(root, p))
        .collect();
    files.sort_unstable();
    files
}

/// `p` below `root` as `a/b/c`; `None` for paths that are not UTF-8 (they cannot be typed
/// back reliably).
fn relative_slash_path(root: &Path, p: &Path) -> Option<String> {
    let rel = p.strip_prefix(root).unwrap_or(p);
    let mut out = String::new();
    for comp in rel.components() {
        match comp {
            Component::Normal(name) => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(name.to_str()?);
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

// Scores for the fuzzy matcher. A matched character is worth `MATCH`; where it falls adds
// a bonus; gaps between matched characters cost a little.
const MATCH: i64 = 16;
const BONUS_AFTER_SLASH: i64 = 10;
const BONUS_SEGMENT: i64 = 8;
const BONUS_CAMEL: i64 = 7;
const BONUS_FILE_NAME: i64 = 4;
const BONUS_CONSECUTIVE: i64 = 6;
const GAP_OPEN: i64 = 3;
const GAP_EXTEND: i64 = 1;

/// Scores `candidate` for `query`: `None` unless the query's characters appear in it in
/// order. Case-insensitive unless the query has an upper-case letter (smart case);
/// spaces in the query are ignored. Higher is better.
pub fn fuzzy_match(query: &str, candidate: &str) -> Option<i64> {
    let case_sensitive = query.chars().any(char::is_uppercase);
    let fold = |c: char| {
        if case_sensitive {
            c
        } else {
            c.to_lowercase().next().unwrap_or(c)
        }
    };
    let query: Vec<char> = query
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(fold)
        .collect();
    let length_penalty = (candidate.chars().count() as i64) / 4;
    if query.is_empty() {
        return Some(-length_penalty);
    }
    // Quick rejection before any allocation for the candidate.
    let mut want = query.iter().peekable();
    for c in candidate.chars() {
        if want.peek().is_some_and(|&&q| q == fold(c)) {
            want.next();
        }
    }
    if want.peek().is_some() {
        return None;
    }

    let chars: Vec<char> = candidate.chars().collect();
    let name_start = chars.iter().rposition(|&c| c == '/').map_or(0, |i| i + 1);
    let bonus: Vec<i64> = (0..chars.len())
        .map(|j| {
            let cur = chars[j];
            let mut b = match j.checked_sub(1).map(|p| chars[p]) {
                None | Some('/') => BONUS_AFTER_SLASH,
                Some('_' | '-' | '.' | ' ' | '\\' | ':') => BONUS_SEGMENT,
                Some(prev) if prev.is_lowercase() && cur.is_uppercase() => BONUS_CAMEL,
                Some(prev) if !prev.is_alphanumeric() && cur.is_alphanumeric() => BONUS_SEGMENT,
                _ => 0,
            };
            if j >= name_start {
                b += BONUS_FILE_NAME;
            }
            b
        })
        .collect();

    // matched[j]: best score with the current query character at j. `reach`: the best
    // score of the previous query character at some k < j, less an affine penalty for
    // the gap it leaves (consecutive matches take the bonus instead).
    const NONE: i64 = i64::MIN / 4;
    let valid = |s: i64| s > NONE / 2;
    let n = chars.len();
    let mut matched = vec![NONE; n];
    let mut prev_matched = vec![NONE; n];
    for (i, &q) in query.iter().enumerate() {
        std::mem::swap(&mut matched, &mut prev_matched);
        let mut reach = NONE;
        for j in 0..n {
            matched[j] = if fold(chars[j]) != q {
                NONE
            } else if i == 0 {
                MATCH + bonus[j]
            } else if j == 0 {
                NONE
            } else {
                let best = (prev_matched[j - 1] + BONUS_CONSECUTIVE).max(reach);
                if valid(best) {
                    best + MATCH + bonus[j]
                } else {
                    NONE
                }
            };
            if i > 0 {
                let open = if valid(prev_matched[j]) {
                    prev_matched[j] - GAP_OPEN
                } else {
                    NONE
                };
                reach = (reach - GAP_EXTEND).max(open);
            }
        }
    }
    let best = matched.iter().copied().max().unwrap_or(NONE);
    valid(best).then_some(best - length_penalty)
}

/// The `limit` best matches for `query`, best first (ties: shorter, then alphabetical).
/// An empty query lists the shortest candidates first.
pub fn rank<'a, I, S>(query: &str, candidates: I, limit: usize) -> Vec<(i64, &'a str)>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    let mut found: Vec<(i64, &'a str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let c = c.as_ref();
            fuzzy_match(query, c).map(|s| (s, c))
        })
        .collect();
    let order = |a: &(i64, &str), b: &(i64, &str)| -> Ordering {
        b.0.cmp(&a.0)
            .then(a.1.len().cmp(&b.1.len()))
            .then(a.1.cmp(b.1))
    };
    if limit == 0 {
        return Vec::new();
    }
    if found.len() > limit {
        found.select_nth_unstable_by(limit - 1, order);
        found.truncate(limit);
    }
    found.sort_unstable_by(order);
    found
}

/// What the word at the cursor completes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `/name` at the very start of the prompt.
    Command,
    /// `@path` anywhere.
    File,
}

/// The word being completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Bytes of the text the word covers, sigil included, up to the next whitespace.
    pub range: Range<usize>,
    /// The word without its sigil, up to the cursor.
    pub query: String,
    /// Whether a space follows the word, so accepting does not add a second one.
    pub space_after: bool,
}

/// Finds the token at `cursor` (a byte offset) in `text`: a slash command when the text
/// starts with `/` and the cursor is in its first word, else an `@` mention.
pub fn find_token(text: &str, cursor: usize) -> Option<Token> {
    if !text.is_char_boundary(cursor.min(text.len())) {
        return None;
    }
    let cursor = cursor.min(text.len());
    if text.starts_with('/') {
        let end = text.find(char::is_whitespace).unwrap_or(text.len());
        if cursor >= 1 && cursor <= end {
            return Some(Token {
                kind: TokenKind::Command,
                range: 0..end,
                query: text[1..cursor].to_owned(),
                space_after: text[end..].starts_with(' '),
            });
        }
    }
    find_file_token(text, cursor)
}

/// Finds an `@` mention at `cursor`: a word starting with `@` at the start of the text or
/// after whitespace. For callers that pass one line of a longer text, where a leading `/`
/// is not a command.
pub fn find_file_token(text: &str, cursor: usize) -> Option<Token> {
    let cursor = cursor.min(text.len());
    if !text.is_char_boundary(cursor) {
        return None;
    }
    let start = text[..cursor]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    if !text[start..].starts_with('@') {
        return None;
    }
    let end = text[cursor..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| cursor + i);
    Some(Token {
        kind: TokenKind::File,
        range: start..end,
        query: text[start + 1..cursor].to_owned(),
        space_after: text[end..].starts_with(' '),
    })
}

/// One entry of the completion menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionItem {
    /// What the menu shows (`/model`, `src/main.rs`).
    pub label: String,
    /// Shown dimmed beside the label (a command's description).
    pub detail: String,
    /// What replaces the token when accepted (`/model `, `@src/main.rs `).
    pub replacement: String,
}

/// An open completion menu: the token it completes, the candidates and the selection.
#[derive(Debug, Clone)]
pub struct Completion {
    pub token: Token,
    pub items: Vec<CompletionItem>,
    pub selected: usize,
    /// The file list is still being built; the menu may fill in later.
    pub loading: bool,
}

/// Candidates kept per menu (the menu shows a few and scrolls through these).
pub const MAX_ITEMS: usize = 50;

impl Completion {
    /// The candidates for `token`. `files` is `None` while the index is loading.
    pub fn build(
        token: Token,
        commands: &[(String, String)],
        files: Option<&[String]>,
    ) -> Completion {
        let (items, loading) = match token.kind {
            TokenKind::Command => (command_items(&token.query, commands), false),
            TokenKind::File => match files {
                Some(files) => (
                    rank(&token.query, files, MAX_ITEMS)
                        .into_iter()
                        .map(|(_, path)| CompletionItem {
                            label: path.to_owned(),
                            detail: String::new(),
                            replacement: format!("@{path} "),
                        })
                        .collect(),
                    false,
                ),
                None => (Vec::new(), true),
            },
        };
        Completion {
            token,
            items,
            selected: 0,
            loading,
        }
    }

    /// The highlighted item.
    pub fn selected_item(&self) -> Option<&CompletionItem> {
        self.items.get(self.selected)
    }

    /// Moves the highlight down, wrapping around.
    pub fn select_next(&mut self) {
        if !self.items.is_empty() {
            self.selected = (self.selected + 1) % self.items.len();
        }
    }

    /// Moves the highlight up, wrapping around.
    pub fn select_prev(&mut self) {
        if !self.items.is_empty() {
            self.selected = (self.selected + self.items.len() - 1) % self.items.len();
        }
    }

    /// The edit that accepts the highlighted item: the byte range of the text to replace
    /// and what to put there (the cursor goes after it).
    pub fn accept(&self) -> Option<(Range<usize>, String)> {
        let item = self.selected_item()?;
        let mut range = self.token.range.clone();
        if self.token.space_after && item.replacement.ends_with(' ') {
            range.end += 1;
        }
        Some((range, item.replacement.clone()))
    }

    /// Whether the token is already a whole command name, so Enter should run it rather
    /// than complete it.
    pub fn is_exact_command(&self) -> bool {
        self.token.kind == TokenKind::Command
            && self
                .items
                .iter()
                .any(|item| item.label.strip_prefix('/') == Some(self.token.query.as_str()))
    }
}

/// Commands for a `/query`: all in the caller's order for a bare `/`, else fuzzy-ranked
/// with prefix matches first.
fn command_items(query: &str, commands: &[(String, String)]) -> Vec<CompletionItem> {
    let item = |(name, description): &(String, String)| CompletionItem {
        label: format!("/{name}"),
        detail: description.clone(),
        replacement: format!("/{name} "),
    };
    if query.is_empty() {
        return commands.iter().map(item).collect();
    }
    let lower = query.to_lowercase();
    let mut scored: Vec<(i64, usize)> = commands
        .iter()
        .enumerate()
        .filter_map(|(i, (name, _))| {
            let prefix = if name.to_lowercase().starts_with(&lower) {
                1000
            } else {
                0
            };
            fuzzy_match(query, name).map(|s| (s + prefix, i))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(MAX_ITEMS)
        .map(|(_, i)| item(&commands[i]))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A few slash commands, as the registry would list them.
    pub(crate) fn commands() -> Vec<(String, String)> {
        [
            ("model", "Switch model"),
            ("mcp", "MCP servers"),
            ("resume", "Resume a session"),
            ("clear", "Clear the conversation"),
        ]
        .iter()
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect()
    }

    #[test]
    fn fuzzy_prefers_file_names_and_segment_starts() {
        let a = fuzzy_match("mainrs", "src/main.rs").expect("match");
        let b = fuzzy_match("mainrs", "src/domain/remains.rs").expect("match");
        assert!(a > b, "{a} vs {b}");
        let ranked = rank("mainrs", &["src/domain/remains.rs", "src/main.rs"], 10);
        assert_eq!(ranked[0].1, "src/main.rs");
        assert_eq!(fuzzy_match("xyz", "src/main.rs"), None);
        assert_eq!(fuzzy_match("rsmain", "src/main.rs"), None, "order matters");
    }

    #[test]
    fn fuzzy_scoring_cases() {
        let score = |q: &str, c: &str| fuzzy_match(q, c).expect("match");
        // Consecutive runs beat scattered letters.
        assert!(score("edit", "tui/editor.rs") > score("edit", "tui/e_d_i_t.rs"));
        // Segment starts count: "fi" as "File Index".
        assert!(score("fi", "file_index.rs") > score("fi", "prefix.rs"));
        // A match in the file name beats one in a directory.
        assert!(score("cli", "crates/cli/x.rs") < score("cli", "crates/x/cli.rs"));
        // Shorter paths win ties.
        assert!(score("main", "main.rs") > score("main", "a/b/c/main.rs"));
        // camelCase humps.
        assert!(score("fb", "FooBar.ts") > score("fb", "foobar.ts"));
    }

    #[test]
    fn smart_case() {
        assert!(fuzzy_match("readme", "README.md").is_some());
        assert!(fuzzy_match("README", "readme.md").is_none());
        assert!(fuzzy_match("Read", "README.md").is_none());
        assert!(fuzzy_match("Read", "docs/Readme.md").is_some());
        assert!(
            fuzzy_match("main rs", "src/main.rs").is_some(),
            "spaces are ignored"
        );
    }

    #[test]
    fn rank_limits_and_lists_shortest_first_for_empty_queries() {
        let files = vec![
            "a/b/c/long.rs".to_string(),
            "z.rs".to_string(),
            "b.rs".to_string(),
            "mid/x.rs".to_string(),
        ];
        let ranked: Vec<&str> = rank("", &files, 3).into_iter().map(|(_, p)| p).collect();
        assert_eq!(ranked, ["b.rs", "z.rs", "mid/x.rs"]);
        assert!(rank("rs", &files, 0).is_empty());
        assert_eq!(rank("rs", &files, 10).len(), 4);
    }

    #[test]
    fn finds_command_tokens_only_in_the_first_word() {
        let t = find_token("/mo", 3).expect("token");
        assert_eq!(t.kind, TokenKind::Command);
        assert_eq!((t.range.clone(), t.query.as_str()), (0..3, "mo"));
        let t = find_token("/model gpt", 2).expect("token");
        assert_eq!((t.range.clone(), t.query.as_str()), (0..6, "m"));
        assert!(t.space_after);
        assert_eq!(find_token("/model gpt", 8), None);
        assert_eq!(find_token("hi /model", 9), None);
        assert_eq!(find_token("", 0), None);
    }

    #[test]
    fn finds_file_tokens_after_whitespace() {
        let t = find_token("look at @src/ma please", 15).expect("token");
        assert_eq!(t.kind, TokenKind::File);
        assert_eq!(t.range, 8..15);
        assert_eq!(t.query, "src/ma");
        let t = find_token("@日本/x", "@日本".len()).expect("token");
        assert_eq!(t.query, "日本");
        assert_eq!(t.range, 0.."@日本/x".len());
        assert_eq!(find_token("mail me@example.com", 19), None);
        assert_eq!(find_token("a @b c", 6), None);
        let t = find_token("/cmd @fi", 8).expect("token");
        assert_eq!(t.kind, TokenKind::File);
        assert_eq!(find_file_token("/cmd", 4), None);
    }

    #[test]
    fn command_completion_and_acceptance() {
        let cmds = commands();
        let c = Completion::build(find_token("/", 1).expect("token"), &cmds, None);
        assert_eq!(c.items.len(), 4);
        assert_eq!(c.items[0].label, "/model");
        let c = Completion::build(find_token("/m", 2).expect("token"), &cmds, None);
        let labels: Vec<&str> = c.items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, ["/mcp", "/model", "/resume"]);
        assert_eq!(c.accept(), Some((0..2, "/mcp ".to_string())));
        assert!(!c.is_exact_command());
        let c = Completion::build(find_token("/model", 6).expect("token"), &cmds, None);
        assert!(c.is_exact_command());
        let c = Completion::build(find_token("/res x", 2).expect("token"), &cmds, None);
        assert_eq!(c.accept(), Some((0..5, "/resume ".to_string())));
    }

    #[test]
    fn file_completion_selection_and_loading() {
        let files = vec!["src/main.rs".to_string(), "src/lib.rs".to_string()];
        let token = find_token("see @lib", 8).expect("token");
        let c = Completion::build(token.clone(), &[], None);
        assert!(c.loading && c.items.is_empty());
        let mut c = Completion::build(token, &[], Some(&files));
        assert_eq!(c.items[0].label, "src/lib.rs");
        assert_eq!(c.accept(), Some((4..8, "@src/lib.rs ".to_string())));
        let mut all = Completion::build(find_token("@", 1).expect("token"), &[], Some(&files));
        assert_eq!(all.items.len(), 2);
        all.select_prev();
        assert_eq!(all.selected, 1);
        all.select_next();
        assert_eq!(all.selected, 0);
        c.items.clear();
        assert_eq!(c.accept(), None);
    }

    #[test]
    fn file_index_honours_gitignore() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs_write(root, ".git/HEAD", "ref: refs/heads/main\n");
        fs_write(root, ".gitignore", "target/\n*.log\n");
        fs_write(root, "src/main.rs", "");
        fs_write(root, "src/nested/deep.rs", "");
        fs_write(root, "README.md", "");
        fs_write(root, "target/debug/out", "");
        fs_write(root, "run.log", "");
        fs_write(root, ".hidden", "");
        let index = FileIndex::spawn(root.to_path_buf());
        let files = index.wait(Duration::from_secs(30)).expect("index ready");
        assert!(index.is_ready());
        assert_eq!(
            files.as_slice(),
            ["README.md", "src/main.rs", "src/nested/deep.rs"]
        );
    }

    fn fs_write(root: &Path, rel: &str, content: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
}
