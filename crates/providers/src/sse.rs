//! An incremental Server-Sent Events parser.
//!
//! The network hands over bytes in arbitrary pieces: a piece may end mid-line, between the
//! `\r` and `\n` of a line break, or in the middle of a multi-byte UTF-8 character. The
//! parser keeps the incomplete line as bytes and decodes only whole lines, so the events it
//! returns do not depend on how the input was split. It follows the WHATWG event-stream
//! rules that matter to LLM APIs: `\n`, `\r\n` and `\r` line ends, `:` comments, one
//! optional space after the field colon, multi-line `data` joined with `\n`, events
//! dispatched on a blank line, and an unterminated event at end of input discarded.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, if the event had one (`None` means the default `message`).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Push-style parser: [`SseParser::feed`] bytes as they arrive, get complete events back.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, incomplete line.
    line: Vec<u8>,
    /// The previous piece ended with `\r`: a leading `\n` in the next piece belongs to it.
    after_cr: bool,
    /// Whether the first line has been seen (a UTF-8 BOM is stripped from it).
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes `bytes` and returns the events they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if rest[0] == b'\n' {
                    rest = &rest[1..];
                    continue;
                }
            }
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    self.line.extend_from_slice(&rest[..end]);
                    self.after_cr = rest[end] == b'\r';
                    rest = &rest[end + 1..];
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.process_line(&line) {
                        events.push(event);
                    }
                }
                None => {
                    self.line.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        events
    }

    /// Whether input ended inside an event (a partial line or undispatched fields): the
    /// stream was cut. Such an event is never returned.
    pub fn has_partial_event(&self) -> bool {
        !self.line.is_empty() || self.has_data || self.event.is_some()
    }

    fn process_line(&mut self, raw: &[u8]) -> Option<Event> {
        let mut raw = raw;
        if !self.started {
            self.started = true;
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        if raw.is_empty() {
            return self.dispatch();
        }
        if raw[0] == b':' {
            return None;
        }
        // Line breaks are ASCII, so a whole line never splits a UTF-8 sequence.
        let line = String::from_utf8_lossy(raw);
        let (field, value) = match line.find(':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = (!value.is_empty()).then(|| value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // `id` and `retry` matter to browsers reconnecting; LLM APIs never resume.
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<Event> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(Event {
            event,
            data: std::mem::take(&mut self.data),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn ev(event: Option<&str>, data: &str) -> Event {
        Event {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    fn parse_all(input: &[u8]) -> Vec<Event> {
        SseParser::new().feed(input)
    }

    const SAMPLE: &str = "\u{feff}: keep-alive comment\r\n\
        event: message_start\r\n\
        data: {\"type\":\"message_start\"}\r\n\
        \r\n\
        event: delta\n\
        data: {\"text\":\"héllo — 世界 🦀\"}\n\
        \n\
        data: first line\n\
        data:second line\n\
        data\n\
        \n\
        :comment only\n\
        \n\
        event: ping\r\
        data: cr only\r\
        \r\
        event: empty-data\n\
        data:\n\
        \n\
        event: no-data-is-dropped\n\
        \n\
        id: 7\n\
        retry: 100\n\
        data: [DONE]\n\
        \n";

    fn expected() -> Vec<Event> {
        vec![
            ev(Some("message_start"), "{\"type\":\"message_start\"}"),
            ev(Some("delta"), "{\"text\":\"héllo — 世界 🦀\"}"),
            ev(None, "first line\nsecond line\n"),
            ev(Some("ping"), "cr only"),
            ev(Some("empty-data"), ""),
            ev(None, "[DONE]"),
        ]
    }

    #[test]
    fn parses_a_sample_stream() {
        assert_eq!(parse_all(SAMPLE.as_bytes()), expected());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = SAMPLE.as_bytes();
        for at in 0..=bytes.len() {
            let mut parser = SseParser::new();
            let mut events = parser.feed(&bytes[..at]);
            events.extend(parser.feed(&bytes[at..]));
            assert_eq!(events, expected(), "split at byte {at}");
            assert!(!parser.has_partial_event());
        }
    }

    #[test]
    fn byte_by_byte_gives_the_same_events() {
        let mut parser = SseParser::new();
        let events: Vec<Event> = SAMPLE
            .as_bytes()
            .iter()
            .flat_map(|b| parser.feed(std::slice::from_ref(b)))
            .collect();
        assert_eq!(events, expected());
    }

    #[test]
    fn unterminated_event_is_not_dispatched() {
        let mut parser = SseParser::new();
        assert_eq!(parser.feed(b"data: {\"partial\":"), vec![]);
        assert!(parser.has_partial_event());
        let mut parser = SseParser::new();
        assert_eq!(parser.feed(b"data: whole line\n"), vec![]);
        assert!(parser.has_partial_event());
    }

    #[test]
    fn field_without_space_and_colon_in_value() {
        assert_eq!(
            parse_all(b"data:a: b\n\n"),
            vec![ev(None, "a: b")],
            "only the first colon separates; only one space is stripped"
        );
        assert_eq!(parse_all(b"data:  two\n\n"), vec![ev(None, " two")]);
    }
}
