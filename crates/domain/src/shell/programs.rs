//! What particular programs run: shells and interpreters (`bash -c`, `python3 -`),
//! builtins that run strings (`eval`, `source`, `trap`), `find -exec`, `fd -x`,
//! `rg --pre`, `git -c core.pager=…` and `tee`.

use super::wrappers::{Options, normalise_into, push_reason, skip_options};
use super::{Normalised, SimpleCommand, Word, short};

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

/// Program-specific knowledge: shells and interpreters, `eval`, `find -exec`.
pub(super) fn inspect(
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
