//! Small pure formatting helpers shared by the widgets and the headless renderer:
//! token counts, costs, a tool call's one-line summary and a diff's line counts.

use cuervo_domain::Cost;
use serde_json::Value;

/// `read src/lib.rs`, `bash: cargo test`: the one thing a call is about.
pub fn call_summary(tool: &str, input: &Value) -> String {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    let subject = field("command")
        .or_else(|| field("path"))
        .or_else(|| field("pattern"))
        .unwrap_or("");
    if subject.is_empty() {
        tool.to_owned()
    } else {
        format!(
            "{tool} {}",
            truncate(subject.lines().next().unwrap_or(""), 120)
        )
    }
}

/// `s` cut to `max_chars` characters, with `…` when something was cut.
pub fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Lines a unified diff adds and removes (headers not counted).
pub fn diff_counts(diff: &str) -> (usize, usize) {
    diff.lines().fold((0, 0), |(a, r), line| {
        if line.starts_with('+') && !line.starts_with("+++") {
            (a + 1, r)
        } else if line.starts_with('-') && !line.starts_with("---") {
            (a, r + 1)
        } else {
            (a, r)
        }
    })
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `$0.0042` below a dollar, `$12.34` above; `unknown` without a price.
pub fn format_cost(cost: Option<Cost>) -> String {
    match cost {
        None => "unknown".into(),
        Some(c) if c.micro_usd < 1_000_000 => format!("${:.4}", c.usd()),
        Some(c) => format!("${:.2}", c.usd()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn costs_and_token_counts_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(format_cost(None), "unknown");
        assert_eq!(format_cost(Some(Cost { micro_usd: 4_200 })), "$0.0042");
        assert_eq!(
            format_cost(Some(Cost {
                micro_usd: 12_345_678
            })),
            "$12.35"
        );
    }

    #[test]
    fn call_summaries_name_the_subject_and_cut_long_ones() {
        assert_eq!(
            call_summary("read", &json!({"path": "src/a.rs"})),
            "read src/a.rs"
        );
        assert_eq!(
            call_summary("bash", &json!({"command": "cargo test\necho done"})),
            "bash cargo test"
        );
        assert_eq!(call_summary("ls", &json!({})), "ls");
        let long = "x".repeat(200);
        let summary = call_summary("grep", &json!({ "pattern": long }));
        assert_eq!(summary.chars().count(), "grep ".len() + 120 + 1);
        assert!(summary.ends_with('…'));
        assert_eq!(truncate("é", 1), "é");
    }

    #[test]
    fn diff_counts_skip_the_headers() {
        assert_eq!(diff_counts("--- a\n+++ b\n-x\n+y\n+z\n"), (2, 1));
    }
}
