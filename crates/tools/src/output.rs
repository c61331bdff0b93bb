//! Keeping tool output within the model's budget without breaking text.
//!
//! Everything a tool returns goes into the context window, so every tool caps what it
//! returns at `ToolContext::output_limit` bytes, cuts only at UTF-8 character
//! boundaries (preferably at line ends), and says what it left out and how to get it.

/// The longest prefix of `s` that is at most `max_bytes` long and ends on a character
/// boundary.
pub fn truncate_str(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The longest suffix of `s` that is at most `max_bytes` long and starts on a character
/// boundary.
pub fn truncate_start(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut start = s.len() - max_bytes;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Caps `s` at `limit` bytes, keeping the beginning. When something is cut, the cut is
/// moved back to the last line end if one is reasonably close, and a note saying how
/// much was shown plus `hint` (what to do to see the rest) is appended. The result,
/// note included, fits in `limit` whenever `limit` has room for the note.
pub fn cap_head(s: String, limit: usize, hint: &str) -> String {
    if s.len() <= limit {
        return s;
    }
    let total = s.len();
    let note_for = |shown: usize| {
        let mut n = format!("\n… output truncated: showed {shown} of {total} bytes.");
        if !hint.is_empty() {
            n.push(' ');
            n.push_str(hint);
        }
        n
    };
    // Reserve room for the longest note this could produce.
    let budget = limit.saturating_sub(note_for(total).len());
    let mut kept = truncate_str(&s, budget);
    if let Some(nl) = kept.rfind('\n')
        && nl >= kept.len() / 2
    {
        kept = &kept[..nl];
    }
    let mut out = kept.to_owned();
    out.push_str(&note_for(kept.len()));
    out
}

/// Caps `s` at `limit` bytes keeping its beginning and end (where a command's errors
/// and summary usually are) and eliding the middle with a note.
pub fn elide_middle(s: &str, limit: usize) -> String {
    if s.len() <= limit {
        return s.to_owned();
    }
    let note = elision_note(s.len().saturating_sub(limit));
    let budget = limit.saturating_sub(note.len() + 24);
    let head = truncate_str(s, budget / 2);
    let tail = truncate_start(s, budget - budget / 2);
    let elided = s.len() - head.len() - tail.len();
    format!("{head}{}{tail}", elision_note(elided))
}

fn elision_note(bytes: usize) -> String {
    format!("\n… [{bytes} bytes elided] …\n")
}

/// A byte sink for unbounded streams (a command's output) that keeps only the first and
/// the last part, so memory stays bounded however much a command prints.
#[derive(Debug)]
pub struct HeadTail {
    limit: usize,
    head: Vec<u8>,
    /// A ring buffer of the most recent bytes once `head` is full; `tail_start` is the
    /// index of the oldest byte.
    tail: Vec<u8>,
    tail_start: usize,
    total: usize,
}

impl HeadTail {
    /// Keeps at most `limit` bytes: half from the start, half from the end.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            head: Vec::new(),
            tail: Vec::new(),
            tail_start: 0,
            total: 0,
        }
    }

    /// All bytes ever pushed, kept or not.
    pub fn total(&self) -> usize {
        self.total
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len();
        let head_cap = self.limit / 2;
        let tail_cap = self.limit - head_cap;
        if self.head.len() < head_cap {
            let n = bytes.len().min(head_cap - self.head.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if tail_cap == 0 || bytes.is_empty() {
            return;
        }
        if bytes.len() >= tail_cap {
            self.tail.clear();
            self.tail
                .extend_from_slice(&bytes[bytes.len() - tail_cap..]);
            self.tail_start = 0;
            return;
        }
        for &b in bytes {
            if self.tail.len() < tail_cap {
                self.tail.push(b);
            } else {
                self.tail[self.tail_start] = b;
                self.tail_start = (self.tail_start + 1) % tail_cap;
            }
        }
    }

    /// The kept text, with a note in the middle when bytes were dropped. Invalid UTF-8
    /// is replaced, and a character cut by the elision is dropped rather than mangled.
    pub fn render(&self) -> String {
        let mut tail = Vec::with_capacity(self.tail.len());
        tail.extend_from_slice(&self.tail[self.tail_start..]);
        tail.extend_from_slice(&self.tail[..self.tail_start]);
        let kept = self.head.len() + tail.len();
        if kept == self.total {
            let mut all = self.head.clone();
            all.extend_from_slice(&tail);
            return String::from_utf8_lossy(&all).into_owned();
        }
        let head = trim_partial_end(&self.head);
        let tail = trim_partial_start(&tail);
        format!(
            "{}{}{}",
            String::from_utf8_lossy(head),
            elision_note(self.total - head.len() - tail.len()),
            String::from_utf8_lossy(tail)
        )
    }
}

/// Drops an incomplete UTF-8 sequence at the end of `b`.
fn trim_partial_end(b: &[u8]) -> &[u8] {
    // A sequence is at most 4 bytes; look back for its lead byte.
    for back in 1..=b.len().min(4) {
        let byte = b[b.len() - back];
        if byte & 0xC0 != 0x80 {
            let needed = match byte {
                0x00..=0x7F => 1,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            return if needed > back {
                &b[..b.len() - back]
            } else {
                b
            };
        }
    }
    b
}

/// Drops UTF-8 continuation bytes at the start of `b` (the rest of a cut character).
fn trim_partial_start(b: &[u8]) -> &[u8] {
    let skip = b.iter().take(3).take_while(|&&x| x & 0xC0 == 0x80).count();
    &b[skip..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        let s = "aé€😀";
        assert_eq!(truncate_str(s, 2), "a");
        assert_eq!(truncate_str(s, 3), "aé");
        assert_eq!(truncate_str(s, 100), s);
        assert_eq!(truncate_start(s, 5), "😀");
        assert_eq!(truncate_start(s, 7), "€😀");
    }

    #[test]
    fn cap_head_keeps_whole_lines_and_says_what_to_do() {
        let s: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let out = cap_head(s.clone(), 300, "narrow the search.");
        assert!(out.len() <= 300, "{}", out.len());
        assert!(out.starts_with("line 0\nline 1\n"));
        assert!(out.contains("output truncated"));
        assert!(out.ends_with("narrow the search."));
        let before_note = out.split("\n… output").next().expect("head");
        assert!(
            before_note.ends_with(|c: char| c.is_ascii_digit()),
            "{before_note:?}"
        );
        assert_eq!(cap_head("short".into(), 300, "x"), "short");
    }

    #[test]
    fn elide_middle_keeps_both_ends() {
        let s = format!("START{}END", "x".repeat(1000));
        let out = elide_middle(&s, 200);
        assert!(out.len() <= 200, "{}", out.len());
        assert!(out.starts_with("START") && out.ends_with("END"));
        assert!(out.contains("bytes elided"));
        assert_eq!(elide_middle("abc", 10), "abc");
    }

    #[test]
    fn head_tail_bounds_memory_and_keeps_ends() {
        let mut ht = HeadTail::new(10);
        ht.push(b"abc");
        assert_eq!(ht.render(), "abc");
        ht.push(b"defgh");
        ht.push(b"ijklmnop");
        ht.push(b"qrstuvwxyz");
        assert_eq!(ht.total(), 26);
        let out = ht.render();
        assert!(out.starts_with("abcde"), "{out}");
        assert!(out.ends_with("vwxyz"), "{out}");
        assert!(out.contains("[16 bytes elided]"), "{out}");
        // Byte by byte gives the same result as big chunks.
        let mut ht2 = HeadTail::new(10);
        for b in b"abcdefghijklmnopqrstuvwxyz" {
            ht2.push(&[*b]);
        }
        assert_eq!(ht2.render(), out);
    }

    #[test]
    fn head_tail_never_splits_characters() {
        let mut ht = HeadTail::new(8);
        ht.push("ééééé€€€€€".as_bytes());
        let out = ht.render();
        assert!(!out.contains('\u{FFFD}'), "{out}");
        assert!(out.starts_with("éé") && out.ends_with('€'), "{out}");
    }
}
