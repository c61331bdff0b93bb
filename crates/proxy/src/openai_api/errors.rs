//! Upstream errors as the HTTP status and error body an OpenAI client expects.

use super::*;

/// The HTTP status, Retry-After seconds (if any) and OpenAI error body for an upstream
/// error, keeping its meaning for the client:
///
/// | kind | status | `code` |
/// |---|---|---|
/// | rate limited | 429 (+ Retry-After when known) | `rate_limit_exceeded` |
/// | overloaded | 503 (+ Retry-After when known) | `upstream_overloaded` |
/// | context window exceeded | 400 | `context_length_exceeded` |
/// | invalid request | 400 | — |
/// | auth | 502: the client's key is fine, the proxy's upstream key is not | `upstream_auth_failed` |
/// | server | 502 | `upstream_error` |
/// | network, timed out | 504 | `upstream_timeout` |
/// | network | 502 | `upstream_unreachable` |
/// | stream cut | 502 | `upstream_stream_cut` |
/// | protocol | 502 | `upstream_protocol_error` |
/// | cancelled | 503 | `cancelled` |
///
/// The upstream's own words are passed on where they help the client fix or retry the
/// request, with anything that looks like a key masked. They are withheld for auth
/// failures (they name the proxy's key or its environment variable), and for network
/// failures and cut streams (they carry the upstream's internal URL).
pub fn error_response(err: &ModelError) -> (u16, Option<u64>, wire::ErrorResponse) {
    let provider = err.provider.as_str();
    let said = || format!("{provider}: {}", redact_secrets(&err.message));
    let seconds = |ms: Option<u64>| ms.map(|ms| ms.div_ceil(1000));
    const SERVER: &str = "server_error";
    const INVALID: &str = "invalid_request_error";
    let (status, retry_after, kind, code, param, message) = match &err.kind {
        ModelErrorKind::RateLimited { retry_after_ms } => (
            429,
            seconds(*retry_after_ms),
            "rate_limit_error",
            Some("rate_limit_exceeded"),
            None,
            said(),
        ),
        ModelErrorKind::Overloaded { retry_after_ms } => (
            503,
            seconds(*retry_after_ms),
            SERVER,
            Some("upstream_overloaded"),
            None,
            said(),
        ),
        ModelErrorKind::ContextWindowExceeded => (
            400,
            None,
            INVALID,
            Some("context_length_exceeded"),
            Some("messages"),
            said(),
        ),
        ModelErrorKind::InvalidRequest => (400, None, INVALID, None, None, said()),
        ModelErrorKind::Auth => (
            502,
            None,
            SERVER,
            Some("upstream_auth_failed"),
            None,
            format!(
                "{provider}: the upstream refused the proxy's credentials; \
                 the proxy's operator must fix its upstream key"
            ),
        ),
        ModelErrorKind::Server => (502, None, SERVER, Some("upstream_error"), None, said()),
        // The transport says "timed out" for its own timeouts and the upstream's 408;
        // that only picks 504 over 502, both "the gateway's upstream failed".
        ModelErrorKind::Network if err.message.contains("timed out") => (
            504,
            None,
            SERVER,
            Some("upstream_timeout"),
            None,
            format!("{provider}: the upstream did not answer in time"),
        ),
        ModelErrorKind::Network => (
            502,
            None,
            SERVER,
            Some("upstream_unreachable"),
            None,
            format!("{provider}: the upstream could not be reached"),
        ),
        ModelErrorKind::StreamCut => (
            502,
            None,
            SERVER,
            Some("upstream_stream_cut"),
            None,
            format!("{provider}: the upstream's answer was cut off"),
        ),
        ModelErrorKind::Protocol => (
            502,
            None,
            SERVER,
            Some("upstream_protocol_error"),
            None,
            said(),
        ),
        ModelErrorKind::Cancelled => (
            503,
            None,
            SERVER,
            Some("cancelled"),
            None,
            "the request was cancelled".to_owned(),
        ),
        // A kind added to the domain later: the upstream failed somehow.
        _ => (502, None, SERVER, Some("upstream_error"), None, said()),
    };
    let body = wire::ErrorResponse {
        error: wire::ErrorBody {
            message,
            kind: Some(kind.to_owned()),
            code: code.map(|c| Value::String(c.to_owned())),
            param: param.map(|p| Value::String(p.to_owned())),
        },
    };
    (status, retry_after, body)
}

/// Where a credential may start in an upstream's message: key prefixes (`sk-`, Google's
/// `AIza`) and the words that introduce one.
const SECRET_MARKERS: [&str; 6] = ["sk-", "sk_", "AIza", "Bearer ", "key=", "token="];

/// Shortest run after a marker taken for a credential (shorter runs are ordinary words:
/// `sk-learn`).
const SECRET_MIN_CHARS: usize = 12;

/// Masks what looks like a credential in an upstream's message: a run of key characters
/// after one of [`SECRET_MARKERS`] at the start of a word. A defence in depth: upstream
/// messages are passed on to clients, who must never see the proxy's keys.
pub(super) fn redact_secrets(text: &str) -> String {
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let at_word_start = !prev.is_some_and(|p| p.is_ascii_alphanumeric());
        let marker = at_word_start
            .then(|| SECRET_MARKERS.iter().find(|m| rest.starts_with(**m)))
            .flatten();
        if let Some(marker) = marker {
            let after = &rest[marker.len()..];
            let run = after
                .char_indices()
                .find(|&(_, c)| !is_key_char(c))
                .map_or(after.len(), |(i, _)| i);
            if run >= SECRET_MIN_CHARS {
                out.push_str(marker);
                out.push_str("[redacted]");
                rest = &after[run..];
                prev = Some('x');
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}
