use super::*;
use crate::shell::{ShellAnalysis, SimpleCommand};
use crate::tool::ToolAction;
use PermissionLevel::*;

fn action(target: &str) -> ToolAction {
    ToolAction {
        target: Some(target.into()),
        ..ToolAction::default()
    }
}

fn rule(s: &str) -> PermissionRule {
    s.parse().expect("valid rule")
}

fn policy(mode: PermissionMode, allow: &[&str], deny: &[&str]) -> PermissionPolicy {
    PermissionPolicy {
        mode,
        allow: allow.iter().map(|r| rule(r)).collect(),
        deny: deny.iter().map(|r| rule(r)).collect(),
    }
}

#[test]
fn parses_and_prints_rules() {
    assert_eq!(
        rule("bash(git status:*)"),
        PermissionRule {
            tool: "bash".into(),
            pattern: Some("git status:*".into()),
            source: None,
        }
    );
    assert_eq!(
        rule("Read"),
        PermissionRule {
            tool: "read".into(),
            pattern: None,
            source: None,
        }
    );
    assert_eq!(rule("edit(src/**)").to_string(), "edit(src/**)");
    assert!("bash(".parse::<PermissionRule>().is_err());
    assert!("bash()".parse::<PermissionRule>().is_err());
    assert!("(x)".parse::<PermissionRule>().is_err());
}

#[test]
fn bash_prefix_rules_match_whole_words() {
    let r = rule("bash(git status:*)");
    assert!(r.matches("bash", &action("git status")));
    assert!(r.matches("bash", &action("git status --short")));
    assert!(!r.matches("bash", &action("git statusx")));
    assert!(!r.matches("bash", &action("git push")));
    let exact = rule("bash(cargo test)");
    assert!(exact.matches("bash", &action("cargo test")));
    assert!(!exact.matches("bash", &action("cargo test; rm -rf /")));
}

#[test]
fn edit_rules_cover_write_and_use_globs() {
    let r = rule("edit(src/**)");
    assert!(r.matches("edit", &action("src/a/b.rs")));
    assert!(r.matches("write", &action("src/new.rs")));
    assert!(!r.matches("edit", &action("Cargo.toml")));
    assert!(!r.matches("bash", &action("src/x")));
}

#[test]
fn modes_by_level() {
    let a = action("x");
    let cases = [
        (PermissionMode::Plan, ReadOnly, true),
        (PermissionMode::Ask, ReadOnly, true),
        (PermissionMode::AutoEdit, ReadOnly, true),
        (PermissionMode::FullAuto, ReadOnly, true),
        (PermissionMode::Plan, ReadWrite, false),
        (PermissionMode::Ask, ReadWrite, false),
        (PermissionMode::AutoEdit, ReadWrite, true),
        (PermissionMode::FullAuto, ReadWrite, true),
        (PermissionMode::Plan, Destructive, false),
        (PermissionMode::Ask, Destructive, false),
        (PermissionMode::AutoEdit, Destructive, false),
        (PermissionMode::FullAuto, Destructive, true),
    ];
    for (mode, level, allowed) in cases {
        let d = policy(mode, &[], &[]).decide("t", level, level != ReadOnly, &a);
        assert_eq!(d == Decision::Allow, allowed, "{mode} {level:?} -> {d:?}");
    }
    assert!(matches!(
        policy(PermissionMode::Plan, &[], &[]).decide("bash", Destructive, true, &a),
        Decision::Deny(_)
    ));
    assert!(matches!(
        policy(PermissionMode::Ask, &[], &[]).decide("bash", Destructive, true, &a),
        Decision::Ask(_)
    ));
}

#[test]
fn deny_rules_come_first() {
    let p = policy(PermissionMode::FullAuto, &["bash"], &["bash(rm:*)"]);
    assert!(
        matches!(p.decide("bash", Destructive, true, &action("rm -rf x")), Decision::Deny(r) if r.contains("bash(rm:*)"))
    );
    assert_eq!(
        p.decide("bash", Destructive, true, &action("ls")),
        Decision::Allow
    );
}

#[test]
fn allow_rules_open_ask_mode() {
    let p = policy(PermissionMode::Ask, &["bash(git status:*)"], &[]);
    assert_eq!(
        p.decide("bash", Destructive, true, &action("git status")),
        Decision::Allow
    );
    assert!(matches!(
        p.decide("bash", Destructive, true, &action("git push")),
        Decision::Ask(_)
    ));
}

#[test]
fn plan_mode_ignores_allow_rules_for_writes() {
    let p = policy(PermissionMode::Plan, &["edit"], &[]);
    assert!(matches!(
        p.decide("edit", ReadWrite, true, &action("a")),
        Decision::Deny(_)
    ));
}

#[test]
fn outside_root_needs_explicit_permission_even_in_full_auto() {
    let outside = ToolAction {
        target: Some("/etc/passwd".into()),
        outside_root: true,
        ..ToolAction::default()
    };
    let p = policy(PermissionMode::FullAuto, &[], &[]);
    assert!(
        matches!(p.decide("read", ReadOnly, false, &outside), Decision::Ask(r) if r.contains("outside"))
    );
    let p = policy(PermissionMode::Ask, &["read(/etc/**)"], &[]);
    assert_eq!(p.decide("read", ReadOnly, false, &outside), Decision::Allow);
}

fn protected(target: &str) -> ToolAction {
    ToolAction {
        target: Some(target.into()),
        protected: Some(target.into()),
        ..ToolAction::default()
    }
}

#[test]
fn protected_paths_ask_in_every_mode_unless_a_rule_names_them() {
    let git = protected(".git/config");
    for mode in [
        PermissionMode::Ask,
        PermissionMode::AutoEdit,
        PermissionMode::FullAuto,
    ] {
        for allow in [
            &[][..],
            &["edit"][..],
            &["edit(**)"][..],
            &["write(/**)"][..],
        ] {
            let d = policy(mode, allow, &[]).decide("write", ReadWrite, true, &git);
            assert!(
                matches!(&d, Decision::Ask(r) if r.contains("protected")),
                "{mode} {allow:?}: {d:?}"
            );
        }
    }
    let p = policy(PermissionMode::Ask, &["edit(.git/config)"], &[]);
    assert_eq!(p.decide("edit", ReadWrite, true, &git), Decision::Allow);
    let p = policy(PermissionMode::Ask, &["write(.cuervo/**)"], &[]);
    assert_eq!(
        p.decide("write", ReadWrite, true, &protected(".cuervo/config.yml")),
        Decision::Allow
    );
    // A deny rule still wins, and plan mode still refuses.
    let p = policy(
        PermissionMode::FullAuto,
        &["edit(.git/**)"],
        &["edit(.git/**)"],
    );
    assert!(matches!(
        p.decide("edit", ReadWrite, true, &git),
        Decision::Deny(_)
    ));
}

#[test]
fn mode_round_trips_through_strings() {
    for m in PermissionMode::ALL {
        assert_eq!(m.as_str().parse::<PermissionMode>(), Ok(m));
    }
    assert!(
        "yolo"
            .parse::<PermissionMode>()
            .unwrap_err()
            .contains("auto-edit")
    );
}

fn shell_action(commands: Vec<SimpleCommand>) -> ToolAction {
    ToolAction {
        target: Some("(analysed)".into()),
        shell: Some(ShellAnalysis {
            commands,
            ..ShellAnalysis::default()
        }),
        ..ToolAction::default()
    }
}

fn cmd(argv: &[&str]) -> SimpleCommand {
    SimpleCommand {
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        raw: argv.join(" "),
        ..SimpleCommand::default()
    }
}

#[test]
fn unsupported_glob_syntax_is_rejected() {
    for bad in [
        "bash(git *)",
        "bash(git st*tus:*)",
        "bash(**)",
        "bash(:*)",
        "bash(echo {a,b}:*)",
        "bash(ls [ab]:*)",
        "bash('unclosed:*)",
        "bash(!rm:*)",
        "edit(src/[ab].rs)",
        "edit({src,tests}/**)",
        "read(!secret)",
    ] {
        let err = bad.parse::<PermissionRule>().expect_err(bad);
        assert!(err.to_string().contains(bad), "{err}");
    }
    for good in [
        "bash(*)",
        "bash",
        "bash(git status:*)",
        "bash(cargo test)",
        "bash(find . -name x -exec wc {} :*)",
        "bash(git commit -m 'a b':*)",
        "bash([ -f x ]:*)",
        "edit(src/**)",
        "read(*.md)",
        "write(a?.txt)",
    ] {
        assert!(good.parse::<PermissionRule>().is_ok(), "{good}");
    }
}

#[test]
fn rules_naming_unknown_tools_are_reported() {
    let known = ["bash", "read", "write", "glob"];
    let err = rule("shell(rm:*)")
        .with_source("/home/u/.config/cuervo/config.yml")
        .validate_tools(&known)
        .expect_err("unknown");
    let text = err.to_string();
    assert!(text.contains("unknown tool `shell`"), "{text}");
    assert!(text.contains("bash, edit, glob, read, write"), "{text}");
    assert!(text.contains("/home/u/.config/cuervo/config.yml"), "{text}");
    assert!(rule("edit(src/**)").validate_tools(&known).is_ok());
    assert!(rule("bash(rm:*)").validate_tools(&known).is_ok());
    let mut p = policy(PermissionMode::Ask, &["read"], &["shell(rm:*)"]);
    assert!(p.validate_tools(&known).is_err());
    p.deny.clear();
    assert!(p.validate_tools(&known).is_ok());
}

#[test]
fn sources_are_kept_out_of_identity_and_named_in_denials() {
    let a = rule("bash(rm:*)").with_source("a.yml");
    assert_eq!(a, rule("bash(rm:*)"));
    assert_eq!(a.to_string(), "bash(rm:*)");
    let mut p = PermissionPolicy::new(PermissionMode::FullAuto);
    p.push_deny(rule("bash(rm:*)"), "/home/u/.config/cuervo/config.yml");
    p.push_deny(rule("bash(rm:*)"), "the --disallow-tools flag");
    assert_eq!(p.deny.len(), 1);
    p.push_allow(rule("edit"), "the --allow-tools flag");
    let d = p.decide("bash", Destructive, true, &action("rm -rf x"));
    assert_eq!(
        d,
        Decision::Deny(
            "denied by the rule `bash(rm:*)` from /home/u/.config/cuervo/config.yml: it runs `rm -rf x`"
                .into()
        )
    );
    let mut p = PermissionPolicy::new(PermissionMode::FullAuto);
    p.push_deny(rule("edit(secrets/**)"), "project");
    assert_eq!(
        p.decide("write", ReadWrite, true, &action("secrets/k")),
        Decision::Deny("denied by the rule `edit(secrets/**)` from project".into())
    );
}

#[test]
fn bash_allow_rules_need_every_command_covered() {
    let p = policy(
        PermissionMode::Ask,
        &["bash(git status:*)", "bash(head)"],
        &[],
    );
    let both = shell_action(vec![cmd(&["git", "status", "-s"]), cmd(&["head"])]);
    assert_eq!(p.decide("bash", Destructive, true, &both), Decision::Allow);
    let extra = shell_action(vec![cmd(&["git", "status"]), cmd(&["touch", "p"])]);
    assert!(
        matches!(p.decide("bash", Destructive, true, &extra), Decision::Ask(r) if r.contains("touch p")),
    );
    // Nothing to run is not "everything allowed".
    let empty = shell_action(vec![]);
    assert!(matches!(
        p.decide("bash", Destructive, true, &empty),
        Decision::Ask(_)
    ));
    // A run-time word inside the matched prefix, or extra arguments for an exact rule.
    let mut dynamic = cmd(&["git", "$X", "-s"]);
    dynamic.dynamic = vec![1];
    assert!(!rule("bash(git status:*)").matches("bash", &shell_action(vec![dynamic])));
    let mut later = cmd(&["git", "status", "$X"]);
    later.dynamic = vec![2];
    assert!(rule("bash(git status:*)").matches("bash", &shell_action(vec![later.clone()])));
    assert!(!rule("bash(git status $X)").matches("bash", &shell_action(vec![later])));
    let mut open = cmd(&["head"]);
    open.open_args = true;
    assert!(!rule("bash(head)").matches("bash", &shell_action(vec![open.clone()])));
    assert!(rule("bash(head:*)").matches("bash", &shell_action(vec![open])));
}

#[test]
fn bash_allow_rules_name_programs_by_path_or_system_directory() {
    let at = |path: &str| {
        let mut c = cmd(&["git", "status"]);
        c.program_path = Some(path.into());
        shell_action(vec![c])
    };
    let r = rule("bash(git status:*)");
    assert!(r.matches("bash", &at("/usr/bin/git")));
    assert!(r.matches("bash", &at("/bin/git")));
    assert!(!r.matches("bash", &at("./git")));
    assert!(!r.matches("bash", &at("/tmp/x/git")));
    let r = rule("bash(./git status:*)");
    assert!(r.matches("bash", &at("./git")));
    assert!(r.matches("bash", &at("git")));
    assert!(!r.matches("bash", &at("/usr/bin/git")));
}

#[test]
fn bash_deny_rules_match_any_command_and_skip_options() {
    let denied = |pattern: &str, commands: Vec<SimpleCommand>| {
        let p = policy(PermissionMode::FullAuto, &["bash"], &[pattern]);
        p.decide("bash", Destructive, true, &shell_action(commands))
    };
    let is_deny = |d: Decision| matches!(d, Decision::Deny(_));
    assert!(is_deny(denied(
        "bash(rm:*)",
        vec![cmd(&["ls"]), cmd(&["rm", "x"])]
    )));
    assert!(is_deny(denied("bash(/bin/rm:*)", vec![cmd(&["rm", "x"])])));
    assert!(is_deny(denied(
        "bash(git push:*)",
        vec![cmd(&["git", "-C", "x", "push"])]
    )));
    assert!(is_deny(denied(
        "bash(git push:*)",
        vec![cmd(&["git", "--no-pager", "push"])]
    )));
    assert!(!is_deny(denied(
        "bash(git push:*)",
        vec![cmd(&["git", "log", "push"])]
    )));
    assert!(is_deny(denied(
        "bash(rm -rf:*)",
        vec![cmd(&["rm", "-f", "-r", "x"])]
    )));
    assert!(!is_deny(denied(
        "bash(rm -rf:*)",
        vec![cmd(&["rm", "-r", "x"])]
    )));
    assert!(is_deny(denied(
        "bash(git push --force:*)",
        vec![cmd(&["git", "push", "o", "--force"])]
    )));
    assert!(is_deny(denied(
        "bash(git push --force:*)",
        vec![cmd(&["git", "push", "--force=yes"])]
    )));
    assert!(is_deny(denied(
        "bash(npm publish)",
        vec![cmd(&["npm", "publish", "--tag", "x"])]
    )));
    let mut dynamic = cmd(&["$X", "a"]);
    dynamic.dynamic = vec![0];
    assert!(
        matches!(denied("bash(rm:*)", vec![dynamic]), Decision::Ask(r) if r.contains("may deny"))
    );
    let mut open = cmd(&["rm"]);
    open.open_args = true;
    assert!(matches!(
        denied("bash(rm -rf:*)", vec![open]),
        Decision::Ask(_)
    ));
}

#[test]
fn unanalysable_commands_ask_except_in_full_auto_without_bash_denies() {
    let unknown = ToolAction {
        target: Some("eval x".into()),
        shell: Some(ShellAnalysis {
            commands: vec![cmd(&["eval", "x"])],
            unanalysable: vec!["`eval` runs a string as a command".into()],
            ..ShellAnalysis::default()
        }),
        ..ToolAction::default()
    };
    let d = |mode, allow: &[&str], deny: &[&str]| {
        policy(mode, allow, deny).decide("bash", Destructive, true, &unknown)
    };
    assert!(
        matches!(d(PermissionMode::Ask, &["bash"], &[]), Decision::Ask(r) if r.contains("eval"))
    );
    assert!(matches!(
        d(PermissionMode::AutoEdit, &["bash(eval:*)"], &[]),
        Decision::Ask(_)
    ));
    assert_eq!(d(PermissionMode::FullAuto, &[], &[]), Decision::Allow);
    assert_eq!(d(PermissionMode::FullAuto, &[], &["edit"]), Decision::Allow);
    assert!(matches!(
        d(PermissionMode::FullAuto, &[], &["bash(rm:*)"]),
        Decision::Ask(_)
    ));
    assert!(matches!(
        d(PermissionMode::Plan, &[], &[]),
        Decision::Deny(_)
    ));
}

#[test]
fn without_a_parsed_analysis_only_plain_words_are_understood() {
    let p = policy(PermissionMode::Ask, &["bash(echo:*)"], &[]);
    assert_eq!(
        p.decide("bash", Destructive, true, &action("echo ok")),
        Decision::Allow
    );
    for text in [
        "echo ok; touch p",
        "echo $(touch p)",
        "echo ok > ../x",
        "echo 'x'",
    ] {
        assert!(
            matches!(
                p.decide("bash", Destructive, true, &action(text)),
                Decision::Ask(_)
            ),
            "{text}"
        );
    }
}

#[test]
fn suggested_rules_are_narrow() {
    let suggest = |text: &str| suggest_rule("bash", &action(text)).map(|r| r.to_string());
    assert_eq!(
        suggest("git status -s").as_deref(),
        Some("bash(git status:*)")
    );
    assert_eq!(
        suggest("cargo test --all").as_deref(),
        Some("bash(cargo test:*)")
    );
    assert_eq!(suggest("git").as_deref(), Some("bash(git)"));
    assert_eq!(
        suggest("git -C x status").as_deref(),
        Some("bash(git -C x status)")
    );
    assert_eq!(suggest("ls -la").as_deref(), Some("bash(ls:*)"));
    assert_eq!(suggest("rm -rf target").as_deref(), Some("bash(rm:*)"));
    assert_eq!(
        suggest("python3 tool.py").as_deref(),
        Some("bash(python3 tool.py)")
    );
    assert_eq!(suggest("node").as_deref(), Some("bash(node)"));
    assert_eq!(suggest("env FOO=1 ls").as_deref(), Some("bash(ls:*)"));
    assert_eq!(suggest("sudo ls"), None);
    assert_eq!(suggest("git status && curl x | sh"), None);
    assert_eq!(suggest("eval ls"), None);
    assert_eq!(suggest("xargs rm"), None);
    // Quoted words survive the round trip through the rule's text.
    let mut spaced = cmd(&["python3", "my tool.py", "it's"]);
    spaced.raw = "python3 'my tool.py' \"it's\"".into();
    let a = shell_action(vec![spaced]);
    let r = suggest_rule("bash", &a).expect("a rule");
    assert_eq!(r.to_string(), "bash(python3 'my tool.py' 'it'\\''s')");
    assert!(r.matches("bash", &a));
    // A path program keeps its path.
    let mut gradle = cmd(&["gradlew", "build"]);
    gradle.program_path = Some("./gradlew".into());
    let r = suggest_rule("bash", &shell_action(vec![gradle.clone()])).expect("rule");
    assert_eq!(r.to_string(), "bash(./gradlew build:*)");
    assert!(r.matches("bash", &shell_action(vec![gradle])));
    // Nothing for writes outside or into protected paths.
    let mut outside = action("ls");
    outside.outside_root = true;
    assert_eq!(suggest_rule("bash", &outside), None);
    let mut protected = action("ls");
    protected.protected = Some(".git/x".into());
    assert_eq!(suggest_rule("bash", &protected), None);
    // File tools: the path, or the tool.
    assert_eq!(
        suggest_rule("edit", &action("src/lib.rs"))
            .map(|r| r.to_string())
            .as_deref(),
        Some("edit(src/lib.rs)")
    );
    assert_eq!(
        suggest_rule("glob", &ToolAction::default())
            .map(|r| r.to_string())
            .as_deref(),
        Some("glob")
    );
}
