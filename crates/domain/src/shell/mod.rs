//! What a shell command line does, as plain data: the programs it runs, the files it
//! redirects output into, and what could not be worked out.
//!
//! Permission rules for the bash tool are judged on this analysis, never on the raw
//! text: `echo ok; rm -rf x` is two commands, `/bin/rm`, `\rm`, `"rm"` and `env rm` all
//! run `rm`, and `x=rm; $x` runs a program nobody can name before it runs.
//!
//! Parsing belongs to the `text` crate (tree-sitter-bash, `cuervo_text::shell::analyse`);
//! this module holds the types and the pure rules that turn one parsed command's words
//! into what is judged: wrappers (`sudo`, `env`, `nice`, `xargs`…) are stripped so the
//! wrapped program is what rules see, `find -exec` and `find -delete` add the commands
//! they run, and `bash -c 'script'` hands its script back to be parsed in turn.
//! [`ShellAnalysis::plain`] is a parser-free fallback that only understands commands
//! made of plain words and calls everything else unanalysable.

mod programs;
#[cfg(test)]
mod tests;
mod wrappers;

use serde::{Deserialize, Serialize};

pub use programs::{is_interpreter, is_shell};
use wrappers::assignment_name;
pub use wrappers::{dangerous_assignment, normalise};

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ShellAnalysis {
    /// Every simple command that may run, in source order: those in lists and
    /// pipelines, in command and process substitutions, in `bash -c` scripts, in
    /// `find -exec`, behind `xargs` and other wrappers, and in function bodies.
    pub commands: Vec<SimpleCommand>,
    /// Output redirections that write to a file (`>`, `>>`, `&>`, `2>`, `>|`; not
    /// `>&2`-style duplications, not `/dev/null`), plus files named to `tee` and
    /// `find -fprint`.
    pub writes: Vec<WriteRedirect>,
    /// Why the command cannot be fully analysed (`eval`, a program named by a variable,
    /// data piped into `sh`, a syntax error…). Empty when the analysis is complete.
    pub unanalysable: Vec<String>,
}

/// One program invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SimpleCommand {
    /// The words as the program receives them: quotes and escapes removed, wrappers
    /// stripped, the program reduced to its file name (`/bin/rm` → `rm`). A word holding
    /// an expansion (`$x`, `$(…)`, a glob) keeps its source text and is listed in
    /// `dynamic`.
    pub argv: Vec<String>,
    /// Indexes into `argv` of words whose value is known only at run time.
    pub dynamic: Vec<usize>,
    /// The program as written when it contained a `/` (`./gradlew`, `/usr/bin/git`).
    pub program_path: Option<String>,
    /// More arguments are added at run time (`xargs CMD`, `find -exec CMD {} +`).
    pub open_args: bool,
    /// The source text of the command, for messages.
    pub raw: String,
}

impl SimpleCommand {
    /// The program's name, if any.
    pub fn program(&self) -> Option<&str> {
        self.argv.first().map(String::as_str)
    }

    /// Whether `argv[index]` is known only at run time.
    pub fn is_dynamic(&self, index: usize) -> bool {
        self.dynamic.contains(&index)
    }

    /// Whether any word is known only at run time or more are added then.
    pub fn has_unknowns(&self) -> bool {
        !self.dynamic.is_empty() || self.open_args
    }
}

/// A file the command writes through a redirection (or `tee`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WriteRedirect {
    /// The target as the shell sees it, quotes removed (`../outside`, `.git/hooks/x`).
    pub target: String,
    /// The directory a preceding `cd`/`pushd` moved to, as written (relative to where
    /// the command starts, or absolute); `None` when it writes from the start directory.
    /// One redirection is listed once per directory it may run in.
    pub dir: Option<String>,
    /// The target (or the directory) is known only at run time.
    pub dynamic: bool,
    /// The redirection's source text (`>> .git/hooks/x`).
    pub raw: String,
}

/// One word of a command after quote removal, as the parser hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word {
    pub text: String,
    /// Holds an expansion (variable, substitution, glob…): the text is the source.
    pub dynamic: bool,
}

impl Word {
    pub fn literal(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            dynamic: false,
        }
    }

    pub fn dynamic(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            dynamic: true,
        }
    }

    fn is(&self, text: &str) -> bool {
        !self.dynamic && self.text == text
    }
}

/// What one simple command amounts to, from [`normalise`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalised {
    /// The command itself first (when it runs a program), then what it runs in turn
    /// (`find -exec`, `find -delete`, a privilege wrapper).
    pub commands: Vec<SimpleCommand>,
    /// Scripts the command runs (`bash -c SCRIPT`, `watch CMD`), to be parsed in turn.
    pub scripts: Vec<String>,
    /// Files the command names as output (`tee FILE`, `find -fprint FILE`).
    pub writes: Vec<Word>,
    pub unanalysable: Vec<String>,
}

/// `/usr/bin/rm` → `rm`; a name ending in `/` keeps its last non-empty part.
pub fn basename(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(path)
}

/// At most 80 characters of `s`, on one line, for messages.
pub fn short(s: &str) -> String {
    let one_line = s.trim().replace(['\n', '\r'], " ⏎ ");
    let mut out: String = one_line.chars().take(80).collect();
    if one_line.chars().count() > 80 {
        out.push('…');
    }
    out
}

impl ShellAnalysis {
    /// Adds `reason` to [`ShellAnalysis::unanalysable`] unless it is there already.
    pub fn push_unanalysable(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        if !self.unanalysable.contains(&reason) {
            self.unanalysable.push(reason);
        }
    }

    /// Whether the analysis is complete (nothing unanalysable).
    pub fn is_complete(&self) -> bool {
        self.unanalysable.is_empty()
    }

    /// An analysis without a parser, for when none ran (the caller had no shell
    /// analyser). Only a command made of plain words (letters, digits and `-_./=:,+@%^~`
    /// separated by spaces) is understood; anything else (quotes, `;`, `$`, `|`,
    /// redirections, globs, newlines) is unanalysable, so allow rules never match it.
    pub fn plain(command: &str) -> ShellAnalysis {
        let mut analysis = ShellAnalysis::default();
        let special = command
            .chars()
            .find(|c| !(c.is_alphanumeric() || " \t-_./=:,+@%^~".contains(*c)));
        if let Some(c) = special {
            analysis.push_unanalysable(format!(
                "the command was not parsed, and it uses shell syntax (`{}`)",
                c.escape_default()
            ));
            return analysis;
        }
        let words: Vec<Word> = command.split_whitespace().map(Word::literal).collect();
        let mut start = 0;
        while let Some(name) = words.get(start).and_then(assignment_name) {
            if let Some(reason) = dangerous_assignment(name) {
                analysis.push_unanalysable(reason);
            }
            start += 1;
        }
        let n = normalise(&words[start..], command.trim(), false);
        analysis.commands = n.commands;
        analysis.writes = n
            .writes
            .into_iter()
            .map(|w| WriteRedirect {
                target: w.text,
                dir: None,
                dynamic: w.dynamic,
                raw: command.trim().to_owned(),
            })
            .collect();
        for reason in n.unanalysable {
            analysis.push_unanalysable(reason);
        }
        if !n.scripts.is_empty() {
            analysis.push_unanalysable("the command runs a nested script, which was not parsed");
        }
        analysis
    }
}

/// Whether text holds bash brace-expansion syntax, `{a,b}` or `{1..3}`, in any of its
/// `{…}` groups (`x{a}{b,c}` does too): one word on the page, several words at run time.
pub fn has_brace_expansion(text: &str) -> bool {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].contains(',') || after[..close].contains("..") => {
                return true;
            }
            Some(close) => rest = &after[close + 1..],
            None => return false,
        }
    }
    false
}
