//! From one simple command's words to what rules judge ([`normalise`]): wrappers
//! (`sudo`, `env`, `nice`, `timeout`, `xargs`, `watch`…) are stripped so the wrapped
//! program is what rules see.

use super::programs::inspect;
use super::{Normalised, SimpleCommand, Word, basename, short};

/// How deeply wrappers may nest (`sudo env nice timeout 5 xargs …`) before giving up.
const MAX_WRAPPERS: usize = 16;

/// Turns one simple command's words (assignments already removed by the parser) into
/// what rules judge. `raw` is its source text; `stdin_fed` says whether its standard
/// input carries data (a pipe, `<`, a heredoc), which matters for shells and
/// interpreters that would run that data as a program.
pub fn normalise(words: &[Word], raw: &str, stdin_fed: bool) -> Normalised {
    let mut out = Normalised::default();
    normalise_into(words, raw, stdin_fed, false, 0, &mut out);
    out
}

/// Environment variables that make a later program run other code (`PATH` picks which
/// `rm` runs; `LD_PRELOAD`, `BASH_ENV`, `GIT_SSH_COMMAND`, `PAGER`… run code outright).
fn is_dangerous_variable(name: &str) -> bool {
    matches!(
        name,
        "PATH"
            | "LD_PRELOAD"
            | "LD_LIBRARY_PATH"
            | "LD_AUDIT"
            | "BASH_ENV"
            | "ENV"
            | "IFS"
            | "PROMPT_COMMAND"
            | "SHELLOPTS"
            | "BASHOPTS"
            | "PS4"
            | "CDPATH"
            | "GLOBIGNORE"
            | "EDITOR"
            | "VISUAL"
            | "PAGER"
            | "MANPAGER"
            | "LESSOPEN"
            | "LESSCLOSE"
            | "BROWSER"
            | "NODE_OPTIONS"
            | "PYTHONSTARTUP"
            | "PYTHONPATH"
            | "PERL5OPT"
            | "PERL5LIB"
            | "RUBYOPT"
            | "RUSTC_WRAPPER"
            | "RUSTC"
            | "CARGO_BUILD_RUSTC_WRAPPER"
            | "SSH_ASKPASS"
    ) || name.starts_with("GIT_")
        || name.starts_with("DYLD_")
        || name.starts_with("BASH_FUNC_")
}

/// Why setting `name` makes a command line unanalysable, when it does.
pub fn dangerous_assignment(name: &str) -> Option<String> {
    is_dangerous_variable(name)
        .then(|| format!("it sets `{name}`, which changes what programs run"))
}

/// The part of `NAME=value` before `=`, when the word is an assignment.
pub(super) fn assignment_name(word: &Word) -> Option<&str> {
    if word.dynamic && !word.text.contains('=') {
        return None;
    }
    let (name, _) = word.text.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() || first == '_')
        .then_some(())
        .filter(|()| chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|()| name)
}

/// Options of one wrapper: which short options take the next word, which long ones do.
pub(super) struct Options {
    pub(super) short_with_arg: &'static str,
    pub(super) long_with_arg: &'static [&'static str],
}

/// Skips options from `start`; returns the index of the first operand and the options
/// seen (short letters and long names). Stops at `--` (consumed), at a word not
/// starting with `-`, and at any dynamic word (which may be anything).
pub(super) fn skip_options(words: &[Word], start: usize, opts: &Options) -> (usize, Vec<String>) {
    let mut seen = Vec::new();
    let mut i = start;
    while let Some(w) = words.get(i) {
        if w.dynamic || !w.text.starts_with('-') || w.text == "-" {
            break;
        }
        i += 1;
        if w.text == "--" {
            break;
        }
        if let Some(long) = w.text.strip_prefix("--") {
            let (name, has_value) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            seen.push(name.to_owned());
            if !has_value && opts.long_with_arg.contains(&name) {
                i += 1;
            }
            continue;
        }
        let letters: Vec<char> = w.text[1..].chars().collect();
        for (k, c) in letters.iter().enumerate() {
            seen.push(c.to_string());
            if opts.short_with_arg.contains(*c) {
                if k + 1 == letters.len() {
                    i += 1;
                }
                break;
            }
        }
    }
    (i.min(words.len()), seen)
}

fn has(seen: &[String], names: &[&str]) -> bool {
    seen.iter().any(|s| names.contains(&s.as_str()))
}

/// Where a wrapper's wrapped command starts, if it is a wrapper.
enum Wrapped {
    /// Not a wrapper: judge these words as they are.
    No,
    /// The wrapped command starts at this index.
    At(usize),
    /// A wrapper that runs nothing this time (`command -v rm`, `sudo -l`).
    Nothing,
}

#[allow(clippy::too_many_lines)]
pub(super) fn normalise_into(
    words: &[Word],
    raw: &str,
    stdin_fed: bool,
    open_args: bool,
    depth: usize,
    out: &mut Normalised,
) {
    if depth > MAX_WRAPPERS {
        push_reason(out, format!("`{}` nests wrappers too deeply", short(raw)));
        return;
    }
    let Some(first) = words.first() else {
        return;
    };
    if first.dynamic {
        push_reason(
            out,
            format!(
                "the program `{}` is known only at run time",
                short(&first.text)
            ),
        );
        out.commands.push(command(words, raw, open_args));
        return;
    }
    let program = basename(&first.text);
    let wrapped = match program {
        "command" => {
            let (at, seen) = skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "",
                    long_with_arg: &[],
                },
            );
            if has(&seen, &["v", "V"]) {
                Wrapped::Nothing
            } else {
                Wrapped::At(at)
            }
        }
        "builtin" | "nohup" | "coproc" | "busybox" | "chronic" | "unbuffer" | "nocorrect"
        | "noglob" => Wrapped::At(1),
        "exec" => Wrapped::At(
            skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "a",
                    long_with_arg: &[],
                },
            )
            .0,
        ),
        "time" => Wrapped::At(
            skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "of",
                    long_with_arg: &["output", "format"],
                },
            )
            .0,
        ),
        "nice" => Wrapped::At(
            skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "n",
                    long_with_arg: &["adjustment"],
                },
            )
            .0,
        ),
        "timeout" => {
            let (at, _) = skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "sk",
                    long_with_arg: &["signal", "kill-after"],
                },
            );
            // The duration comes first.
            Wrapped::At(at + 1)
        }
        "stdbuf" => Wrapped::At(
            skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "ioe",
                    long_with_arg: &["input", "output", "error"],
                },
            )
            .0,
        ),
        "setsid" => Wrapped::At(
            skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "",
                    long_with_arg: &[],
                },
            )
            .0,
        ),
        "ionice" => Wrapped::At(
            skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "cnpPu",
                    long_with_arg: &["class", "classdata", "pid", "pgid", "uid"],
                },
            )
            .0,
        ),
        "env" => {
            let (mut at, seen) = skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "uCS",
                    long_with_arg: &["unset", "chdir", "split-string"],
                },
            );
            if has(&seen, &["S", "split-string"]) {
                push_reason(
                    out,
                    format!("`env -S` splits a string into a command: `{}`", short(raw)),
                );
            }
            if words.get(at).is_some_and(|w| w.is("-")) {
                at += 1;
            }
            while let Some(name) = words.get(at).and_then(assignment_name) {
                check_variable(name, out);
                at += 1;
            }
            Wrapped::At(at)
        }
        "sudo" | "doas" => {
            let (mut at, seen) = if program == "sudo" {
                skip_options(
                    words,
                    1,
                    &Options {
                        short_with_arg: "ugCDhpRrtTU",
                        long_with_arg: &[
                            "user",
                            "group",
                            "close-from",
                            "chdir",
                            "host",
                            "prompt",
                            "role",
                            "type",
                            "other-user",
                            "command-timeout",
                        ],
                    },
                )
            } else {
                skip_options(
                    words,
                    1,
                    &Options {
                        short_with_arg: "uC",
                        long_with_arg: &[],
                    },
                )
            };
            while let Some(name) = words.get(at).and_then(assignment_name) {
                check_variable(name, out);
                at += 1;
            }
            if has(
                &seen,
                &["e", "edit", "l", "list", "v", "validate", "k", "K"],
            ) || at >= words.len()
            {
                Wrapped::No
            } else {
                normalise_into(&words[at..], raw, stdin_fed, open_args, depth + 1, out);
                // The privilege wrapper is judged as a command of its own too: a rule
                // allowing `rm` does not allow `sudo rm`.
                out.commands.push(command(&words[..at], raw, false));
                return;
            }
        }
        "xargs" => {
            let (at, _) = skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "aEdILnPs",
                    long_with_arg: &[
                        "arg-file",
                        "delimiter",
                        "max-args",
                        "max-procs",
                        "max-chars",
                        "process-slot-var",
                    ],
                },
            );
            if at >= words.len() {
                // With no command xargs runs `echo`.
                normalise_into(&[Word::literal("echo")], raw, false, true, depth + 1, out);
                return;
            }
            // With `-I R` (`-i`, `--replace`) each input line replaces R in the words.
            let replace = xargs_replace_string(&words[1..at]);
            let wrapped: Vec<Word> = words[at..]
                .iter()
                .map(|w| match &replace {
                    Some(r) if w.text.contains(r.as_str()) => Word::dynamic(w.text.clone()),
                    _ => w.clone(),
                })
                .collect();
            normalise_into(&wrapped, raw, false, true, depth + 1, out);
            return;
        }
        "watch" => {
            let (at, seen) = skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "n",
                    long_with_arg: &["interval"],
                },
            );
            let rest = &words[at.min(words.len())..];
            if has(&seen, &["x", "exec"]) {
                Wrapped::At(at)
            } else if !rest.is_empty() {
                // `watch CMD ARGS` runs `sh -c "CMD ARGS"`.
                out.commands.push(command(&words[..1], raw, false));
                if rest.iter().any(|w| w.dynamic) {
                    push_reason(
                        out,
                        format!(
                            "`watch` runs a command known only at run time: `{}`",
                            short(raw)
                        ),
                    );
                } else {
                    let script: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
                    out.scripts.push(script.join(" "));
                }
                return;
            } else {
                Wrapped::No
            }
        }
        _ => Wrapped::No,
    };
    match wrapped {
        Wrapped::At(at) if at < words.len() => {
            normalise_into(&words[at..], raw, stdin_fed, open_args, depth + 1, out);
            return;
        }
        Wrapped::At(_) | Wrapped::Nothing | Wrapped::No => {}
    }
    if program == "exec" && words.len() == 1 {
        // `exec >file` only sets up redirections for what follows.
        return;
    }
    out.commands.push(command(words, raw, open_args));
    inspect(program, words, raw, stdin_fed, depth, out);
}

/// The replacement string of `xargs -I R`, `-IR`, `-i[R]` or `--replace[=R]`.
fn xargs_replace_string(options: &[Word]) -> Option<String> {
    let mut iter = options.iter();
    let mut found = None;
    while let Some(w) = iter.next() {
        let t = w.text.as_str();
        if t == "-I" {
            found = iter.next().map(|r| r.text.clone());
        } else if let Some(r) = t.strip_prefix("-I") {
            found = Some(r.to_owned());
        } else if t == "-i" || t == "--replace" {
            found = Some("{}".to_owned());
        } else if let Some(r) = t
            .strip_prefix("--replace=")
            .or_else(|| t.strip_prefix("-i"))
        {
            found = Some(r.to_owned());
        }
    }
    found.filter(|r| !r.is_empty())
}

fn check_variable(name: &str, out: &mut Normalised) {
    if let Some(reason) = dangerous_assignment(name) {
        push_reason(out, reason);
    }
}

/// Builds a [`SimpleCommand`] from words: the program reduced to its file name.
fn command(words: &[Word], raw: &str, open_args: bool) -> SimpleCommand {
    let mut argv = Vec::with_capacity(words.len());
    let mut dynamic = Vec::new();
    let mut program_path = None;
    for (i, w) in words.iter().enumerate() {
        if w.dynamic {
            dynamic.push(i);
        }
        if i == 0 && !w.dynamic && w.text.contains('/') {
            program_path = Some(w.text.clone());
            argv.push(basename(&w.text).to_owned());
        } else {
            argv.push(w.text.clone());
        }
    }
    SimpleCommand {
        argv,
        dynamic,
        program_path,
        open_args,
        raw: raw.to_owned(),
    }
}

pub(super) fn push_reason(out: &mut Normalised, reason: String) {
    if !out.unanalysable.contains(&reason) {
        out.unanalysable.push(reason);
    }
}
