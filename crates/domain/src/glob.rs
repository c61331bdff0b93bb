//! A small path glob, for permission rules such as `edit(src/**)`.
//!
//! `*` matches within one path segment, `**` matches any number of segments (including
//! none), `?` one character other than `/`. Everything else matches itself. The domain
//! cannot depend on globset, and rules need nothing more.

/// Whether `path` (with `/` separators) matches `pattern`.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    matches(&p, &s)
}

fn matches(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            if p.get(2) == Some(&'/') {
                // `**/` matches zero or more whole segments.
                let rest = &p[3..];
                matches(rest, s)
                    || s.iter()
                        .enumerate()
                        .any(|(i, &c)| c == '/' && matches(rest, &s[i + 1..]))
            } else {
                // A bare `**` matches anything, separators included.
                let rest = &p[2..];
                (0..=s.len()).any(|i| matches(rest, &s[i..]))
            }
        }
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=s.len() {
                if matches(rest, &s[i..]) {
                    return true;
                }
                if i < s.len() && s[i] == '/' {
                    break;
                }
            }
            false
        }
        Some('?') => !s.is_empty() && s[0] != '/' && matches(&p[1..], &s[1..]),
        Some(c) => s.first() == Some(c) && matches(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn star_stays_in_segment() {
        assert!(glob_match("src/*.rs", "src/main.rs"));
        assert!(!glob_match("src/*.rs", "src/a/main.rs"));
        assert!(glob_match("*", "Cargo.toml"));
        assert!(!glob_match("*", "a/b"));
    }

    #[test]
    fn double_star_crosses_segments() {
        assert!(glob_match("src/**", "src/a/b/c.rs"));
        assert!(glob_match("src/**", "src/x"));
        assert!(glob_match("**/*.rs", "main.rs"));
        assert!(glob_match("**/*.rs", "a/b/main.rs"));
        assert!(glob_match("src/**/mod.rs", "src/mod.rs"));
        assert!(glob_match("src/**/mod.rs", "src/a/b/mod.rs"));
        assert!(!glob_match("src/**", "tests/a.rs"));
        assert!(!glob_match("**/*.rs", "a/b/main.py"));
    }

    #[test]
    fn question_mark_and_literals() {
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "a/c"));
        assert!(glob_match("README.md", "README.md"));
        assert!(!glob_match("README.md", "README.mdx"));
    }
}
