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
