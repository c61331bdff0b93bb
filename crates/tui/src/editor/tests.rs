use super::render::thousands;
use super::*;
use crate::style::Line;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn with(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn typed(s: &str) -> Editor {
    let mut e = Editor::new();
    for c in s.chars() {
        assert_eq!(e.handle_key(key(KeyCode::Char(c))), EditOutcome::Edited);
    }
    e
}

fn texts(rows: &[Line]) -> Vec<String> {
    rows.iter().map(Line::text).collect()
}

#[test]
fn typing_and_moving_over_multibyte_characters() {
    let mut e = typed("é日本🦀");
    assert_eq!(e.text(), "é日本🦀");
    assert_eq!(e.cursor(), (0, "é日本🦀".len()));
    e.handle_key(key(KeyCode::Left));
    assert_eq!(e.cursor(), (0, "é日本".len()));
    e.handle_key(key(KeyCode::Left));
    e.handle_key(key(KeyCode::Backspace));
    assert_eq!(e.text(), "é本🦀");
    e.handle_key(key(KeyCode::Home));
    e.handle_key(key(KeyCode::Delete));
    assert_eq!(e.text(), "本🦀");
    e.handle_key(key(KeyCode::Char('x')));
    assert_eq!(e.text(), "x本🦀");
    e.handle_key(key(KeyCode::End));
    assert_eq!(e.cursor(), (0, "x本🦀".len()));
}

#[test]
fn combining_marks_and_joined_emoji_move_as_one() {
    let family = "👨\u{200d}👩";
    let mut e = Editor::new();
    e.insert_str(&format!("e\u{301}{family}"));
    e.handle_key(key(KeyCode::Left));
    assert_eq!(e.cursor(), (0, "e\u{301}".len()));
    e.handle_key(key(KeyCode::Left));
    assert_eq!(e.cursor(), (0, 0));
    e.handle_key(key(KeyCode::Right));
    assert_eq!(e.cursor(), (0, "e\u{301}".len()));
    e.handle_key(key(KeyCode::Delete));
    assert_eq!(e.text(), "e\u{301}");
}

#[test]
fn enter_submits_but_modifiers_and_backslash_make_newlines() {
    let mut e = typed("a");
    assert_eq!(e.handle_key(key(KeyCode::Enter)), EditOutcome::Submit);
    assert_eq!(e.text(), "a");
    e.handle_key(with(KeyCode::Enter, KeyModifiers::SHIFT));
    e.handle_key(key(KeyCode::Char('b')));
    e.handle_key(with(KeyCode::Enter, KeyModifiers::ALT));
    e.handle_key(key(KeyCode::Char('c')));
    e.handle_key(key(KeyCode::Char('\\')));
    assert_eq!(e.handle_key(key(KeyCode::Enter)), EditOutcome::Edited);
    e.handle_key(ctrl('j'));
    e.handle_key(key(KeyCode::Char('d')));
    assert_eq!(e.text(), "a\nb\nc\n\nd");
    assert_eq!(e.cursor(), (4, 1));
}

#[test]
fn backspace_and_delete_join_lines() {
    let mut e = Editor::new();
    e.set_text("ab\ncd");
    e.set_cursor(1, 0);
    e.handle_key(key(KeyCode::Backspace));
    assert_eq!(e.text(), "abcd");
    assert_eq!(e.cursor(), (0, 2));
    e.set_text("ab\ncd");
    e.set_cursor(0, 2);
    e.handle_key(key(KeyCode::Delete));
    assert_eq!(e.text(), "abcd");
    assert_eq!(e.cursor(), (0, 2));
    assert_eq!(
        Editor::new().handle_key(key(KeyCode::Backspace)),
        EditOutcome::Moved
    );
}

#[test]
fn arrows_cross_lines_and_up_down_stop_at_the_edges() {
    let mut e = Editor::new();
    e.set_text("long line\nab\nanother");
    assert_eq!(e.handle_key(key(KeyCode::Down)), EditOutcome::Unhandled);
    e.set_cursor(0, 7);
    assert_eq!(e.handle_key(key(KeyCode::Down)), EditOutcome::Moved);
    assert_eq!(e.cursor(), (1, 2));
    e.handle_key(key(KeyCode::Down));
    assert_eq!(e.cursor(), (2, 7), "the goal column survives a short line");
    e.handle_key(key(KeyCode::Home));
    e.handle_key(key(KeyCode::Left));
    assert_eq!(e.cursor(), (1, 2));
    e.handle_key(key(KeyCode::Right));
    assert_eq!(e.cursor(), (2, 0));
    e.set_cursor(0, 3);
    assert_eq!(e.handle_key(key(KeyCode::Up)), EditOutcome::Unhandled);
    assert_eq!(e.cursor(), (0, 3));
}

#[test]
fn up_down_keep_display_columns_across_wide_characters() {
    let mut e = Editor::new();
    e.set_text("日本語\nabcdef");
    e.set_cursor(1, 4);
    e.handle_key(key(KeyCode::Up));
    assert_eq!(e.cursor(), (0, "日本".len()));
    e.handle_key(key(KeyCode::Down));
    assert_eq!(e.cursor(), (1, 4));
}

#[test]
fn line_start_end_and_kills() {
    let mut e = typed("hello world");
    e.handle_key(ctrl('a'));
    assert_eq!(e.cursor(), (0, 0));
    e.handle_key(ctrl('e'));
    assert_eq!(e.cursor(), (0, 11));
    e.set_cursor(0, 5);
    e.handle_key(ctrl('k'));
    assert_eq!(e.text(), "hello");
    e.handle_key(ctrl('u'));
    assert_eq!(e.text(), "");
    let mut e = Editor::new();
    e.set_text("ab\ncd");
    e.set_cursor(0, 2);
    e.handle_key(ctrl('k'));
    assert_eq!(e.text(), "abcd", "Ctrl-K at a line's end joins the next");
}

#[test]
fn word_moves_and_deletes() {
    let mut e = typed("open src/main.rs now");
    e.handle_key(with(KeyCode::Left, KeyModifiers::ALT));
    assert_eq!(e.cursor(), (0, 17));
    e.handle_key(with(KeyCode::Left, KeyModifiers::CONTROL));
    assert_eq!(e.cursor(), (0, 14));
    e.handle_key(with(KeyCode::Right, KeyModifiers::CONTROL));
    assert_eq!(e.cursor(), (0, 16));
    e.handle_key(ctrl('e'));
    e.handle_key(key(KeyCode::Char(' ')));
    e.handle_key(ctrl('w'));
    assert_eq!(e.text(), "open src/main.rs ");
    e.handle_key(ctrl('w'));
    assert_eq!(e.text(), "open ");
    e.handle_key(with(KeyCode::Backspace, KeyModifiers::ALT));
    assert_eq!(e.text(), "");
    let mut e = typed("日本 語");
    e.handle_key(ctrl('w'));
    assert_eq!(e.text(), "日本 ");
}

#[test]
fn unused_keys_are_unhandled() {
    let mut e = typed("x");
    for k in [
        ctrl('c'),
        ctrl('d'),
        ctrl('o'),
        key(KeyCode::Esc),
        key(KeyCode::Tab),
    ] {
        assert_eq!(e.handle_key(k), EditOutcome::Unhandled, "{k:?}");
    }
    assert_eq!(e.text(), "x");
}

#[test]
fn paste_normalises_line_endings_and_keeps_tabs() {
    let mut e = typed("<>");
    e.set_cursor(0, 1);
    e.insert_str("a\r\nb\rc\n\td\u{1b}");
    assert_eq!(e.text(), "<a\nb\nc\n\td>");
    assert_eq!(e.cursor(), (3, 2));
    e.set_text("no newline");
    assert_eq!(e.cursor(), (0, 10));
}

#[test]
fn megabyte_paste_builds_every_line_and_renders_a_window() {
    let line = "0123456789 abcdefghijklmnopqrstuvwxyz\n";
    let count = 1_000_000 / line.len() + 1;
    let text = line.repeat(count);
    let mut e = Editor::new();
    e.insert_str(&text);
    assert_eq!(e.line_count(), count + 1);
    assert_eq!(e.cursor(), (count, 0));
    let (rows, cursor) = e.render(80, 10, "› ");
    assert_eq!(rows.len(), 10);
    assert_eq!(
        rows[0].text(),
        format!("  … {} more lines above", thousands(count - 8))
    );
    assert_eq!(cursor, (2, 9));
    e.set_cursor(0, 0);
    let (rows, cursor) = e.render(80, 10, "› ");
    assert_eq!(rows[0].text(), format!("› {}", line.trim_end()));
    assert!(rows[9].text().contains("more lines below"));
    assert_eq!(cursor, (2, 0));
}

#[test]
fn render_wraps_by_display_width_with_prompt_and_indent() {
    let mut e = Editor::new();
    e.set_text("abcdefgh\n日本語x");
    let (rows, cursor) = e.render(6, 10, "› ");
    assert_eq!(texts(&rows), ["› abcd", "  efgh", "  ", "  日本", "  語x"]);
    assert_eq!(cursor, (5, 4));
    e.set_cursor(0, 4);
    assert_eq!(e.render(6, 10, "› ").1, (2, 1));
    e.set_cursor(0, 8);
    assert_eq!(
        e.render(6, 10, "› ").1,
        (2, 2),
        "a full row pushes the cursor down"
    );
}

#[test]
fn render_scrolls_only_when_the_cursor_leaves_the_view() {
    let mut e = Editor::new();
    e.set_text(
        &(0..20)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let (rows, cursor) = e.render(20, 5, "> ");
    assert_eq!(
        texts(&rows),
        ["  … 16 more lines above", "  16", "  17", "  18", "  19"]
    );
    assert_eq!(cursor, (4, 4));
    e.set_cursor(18, 0);
    let (rows, _) = e.render(20, 5, "> ");
    assert_eq!(
        texts(&rows),
        [
            "  … 16 more lines above",
            "  16",
            "  17",
            "  18",
            "  … 1 more line below"
        ],
        "the view stays put"
    );
    e.set_cursor(2, 0);
    let (rows, cursor) = e.render(20, 5, "> ");
    assert_eq!(
        texts(&rows),
        [
            "  … 2 more lines above",
            "  2",
            "  3",
            "  4",
            "  … 15 more lines below"
        ]
    );
    assert_eq!(cursor, (2, 1));
    e.set_cursor(0, 0);
    let (rows, cursor) = e.render(20, 5, "> ");
    assert_eq!(
        texts(&rows),
        ["> 0", "  1", "  2", "  3", "  … 16 more lines below"]
    );
    assert_eq!(cursor, (2, 0));
}

#[test]
fn render_shows_part_of_one_huge_line() {
    let mut e = Editor::new();
    e.set_text(&"x".repeat(1000));
    let (rows, cursor) = e.render(12, 4, "› ");
    assert_eq!(rows.len(), 4);
    assert!(rows[0].text().contains("1 more line above"));
    assert_eq!(cursor.1, 3);
    let (rows, _) = e.render(12, 2, "› ");
    assert_eq!(rows.len(), 2);
}

#[test]
fn tabs_render_as_spaces() {
    let mut e = Editor::new();
    e.set_text("\tx");
    let (rows, cursor) = e.render(20, 3, "› ");
    assert_eq!(texts(&rows), ["›     x"]);
    assert_eq!(cursor, (7, 0));
}

#[test]
fn replace_in_line_and_offsets() {
    let mut e = Editor::new();
    e.set_text("one\nsee @sr now");
    e.set_cursor(1, 7);
    e.replace_in_line(4..7, "@src/main.rs");
    assert_eq!(e.text(), "one\nsee @src/main.rs now");
    assert_eq!(e.cursor(), (1, 16));
    assert_eq!(e.cursor_offset(), 20);
    e.set_cursor_offset(2);
    assert_eq!(e.cursor(), (0, 2));
    e.set_cursor(0, 99);
    assert_eq!(e.cursor(), (0, 3));
    assert!(!e.is_empty());
    e.clear();
    assert!(e.is_empty());
}

#[test]
fn thousands_separators() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1200), "1,200");
    assert_eq!(thousands(1_234_567), "1,234,567");
}
