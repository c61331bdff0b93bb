//! Prompt history shared across sessions: Up recalls what was sent before, even in an
//! earlier run.
//!
//! The file holds one JSON string per line, so multi-line prompts survive and a line
//! cut short by a crash only loses itself. New prompts are appended (cheap, and safe with
//! several sessions open); the file is rewritten only when it has grown to twice the
//! number of entries kept.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Entries kept in memory and after a rewrite.
pub const MAX_ENTRIES: usize = 1000;
/// Longer prompts (a pasted log, a whole file) are recalled in this session but not
/// written to the file, which would otherwise grow by megabytes a paste.
pub const MAX_SAVED_BYTES: usize = 64 * 1024;

/// Lines the file may reach before it is rewritten with the newest [`MAX_ENTRIES`].
const MAX_FILE_LINES: usize = 2 * MAX_ENTRIES;

/// Past prompts, oldest first, with the state of an Up/Down walk through them.
#[derive(Debug, Clone, Default)]
pub struct History {
    path: Option<PathBuf>,
    entries: Vec<String>,
    /// Lines in the file, corrupt ones included, to know when to compact it.
    file_lines: usize,
    /// The entry shown while walking; `None` when the user is on their own draft.
    index: Option<usize>,
    /// What the user was typing when the walk began, given back past the newest entry.
    draft: Option<String>,
}

impl History {
    /// A history that is never saved (tests, or no writable data directory).
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Reads the history file. A missing file is an empty history; lines that are not a
    /// JSON string are skipped; other read errors are logged and give an empty history
    /// that is still appended to.
    pub fn load(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut history = Self {
            path: Some(path.clone()),
            ..Self::default()
        };
        let content = match fs::read_to_string(&path) {
            Ok(content) => content,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return history,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not read the prompt history");
                return history;
            }
        };
        for line in content.lines() {
            history.file_lines += 1;
            match serde_json::from_str::<String>(line) {
                Ok(entry) if !entry.trim().is_empty() && history.entries.last() != Some(&entry) => {
                    history.entries.push(entry);
                }
                _ => {}
            }
        }
        if history.entries.len() > MAX_ENTRIES {
            let extra = history.entries.len() - MAX_ENTRIES;
            history.entries.drain(..extra);
        }
        history
    }

    /// The file the history is saved to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records a sent prompt (blank ones and repeats of the last entry are skipped) and
    /// ends any walk. Saving failures are logged, never raised: losing history must not
    /// stop a session.
    pub fn push(&mut self, entry: &str) {
        self.reset_navigation();
        if entry.trim().is_empty() || self.entries.last().map(String::as_str) == Some(entry) {
            return;
        }
        self.entries.push(entry.to_owned());
        if self.entries.len() > MAX_ENTRIES {
            let extra = self.entries.len() - MAX_ENTRIES;
            self.entries.drain(..extra);
        }
        if entry.len() > MAX_SAVED_BYTES {
            return;
        }
        if let Err(e) = self.save(entry) {
            let path = self.path.as_deref().unwrap_or(Path::new(""));
            tracing::warn!(path = %path.display(), error = %e, "could not save the prompt history");
        }
    }

    fn save(&mut self, entry: &str) -> io::Result<()> {
        let Some(path) = self.path.as_deref() else {
            return Ok(());
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        if self.file_lines < MAX_FILE_LINES {
            let mut line = serde_json::to_string(entry).map_err(io::Error::other)?;
            line.push('\n');
            let mut file = OpenOptions::new().create(true).append(true).open(path)?;
            file.write_all(line.as_bytes())?;
            self.file_lines += 1;
            return Ok(());
        }
        // Rewrite through a temporary file so a crash never leaves half a history.
        let mut content = String::new();
        for entry in self.entries.iter().filter(|e| e.len() <= MAX_SAVED_BYTES) {
            content.push_str(&serde_json::to_string(entry).map_err(io::Error::other)?);
            content.push('\n');
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        fs::write(&tmp, &content)?;
        fs::rename(&tmp, path)?;
        self.file_lines = content.lines().count();
        Ok(())
    }

    /// One step back in time (Up). The first step remembers `current_draft` so stepping
    /// forward past the newest entry gives it back. `None` when there is nothing older.
    pub fn older(&mut self, current_draft: &str) -> Option<&str> {
        let index = match self.index {
            None if self.entries.is_empty() => return None,
            None => {
                self.draft = Some(current_draft.to_owned());
                self.entries.len() - 1
            }
            Some(0) => return None,
            Some(i) => i - 1,
        };
        self.index = Some(index);
        Some(&self.entries[index])
    }

    /// One step forward (Down): the next newer entry, or past the newest the draft the
    /// walk started from. `None` when not walking.
    pub fn newer(&mut self) -> Option<String> {
        let index = self.index?;
        if index + 1 < self.entries.len() {
            self.index = Some(index + 1);
            Some(self.entries[index + 1].clone())
        } else {
            self.index = None;
            Some(self.draft.take().unwrap_or_default())
        }
    }

    /// Whether an Up/Down walk is in progress.
    pub fn is_navigating(&self) -> bool {
        self.index.is_some()
    }

    /// Ends the walk, forgetting the saved draft (after a submit, say).
    pub fn reset_navigation(&mut self) {
        self.index = None;
        self.draft = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_restart_and_skips_blanks_and_repeats() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/dir/history.jsonl");
        let mut h = History::load(&path);
        assert!(h.is_empty());
        h.push("first");
        h.push("first");
        h.push("   ");
        h.push("multi\nline \"quoted\"");
        h.push("first");
        let h = History::load(&path);
        assert_eq!(h.entries(), ["first", "multi\nline \"quoted\"", "first"]);
        let raw = fs::read_to_string(&path).expect("read");
        assert_eq!(raw.lines().count(), 3);
    }

    #[test]
    fn corrupt_lines_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.jsonl");
        fs::write(&path, "\"ok\"\nnot json\n{\"a\":1}\n\"trunc\n\"also ok\"\n").expect("write");
        let h = History::load(&path);
        assert_eq!(h.entries(), ["ok", "also ok"]);
    }

    #[test]
    fn walks_back_and_forward_and_restores_the_draft() {
        let mut h = History::in_memory();
        assert_eq!(h.older("draft"), None);
        for e in ["one", "two", "three"] {
            h.push(e);
        }
        assert_eq!(h.newer(), None, "not walking yet");
        assert_eq!(h.older("my draft"), Some("three"));
        assert_eq!(h.older("three"), Some("two"));
        assert_eq!(h.older("two"), Some("one"));
        assert_eq!(h.older("one"), None);
        assert!(h.is_navigating());
        assert_eq!(h.newer().as_deref(), Some("two"));
        assert_eq!(h.newer().as_deref(), Some("three"));
        assert_eq!(h.newer().as_deref(), Some("my draft"));
        assert_eq!(h.newer(), None);
        assert!(!h.is_navigating());
        h.older("again");
        h.reset_navigation();
        assert_eq!(h.newer(), None);
    }

    #[test]
    fn caps_entries_and_compacts_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.jsonl");
        let old: String = (0..MAX_FILE_LINES - 1)
            .map(|i| format!("\"old {i}\"\n"))
            .collect();
        fs::write(&path, old).expect("write");
        let mut h = History::load(&path);
        assert_eq!(h.len(), MAX_ENTRIES);
        assert_eq!(
            h.entries()[0],
            format!("old {}", MAX_FILE_LINES - 1 - MAX_ENTRIES)
        );
        h.push("fills the file");
        let lines = fs::read_to_string(&path).expect("read").lines().count();
        assert_eq!(lines, MAX_FILE_LINES);
        h.push("triggers a rewrite");
        let h2 = History::load(&path);
        let lines = fs::read_to_string(&path).expect("read").lines().count();
        assert_eq!(lines, MAX_ENTRIES);
        assert_eq!(h2.entries(), h.entries());
        assert_eq!(
            h2.entries().last().map(String::as_str),
            Some("triggers a rewrite")
        );
    }

    #[test]
    fn write_errors_do_not_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        fs::write(&blocker, "x").expect("write");
        let mut h = History::load(blocker.join("history.jsonl"));
        h.push("kept in memory");
        assert_eq!(h.entries(), ["kept in memory"]);
    }

    #[test]
    fn huge_prompts_are_kept_in_memory_but_not_saved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.jsonl");
        let mut history = History::load(&path);
        let huge = "x".repeat(MAX_SAVED_BYTES + 1);
        history.push("small");
        history.push(&huge);
        assert_eq!(history.older(""), Some(huge.as_str()));
        let reloaded = History::load(&path);
        assert_eq!(reloaded.entries(), ["small"]);
    }
}
