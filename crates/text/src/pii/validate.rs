//! Per-kind checks that turn a regex candidate into a finding (or reject it).
//!
//! Each check sees the whole text and the candidate's span, so it can look at context
//! (the characters around the candidate, words earlier on the same line), and returns the
//! span to redact, which may be narrower than the candidate (only the value of an
//! assignment, only the password of a URL).

use std::ops::Range;

use super::PiiKind;

/// Shannon entropy of `s`, in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 128];
    let mut other: Vec<(char, u32)> = Vec::new();
    let mut n = 0u32;
    for c in s.chars() {
        n += 1;
        if (c as u32) < 128 {
            counts[c as usize] += 1;
        } else if let Some(e) = other.iter_mut().find(|(o, _)| *o == c) {
            e.1 += 1;
        } else {
            other.push((c, 1));
        }
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .copied()
        .chain(other.iter().map(|(_, k)| *k))
        .filter(|&k| k > 0)
        .map(|k| {
            let p = f64::from(k) / n;
            -p * p.log2()
        })
        .sum()
}

/// The Luhn checksum over the ASCII digits of `digits` (other characters are skipped).
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    let mut count = 0;
    for (i, d) in digits
        .bytes()
        .rev()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .enumerate()
    {
        let v = if i % 2 == 1 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
        sum += v;
        count += 1;
    }
    count > 0 && sum.is_multiple_of(10)
}

/// Whether a 13–19 digit number starts like a card from a known network (Visa,
/// Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro) with a length it issues.
pub fn card_prefix_valid(digits: &str) -> bool {
    let len = digits.len();
    let p = |n: usize| {
        digits
            .get(..n)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
    };
    match digits.as_bytes().first() {
        Some(b'4') => matches!(len, 13 | 16 | 19),
        Some(b'5') => {
            (51..=55).contains(&p(2)) && len == 16
                || matches!(p(2), 50 | 56..=58) && (12..=19).contains(&len)
        }
        Some(b'2') => (2221..=2720).contains(&p(4)) && len == 16,
        Some(b'3') => {
            (matches!(p(2), 34 | 37) && len == 15)
                || ((3528..=3589).contains(&p(4)) && (16..=19).contains(&len))
                || (matches!(p(2), 36 | 38 | 39) || (300..=305).contains(&p(3)))
                    && (14..=19).contains(&len)
        }
        Some(b'6') => {
            (p(4) == 6011
                || p(2) == 65
                || (644..=649).contains(&p(3))
                || p(2) == 62
                || matches!(p(2), 63 | 67))
                && (16..=19).contains(&len)
        }
        _ => false,
    }
}

/// US SSN rules: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub fn ssn_valid(digits: &str) -> bool {
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let area: u32 = digits[..3].parse().unwrap_or(0);
    let group: u32 = digits[3..5].parse().unwrap_or(0);
    let serial: u32 = digits[5..].parse().unwrap_or(0);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// Whether `token` is a JWT: three base64url parts whose header decodes to a JSON object
/// with an `"alg"` string.
pub fn jwt_valid(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let json_object = |part: &str| -> Option<serde_json::Map<String, serde_json::Value>> {
        let bytes = base64url_decode(part)?;
        match serde_json::from_slice::<serde_json::Value>(&bytes).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    };
    let Some(h) = json_object(header) else {
        return false;
    };
    h.get("alg").is_some_and(serde_json::Value::is_string) && base64url_decode(payload).is_some()
}

/// Decodes unpadded (or padded) base64url; `None` on any invalid character.
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if s.len() % 4 == 1 {
        return None;
    }
    Some(out)
}

fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn char_after(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

/// Character classes present: lower, upper, digit, other.
fn classes(s: &str) -> usize {
    let mut c = [false; 4];
    for ch in s.chars() {
        let i = if ch.is_ascii_lowercase() {
            0
        } else if ch.is_ascii_uppercase() {
            1
        } else if ch.is_ascii_digit() {
            2
        } else {
            3
        };
        c[i] = true;
    }
    c.iter().filter(|&&b| b).count()
}

/// The text of the line holding `at`, up to `at`.
fn line_before(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    &text[start..at]
}

/// Values that are placeholders, references or code rather than secrets.
fn is_placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let starts = [
        "${",
        "$(",
        "{{",
        "%(",
        "<",
        "[",
        "process.env",
        "os.environ",
        "env(",
        "env.",
        "getenv",
        "secrets.",
        "vault:",
        "!ref",
        "ref+",
        "@",
    ];
    if v.starts_with('$') || starts.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    let words = [
        "example",
        "changeme",
        "change_me",
        "placeholder",
        "your_",
        "your-",
        "yourapi",
        "<your",
        "xxxx",
        "****",
        "redacted",
        "dummy",
        "sample",
        "insert",
        "replace",
        "todo",
        "fixme",
        "none",
        "null",
        "undefined",
        "password",
        "secret",
        "token",
    ];
    if words.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // A run of one repeated character (`aaaaaaaa`, `00000000`).
    let mut chars = v.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

/// Looks like code: a call, an attribute path, a file path.
fn is_code_like(v: &str) -> bool {
    v.contains('(')
        || v.contains(')')
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("~/")
        || (v.contains('.')
            && v.split('.').all(|p| {
                !p.is_empty()
                    && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && p.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            })
            && !v.chars().any(|c| c.is_ascii_digit()))
}

/// Identifier-like words: `snake_case`, `camelCase`, `kebab-case` without digits.
fn is_identifier_like(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | ' ' | '/' | '.' | ':'))
}

/// Entropy threshold for generic secrets, in bits per character. Random base62/base64
/// values of 16+ characters score 3.7–5; English words and identifiers score 2.5–3.3.
pub const GENERIC_ENTROPY_THRESHOLD: f64 = 3.5;
/// The lower threshold for values of keys named like passwords.
pub const PASSWORD_ENTROPY_THRESHOLD: f64 = 2.5;

/// Checks a candidate of `kind` at `m` in `text`; returns the span to redact.
pub fn validate(kind: PiiKind, text: &str, m: Range<usize>) -> Option<Range<usize>> {
    let s = &text[m.clone()];
    let before = char_before(text, m.start);
    let after = char_after(text, m.end);
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    match kind {
        PiiKind::PrivateKey | PiiKind::SlackWebhook => Some(m),
        PiiKind::Jwt => jwt_valid(s).then_some(m),
        PiiKind::UrlPassword => {
            // scheme://user:PASSWORD@host: redact the password only.
            let auth_start = s.find("://")? + 3;
            let at = s.rfind('@')?;
            let colon = auth_start + s[auth_start..at].find(':')?;
            let password = &s[colon + 1..at];
            if password.is_empty() || is_url_placeholder(password) {
                return None;
            }
            Some(m.start + colon + 1..m.start + at)
        }
        PiiKind::AnthropicKey => (s.len() >= 40).then_some(m),
        PiiKind::OpenaiKey => {
            let body = s.rsplit('-').next().unwrap_or(s);
            let random = s.trim_start_matches("sk-");
            // Real keys mix cases and digits; `sk-learn-style-names` do not.
            (random.len() >= 32 && classes(body) >= 3 && !alnum(after)).then_some(m)
        }
        PiiKind::GithubToken | PiiKind::GitlabToken | PiiKind::SlackToken | PiiKind::StripeKey => {
            let body = s.rsplit(['_', '-']).next().unwrap_or(s);
            (classes(body) >= 2 && !is_placeholder(body)).then_some(m)
        }
        PiiKind::GoogleApiKey => {
            (!after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')).then_some(m)
        }
        PiiKind::AwsAccessKey => Some(m),
        PiiKind::AwsSecretKey => {
            // Exactly 40 base64 characters: not the start of a longer blob.
            if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+' || c == '=')
            {
                return None;
            }
            let value_start = s.len() - 40;
            let value = &s[value_start..];
            (classes(value) >= 3 && shannon_entropy(value) >= 4.0)
                .then_some(m.start + value_start..m.end)
        }
        PiiKind::GenericSecret => generic_secret(text, m),
        PiiKind::Email => {
            let domain = &s[s.find('@')? + 1..];
            let tld = domain.rsplit('.').next()?.to_ascii_lowercase();
            const FILE_EXTENSIONS: &[&str] = &[
                "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "js", "mjs", "ts", "tsx",
                "jsx", "css", "scss", "json", "map", "rs", "py", "go", "rb", "java", "kt", "swift",
                "html", "md", "txt", "lock", "toml", "yaml", "yml", "wasm", "so", "dll", "exe",
                "zip", "gz", "tar",
            ];
            if FILE_EXTENSIONS.contains(&tld.as_str()) {
                return None;
            }
            // `git@github.com:org/repo.git` is a remote, not a mailbox, and so is the
            // user of `ssh://git@host/…`.
            if (s.starts_with("git@") && after == Some(':')) || text[..m.start].ends_with("://") {
                return None;
            }
            Some(m)
        }
        PiiKind::Ipv6 => {
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_' || c == '.')
                || after
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.')
            {
                return None;
            }
            let addr = s.split('%').next().unwrap_or(s);
            let ip: std::net::Ipv6Addr = addr.parse().ok()?;
            if ip.is_unspecified() || ip.is_loopback() {
                return None;
            }
            let groups = addr.split(':').filter(|g| !g.is_empty()).count();
            let has_digit = addr.bytes().any(|b| b.is_ascii_digit());
            // `dead::beef` in code is a valid address but not one anyone wrote as such.
            (has_digit && (groups >= 3 || addr.contains('.'))).then_some(m)
        }
        PiiKind::CreditCard => {
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
                || after.is_some_and(|c| {
                    c == '.' && text[m.end + 1..].starts_with(|d: char| d.is_ascii_digit())
                })
            {
                return None;
            }
            let digits: String = s.chars().filter(char::is_ascii_digit).collect();
            if !(13..=19).contains(&digits.len()) || !separators_consistent(s) {
                return None;
            }
            // A bare digit run inside a list of numbers (`[301289933810280, 1259…]`, field
            // constants, test vectors) is data, not a card.
            if digits.len() == s.len() && in_number_list(text, m.clone()) {
                return None;
            }
            (luhn_valid(&digits) && card_prefix_valid(&digits)).then_some(m)
        }
        PiiKind::Ssn => {
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '/')
                || after.is_some_and(|c| {
                    c == '-'
                        || c == '/'
                        || (c == '.' && text[m.end + 1..].starts_with(|d: char| d.is_ascii_digit()))
                })
            {
                return None;
            }
            let digits: String = s.chars().filter(char::is_ascii_digit).collect();
            if !ssn_valid(&digits) {
                return None;
            }
            // Nine bare digits are only an SSN when the line says so.
            if s.len() == 9 {
                let line = line_before(text, m.start).to_ascii_lowercase();
                if !(line.contains("ssn")
                    || line.contains("social security")
                    || line.contains("social_security"))
                {
                    return None;
                }
            }
            Some(m)
        }
        PiiKind::Phone => phone(text, m, before, after),
        PiiKind::Ipv4 => {
            if before.is_some_and(|c| c == '.' || c.is_ascii_alphanumeric() || c == '_')
                || after.is_some_and(|c| {
                    c == '.' && text[m.end + 1..].starts_with(|d: char| d.is_ascii_digit())
                })
                || after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return None;
            }
            let ip: std::net::Ipv4Addr = s.parse().ok()?;
            if ip.is_loopback() || ip.is_unspecified() || ip.is_broadcast() {
                return None;
            }
            if version_context(line_before(text, m.start)) {
                return None;
            }
            Some(m)
        }
    }
}

/// A version (or a section number), not an address: the line so far names a version (`version = "1.2.3.4"`,
/// `"version": "…"`, `Version:`, `__version__`, `ver`, `release`, `build`, `tag`), or the
/// dotted quad is followed by more dotted numbers (`1.2.3.4.5` is an OID or a version).
fn version_context(line: &str) -> bool {
    // Only the words close to the candidate count: the last 40 characters of the line.
    let tail_start = line.char_indices().rev().nth(39).map_or(0, |(i, _)| i);
    line[tail_start..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_lowercase)
        .any(|w| {
            w.ends_with("version")
                || matches!(
                    w.as_str(),
                    "ver" | "vers" | "release" | "build" | "tag" | "firmware" | "fw" | "rev" | "revision" | "semver" | "v"
                    // Document numbering: `section 4.5.3.1`.
                    | "section" | "sec" | "chapter" | "clause" | "figure" | "fig" | "table" | "paragraph" | "step"
                )
        })
}

/// `********`, `$PASSWORD`, `{password}`, `%s`, `<pass>`, `...`: not a real password.
fn is_url_placeholder(p: &str) -> bool {
    p.starts_with('$')
        || p.starts_with('[')
        || p.starts_with('{')
        || p.starts_with('<')
        || p.starts_with('%')
        || p.starts_with(':')
        || p.chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
        || matches!(
            p.to_ascii_lowercase().as_str(),
            "pass" | "password" | "passwd" | "pwd" | "secret" | "changeme"
        )
}

/// Whether `m` sits in a comma-separated list of numbers: a number right before it or
/// right after it, across one comma and optional blanks.
fn in_number_list(text: &str, m: Range<usize>) -> bool {
    let after = text[m.end..].trim_start_matches([' ', '\t']);
    let next_is_number = after
        .strip_prefix(',')
        .map(|r| r.trim_start())
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    let before = text[..m.start].trim_end();
    let prev_is_number = before
        .strip_suffix(',')
        .map(str::trim_end)
        .is_some_and(|r| r.ends_with(|c: char| c.is_ascii_digit()));
    next_is_number || prev_is_number
}

/// Same separator between all groups, or none.
fn separators_consistent(s: &str) -> bool {
    let seps: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
    seps.windows(2).all(|w| w[0] == w[1])
        && (seps.is_empty() || {
            // Groups of 4 (Visa/MC/Discover), 4-6-5 (Amex), 4-6-4 (Diners), or 4-4-4-4-3.
            let groups: Vec<usize> = s
                .split(|c: char| !c.is_ascii_digit())
                .map(str::len)
                .collect();
            groups.iter().all(|&g| (3..=6).contains(&g)) && groups.len() >= 3
        })
}

fn phone(
    text: &str,
    m: Range<usize>,
    before: Option<char>,
    after: Option<char>,
) -> Option<Range<usize>> {
    let s = &text[m.clone()];
    // A `:` may precede an international number (`tel:+49…`), not a national one (times,
    // IPv6 groups).
    let colon_ok = s.starts_with('+');
    if before.is_some_and(|c| {
        c.is_ascii_alphanumeric()
            || c == '.'
            || c == '_'
            || c == '/'
            || c == '-'
            || c == '+'
            || (c == ':' && !colon_ok)
    }) || after.is_some_and(|c| {
        c.is_ascii_alphanumeric()
            || c == '_'
            || c == '/'
            || c == '-'
            || (c == '.' && text[m.end + 1..].starts_with(|d: char| d.is_ascii_digit()))
    }) {
        return None;
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if s.starts_with('+') {
        // E.164: up to 15 digits; at least 8 with the country code.
        if !(8..=15).contains(&digits.len()) {
            return None;
        }
        // `+1.2.3` style: versions use dots between short groups.
        if s.contains('.') && s.split('.').any(|g| g.trim_start_matches('+').len() <= 1) {
            return None;
        }
        return Some(m);
    }
    // US: optional 1, area code and exchange start with 2-9.
    let national = digits
        .strip_prefix('1')
        .filter(|d| d.len() == 10)
        .unwrap_or(&digits);
    if national.len() != 10 {
        return None;
    }
    let b = national.as_bytes();
    if !(b'2'..=b'9').contains(&b[0]) || !(b'2'..=b'9').contains(&b[3]) {
        return None;
    }
    // Dates and versions use dots between all groups; a phone written with dots must not
    // sit in a version context.
    if s.contains('.') && version_context(line_before(text, m.start)) {
        return None;
    }
    Some(m)
}

/// The parts of an assignment candidate: the secret-sounding name and the value's span
/// (quotes excluded). A quoted value is the last quoted string of the candidate (so
/// `key="ApiSecret" value="…"` yields the value); an unquoted one follows the first `:`
/// or `=` run.
pub fn assignment_parts(text: &str, m: Range<usize>) -> Option<(&str, Range<usize>)> {
    let s = &text[m.clone()];
    let value = match s.chars().next_back() {
        Some(q @ ('"' | '\'')) => {
            let open = s[..s.len() - 1].rfind(q)?;
            open + 1..s.len() - 1
        }
        _ => {
            let op = s.find([':', '='])?;
            let after = &s[op..];
            let v = after.trim_start_matches([':', '=', '>']).trim_start();
            s.len() - v.len()..s.len()
        }
    };
    if value.is_empty() {
        return None;
    }
    // The name: the last identifier before the value that holds a secret word, preferring
    // one that is not the `key`/`name` of a `key="NAME" value="…"` pair.
    let head = &s[..value.start];
    let is_ident = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let names: Vec<&str> = head
        .split(|c: char| !is_ident(c))
        .filter(|w| {
            let lower = w.to_ascii_lowercase();
            SECRET_WORDS.iter().any(|s| lower.contains(s))
        })
        .collect();
    let generic = |w: &&str| matches!(w.to_ascii_lowercase().as_str(), "key" | "name" | "value");
    let name = names.iter().rev().find(|w| !generic(w)).or(names.last())?;
    Some((name, m.start + value.start..m.start + value.end))
}

const SECRET_WORDS: &[&str] = &[
    "api",
    "key",
    "secret",
    "token",
    "passw",
    "pwd",
    "passphrase",
    "auth",
    "credential",
];

/// The last word of an identifier: `DB_PASSWORD` → `password`, `apiKey` → `key`,
/// `password_hash_algorithm` → `algorithm`.
pub fn head_word(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.') {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    let last = words.pop().unwrap_or_default();
    last.trim_end_matches(|c: char| c.is_ascii_digit())
        .to_string()
}

const PASSWORD_HEADS: &[&str] = &["password", "passwd", "pwd", "pass", "passphrase", "pw"];
const SECRET_HEADS: &[&str] = &[
    "key",
    "apikey",
    "secret",
    "token",
    "credential",
    "credentials",
    "auth",
    "authkey",
    "accesskey",
    "secretkey",
    "privatekey",
];

/// A generic `name = value` assignment whose value is random-looking.
///
/// The name must *end* in a secret word (`client_secret`, `DB_PASSWORD`, `apiKey`):
/// `secret_name`, `token_type`, `auth_method` or `password_hash_algorithm` name things
/// about secrets, not secrets. Values must not be placeholders, references or code, and
/// must clear an entropy threshold ([`GENERIC_ENTROPY_THRESHOLD`], or the lower
/// [`PASSWORD_ENTROPY_THRESHOLD`] for password names, since people pick passwords).
fn generic_secret(text: &str, m: Range<usize>) -> Option<Range<usize>> {
    let (name, span) = assignment_parts(text, m)?;
    let value = &text[span.clone()];
    let head = head_word(name);
    let password_like = PASSWORD_HEADS.contains(&head.as_str());
    if !password_like && !SECRET_HEADS.contains(&head.as_str()) {
        return None;
    }
    if value.len() < 8
        || is_placeholder(value)
        || is_code_like(value)
        || value.contains(char::is_whitespace)
    {
        return None;
    }
    let entropy = shannon_entropy(value);
    let ok = if password_like {
        entropy >= PASSWORD_ENTROPY_THRESHOLD && classes(value) >= 2
    } else {
        entropy >= GENERIC_ENTROPY_THRESHOLD
            && classes(value) >= 2
            && value.len() >= 12
            && !is_identifier_like(value)
    };
    ok.then_some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("378282246310005"));
        assert!(luhn_valid("6011111111111117"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("1234567812345678"));
        assert!(!luhn_valid(""));
        assert!(luhn_valid("79927398713"));
    }

    #[test]
    fn card_prefixes() {
        assert!(card_prefix_valid("4111111111111111"));
        assert!(card_prefix_valid("5555555555554444"));
        assert!(card_prefix_valid("2223003122003222"));
        assert!(card_prefix_valid("378282246310005"));
        assert!(card_prefix_valid("6011111111111117"));
        assert!(card_prefix_valid("3530111333300000"));
        assert!(card_prefix_valid("30569309025904"));
        assert!(!card_prefix_valid("1234567812345670"));
        assert!(!card_prefix_valid("9111111111111111"));
        assert!(!card_prefix_valid("41111111111111")); // Visa with 14 digits
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn_valid("123456789"));
        assert!(ssn_valid("078051120"));
        assert!(!ssn_valid("000123456"));
        assert!(!ssn_valid("666123456"));
        assert!(!ssn_valid("900123456"));
        assert!(!ssn_valid("999123456"));
        assert!(!ssn_valid("123006789"));
        assert!(!ssn_valid("123450000"));
        assert!(!ssn_valid("12345678"));
    }

    #[test]
    fn jwt_header_check() {
        // {"alg":"HS256","typ":"JWT"}.{"sub":"1234567890"}.sig
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert!(jwt_valid(jwt));
        // {"typ":"JWT"} has no alg.
        assert!(!jwt_valid("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln"));
        // Not JSON.
        assert!(!jwt_valid("eyJub3QganNvbg.eyJzdWIiOiIxIn0.c2ln"));
        assert!(!jwt_valid("a.b"));
        assert_eq!(base64url_decode("eyJ9").as_deref(), Some(&b"{\"}"[..]));
        assert_eq!(base64url_decode("a"), None);
        assert_eq!(base64url_decode("ab!c"), None);
    }

    #[test]
    fn entropy() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-9);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.0);
        assert!(shannon_entropy("development") < GENERIC_ENTROPY_THRESHOLD);
        assert!(shannon_entropy("q8Zr2LmX9vTbK4pW") > GENERIC_ENTROPY_THRESHOLD);
    }

    #[test]
    fn versions_are_not_addresses() {
        assert!(version_context("version = \""));
        assert!(version_context("  \"version\": \""));
        assert!(version_context("AssemblyVersion(\""));
        assert!(!version_context("server = \""));
        assert!(version_context("See RFC 5321 section "));
    }

    #[test]
    fn cards_in_number_lists_are_data() {
        let list =
            "    301289933810280, 1259582250014073, 1422107436869536,\n    374555092627893\n";
        let at = list.find("374555092627893").unwrap_or(0);
        assert!(in_number_list(list, at..at + 15));
        assert!(!in_number_list("card 4111111111111111, exp 04/27", 5..21));
    }

    #[test]
    fn head_words() {
        assert_eq!(head_word("DB_PASSWORD"), "password");
        assert_eq!(head_word("apiKey"), "key");
        assert_eq!(head_word("password_hash_algorithm"), "algorithm");
        assert_eq!(head_word("secret_name"), "name");
        assert_eq!(head_word("token2"), "token");
        assert_eq!(head_word("ApiSecret"), "secret");
    }

    #[test]
    fn assignment_values() {
        let t = r#"<add key="ApiSecret" value="abc123XYZ" />"#;
        let m = t.find("key").unwrap_or(0)..t.find(" />").unwrap_or(0);
        let (name, v) = assignment_parts(t, m).unwrap_or(("", 0..0));
        assert_eq!((name, &t[v]), ("ApiSecret", "abc123XYZ"));
        let t = "api_key=abc==";
        let (name, v) = assignment_parts(t, 0..t.len()).unwrap_or(("", 0..0));
        assert_eq!((name, &t[v]), ("api_key", "abc=="));
    }
}
