//! The prompt box as the app sees it: the editor, history recall and the completion menu
//! for `/commands` and `@files`, behind one `handle_key` and one `render`.
//!
//! Keys the box has no use for come back as [`InputEvent::Unhandled`] so the app can give
//! them meaning (Ctrl-C, Ctrl-D, Esc with no menu open…).

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::complete::{Completion, FileIndex, Token, TokenKind, find_file_token, find_token};
use super::editor::{EditOutcome, Editor};
use super::history::History;
use super::style::{Color, Line, Style};

/// The prompt shown before the first line.
pub const PROMPT: &str = "› ";

/// Menu rows shown at once; longer lists scroll.
pub const MENU_ROWS: usize = 8;

/// What a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputEvent {
    /// The user sent this text; it is already in the history and the box is empty.
    Submitted(String),
    /// Something visible changed (text, cursor or menu): redraw.
    Changed,
    /// The box did not use the key.
    Unhandled,
}

/// The prompt input component.
#[derive(Debug)]
pub struct PromptInput {
    root: PathBuf,
    editor: Editor,
    history: History,
    commands: Vec<(String, String)>,
    files: Option<FileIndex>,
    /// A fresh walk started after a prompt was sent (files come and go as the agent
    /// works); it replaces `files` once finished, so the menu never waits for it.
    next_files: Option<FileIndex>,
    menu: Option<Completion>,
    /// The token (line, start byte) whose menu the user closed with Esc: it stays closed
    /// while they keep typing that token.
    dismissed: Option<(usize, usize)>,
}

impl PromptInput {
    /// An empty prompt for the project at `root` (where `@` mentions are looked up), with
    /// history kept in `history_path` when given.
    pub fn new(root: PathBuf, history_path: Option<PathBuf>) -> Self {
        Self {
            root,
            editor: Editor::new(),
            history: history_path.map_or_else(History::in_memory, History::load),
            commands: Vec::new(),
            files: None,
            next_files: None,
            menu: None,
            dismissed: None,
        }
    }

    /// Uses an existing file list instead of walking the project on the first `@`.
    pub fn with_file_index(mut self, index: FileIndex) -> Self {
        self.files = Some(index);
        self
    }

    /// The slash commands offered after `/`, as (name without `/`, description).
    pub fn set_commands(&mut self, commands: Vec<(String, String)>) {
        self.commands = commands;
    }

    /// The text being edited.
    pub fn text(&self) -> String {
        self.editor.text()
    }

    /// Whether the box is empty.
    pub fn is_empty(&self) -> bool {
        self.editor.is_empty()
    }

    /// Empties the box and closes the menu.
    pub fn clear(&mut self) {
        self.editor.clear();
        self.close_menu();
        self.history.reset_navigation();
    }

    /// Takes the text out, leaving the box empty (not recorded in the history).
    pub fn take_text(&mut self) -> String {
        let text = self.editor.text();
        self.clear();
        text
    }

    /// Replaces the text (a queued prompt put back, say); the cursor goes to its end.
    pub fn set_text(&mut self, text: &str) {
        self.editor.set_text(text);
        self.close_menu();
    }

    /// The editor, for callers that need the cursor or the lines.
    pub fn editor(&self) -> &Editor {
        &self.editor
    }

    /// The prompt history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The open completion menu, if any.
    pub fn menu(&self) -> Option<&Completion> {
        self.menu.as_ref()
    }

    /// Inserts pasted text at the cursor.
    pub fn handle_paste(&mut self, text: &str) {
        self.editor.insert_str(text);
        self.refresh_menu(false);
    }

    /// Fills in a menu that was waiting for the file list once the list is ready. Call it
    /// on a timer or each frame; returns whether a redraw is due.
    pub fn tick(&mut self) -> bool {
        let waiting = self.menu.as_ref().is_some_and(|m| m.loading);
        if waiting && self.files.as_ref().is_some_and(FileIndex::is_ready) {
            self.refresh_menu(true);
            return true;
        }
        false
    }

    /// Handles one key; see [`InputEvent`].
    pub fn handle_key(&mut self, key: KeyEvent) -> InputEvent {
        if key.kind == KeyEventKind::Release {
            return InputEvent::Unhandled;
        }
        self.tick();
        let mods = key.modifiers;
        let ctrl = mods.contains(KeyModifiers::CONTROL);
        let plain =
            !mods.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        if let Some(menu) = &mut self.menu {
            match key.code {
                KeyCode::Up | KeyCode::BackTab => {
                    menu.select_prev();
                    return InputEvent::Changed;
                }
                KeyCode::Char('p') if ctrl => {
                    menu.select_prev();
                    return InputEvent::Changed;
                }
                KeyCode::Down => {
                    menu.select_next();
                    return InputEvent::Changed;
                }
                KeyCode::Char('n') if ctrl => {
                    menu.select_next();
                    return InputEvent::Changed;
                }
                KeyCode::Tab => {
                    self.accept();
                    return InputEvent::Changed;
                }
                KeyCode::Enter if plain => {
                    if menu.is_exact_command() || menu.items.is_empty() {
                        // Falls through to the editor, which submits.
                        self.close_menu();
                    } else {
                        self.accept();
                        return InputEvent::Changed;
                    }
                }
                KeyCode::Esc => {
                    let (row, _) = self.editor.cursor();
                    self.dismissed = Some((row, menu.token.range.start));
                    self.menu = None;
                    return InputEvent::Changed;
                }
                _ => {}
            }
        } else if key.code == KeyCode::Tab && plain {
            return self.complete_on_tab();
        }
        let menu_was_open = self.menu.is_some();
        match self.editor.handle_key(key) {
            EditOutcome::Submit => self.submit(),
            EditOutcome::Edited => {
                self.refresh_menu(false);
                InputEvent::Changed
            }
            EditOutcome::Moved => {
                // Moving only updates an open menu; arrowing past an old `@mention`
                // should not pop one up.
                if menu_was_open {
                    self.refresh_menu(false);
                }
                InputEvent::Changed
            }
            EditOutcome::Unhandled => match key.code {
                KeyCode::Up => self.recall_older(),
                KeyCode::Down => self.recall_newer(),
                _ => InputEvent::Unhandled,
            },
        }
    }

    fn submit(&mut self) -> InputEvent {
        let text = self.editor.text();
        if text.trim().is_empty() {
            return InputEvent::Unhandled;
        }
        self.history.push(&text);
        if self.files.is_some() {
            self.next_files = Some(FileIndex::spawn(self.root.clone()));
        }
        self.editor.clear();
        self.close_menu();
        InputEvent::Submitted(text)
    }

    fn recall_older(&mut self) -> InputEvent {
        let draft = self.editor.text();
        let Some(entry) = self.history.older(&draft).map(str::to_owned) else {
            return InputEvent::Unhandled;
        };
        self.editor.set_text(&entry);
        // On the first line, so the next Up goes further back at once.
        let first = self.editor.lines()[0].len();
        self.editor.set_cursor(0, first);
        self.close_menu();
        InputEvent::Changed
    }

    fn recall_newer(&mut self) -> InputEvent {
        let Some(entry) = self.history.newer() else {
            return InputEvent::Unhandled;
        };
        self.editor.set_text(&entry);
        self.close_menu();
        InputEvent::Changed
    }

    fn complete_on_tab(&mut self) -> InputEvent {
        self.dismissed = None;
        self.refresh_menu(true);
        let Some(menu) = &self.menu else {
            return InputEvent::Unhandled;
        };
        if menu.items.len() == 1 {
            self.accept();
        }
        InputEvent::Changed
    }

    fn accept(&mut self) {
        if let Some((range, with)) = self.menu.as_ref().and_then(Completion::accept) {
            self.editor.replace_in_line(range, &with);
        }
        self.close_menu();
    }

    fn close_menu(&mut self) {
        self.menu = None;
        self.dismissed = None;
    }

    fn current_token(&self) -> Option<Token> {
        let (row, col) = self.editor.cursor();
        let line = self.editor.current_line();
        if row == 0 {
            find_token(line, col)
        } else {
            find_file_token(line, col)
        }
    }

    /// Rebuilds the menu for the token at the cursor (closing it when there is none).
    /// `forced` ignores an Esc dismissal and keeps the selection.
    fn refresh_menu(&mut self, forced: bool) {
        let Some(token) = self.current_token() else {
            self.close_menu();
            return;
        };
        let (row, _) = self.editor.cursor();
        let here = (row, token.range.start);
        if self.dismissed == Some(here) && !forced {
            self.menu = None;
            return;
        }
        self.dismissed = None;
        if self.next_files.as_ref().is_some_and(FileIndex::is_ready) {
            self.files = self.next_files.take();
        }
        if token.kind == TokenKind::File && self.files.is_none() {
            self.files = Some(FileIndex::spawn(self.root.clone()));
        }
        let files = self.files.as_ref().and_then(FileIndex::files);
        let mut menu =
            Completion::build(token, &self.commands, files.as_deref().map(Vec::as_slice));
        if forced && let Some(old) = &self.menu {
            menu.selected = old.selected.min(menu.items.len().saturating_sub(1));
        }
        self.menu = (menu.loading || !menu.items.is_empty()).then_some(menu);
    }

    /// Draws the editor (with the `›` prompt) and, below it, the completion menu. The
    /// cursor position is within the editor's rows, which come first.
    pub fn render(&self, width: usize, max_rows: usize) -> (Vec<Line>, (u16, u16)) {
        let max_rows = max_rows.max(1);
        let menu_rows = self.menu.as_ref().map_or(0, |m| {
            if m.loading {
                1
            } else {
                m.items.len().min(MENU_ROWS)
            }
        });
        let editor_rows = max_rows.saturating_sub(menu_rows).max(1);
        let (mut rows, cursor) = self.editor.render(width, editor_rows, PROMPT);
        if let Some(menu) = &self.menu {
            let room = max_rows.saturating_sub(rows.len());
            rows.extend(render_menu(menu, width, room));
        }
        (rows, cursor)
    }
}

fn render_menu(menu: &Completion, width: usize, room: usize) -> Vec<Line> {
    let shown = room.min(MENU_ROWS);
    if shown == 0 {
        return Vec::new();
    }
    if menu.loading {
        return vec![Line::styled("  indexing files…", Style::PLAIN.dim())];
    }
    let top = (menu.selected + 1).saturating_sub(shown);
    let window = menu.items.iter().enumerate().skip(top).take(shown);
    let label_width = window
        .clone()
        .map(|(_, item)| Line::plain(item.label.clone()).width())
        .max()
        .unwrap_or(0)
        .min(width / 2);
    window
        .map(|(i, item)| {
            let mut row = Line::plain("  ");
            let style = if i == menu.selected {
                row.push("❯ ", Style::fg(Color::Cyan).bold());
                Style::fg(Color::Cyan).bold()
            } else {
                row.push("  ", Style::PLAIN);
                Style::PLAIN
            };
            row.push(item.label.clone(), style);
            if !item.detail.is_empty() {
                let pad = label_width.saturating_sub(Line::plain(item.label.clone()).width());
                row.push(" ".repeat(pad + 2), Style::PLAIN);
                row.push(item.detail.clone(), Style::PLAIN.dim());
            }
            row.truncate(width)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn type_str(input: &mut PromptInput, s: &str) {
        for c in s.chars() {
            assert_eq!(input.handle_key(key(KeyCode::Char(c))), InputEvent::Changed);
        }
    }

    fn input() -> PromptInput {
        let mut input = PromptInput::new(PathBuf::from("/nonexistent"), None).with_file_index(
            FileIndex::from_files(vec![
                "src/main.rs".into(),
                "src/lib.rs".into(),
                "src/domain/remains.rs".into(),
                "README.md".into(),
            ]),
        );
        input.set_commands(crate::complete::tests::commands());
        input
    }

    #[test]
    fn files_created_after_a_prompt_are_offered() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("old.txt"), "").expect("write");
        let mut input = PromptInput::new(dir.path().to_owned(), None);
        type_str(&mut input, "@");
        let deadline = Instant::now() + Duration::from_secs(10);
        while labels(&input).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            input.tick();
        }
        assert_eq!(labels(&input), ["old.txt"]);
        input.handle_key(key(KeyCode::Esc));
        type_str(&mut input, "x");
        assert!(matches!(
            input.handle_key(key(KeyCode::Enter)),
            InputEvent::Submitted(_)
        ));
        std::fs::write(dir.path().join("new.txt"), "").expect("write");
        // The walk started at submit may have missed the new file; a later one finds it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            input.clear();
            type_str(&mut input, "@new");
            if labels(&input) == ["new.txt"] || Instant::now() > deadline {
                break;
            }
            type_str(&mut input, " ");
            let _ = input.handle_key(key(KeyCode::Enter));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(labels(&input), ["new.txt"]);
    }

    fn labels(input: &PromptInput) -> Vec<String> {
        input
            .menu()
            .map(|m| m.items.iter().map(|i| i.label.clone()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn slash_opens_commands_and_enter_accepts_without_submitting() {
        let mut input = input();
        type_str(&mut input, "/");
        assert_eq!(labels(&input), ["/model", "/mcp", "/resume", "/clear"]);
        type_str(&mut input, "m");
        assert_eq!(labels(&input), ["/mcp", "/model", "/resume"]);
        assert_eq!(input.handle_key(key(KeyCode::Down)), InputEvent::Changed);
        assert_eq!(input.handle_key(key(KeyCode::Enter)), InputEvent::Changed);
        assert_eq!(input.text(), "/model ");
        assert!(input.menu().is_none());
        assert_eq!(
            input.handle_key(key(KeyCode::Enter)),
            InputEvent::Submitted("/model ".into())
        );
    }

    #[test]
    fn enter_on_an_exactly_typed_command_submits() {
        let mut input = input();
        type_str(&mut input, "/model");
        assert!(input.menu().is_some());
        assert_eq!(
            input.handle_key(key(KeyCode::Enter)),
            InputEvent::Submitted("/model".into())
        );
        assert!(input.is_empty());
        assert!(input.menu().is_none());
        assert_eq!(input.history().entries(), ["/model"]);
    }

    #[test]
    fn menu_navigation_wraps_and_tab_accepts() {
        let mut input = input();
        type_str(&mut input, "/");
        input.handle_key(key(KeyCode::Up));
        assert_eq!(input.menu().map(|m| m.selected), Some(3));
        input.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
        assert_eq!(input.menu().map(|m| m.selected), Some(2));
        input.handle_key(ctrl('n'));
        assert_eq!(input.menu().map(|m| m.selected), Some(3));
        assert_eq!(input.handle_key(key(KeyCode::Tab)), InputEvent::Changed);
        assert_eq!(input.text(), "/clear ");
    }

    #[test]
    fn esc_closes_the_menu_until_a_new_token() {
        let mut input = input();
        type_str(&mut input, "see @s");
        assert!(input.menu().is_some());
        assert_eq!(input.handle_key(key(KeyCode::Esc)), InputEvent::Changed);
        assert!(input.menu().is_none());
        type_str(&mut input, "rc");
        assert!(input.menu().is_none(), "still the dismissed token");
        assert_eq!(input.handle_key(key(KeyCode::Esc)), InputEvent::Unhandled);
        type_str(&mut input, " @lib");
        assert_eq!(labels(&input), ["src/lib.rs"]);
    }

    #[test]
    fn file_mentions_rank_and_accept() {
        let mut input = input();
        type_str(&mut input, "fix @mainrs");
        assert_eq!(labels(&input)[0], "src/main.rs");
        assert_eq!(input.handle_key(key(KeyCode::Enter)), InputEvent::Changed);
        assert_eq!(input.text(), "fix @src/main.rs ");
        type_str(&mut input, "now");
        assert_eq!(
            input.handle_key(key(KeyCode::Enter)),
            InputEvent::Submitted("fix @src/main.rs now".into())
        );
    }

    #[test]
    fn tab_opens_completion_or_accepts_a_single_candidate() {
        let mut input = input();
        assert_eq!(input.handle_key(key(KeyCode::Tab)), InputEvent::Unhandled);
        type_str(&mut input, "read @READ");
        input.handle_key(key(KeyCode::Esc));
        assert!(input.menu().is_none());
        assert_eq!(input.handle_key(key(KeyCode::Tab)), InputEvent::Changed);
        assert_eq!(input.text(), "read @README.md ");
        input.clear();
        type_str(&mut input, "@src");
        input.handle_key(key(KeyCode::Esc));
        input.handle_key(key(KeyCode::Tab));
        assert_eq!(labels(&input).len(), 3, "several candidates open the menu");
    }

    #[test]
    fn accepting_inside_a_word_replaces_all_of_it() {
        let mut input = input();
        input.set_text("a @libxx b");
        for _ in 0..4 {
            input.handle_key(key(KeyCode::Left));
        }
        input.handle_key(key(KeyCode::Tab));
        assert_eq!(input.text(), "a @src/lib.rs b");
    }

    #[test]
    fn up_down_walk_history_and_restore_the_draft() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state/history.jsonl");
        let mut input = PromptInput::new(dir.path().to_path_buf(), Some(path.clone()));
        for text in ["one", "two\nlines"] {
            type_str(&mut input, text.split('\n').next().unwrap_or_default());
            if let Some(rest) = text.split('\n').nth(1) {
                input.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT));
                type_str(&mut input, rest);
            }
            assert!(matches!(
                input.handle_key(key(KeyCode::Enter)),
                InputEvent::Submitted(_)
            ));
        }
        type_str(&mut input, "dra");
        assert_eq!(input.handle_key(key(KeyCode::Up)), InputEvent::Changed);
        assert_eq!(input.text(), "two\nlines");
        assert_eq!(input.handle_key(key(KeyCode::Up)), InputEvent::Changed);
        assert_eq!(input.text(), "one");
        assert_eq!(input.handle_key(key(KeyCode::Up)), InputEvent::Unhandled);
        input.handle_key(key(KeyCode::Down));
        assert_eq!(input.text(), "two\nlines");
        input.handle_key(key(KeyCode::Down));
        assert_eq!(input.text(), "dra");
        assert_eq!(input.handle_key(key(KeyCode::Down)), InputEvent::Unhandled);

        let mut again = PromptInput::new(dir.path().to_path_buf(), Some(path));
        again.handle_key(key(KeyCode::Up));
        assert_eq!(again.text(), "two\nlines");
    }

    #[test]
    fn app_keys_and_empty_enter_are_unhandled() {
        let mut input = input();
        for k in [
            ctrl('c'),
            ctrl('d'),
            ctrl('o'),
            key(KeyCode::Esc),
            key(KeyCode::Enter),
        ] {
            assert_eq!(input.handle_key(k), InputEvent::Unhandled, "{k:?}");
        }
        type_str(&mut input, "x");
        assert_eq!(input.handle_key(ctrl('c')), InputEvent::Unhandled);
        assert_eq!(input.text(), "x");
    }

    #[test]
    fn paste_take_and_set_text() {
        let mut input = input();
        input.handle_paste("a\r\nb\rc");
        assert_eq!(input.text(), "a\nb\nc");
        assert_eq!(input.take_text(), "a\nb\nc");
        assert!(input.is_empty());
        input.set_text("/mo");
        assert!(input.menu().is_none(), "set_text does not pop a menu");
        assert!(input.history().is_empty());
    }

    #[test]
    fn render_puts_the_menu_below_the_editor() {
        let mut input = input();
        type_str(&mut input, "/");
        input.handle_key(key(KeyCode::Down));
        let (rows, cursor) = input.render(40, 10);
        let text: Vec<String> = rows.iter().map(Line::text).collect();
        assert_eq!(
            text,
            [
                "› /",
                "    /model   Switch model",
                "  ❯ /mcp     MCP servers",
                "    /resume  Resume a session",
                "    /clear   Clear the conversation",
            ]
        );
        assert_eq!(cursor, (3, 0));
        let (rows, _) = input.render(40, 3);
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().any(|r| r.text().contains("❯ /mcp")));
    }

    #[test]
    fn menu_shows_at_most_eight_rows() {
        let mut input = PromptInput::new(PathBuf::from("/nonexistent"), None).with_file_index(
            FileIndex::from_files((0..20).map(|i| format!("f{i:02}.rs")).collect()),
        );
        type_str(&mut input, "@f");
        for _ in 0..10 {
            input.handle_key(key(KeyCode::Down));
        }
        let (rows, _) = input.render(40, 20);
        assert_eq!(rows.len(), 1 + MENU_ROWS);
        assert!(rows.last().is_some_and(|r| r.text().contains("❯ f10.rs")));
    }

    #[test]
    fn first_at_sign_indexes_the_project_in_the_background() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
        std::fs::write(dir.path().join("src/app.rs"), "").expect("write");
        let mut input = PromptInput::new(dir.path().to_path_buf(), None);
        type_str(&mut input, "@ap");
        let deadline = Instant::now() + Duration::from_secs(30);
        while labels(&input).is_empty() && Instant::now() < deadline {
            input.tick();
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(labels(&input), ["src/app.rs"]);
    }
}
