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

use serde::{Deserialize, Serialize};

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

/// Shells that run `-c SCRIPT` or read a script from standard input.
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "fish", "csh", "tcsh", "rbash",
];

/// Whether `program` is a shell.
pub fn is_shell(program: &str) -> bool {
    SHELLS.contains(&program)
}

/// Whether `program` runs code in another language (`python3.12`, `node`, `perl`…).
pub fn is_interpreter(program: &str) -> bool {
    let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    matches!(
        base,
        "python"
            | "pypy"
            | "node"
            | "nodejs"
            | "deno"
            | "bun"
            | "ruby"
            | "irb"
            | "perl"
            | "php"
            | "lua"
            | "luajit"
            | "Rscript"
            | "osascript"
            | "tclsh"
            | "wish"
            | "pwsh"
            | "powershell"
            | "julia"
            | "ts-node"
            | "tsx"
            | "groovy"
            | "awk"
            | "gawk"
            | "mawk"
            | "nawk"
            | "expect"
    )
}

/// Environment variables that make a later program run other code (`PATH` picks which
/// `rm` runs; `LD_PRELOAD`, `BASH_ENV`, `GIT_SSH_COMMAND`, `PAGER`… run code outright).
pub fn is_dangerous_variable(name: &str) -> bool {
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

/// The part of `NAME=value` before `=`, when the word is an assignment.
fn assignment_name(word: &Word) -> Option<&str> {
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
struct Options {
    short_with_arg: &'static str,
    long_with_arg: &'static [&'static str],
}

/// Skips options from `start`; returns the index of the first operand and the options
/// seen (short letters and long names). Stops at `--` (consumed), at a word not
/// starting with `-`, and at any dynamic word (which may be anything).
fn skip_options(words: &[Word], start: usize, opts: &Options) -> (usize, Vec<String>) {
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
fn normalise_into(
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

/// Program-specific knowledge: shells and interpreters, `eval`, `find -exec`.
fn inspect(
    program: &str,
    words: &[Word],
    raw: &str,
    stdin_fed: bool,
    depth: usize,
    out: &mut Normalised,
) {
    let open_args = out.commands.last().is_some_and(|c| c.open_args);
    match program {
        // `xargs sh`: the script is whatever arrives at run time.
        _ if open_args && (is_shell(program) || is_interpreter(program)) => {
            let has_code = words.iter().any(|w| {
                !w.dynamic
                    && w.text.starts_with('-')
                    && !w.text.starts_with("--")
                    && w.text.contains(['c', 'e'])
            });
            if has_code {
                if is_shell(program) {
                    shell(program, words, raw, stdin_fed, out);
                }
            } else {
                push_reason(
                    out,
                    format!(
                        "`{program}` gets its program from arguments added when it runs: `{}`",
                        short(raw)
                    ),
                );
            }
        }
        _ if is_shell(program) => shell(program, words, raw, stdin_fed, out),
        _ if is_interpreter(program) => interpreter(program, words, raw, stdin_fed, out),
        "eval" => push_reason(
            out,
            format!("`eval` runs a string as a command: `{}`", short(raw)),
        ),
        "source" | "." => push_reason(
            out,
            format!("`{program}` runs the commands in a file: `{}`", short(raw)),
        ),
        "trap" if words.len() > 1 => push_reason(
            out,
            format!("`trap` runs a string as a command later: `{}`", short(raw)),
        ),
        "alias" if words.iter().skip(1).any(|w| w.text.contains('=')) => {
            push_reason(out, format!("`alias` renames commands: `{}`", short(raw)))
        }
        "hash" if words.iter().any(|w| w.is("-p")) => push_reason(
            out,
            format!("`hash -p` changes which file a name runs: `{}`", short(raw)),
        ),
        "let" => push_reason(
            out,
            format!(
                "`let` evaluates arithmetic, which can run commands: `{}`",
                short(raw)
            ),
        ),
        "printf" | "read" | "unset" | "mapfile" | "readarray" | "getopts" | "wait" | "test"
        | "[" | "declare" | "typeset" | "local" | "export" | "readonly"
            if names_runtime_subscript(program, words) =>
        {
            push_reason(
                out,
                format!(
                    "`{program}` names a variable by a subscript known only when it runs, which can run commands: `{}`",
                    short(raw)
                ),
            );
        }
        "enable" | "fc" => push_reason(
            out,
            format!(
                "`{program}` can run or load arbitrary code: `{}`",
                short(raw)
            ),
        ),
        "mapfile" | "readarray" if words.iter().any(|w| w.text.starts_with("-C")) => push_reason(
            out,
            format!("`{program} -C` runs a callback: `{}`", short(raw)),
        ),
        "su" | "runuser" | "script" | "sg" => {
            if let Some(pos) = words.iter().position(|w| w.is("-c") || w.is("--command")) {
                script_arg(program, words.get(pos + 1), raw, out);
            }
        }
        "find" => find(words, raw, depth, out),
        "fd" | "fdfind" => {
            if let Some(pos) = words.iter().position(|w| {
                ["-x", "--exec", "-X", "--exec-batch"]
                    .iter()
                    .any(|flag| w.is(flag))
            }) {
                let end = words[pos + 1..]
                    .iter()
                    .position(|w| w.is(";"))
                    .map_or(words.len(), |e| pos + 1 + e);
                normalise_into(&words[pos + 1..end], raw, false, true, depth + 1, out);
            }
        }
        "rg" => {
            let mut iter = words.iter().skip(1);
            while let Some(w) = iter.next() {
                let pre = if w.is("--pre") {
                    iter.next().cloned()
                } else {
                    w.text.strip_prefix("--pre=").map(|p| Word {
                        text: p.to_owned(),
                        dynamic: w.dynamic,
                    })
                };
                if let Some(pre) = pre {
                    normalise_into(&[pre], raw, false, true, depth + 1, out);
                }
            }
        }
        "git" => git(words, raw, out),
        "tee" => {
            let (at, _) = skip_options(
                words,
                1,
                &Options {
                    short_with_arg: "",
                    long_with_arg: &[],
                },
            );
            out.writes
                .extend(words[at.min(words.len())..].iter().cloned());
        }
        _ => {}
    }
}

/// Whether a builtin that takes variable names gets one with a run-time subscript
/// (`printf -v 'a[$(cmd)]'`, `read "a[$i]"`): assigning to it evaluates the subscript.
fn names_runtime_subscript(program: &str, words: &[Word]) -> bool {
    let risky = |w: &Word| w.text.contains('[') && (w.dynamic || w.text.contains(['$', '`']));
    match program {
        // Only the name after `-v`.
        "printf" | "test" | "[" | "wait" => {
            words
                .windows(2)
                .any(|pair| (pair[0].is("-v") || pair[0].is("-p")) && risky(&pair[1]))
                || words
                    .iter()
                    .any(|w| w.text.starts_with("-v") && w.text.len() > 2 && risky(w))
        }
        _ => words
            .iter()
            .skip(1)
            .filter(|w| !w.text.starts_with('-'))
            .any(risky),
    }
}

fn shell(program: &str, words: &[Word], raw: &str, stdin_fed: bool, out: &mut Normalised) {
    let mut i = 1;
    let mut has_c = false;
    let mut has_s = false;
    while let Some(w) = words.get(i) {
        if w.dynamic {
            push_reason(
                out,
                format!(
                    "`{program}` gets options known only at run time: `{}`",
                    short(raw)
                ),
            );
            return;
        }
        let t = w.text.as_str();
        if t == "--" || t == "-" {
            i += 1;
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            i += 1;
            if matches!(long, "rcfile" | "init-file") {
                i += 1;
            }
            if long == "command" {
                has_c = true;
            }
            continue;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            i += 1;
            let letters = &t[1..];
            if letters.contains('c') {
                has_c = true;
            }
            if letters.contains('s') {
                has_s = true;
            }
            if letters.ends_with('o') || letters.ends_with('O') {
                i += 1;
            }
            continue;
        }
        break;
    }
    let operand = words.get(i);
    if has_c {
        script_arg(program, operand, raw, out);
    } else if operand.is_none() || has_s {
        if stdin_fed {
            push_reason(
                out,
                format!("`{}` runs its standard input as a script", short(raw)),
            );
        }
    } else if operand.is_some_and(|w| w.dynamic) {
        push_reason(
            out,
            format!(
                "`{program}` runs a script known only at run time: `{}`",
                short(raw)
            ),
        );
    }
}

fn script_arg(program: &str, script: Option<&Word>, raw: &str, out: &mut Normalised) {
    match script {
        Some(w) if w.dynamic => push_reason(
            out,
            format!(
                "`{program} -c` runs a script known only at run time: `{}`",
                short(raw)
            ),
        ),
        Some(w) => out.scripts.push(w.text.clone()),
        None => {}
    }
}

fn interpreter(program: &str, words: &[Word], raw: &str, stdin_fed: bool, out: &mut Normalised) {
    // Options that take the program text or a module instead of a script file.
    let code_flags: &[&str] = &[
        "-c", "-e", "-E", "-r", "-m", "-p", "--eval", "--print", "-f", "eval", "run",
    ];
    let mut operand = None;
    for w in words.iter().skip(1) {
        if w.dynamic {
            operand = Some(w);
            break;
        }
        if code_flags.contains(&w.text.as_str()) || w.text.starts_with("-c") {
            return;
        }
        if w.text == "-" {
            operand = Some(w);
            break;
        }
        if w.text.starts_with('-') {
            continue;
        }
        operand = Some(w);
        break;
    }
    // awk's first operand is its program text.
    if program.ends_with("awk") {
        return;
    }
    match operand {
        None => {
            if stdin_fed {
                push_reason(
                    out,
                    format!("`{}` runs its standard input as a program", short(raw)),
                );
            }
        }
        Some(w) if w.is("-") => {
            if stdin_fed {
                push_reason(
                    out,
                    format!("`{}` runs its standard input as a program", short(raw)),
                );
            }
        }
        Some(w) if w.dynamic => push_reason(
            out,
            format!(
                "`{program}` runs a program known only at run time: `{}`",
                short(raw)
            ),
        ),
        Some(_) => {}
    }
}

/// `find … -exec CMD … ;`, `-execdir`, `-ok`, `-okdir`, `-delete`, `-fprint FILE`.
fn find(words: &[Word], raw: &str, depth: usize, out: &mut Normalised) {
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if w.dynamic {
            continue;
        }
        match w.text.as_str() {
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let start = i;
                let mut end = words.len();
                let mut plus = false;
                while i < words.len() {
                    let t = &words[i];
                    if t.is(";") {
                        end = i;
                        i += 1;
                        break;
                    }
                    if t.is("+") && i > start && words[i - 1].text.contains("{}") {
                        end = i;
                        plus = true;
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                let inner: Vec<Word> = words[start..end]
                    .iter()
                    .map(|w| {
                        if w.text.contains("{}") {
                            Word::dynamic(w.text.clone())
                        } else {
                            w.clone()
                        }
                    })
                    .collect();
                normalise_into(&inner, raw, false, plus, depth + 1, out);
            }
            "-delete" => out.commands.push(SimpleCommand {
                argv: vec!["rm".into()],
                open_args: true,
                raw: raw.to_owned(),
                ..SimpleCommand::default()
            }),
            "-fprint" | "-fprint0" | "-fls" | "-fprintf" => {
                if let Some(file) = words.get(i) {
                    out.writes.push(file.clone());
                }
                i += 1;
            }
            _ => {}
        }
    }
}

/// `git -c KEY=VALUE` with a key whose value is a command (`core.pager`, `alias.x=!…`).
fn git(words: &[Word], raw: &str, out: &mut Normalised) {
    let mut iter = words.iter().skip(1);
    while let Some(w) = iter.next() {
        let setting = if w.is("-c") {
            iter.next()
        } else if w.text.starts_with("--config-env") {
            Some(w)
        } else if w.dynamic || !w.text.starts_with('-') {
            break;
        } else {
            continue;
        };
        let Some(setting) = setting else { break };
        let key = setting
            .text
            .split('=')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let runs_code = setting.dynamic
            || w.text.starts_with("--config-env")
            || key.starts_with("alias.")
            || key.starts_with("filter.")
            || key.starts_with("pager.")
            || [
                "pager",
                "editor",
                "sshcommand",
                "fsmonitor",
                "external",
                "program",
                "helper",
                "driver",
                "hookspath",
                "textconv",
                "command",
                "askpass",
                "proxy",
            ]
            .iter()
            .any(|k| key.ends_with(k));
        if runs_code {
            push_reason(
                out,
                format!(
                    "`git -c {}` sets a command git will run: `{}`",
                    short(&setting.text),
                    short(raw)
                ),
            );
        }
    }
}

fn check_variable(name: &str, out: &mut Normalised) {
    if is_dangerous_variable(name) {
        push_reason(
            out,
            format!("it sets `{name}`, which changes what programs run"),
        );
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

/// `/usr/bin/rm` → `rm`; a name ending in `/` keeps its last non-empty part.
pub fn basename(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(path)
}

fn push_reason(out: &mut Normalised, reason: String) {
    if !out.unanalysable.contains(&reason) {
        out.unanalysable.push(reason);
    }
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
            if is_dangerous_variable(name) {
                analysis.push_unanalysable(format!(
                    "it sets `{name}`, which changes what programs run"
                ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn words(s: &str) -> Vec<Word> {
        s.split_whitespace()
            .map(|w| match w.strip_prefix('$') {
                Some(_) => Word::dynamic(w),
                None => Word::literal(w),
            })
            .collect()
    }

    fn argvs(n: &Normalised) -> Vec<Vec<String>> {
        n.commands.iter().map(|c| c.argv.clone()).collect()
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn programs_are_reduced_to_their_names() {
        let n = normalise(&words("/bin/rm -rf x"), "/bin/rm -rf x", false);
        assert_eq!(argvs(&n), vec![v(&["rm", "-rf", "x"])]);
        assert_eq!(n.commands[0].program_path.as_deref(), Some("/bin/rm"));
        assert_eq!(basename("./gradlew"), "gradlew");
        assert_eq!(basename("dir/"), "dir");
        assert_eq!(basename("/"), "/");
    }

    #[test]
    fn wrappers_are_stripped() {
        for (line, expected) in [
            ("command rm x", vec![v(&["rm", "x"])]),
            ("builtin cd x", vec![v(&["cd", "x"])]),
            ("env -i A=1 B=2 rm x", vec![v(&["rm", "x"])]),
            ("env -u HOME -- rm x", vec![v(&["rm", "x"])]),
            ("exec -a name rm x", vec![v(&["rm", "x"])]),
            ("nice -n 10 rm x", vec![v(&["rm", "x"])]),
            ("nohup rm x", vec![v(&["rm", "x"])]),
            ("time -p rm x", vec![v(&["rm", "x"])]),
            ("timeout -s KILL 5 rm x", vec![v(&["rm", "x"])]),
            ("timeout 5s nice nohup rm x", vec![v(&["rm", "x"])]),
            (
                "sudo -u root rm x",
                vec![v(&["rm", "x"]), v(&["sudo", "-u", "root"])],
            ),
            ("doas rm x", vec![v(&["rm", "x"]), v(&["doas"])]),
            ("command -v rm", vec![v(&["command", "-v", "rm"])]),
            ("env", vec![v(&["env"])]),
            ("stdbuf -oL rm x", vec![v(&["rm", "x"])]),
        ] {
            let n = normalise(&words(line), line, false);
            assert_eq!(argvs(&n), expected, "{line}");
        }
    }

    #[test]
    fn xargs_runs_its_command_with_unknown_arguments() {
        let n = normalise(&words("xargs -0 -n 1 rm -f"), "", false);
        assert_eq!(argvs(&n), vec![v(&["rm", "-f"])]);
        assert!(n.commands[0].open_args);
        let n = normalise(&words("xargs"), "", false);
        assert_eq!(argvs(&n), vec![v(&["echo"])]);
    }

    #[test]
    fn xargs_into_a_shell_runs_what_arrives_at_run_time() {
        for line in [
            "xargs sh",
            "xargs -I {} sh -c {}",
            "xargs -i sh -c {}",
            "xargs python3",
        ] {
            let n = normalise(&words(line), line, false);
            assert!(!n.unanalysable.is_empty(), "{line}: {n:?}");
        }
        let mut w = words("xargs sh -c X _");
        w[3] = Word::literal("rm \"$@\"");
        let n = normalise(&w, "", false);
        assert!(n.unanalysable.is_empty(), "{n:?}");
        assert_eq!(n.scripts, vec!["rm \"$@\"".to_owned()]);
        let n = normalise(&words("xargs -I % mv % dest"), "", false);
        assert_eq!(n.commands[0].dynamic, vec![1]);
    }

    #[test]
    fn find_exec_and_delete_add_commands() {
        let n = normalise(
            &words("find . -name x -exec rm -f {} ; -delete -fprint out"),
            "find",
            false,
        );
        assert_eq!(n.commands.len(), 3);
        assert_eq!(n.commands[1].argv, v(&["rm", "-f", "{}"]));
        assert!(n.commands[1].is_dynamic(2));
        assert_eq!(n.commands[2].argv, v(&["rm"]));
        assert_eq!(n.writes, vec![Word::literal("out")]);
    }

    #[test]
    fn shells_hand_back_their_scripts() {
        let mut w = words("bash -lc X");
        w[2] = Word::literal("rm -rf x; ls");
        let n = normalise(&w, "", false);
        assert_eq!(n.scripts, vec!["rm -rf x; ls".to_owned()]);
        assert_eq!(argvs(&n), vec![v(&["bash", "-lc", "rm -rf x; ls"])]);
        let n = normalise(&words("sh -c $X"), "", false);
        assert_eq!(n.unanalysable.len(), 1);
        let n = normalise(&words("sh"), "", true);
        assert_eq!(n.unanalysable.len(), 1, "{n:?}");
        let n = normalise(&words("sh"), "", false);
        assert!(n.unanalysable.is_empty());
        let n = normalise(&words("sh script.sh"), "", true);
        assert!(n.unanalysable.is_empty());
        let n = normalise(&words("python3"), "", true);
        assert_eq!(n.unanalysable.len(), 1);
        let n = normalise(&words("python3 -c x"), "", true);
        assert!(n.unanalysable.is_empty());
        let n = normalise(&words("python3 tool.py"), "", true);
        assert!(n.unanalysable.is_empty());
    }

    #[test]
    fn code_running_builtins_are_unanalysable() {
        for line in [
            "eval ls",
            "source x",
            ". x",
            "$x a",
            "env PATH=/tmp ls",
            "env -S rm",
            "trap x EXIT",
            "git -c core.pager=x log",
            "git -c alias.st=!rm st",
            "sudo LD_PRELOAD=x ls",
        ] {
            let n = normalise(&words(line), line, false);
            assert!(!n.unanalysable.is_empty(), "{line}");
        }
        let n = normalise(&words("git -c user.name=x commit"), "", false);
        assert!(n.unanalysable.is_empty());
    }

    #[test]
    fn plain_analysis_understands_only_plain_words() {
        let a = ShellAnalysis::plain("git status --short");
        assert!(a.is_complete());
        assert_eq!(a.commands[0].argv, v(&["git", "status", "--short"]));
        let a = ShellAnalysis::plain("RUST_LOG=debug cargo test");
        assert_eq!(a.commands[0].argv, v(&["cargo", "test"]));
        for line in [
            "a; b",
            "a && b",
            "echo $(x)",
            "a > b",
            "\"rm\"",
            "a\nb",
            "ls *",
        ] {
            let a = ShellAnalysis::plain(line);
            assert!(!a.is_complete(), "{line}");
            assert!(a.commands.is_empty(), "{line}");
        }
        assert!(!ShellAnalysis::plain("PATH=/x ls").is_complete());
        assert!(!ShellAnalysis::plain("bash -c ls").is_complete());
    }
}
