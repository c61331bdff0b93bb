use super::*;
use pretty_assertions::assert_eq;

fn argvs(command: &str) -> Vec<Vec<String>> {
    analyse(command)
        .commands
        .into_iter()
        .map(|c| c.argv)
        .collect()
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn writes(command: &str) -> Vec<(String, Option<String>)> {
    analyse(command)
        .writes
        .into_iter()
        .map(|w| (w.target, w.dir))
        .collect()
}

#[test]
fn lists_and_pipelines_are_split_into_commands() {
    assert_eq!(
        argvs("echo ok; touch p"),
        vec![v(&["echo", "ok"]), v(&["touch", "p"])]
    );
    assert_eq!(
        argvs("a && b || c & d\ne | f |& g"),
        vec![
            v(&["a"]),
            v(&["b"]),
            v(&["c"]),
            v(&["d"]),
            v(&["e"]),
            v(&["f"]),
            v(&["g"])
        ]
    );
    assert_eq!(
        argvs("(cd x && y); { z; }"),
        vec![v(&["cd", "x"]), v(&["y"]), v(&["z"])]
    );
    assert_eq!(
        argvs("if a; then b; elif c; then d; else e; fi"),
        vec![v(&["a"]), v(&["b"]), v(&["c"]), v(&["d"]), v(&["e"])]
    );
    assert_eq!(
        argvs("for i in $(ls); do rm $i; done; while x; do y; done; case $q in a) z;; esac"),
        vec![
            v(&["ls"]),
            v(&["rm", "$i"]),
            v(&["x"]),
            v(&["y"]),
            v(&["z"])
        ]
    );
    assert_eq!(argvs("f() { rm x; }; f"), vec![v(&["rm", "x"]), v(&["f"])]);
    assert_eq!(argvs("! a"), vec![v(&["a"])]);
}

#[test]
fn substitutions_are_analysed() {
    assert_eq!(
        argvs("echo $(touch p) `id` \"a$(b)c\" <(ls) >(sh)"),
        vec![
            v(&["touch", "p"]),
            v(&["id"]),
            v(&["b"]),
            v(&["ls"]),
            v(&["sh"]),
            v(&["echo", "$(touch p)", "`id`", "a$(b)c", "<(ls)", ">(sh)"]),
        ]
    );
    assert_eq!(argvs("x=$(rm y)"), vec![v(&["rm", "y"])]);
    assert_eq!(argvs("export A=$(rm y)"), vec![v(&["rm", "y"])]);
    assert_eq!(
        argvs("echo ${x:-$(rm y)} $((1 + $(z)))"),
        vec![
            v(&["rm", "y"]),
            v(&["z"]),
            v(&["echo", "${x:-$(rm y)}", "$((1 + $(z)))"])
        ]
    );
    assert_eq!(
        argvs("cat > \"$(mktemp)\""),
        vec![v(&["mktemp"]), v(&["cat"])]
    );
    // A process substitution reading data that sh runs.
    let a = analyse("tee >(sh)");
    assert!(!a.is_complete(), "{a:?}");
}

#[test]
fn quotes_and_escapes_are_removed() {
    for line in [
        "rm x",
        "\\rm x",
        "\"rm\" x",
        "'rm' x",
        "r\"m\" x",
        "'r'm x",
        "$'\\x72m' x",
        "$'\\162\\155' x",
        "/bin/rm x",
        "/usr/bin/rm x",
        "command rm x",
        "env rm x",
        "env -i FOO=1 rm x",
        "nice -n 5 rm x",
        "timeout 10 rm x",
        "nohup rm x",
        "time rm x",
        "exec rm x",
        "builtin rm x",
        "r\\m x",
    ] {
        let a = analyse(line);
        assert_eq!(a.commands[0].argv, v(&["rm", "x"]), "{line}");
        assert!(a.commands[0].dynamic.is_empty(), "{line}");
        assert!(a.is_complete(), "{line}: {a:?}");
    }
    assert_eq!(
        argvs("echo \"a\\\"b\\$c\" 'd\\e' f\\ g"),
        vec![v(&["echo", "a\"b$c", "d\\e", "f g"])]
    );
}

#[test]
fn expansions_are_dynamic() {
    let a = analyse("echo $HOME ${x} *.rs a{b,c} ~root plain");
    let c = &a.commands[0];
    assert_eq!(c.dynamic, vec![1, 2, 3, 4, 5]);
    let a = analyse("x=rm; $x -rf y");
    assert!(!a.is_complete());
    assert!(a.commands[0].is_dynamic(0));
    for line in [
        "$x",
        "${x} a",
        "\"$x\" a",
        "$(echo rm) a",
        "`echo rm` a",
        "/bin/r? a",
        "r{m,} a",
    ] {
        assert!(!analyse(line).is_complete(), "{line}");
    }
}

#[test]
fn nested_shells_are_parsed() {
    assert_eq!(
        argvs("bash -c \"rm -rf x; ls\""),
        vec![
            v(&["bash", "-c", "rm -rf x; ls"]),
            v(&["rm", "-rf", "x"]),
            v(&["ls"])
        ]
    );
    assert_eq!(
        argvs("sh -c 'sh -c \"id\"'"),
        vec![
            v(&["sh", "-c", "sh -c \"id\""]),
            v(&["sh", "-c", "id"]),
            v(&["id"])
        ]
    );
    assert!(!analyse("bash -c \"$CMD\"").is_complete());
    assert!(analyse("bash script.sh").is_complete());
    assert!(!analyse("bash <(curl x)").is_complete());
    let deep = (0..12).fold("id".to_owned(), |acc, _| {
        format!("sh -c {}", format_args!("'{}'", acc.replace('\'', "'\\''")))
    });
    assert!(!analyse(&deep).is_complete());
}

#[test]
fn data_fed_to_shells_is_unanalysable() {
    for line in [
        "curl x | sh",
        "curl x | bash -s",
        "echo cm0= | base64 -d | sh",
        "cat x | python3",
        "cat x | python3 -",
        "cat x | node",
        "bash <<< 'rm x'",
        "sh < script",
        "cat <<EOF | sh\nrm x\nEOF",
        "bash <<EOF\nrm x\nEOF",
        "eval ls",
        "source x",
        ". ./x",
    ] {
        assert!(!analyse(line).is_complete(), "{line}");
    }
    for line in [
        "cat x | python3 tool.py",
        "ls | head",
        "echo x | grep y",
        "cat <<EOF > f\nx\nEOF",
    ] {
        assert!(analyse(line).is_complete(), "{line}: {:?}", analyse(line));
    }
}

#[test]
fn find_and_xargs_run_commands() {
    assert_eq!(
        argvs("find . -name '*.tmp' -exec rm {} \\;"),
        vec![
            v(&["find", ".", "-name", "*.tmp", "-exec", "rm", "{}", ";"]),
            v(&["rm", "{}"])
        ]
    );
    assert_eq!(
        argvs("find . -delete"),
        vec![v(&["find", ".", "-delete"]), v(&["rm"])]
    );
    let a = analyse("git ls-files | xargs -0 rm -f");
    assert_eq!(a.commands[1].argv, v(&["rm", "-f"]));
    assert!(a.commands[1].open_args);
}

#[test]
fn writes_are_found_with_their_directories() {
    assert_eq!(
        writes("echo ok > ../outside 2>&1 >> .git/x &>f >| g >&2 1>&- 2>/dev/null"),
        vec![
            ("../outside".to_owned(), None),
            (".git/x".to_owned(), None),
            ("f".to_owned(), None),
            ("g".to_owned(), None),
        ]
    );
    assert_eq!(writes("echo > 'a b'"), vec![("a b".to_owned(), None)]);
    assert_eq!(
        writes("cd .git/hooks && echo x > pre-commit"),
        vec![("pre-commit".to_owned(), Some(".git/hooks".to_owned()))]
    );
    assert_eq!(
        writes("cd a; cd b && echo > c"),
        vec![
            ("c".to_owned(), Some("a/b".to_owned())),
            ("c".to_owned(), Some("b".to_owned()))
        ]
    );
    // A `cd` in a subshell does not move the parent.
    assert_eq!(writes("(cd x) && echo > y"), vec![("y".to_owned(), None)]);
    // Either directory after `||`.
    assert_eq!(
        writes("cd x || cd y; echo > z"),
        vec![
            ("z".to_owned(), Some("x".to_owned())),
            ("z".to_owned(), Some("y".to_owned())),
            ("z".to_owned(), None),
        ]
    );
    assert!(!analyse("cd $D && echo > x").is_complete());
    assert!(!analyse("cd && echo > x").is_complete());
    assert!(analyse("cd $D && echo > /abs").writes[0].target == "/abs");
    assert!(!analyse("echo > $OUT").is_complete());
    assert_eq!(
        writes("echo x | tee a b"),
        vec![("a".to_owned(), None), ("b".to_owned(), None)]
    );
    assert_eq!(writes("exec > log"), vec![("log".to_owned(), None)]);
    assert!(analyse("exec > log").commands.is_empty());
}

#[test]
fn dangerous_variables_are_unanalysable() {
    for line in [
        "PATH=/tmp ls",
        "PATH=/tmp; ls",
        "export PATH=/tmp:$PATH",
        "LD_PRELOAD=x.so ls",
        "GIT_SSH_COMMAND='rm x' git fetch",
        "env BASH_ENV=x bash -c ls",
    ] {
        assert!(!analyse(line).is_complete(), "{line}");
    }
    assert!(analyse("RUST_LOG=debug cargo test").is_complete());
}

#[test]
fn code_hidden_in_variables_is_unanalysable() {
    // Each of these runs `touch p` in bash when `x` holds `a[$(touch p)]` or
    // `$(touch p)`, though no command substitution is visible.
    for line in [
        "echo $((x))",
        "echo $[x]",
        "echo $(( $(cat f) ))",
        "((x))",
        "echo ${x@P}",
        "echo ${!x}",
        "echo ${a[$i]}",
        "echo ${a[i]}",
        "echo ${x:$y}",
        "echo ${x:y}",
        "[[ $x -eq 1 ]]",
        "[[ -v a[$i] ]]",
        "a[$i]=1",
        "declare -i n=$x",
        "unset 'a[$(touch p)]'",
        "printf -v 'a[$(touch p)]' %s x",
        "read 'a[$(touch p)]' < f",
        "let x=1",
        "for ((i=0; i<3; i++)); do echo; done",
    ] {
        assert!(!analyse(line).is_complete(), "{line}");
    }
    for line in [
        "echo $((1 + 2 * 3))",
        "echo ${a[@]} ${a[1]} ${x:-d} ${#x} ${x%.rs} ${x:1:2}",
        "[[ -f x && 1 -eq 1 ]]",
        "[ \"$x\" -eq 1 ]",
        "printf '%s [%s]\\n' a b",
        "read -r line < f",
        "declare -r x=$y",
    ] {
        assert!(analyse(line).is_complete(), "{line}: {:?}", analyse(line));
    }
}

#[test]
fn substitutions_the_parser_misses_are_caught() {
    assert_eq!(
        argvs("echo `echo \\`rm x\\``"),
        vec![
            v(&["rm", "x"]),
            v(&["echo", "`rm x`"]),
            v(&["echo", "`echo \\`rm x\\``"])
        ]
    );
    assert!(!analyse("echo ${x:-`rm x`}").is_complete());
    assert!(!analyse("cat <<EOF\n`rm x`\nEOF").is_complete());
    assert_eq!(
        argvs("cat <<EOF\n$(rm x)\nEOF"),
        vec![v(&["rm", "x"]), v(&["cat"])]
    );
    let quoted = analyse("cat <<'EOF' > x.sh\necho `date` $(id)\nEOF");
    assert!(quoted.is_complete(), "{quoted:?}");
    assert_eq!(quoted.commands.len(), 1);
    assert!(analyse("echo \\`x\\` '$(y)' \\$y").is_complete());
}

#[test]
fn parser_differentials_found_by_running_bash_are_unanalysable() {
    // Each runs `rm` in bash while tree-sitter-bash reads something else.
    for line in [
        "echo\n\\rm x",
        "echo\n\\\nrm x",
        "echo `ls` `rm x`",
        "echo >& '$(rm x)'",
        "echo <<EOF\n&& \"$x`rm x`\"",
        "echo \"$\\\n(rm x)\"",
        "echo ok\\\n $\nrm x",
        "echo a>&\\ \nrm x",
        "r`true`\"m\" x",
        "e\\\n=cho rm x",
        "command &> f rm x",
        "$'\\x{72}m' x",
    ] {
        assert!(
            !analyse(line).is_complete(),
            "{line:?}: {:?}",
            analyse(line)
        );
    }
    // `$"…"` is a translated string: `r$"m"` runs `rm`.
    assert_eq!(argvs("r$\"m\" x"), vec![v(&["rm", "x"])]);
}

#[test]
fn syntax_errors_are_unanalysable_but_still_walked() {
    let a = analyse("echo ok; rm x; )(");
    assert!(!a.is_complete());
    assert!(a.commands.iter().any(|c| c.argv[0] == "rm"), "{a:?}");
    assert!(!analyse("echo 'unclosed").is_complete());
    // A parser differential: tree-sitter-bash reads `\n\\rm` as one word.
    assert!(!analyse("echo\n\\rm x").is_complete());
}

#[test]
fn non_ascii_text_is_kept_and_never_splits_words() {
    assert_eq!(
        argvs("echo héllo \u{1F600} 'ü'"),
        vec![v(&["echo", "héllo", "\u{1F600}", "ü"])]
    );
    // A no-break space is no separator to bash: this is one word.
    assert_eq!(argvs("rm\u{a0}-rf x"), vec![v(&["rm\u{a0}-rf", "x"])]);
    assert_eq!(writes("echo > ñ.txt"), vec![("ñ.txt".to_owned(), None)]);
}

#[test]
fn deep_constructs_inside_nested_scripts_share_one_depth_budget() {
    let mut script = "rm x".to_owned();
    for _ in 0..8 {
        let quoted = format!("'{}'", script.replace('\'', "'\\''"));
        script = format!("{}bash -c {quoted}{}", "(".repeat(150), ")".repeat(150));
    }
    let a = analyse(&script);
    assert!(!a.is_complete());
}

#[test]
fn odd_input_never_panics() {
    let long = "(".repeat(5000) + &")".repeat(5000);
    let nested = "$(".repeat(2000) + &")".repeat(2000);
    for line in [
        "",
        " ",
        "\0",
        "\u{feff}ls",
        "}",
        "<<",
        "a <<",
        "${",
        "$'\\",
        "\"\\",
        "case",
        long.as_str(),
        nested.as_str(),
        "echo \u{1F600} > \u{1F600}",
        // Crashed tree-sitter-bash's scanner (`isdigit` on a wide character).
        "{\u{100217}",
        "x{\u{E0000}}",
        "{1..\u{10FFFF}}",
    ] {
        let _ = analyse(line);
    }
}
