//! A filterable list for choosing one thing (`/model`, `/resume`): type to narrow it down,
//! arrows to move, Enter to pick, Esc to back out.

use std::cell::Cell;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::complete::fuzzy_match;
use super::style::{Color, Line, Style};

/// Rows PageUp/PageDown move before the picker has been drawn once.
const DEFAULT_PAGE: usize = 10;

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerOutcome<T> {
    /// Enter on an item: its value. The item leaves the picker, which is done.
    Chosen(T),
    /// Esc or Ctrl-C: close without choosing.
    Cancelled,
    /// Still choosing.
    Pending,
}

/// One choice.
#[derive(Debug, Clone)]
struct Item<T> {
    label: String,
    detail: String,
    value: T,
}

/// A list selection widget.
#[derive(Debug, Clone)]
pub struct Picker<T> {
    title: String,
    items: Vec<Item<T>>,
    filter: String,
    /// Indices into `items` that match the filter, best first.
    visible: Vec<usize>,
    /// Index into `visible`.
    selected: usize,
    /// First visible row of the list at the last render, so the list scrolls only when the
    /// selection leaves it.
    top: Cell<usize>,
    /// List rows shown at the last render, for PageUp/PageDown.
    page: Cell<usize>,
}

impl<T> Picker<T> {
    /// A picker over `(label, detail, value)` items, in the order given, first selected.
    pub fn new(title: impl Into<String>, items: Vec<(String, String, T)>) -> Self {
        let items: Vec<Item<T>> = items
            .into_iter()
            .map(|(label, detail, value)| Item {
                label,
                detail,
                value,
            })
            .collect();
        let visible = (0..items.len()).collect();
        Self {
            title: title.into(),
            items,
            filter: String::new(),
            visible,
            selected: 0,
            top: Cell::new(0),
            page: Cell::new(DEFAULT_PAGE),
        }
    }

    /// Selects the first item whose value satisfies `pred` (the current model, say).
    pub fn select_where(&mut self, pred: impl Fn(&T) -> bool) {
        if let Some(pos) = self
            .visible
            .iter()
            .position(|&i| pred(&self.items[i].value))
        {
            self.selected = pos;
        }
    }

    /// The filter typed so far.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The highlighted item's value.
    pub fn selected_value(&self) -> Option<&T> {
        self.visible
            .get(self.selected)
            .map(|&i| &self.items[i].value)
    }

    /// Labels of the items that pass the filter, in display order.
    pub fn visible_labels(&self) -> Vec<&str> {
        self.visible
            .iter()
            .map(|&i| self.items[i].label.as_str())
            .collect()
    }

    /// Handles one key; see [`PickerOutcome`].
    pub fn handle_key(&mut self, key: KeyEvent) -> PickerOutcome<T> {
        if key.kind == KeyEventKind::Release {
            return PickerOutcome::Pending;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let page = self.page.get().max(1);
        match key.code {
            KeyCode::Esc => return PickerOutcome::Cancelled,
            KeyCode::Char('c') if ctrl => return PickerOutcome::Cancelled,
            KeyCode::Enter => {
                if let Some(&index) = self.visible.get(self.selected) {
                    let item = self.items.remove(index);
                    self.refilter();
                    return PickerOutcome::Chosen(item.value);
                }
            }
            KeyCode::Up => self.move_by(-1),
            KeyCode::Char('p') if ctrl => self.move_by(-1),
            KeyCode::Down => self.move_by(1),
            KeyCode::Char('n') if ctrl => self.move_by(1),
            KeyCode::PageUp => self.move_by(-(page as isize)),
            KeyCode::PageDown => self.move_by(page as isize),
            KeyCode::Home => self.selected = 0,
            KeyCode::End => self.selected = self.visible.len().saturating_sub(1),
            KeyCode::Backspace if !self.filter.is_empty() => {
                self.filter.pop();
                self.refilter();
            }
            KeyCode::Char('u') if ctrl => {
                self.filter.clear();
                self.refilter();
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.filter.push(c);
                self.refilter();
            }
            _ => {}
        }
        PickerOutcome::Pending
    }

    fn move_by(&mut self, delta: isize) {
        let last = self.visible.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// Matches the label, or failing that the detail at a discount, so a provider name
    /// in the detail still finds its models.
    fn refilter(&mut self) {
        self.selected = 0;
        self.top.set(0);
        if self.filter.trim().is_empty() {
            self.visible = (0..self.items.len()).collect();
            return;
        }
        let mut scored: Vec<(i64, usize)> = self
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                fuzzy_match(&self.filter, &item.label)
                    .or_else(|| fuzzy_match(&self.filter, &item.detail).map(|s| s / 2 - 100))
                    .map(|s| (s, i))
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.visible = scored.into_iter().map(|(_, i)| i).collect();
    }

    /// Draws the title, the filter line and as many items as fit in `max_rows`, the
    /// selected one marked `❯` and bold; the list scrolls to keep it in view.
    pub fn render(&self, width: usize, max_rows: usize) -> Vec<Line> {
        let mut rows = Vec::new();
        let count = if self.filter.is_empty() {
            String::new()
        } else {
            format!(" ({}/{})", self.visible.len(), self.items.len())
        };
        let mut title = Line::styled(self.title.clone(), Style::PLAIN.bold());
        title.push(count, Style::PLAIN.dim());
        rows.push(title.truncate(width));
        let mut filter = Line::styled("› ", Style::fg(Color::Cyan).bold());
        if self.filter.is_empty() {
            filter.push("type to filter", Style::PLAIN.dim());
        } else {
            filter.push(self.filter.clone(), Style::PLAIN);
        }
        rows.push(filter.truncate(width));

        let list_rows = max_rows.saturating_sub(rows.len()).max(1);
        if self.visible.is_empty() {
            rows.push(Line::styled("  no matches", Style::PLAIN.dim()));
            return rows;
        }
        let more = self.visible.len() > list_rows;
        // A scrolled list gives up a row to say where it is.
        let shown = if more && list_rows > 2 {
            list_rows - 1
        } else {
            list_rows
        };
        let mut top = self.top.get().min(self.visible.len().saturating_sub(shown));
        if self.selected < top {
            top = self.selected;
        } else if self.selected >= top + shown {
            top = self.selected + 1 - shown;
        }
        self.top.set(top);
        self.page.set(shown);
        let label_width = self
            .visible
            .iter()
            .skip(top)
            .take(shown)
            .map(|&i| Line::plain(self.items[i].label.clone()).width())
            .max()
            .unwrap_or(0)
            .min(width / 2);
        for (pos, &i) in self.visible.iter().enumerate().skip(top).take(shown) {
            let item = &self.items[i];
            let selected = pos == self.selected;
            let mut row = Line::empty();
            if selected {
                row.push("❯ ", Style::fg(Color::Cyan).bold());
                row.push(item.label.clone(), Style::fg(Color::Cyan).bold());
            } else {
                row.push("  ", Style::PLAIN);
                row.push(item.label.clone(), Style::PLAIN);
            }
            if !item.detail.is_empty() {
                let pad = label_width.saturating_sub(Line::plain(item.label.clone()).width());
                row.push(" ".repeat(pad + 2), Style::PLAIN);
                row.push(item.detail.clone(), Style::PLAIN.dim());
            }
            rows.push(row.truncate(width));
        }
        if shown < self.visible.len() && shown < list_rows {
            rows.push(Line::styled(
                format!("  {}/{}", self.selected + 1, self.visible.len()),
                Style::PLAIN.dim(),
            ));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn models() -> Picker<String> {
        let items = [
            ("claude-sonnet-4", "anthropic"),
            ("gpt-4o", "openai"),
            ("gpt-4o-mini", "openai"),
            ("llama3.2", "ollama"),
        ]
        .iter()
        .map(|(l, d)| (l.to_string(), d.to_string(), format!("{d}/{l}")))
        .collect();
        Picker::new("Switch model", items)
    }

    fn type_str(p: &mut Picker<String>, s: &str) {
        for c in s.chars() {
            assert_eq!(p.handle_key(key(KeyCode::Char(c))), PickerOutcome::Pending);
        }
    }

    #[test]
    fn enter_chooses_the_selected_value() {
        let mut p = models();
        p.handle_key(key(KeyCode::Down));
        assert_eq!(
            p.selected_value().map(String::as_str),
            Some("openai/gpt-4o")
        );
        assert_eq!(
            p.handle_key(key(KeyCode::Enter)),
            PickerOutcome::Chosen("openai/gpt-4o".to_string())
        );
        assert_eq!(
            models().handle_key(key(KeyCode::Esc)),
            PickerOutcome::Cancelled
        );
        assert_eq!(
            models().handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            PickerOutcome::Cancelled
        );
        assert_eq!(
            models().handle_key(key(KeyCode::F(1))),
            PickerOutcome::Pending
        );
    }

    #[test]
    fn typing_filters_fuzzily_and_backspace_widens() {
        let mut p = models();
        type_str(&mut p, "4omini");
        assert_eq!(p.visible_labels(), ["gpt-4o-mini"]);
        p.handle_key(key(KeyCode::Backspace));
        p.handle_key(key(KeyCode::Backspace));
        p.handle_key(key(KeyCode::Backspace));
        p.handle_key(key(KeyCode::Backspace));
        assert_eq!(p.filter(), "4o");
        assert_eq!(p.visible_labels(), ["gpt-4o", "gpt-4o-mini"]);
        p.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        type_str(&mut p, "olla");
        assert_eq!(p.visible_labels(), ["llama3.2"], "details match too");
        type_str(&mut p, "zzz");
        assert!(p.visible_labels().is_empty());
        assert_eq!(p.handle_key(key(KeyCode::Enter)), PickerOutcome::Pending);
        assert!(
            p.render(40, 10)
                .iter()
                .any(|l| l.text().contains("no matches"))
        );
    }

    #[test]
    fn movement_keys_clamp() {
        let mut p = models();
        p.handle_key(key(KeyCode::Up));
        assert_eq!(p.selected, 0);
        p.handle_key(key(KeyCode::End));
        assert_eq!(p.selected, 3);
        p.handle_key(key(KeyCode::Down));
        assert_eq!(p.selected, 3);
        p.handle_key(key(KeyCode::Home));
        p.handle_key(key(KeyCode::PageDown));
        assert_eq!(p.selected, 3);
        p.handle_key(key(KeyCode::PageUp));
        assert_eq!(p.selected, 0);
        p.select_where(|v| v.ends_with("llama3.2"));
        assert_eq!(p.selected, 3);
    }

    #[test]
    fn renders_marker_and_scrolls() {
        let items: Vec<(String, String, usize)> = (0..30)
            .map(|i| (format!("item {i}"), format!("detail {i}"), i))
            .collect();
        let mut p = Picker::new("Pick", items);
        let rows = p.render(40, 8);
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[0].text(), "Pick");
        assert_eq!(rows[1].text(), "› type to filter");
        assert_eq!(rows[2].text(), "❯ item 0  detail 0");
        assert_eq!(rows[3].text(), "  item 1  detail 1");
        assert_eq!(rows[7].text(), "  1/30");
        assert!(rows[2].spans.iter().any(|s| s.style.bold));
        for _ in 0..10 {
            p.handle_key(key(KeyCode::Down));
        }
        let rows = p.render(40, 8);
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[6].text(), "❯ item 10  detail 10");
        assert_eq!(rows[2].text(), "  item 6   detail 6");
        p.handle_key(key(KeyCode::PageDown));
        assert_eq!(p.selected, 15, "a page is the rows shown");
        p.handle_key(key(KeyCode::End));
        let rows = p.render(40, 8);
        assert_eq!(rows[6].text(), "❯ item 29  detail 29");
        assert_eq!(rows[7].text(), "  30/30");
    }

    #[test]
    fn long_rows_are_truncated() {
        let p = Picker::new("T", vec![("x".repeat(100), "y".repeat(100), ())]);
        for row in p.render(30, 5) {
            assert!(row.width() <= 30, "{}", row.text());
        }
    }
}
