use super::*;

fn texts(lines: &[Line]) -> Vec<String> {
    lines.iter().map(Line::text).collect()
}

fn r(md: &str) -> Vec<String> {
    texts(&render(md, 60))
}

/// The style of the first span containing `needle`.
fn style_of(lines: &[Line], needle: &str) -> Style {
    lines
        .iter()
        .flat_map(|l| &l.spans)
        .find(|s| s.text.contains(needle))
        .map(|s| s.style)
        .unwrap_or_else(|| panic!("{needle:?} not found in {:?}", texts(lines)))
}

const DOCS: [&str; 6] = [
    "# Title\n\nSome **bold** and *italic* and `code` text.\n\n## Sub\n\n- one\n- two\n  - nested *x*\n- [x] done\n- [ ] todo\n\n1. first\n2. second\n\n> quoted **text**\n> > nested\n\n---\n\n```rust\nfn main() {\n    println!(\"hi\"); // é\n}\n```\n\n| Name | Value |\n|:-----|------:|\n| a | 1 |\n| long name é | 22 |\n\nAfter table with [a link](https://example.com) and <https://x.io>.\n",
    "Intro line\n\n\n\nParagraph with snake_case_name and ~~struck~~ and __strong__ _em_.\nunclosed **bold at end",
    "```\nno lang\n\n  indented\n```\ntext after\n~~~python\ndef f():\n    return 'x'\n~~~\n* star item\n+ plus item\n\n    indented code\n\n日本語 **太字** テキスト\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\nnot a row\n| x |\nplain | pipe\n\n> quote\n>\n> more\n\n### H3 ###\n#### H4\n1) paren\n10. ten\n",
    "- item\n  ```bash\n  echo hi\n  ```\n- next\ncontinued lazily\n\nEscapes: \\*not italic\\* and \\`not code\\` and a \\\\ backslash. &amp; &lt;tag&gt;",
    "unterminated ```\n```js\nconst a = `x`;\n",
];

fn stream(doc: &str, pieces: &[&str]) -> Vec<Line> {
    let mut s = MarkdownStream::new(60);
    let mut out = Vec::new();
    for piece in pieces {
        out.extend(s.push(piece));
        // Exercise the preview path too; it must not disturb the state.
        let _ = s.pending();
    }
    out.extend(s.finish());
    assert!(s.pending().is_empty(), "stream not reset for {doc:?}");
    out
}

#[test]
fn streaming_matches_whole_rendering_at_every_split() {
    for doc in DOCS {
        let whole = render(doc, 60);
        let boundaries: Vec<usize> = (0..=doc.len())
            .filter(|i| doc.is_char_boundary(*i))
            .collect();
        for &at in &boundaries {
            let (a, b) = doc.split_at(at);
            assert_eq!(stream(doc, &[a, b]), whole, "split at {at} of {doc:?}");
        }
        let chars: Vec<String> = doc.chars().map(String::from).collect();
        let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(stream(doc, &pieces), whole, "char by char: {doc:?}");
    }
}

#[test]
fn headings() {
    let lines = render("# One\n## Two `x`\n###### Six\n#nohash", 60);
    assert_eq!(texts(&lines), ["One", "Two x", "Six", "#nohash"]);
    let h1 = style_of(&lines, "One");
    assert!(h1.bold && h1.underline && h1.fg.is_some());
    let h2 = style_of(&lines, "Two");
    assert!(h2.bold && h2.fg.is_some());
    let code = style_of(&lines, "x");
    assert_eq!(code.fg, Some(CODE));
    assert!(code.bold);
}

#[test]
fn paragraphs_and_blank_lines() {
    assert_eq!(
        r("\n\nfirst\nsecond\n\n\n\nthird\n\n"),
        ["first", "second", "", "third"]
    );
}

#[test]
fn lists() {
    assert_eq!(
        r("- a\n- b\n  - c\n    - d\n  - e\n- f\n  more\n\n1. one\n2. two\n   - x"),
        [
            "• a",
            "• b",
            "  ◦ c",
            "    ▪ d",
            "  ◦ e",
            "• f",
            "  more",
            "",
            "1. one",
            "2. two",
            "   ◦ x"
        ]
    );
    assert_eq!(r("* a\n+ b"), ["• a", "• b"]);
    assert_eq!(r("- [ ] todo\n- [x] done"), ["☐ todo", "✔ done"]);
    assert_eq!(style_of(&render("- a", 60), "•"), MARKER);
    assert_eq!(
        r("- item\n\n  continued para\n\nout of list"),
        ["• item", "", "  continued para", "", "out of list"]
    );
    // Not list items.
    assert_eq!(r("-not\n2.5 apples"), ["-not", "2.5 apples"]);
}

#[test]
fn quotes() {
    let lines = render("> a **b**\n>\n> > c\n\n> d", 60);
    assert_eq!(texts(&lines), ["│ a b", "│", "│ │ c", "", "│ d"]);
    assert_eq!(lines[0].spans[0].style, BAR);
    assert!(style_of(&lines, "b").bold);
    assert_eq!(
        r("> - x\n> ```\n> code\n> ```"),
        ["│ • x", "│ ──", "│ code", "│ ──"]
    );
}

#[test]
fn rules() {
    let lines = render("a\n\n---\n***\n_ _ _", 200);
    assert_eq!(lines[2].text(), "─".repeat(MAX_RULE));
    assert_eq!(lines[3].text(), "─".repeat(MAX_RULE));
    assert_eq!(lines[4].text(), "─".repeat(MAX_RULE));
    assert_eq!(render("---", 30)[0].text(), "─".repeat(30));
    assert!(lines[2].spans[0].style.dim);
}

#[test]
fn code_blocks() {
    let lines = render(
        "```rust,ignore\nfn main() {\n\tlet s = \"x\"; // c\n}\n```\nafter",
        60,
    );
    assert_eq!(
        texts(&lines),
        [
            "── rust",
            "fn main() {",
            "    let s = \"x\"; // c",
            "}",
            "──",
            "after"
        ]
    );
    assert_eq!(style_of(&lines, "fn").fg, Some(Color::Magenta));
    assert_eq!(style_of(&lines, "\"x\"").fg, Some(Color::Green));
    assert_eq!(style_of(&lines, "// c").fg, Some(Color::Grey));
    // Markup inside code is literal.
    assert_eq!(
        r("~~~\n**not bold** # no\n| a | b |\n|---|---|\n~~~"),
        ["──", "**not bold** # no", "| a | b |", "|---|---|", "──"]
    );
    // A longer closing fence closes; a shorter one is content.
    assert_eq!(r("````\n```\n`````"), ["──", "```", "──"]);
    // An unterminated block ends with the answer.
    assert_eq!(r("```py\nx = 1"), ["── py", "x = 1", "──"]);
    // Inline triple backticks on one line are a code span, not a fence.
    assert_eq!(r("```a```"), ["a"]);
}

#[test]
fn code_lines_are_committed_as_they_complete() {
    let mut s = MarkdownStream::new(60);
    assert_eq!(
        texts(&s.push("```rust\nlet a = 1;\nlet b")),
        ["── rust", "let a = 1;"]
    );
    assert_eq!(texts(&s.pending()), ["let b"]);
    let committed = s.push(" = 2;\n");
    assert_eq!(texts(&committed), ["let b = 2;"]);
    assert_eq!(style_of(&committed, "let").fg, Some(Color::Magenta));
    assert!(s.pending().is_empty());
}

#[test]
fn long_code_blocks_stay_highlighted_across_context_restarts() {
    let mut doc = String::from("```rust\n");
    for i in 0..100 {
        doc.push_str(&format!(
            "fn f{i}(x: u32) -> u32 {{\n    let s = \"{i}\"; // c\n    x\n}}\n\n"
        ));
    }
    doc.push_str("fn main() {\n");
    for i in 0..200 {
        doc.push_str(&format!("    let y{i} = \"s\"; // c\n"));
    }
    doc.push_str("}\n```\n");
    let lines = render(&doc, 80);
    for line in &lines {
        for span in &line.spans {
            let expected = match span.text.as_str() {
                "fn" | "let" => Some(Color::Magenta),
                "// c" => Some(Color::Grey),
                t if t.starts_with('"') => Some(Color::Green),
                _ => continue,
            };
            assert_eq!(
                span.style.fg,
                expected,
                "{:?} in {:?}",
                span.text,
                line.text()
            );
        }
    }
}

#[test]
fn tables() {
    let lines = render(
        "| Name | Qty |\n|:-----|----:|\n| apple | 3 |\n| **kiwi** | 12 |\n\nafter",
        60,
    );
    assert_eq!(
        texts(&lines),
        [
            "┌───────┬─────┐",
            "│ Name  │ Qty │",
            "├───────┼─────┤",
            "│ apple │   3 │",
            "│ kiwi  │  12 │",
            "└───────┴─────┘",
            "",
            "after"
        ]
    );
    assert!(style_of(&lines, "Name").bold);
    assert!(style_of(&lines, "kiwi").bold);
    assert_eq!(style_of(&lines, "┌").fg, Some(Color::Grey));
    // Wide characters are measured in columns; centred alignment; no outer pipes.
    assert_eq!(
        r("a|日本\n:-:|---\nxyz|b"),
        [
            "┌─────┬──────┐",
            "│  a  │ 日本 │",
            "├─────┼──────┤",
            "│ xyz │ b    │",
            "└─────┴──────┘"
        ]
    );
    // A pipe line without a delimiter row is a paragraph.
    assert_eq!(r("a | b\nc"), ["a | b", "c"]);
    // Escaped pipes stay in the cell.
    assert_eq!(r("|a|\n|-|\n|x \\| y|")[3], "│ x | y │");
}

#[test]
fn wide_tables_wrap_cells_to_fit() {
    let doc =
        "| k | description |\n|---|---|\n| a | the quick brown fox jumps over the lazy dog |\n";
    let lines = render(doc, 30);
    for line in &lines {
        assert!(line.width() <= 30, "{:?}", line.text());
    }
    assert!(lines.len() > 5);
    let all: String = texts(&lines).join(" ");
    assert!(all.contains("lazy"));
}

#[test]
fn long_tables_flush_early() {
    let mut doc = String::from("| n | sq |\n|---|---|\n");
    for i in 0..120 {
        doc.push_str(&format!("| {i} | {} |\n", i * i));
    }
    let mut s = MarkdownStream::new(80);
    let committed = s.push(&doc);
    // Flushed at 50 rows, then each row as it arrives.
    assert!(committed.len() >= 120, "{}", committed.len());
    assert!(s.pending().len() <= PENDING_MAX_LINES);
    let rest = s.finish();
    assert_eq!(texts(&rest), ["└────┴──────┘"]);
}

#[test]
fn inline_styles() {
    let lines = render(
        "**b** *i* __B__ _I_ ~~s~~ `c` [t](http://u) <https://v.io> foo_bar_baz 2 * 3 * 4",
        200,
    );
    assert_eq!(
        lines[0].text(),
        "b i B I s c t (http://u) https://v.io foo_bar_baz 2 * 3 * 4"
    );
    assert!(style_of(&lines, "b").bold);
    assert!(style_of(&lines, "i").italic);
    assert!(style_of(&lines, "B").bold);
    assert!(style_of(&lines, "I").italic);
    assert!(style_of(&lines, "s").dim);
    assert_eq!(style_of(&lines, "c").fg, Some(CODE));
    assert!(style_of(&lines, "t").underline);
    assert!(style_of(&lines, " (http://u)").dim);
    assert!(style_of(&lines, "https://v.io").underline);
    assert_eq!(style_of(&lines, "foo_bar_baz"), Style::PLAIN);
    assert_eq!(r("***both***"), ["both"]);
    let both = style_of(&render("***both***", 60), "both");
    assert!(both.bold && both.italic);
    assert_eq!(r("**a *b* c**"), ["a b c"]);
    assert!(style_of(&render("**a *b* c**", 60), "b").italic);
}

#[test]
fn literal_markup_survives() {
    assert_eq!(r("an **unclosed"), ["an **unclosed"]);
    assert_eq!(r("a `tick"), ["a `tick"]);
    assert_eq!(r("\\*x\\* \\# \\[y\\]"), ["*x* # [y]"]);
    assert_eq!(r("[not a link] (x)"), ["[not a link] (x)"]);
    assert_eq!(r("a < b > c & d"), ["a < b > c & d"]);
    assert_eq!(r("~approx~"), ["~approx~"]);
    assert_eq!(r("[https://a.b](https://a.b)"), ["https://a.b"]);
    assert_eq!(r("![alt](img.png)"), ["alt (img.png)"]);
    assert_eq!(r("[x](<a b> \"title\")"), ["x (a b)"]);
    assert_eq!(r("[a [b] c](u)"), ["a [b] c (u)"]);
    assert_eq!(r("`` a`b ``"), ["a`b"]);
}

#[test]
fn pending_shows_the_partial_line_with_styles() {
    let mut s = MarkdownStream::new(60);
    assert!(s.push("Hello **wor").is_empty());
    let pending = s.pending();
    assert_eq!(texts(&pending), ["Hello wor"]);
    assert!(style_of(&pending, "wor").bold);
    assert!(s.push("ld** and `co").is_empty());
    let pending = s.pending();
    assert_eq!(texts(&pending), ["Hello world and co"]);
    assert!(style_of(&pending, "world").bold);
    assert_eq!(style_of(&pending, "co").fg, Some(CODE));
    // A trailing delimiter is hidden rather than flashed.
    s.push("de` **");
    assert_eq!(texts(&s.pending()), ["Hello world and code"]);
    let done = s.push("x**\n");
    assert_eq!(texts(&done), ["Hello world and code x"]);
    // A heading in progress.
    s.push("## Head");
    let pending = s.pending();
    assert_eq!(texts(&pending), ["Head"]);
    assert!(pending[0].spans[0].style.bold);
}

#[test]
fn pending_shows_a_table_being_received() {
    let mut s = MarkdownStream::new(60);
    assert!(s.push("| a | b |\n").is_empty());
    assert_eq!(texts(&s.pending()), ["| a | b |"]);
    assert!(s.push("|---|---|\n| 1 | 2 |\n| 3").is_empty());
    let pending = texts(&s.pending());
    assert_eq!(pending.first().map(String::as_str), Some("┌───┬───┐"));
    assert!(pending.contains(&"│ 1 │ 2 │".to_owned()));
    assert!(pending.contains(&"│ 3 │   │".to_owned()));
    let lines = s.push("|\nafter\n");
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[6].text(), "after");
}

#[test]
fn pending_is_short() {
    let mut s = MarkdownStream::new(60);
    let mut doc = String::from("| a |\n|---|\n");
    for i in 0..40 {
        doc.push_str(&format!("| {i} |\n"));
    }
    s.push(&doc);
    assert_eq!(s.pending().len(), PENDING_MAX_LINES);
}

#[test]
fn utf8_is_never_split() {
    let doc = "é**ü**日本\n| ä | ö |\n|---|---|\n| 😀 | ß |\n";
    let whole = render(doc, 60);
    let mut s = MarkdownStream::new(60);
    let mut out = Vec::new();
    for c in doc.chars() {
        out.extend(s.push(&c.to_string()));
        let _ = s.pending();
    }
    out.extend(s.finish());
    assert_eq!(out, whole);
    assert_eq!(whole[0].text(), "éü日本");
}

#[test]
fn crlf_line_endings() {
    assert_eq!(r("# a\r\n\r\n- b\r\n"), ["a", "", "• b"]);
}

#[test]
fn large_answers_stream_in_small_deltas() {
    let mut doc = String::new();
    let mut i = 0;
    while doc.len() < 200_000 {
        doc.push_str(&format!(
            "## Section {i}\n\nSome **bold** text with `code` and a [link](http://x/{i}).\n\n- item {i}\n- item *two*\n\n```rust\nfn f{i}() -> u32 {{ {i} }}\n```\n\n| a | b |\n|---|---|\n| {i} | x |\n\n"
        ));
        i += 1;
    }
    let mut s = MarkdownStream::new(80);
    let mut lines = 0;
    let bytes = doc.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let mut end = (at + 10).min(bytes.len());
        while !doc.is_char_boundary(end) {
            end += 1;
        }
        lines += s.push(&doc[at..end]).len();
        at = end;
    }
    lines += s.finish().len();
    assert!(lines > 10_000);
}

#[test]
fn width_changes_apply_to_later_output() {
    let mut s = MarkdownStream::new(100);
    let first = s.push("---\n");
    s.set_width(10);
    let second = s.push("---\n");
    assert_eq!(first[0].width(), MAX_RULE);
    assert_eq!(second[0].width(), 10);
}
