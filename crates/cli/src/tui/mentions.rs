//! `@path` mentions: files named in a prompt are read and sent with it, so the model has
//! them without spending a tool call; images become image blocks.

use std::path::Path;

use cuervo_domain::{ContentBlock, Message, Role};

/// Bytes of one mentioned file sent at most; the rest is left to the read tool.
const MAX_FILE_BYTES: usize = 256 * 1024;

/// The user message for `prompt`, with every mentioned file inside the project attached,
/// and a note per attachment for the screen. Mentions of missing files or of paths
/// outside the project stay plain text.
pub fn attach(root: &Path, prompt: &str) -> (Message, Vec<String>) {
    let mut text = prompt.to_owned();
    let mut blocks = Vec::new();
    let mut notes = Vec::new();
    let mut seen = Vec::new();
    for mention in mentions(prompt) {
        if seen.contains(&mention) {
            continue;
        }
        seen.push(mention);
        let Some(path) = inside(root, mention) else {
            continue;
        };
        if crate::attach::image_media_type(&path).is_some() {
            match crate::attach::image_block(&path) {
                Ok(block) => {
                    blocks.push(block);
                    notes.push(format!("attached image {mention}"));
                }
                Err(error) => notes.push(format!("not attached: {error:#}")),
            }
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.iter().take(8192).any(|b| *b == 0) {
            notes.push(format!("{mention} looks binary; not attached"));
            continue;
        }
        let cut = bytes.len() > MAX_FILE_BYTES;
        let body = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_FILE_BYTES)]);
        let lines = body.lines().count();
        text.push_str(&format!("\n\n<file path=\"{mention}\">\n{body}"));
        if !body.ends_with('\n') {
            text.push('\n');
        }
        if cut {
            text.push_str(&format!(
                "[… cut at {MAX_FILE_BYTES} bytes of {}; read the rest with the read tool]\n",
                bytes.len()
            ));
        }
        text.push_str("</file>");
        notes.push(format!(
            "attached {mention} ({lines} lines{})",
            if cut { ", cut" } else { "" }
        ));
    }
    let mut content = vec![ContentBlock::Text { text }];
    content.extend(blocks);
    (
        Message {
            role: Role::User,
            content,
        },
        notes,
    )
}

/// The `@word` tokens of a prompt, without trailing punctuation.
fn mentions(prompt: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = prompt;
    let mut at_start = true;
    while let Some(i) = rest.find('@') {
        let before_ok = if i == 0 {
            at_start
        } else {
            rest[..i].ends_with(char::is_whitespace)
        };
        let after = &rest[i + 1..];
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let token = after[..end].trim_end_matches([',', '.', ';', ':', ')', '?', '!', '"', '\'']);
        if before_ok && !token.is_empty() {
            found.push(token);
        }
        rest = &after[end..];
        at_start = false;
    }
    found
}

fn inside(root: &Path, mention: &str) -> Option<std::path::PathBuf> {
    let path = root.join(mention).canonicalize().ok()?;
    (path.starts_with(root) && path.is_file()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mentions_but_not_emails() {
        assert_eq!(
            mentions("look at @src/main.rs, and @README.md. mail bob@example.com"),
            ["src/main.rs", "README.md"]
        );
        assert_eq!(mentions("@a.txt"), ["a.txt"]);
    }

    #[test]
    fn attaches_project_files_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("root");
        std::fs::write(root.join("a.txt"), "hello\nworld\n").expect("write");
        std::fs::write(root.join("bin.dat"), [0u8, 1, 2]).expect("write");
        let (message, notes) = attach(
            &root,
            "explain @a.txt and @missing.rs and @../etc/passwd and @bin.dat",
        );
        let text = message.text();
        assert!(text.starts_with("explain @a.txt"));
        assert!(
            text.contains("<file path=\"a.txt\">\nhello\nworld\n</file>"),
            "{text}"
        );
        assert!(!text.contains("root:"));
        assert_eq!(
            notes,
            [
                "attached a.txt (2 lines)",
                "bin.dat looks binary; not attached"
            ]
        );
    }
}
