//! An incremental newline-delimited JSON parser (Ollama's streaming format).
//!
//! Like [`crate::sse`], it keeps the incomplete line as bytes and decodes only whole lines,
//! so the lines it returns do not depend on how the network split the input: a piece may
//! end mid-line, between `\r` and `\n`, or inside a multi-byte character. Lines end with
//! `\n` (a `\r` before it is dropped); blank lines are skipped. JSON text never contains a
//! raw newline, so a line is always one whole value.

/// Push-style parser: [`NdjsonParser::feed`] bytes as they arrive, get whole lines back.
#[derive(Debug, Default)]
pub struct NdjsonParser {
    line: Vec<u8>,
}

impl NdjsonParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes `bytes` and returns the non-blank lines they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            let line = std::mem::take(&mut self.line);
            if let Some(line) = decode(&line) {
                lines.push(line);
            }
        }
        self.line.extend_from_slice(rest);
        lines
    }

    /// The input ended: the last line, if it was not terminated by a newline. The caller
    /// decides whether it is whole (it parses) or the tail of a cut stream.
    pub fn finish(&mut self) -> Option<String> {
        let line = std::mem::take(&mut self.line);
        decode(&line)
    }

    /// Whether bytes of an unterminated line are buffered.
    pub fn has_partial_line(&self) -> bool {
        !self.line.iter().all(u8::is_ascii_whitespace)
    }
}

fn decode(line: &[u8]) -> Option<String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const SAMPLE: &str = "{\"message\":{\"content\":\"héllo 🦀\"},\"done\":false}\r\n\
        \n\
        {\"message\":{\"content\":\" 世界\"},\"done\":false}\n\
        {\"done\":true,\"eval_count\":3}\n";

    fn expected() -> Vec<String> {
        vec![
            "{\"message\":{\"content\":\"héllo 🦀\"},\"done\":false}".into(),
            "{\"message\":{\"content\":\" 世界\"},\"done\":false}".into(),
            "{\"done\":true,\"eval_count\":3}".into(),
        ]
    }

    #[test]
    fn every_split_point_gives_the_same_lines() {
        let bytes = SAMPLE.as_bytes();
        for at in 0..=bytes.len() {
            let mut parser = NdjsonParser::new();
            let mut lines = parser.feed(&bytes[..at]);
            lines.extend(parser.feed(&bytes[at..]));
            assert_eq!(lines, expected(), "split at byte {at}");
            assert!(!parser.has_partial_line());
            assert_eq!(parser.finish(), None);
        }
    }

    #[test]
    fn byte_by_byte_gives_the_same_lines() {
        let mut parser = NdjsonParser::new();
        let lines: Vec<String> = SAMPLE
            .as_bytes()
            .iter()
            .flat_map(|b| parser.feed(std::slice::from_ref(b)))
            .collect();
        assert_eq!(lines, expected());
    }

    #[test]
    fn an_unterminated_last_line_is_returned_by_finish() {
        let mut parser = NdjsonParser::new();
        assert_eq!(parser.feed(b"{\"a\":1}\n{\"b\":"), vec!["{\"a\":1}"]);
        assert!(parser.has_partial_line());
        assert_eq!(parser.finish().as_deref(), Some("{\"b\":"));
        assert!(!parser.has_partial_line());
    }
}
